package mail

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/tandem-crm/tandem/internal/mail/imap"
)

// Idle timing. A lease outlives two scans, so a live holder never loses
// it; a dead one's mailboxes are taken over within a lease.
const (
	idleScan  = 30 * time.Second
	idleLease = 2 * time.Minute
)

// RunIdle keeps one IMAP IDLE connection on the INBOX of every mailbox
// that loads automatically, across all processes that run it (a lease per
// mailbox), and loads new mail as soon as the server reports it: through
// a load job when the process has a queue, directly otherwise. Mailboxes
// whose server has no IDLE are left to the schedule. It returns when ctx
// ends.
func (m *Mailboxes) RunIdle(ctx context.Context) error {
	holder := "idle:" + newConnectionID()
	running := map[string]context.CancelFunc{}
	noIdle := map[string]time.Time{} // servers without IDLE, until when not to try again
	var wg sync.WaitGroup
	defer func() {
		for _, stop := range running {
			stop()
		}
		wg.Wait()
	}()
	done := make(chan string, 16)
	tick := time.NewTicker(idleScan)
	defer tick.Stop()
	for {
		due, err := m.st.AutoLoadMailboxes(ctx)
		if err != nil && ctx.Err() == nil {
			m.log.Warn("idle: list mailboxes", "err", err)
		}
		want := map[string]bool{}
		for _, d := range due {
			want[d.ID] = true
			if time.Now().Before(noIdle[d.ID]) {
				continue
			}
			ok, err := m.st.TryIdleLease(ctx, d.ID, holder, idleLease)
			if err != nil || !ok {
				if stop := running[d.ID]; stop != nil {
					stop() // another process took it over
					delete(running, d.ID)
				}
				continue
			}
			if running[d.ID] == nil {
				ictx, stop := context.WithCancel(ctx)
				running[d.ID] = stop
				wg.Add(1)
				go func(id string) {
					defer wg.Done()
					m.idleMailbox(ictx, id)
					done <- id
				}(d.ID)
			}
		}
		for id, stop := range running {
			if !want[id] {
				stop()
				delete(running, id)
				m.st.ReleaseIdleLease(context.WithoutCancel(ctx), id, holder)
			}
		}
		select {
		case <-ctx.Done():
			for id := range running {
				m.st.ReleaseIdleLease(context.WithoutCancel(ctx), id, holder)
			}
			return nil
		case id := <-done:
			// It ended on its own: the server has no IDLE. The schedule
			// loads the mailbox; try again in an hour (the server may
			// change).
			if running[id] != nil {
				running[id]()
				delete(running, id)
				noIdle[id] = time.Now().Add(time.Hour)
				m.st.ReleaseIdleLease(context.WithoutCancel(ctx), id, holder)
			}
		case <-tick.C:
		}
	}
}

// idleMailbox watches one mailbox's INBOX until ctx ends or its server
// turns out to have no IDLE, reconnecting with a growing pause after
// errors.
func (m *Mailboxes) idleMailbox(ctx context.Context, id string) {
	kick := make(chan struct{}, 1)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-kick:
				m.newMail(ctx, id)
			}
		}
	}()
	onChange := func() {
		select {
		case kick <- struct{}{}:
		default: // a load is already due
		}
	}
	pause := time.Second
	for ctx.Err() == nil {
		err := m.idleOnce(ctx, id, onChange)
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, imap.ErrNoIdle):
			m.log.Info("idle: server has no IDLE, loading on schedule only", "mailbox", id)
			return
		case err != nil:
			m.log.Warn("idle", "mailbox", id, "err", err, "retry_in", pause)
		}
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
		pause = min(pause*2, 5*time.Minute)
	}
}

func (m *Mailboxes) idleOnce(ctx context.Context, id string, onChange func()) error {
	s, err := m.open(ctx, id)
	if err != nil {
		return err
	}
	cl, err := m.dialIMAP(ctx, s)
	if err != nil {
		return err
	}
	defer cl.Close()
	return cl.Idle(ctx, "INBOX", onChange)
}

// newMail loads a mailbox the server says changed.
func (m *Mailboxes) newMail(ctx context.Context, id string) {
	if m.queue != nil {
		if _, err := m.EnqueueLoad(ctx, id, "idle"); err != nil && ctx.Err() == nil {
			m.log.Warn("idle: enqueue load", "mailbox", id, "err", err)
		}
		return
	}
	if _, err := m.Load(ctx, id); err != nil && ctx.Err() == nil && !errors.Is(err, ErrBusy) && !errors.Is(err, ErrLeaseLost) {
		m.log.Warn("idle: load", "mailbox", id, "err", err)
	}
}
