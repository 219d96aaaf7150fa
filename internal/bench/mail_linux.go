//go:build linux

package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/mail"
	"github.com/tandem-crm/tandem/internal/mail/imap"
	"github.com/tandem-crm/tandem/internal/mail/message"
	"github.com/tandem-crm/tandem/internal/mail/wire"
	"github.com/tandem-crm/tandem/internal/secret"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/testenv/mailserver"
)

type mailBench struct {
	o        MailOptions
	p        *progress
	work     string
	srv      *mailserver.Server
	password string
	contacts []contactAddr
	mbsync   string
	log      *slog.Logger
}

type contactAddr struct{ name, email string }

// Mail runs the mail benchmark: a private Dovecot whose INBOX holds N
// generated messages; Tandem's first load of it into a fresh SQLite store
// and mbsync's pull of it into a fresh Maildir (FSync yes), alternating,
// Reps each; then, on the last store, a load after New new messages,
// loads with nothing new, and the IDLE latency. Tandem runs in this
// process, so its memory and CPU are this process's; Dovecot, mbsync and
// the generator are other processes, all stopped by PID at the end.
func Mail(ctx context.Context, o MailOptions) (res MailResult, err error) {
	o.defaults()
	res = MailResult{N: o.N, New: o.New, Reps: o.Reps, Seed: o.Seed, CPUs: runtime.NumCPU(), GoVersion: runtime.Version(),
		Started: time.Now().UTC().Truncate(time.Second), LoadAvgStart: loadAvg()}
	b := &mailBench{o: o, p: &progress{w: o.Progress}, log: slog.New(slog.NewTextHandler(io.Discard, nil))}

	if b.mbsync, err = findMBSync(o.MBSync); err != nil {
		return res, err
	}
	if b.work, err = os.MkdirTemp(o.Dir, "tandem-bench-mail-"); err != nil {
		return res, err
	}
	defer func() {
		if o.Keep {
			res.Path = b.work
			return
		}
		if rerr := os.RemoveAll(b.work); rerr != nil && err == nil {
			err = rerr
		}
	}()
	gen := filepath.Join(b.work, "gen_mail.py")
	if err := os.WriteFile(gen, genMail, 0o644); err != nil {
		return res, err
	}

	b.p.printf("starting Dovecot")
	if b.srv, err = mailserver.New(mailserver.Options{Domain: mailDomain, IMAPOnly: true, Fsync: true}); err != nil {
		return res, err
	}
	defer func() {
		if cerr := b.srv.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	b.password = randomHex(12)
	if err := b.srv.CreateUser(mailUser, b.password); err != nil {
		return res, err
	}
	res.Dovecot = commandLine(ctx, "dovecot", "--version")
	res.MBSync = commandLine(ctx, b.mbsync, "--version")

	b.p.printf("generating %d messages (seed %d)", o.N, o.Seed)
	t0 := time.Now()
	var gsum struct {
		Messages        int   `json:"messages"`
		Bytes           int64 `json:"bytes"`
		WithAttachments int   `json:"with_attachments"`
	}
	err = b.srv.FillMaildir(mailUser, func(dir string) error {
		out, err := b.python(ctx, gen, "maildir", "--out", dir, "--count", strconv.Itoa(o.N), "--seed", strconv.Itoa(o.Seed))
		if err != nil {
			return err
		}
		if err := json.Unmarshal(lastLine(out), &gsum); err != nil || gsum.Messages != o.N {
			return fmt.Errorf("generator said %q (%v)", out, err)
		}
		return b.pickContacts(filepath.Join(dir, "cur"))
	})
	if err != nil {
		return res, fmt.Errorf("generate mail: %w", err)
	}
	res.GenerateSeconds = round(time.Since(t0).Seconds(), 2)
	res.Bytes, res.WithAttachments, res.Contacts = gsum.Bytes, gsum.WithAttachments, len(b.contacts)
	b.p.printf("generated %d messages, %.0f MB, %d with attachments, in %.1f s", o.N, float64(gsum.Bytes)/(1<<20),
		gsum.WithAttachments, res.GenerateSeconds)

	// Dovecot indexes the folder at its first SELECT; then one mbsync pull
	// reads every message once, so the timed runs all find the server's
	// cache and the page cache warm.
	t0 = time.Now()
	if err := b.examine(ctx, o.N); err != nil {
		return res, fmt.Errorf("first select: %w", err)
	}
	res.IndexSeconds = round(time.Since(t0).Seconds(), 2)
	b.p.printf("Dovecot indexed the INBOX in %.2f s; mbsync pull to warm the server (not timed for the ratio)", res.IndexSeconds)
	cold, err := b.mbsyncRun(ctx, "cold")
	if err != nil {
		return res, err
	}
	res.MBSyncColdSeconds = cold.Seconds

	fl := &res.FirstLoad
	var env *mailEnv
	defer func() {
		if env != nil {
			if cerr := env.st.Close(); cerr != nil && err == nil {
				err = cerr
			}
		}
	}()
	for r := range o.Reps {
		if env != nil {
			if err := env.st.Close(); err != nil {
				return res, err
			}
			env = nil
		}
		var prof io.Writer
		if r == 0 {
			prof = o.CPUProfile
		}
		b.p.printf("rep %d/%d: Tandem's first load of %d messages into a fresh store", r+1, o.Reps, o.N)
		var run MailRun
		if env, run, err = b.tandemFirstLoad(ctx, r, prof); err != nil {
			return res, fmt.Errorf("tandem first load: %w", err)
		}
		fl.Runs = append(fl.Runs, run)
		b.p.printf("  %.2f s, %.0f messages/s, peak RSS %.1f MB, CPU %.2f s", run.Seconds, run.MessagesPerSec, run.PeakRSSMB, run.CPUSeconds)

		b.p.printf("rep %d/%d: mbsync pull into a fresh Maildir", r+1, o.Reps)
		mr, err := b.mbsyncRun(ctx, strconv.Itoa(r))
		if err != nil {
			return res, err
		}
		fl.MBSyncRuns = append(fl.MBSyncRuns, mr)
		b.p.printf("  %.2f s, CPU %.2f s", mr.Seconds, mr.CPUSeconds)
	}
	fl.Seconds = medianOf(fl.Runs, func(r MailRun) float64 { return r.Seconds })
	fl.CPUSeconds = medianOf(fl.Runs, func(r MailRun) float64 { return r.CPUSeconds })
	fl.MBSyncSeconds = medianOf(fl.MBSyncRuns, func(r MBSyncRun) float64 { return r.Seconds })
	fl.MBSyncCPU = medianOf(fl.MBSyncRuns, func(r MBSyncRun) float64 { return r.CPUSeconds })
	fl.MessagesPerSec = round(float64(o.N)/fl.Seconds, 0)
	if fl.MBSyncSeconds > 0 {
		fl.RatioToMBSync = round(fl.Seconds/fl.MBSyncSeconds, 2)
	}
	for _, r := range fl.Runs {
		fl.PeakRSSMB = max(fl.PeakRSSMB, r.PeakRSSMB)
	}
	fl.Stats = env.firstStats

	if res.LinkedLetters, err = env.linked(ctx, b.contacts); err != nil {
		return res, err
	}

	ep := b.srv.IMAP(wire.SecurityNone)
	for r := range o.NewRounds {
		start := o.N + r*o.New
		b.p.printf("round %d/%d: appending %d new messages (generator indices %d..%d)", r+1, o.NewRounds, o.New, start, start+o.New-1)
		if _, err := b.python(ctx, gen, "append", "--host", ep.Host, "--port", strconv.Itoa(ep.Port), "--user", mailUser,
			"--password", b.password, "--start", strconv.Itoa(start), "--count", strconv.Itoa(o.New), "--seed", strconv.Itoa(o.Seed)); err != nil {
			return res, fmt.Errorf("append new messages: %w", err)
		}
		var prof io.Writer
		if r == 0 {
			prof = o.NewProfile
		}
		run, err := b.timedLoad(ctx, env, o.New, prof)
		if err != nil {
			return res, fmt.Errorf("load of new messages: %w", err)
		}
		res.NewRuns = append(res.NewRuns, run)
		b.p.printf("  load of %d new messages: %.1f ms", o.New, run.Seconds*1000)
	}
	res.New100MS = round(medianOf(res.NewRuns, func(r MailRun) float64 { return r.Seconds })*1000, 1)

	for range o.Noops {
		t0 := time.Now()
		st, err := env.mbs.Load(ctx, env.mbID)
		el := time.Since(t0)
		if err != nil {
			return res, fmt.Errorf("no-op load: %w", err)
		}
		if st.Fetched != 0 {
			return res, fmt.Errorf("no-op load fetched %d letters", st.Fetched)
		}
		res.NoopRuns = append(res.NoopRuns, ms(el))
	}
	res.NoopMS = medianOf(res.NoopRuns, func(x float64) float64 { return x })
	b.p.printf("no-op load: median %.1f ms of %v", res.NoopMS, res.NoopRuns)

	if res.IdleRuns, err = b.idle(ctx, env); err != nil {
		return res, fmt.Errorf("idle: %w", err)
	}
	res.IdleLatencyMS = medianOf(res.IdleRuns, func(x float64) float64 { return x })
	b.p.printf("IDLE: APPEND to the contact's timeline, median %.1f ms of %v", res.IdleLatencyMS, res.IdleRuns)

	res.LoadAvgEnd = loadAvg()
	res.Notes = append(res.Notes,
		"Tandem runs in this process (the mail service over a fresh SQLite store per first load, WAL with synchronous=FULL: every commit fsynced, as mbsync with FSync yes; production runs NORMAL, durable to a process crash); Dovecot (IMAP on loopback, no TLS), mbsync and the generator are other processes",
		"mbsync (Debian isync, FSync yes) pulls the same INBOX into a fresh Maildir; the runs alternate, Tandem first, after sync(2)",
		fmt.Sprintf("Tandem's mailbox loads INBOX only (as mbsync), first-load period 'all'; %d contacts carry addresses found in the mail", len(b.contacts)),
		"Dovecot fsyncs as by default (mail_fsync = optimized)")
	return res, nil
}

// mailEnv is Tandem over one store: a user, the benchmark's provider, the
// mailbox and contacts.
type mailEnv struct {
	dir        string
	st         *store.Store
	mbs        *mail.Mailboxes
	user       access.Viewer
	mbID       string
	contactIDs []string
	firstStats mail.LoadStats
}

// newEnv opens a fresh store in the work folder and adds a user, the
// provider, the mailbox (INBOX only, everything from the start) and the
// contacts.
func (b *mailBench) newEnv(ctx context.Context, name string) (_ *mailEnv, err error) {
	e := &mailEnv{dir: filepath.Join(b.work, "tandem."+name)}
	if err := os.Mkdir(e.dir, 0o755); err != nil {
		return nil, err
	}
	if e.st, err = store.Open(ctx, store.Options{SQLitePath: filepath.Join(e.dir, "tandem.db"), Durable: true}); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			e.st.Close()
		}
	}()
	key := make([]byte, 32)
	rand.Read(key)
	box, err := secret.New(key)
	if err != nil {
		return nil, err
	}
	dir := mail.New(e.st, box, nil)
	e.mbs = mail.NewMailboxes(e.st, box, dir, b.log)
	// The benchmark's Dovecot has no SMTP: a new mailbox is verified by
	// its IMAP login alone.
	e.mbs.Verify = func(ctx context.Context, ep mail.Endpoints) error {
		cl, err := imap.Dial(ctx, ep.IMAP, ep.Auth)
		if err != nil {
			return err
		}
		return cl.Close()
	}
	u := &access.User{Email: mailUser, Name: "Bench", Active: true, Language: "en"}
	if err := e.st.CreateUser(ctx, u, randomHex(16)); err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	if e.user, err = e.st.Viewer(ctx, u.ID); err != nil {
		return nil, err
	}
	admin := access.Viewer{UserID: u.ID, Ops: map[string]bool{access.OpManageAdministration: true}}
	ep := b.srv.IMAP(wire.SecurityNone)
	p := &mail.Provider{Name: "Benchmark Dovecot", Type: mail.TypeIMAP,
		IMAP: mail.Server{Host: ep.Host, Port: ep.Port, Security: mail.SecurityNone},
		// Never used: the benchmark sends nothing.
		SMTP:        mail.Server{Host: ep.Host, Port: 587, Security: mail.SecurityNone},
		LoginFormat: mail.LoginEmail, Auth: mail.AuthBasic}
	if err := dir.CreateProvider(ctx, admin, p); err != nil {
		return nil, fmt.Errorf("create provider: %w", err)
	}
	mb, err := e.mbs.Add(ctx, e.user, mail.NewMailbox{Address: mailUser, ProviderID: p.ID, Password: b.password})
	if err != nil {
		return nil, fmt.Errorf("add mailbox: %w", err)
	}
	e.mbID = mb.ID
	set := mail.MailboxSettings{FirstLoad: mail.PeriodAll, AutoLoad: true, Folders: []string{"INBOX"}, SendEnabled: true,
		DefaultSender: true}
	if _, err := e.mbs.UpdateSettings(ctx, e.user, mb.ID, set); err != nil {
		return nil, fmt.Errorf("mailbox settings: %w", err)
	}
	for _, c := range b.contacts {
		ct := &crm.Contact{Name: c.name, Emails: []crm.Email{{Address: c.email, Kind: "work", Primary: true}}}
		if err := e.st.CreateContact(ctx, e.user, ct); err != nil {
			return nil, fmt.Errorf("create contact: %w", err)
		}
		e.contactIDs = append(e.contactIDs, ct.ID)
	}
	return e, nil
}

