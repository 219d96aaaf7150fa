package smtp_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/mail/imap"
	"github.com/tandem-crm/tandem/internal/mail/smtp"
	"github.com/tandem-crm/tandem/internal/mail/wire"
	"github.com/tandem-crm/tandem/internal/testenv/mailserver"
)

const (
	alice     = "alice@example.test"
	alicePass = "Alice-pass-7f3c"
	bob       = "bob@example.test"
	bobPass   = "Bob-pass-21aa"
)

type env struct {
	srv *mailserver.Server
	ctx context.Context
}

func newEnv(t *testing.T, opts mailserver.Options) *env {
	t.Helper()
	srv := mailserver.Start(t, opts)
	srv.AddUser(t, alice, alicePass)
	srv.AddUser(t, bob, bobPass)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return &env{srv: srv, ctx: ctx}
}

func letter(subject string) []byte {
	return []byte("From: Alice <alice@example.test>\r\nTo: Bob <bob@example.test>\r\nSubject: " + subject +
		"\r\nMessage-ID: <" + strings.ReplaceAll(subject, " ", ".") + "@example.test>\r\nDate: Sun, 14 Mar 2021 15:09:26 +0000\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nПривет, Bob.\r\n")
}

func TestVerifyKinds(t *testing.T) {
	e := newEnv(t, mailserver.Options{})
	good := wire.Auth{Username: alice, Password: alicePass}
	wrong := wire.Auth{Username: alice, Password: "not-the-password-91b2"}
	other := mailserver.Start(t, mailserver.Options{})
	closed := other.SMTP(wire.SecurityNone)
	if err := other.Stop(); err != nil {
		t.Fatal(err)
	}
	plainAsTLS := e.srv.SMTP(wire.SecurityNone)
	plainAsTLS.Security = wire.SecurityTLS
	tlsAsPlain := e.srv.SMTP(wire.SecurityTLS)
	tlsAsPlain.Security = wire.SecurityNone

	for _, tc := range []struct {
		name string
		ep   wire.Endpoint
		auth wire.Auth
		tls  *tls.Config
		want wire.Kind
	}{
		{"tls ok", e.srv.SMTP(wire.SecurityTLS), good, e.srv.TLSConfig(), ""},
		{"starttls ok", e.srv.SMTP(wire.SecuritySTARTTLS), good, e.srv.TLSConfig(), ""},
		{"plain ok", e.srv.SMTP(wire.SecurityNone), good, nil, ""},
		{"wrong password", e.srv.SMTP(wire.SecuritySTARTTLS), wrong, e.srv.TLSConfig(), wire.KindAuth},
		{"wrong password tls", e.srv.SMTP(wire.SecurityTLS), wrong, e.srv.TLSConfig(), wire.KindAuth},
		{"closed port", closed, good, nil, wire.KindUnreachable},
		{"tls to the plain port", plainAsTLS, good, e.srv.TLSConfig(), wire.KindTLS},
		{"plain to the tls port", tlsAsPlain, good, nil, wire.KindTLS},
		{"untrusted certificate", e.srv.SMTP(wire.SecurityTLS), good, &tls.Config{}, wire.KindTLS},
		{"untrusted certificate starttls", e.srv.SMTP(wire.SecuritySTARTTLS), good, &tls.Config{}, wire.KindTLS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var opts []smtp.Option
			if tc.tls != nil {
				opts = append(opts, smtp.WithTLSConfig(tc.tls))
			}
			if tc.ep == tlsAsPlain {
				opts = append(opts, smtp.WithGreetingTimeout(time.Second))
			}
			err := smtp.Verify(e.ctx, tc.ep, tc.auth, opts...)
			if got := wire.KindOf(err); got != tc.want || (tc.want == "" && err != nil) {
				t.Fatalf("kind %q, want %q: %v", got, tc.want, err)
			}
			if err != nil && strings.Contains(err.Error(), tc.auth.Password) {
				t.Errorf("error holds the password: %v", err)
			}
		})
	}
}

