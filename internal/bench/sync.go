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
	"runtime/debug"
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
	N     int // contacts of the big import, the big incremental binding and the export (default 100000)
	Mid   int // contacts of the middle import, to show how peak RSS grows with N (default 10000, or N/10 when N ≤ 10000)
	Small int // linked contacts of the small binding (default 1000)
	// Changes per incremental run, half remote and half local (default 100).
	Changes int
	Rounds  int // timed incremental runs per binding (default 3); the median counts
	// Foreign is how many change-log entries another Tandem user makes
	// (creating and editing contacts of their own, outside the small
	// binding's scope) before the timed catch-up run of the small binding
	// (default 100000; negative: no such run).
	Foreign int
	// Quota is how many contacts the quota run exports under the
	// emulator's default quotas (default 5000; negative: no quota run).
	Quota int
	// QuotaTimeout cuts the quota run short (default 15 minutes); the
	// result then says how far it got and projects the rest.
	QuotaTimeout time.Duration
	// Emulator is the command that runs the Google emulator, as argv: the
	// benchmark adds --addr, --tandem-url, --client-id and --client-secret
	// and reads the address from its "Google emulator listening on" line.
	// Default: this executable with "emulator", "google" (the tandem
	// binary's `tandem emulator google`).
	Emulator []string
	// Progress receives phase lines; nil for none.
	Progress io.Writer
	// CPUProfile, when set, receives a CPU profile of the big binding's
	// incremental runs (the part the ratio is about).
	CPUProfile io.Writer
	// ImportProfile, when set, receives a CPU profile of the big import.
	ImportProfile io.Writer
	// ExportProfile, when set, receives a CPU profile of the first export.
	ExportProfile io.Writer
}

const (
	defaultSyncN            = 100000
	defaultSyncMid          = 10000
	defaultSyncSmall        = 1000
	defaultSyncChanges      = 100
	defaultSyncRounds       = 3
	defaultSyncForeign      = 100000
	defaultSyncQuota        = 5000
	defaultSyncQuotaTimeout = 15 * time.Minute
)

func (o *SyncOptions) defaults() error {
	if o.N <= 0 {
		o.N = defaultSyncN
	}
	if o.Mid <= 0 {
		o.Mid = defaultSyncMid
		if o.N <= defaultSyncMid {
			o.Mid = max(o.N/10, 1)
		}
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
	if o.Quota == 0 {
		o.Quota = defaultSyncQuota
	}
	if o.QuotaTimeout <= 0 {
		o.QuotaTimeout = defaultSyncQuotaTimeout
	}
	if len(o.Emulator) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("the emulator command: %w", err)
		}
		o.Emulator = []string{exe, "emulator", "google"}
	}
	if o.Changes > min(o.Small, o.N) {
		return fmt.Errorf("%d changes per run among %d and %d contacts", o.Changes, o.Small, o.N)
	}
	return nil
}

// SyncReport is one benchmark over each database; `tandem bench sync
// --json` prints it.
type SyncReport struct {
	SQLite   *SyncResult `json:"sqlite,omitempty"`
	Postgres *SyncResult `json:"postgres,omitempty"`
}

// SyncResult holds the figures of a sync benchmark on one database. The
// headline figures come first; the rest are their details.
type SyncResult struct {
	Database  string    `json:"database"`
	Path      string    `json:"path,omitempty"`
	CPUs      int       `json:"cpus"`
	GoVersion string    `json:"go_version"`
	Started   time.Time `json:"started"`

	// Import is the first import of N contacts from Google.
	Import SyncRun `json:"import"`
	// ImportMid is the first import of Mid contacts, to compare peak RSS
	// with: RSSGrowth is Import's peak over ImportMid's (goal ≤ 1.25).
	ImportMid SyncRun `json:"import_mid"`
	RSSGrowth float64 `json:"import_rss_growth"`
	// Export is the first export of N local contacts to Google, with the
	// emulator's quotas off.
	Export SyncRun `json:"export"`
	// Ratio is the big binding's median incremental run time over the
	// small one's: the goal is ≤ 1.5 (cost grows with changes, not data).
	Ratio float64 `json:"incremental_ratio"`
	// CatchUpMS is the small binding's run right after another user's
	// Foreign change-log entries (CatchUp has the details); goal ≤ 200.
	CatchUpMS float64 `json:"catch_up_ms"`
	// Quota is the export of Quota contacts under the emulator's default
	// quotas.
	Quota *SyncQuota `json:"quota,omitempty"`

	Changes     int           `json:"changes"` // per incremental run: half remote edits, half local edits
	ImportSmall SyncRun       `json:"import_small"`
	Bindings    []SyncBinding `json:"bindings"` // the small one, then the big one
	CatchUp     *SyncForeign  `json:"catch_up,omitempty"`
	// AfterImports is a run of the small binding after the other
	// bindings' imports and runs: the change log is shared, so it reads
	// every entry they wrote.
	AfterImports SyncCatchUp  `json:"after_other_bindings"`
	Emulator     SyncEmulator `json:"emulator"`
	Notes        []string     `json:"notes,omitempty"`
}

