package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tandem-crm/tandem/internal/provider"
	googleprov "github.com/tandem-crm/tandem/internal/provider/google"

	"github.com/tandem-crm/tandem/internal/access"
	gconn "github.com/tandem-crm/tandem/internal/connector/google"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/emulator/google"
	"github.com/tandem-crm/tandem/internal/oauth"
	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/secret"
	"github.com/tandem-crm/tandem/internal/settings"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/syncer"
)

// SyncOptions size a sync benchmark. Zero values take the defaults.
type SyncOptions struct {
	N       int // linked contacts of the big binding (default 100000)
	Small   int // linked contacts of the small binding (default 1000)
	Changes int // changes per incremental run, half remote and half local (default 100)
	Rounds  int // timed incremental runs per binding (default 3); the median counts
	// Foreign is how many change-log entries another Tandem user makes
	// (creating and editing contacts of their own, outside the small
	// binding's scope) before the timed foreign-changes run of the small
	// binding (default 100000; negative: no such run).
	Foreign int
	// Progress receives phase lines; nil for none.
	Progress io.Writer
	// CPUProfile, when set, receives a CPU profile of the big binding's
	// incremental runs (the part the ratio is about).
	CPUProfile io.Writer
}

const (
	defaultSyncN       = 100000
	defaultSyncSmall   = 1000
	defaultSyncChanges = 100
	defaultSyncRounds  = 3
	defaultSyncForeign = 100000
)

func (o *SyncOptions) defaults() {
	if o.N <= 0 {
		o.N = defaultSyncN
	}
	if o.Small <= 0 {
		o.Small = defaultSyncSmall
	}
	if o.Changes <= 0 {
		o.Changes = defaultSyncChanges
	}
	if o.Rounds <= 0 {
		o.Rounds = defaultSyncRounds
	}
	if o.Foreign == 0 {
		o.Foreign = defaultSyncForeign
	}
}

// SyncResult holds the figures of a sync benchmark.
type SyncResult struct {
	Database  string    `json:"database"`
	Path      string    `json:"path,omitempty"`
	CPUs      int       `json:"cpus"`
	GoVersion string    `json:"go_version"`
	Started   time.Time `json:"started"`
	Changes   int       `json:"changes"` // per incremental run: half remote edits, half local edits

	Bindings []SyncBinding `json:"bindings"` // the small one, then the big one
	// Ratio is the big binding's median incremental run time over the
	// small one's: the goal is ≤ 1.5 (cost grows with changes, not data).
	Ratio float64 `json:"incremental_ratio"`
	// CatchUp is a run of the small binding after the big one's runs: the
	// change log is shared, so it reads every entry they wrote.
	CatchUp SyncCatchUp `json:"catch_up"`
	// Foreign is a run of the small binding after another user changed
	// contacts outside its scope (absent when SyncOptions.Foreign < 0).
	Foreign *SyncForeign `json:"foreign,omitempty"`
	Notes   []string     `json:"notes,omitempty"`
}

// SyncForeign is an incremental run of the small binding after another
// user's changes: the change log is shared by all users, and none of
// these records is the binding's to push.
type SyncForeign struct {
	LogEntries int             `json:"log_entries"` // change-log entries the other user wrote
	Created    int             `json:"created"`     // contacts the other user created
	Edited     int             `json:"edited"`      // … and then edited
	MS         float64         `json:"ms"`
	Stats      reconcile.Stats `json:"stats"`
}

// SyncCatchUp is a run that reads other bindings' change-log entries.
type SyncCatchUp struct {
	LogEntries int             `json:"log_entries"` // change-log entries written since its previous run
	MS         float64         `json:"ms"`
	Stats      reconcile.Stats `json:"stats"`
}

// SyncBinding is one Google account's contact binding: its first import,
// a run with nothing to do, and the timed incremental runs.
type SyncBinding struct {
	Contacts int          `json:"contacts"`
	Seed     float64      `json:"seed_seconds"` // filling the emulator (not Tandem's cost)
	Import   SyncImport   `json:"import"`
	QuietMS  float64      `json:"quiet_run_ms"` // a run with no changes on either side
	Incr     []SyncIncrun `json:"incremental"`
	// IncrMedianMS is the median of the incremental runs.
	IncrMedianMS float64 `json:"incremental_median_ms"`
}

