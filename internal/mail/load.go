package mail

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/mail/imap"
	"github.com/tandem-crm/tandem/internal/mail/message"
	"github.com/tandem-crm/tandem/internal/mail/wire"
	"github.com/tandem-crm/tandem/internal/oauth"
	"github.com/tandem-crm/tandem/internal/store"
)

func newConnectionID() string { return uuid.Must(uuid.NewV7()).String() }

// LoadStats counts what one load did.
type LoadStats struct {
	Folders  int `json:"folders"`  // folders looked at
	Fetched  int `json:"fetched"`  // letters fetched from the server
	Stored   int `json:"stored"`   // letters new to Tandem
	Skipped  int `json:"skipped"`  // letters outside the first load's period
	Reset    int `json:"reset"`    // folders whose UIDVALIDITY changed
	Warnings int `json:"warnings"` // letters stored with parse warnings
	// FlagChanges counts letters whose flags (\Seen, …) changed on the
	// server since the last load (CONDSTORE servers only).
	FlagChanges int `json:"flag_changes"`
}

// loadBatch is how many letters one transaction stores: the folder's
// cursor moves with each batch, so an interrupted load resumes where it
// stopped.
const loadBatch = 75

// batchFor is the batch size for loading n letters. Fetching and parsing
// a batch overlaps with storing the one before, so a load takes about one
// batch's fetch plus the storing of everything: a few small batches finish
// a small load sooner than one large one and a remainder (100 new letters:
// 75 then 25 took 20% longer than 4×25). Large loads keep loadBatch,
// where a commit's fixed cost matters more.
func batchFor(n int) int {
	return min(loadBatch, max(minLoadBatch, (n+3)/4))
}

const minLoadBatch = 10

// maxLetter bounds one raw letter; larger ones are skipped and logged
// (servers commonly refuse more than 25–50 MB anyway).
const maxLetter = 64 << 20

// ErrBusy: another process is loading the mailbox.
var ErrBusy = errors.New("mailbox is being loaded by another process")

// ErrLeaseLost: a load could not keep its mailbox's lease (another process
// took it over, or the database could not be reached to renew it before
// it ran out), so it stopped rather than load alongside another.
var ErrLeaseLost = errors.New("mailbox load lost its lease")

// defaultLoadLease is how long a load's lease on its mailbox lasts without
// renewal; a running load renews it every third of that. Without renewal a
// first load longer than the lease (the job allows an hour) would let a
// second process load the same mailbox at once.
const defaultLoadLease = 10 * time.Minute

// Load loads new letters of a mailbox: on a folder's first load those
// that arrived within the mailbox's first-load period, then those above
// the UIDNEXT last seen. A changed UIDVALIDITY drops the folder's UIDs and
// loads it again; letters already stored are recognised by content and
// not stored twice. Letters are never marked seen (EXAMINE, BODY.PEEK).
// Only one process loads a mailbox at a time (the connection's run
// lease, renewed while the load runs; ErrBusy when another holds it,
// ErrLeaseLost when the lease could not be kept).
func (m *Mailboxes) Load(ctx context.Context, id string) (LoadStats, error) {
	var st LoadStats
	holder := "load:" + newConnectionID()
	ttl := cmp.Or(m.loadLease, defaultLoadLease)
	ok, err := m.st.TryRunLease(ctx, id, holder, ttl)
	if err != nil {
		return st, err
	}
	if !ok {
		return st, ErrBusy
	}
	ctx, cancel := context.WithCancelCause(ctx)
	stopRenewing := m.renewLoadLease(ctx, cancel, id, holder, ttl)
	var end store.RunEnd // the load's outcome, recorded as the lease is given back
	defer func() {
		stopRenewing()
		cancel(nil)
		if err := m.st.EndRunLease(context.WithoutCancel(ctx), id, holder, end); err != nil {
			m.log.Warn("mailbox load end", "mailbox", id, "err", err)
		}
	}()

	s, err := m.open(ctx, id)
	if err != nil {
		return st, err
	}
	st, err = m.load(ctx, s)
	if cause := context.Cause(ctx); errors.Is(cause, ErrLeaseLost) {
		// Another process may be loading it now: its health is its to record.
		return st, cause
	}
	end = m.health(err)
	if err == nil && st.Stored > 0 && m.Changed != nil {
		m.Changed(id)
	}
	return st, err
}