// tandemFirstLoad times Tandem's first load of the INBOX into a fresh
// store and returns the store, open.
func (b *mailBench) tandemFirstLoad(ctx context.Context, rep int, prof io.Writer) (*mailEnv, MailRun, error) {
	env, err := b.newEnv(ctx, strconv.Itoa(rep))
	if err != nil {
		return nil, MailRun{}, err
	}
	run, err := b.timedLoad(ctx, env, b.o.N, prof)
	if err != nil {
		env.st.Close()
		return nil, run, err
	}
	run.DatabaseMB = round(float64(dirSize(env.dir))/(1<<20), 1)
	return env, run, nil
}

// timedLoad times one load that must store want new letters: wall time,
// Tandem's CPU time and peak RSS.
func (b *mailBench) timedLoad(ctx context.Context, env *mailEnv, want int, prof io.Writer) (MailRun, error) {
	var r MailRun
	// Dirty pages of earlier runs are written out first, so they do not
	// slow this one; memory earlier phases freed goes back to the system,
	// so the peak is this run's.
	syscall.Sync()
	runtime.GC()
	debug.FreeOSMemory()
	src := resetPeakRSS()
	r.RSSBeforeMB = rssMB("VmRSS")
	if prof != nil {
		if err := pprof.StartCPUProfile(prof); err != nil {
			return r, err
		}
	}
	cpu := cpuSeconds()
	t0 := time.Now()
	st, err := env.mbs.Load(ctx, env.mbID)
	el := time.Since(t0)
	r.CPUSeconds = round(cpuSeconds()-cpu, 2)
	if prof != nil {
		pprof.StopCPUProfile()
	}
	r.PeakRSSMB, r.PeakRSSSource = peakRSSMB(src)
	r.Seconds = round(el.Seconds(), 3)
	r.MessagesPerSec = round(float64(want)/el.Seconds(), 0)
	r.Stored, r.Warnings = st.Stored, st.Warnings
	if err != nil {
		return r, err
	}
	if st.Fetched != want || st.Stored != want {
		return r, fmt.Errorf("load fetched %d and stored %d letters, want %d (%+v)", st.Fetched, st.Stored, want, st)
	}
	if env.firstStats.Fetched == 0 {
		env.firstStats = st
	}
	return r, nil
}