// SyncImport is the first run: every contact of the Google group imported.
type SyncImport struct {
	Seconds        float64         `json:"seconds"`
	ContactsPerSec float64         `json:"contacts_per_sec"`
	RSSBeforeMB    float64         `json:"rss_before_mb"` // the process before the run (the emulator's data included)
	PeakRSSMB      float64         `json:"peak_rss_mb"`   // the process's peak during the run
	PeakRSSSource  string          `json:"peak_rss_source"`
	Stats          reconcile.Stats `json:"stats"`
}

// SyncIncrun is one timed incremental run.
type SyncIncrun struct {
	MS    float64         `json:"ms"`
	Calls int             `json:"api_calls"` // People API requests the run made
	Stats reconcile.Stats `json:"stats"`
}

// syncBench is the wiring of one benchmark: the emulator and Tandem's sync
// service over the store under test.
type syncBench struct {
	s     *store.Store
	em    *google.Server
	base  string
	set   *settings.Service
	oauth *oauth.Service
	sync  *syncer.Service
	p     *progress
	o     SyncOptions

	conns   []string // connection of each binding
	cursors []int64  // the change log's end after each binding's last run
}

// Sync measures Google contact sync end to end over s, which must be
// empty: the emulator runs in this process on a loopback port, and every
// run is syncer.Service.RunConnection — the code path of `tandem sync run`
// and the job — with OAuth tokens from a real authorization-code flow, HTTP
// to the emulator through google.golang.org/api, and the store. For each
// of two bindings (o.Small and o.N contacts, each a separate Tandem user
// and Google account) it seeds the Google group, times the first import,
// a run with nothing to do, and o.Rounds incremental runs of o.Changes
// changes (half edited in Google, half in Tandem). It leaves the data in s.
func Sync(ctx context.Context, s *store.Store, o SyncOptions) (res SyncResult, err error) {
	o.defaults()
	res = SyncResult{Database: "sqlite", Path: s.SQLitePath(), CPUs: runtime.NumCPU(), GoVersion: runtime.Version(),
		Started: time.Now().UTC().Truncate(time.Second), Changes: o.Changes}
	if s.Postgres() {
		res.Database = "postgres"
	}
	n, err := s.CountUsers(ctx)
	if err != nil {
		return res, err
	}
	last, err := s.LastChange(ctx)
	if err != nil {
		return res, err
	}
	if n > 0 || last > 0 {
		return res, fmt.Errorf("bench: the database is not empty (%d users, change log at %d); give it an empty one", n, last)
	}

	key := make([]byte, secret.KeySize)
	rand.Read(key)
	box, err := secret.New(key)
	if err != nil {
		return res, err
	}
	// Quotas off: this measures Tandem's throughput, not Google's limits.
	em := google.New(google.Options{Seed: seed, Quotas: &google.Quotas{}})
	base, err := em.Start()
	if err != nil {
		return res, fmt.Errorf("start emulator: %w", err)
	}
	defer em.Close()
	quiet := slog.New(slog.DiscardHandler)
	b := &syncBench{s: s, em: em, base: base, set: settings.New(s, box), p: &progress{w: o.Progress}, o: o}
	b.oauth = oauth.New(s, b.set, box, quiet)
	b.sync = syncer.New(s, b.set, provider.NewRegistry(googleprov.New(b.set, b.oauth, quiet)), quiet)
	if err := ConfigureGoogle(ctx, b.set, em, base); err != nil {
		return res, err
	}
	for i, size := range []int{o.Small, o.N} {
		r, err := b.binding(ctx, i, size, i == 1 && o.CPUProfile != nil)
		if err != nil {
			return res, fmt.Errorf("%d contacts: %w", size, err)
		}
		res.Bindings = append(res.Bindings, r)
	}

	// The small binding once more: its local cursor is behind everything
	// the big binding's runs wrote to the shared change log.
	from, err := b.s.LastChange(ctx)
	if err != nil {
		return res, err
	}
	res.CatchUp.LogEntries = int(from - b.cursors[0])
	b.p.printf("%d contacts: a run after the other binding's %d change-log entries", o.Small, res.CatchUp.LogEntries)
	t0 := time.Now()
	st, err := b.run(context.WithoutCancel(ctx), b.conns[0])
	if err != nil {
		return res, fmt.Errorf("catch-up run: %w", err)
	}
	res.CatchUp.MS, res.CatchUp.Stats = ms(time.Since(t0)), st
	if o.Foreign > 0 {
		f, err := b.foreign(ctx, o.Foreign)
		if err != nil {
			return res, fmt.Errorf("foreign changes: %w", err)
		}
		res.Foreign = &f
	}
	if sm := res.Bindings[0].IncrMedianMS; sm > 0 {
		res.Ratio = round(res.Bindings[1].IncrMedianMS/sm, 2)
	}
	res.Notes = append(res.Notes,
		"the emulator runs in this process: its CPU time (listing, JSON) is inside the run times, and its data inside the RSS",
		fmt.Sprintf("incremental runs: %d remote edits (job title in Google) and %d local edits (job title in Tandem) on distinct linked contacts",
			o.Changes/2, o.Changes-o.Changes/2))
	if s.Postgres() {
		res.Notes = append(res.Notes, "postgres: ANALYZE after each import, as autovacuum would do on a live server")
	}
	return res, nil
}

