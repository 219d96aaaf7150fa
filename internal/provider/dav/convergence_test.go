package dav_test

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/app"
	davc "github.com/tandem-crm/tandem/internal/connector/dav"
	"github.com/tandem-crm/tandem/internal/connector/retry"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/crmsync"
	"github.com/tandem-crm/tandem/internal/provider/dav"
	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/syncer"
	"github.com/tandem-crm/tandem/internal/testenv/crashtest"
	"github.com/tandem-crm/tandem/internal/testenv/davserver"
	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

var (
	davSeeds    = flag.Int("dav.seeds", 20, "seeds of TestConvergenceOnRadicale")
	davParallel = flag.Int("dav.parallel", 6, "seeds of TestConvergenceOnRadicale run at once")
	// davKnownBugs makes the known bugs the tests describe fail them (see
	// TestKeptCardStaysDeletedAfterFullListing).
	davKnownBugs = flag.Bool("dav.known-bugs", false, "fail on the known bugs of CalDAV/CardDAV sync")
)

// TestConvergenceOnRadicale is the randomized convergence test of CalDAV
// and CardDAV: a Tandem server (SQLite for even seeds, PostgreSQL for odd
// ones) with a Radicale account whose address book syncs with a personal
// tag (keeping the vCards Tandem did not create when their contacts leave
// it, or for one seed in three deleting them) and whose calendar syncs
// events. Rounds of random operations on both sides — contacts created,
// edited, renamed, tagged, untagged and deleted in Tandem; vCards
// created, edited (FN and N, EMAIL, TITLE, NOTE) and deleted by another
// client; activities (single, all-day, weekly series) created, retitled,
// moved, with occurrences removed or moved, taken out of the calendar and
// back, deleted; VEVENTs created, edited (SUMMARY, LOCATION, DESCRIPTION,
// every time shifted, EXDATE and RECURRENCE-ID overrides added) and
// deleted remotely — each followed by a sync run that is sometimes hit by
// a Radicale kill -9 and restart, sometimes killed itself with SIGKILL (a
// child process, at an engine crash point or at a random moment; package
// crashtest), sometimes made after Radicale forgot its sync tokens, and
// sometimes skipped. After quiet runs: every tagged contact and every
// activity in scope has exactly one object with the same fields (Tandem's
// fields against the codecs' reading of what the server holds), every
// object is a record's (or a foreign vCard the keep policy leaves when its
// contact left), nothing exists twice on either side, deletes stay
// deleted by the rules (a vCard deleted remotely leaves its contact
// untagged, an event deleted remotely deletes the activity, a contact or
// activity deleted in Tandem takes Tandem's objects with it and leaves a
// foreign vCard in place or not by the policy), the properties Tandem
// does not model survive in the other client's objects, and a task in the
// calendar is never touched.
//
// One known bug is logged and counted instead of failing the test unless
// -dav.known-bugs (TestReenteredEditSurvivesKilledRun reproduces it).
//
// A failing seed prints its operations; rerun it alone with
// -run 'TestConvergenceOnRadicale/seed=N$'. More seeds: -dav.seeds=N.
func TestConvergenceOnRadicale(t *testing.T) {
	var tl tally
	t.Cleanup(func() {
		t.Logf("%d seeds: %d runs killed (%d at a crash point), %d Radicale restarts during a run, %d full listings after forgotten tokens; known bug: %d edits lost",
			tl.seeds.Load(), tl.killed.Load(), tl.halted.Load(), tl.midRun.Load(), tl.full.Load(), tl.lost.Load())
		// The faults must reach the runs, or the test proves nothing
		// about them.
		if tl.seeds.Load() >= 20 && !t.Failed() && (tl.halted.Load() == 0 || tl.killed.Load() == tl.halted.Load() ||
			tl.midRun.Load() == 0 || tl.full.Load() == 0) {
			t.Errorf("the faults missed the runs")
		}
	})
	// A seed spends most of its time waiting for Radicale, for child
	// processes to start and for restarts, so more seeds run at once than
	// go test's -parallel (the CPU count) would let parallel subtests:
	// t.Run may be called from several goroutines.
	var wg sync.WaitGroup
	slots := make(chan struct{}, max(*davParallel, 1))
	for seed := range *davSeeds {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) { converge(t, uint64(seed), &tl) })
		}()
	}
	wg.Wait()
}

// TestDAVRunHelperProcess is the child of TestConvergenceOnRadicale whose
// run is killed: it opens the app on the parent's database, as `tandem
// sync run` does, and runs the connection once.
func TestDAVRunHelperProcess(t *testing.T) {
	cfg, connID := crashtest.Helper(t, "TestConvergenceOnRadicale")
	ctx := context.Background()
	a, err := app.Open(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("open app: %v", err)
	}
	defer a.Close(ctx)
	quickRetries(t, a)
	crashtest.Ready()
	res, err := a.Sync.RunConnection(ctx, connID)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	crashtest.Done(res.Stats)
}

// TestReenteredEditSurvivesKilledRun: a contact edited in Tandem while
// untagged, whose vCard the keep policy left in the address book, comes
// back when the vCard is edited remotely, and the merge sends the Tandem
// edit to the server after the page commits. A run killed between the
// two must not lose the edit. Known bug, so skipped unless
// -dav.known-bugs: the edit's change-log entry is behind the local cursor
// (a run passed it while the contact was out of scope) and the re-entry
// is the binding's own write, so no later push sends it, and the vCard
// stays unchanged, so no later pull merges again (reconcile's
// applyItems: "a crash in between leaves a local change that the next
// push sends" does not hold here). Any failure of the remote write after
// the commit (the server restarting) loses it the same way.
func TestReenteredEditSurvivesKilledRun(t *testing.T) {
	if !*davKnownBugs {
		t.Skip("known bug: an edit made while out of scope is lost when the run that brings the contact back dies after its commit; -dav.known-bugs runs it")
	}
	f := newFixture(t, davserver.Radicale)
	f.connect(t)
	carlHref := f.book + "carl-remote-1.vcf"
	if _, err := f.srv.Put(f.ctx, carlHref, davc.VCardType, []byte(carlVCard)); err != nil {
		t.Fatal(err)
	}
	f.api.JSON(t, "PUT", "/api/v1/connections/"+f.connID+"/sync/contact", map[string]any{"enabled": true,
		"settings": map[string]any{"tag_id": f.tagID, "collection_id": f.book}}, 200, nil)
	f.run(t, "contact")
	carl := f.contacts(t, "carl")
	if len(carl) != 1 {
		t.Fatalf("imported %+v", carl)
	}
	f.api.JSON(t, "PATCH", "/api/v1/contacts/"+carl[0].ID, map[string]any{"tags": []string{}}, 200, nil)
	f.run(t, "contact")
	f.api.JSON(t, "PATCH", "/api/v1/contacts/"+carl[0].ID, map[string]any{"job_title": "Buyer"}, 200, nil)
	f.run(t, "contact")
	// Edited remotely: the contact comes back; the run that merges is
	// killed after the page's commit, before its write to the server.
	d := parseDoc(f.objects(t, davc.AddressBook, f.book)[carlHref])
	d.set(d.comps("VCARD")[0], "NOTE:Met at the fair")
	if _, err := f.srv.Put(f.ctx, carlHref, davc.VCardType, d.bytes()); err != nil {
		t.Fatal(err)
	}
	ch := crashtest.Start(t, "TestDAVRunHelperProcess", append(crashtest.Env(f.s.App.Cfg, f.connID),
		crashtest.Halt(reconcile.HookCommitted, 1)))
	if !ch.KillWhenHalted() {
		t.Fatalf("the run did not halt after its commit:\n%s", ch.Output())
	}
	crashtest.ExpireLease(t, crashtest.OpenRaw(t, f.s.App.Cfg), f.connID)
	f.run(t, "contact")
	f.run(t, "contact")
	if c := f.contacts(t, "carl"); len(c) != 1 || c[0].JobTitle != "Buyer" || !c[0].tagged(f.tagID) {
		t.Fatalf("contact after the runs %+v", c)
	}
	if card := f.objects(t, davc.AddressBook, f.book)[carlHref]; !strings.Contains(string(card), "TITLE:Buyer") {
		t.Errorf("the edit made in Tandem never reached the server: %q", card)
	}
}

