// Package calendartest reads a calendar of the Google emulator through the
// Calendar API, as a user's calendar shows it, for the connector's tests
// and the engine's tests on the wire. It holds no set-up of its own.
package calendartest

import (
	"context"
	"testing"
	"time"

	"google.golang.org/api/calendar/v3"
)

// Instances returns the start instants of a series' occurrences.
func Instances(t testing.TB, ctx context.Context, svc *calendar.Service, cal, series string) []time.Time {
	t.Helper()
	var out []time.Time
	for _, ev := range list(t, ctx, svc, cal, series) {
		if ev.Start.Date != "" {
			d, _ := time.Parse("2006-01-02", ev.Start.Date)
			out = append(out, d)
			continue
		}
		s, err := time.Parse(time.RFC3339, ev.Start.DateTime)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// Instance returns the occurrence of a series with recurrence id rid
// ("20260309T140000Z" or "20260309").
func Instance(t testing.TB, ctx context.Context, svc *calendar.Service, cal, series, rid string) *calendar.Event {
	t.Helper()
	for _, ev := range list(t, ctx, svc, cal, series) {
		if ev.Id == series+"_"+rid {
			return ev
		}
	}
	t.Fatalf("no occurrence %s of %s", rid, series)
	return nil
}

func list(t testing.TB, ctx context.Context, svc *calendar.Service, cal, series string) []*calendar.Event {
	t.Helper()
	var out []*calendar.Event
	err := svc.Events.Instances(cal, series).MaxResults(2500).Pages(ctx, func(es *calendar.Events) error {
		out = append(out, es.Items...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
