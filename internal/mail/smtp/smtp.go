// Package smtp is Tandem's SMTP transport: it sends a raw letter through a
// mailbox's submission server (implicit TLS, STARTTLS or plain; PLAIN/LOGIN
// or XOAUTH2) and verifies that a mailbox can log in there. It is built on
// github.com/emersion/go-smtp. Errors are *wire.Error with the same kinds
// as the IMAP transport (auth, unreachable, tls, protocol); recipients the
// server refuses come back together as a *RejectedError (kind protocol),
// and then nothing is sent.
package smtp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/tandem-crm/tandem/internal/mail/wire"
)

// Option configures Send and Verify.
type Option func(*options)

type options struct {
	tlsConfig       *tls.Config
	greetingTimeout time.Duration
	commandTimeout  time.Duration
}

// WithTLSConfig sets the TLS configuration (e.g. a test server's root CA).
// ServerName defaults to the endpoint's host.
func WithTLSConfig(c *tls.Config) Option { return func(o *options) { o.tlsConfig = c } }

// WithGreetingTimeout bounds the wait for the server's 220 greeting
// (default 15 s).
func WithGreetingTimeout(d time.Duration) Option { return func(o *options) { o.greetingTimeout = d } }

// RejectedError lists the recipients the server refused. Send reports all
// of them and sends to none.
type RejectedError struct {
	Rejected []Rejection
}

// Rejection is one refused recipient with the server's answer.
type Rejection struct {
	Recipient string
	Code      int    // e.g. 550, 554; 4xx is temporary
	Enhanced  string // e.g. "5.7.1"; "" when the server sent none
	Message   string
}

func (e *RejectedError) Error() string {
	parts := make([]string, len(e.Rejected))
	for i, r := range e.Rejected {
		parts[i] = fmt.Sprintf("%s: %d %s", r.Recipient, r.Code, r.Message)
	}
	return fmt.Sprintf("smtp: %d recipient(s) refused: %s", len(e.Rejected), strings.Join(parts, "; "))
}

// Temporary reports whether every refusal was temporary (4xx), so a retry
// may succeed.
func (e *RejectedError) Temporary() bool {
	for _, r := range e.Rejected {
		if r.Code/100 != 4 {
			return false
		}
	}
	return len(e.Rejected) > 0
}

// Send logs in to ep and sends raw (the whole RFC 5322 message, as stored)
// from the envelope sender from to rcpts. If the server refuses any
// recipient, the transaction is abandoned and the error holds a
// *RejectedError naming each refused one.
func Send(ctx context.Context, ep wire.Endpoint, auth wire.Auth, from string, rcpts []string, raw io.Reader, opts ...Option) error {
	if len(rcpts) == 0 {
		return wire.ProtocolError(errors.New("smtp: no recipients"))
	}
	return session(ctx, ep, auth, opts, func(c *gosmtp.Client) error {
		if err := c.Mail(from, nil); err != nil {
			return commandError("mail from", err)
		}
		var rej []Rejection
		for _, r := range rcpts {
			if err := c.Rcpt(r, nil); err != nil {
				var se *gosmtp.SMTPError
				if !errors.As(err, &se) {
					return commandError("rcpt to", err)
				}
				rej = append(rej, Rejection{Recipient: r, Code: se.Code, Enhanced: enhanced(se), Message: se.Message})
			}
		}
		if len(rej) > 0 {
			_ = c.Reset()
			return wire.ProtocolError(&RejectedError{Rejected: rej})
		}
		w, err := c.Data()
		if err != nil {
			return commandError("data", err)
		}
		if _, err := io.Copy(w, raw); err != nil {
			w.Close()
			return commandError("data", err)
		}
		if err := w.Close(); err != nil {
			return commandError("end of data", err)
		}
		return nil
	})
}

// Verify connects, protects the connection, logs in and quits: what adding
// a mailbox checks. An Auth without Username skips the login.
func Verify(ctx context.Context, ep wire.Endpoint, auth wire.Auth, opts ...Option) error {
	return session(ctx, ep, auth, opts, func(*gosmtp.Client) error { return nil })
}

func enhanced(se *gosmtp.SMTPError) string {
	if se.EnhancedCode == (gosmtp.EnhancedCode{}) || se.EnhancedCode == gosmtp.NoEnhancedCode {
		return ""
	}
	return fmt.Sprintf("%d.%d.%d", se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2])
}

func commandError(cmd string, err error) error {
	var se *gosmtp.SMTPError
	if errors.As(err, &se) {
		return wire.ProtocolError(fmt.Errorf("smtp %s: %w", cmd, err))
	}
	return wire.ClassifyDial(fmt.Errorf("smtp %s: %w", cmd, err))
}