// SyncRun is one timed sync run (or, for the quota export, several) and
// Tandem's cost: the benchmark process is Tandem's sync service and the
// store; the emulator is another process.
type SyncRun struct {
	Contacts       int     `json:"contacts"`
	Seconds        float64 `json:"seconds"`
	ContactsPerSec float64 `json:"contacts_per_sec"`
	// RSSBeforeMB is the process after a GC that returned free memory to
	// the system, just before the run; PeakRSSMB its peak during the run.
	RSSBeforeMB   float64         `json:"rss_before_mb"`
	PeakRSSMB     float64         `json:"peak_rss_mb"`
	PeakRSSSource string          `json:"peak_rss_source"`
	CPUSeconds    float64         `json:"cpu_seconds"` // Tandem's user+system CPU during the run
	Calls         int             `json:"api_calls"`   // People API requests the run made
	Seed          float64         `json:"seed_seconds,omitempty"`
	Stats         reconcile.Stats `json:"stats"`
}

// SyncQuota is the export of Contacts local contacts to an empty Google
// account under the emulator's default quotas, run after run (each run
// ends when the connector's retries give up on a rate limit, as a job
// would be retried) until all are in Google or Timeout passes.
type SyncQuota struct {
	Contacts int           `json:"contacts"`
	Quotas   google.Quotas `json:"quotas"` // the emulator's defaults
	WallS    float64       `json:"wall_s"`
	// FloorS is the least time the quotas allow (FloorModel); Ratio is
	// WallS over it (goal ≤ 1.2), absent when the floor is 0 (everything
	// fits in the first minute). FloorOfCallsS is the floor of the calls
	// the run made (CallsMade): above FloorS, the plan is the gap; below
	// WallS, the pacing.
	FloorS        float64        `json:"floor_s"`
	Ratio         float64        `json:"ratio,omitempty"`
	FloorOfCallsS float64        `json:"floor_of_calls_s"`
	CallsMade     map[string]int `json:"calls_made"`
	FloorModel    string         `json:"floor_model"`
	Exported      int            `json:"exported"` // contacts in Google at the end
	Complete      bool           `json:"complete"`
	// ProjectedWallS, when the run was cut short at TimeoutS, is WallS
	// scaled to all the contacts at the rate reached; Ratio then uses it.
	ProjectedWallS float64 `json:"projected_wall_s,omitempty"`
	TimeoutS       float64 `json:"timeout_s"`
	Runs           int     `json:"runs"`
	RateLimited    int     `json:"rate_limited_runs"` // runs that ended on a rate limit
	Calls          int     `json:"api_calls"`
	PeakRSSMB      float64 `json:"peak_rss_mb"`
}