// quickRetries makes the client retry a failed request after tens of
// milliseconds instead of seconds: a Radicale restart takes about as long.
func quickRetries(t *testing.T, a *app.App) {
	t.Helper()
	p, err := a.Providers.Get(dav.Name)
	if err != nil {
		t.Fatal(err)
	}
	p.(*dav.Provider).Retry = &retry.Transport{Attempts: 4, BaseDelay: 20 * time.Millisecond, MaxDelay: 200 * time.Millisecond}
}

// tally counts, over all seeds, the faults that hit a run.
type tally struct{ seeds, killed, halted, midRun, full, lost atomic.Int64 }

// convergence is one seed's state.
type convergence struct {
	t      *testing.T
	f      *fixture
	rng    *rand.Rand
	tl     *tally
	ctx    context.Context
	ui     context.Context // local writes, as the UI makes them
	st     *store.Store
	v      access.Viewer
	cb, eb string // the contact and event bindings
	from   time.Time
	zone   *time.Location // the user's, as the event connector reads times
	db     *sql.DB        // behind the store's back: a killed run's lease
	todo   []byte         // the task in the calendar, as the server held it
	keep   bool           // the contact binding keeps foreign vCards

	log     []string
	began   time.Time
	step    int
	n       int            // names and hrefs are unique: n counts them
	touched map[string]int // "L:"+local id, "R:"+href → the last step that touched it
	deletes []deletion
	// left are the records that left their binding in Tandem: an object
	// deleted then is written back from Tandem's fields when they come
	// back, without what Tandem does not model.
	left map[string]bool
	// editedOut are the contacts edited in Tandem while untagged and not
	// tagged here since (see TestReenteredEditSurvivesKilledRun).
	editedOut map[string]bool
}

// deletion is a record or object deleted on one side, with what it was
// linked to then.
type deletion struct {
	step          int
	kind, side    string // "contact"/"event", "local"/"remote"
	localID, href string
}

const (
	anchorCard  = "Anchor Card"
	anchorEvent = "Anchor Event"
)

var convWords = []string{"Ann", "Bob", "Вера", "Глеб", "Dan", "Ёжик", "Eve", "Plan, then act", "Обед; кофе"}

func converge(t *testing.T, seed uint64, tl *tally) {
	tl.seeds.Add(1)
	c := newConvergence(t, seed, tl)
	ops := []struct {
		weight int
		fn     func()
	}{
		{3, c.localNewContact}, {4, c.localEditContact}, {2, c.localTagToggle}, {1, c.localDeleteContact},
		{2, c.remoteNewCard}, {4, c.remoteEditCard}, {1, c.remoteDeleteCard},
		{2, c.localNewEvent}, {4, c.localEditEvent}, {1, c.localCalendarToggle}, {1, c.localDeleteEvent},
		{2, c.remoteNewEvent}, {4, c.remoteEditEvent}, {1, c.remoteDeleteEvent},
	}
	total := 0
	for _, o := range ops {
		total += o.weight
	}
	for round := range 8 {
		c.logf("--- round %d", round)
		for range 2 + c.rng.IntN(4) {
			k := c.rng.IntN(total)
			for _, o := range ops {
				if k -= o.weight; k < 0 {
					c.step++
					o.fn()
					break
				}
			}
		}
		c.step++
		switch k := c.rng.IntN(20); {
		case k < 9:
			c.mustRun("run")
		case k < 12:
			c.runWithRestart()
		case k < 13:
			c.restart()
			c.mustRun("run after a restart")
		case k < 17:
			c.killedRun()
		case k < 19:
			c.forgetTokens()
		default:
			c.logf("no run this round")
		}
	}
	c.settle()
	c.check()
}

func newConvergence(t *testing.T, seed uint64, tl *tally) *convergence {
	f := newFixtureOn(t, davserver.Radicale, tandemtest.Options{Postgres: seed%2 == 1})
	ctx := context.Background()
	c := &convergence{t: t, f: f, rng: rand.New(rand.NewPCG(seed, 0xda7)), tl: tl, ctx: ctx,
		ui: store.WithOrigin(ctx, "ui"), st: f.s.App.Store, touched: map[string]int{}, left: map[string]bool{}, editedOut: map[string]bool{}, began: time.Now()}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("seed %d failed; rerun it with -run 'TestConvergenceOnRadicale/seed=%d$'. Its operations:\n%s",
				seed, seed, strings.Join(c.log, "\n"))
		}
	})
	quickRetries(t, f.s.App)
	c.db = crashtest.OpenRaw(t, f.s.App.Cfg)
	f.connect(t)
	var err error
	if c.v, err = c.st.Viewer(ctx, f.api.UserID); err != nil {
		t.Fatal(err)
	}
	c.zone = time.UTC
	if loc, err := time.LoadLocation(c.v.TZ); err == nil && c.v.TZ != "" {
		c.zone = loc
	}

	// Never deleted by the random operations, so that no collection is
	// emptied under its links (which stops sync by design).
	c.put(f.book+"anchor-card.vcf", vcard("anchor-card", "Anchor", "Card", "anchor@remote.example"))
	c.put(f.cal+"anchor-event.ics", vevent("anchor-event", anchorEvent, c.day(9), time.Hour, "tz", "", ""))
	// Not an event: the event binding must leave it as it is.
	c.put(f.cal+"todo-1.ics", []byte(todoICS("todo-1", "Write report", "X-FOO;X-PARAM=1:kept\r\n")))
	c.todo = f.objects(t, davc.Calendar, f.cal)[f.cal+"todo-1.ics"]
	if c.todo == nil {
		t.Fatal("the task is not on the server")
	}
	for range 3 {
		c.localNewContact()
		c.localNewEvent()
	}
	for range 2 {
		c.remoteNewCard()
		c.remoteNewEvent()
	}

	c.keep = seed%3 != 2
	policy := map[bool]string{true: "keep", false: "delete"}[c.keep]
	f.api.JSON(t, "PUT", "/api/v1/connections/"+f.connID+"/sync/contact", map[string]any{"enabled": true,
		"settings": map[string]any{"tag_id": f.tagID, "collection_id": f.book, "remote_delete": policy}}, 200, nil)
	c.logf("contacts: foreign vCards leaving the binding: %s", policy)
	es := syncer.EventSettings{SyncFrom: time.Now().UTC().Format(reconcile.DateLayout)}
	f.api.JSON(t, "PUT", "/api/v1/connections/"+f.connID+"/sync/event", map[string]any{"enabled": true,
		"settings": map[string]any{"calendar_id": f.cal, "sync_from": es.SyncFrom}}, 200, nil)
	c.from = es.From(c.v.TZ)
	bs, err := c.st.ListBindings(ctx, f.connID)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		switch {
		case b.Kind == syncer.KindContacts:
			c.cb = b.ID
		case b.Kind == syncer.KindEvents && b.Enabled:
			c.eb = b.ID
		}
	}
	if c.cb == "" || c.eb == "" {
		t.Fatalf("bindings %+v", bs)
	}
	return c
}