// renewLoadLease renews holder's lease on a mailbox every third of ttl
// until the returned stop is called (stop waits for the renewer). When a
// renewal finds the lease taken, or renewals keep failing until it is
// about to run out, it cancels the load with ErrLeaseLost.
func (m *Mailboxes) renewLoadLease(ctx context.Context, cancel context.CancelCauseFunc, id, holder string, ttl time.Duration) (stop func()) {
	every := ttl / 3
	done, ended := make(chan struct{}), make(chan struct{})
	// Renewals outlive a cancelled load until stop: the lease is released
	// only after the load has really ended.
	rctx := context.WithoutCancel(ctx)
	go func() {
		defer close(ended)
		t := time.NewTicker(every)
		defer t.Stop()
		until := time.Now().Add(ttl) // held for sure until then
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			asked := time.Now()
			ok, err := m.st.RenewRunLease(rctx, id, holder, ttl)
			switch {
			case err == nil && ok:
				until = asked.Add(ttl)
			case err == nil:
				m.log.Error("mailbox load lost its lease to another process; stopping", "mailbox", id)
				cancel(ErrLeaseLost)
				return
			case time.Until(until) <= every:
				m.log.Error("mailbox load could not renew its lease before it runs out; stopping", "mailbox", id, "err", err)
				cancel(fmt.Errorf("%w: %w", ErrLeaseLost, err))
				return
			default:
				m.log.Warn("mailbox load lease renewal failed; trying again", "mailbox", id, "err", err)
			}
		}
	}()
	return func() {
		close(done)
		<-ended
	}
}

// health is what a load's outcome makes of the connection: a refused
// login needs the user, a server that cannot be reached is retried; a
// cancelled load changes nothing.
func (m *Mailboxes) health(err error) store.RunEnd {
	var reauth *oauth.ReauthError
	switch {
	case err == nil:
		return store.RunEnd{LastSync: m.Now(), Status: store.ConnectionActive}
	case errors.Is(err, context.Canceled):
		return store.RunEnd{}
	case errors.As(err, &reauth):
		// The issuer refused the grant: package oauth set the status; say
		// so plainly.
		return store.RunEnd{Status: store.ConnectionNeedsReauth, Reason: "OAuth: " + reauth.Reason}
	case wire.IsAuth(err):
		return store.RunEnd{Status: store.ConnectionNeedsReauth, Reason: err.Error()}
	}
	return store.RunEnd{Status: store.ConnectionDegraded, Reason: err.Error()}
}

func (m *Mailboxes) load(ctx context.Context, s *session) (st LoadStats, err error) {
	cl, reused, err := m.takeIMAP(ctx, s)
	if err != nil {
		return st, fmt.Errorf("load mailbox: %w", err)
	}
	defer func() {
		if err == nil {
			m.keepIMAP(s, cl)
		} else {
			cl.Close()
		}
	}()
	folders, err := cl.Folders(ctx)
	if err != nil && reused && ctx.Err() == nil {
		// The kept connection went stale (the server or a NAT dropped
		// it): log in again.
		cl.Close()
		if cl, err = m.dialIMAP(ctx, s); err != nil {
			return st, fmt.Errorf("load mailbox: %w", err)
		}
		folders, err = cl.Folders(ctx)
	}
	if err != nil {
		return st, fmt.Errorf("load mailbox: %w", err)
	}
	rows := make([]store.MailFolder, 0, len(folders))
	for _, f := range folders {
		rows = append(rows, store.MailFolder{Name: f.Name, Parent: f.Parent, Special: f.SpecialUse, Selectable: !f.NoSelect})
	}
	known, err := m.st.MailFolders(ctx, s.mb.ID)
	if err != nil {
		return st, err
	}
	if !sameTree(known, rows) {
		// Only a changed tree is written: a load with nothing new
		// writes nothing but its lease.
		if err := m.st.SaveMailFolders(ctx, s.mb.ID, rows); err != nil {
			return st, err
		}
		if known, err = m.st.MailFolders(ctx, s.mb.ID); err != nil {
			return st, err
		}
	}
	since := crm.FromMicros(s.mb.LoadedSince)
	if s.mb.LoadedSince == 0 {
		p, err := ParsePeriod(s.mb.FirstLoad)
		if err != nil {
			p = PeriodMonth
		}
		since = p.Since(m.Now().UTC())
		if err := m.st.SetMailboxLoadedSince(ctx, s.mb.ID, max(crm.Micros(since), 1)); err != nil {
			return st, err
		}
	}
	for _, f := range known {
		if !f.Selectable || !(s.mb.AllFolders || slices.Contains(s.mb.Folders, f.Name)) {
			continue
		}
		if err := m.loadFolder(ctx, cl, s, f, since, &st); err != nil {
			return st, fmt.Errorf("load folder %q: %w", f.Name, err)
		}
		st.Folders++
	}
	return st, nil
}

