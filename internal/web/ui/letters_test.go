package ui_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/i18n"
	"github.com/tandem-crm/tandem/internal/mail/message"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

// letterEnv is a server with the admin's shared mailbox, a contact whose
// letters are in it, and three users who may read the contact: bob with no
// right on the mailbox, carol with "read" (Russian), dave with "send".
type letterEnv struct {
	s                *tandemtest.Server
	mailbox, contact string
	bob, carol, dave *tandemtest.Browser
	daveAPI, bobAPI  *tandemtest.Client
	folderUID        uint32
}

func startLetters(t *testing.T) *letterEnv {
	t.Helper()
	s := tandemtest.Start(t, tandemtest.Options{})
	ctx := context.Background()
	st := s.App.Store
	p := &store.MailProvider{Name: "Corp", Type: "imap", IMAPHost: "imap.corp.test", IMAPPort: 993, IMAPSecurity: "tls",
		SMTPHost: "smtp.corp.test", SMTPPort: 465, SMTPSecurity: "tls", LoginFormat: "email", Auth: "basic"}
	if err := st.CreateMailProvider(ctx, p); err != nil {
		t.Fatal(err)
	}
	mb := &store.Mailbox{ProviderID: p.ID, Address: "admin@corp.test", Login: "admin@corp.test", FirstLoad: "month",
		AutoLoad: true, AllFolders: true, SendEnabled: true, DefaultSender: true, Shared: true, Alias: "Corp Sales"}
	if err := st.CreateMailbox(ctx, &store.Connection{UserID: s.Admin.UserID, Provider: "imap", AccountEmail: mb.Address}, mb, "sealed"); err != nil {
		t.Fatal(err)
	}
	role := s.NewRole(t, "Staff")
	e := &letterEnv{s: s, mailbox: mb.ID}
	users := map[string]*tandemtest.Client{}
	for _, u := range []struct{ email, lang string }{{"bob@corp.test", "en"}, {"carol@corp.test", "ru"}, {"dave@corp.test", "en"}} {
		s.Admin.JSON(t, "POST", "/api/v1/users", map[string]any{"email": u.email, "name": u.email, "password": crmPassword,
			"language": u.lang, "time_zone": "Europe/Moscow", "role_ids": []string{role}}, http.StatusCreated, nil)
		users[u.email] = s.Login(t, u.email, crmPassword)
	}
	e.bobAPI, e.daveAPI = users["bob@corp.test"], users["dave@corp.test"]
	e.bob = s.Browser(t, "bob@corp.test", crmPassword)
	e.carol = s.Browser(t, "carol@corp.test", crmPassword)
	e.dave = s.Browser(t, "dave@corp.test", crmPassword)
	if err := st.SetMailboxGrants(ctx, mb.ID, []store.MailboxGrant{
		{GranteeKind: "user", GranteeID: users["carol@corp.test"].UserID, Read: true},
		{GranteeKind: "user", GranteeID: users["dave@corp.test"].UserID, Send: true},
	}); err != nil {
		t.Fatal(err)
	}
	e.contact = crmCreate(t, s.Admin, "/api/v1/contacts", map[string]any{"name": "Ivan Petrov",
		"emails": []map[string]any{{"address": "ivan@acme.test", "kind": "work", "primary": true}},
		"access": []map[string]any{{"role_id": role, "level": "read"}}})
	return e
}

// rawLetter is a letter from Ivan with an HTML body that tries scripts,
// an inline image and a PDF named in Russian.
func rawLetter(subject string, n int) []byte {
	pdf := base64.StdEncoding.EncodeToString([]byte("%PDF-1.4 report"))
	png := base64.StdEncoding.EncodeToString([]byte("\x89PNG\r\n\x1a\nlogo"))
	return []byte(strings.ReplaceAll(fmt.Sprintf(`From: Ivan Petrov <ivan@acme.test>
To: admin@corp.test
Cc: boss@acme.test
Subject: %s
Date: Mon, 02 Jan 2006 15:04:05 +0000
Message-ID: <letter-%d@acme.test>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: multipart/related; boundary="b2"

--b2
Content-Type: text/html; charset=utf-8

<p>Hello %d</p><script>alert('stolen')</script><img src="x" onerror="alert(1)"><img src="cid:logo@acme.test">
--b2
Content-Type: image/png
Content-ID: <logo@acme.test>
Content-Transfer-Encoding: base64

%s
--b2--
--b1
Content-Type: application/pdf
Content-Disposition: attachment; filename*=utf-8''%%D0%%9E%%D1%%82%%D1%%87%%D1%%91%%D1%%82.pdf
Content-Transfer-Encoding: base64

%s
--b1--
`, subject, n, n, png, pdf), "\n", "\r\n"))
}

