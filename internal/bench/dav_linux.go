//go:build linux

package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	davc "github.com/tandem-crm/tandem/internal/connector/dav"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/provider"
	davprov "github.com/tandem-crm/tandem/internal/provider/dav"
	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/secret"
	"github.com/tandem-crm/tandem/internal/settings"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/syncer"
	"github.com/tandem-crm/tandem/internal/testenv/davserver"
	"github.com/tandem-crm/tandem/internal/testenv/mailserver"
)

type davBench struct {
	o     DavOptions
	p     *progress
	work  string
	gen   string
	srv   *davserver.Server
	floor *davc.Client
	vds   string
	log   *slog.Logger
	rss   string // how peak RSS is measured
}

// davColl is one collection under test.
type davColl struct {
	name    string // contacts or events (DavOptions.Collections)
	genKind string // gen_dav.py's --kind
	path    string // the collection's name in Radicale: contacts or calendar
	kind    davc.Kind
	pkind   provider.Kind
	ext     string // vdirsyncer's file extension
	url     string
	token   string // the floor client's sync token
	res     *DavCollection
	env     *davEnv // Tandem over the last first sync's store
	// echo is how many items Tandem's last run wrote to the server, among
	// items echoLo..echoHi-1: its next run lists them again (the server's
	// token moved past them) and fetches them, finding nothing to do.
	echo, echoLo, echoHi int
	vds                  *vdsSet // vdirsyncer's last set
}