func (m *Mailboxes) loadFolder(ctx context.Context, cl *imap.Client, s *session, f store.MailFolder, since time.Time, st *LoadStats) error {
	status, err := cl.Examine(ctx, f.Name)
	if err != nil {
		return err
	}
	if f.UIDValidity != 0 && f.UIDValidity != status.UIDValidity {
		m.log.Info("mail folder UIDVALIDITY changed", "mailbox", s.mb.ID, "folder", f.Name, "was", f.UIDValidity,
			"now", status.UIDValidity)
		if err := m.st.ResetMailFolder(ctx, s.mb.ID, f.Name, status.UIDValidity); err != nil {
			return err
		}
		f.UIDValidity, f.UIDNext = 0, 0
		st.Reset++
	}
	cur := store.FolderCursor{UIDValidity: status.UIDValidity, UIDNext: status.UIDNext, HighestModSeq: status.HighestModSeq}
	if f.UIDValidity == status.UIDValidity && f.UIDNext == status.UIDNext && f.HighestModSeq == status.HighestModSeq {
		return nil // nothing arrived: no-op
	}
	first := f.UIDValidity == 0
	if !first && f.HighestModSeq > 0 && status.HighestModSeq > f.HighestModSeq {
		// CONDSTORE: read or flagged elsewhere since the last load.
		changes, err := cl.ChangedSince(ctx, f.HighestModSeq)
		if err != nil {
			return err
		}
		flags := make([]store.MailFlags, 0, len(changes))
		for _, c := range changes {
			flags = append(flags, store.MailFlags{UID: c.UID, Seen: slices.Contains(c.Flags, `\Seen`), Flags: strings.Join(c.Flags, " ")})
		}
		if err := m.st.UpdateMailFlags(ctx, s.mb.ID, f.Name, status.UIDValidity, status.HighestModSeq, flags); err != nil {
			return err
		}
		st.FlagChanges += len(changes)
		f.HighestModSeq = status.HighestModSeq
		if f.UIDNext == status.UIDNext {
			return nil
		}
	}
	var uids []uint32
	switch {
	case first && !since.IsZero():
		uids, err = cl.SearchSince(ctx, since)
	case first:
		uids, err = cl.AllUIDs(ctx)
	case status.UIDNext > f.UIDNext:
		uids, err = cl.UIDsFrom(ctx, f.UIDNext)
	}
	if err != nil {
		return err
	}
	if len(uids) == 0 {
		_, err := m.st.SaveLetters(ctx, s.mb.ID, f.Name, cur, nil)
		return err
	}
	slices.Sort(uids)
	// A batch is stored while the next one is fetched and parsed: the
	// store writes on one core while IMAP and the parser use the other.
	// Batches are stored in order, so the folder's cursor only moves
	// forward over letters that are stored.
	type batchOut struct {
		letters []store.Letter
		cursor  store.FolderCursor
	}
	toStore := make(chan batchOut, 1)
	stored := make(chan error, 1)
	var failed atomic.Bool
	go func() {
		var err error
		for b := range toStore {
			if err != nil {
				continue // drain: a failed batch stops the folder
			}
			var n int
			if n, err = m.st.SaveLetters(ctx, s.mb.ID, f.Name, b.cursor, b.letters); err != nil {
				failed.Store(true)
			}
			st.Stored += n
		}
		stored <- err
	}()
	var fetchErr error
	size := batchFor(len(uids))
	for len(uids) > 0 && !failed.Load() {
		n := min(len(uids), size)
		batch := uids[:n]
		uids = uids[n:]
		letters, err := m.fetchBatch(ctx, cl, s, f.Name, batch, first, since, st)
		if err != nil {
			fetchErr = err
			break
		}
		step := cur
		if len(uids) > 0 {
			// Not done: resume above this batch after a crash.
			step = store.FolderCursor{UIDValidity: status.UIDValidity, UIDNext: batch[len(batch)-1] + 1,
				HighestModSeq: f.HighestModSeq}
		}
		toStore <- batchOut{letters: letters, cursor: step}
	}
	close(toStore)
	if err := <-stored; err != nil {
		return err
	}
	return fetchErr
}

