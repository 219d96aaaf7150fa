// Package imap is Tandem's IMAP transport: it logs in to a mailbox
// (implicit TLS, STARTTLS or plain; PLAIN/LOGIN or XOAUTH2), reads the
// folder tree, examines a folder read-only, finds UIDs (by date, from a
// UID, all), streams whole messages without ever setting \Seen, reads flag
// changes (CONDSTORE when offered), appends (a sent letter to Sent) and
// watches a folder with IDLE. It owns nothing beyond the connection; what
// to load and where to keep it is the caller's.
//
// It is built on github.com/emersion/go-imap/v2 (imported as goimap), whose
// commands take no context: every method here watches its ctx and closes
// the connection when ctx ends, so the Client is unusable afterwards.
// Methods of one Client run one at a time.
//
// Errors are *wire.Error (auth, unreachable, tls, protocol) except when the
// caller's ctx ended (then ctx.Err() is wrapped) and the sentinel errors
// below.
package imap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"github.com/tandem-crm/tandem/internal/mail/wire"
)

// Option configures Dial.
type Option func(*options)

type options struct {
	tlsConfig       *tls.Config
	logger          *slog.Logger
	greetingTimeout time.Duration
	idleRestart     time.Duration
	fetchBatch      int
}

// WithTLSConfig sets the TLS configuration (e.g. a test server's root CA).
// ServerName defaults to the endpoint's host.
func WithTLSConfig(c *tls.Config) Option { return func(o *options) { o.tlsConfig = c } }

// WithLogger sets where connection events go (never secrets).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithGreetingTimeout bounds the wait for the server's greeting (default
// 15 s). A server that accepts TCP and then says nothing is usually a TLS
// port spoken to in plain text.
func WithGreetingTimeout(d time.Duration) Option { return func(o *options) { o.greetingTimeout = d } }

// WithIdleRestart sets how often Idle re-issues IDLE (default 25 min;
// servers may drop a client idle for 30).
func WithIdleRestart(d time.Duration) Option { return func(o *options) { o.idleRestart = d } }

// WithFetchBatch sets how many UIDs one UID FETCH asks for (default 100).
func WithFetchBatch(n int) Option { return func(o *options) { o.fetchBatch = n } }

// Client is a logged-in IMAP connection.
type Client struct {
	ep   wire.Endpoint
	auth wire.Auth
	opts options
	log  *slog.Logger

	conn net.Conn
	c    *imapclient.Client
	caps goimap.CapSet

	mu       sync.Mutex // one operation at a time
	selected string     // the examined folder, "" when none

	// notify, when set, is told about unilateral EXISTS/EXPUNGE/FETCH
	// (on Idle's connection only).
	notify atomic.Pointer[func()]
}

// Dial connects to ep, protects the connection as ep.Security says, logs
// in with auth and reads the capabilities.
func Dial(ctx context.Context, ep wire.Endpoint, auth wire.Auth, opts ...Option) (*Client, error) {
	o := options{greetingTimeout: 15 * time.Second, idleRestart: 25 * time.Minute, fetchBatch: 100}
	for _, f := range opts {
		f(&o)
	}
	if err := ep.Validate(); err != nil {
		return nil, wire.ProtocolError(err)
	}
	cl := &Client{ep: ep, auth: auth, opts: o, log: o.logger}
	if cl.log == nil {
		cl.log = slog.New(slog.DiscardHandler)
	}
	if err := cl.connect(ctx); err != nil {
		return nil, err
	}
	return cl, nil
}

func (cl *Client) tlsConfig() *tls.Config {
	var cfg *tls.Config
	if cl.opts.tlsConfig != nil {
		cfg = cl.opts.tlsConfig.Clone()
	} else {
		cfg = &tls.Config{}
	}
	if cfg.ServerName == "" {
		cfg.ServerName = cl.ep.Host
	}
	if cfg.MinVersion == 0 {
		cfg.MinVersion = tls.VersionTLS12
	}
	return cfg
}

