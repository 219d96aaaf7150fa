package dav

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Kind is a collection's type.
type Kind string

const (
	AddressBook Kind = "addressbook"
	Calendar    Kind = "calendar"
)

// Collection is an address book or a calendar.
type Collection struct {
	Kind Kind
	// URL is absolute; object hrefs inside it are too.
	URL         string
	DisplayName string
	// CTag and SyncToken are the collection's state when listed (either
	// may be empty: not every server has both).
	CTag, SyncToken string
	// SupportsSync: the server lists sync-collection among the
	// collection's reports (or answers with a sync-token, which only a
	// server that has it does).
	SupportsSync bool
	// Components of a calendar (VEVENT, VTODO, …); empty means the server
	// did not say, which RFC 4791 reads as "any".
	Components []string
}

// Supports reports whether a calendar takes comp (e.g. "VTODO").
func (c Collection) Supports(comp string) bool {
	return len(c.Components) == 0 || slices.Contains(c.Components, comp)
}

// Account is what discovery found.
type Account struct {
	// ContextURL is where the principal was found (the server's DAV root).
	ContextURL                    string
	Principal                     string
	AddressBookHome, CalendarHome string // absolute URLs; empty if none
	AddressBooks, Calendars       []Collection
}

const collectionProps = `<D:resourcetype/><D:displayname/><CS:getctag/><D:sync-token/>` +
	`<D:supported-report-set/><K:supported-calendar-component-set/>`

// Discover finds the principal, its home sets and its collections (RFC
// 6764 §6): for an account given as an e-mail address or a domain, first
// the servers its DNS names (SRV and TXT records, §3); then the given URL
// and the host's /.well-known/carddav and /.well-known/caldav. It fails
// with ErrUnauthorized, ErrTLS or ErrNotDAV, or with ErrNoAddressBook /
// ErrNoCalendar (wrapped in a *NoCollectionsError holding the account)
// when either kind is missing.
func (c *Client) Discover(ctx context.Context) (*Account, error) {
	srv := c.srvCandidates(ctx)
	root := *c.base
	root.Path, root.RawQuery = "", ""
	candidates := slices.Clone(srv)
	for _, u := range []string{c.base.String(), root.String() + "/.well-known/carddav", root.String() + "/.well-known/caldav", root.String() + "/"} {
		if !slices.Contains(candidates, u) {
			candidates = append(candidates, u)
		}
	}
	acc := &Account{}
	var lastErr error
	for _, u := range candidates {
		ctxURL, principal, err := c.findPrincipal(ctx, u)
		if err == nil {
			acc.ContextURL, acc.Principal = ctxURL, principal
			break
		}
		if ctx.Err() != nil {
			return nil, err
		}
		var ne net.Error
		if errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrTLS) || errors.As(err, &ne) {
			if !slices.Contains(srv, u) {
				// The rest are on the same host: one that cannot be
				// reached is no answer about DAV.
				return nil, err
			}
			// A server the DNS named failed; the domain's own may not.
			lastErr = err
			continue
		}
		lastErr = err
	}
	if acc.Principal == "" {
		return nil, fmt.Errorf("%w: %w", ErrNotDAV, lastErr)
	}
	// The rest is asked of the server that answered (DNS or a redirect
	// may have led elsewhere than the address given).
	c = c.rebased(acc.ContextURL)

	// The home sets through go-webdav, on the principal URL.
	_, cd, cl, err := c.libraryClients(acc.ContextURL)
	if err != nil {
		return nil, err
	}
	if h, err := cd.FindAddressBookHomeSet(ctx, hrefPath(acc.Principal)); err == nil && h != "" {
		acc.AddressBookHome = c.resolve(h)
	} else if errors.Is(err, ErrUnauthorized) {
		return nil, err
	}
	if h, err := cl.FindCalendarHomeSet(ctx, hrefPath(acc.Principal)); err == nil && h != "" {
		acc.CalendarHome = c.resolve(h)
	} else if errors.Is(err, ErrUnauthorized) {
		return nil, err
	}
	if acc.AddressBookHome == "" && acc.CalendarHome == "" {
		return nil, fmt.Errorf("%w: the principal %s has no address book or calendar home", ErrNotDAV, acc.Principal)
	}

	homes := []string{}
	for _, h := range []string{acc.AddressBookHome, acc.CalendarHome} {
		if h != "" && !slices.Contains(homes, h) {
			homes = append(homes, h)
		}
	}
	for _, h := range homes {
		cols, err := c.listCollections(ctx, h)
		if err != nil {
			return nil, err
		}
		for _, col := range cols {
			switch col.Kind {
			case AddressBook:
				acc.AddressBooks = append(acc.AddressBooks, col)
			case Calendar:
				acc.Calendars = append(acc.Calendars, col)
			}
		}
	}
	var missing []error
	if len(acc.AddressBooks) == 0 {
		missing = append(missing, ErrNoAddressBook)
	}
	if len(acc.Calendars) == 0 {
		missing = append(missing, ErrNoCalendar)
	}
	if len(missing) > 0 {
		return acc, &NoCollectionsError{Account: acc, Missing: missing}
	}
	return acc, nil
}