// Dav runs the CalDAV/CardDAV benchmark: a private Radicale whose address
// book holds N generated vCards and whose calendar holds N generated
// events (written straight into its file storage); for each collection,
// alternating, Tandem's first sync into a fresh SQLite store and
// vdirsyncer's into an empty vdir (Reps each), no-op runs, and runs after
// Changes items were changed on the server by HTTP PUT (Reps each, a
// different set each time), next to the floor: the bare sync-collection
// REPORT (and multiget) of the connector's own client. Tandem runs in
// this process — each run is syncer.Service.RunConnection over the
// provider registered as in production — so its memory and CPU are this
// process's; Radicale, vdirsyncer and the generator are other processes,
// stopped by PID at the end.
func Dav(ctx context.Context, o DavOptions) (res DavResult, err error) {
	if err := o.defaults(); err != nil {
		return res, fmt.Errorf("bench: %w", err)
	}
	res = DavResult{N: o.N, Reps: o.Reps, Noops: o.Noops, Changes: o.Changes, Seed: o.Seed, CPUs: runtime.NumCPU(),
		GoVersion: runtime.Version(), Started: time.Now().UTC().Truncate(time.Second), LoadAvgStart: loadAvg()}
	b := &davBench{o: o, p: &progress{w: o.Progress}, log: slog.New(slog.DiscardHandler)}

	if err := installDav(o.VDirSyncer); err != nil {
		return res, err
	}
	if b.vds, err = exec.LookPath(o.VDirSyncer); err != nil {
		return res, fmt.Errorf("%w: %w", ErrDavUnavailable, err)
	}
	if b.work, err = os.MkdirTemp(o.Dir, "tandem-bench-dav-"); err != nil {
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
	b.gen = filepath.Join(b.work, "gen_dav.py")
	if err := os.WriteFile(b.gen, genDav, 0o644); err != nil {
		return res, err
	}

	colls := make([]*davColl, 0, len(o.Collections))
	for _, name := range o.Collections {
		c := &davColl{name: name, res: &DavCollection{Items: o.N}}
		switch name {
		case davCollContacts:
			c.genKind, c.path, c.kind, c.pkind, c.ext = "contacts", "contacts", davc.AddressBook, provider.Contact, ".vcf"
			res.Contacts = c.res
		case davCollEvents:
			c.genKind, c.path, c.kind, c.pkind, c.ext = "events", "calendar", davc.Calendar, provider.Event, ".ics"
			res.Events = c.res
		}
		colls = append(colls, c)
	}
	defer func() {
		for _, c := range colls {
			if c.env != nil {
				if cerr := c.env.st.Close(); cerr != nil && err == nil {
					err = cerr
				}
			}
		}
	}()

	// The collections are written straight into Radicale's file storage:
	// one file per item plus the collection's .Radicale.props, what a
	// MKCOL/MKCALENDAR would have written (as dav_vdirsyncer.sh does).
	rdir := filepath.Join(b.work, "radicale")
	home := filepath.Join(rdir, "collections", "collection-root", davserver.DefaultUser)
	b.p.printf("generating %d vCards and %d events (seed %d)", o.N, o.N, o.Seed)
	t0 := time.Now()
	// Both collections exist whichever are measured, as in the peers' script.
	for _, g := range []struct{ kind, path, props string }{
		{"contacts", "contacts", `{"D:displayname": "Contacts", "tag": "VADDRESSBOOK"}`},
		{"events", "calendar", `{"C:supported-calendar-component-set": "VEVENT", "D:displayname": "Calendar", "tag": "VCALENDAR"}`},
	} {
		dir := filepath.Join(home, g.path)
		out, err := b.python(ctx, b.gen, "write", "--kind", g.kind, "--out", dir, "--count", strconv.Itoa(o.N),
			"--seed", strconv.Itoa(o.Seed))
		if err != nil {
			return res, fmt.Errorf("generate %s: %w", g.kind, err)
		}
		var sum struct {
			Items int   `json:"items"`
			Bytes int64 `json:"bytes"`
		}
		if err := json.Unmarshal(lastLine(out), &sum); err != nil || sum.Items != o.N {
			return res, fmt.Errorf("generate %s: the generator said %q (%v)", g.kind, out, err)
		}
		if err := os.WriteFile(filepath.Join(dir, ".Radicale.props"), []byte(g.props+"\n"), 0o644); err != nil {
			return res, err
		}
		for _, c := range colls {
			if c.genKind == g.kind {
				c.res.Bytes = sum.Bytes
			}
		}
	}
	res.GenerateSeconds = round(time.Since(t0).Seconds(), 2)
	b.p.printf("generated in %.1f s; starting Radicale", res.GenerateSeconds)

	if b.srv, err = davserver.New(davserver.Radicale, rdir); err != nil {
		return res, fmt.Errorf("radicale: %w", err)
	}
	defer func() {
		if cerr := b.srv.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	res.Radicale = commandLine(ctx, "radicale", "--version")
	res.VDirSyncer = commandLine(ctx, b.vds, "--version")
	if b.floor, err = davc.New(davc.Config{URL: b.srv.URL(), Username: b.srv.User(), Password: b.srv.Password(),
		Logger: b.log}); err != nil {
		return res, err
	}

	for _, c := range colls {
		c.url = b.srv.HomeURL() + c.path + "/"
		c.res.URL = c.url
		if err := b.collection(ctx, c); err != nil {
			return res, fmt.Errorf("%s: %w", c.name, err)
		}
		// The store goes before the next collection, so that one's peak
		// RSS does not hold this one's page caches.
		if err := c.env.st.Close(); err != nil {
			return res, err
		}
		c.env = nil
		c.res.summarize(o.N)
		for _, runs := range [][]DavRun{c.res.Tandem.First, c.res.Tandem.Noop, c.res.Tandem.Changed, c.res.Tandem.Again} {
			for _, r := range runs {
				res.Tandem.PeakRSSMB = max(res.Tandem.PeakRSSMB, r.PeakRSSMB)
			}
		}
	}
	res.Tandem.PeakRSSSource = b.rss
	res.Goals = res.goals()
	res.LoadAvgEnd = loadAvg()
	res.Notes = append(res.Notes,
		"Tandem runs in this process: each run is syncer.Service.RunConnection (the path of `tandem sync run` and the job) with the CalDAV/CardDAV provider over a SQLite store (WAL, synchronous=FULL: every commit fsynced, as vdirsyncer fsyncs every file it writes); a connection made by the provider's Connect (discovery, sealed app password), the collection picked from its list, the contact binding on a personal tag, the event binding from "+davSyncFrom,
		"Radicale (htpasswd, plain passwords), vdirsyncer and the generator are other processes; Radicale's item cache and sync history are filled before anything is timed",
		"vdirsyncer: one pair per collection (collections = null, filesystem vdir, conflict resolution b wins), as ../shared/peers/dav_vdirsyncer.sh; its first syncs go into a new empty vdir and status after an untimed discover",
		"the floor is the connector's own client alone: sync-collection REPORT with the current token; for the changed runs REPORT from the token before the changes plus the multiget of the changed items; for the first sync REPORT without a token plus the multiget of every item",
		"order: first syncs alternate floor, Tandem, vdirsyncer; no-op runs the same, with the floor and Tandem taking turns to go first; each changed run: PUT (untimed), floor (first reader), Tandem, floor again (the figure), vdirsyncer; every timed run after sync(2)")
	return res, nil
}

// installDav installs Radicale and vdirsyncer (Debian) when they are
// missing and the process is root.
func installDav(vds string) error {
	pkgs := []mailserver.Package{{File: "/usr/bin/radicale", Name: "radicale"}}
	if vds == "vdirsyncer" {
		pkgs = append(pkgs, mailserver.Package{File: "/usr/bin/vdirsyncer", Name: "vdirsyncer"})
	}
	if err := mailserver.Install(pkgs...); err != nil {
		return fmt.Errorf("%w: %w", ErrDavUnavailable, err)
	}
	return nil
}

// collection measures one collection.
func (b *davBench) collection(ctx context.Context, c *davColl) error {
	o := b.o
	// Radicale 3.1.8 reads and parses every item at the first listing of
	// a collection (tens of seconds for 10k): a PROPFIND fills its item
	// cache, as the peers' script does, then one sync-collection REPORT
	// fills the sync history; neither is timed.
	b.p.printf("%s: filling Radicale's item cache (PROPFIND Depth 1)", c.name)
	out, err := b.python(ctx, b.gen, "propfind", "--url", c.url, "--user", b.srv.User(), "--password", b.srv.Password())
	if err != nil {
		return err
	}
	var listed struct {
		Listed  int     `json:"listed"`
		Seconds float64 `json:"seconds"`
	}
	if err := json.Unmarshal(lastLine(out), &listed); err != nil || listed.Listed != o.N {
		return fmt.Errorf("radicale lists %q in %s, want %d items (%v)", out, c.url, o.N, err)
	}
	c.res.ServerColdListingS = listed.Seconds
	t0 := time.Now()
	all, err := b.floor.SyncAll(ctx, c.url, "", 0)
	if err != nil {
		return fmt.Errorf("cold sync: %w", err)
	}
	c.res.ServerColdSyncS = round(time.Since(t0).Seconds(), 2)
	if len(all.Changed) != o.N {
		return fmt.Errorf("cold sync lists %d items, want %d", len(all.Changed), o.N)
	}
	b.p.printf("%s: cold listing %.1f s, cold sync-collection %.1f s", c.name, listed.Seconds, c.res.ServerColdSyncS)

	r := c.res
	for rep := range o.Reps {
		b.p.printf("%s rep %d/%d: floor: REPORT without a token + multiget of %d", c.name, rep+1, o.Reps, o.N)
		fr, err := b.floorFirst(ctx, c)
		if err != nil {
			return fmt.Errorf("floor first: %w", err)
		}
		r.Floor.First = append(r.Floor.First, fr)
		b.p.printf("  %.1f ms", fr.MS)

		if c.env != nil {
			if err := c.env.st.Close(); err != nil {
				return err
			}
			c.env = nil
		}
		b.p.printf("%s rep %d/%d: Tandem's first sync into a fresh store", c.name, rep+1, o.Reps)
		if c.env, err = b.newEnv(ctx, c, rep); err != nil {
			return err
		}
		run, st, err := b.tandemRun(ctx, c, b.profile(rep == 0, c, "first"))
		if err != nil {
			return fmt.Errorf("tandem first sync: %w", err)
		}
		if st.LocalCreated+st.Skipped != o.N || st.RemoteCreated+st.RemoteUpdated+st.RemoteRemoved != 0 {
			return fmt.Errorf("tandem first sync: want %d items created, got %+v", o.N, st)
		}
		run.Items = st.LocalCreated
		run.DatabaseMB = round(float64(dirSize(c.env.dir))/(1<<20), 1)
		r.Tandem.First = append(r.Tandem.First, run)
		r.Stats.First = st
		b.p.printf("  %.1f ms (%.0f items/s), CPU %.2f s, Radicale CPU %.2f s, peak RSS %.1f MB, %d created, %d skipped",
			run.MS, float64(o.N)/(run.MS/1000), run.CPUS, run.ServerCPUS, run.PeakRSSMB, st.LocalCreated, st.Skipped)

		b.p.printf("%s rep %d/%d: vdirsyncer's first sync into an empty vdir", c.name, rep+1, o.Reps)
		if c.vds, err = b.newVDS(ctx, c, rep); err != nil {
			return err
		}
		vr, err := b.vdsRun(ctx, c)
		if err != nil {
			return fmt.Errorf("vdirsyncer first sync: %w", err)
		}
		if vr.Items, err = countFiles(filepath.Join(c.vds.local, c.path), c.ext); err != nil {
			return err
		}
		if vr.Items != o.N {
			return fmt.Errorf("vdirsyncer first sync: %d items in the vdir, want %d", vr.Items, o.N)
		}
		r.VDirSyncer.First = append(r.VDirSyncer.First, vr)
		b.p.printf("  %.1f ms, CPU %.2f s, Radicale CPU %.2f s", vr.MS, vr.CPUS, vr.ServerCPUS)
	}

	b.p.printf("%s: no-op runs (Tandem and floor %d, vdirsyncer %d)", c.name, o.Noops, o.Reps)
	for i := range max(o.Noops, o.Reps) {
		if i < o.Noops {
			// The first request after vdirsyncer's listing is often the
			// slower: the floor goes first in even runs, Tandem in odd.
			var fr, run DavRun
			floor := func() (err error) {
				if fr, err = b.floorNoop(ctx, c); err != nil {
					return fmt.Errorf("floor no-op: %w", err)
				}
				return nil
			}
			tandem := func() error {
				var st reconcile.Stats
				var err error
				if run, st, err = b.tandemRun(ctx, c, b.profile(i == 0, c, "noop")); err != nil {
					return fmt.Errorf("tandem no-op: %w", err)
				}
				if changed(st) || st.Pulled != 0 {
					return fmt.Errorf("tandem no-op run did something: %+v", st)
				}
				return nil
			}
			first, second := floor, tandem
			if i%2 == 1 {
				first, second = tandem, floor
			}
			if err := first(); err != nil {
				return err
			}
			if err := second(); err != nil {
				return err
			}
			r.Floor.Noop = append(r.Floor.Noop, fr)
			r.Tandem.Noop = append(r.Tandem.Noop, run)
			b.p.printf("  floor %.1f ms; Tandem %.1f ms (CPU %.3f s)", fr.MS, run.MS, run.CPUS)
		}
		if i < o.Reps {
			vr, err := b.vdsRun(ctx, c)
			if err != nil {
				return fmt.Errorf("vdirsyncer no-op: %w", err)
			}
			r.VDirSyncer.Noop = append(r.VDirSyncer.Noop, vr)
			b.p.printf("  vdirsyncer %.1f ms", vr.MS)
		}
	}

	for rep := range o.Reps {
		if err := b.changedRun(ctx, c, rep, rep+1, true); err != nil {
			return err
		}
	}
	// The same items changed once more: an item's first change after the
	// import may be written back (the engine stamps Tandem's id into an
	// event it imported, and the organizer rule gives an event without an
	// organizer the user); these runs show the cost without that. vdirsyncer
	// is not run for them: its runs of this collection are done.
	for rep := range o.Reps {
		if err := b.changedRun(ctx, c, rep, o.Reps+rep+1, false); err != nil {
			return err
		}
	}
	return nil
}

// changedRun changes the rep's set of items on the server (revision rev)
// and times the floor (first reader), Tandem, the floor again and, when
// withPeer, vdirsyncer, checking that vdirsyncer's vdir got the changes.
func (b *davBench) changedRun(ctx context.Context, c *davColl, rep, rev int, withPeer bool) error {
	o, r := b.o, c.res
	lo, hi := rep*o.Changes, (rep+1)*o.Changes
	phase, what := "changed", "changed"
	tr, fr, ff, stats := &r.Tandem.Changed, &r.Floor.Changed, &r.Floor.FirstReader, &r.Stats.Changed
	if !withPeer {
		phase, what = "again", "changed again"
		tr, fr, ff, stats = &r.Tandem.Again, &r.Floor.Again, &r.Floor.AgainFirstReader, &r.Stats.Again
	}
	b.p.printf("%s rep %d/%d: %d items %s on the server (PUT, items %d..%d, revision %d)", c.name, rep+1, o.Reps,
		o.Changes, what, lo, hi-1, rev)
	before := c.token
	if _, err := b.python(ctx, b.gen, "put", "--kind", c.genKind, "--url", c.url, "--user", b.srv.User(),
		"--password", b.srv.Password(), "--indices", fmt.Sprintf("%d:%d", lo, hi), "--rev", strconv.Itoa(rev),
		"--seed", strconv.Itoa(o.Seed)); err != nil {
		return fmt.Errorf("put: %w", err)
	}
	first, _, err := b.floorChanged(ctx, c, before)
	if err != nil {
		return fmt.Errorf("floor %s (first reader): %w", what, err)
	}
	*ff = append(*ff, first)
	run, st, err := b.tandemRun(ctx, c, b.profile(rep == 0, c, phase))
	if err != nil {
		return fmt.Errorf("tandem %s run: %w", what, err)
	}
	// Remote updates are allowed (see Dav's notes) and counted.
	echo := c.echo
	if c.echoLo == lo && c.echoHi == hi {
		echo = 0 // the same items: listed once
	}
	if st.Pulled != o.Changes+echo || st.LocalCreated+st.LocalRemoved+st.RemoteCreated+st.RemoteRemoved+st.Skipped != 0 {
		return fmt.Errorf("tandem %s run: want %d items pulled (%d changed, %d of its own writes) and nothing created, removed or skipped, got %+v",
			what, o.Changes+echo, o.Changes, echo, st)
	}
	c.echo, c.echoLo, c.echoHi = st.RemoteUpdated, lo, hi
	run.Items = st.LocalUpdated
	*tr = append(*tr, run)
	*stats = st
	// The floor's own REPORT from the same token, after Tandem's run: the
	// server holds the same items (plus what Tandem wrote back, if it did:
	// then Tandem's writes count among the changes).
	fl, token, err := b.floorChanged(ctx, c, before)
	if err != nil {
		return fmt.Errorf("floor %s: %w", what, err)
	}
	*fr = append(*fr, fl)
	c.token = token
	b.p.printf("  floor first reader %.1f ms; Tandem %.1f ms (CPU %.3f s, Radicale CPU %.2f s; %d pulled, %d updated here, %d written back); floor %.1f ms",
		first.MS, run.MS, run.CPUS, run.ServerCPUS, st.Pulled, st.LocalUpdated, st.RemoteUpdated, fl.MS)
	if !withPeer {
		return nil
	}
	vr, err := b.vdsRun(ctx, c)
	if err != nil {
		return fmt.Errorf("vdirsyncer %s run: %w", what, err)
	}
	vr.Items = o.Changes
	r.VDirSyncer.Changed = append(r.VDirSyncer.Changed, vr)
	if _, err := b.python(ctx, b.gen, "verify", "--kind", c.genKind, "--dir", filepath.Join(c.vds.local, c.path),
		"--indices", fmt.Sprintf("%d:%d", lo, hi), "--rev", strconv.Itoa(rev), "--seed", strconv.Itoa(o.Seed)); err != nil {
		return fmt.Errorf("vdirsyncer's vdir lacks the server's changes: %w", err)
	}
	b.p.printf("  vdirsyncer %.1f ms", vr.MS)
	return nil
}

// profile opens the CPU profile file of a phase when profiling is on and
// this is the phase's first run; nil otherwise.
func (b *davBench) profile(first bool, c *davColl, phase string) *string {
	if !first || b.o.CPUProfile == "" {
		return nil
	}
	p := b.o.CPUProfile + "." + c.name + "." + phase + ".pprof"
	return &p
}

// davEnv is Tandem over one store: a user, a CalDAV/CardDAV connection and
// one binding.
type davEnv struct {
	dir    string
	st     *store.Store
	sync   *syncer.Service
	connID string
}

// newEnv opens a fresh store in the work folder with a user, connects the
// Radicale account through the provider (discovery, the sealed app
// password) and saves the collection's binding, picked from the
// provider's list, as the settings page does.
func (b *davBench) newEnv(ctx context.Context, c *davColl, rep int) (_ *davEnv, err error) {
	e := &davEnv{dir: filepath.Join(b.work, fmt.Sprintf("tandem.%s.%d", c.name, rep))}
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
	key := make([]byte, secret.KeySize)
	rand.Read(key)
	box, err := secret.New(key)
	if err != nil {
		return nil, err
	}
	prov := davprov.New(e.st, box, b.log)
	e.sync = syncer.New(e.st, settings.New(e.st, box), provider.NewRegistry(prov), b.log)
	u := &access.User{Email: "bench-dav@example.com", Name: "Bench", Active: true, Language: "en"}
	if err := e.st.CreateUser(ctx, u, randomHex(16)); err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	v, err := e.st.Viewer(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	conn, err := prov.Connect(ctx, u.ID, provider.Credentials{URL: b.srv.URL(), Username: b.srv.User(),
		Password: b.srv.Password()}, nil)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	e.connID = conn.ID
	list, err := e.sync.Collections(ctx, conn.ID, c.pkind)
	if err != nil {
		return nil, fmt.Errorf("collections: %w", err)
	}
	var picked string
	for _, l := range list {
		if strings.TrimSuffix(l.ID, "/") == strings.TrimSuffix(c.url, "/") || strings.HasSuffix(strings.TrimSuffix(l.ID, "/"), "/"+c.path) {
			picked = l.ID
		}
	}
	if picked == "" {
		return nil, fmt.Errorf("the provider lists no %s among %+v", c.url, list)
	}
	switch c.pkind {
	case provider.Contact:
		tag := &crm.Tag{Name: "Address book"}
		if err := e.st.SaveTag(ctx, v, tag); err != nil {
			return nil, fmt.Errorf("create tag: %w", err)
		}
		err = e.sync.SaveContactSettings(ctx, v, conn.ID, true, syncer.ContactSettings{TagID: tag.ID, CollectionID: picked})
	case provider.Event:
		err = e.sync.SaveEventSettings(ctx, v, conn.ID, true, syncer.EventSettings{CalendarID: picked, SyncFrom: davSyncFrom})
	}
	if err != nil {
		return nil, fmt.Errorf("save settings: %w", err)
	}
	return e, nil
}

// tandemRun times one run of the collection's connection: wall time,
// Tandem's CPU and peak RSS, Radicale's CPU; profiled into the file at
// prof if set.
func (b *davBench) tandemRun(ctx context.Context, c *davColl, prof *string) (DavRun, reconcile.Stats, error) {
	var r DavRun
	// Dirty pages of earlier runs are written out first, so they do not
	// slow this one; memory earlier phases freed goes back to the system,
	// so the peak is this run's.
	syscall.Sync()
	runtime.GC()
	debug.FreeOSMemory()
	src := resetPeakRSS()
	r.RSSBeforeMB = rssMB("VmRSS")
	if prof != nil {
		f, err := os.Create(*prof)
		if err != nil {
			return r, reconcile.Stats{}, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return r, reconcile.Stats{}, err
		}
	}
	cpu, scpu := cpuSeconds(), b.serverCPU()
	t0 := time.Now()
	out, err := c.env.sync.RunConnection(ctx, c.env.connID)
	el := time.Since(t0)
	r.CPUS, r.ServerCPUS = round(cpuSeconds()-cpu, 3), round(b.serverCPU()-scpu, 2)
	if prof != nil {
		pprof.StopCPUProfile()
	}
	r.PeakRSSMB, b.rss = peakRSSMB(src)
	r.MS = ms(el)
	if err != nil {
		return r, reconcile.Stats{}, err
	}
	st, ok := out.Stats[string(c.pkind)]
	if !ok {
		return r, st, fmt.Errorf("the run did not run the %s binding (%v)", c.pkind, out.Stats)
	}
	return r, st, nil
}

// floorFirst is the bare first sync: REPORT without a token, multiget of
// everything. It takes the token as the floor client's.
func (b *davBench) floorFirst(ctx context.Context, c *davColl) (DavRun, error) {
	var r DavRun
	syscall.Sync()
	cpu, scpu := cpuSeconds(), b.serverCPU()
	t0 := time.Now()
	res, err := b.floor.SyncAll(ctx, c.url, "", 0)
	if err != nil {
		return r, err
	}
	hrefs := make([]string, len(res.Changed))
	for i, it := range res.Changed {
		hrefs[i] = it.Href
	}
	objs, missing, err := b.floor.MultiGet(ctx, c.kind, c.url, hrefs)
	el := time.Since(t0)
	r.CPUS, r.ServerCPUS = round(cpuSeconds()-cpu, 3), round(b.serverCPU()-scpu, 2)
	if err != nil {
		return r, err
	}
	if len(objs) != b.o.N || len(missing) != 0 {
		return r, fmt.Errorf("%d objects fetched, %d missing, want %d", len(objs), len(missing), b.o.N)
	}
	r.MS, r.Items, c.token = ms(el), len(objs), res.Token
	return r, nil
}

// floorNoop is one REPORT with the current token; nothing may have changed.
func (b *davBench) floorNoop(ctx context.Context, c *davColl) (DavRun, error) {
	var r DavRun
	syscall.Sync()
	cpu, scpu := cpuSeconds(), b.serverCPU()
	t0 := time.Now()
	res, err := b.floor.SyncAll(ctx, c.url, c.token, 0)
	el := time.Since(t0)
	r.CPUS, r.ServerCPUS = round(cpuSeconds()-cpu, 3), round(b.serverCPU()-scpu, 2)
	if err != nil {
		return r, err
	}
	if len(res.Changed)+len(res.Deleted) != 0 {
		return r, fmt.Errorf("%d changed and %d deleted since the last token, want none", len(res.Changed), len(res.Deleted))
	}
	r.MS, c.token = ms(el), res.Token
	return r, nil
}

// floorChanged is the REPORT from token and the multiget of what changed
// since: exactly the changed items. It returns the new token.
func (b *davBench) floorChanged(ctx context.Context, c *davColl, token string) (DavRun, string, error) {
	var r DavRun
	syscall.Sync()
	cpu, scpu := cpuSeconds(), b.serverCPU()
	t0 := time.Now()
	res, err := b.floor.SyncAll(ctx, c.url, token, 0)
	if err != nil {
		return r, "", err
	}
	hrefs := make([]string, len(res.Changed))
	for i, it := range res.Changed {
		hrefs[i] = it.Href
	}
	objs, _, err := b.floor.MultiGet(ctx, c.kind, c.url, hrefs)
	el := time.Since(t0)
	r.CPUS, r.ServerCPUS = round(cpuSeconds()-cpu, 3), round(b.serverCPU()-scpu, 2)
	if err != nil {
		return r, "", err
	}
	if len(objs) != b.o.Changes || len(res.Deleted) != 0 {
		return r, "", fmt.Errorf("%d objects fetched and %d deleted, want %d changed", len(objs), len(res.Deleted), b.o.Changes)
	}
	r.MS, r.Items = ms(el), len(objs)
	return r, res.Token, nil
}

// vdsSet is one vdirsyncer configuration: its vdirs and status folder.
type vdsSet struct {
	cfg   string
	local string // the vdirs' parent
}

// newVDS writes a new vdirsyncer configuration with empty vdirs and
// status (as dav_vdirsyncer.sh's write_cfg: both pairs, each collection
// alone) and runs its untimed discover of the collection's pair.
func (b *davBench) newVDS(ctx context.Context, c *davColl, rep int) (*vdsSet, error) {
	name := fmt.Sprintf("%s.%d", c.name, rep)
	s := &vdsSet{cfg: filepath.Join(b.work, "vdirsyncer."+name+".conf"), local: filepath.Join(b.work, "local."+name)}
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "[general]\nstatus_path = %q\n", filepath.Join(b.work, "status."+name)+"/")
	for _, p := range []struct{ path, typ, ext string }{{"contacts", "carddav", ".vcf"}, {"calendar", "caldav", ".ics"}} {
		if err := os.MkdirAll(filepath.Join(s.local, p.path), 0o755); err != nil {
			return nil, err
		}
		fmt.Fprintf(&cfg, `
[pair %[1]s]
a = "%[1]s_local"
b = "%[1]s_remote"
collections = null
conflict_resolution = "b wins"

[storage %[1]s_local]
type = "filesystem"
path = %[2]q
fileext = "%[3]s"

[storage %[1]s_remote]
type = "%[4]s"
url = %[5]q
username = %[6]q
password = %[7]q
`, p.path, filepath.Join(s.local, p.path)+"/", p.ext, p.typ, b.srv.HomeURL()+p.path+"/", b.srv.User(), b.srv.Password())
	}
	if err := os.WriteFile(s.cfg, []byte(cfg.String()), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, b.vds, "-c", s.cfg, "discover", c.path)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	setParentDeathSignal(cmd)
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("vdirsyncer discover: %w: %s", err, tailString(out.String()))
	}
	return s, nil
}

// vdsRun times one `vdirsyncer sync PAIR` of the collection's last set.
func (b *davBench) vdsRun(ctx context.Context, c *davColl) (DavRun, error) {
	var r DavRun
	logf, err := os.OpenFile(filepath.Join(b.work, "vdirsyncer."+c.name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return r, err
	}
	defer logf.Close()
	cmd := exec.CommandContext(ctx, b.vds, "-c", c.vds.cfg, "sync", c.path)
	cmd.Stdout, cmd.Stderr = logf, logf
	setParentDeathSignal(cmd)
	syscall.Sync()
	scpu := b.serverCPU()
	t0 := time.Now()
	err = cmd.Run()
	el := time.Since(t0)
	r.ServerCPUS = round(b.serverCPU()-scpu, 2)
	if err != nil {
		return r, fmt.Errorf("vdirsyncer sync: %w: %s", err, tailFile(logf.Name()))
	}
	r.MS = ms(el)
	r.CPUS = round((cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds(), 3)
	return r, nil
}

// serverCPU is Radicale's user and system CPU so far, in seconds (0 when
// /proc cannot tell).
func (b *davBench) serverCPU() float64 {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(b.srv.PID()) + "/stat")
	if err != nil {
		return 0
	}
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	// After the command: state is field 3 (f[0]); utime and stime are
	// fields 14 and 15 (f[11], f[12]), in clock ticks (100 a second on
	// Linux, USER_HZ).
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100
}

// countFiles counts the files ending in ext directly in dir.
func countFiles(dir, ext string) (int, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range ents {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ext) {
			n++
		}
	}
	return n, nil
}

func tailString(s string) string {
	if len(s) > 2000 {
		s = s[len(s)-2000:]
	}
	return s
}

// python runs the generator and returns its standard output.
func (b *davBench) python(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, b.o.Python, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	setParentDeathSignal(cmd)
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %w: %s%s", b.o.Python, strings.Join(args[1:min(2, len(args))], " "), err,
			tailString(errb.String()), tailString(out.String()))
	}
	return out.Bytes(), nil
}
