package wire

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
)

func TestParseSecurity(t *testing.T) {
	for in, want := range map[string]Security{
		"tls": SecurityTLS, "SSL": SecurityTLS, "ssl/tls": SecurityTLS, " starttls ": SecuritySTARTTLS,
		"STARTTLS": SecuritySTARTTLS, "none": SecurityNone, "plain": SecurityNone,
	} {
		got, err := ParseSecurity(in)
		if err != nil || got != want {
			t.Errorf("ParseSecurity(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "auto", "tls1.3"} {
		if _, err := ParseSecurity(in); err == nil {
			t.Errorf("ParseSecurity(%q) accepted", in)
		}
	}
}

func TestEndpointValidate(t *testing.T) {
	ok := Endpoint{Host: "imap.example.test", Port: 993, Security: SecurityTLS}
	if err := ok.Validate(); err != nil || ok.Addr() != "imap.example.test:993" {
		t.Fatal(err, ok.Addr())
	}
	if (Endpoint{Host: "::1", Port: 143, Security: SecurityNone}).Addr() != "[::1]:143" {
		t.Error("IPv6 address not bracketed")
	}
	for _, bad := range []Endpoint{{Port: 993, Security: SecurityTLS}, {Host: "h", Port: 0, Security: SecurityTLS},
		{Host: "h", Port: 70000, Security: SecurityTLS}, {Host: "h", Port: 993, Security: "ssl"}} {
		if bad.Validate() == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestAuthNeverPrintsSecrets(t *testing.T) {
	a := Auth{Username: "alice@example.test", Password: "s3cret-pw"}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("login", "auth", a)
	for _, s := range []string{fmt.Sprint(a), fmt.Sprintf("%v %+v %#v %s %q", a, a, a, a, a), fmt.Sprint(&a), logged.String()} {
		if strings.Contains(s, "s3cret-pw") || !strings.Contains(s, "alice@example.test") {
			t.Errorf("printed: %s", s)
		}
	}
	o := Auth{Username: "bob", Token: func(context.Context) (string, error) { return "ya29.x", nil }}
	if !o.OAuth() || o.Method() != "xoauth2" || a.Method() != "password" {
		t.Error("method")
	}
}

func TestXOAuth2Client(t *testing.T) {
	c := NewXOAuth2Client("alice@example.test", "ya29.tok")
	mech, ir, err := c.Start()
	if err != nil || mech != "XOAUTH2" || string(ir) != "user=alice@example.test\x01auth=Bearer ya29.tok\x01\x01" {
		t.Fatalf("start: %q %q %v", mech, ir, err)
	}
	if c.Failure() != nil {
		t.Fatal("failure before a challenge")
	}
	resp, err := c.Next([]byte(`{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}`))
	if err != nil || resp == nil || len(resp) != 0 {
		t.Fatalf("answer to the error challenge: %q %v (want an empty, non-nil response)", resp, err)
	}
	if f := c.Failure(); f == nil || f.Status != "401" || f.Scope != "https://mail.google.com/" || strings.Contains(f.String(), "ya29") {
		t.Fatalf("failure %+v", f)
	}
	if _, err := c.Next([]byte("again")); err == nil {
		t.Error("a second challenge was answered")
	}
	f := NewXOAuth2Client("a", "b")
	if _, err := f.Next([]byte("not json")); err != nil || f.Failure().Raw != "not json" || f.Failure().Status != "" {
		t.Errorf("non-JSON challenge: %+v %v", f.Failure(), err)
	}
}

func TestClassifyDial(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	for _, tc := range []struct {
		name string
		err  error
		want Kind
	}{
		{"refused", fmt.Errorf("dial: %w", refused), KindUnreachable},
		{"dns", &net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}, KindUnreachable},
		{"deadline", context.DeadlineExceeded, KindUnreachable},
		{"reset", syscall.ECONNRESET, KindUnreachable},
		{"eof in greeting", fmt.Errorf("greeting: %w", io.EOF), KindUnreachable},
		{"unknown authority", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, KindTLS},
		{"record header", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, KindTLS},
		{"tls text", errors.New("tls: handshake failure"), KindTLS},
		{"alert", fmt.Errorf("x: %w", tls.AlertError(40)), KindTLS},
		{"other", errors.New("imap: unexpected response"), KindProtocol},
		{"already typed", AuthError(errors.New("no")), KindAuth},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ClassifyDial(tc.err)
			if KindOf(err) != tc.want || !errors.Is(err, tc.err) && tc.name != "already typed" {
				t.Errorf("ClassifyDial(%v) = %v (kind %q), want %q", tc.err, err, KindOf(err), tc.want)
			}
		})
	}
	if ClassifyDial(nil) != nil || KindOf(nil) != "" || KindOf(errors.New("x")) != "" {
		t.Error("nil handling")
	}
	if !IsAuth(AuthError(io.EOF)) || !IsTLS(&Error{Kind: KindTLS}) || !IsUnreachable(ClassifyDial(refused)) {
		t.Error("Is helpers")
	}
	if got := ProtocolError(AuthError(io.EOF)); KindOf(got) != KindAuth {
		t.Error("ProtocolError overrode a kind")
	}
	if got := (&Error{Kind: KindAuth, Err: errors.New("NO [AUTHENTICATIONFAILED]")}).Error(); got != "auth: NO [AUTHENTICATIONFAILED]" {
		t.Error(got)
	}
}