// linked counts the letters on the contacts' timelines (each contact's
// address is in at least one letter, so each must show one).
func (e *mailEnv) linked(ctx context.Context, contacts []contactAddr) (int, error) {
	n := 0
	for i, id := range e.contactIDs {
		ls, err := e.st.LettersOfRecord(ctx, e.user.UserID, "contact", id, store.LetterCursor{}, 500)
		if err != nil {
			return n, err
		}
		if len(ls) == 0 {
			return n, fmt.Errorf("no letter on the timeline of the contact %s", contacts[i].email)
		}
		n += len(ls)
	}
	return n, nil
}

// idle runs RunIdle (no job queue: it loads directly) and times, Idles
// times, an APPEND of a letter from the first contact through another
// connection until the letter is on that contact's timeline.
func (b *mailBench) idle(ctx context.Context, env *mailEnv) ([]float64, error) {
	before, err := env.st.GetConnection(ctx, env.mbID)
	if err != nil {
		return nil, err
	}
	ictx, stop := context.WithCancel(ctx)
	idled := make(chan error, 1)
	go func() { idled <- env.mbs.RunIdle(ictx) }()
	defer func() {
		stop()
		<-idled
	}()
	// IDLE starts with a load of whatever arrived before it watched; once
	// that load is recorded, IDLE is running.
	if err := poll(ctx, 30*time.Second, func() (bool, error) {
		c, err := env.st.GetConnection(ctx, env.mbID)
		return err == nil && c.LastSyncAt > before.LastSyncAt, err
	}); err != nil {
		return nil, fmt.Errorf("IDLE did not start: %w", err)
	}

	ep := b.srv.IMAP(wire.SecurityNone)
	cl, err := imap.Dial(ctx, ep, wire.Auth{Username: mailUser, Password: b.password})
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	from := b.contacts[0]
	var out []float64
	for i := range b.o.Idles {
		subject := fmt.Sprintf("IDLE probe %d %s", i, randomHex(4))
		raw := fmt.Sprintf("From: %s <%s>\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@bench.example>\r\nDate: %s\r\n"+
			"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nA letter delivered while IDLE watches.\r\n",
			from.name, from.email, mailUser, subject, strings.ReplaceAll(subject, " ", "."), time.Now().Format(time.RFC1123Z))
		t0 := time.Now()
		if _, _, err := cl.Append(ctx, "INBOX", nil, t0, []byte(raw)); err != nil {
			return out, err
		}
		err := poll(ctx, 30*time.Second, func() (bool, error) {
			ls, err := env.st.LettersOfRecord(ctx, env.user.UserID, "contact", env.contactIDs[0], store.LetterCursor{}, 1)
			return err == nil && len(ls) == 1 && ls[0].Subject == subject, err
		})
		if err != nil {
			return out, fmt.Errorf("letter %d not on the timeline: %w", i, err)
		}
		out = append(out, ms(time.Since(t0)))
		// Let the load finish (its last writes follow the letter's
		// commit) before the next letter.
		time.Sleep(200 * time.Millisecond)
	}
	return out, nil
}

