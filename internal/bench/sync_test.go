package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/emulator/google"
	"github.com/tandem-crm/tandem/internal/oauth"
)

// emulatorChildEnv makes the test binary, started by the benchmark as its
// emulator command, serve the Google emulator the way `tandem emulator
// google` does (package main, out of reach here; cmd/tandem's test runs
// the real command).
const emulatorChildEnv = "TANDEM_BENCH_TEST_EMULATOR"

func emulatorChild(args []string) int {
	fs := flag.NewFlagSet("emulator", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "")
	site := fs.String("tandem-url", "", "")
	id := fs.String("client-id", "", "")
	sec := fs.String("client-secret", "", "")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := google.New(google.Options{Addr: *addr, Seed: 1})
	srv.AddClient(*id, *sec, *site+oauth.GoogleCallbackPath)
	base, err := srv.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("%s%s\n", listening, base)
	<-ctx.Done()
	srv.Close()
	return 0
}

// TestSync runs the sync benchmark tiny on both databases and checks that
// every figure is there and the runs did what they should (Sync itself
// checks the counts of every run). It asserts no timing.
func TestSync(t *testing.T) {
	t.Setenv(emulatorChildEnv, "1")
	for _, db := range databases {
		t.Run(db, func(t *testing.T) {
			s := openStore(t, db)
			ctx := context.Background()
			var progress, prof, iprof bytes.Buffer
			const small, mid, n, changes, rounds, foreign, quota = 50, 100, 200, 10, 2, 301, 30
			r, err := Sync(ctx, s, SyncOptions{N: n, Mid: mid, Small: small, Changes: changes, Rounds: rounds, Foreign: foreign,
				Quota: quota, Emulator: []string{os.Args[0]}, Progress: &progress, CPUProfile: &prof, ImportProfile: &iprof})
			if err != nil {
				t.Fatalf("%v\n%s", err, progress.String())
			}
			if r.Database != db || (db == "sqlite") != (r.Path != "") || r.Changes != changes || len(r.Bindings) != 2 {
				t.Fatalf("result %+v", r)
			}
			for _, run := range []struct {
				name string
				r    SyncRun
				n    int
			}{{"import", r.Import, n}, {"import_mid", r.ImportMid, mid}, {"import_small", r.ImportSmall, small}, {"export", r.Export, n}} {
				if run.r.Contacts != run.n || run.r.Seconds <= 0 || run.r.ContactsPerSec <= 0 || run.r.PeakRSSMB <= 0 ||
					run.r.RSSBeforeMB <= 0 || run.r.CPUSeconds <= 0 || run.r.Calls <= 0 {
					t.Errorf("%s: %+v", run.name, run.r)
				}
			}
			if st := r.Import.Stats; st.LocalCreated != n || st.Pulled != n {
				t.Errorf("import stats %+v", st)
			}
			if st := r.Export.Stats; st.RemoteCreated != n {
				t.Errorf("export stats %+v", st)
			}
			if r.RSSGrowth <= 0 || r.Ratio <= 0 || r.CatchUpMS <= 0 {
				t.Errorf("rss growth %v, ratio %v, catch-up %v", r.RSSGrowth, r.Ratio, r.CatchUpMS)
			}
			for i, b := range r.Bindings {
				if b.Contacts != []int{small, n}[i] || len(b.Incr) != rounds || b.IncrMedianMS <= 0 || b.QuietMS <= 0 {
					t.Errorf("binding %d: %+v", i, b)
				}
				for _, in := range b.Incr {
					if in.Stats.LocalUpdated != changes/2 || in.Stats.RemoteUpdated != changes/2 || in.Calls < 2 { // a listing and a batch write at least
						t.Errorf("binding %d: incremental run %+v", i, in)
					}
				}
			}
			if r.AfterImports.LogEntries < n+mid || r.AfterImports.MS <= 0 {
				t.Errorf("run after the other bindings %+v", r.AfterImports)
			}
			if f := r.CatchUp; f == nil || f.LogEntries != foreign || f.Created != 151 || f.Edited != 150 || f.MS != r.CatchUpMS ||
				f.Stats.Pulled != 0 {
				t.Errorf("catch-up run %+v", f)
			}
			// 30 contacts fit in the quotas' first minute: no floor, so no
			// ratio.
			if q := r.Quota; q == nil || q.Contacts != quota || q.Exported != quota || !q.Complete || q.WallS <= 0 ||
				q.FloorS != 0 || q.Ratio != 0 || q.Runs < 1 || q.Calls <= 0 || q.Quotas.PeopleCriticalWrites <= 0 || q.FloorModel == "" {
				t.Errorf("quota run %+v", q)
			}
			if r.Emulator.PeakRSSMB <= 0 || r.Emulator.SeedSeconds <= 0 {
				t.Errorf("emulator %+v", r.Emulator)
			}
			if prof.Len() == 0 || iprof.Len() == 0 {
				t.Error("no CPU profile")
			}

			// The JSON has the fields issue 8 names, positive.
			js, err := json.Marshal(SyncReport{SQLite: &r})
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]map[string]any
			if err := json.Unmarshal(js, &doc); err != nil {
				t.Fatal(err)
			}
			for _, path := range []string{"import.contacts_per_sec", "import.peak_rss_mb", "import_mid.contacts_per_sec",
				"import_mid.peak_rss_mb", "export.contacts_per_sec", "export.peak_rss_mb", "incremental_ratio", "catch_up_ms",
				"quota.wall_s", "import_rss_growth", "emulator.peak_rss_mb"} {
				var v any = doc["sqlite"]
				for _, k := range strings.Split(path, ".") {
					v = v.(map[string]any)[k]
				}
				if f, ok := v.(float64); !ok || f <= 0 {
					t.Errorf("JSON %s = %v, want a positive number", path, v)
				}
			}
			if _, ok := doc["sqlite"]["quota"].(map[string]any)["floor_s"]; !ok {
				t.Error("JSON lacks quota.floor_s")
			}
			var back SyncReport
			if err := json.Unmarshal(js, &back); err != nil || !reflect.DeepEqual(*back.SQLite, r) {
				t.Errorf("JSON round trip: %v\n%s", err, js)
			}

			var text bytes.Buffer
			r.Text(&text)
			for _, want := range []string{"import rate", "export rate", "incremental ratio", "catch-up run", "quota run",
				"contacts/s", "peak MB", "emulator", fmt.Sprintf("%9d ", n)} {
				if !strings.Contains(text.String(), want) {
					t.Errorf("text lacks %q:\n%s", want, text.String())
				}
			}
			if !strings.Contains(progress.String(), fmt.Sprintf("%d/%d pulled", n, n)) {
				t.Errorf("progress:\n%s", progress.String())
			}
			if _, err := Sync(ctx, s, SyncOptions{N: 10, Small: 5, Changes: 2, Emulator: []string{os.Args[0]}}); err == nil ||
				!strings.Contains(err.Error(), "not empty") {
				t.Errorf("second run on the same database: %v, want a not-empty error", err)
			}
			t.Logf("%s", text.String())
		})
	}
}

