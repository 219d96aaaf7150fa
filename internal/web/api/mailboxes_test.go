package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/i18n"
	"github.com/tandem-crm/tandem/internal/jobs"
	"github.com/tandem-crm/tandem/internal/mail"
	"github.com/tandem-crm/tandem/internal/mail/wire"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/testenv/mailserver"
	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

type mailboxOut struct {
	ID               string     `json:"id"`
	Address          string     `json:"address"`
	ProviderID       string     `json:"provider_id"`
	Login            string     `json:"login"`
	Status           string     `json:"status"`
	LastLoadAt       *time.Time `json:"last_load_at"`
	FirstLoad        string     `json:"first_load"`
	AllFolders       bool       `json:"all_folders"`
	Folders          []string   `json:"folders"`
	DefaultSender    bool       `json:"default_sender"`
	Signature        string     `json:"signature"`
	SignatureEnabled bool       `json:"signature_enabled"`
	Shared           bool       `json:"shared"`
	Access           struct {
		Owner, Read, Send, Configure bool
	} `json:"access"`
}

type mailboxProblemOut struct {
	Status   int    `json:"status"`
	Code     string `json:"code"`
	Detail   string `json:"detail"`
	Domain   string `json:"domain"`
	Protocol string `json:"protocol"`
	Kind     string `json:"kind"`
	Choices  []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"choices"`
}

func decodeMailboxProblem(t *testing.T, r tandemtest.Response) mailboxProblemOut {
	t.Helper()
	var p mailboxProblemOut
	if r.Status != http.StatusUnprocessableEntity || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/problem+json") {
		t.Fatalf("status %d %s: %s", r.Status, r.Header.Get("Content-Type"), r.Body)
	}
	if err := json.Unmarshal(r.Body, &p); err != nil || p.Status != r.Status || p.Detail == "" {
		t.Fatalf("problem %s: %v", r.Body, err)
	}
	return p
}

// corpProvider adds an IMAP provider mapped to corp.example whose servers
// refuse connections at once (port 1 of the loopback).
func corpProvider(t *testing.T, s *tandemtest.Server, name string) string {
	t.Helper()
	var p mailProvider
	s.Admin.JSON(t, "POST", "/api/v1/mail/providers", map[string]any{"name": name, "type": "imap", "imap_host": "127.0.0.1",
		"imap_port": 1, "smtp_host": "127.0.0.1", "smtp_port": 1, "login_format": "email"}, http.StatusCreated, &p)
	return p.ID
}

// fakeVerify stands in for the servers: "wrong" is refused by IMAP, "far"
// finds SMTP unreachable, "tls" fails SMTP's handshake.
func fakeVerify(_ context.Context, ep mail.Endpoints) error {
	switch ep.Auth.Password {
	case "wrong":
		return &mail.VerifyError{Protocol: mail.IMAP, Kind: wire.KindAuth, Err: errors.New("NO [AUTHENTICATIONFAILED]")}
	case "far":
		return &mail.VerifyError{Protocol: mail.SMTP, Kind: wire.KindUnreachable, Err: errors.New("connection refused")}
	case "tls":
		return &mail.VerifyError{Protocol: mail.SMTP, Kind: wire.KindTLS, Err: errors.New("bad certificate")}
	}
	return nil
}

func TestMailboxesAPI(t *testing.T) {
	eachDB(t, func(t *testing.T, s *tandemtest.Server) {
		ctx := context.Background()
		s.App.Mailboxes.Verify = fakeVerify
		corp := corpProvider(t, s, "Corp")
		s.Admin.JSON(t, "POST", "/api/v1/mail/domains", map[string]string{"domain": "corp.example", "provider_id": corp}, http.StatusCreated, nil)
		julia := s.NewUser(t, "julia@example.com")

		// Bad input: every field at once.
		r := julia.Do(t, "POST", "/api/v1/mailboxes", `{"address":"not an address","shared":true}`, "Accept-Language", "ru")
		if r.Status != http.StatusBadRequest {
			t.Fatalf("bad input: %d %s", r.Status, r.Body)
		}
		if got := decodeProblem(t, r).fields(); len(got) != 3 || got["address"] != "invalid_email" || got["password"] != "required" ||
			got["shared"] != "mail.error.shared_right" {
			t.Errorf("bad input fields %v", got)
		}

		// Each way a server refuses is named, in the caller's language.
		for _, tt := range []struct{ password, protocol, kind string }{
			{"wrong", "imap", "auth"}, {"far", "smtp", "unreachable"}, {"tls", "smtp", "tls"},
		} {
			for _, l := range []i18n.Lang{i18n.En, i18n.Ru} {
				p := decodeMailboxProblem(t, julia.Do(t, "POST", "/api/v1/mailboxes",
					map[string]string{"address": "julia@corp.example", "password": tt.password}, "Accept-Language", l.String()))
				want := l.T("mail.verify."+tt.kind, strings.ToUpper(tt.protocol))
				if p.Code != "mail_verify_failed" || p.Protocol != tt.protocol || p.Kind != tt.kind || p.Detail != want {
					t.Errorf("%s %s: %+v, want detail %q", tt.password, l, p, want)
				}
			}
		}

		// An unknown domain: pick a provider, then the domain is learned.
		p := decodeMailboxProblem(t, julia.Do(t, "POST", "/api/v1/mailboxes",
			map[string]string{"address": "Julia@Home.Example", "password": "secret-pass-1"}))
		if p.Code != "mail_pick_provider" || p.Domain != "home.example" || len(p.Choices) != 1 || p.Choices[0].ID != corp {
			t.Fatalf("pick provider: %+v", p)
		}
		r = julia.Do(t, "POST", "/api/v1/mailboxes", map[string]string{"address": "julia@home.example", "password": "x",
			"provider_id": "no-such-provider"})
		if got := decodeProblem(t, r).fields(); r.Status != http.StatusBadRequest || got["provider_id"] != "unknown_value" {
			t.Fatalf("unknown provider: %d %s", r.Status, r.Body)
		}
		var home mailboxOut
		r = julia.JSON(t, "POST", "/api/v1/mailboxes", map[string]string{"address": "Julia@Home.Example", "password": "secret-pass-1",
			"provider_id": corp}, http.StatusCreated, &home)
		if home.Address != "julia@home.example" || home.Login != "julia@home.example" || !home.DefaultSender || !home.AllFolders ||
			home.FirstLoad != "month" || !home.Access.Owner || home.LastLoadAt != nil || r.Header.Get("Location") != "/api/v1/mailboxes/"+home.ID {
			t.Fatalf("created %+v", home)
		}
		var det struct {
			Provider *struct{ ID string } `json:"provider"`
		}
		julia.JSON(t, "GET", "/api/v1/mail/detect?address=other@home.example", nil, http.StatusOK, &det)
		if det.Provider == nil || det.Provider.ID != corp {
			t.Errorf("domain not learned: %+v", det)
		}
		r = julia.Do(t, "POST", "/api/v1/mailboxes", map[string]string{"address": "julia@home.example", "password": "secret-pass-1"})
		if got := decodeProblem(t, r).fields(); got["address"] != "mail.error.mailbox_exists" {
			t.Errorf("twice: %s", r.Body)
		}
		var work mailboxOut
		julia.JSON(t, "POST", "/api/v1/mailboxes", map[string]string{"address": "julia@corp.example", "password": "secret-pass-2"},
			http.StatusCreated, &work)
		if work.DefaultSender {
			t.Error("a second mailbox took the default sender")
		}

		// The password is never sent back.
		var list page[mailboxOut]
		r = julia.JSON(t, "GET", "/api/v1/mailboxes", nil, http.StatusOK, &list)
		if len(list.Items) != 2 || list.Items[0].Address != "julia@corp.example" {
			t.Fatalf("list %+v", list)
		}
		for _, b := range [][]byte{r.Body, julia.Do(t, "GET", "/api/v1/mailboxes/"+home.ID, nil).Body} {
			if strings.Contains(string(b), "secret-pass") || strings.Contains(string(b), "password") {
				t.Fatalf("password sent: %s", b)
			}
		}

		// Settings: validation, sanitizing, folders.
		item := "/api/v1/mailboxes/" + home.ID
		r = julia.Do(t, "PATCH", item, `{"first_load":"decade","all_folders":false,"shared":true}`)
		if got := decodeProblem(t, r).fields(); len(got) != 3 || got["first_load"] != "unknown_value" ||
			got["folders"] != "mail.error.no_folders" || got["shared"] != "mail.error.shared_right" {
			t.Errorf("bad settings: %s", r.Body)
		}
		var patched mailboxOut
		julia.JSON(t, "PATCH", item, map[string]any{"first_load": "week", "all_folders": false, "folders": []string{"INBOX", "Projects"},
			"signature": `<p onclick="x()">Julia<script>alert(1)</script></p>`, "signature_enabled": true, "default_sender": false},
			http.StatusOK, &patched)
		if patched.FirstLoad != "week" || patched.AllFolders || len(patched.Folders) != 2 || !patched.SignatureEnabled ||
			strings.Contains(patched.Signature, "script") || strings.Contains(patched.Signature, "onclick") || !strings.Contains(patched.Signature, "Julia") {
			t.Errorf("patched %+v", patched)
		}

		// The folder tree of the last load.
		var folders page[struct {
			Name     string `json:"name"`
			Selected bool   `json:"selected"`
			Children []struct {
				Name     string `json:"name"`
				Selected bool   `json:"selected"`
			} `json:"children"`
		}]
		julia.JSON(t, "GET", item+"/folders", nil, http.StatusOK, &folders)
		if len(folders.Items) != 0 {
			t.Errorf("folders before a load: %+v", folders)
		}
		if err := s.App.Store.SaveMailFolders(ctx, home.ID, []store.MailFolder{{Name: "INBOX", Selectable: true},
			{Name: "Projects", Selectable: true}, {Name: "Projects/Alpha", Parent: "Projects", Selectable: true}}); err != nil {
			t.Fatal(err)
		}
		julia.JSON(t, "GET", item+"/folders", nil, http.StatusOK, &folders)
		if len(folders.Items) != 2 || folders.Items[1].Name != "Projects" || !folders.Items[1].Selected ||
			len(folders.Items[1].Children) != 1 || folders.Items[1].Children[0].Selected {
			t.Errorf("folders %+v", folders)
		}

		// Another user sees none of it.
		other := s.NewUser(t, "other@example.com")
		for _, m := range []struct{ method, path string }{{"GET", item}, {"PATCH", item}, {"DELETE", item}, {"GET", item + "/grants"},
			{"PUT", item + "/grants"}, {"GET", item + "/folders"}, {"POST", item + "/load"}} {
			if r := other.Do(t, m.method, m.path, "{}"); r.Status != http.StatusNotFound {
				t.Errorf("other user %s %s: %d", m.method, m.path, r.Status)
			}
		}
		julia.JSON(t, "GET", "/api/v1/mailboxes", nil, http.StatusOK, nil)

		// Grants without the shared-mailbox operation: refused.
		if r := julia.Do(t, "PUT", item+"/grants", `{"grants":[]}`); r.Status != http.StatusForbidden {
			t.Errorf("grants without the operation: %d %s", r.Status, r.Body)
		}

		// Load now: a job, the same one while it waits.
		var job struct {
			JobID int64 `json:"job_id"`
		}
		julia.JSON(t, "POST", item+"/load", nil, http.StatusAccepted, &job)
		if job.JobID <= 0 {
			t.Fatalf("job %+v", job)
		}
		s.WaitJob(t, job.JobID, tandemtest.JobEnded...)

		// Delete.
		julia.JSON(t, "DELETE", item, nil, http.StatusNoContent, nil)
		if r := julia.Do(t, "GET", item, nil); r.Status != http.StatusNotFound {
			t.Errorf("after delete: %d", r.Status)
		}
	})
}

func TestSharedMailboxAPI(t *testing.T) {
	eachDB(t, func(t *testing.T, s *tandemtest.Server) {
		s.App.Mailboxes.Verify = fakeVerify
		corp := corpProvider(t, s, "Corp")
		s.Admin.JSON(t, "POST", "/api/v1/mail/domains", map[string]string{"domain": "corp.example", "provider_id": corp}, http.StatusCreated, nil)
		connect := s.NewRole(t, "Mail admins", access.OpConnectSharedMailbox)
		configure := s.NewRole(t, "Mail configurers", access.OpManageSharedMailboxSync)
		sales := s.NewRole(t, "Sales")
		owner := s.NewUser(t, "owner@example.com", connect)
		reader := s.NewUser(t, "reader@example.com", sales)
		conf := s.NewUser(t, "conf@example.com", configure)
		confNoOp := s.NewUser(t, "confnoop@example.com")

		var mb mailboxOut
		owner.JSON(t, "POST", "/api/v1/mailboxes", map[string]any{"address": "sales@corp.example", "password": "p", "shared": true},
			http.StatusCreated, &mb)
		if !mb.Shared {
			t.Fatal("not shared")
		}
		item := "/api/v1/mailboxes/" + mb.ID
		body := map[string]any{"grants": []map[string]any{
			{"grantee_kind": "role", "grantee_id": sales, "read": true},
			{"grantee_kind": "user", "grantee_id": conf.UserID, "read": true, "configure": true},
			{"grantee_kind": "user", "grantee_id": confNoOp.UserID, "configure": true},
		}}
		var gs page[struct {
			GranteeKind string `json:"grantee_kind"`
			GranteeName string `json:"grantee_name"`
			Read        bool   `json:"read"`
		}]
		owner.JSON(t, "PUT", item+"/grants", body, http.StatusOK, &gs)
		if len(gs.Items) != 3 || gs.Items[0].GranteeKind != "user" && gs.Items[0].GranteeKind != "role" {
			t.Fatalf("grants %+v", gs)
		}
		for _, bad := range []struct {
			body  string
			field string
		}{
			{fmt.Sprintf(`{"grants":[{"grantee_kind":"team","grantee_id":%q,"read":true}]}`, sales), "grantee_kind"},
			{fmt.Sprintf(`{"grants":[{"grantee_kind":"user","grantee_id":%q,"read":true}]}`, owner.UserID), "grantee_id"},
			{`{"grants":[{"grantee_kind":"user","grantee_id":"nobody","read":true}]}`, "grantee_id"},
		} {
			r := owner.Do(t, "PUT", item+"/grants", bad.body)
			if got := decodeProblem(t, r).fields(); r.Status != http.StatusBadRequest || got[bad.field] == "" {
				t.Errorf("%s: %d %s", bad.body, r.Status, r.Body)
			}
		}

		// A reader through their role sees it, and may change nothing.
		var seen mailboxOut
		reader.JSON(t, "GET", item, nil, http.StatusOK, &seen)
		if seen.Access.Owner || !seen.Access.Read || seen.Access.Configure {
			t.Errorf("reader access %+v", seen.Access)
		}
		for _, m := range []struct{ method, path, body string }{{"PATCH", item, `{"alias":"x"}`}, {"DELETE", item, ""},
			{"GET", item + "/grants", ""}, {"PUT", item + "/grants", `{"grants":[]}`}, {"GET", item + "/folders", ""},
			{"POST", item + "/load", ""}} {
			var b any
			if m.body != "" {
				b = m.body
			}
			if r := reader.Do(t, m.method, m.path, b); r.Status != http.StatusForbidden {
				t.Errorf("reader %s %s: %d %s", m.method, m.path, r.Status, r.Body)
			}
		}
		// Configure needs the operation too.
		if r := confNoOp.Do(t, "PATCH", item, `{"alias":"x"}`); r.Status != http.StatusForbidden {
			t.Errorf("configure without the operation: %d", r.Status)
		}
		var changed mailboxOut
		conf.JSON(t, "PATCH", item, `{"alias":"Sales team"}`, http.StatusOK, &changed)
		conf.JSON(t, "GET", item+"/grants", nil, http.StatusOK, nil)
		if r := conf.Do(t, "PATCH", item, `{"shared":false}`); r.Status != http.StatusBadRequest {
			t.Errorf("a configurer unshared it: %d", r.Status)
		}
		if r := conf.Do(t, "DELETE", item, nil); r.Status != http.StatusForbidden {
			t.Errorf("a configurer deleted it: %d", r.Status)
		}
		// The owner without the operation any more cannot make another shared.
		plain := s.NewUser(t, "plain@example.com")
		var own mailboxOut
		plain.JSON(t, "POST", "/api/v1/mailboxes", map[string]any{"address": "plain@corp.example", "password": "p"}, http.StatusCreated, &own)
		if r := plain.Do(t, "PATCH", "/api/v1/mailboxes/"+own.ID, `{"shared":true}`); r.Status != http.StatusBadRequest {
			t.Errorf("shared without the operation: %d", r.Status)
		}
	})
}

// TestMailboxAgainstDovecot adds a mailbox through the API against a real
// Dovecot and Postfix, and loads it.
func TestMailboxAgainstDovecot(t *testing.T) {
	srv := mailserver.Start(t, mailserver.Options{})
	s := tandemtest.Start(t, tandemtest.Options{})
	s.App.Mailboxes.TLS = srv.TLSConfig()
	imapEP, smtpEP := srv.IMAP(wire.SecurityTLS), srv.SMTP(wire.SecurityTLS)
	var p mailProvider
	s.Admin.JSON(t, "POST", "/api/v1/mail/providers", map[string]any{"name": "Test server", "type": "imap",
		"imap_host": imapEP.Host, "imap_port": imapEP.Port, "imap_security": "tls",
		"smtp_host": smtpEP.Host, "smtp_port": smtpEP.Port, "smtp_security": "tls"}, http.StatusCreated, &p)
	address := "anna@" + srv.Domain()
	srv.AddUser(t, address, "anna-pass")
	srv.CreateFolder(t, address, "Projects")
	srv.Append(t, address, "INBOX", []byte("From: ivan@example.org\r\nTo: "+address+"\r\nSubject: hello\r\nMessage-ID: <hello@example.org>\r\n\r\nHi\r\n"),
		time.Now().Add(-time.Hour))
	anna := s.NewUser(t, "anna@example.com")

	pr := decodeMailboxProblem(t, anna.Do(t, "POST", "/api/v1/mailboxes", map[string]string{"address": address,
		"provider_id": p.ID, "password": "wrong-pass"}))
	if pr.Code != "mail_verify_failed" || pr.Protocol != "imap" || pr.Kind != "auth" {
		t.Fatalf("wrong password: %+v", pr)
	}
	var mb mailboxOut
	anna.JSON(t, "POST", "/api/v1/mailboxes", map[string]string{"address": address, "provider_id": p.ID, "password": "anna-pass"},
		http.StatusCreated, &mb)
	var job struct {
		JobID int64 `json:"job_id"`
	}
	anna.JSON(t, "POST", "/api/v1/mailboxes/"+mb.ID+"/load", nil, http.StatusAccepted, &job)
	s.WaitJob(t, job.JobID, tandemtest.JobEnded...)
	if j, _ := s.App.Queue.Get(context.Background(), job.JobID); j.State != jobs.StateCompleted {
		t.Fatalf("load job %+v", j)
	}
	var after mailboxOut
	anna.JSON(t, "GET", "/api/v1/mailboxes/"+mb.ID, nil, http.StatusOK, &after)
	if after.LastLoadAt == nil || after.Status != "active" {
		t.Errorf("after the load %+v", after)
	}
	var folders page[struct {
		Name string `json:"name"`
	}]
	anna.JSON(t, "GET", "/api/v1/mailboxes/"+mb.ID+"/folders", nil, http.StatusOK, &folders)
	var names []string
	for _, f := range folders.Items {
		names = append(names, f.Name)
	}
	if !strings.Contains(strings.Join(names, ","), "INBOX") || !strings.Contains(strings.Join(names, ","), "Projects") {
		t.Errorf("folders %v", names)
	}
}
