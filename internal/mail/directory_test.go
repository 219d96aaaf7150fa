package mail

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/i18n"
	"github.com/tandem-crm/tandem/internal/secret"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/testenv"
	"github.com/tandem-crm/tandem/internal/testenv/storetest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func fields(err error) crm.FieldErrors {
	var ve *crm.ValidationError
	if errors.As(err, &ve) {
		return ve.Fields
	}
	return nil
}

func imapProvider() Provider {
	return Provider{Name: "Corp", Type: TypeIMAP, IMAP: Server{Host: "imap.corp.example"}, SMTP: Server{Host: "smtp.corp.example"}}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name string
		edit func(p *Provider)
		want crm.FieldErrors // nil: valid
		then func(t *testing.T, p *Provider)
	}{
		{"defaults", func(p *Provider) {}, nil, func(t *testing.T, p *Provider) {
			if p.IMAP != (Server{"imap.corp.example", 993, SecurityTLS}) || p.SMTP != (Server{"smtp.corp.example", 465, SecurityTLS}) ||
				p.LoginFormat != LoginEmail || p.Auth != AuthBasic {
				t.Errorf("defaults %+v", p)
			}
		}},
		{"ports by security", func(p *Provider) { p.IMAP.Security, p.SMTP.Security = SecurityStartTLS, SecurityNone }, nil,
			func(t *testing.T, p *Provider) {
				if p.IMAP.Port != 143 || p.SMTP.Port != 587 {
					t.Errorf("ports %d %d", p.IMAP.Port, p.SMTP.Port)
				}
			}},
		{"hosts lower-cased, IDNA", func(p *Provider) { p.IMAP.Host, p.SMTP.Host = " IMAP.Corp.Example. ", "почта.рф" }, nil,
			func(t *testing.T, p *Provider) {
				if p.IMAP.Host != "imap.corp.example" || p.SMTP.Host != "xn--80a1acny.xn--p1ai" {
					t.Errorf("hosts %q %q", p.IMAP.Host, p.SMTP.Host)
				}
			}},
		{"IP host", func(p *Provider) { p.IMAP.Host = "[::1]"; p.SMTP.Host = "127.0.0.1" }, nil, func(t *testing.T, p *Provider) {
			if p.IMAP.Host != "::1" || p.IMAP.Addr() != "[::1]:993" {
				t.Errorf("ip host %q %q", p.IMAP.Host, p.IMAP.Addr())
			}
		}},
		{"required", func(p *Provider) { p.Name, p.IMAP.Host, p.SMTP.Host = " ", "", "" },
			crm.FieldErrors{"name": crm.ErrRequired, "imap_host": crm.ErrRequired, "smtp_host": crm.ErrRequired}, nil},
		{"bad values", func(p *Provider) {
			p.IMAP.Host, p.IMAP.Port, p.SMTP.Security, p.LoginFormat, p.Auth = "imap server!", 70000, "ssl", "name", "ntlm"
		}, crm.FieldErrors{"imap_host": ErrKeyHost, "imap_port": ErrKeyPort, "smtp_security": crm.ErrUnknownEnum,
			"login_format": crm.ErrUnknownEnum, "auth": crm.ErrUnknownEnum}, nil},
		{"type", func(p *Provider) { p.Type = "pop3" }, crm.FieldErrors{"type": crm.ErrUnknownEnum}, nil},
		{"long name", func(p *Provider) { p.Name = strings.Repeat("я", MaxName+1) }, crm.FieldErrors{"name": crm.TooLong(MaxName)}, nil},
		{"oauth2 needs keys", func(p *Provider) { p.Auth = AuthOAuth2 },
			crm.FieldErrors{"client_id": crm.ErrRequired, "client_secret": crm.ErrRequired}, nil},
		{"oauth2 with a stored secret", func(p *Provider) { p.Auth, p.ClientID, p.HasSecret = AuthOAuth2, "id", true }, nil, nil},
		{"basic drops keys", func(p *Provider) { p.ClientID, p.ClientSecret, p.HasSecret = "id", "s", true }, nil,
			func(t *testing.T, p *Provider) {
				if p.ClientID != "" || p.ClientSecret != "" || p.HasSecret {
					t.Errorf("keys kept %+v", p)
				}
			}},
		{"exchange", func(p *Provider) {
			p.Type, p.ExchangeURL, p.ExchangeSend = TypeExchange, "https://mail.corp.example/EWS/Exchange.asmx", true
		}, nil, func(t *testing.T, p *Provider) {
			if p.IMAP != (Server{}) || p.SMTP != (Server{}) {
				t.Errorf("exchange keeps servers %+v", p)
			}
		}},
		{"exchange needs a flag and an address", func(p *Provider) { p.Type = TypeExchange },
			crm.FieldErrors{"exchange_url": crm.ErrRequired, "exchange_load": ErrKeyExchangeFlags}, nil},
		{"exchange address", func(p *Provider) { p.Type, p.ExchangeURL, p.ExchangeLoad = TypeExchange, "ftp://x", true },
			crm.FieldErrors{"exchange_url": crm.ErrURL}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := imapProvider()
			tt.edit(&p)
			err := p.Normalize()
			if got := fields(err); len(got) != len(tt.want) || (err == nil) != (tt.want == nil) {
				t.Fatalf("errors %v, want %v", err, tt.want)
			}
			for f, k := range tt.want {
				if fields(err)[f] != k {
					t.Errorf("%s: %q, want %q", f, fields(err)[f], k)
				}
			}
			if tt.then != nil && err == nil {
				tt.then(t, &p)
			}
		})
	}
}

