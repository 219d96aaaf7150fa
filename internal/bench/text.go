package bench

import (
	"fmt"
	"io"
	"strings"
)

// Text writes r as an aligned table for people.
func (r Result) Text(w io.Writer) {
	db := r.Database
	if r.Path != "" {
		db += "  " + r.Path
	}
	fmt.Fprintf(w, "Tandem store benchmark\n")
	fmt.Fprintf(w, "  database  %s\n", db)
	fmt.Fprintf(w, "  contacts  %d (%d writers, %d CPUs, %s)\n", r.N, r.Workers, r.CPUs, r.GoVersion)
	fmt.Fprintf(w, "  started   %s\n", r.Started.Format("2006-01-02 15:04:05 MST"))
	fmt.Fprintf(w, "  insert    %d contacts in %.2f s = %.0f rows/s\n\n", r.Insert.Rows, r.Insert.Seconds, r.Insert.RowsPerSec)

	fmt.Fprintf(w, "%-34s %7s %9s %9s %9s %9s\n", "operation", "count", "p50 ms", "p99 ms", "max ms", "rows")
	line := func(name string, l Latency, rows, extra string) {
		s := fmt.Sprintf("%-34s %7d %9.2f %9.2f %9.2f %9s  %s", name, l.Count, l.P50, l.P99, l.Max, rows, extra)
		fmt.Fprintln(w, strings.TrimRight(s, " "))
	}
	line("insert contact (1 tx each)", r.Insert.Latency, "1", "")
	line(fmt.Sprintf("search, first page of %d", r.Search.Limit), r.Search.Latency, fmt.Sprintf("%.1f", r.Search.AvgRows), "")
	for _, k := range r.Search.ByKind {
		line("  "+k.Kind, k.Latency, fmt.Sprintf("%.1f", k.AvgRows), terms(k.Terms))
	}
	line("get contact by id", r.Get, "1", "")
	line(fmt.Sprintf("change log, %d after an offset", r.Changes.Batch), r.Changes.Latency, fmt.Sprint(r.Changes.Rows),
		fmt.Sprintf("log of %d", r.Changes.LogSize))

	fmt.Fprintln(w)
	if r.Size.WALBytes > 0 {
		fmt.Fprintf(w, "  size      %s (db %s + wal %s)\n", mb(r.Size.TotalBytes), mb(r.Size.DBBytes), mb(r.Size.WALBytes))
	} else {
		fmt.Fprintf(w, "  size      %s\n", mb(r.Size.TotalBytes))
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  note      %s\n", n)
	}
}

func terms(ts []string) string {
	const max = 48
	s := strings.Join(ts, ", ")
	if r := []rune(s); len(r) > max {
		s = string(r[:max-1]) + "…"
	}
	return s
}

func mb(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/(1<<20)) }
