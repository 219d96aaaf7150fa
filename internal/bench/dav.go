package bench

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/tandem-crm/tandem/internal/reconcile"
)

// genDav is the team's vCard and iCalendar generator (peers/gen_dav.py, a
// copy of ../shared/peers/gen_dav.py): vdirsyncer's baseline and Tandem
// see the same objects, and "changed" items are the same re-sent with a
// higher revision.
//
//go:embed peers/gen_dav.py
var genDav []byte

// ErrDavUnavailable: Radicale or vdirsyncer is missing and cannot be
// installed here (not root).
var ErrDavUnavailable = errors.New("the DAV benchmark's servers and peer are unavailable")

// DavOptions size a CalDAV/CardDAV benchmark. Zero values take the
// defaults.
type DavOptions struct {
	N       int // vCards in the address book and events in the calendar (default 10000)
	Reps    int // first syncs and changed runs of each client, alternating (default 3); medians count
	Noops   int // no-op runs of Tandem and of the floor (default 5); vdirsyncer's are Reps (each lists the whole collection)
	Changes int // items changed on the server before each changed run (default 100)
	Seed    int // the generator's seed (default 1, as the peers' run)
	// Collections are measured in this order: "contacts" (the address
	// book) and "events" (the calendar); default both.
	Collections []string
	// Dir is where the work folder (Radicale's storage, Tandem's
	// databases, vdirsyncer's vdirs and status) is made; "" for the
	// system's temporary folder. It is removed afterwards unless Keep.
	Dir  string
	Keep bool
	// Python, Radicale and VDirSyncer are the commands run (defaults
	// python3, /usr/bin/radicale through internal/testenv/davserver, and
	// vdirsyncer; Debian's radicale and vdirsyncer are installed when
	// missing and the process is root).
	Python, VDirSyncer string
	// Progress receives phase lines; nil for none.
	Progress io.Writer
	// CPUProfile, when set, is a path prefix: CPU profiles of Tandem's
	// first run of each phase go to PREFIX.<collection>.<first|noop|changed|again>.pprof.
	CPUProfile string
}

const (
	defaultDavN       = 10000
	defaultDavReps    = 3
	defaultDavNoops   = 5
	defaultDavChanges = 100
	// davSyncFrom is the event binding's sync-from date: gen_dav.py's
	// events start on 2024-01-01 or later, so all are in the window.
	davSyncFrom = "2023-01-01"
)

// The goals of issue 11 (Benchmarks), shown next to the figures.
const (
	goalDavToFloor      = 1.3 // no-op and changed runs over the bare round trip
	goalDavVDirSyncer   = 25  // vdirsyncer's no-op and changed runs over Tandem's
	goalDavFirstRatio   = 1.0 // Tandem's first sync over vdirsyncer's
	goalDavPeakRSSMB    = 150
	davCollContacts     = "contacts"
	davCollEvents       = "events"
	davCollectionsUsage = "contacts, events"
)

func (o *DavOptions) defaults() error {
	if o.N <= 0 {
		o.N = defaultDavN
	}
	if o.Reps <= 0 {
		o.Reps = defaultDavReps
	}
	if o.Noops <= 0 {
		o.Noops = defaultDavNoops
	}
	if o.Changes <= 0 {
		o.Changes = defaultDavChanges
	}
	if o.Seed <= 0 {
		o.Seed = 1
	}
	if o.Python == "" {
		o.Python = "python3"
	}
	if o.VDirSyncer == "" {
		o.VDirSyncer = "vdirsyncer"
	}
	if len(o.Collections) == 0 {
		o.Collections = []string{davCollContacts, davCollEvents}
	}
	for i, c := range o.Collections {
		if c != davCollContacts && c != davCollEvents {
			return fmt.Errorf("unknown collection %q (%s)", c, davCollectionsUsage)
		}
		if slices.Contains(o.Collections[:i], c) {
			return fmt.Errorf("collection %q named twice", c)
		}
	}
	// Each changed run changes other items (a different set each rep).
	if o.Reps*o.Changes > o.N {
		return fmt.Errorf("%d reps of %d changes need at least as many items, not %d", o.Reps, o.Changes, o.N)
	}
	return nil
}