func (c *convergence) logf(format string, args ...any) {
	c.log = append(c.log, fmt.Sprintf("%3d %5.1fs ", c.step, time.Since(c.began).Seconds())+fmt.Sprintf(format, args...))
}

func (c *convergence) next() int {
	c.n++
	return c.n
}

func (c *convergence) word() string { return convWords[c.rng.IntN(len(convWords))] }

func (c *convergence) touch(keys ...string) {
	for _, k := range keys {
		if k != "L:" && k != "R:" {
			c.touched[k] = c.step
		}
	}
}

// day is a whole hour some days from now, after the binding's sync-from
// date: never a literal date near today.
func (c *convergence) day(days int) time.Time {
	return time.Now().UTC().Truncate(time.Hour).AddDate(0, 0, days)
}

// link is a binding's link by column, or nil.
func (c *convergence) link(binding, column, value string) *store.Link {
	c.t.Helper()
	l, err := c.st.FindLink(c.ctx, binding, column, value)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		c.t.Fatal(err)
	}
	return l
}

// hrefOf is the object a record is linked with ("" if none yet).
func (c *convergence) hrefOf(binding, localID string) string {
	if l := c.link(binding, "local_id", localID); l != nil {
		return l.RemoteID
	}
	return ""
}

func (c *convergence) put(href string, data []byte) {
	c.t.Helper()
	if _, err := c.f.srv.Put(c.ctx, href, contentType(href), data); err != nil {
		c.t.Fatal(err)
	}
}

func contentType(href string) string {
	if strings.HasSuffix(href, ".vcf") {
		return davc.VCardType
	}
	return davc.ICalendarType
}

// --- runs ------------------------------------------------------------------

func (c *convergence) run(why string) (syncer.Result, error) {
	res, err := c.f.s.App.Sync.RunConnection(c.ctx, c.f.connID)
	for _, s := range res.Stats {
		if s.FullListing {
			c.tl.full.Add(1)
		}
	}
	c.logf("%s: contacts %s; events %s; err %v", why, brief(res.Stats[syncer.KindContacts]), brief(res.Stats[syncer.KindEvents]), err)
	return res, err
}

// mustRun runs with nothing in the way: it must succeed.
func (c *convergence) mustRun(why string) {
	if _, err := c.run(why); err != nil {
		c.t.Errorf("step %d: %s failed: %v", c.step, why, err)
	}
}

func brief(s reconcile.Stats) string {
	out := fmt.Sprintf("local +%d ~%d -%d, remote +%d ~%d -%d", s.LocalCreated, s.LocalUpdated, s.LocalRemoved,
		s.RemoteCreated, s.RemoteUpdated, s.RemoteRemoved)
	if s.Conflicts > 0 {
		out += fmt.Sprintf(", %d conflicts", s.Conflicts)
	}
	if s.Skipped > 0 {
		out += fmt.Sprintf(", %d skipped", s.Skipped)
	}
	if s.FullListing {
		out += ", full listing"
	}
	return out
}

func changed(res syncer.Result) bool {
	for _, s := range res.Stats {
		if s.LocalCreated+s.LocalUpdated+s.LocalRemoved+s.RemoteCreated+s.RemoteUpdated+s.RemoteRemoved+s.Skipped > 0 {
			return true
		}
	}
	return false
}

// restart kills Radicale with SIGKILL and starts it again.
func (c *convergence) restart() {
	c.t.Helper()
	if err := c.f.srv.Restart(); err != nil {
		c.t.Fatalf("restart Radicale: %v", err)
	}
	c.logf("Radicale killed and restarted")
}

// runWithRestart runs while Radicale is killed and restarted a random
// moment after the run began: the run may fail; the next one resumes.
func (c *convergence) runWithRestart() {
	delay := time.Duration(c.rng.IntN(150)) * time.Millisecond
	done := make(chan error, 1)
	began := time.Now()
	time.AfterFunc(delay, func() { done <- c.f.srv.Restart() })
	c.run(fmt.Sprintf("run with Radicale killed after %v", delay))
	if time.Since(began) > delay {
		c.tl.midRun.Add(1)
	}
	if err := <-done; err != nil {
		c.t.Fatalf("restart Radicale: %v", err)
	}
}

// killedRun runs in a child process killed with SIGKILL: at a crash point
// of the engine, or at a random moment.
func (c *convergence) killedRun() {
	env := crashtest.Env(c.f.s.App.Cfg, c.f.connID)
	var ch *crashtest.Child
	var how string
	killed := false
	switch k := c.rng.IntN(4); k {
	case 0, 1, 2:
		point := []string{reconcile.HookItem, reconcile.HookCommitted, reconcile.HookPushed}[k]
		n := 1
		if point == reconcile.HookItem {
			n += c.rng.IntN(3)
		}
		how = fmt.Sprintf("at %s:%d", point, n)
		ch = crashtest.Start(c.t, "TestDAVRunHelperProcess", append(env, crashtest.Halt(point, n)))
		if killed = ch.KillWhenHalted(); killed {
			c.tl.halted.Add(1)
		}
	default:
		d := time.Duration(c.rng.IntN(100)) * time.Millisecond
		how = fmt.Sprintf("%v after it began", d)
		ch = crashtest.Start(c.t, "TestDAVRunHelperProcess", env)
		killed = ch.KillAfter(d)
	}
	crashtest.ExpireLease(c.t, c.db, c.f.connID)
	if killed {
		c.tl.killed.Add(1)
		c.logf("run killed %s", how)
		return
	}
	c.logf("run to be killed %s ended first: %s", how, ch.Stats())
	if !ch.OK() {
		c.t.Errorf("step %d: the child's run failed:\n%s", c.step, ch.Output())
	}
}

// forgetTokens makes Radicale forget the sync tokens it gave out, then
// runs: a collection changed since is listed whole and reconciled against
// the links.
func (c *convergence) forgetTokens() {
	for _, coll := range []string{c.f.book, c.f.cal} {
		if err := c.f.srv.ForgetSyncTokens(coll); err != nil {
			c.t.Fatal(err)
		}
	}
	c.logf("Radicale forgot its sync tokens")
	c.mustRun("run after forgotten tokens")
}

