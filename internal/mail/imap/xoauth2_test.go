package imap_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tandem-crm/tandem/internal/emulator/google"
	"github.com/tandem-crm/tandem/internal/mail/imap"
	"github.com/tandem-crm/tandem/internal/mail/wire"
	"github.com/tandem-crm/tandem/internal/testenv/mailserver"
)

// startGoogle runs the Google emulator with alice and bob as accounts.
func startGoogle(t *testing.T) (*google.Server, string) {
	t.Helper()
	g := google.New(google.Options{})
	g.AddUser(alice, "Alice")
	g.AddUser("bob@example.test", "Bob")
	base, err := g.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g, base
}

// XOAUTH2 against Dovecot's oauth2 passdb, which checks each token at the
// Google emulator's tokeninfo endpoint.
func TestXOAuth2(t *testing.T) {
	g, base := startGoogle(t)
	e := newEnv(t, mailserver.Options{OAuth: &mailserver.OAuth{TokenInfoURL: base + "/tokeninfo?access_token=", Scope: google.ScopeMail}})
	token := func(tok string) wire.TokenFunc {
		return func(context.Context) (string, error) { return tok, nil }
	}
	good := g.MintAccessToken(alice, google.ScopeMail, "email")
	for _, tc := range []struct {
		name  string
		token wire.TokenFunc
		want  wire.Kind
	}{
		{"good token", token(good), ""},
		{"unknown token", token("ya29.not-a-token-5c1d"), wire.KindAuth},
		{"token without the mail scope", token(g.MintAccessToken(alice, google.ScopeContacts, "email")), wire.KindAuth},
		{"another user's token", token(g.MintAccessToken("bob@example.test", google.ScopeMail, "email")), wire.KindAuth},
		{"no token to be had", func(context.Context) (string, error) { return "", errors.New("invalid_grant") }, wire.KindAuth},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, sec := range []wire.Security{wire.SecurityTLS, wire.SecuritySTARTTLS} {
				c, err := imap.Dial(e.ctx, e.srv.IMAP(sec), wire.Auth{Username: alice, Token: tc.token}, imap.WithTLSConfig(e.srv.TLSConfig()))
				if tc.want == "" {
					if err != nil {
						t.Fatalf("%s: %v\n%s", sec, err, e.srv.Logs())
					}
					if _, err := c.Examine(e.ctx, "INBOX"); err != nil {
						t.Error(err)
					}
					c.Close()
					continue
				}
				if err == nil {
					c.Close()
					t.Fatalf("%s: login succeeded", sec)
				}
				if wire.KindOf(err) != tc.want {
					t.Fatalf("%s: kind %q, want %q: %v", sec, wire.KindOf(err), tc.want, err)
				}
				t.Logf("%s: %v", sec, err)
				if strings.Contains(err.Error(), "ya29.") {
					t.Errorf("error holds the token: %v", err)
				}
			}
		})
	}
	if n := g.Calls()["oauth.tokeninfo"]; n < 6 {
		t.Errorf("Dovecot asked tokeninfo %d times", n)
	}
	// Passwords still work beside OAuth.
	c := e.dial(wire.SecurityTLS)
	c.Close()
}
