// Package bench measures the store on a realistic data set and reports
// figures: insert throughput, contact search, contact reads, change-log
// reads and database size. It asserts nothing about time; `tandem bench
// store` prints the figures and the Go benchmarks in this package wrap the
// same code.
//
// Everything goes through the store's public API, so the figures are what
// the API and the UI get. The data set is deterministic (see makeContact).
package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/store"
)

// Options size a run. Zero values take the defaults.
type Options struct {
	N          int       // contacts to insert (default 100000)
	Searches   int       // search queries to time (default 200)
	ChangeRead int       // change-log entries per read (default 1000)
	Workers    int       // goroutines inserting contacts (default 4)
	Progress   io.Writer // phase and insert progress; nil for none
}

const (
	defaultN          = 100000
	defaultSearches   = 200
	defaultChangeRead = 1000
	defaultWorkers    = 4

	searchLimit   = 50  // the first page, as the UI and the API ask for it
	changeReads   = 50  // timed change-log reads
	gets          = 200 // timed contact reads by id
	warmupQueries = 5
)

func (o *Options) defaults() {
	if o.N <= 0 {
		o.N = defaultN
	}
	if o.Searches <= 0 {
		o.Searches = defaultSearches
	}
	if o.ChangeRead <= 0 {
		o.ChangeRead = defaultChangeRead
	}
	if o.Workers <= 0 {
		o.Workers = defaultWorkers
	}
}

// Latency summarizes timed operations, in milliseconds.
type Latency struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

// Result holds the figures of one run.
type Result struct {
	Database  string    `json:"database"`       // "sqlite" or "postgres"
	Path      string    `json:"path,omitempty"` // SQLite file
	N         int       `json:"n"`              // contacts inserted
	Workers   int       `json:"workers"`
	CPUs      int       `json:"cpus"`
	GoVersion string    `json:"go_version"`
	Started   time.Time `json:"started"`

	Insert  InsertResult  `json:"insert"`
	Search  SearchResult  `json:"search"`
	Get     Latency       `json:"get_contact"`
	Changes ChangesResult `json:"changes"`
	Size    SizeResult    `json:"size"`
	Notes   []string      `json:"notes,omitempty"`
}

// InsertResult is the load of N contacts, one CreateContact (one
// transaction) each.
type InsertResult struct {
	Rows       int     `json:"rows"`
	Seconds    float64 `json:"seconds"`
	RowsPerSec float64 `json:"rows_per_sec"`
	Latency    Latency `json:"latency"` // one CreateContact, waiting for the writer included
}

// SearchResult is the first page of ListContacts with a search term.
type SearchResult struct {
	Limit   int           `json:"limit"`
	AvgRows float64       `json:"avg_rows"` // rows on the first page, on average
	Latency Latency       `json:"latency"`
	ByKind  []KindLatency `json:"by_kind"`
}

// KindLatency is the search latency of one kind of term.
type KindLatency struct {
	Kind    string   `json:"kind"`
	Terms   []string `json:"terms"` // distinct terms, in first-use order (at most 12)
	AvgRows float64  `json:"avg_rows"`
	Latency Latency  `json:"latency"`
}

// ChangesResult is reading a batch of the change log from an offset with at
// least a batch after it.
type ChangesResult struct {
	Batch   int     `json:"batch"`    // entries asked for per read
	Rows    int     `json:"rows"`     // entries returned per read (the smallest seen)
	LogSize int     `json:"log_size"` // entries in the log
	Latency Latency `json:"latency"`
}

// SizeResult is the size of the database after the run.
type SizeResult struct {
	DBBytes    int64 `json:"db_bytes"`
	WALBytes   int64 `json:"wal_bytes,omitempty"` // SQLite only
	TotalBytes int64 `json:"total_bytes"`
}