func (cl *Client) connect(ctx context.Context) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", cl.ep.Addr())
	if err != nil {
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("imap dial %s: %w", cl.ep.Addr(), ctx.Err())
		}
		return wire.ClassifyDial(fmt.Errorf("imap dial %s: %w", cl.ep.Addr(), err))
	}
	// Until logged in, ctx or the greeting timer may close the connection;
	// remember which, to say why.
	var why atomic.Value
	stop := context.AfterFunc(ctx, func() { why.CompareAndSwap(nil, "ctx"); conn.Close() })
	greet := time.AfterFunc(cl.opts.greetingTimeout, func() { why.CompareAndSwap(nil, "greeting"); conn.Close() })
	defer func() {
		stop()
		greet.Stop()
		if err != nil {
			conn.Close()
			switch why.Load() {
			case "ctx":
				if errors.Is(ctx.Err(), context.DeadlineExceeded) {
					err = &wire.Error{Kind: wire.KindUnreachable, Err: fmt.Errorf("imap %s: %w", cl.ep.Addr(), ctx.Err())}
				} else {
					err = fmt.Errorf("imap %s: %w", cl.ep.Addr(), ctx.Err())
				}
			case "greeting":
				err = cl.noGreeting()
			}
		}
	}()

	iopts := &imapclient.Options{
		TLSConfig: cl.tlsConfig(),
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Expunge: func(uint32) { cl.changed() },
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					cl.changed()
				}
			},
			Fetch: func(*imapclient.FetchMessageData) { cl.changed() },
		},
	}
	switch cl.ep.Security {
	case wire.SecurityTLS:
		tc := tls.Client(conn, iopts.TLSConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			return wire.ClassifyDial(fmt.Errorf("imap tls handshake with %s: %w", cl.ep.Addr(), err))
		}
		conn = tc
		cl.c = imapclient.New(conn, iopts)
	case wire.SecuritySTARTTLS:
		c, err := imapclient.NewStartTLS(conn, iopts)
		if err != nil {
			var ie *goimap.Error
			if errors.As(err, &ie) {
				return &wire.Error{Kind: wire.KindTLS, Err: fmt.Errorf("imap %s refused STARTTLS: %w", cl.ep.Addr(), err)}
			}
			return wire.ClassifyDial(fmt.Errorf("imap starttls with %s: %w", cl.ep.Addr(), err))
		}
		cl.c = c
	default:
		cl.c = imapclient.New(conn, iopts)
	}
	cl.conn = conn
	if err := cl.c.WaitGreeting(); err != nil {
		return wire.ClassifyDial(fmt.Errorf("imap greeting from %s: %w", cl.ep.Addr(), err))
	}
	greet.Stop()
	if err := cl.login(ctx); err != nil {
		cl.c.Close()
		return err
	}
	caps, err := cl.c.Capability().Wait()
	if err != nil {
		cl.c.Close()
		return cl.wrap("capability", err)
	}
	cl.caps = caps
	cl.log.Debug("imap connected", "addr", cl.ep.Addr(), "security", cl.ep.Security, "auth", cl.auth)
	return nil
}

func (cl *Client) noGreeting() error {
	if cl.ep.Security == wire.SecurityTLS {
		return &wire.Error{Kind: wire.KindUnreachable, Err: fmt.Errorf("imap %s: no greeting in %v", cl.ep.Addr(), cl.opts.greetingTimeout)}
	}
	return &wire.Error{Kind: wire.KindTLS, Err: fmt.Errorf("imap %s: no greeting in %v (does the port expect implicit TLS?)", cl.ep.Addr(), cl.opts.greetingTimeout)}
}

func (cl *Client) login(ctx context.Context) error {
	caps := cl.c.Caps()
	user := cl.auth.Username
	if cl.auth.OAuth() {
		token, err := cl.auth.Token(ctx)
		if err != nil {
			if wire.KindOf(err) != "" {
				return err
			}
			return wire.AuthError(fmt.Errorf("imap: get access token: %w", err))
		}
		x := wire.NewXOAuth2Client(user, token)
		if err := cl.c.Authenticate(x); err != nil {
			return authFailure("xoauth2", err, x.Failure())
		}
		return nil
	}
	if caps.Has(goimap.CapLoginDisabled) {
		return &wire.Error{Kind: wire.KindTLS, Err: errors.New("imap: server refuses password login on an unencrypted connection (LOGINDISABLED)")}
	}
	if caps.Has(goimap.Cap("AUTH=PLAIN")) {
		if err := cl.c.Authenticate(sasl.NewPlainClient("", user, cl.auth.Password)); err != nil {
			return authFailure("plain", err, nil)
		}
		return nil
	}
	if err := cl.c.Login(user, cl.auth.Password).Wait(); err != nil {
		return authFailure("login", err, nil)
	}
	return nil
}