// SyncEmulator is the emulator process's own cost, apart from Tandem's.
type SyncEmulator struct {
	PeakRSSMB   float64 `json:"peak_rss_mb"` // VmHWM at the end
	SeedSeconds float64 `json:"seed_seconds"`
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

// SyncBinding is one binding's run with nothing to do and its timed
// incremental runs.
type SyncBinding struct {
	Contacts int          `json:"contacts"`
	QuietMS  float64      `json:"quiet_run_ms"` // a run with no changes on either side
	Incr     []SyncIncrun `json:"incremental"`
	// IncrMedianMS is the median of the incremental runs.
	IncrMedianMS float64 `json:"incremental_median_ms"`
}

// SyncIncrun is one timed incremental run.
type SyncIncrun struct {
	MS    float64         `json:"ms"`
	Calls int             `json:"api_calls"` // People API requests the run made
	Stats reconcile.Stats `json:"stats"`
}

// syncBench is the wiring of one benchmark: the emulator process and
// Tandem's sync service over the store under test.
type syncBench struct {
	s     *store.Store
	em    *emulatorProc
	set   *settings.Service
	oauth *oauth.Service
	sync  *syncer.Service
	p     *progress
	o     SyncOptions
	users int // Tandem users and Google accounts made so far
	// parent is the caller's context: runs go to their end whatever it
	// says (a run cut short would leave its lease held), but no new phase
	// begins once it is done, and the quota run's waiting stops.
	parent context.Context

	defaultQuotas google.Quotas
	seed          time.Duration // seeding the emulator, in all
}

// binding is one Tandem user's contact binding to a Google account.
type binding struct {
	email  string // the Google account
	v      access.Viewer
	tag    string // the personal tag whose contacts the binding syncs
	connID string
	bndID  string
	group  string // the Google group, when the benchmark made it
}

// Sync measures Google contact sync end to end over s, which must be
// empty. The Google emulator runs as a separate process (o.Emulator),
// seeded over its admin API, so the time, CPU and memory measured here are
// Tandem's: every run is syncer.Service.RunConnection — the code path of
// `tandem sync run` and the job — with OAuth tokens from a real
// authorization-code flow, HTTP to the emulator through
// google.golang.org/api, and the store. Each Tandem user is also a Google
// account of its own:
//
//   - imports of o.Small, o.Mid and o.N contacts seeded in Google (the
//     first import's rate, CPU and peak RSS);
//   - for the small and the big binding, a run with nothing to do and
//     o.Rounds incremental runs of o.Changes changes (half edited in
//     Google, half in Tandem): the ratio of their medians;
//   - the small binding's run after the other bindings' change-log
//     entries, and after another user's o.Foreign entries (catch-up);
//   - the first export of o.N local contacts, quotas off;
//   - the export of o.Quota contacts under the emulator's default quotas,
//     against the least time those quotas allow.
//
// It leaves the data in s.
func Sync(ctx context.Context, s *store.Store, o SyncOptions) (res SyncResult, err error) {
	if err := o.defaults(); err != nil {
		return res, fmt.Errorf("bench: %w", err)
	}
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
	p := &progress{w: o.Progress}
	p.printf("%s: starting the Google emulator: %s", res.Database, strings.Join(o.Emulator, " "))
	em, err := startEmulator(ctx, o.Emulator)
	if err != nil {
		return res, err
	}
	defer em.stop()
	quiet := slog.New(slog.DiscardHandler)
	b := &syncBench{s: s, em: em, set: settings.New(s, box), p: p, o: o}
	b.oauth = oauth.New(s, b.set, box, quiet)
	b.sync = syncer.New(s, b.set, provider.NewRegistry(googleprov.New(b.set, b.oauth, quiet)), quiet)
	if err := configureGoogle(ctx, b.set, em.base); err != nil {
		return res, err
	}
	// Everything but the quota run goes without quotas; the emulator's
	// defaults are kept for it.
	if b.defaultQuotas, err = em.quotas(ctx); err != nil {
		return res, err
	}
	if err := em.setQuotas(ctx, google.Quotas{}); err != nil {
		return res, err
	}
	b.parent = ctx
	ctx = context.WithoutCancel(ctx)

	// The small binding first, imported and edited; then the others,
	// whose change-log entries its run after them reads.
	small, err := b.importBinding(ctx, o.Small, &res.ImportSmall, nil)
	if err != nil {
		return res, fmt.Errorf("import of %d: %w", o.Small, err)
	}
	sb, err := b.incremental(ctx, small, o.Small, false)
	if err != nil {
		return res, fmt.Errorf("incremental runs of %d: %w", o.Small, err)
	}
	smallCursor, err := s.LastChange(ctx)
	if err != nil {
		return res, err
	}
	if _, err := b.importBinding(ctx, o.Mid, &res.ImportMid, nil); err != nil {
		return res, fmt.Errorf("import of %d: %w", o.Mid, err)
	}
	big, err := b.importBinding(ctx, o.N, &res.Import, o.ImportProfile)
	if err != nil {
		return res, fmt.Errorf("import of %d: %w", o.N, err)
	}
	if res.ImportMid.PeakRSSMB > 0 {
		res.RSSGrowth = round(res.Import.PeakRSSMB/res.ImportMid.PeakRSSMB, 2)
	}
	bb, err := b.incremental(ctx, big, o.N, o.CPUProfile != nil)
	if err != nil {
		return res, fmt.Errorf("incremental runs of %d: %w", o.N, err)
	}
	res.Bindings = []SyncBinding{sb, bb}
	if sm := sb.IncrMedianMS; sm > 0 {
		res.Ratio = round(bb.IncrMedianMS/sm, 2)
	}

	// The small binding once more: its local cursor is behind everything
	// the big binding's runs wrote to the shared change log.
	from, err := s.LastChange(ctx)
	if err != nil {
		return res, err
	}
	res.AfterImports.LogEntries = int(from - smallCursor)
	p.printf("%d contacts: a run after the other bindings' %d change-log entries", o.Small, res.AfterImports.LogEntries)
	t0 := time.Now()
	st, err := b.run(ctx, small.connID)
	if err != nil {
		return res, fmt.Errorf("run after the other bindings: %w", err)
	}
	res.AfterImports.MS, res.AfterImports.Stats = ms(time.Since(t0)), st

	if o.Foreign > 0 {
		f, err := b.foreign(ctx, small, o.Foreign)
		if err != nil {
			return res, fmt.Errorf("catch-up: %w", err)
		}
		res.CatchUp, res.CatchUpMS = &f, f.MS
	}

	if res.Export, err = b.export(ctx, o.N); err != nil {
		return res, fmt.Errorf("export of %d: %w", o.N, err)
	}
	if o.Quota > 0 {
		q, err := b.quota(ctx, o.Quota)
		if err != nil {
			return res, fmt.Errorf("quota run: %w", err)
		}
		res.Quota = &q
	}
	res.Emulator = SyncEmulator{PeakRSSMB: em.peakRSSMB(), SeedSeconds: round(b.seed.Seconds(), 2)}

	res.Notes = append(res.Notes,
		"the Google emulator runs as a separate process: RSS and CPU are Tandem's (the sync service and the store in the benchmark process); run times include waiting for the emulator's answers",
		fmt.Sprintf("incremental runs: %d remote edits (job title in Google) and %d local edits (job title in Tandem) on distinct linked contacts",
			o.Changes/2, o.Changes-o.Changes/2))
	if s.Postgres() {
		res.Notes = append(res.Notes, "postgres: ANALYZE after each bulk load, as autovacuum would do on a live server")
	}
	return res, nil
}

// newBinding makes a Tandem user with a personal tag, a Google account,
// connects them through OAuth and saves a contact binding on the tag. It
// runs nothing.
func (b *syncBench) newBinding(ctx context.Context) (*binding, error) {
	b.users++
	bd := &binding{email: fmt.Sprintf("bench%d@gmail.com", b.users)}
	if err := b.em.addUser(ctx, bd.email, fmt.Sprintf("Bench %d", b.users)); err != nil {
		return nil, err
	}
	pw := make([]byte, 16)
	rand.Read(pw)
	u := &access.User{Email: fmt.Sprintf("bench-sync-%d@example.com", b.users), Name: "Bench", Active: true, Language: "en"}
	if err := b.s.CreateUser(ctx, u, hex.EncodeToString(pw)); err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	v, err := b.s.Viewer(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	bd.v = v
	tag := &crm.Tag{Name: "Google"}
	if err := b.s.SaveTag(ctx, v, tag); err != nil {
		return nil, fmt.Errorf("create tag: %w", err)
	}
	bd.tag = tag.ID
	if err := b.em.autoApprove(ctx, bd.email); err != nil {
		return nil, err
	}
	conn, err := connectGoogle(ctx, b.oauth, u.ID, bd.email)
	if err != nil {
		return nil, err
	}
	bd.connID = conn.ID
	if _, _, err := b.sync.ContactBinding(ctx, conn.ID); err != nil {
		return nil, err
	}
	if err := b.sync.SaveContactSettings(ctx, v, conn.ID, true, syncer.ContactSettings{TagID: tag.ID}); err != nil {
		return nil, err
	}
	bnd, _, err := b.sync.ContactBinding(ctx, conn.ID)
	if err != nil {
		return nil, err
	}
	bd.bndID = bnd.ID
	return bd, nil
}

// importBinding makes a binding, seeds its Google group with size
// contacts and times the first import into r (profiled into prof if set).
func (b *syncBench) importBinding(ctx context.Context, size int, r *SyncRun, prof io.Writer) (*binding, error) {
	if err := b.parent.Err(); err != nil {
		return nil, err
	}
	bd, err := b.newBinding(ctx)
	if err != nil {
		return nil, err
	}
	b.p.printf("%d contacts: seeding the Google group", size)
	t0 := time.Now()
	if bd.group, err = b.em.createGroup(ctx, bd.email, gconn.DefaultGroupName); err != nil {
		return nil, err
	}
	const batch = 5000 // persons built at a time, to keep the benchmark's own memory small
	for first := 0; first < size; first += batch {
		ps := make([]map[string]any, 0, min(batch, size-first))
		for i := first; i < min(first+batch, size); i++ {
			ps = append(ps, person(makeContact(i), bd.group))
		}
		if err := b.em.createContacts(ctx, bd.email, ps); err != nil {
			return nil, fmt.Errorf("seed: %w", err)
		}
	}
	seed := time.Since(t0)
	b.seed += seed

	b.p.printf("%d contacts: first import", size)
	step := max(size/10, 1)
	shown := 0
	b.sync.SetProgress(func(_ string, st reconcile.Stats) {
		if st.Pulled >= shown+step {
			shown = st.Pulled
			b.p.printf("  %d/%d pulled, %d created", st.Pulled, size, st.LocalCreated)
		}
	})
	defer b.sync.SetProgress(nil)
	var st reconcile.Stats
	*r, err = b.timed(ctx, size, prof, func() (err error) {
		st, err = b.run(ctx, bd.connID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("first import: %w", err)
	}
	r.Stats, r.Seed = st, round(seed.Seconds(), 2)
	if st.LocalCreated != size || st.Skipped != 0 || st.RemoteCreated != 0 {
		return nil, fmt.Errorf("first import: want %d contacts created, got %+v", size, st)
	}
	b.p.printf("%d contacts: imported in %.1f s (%.0f contacts/s), peak RSS %.0f MB, CPU %.1f s", size, r.Seconds,
		r.ContactsPerSec, r.PeakRSSMB, r.CPUSeconds)
	return bd, b.analyze(ctx)
}

// timed runs fn as one measured run of size contacts: Tandem's wall time,
// CPU time and peak RSS, and the People API calls it made.
func (b *syncBench) timed(ctx context.Context, size int, prof io.Writer, fn func() error) (SyncRun, error) {
	r := SyncRun{Contacts: size}
	calls, err := b.em.peopleCalls(ctx)
	if err != nil {
		return r, err
	}
	// Memory the previous phases freed goes back to the system first, so
	// the peak is this run's.
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
	err = fn()
	el := time.Since(t0)
	r.CPUSeconds = round(cpuSeconds()-cpu, 2)
	if prof != nil {
		pprof.StopCPUProfile()
	}
	r.PeakRSSMB, r.PeakRSSSource = peakRSSMB(src)
	r.Seconds = round(el.Seconds(), 2)
	r.ContactsPerSec = round(float64(size)/el.Seconds(), 0)
	if err != nil {
		return r, err
	}
	after, err := b.em.peopleCalls(ctx)
	r.Calls = after - calls
	return r, err
}

// analyze has PostgreSQL's statistics describe the tables as they are
// after a bulk load, as autovacuum does on a live server.
func (b *syncBench) analyze(ctx context.Context) error {
	if !b.s.Postgres() {
		return nil
	}
	if _, err := b.s.PgxPool().Exec(ctx, "ANALYZE"); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	return nil
}

// incremental times a run with nothing to do and b.o.Rounds incremental
// runs of an imported binding of size contacts.
func (b *syncBench) incremental(ctx context.Context, bd *binding, size int, profile bool) (SyncBinding, error) {
	r := SyncBinding{Contacts: size}
	t0 := time.Now()
	st, err := b.run(ctx, bd.connID)
	if err != nil {
		return r, fmt.Errorf("quiet run: %w", err)
	}
	r.QuietMS = ms(time.Since(t0))
	if changed(st) {
		return r, fmt.Errorf("quiet run changed something: %+v", st)
	}

	links, err := b.s.Links(ctx, bd.bndID)
	if err != nil {
		return r, err
	}
	if len(links) != size {
		return r, fmt.Errorf("%d links after the import, want %d", len(links), size)
	}
	remote, local := b.o.Changes/2, b.o.Changes-b.o.Changes/2
	rng := mrand.New(mrand.NewPCG(seed, uint64(size)))
	if profile {
		if err := pprof.StartCPUProfile(b.o.CPUProfile); err != nil {
			return r, err
		}
		defer pprof.StopCPUProfile()
	}
	var times []float64
	for rnd := range b.o.Rounds {
		if err := b.parent.Err(); err != nil {
			return r, err
		}
		picked := rng.Perm(size)[:remote+local]
		ups := make([]contactUpdate, 0, remote)
		for i, k := range picked[:remote] {
			ups = append(ups, contactUpdate{ResourceName: links[k].RemoteID, Fields: []string{"organizations"},
				Person: map[string]any{"organizations": []any{map[string]any{"title": fmt.Sprintf("Remote edit %d.%d", rnd, i)}}}})
		}
		if err := b.em.updateContacts(ctx, bd.email, ups); err != nil {
			return r, fmt.Errorf("remote edit: %w", err)
		}
		for i, k := range picked[remote:] {
			c, err := b.s.GetContact(ctx, bd.v, links[k].LocalID)
			if err != nil {
				return r, fmt.Errorf("local edit: %w", err)
			}
			c.JobTitle = fmt.Sprintf("Local edit %d.%d", rnd, i)
			c.Tags, c.Access = nil, nil
			if err := b.s.UpdateContact(ctx, bd.v, c, c.Version); err != nil {
				return r, fmt.Errorf("local edit: %w", err)
			}
		}
		runtime.GC()
		before, err := b.em.peopleCalls(ctx)
		if err != nil {
			return r, err
		}
		t0 := time.Now()
		st, err := b.run(ctx, bd.connID)
		d := time.Since(t0)
		if err != nil {
			return r, fmt.Errorf("incremental run: %w", err)
		}
		after, err := b.em.peopleCalls(ctx)
		if err != nil {
			return r, err
		}
		inc := SyncIncrun{MS: ms(d), Calls: after - before, Stats: st}
		r.Incr = append(r.Incr, inc)
		times = append(times, inc.MS)
		if st.LocalUpdated != remote || st.RemoteUpdated != local || st.LocalCreated+st.RemoteCreated+st.Skipped+st.Conflicts != 0 {
			return r, fmt.Errorf("incremental run %d: want %d local and %d remote updates, got %+v", rnd+1, remote, local, st)
		}
		b.p.printf("%d contacts: incremental run %d: %.1f ms, %d API calls", size, rnd+1, inc.MS, inc.Calls)
	}
	slices.Sort(times)
	r.IncrMedianMS = times[len(times)/2]
	return r, nil
}

func changed(st reconcile.Stats) bool {
	return st.LocalCreated+st.LocalUpdated+st.LocalRemoved+st.RemoteCreated+st.RemoteUpdated+st.RemoteRemoved+st.Skipped != 0
}

// createLocal creates n contacts (from index first of the data set) owned
// by v, with tag if not empty, in transactions of 500.
func (b *syncBench) createLocal(ctx context.Context, v access.Viewer, first, n int, tag string) ([]string, error) {
	const batch = 500
	ids := make([]string, 0, n)
	for lo := 0; lo < n; lo += batch {
		err := b.s.InTx(ctx, func(tx *store.Tx) error {
			for i := lo; i < min(lo+batch, n); i++ {
				c := makeContact(first + i)
				c.Tags = nil
				if tag != "" {
					c.Tags = []crm.TagRef{{ID: tag}}
				}
				if err := tx.CreateContact(ctx, v, c); err != nil {
					return err
				}
				ids = append(ids, c.ID)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("create contact: %w", err)
		}
	}
	return ids, nil
}

// foreign has another Tandem user make n change-log entries — creating
// contacts of their own and then editing some, none visible to the small
// binding's user — and times one run of the small binding after them.
func (b *syncBench) foreign(ctx context.Context, small *binding, n int) (SyncForeign, error) {
	f := SyncForeign{Created: n - n/2, Edited: n / 2}
	if err := b.parent.Err(); err != nil {
		return f, err
	}
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
	ids, err := b.createLocal(ctx, v, b.o.N, f.Created, "") // not among the contacts in Google
	if err != nil {
		return f, err
	}
	const batch = 500
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
	if err := b.analyze(ctx); err != nil {
		return f, err
	}
	b.p.printf("%d contacts: a run after another user's %d change-log entries", b.o.Small, f.LogEntries)
	runtime.GC()
	t0 := time.Now()
	st, err := b.run(ctx, small.connID)
	if err != nil {
		return f, fmt.Errorf("run: %w", err)
	}
	f.MS, f.Stats = ms(time.Since(t0)), st
	if changed(st) {
		return f, fmt.Errorf("the run after another user's changes changed something: %+v", st)
	}
	b.p.printf("%d contacts: run after another user's changes: %.1f ms", b.o.Small, f.MS)
	return f, nil
}

// exportBinding makes a binding whose user has n local contacts with the
// binding's tag, and an empty Google account.
func (b *syncBench) exportBinding(ctx context.Context, n int) (*binding, error) {
	if err := b.parent.Err(); err != nil {
		return nil, err
	}
	bd, err := b.newBinding(ctx)
	if err != nil {
		return nil, err
	}
	b.p.printf("%d local contacts to export: creating them", n)
	if _, err := b.createLocal(ctx, bd.v, 0, n, bd.tag); err != nil {
		return nil, err
	}
	return bd, b.analyze(ctx)
}

// export times the first export of n local contacts, quotas off.
func (b *syncBench) export(ctx context.Context, n int) (SyncRun, error) {
	bd, err := b.exportBinding(ctx, n)
	if err != nil {
		return SyncRun{}, err
	}
	b.p.printf("%d contacts: first export", n)
	step := max(n/10, 1)
	shown := 0
	b.sync.SetProgress(func(_ string, st reconcile.Stats) {
		if st.RemoteCreated >= shown+step {
			shown = st.RemoteCreated
			b.p.printf("  %d/%d pushed", st.RemoteCreated, n)
		}
	})
	defer b.sync.SetProgress(nil)
	var st reconcile.Stats
	r, err := b.timed(ctx, n, b.o.ExportProfile, func() (err error) {
		st, err = b.run(ctx, bd.connID)
		return err
	})
	if err != nil {
		return r, fmt.Errorf("first export: %w", err)
	}
	r.Stats = st
	if st.RemoteCreated != n || st.Skipped != 0 || st.LocalCreated != 0 {
		return r, fmt.Errorf("first export: want %d contacts created in Google, got %+v", n, st)
	}
	if got, err := b.em.countContacts(ctx, bd.email, ""); err != nil || got != n {
		return r, fmt.Errorf("first export: %d contacts in Google (%v), want %d", got, err, n)
	}
	b.p.printf("%d contacts: exported in %.1f s (%.0f contacts/s), peak RSS %.0f MB, %d API calls", n, r.Seconds,
		r.ContactsPerSec, r.PeakRSSMB, r.Calls)
	return r, nil
}

// quota exports n local contacts under the emulator's default quotas: run
// after run until all are in Google, or b.o.QuotaTimeout.
func (b *syncBench) quota(ctx context.Context, n int) (SyncQuota, error) {
	q := SyncQuota{Contacts: n, Quotas: b.defaultQuotas, FloorModel: quotaFloorModel,
		TimeoutS: b.o.QuotaTimeout.Seconds()}
	floor, err := quotaFloor(n, q.Quotas)
	if err != nil {
		return q, err
	}
	q.FloorS = round(floor.Seconds(), 1)
	bd, err := b.exportBinding(ctx, n)
	if err != nil {
		return q, err
	}
	if err := b.em.setQuotas(ctx, q.Quotas); err != nil {
		return q, err
	}
	defer b.em.setQuotas(context.WithoutCancel(ctx), google.Quotas{})
	calls0, err := b.em.calls(ctx)
	if err != nil {
		return q, err
	}
	b.p.printf("%d contacts: export under quotas %+v (floor %.0f s, cut at %s)", n, q.Quotas, q.FloorS, b.o.QuotaTimeout)
	rctx, cancel := context.WithTimeout(ctx, b.o.QuotaTimeout)
	defer cancel()
	defer context.AfterFunc(b.parent, cancel)()
	var cut bool
	r, err := b.timed(ctx, n, nil, func() error {
		exported := 0
		// A run that ends on a rate limit having done nothing is retried
		// after a pause, doubling from 1 s to 30 s, as a job would be
		// retried later: near the cut, the connector does not begin a
		// wait the deadline cannot cover, and runs would end at once.
		var pause time.Duration
		for exported < n {
			st, err := b.run(rctx, bd.connID)
			q.Runs++
			// Google's count, not the run's: a run that ends on an
			// error may not report what it did.
			was := exported
			var cerr error
			if exported, cerr = b.em.countContacts(ctx, bd.email, ""); cerr != nil {
				return cerr
			}
			switch {
			case err != nil && b.parent.Err() != nil:
				return b.parent.Err()
			case err != nil && rctx.Err() != nil:
				cut = true
				return nil
			case err != nil && gconn.RateLimited(err):
				q.RateLimited++
				if exported > was {
					pause = 0
					b.p.printf("  run %d ended on a rate limit; %d exported so far", q.Runs, exported)
					continue
				}
				pause = min(max(2*pause, time.Second), 30*time.Second)
				t := time.NewTimer(pause)
				select {
				case <-rctx.Done():
				case <-t.C:
				}
				t.Stop()
			case err != nil:
				return err
			case exported == was:
				return fmt.Errorf("run %d exported nothing (%d of %d so far): %+v", q.Runs, exported, n, st)
			}
		}
		return nil
	})
	if err != nil {
		return q, err
	}
	q.WallS, q.Calls, q.PeakRSSMB = r.Seconds, r.Calls, r.PeakRSSMB
	calls1, err := b.em.calls(ctx)
	if err != nil {
		return q, err
	}
	q.CallsMade = map[string]int{}
	for k, c := range calls1 {
		if d := c - calls0[k]; d > 0 && (strings.HasPrefix(k, "people.") || strings.HasPrefix(k, "contactGroups.")) {
			q.CallsMade[k] = d
		}
	}
	if f, err := q.Quotas.Floor(q.CallsMade); err == nil {
		q.FloorOfCallsS = round(f.Seconds(), 1)
	}
	if q.Exported, err = b.em.countContacts(ctx, bd.email, ""); err != nil {
		return q, err
	}
	q.Complete = !cut && q.Exported == n
	wall := q.WallS
	if !q.Complete && q.Exported > 0 {
		q.ProjectedWallS = round(q.WallS*float64(n)/float64(q.Exported), 1)
		wall = q.ProjectedWallS
	}
	if q.FloorS > 0 && (q.Complete || q.Exported > 0) {
		q.Ratio = round(wall/q.FloorS, 2)
	}
	b.p.printf("%d contacts under quotas: %d exported in %.1f s over %d runs (floor %.0f s)", n, q.Exported, q.WallS, q.Runs, q.FloorS)
	return q, nil
}

func (b *syncBench) run(ctx context.Context, connID string) (reconcile.Stats, error) {
	res, err := b.sync.RunConnection(ctx, connID)
	return res.Stats[syncer.KindContacts], err
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
func rssMB(field string) float64 { return procRSSMB("/proc/self/status", field) }

func procRSSMB(path, field string) float64 {
	b, err := os.ReadFile(path)
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
