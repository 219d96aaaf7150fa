package google

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/crm"
	emu "github.com/tandem-crm/tandem/internal/emulator/google"
	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/store"
)

// TestCalendarConvergenceWithEmulator is the randomized convergence test
// for calendars: series and single events made on both sides, occurrences
// moved, retitled and removed on both sides, faults and expired sync
// tokens; after quiet runs every linked activity equals its event, field
// by field, overrides and exdates included, and nothing is duplicated.
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
	svc, err := NewCalendarService(ctx, w.hc, FromBase(w.base))
	if err != nil {
		t.Fatal(err)
	}
	cal, err := e.CreateCalendar(user, "Work", "Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	conn := NewCalendar(svc, cal, CalendarOptions{From: from, Self: user, PageSize: 4})
	b := w.binding(t, "event", cal)
	local := &reconcile.EventsLocal{Store: st, Viewer: v, BindingID: b.ID, From: from}
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
		for _, ev := range e.Events(user, cal) {
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
	faults := []emu.FaultKind{emu.FaultRateLimit429, emu.FaultBackend500, emu.FaultDrop, emu.FaultSlow}
	for round := 0; round < 6; round++ {
		for op := 0; op < 1+rng.IntN(4); op++ {
			switch rng.IntN(9) {
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
				e.InsertEvent(user, cal, map[string]any{"summary": fmt.Sprintf("G %s %d-%d", word(), round, op),
					"start":      map[string]any{"dateTime": s.Format(time.RFC3339), "timeZone": "Europe/Moscow"},
					"end":        map[string]any{"dateTime": s.Add(time.Hour).Format(time.RFC3339), "timeZone": "Europe/Moscow"},
					"recurrence": []string{"RRULE:FREQ=DAILY;COUNT=8"}})
			case 5: // Google: move or retitle one occurrence
				if id, s, ok := remoteSeries(); ok {
					rid := s.AddDate(0, 0, 1+rng.IntN(7))
					ns := rid.Add(time.Duration(rng.IntN(4)) * time.Hour)
					e.PatchEvent(user, cal, id+"_"+rid.Format("20060102T150405Z"), map[string]any{"summary": word(),
						"start": map[string]any{"dateTime": ns.Format(time.RFC3339), "timeZone": "Europe/Moscow"},
						"end":   map[string]any{"dateTime": ns.Add(45 * time.Minute).Format(time.RFC3339), "timeZone": "Europe/Moscow"}})
				}
			case 6: // Google: cancel one occurrence
				if id, s, ok := remoteSeries(); ok {
					e.DeleteEvent(user, cal, id+"_"+s.AddDate(0, 0, 1+rng.IntN(7)).Format("20060102T150405Z"))
				}
			case 7: // Google: retitle a series
				if id, _, ok := remoteSeries(); ok {
					e.PatchEvent(user, cal, id, map[string]any{"description": word()})
				}
			case 8:
				if rng.IntN(3) == 0 {
					e.ExpireSyncTokens(user)
				} else {
					e.Faults().FailNext(1+rng.IntN(3), faults[rng.IntN(len(faults))])
				}
			}
		}
		eng.Run(ctx, b.ID, conn, local) // may fail on a fault; the next round resumes
	}
	w.settle(t, eng, b, conn, local)

	// Compare every activity with its event.
	acts, _, _ := st.ListActivities(ctx, v, store.ActivityFilter{Page: store.Page{Limit: 500}})
	seen := map[string]bool{}
	for _, a := range acts {
		l, err := st.FindLink(ctx, b.ID, "local_id", a.ID)
		if err != nil || l.Pending {
			t.Errorf("%q not linked: %v", a.Title, err)
			continue
		}
		if seen[l.RemoteID] {
			t.Errorf("event %s linked twice", l.RemoteID)
		}
		seen[l.RemoteID] = true
		lr, err := local.Load(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		it, err := conn.Get(ctx, l.RemoteID)
		if err != nil {
			t.Errorf("%q: %v", a.Title, err)
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
	masters := 0
	for _, ev := range e.Events(user, cal) {
		if ev["status"] != "cancelled" && ev["recurringEventId"] == nil {
			masters++
		}
	}
	if masters != len(acts) {
		t.Errorf("%d events for %d activities", masters, len(acts))
	}
}