// binding runs one binding of size contacts.
func (b *syncBench) binding(ctx context.Context, idx, size int, profile bool) (SyncBinding, error) {
	r := SyncBinding{Contacts: size}
	ctx = context.WithoutCancel(ctx) // a run cut short would leave the lease held
	email := fmt.Sprintf("bench%d@gmail.com", idx+1)
	b.em.AddUser(email, fmt.Sprintf("Bench %d", idx+1))

	// Tandem's side: a user with a personal tag, connected through OAuth.
	pw := make([]byte, 16)
	rand.Read(pw)
	u := &access.User{Email: fmt.Sprintf("bench-sync-%d@example.com", idx+1), Name: "Bench", Active: true, Language: "en"}
	if err := b.s.CreateUser(ctx, u, hex.EncodeToString(pw)); err != nil {
		return r, fmt.Errorf("create user: %w", err)
	}
	v, err := b.s.Viewer(ctx, u.ID)
	if err != nil {
		return r, err
	}
	tag := &crm.Tag{Name: "Google"}
	if err := b.s.SaveTag(ctx, v, tag); err != nil {
		return r, fmt.Errorf("create tag: %w", err)
	}
	conn, err := ConnectGoogle(ctx, b.oauth, b.em, u.ID, email)
	if err != nil {
		return r, err
	}
	if _, _, err := b.sync.ContactBinding(ctx, conn.ID); err != nil {
		return r, err
	}
	if err := b.sync.SaveContactSettings(ctx, v, conn.ID, true, syncer.ContactSettings{TagID: tag.ID}); err != nil {
		return r, err
	}
	bnd, _, err := b.sync.ContactBinding(ctx, conn.ID)
	if err != nil {
		return r, err
	}

	// Google's side: the group the binding uses, with size contacts in it.
	b.p.printf("%d contacts: seeding the Google group", size)
	t0 := time.Now()
	group, err := b.em.CreateContactGroup(email, gconn.DefaultGroupName)
	if err != nil {
		return r, err
	}
	for i := range size {
		if _, err := b.em.CreateContact(email, person(makeContact(i), group)); err != nil {
			return r, fmt.Errorf("seed contact %d: %w", i, err)
		}
	}
	r.Seed = round(time.Since(t0).Seconds(), 2)

	// First import.
	b.p.printf("%d contacts: first import", size)
	step := max(size/10, 1)
	shown := 0
	b.sync.SetProgress(func(_ string, st reconcile.Stats) {
		if st.Pulled >= shown+step {
			shown = st.Pulled
			b.p.printf("  %d/%d pulled, %d created", st.Pulled, size, st.LocalCreated)
		}
	})
	runtime.GC()
	src := resetPeakRSS()
	r.Import.RSSBeforeMB = rssMB("VmRSS")
	t0 = time.Now()
	st, err := b.run(ctx, conn.ID)
	el := time.Since(t0)
	b.sync.SetProgress(nil)
	if err != nil {
		return r, fmt.Errorf("first import: %w", err)
	}
	r.Import.Seconds = round(el.Seconds(), 2)
	r.Import.ContactsPerSec = round(float64(size)/el.Seconds(), 0)
	r.Import.PeakRSSMB, r.Import.PeakRSSSource = peakRSSMB(src)
	r.Import.Stats = st
	if st.LocalCreated != size || st.Skipped != 0 || st.RemoteCreated != 0 {
		return r, fmt.Errorf("first import: want %d contacts created, got %+v", size, st)
	}
	b.p.printf("%d contacts: imported in %.1f s (%.0f contacts/s), peak RSS %.0f MB", size, r.Import.Seconds,
		r.Import.ContactsPerSec, r.Import.PeakRSSMB)
	if b.s.Postgres() {
		// A live server has autovacuum keep statistics current; right
		// after a bulk load they describe much smaller tables.
		if _, err := b.s.PgxPool().Exec(ctx, "ANALYZE"); err != nil {
			return r, fmt.Errorf("analyze: %w", err)
		}
	}

	// A run with nothing to do.
	t0 = time.Now()
	st, err = b.run(ctx, conn.ID)
	if err != nil {
		return r, fmt.Errorf("quiet run: %w", err)
	}
	r.QuietMS = ms(time.Since(t0))
	if st.LocalCreated+st.LocalUpdated+st.RemoteCreated+st.RemoteUpdated+st.LocalRemoved+st.RemoteRemoved != 0 {
		return r, fmt.Errorf("quiet run changed something: %+v", st)
	}

	// Incremental runs.
	links, err := b.s.Links(ctx, bnd.ID)
	if err != nil {
		return r, err
	}
	if len(links) != size {
		return r, fmt.Errorf("%d links after the import, want %d", len(links), size)
	}
	remote, local := b.o.Changes/2, b.o.Changes-b.o.Changes/2
	if remote+local > size {
		return r, fmt.Errorf("%d changes among %d contacts", b.o.Changes, size)
	}
	rng := mrand.New(mrand.NewPCG(seed, uint64(size)))
	if profile {
		if err := pprof.StartCPUProfile(b.o.CPUProfile); err != nil {
			return r, err
		}
		defer pprof.StopCPUProfile()
	}
	var times []float64
	for rnd := range b.o.Rounds {
		picked := rng.Perm(size)[:remote+local]
		for i, k := range picked[:remote] {
			title := fmt.Sprintf("Remote edit %d.%d", rnd, i)
			if err := b.em.UpdateContact(email, links[k].RemoteID, map[string]any{
				"organizations": []any{map[string]any{"title": title}}}, "organizations"); err != nil {
				return r, fmt.Errorf("remote edit: %w", err)
			}
		}
		for i, k := range picked[remote:] {
			c, err := b.s.GetContact(ctx, v, links[k].LocalID)
			if err != nil {
				return r, fmt.Errorf("local edit: %w", err)
			}
			c.JobTitle = fmt.Sprintf("Local edit %d.%d", rnd, i)
			c.Tags, c.Access = nil, nil
			if err := b.s.UpdateContact(ctx, v, c, c.Version); err != nil {
				return r, fmt.Errorf("local edit: %w", err)
			}
		}
		runtime.GC()
		before := b.peopleCalls()
		t0 := time.Now()
		st, err := b.run(ctx, conn.ID)
		d := time.Since(t0)
		if err != nil {
			return r, fmt.Errorf("incremental run: %w", err)
		}
		inc := SyncIncrun{MS: ms(d), Calls: b.peopleCalls() - before, Stats: st}
		r.Incr = append(r.Incr, inc)
		times = append(times, inc.MS)
		if st.LocalUpdated != remote || st.RemoteUpdated != local || st.LocalCreated+st.RemoteCreated+st.Skipped+st.Conflicts != 0 {
			return r, fmt.Errorf("incremental run %d: want %d local and %d remote updates, got %+v", rnd+1, remote, local, st)
		}
		b.p.printf("%d contacts: incremental run %d: %.1f ms, %d API calls", size, rnd+1, inc.MS, inc.Calls)
	}
	slices.Sort(times)
	r.IncrMedianMS = times[len(times)/2]
	last, err := b.s.LastChange(ctx)
	if err != nil {
		return r, err
	}
	b.conns, b.cursors = append(b.conns, conn.ID), append(b.cursors, last)
	return r, nil
}

