package reconcile_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/store"
)

// The engine's own cost, without HTTP or a provider: a first import of
// benchN remote contacts from an in-memory collection into a new store,
// and a first export of benchN tagged contacts to it (through a
// BatchWriter of 200 a call, as Google's batch endpoints take). They
// report contacts/s; -cpuprofile shows where the time goes.
//
//	go test ./internal/reconcile -run '^$' -bench . -benchtime 3x -cpuprofile cpu.out
const benchN = 10000

func BenchmarkImportSQLite(b *testing.B)   { benchImport(b, false) }
func BenchmarkImportPostgres(b *testing.B) { benchImport(b, true) }
func BenchmarkExportSQLite(b *testing.B)   { benchExport(b, false) }
func BenchmarkExportPostgres(b *testing.B) { benchExport(b, true) }

// The Changed benchmarks are an incremental run after 100 of benchN
// linked contacts changed remotely (tandem bench dav's changed run without
// the server): each iteration changes the next 100 and runs once. They
// report contacts/s of the changed ones.
func BenchmarkChangedSQLite(b *testing.B)   { benchChanged(b, false) }
func BenchmarkChangedPostgres(b *testing.B) { benchChanged(b, true) }

func benchFields(i int) reconcile.Fields {
	return reconcile.Fields{
		reconcile.FieldGivenName: fmt.Sprintf("Given%d", i), reconcile.FieldFamilyName: fmt.Sprintf("Family%d", i),
		reconcile.FieldName:   fmt.Sprintf("Given%d Family%d", i, i),
		reconcile.FieldEmails: fmt.Sprintf("person%d@example.com|work|primary", i),
		reconcile.FieldPhones: fmt.Sprintf("+1 555 %07d|mobile|primary", i), reconcile.FieldJobTitle: "Engineer",
	}
}

func benchFixture(b *testing.B, pg bool) *fixture {
	f := newFixtureOn(b, pg)
	f.conn.pageSize = 1000
	return f
}

// analyze refreshes PostgreSQL's statistics after a bulk load, as
// autovacuum does on a live server (tandem bench sync does the same).
func analyze(b *testing.B, st *store.Store) {
	if st.Postgres() {
		if _, err := st.PgxPool().Exec(context.Background(), "ANALYZE"); err != nil {
			b.Fatal(err)
		}
	}
}

func benchImport(b *testing.B, pg bool) {
	for range b.N {
		b.StopTimer()
		f := benchFixture(b, pg)
		for i := range benchN {
			f.conn.remoteAdd(benchFields(i))
		}
		b.StartTimer()
		if s := f.run(); s.LocalCreated != benchN {
			b.Fatalf("import %+v", s)
		}
	}
	b.ReportMetric(float64(benchN*b.N)/b.Elapsed().Seconds(), "contacts/s")
}

func benchChanged(b *testing.B, pg bool) {
	const changed = 100
	f := benchFixture(b, pg)
	f.conn.pageSize = changed
	var ids []string
	for i := range benchN {
		ids = append(ids, f.conn.remoteAdd(benchFields(i)))
	}
	if s := f.run(); s.LocalCreated != benchN {
		b.Fatalf("import %+v", s)
	}
	analyze(b, f.st)
	b.ResetTimer()
	for n := range b.N {
		b.StopTimer()
		for i := range changed {
			k := (n*changed + i) % benchN
			f.conn.remoteEdit(ids[k], reconcile.Fields{reconcile.FieldJobTitle: fmt.Sprintf("Title %d", n),
				reconcile.FieldPhones: fmt.Sprintf("+1 555 %07d|mobile|primary", k+n)})
		}
		b.StartTimer()
		if s := f.run(); s.LocalUpdated != changed {
			b.Fatalf("run %+v", s)
		}
	}
	b.ReportMetric(float64(changed*b.N)/b.Elapsed().Seconds(), "contacts/s")
}

func benchExport(b *testing.B, pg bool) {
	for range b.N {
		b.StopTimer()
		f := benchFixture(b, pg)
		f.remote = &batchConn{memConn: f.conn, max: 200}
		for first := 0; first < benchN; first += 1000 {
			err := f.st.InTx(f.ui(), func(tx *store.Tx) error {
				for i := first; i < first+1000; i++ {
					c := &crm.Contact{Tags: []crm.TagRef{{ID: f.tag}}}
					reconcile.ApplyContactFields(c, benchFields(i), reconcile.ContactFieldNames)
					if err := tx.CreateContact(f.ui(), f.v, c); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		analyze(b, f.st)
		b.StartTimer()
		if s := f.run(); s.RemoteCreated != benchN {
			b.Fatalf("export %+v", s)
		}
	}
	b.ReportMetric(float64(benchN*b.N)/b.Elapsed().Seconds(), "contacts/s")
}

// The ImportScale benchmarks import -import.n generated contacts from a
// connector that holds none of them, and report the process's peak RSS
// during the import (Linux: VmHWM, reset before it), so that running them
// at two sizes shows whether anything in the engine grows with N:
//
//	go test ./internal/reconcile -run '^$' -bench ImportScale -benchtime 1x -import.n 100000
var importN = flag.Int("import.n", benchN, "contacts the ImportScale benchmarks import")

func BenchmarkImportScaleSQLite(b *testing.B)   { benchImportScale(b, false) }
func BenchmarkImportScalePostgres(b *testing.B) { benchImportScale(b, true) }

// genConn lists n generated contacts, a page at a time, without keeping
// them. An import calls List only; the embedded nil Connector makes any
// other call fail the benchmark loudly.
type genConn struct {
	reconcile.Connector
	n, pageSize int
}

func (g genConn) List(ctx context.Context, cursor, page string) (reconcile.Page, error) {
	if cursor != "" {
		return reconcile.Page{NextCursor: "done"}, nil
	}
	from, _ := strconv.Atoi(page)
	to := min(from+g.pageSize, g.n)
	p := reconcile.Page{Items: make([]reconcile.Item, 0, to-from)}
	for i := from; i < to; i++ {
		p.Items = append(p.Items, reconcile.Item{RemoteID: "g" + strconv.Itoa(i), ETag: `"1"`, Fields: benchFields(i)})
	}
	if to < g.n {
		p.NextPage = strconv.Itoa(to)
	} else {
		p.NextCursor = "done"
	}
	return p, nil
}

func benchImportScale(b *testing.B, pg bool) {
	var peak, base int64
	for range b.N {
		b.StopTimer()
		f := benchFixture(b, pg)
		runtime.GC()
		// Writing 5 resets VmHWM to the current RSS.
		if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
			b.Skipf("cannot reset the peak RSS: %v", err)
		}
		base = max(base, procStatus(b, "VmRSS:"))
		b.StartTimer()
		s, err := f.eng.Run(f.ctx, f.b.ID, genConn{n: *importN, pageSize: 1000}, f.local)
		if err != nil || s.LocalCreated != *importN {
			b.Fatalf("import %+v, %v", s, err)
		}
		b.StopTimer()
		peak = max(peak, procStatus(b, "VmHWM:"))
		b.StartTimer()
	}
	b.ReportMetric(float64(*importN*b.N)/b.Elapsed().Seconds(), "contacts/s")
	b.ReportMetric(float64(base)/1024, "start-RSS-MB")
	b.ReportMetric(float64(peak)/1024, "peak-RSS-MB")
}

// procStatus reads a size in KiB from /proc/self/status: "VmRSS:" (now)
// or "VmHWM:" (the peak).
func procStatus(b *testing.B, key string) int64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(l, key); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
	}
	b.Fatalf("no %s in /proc/self/status", key)
	return 0
}