// DavResult holds the figures of a CalDAV/CardDAV benchmark; `tandem
// bench dav --json` prints it. Times are medians in milliseconds; the
// runs behind them follow.
type DavResult struct {
	// Tandem is over every collection and run.
	Tandem   DavTandemSummary `json:"tandem"`
	Contacts *DavCollection   `json:"contacts,omitempty"`
	Events   *DavCollection   `json:"events,omitempty"`
	// Goals are issue 11's targets against the figures (not asserted).
	Goals []DavGoal `json:"goals"`

	N       int `json:"n"`
	Reps    int `json:"reps"`
	Noops   int `json:"noops"`
	Changes int `json:"changes"` // per changed run (the "changed100" figures' count)
	Seed    int `json:"seed"`

	CPUs         int       `json:"cpus"`
	GoVersion    string    `json:"go_version"`
	Started      time.Time `json:"started"`
	LoadAvgStart string    `json:"loadavg_start"`
	LoadAvgEnd   string    `json:"loadavg_end"`
	Radicale     string    `json:"radicale"`
	VDirSyncer   string    `json:"vdirsyncer"`
	// GenerateSeconds is gen_dav.py writing both collections into
	// Radicale's storage.
	GenerateSeconds float64  `json:"generate_seconds"`
	Path            string   `json:"path,omitempty"` // the work folder, when kept
	Notes           []string `json:"notes,omitempty"`
}

// DavTandemSummary is Tandem's cost over all its runs.
type DavTandemSummary struct {
	// PeakRSSMB is the highest VmHWM of this process over Tandem's runs
	// (reset before each; Radicale and vdirsyncer are other processes).
	PeakRSSMB     float64 `json:"peak_rss_mb"`
	PeakRSSSource string  `json:"peak_rss_source"`
}

// DavCollection is one collection's figures: Tandem, the floor and
// vdirsyncer on the same data, and their ratios.
type DavCollection struct {
	Items int    `json:"items"`
	Bytes int64  `json:"bytes"` // of the generated objects
	URL   string `json:"url"`
	// ServerColdListingS is the PROPFIND (Depth 1) that fills Radicale's
	// item cache before anything is timed; ServerColdSyncS the first
	// sync-collection REPORT, which fills its sync history.
	ServerColdListingS float64 `json:"server_cold_listing_s"`
	ServerColdSyncS    float64 `json:"server_cold_sync_s"`

	Tandem     DavTandem  `json:"tandem"`
	Floor      DavFloor   `json:"floor"`
	VDirSyncer DavPeer    `json:"vdirsyncer"`
	Ratio      DavRatios  `json:"ratio"`
	Stats      DavStatsOf `json:"stats"`
}

// DavTandem is Tandem's runs of one collection: each a whole
// syncer.Service.RunConnection (the path of `tandem sync run` and the job)
// over a SQLite store.
type DavTandem struct {
	FirstMS      float64 `json:"first_ms"` // first sync into a fresh database: the import of all items
	NoopMS       float64 `json:"noop_ms"`
	Changed100MS float64 `json:"changed100_ms"`
	// Again100MS is a run after the same items were changed once more
	// (nothing left to write back; see DavResult.Notes).
	Again100MS    float64  `json:"changed100_again_ms"`
	FirstItemsSec float64  `json:"first_items_per_sec"`
	FirstCPUS     float64  `json:"first_cpu_s"`
	PeakRSSMB     float64  `json:"peak_rss_mb"`
	First         []DavRun `json:"first_runs"`
	Noop          []DavRun `json:"noop_runs"`
	Changed       []DavRun `json:"changed_runs"`
	Again         []DavRun `json:"changed_again_runs"`
}

