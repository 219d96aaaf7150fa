package syncer_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/connector/google"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/crmsync"
	emu "github.com/tandem-crm/tandem/internal/emulator/google"
	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/testenv/storetest"
)

// TestCalendarConvergenceWithEmulator is the randomized convergence test
// for calendars: series and single events made on both sides, occurrences
// moved, retitled and removed on both sides, events leaving the scope and
// coming back on both sides (out of the calendar in Tandem and back,
// deleted and undeleted in Google, moved before the sync-from date and
// back), faults and expired sync tokens; after quiet runs every activity
// in scope equals its event, field by field, overrides and exdates
// included, and nothing exists twice on either side.
// Rerun one seed with -run 'TestCalendarConvergenceWithEmulator/seed=N$'.
func TestCalendarConvergenceWithEmulator(t *testing.T) {
	for seed := 0; seed < *emuSeeds/2; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			convergeCalendar(t, uint64(seed))
		})
	}
}

func convergeCalendar(t *testing.T, seed uint64) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 0xca1e))
	w := newWireEnv(t, seed)
	e, st, v := w.e, w.st, w.v
	svc, err := google.NewCalendarService(ctx, w.hc, google.FromBase(w.base))
	if err != nil {
		t.Fatal(err)
	}
	cal, err := e.CreateCalendar(wireUser, "Work", "Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	conn := google.NewCalendar(svc, cal, google.CalendarOptions{From: from, Self: wireUser, PageSize: 4})
	b := storetest.Binding(t, st, w.conn.ID, "event", cal)
	local := &crmsync.EventsLocal{Store: st, Viewer: v, BindingID: b.ID, From: from}
	eng := &reconcile.Engine{State: st}
	ui := store.WithOrigin(ctx, "ui")

	// Every series is daily at 09:00 UTC for 8 days: occurrence k starts
	// k days after the first.
	day := func() time.Time { return time.Date(2026, 12, 1+rng.IntN(20), 9, 0, 0, 0, time.UTC) }
	words := []string{"Plan", "Review", "Встреча", "Sync", "Обед"}
	word := func() string { return words[rng.IntN(len(words))] }
	var ids []string
	series := func() *crm.Activity {
		for range 5 {
			if len(ids) == 0 {
				return nil
			}
			if a, err := st.GetActivity(ctx, v, ids[rng.IntN(len(ids))]); err == nil && a.RRule != "" {
				return a
			}
		}
		return nil
	}
	remoteSeries := func() (string, time.Time, bool) {
		var out []map[string]any
		for _, ev := range e.Events(wireUser, cal) {
			if ev["recurrence"] != nil && ev["status"] != "cancelled" {
				out = append(out, ev)
			}
		}
		if len(out) == 0 {
			return "", time.Time{}, false
		}
		ev := out[rng.IntN(len(out))]
		start, _ := time.Parse(time.RFC3339, ev["start"].(map[string]any)["dateTime"].(string))
		return ev["id"].(string), start.UTC(), true
	}
	activities := func() []crm.Activity {
		acts, _, _ := st.ListActivities(ctx, v, store.ActivityFilter{Page: store.Page{Limit: 500}})
		return acts
	}
	// Events (masters and single ones) by id; known: every one seen.
	known := map[string]bool{}
	liveEvents := func() map[string]map[string]any {
		out := map[string]map[string]any{}
		for _, ev := range e.Events(wireUser, cal) {
			if ev["recurringEventId"] == nil && ev["status"] != "cancelled" {
				out[ev["id"].(string)] = ev
				known[ev["id"].(string)] = true
			}
		}
		return out
	}
	// Single events Google moved before the sync-from date: a listing
	// bounded by that date does not show them until they come back.
	movedOut := map[string]bool{}
	moveEvent := func(id string, start time.Time) {
		e.PatchEvent(wireUser, cal, id, map[string]any{
			"start": map[string]any{"dateTime": start.Format(time.RFC3339), "timeZone": "Europe/Moscow"},
			"end":   map[string]any{"dateTime": start.Add(time.Hour).Format(time.RFC3339), "timeZone": "Europe/Moscow"}})
	}
	before := func() time.Time { return from.AddDate(0, 0, -1-rng.IntN(5)).Add(9 * time.Hour) }
	// inWindow counts the events a listing from the sync-from date shows.
	// The random edits never take the last one away: a full listing that
	// comes back empty while links exist stops sync by design
	// (ErrCollectionEmpty).
	inWindow := func() int {
		n := 0
		for _, ev := range liveEvents() {
			start, _ := time.Parse(time.RFC3339, ev["start"].(map[string]any)["dateTime"].(string))
			if ev["recurrence"] != nil || !start.Before(from) {
				n++
			}
		}
		return n
	}
	// A few events on each side to start with, so that the edits below
	// have something to take out of scope and bring back.
	for i := range 3 {
		s := day()
		end := s.Add(time.Hour)
		a := &crm.Activity{Type: "meeting", Title: fmt.Sprintf("%s start-%d", word(), i), ShowInCalendar: true,
			Start: &s, End: &end, TimeZone: "Europe/Moscow"}
		if i == 0 {
			a.RRule = "FREQ=DAILY;COUNT=8"
		}
		if err := st.CreateActivity(ui, v, a); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, a.ID)
	}
	for i, rec := range [][]string{{"RRULE:FREQ=DAILY;COUNT=8"}, nil} {
		s := day()
		ev := map[string]any{"summary": fmt.Sprintf("G %s start-%d", word(), i),
			"start": map[string]any{"dateTime": s.Format(time.RFC3339), "timeZone": "Europe/Moscow"},
			"end":   map[string]any{"dateTime": s.Add(time.Hour).Format(time.RFC3339), "timeZone": "Europe/Moscow"}}
		if rec != nil {
			ev["recurrence"] = rec
		}
		if _, err := e.InsertEvent(wireUser, cal, ev); err != nil {
			t.Fatal(err)
		}
	}
	faults := []emu.FaultKind{emu.FaultRateLimit429, emu.FaultBackend500, emu.FaultDrop, emu.FaultSlow}
	for round := 0; round < 6; round++ {
		for op := 0; op < 1+rng.IntN(4); op++ {
			switch rng.IntN(13) {
			case 0: // Tandem: a new series or single meeting
				s := day()
				end := s.Add(time.Hour)
				a := &crm.Activity{Type: "meeting", Title: fmt.Sprintf("%s %d-%d", word(), round, op), ShowInCalendar: true,
					Start: &s, End: &end, TimeZone: "Europe/Moscow"}
				if rng.IntN(3) > 0 {
					a.RRule = "FREQ=DAILY;COUNT=8"
				}
				if err := st.CreateActivity(ui, v, a); err == nil {
					ids = append(ids, a.ID)
				}
			case 1: // Tandem: retitle
				if a := series(); a != nil {
					a.Title, a.Tags, a.Access = a.Title+"!", nil, nil
					st.UpdateActivity(ui, v, a, 0)
				}
			case 2: // Tandem: move one occurrence
				if a := series(); a != nil {
					rid := a.Start.AddDate(0, 0, 1+rng.IntN(7))
					o := crm.Occurrence{RecurrenceID: rid, Start: rid.Add(time.Duration(1+rng.IntN(3)) * time.Hour), Title: word()}
					o.End = o.Start.Add(30 * time.Minute)
					a.Overrides = append(a.Overrides, o)
					a.Tags, a.Access = nil, nil
					st.UpdateActivity(ui, v, a, 0)
				}
			case 3: // Tandem: remove one occurrence, or put the moved ones back
				if a := series(); a != nil {
					if rng.IntN(2) == 0 {
						a.ExDates = append(a.ExDates, a.Start.AddDate(0, 0, 1+rng.IntN(7)))
					} else {
						a.Overrides = nil
					}
					a.Tags, a.Access = nil, nil
					st.UpdateActivity(ui, v, a, 0)
				}
			case 4: // Google: a new series
				s := day()
				e.InsertEvent(wireUser, cal, map[string]any{"summary": fmt.Sprintf("G %s %d-%d", word(), round, op),
					"start":      map[string]any{"dateTime": s.Format(time.RFC3339), "timeZone": "Europe/Moscow"},
					"end":        map[string]any{"dateTime": s.Add(time.Hour).Format(time.RFC3339), "timeZone": "Europe/Moscow"},
					"recurrence": []string{"RRULE:FREQ=DAILY;COUNT=8"}})
			case 5: // Google: move or retitle one occurrence
				if id, s, ok := remoteSeries(); ok {
					rid := s.AddDate(0, 0, 1+rng.IntN(7))
					ns := rid.Add(time.Duration(rng.IntN(4)) * time.Hour)
					e.PatchEvent(wireUser, cal, id+"_"+rid.Format("20060102T150405Z"), map[string]any{"summary": word(),
						"start": map[string]any{"dateTime": ns.Format(time.RFC3339), "timeZone": "Europe/Moscow"},
						"end":   map[string]any{"dateTime": ns.Add(45 * time.Minute).Format(time.RFC3339), "timeZone": "Europe/Moscow"}})
				}
			case 6: // Google: cancel one occurrence
				if id, s, ok := remoteSeries(); ok {
					e.DeleteEvent(wireUser, cal, id+"_"+s.AddDate(0, 0, 1+rng.IntN(7)).Format("20060102T150405Z"))
				}
			case 7: // Google: retitle a series
				if id, _, ok := remoteSeries(); ok {
					e.PatchEvent(wireUser, cal, id, map[string]any{"description": word()})
				}
			case 8:
				if rng.IntN(3) == 0 {
					e.ExpireSyncTokens(wireUser)
				} else {
					e.Faults().FailNext(1+rng.IntN(3), faults[rng.IntN(len(faults))])
				}
			case 9, 12: // Tandem: out of the calendar, or back in it (a hidden one half the time)
				acts := activities()
				if hidden := slices.DeleteFunc(slices.Clone(acts), func(a crm.Activity) bool { return a.ShowInCalendar }); len(hidden) > 0 && rng.IntN(2) == 0 {
					acts = hidden
				}
				if len(acts) > 0 {
					if a := acts[rng.IntN(len(acts))]; !a.ShowInCalendar || inWindow() > 1 {
						a.ShowInCalendar, a.Tags, a.Access = !a.ShowInCalendar, nil, nil
						st.UpdateActivity(ui, v, &a, 0)
					}
				}
			case 10: // Google: an event deleted, or a deleted one undeleted
				live := liveEvents()
				var gone, here []string
				for id := range known {
					if live[id] == nil {
						gone = append(gone, id)
					} else {
						here = append(here, id)
					}
				}
				sort.Strings(gone)
				sort.Strings(here)
				if len(gone) > 0 && rng.IntN(2) == 0 {
					e.PatchEvent(wireUser, cal, gone[rng.IntN(len(gone))], map[string]any{"status": "confirmed"})
				} else if len(here) > 0 && inWindow() > 1 {
					e.DeleteEvent(wireUser, cal, here[rng.IntN(len(here))])
				}
			case 11: // before the sync-from date, or back after it: a single event, on either side
				if rng.IntN(2) == 0 {
					var singles []crm.Activity
					for _, a := range activities() {
						if a.RRule == "" && a.Start != nil && a.End != nil {
							singles = append(singles, a)
						}
					}
					if len(singles) > 0 {
						a := singles[rng.IntN(len(singles))]
						s := before()
						if a.Start.Before(from) {
							s = day()
						} else if inWindow() < 2 {
							break
						}
						end := s.Add(a.End.Sub(*a.Start))
						a.Start, a.End, a.Tags, a.Access = &s, &end, nil, nil
						st.UpdateActivity(ui, v, &a, 0)
					}
				} else {
					var singles []string
					for id, ev := range liveEvents() {
						if ev["recurrence"] == nil {
							singles = append(singles, id)
						}
					}
					sort.Strings(singles)
					if len(singles) > 0 {
						id := singles[rng.IntN(len(singles))]
						s := before()
						if movedOut[id] {
							s = day()
						} else if inWindow() < 2 {
							break
						}
						movedOut[id] = !movedOut[id]
						moveEvent(id, s)
					}
				}
			}
		}
		eng.Run(ctx, b.ID, conn, local) // may fail on a fault; the next round resumes
	}
	// Google reports no change to an event outside the window its sync
	// token holds (the sync-from date): Tandem sees such an event again
	// when it comes back, so every one Google moved out comes back here.
	for id, out := range movedOut {
		if out {
			moveEvent(id, day())
		}
	}
	w.settle(t, eng, b, conn, local)

	// Compare: every activity in scope with its event; one out of scope
	// is not linked, or only dormant.
	seen := map[string]bool{}
	names := map[string]string{}
	for _, a := range activities() {
		names[a.ID] = a.Title
		lr, err := local.Load(ctx, nil, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		l, lerr := st.FindLink(ctx, b.ID, "local_id", a.ID)
		if !lr.InScope {
			if lerr == nil && !l.Dormant {
				t.Errorf("%q out of scope, yet linked: %+v", a.Title, l)
			}
			continue
		}
		if lerr != nil || l.Pending || l.Dormant {
			t.Errorf("%q not linked: %+v %v", a.Title, l, lerr)
			continue
		}
		if seen[l.RemoteID] {
			t.Errorf("event %s linked twice", l.RemoteID)
		}
		seen[l.RemoteID] = true
		it, err := conn.Get(ctx, l.RemoteID)
		if err != nil || it.Deleted {
			t.Errorf("%q: %v (deleted %v)", a.Title, err, it.Deleted)
			continue
		}
		// An imported event does not carry the activity id until Tandem
		// writes to it; the id is no part of what the user sees.
		delete(lr.Fields, reconcile.FieldTandemID)
		delete(it.Fields, reconcile.FieldTandemID)
		if !lr.Fields.Equal(it.Fields) {
			t.Errorf("%q differs:\n local  %v\n google %v", a.Title, lr.Fields, it.Fields)
		}
	}
	// Every event that reaches the sync-from date is an activity's.
	live := map[string]bool{}
	for id := range liveEvents() {
		live[id] = true
		if seen[id] {
			continue
		}
		it, err := conn.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		a := &crm.Activity{}
		reconcile.ApplyEventFields(a, it.Fields, reconcile.EventFieldNames)
		if reconcile.ReachesDate(a, from) {
			t.Errorf("event %q (%s) is no activity's", it.Fields[reconcile.FieldTitle], id)
		}
	}
	checkNoTwins(t, st, names, live)
}
