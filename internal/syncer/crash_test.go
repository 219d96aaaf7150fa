package syncer_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/app"
	"github.com/tandem-crm/tandem/internal/bench"
	"github.com/tandem-crm/tandem/internal/config"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/emulator/google"
	"github.com/tandem-crm/tandem/internal/oauth/oauthtest"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/syncer"
	"github.com/tandem-crm/tandem/internal/testenv/storetest"
)

// The crash test's parent hands the child process its data folder, key,
// connection and emulator in these variables.
const (
	crashEnvHelper = "TANDEM_CRASH_HELPER"
	crashEnvData   = "TANDEM_CRASH_DATA"
	crashEnvKey    = "TANDEM_CRASH_KEY"
	crashEnvConn   = "TANDEM_CRASH_CONNECTION"
	crashEnvGoogle = "TANDEM_CRASH_GOOGLE"
)

const (
	crashGoogleUser = "crash@gmail.com"
	crashMarkerKey  = "tandem.marker" // connector/google's clientData key
	crashReady      = "crash-helper: running"
	crashDone       = "crash-helper: done "
)

// TestCrashHelperProcess is the child of TestCrashNoDuplicates: it opens
// the app on the parent's data folder, as `tandem sync run` does, and runs
// the connection once. The parent kills it with SIGKILL at a random moment.
func TestCrashHelperProcess(t *testing.T) {
	if os.Getenv(crashEnvHelper) != "1" {
		t.Skip("the child process of TestCrashNoDuplicates")
	}
	ctx := context.Background()
	cfg := &config.Config{DataDir: os.Getenv(crashEnvData), SecretKey: os.Getenv(crashEnvKey)}
	a, err := app.Open(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("open app: %v", err)
	}
	defer a.Close(ctx)
	if api, err := a.Settings.Get(ctx, "GoogleApiUrl"); err != nil || api != os.Getenv(crashEnvGoogle) {
		t.Fatalf("GoogleApiUrl %q (%v), want the parent's emulator %q", api, err, os.Getenv(crashEnvGoogle))
	}
	fmt.Println(crashReady)
	res, err := a.Sync.RunConnection(ctx, os.Getenv(crashEnvConn))
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	js, _ := json.Marshal(res.Stats[syncer.KindContacts])
	fmt.Println(crashDone + string(js))
}