// poll checks cond every 2 ms until it holds, an error, or d passes.
func poll(ctx context.Context, d time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(d)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %v", d)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// examine logs in and EXAMINEs the INBOX, which has Dovecot index it.
func (b *mailBench) examine(ctx context.Context, want int) error {
	cl, err := imap.Dial(ctx, b.srv.IMAP(wire.SecurityNone), wire.Auth{Username: mailUser, Password: b.password})
	if err != nil {
		return err
	}
	defer cl.Close()
	st, err := cl.Examine(ctx, "INBOX")
	if err != nil {
		return err
	}
	if int(st.Messages) != want {
		return fmt.Errorf("INBOX holds %d messages, want %d", st.Messages, want)
	}
	return nil
}

// pickContacts takes the senders of mailContacts messages spread over the
// generated ones (Maildir names hold the generator's index: "…Q<i>.benchgen…").
func (b *mailBench) pickContacts(cur string) error {
	ents, err := os.ReadDir(cur)
	if err != nil {
		return err
	}
	type file struct {
		i    int
		name string
	}
	var files []file
	for _, e := range ents {
		name := e.Name()
		q := strings.Index(name, "Q")
		dot := strings.Index(name, ".benchgen")
		if q < 0 || dot < q {
			continue
		}
		i, err := strconv.Atoi(name[q+1 : dot])
		if err != nil {
			continue
		}
		files = append(files, file{i, name})
	}
	slices.SortFunc(files, func(a, b file) int { return a.i - b.i })
	seen := map[string]bool{}
	for k := 0; k < len(files) && len(b.contacts) < mailContacts; k++ {
		// Spread: the k-th pick is near k/mailContacts of the way, then on.
		f := files[(k*len(files)/mailContacts+k/mailContacts)%len(files)]
		raw, err := os.ReadFile(filepath.Join(cur, f.name))
		if err != nil {
			return err
		}
		p := message.Parse(raw)
		if len(p.From) == 0 || p.From[0].Email == "" || seen[crm.Fold(p.From[0].Email)] {
			continue
		}
		seen[crm.Fold(p.From[0].Email)] = true
		name := p.From[0].Name
		if name == "" {
			name = p.From[0].Email
		}
		b.contacts = append(b.contacts, contactAddr{name: name, email: p.From[0].Email})
	}
	if len(b.contacts) == 0 {
		return errors.New("no sender found in the generated mail")
	}
	return nil
}

// mbsyncRun times one mbsync pull of the INBOX into a fresh Maildir,
// configured as the peers' imap_mbsync.sh does (FSync yes).
func (b *mailBench) mbsyncRun(ctx context.Context, name string) (MBSyncRun, error) {
	var r MBSyncRun
	near := filepath.Join(b.work, "mbsync."+name)
	if err := os.Mkdir(near, 0o755); err != nil {
		return r, err
	}
	ep := b.srv.IMAP(wire.SecurityNone)
	rc := filepath.Join(b.work, "mbsyncrc."+name)
	conf := fmt.Sprintf(`FSync yes

IMAPAccount far
Host %s
Port %d
User %s
Pass %s
SSLType None
AuthMechs LOGIN

IMAPStore far
Account far

MaildirStore near
Path %s/
Inbox %s/INBOX

Channel bench
Far :far:
Near :near:
Sync Pull
Create Near
Expunge None
Remove None
SyncState *
`, ep.Host, ep.Port, mailUser, b.password, near, near)
	if err := os.WriteFile(rc, []byte(conf), 0o600); err != nil {
		return r, err
	}
	logf, err := os.Create(filepath.Join(b.work, "mbsync."+name+".log"))
	if err != nil {
		return r, err
	}
	defer logf.Close()
	cmd := exec.CommandContext(ctx, b.mbsync, "-c", rc, "bench")
	cmd.Stdout, cmd.Stderr = logf, logf
	setParentDeathSignal(cmd)
	syscall.Sync()
	t0 := time.Now()
	err = cmd.Run()
	el := time.Since(t0)
	if err != nil {
		return r, fmt.Errorf("mbsync: %w: %s", err, tailFile(logf.Name()))
	}
	r.Seconds = round(el.Seconds(), 3)
	r.CPUSeconds = round((cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds(), 2)
	for _, sub := range []string{"cur", "new"} {
		ents, err := os.ReadDir(filepath.Join(near, "INBOX", sub))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return r, err
		}
		r.Messages += len(ents)
	}
	if r.Messages != b.o.N {
		return r, fmt.Errorf("mbsync pulled %d messages, want %d", r.Messages, b.o.N)
	}
	return r, nil
}

// findMBSync returns mbsync's path, installing Debian's isync when it is
// missing and the process is root.
func findMBSync(cmd string) (string, error) {
	if p, err := exec.LookPath(cmd); err == nil {
		return p, nil
	}
	if cmd == "mbsync" {
		if err := mailserver.Install(mailserver.Package{File: "/usr/bin/mbsync", Name: "isync"}); err != nil {
			return "", fmt.Errorf("%w: mbsync: %w", mailserver.ErrUnavailable, err)
		}
	}
	return exec.LookPath(cmd)
}

// python runs the generator and returns its standard output.
func (b *mailBench) python(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, b.o.Python, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	setParentDeathSignal(cmd)
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %w: %s", b.o.Python, strings.Join(args[:min(2, len(args))], " "), err, errb.String())
	}
	return out.Bytes(), nil
}

func commandLine(ctx context.Context, name string, args ...string) string {
	out, err := exec.CommandContext(ctx, name, args...).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(lastLine(out)))
}
