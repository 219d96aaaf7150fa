package smtp_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/tandem-crm/tandem/internal/emulator/google"
	"github.com/tandem-crm/tandem/internal/mail/smtp"
	"github.com/tandem-crm/tandem/internal/mail/wire"
	"github.com/tandem-crm/tandem/internal/testenv/mailserver"
)

// XOAUTH2 on submission: Postfix hands the exchange to Dovecot's auth,
// whose oauth2 passdb checks the token at the Google emulator. A refused
// token gets the error challenge, answered empty, then 535.
func TestXOAuth2(t *testing.T) {
	g := google.New(google.Options{})
	g.AddUser(alice, "Alice")
	base, err := g.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	e := newEnv(t, mailserver.Options{OAuth: &mailserver.OAuth{TokenInfoURL: base + "/tokeninfo?access_token=", Scope: google.ScopeMail}})
	token := func(tok string) wire.TokenFunc {
		return func(context.Context) (string, error) { return tok, nil }
	}
	opt := smtp.WithTLSConfig(e.srv.TLSConfig())
	good := wire.Auth{Username: alice, Token: token(g.MintAccessToken(alice, google.ScopeMail, "email"))}

	for _, sec := range []wire.Security{wire.SecurityTLS, wire.SecuritySTARTTLS} {
		if err := smtp.Verify(e.ctx, e.srv.SMTP(sec), good, opt); err != nil {
			t.Fatalf("verify over %s: %v\n%s", sec, err, e.srv.Logs())
		}
		for name, tok := range map[string]string{
			"unknown token":      "ya29.not-a-token-5c1d",
			"without mail scope": g.MintAccessToken(alice, google.ScopeContacts, "email"),
		} {
			err := smtp.Verify(e.ctx, e.srv.SMTP(sec), wire.Auth{Username: alice, Token: token(tok)}, opt)
			if wire.KindOf(err) != wire.KindAuth || !strings.Contains(err.Error(), "535") {
				t.Errorf("%s, %s: %v", sec, name, err)
			}
			if err != nil && strings.Contains(err.Error(), "ya29.") {
				t.Errorf("error holds the token: %v", err)
			}
		}
	}
	if err := smtp.Send(e.ctx, e.srv.SMTP(wire.SecuritySTARTTLS), good, alice, []string{bob}, bytes.NewReader(letter("oauth")), opt); err != nil {
		t.Fatal(err)
	}
	e.srv.WaitCount(t, bob, "INBOX", 1)
}
