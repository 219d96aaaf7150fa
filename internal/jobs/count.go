package jobs

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Count is how many jobs of a kind are in a state.
type Count struct {
	Kind  string
	State State
	N     int
}

// CountedStates are the states Counts reports: the jobs waiting (pending,
// scheduled, available), running, and failed (retryable: runs again;
// discarded: gave up). Completed and cancelled jobs are history, not load.
var CountedStates = []State{StatePending, StateScheduled, StateAvailable, StateRunning, StateRetryable, StateDiscarded}

// Counts counts the jobs in CountedStates by kind, for monitoring: every
// registered kind in every counted state (zeros included, so a series
// exists before its first job), plus kinds found in the table that this
// process does not run. One grouped query on the states' index.
func (q *Queue) Counts(ctx context.Context) ([]Count, error) {
	quoted := make([]string, len(CountedStates))
	for i, s := range CountedStates {
		quoted[i] = "'" + string(s) + "'"
	}
	query := "SELECT kind, state, COUNT(*) FROM river_job WHERE state IN (" + strings.Join(quoted, ", ") + ") GROUP BY kind, state"
	found := map[Count]int{} // N unset: the key is kind and state
	scan := func(kind, state string, n int) { found[Count{Kind: kind, State: State(state)}] = n }
	var err error
	if q.backend.sqlite != nil {
		rows, qerr := q.backend.sqlite.QueryContext(ctx, query)
		if err = qerr; err == nil {
			defer rows.Close()
			err = countRows(rows, scan)
		}
	} else {
		rows, qerr := q.backend.pg.Query(ctx, query)
		if err = qerr; err == nil {
			defer rows.Close()
			err = countRows(rows, scan)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("jobs: count: %w", err)
	}
	kinds := map[string]bool{}
	for k := range q.kinds {
		kinds[k] = true
	}
	for c := range found {
		kinds[c.Kind] = true
	}
	out := make([]Count, 0, len(kinds)*len(CountedStates))
	for _, k := range slices.Sorted(maps.Keys(kinds)) {
		for _, s := range CountedStates {
			out = append(out, Count{Kind: k, State: s, N: found[Count{Kind: k, State: s}]})
		}
	}
	return out, nil
}

// countRows reads the grouped counts from either driver's rows.
func countRows(rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}, scan func(kind, state string, n int)) error {
	for rows.Next() {
		var kind, state string
		var n int
		if err := rows.Scan(&kind, &state, &n); err != nil {
			return err
		}
		scan(kind, state, n)
	}
	return rows.Err()
}