// save stores letters in the mailbox's INBOX as the loader would.
func (e *letterEnv) save(t *testing.T, raws ...[]byte) {
	t.Helper()
	var ls []store.Letter
	now := time.Now()
	for i, raw := range raws {
		p := message.Parse(raw)
		e.folderUID++
		l := store.Letter{Hash: message.Hash(raw), Raw: raw, MessageID: p.MessageID, Subject: p.Subject, Snippet: p.Snippet,
			FromName: p.From[0].Name, FromEmail: p.From[0].Email, SentAt: crm.Micros(p.Date),
			ReceivedAt: crm.Micros(now.Add(time.Duration(i) * time.Minute)), UID: e.folderUID}
		for role, as := range map[string][]message.Address{"from": p.From, "to": p.To, "cc": p.Cc} {
			for _, a := range as {
				l.Addresses = append(l.Addresses, store.LetterAddress{Role: role, Email: a.Email, Name: a.Name})
			}
		}
		for _, a := range p.Attachments {
			l.Attachments = append(l.Attachments, store.LetterAttachment{Filename: a.Filename, ContentType: a.ContentType,
				ContentID: a.ContentID, Inline: a.Inline, Size: int64(a.Size)})
		}
		ls = append(ls, l)
	}
	if _, err := e.s.App.Store.SaveLetters(context.Background(), e.mailbox, "INBOX",
		store.FolderCursor{UIDValidity: 1, UIDNext: e.folderUID + 1}, ls); err != nil {
		t.Fatal(err)
	}
}

// TestLetterVisibility: the contact's timeline shows the mailbox's letters
// only to users with a right on it; the panel only to those who may send
// from it. The API answers the same, and 404 for a contact one may not
// read.
func TestLetterVisibility(t *testing.T) {
	e := startLetters(t)
	e.save(t, rawLetter("Quarterly report", 1))
	card := "/contacts/" + e.contact

	p := e.bob.Get(t, card)
	crmStatus(t, p, http.StatusOK)
	crmHas(t, p, "Letters", "No letters yet.")
	crmLacks(t, p, "Quarterly report")
	crmLacks(t, e.bob.Get(t, "/mail"), "Quarterly report")

	ru := i18n.Ru
	p = e.carol.Get(t, card)
	crmHas(t, p, tr(ru, "letter.title"), "Quarterly report", tr(ru, "letter.attachments"), tr(ru, "nav.mail"))
	p = e.carol.Get(t, "/mail")
	crmStatus(t, p, http.StatusOK)
	crmLacks(t, p, "Quarterly report")
	crmHas(t, p, tr(ru, "letter.panel.no_mailboxes"))

	crmHas(t, e.dave.Get(t, card), "Quarterly report")
	p = e.dave.Get(t, "/mail")
	crmHas(t, p, "Quarterly report", "Corp Sales", tr(i18n.En, "letter.unread"), `data-mail-events="/mail/events"`)

	var page struct {
		Items []struct {
			Subject        string `json:"subject"`
			HasAttachments bool   `json:"has_attachments"`
		} `json:"items"`
	}
	e.daveAPI.JSON(t, "GET", "/api/v1/contacts/"+e.contact+"/letters", nil, http.StatusOK, &page)
	if len(page.Items) != 1 || page.Items[0].Subject != "Quarterly report" || !page.Items[0].HasAttachments {
		t.Errorf("dave's timeline: %+v", page.Items)
	}
	e.bobAPI.JSON(t, "GET", "/api/v1/contacts/"+e.contact+"/letters", nil, http.StatusOK, &page)
	if len(page.Items) != 0 {
		t.Errorf("bob's timeline: %+v", page.Items)
	}
	e.daveAPI.JSON(t, "GET", "/api/v1/letters", nil, http.StatusOK, &page)
	if len(page.Items) != 1 {
		t.Errorf("dave's panel: %+v", page.Items)
	}
	// A contact dave may not read: 404, though its letters are in a mailbox he sees.
	other := crmCreate(t, e.s.Admin, "/api/v1/contacts", map[string]any{"name": "Hidden",
		"emails": []map[string]any{{"address": "ivan@acme.test", "kind": "work", "primary": true}}})
	e.daveAPI.JSON(t, "GET", "/api/v1/contacts/"+other+"/letters", nil, http.StatusNotFound, nil)
	crmStatus(t, e.dave.Get(t, "/contacts/"+other+"/letters"), http.StatusNotFound)
}

