package mail_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/mail"
	"github.com/tandem-crm/tandem/internal/mail/wire"
	"github.com/tandem-crm/tandem/internal/secret"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/testenv"
	"github.com/tandem-crm/tandem/internal/testenv/mailserver"
	"github.com/tandem-crm/tandem/internal/testenv/storetest"
)

// holdingProxy forwards TCP connections to a server. Once armed, the
// first connection it accepts is held (nothing forwarded either way)
// until release: a load stuck on a slow server, for as long as the test
// wants.
type holdingProxy struct {
	ln     net.Listener
	target string

	mu       sync.Mutex
	armed    bool
	accepted int           // connections accepted since arm
	held     chan struct{} // closed when a connection is held
	release  chan struct{}
}

func newHoldingProxy(t *testing.T, target string) *holdingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &holdingProxy{ln: ln, target: target}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		if p.release != nil {
			select {
			case <-p.release:
			default:
				close(p.release)
			}
		}
		p.mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			var wait chan struct{}
			if p.armed {
				p.accepted++
				if p.accepted == 1 {
					close(p.held)
					wait = p.release
				}
			}
			p.mu.Unlock()
			wg.Go(func() { p.forward(c, wait) })
		}
	})
	return p
}

func (p *holdingProxy) forward(c net.Conn, wait chan struct{}) {
	defer c.Close()
	if wait != nil {
		<-wait
	}
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer s.Close()
	done := make(chan struct{}, 2)
	go func() { io.Copy(s, c); done <- struct{}{} }()
	go func() { io.Copy(c, s); done <- struct{}{} }()
	<-done
}

// arm makes the next connection wait for release.
func (p *holdingProxy) arm() (held <-chan struct{}, release func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.armed, p.accepted = true, 0
	p.held, p.release = make(chan struct{}), make(chan struct{})
	rel := p.release
	return p.held, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.armed = false
		close(rel)
	}
}

func (p *holdingProxy) acceptedSinceArm() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

// TestLoadOneAtATime: two mail services on one database, as two worker
// processes are, load the same mailbox at the same moment. Exactly one
// loads (its IMAP connection is held at a proxy for longer than three
// lease periods, so the lease must be renewed, not merely taken); the
// other gets ErrBusy every time it tries meanwhile, and never connects.
// The letters are stored once.
func TestLoadOneAtATime(t *testing.T) {
	srv := mailserver.Start(t, mailserver.Options{})
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			ctx := context.Background()
			o := store.Options{SQLitePath: filepath.Join(t.TempDir(), "tandem.db")}
			if db == "postgres" {
				o = store.Options{DatabaseURL: testenv.Postgres(t)}
			}
			open := func() *store.Store {
				st, err := store.Open(ctx, o)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { st.Close() })
				return st
			}
			st1 := open()
			e := newMailEnv(t, st1, srv)
			// The second "process": its own database handle and services,
			// the same secret key.
			st2 := open()
			box, err := secret.New(bytes.Repeat([]byte{7}, 32))
			if err != nil {
				t.Fatal(err)
			}
			other := mail.NewMailboxes(st2, box, mail.New(st2, box, nil), slog.New(slog.NewTextHandler(t.Output(), nil)))
			other.Now, other.TLS = e.mbs.Now, srv.TLSConfig()
			const lease = 2 * time.Second
			mail.SetLoadLease(e.mbs, lease)
			mail.SetLoadLease(other, lease)

			// IMAP through the proxy; SMTP straight.
			imapEP, smtpEP := srv.IMAP(wire.SecurityTLS), srv.SMTP(wire.SecurityTLS)
			proxy := newHoldingProxy(t, imapEP.Addr())
			// Loads keep their IMAP connection; close them before the
			// proxy waits for its connections to end (cleanups run last
			// registered first).
			t.Cleanup(func() { e.mbs.CloseConns(); other.CloseConns() })
			_, port, _ := net.SplitHostPort(proxy.ln.Addr().String())
			pn, _ := strconv.Atoi(port)
			slow := &mail.Provider{Name: "Slow link", Type: mail.TypeIMAP,
				IMAP:        mail.Server{Host: imapEP.Host, Port: pn, Security: mail.SecurityTLS},
				SMTP:        mail.Server{Host: smtpEP.Host, Port: smtpEP.Port, Security: mail.SecurityTLS},
				LoginFormat: mail.LoginEmail, Auth: mail.AuthBasic}
			if err := e.dir.CreateProvider(ctx, e.admin, slow); err != nil {
				t.Fatal(err)
			}
			addr := "busy-" + db + "@" + srv.Domain()
			srv.AddUser(t, addr, "busy-pass")
			u := storetest.User(t, st1, addr)
			mb, err := e.mbs.Add(ctx, u, mail.NewMailbox{Address: addr, ProviderID: slow.ID, Password: "busy-pass"})
			if err != nil {
				t.Fatal(err)
			}
			const n = 3
			for i := range n {
				srv.Append(t, addr, "INBOX", raw("ivan@example.org", addr, "busy"+strconv.Itoa(i), "b"), t0.AddDate(0, 0, -1))
			}

			held, release := proxy.arm()
			type result struct {
				who   int
				stats mail.LoadStats
				err   error
			}
			results := make(chan result, 2)
			workers := []*mail.Mailboxes{e.mbs, other}
			start := make(chan struct{})
			for i, w := range workers {
				go func() {
					<-start
					s, err := w.Load(ctx, mb.ID)
					results <- result{i, s, err}
				}()
			}
			close(start)
			var refused result
			select {
			case refused = <-results:
			case <-time.After(30 * time.Second):
				release()
				t.Fatal("neither load returned")
			}
			if !errors.Is(refused.err, mail.ErrBusy) {
				release()
				t.Fatalf("while one load is held, the other returned %+v, %v; want ErrBusy", refused.stats, refused.err)
			}
			select {
			case <-held:
			case <-time.After(30 * time.Second):
				release()
				t.Fatal("the running load never connected")
			}
			// Past three lease periods the running load still holds it.
			heldSince := time.Now()
			for time.Since(heldSince) < 3*lease {
				if _, err := workers[refused.who].Load(ctx, mb.ID); !errors.Is(err, mail.ErrBusy) {
					release()
					t.Fatalf("after %v a second load ran alongside the first: %v", time.Since(heldSince).Round(time.Millisecond), err)
				}
				time.Sleep(lease / 4)
			}
			if got := proxy.acceptedSinceArm(); got != 1 {
				t.Errorf("%d IMAP connections while one load ran, want 1", got)
			}
			release()
			var ran result
			select {
			case ran = <-results:
			case <-time.After(30 * time.Second):
				t.Fatal("the held load never finished")
			}
			if ran.err != nil || ran.stats.Stored != n {
				t.Fatalf("the load that ran: %+v, %v", ran.stats, ran.err)
			}
			if letters, locations, err := st1.CountLetters(ctx, mb.ID); err != nil || letters != n || locations != n {
				t.Fatalf("%d letters in %d locations (%v), want %d once", letters, locations, err, n)
			}
			// Done: the lease is free, and the other process finds nothing new.
			if s, err := workers[refused.who].Load(ctx, mb.ID); err != nil || s.Fetched != 0 || s.Stored != 0 {
				t.Fatalf("the other load afterwards: %+v, %v", s, err)
			}
		})
	}
}