// DavStatsOf is what Tandem's runs did (the engine's counts), of the last
// first sync, changed run and changed-again run.
type DavStatsOf struct {
	First   reconcile.Stats `json:"first"`
	Changed reconcile.Stats `json:"changed"`
	Again   reconcile.Stats `json:"changed_again"`
}

// DavRun is one timed run.
type DavRun struct {
	MS float64 `json:"ms"`
	// CPUS is the process's CPU (Tandem's, or the floor client's);
	// ServerCPUS Radicale's over the same span.
	CPUS        float64 `json:"cpu_s"`
	ServerCPUS  float64 `json:"server_cpu_s"`
	RSSBeforeMB float64 `json:"rss_before_mb,omitempty"`
	PeakRSSMB   float64 `json:"peak_rss_mb,omitempty"`
	DatabaseMB  float64 `json:"database_mb,omitempty"`
	Items       int     `json:"items"` // objects the run fetched or changed
}

// DavFloor is the least a sync-token client can do: the connector's own
// client (internal/connector/dav) sending the requests alone, nothing
// decoded or stored.
type DavFloor struct {
	// SyncCollectionMS is one sync-collection REPORT with the current
	// token, nothing changed: the floor of a no-op run.
	SyncCollectionMS float64 `json:"sync_collection_ms"`
	// Changed100MS is the REPORT from the token before the changes plus
	// the multiget of the changed items, measured right after Tandem's
	// changed run (same server state); FirstReaderMS the same measured
	// right after the changes, before Tandem: the first sync-collection
	// after a change also has Radicale write the new token's state.
	Changed100MS  float64 `json:"changed100_ms"`
	FirstReaderMS float64 `json:"changed100_first_reader_ms"`
	Again100MS    float64 `json:"changed100_again_ms"`
	// FirstMS is the REPORT without a token plus the multiget of every
	// item: the floor of a first sync.
	FirstMS     float64  `json:"first_ms"`
	Noop        []DavRun `json:"sync_collection_runs"`
	Changed     []DavRun `json:"changed_runs"`
	FirstReader []DavRun `json:"changed_first_reader_runs"`
	First       []DavRun `json:"first_runs"`
	Again       []DavRun `json:"changed_again_runs"`
	// AgainFirstReader: as FirstReader, for the changed-again runs.
	AgainFirstReader []DavRun `json:"changed_again_first_reader_runs"`
}

// DavPeer is vdirsyncer's runs (`vdirsyncer sync PAIR` as a process).
type DavPeer struct {
	FirstMS      float64  `json:"first_ms"` // into an empty vdir, after an untimed discover
	NoopMS       float64  `json:"noop_ms"`
	Changed100MS float64  `json:"changed100_ms"`
	First        []DavRun `json:"first_runs"`
	Noop         []DavRun `json:"noop_runs"`
	Changed      []DavRun `json:"changed_runs"`
}

// DavRatios compare the medians.
type DavRatios struct {
	NoopToFloor       float64 `json:"noop_to_floor"`       // Tandem's no-op over the bare REPORT (goal ≤ 1.3)
	Changed100ToFloor float64 `json:"changed100_to_floor"` // Tandem's changed run over REPORT + multiget (goal ≤ 1.3)
	Again100ToFloor   float64 `json:"changed100_again_to_floor"`
	FirstToFloor      float64 `json:"first_to_floor"`
	// VDirSyncer…ToTandem… are vdirsyncer's times over Tandem's (goal ≥ 25).
	VDirSyncerNoopToTandemNoop             float64 `json:"vdirsyncer_noop_to_tandem_noop"`
	VDirSyncerChanged100ToTandemChanged100 float64 `json:"vdirsyncer_changed100_to_tandem_changed100"`
	// TandemFirstToVDirSyncerFirst is Tandem's first sync over
	// vdirsyncer's (goal ≤ 1).
	TandemFirstToVDirSyncerFirst float64 `json:"tandem_first_to_vdirsyncer_first"`
}

