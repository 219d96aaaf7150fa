package api_test

import (
	"context"
	"database/sql"
	"net/http"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx" for rawDB

	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/i18n"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

// rawDB opens the server's database beside it, for rows no API makes yet.
func rawDB(t *testing.T, s *tandemtest.Server) *sql.DB {
	t.Helper()
	driver, dsn := "sqlite", "file:"+s.App.Store.SQLitePath()+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)"
	if s.App.Cfg.DatabaseURL != "" {
		driver, dsn = "pgx", s.App.Cfg.DatabaseURL
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// insertMailbox adds a mailbox of a user on a provider directly: the
// mailbox API comes with a later change.
func insertMailbox(t *testing.T, s *tandemtest.Server, userID, providerID, address string) {
	t.Helper()
	c := &store.Connection{UserID: userID, Provider: "mail", AccountEmail: address}
	if err := s.App.Store.CreateConnection(context.Background(), c, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := rawDB(t, s).Exec(`INSERT INTO mailboxes (connection_id, provider_id, address, created_at) VALUES ($1, $2, $3, $4)`,
		c.ID, providerID, address, crm.Micros(crm.Now())); err != nil {
		t.Fatal(err)
	}
}

type mailProvider struct {
	ID               string `json:"id"`
	Name             string `json:"name"`
	Type             string `json:"type"`
	Preset           string `json:"preset"`
	IMAPHost         string `json:"imap_host"`
	IMAPPort         int    `json:"imap_port"`
	IMAPSecurity     string `json:"imap_security"`
	SMTPPort         int    `json:"smtp_port"`
	Auth             string `json:"auth"`
	ClientID         string `json:"client_id"`
	ClientSecretSet  bool   `json:"client_secret_set"`
	ClientSecretMask string `json:"client_secret_mask"`
	MailboxCount     int    `json:"mailbox_count"`
	DomainCount      int    `json:"domain_count"`
}

func TestMailProvidersAPI(t *testing.T) {
	eachDB(t, func(t *testing.T, s *tandemtest.Server) {
		a := s.Admin
		user := s.NewUser(t, "user@example.com")
		const secret = "s3cr3t-client-value-XY"

		// Validation: every bad field at once, in the caller's language.
		for _, tt := range []struct {
			name, body string
			want       map[string]string
		}{
			{"empty", `{}`, map[string]string{"name": "required", "type": "required"}},
			{"no servers", `{"name":"X","type":"imap"}`, map[string]string{"imap_host": "required", "smtp_host": "required"}},
			{"bad values", `{"name":"X","type":"imap","imap_host":"bad host!","imap_port":0,"smtp_host":"smtp.x.example","smtp_port":99999,"smtp_security":"ssl","login_format":"nick"}`,
				map[string]string{"imap_host": "invalid_host", "smtp_port": "invalid_port", "smtp_security": "unknown_value", "login_format": "unknown_value"}},
			{"oauth2 without keys", `{"name":"X","type":"imap","imap_host":"i.x.example","smtp_host":"s.x.example","auth":"oauth2"}`,
				map[string]string{"client_id": "required", "client_secret": "required"}},
			{"exchange", `{"name":"X","type":"exchange","exchange_url":"mail.example.com"}`,
				map[string]string{"exchange_url": "invalid_url", "exchange_load": "mail_exchange_flags"}},
			{"unknown type", `{"name":"X","type":"pop3"}`, map[string]string{"type": "unknown_value"}},
		} {
			r := a.Do(t, "POST", "/api/v1/mail/providers", tt.body, "Accept-Language", "ru")
			if r.Status != http.StatusBadRequest {
				t.Fatalf("%s: status %d: %s", tt.name, r.Status, r.Body)
			}
			p := decodeProblem(t, r)
			if got := p.fields(); len(got) != len(tt.want) {
				t.Errorf("%s: fields %v, want %v", tt.name, got, tt.want)
			}
			for _, e := range p.Errors {
				if tt.want[e.Field] != e.Code {
					t.Errorf("%s: %s %s, want %s", tt.name, e.Field, e.Code, tt.want[e.Field])
				}
				if e.Message != i18n.Ru.T("error."+e.Code) || e.Message == "error."+e.Code {
					t.Errorf("%s: %s message %q", tt.name, e.Field, e.Message)
				}
			}
		}

		// OAuth 2.0 with keys: the secret is never sent back.
		var corp mailProvider
		r := a.JSON(t, "POST", "/api/v1/mail/providers", map[string]any{"name": "Corp", "type": "imap",
			"imap_host": "IMAP.Corp.Example", "imap_security": "starttls", "smtp_host": "smtp.corp.example",
			"auth": "oauth2", "client_id": "corp-client", "client_secret": secret}, http.StatusCreated, &corp)
		if corp.IMAPHost != "imap.corp.example" || corp.IMAPPort != 143 || corp.SMTPPort != 465 || !corp.ClientSecretSet ||
			corp.ClientSecretMask != "••••••XY" || r.Header.Get("Location") != "/api/v1/mail/providers/"+corp.ID {
			t.Fatalf("created %+v", corp)
		}
		item := "/api/v1/mail/providers/" + corp.ID
		var patched mailProvider
		r2 := a.JSON(t, "PATCH", item, `{"name":"Corp mail"}`, http.StatusOK, &patched)
		if patched.Name != "Corp mail" || !patched.ClientSecretSet || patched.ClientID != "corp-client" {
			t.Errorf("patched %+v", patched)
		}
		for _, body := range [][]byte{r.Body, r2.Body, a.Do(t, "GET", item, nil).Body, a.Do(t, "GET", "/api/v1/mail/providers", nil).Body} {
			if strings.Contains(string(body), "s3cr3t") {
				t.Fatalf("secret sent back: %s", body)
			}
		}
		if got, err := s.App.Mail.ClientSecret(context.Background(), corp.ID); err != nil || got != secret {
			t.Errorf("stored secret %q %v", got, err)
		}
		if p := decodeProblem(t, a.JSON(t, "PATCH", item, `{"client_id":""}`, http.StatusBadRequest, nil)); p.fields()["client_id"] != "required" {
			t.Errorf("clearing the client id: %+v", p.Errors)
		}

		// Presets, one click.
		var presets page[struct {
			Code    string   `json:"code"`
			Note    string   `json:"note"`
			Domains []string `json:"domains"`
		}]
		a.JSON(t, "GET", "/api/v1/mail/presets", nil, http.StatusOK, &presets)
		var codes []string
		for _, p := range presets.Items {
			codes = append(codes, p.Code)
			if p.Note == "" || strings.HasPrefix(p.Note, "mail.") {
				t.Errorf("preset %s note %q", p.Code, p.Note)
			}
		}
		if strings.Join(codes, ",") != "gmail,outlook,microsoft365,yahoo,aol,zoho" {
			t.Errorf("presets %v", codes)
		}
		var gmail mailProvider
		a.JSON(t, "POST", "/api/v1/mail/providers/from-preset", `{"preset":"gmail"}`, http.StatusCreated, &gmail)
		if gmail.Preset != "gmail" || gmail.DomainCount != 2 || gmail.IMAPHost != "imap.gmail.com" || gmail.Auth != "basic" {
			t.Errorf("gmail %+v", gmail)
		}
		for body, field := range map[string]string{`{"preset":"gmail"}`: "name", `{"preset":"outlook"}`: "client_id",
			`{"preset":"nope"}`: "preset", `{}`: "preset", `{"preset":"aol","auth":"oauth2"}`: "auth"} {
			p := decodeProblem(t, a.JSON(t, "POST", "/api/v1/mail/providers/from-preset", body, http.StatusBadRequest, nil))
			if _, ok := p.fields()[field]; !ok {
				t.Errorf("%s: errors %+v, want %s", body, p.Errors, field)
			}
		}
		var outlook mailProvider
		a.JSON(t, "POST", "/api/v1/mail/providers/from-preset", map[string]string{"preset": "outlook", "client_id": "ms-id",
			"client_secret": secret}, http.StatusCreated, &outlook)
		if outlook.Auth != "oauth2" || !outlook.ClientSecretSet || outlook.DomainCount != 3 {
			t.Errorf("outlook %+v", outlook)
		}

		// Everyone signed in picks and detects; the rest is for administrators.
		for _, op := range []struct{ method, path, body string }{
			{"GET", "/api/v1/mail/providers", ""}, {"POST", "/api/v1/mail/providers", `{"name":"U","type":"imap"}`},
			{"GET", item, ""}, {"PATCH", item, `{"name":"Hacked"}`}, {"DELETE", item, ""},
			{"GET", "/api/v1/mail/presets", ""}, {"POST", "/api/v1/mail/providers/from-preset", `{"preset":"zoho"}`},
			{"GET", "/api/v1/mail/domains", ""}, {"POST", "/api/v1/mail/domains", `{"domain":"u.example","provider_id":"` + corp.ID + `"}`},
			{"DELETE", "/api/v1/mail/domains/gmail.com", ""},
		} {
			var body any
			if op.body != "" {
				body = op.body
			}
			if r := user.Do(t, op.method, op.path, body); r.Status != http.StatusForbidden {
				t.Errorf("user %s %s: %d", op.method, op.path, r.Status)
			}
		}
		var choices page[map[string]any]
		r = user.JSON(t, "GET", "/api/v1/mail/provider-choices", nil, http.StatusOK, &choices)
		if len(choices.Items) != 3 || strings.Contains(string(r.Body), "client") || choices.Items[0]["name"] != "Corp mail" {
			t.Errorf("choices %s", r.Body)
		}
		type detection struct {
			Domain   string `json:"domain"`
			Provider *struct {
				ID string `json:"id"`
			} `json:"provider"`
		}
		var d detection
		user.JSON(t, "GET", "/api/v1/mail/detect?address=Ann%20%3Cann@GoogleMail.com%3E", nil, http.StatusOK, &d)
		if d.Domain != "googlemail.com" || d.Provider == nil || d.Provider.ID != gmail.ID {
			t.Errorf("detect gmail %+v", d)
		}
		user.JSON(t, "GET", "/api/v1/mail/detect?address=ann@corp.example", nil, http.StatusOK, &d)
		if d.Domain != "corp.example" || d.Provider != nil {
			t.Errorf("detect unknown %+v", d)
		}
		if p := decodeProblem(t, user.JSON(t, "GET", "/api/v1/mail/detect?address=ann", nil, http.StatusBadRequest, nil)); p.fields()["address"] != "invalid_email" {
			t.Errorf("detect junk %+v", p.Errors)
		}

		// Domains.
		a.JSON(t, "POST", "/api/v1/mail/domains", map[string]string{"domain": "Corp.Example", "provider_id": corp.ID}, http.StatusCreated, nil)
		user.JSON(t, "GET", "/api/v1/mail/detect?address=ann@corp.example", nil, http.StatusOK, &d)
		if d.Provider == nil || d.Provider.ID != corp.ID {
			t.Errorf("detect after mapping %+v", d)
		}
		for body, want := range map[string][2]string{
			`{"domain":"corp.example","provider_id":"` + gmail.ID + `"}`: {"domain", "duplicate"},
			`{"domain":"not a domain","provider_id":"` + gmail.ID + `"}`: {"domain", "invalid_domain"},
			`{"domain":"x.example","provider_id":"nope"}`:                {"provider_id", "unknown_value"},
		} {
			p := decodeProblem(t, a.JSON(t, "POST", "/api/v1/mail/domains", body, http.StatusBadRequest, nil))
			if p.fields()[want[0]] != want[1] {
				t.Errorf("%s: %+v", body, p.Errors)
			}
		}
		var ds page[struct {
			Domain       string `json:"domain"`
			ProviderName string `json:"provider_name"`
		}]
		a.JSON(t, "GET", "/api/v1/mail/domains?provider_id="+corp.ID, nil, http.StatusOK, &ds)
		if len(ds.Items) != 1 || ds.Items[0].ProviderName != "Corp mail" {
			t.Errorf("corp domains %+v", ds)
		}
		a.JSON(t, "DELETE", "/api/v1/mail/domains/corp.example", nil, http.StatusNoContent, nil)
		a.JSON(t, "DELETE", "/api/v1/mail/domains/corp.example", nil, http.StatusNotFound, nil)

		// A provider in use cannot be deleted.
		insertMailbox(t, s, user.UserID, corp.ID, "user@corp.example")
		r = a.Do(t, "DELETE", item, nil, "Accept-Language", "ru")
		if r.Status != http.StatusConflict {
			t.Fatalf("delete in use: %d %s", r.Status, r.Body)
		}
		if p := decodeProblem(t, r); p.Code != "mail_provider_in_use" || p.Detail != i18n.Ru.T("error.mail_provider_in_use") {
			t.Errorf("in use problem %+v", p)
		}
		var still mailProvider
		a.JSON(t, "GET", item, nil, http.StatusOK, &still)
		if still.MailboxCount != 1 {
			t.Errorf("after a refused delete %+v", still)
		}
		a.JSON(t, "DELETE", "/api/v1/mail/providers/"+gmail.ID, nil, http.StatusNoContent, nil)
		a.JSON(t, "GET", "/api/v1/mail/providers/"+gmail.ID, nil, http.StatusNotFound, nil)
	})
}