// settle runs until a run changes nothing.
func (c *convergence) settle() {
	c.t.Helper()
	c.step++
	crashtest.ExpireLease(c.t, c.db, c.f.connID)
	for i := 0; ; i++ {
		res, err := c.run("quiet run")
		if err != nil {
			c.t.Fatalf("quiet run %d: %v", i, err)
		}
		if !changed(res) {
			return
		}
		if i == 3 {
			c.t.Fatalf("still changing after %d quiet runs", i+1)
		}
	}
}

// --- contacts ----------------------------------------------------------------

func (c *convergence) contacts() []crm.Contact {
	c.t.Helper()
	cs, _, err := c.st.ListContacts(c.ctx, c.v, store.ContactFilter{Page: store.Page{Limit: 500}})
	if err != nil {
		c.t.Fatal(err)
	}
	return slices.DeleteFunc(cs, func(ct crm.Contact) bool { return ct.Name == anchorCard })
}

func (c *convergence) pickContact() *crm.Contact {
	cs := c.contacts()
	if len(cs) == 0 {
		return nil
	}
	return &cs[c.rng.IntN(len(cs))]
}

func (c *convergence) localNewContact() {
	n := c.next()
	ct := &crm.Contact{GivenName: c.word(), FamilyName: fmt.Sprintf("Local%d", n),
		Emails: []crm.Email{{Address: fmt.Sprintf("l%d@example.com", n)}}}
	ct.Name = ct.GivenName + " " + ct.FamilyName
	tagged := c.rng.IntN(5) > 0
	if tagged {
		ct.Tags = []crm.TagRef{{ID: c.f.tagID}}
	}
	if err := c.st.CreateContact(c.ui, c.v, ct); err != nil {
		c.t.Fatal(err)
	}
	c.touch("L:" + ct.ID)
	c.logf("local: new contact %q (%s), tagged %v", ct.Name, ct.ID, tagged)
}

func (c *convergence) localEditContact() {
	ct := c.pickContact()
	if ct == nil {
		return
	}
	var what string
	switch c.rng.IntN(4) {
	case 0:
		ct.GivenName, ct.FamilyName = c.word(), fmt.Sprintf("Local%d", c.next())
		ct.Name = ct.GivenName + " " + ct.FamilyName
		what = "renamed " + ct.Name
	case 1:
		ct.JobTitle = c.word()
		what = "job title " + ct.JobTitle
	case 2:
		ct.Phones = append(ct.Phones, crm.Phone{Number: fmt.Sprintf("+1 555 %04d", c.next())})
		what = "phone added"
	default:
		ct.Notes = fmt.Sprintf("%s %d", c.word(), c.next())
		what = "notes " + ct.Notes
	}
	c.editedOut[ct.ID] = c.editedOut[ct.ID] || !hasTag(ct, c.f.tagID)
	ct.Tags, ct.Access = nil, nil // leave as they are
	if err := c.st.UpdateContact(c.ui, c.v, ct, 0); err != nil {
		c.t.Fatal(err)
	}
	c.touch("L:" + ct.ID)
	c.logf("local: contact %s: %s", ct.ID, what)
}

func (c *convergence) localTagToggle() {
	ct := c.pickContact()
	if ct == nil {
		return
	}
	on := !hasTag(ct, c.f.tagID)
	if err := c.st.InTx(c.ctx, func(tx *store.Tx) error {
		return tx.SetTag(c.ui, c.v, store.EntityContact, ct.ID, c.f.tagID, on)
	}); err != nil {
		c.t.Fatal(err)
	}
	c.touch("L:" + ct.ID)
	c.left[ct.ID] = c.left[ct.ID] || !on
	c.editedOut[ct.ID] = c.editedOut[ct.ID] && !on
	c.logf("local: contact %q (%s) tagged %v", ct.Name, ct.ID, on)
}

func (c *convergence) localDeleteContact() {
	ct := c.pickContact()
	if ct == nil {
		return
	}
	href := c.hrefOf(c.cb, ct.ID)
	if err := c.st.DeleteContact(c.ui, c.v, ct.ID); err != nil {
		c.t.Fatal(err)
	}
	c.touch("L:"+ct.ID, "R:"+href)
	c.deletes = append(c.deletes, deletion{step: c.step, kind: "contact", side: "local", localID: ct.ID, href: href})
	c.logf("local: contact %q (%s, linked to %s) deleted", ct.Name, ct.ID, href)
}

func vcard(uid, given, family, email string, extra ...string) []byte {
	return []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:-//Other client//EN\r\nUID:" + uid + "\r\n" +
		"N:" + icsEscape(family) + ";" + icsEscape(given) + ";;;\r\nFN:" + icsEscape(given+" "+family) + "\r\n" +
		"EMAIL;TYPE=INTERNET:" + email + "\r\nX-OTHER-CLIENT;X-PARAM=1:kept\r\n" + strings.Join(extra, "") + "END:VCARD\r\n")
}

// cards are the address book's objects (but the anchor), by href.
func (c *convergence) cards() map[string][]byte {
	objs := c.f.objects(c.t, davc.AddressBook, c.f.book)
	delete(objs, c.f.book+"anchor-card.vcf")
	return objs
}

func pickObject(rng *rand.Rand, objs map[string][]byte) (string, []byte) {
	hrefs := make([]string, 0, len(objs))
	for h := range objs {
		hrefs = append(hrefs, h)
	}
	if len(hrefs) == 0 {
		return "", nil
	}
	sort.Strings(hrefs)
	h := hrefs[rng.IntN(len(hrefs))]
	return h, objs[h]
}

func (c *convergence) remoteNewCard() {
	n := c.next()
	given, family := c.word(), fmt.Sprintf("Remote%d", n)
	var extra []string
	if c.rng.IntN(2) == 0 {
		extra = append(extra, fmt.Sprintf("TEL;TYPE=CELL:+1 555 %04d\r\n", n), "ORG:Remote Industries\r\n")
	}
	href := fmt.Sprintf("%sr%d.vcf", c.f.book, n)
	c.put(href, vcard(fmt.Sprintf("r%d-uid", n), given, family, fmt.Sprintf("r%d@remote.example", n), extra...))
	c.touch("R:" + href)
	c.logf("remote: new card %q at %s", given+" "+family, href)
}

func (c *convergence) remoteEditCard() {
	href, data := pickObject(c.rng, c.cards())
	if href == "" {
		return
	}
	d := parseDoc(data)
	card := d.comps("VCARD")[0]
	var what string
	switch c.rng.IntN(4) {
	case 0:
		given, family := c.word(), fmt.Sprintf("Remote%d", c.next())
		d.set(card, "N:"+icsEscape(family)+";"+icsEscape(given)+";;;")
		d.set(d.comps("VCARD")[0], "FN:"+icsEscape(given+" "+family))
		what = "renamed " + given + " " + family
	case 1:
		email := fmt.Sprintf("r%d@remote.example", c.next())
		d.insert(card, "EMAIL;TYPE=INTERNET;TYPE=HOME:"+email)
		what = "email added " + email
	case 2:
		title := c.word()
		d.set(card, "TITLE:"+icsEscape(title))
		what = "title " + title
	default:
		note := fmt.Sprintf("%s %d", c.word(), c.next())
		d.set(card, "NOTE:"+icsEscape(note))
		what = "note " + note
	}
	if c.rng.IntN(2) == 0 {
		d.set(d.comps("VCARD")[0], "REV:"+time.Now().UTC().Format("20060102T150405Z"))
	}
	c.put(href, d.bytes())
	c.touch("R:"+href, "L:"+c.localOf(c.cb, href))
	c.logf("remote: card %s: %s", href, what)
}