// DavGoal is one of issue 11's targets and whether the figure meets it.
type DavGoal struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Target string  `json:"target"`
	Met    bool    `json:"met"`
}

// summarize fills a collection's medians and ratios from its runs.
func (c *DavCollection) summarize(items int) {
	ms := func(r DavRun) float64 { return r.MS }
	t, f, v := &c.Tandem, &c.Floor, &c.VDirSyncer
	t.FirstMS, t.NoopMS, t.Changed100MS = medianOf(t.First, ms), medianOf(t.Noop, ms), medianOf(t.Changed, ms)
	t.Again100MS, f.Again100MS = medianOf(t.Again, ms), medianOf(f.Again, ms)
	t.FirstCPUS = medianOf(t.First, func(r DavRun) float64 { return r.CPUS })
	if t.FirstMS > 0 {
		t.FirstItemsSec = round(float64(items)/(t.FirstMS/1000), 0)
	}
	for _, runs := range [][]DavRun{t.First, t.Noop, t.Changed, t.Again} {
		for _, r := range runs {
			t.PeakRSSMB = max(t.PeakRSSMB, r.PeakRSSMB)
		}
	}
	f.SyncCollectionMS, f.Changed100MS, f.FirstMS = medianOf(f.Noop, ms), medianOf(f.Changed, ms), medianOf(f.First, ms)
	f.FirstReaderMS = medianOf(f.FirstReader, ms)
	v.FirstMS, v.NoopMS, v.Changed100MS = medianOf(v.First, ms), medianOf(v.Noop, ms), medianOf(v.Changed, ms)
	ratio := func(a, b float64) float64 {
		if b <= 0 {
			return 0
		}
		return round(a/b, 2)
	}
	c.Ratio = DavRatios{
		NoopToFloor:                            ratio(t.NoopMS, f.SyncCollectionMS),
		Changed100ToFloor:                      ratio(t.Changed100MS, f.Changed100MS),
		Again100ToFloor:                        ratio(t.Again100MS, f.Again100MS),
		FirstToFloor:                           ratio(t.FirstMS, f.FirstMS),
		VDirSyncerNoopToTandemNoop:             ratio(v.NoopMS, t.NoopMS),
		VDirSyncerChanged100ToTandemChanged100: ratio(v.Changed100MS, t.Changed100MS),
		TandemFirstToVDirSyncerFirst:           ratio(t.FirstMS, v.FirstMS),
	}
}

// goals lists issue 11's targets against the result.
func (r *DavResult) goals() []DavGoal {
	var out []DavGoal
	atMost := func(name string, v, goal float64) {
		out = append(out, DavGoal{Name: name, Value: v, Target: fmt.Sprintf("≤ %g", goal), Met: v <= goal})
	}
	atLeast := func(name string, v, goal float64) {
		out = append(out, DavGoal{Name: name, Value: v, Target: fmt.Sprintf("≥ %g", goal), Met: v >= goal})
	}
	for _, c := range []struct {
		name string
		c    *DavCollection
	}{{davCollContacts, r.Contacts}, {davCollEvents, r.Events}} {
		if c.c == nil {
			continue
		}
		rt := c.c.Ratio
		atMost(c.name+": no-op / floor", rt.NoopToFloor, goalDavToFloor)
		atMost(c.name+": changed100 / floor", rt.Changed100ToFloor, goalDavToFloor)
		atLeast(c.name+": vdirsyncer no-op / Tandem no-op", rt.VDirSyncerNoopToTandemNoop, goalDavVDirSyncer)
		atLeast(c.name+": vdirsyncer changed100 / Tandem changed100", rt.VDirSyncerChanged100ToTandemChanged100, goalDavVDirSyncer)
		atMost(c.name+": Tandem first / vdirsyncer first", rt.TandemFirstToVDirSyncerFirst, goalDavFirstRatio)
	}
	atMost("Tandem peak RSS, MB", r.Tandem.PeakRSSMB, goalDavPeakRSSMB)
	return out
}

