package reconcile_test

import (
	"context"
	"fmt"
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
