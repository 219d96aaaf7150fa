package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/tandem-crm/tandem/internal/app"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/syncer"
)

const syncUsage = `Usage:
  tandem sync run --connection ID [--json] [flags]
  tandem sync list [flags]

run     run every enabled binding of a connection now, in the foreground,
        with a progress line on standard error; print what each binding did
        and exit non-zero if a binding failed. It takes the connection's run
        lease like the sync job, so it refuses while a run is under way
        elsewhere.
list    list every connection with its status and last sync, and its
        bindings with their last run, error and counts.

Common flags (--data, --database-url, --log-level …) as for serve.
`

func syncCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, syncUsage)
		return errors.New("sync: expected a subcommand: run or list")
	}
	switch args[0] {
	case "run":
		return syncRun(ctx, args[1:], stdout, stderr)
	case "list":
		return syncList(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, syncUsage)
		return nil
	default:
		fmt.Fprint(stderr, syncUsage)
		return fmt.Errorf("sync: unknown subcommand %q", args[0])
	}
}

func syncRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var connID string
	var asJSON bool
	a, _, fs, err := setup(ctx, "sync run", args, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&connID, "connection", "", "id of the connection to run (see tandem sync list)")
		fs.BoolVar(&asJSON, "json", false, "print the result as JSON")
	})
	if err != nil {
		return err
	}
	defer a.Close(context.Background())
	if fs.NArg() > 0 {
		return fmt.Errorf("sync run: unexpected argument %q", fs.Arg(0))
	}
	if connID == "" {
		fmt.Fprint(stderr, syncUsage)
		return errors.New("sync run: --connection is required")
	}
	conn, err := a.Store.GetConnection(ctx, connID)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("sync run: no connection %s (see tandem sync list)", connID)
	}
	if err != nil {
		return err
	}
	bindings, err := a.Store.ListBindings(ctx, connID)
	if err != nil {
		return err
	}
	kinds := map[string]string{}
	enabled := 0
	for _, b := range bindings {
		kinds[b.ID] = b.Kind
		if b.Enabled {
			enabled++
		}
	}
	if enabled == 0 {
		return fmt.Errorf("sync run: connection %s has no enabled binding", connID)
	}

	bar := newProgressBar(stderr, kinds)
	a.Sync.SetProgress(bar.update)
	start := time.Now()
	res, runErr := a.Sync.RunConnection(ctx, connID)
	bar.finish(res.Stats)
	elapsed := time.Since(start)

	if asJSON {
		out := struct {
			Connection string                     `json:"connection"`
			Seconds    float64                    `json:"seconds"`
			Stats      map[string]reconcile.Stats `json:"stats"`
			Error      string                     `json:"error,omitempty"`
		}{connID, float64(elapsed.Milliseconds()) / 1000, res.Stats, ""}
		if runErr != nil {
			out.Error = runErr.Error()
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "connection %s  %s (%s)  %.1f s\n", conn.ID, conn.AccountEmail, conn.Provider, elapsed.Seconds())
		for _, b := range bindings {
			st, ok := res.Stats[b.Kind]
			if !b.Enabled || !ok {
				continue
			}
			fmt.Fprintf(stdout, "  %-8s %s\n", b.Kind, statsLine(st))
		}
	}
	switch {
	case runErr == nil:
		return nil
	case errors.Is(runErr, syncer.ErrBusy):
		return fmt.Errorf("%w (a run that was killed keeps the connection until its lease expires)", runErr)
	default:
		return fmt.Errorf("sync run: %w", runErr)
	}
}

func statsLine(st reconcile.Stats) string {
	s := fmt.Sprintf("pulled %d  local: %d created, %d updated, %d removed  remote: %d created, %d updated, %d removed  conflicts %d  skipped %d",
		st.Pulled, st.LocalCreated, st.LocalUpdated, st.LocalRemoved, st.RemoteCreated, st.RemoteUpdated, st.RemoteRemoved,
		st.Conflicts, st.Skipped)
	if st.FullListing {
		s += "  (full listing)"
	}
	return s
}

func syncList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	a, _, fs, err := setup(ctx, "sync list", args, stderr, nil)
	if err != nil {
		return err
	}
	defer a.Close(context.Background())
	if fs.NArg() > 0 {
		return fmt.Errorf("sync list: unexpected argument %q", fs.Arg(0))
	}
	return listConnections(ctx, a, stdout)
}