// Text writes r as a table for people.
func (r DavResult) Text(w io.Writer) {
	fmt.Fprintf(w, "CalDAV/CardDAV: %d items per collection (seed %d), medians of %d runs (no-op: %d; vdirsyncer's no-op: %d), %d changed per changed run\n",
		r.N, r.Seed, r.Reps, r.Noops, r.Reps, r.Changes)
	fmt.Fprintf(w, "  radicale %s on loopback; %s; %d CPUs, %s; load %s → %s\n", r.Radicale, r.VDirSyncer, r.CPUs, r.GoVersion,
		r.LoadAvgStart, r.LoadAvgEnd)
	fmt.Fprintf(w, "%-22s %12s %12s %12s %13s %13s\n", "ms", "Tandem", "floor", "vdirsyncer", "Tandem/floor", "vdirs/Tandem")
	for _, c := range []struct {
		name string
		c    *DavCollection
	}{{davCollContacts, r.Contacts}, {davCollEvents, r.Events}} {
		if c.c == nil {
			continue
		}
		t, f, v, rt := c.c.Tandem, c.c.Floor, c.c.VDirSyncer, c.c.Ratio
		fmt.Fprintf(w, "%-22s %12.1f %12.1f %12.1f %13.2f %13.2f\n", c.name+" first", t.FirstMS, f.FirstMS, v.FirstMS,
			rt.FirstToFloor, ratioOr(v.FirstMS, t.FirstMS))
		fmt.Fprintf(w, "%-22s %12.1f %12.1f %12.1f %13.2f %13.2f\n", c.name+" no-op", t.NoopMS, f.SyncCollectionMS, v.NoopMS,
			rt.NoopToFloor, rt.VDirSyncerNoopToTandemNoop)
		fmt.Fprintf(w, "%-22s %12.1f %12.1f %12.1f %13.2f %13.2f\n", fmt.Sprintf("%s changed %d", c.name, r.Changes),
			t.Changed100MS, f.Changed100MS, v.Changed100MS, rt.Changed100ToFloor, rt.VDirSyncerChanged100ToTandemChanged100)
		fmt.Fprintf(w, "%-22s %12.1f %12.1f %12s %13.2f\n", fmt.Sprintf("%s again %d", c.name, r.Changes),
			t.Again100MS, f.Again100MS, "", rt.Again100ToFloor)
		fmt.Fprintf(w, "  %s: Tandem first sync %.0f items/s, CPU %.2f s, peak RSS %.1f MB; floor right after the changes %.1f ms; Radicale cold listing %.1f s, cold sync %.1f s\n",
			c.name, t.FirstItemsSec, t.FirstCPUS, t.PeakRSSMB, f.FirstReaderMS, c.c.ServerColdListingS, c.c.ServerColdSyncS)
		s := c.c.Stats
		fmt.Fprintf(w, "  %s: first sync created %d, skipped %d; changed run pulled %d, updated %d locally, %d remotely (conflicts %d); again: pulled %d, updated %d locally, %d remotely\n",
			c.name, s.First.LocalCreated, s.First.Skipped, s.Changed.Pulled, s.Changed.LocalUpdated, s.Changed.RemoteUpdated,
			s.Changed.Conflicts, s.Again.Pulled, s.Again.LocalUpdated, s.Again.RemoteUpdated)
	}
	fmt.Fprintf(w, "Tandem peak RSS %.1f MB (%s)\n", r.Tandem.PeakRSSMB, r.Tandem.PeakRSSSource)
	fmt.Fprintln(w, "goals:")
	for _, g := range r.Goals {
		fmt.Fprintf(w, "  %-50s %8.2f  %-6s %s\n", g.Name, g.Value, g.Target, verdict(g.Met))
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	if r.Path != "" {
		fmt.Fprintf(w, "kept %s\n", r.Path)
	}
}

func ratioOr(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return round(a/b, 2)
}
