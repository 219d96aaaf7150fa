package bench

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// The targets of issue 8 (§2, §3), shown next to the figures.
const (
	goalImportSQLite   = 5000 // contacts/s, first import of 100k
	goalImportPostgres = 3000
	goalPeakRSS        = 150 // MB
	goalRSSGrowth      = 1.25
	goalExport         = 2000 // contacts/s, quotas off
	goalRatio          = 1.5
	goalCatchUpMS      = 200
	goalQuotaRatio     = 1.2
)

// Text writes every database's result, one after the other.
func (r SyncReport) Text(w io.Writer) {
	first := true
	for _, res := range []*SyncResult{r.SQLite, r.Postgres} {
		if res == nil {
			continue
		}
		if !first {
			fmt.Fprintln(w)
		}
		first = false
		res.Text(w)
	}
}

// verdict says whether a figure meets its goal.
func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

// Text writes r as a table for people.
func (r SyncResult) Text(w io.Writer) {
	db := r.Database
	if r.Path != "" {
		db += "  " + r.Path
	}
	fmt.Fprintf(w, "Tandem sync benchmark (Google contacts; the emulator in its own process)\n")
	fmt.Fprintf(w, "  database  %s\n", db)
	fmt.Fprintf(w, "  machine   %d CPUs, %s\n", r.CPUs, r.GoVersion)
	fmt.Fprintf(w, "  started   %s\n\n", r.Started.Format("2006-01-02 15:04:05 MST"))

	fmt.Fprintf(w, "%-22s %9s %9s %11s %9s %9s %8s %9s\n", "run", "contacts", "seconds", "contacts/s", "RSS MB", "peak MB", "CPU s", "API calls")
	line := func(name string, x SyncRun) {
		fmt.Fprintf(w, "%-22s %9d %9.2f %11.0f %9.0f %9.0f %8.1f %9d\n", name, x.Contacts, x.Seconds, x.ContactsPerSec,
			x.RSSBeforeMB, x.PeakRSSMB, x.CPUSeconds, x.Calls)
	}
	line("first import", r.ImportSmall)
	line("first import", r.ImportMid)
	line("first import", r.Import)
	line("first export (no quota)", r.Export)
	fmt.Fprintln(w)

	goalImport := goalImportSQLite
	if r.Database == "postgres" {
		goalImport = goalImportPostgres
	}
	fmt.Fprintf(w, "  import rate        %.0f contacts/s  (%d contacts; goal ≥ %d: %s)\n", r.Import.ContactsPerSec, r.Import.Contacts,
		goalImport, verdict(r.Import.ContactsPerSec >= float64(goalImport)))
	fmt.Fprintf(w, "  import peak RSS    %.0f MB  (goal ≤ %d: %s); %.2f× the %d-contact import's %.0f MB (goal ≤ %.2f: %s)\n",
		r.Import.PeakRSSMB, goalPeakRSS, verdict(r.Import.PeakRSSMB <= goalPeakRSS), r.RSSGrowth, r.ImportMid.Contacts,
		r.ImportMid.PeakRSSMB, goalRSSGrowth, verdict(r.RSSGrowth <= goalRSSGrowth))
	fmt.Fprintf(w, "  export rate        %.0f contacts/s  (goal ≥ %d: %s), peak RSS %.0f MB\n", r.Export.ContactsPerSec, goalExport,
		verdict(r.Export.ContactsPerSec >= goalExport), r.Export.PeakRSSMB)

	fmt.Fprintf(w, "\n%9s %9s %12s %s\n", "contacts", "quiet ms", "incr ms", fmt.Sprintf("(%d changes; each run, API calls)", r.Changes))
	for _, b := range r.Bindings {
		var each []string
		for _, in := range b.Incr {
			each = append(each, fmt.Sprintf("%.0f/%d", in.MS, in.Calls))
		}
		fmt.Fprintf(w, "%9d %9.1f %12.1f %s\n", b.Contacts, b.QuietMS, b.IncrMedianMS, strings.Join(each, " "))
	}
	if len(r.Bindings) == 2 {
		fmt.Fprintf(w, "\n  incremental ratio  %.2f  (%d vs %d linked contacts, median run; goal ≤ %.1f: %s)\n", r.Ratio,
			r.Bindings[1].Contacts, r.Bindings[0].Contacts, goalRatio, verdict(r.Ratio <= goalRatio))
		fmt.Fprintf(w, "  after the others   %.1f ms  (the %d-contact binding after the other bindings' %d change-log entries)\n",
			r.AfterImports.MS, r.Bindings[0].Contacts, r.AfterImports.LogEntries)
	}
	if f := r.CatchUp; f != nil && len(r.Bindings) > 0 {
		fmt.Fprintf(w, "  catch-up run       %.1f ms  (the %d-contact binding after another user's %d change-log entries: %d created, %d edited; goal ≤ %d: %s)\n",
			r.CatchUpMS, r.Bindings[0].Contacts, f.LogEntries, f.Created, f.Edited, goalCatchUpMS, verdict(r.CatchUpMS <= goalCatchUpMS))
	}
	if q := r.Quota; q != nil {
		state := "complete"
		if !q.Complete {
			state = fmt.Sprintf("cut at %.0f s with %d of %d in Google; at that rate all would take %.0f s", q.TimeoutS, q.Exported, q.Contacts, q.ProjectedWallS)
		}
		ratio := "no floor: everything fits in the first minute"
		if q.Ratio > 0 {
			ratio = fmt.Sprintf("%.2f× the floor (goal ≤ %.1f: %s)", q.Ratio, goalQuotaRatio, verdict(q.Ratio <= goalQuotaRatio))
		}
		fmt.Fprintf(w, "  quota run          %.1f s for %d contacts, floor %.0f s: %s; %s; %d runs, %d ended on a rate limit, %d API calls\n",
			q.WallS, q.Contacts, q.FloorS, ratio, state, q.Runs, q.RateLimited, q.Calls)
		fmt.Fprintf(w, "  quotas             critical reads %d, critical writes %d, writes %d, group reads %d units a minute per user (the emulator's defaults)\n",
			q.Quotas.PeopleCriticalReads, q.Quotas.PeopleCriticalWrites, q.Quotas.PeopleWrites, q.Quotas.PeopleGroupReads)
		var made []string
		for k, n := range q.CallsMade {
			made = append(made, fmt.Sprintf("%s %d", k, n))
		}
		slices.Sort(made)
		fmt.Fprintf(w, "  calls made         %s: their floor %.0f s\n", strings.Join(made, ", "), q.FloorOfCallsS)
		fmt.Fprintf(w, "  quota floor        %s\n", q.FloorModel)
	}
	fmt.Fprintf(w, "  emulator           peak RSS %.0f MB (its own process), seeding %.1f s\n", r.Emulator.PeakRSSMB, r.Emulator.SeedSeconds)
	if r.Import.PeakRSSSource != "" {
		fmt.Fprintf(w, "  peak RSS           %s\n", r.Import.PeakRSSSource)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  note               %s\n", n)
	}
}