// NoCollectionsError: discovery worked but found no address book or no
// calendar; Account holds what it found (a contacts-only binding can go
// on without a calendar).
type NoCollectionsError struct {
	Account *Account
	Missing []error
}

func (e *NoCollectionsError) Error() string {
	s := make([]string, len(e.Missing))
	for i, m := range e.Missing {
		s[i] = m.Error()
	}
	return strings.Join(s, "; ")
}

func (e *NoCollectionsError) Unwrap() []error { return e.Missing }

// findPrincipal asks u for the current user's principal; it returns the
// URL that answered (after redirects) and the principal's absolute URL.
func (c *Client) findPrincipal(ctx context.Context, u string) (string, string, error) {
	ms, err := c.propfind(ctx, u, "0", `<D:current-user-principal/>`)
	if err != nil {
		return "", "", err
	}
	for _, r := range ms.Responses {
		p, ok := r.okProp()
		if ok && len(p.CurrentUserPrincipal.Hrefs) > 0 {
			principal := ms.resolve(p.CurrentUserPrincipal.Hrefs[0])
			ctxURL := u
			if len(r.Hrefs) > 0 {
				ctxURL = ms.resolve(r.Hrefs[0])
			}
			return ctxURL, principal, nil
		}
	}
	return "", "", fmt.Errorf("dav: %s has no current-user-principal", u)
}

// listCollections lists the address books and calendars in home.
func (c *Client) listCollections(ctx context.Context, home string) ([]Collection, error) {
	ms, err := c.propfind(ctx, home, "1", collectionProps)
	if err != nil {
		return nil, err
	}
	var out []Collection
	for _, r := range ms.Responses {
		if len(r.Hrefs) == 0 || sameCollection(r.Hrefs[0], home) {
			continue
		}
		p, ok := r.okProp()
		if !ok {
			continue
		}
		col := collectionFrom(c.resolve(r.Hrefs[0]), p)
		if col.Kind != "" {
			out = append(out, col)
		}
	}
	return out, nil
}

func collectionFrom(u string, p prop) Collection {
	col := Collection{URL: u, DisplayName: p.DisplayName, CTag: p.CTag, SyncToken: p.SyncToken,
		SupportsSync: p.hasReport(nsDAV, "sync-collection") || p.SyncToken != ""}
	switch {
	case p.hasType(nsCardDAV, "addressbook"):
		col.Kind = AddressBook
	case p.hasType(nsCalDAV, "calendar"):
		col.Kind = Calendar
		for _, comp := range p.Components {
			col.Components = append(col.Components, strings.ToUpper(comp.Name))
		}
	}
	return col
}

// CollectionState reads a collection's display name, ctag and sync token
// (one PROPFIND, depth 0): the cheap "did anything change" check for a
// server without sync-collection.
func (c *Client) CollectionState(ctx context.Context, collection string) (Collection, error) {
	ms, err := c.propfind(ctx, collection, "0", collectionProps)
	if err != nil {
		return Collection{}, err
	}
	for _, r := range ms.Responses {
		if p, ok := r.okProp(); ok {
			return collectionFrom(c.resolve(collection), p), nil
		}
	}
	return Collection{}, fmt.Errorf("dav: PROPFIND %s: no properties in the answer", collection)
}

// srvCandidates are the context URLs the account's domain publishes in DNS
// (RFC 6764 §3): _carddavs and _caldavs SRV records (then the plain-HTTP
// _carddav and _caldav), in the records' priority order, each with the
// path of its TXT record ("path=/dav/") or the target's /.well-known one.
// A domain without records gives none; lookups are bounded so an
// unanswering DNS does not hold up the other ways.
func (c *Client) srvCandidates(ctx context.Context) []string {
	if c.domain == "" || net.ParseIP(c.domain) != nil || c.domain == "localhost" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var out []string
	for _, s := range []struct{ service, scheme, wellKnown string }{
		{"carddavs", "https", "/.well-known/carddav"}, {"caldavs", "https", "/.well-known/caldav"},
		{"carddav", "http", "/.well-known/carddav"}, {"caldav", "http", "/.well-known/caldav"},
	} {
		name, addrs, err := c.resolver.LookupSRV(ctx, s.service, "tcp", c.domain)
		if err != nil || len(addrs) == 0 {
			continue
		}
		// A single record with target "." says the service is not offered.
		if len(addrs) == 1 && (addrs[0].Target == "." || addrs[0].Target == "") {
			continue
		}
		p := s.wellKnown
		if txts, err := c.resolver.LookupTXT(ctx, name); err == nil {
			for _, t := range txts {
				if v, ok := strings.CutPrefix(strings.TrimSpace(t), "path="); ok && strings.HasPrefix(v, "/") {
					p = v
					break
				}
			}
		}
		// net.LookupSRV sorts by priority and randomizes by weight.
		for _, a := range addrs {
			host := strings.TrimSuffix(a.Target, ".")
			if host == "" {
				continue
			}
			u := (&url.URL{Scheme: s.scheme, Host: net.JoinHostPort(host, strconv.Itoa(int(a.Port))), Path: p}).String()
			if !slices.Contains(out, u) {
				out = append(out, u)
			}
		}
	}
	return out
}