// TestLetterPaging: the card shows the newest ten and "more"; the list
// page and the API page through the rest by cursor, newest first.
func TestLetterPaging(t *testing.T) {
	e := startLetters(t)
	var raws [][]byte
	for i := 1; i <= 12; i++ {
		raws = append(raws, rawLetter(fmt.Sprintf("Letter number %02d", i), i))
	}
	e.save(t, raws...)
	p := e.dave.Get(t, "/contacts/"+e.contact)
	crmHas(t, p, "Letter number 12", "Letter number 03", "More letters")
	crmLacks(t, p, "Letter number 02", "Letter number 01")
	if i, j := strings.Index(p.Body, "Letter number 12"), strings.Index(p.Body, "Letter number 11"); i < 0 || j < i {
		t.Error("the card is not newest first")
	}
	next := regexpFind(t, p.Body, `href="(/contacts/[^"]+/letters\?cursor=[^"]+)"`)
	p = e.dave.Get(t, html.UnescapeString(next))
	crmStatus(t, p, http.StatusOK)
	crmHas(t, p, "Letter number 02", "Letter number 01")
	crmLacks(t, p, "Letter number 03")

	var seen []string
	path := "/api/v1/contacts/" + e.contact + "/letters?limit=5"
	for range 5 {
		var page struct {
			Items []struct {
				Subject string `json:"subject"`
			} `json:"items"`
			Next *string `json:"next_cursor"`
		}
		e.daveAPI.JSON(t, "GET", path, nil, http.StatusOK, &page)
		for _, it := range page.Items {
			seen = append(seen, it.Subject)
		}
		if page.Next == nil {
			break
		}
		path = "/api/v1/contacts/" + e.contact + "/letters?limit=5&cursor=" + url.QueryEscape(*page.Next)
	}
	if len(seen) != 12 || seen[0] != "Letter number 12" || seen[11] != "Letter number 01" {
		t.Errorf("paged through %q", seen)
	}
	e.daveAPI.JSON(t, "GET", "/api/v1/contacts/"+e.contact+"/letters?cursor=bogus!", nil, http.StatusBadRequest, nil)
}