func listConnections(ctx context.Context, a *app.App, stdout io.Writer) error {
	users, err := a.Store.ListUsers(ctx, "")
	if err != nil {
		return err
	}
	conns := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	var bindings strings.Builder
	binds := tabwriter.NewWriter(&bindings, 0, 4, 2, ' ', 0)
	fmt.Fprintln(conns, "CONNECTION\tUSER\tACCOUNT\tSTATUS\tLAST SYNC")
	fmt.Fprintln(binds, "CONNECTION\tKIND\tSTATE\tCOLLECTION\tLAST RUN\tRESULT\tCOUNTS")
	n, nb := 0, 0
	for _, u := range users {
		cs, err := a.Store.ListConnections(ctx, u.ID)
		if err != nil {
			return err
		}
		for _, c := range cs {
			n++
			status := string(c.Status)
			if c.StatusReason != "" {
				status += ": " + firstLine(c.StatusReason, 80)
			}
			last := "never"
			if c.LastSyncAt > 0 {
				last = when(crm.FromMicros(c.LastSyncAt))
			}
			fmt.Fprintf(conns, "%s\t%s\t%s (%s)\t%s\t%s\n", c.ID, u.Email, c.AccountEmail, c.Provider, status, last)
			bs, err := a.Store.ListBindings(ctx, c.ID)
			if err != nil {
				return err
			}
			for _, b := range bs {
				nb++
				run, result := "never", "-"
				if !b.LastRunAt.IsZero() {
					run, result = when(b.LastRunAt), "ok"
					if b.LastError != "" {
						result = "failed: " + firstLine(b.LastError, 80)
					}
				}
				fmt.Fprintf(binds, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, b.Kind, onOff(b.Enabled), orDash(b.Collection), run,
					result, lastStats(b))
			}
		}
	}
	if n == 0 {
		fmt.Fprintln(stdout, "no connections")
		return nil
	}
	if err := conns.Flush(); err != nil {
		return err
	}
	if nb > 0 {
		if err := binds.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\n%s", bindings.String())
	}
	return nil
}

func firstLine(s string, max int) string {
	s, _, _ = strings.Cut(s, "\n")
	if r := []rune(s); len(r) > max {
		s = string(r[:max-1]) + "…"
	}
	return s
}

func onOff(b bool) string {
	if b {
		return "enabled"
	}
	return "disabled"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func when(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05") }

func lastStats(b *store.Binding) string {
	if b.LastStats == "" {
		return "-"
	}
	var st reconcile.Stats
	if err := json.Unmarshal([]byte(b.LastStats), &st); err != nil {
		return "-"
	}
	return fmt.Sprintf("pulled %d, local +%d ~%d -%d, remote +%d ~%d -%d", st.Pulled, st.LocalCreated, st.LocalUpdated,
		st.LocalRemoved, st.RemoteCreated, st.RemoteUpdated, st.RemoteRemoved)
}

// progressBar shows a run's counts on one line of a terminal, redrawn in
// place at most ten times a second, one line per binding; on anything else
// (a log file, a pipe) it writes a plain line every few seconds instead.
// The engine knows no totals, so it shows counts and the rate.
type progressBar struct {
	w     io.Writer
	tty   bool
	kinds map[string]string // binding id → kind

	mu    sync.Mutex
	cur   string // binding id of the line
	start time.Time
	st    reconcile.Stats
	drawn time.Time
	draws int
	width int
}

func newProgressBar(w io.Writer, kinds map[string]string) *progressBar {
	p := &progressBar{w: w, kinds: kinds}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progressBar) update(bindingID string, st reconcile.Stats) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if bindingID != p.cur {
		p.endLine(nil)
		p.cur, p.start, p.drawn, p.width = bindingID, time.Now(), time.Time{}, 0
	}
	p.st = st
	every := 5 * time.Second
	if p.tty {
		every = 100 * time.Millisecond
	}
	if now := time.Now(); now.Sub(p.drawn) >= every {
		p.drawn = now
		p.draw()
	}
}

func (p *progressBar) line() string {
	el := time.Since(p.start)
	rate := 0.0
	if s := el.Seconds(); s > 0 {
		rate = float64(p.st.Pulled) / s
	}
	kind := p.kinds[p.cur]
	if kind == "" {
		kind = "sync"
	}
	p.draws++
	spin := `|/-\`[p.draws%4]
	// The same words as the summary, so the last line and the summary agree.
	return fmt.Sprintf("%-8s %c %s  %.0f pulled/s  %s", kind, spin, statsLine(p.st), rate, el.Truncate(time.Second))
}

func (p *progressBar) draw() {
	l := p.line()
	if !p.tty {
		fmt.Fprintln(p.w, l)
		return
	}
	pad := ""
	if n := len([]rune(l)); n < p.width {
		pad = strings.Repeat(" ", p.width-n)
	} else {
		p.width = n
	}
	fmt.Fprint(p.w, "\r"+l+pad)
}

// endLine draws the current binding's line a last time, with its final
// counts when known, and ends it.
func (p *progressBar) endLine(final *reconcile.Stats) {
	if p.cur == "" {
		return
	}
	if final != nil {
		p.st = *final
	}
	p.draw()
	if p.tty {
		fmt.Fprintln(p.w)
	}
	p.cur = ""
}

// finish ends the last line with the run's final counts.
func (p *progressBar) finish(final map[string]reconcile.Stats) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var st *reconcile.Stats
	if s, ok := final[p.kinds[p.cur]]; ok {
		st = &s
	}
	p.endLine(st)
}
