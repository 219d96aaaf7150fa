package ui_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tandem-crm/tandem/internal/mail/wire"
	"github.com/tandem-crm/tandem/internal/testenv/mailserver"
	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

// TestBrowserMailFlow drives the whole mail path in Chromium against a
// real Dovecot + Postfix: an admin adds the servers as a mail provider; a
// user, in Russian, adds her mailbox through Profile → Mailboxes (the
// domain is unknown, so she picks the provider), is told it was added,
// loads mail now (the job runs in the server), sees a delivered letter on
// the sender's contact card, opens it and replies; the reply arrives in
// the sender's Dovecot INBOX, threaded to the letter.
func TestBrowserMailFlow(t *testing.T) {
	srv := mailserver.Start(t, mailserver.Options{})
	s := tandemtest.Start(t, tandemtest.Options{MailTLS: srv.TLSConfig()})
	ctx := context.Background()
	aliceAddr, bobAddr := "alice@"+srv.Domain(), "bob@"+srv.Domain()
	srv.AddUser(t, aliceAddr, "alice-mail-pass")
	srv.AddUser(t, bobAddr, "bob-mail-pass")

	s.Admin.JSON(t, "POST", "/api/v1/users", map[string]any{"email": "alice@example.com", "name": "Алиса", "password": "user-password-1",
		"time_zone": "UTC", "language": "ru", "role_ids": []string{}}, http.StatusCreated, nil)
	alice := s.Login(t, "alice@example.com", "user-password-1")
	var bob struct{ ID string }
	alice.JSON(t, "POST", "/api/v1/contacts", map[string]any{"name": "Боб Почтовый",
		"emails": []map[string]any{{"address": bobAddr, "kind": "work", "primary": true}}}, http.StatusCreated, &bob)

	// Bob writes to Alice before she connects her mailbox.
	const subject = "Delivery terms"
	msgID := fmt.Sprintf("<terms-%d@%s>", time.Now().UnixNano(), srv.Domain())
	srv.Deliver(t, bobAddr, []string{aliceAddr}, []byte("From: Bob <"+bobAddr+">\r\nTo: Alice <"+aliceAddr+">\r\n"+
		"Subject: "+subject+"\r\nMessage-ID: "+msgID+"\r\nDate: "+time.Now().Format(time.RFC1123Z)+"\r\n"+
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nCan you ship by Friday?\r\n"))
	srv.WaitCount(t, aliceAddr, "INBOX", 1)

	chrome := newChrome(t, 150*time.Second)
	step := stepper(t, chrome)
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(chrome, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(v)
	}

	// The admin adds the test servers as a provider (TLS both ways, the
	// harness's own certificate authority trusted by the test server).
	imapEP, smtpEP := srv.IMAP(wire.SecurityTLS), srv.SMTP(wire.SecurityTLS)
	step("admin signs in", signIn(s.URL, tandemtest.AdminEmail, tandemtest.AdminPassword)...)
	step("create the mail provider",
		chromedp.Navigate(s.URL+"/admin/mail/providers/new"),
		chromedp.WaitVisible(chromedp.ID("f-name")),
		chromedp.SendKeys(chromedp.ID("f-name"), "Test Dovecot"),
		chromedp.SetValue(chromedp.ID("f-type"), "imap"),
		chromedp.SendKeys(chromedp.ID("f-imap_host"), imapEP.Host),
		chromedp.SetValue(chromedp.ID("f-imap_security"), "tls"),
		chromedp.SetValue(chromedp.ID("f-imap_port"), strconv.Itoa(imapEP.Port)),
		chromedp.SendKeys(chromedp.ID("f-smtp_host"), smtpEP.Host),
		chromedp.SetValue(chromedp.ID("f-smtp_security"), "tls"),
		chromedp.SetValue(chromedp.ID("f-smtp_port"), strconv.Itoa(smtpEP.Port)),
		chromedp.SetValue(chromedp.ID("f-login_format"), "email"),
		chromedp.SetValue(chromedp.ID("f-auth"), "basic"),
		chromedp.Click(chromedp.CSS(`form[data-mail-provider] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.toast-success`)),
	)
	if got := text(".toast-success"); !strings.Contains(got, "Test Dovecot") {
		t.Errorf("provider created toast %q", got)
	}
	step("admin signs out",
		chromedp.Navigate(s.URL+"/profile"),
		chromedp.WaitReady(chromedp.CSS(`form[action="/logout"]`)),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('form[action="/logout"]').submit()`),
		chromedp.WaitVisible(chromedp.ID("f-email")),
	)

	// Alice adds her mailbox: address, then the provider (her domain is
	// unknown), then the password; the servers verify it.
	step("alice signs in", signIn(s.URL, "alice@example.com", "user-password-1")...)
	step("open Profile → Mailboxes",
		chromedp.Navigate(s.URL+"/profile"),
		chromedp.WaitVisible(chromedp.CSS(`nav.tabs a[href="/profile/mailboxes"]`)),
		chromedp.Click(chromedp.CSS(`nav.tabs a[href="/profile/mailboxes"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/profile/mailboxes/new"]`)),
	)
	if got := text(`nav.tabs a[aria-current="page"]`); got != "Почтовые ящики" {
		t.Errorf("the Mailboxes tab in Russian: %q", got)
	}
	step("enter the address",
		chromedp.Click(chromedp.CSS(`a[href="/profile/mailboxes/new"]`)),
		chromedp.WaitVisible(chromedp.ID("f-address")),
		chromedp.SendKeys(chromedp.ID("f-address"), aliceAddr),
		chromedp.Click(chromedp.CSS(`form[action="/profile/mailboxes/new"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("f-provider_id")),
	)
	step("pick the provider and give the password",
		chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById("f-provider_id");
			const o = [...s.options].find((o) => o.text.trim() === "Test Dovecot");
			if (!o) throw new Error("no Test Dovecot among " + [...s.options].map((o) => o.text).join(", "));
			s.value = o.value; })()`),
		chromedp.SendKeys(chromedp.ID("f-password"), "alice-mail-pass"),
		chromedp.Click(chromedp.CSS(`form[action="/profile/mailboxes/new"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-mailbox-added]`)),
	)
	if got, want := text(`[data-mailbox-added] p`), "Ящик "+aliceAddr+" добавлен."; !strings.HasPrefix(got, want) {
		t.Errorf("added message %q, want it to start with %q", got, want)
	}
	loc, err := chromedp.Run(chrome, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	mailboxID := u.Query().Get("added")
	if mailboxID == "" {
		t.Fatalf("no added mailbox in %s", loc)
	}
	if got := text(`[data-mailbox-added] form[action$="/load"] button`); got != "Загрузить почту сейчас" {
		t.Errorf("load button %q", got)
	}

	// The page before has a toast too (the mailbox added): wait for the
	// next page, then for its toast.
	resp, err := chromedp.RunResponse(chrome, chromedp.Click(chromedp.CSS(`[data-mailbox-added] form[action$="/load"] button`)))
	if err != nil {
		t.Fatalf("load mail now: %v", err)
	}
	if resp.Status != http.StatusOK {
		t.Fatalf("load mail now: status %d", resp.Status)
	}
	step("the loading message", chromedp.WaitVisible(chromedp.CSS(`.toast-success`)))
	if got := text(".toast-success"); !strings.Contains(got, "Почта загружается") {
		t.Errorf("loading toast %q", got)
	}
	// The load job runs in the test server's workers.
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, _, err := s.App.Store.CountLetters(ctx, mailboxID)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the mailbox holds no letters 30 s after Load mail now")
		}
		time.Sleep(50 * time.Millisecond)
	}

	step("open Bob's card",
		chromedp.Navigate(s.URL+"/contacts/"+bob.ID),
		chromedp.WaitVisible(chromedp.CSS(`[aria-labelledby="contact-letters"] a[href^="/letters/"]`)),
	)
	if got := text(`[aria-labelledby="contact-letters"] a[href^="/letters/"]`); !strings.Contains(got, subject) {
		t.Fatalf("the letter on Bob's card: %q", got)
	}
	step("open the letter",
		chromedp.Click(chromedp.CSS(`[aria-labelledby="contact-letters"] a[href^="/letters/"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href^="/mail/compose?reply="]`)),
	)
	if got := text("h1.page-title"); got != subject {
		t.Errorf("letter title %q", got)
	}
	if got := text(`a[href^="/mail/compose?reply="]`); got != "Ответить" {
		t.Errorf("reply button %q", got)
	}
	step("reply",
		chromedp.Click(chromedp.CSS(`a[href^="/mail/compose?reply="]`)),
		chromedp.WaitVisible(chromedp.ID("f-html")),
	)
	for id, want := range map[string]string{"f-to": bobAddr, "f-subject": "Re: " + subject, "f-mailbox_id": mailboxID} {
		if got, err := chromedp.Run(chrome, chromedp.Value(chromedp.ID(id))); err != nil || !strings.Contains(got, want) {
			t.Errorf("%s = %q (%v), want %q in it", id, got, err, want)
		}
	}
	step("send",
		chromedp.Evaluate[chromedp.Void](`(() => { const b = document.getElementById("f-html");
			b.value = "<p>Yes, Friday works.</p>\n" + b.value; })()`),
		chromedp.Click(chromedp.CSS(`form[action="/mail/compose"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.toast-success`)),
	)
	if got := text(".toast-success"); got != "Письмо отправлено." {
		t.Errorf("sent toast %q", got)
	}

	// Postfix delivers it into Bob's INBOX, as a reply to his letter.
	srv.WaitCount(t, bobAddr, "INBOX", 1)
	hdr := srv.Doveadm(t, "fetch", "-u", bobAddr, "hdr", "mailbox", "INBOX")
	for _, want := range []string{"Subject: Re: " + subject, "In-Reply-To: " + msgID, "From: "} {
		if !strings.Contains(hdr, want) {
			t.Errorf("the reply in Bob's INBOX lacks %q:\n%s", want, hdr)
		}
	}
	if !strings.Contains(hdr, aliceAddr) {
		t.Errorf("the reply is not from %s:\n%s", aliceAddr, hdr)
	}
}
