package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/testenv"
	"github.com/tandem-crm/tandem/internal/testenv/storetest"
)

func TestMain(m *testing.M) {
	if os.Getenv(emulatorChildEnv) == "1" {
		os.Exit(emulatorChild(os.Args[1:]))
	}
	testenv.Main(m)
}

var databases = []string{"sqlite", "postgres"}

func openStore(t testing.TB, db string) *store.Store {
	return storetest.Open(t, db == "postgres")
}

func TestDataSet(t *testing.T) {
	for i := range 2000 {
		c := makeContact(i)
		if !reflect.DeepEqual(c, makeContact(i)) {
			t.Fatalf("contact %d is not deterministic", i)
		}
		c.Normalize()
		if err := c.Validate(); err != nil {
			t.Fatalf("contact %d %+v: %v", i, c, err)
		}
	}
	terms := searchTerms(200, 1000)
	if !reflect.DeepEqual(terms, searchTerms(200, 1000)) {
		t.Fatal("search terms are not deterministic")
	}
	for _, st := range terms {
		if st.kind == kindNone {
			for i := range 1000 {
				if strings.Contains(makeContact(i).SearchText(), st.q) {
					t.Fatalf("no-match term %q matches contact %d", st.q, i)
				}
			}
		}
	}
}

// TestStore runs the whole benchmark small, on both databases, and checks
// that the figures are complete. It asserts no timing.
func TestStore(t *testing.T) {
	for _, db := range databases {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			s := openStore(t, db)
			ctx := context.Background()
			var progress bytes.Buffer
			const n, searches, batch = 500, 40, 100
			r, err := Store(ctx, s, Options{N: n, Searches: searches, ChangeRead: batch, Progress: &progress})
			if err != nil {
				t.Fatal(err)
			}
			if r.Database != db || r.N != n || r.Workers != defaultWorkers {
				t.Errorf("database %q, n %d, workers %d", r.Database, r.N, r.Workers)
			}
			if r.Insert.Rows != n || r.Insert.RowsPerSec <= 0 || r.Insert.Latency.Count != n || r.Insert.Latency.P50 <= 0 {
				t.Errorf("insert: %+v", r.Insert)
			}
			if r.Search.Latency.Count != searches || r.Search.Latency.P50 <= 0 || r.Search.Latency.Max < r.Search.Latency.P99 ||
				r.Search.Latency.P99 < r.Search.Latency.P50 || len(r.Search.ByKind) != len(searchKinds) {
				t.Errorf("search: %+v", r.Search)
			}
			for _, k := range r.Search.ByKind {
				if k.Latency.Count != searches/len(searchKinds) {
					t.Errorf("search %s: %d queries", k.Kind, k.Latency.Count)
				}
				switch k.Kind {
				case kindCommon, kindCyrillic:
					if k.AvgRows < 5 {
						t.Errorf("search %s: %.1f rows on average, want many", k.Kind, k.AvgRows)
					}
				case kindRare:
					if k.AvgRows < 1 || k.AvgRows > 5 {
						t.Errorf("search %s: %.1f rows on average, want a few", k.Kind, k.AvgRows)
					}
				case kindNone:
					if k.AvgRows != 0 {
						t.Errorf("search %s: %.1f rows on average, want 0", k.Kind, k.AvgRows)
					}
				}
			}
			if r.Get.Count != gets || r.Get.P50 <= 0 {
				t.Errorf("get: %+v", r.Get)
			}
			if r.Changes.Rows != batch || r.Changes.LogSize != n || r.Changes.Latency.Count != changeReads || r.Changes.Latency.P50 <= 0 {
				t.Errorf("changes: %+v", r.Changes)
			}
			if r.Size.TotalBytes <= 0 || r.Size.TotalBytes != r.Size.DBBytes+r.Size.WALBytes {
				t.Errorf("size: %+v", r.Size)
			}
			if db == "sqlite" && r.Path == "" {
				t.Error("no SQLite path")
			}

			var text bytes.Buffer
			r.Text(&text)
			for _, want := range []string{"search, first page of 50", "  rare", "  no match", "get contact by id", "change log, 100", "size"} {
				if !strings.Contains(text.String(), want) {
					t.Errorf("text lacks %q:\n%s", want, text.String())
				}
			}
			js, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			var back Result
			if err := json.Unmarshal(js, &back); err != nil || !reflect.DeepEqual(back, r) {
				t.Errorf("JSON round trip: %v\n%s", err, js)
			}
			if !strings.Contains(progress.String(), "500/500 contacts") {
				t.Errorf("progress:\n%s", progress.String())
			}

			if _, err := Store(ctx, s, Options{N: 1}); err == nil || !strings.Contains(err.Error(), "not empty") {
				t.Errorf("second run on the same database: %v, want a not-empty error", err)
			}
			t.Logf("%s", text.String())
		})
	}
}

// benchN is the size of the data set the Go benchmarks run over. The
// figures that matter at scale come from `tandem bench store`.
const benchN = 2000

// BenchmarkStore times the same operations as Store, one per iteration,
// over benchN contacts:
//
//	go test -run '^$' -bench . ./internal/bench
func BenchmarkStore(b *testing.B) {
	for _, db := range databases {
		b.Run(db, func(b *testing.B) {
			ctx := context.Background()
			s := openStore(b, db)
			v, err := prepare(ctx, s)
			if err != nil {
				b.Fatal(err)
			}
			ids, _, err := insertContacts(ctx, s, v, 0, benchN, defaultWorkers, nil)
			if err != nil {
				b.Fatal(err)
			}
			if s.Postgres() {
				if _, err := s.PgxPool().Exec(ctx, "ANALYZE"); err != nil {
					b.Fatal(err)
				}
			}

			terms := searchTerms(400, benchN)
			for _, kind := range searchKinds {
				var qs []string
				for _, t := range terms {
					if t.kind == kind {
						qs = append(qs, t.q)
					}
				}
				b.Run("Search/"+strings.ReplaceAll(kind, " ", "_"), func(b *testing.B) {
					for i := 0; b.Loop(); i++ {
						if _, err := searchFirstPage(ctx, s, v, qs[i%len(qs)]); err != nil {
							b.Fatal(err)
						}
					}
				})
			}

			b.Run("GetContact", func(b *testing.B) {
				r := rand.New(rand.NewPCG(seed, 2))
				for b.Loop() {
					if _, err := s.GetContact(ctx, v, ids[r.IntN(len(ids))]); err != nil {
						b.Fatal(err)
					}
				}
			})

			b.Run("Changes1000", func(b *testing.B) {
				const batch = 1000
				r := rand.New(rand.NewPCG(seed, 3))
				for b.Loop() {
					cs, err := s.Changes(ctx, r.Int64N(benchN-batch+1), "", batch)
					if err != nil || len(cs) != batch {
						b.Fatalf("%d changes, %v", len(cs), err)
					}
				}
			})

			// Last, as it grows the data set.
			b.Run("CreateContact", func(b *testing.B) {
				var next atomic.Int64
				next.Store(benchN)
				b.SetParallelism(2) // with GOMAXPROCS, a few writers as in Store
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := s.CreateContact(ctx, v, makeContact(int(next.Add(1)))); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		})
	}
}