// Store fills s, which must be empty, with o.N contacts and times the
// store's hot paths over them. It leaves the data in s.
func Store(ctx context.Context, s *store.Store, o Options) (Result, error) {
	o.defaults()
	res := Result{
		Database:  "sqlite",
		Path:      s.SQLitePath(),
		N:         o.N,
		Workers:   o.Workers,
		CPUs:      runtime.NumCPU(),
		GoVersion: runtime.Version(),
		Started:   time.Now().UTC().Truncate(time.Second),
	}
	if s.Postgres() {
		res.Database = "postgres"
	}
	p := &progress{w: o.Progress}

	v, err := prepare(ctx, s)
	if err != nil {
		return res, err
	}

	p.printf("inserting %d contacts with %d writers", o.N, o.Workers)
	ids, ins, err := insertContacts(ctx, s, v, 0, o.N, o.Workers, p)
	if err != nil {
		return res, err
	}
	res.Insert = ins
	if s.Postgres() {
		// A live server has autovacuum keep statistics current; right after
		// a bulk load they describe a much smaller table.
		if _, err := s.PgxPool().Exec(ctx, "ANALYZE"); err != nil {
			return res, fmt.Errorf("analyze: %w", err)
		}
		res.Notes = append(res.Notes, "postgres: ANALYZE after the load, as autovacuum would do on a live server")
	} else {
		res.Notes = append(res.Notes, "sqlite: one writer connection, so the writers queue for it")
	}

	p.printf("searching: %d queries, first page of %d", o.Searches, searchLimit)
	if res.Search, err = searchContacts(ctx, s, v, searchTerms(o.Searches, o.N)); err != nil {
		return res, err
	}

	p.printf("reading %d contacts by id", gets)
	if res.Get, err = getContacts(ctx, s, v, ids, gets); err != nil {
		return res, err
	}

	p.printf("reading the change log: %d reads of %d entries", changeReads, o.ChangeRead)
	if res.Changes, err = readChanges(ctx, s, o.ChangeRead, changeReads); err != nil {
		return res, err
	}

	if res.Size, err = dbSize(ctx, s); err != nil {
		return res, err
	}
	return res, nil
}

// prepare checks that s is empty and creates the user who owns the data.
func prepare(ctx context.Context, s *store.Store) (access.Viewer, error) {
	n, err := s.CountUsers(ctx)
	if err != nil {
		return access.Viewer{}, err
	}
	last, err := s.LastChange(ctx)
	if err != nil {
		return access.Viewer{}, err
	}
	if n > 0 || last > 0 {
		return access.Viewer{}, fmt.Errorf("bench: the database is not empty (%d users, change log at %d); give it an empty one", n, last)
	}
	return benchUser(ctx, s)
}

// benchUser creates the user the benchmark acts as.
func benchUser(ctx context.Context, s *store.Store) (access.Viewer, error) {
	pw := make([]byte, 16)
	rand.Read(pw)
	u := &access.User{Email: "bench@example.com", Name: "Bench", Active: true, Language: "en"}
	if err := s.CreateUser(ctx, u, hex.EncodeToString(pw)); err != nil {
		return access.Viewer{}, fmt.Errorf("create user: %w", err)
	}
	return s.Viewer(ctx, u.ID)
}

// insertContacts creates contacts first..first+n-1 of the data set with
// the given number of goroutines and returns their ids by index.
func insertContacts(ctx context.Context, s *store.Store, v access.Viewer, first, n, workers int, p *progress) ([]string, InsertResult, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	ids := make([]string, n)
	lat := make([]time.Duration, n)
	var next, done atomic.Int64
	step := int64(max(n/10, 1))
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				c := makeContact(first + i)
				t0 := time.Now()
				if err := s.CreateContact(ctx, v, c); err != nil {
					cancel(fmt.Errorf("create contact %d: %w", first+i, err))
					return
				}
				lat[i] = time.Since(t0)
				ids[i] = c.ID
				if d := done.Add(1); d%step == 0 {
					el := time.Since(start)
					p.printf("  %d/%d contacts, %.0f rows/s", d, n, float64(d)/el.Seconds())
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, InsertResult{}, err
	}
	el := time.Since(start)
	return ids, InsertResult{
		Rows:       n,
		Seconds:    round(el.Seconds(), 2),
		RowsPerSec: round(float64(n)/el.Seconds(), 0),
		Latency:    summarize(lat),
	}, nil
}

// searchFirstPage is the timed search: what the contact list asks for.
func searchFirstPage(ctx context.Context, s *store.Store, v access.Viewer, q string) (int, error) {
	cs, _, err := s.ListContacts(ctx, v, store.ContactFilter{Q: q, Page: store.Page{Limit: searchLimit}})
	if err != nil {
		return 0, fmt.Errorf("search %q: %w", q, err)
	}
	return len(cs), nil
}

func searchContacts(ctx context.Context, s *store.Store, v access.Viewer, terms []searchTerm) (SearchResult, error) {
	// Warm up connections and statement caches with terms not measured.
	for i := range warmupQueries {
		if _, err := searchFirstPage(ctx, s, v, fmt.Sprintf("warm%d", i)); err != nil {
			return SearchResult{}, err
		}
	}
	type acc struct {
		lat   []time.Duration
		rows  int
		terms []string
	}
	byKind := map[string]*acc{}
	var all []time.Duration
	rows := 0
	for _, t := range terms {
		t0 := time.Now()
		n, err := searchFirstPage(ctx, s, v, t.q)
		if err != nil {
			return SearchResult{}, err
		}
		d := time.Since(t0)
		all = append(all, d)
		rows += n
		a := byKind[t.kind]
		if a == nil {
			a = &acc{}
			byKind[t.kind] = a
		}
		a.lat = append(a.lat, d)
		a.rows += n
		if len(a.terms) < 12 && !slices.Contains(a.terms, t.q) {
			a.terms = append(a.terms, t.q)
		}
	}
	res := SearchResult{Limit: searchLimit, Latency: summarize(all), AvgRows: avg(rows, len(terms))}
	for _, k := range searchKinds {
		if a := byKind[k]; a != nil {
			res.ByKind = append(res.ByKind, KindLatency{Kind: k, Terms: a.terms, AvgRows: avg(a.rows, len(a.lat)), Latency: summarize(a.lat)})
		}
	}
	return res, nil
}

