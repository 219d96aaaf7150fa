package mail

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"

	"github.com/tandem-crm/tandem/internal/mail/imap"
)

// keepFor is how long the connection of a mailbox's last load is kept
// for the next one: loads come every MailboxSyncInterval or at IDLE's
// word, and a login (a new process on Dovecot, a TLS handshake) costs
// more than the rest of a load with nothing new. Servers drop idle
// connections after 30 minutes at the earliest (RFC 9051).
const keepFor = 10 * time.Minute

// keptConns holds at most one logged-in IMAP connection per mailbox,
// between loads. A load takes it out (the load lease makes it the only
// user) and puts it back when it succeeded.
type keptConns struct {
	mu    sync.Mutex
	conns map[string]keptConn
}

type keptConn struct {
	cl  *imap.Client
	key string // the endpoint and credentials it logged in with
	at  time.Time
}

// connKey identifies what a connection logged in to and with: a changed
// server, login or password makes the kept connection useless.
func connKey(s *session) string {
	h := sha256.Sum256([]byte(s.ep.IMAP.Addr() + "\x00" + string(s.ep.IMAP.Security) + "\x00" + s.ep.Auth.Username +
		"\x00" + s.ep.Auth.Password))
	return hex.EncodeToString(h[:])
}

// takeIMAP returns the mailbox's kept connection if it is fresh and for
// the same login, else a new one; reused says which.
func (m *Mailboxes) takeIMAP(ctx context.Context, s *session) (cl *imap.Client, reused bool, err error) {
	m.kept.mu.Lock()
	k, ok := m.kept.conns[s.mb.ID]
	delete(m.kept.conns, s.mb.ID)
	m.kept.mu.Unlock()
	if ok {
		if k.key == connKey(s) && time.Since(k.at) < keepFor {
			return k.cl, true, nil
		}
		k.cl.Close()
	}
	cl, err = m.dialIMAP(ctx, s)
	return cl, false, err
}

// keepIMAP keeps a load's connection for the mailbox's next load, and
// closes kept connections nobody took in time.
func (m *Mailboxes) keepIMAP(s *session, cl *imap.Client) {
	if s.ep.Auth.OAuth() {
		// An OAuth mailbox logs in at each load: a session outlives its
		// token, and a revoked grant must show at the next load.
		cl.Close()
		return
	}
	now := time.Now()
	var stale []*imap.Client
	m.kept.mu.Lock()
	if m.kept.conns == nil {
		m.kept.conns = map[string]keptConn{}
	}
	for id, k := range m.kept.conns {
		if now.Sub(k.at) >= keepFor {
			stale = append(stale, k.cl)
			delete(m.kept.conns, id)
		}
	}
	if old, ok := m.kept.conns[s.mb.ID]; ok {
		stale = append(stale, old.cl)
	}
	m.kept.conns[s.mb.ID] = keptConn{cl: cl, key: connKey(s), at: now}
	m.kept.mu.Unlock()
	for _, c := range stale {
		c.Close()
	}
}

// CloseConns logs out of the kept connections (at shutdown).
func (m *Mailboxes) CloseConns() {
	m.kept.mu.Lock()
	conns := m.kept.conns
	m.kept.conns = nil
	m.kept.mu.Unlock()
	for _, k := range conns {
		k.cl.Close()
	}
}