// foreign has another Tandem user make n change-log entries — creating
// contacts of their own and then editing some, none visible to the small
// binding's user — and times one run of the small binding after them.
func (b *syncBench) foreign(ctx context.Context, n int) (SyncForeign, error) {
	ctx = context.WithoutCancel(ctx)
	f := SyncForeign{Created: n - n/2, Edited: n / 2}
	pw := make([]byte, 16)
	rand.Read(pw)
	u := &access.User{Email: "bench-other@example.com", Name: "Other", Active: true, Language: "en"}
	if err := b.s.CreateUser(ctx, u, hex.EncodeToString(pw)); err != nil {
		return f, fmt.Errorf("create user: %w", err)
	}
	v, err := b.s.Viewer(ctx, u.ID)
	if err != nil {
		return f, err
	}
	before, err := b.s.LastChange(ctx)
	if err != nil {
		return f, err
	}
	b.p.printf("another user: %d contacts created, %d of them edited", f.Created, f.Edited)
	const batch = 500
	ids := make([]string, 0, f.Created)
	for first := 0; first < f.Created; first += batch {
		err := b.s.InTx(ctx, func(tx *store.Tx) error {
			for i := first; i < min(first+batch, f.Created); i++ {
				c := makeContact(b.o.N + i) // not among the contacts in Google
				c.Tags = nil
				if err := tx.CreateContact(ctx, v, c); err != nil {
					return err
				}
				ids = append(ids, c.ID)
			}
			return nil
		})
		if err != nil {
			return f, fmt.Errorf("create contact: %w", err)
		}
	}
	for first := 0; first < f.Edited; first += batch {
		err := b.s.InTx(ctx, func(tx *store.Tx) error {
			for i := first; i < min(first+batch, f.Edited); i++ {
				c, err := b.s.GetContact(ctx, v, ids[i])
				if err != nil {
					return err
				}
				c.JobTitle = fmt.Sprintf("Edited %d", i)
				c.Tags, c.Access = nil, nil
				if err := tx.UpdateContact(ctx, v, c, c.Version); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return f, fmt.Errorf("edit contact: %w", err)
		}
	}
	after, err := b.s.LastChange(ctx)
	if err != nil {
		return f, err
	}
	f.LogEntries = int(after - before)
	if b.s.Postgres() {
		if _, err := b.s.PgxPool().Exec(ctx, "ANALYZE"); err != nil {
			return f, fmt.Errorf("analyze: %w", err)
		}
	}
	b.p.printf("%d contacts: a run after another user's %d change-log entries", b.o.Small, f.LogEntries)
	runtime.GC()
	t0 := time.Now()
	st, err := b.run(ctx, b.conns[0])
	if err != nil {
		return f, fmt.Errorf("run: %w", err)
	}
	f.MS, f.Stats = ms(time.Since(t0)), st
	if st.LocalCreated+st.LocalUpdated+st.LocalRemoved+st.RemoteCreated+st.RemoteUpdated+st.RemoteRemoved+st.Skipped != 0 {
		return f, fmt.Errorf("the run after another user's changes changed something: %+v", st)
	}
	b.p.printf("%d contacts: run after another user's changes: %.1f ms", b.o.Small, f.MS)
	return f, nil
}

func (b *syncBench) run(ctx context.Context, connID string) (reconcile.Stats, error) {
	res, err := b.sync.RunConnection(ctx, connID)
	return res.Stats[syncer.KindContacts], err
}

func (b *syncBench) peopleCalls() int {
	n := 0
	for k, c := range b.em.Calls() {
		if strings.HasPrefix(k, "people.") || strings.HasPrefix(k, "contactGroups.") {
			n += c
		}
	}
	return n
}

// person is a contact of the data set as a People API person in group.
func person(c *crm.Contact, group string) map[string]any {
	p := map[string]any{
		"names": []any{map[string]any{"givenName": c.GivenName, "middleName": c.MiddleName, "familyName": c.FamilyName}},
		"memberships": []any{map[string]any{"contactGroupMembership": map[string]any{
			"contactGroupResourceName": group}}},
	}
	var emails, phones []any
	for _, e := range c.Emails {
		emails = append(emails, map[string]any{"value": e.Address, "type": e.Kind})
	}
	for _, ph := range c.Phones {
		phones = append(phones, map[string]any{"value": ph.Number, "type": ph.Kind})
	}
	p["emailAddresses"], p["phoneNumbers"] = emails, phones
	if c.JobTitle != "" {
		p["organizations"] = []any{map[string]any{"title": c.JobTitle}}
	}
	return p
}

// resetPeakRSS resets the kernel's peak RSS of this process (VmHWM) so the
// next reading is the peak of what follows; it says where the peak will
// come from.
func resetPeakRSS() string {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err == nil {
		return "VmHWM (reset before the run)"
	}
	if rssMB("VmHWM") > 0 {
		return "VmHWM (since process start: clear_refs unavailable)"
	}
	return ""
}

func peakRSSMB(src string) (float64, string) {
	if src == "" {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return round(float64(m.Sys)/(1<<20), 1), "Go runtime Sys (no /proc)"
	}
	return rssMB("VmHWM"), src
}

// rssMB reads a "Vm…: N kB" line of /proc/self/status, in MB (0 when
// unavailable).
func rssMB(field string) float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte(field+":")); ok {
			f := strings.Fields(string(v))
			if len(f) > 0 {
				kb, _ := strconv.ParseFloat(f[0], 64)
				return round(kb/1024, 1)
			}
		}
	}
	return 0
}

