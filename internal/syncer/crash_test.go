package syncer_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/app"
	"github.com/tandem-crm/tandem/internal/bench"
	"github.com/tandem-crm/tandem/internal/config"
	gconn "github.com/tandem-crm/tandem/internal/connector/google"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/emulator/google"
	"github.com/tandem-crm/tandem/internal/oauth/oauthtest"
	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/syncer"
	"github.com/tandem-crm/tandem/internal/testenv/crashtest"
	"github.com/tandem-crm/tandem/internal/testenv/storetest"
)

// The crash test's parent hands the child process the emulator in this
// variable, next to what package crashtest passes.
const crashEnvGoogle = "TANDEM_CRASH_GOOGLE"

const (
	crashGoogleUser = "crash@gmail.com"
	crashMarkerKey  = "tandem.marker" // connector/google's clientData key
)

// TestCrashHelperProcess is the child of TestCrashNoDuplicates: it opens
// the app on the parent's data folder, as `tandem sync run` does, and runs
// the connection once. The parent kills it with SIGKILL at a random moment.
func TestCrashHelperProcess(t *testing.T) {
	cfg, connID := crashtest.Helper(t, "TestCrashNoDuplicates")
	ctx := context.Background()
	a, err := app.Open(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("open app: %v", err)
	}
	defer a.Close(ctx)
	if api, err := a.Settings.Get(ctx, "GoogleApiUrl"); err != nil || api != os.Getenv(crashEnvGoogle) {
		t.Fatalf("GoogleApiUrl %q (%v), want the parent's emulator %q", api, err, os.Getenv(crashEnvGoogle))
	}
	crashtest.Ready()
	res, err := a.Sync.RunConnection(ctx, connID)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	crashtest.Done(res.Stats[syncer.KindContacts])
}