// localOf is the record an object is linked with ("" if none).
func (c *convergence) localOf(binding, href string) string {
	if l := c.link(binding, "remote_id", href); l != nil {
		return l.LocalID
	}
	return ""
}

func (c *convergence) remoteDeleteCard() {
	href, _ := pickObject(c.rng, c.cards())
	if href == "" {
		return
	}
	if err := c.f.srv.Delete(c.ctx, href); err != nil {
		c.t.Fatal(err)
	}
	local := c.localOf(c.cb, href)
	if _, err := c.st.GetContact(c.ctx, c.v, local); err != nil {
		local = "" // deleted here before: no contact to untag
	}
	c.left[local] = local != ""
	c.touch("R:"+href, "L:"+local)
	c.deletes = append(c.deletes, deletion{step: c.step, kind: "contact", side: "remote", localID: local, href: href})
	c.logf("remote: card %s (linked to %s) deleted", href, local)
}

// --- events -------------------------------------------------------------------

var moscow = func() *time.Location {
	l, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		panic(err)
	}
	return l
}()

func (c *convergence) activities() []crm.Activity {
	c.t.Helper()
	as, _, err := c.st.ListActivities(c.ctx, c.v, store.ActivityFilter{Page: store.Page{Limit: 500}})
	if err != nil {
		c.t.Fatal(err)
	}
	return slices.DeleteFunc(as, func(a crm.Activity) bool { return a.Title == anchorEvent })
}

func (c *convergence) pickActivity(ok func(*crm.Activity) bool) *crm.Activity {
	as := slices.DeleteFunc(c.activities(), func(a crm.Activity) bool { return ok != nil && !ok(&a) })
	if len(as) == 0 {
		return nil
	}
	return &as[c.rng.IntN(len(as))]
}

func (c *convergence) localNewEvent() {
	n := c.next()
	start := c.day(14 + c.rng.IntN(21))
	a := &crm.Activity{Type: "meeting", Title: fmt.Sprintf("%s L%d", c.word(), n), ShowInCalendar: true}
	kind := "single"
	switch c.rng.IntN(4) {
	case 0:
		kind = "all-day"
		day := time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, time.UTC)
		end := day.AddDate(0, 0, 1+c.rng.IntN(2))
		a.Start, a.End, a.AllDay = &day, &end, true
	case 1:
		kind = "weekly series"
		a.RRule = "FREQ=WEEKLY;COUNT=4"
		fallthrough
	default:
		end := start.Add(time.Duration(1+c.rng.IntN(2)) * 30 * time.Minute)
		a.Start, a.End, a.TimeZone = &start, &end, "Europe/Moscow"
		if c.rng.IntN(2) == 0 {
			a.TimeZone = "UTC"
		}
	}
	if err := c.st.CreateActivity(c.ui, c.v, a); err != nil {
		c.t.Fatal(err)
	}
	c.touch("L:" + a.ID)
	c.logf("local: new %s %q (%s) at %s", kind, a.Title, a.ID, a.Start.Format(time.RFC3339))
}

func (c *convergence) localEditEvent() {
	a := c.pickActivity(func(a *crm.Activity) bool { return a.Start != nil && a.End != nil })
	if a == nil {
		return
	}
	var what string
	series := a.RRule != "" && !a.AllDay
	switch k := c.rng.IntN(6); {
	case k == 0:
		a.Title = fmt.Sprintf("%s L%d", c.word(), c.next())
		what = "retitled " + a.Title
	case k == 1:
		a.Location = c.word()
		what = "location " + a.Location
	case k == 2:
		a.Description = fmt.Sprintf("%s %d", c.word(), c.next())
		what = "description " + a.Description
	case k == 3 || !series:
		d := []time.Duration{time.Hour, -time.Hour, 24 * time.Hour, -24 * time.Hour}[c.rng.IntN(4)]
		if a.AllDay {
			d = 24 * time.Hour
		}
		s, e := a.Start.Add(d), a.End.Add(d)
		a.Start, a.End = &s, &e
		for i := range a.ExDates {
			a.ExDates[i] = a.ExDates[i].Add(d)
		}
		for i := range a.Overrides {
			o := &a.Overrides[i]
			o.RecurrenceID, o.Start, o.End = o.RecurrenceID.Add(d), o.Start.Add(d), o.End.Add(d)
		}
		what = fmt.Sprintf("moved by %v", d)
	default:
		rid := a.Start.AddDate(0, 0, 7*(1+c.rng.IntN(3)))
		taken := slices.ContainsFunc(a.ExDates, rid.Equal) ||
			slices.ContainsFunc(a.Overrides, func(o crm.Occurrence) bool { return o.RecurrenceID.Equal(rid) })
		if taken {
			return
		}
		if k == 4 {
			a.ExDates = append(a.ExDates, rid)
			what = "occurrence removed " + rid.Format(time.RFC3339)
		} else {
			o := crm.Occurrence{RecurrenceID: rid, Start: rid.Add(2 * time.Hour), Title: fmt.Sprintf("%s L%d", c.word(), c.next())}
			o.End = o.Start.Add(a.End.Sub(*a.Start))
			a.Overrides = append(a.Overrides, o)
			what = "occurrence moved " + rid.Format(time.RFC3339) + " as " + o.Title
		}
	}
	a.Tags, a.Access = nil, nil // leave as they are
	if err := c.st.UpdateActivity(c.ui, c.v, a, 0); err != nil {
		c.t.Fatal(err)
	}
	c.touch("L:" + a.ID)
	c.logf("local: activity %s: %s", a.ID, what)
}

func (c *convergence) localCalendarToggle() {
	a := c.pickActivity(nil)
	if a == nil {
		return
	}
	a.ShowInCalendar = !a.ShowInCalendar
	a.Tags, a.Access = nil, nil
	if err := c.st.UpdateActivity(c.ui, c.v, a, 0); err != nil {
		c.t.Fatal(err)
	}
	c.touch("L:" + a.ID)
	c.left[a.ID] = c.left[a.ID] || !a.ShowInCalendar
	c.logf("local: activity %q (%s) shown in the calendar %v", a.Title, a.ID, a.ShowInCalendar)
}

func (c *convergence) localDeleteEvent() {
	a := c.pickActivity(nil)
	if a == nil {
		return
	}
	href := c.hrefOf(c.eb, a.ID)
	if err := c.st.DeleteActivity(c.ui, c.v, a.ID); err != nil {
		c.t.Fatal(err)
	}
	c.touch("L:"+a.ID, "R:"+href)
	c.deletes = append(c.deletes, deletion{step: c.step, kind: "event", side: "local", localID: a.ID, href: href})
	c.logf("local: activity %q (%s, linked to %s) deleted", a.Title, a.ID, href)
}