func TestDomains(t *testing.T) {
	for in, want := range map[string]string{"Example.COM": "example.com", "@gmail.com": "gmail.com", "почта.рф": "xn--80a1acny.xn--p1ai",
		"Bücher.example.": "xn--bcher-kva.example", "localhost": "localhost"} {
		if got, key := NormalizeDomain(in); got != want || key != "" {
			t.Errorf("NormalizeDomain(%q) = %q %q, want %q", in, got, key, want)
		}
	}
	for _, bad := range []string{"exa mple.com", "-x.com", "a..b", "a_b.com", strings.Repeat("a", 64) + ".com", "ex\x00.com"} {
		if _, key := NormalizeDomain(bad); key != ErrKeyDomain {
			t.Errorf("NormalizeDomain(%q) accepted (%q)", bad, key)
		}
	}
	if DisplayDomain("xn--80a1acny.xn--p1ai") != "почта.рф" {
		t.Error("display form")
	}
	for in, want := range map[string]string{"ann@Example.com": "example.com", "Ann <ann@почта.рф>": "xn--80a1acny.xn--p1ai"} {
		if got, key := AddressDomain(in); got != want || key != "" {
			t.Errorf("AddressDomain(%q) = %q %q", in, got, key)
		}
	}
	for _, bad := range []string{"ann", "ann@", "@example.com", "ann@exa mple.com"} {
		if _, key := AddressDomain(bad); key == "" {
			t.Errorf("AddressDomain(%q) accepted", bad)
		}
	}
}

// Every preset is a valid provider as shipped, and its hint exists in
// both languages.
func TestPresetsValid(t *testing.T) {
	for _, pr := range Presets() {
		p := pr.Provider
		if p.Auth == AuthOAuth2 {
			p.ClientID, p.ClientSecret = "id", "secret"
		}
		if err := p.Normalize(); err != nil {
			t.Errorf("preset %s: %v", pr.Code, err)
		}
		for _, d := range pr.Domains {
			if n, key := NormalizeDomain(d); n != d || key != "" {
				t.Errorf("preset %s domain %q", pr.Code, d)
			}
		}
		for _, l := range i18n.Supported() {
			if !l.Has(pr.NoteKey()) {
				t.Errorf("%s lacks %s", l, pr.NoteKey())
			}
		}
	}
	g, _ := LookupPreset("gmail")
	if g.Provider.IMAP.Addr() != "imap.gmail.com:993" || g.Provider.SMTP.Addr() != "smtp.gmail.com:465" || g.Provider.LoginFormat != LoginEmail {
		t.Errorf("gmail %+v", g.Provider)
	}
	o, _ := LookupPreset("outlook")
	if o.Provider.SMTP != (Server{"smtp.office365.com", 587, SecurityStartTLS}) || o.Provider.Auth != AuthOAuth2 {
		t.Errorf("outlook %+v", o.Provider)
	}
}