// fetchBatch fetches a batch of letters and parses them, several at a
// time while the next ones arrive, keeping the server's order.
func (m *Mailboxes) fetchBatch(ctx context.Context, cl *imap.Client, s *session, folder string, batch []uint32, first bool,
	since time.Time, st *LoadStats) ([]store.Letter, error) {
	var (
		wg      sync.WaitGroup
		sem     = make(chan struct{}, runtime.GOMAXPROCS(0))
		letters = make([]*store.Letter, 0, len(batch))
	)
	err := cl.Fetch(ctx, batch, func(msg imap.Message) error {
		st.Fetched++
		if first && !since.IsZero() && msg.InternalDate.Before(since) {
			st.Skipped++ // SEARCH SINCE reaches a day early on purpose
			return nil
		}
		// Sized from RFC822.SIZE, plus the room bytes.Buffer.ReadFrom
		// wants free before each read: with only one spare byte it would
		// double the buffer at the end of every letter (a copy and a
		// zeroing as big as the letter, a fifth of the CPU of loading
		// 100 new letters).
		buf := bytes.NewBuffer(make([]byte, 0, min(max(msg.Size, 0), maxLetter)+bytes.MinRead))
		if _, err := io.Copy(buf, io.LimitReader(msg.Body, maxLetter+1)); err != nil {
			return err
		}
		if buf.Len() > maxLetter {
			m.log.Warn("letter too large, skipped", "mailbox", s.mb.ID, "folder", folder, "uid", msg.UID, "size", msg.Size)
			st.Skipped++
			return nil
		}
		l := new(store.Letter)
		letters = append(letters, l)
		raw := buf.Bytes()
		msg.Body = nil // valid only in this callback; toLetter does not read it
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			*l = toLetter(raw, msg)
		}()
		return nil
	})
	wg.Wait()
	if err != nil {
		return nil, err
	}
	out := make([]store.Letter, len(letters))
	for i, l := range letters {
		out[i] = *l
		if len(l.Warnings) > 0 {
			st.Warnings++
			m.log.Info("letter parsed with warnings", "mailbox", s.mb.ID, "folder", folder, "uid", l.UID, "warnings", l.Warnings)
		}
	}
	return out, nil
}

// sameTree reports whether the stored folders are the listed ones, with
// the same parents, special uses and selectability.
func sameTree(known, listed []store.MailFolder) bool {
	if len(known) != len(listed) {
		return false
	}
	byName := make(map[string]store.MailFolder, len(known))
	for _, f := range known {
		byName[f.Name] = f
	}
	for _, l := range listed {
		k, ok := byName[l.Name]
		if !ok || k.Parent != l.Parent || k.Special != l.Special || k.Selectable != l.Selectable {
			return false
		}
	}
	return true
}

// toLetter parses a raw letter into what the store keeps.
func toLetter(raw []byte, msg imap.Message) store.Letter {
	p := message.Parse(raw)
	l := store.Letter{
		Hash:       message.Hash(raw),
		Raw:        raw,
		MessageID:  p.MessageID,
		References: p.References,
		Subject:    p.Subject,
		Snippet:    p.Snippet,
		ReceivedAt: crm.Micros(msg.InternalDate),
		UID:        msg.UID,
		Seen:       msg.Seen(),
		Flags:      strings.Join(msg.Flags, " "),
	}
	if len(p.InReplyTo) > 0 {
		l.InReplyTo = p.InReplyTo[0]
	}
	if !p.Date.IsZero() {
		l.SentAt = crm.Micros(p.Date)
	}
	if msg.InternalDate.IsZero() {
		l.ReceivedAt = l.SentAt
	}
	if len(p.From) > 0 {
		l.FromName, l.FromEmail = p.From[0].Name, p.From[0].Email
	}
	for _, r := range []struct {
		role  string
		addrs []message.Address
	}{{"from", p.From}, {"sender", p.Sender}, {"reply_to", p.ReplyTo}, {"to", p.To}, {"cc", p.Cc}, {"bcc", p.Bcc}} {
		for _, a := range r.addrs {
			l.Addresses = append(l.Addresses, store.LetterAddress{Role: r.role, Email: a.Email, Name: a.Name})
		}
	}
	for _, a := range p.Attachments {
		l.Attachments = append(l.Attachments, store.LetterAttachment{Filename: a.Filename, ContentType: a.ContentType,
			ContentID: a.ContentID, Inline: a.Inline, Size: int64(a.Size)})
	}
	for _, w := range p.Warnings {
		l.Warnings = append(l.Warnings, w.String())
	}
	return l
}