// TestSyncEmulatorFails checks that an emulator command that does not
// serve is an error, not a hang.
func TestSyncEmulatorFails(t *testing.T) {
	s := openStore(t, "sqlite")
	start := time.Now()
	_, err := Sync(context.Background(), s, SyncOptions{N: 10, Small: 5, Changes: 2, Emulator: []string{"/bin/false"}})
	if err == nil || !strings.Contains(err.Error(), "emulator ended before serving") {
		t.Errorf("err %v", err)
	}
	if time.Since(start) > 30*time.Second {
		t.Errorf("took %s", time.Since(start))
	}
}

func TestQuotaFloor(t *testing.T) {
	q := google.Quotas{PeopleCriticalReads: 90, PeopleCriticalWrites: 60}
	for _, c := range []struct {
		n    int
		q    google.Quotas
		want time.Duration
	}{
		{0, q, 0},
		{1, q, 0},
		// 60/6 = 10 batch calls a minute: 25 calls of 200 → the 25th at 2 min.
		{5000, q, 2 * time.Minute},
		{2000, q, 0},           // 10 calls
		{2001, q, time.Minute}, // 11 calls
		// A limit under a batch's 6 units rules batches out: 1 contact a
		// call, 5 calls a minute.
		{50, google.Quotas{PeopleCriticalWrites: 5}, 9 * time.Minute},
		{11, google.Quotas{PeopleCriticalWrites: 5}, 2 * time.Minute},
		{100000, google.Quotas{}, 0},
	} {
		got, err := quotaFloor(c.n, c.q)
		if err != nil || got != c.want {
			t.Errorf("quotaFloor(%d, %+v) = %v, %v; want %v", c.n, c.q, got, err, c.want)
		}
	}
}
