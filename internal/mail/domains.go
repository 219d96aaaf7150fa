package mail

import (
	"context"
	"errors"
	"net/mail"
	"strings"
	"time"

	"golang.org/x/net/idna"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/store"
)

// idnaProfile turns a host or domain as typed (any case, international
// letters) into the ASCII form DNS uses, refusing what cannot be a host
// name: labels of letters, digits and inner hyphens, each at most 63
// bytes, 253 in all.
var idnaProfile = idna.New(idna.MapForLookup(), idna.Transitional(false), idna.StrictDomainName(true),
	idna.VerifyDNSLength(true), idna.BidiRule())

func toASCII(s string) (string, error) {
	s = strings.TrimSuffix(strings.TrimSpace(s), ".")
	a, err := idnaProfile.ToASCII(s)
	if err != nil {
		return "", err
	}
	if a == "" || len(a) > MaxHost {
		return "", errors.New("empty or too long")
	}
	return strings.ToLower(a), nil
}

// NormalizeDomain returns a domain in the form the directory stores (lower
// case, IDNA A-labels: "почта.рф" is "xn--80a1acny.xn--p1ai"), or an error
// key.
func NormalizeDomain(s string) (string, string) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "@")
	if s == "" {
		return "", crm.ErrRequired
	}
	d, err := toASCII(s)
	if err != nil {
		return "", ErrKeyDomain
	}
	return d, ""
}

// DisplayDomain shows a stored domain as people write it (U-labels).
func DisplayDomain(d string) string {
	u, err := idna.ToUnicode(d)
	if err != nil {
		return d
	}
	return u
}

// AddressDomain returns the normalized domain of an email address ("Ann
// <ann@Example.COM>" or "ann@example.com"), or an error key.
func AddressDomain(address string) (string, string) {
	address = strings.TrimSpace(address)
	if address == "" {
		return "", crm.ErrRequired
	}
	a, err := mail.ParseAddress(address)
	if err != nil {
		return "", crm.ErrEmail
	}
	at := strings.LastIndexByte(a.Address, '@')
	if at <= 0 {
		return "", crm.ErrEmail
	}
	d, key := NormalizeDomain(a.Address[at+1:])
	if key != "" {
		return "", crm.ErrEmail
	}
	return d, ""
}

// Domain maps an address domain to a provider.
type Domain struct {
	Domain       string // stored form (ASCII)
	Display      string // as people write it
	ProviderID   string
	ProviderName string
	CreatedAt    time.Time
}

func domainFromRow(r *store.MailDomain) *Domain {
	return &Domain{Domain: r.Domain, Display: DisplayDomain(r.Domain), ProviderID: r.ProviderID, ProviderName: r.ProviderName,
		CreatedAt: r.CreatedAt}
}

// Domains lists the mapped domains, of one provider or ("") of all.
func (s *Service) Domains(ctx context.Context, v access.Viewer, providerID string) ([]*Domain, error) {
	if err := admin(v); err != nil {
		return nil, err
	}
	rows, err := s.st.ListMailDomains(ctx, providerID)
	if err != nil {
		return nil, err
	}
	out := make([]*Domain, len(rows))
	for i, r := range rows {
		out[i] = domainFromRow(r)
	}
	return out, nil
}

// AddDomain maps a domain to a provider. Problems are a
// *crm.ValidationError on "domain" (invalid, or mapped already) or
// "provider_id" (unknown).
func (s *Service) AddDomain(ctx context.Context, v access.Viewer, domain, providerID string) (*Domain, error) {
	if err := admin(v); err != nil {
		return nil, err
	}
	fe := crm.FieldErrors{}
	d, key := NormalizeDomain(domain)
	if key != "" {
		fe.Add("domain", key)
	}
	if strings.TrimSpace(providerID) == "" {
		fe.Add("provider_id", crm.ErrRequired)
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	r, err := s.st.AddMailDomain(ctx, d, providerID)
	if err != nil {
		return nil, err
	}
	return domainFromRow(r), nil
}

// DeleteDomain removes a domain's mapping (given in either form).
func (s *Service) DeleteDomain(ctx context.Context, v access.Viewer, domain string) error {
	if err := admin(v); err != nil {
		return err
	}
	d, key := NormalizeDomain(domain)
	if key != "" {
		return store.ErrNotFound
	}
	return s.st.DeleteMailDomain(ctx, d)
}

// Detect returns the provider of an address's domain: ErrUnknownDomain
// when the directory has none, a *crm.ValidationError on "address" when
// it is not an address. The provider's secret stays sealed.
func (s *Service) Detect(ctx context.Context, address string) (*Provider, error) {
	d, key := AddressDomain(address)
	if key != "" {
		return nil, &crm.ValidationError{Fields: crm.FieldErrors{"address": key}}
	}
	r, err := s.st.MailProviderByDomain(ctx, d)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrUnknownDomain
	}
	if err != nil {
		return nil, err
	}
	return s.fromRow(r), nil
}

// Learn maps a domain (or an address's domain) to the provider a user
// picked for it, unless the directory knows the domain already, and
// returns the mapping that holds — the earlier one when the domain was
// known or another user's pick came first. Idempotent and safe to call
// concurrently. An unknown provider is store.ErrNotFound.
func (s *Service) Learn(ctx context.Context, domain, providerID string) (*Domain, error) {
	var d, key string
	if strings.IndexByte(strings.TrimSpace(domain), '@') > 0 {
		d, key = AddressDomain(domain)
	} else {
		d, key = NormalizeDomain(domain)
	}
	if key != "" {
		return nil, &crm.ValidationError{Fields: crm.FieldErrors{"domain": key}}
	}
	r, err := s.st.LearnMailDomain(ctx, d, providerID)
	if err != nil {
		return nil, err
	}
	return domainFromRow(r), nil
}