// A letter sent over submission arrives in Dovecot (through Postfix and
// LMTP) and is fetched back byte for byte after the headers the servers
// add in front.
func TestSendDelivers(t *testing.T) {
	e := newEnv(t, mailserver.Options{})
	raw := letter("send test")
	for _, sec := range []wire.Security{wire.SecuritySTARTTLS, wire.SecurityTLS} {
		err := smtp.Send(e.ctx, e.srv.SMTP(sec), wire.Auth{Username: alice, Password: alicePass},
			alice, []string{bob, alice}, bytes.NewReader(raw), smtp.WithTLSConfig(e.srv.TLSConfig()))
		if err != nil {
			t.Fatalf("send over %s: %v", sec, err)
		}
	}
	e.srv.WaitCount(t, bob, "INBOX", 2)
	e.srv.WaitCount(t, alice, "INBOX", 2)

	c, err := imap.Dial(e.ctx, e.srv.IMAP(wire.SecurityTLS), wire.Auth{Username: bob, Password: bobPass}, imap.WithTLSConfig(e.srv.TLSConfig()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Examine(e.ctx, "INBOX"); err != nil {
		t.Fatal(err)
	}
	uids, err := c.AllUIDs(e.ctx)
	if err != nil || len(uids) != 2 {
		t.Fatalf("uids %v %v", uids, err)
	}
	n := 0
	err = c.Fetch(e.ctx, uids, func(m imap.Message) error {
		b, err := io.ReadAll(m.Body)
		if err != nil {
			return err
		}
		n++
		if !bytes.HasSuffix(b, raw) || !bytes.Contains(b, []byte("Received: ")) {
			t.Errorf("delivered message %d:\n%s", m.UID, b)
		}
		return nil
	})
	if err != nil || n != 2 {
		t.Fatal(err, n)
	}
}

// A refused recipient is named, and nothing is sent to the others.
func TestSendRejectedRecipients(t *testing.T) {
	e := newEnv(t, mailserver.Options{})
	auth := wire.Auth{Username: alice, Password: alicePass}
	ep := e.srv.SMTP(wire.SecuritySTARTTLS)
	opt := smtp.WithTLSConfig(e.srv.TLSConfig())
	err := smtp.Send(e.ctx, ep, auth, alice, []string{bob, "carol@elsewhere.test", "dave@elsewhere.test"}, bytes.NewReader(letter("refused")), opt)
	var rej *smtp.RejectedError
	if !errors.As(err, &rej) || wire.KindOf(err) != wire.KindProtocol {
		t.Fatalf("send: %v", err)
	}
	if len(rej.Rejected) != 2 || rej.Rejected[0].Recipient != "carol@elsewhere.test" || rej.Rejected[1].Recipient != "dave@elsewhere.test" ||
		rej.Rejected[0].Code != 554 || rej.Rejected[0].Enhanced != "5.7.1" || !strings.Contains(rej.Rejected[0].Message, "Relay access denied") || rej.Temporary() {
		t.Fatalf("rejections %+v", rej.Rejected)
	}
	// The next letter is the first bob gets.
	if err := smtp.Send(e.ctx, ep, auth, alice, []string{bob}, bytes.NewReader(letter("accepted")), opt); err != nil {
		t.Fatal(err)
	}
	e.srv.WaitCount(t, bob, "INBOX", 1)
	c, err := imap.Dial(e.ctx, e.srv.IMAP(wire.SecurityNone), wire.Auth{Username: bob, Password: bobPass})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Examine(e.ctx, "INBOX"); err != nil {
		t.Fatal(err)
	}
	err = c.Fetch(e.ctx, []uint32{1}, func(m imap.Message) error {
		b, _ := io.ReadAll(m.Body)
		if !bytes.Contains(b, []byte("Subject: accepted")) {
			return fmt.Errorf("bob's first letter is not the accepted one:\n%s", b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := smtp.Send(e.ctx, ep, auth, alice, nil, bytes.NewReader(nil), opt); wire.KindOf(err) != wire.KindProtocol {
		t.Errorf("send without recipients: %v", err)
	}
}

func TestSendCanceled(t *testing.T) {
	e := newEnv(t, mailserver.Options{})
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	err := smtp.Send(ctx, e.srv.SMTP(wire.SecurityNone), wire.Auth{Username: alice, Password: alicePass}, alice, []string{bob}, bytes.NewReader(letter("x")))
	if !errors.Is(err, context.Canceled) || wire.KindOf(err) != "" {
		t.Fatalf("send with a canceled ctx: %v", err)
	}
}
