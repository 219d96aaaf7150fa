package bench

import (
	"fmt"
	"io"
)

// The goals of issue 9 (Benchmarks), shown next to the figures.
const (
	goalMailRatio     = 1.0 // Tandem's first load over mbsync's
	goalMailNewMS     = 200 // +100 new messages
	goalMailNoopMS    = 60
	goalMailIdleMS    = 2000
	goalMailPeakRSSMB = 200
)

// Text writes r as a table for people.
func (r MailResult) Text(w io.Writer) {
	fl := r.FirstLoad
	fmt.Fprintf(w, "mail: %d messages (%.0f MB, %d with attachments, seed %d), %d reps, %d CPUs, load %s → %s\n",
		r.N, float64(r.Bytes)/(1<<20), r.WithAttachments, r.Seed, r.Reps, r.CPUs, r.LoadAvgStart, r.LoadAvgEnd)
	fmt.Fprintf(w, "  %s; %s\n", r.Dovecot, r.MBSync)
	fmt.Fprintf(w, "first load     Tandem %.2f s (%.0f messages/s, CPU %.2f s)   mbsync %.2f s (CPU %.2f s)\n",
		fl.Seconds, fl.MessagesPerSec, fl.CPUSeconds, fl.MBSyncSeconds, fl.MBSyncCPU)
	fmt.Fprintf(w, "  ratio        %.2f × mbsync   (goal ≤ %.1f: %s)\n", fl.RatioToMBSync, goalMailRatio,
		verdict(fl.RatioToMBSync <= goalMailRatio))
	fmt.Fprintf(w, "  peak RSS     %.1f MB   (goal ≤ %d: %s)\n", fl.PeakRSSMB, goalMailPeakRSSMB,
		verdict(fl.PeakRSSMB <= goalMailPeakRSSMB))
	for i, run := range fl.Runs {
		m := fl.MBSyncRuns[i]
		fmt.Fprintf(w, "  rep %d        Tandem %.2f s, %.1f MB peak, %d with warnings, database %.0f MB   mbsync %.2f s\n",
			i+1, run.Seconds, run.PeakRSSMB, run.Warnings, run.DatabaseMB, m.Seconds)
	}
	newMS := make([]float64, len(r.NewRuns))
	for i, run := range r.NewRuns {
		newMS[i] = round(run.Seconds*1000, 1)
	}
	fmt.Fprintf(w, "+%d new        %.1f ms median of %v   (goal ≤ %d: %s)\n", r.New, r.New100MS, newMS, goalMailNewMS,
		verdict(r.New100MS <= goalMailNewMS))
	fmt.Fprintf(w, "no-op load     %.1f ms median of %v   (goal ≤ %d: %s)\n", r.NoopMS, r.NoopRuns, goalMailNoopMS,
		verdict(r.NoopMS <= goalMailNoopMS))
	fmt.Fprintf(w, "IDLE latency   %.1f ms median of %v   (goal ≤ %d: %s)\n", r.IdleLatencyMS, r.IdleRuns, goalMailIdleMS,
		verdict(r.IdleLatencyMS <= goalMailIdleMS))
	fmt.Fprintf(w, "linking        %d letters on the timelines of %d contacts\n", r.LinkedLetters, r.Contacts)
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	if r.Path != "" {
		fmt.Fprintf(w, "kept %s\n", r.Path)
	}
}