// TestCrashNoDuplicates is invariant 1 (no duplicates) under crashes: a
// Tandem process exporting 5,000 tagged contacts to Google is killed with
// SIGKILL at random moments 50 times, each time resumed by a new process;
// then a run to completion and two more. Exactly one Google contact per
// tagged contact must exist, each linked, with no pending link, no Google
// contact without a link, and no local contact lost or duplicated.
//
// The emulator runs in this process, so it outlives the children; the
// children hold only the SQLite file, which a kill cannot corrupt. Between
// children the test expires the run lease a killed child held (2 minutes
// in production). TANDEM_CRASH_SEED picks another sequence of kill moments.
func TestCrashNoDuplicates(t *testing.T) {
	if testing.Short() {
		t.Skip("kills 50 processes; skipped with -short")
	}
	const contacts, kills = 5000, 50
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

	env := append(os.Environ(), crashEnvHelper+"=1", crashEnvData+"="+cfg.DataDir, crashEnvKey+"="+key,
		crashEnvConn+"="+conn.ID, crashEnvGoogle+"="+g.URL)
	db := openRaw(t, cfg.SQLitePath())
	creates := func() int { return g.Calls()["people.createContact"] }

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
		expireLease(t, db, conn.ID)
		w := max(float64(max(contacts-creates(), 0))/rate/float64(kills-killed+1), 0.002)
		delay := time.Duration(rng.Float64() * 2 * w * float64(time.Second))
		ch := startChild(t, env)
		t0 := time.Now()
		if ch.killAfter(delay) {
			killed++
		} else {
			finished++
			if !ch.ok() {
				t.Fatalf("child %d failed on its own:\n%s", k, ch.output())
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

	// Resume: one child runs to completion.
	expireLease(t, db, conn.ID)
	ch := startChild(t, env)
	if !ch.wait(2 * time.Minute) {
		t.Fatalf("the resuming run did not finish:\n%s", ch.output())
	}
	if !ch.ok() {
		t.Fatalf("the resuming run failed:\n%s", ch.output())
	}
	t.Logf("resuming run: %s", ch.stats())
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
	if len(people) != contacts {
		t.Errorf("%d Google contacts for %d tagged contacts", len(people), contacts)
	}
	for m, n := range byMarker {
		if m == "" || n != 1 {
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
	if len(links) != contacts {
		t.Errorf("%d links for %d contacts", len(links), contacts)
	}
	linked := map[string]bool{}
	for _, l := range links {
		m, live := remoteMarker[l.RemoteID]
		switch {
		case l.Pending || l.RemoteID == "":
			errf("link of %s is pending", l.LocalID)
		case !live:
			errf("link of %s names %s, which is not in Google", l.LocalID, l.RemoteID)
		case m != l.Marker:
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
	if len(local) != contacts {
		t.Errorf("%d local contacts, want %d", len(local), contacts)
	}
	t.Logf("total %.1f s", time.Since(started).Seconds())
}

// openRaw opens the SQLite file for the few reads and writes the test does
// behind the store's back.
func openRaw(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

// expireLease ends the run lease a killed child held: in production it
// expires syncer.DefaultLeaseTTL (2 minutes) after its last renewal.
func expireLease(t *testing.T, db *sql.DB, connID string) {
	t.Helper()
	if _, err := db.Exec(`UPDATE connections SET run_lease_holder = '', run_lease_until = 0 WHERE id = ?`, connID); err != nil {
		t.Fatal(err)
	}
}

func linkCounts(t *testing.T, db *sql.DB) (complete, pending int) {
	t.Helper()
	if err := db.QueryRow(`SELECT COALESCE(SUM(CASE WHEN pending THEN 0 ELSE 1 END), 0),
		COALESCE(SUM(CASE WHEN pending THEN 1 ELSE 0 END), 0) FROM sync_links`).Scan(&complete, &pending); err != nil {
		t.Fatal(err)
	}
	return complete, pending
}

// child is a running helper process.
type child struct {
	cmd   *exec.Cmd
	ready chan struct{} // closed when it starts the run (or ends)
	exit  chan struct{} // closed when it has ended
	err   error         // of Wait

	mu  sync.Mutex
	out strings.Builder
}

func startChild(t *testing.T, env []string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelperProcess$", "-test.count=1")
	cmd.Env = env
	c := &child{cmd: cmd, ready: make(chan struct{}), exit: make(chan struct{})}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = &lockedWriter{c}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		var once sync.Once
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			c.mu.Lock()
			c.out.WriteString(line + "\n")
			c.mu.Unlock()
			if line == crashReady {
				once.Do(func() { close(c.ready) })
			}
		}
		io.Copy(io.Discard, stdout)
		once.Do(func() { close(c.ready) })
		c.err = cmd.Wait()
		close(c.exit)
	}()
	return c
}

type lockedWriter struct{ c *child }

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	return w.c.out.Write(p)
}

// killAfter kills the child with SIGKILL d after it started its run and
// reports whether it did (false: the child ended first).
func (c *child) killAfter(d time.Duration) bool {
	select {
	case <-c.ready:
	case <-time.After(time.Minute):
	}
	select {
	case <-c.exit:
		return false
	case <-time.After(d):
	}
	c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.exit
	return !c.ok()
}

func (c *child) wait(d time.Duration) bool {
	select {
	case <-c.exit:
		return true
	case <-time.After(d):
		c.cmd.Process.Signal(syscall.SIGKILL)
		<-c.exit
		return false
	}
}

func (c *child) ok() bool { return c.err == nil && strings.Contains(c.output(), crashDone) }

func (c *child) output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.String()
}

func (c *child) stats() string {
	out := c.output()
	if i := strings.Index(out, crashDone); i >= 0 {
		s, _, _ := strings.Cut(out[i+len(crashDone):], "\n")
		return s
	}
	return ""
}