// Text writes r as a table for people.
func (r SyncResult) Text(w io.Writer) {
	db := r.Database
	if r.Path != "" {
		db += "  " + r.Path
	}
	fmt.Fprintf(w, "Tandem sync benchmark (Google contacts, emulator in process)\n")
	fmt.Fprintf(w, "  database  %s\n", db)
	fmt.Fprintf(w, "  machine   %d CPUs, %s\n", r.CPUs, r.GoVersion)
	fmt.Fprintf(w, "  started   %s\n\n", r.Started.Format("2006-01-02 15:04:05 MST"))
	fmt.Fprintf(w, "%9s %10s %11s %9s %9s %9s %12s %s\n", "contacts", "import s", "contacts/s", "RSS MB", "peak MB",
		"quiet ms", "incr ms", fmt.Sprintf("(%d changes; each run, API calls)", r.Changes))
	for _, b := range r.Bindings {
		var each []string
		for _, in := range b.Incr {
			each = append(each, fmt.Sprintf("%.0f/%d", in.MS, in.Calls))
		}
		fmt.Fprintf(w, "%9d %10.2f %11.0f %9.0f %9.0f %9.1f %12.1f %s\n", b.Contacts, b.Import.Seconds, b.Import.ContactsPerSec,
			b.Import.RSSBeforeMB, b.Import.PeakRSSMB, b.QuietMS, b.IncrMedianMS, strings.Join(each, " "))
	}
	if len(r.Bindings) == 2 {
		verdict := "goal ≤ 1.5: met"
		if r.Ratio > 1.5 {
			verdict = "goal ≤ 1.5: NOT met"
		}
		fmt.Fprintf(w, "\n  incremental ratio  %.2f  (%d vs %d linked contacts, median run; %s)\n", r.Ratio,
			r.Bindings[1].Contacts, r.Bindings[0].Contacts, verdict)
	}
	if len(r.Bindings) == 2 {
		fmt.Fprintf(w, "  catch-up run       %.1f ms  (the %d-contact binding after the other's %d change-log entries; pulled %d, pushed %d)\n",
			r.CatchUp.MS, r.Bindings[0].Contacts, r.CatchUp.LogEntries, r.CatchUp.Stats.Pulled,
			r.CatchUp.Stats.RemoteCreated+r.CatchUp.Stats.RemoteUpdated+r.CatchUp.Stats.RemoteRemoved)
	}
	if f := r.Foreign; f != nil && len(r.Bindings) > 0 {
		fmt.Fprintf(w, "  foreign changes    %.1f ms  (the %d-contact binding after another user's %d change-log entries on contacts outside its scope: %d created, %d edited)\n",
			f.MS, r.Bindings[0].Contacts, f.LogEntries, f.Created, f.Edited)
	}
	if len(r.Bindings) > 0 && r.Bindings[0].Import.PeakRSSSource != "" {
		fmt.Fprintf(w, "  peak RSS           %s\n", r.Bindings[0].Import.PeakRSSSource)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  note               %s\n", n)
	}
}
