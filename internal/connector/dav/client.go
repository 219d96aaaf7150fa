// Package dav is Tandem's CalDAV/CardDAV connector: a client for one
// account on a standards server (Radicale, Xandikos, Nextcloud, iCloud,
// Fastmail, …). It owns the wire: discovery of the principal, home sets
// and collections (RFC 6764, 6352, 4791), incremental listing with
// sync-collection (RFC 6578) and its ctag/etag fallback, batched multiget,
// and conditional writes (If-Match / If-None-Match) that fail with typed
// errors. It knows nothing of the store or the CRM: objects go in and out
// as raw vCard / iCalendar bytes with their href and ETag, so a mapper can
// patch the last remote object and keep what it does not model.
//
// It is built on emersion/go-webdav v0.7.0 (principal and home-set
// discovery) and adds what that library lacks through its own requests on
// the same HTTP client: conditional headers, sync-collection for CalDAV
// and typed errors (the library's error types are internal), raw
// multiget bodies and paging.
package dav

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/emersion/go-webdav"
	"github.com/emersion/go-webdav/caldav"
	"github.com/emersion/go-webdav/carddav"

	"github.com/tandem-crm/tandem/internal/connector/retry"
)

// Config describes one account.
type Config struct {
	// URL is the server's URL (any URL on it: discovery finds the rest) or
	// the account's e-mail address, whose domain is then tried over HTTPS.
	URL string
	// Username and Password (an app password) are sent with Basic auth.
	Username, Password string
	// Transport is the base HTTP transport (http.DefaultTransport when nil),
	// e.g. one trusting a private CA. The client wraps it in the retrying
	// transport (429/503 with Retry-After).
	Transport http.RoundTripper
	// Retry tunes the retrying transport; nil uses its defaults.
	Retry  *retry.Transport
	Logger *slog.Logger
	// OnUnauthorized, if set, is called when the server refuses the
	// credentials (401); the error it returns is joined to ErrUnauthorized,
	// so the owner of the account can mark it and stop its work.
	OnUnauthorized func(context.Context) error
	// Resolver looks up the DNS SRV and TXT records of RFC 6764 when URL
	// is an e-mail address or a bare domain (net.DefaultResolver when nil).
	Resolver Resolver
}