// authFailure classifies a failed login. A tagged NO (or BAD: Dovecot
// answers go-imap's "=" reply to an XOAUTH2 error challenge with BAD) is a
// refused login, except NO [UNAVAILABLE] (the server's own trouble). The
// server's text never holds the secret.
func authFailure(mech string, err error, x *wire.XOAuth2Failure) error {
	var ie *goimap.Error
	if errors.As(err, &ie) {
		if ie.Code == goimap.ResponseCodeUnavailable || ie.Code == goimap.ResponseCodeServerBug {
			return wire.ProtocolError(fmt.Errorf("imap %s login: server unavailable: %w", mech, err))
		}
		if x != nil {
			return wire.AuthError(fmt.Errorf("imap %s login: %s: %w", mech, x, err))
		}
		return wire.AuthError(fmt.Errorf("imap %s login: %w", mech, err))
	}
	return wire.ClassifyDial(fmt.Errorf("imap %s login: %w", mech, err))
}

// changed forwards a unilateral change to Idle's callback.
func (cl *Client) changed() {
	if f := cl.notify.Load(); f != nil {
		(*f)()
	}
}

// Caps lists what the server offers after login.
func (cl *Client) Caps() Caps {
	c := Caps{All: make([]string, 0, len(cl.caps))}
	for k := range cl.caps {
		c.All = append(c.All, string(k))
	}
	has := cl.caps.Has
	c.CondStore = has(goimap.CapCondStore)
	c.QResync = has(goimap.CapQResync)
	c.Idle = has(goimap.CapIdle)
	c.UIDPlus = has(goimap.CapUIDPlus)
	c.SpecialUse = has(goimap.CapSpecialUse)
	c.ESearch = has(goimap.CapESearch)
	c.Move = has(goimap.CapMove)
	c.ListExtended = has(goimap.CapListExtended)
	return c
}

// Caps is the server's capabilities that matter to loading.
type Caps struct {
	CondStore, QResync, Idle, UIDPlus, SpecialUse, ESearch, Move, ListExtended bool
	// All is every capability as the server spelled it, unordered.
	All []string
}

// Has reports whether the server advertised a capability (e.g.
// "X-GM-EXT-1"), case-insensitively.
func (cl *Client) Has(capability string) bool {
	for k := range cl.caps {
		if strings.EqualFold(string(k), capability) {
			return true
		}
	}
	return false
}

// Close logs out (briefly) and closes the connection.
func (cl *Client) Close() error {
	done := make(chan error, 1)
	go func() { done <- cl.c.Logout().Wait() }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
	}
	return cl.c.Close()
}

// do runs one operation under the client's lock, closing the connection
// if ctx ends first.
func (cl *Client) do(ctx context.Context, name string, fn func() error) error {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("imap %s: %w", name, err)
	}
	stop := context.AfterFunc(ctx, func() { cl.conn.Close() })
	err := fn()
	if !stop() {
		cl.selected = ""
		return fmt.Errorf("imap %s: %w", name, ctx.Err())
	}
	if err != nil {
		return cl.wrap(name, err)
	}
	return nil
}

// wrap gives an operation's error its kind: the server's NO/BAD is
// protocol, a broken connection unreachable.
func (cl *Client) wrap(name string, err error) error {
	if wire.KindOf(err) != "" || errors.Is(err, ErrNotSelected) || errors.Is(err, ErrNoIdle) {
		return err
	}
	err = fmt.Errorf("imap %s: %w", name, err)
	var ie *goimap.Error
	if errors.As(err, &ie) {
		return wire.ProtocolError(err)
	}
	return wire.ClassifyDial(err)
}

var (
	// ErrNotSelected: a folder operation without Examine first.
	ErrNotSelected = errors.New("imap: no folder examined")
	// ErrNoIdle: the server offers no IDLE; poll instead.
	ErrNoIdle = errors.New("imap: server does not support IDLE")
)