// vevent is an event as another client writes it: in Moscow time with its
// VTIMEZONE ("tz"), in UTC ("utc") or all-day ("date"), with an alarm and
// a property Tandem does not model.
func vevent(uid, summary string, start time.Time, dur time.Duration, form, rrule, extra string) []byte {
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Other client//EN\r\n")
	var dtstart, dtend string
	switch form {
	case "tz":
		b.WriteString("BEGIN:VTIMEZONE\r\nTZID:Europe/Moscow\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:+0300\r\n" +
			"TZOFFSETTO:+0300\r\nTZNAME:MSK\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n")
		dtstart = "DTSTART;TZID=Europe/Moscow:" + icsLocal(start.In(moscow))
		dtend = "DTEND;TZID=Europe/Moscow:" + icsLocal(start.Add(dur).In(moscow))
	case "utc":
		dtstart = "DTSTART:" + start.UTC().Format("20060102T150405Z")
		dtend = "DTEND:" + start.Add(dur).UTC().Format("20060102T150405Z")
	case "date":
		dtstart = "DTSTART;VALUE=DATE:" + icsDate(start)
		dtend = "DTEND;VALUE=DATE:" + icsDate(start.Add(dur))
	}
	b.WriteString("BEGIN:VEVENT\r\nUID:" + uid + "\r\nDTSTAMP:" + time.Now().UTC().Format("20060102T150405Z") + "\r\n" +
		dtstart + "\r\n" + dtend + "\r\nSUMMARY:" + icsEscape(summary) + "\r\n")
	if rrule != "" {
		b.WriteString("RRULE:" + rrule + "\r\n")
	}
	b.WriteString("X-OTHER-CLIENT;X-PARAM=1:kept\r\n" + extra +
		"BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT10M\r\nDESCRIPTION:Reminder\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
	return []byte(b.String())
}

// events are the calendar's VEVENT objects (but the anchor), by href.
func (c *convergence) events() map[string][]byte {
	objs := c.f.objects(c.t, davc.Calendar, c.f.cal)
	delete(objs, c.f.cal+"anchor-event.ics")
	for h, d := range objs {
		if !strings.Contains(string(d), "BEGIN:VEVENT") {
			delete(objs, h)
		}
	}
	return objs
}

func (c *convergence) remoteNewEvent() {
	n := c.next()
	start := c.day(14 + c.rng.IntN(21))
	form := []string{"tz", "utc", "date"}[c.rng.IntN(3)]
	dur := time.Duration(1+c.rng.IntN(2)) * 30 * time.Minute
	if form == "date" {
		start = time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, time.UTC)
		dur = 24 * time.Hour
	}
	rrule := ""
	if c.rng.IntN(3) == 0 {
		rrule = "FREQ=WEEKLY;COUNT=4"
	}
	title := fmt.Sprintf("%s R%d", c.word(), n)
	href := fmt.Sprintf("%se%d.ics", c.f.cal, n)
	c.put(href, vevent(fmt.Sprintf("e%d-uid", n), title, start, dur, form, rrule, ""))
	c.touch("R:" + href)
	c.logf("remote: new event %q (%s, %q) at %s", title, form, rrule, href)
}

func (c *convergence) remoteEditEvent() {
	href, data := pickObject(c.rng, c.events())
	if href == "" {
		return
	}
	d := parseDoc(data)
	m, ok := d.master()
	if !ok {
		c.t.Fatalf("no master event in %s: %q", href, data)
	}
	startLine := d[d.find(m, "DTSTART")]
	head, startVal, _ := strings.Cut(startLine, ":")
	allDay := len(strings.TrimSpace(startVal)) == 8
	series := d.find(m, "RRULE") >= 0
	var what string
	switch k := c.rng.IntN(6); {
	case k == 0:
		title := fmt.Sprintf("%s R%d", c.word(), c.next())
		d.set(m, "SUMMARY:"+icsEscape(title))
		what = "summary " + title
	case k == 1:
		loc := c.word()
		d.set(m, "LOCATION:"+icsEscape(loc))
		what = "location " + loc
	case k == 2:
		desc := fmt.Sprintf("%s %d", c.word(), c.next())
		d.set(m, "DESCRIPTION:"+icsEscape(desc))
		what = "description " + desc
	case k == 3 || !series || allDay:
		dd := []time.Duration{time.Hour, -time.Hour, 24 * time.Hour, -24 * time.Hour}[c.rng.IntN(4)]
		if allDay {
			dd = 24 * time.Hour
		}
		d.shift(dd)
		what = fmt.Sprintf("every time moved by %v", dd)
	default:
		params := strings.TrimPrefix(head, "DTSTART")
		occ := shiftValue(strings.TrimSpace(startVal), time.Duration(7*(1+c.rng.IntN(3)))*24*time.Hour)
		for _, name := range []string{"EXDATE", "RECURRENCE-ID"} {
			for _, l := range d {
				if propName(l) == name && strings.Contains(l, occ) {
					return
				}
			}
		}
		if k == 4 {
			d.insert(m, "EXDATE"+params+":"+occ)
			what = "occurrence removed " + occ
		} else {
			uid := strings.TrimPrefix(d[d.find(m, "UID")], "UID:")
			dur := time.Hour
			if i := d.find(m, "DTEND"); i >= 0 {
				_, endVal, _ := strings.Cut(d[i], ":")
				dur = timeOf(endVal).Sub(timeOf(startVal))
			}
			title := fmt.Sprintf("%s R%d", c.word(), c.next())
			moved := shiftValue(occ, 2*time.Hour)
			block := []string{"BEGIN:VEVENT", "UID:" + uid, "DTSTAMP:" + time.Now().UTC().Format("20060102T150405Z"),
				"RECURRENCE-ID" + params + ":" + occ, "DTSTART" + params + ":" + moved,
				"DTEND" + params + ":" + shiftValue(moved, dur), "SUMMARY:" + icsEscape(title), "END:VEVENT"}
			end := len(d) - 1 // END:VCALENDAR
			d = slices.Insert(d, end, block...)
			what = "occurrence " + occ + " moved as " + title
		}
	}
	if c.rng.IntN(2) == 0 {
		m, _ = d.master()
		d.set(m, "LAST-MODIFIED:"+time.Now().UTC().Format("20060102T150405Z"))
	}
	c.put(href, d.bytes())
	c.touch("R:"+href, "L:"+c.localOf(c.eb, href))
	c.logf("remote: event %s: %s", href, what)
}

func (c *convergence) remoteDeleteEvent() {
	href, _ := pickObject(c.rng, c.events())
	if href == "" {
		return
	}
	if err := c.f.srv.Delete(c.ctx, href); err != nil {
		c.t.Fatal(err)
	}
	local := c.localOf(c.eb, href)
	if _, err := c.st.GetActivity(c.ctx, c.v, local); err != nil {
		local = "" // deleted here before: no activity to delete
	}
	c.left[local] = local != ""
	c.touch("R:"+href, "L:"+local)
	c.deletes = append(c.deletes, deletion{step: c.step, kind: "event", side: "remote", localID: local, href: href})
	c.logf("remote: event %s (linked to %s) deleted", href, local)
}