// TestCrashNoDuplicates is invariant 1 (no duplicates) under crashes: a
// Tandem process importing 1,500 Google contacts and exporting 5,000
// tagged contacts to Google is killed with SIGKILL at random moments 50
// times, each time resumed by a new process; then a run to completion and
// two more. Besides the random kills, three land where the engine's
// batching must hold: between two items of one page transaction of the
// import (the page must not be half applied), after a batch of creates
// reached Google but before its links were completed (found by marker
// next), and, after contacts were edited on both
// sides, between a page's commit and the remote writes it queued (the
// local edits must still reach Google). Exactly one Google contact per
// tagged contact must exist, each linked, with no pending link, no Google
// contact without a link, no local contact lost or duplicated, and the
// contacts edited on both sides equal on both.
//
// The emulator runs in this process, so it outlives the children; the
// children hold only the SQLite file, which a kill cannot corrupt. Between
// children the test expires the run lease a killed child held (2 minutes
// in production). TANDEM_CRASH_SEED picks another sequence of kill moments.
func TestCrashNoDuplicates(t *testing.T) {
	if testing.Short() {
		t.Skip("kills 50 processes; skipped with -short")
	}
	const contacts, imports, kills = 5000, 1500, 50
	seed := uint64(1)
	if v := os.Getenv("TANDEM_CRASH_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("TANDEM_CRASH_SEED: %v", err)
		}
		seed = n
	}
	t.Logf("seed %d (TANDEM_CRASH_SEED)", seed)
	ctx := context.Background()
	started := time.Now()

	// The parent's part: the emulator, and a data folder with a user, a
	// personal tag on 5,000 contacts, a Google account connected through
	// OAuth and its contact binding enabled for the tag.
	// Quotas off: 5,000 creates under Google's per-minute quotas take
	// minutes to hours of real time (the children's clock is real), and
	// this test is about crashes; connector/google's tests cover quotas.
	g := oauthtest.New(t, google.Options{Seed: int64(seed), Quotas: &google.Quotas{}}, bench.GoogleRedirectURI)
	g.AddUser(crashGoogleUser, "Crash")
	keyBytes := make([]byte, 32)
	rand.Read(keyBytes)
	key := base64.StdEncoding.EncodeToString(keyBytes)
	cfg := &config.Config{DataDir: t.TempDir(), SecretKey: key}
	a, err := app.Open(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Configure(ctx, a.Settings); err != nil {
		t.Fatal(err)
	}
	v := storetest.User(t, a.Store, "crash@example.com")
	tag := &crm.Tag{Name: "Google"}
	if err := a.Store.SaveTag(ctx, v, tag); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for first := 0; first < contacts; first += 500 {
		err := a.Store.InTx(ctx, func(tx *store.Tx) error {
			for i := first; i < min(first+500, contacts); i++ {
				c := &crm.Contact{GivenName: "Crash", FamilyName: fmt.Sprintf("C%05d", i),
					Emails: []crm.Email{{Address: fmt.Sprintf("c%05d@example.com", i)}},
					Phones: []crm.Phone{{Number: fmt.Sprintf("+1 555 %07d", i)}}, JobTitle: "Tester",
					Tags: []crm.TagRef{{ID: tag.ID}}}
				if err := tx.CreateContact(ctx, v, c); err != nil {
					return err
				}
				want[c.Name] = true
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// Google's side: the group the binding uses, with contacts to import
	// (three pages of a listing).
	group, err := g.CreateContactGroup(crashGoogleUser, gconn.DefaultGroupName)
	if err != nil {
		t.Fatal(err)
	}
	for i := range imports {
		name := fmt.Sprintf("I%05d", i)
		if _, err := g.CreateContact(crashGoogleUser, map[string]any{
			"names":          []any{map[string]any{"givenName": "Import", "familyName": name}},
			"emailAddresses": []any{map[string]any{"value": "i" + name + "@example.org"}},
			"memberships":    []any{map[string]any{"contactGroupMembership": map[string]any{"contactGroupResourceName": group}}},
		}); err != nil {
			t.Fatal(err)
		}
		want["Import "+name] = true
	}
	conn, err := bench.ConnectGoogle(ctx, a.OAuth, g.Server, v.UserID, crashGoogleUser)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Sync.ContactBinding(ctx, conn.ID); err != nil {
		t.Fatal(err)
	}
	if err := a.Sync.SaveContactSettings(ctx, v, conn.ID, true, syncer.ContactSettings{TagID: tag.ID}); err != nil {
		t.Fatal(err)
	}
	a.Close(ctx) // the children own the data folder from here
	t.Logf("prepared %d contacts in %.1f s", contacts, time.Since(started).Seconds())

	env := crashtest.Env(cfg, conn.ID, crashEnvGoogle+"="+g.URL)
	db := crashtest.OpenRaw(t, cfg)
	startChild := func(t *testing.T, env []string) *crashtest.Child {
		return crashtest.Start(t, "TestCrashHelperProcess", env)
	}
	// Google contacts Tandem created: those carrying its marker (creates
	// go 200 to a request, so counting requests would not do).
	creates := func() int {
		n := 0
		for _, p := range g.People(crashGoogleUser) {
			cd, _ := p["clientData"].([]any)
			for _, d := range cd {
				if m, _ := d.(map[string]any); m != nil && m["key"] == "tandem.marker" {
					n++
					break
				}
			}
		}
		return n
	}
	countContacts := func() int {
		t.Helper()
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM contacts`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// A kill inside a page: the import's second page (of 500) is half
	// applied when the child stops; the page is one transaction, so the
	// store holds the first page only, and the next child applies the
	// second again, once.
	ch0 := startChild(t, append(env, crashtest.Halt(reconcile.HookItem, 750)))
	if !ch0.KillWhenHalted() {
		t.Fatalf("the child did not halt inside the import's second page:\n%s", ch0.Output())
	}
	if n := countContacts(); n != contacts+500 {
		t.Errorf("%d contacts after a kill inside the second page, want %d (the first page's only)", n, contacts+500)
	}

	// A kill after a batch of creates reached Google, before their links
	// are completed: the batch's pending links stay, with markers.
	crashtest.ExpireLease(t, db, conn.ID)
	chp := startChild(t, append(env, crashtest.Halt(reconcile.HookPushed, 2)))
	if !chp.KillWhenHalted() {
		t.Fatalf("the child did not halt after a batch of creates:\n%s", chp.Output())
	}
	if _, pending := linkCounts(t, db); pending == 0 || creates() == 0 {
		t.Errorf("after a kill between a batch's creates and its links: %d pending links, %d creates", pending, creates())
	}

	// The kills. Each child is killed a random time after it reports that
	// it starts the run, drawn uniformly from [0, 2w], where w is the
	// running time that spreads the remaining creates evenly over the
	// remaining kills and one more run, at the create rate measured so far:
	// so the kills fall all along the 5,000 creates, whatever this
	// machine's speed, and the last one still before the end. A child that
	// ends before its kill does not count.
	rng := mrand.New(mrand.NewPCG(seed, 0x6b696c6c))
	rate := 300.0 // creates per second of a running child; learned below
	var running time.Duration
	var killed, finished, leftPending, leftUnlinked int
	killStart := time.Now()
	for k := 0; killed < kills && k < 2*kills; k++ {
		crashtest.ExpireLease(t, db, conn.ID)
		w := max(float64(max(contacts-creates(), 0))/rate/float64(kills-killed+1), 0.002)
		delay := time.Duration(rng.Float64() * 2 * w * float64(time.Second))
		ch := startChild(t, env)
		t0 := time.Now()
		if ch.KillAfter(delay) {
			killed++
		} else {
			finished++
			if !ch.OK() {
				t.Fatalf("child %d failed on its own:\n%s", k, ch.Output())
			}
		}
		running += time.Since(t0)
		if n := creates(); n > 0 {
			rate = float64(n) / running.Seconds()
		}
		complete, pending := linkCounts(t, db)
		if pending > 0 {
			leftPending++
		}
		if creates() > complete {
			leftUnlinked++
		}
	}
	t.Logf("%d children killed, %d finished on their own, in %.1f s; %d kills left a pending link, %d a Google contact without a link (%d creates so far, %.0f creates/s)",
		killed, finished, time.Since(killStart).Seconds(), leftPending, leftUnlinked, creates(), rate)
	if killed < kills || leftPending+leftUnlinked == 0 {
		t.Errorf("the kills missed the sync (%d killed; %d fell between a pending link and its completion): the test proved nothing",
			killed, leftPending+leftUnlinked)
	}

	// A kill between a page's commit and the remote writes it queued:
	// contacts edited on both sides (the job title in Google, the notes in
	// Tandem) merge in the pull, whose page commits the remote titles
	// locally and queues the notes for Google; the child stops there.
	edited := editBothSides(t, ctx, cfg, g.Server, conn.ID, 40)
	crashtest.ExpireLease(t, db, conn.ID)
	chc := startChild(t, append(env, crashtest.Halt(reconcile.HookCommitted, 1)))
	if !chc.KillWhenHalted() {
		t.Fatalf("the child did not halt after a page with queued remote writes:\n%s", chc.Output())
	}

	// Resume: one child runs to completion.
	crashtest.ExpireLease(t, db, conn.ID)
	ch := startChild(t, env)
	if !ch.Wait(2 * time.Minute) {
		t.Fatalf("the resuming run did not finish:\n%s", ch.Output())
	}
	if !ch.OK() {
		t.Fatalf("the resuming run failed:\n%s", ch.Output())
	}
	t.Logf("resuming run: %s", ch.Stats())
	db.Close()

	// Then two more runs in this process: they find nothing to do.
	a, err = app.Open(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(ctx)
	for i := range 2 {
		res, err := a.Sync.RunConnection(ctx, conn.ID)
		st := res.Stats[syncer.KindContacts]
		if err != nil || st.RemoteCreated+st.LocalCreated+st.RemoteRemoved+st.LocalRemoved+st.Skipped != 0 {
			t.Errorf("run %d after the resume: %+v, %v", i+2, st, err)
		}
	}

	// Google: exactly one contact per tagged contact, in the group, each
	// carrying its own marker.
	b, _, err := a.Sync.ContactBinding(ctx, conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	people := g.People(crashGoogleUser)
	// Per-item findings: the first few of each kind, then a count.
	counts := map[string]int{}
	errf := func(format string, args ...any) {
		t.Helper()
		if counts[format]++; counts[format] <= 10 {
			t.Errorf(format, args...)
		}
	}
	defer func() {
		for f, n := range counts {
			if n > 10 {
				t.Errorf("… and %d more: %q", n-10, f)
			}
		}
	}()
	byMarker, byName, remoteMarker := map[string]int{}, map[string]int{}, map[string]string{}
	for _, p := range people {
		rn, _ := p["resourceName"].(string)
		marker := ""
		cds, _ := p["clientData"].([]any)
		for _, cd := range cds {
			if m, _ := cd.(map[string]any); m["key"] == crashMarkerKey {
				marker, _ = m["value"].(string)
			}
		}
		byMarker[marker]++
		byName[displayName(p)]++
		remoteMarker[rn] = marker
		if !google.InGroup(p, b.Collection) {
			errf("%s (%s) is not in the group", rn, displayName(p))
		}
	}
	if len(people) != contacts+imports {
		t.Errorf("%d Google contacts for %d tagged contacts", len(people), contacts+imports)
	}
	for m, n := range byMarker {
		if (m == "" && n != imports) || (m != "" && n != 1) {
			errf("marker %q on %d Google contacts", m, n)
		}
	}
	for name, n := range byName {
		if n != 1 || !want[name] {
			errf("Google contact %q: %d of them (tagged locally: %v)", name, n, want[name])
		}
	}
	for name := range want {
		if byName[name] == 0 {
			errf("%q is missing in Google", name)
		}
	}

	// Links: one complete link per contact, to a live Google contact with
	// the link's marker; no Google contact without a link.
	links, err := a.Store.Links(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(links) != contacts+imports {
		t.Errorf("%d links for %d contacts", len(links), contacts+imports)
	}
	linked := map[string]bool{}
	for _, l := range links {
		m, live := remoteMarker[l.RemoteID]
		switch {
		case l.Pending || l.RemoteID == "":
			errf("link of %s is pending", l.LocalID)
		case !live:
			errf("link of %s names %s, which is not in Google", l.LocalID, l.RemoteID)
		case m != l.Marker && m != "": // imported items carry no marker
			errf("link of %s has marker %q, its Google contact %q", l.LocalID, l.Marker, m)
		case linked[l.RemoteID]:
			errf("%s is linked twice", l.RemoteID)
		}
		linked[l.RemoteID] = true
	}
	for rn := range remoteMarker {
		if !linked[rn] {
			errf("Google contact %s has no link", rn)
		}
	}

	// Tandem: the same 5,000 contacts, all tagged, none added.
	var local []crm.Contact
	page := store.Page{Limit: 500}
	for {
		cs, next, err := a.Store.ListContacts(ctx, v, store.ContactFilter{Page: page})
		if err != nil {
			t.Fatal(err)
		}
		local = append(local, cs...)
		if next == "" {
			break
		}
		page.Cursor = next
	}
	seen := map[string]bool{}
	for _, c := range local {
		if seen[c.Name] || !want[c.Name] {
			errf("local contact %q: duplicate or unexpected", c.Name)
		}
		seen[c.Name] = true
		if !slices.ContainsFunc(c.Tags, func(r crm.TagRef) bool { return r.ID == tag.ID }) {
			errf("local contact %q lost its tag", c.Name)
		}
	}
	if len(local) != contacts+imports {
		t.Errorf("%d local contacts, want %d", len(local), contacts+imports)
	}
	// The contacts edited on both sides carry both edits on both sides.
	byID := map[string]crm.Contact{}
	for _, c := range local {
		byID[c.ID] = c
	}
	remoteOf := map[string]map[string]any{}
	for _, p := range people {
		rn, _ := p["resourceName"].(string)
		remoteOf[rn] = p
	}
	for _, e := range edited {
		c := byID[e.localID]
		p := remoteOf[e.remoteID]
		if c.JobTitle != e.title || c.Notes != e.notes {
			errf("contact %s after the both-sides edit: title %q notes %q, want %q %q", c.Name, c.JobTitle, c.Notes, e.title, e.notes)
		}
		if p == nil || personText(p, "organizations", "title") != e.title || personText(p, "biographies", "value") != e.notes {
			errf("Google contact %s after the both-sides edit: %v", e.remoteID, p)
		}
	}
	t.Logf("total %.1f s", time.Since(started).Seconds())
}

// bothSides is a contact edited in Google and in Tandem.
type bothSides struct{ localID, remoteID, title, notes string }

// editBothSides edits n linked contacts on both sides: the job title in
// Google, the notes in Tandem.
func editBothSides(t *testing.T, ctx context.Context, cfg *config.Config, g *google.Server, connID string, n int) []bothSides {
	t.Helper()
	a, err := app.Open(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(ctx)
	b, _, err := a.Sync.ContactBinding(ctx, connID)
	if err != nil {
		t.Fatal(err)
	}
	links, err := a.Store.Links(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	c0, err := a.Store.GetConnection(ctx, connID)
	if err != nil {
		t.Fatal(err)
	}
	v, err := a.Store.Viewer(ctx, c0.UserID)
	if err != nil {
		t.Fatal(err)
	}
	var out []bothSides
	for _, l := range links {
		if len(out) == n {
			break
		}
		if l.Pending || l.Dormant || l.RemoteID == "" {
			continue
		}
		e := bothSides{localID: l.LocalID, remoteID: l.RemoteID, title: fmt.Sprintf("Remote title %d", len(out)),
			notes: fmt.Sprintf("Local note %d", len(out))}
		if err := g.UpdateContact(crashGoogleUser, l.RemoteID, map[string]any{
			"organizations": []any{map[string]any{"title": e.title}}}, "organizations"); err != nil {
			t.Fatal(err)
		}
		c, err := a.Store.GetContact(ctx, v, l.LocalID)
		if err != nil {
			t.Fatal(err)
		}
		c.Notes, c.Tags, c.Access = e.notes, nil, nil
		if err := a.Store.UpdateContact(store.WithOrigin(ctx, "ui"), v, c, c.Version); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	if len(out) < n {
		t.Fatalf("only %d linked contacts to edit", len(out))
	}
	return out
}

// personText is the first entry's key of a person's list field.
func personText(p map[string]any, field, key string) string {
	l, _ := p[field].([]any)
	if len(l) == 0 {
		return ""
	}
	m, _ := l[0].(map[string]any)
	v, _ := m[key].(string)
	return v
}

func linkCounts(t *testing.T, db *sql.DB) (complete, pending int) {
	t.Helper()
	if err := db.QueryRow(`SELECT COALESCE(SUM(CASE WHEN pending THEN 0 ELSE 1 END), 0),
		COALESCE(SUM(CASE WHEN pending THEN 1 ELSE 0 END), 0) FROM sync_links`).Scan(&complete, &pending); err != nil {
		t.Fatal(err)
	}
	return complete, pending
}