// session dials, greets, secures and logs in, runs fn, then QUITs. ctx
// ending closes the connection.
func session(ctx context.Context, ep wire.Endpoint, auth wire.Auth, opts []Option, fn func(*gosmtp.Client) error) (err error) {
	o := options{greetingTimeout: 15 * time.Second, commandTimeout: 2 * time.Minute}
	for _, f := range opts {
		f(&o)
	}
	if err := ep.Validate(); err != nil {
		return wire.ProtocolError(err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	tlsConfig := &tls.Config{}
	if o.tlsConfig != nil {
		tlsConfig = o.tlsConfig.Clone()
	}
	if tlsConfig.ServerName == "" {
		tlsConfig.ServerName = ep.Host
	}
	if tlsConfig.MinVersion == 0 {
		tlsConfig.MinVersion = tls.VersionTLS12
	}

	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", ep.Addr())
	if err != nil {
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("smtp dial %s: %w", ep.Addr(), ctx.Err())
		}
		return wire.ClassifyDial(fmt.Errorf("smtp dial %s: %w", ep.Addr(), err))
	}
	// Until the session is secured, ctx or the greeting timer may close
	// the connection; remember which, to say why.
	var why atomic.Value
	stop := context.AfterFunc(ctx, func() { why.CompareAndSwap(nil, "ctx"); conn.Close() })
	greet := time.AfterFunc(o.greetingTimeout, func() { why.CompareAndSwap(nil, "greeting"); conn.Close() })
	defer func() {
		stop()
		greet.Stop()
		conn.Close()
		switch why.Load() {
		case "ctx":
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				err = &wire.Error{Kind: wire.KindUnreachable, Err: fmt.Errorf("smtp %s: %w", ep.Addr(), ctx.Err())}
			} else {
				err = fmt.Errorf("smtp %s: %w", ep.Addr(), ctx.Err())
			}
		case "greeting":
			if ep.Security == wire.SecurityTLS {
				err = &wire.Error{Kind: wire.KindUnreachable, Err: fmt.Errorf("smtp %s: no greeting in %v", ep.Addr(), o.greetingTimeout)}
			} else {
				err = &wire.Error{Kind: wire.KindTLS, Err: fmt.Errorf("smtp %s: no greeting in %v (does the port expect implicit TLS?)", ep.Addr(), o.greetingTimeout)}
			}
		}
	}()

	var c *gosmtp.Client
	switch ep.Security {
	case wire.SecuritySTARTTLS:
		c, err = gosmtp.NewClientStartTLS(conn, tlsConfig)
		if err != nil {
			var se *gosmtp.SMTPError
			switch {
			case errors.As(err, &se):
				return helloError(ep, err)
			case strings.Contains(err.Error(), "doesn't support STARTTLS"):
				return &wire.Error{Kind: wire.KindTLS, Err: fmt.Errorf("smtp %s does not offer STARTTLS: %w", ep.Addr(), err)}
			}
			return wire.ClassifyDial(fmt.Errorf("smtp starttls with %s: %w", ep.Addr(), err))
		}
		// go-smtp shakes hands lazily and keeps the EHLO error after
		// STARTTLS to itself; NOOP brings it out.
		if err := c.Noop(); err != nil {
			c.Close()
			return helloError(ep, err)
		}
	case wire.SecurityTLS:
		tc := tls.Client(conn, tlsConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			return wire.ClassifyDial(fmt.Errorf("smtp tls handshake with %s: %w", ep.Addr(), err))
		}
		c = gosmtp.NewClient(tc)
		if err := c.Hello("localhost"); err != nil {
			return helloError(ep, err)
		}
	default:
		c = gosmtp.NewClient(conn)
		if err := c.Hello("localhost"); err != nil {
			return helloError(ep, err)
		}
	}
	defer c.Close()
	greet.Stop()
	c.CommandTimeout = o.commandTimeout
	if auth.Username != "" {
		if err := login(ctx, c, auth); err != nil {
			return err
		}
	}
	if err := fn(c); err != nil {
		return err
	}
	if err := c.Quit(); err != nil {
		return commandError("quit", err)
	}
	return nil
}

func helloError(ep wire.Endpoint, err error) error {
	var se *gosmtp.SMTPError
	if errors.As(err, &se) {
		return wire.ProtocolError(fmt.Errorf("smtp greeting from %s: %w", ep.Addr(), err))
	}
	return wire.ClassifyDial(fmt.Errorf("smtp greeting from %s: %w", ep.Addr(), err))
}

func login(ctx context.Context, c *gosmtp.Client, auth wire.Auth) error {
	var (
		client sasl.Client
		x      *wire.XOAuth2Client
		mech   string
	)
	switch {
	case auth.OAuth():
		if !c.SupportsAuth(wire.XOAuth2) {
			return wire.ProtocolError(errors.New("smtp: server does not offer XOAUTH2"))
		}
		token, err := auth.Token(ctx)
		if err != nil {
			if wire.KindOf(err) != "" {
				return err
			}
			return wire.AuthError(fmt.Errorf("smtp: get access token: %w", err))
		}
		x = wire.NewXOAuth2Client(auth.Username, token)
		client, mech = x, "xoauth2"
	case c.SupportsAuth("PLAIN"):
		client, mech = sasl.NewPlainClient("", auth.Username, auth.Password), "plain"
	case c.SupportsAuth("LOGIN"):
		client, mech = sasl.NewLoginClient(auth.Username, auth.Password), "login"
	default:
		if ok, _ := c.Extension("AUTH"); !ok {
			return wire.ProtocolError(errors.New("smtp: server offers no login (no AUTH; it may need STARTTLS first)"))
		}
		return wire.ProtocolError(errors.New("smtp: server offers neither PLAIN nor LOGIN"))
	}
	err := c.Auth(client)
	if err == nil {
		return nil
	}
	var se *gosmtp.SMTPError
	if errors.As(err, &se) {
		switch {
		case se.Code == 535 || se.Code == 534 || se.Code == 530:
			if x != nil && x.Failure() != nil {
				return wire.AuthError(fmt.Errorf("smtp %s login: %s: %w", mech, x.Failure(), err))
			}
			return wire.AuthError(fmt.Errorf("smtp %s login: %w", mech, err))
		case se.Code == 538:
			return &wire.Error{Kind: wire.KindTLS, Err: fmt.Errorf("smtp %s login: %w", mech, err)}
		}
		return wire.ProtocolError(fmt.Errorf("smtp %s login: %w", mech, err))
	}
	return wire.ClassifyDial(fmt.Errorf("smtp %s login: %w", mech, err))
}