// --- the check ------------------------------------------------------------------

func (c *convergence) check() {
	t := c.t
	ctx := c.ctx
	tandems := func(href string) bool {
		name := href[strings.LastIndexByte(href, '/')+1:]
		return strings.HasPrefix(name, "tandem-")
	}

	// Contacts: every tagged contact has its card with the same fields;
	// every card is a tagged contact's, or a foreign one left in place when
	// its contact was untagged or deleted (the keep policy).
	cards := c.f.objects(t, davc.AddressBook, c.f.book)
	decoded := map[string]davc.Decoded{}
	uids, fns := map[string]string{}, map[string]string{}
	for h, data := range cards {
		d, err := davc.VCardCodec{}.Decode(data)
		if err != nil {
			t.Errorf("card %s unreadable: %v", h, err)
			continue
		}
		decoded[h] = d
		if o, dup := uids[d.UID]; dup {
			t.Errorf("UID %s at %s and %s", d.UID, o, h)
		}
		uids[d.UID] = h
		name := d.Fields[reconcile.FieldName]
		if o, dup := fns[name]; dup {
			t.Errorf("card %q at %s and %s", name, o, h)
		}
		fns[name] = h
	}
	all, _, err := c.st.ListContacts(ctx, c.v, store.ContactFilter{Page: store.Page{Limit: 500}})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	owned := map[string]string{} // href → the contact whose card it is
	for i := range all {
		ct := &all[i]
		if o, dup := names[ct.Name]; dup {
			t.Errorf("contact %q twice: %s and %s", ct.Name, o, ct.ID)
		}
		names[ct.Name] = ct.ID
		l := c.link(c.cb, "local_id", ct.ID)
		if !hasTag(ct, c.f.tagID) {
			if l != nil && !l.Dormant {
				t.Errorf("untagged contact %q (%s) has a live link to %s", ct.Name, ct.ID, l.RemoteID)
			}
			if l != nil && l.Dormant && cards[l.RemoteID] != nil {
				owned[l.RemoteID] = ct.ID
				if tandems(l.RemoteID) || !c.keep {
					t.Errorf("untagged contact %q (%s): its card %s is still there", ct.Name, ct.ID, l.RemoteID)
				}
			}
			continue
		}
		if l == nil || l.Pending || l.Dormant {
			t.Errorf("tagged contact %q (%s) not linked: %+v", ct.Name, ct.ID, l)
			continue
		}
		if o, dup := owned[l.RemoteID]; dup {
			t.Errorf("card %s is %s's and %s's", l.RemoteID, o, ct.ID)
		}
		owned[l.RemoteID] = ct.ID
		d, ok := decoded[l.RemoteID]
		if !ok {
			t.Errorf("tagged contact %q (%s) linked to %s, which is not in the address book", ct.Name, ct.ID, l.RemoteID)
			continue
		}
		if lf := reconcile.ContactFields(ct); !lf.Equal(d.Fields) {
			if c.editedOut[ct.ID] && c.keep && !*davKnownBugs {
				c.tl.lost.Add(1)
				t.Logf("known bug: contact %q (%s), edited while untagged, differs from its vCard %s:\n local  %v\n remote %v",
					ct.Name, ct.ID, l.RemoteID, lf, d.Fields)
				continue
			}
			t.Errorf("contact %q (%s) differs from its card %s:\n local  %v\n remote %v", ct.Name, ct.ID, l.RemoteID, lf, d.Fields)
		}
	}
	keptAfterDelete := map[string]bool{}
	for _, del := range c.deletes {
		if del.kind == "contact" && del.side == "local" && del.href != "" && !tandems(del.href) && c.keep {
			keptAfterDelete[del.href] = true
		}
	}
	for h := range cards {
		if _, ok := owned[h]; ok || h == c.f.book+"anchor-card.vcf" && names[anchorCard] != "" {
			continue
		}
		switch {
		case tandems(h):
			t.Errorf("Tandem's card %s (%q) belongs to no tagged contact", h, decoded[h].Fields[reconcile.FieldName])
		case !keptAfterDelete[h]:
			t.Errorf("card %s (%q) was never imported", h, decoded[h].Fields[reconcile.FieldName])
		}
	}
	if id := names[anchorCard]; id == "" || c.hrefOf(c.cb, id) != c.f.book+"anchor-card.vcf" {
		t.Errorf("the anchor card is not linked with its contact")
	}

	// Events: every activity in scope has its event with the same fields;
	// every event is an activity's; the task is untouched.
	objs := c.f.objects(t, davc.Calendar, c.f.cal)
	if got := objs[c.f.cal+"todo-1.ics"]; string(got) != string(c.todo) {
		t.Errorf("the task changed:\n was %q\n now %q", c.todo, got)
	}
	codec := davc.EventCodec{Zone: c.zone, Self: c.v.Email}
	events := map[string]davc.Decoded{}
	uids, titles := map[string]string{}, map[string]string{}
	for h, data := range objs {
		if !strings.Contains(string(data), "BEGIN:VEVENT") {
			continue
		}
		d, err := codec.Decode(data)
		if err != nil {
			t.Errorf("event %s unreadable: %v", h, err)
			continue
		}
		events[h] = d
		if o, dup := uids[d.UID]; dup {
			t.Errorf("UID %s at %s and %s", d.UID, o, h)
		}
		uids[d.UID] = h
		title := d.Fields[reconcile.FieldTitle]
		if o, dup := titles[title]; dup {
			t.Errorf("event %q at %s and %s", title, o, h)
		}
		titles[title] = h
	}
	local := &crmsync.EventsLocal{Store: c.st, Viewer: c.v, BindingID: c.eb, From: c.from}
	acts, _, err := c.st.ListActivities(ctx, c.v, store.ActivityFilter{Page: store.Page{Limit: 500}})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	clear(names)
	for _, a := range acts {
		if o, dup := names[a.Title]; dup {
			t.Errorf("activity %q twice: %s and %s", a.Title, o, a.ID)
		}
		names[a.Title] = a.ID
		lr, err := local.Load(ctx, nil, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		l := c.link(c.eb, "local_id", a.ID)
		if !lr.InScope {
			if l != nil && !l.Dormant {
				t.Errorf("activity %q (%s) out of scope has a live link to %s", a.Title, a.ID, l.RemoteID)
			}
			continue
		}
		if l == nil || l.Pending || l.Dormant {
			t.Errorf("activity %q (%s) in scope not linked: %+v", a.Title, a.ID, l)
			continue
		}
		if o, dup := seen[l.RemoteID]; dup {
			t.Errorf("event %s is %s's and %s's", l.RemoteID, o, a.ID)
		}
		seen[l.RemoteID] = a.ID
		d, ok := events[l.RemoteID]
		if !ok {
			t.Errorf("activity %q (%s) linked to %s, which is not in the calendar", a.Title, a.ID, l.RemoteID)
			continue
		}
		// An imported event does not carry the activity's id until Tandem
		// writes to it; the id is no part of what the user sees.
		lf, rf := lr.Fields, d.Fields
		delete(lf, reconcile.FieldTandemID)
		delete(rf, reconcile.FieldTandemID)
		if !lf.Equal(rf) {
			t.Errorf("activity %q (%s) differs from its event %s:\n local  %v\n remote %v", a.Title, a.ID, l.RemoteID, lf, rf)
		}
	}
	for h, d := range events {
		if _, ok := seen[h]; !ok {
			t.Errorf("event %s (%q) is no activity's in scope", h, d.Fields[reconcile.FieldTitle])
		}
	}

	// What Tandem does not model stays in the other client's objects.
	for h, data := range cards {
		if !tandems(h) && !c.left[c.localOf(c.cb, h)] && !strings.Contains(string(data), "X-OTHER-CLIENT;X-PARAM=1:kept") {
			t.Errorf("card %s lost its unknown property: %q", h, data)
		}
	}
	for h, data := range objs {
		if !tandems(h) && !c.left[c.localOf(c.eb, h)] && strings.Contains(string(data), "BEGIN:VEVENT") && (!strings.Contains(string(data), "X-OTHER-CLIENT;X-PARAM=1:kept") ||
			!strings.Contains(string(data), "BEGIN:VALARM")) {
			t.Errorf("event %s lost its alarm or unknown property: %q", h, data)
		}
	}

	// Deletes stay deleted, by the rules, where nothing touched the record
	// or its object after the delete.
	later := func(del deletion) bool {
		return c.touched["L:"+del.localID] > del.step || c.touched["R:"+del.href] > del.step
	}
	for _, del := range c.deletes {
		if later(del) {
			continue
		}
		switch del.kind + " " + del.side {
		case "contact remote":
			if del.localID == "" {
				continue
			}
			ct, err := c.st.GetContact(ctx, c.v, del.localID)
			if err != nil || hasTag(ct, c.f.tagID) {
				t.Errorf("step %d: card %s deleted remotely: its contact %s should stay, untagged: %+v %v", del.step, del.href, del.localID, ct, err)
			}
		case "contact local":
			if del.href == "" {
				continue
			}
			_, there := cards[del.href]
			// A dormant link is the deleted contact's tombstone, not a
			// contact come back.
			if l := c.link(c.cb, "remote_id", del.href); l != nil && !l.Dormant {
				t.Errorf("step %d: contact %s deleted here: its card %s came back as %s", del.step, del.localID, del.href, l.LocalID)
			}
			if want := c.keep && !tandems(del.href); there != want {
				t.Errorf("step %d: contact %s deleted here: its card %s there %v, want %v", del.step, del.localID, del.href, there, want)
			}
		case "event remote":
			if del.localID == "" {
				continue
			}
			if a, err := c.st.GetActivity(ctx, c.v, del.localID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("step %d: event %s deleted remotely: its activity %s is still there: %+v %v", del.step, del.href, del.localID, a, err)
			}
		case "event local":
			if del.href == "" {
				continue
			}
			if _, there := objs[del.href]; there {
				t.Errorf("step %d: activity %s deleted here: its event %s is still there", del.step, del.localID, del.href)
			}
		}
	}
}

// --- objects as content lines ----------------------------------------------------

// doc is an iCalendar or vCard object as its unfolded content lines.
type doc []string

func parseDoc(b []byte) doc { return doc(logicalLines(b)) }

func (d doc) bytes() []byte { return []byte(strings.Join(d, "\r\n") + "\r\n") }

// span is a component: the indexes of its BEGIN and END lines.
type span struct{ begin, end int }

// propName is a content line's property name, without its group.
func propName(l string) string {
	n := l
	if i := strings.IndexAny(n, ";:"); i >= 0 {
		n = n[:i]
	}
	if i := strings.LastIndexByte(n, '.'); i >= 0 {
		n = n[i+1:]
	}
	return strings.ToUpper(n)
}

// comps are the components named name that are not inside another one of
// that name.
func (d doc) comps(name string) []span {
	var out []span
	begin, depth := -1, 0
	for i, l := range d {
		u := strings.ToUpper(l)
		switch {
		case begin < 0 && u == "BEGIN:"+name:
			begin, depth = i, 0
		case begin < 0:
		case strings.HasPrefix(u, "BEGIN:"):
			depth++
		case depth == 0 && u == "END:"+name:
			out = append(out, span{begin, i})
			begin = -1
		case strings.HasPrefix(u, "END:"):
			depth--
		}
	}
	return out
}

// own are the lines of a component's own properties (not those of the
// components inside it).
func (d doc) own(sp span) []int {
	var out []int
	depth := 0
	for i := sp.begin + 1; i < sp.end; i++ {
		u := strings.ToUpper(d[i])
		switch {
		case strings.HasPrefix(u, "BEGIN:"):
			depth++
		case strings.HasPrefix(u, "END:"):
			depth--
		case depth == 0:
			out = append(out, i)
		}
	}
	return out
}

// find is the line of a component's first property named name, or -1.
func (d doc) find(sp span, name string) int {
	for _, i := range d.own(sp) {
		if propName(d[i]) == name {
			return i
		}
	}
	return -1
}

// set replaces the component's first property of line's name, or adds it.
func (d *doc) set(sp span, line string) {
	if i := d.find(sp, propName(line)); i >= 0 {
		(*d)[i] = line
		return
	}
	d.insert(sp, line)
}

// insert adds a property at the end of the component.
func (d *doc) insert(sp span, line string) { *d = slices.Insert(*d, sp.end, line) }

// master is the event that is not an occurrence's override.
func (d doc) master() (span, bool) {
	for _, sp := range d.comps("VEVENT") {
		if d.find(sp, "RECURRENCE-ID") < 0 {
			return sp, true
		}
	}
	return span{}, false
}

// shift moves every time of every event by dd, as a client moving a
// series moves its exceptions with it.
func (d doc) shift(dd time.Duration) {
	for _, sp := range d.comps("VEVENT") {
		for _, i := range d.own(sp) {
			switch propName(d[i]) {
			case "DTSTART", "DTEND", "EXDATE", "RECURRENCE-ID":
				head, val, _ := strings.Cut(d[i], ":")
				vs := strings.Split(val, ",")
				for j, v := range vs {
					vs[j] = shiftValue(strings.TrimSpace(v), dd)
				}
				d[i] = head + ":" + strings.Join(vs, ",")
			}
		}
	}
}

var icsLayouts = map[int]string{8: "20060102", 15: "20060102T150405", 16: "20060102T150405Z"}

func timeOf(v string) time.Time {
	v = strings.TrimSpace(v)
	t, _ := time.Parse(icsLayouts[len(v)], v)
	return t
}

// shiftValue moves a DATE or DATE-TIME value (wall clock for local and
// floating times) by d, keeping its form.
func shiftValue(v string, d time.Duration) string {
	layout, ok := icsLayouts[len(v)]
	if !ok {
		return v
	}
	t, err := time.Parse(layout, v)
	if err != nil {
		return v
	}
	return t.Add(d).Format(layout)
}

func hasTag(c *crm.Contact, id string) bool {
	return slices.ContainsFunc(c.Tags, func(r crm.TagRef) bool { return r.ID == id })
}

func icsEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\n", `\n`).Replace(s)
}
