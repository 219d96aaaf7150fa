// Package wire holds what Tandem's IMAP and SMTP transports share: where a
// server is (Endpoint, Security), how to log in to it (Auth, the XOAUTH2
// SASL client) and the typed errors (Error, Kind) that let a caller tell a
// user which part failed — wrong credentials, server unreachable, TLS, or
// anything else.
//
// Secrets (passwords, access tokens) never appear in an error string or a
// log line made here: Auth redacts itself when printed or logged, and the
// errors carry the server's words and the network error, never the
// credentials sent.
package wire

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
)

// Security is how a connection to a mail server is protected.
type Security string

const (
	// SecurityTLS is implicit TLS from the first byte (IMAPS 993, SMTPS 465).
	SecurityTLS Security = "tls"
	// SecuritySTARTTLS upgrades a plain connection with STARTTLS before
	// logging in (IMAP 143, submission 587); a server that does not offer
	// it is an error, never a silent downgrade.
	SecuritySTARTTLS Security = "starttls"
	// SecurityNone is plain text throughout.
	SecurityNone Security = "none"
)

// ParseSecurity reads a Security from its name. It also takes the names
// mail clients show: "ssl", "ssl/tls" for tls, "plain" for none.
func ParseSecurity(s string) (Security, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "tls", "ssl", "ssl/tls", "implicit":
		return SecurityTLS, nil
	case "starttls", "start_tls":
		return SecuritySTARTTLS, nil
	case "none", "plain", "plaintext":
		return SecurityNone, nil
	}
	return "", fmt.Errorf("unknown connection security %q (want tls, starttls or none)", s)
}

// String returns the canonical name.
func (s Security) String() string { return string(s) }

// Valid reports whether s is one of the three constants.
func (s Security) Valid() bool {
	return s == SecurityTLS || s == SecuritySTARTTLS || s == SecurityNone
}

// Endpoint is a mail server's address and how to protect the connection.
type Endpoint struct {
	Host     string
	Port     int
	Security Security
}

// Addr is host:port for net.Dial.
func (e Endpoint) Addr() string { return net.JoinHostPort(e.Host, strconv.Itoa(e.Port)) }

// String is host:port (security), for logs and messages.
func (e Endpoint) String() string { return e.Addr() + " (" + string(e.Security) + ")" }

// Validate checks the fields are usable before dialling.
func (e Endpoint) Validate() error {
	if strings.TrimSpace(e.Host) == "" {
		return fmt.Errorf("mail server: host is empty")
	}
	if e.Port <= 0 || e.Port > 65535 {
		return fmt.Errorf("mail server: port %d out of range", e.Port)
	}
	if !e.Security.Valid() {
		return fmt.Errorf("mail server: unknown connection security %q", e.Security)
	}
	return nil
}

// TokenFunc returns a current OAuth access token. It is called once per
// login, so the caller can refresh an expiring token there.
type TokenFunc func(ctx context.Context) (string, error)

// Auth is how to log in: Username with either Password (PLAIN, or LOGIN
// when the server offers only that) or Token (XOAUTH2). Token wins when
// both are set.
//
// Auth never prints its secret: String, GoString, Format and LogValue show
// the user name and the method only.
type Auth struct {
	Username string
	Password string
	Token    TokenFunc
}

// OAuth reports whether Auth logs in with XOAUTH2.
func (a Auth) OAuth() bool { return a.Token != nil }

// Method is "xoauth2" or "password".
func (a Auth) Method() string {
	if a.OAuth() {
		return "xoauth2"
	}
	return "password"
}

// String shows the user and the method, never the secret.
func (a Auth) String() string { return a.Username + " (" + a.Method() + ")" }

// GoString keeps %#v from printing the password.
func (a Auth) GoString() string { return "wire.Auth{" + a.String() + "}" }

// Format keeps every fmt verb (%v, %+v, %s, %q) from printing the password.
func (a Auth) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", a.String())
		return
	}
	fmt.Fprint(f, a.String())
}

// LogValue keeps slog from printing the password.
func (a Auth) LogValue() slog.Value {
	return slog.GroupValue(slog.String("username", a.Username), slog.String("method", a.Method()))
}
