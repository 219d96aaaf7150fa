package dav

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strconv"
	"testing"

	"github.com/tandem-crm/tandem/internal/testenv/davserver"
)

// fakeDNS answers SRV and TXT lookups from maps keyed by the full name.
type fakeDNS struct {
	srv map[string][]*net.SRV
	txt map[string][]string
}

func (d fakeDNS) LookupSRV(_ context.Context, service, proto, name string) (string, []*net.SRV, error) {
	q := "_" + service + "._" + proto + "." + name + "."
	if a, ok := d.srv[q]; ok {
		return q, a, nil
	}
	return "", nil, &net.DNSError{Err: "no such host", Name: q, IsNotFound: true}
}

func (d fakeDNS) LookupTXT(_ context.Context, name string) ([]string, error) {
	if a, ok := d.txt[name]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

// An account given as an e-mail address is found through its domain's
// SRV and TXT records (RFC 6764 §3), past a record whose server does not
// answer; without records the domain itself is tried, and its failure
// reported.
func TestDiscoverSRV(t *testing.T) {
	for _, kind := range davserver.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			e := setup(t, kind)
			ctx := context.Background()
			u, err := url.Parse(e.srv.URL())
			if err != nil {
				t.Fatal(err)
			}
			port, _ := strconv.Atoi(u.Port())
			dead, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			deadPort := dead.Addr().(*net.TCPAddr).Port
			dead.Close() // nothing listens there now
			dns := fakeDNS{
				srv: map[string][]*net.SRV{
					// TLS first, as RFC 6764 wants, on a server that is down.
					"_carddavs._tcp.example.test.": {{Target: "127.0.0.1.", Port: uint16(deadPort)}},
					"_carddav._tcp.example.test.":  {{Target: "127.0.0.1.", Port: uint16(port)}},
					// "." means no such service.
					"_caldavs._tcp.example.test.": {{Target: ".", Port: 0}},
				},
				txt: map[string][]string{"_carddav._tcp.example.test.": {"path=" + u.Path + e.srv.User() + "/"}},
			}
			c, err := New(Config{URL: "alice@example.test", Username: e.srv.User(), Password: e.srv.Password(), Resolver: dns})
			if err != nil {
				t.Fatal(err)
			}
			acc, err := c.Discover(ctx)
			if err != nil {
				t.Fatalf("Discover: %v", err)
			}
			if !sameCollection(acc.Principal, e.srv.HomeURL()) {
				t.Errorf("principal %s, want %s", acc.Principal, e.srv.HomeURL())
			}
			if len(acc.AddressBooks) != 1 || len(acc.Calendars) != 1 {
				t.Errorf("found %d address books and %d calendars, want 1 and 1", len(acc.AddressBooks), len(acc.Calendars))
			}

			// No records: https://example.test itself, which does not exist.
			c, err = New(Config{URL: "alice@example.test", Username: "u", Password: "p", Resolver: fakeDNS{}})
			if err != nil {
				t.Fatal(err)
			}
			var ne net.Error
			if _, err := c.Discover(ctx); !errors.As(err, &ne) {
				t.Errorf("Discover without records = %v, want a network error", err)
			}
		})
	}
}

func TestSRVCandidatesOnlyForDomains(t *testing.T) {
	dns := fakeDNS{srv: map[string][]*net.SRV{"_carddavs._tcp.example.test.": {{Target: "dav.example.test.", Port: 8443}}},
		txt: map[string][]string{"_carddavs._tcp.example.test.": {"path=/dav/"}}}
	for _, tc := range []struct {
		in   string
		want string
	}{
		{"bob@example.test", "https://dav.example.test:8443/dav/"},
		{"example.test", "https://dav.example.test:8443/dav/"},
		{"https://example.test/", ""}, // a URL is used as given
		{"127.0.0.1:5232", ""},
	} {
		c, err := New(Config{URL: tc.in, Resolver: dns})
		if err != nil {
			t.Fatal(err)
		}
		got := c.srvCandidates(context.Background())
		if tc.want == "" && len(got) != 0 || tc.want != "" && (len(got) != 1 || got[0] != tc.want) {
			t.Errorf("%s: candidates %v, want %q", tc.in, got, tc.want)
		}
	}
}