// Resolver is the part of *net.Resolver discovery uses.
type Resolver interface {
	LookupSRV(ctx context.Context, service, proto, name string) (string, []*net.SRV, error)
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// Client talks to one account. It is safe for concurrent use.
type Client struct {
	hc   *http.Client
	base *url.URL
	// domain is set when the account was given as an e-mail address or a
	// bare domain: discovery then asks its DNS first (RFC 6764 §3).
	domain   string
	resolver Resolver
}

// New makes a client; it does not contact the server (Discover does).
func New(cfg Config) (*Client, error) {
	base, err := startURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	var domain string
	if !strings.Contains(cfg.URL, "://") {
		domain = base.Hostname()
	}
	var res Resolver = net.DefaultResolver
	if cfg.Resolver != nil {
		res = cfg.Resolver
	}
	rt := &retry.Transport{}
	if cfg.Retry != nil {
		r := *cfg.Retry
		rt = &r
	}
	if rt.Base == nil {
		rt.Base = cfg.Transport
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Client{
		hc: &http.Client{
			Transport: &transport{base: rt, user: cfg.Username, password: cfg.Password, log: log,
				onUnauthorized: cfg.OnUnauthorized},
			// Redirects are followed by the client itself: net/http turns
			// a redirected PROPFIND into a GET.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		base:     base,
		domain:   domain,
		resolver: res,
	}, nil
}

// startURL makes the URL discovery starts from: a URL as given, or for an
// e-mail address https:// and its domain.
func startURL(s string) (*url.URL, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("dav: no server URL")
	}
	if !strings.Contains(s, "://") {
		if at := strings.LastIndexByte(s, '@'); at >= 0 {
			s = s[at+1:]
		}
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("dav: bad server URL %q", s)
	}
	if u.Path == "" {
		u.Path = "/"
	}
	return u, nil
}

// resolve makes href (a path or URL from the server) absolute.
// rebased is the client on another server (one DNS or a redirect led
// to), sharing its HTTP client.
func (c *Client) rebased(u string) *Client {
	pu, err := url.Parse(u)
	if err != nil || pu.Host == c.base.Host {
		return c
	}
	d := *c
	d.base = pu
	return &d
}

func (c *Client) resolve(href string) string {
	u, err := c.base.Parse(href)
	if err != nil {
		return href
	}
	return u.String()
}

// hrefPath is the path of href, unescaped, for comparing hrefs that
// servers spell differently (absolute or not, %-escaping).
func hrefPath(href string) string {
	u, err := url.Parse(href)
	if err != nil {
		return href
	}
	return u.Path
}

func sameCollection(a, b string) bool {
	return strings.TrimSuffix(hrefPath(a), "/") == strings.TrimSuffix(hrefPath(b), "/")
}

// do sends method to u, following up to 5 redirects with the same method
// and body; it returns the final answer, whatever its status.
// redirected reports whether resp redirects and where to; a redirect's
// body is drained and closed.
func redirected(resp *http.Response) (*url.URL, bool, error) {
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		loc, err := resp.Location()
		drain(resp)
		if err != nil {
			return nil, true, errors.New("redirect without a location")
		}
		return loc, true, nil
	}
	return nil, false, nil
}

func (c *Client) do(ctx context.Context, method, u string, hdr http.Header, body []byte) (*http.Response, error) {
	for range 6 {
		req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		for k, v := range hdr {
			req.Header[k] = v
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			return nil, err
		}
		loc, ok, err := redirected(resp)
		if err != nil {
			return nil, fmt.Errorf("dav: %s %s: %w", method, u, err)
		}
		if !ok {
			return resp, nil
		}
		u = loc.String()
	}
	return nil, fmt.Errorf("dav: %s %s: too many redirects", method, u)
}

// xmlRequest sends an XML body and decodes a 207 answer; the final URL
// (after redirects) is returned for resolving relative hrefs.
func (c *Client) xmlRequest(ctx context.Context, method, u, depth, body string) (*multistatus, error) {
	hdr := http.Header{"Content-Type": {`application/xml; charset="utf-8"`}}
	if depth != "" {
		hdr.Set("Depth", depth)
	}
	resp, err := c.do(ctx, method, u, hdr, []byte(body))
	if err != nil {
		return nil, fmt.Errorf("dav: %s %s: %w", method, u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusMultiStatus {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
		return nil, &StatusError{Method: method, URL: u, Code: resp.StatusCode, Body: strings.TrimSpace(string(b))}
	}
	var ms multistatus
	if err := xml.NewDecoder(resp.Body).Decode(&ms); err != nil {
		return nil, fmt.Errorf("dav: %s %s: bad multistatus: %w", method, u, err)
	}
	ms.final = resp.Request.URL
	return &ms, nil
}

func (c *Client) propfind(ctx context.Context, u, depth, props string) (*multistatus, error) {
	body := `<?xml version="1.0" encoding="utf-8"?>` +
		`<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav" xmlns:K="urn:ietf:params:xml:ns:caldav" xmlns:CS="http://calendarserver.org/ns/"><D:prop>` +
		props + `</D:prop></D:propfind>`
	return c.xmlRequest(ctx, "PROPFIND", u, depth, body)
}

// libraryClients are go-webdav's clients on the same HTTP client (so the
// same auth, retries and typed errors) rooted at endpoint.
func (c *Client) libraryClients(endpoint string) (*webdav.Client, *carddav.Client, *caldav.Client, error) {
	wc, err := webdav.NewClient(c.hc, endpoint)
	if err != nil {
		return nil, nil, nil, err
	}
	cd, err := carddav.NewClient(c.hc, endpoint)
	if err != nil {
		return nil, nil, nil, err
	}
	cl, err := caldav.NewClient(c.hc, endpoint)
	if err != nil {
		return nil, nil, nil, err
	}
	return wc, cd, cl, nil
}

// joinPath is href's directory-style form (trailing slash).
func collectionPath(href string) string {
	p := hrefPath(href)
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return path.Clean(p) + "/"
}