type fakeSettings map[string]string

func (f fakeSettings) Get(_ context.Context, code string) (string, error) { return f[code], nil }

func newService(t *testing.T, pg bool, set Settings) (*Service, *store.Store, access.Viewer, access.Viewer) {
	st := storetest.Open(t, pg)
	box, err := secret.New(make([]byte, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	adm := storetest.User(t, st, "admin@example.com")
	adm.Ops = map[string]bool{access.OpManageAdministration: true}
	user := storetest.User(t, st, "user@example.com")
	return New(st, box, set), st, adm, user
}

func TestService(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, st, adm, user := newService(t, pg, fakeSettings{"GoogleClientId": "g-id", "GoogleClientSecret": "g-secret-value"})

			p := imapProvider()
			p.Auth, p.ClientID, p.ClientSecret = AuthOAuth2, "client-1", "very-secret-1"
			if err := s.CreateProvider(ctx, user, &p); !errors.Is(err, store.ErrForbidden) {
				t.Fatalf("non-admin create: %v", err)
			}
			if err := s.CreateProvider(ctx, adm, &p); err != nil {
				t.Fatal(err)
			}
			if p.ClientSecret != "" || !p.HasSecret || p.SecretMask != "••••••-1" {
				t.Errorf("after create %+v", p)
			}
			row, _ := st.GetMailProvider(ctx, p.ID)
			if row.ClientSecret == "" || strings.Contains(row.ClientSecret, "very-secret") {
				t.Errorf("secret stored as %q", row.ClientSecret)
			}
			if sec, err := s.ClientSecret(ctx, p.ID); err != nil || sec != "very-secret-1" {
				t.Errorf("ClientSecret %q %v", sec, err)
			}

			// An update without a secret keeps it; a new one replaces it;
			// basic drops it.
			p.Name = "Corp mail"
			if err := s.UpdateProvider(ctx, adm, &p); err != nil || !p.HasSecret || p.Name != "Corp mail" {
				t.Fatalf("update keeping the secret: %+v %v", p, err)
			}
			if sec, _ := s.ClientSecret(ctx, p.ID); sec != "very-secret-1" {
				t.Errorf("kept secret %q", sec)
			}
			p.ClientSecret = "second-secret"
			s.UpdateProvider(ctx, adm, &p)
			if sec, _ := s.ClientSecret(ctx, p.ID); sec != "second-secret" {
				t.Errorf("replaced secret %q", sec)
			}
			p.Auth = AuthBasic
			s.UpdateProvider(ctx, adm, &p)
			if sec, _ := s.ClientSecret(ctx, p.ID); sec != "" || p.HasSecret || p.ClientID != "" {
				t.Errorf("basic keeps keys: %q %+v", sec, p)
			}
			p.Auth = AuthOAuth2
			p.ClientID = "again"
			if err := s.UpdateProvider(ctx, adm, &p); fields(err)["client_secret"] != crm.ErrRequired {
				t.Errorf("oauth2 again without a secret: %v", err)
			}

			// Presets: one click; OAuth keys from the settings.
			gm, err := s.CreateFromPreset(ctx, adm, "gmail", PresetOptions{})
			if err != nil || gm.Auth != AuthBasic || gm.Domains != 2 || gm.Preset != "gmail" {
				t.Fatalf("gmail %+v %v", gm, err)
			}
			if _, err := s.CreateFromPreset(ctx, adm, "gmail", PresetOptions{}); fields(err)["name"] != crm.ErrDuplicate {
				t.Errorf("gmail twice: %v", err)
			}
			g2, err := s.CreateFromPreset(ctx, adm, "gmail", PresetOptions{Name: "Gmail OAuth", Auth: AuthOAuth2})
			if err != nil || g2.ClientID != "g-id" || g2.Domains != 0 {
				t.Fatalf("gmail oauth %+v %v", g2, err)
			}
			if sec, _ := s.ClientSecret(ctx, g2.ID); sec != "g-secret-value" {
				t.Errorf("preset secret %q", sec)
			}
			if _, err := s.CreateFromPreset(ctx, adm, "outlook", PresetOptions{}); fields(err)["client_id"] != crm.ErrRequired {
				t.Errorf("outlook without Microsoft keys: %v", err)
			}
			if _, err := s.CreateFromPreset(ctx, adm, "yahoo", PresetOptions{Auth: AuthOAuth2}); fields(err)["auth"] != crm.ErrUnknownEnum {
				t.Errorf("yahoo oauth2: %v", err)
			}
			if _, err := s.CreateFromPreset(ctx, adm, "hotmale", PresetOptions{}); !errors.Is(err, ErrUnknownPreset) {
				t.Errorf("unknown preset: %v", err)
			}

			// Detect and Learn work for every signed-in user.
			if got, err := s.Detect(ctx, "Ann <Ann@GoogleMail.com>"); err != nil || got.ID != gm.ID {
				t.Errorf("detect %+v %v", got, err)
			}
			if _, err := s.Detect(ctx, "ann@corp.example"); !errors.Is(err, ErrUnknownDomain) {
				t.Errorf("detect unknown: %v", err)
			}
			if _, err := s.Detect(ctx, "not an address"); fields(err)["address"] != crm.ErrEmail {
				t.Errorf("detect junk: %v", err)
			}
			if d, err := s.Learn(ctx, "ann@Corp.Example", p.ID); err != nil || d.Domain != "corp.example" || d.ProviderID != p.ID {
				t.Fatalf("learn %+v %v", d, err)
			}
			if d, err := s.Learn(ctx, "corp.example", gm.ID); err != nil || d.ProviderID != p.ID {
				t.Errorf("learn a known domain %+v %v", d, err)
			}
			if got, err := s.Detect(ctx, "bob@corp.example"); err != nil || got.ID != p.ID || got.SecretMask != "" {
				t.Errorf("detect learned %+v %v", got, err)
			}

			// Choices for anyone signed in; the directory's reads for
			// administrators.
			cs, err := s.Choices(ctx, user)
			if err != nil || len(cs) != 3 {
				t.Errorf("choices %+v %v", cs, err)
			}
			if _, err := s.Providers(ctx, user); !errors.Is(err, store.ErrForbidden) {
				t.Errorf("non-admin list: %v", err)
			}
			if _, err := s.Domains(ctx, user, ""); !errors.Is(err, store.ErrForbidden) {
				t.Errorf("non-admin domains: %v", err)
			}
			if _, err := s.AddDomain(ctx, adm, "Not a domain", p.ID); fields(err)["domain"] != ErrKeyDomain {
				t.Errorf("bad domain: %v", err)
			}
			if d, err := s.AddDomain(ctx, adm, "ПОЧТА.рф", p.ID); err != nil || d.Display != "почта.рф" {
				t.Errorf("idn domain %+v %v", d, err)
			}
			if err := s.DeleteDomain(ctx, adm, "почта.рф"); err != nil {
				t.Errorf("delete by display form: %v", err)
			}
			if err := s.DeleteProvider(ctx, user, gm.ID); !errors.Is(err, store.ErrForbidden) {
				t.Errorf("non-admin delete: %v", err)
			}
			if err := s.DeleteProvider(ctx, adm, gm.ID); err != nil {
				t.Errorf("delete: %v", err)
			}
		})
	}
}
