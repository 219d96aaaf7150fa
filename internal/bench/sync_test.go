package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestSync runs the sync benchmark small on SQLite and checks that the
// figures are complete and the runs did what they should (Sync itself
// checks the counts of every run). It asserts no timing.
func TestSync(t *testing.T) {
	s := openStore(t, "sqlite")
	ctx := context.Background()
	var progress, prof bytes.Buffer
	const small, n, changes, rounds, foreign = 300, 1000, 40, 2, 1501
	r, err := Sync(ctx, s, SyncOptions{N: n, Small: small, Changes: changes, Rounds: rounds, Foreign: foreign,
		Progress: &progress, CPUProfile: &prof})
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	if r.Database != "sqlite" || r.Path == "" || r.Changes != changes || len(r.Bindings) != 2 {
		t.Fatalf("result %+v", r)
	}
	for i, b := range r.Bindings {
		want := []int{small, n}[i]
		if b.Contacts != want || b.Import.Stats.LocalCreated != want || b.Import.Stats.Pulled != want {
			t.Errorf("binding %d: contacts %d, import %+v", i, b.Contacts, b.Import.Stats)
		}
		if b.Import.Seconds <= 0 || b.Import.ContactsPerSec <= 0 || b.Import.PeakRSSMB <= 0 || b.QuietMS <= 0 {
			t.Errorf("binding %d: import %+v, quiet %v", i, b.Import, b.QuietMS)
		}
		if len(b.Incr) != rounds || b.IncrMedianMS <= 0 {
			t.Errorf("binding %d: incremental %+v", i, b.Incr)
		}
		for _, in := range b.Incr {
			if in.Stats.LocalUpdated != changes/2 || in.Stats.RemoteUpdated != changes/2 || in.Calls < changes/2 {
				t.Errorf("binding %d: incremental run %+v", i, in)
			}
		}
	}
	if r.Ratio <= 0 {
		t.Errorf("ratio %v", r.Ratio)
	}
	if r.CatchUp.LogEntries < n || r.CatchUp.MS <= 0 || r.CatchUp.Stats.LocalCreated+r.CatchUp.Stats.RemoteCreated+
		r.CatchUp.Stats.RemoteUpdated+r.CatchUp.Stats.LocalUpdated != 0 {
		t.Errorf("catch-up run %+v", r.CatchUp)
	}
	if f := r.Foreign; f == nil || f.LogEntries != foreign || f.Created != 751 || f.Edited != 750 || f.MS <= 0 ||
		f.Stats.Pulled != 0 {
		t.Errorf("foreign-changes run %+v", f)
	}
	if prof.Len() == 0 {
		t.Error("no CPU profile")
	}
	var text bytes.Buffer
	r.Text(&text)
	for _, want := range []string{"incremental ratio", "contacts/s", "peak MB", "  1000 ", "catch-up run", "foreign changes"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	js, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back SyncResult
	if err := json.Unmarshal(js, &back); err != nil || !reflect.DeepEqual(back, r) {
		t.Errorf("JSON round trip: %v\n%s", err, js)
	}
	if !strings.Contains(progress.String(), "1000/1000 pulled") {
		t.Errorf("progress:\n%s", progress.String())
	}
	if _, err := Sync(ctx, s, SyncOptions{N: 10, Small: 5}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("second run on the same database: %v, want a not-empty error", err)
	}
	t.Logf("%s", text.String())
}