// TestLetterView: the body is sanitized and sandboxed, inline images point
// at their attachment, the PDF downloads with its Russian name, and the
// reply is prefilled.
func TestLetterView(t *testing.T) {
	e := startLetters(t)
	e.save(t, rawLetter("Re: RE: Quarterly report", 7))
	var list struct {
		Items []struct{ ID string } `json:"items"`
	}
	e.daveAPI.JSON(t, "GET", "/api/v1/letters", nil, http.StatusOK, &list)
	if len(list.Items) != 1 {
		t.Fatalf("panel: %+v", list)
	}
	id := list.Items[0].ID
	p := e.dave.Get(t, "/letters/"+id)
	crmStatus(t, p, http.StatusOK)
	crmHas(t, p, `sandbox="allow-popups allow-popups-to-escape-sandbox"`, "Hello 7", "Ivan Petrov &lt;ivan@acme.test&gt;",
		"boss@acme.test", "/letters/"+id+"/attachments/0", "Отчёт.pdf", "/mail/compose?reply="+id, "Reply all")
	crmLacks(t, p, "alert(", "onerror", "allow-scripts", "&lt;script")
	// The inline image is in the body, not in the list of files.
	crmHas(t, p, "/letters/"+id+"/attachments/0&#34;") // escaped inside srcdoc
	crmLacks(t, p, `href="/letters/`+id+`/attachments/0"`)

	u := newUploader(t, e.s, "dave@corp.test", crmPassword)
	status, body, h := u.get(t, "/letters/"+id+"/attachments/1")
	if status != http.StatusOK || body != "%PDF-1.4 report" {
		t.Fatalf("attachment: %d %q", status, body)
	}
	for k, want := range map[string]string{
		"Content-Type":           "application/pdf",
		"Content-Disposition":    `attachment; filename="_____.pdf"; filename*=UTF-8''%D0%9E%D1%82%D1%87%D1%91%D1%82.pdf`,
		"X-Content-Type-Options": "nosniff",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	status, body, h = u.get(t, "/letters/"+id+"/raw")
	if status != http.StatusOK || h.Get("Content-Type") != "message/rfc822" || !strings.Contains(body, "Message-ID: <letter-7@acme.test>") {
		t.Errorf("raw: %d %s", status, h.Get("Content-Type"))
	}
	if status, _, _ := newUploader(t, e.s, "bob@corp.test", crmPassword).get(t, "/letters/"+id+"/attachments/1"); status != http.StatusNotFound {
		t.Errorf("bob's download: %d", status)
	}
	crmStatus(t, e.bob.Get(t, "/letters/"+id), http.StatusNotFound)

	var l struct {
		HTML        string `json:"html"`
		Attachments []struct {
			Filename string `json:"filename"`
		} `json:"attachments"`
	}
	e.daveAPI.JSON(t, "GET", "/api/v1/letters/"+id, nil, http.StatusOK, &l)
	if strings.Contains(l.HTML, "script") || strings.Contains(l.HTML, "onerror") || len(l.Attachments) != 2 || l.Attachments[1].Filename != "Отчёт.pdf" {
		t.Errorf("API letter: %+v", l)
	}

	p = e.dave.Get(t, "/mail/compose?reply="+id+"&all=1")
	crmStatus(t, p, http.StatusOK)
	crmHas(t, p, `value="Re: Quarterly report"`, `value="Ivan Petrov &lt;ivan@acme.test&gt;"`, `value="boss@acme.test"`,
		`name="reply_to" value="`+id+`"`, "Corp Sales &lt;admin@corp.test&gt;", "Hello 7", "wrote:")
}

// TestComposeKeepsInput: a send refused for bad input shows the form
// again with everything typed and the files to add again, in Russian.
func TestComposeKeepsInput(t *testing.T) {
	e := startLetters(t)
	carol := newUploader(t, e.s, "carol@corp.test", crmPassword)
	status, body, _ := carol.get(t, "/mail/compose")
	if status != http.StatusOK || !strings.Contains(body, tr(i18n.Ru, "letter.compose.no_senders")) {
		t.Errorf("carol's compose: %d", status)
	}
	dave := newUploader(t, e.s, "dave@corp.test", crmPassword)
	if _, body, _ := dave.get(t, "/mail/compose"); !strings.Contains(body, `<option value="`+e.mailbox+`" selected>Corp Sales &lt;admin@corp.test&gt;</option>`) {
		t.Errorf("the default sender is not chosen:\n%s", crmExcerpt(body))
	}
	status, body = dave.upload(t, "/mail/compose", map[string]string{"mailbox_id": e.mailbox, "to": "not an address",
		"cc": "boss@acme.test", "subject": "Предложение", "html": "<p>Typed body</p>"}, "attachments", "offer.pdf", "application/pdf", []byte("%PDF"))
	if status != http.StatusUnprocessableEntity {
		t.Fatalf("status %d", status)
	}
	for _, want := range []string{`value="not an address"`, `value="boss@acme.test"`, `value="Предложение"`, "&lt;p&gt;Typed body&lt;/p&gt;",
		tr(i18n.En, "error.invalid_email"), tr(i18n.En, "letter.compose.attach_again"), "offer.pdf"} {
		if !strings.Contains(body, want) {
			t.Errorf("the form lacks %q", want)
		}
	}
	status, body = dave.upload(t, "/mail/compose", map[string]string{"mailbox_id": "someone-elses", "to": "ivan@acme.test"}, "", "", "", nil)
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, tr(i18n.En, "error.unknown_value")) {
		t.Errorf("unknown sender: %d", status)
	}
	big := make([]byte, 19<<20)
	status, body = dave.upload(t, "/mail/compose", map[string]string{"mailbox_id": e.mailbox, "to": "ivan@acme.test", "subject": "Big"},
		"attachments", "big.bin", "application/octet-stream", big)
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, tr(i18n.En, "letter.error.attachments_too_large")) ||
		!strings.Contains(body, `value="Big"`) {
		t.Errorf("too large: %d", status)
	}
	var prob struct {
		Errors []struct{ Field, Code string }
	}
	e.daveAPI.JSON(t, "POST", "/api/v1/letters", map[string]any{"mailbox_id": e.mailbox, "to": []string{"bad"}}, http.StatusBadRequest, &prob)
	if len(prob.Errors) != 1 || prob.Errors[0].Field != "to" {
		t.Errorf("API validation: %+v", prob)
	}
}

// TestMailPanelLive: storing letters for the mailbox (the loader then
// calls Mailboxes.Changed) wakes dave's open panel stream at once with the
// new unread count.
func TestMailPanelLive(t *testing.T) {
	e := startLetters(t)
	resp := e.dave.Open(t, "/mail/events")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream: %d", resp.StatusCode)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	if l := <-lines; l != ": open" {
		t.Fatalf("first line %q", l)
	}
	e.save(t, rawLetter("Live one", 1))
	start := time.Now()
	e.s.App.Mailboxes.Changed(e.mailbox)
	timeout := time.After(20 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("the stream ended")
			}
			if strings.HasPrefix(l, "data: ") {
				if want := `{"unread":{"` + e.mailbox + `":1}}`; strings.TrimPrefix(l, "data: ") != want {
					t.Errorf("event data %s, want %s", l, want)
				}
				// The stream's own look at the database comes only after 5 s:
				// this was the broker.
				if d := time.Since(start); d > 3*time.Second {
					t.Errorf("the event came after %v", d)
				}
				return
			}
		case <-timeout:
			t.Fatal("no changed event")
		}
	}
}

func regexpFind(t *testing.T, body, pattern string) string {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no %s in the page", pattern)
	}
	return m[1]
}