func getContacts(ctx context.Context, s *store.Store, v access.Viewer, ids []string, n int) (Latency, error) {
	if len(ids) == 0 {
		return Latency{}, nil
	}
	r := mrand.New(mrand.NewPCG(seed, 2))
	if _, err := s.GetContact(ctx, v, ids[0]); err != nil { // warm-up
		return Latency{}, fmt.Errorf("get contact: %w", err)
	}
	lat := make([]time.Duration, 0, n)
	for range n {
		id := ids[r.IntN(len(ids))]
		t0 := time.Now()
		c, err := s.GetContact(ctx, v, id)
		if err != nil {
			return Latency{}, fmt.Errorf("get contact %s: %w", id, err)
		}
		lat = append(lat, time.Since(t0))
		if c.ID != id || len(c.Emails) == 0 {
			return Latency{}, fmt.Errorf("get contact %s: got %s with %d emails", id, c.ID, len(c.Emails))
		}
	}
	return summarize(lat), nil
}

// readChanges reads batch entries from random offsets that have at least
// batch entries after them (the whole log when it is shorter).
func readChanges(ctx context.Context, s *store.Store, batch, reads int) (ChangesResult, error) {
	last, err := s.LastChange(ctx)
	if err != nil {
		return ChangesResult{}, err
	}
	head, err := s.Changes(ctx, 0, "", 1)
	if err != nil {
		return ChangesResult{}, err
	}
	if len(head) == 0 {
		return ChangesResult{}, errors.New("bench: the change log is empty")
	}
	first := head[0].Seq
	res := ChangesResult{Batch: batch, LogSize: int(last - first + 1), Rows: -1}
	want := min(batch, res.LogSize)
	hi := last - int64(want) // the largest "since" with want entries after it
	r := mrand.New(mrand.NewPCG(seed, 3))
	lat := make([]time.Duration, 0, reads)
	for range reads {
		since := first - 1 + r.Int64N(hi-(first-1)+1)
		t0 := time.Now()
		cs, err := s.Changes(ctx, since, "", batch)
		if err != nil {
			return res, err
		}
		lat = append(lat, time.Since(t0))
		if len(cs) < want {
			return res, fmt.Errorf("bench: read %d changes after %d, want %d", len(cs), since, want)
		}
		if res.Rows < 0 || len(cs) < res.Rows {
			res.Rows = len(cs)
		}
	}
	res.Latency = summarize(lat)
	return res, nil
}

func dbSize(ctx context.Context, s *store.Store) (SizeResult, error) {
	if s.Postgres() {
		var n int64
		err := s.PgxPool().QueryRow(ctx, "SELECT pg_database_size(current_database())").Scan(&n)
		if err != nil {
			return SizeResult{}, fmt.Errorf("database size: %w", err)
		}
		return SizeResult{DBBytes: n, TotalBytes: n}, nil
	}
	var res SizeResult
	st, err := os.Stat(s.SQLitePath())
	if err != nil {
		return res, err
	}
	res.DBBytes = st.Size()
	if st, err := os.Stat(s.SQLitePath() + "-wal"); err == nil {
		res.WALBytes = st.Size()
	}
	res.TotalBytes = res.DBBytes + res.WALBytes
	return res, nil
}

// summarize returns nearest-rank percentiles of ds (which it sorts).
func summarize(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	slices.Sort(ds)
	rank := func(p float64) time.Duration {
		i := int(math.Ceil(p*float64(len(ds)))) - 1
		return ds[min(max(i, 0), len(ds)-1)]
	}
	return Latency{Count: len(ds), P50: ms(rank(0.50)), P99: ms(rank(0.99)), Max: ms(ds[len(ds)-1])}
}

func ms(d time.Duration) float64 { return round(float64(d)/float64(time.Millisecond), 3) }

func avg(sum, n int) float64 {
	if n == 0 {
		return 0
	}
	return round(float64(sum)/float64(n), 1)
}

func round(x float64, places int) float64 {
	p := 1.0
	for range places {
		p *= 10
	}
	return float64(int64(x*p+0.5)) / p
}

// progress writes timestamped lines, from several goroutines.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
}

func (p *progress) printf(format string, args ...any) {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.start.IsZero() {
		p.start = time.Now()
	}
	fmt.Fprintf(p.w, "[%6.1fs] %s\n", time.Since(p.start).Seconds(), fmt.Sprintf(format, args...))
}
