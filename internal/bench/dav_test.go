package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestDav runs the CalDAV/CardDAV benchmark tiny against the real Radicale
// and vdirsyncer and checks that every figure is there and the runs did
// what they should (Dav itself checks each run's counts, and vdirsyncer's
// vdir after each changed run). It asserts no timing.
func TestDav(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the DAV benchmark runs on Linux only")
	}
	const n, changes = 50, 10
	var progress bytes.Buffer
	dir := t.TempDir()
	prof := filepath.Join(dir, "cpu")
	r, err := Dav(context.Background(), DavOptions{N: n, Reps: 1, Noops: 2, Changes: changes, Dir: dir,
		CPUProfile: prof, Progress: &progress})
	if errors.Is(err, ErrDavUnavailable) {
		t.Skipf("%v (scripts/test installs radicale and vdirsyncer)", err)
	}
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	if r.N != n || r.Reps != 1 || r.Noops != 2 || r.Changes != changes || r.Radicale == "" || r.VDirSyncer == "" {
		t.Errorf("result %+v", r)
	}
	if r.Tandem.PeakRSSMB <= 0 {
		t.Errorf("Tandem's peak RSS %v", r.Tandem.PeakRSSMB)
	}
	for name, c := range map[string]*DavCollection{"contacts": r.Contacts, "events": r.Events} {
		if c == nil {
			t.Fatalf("no %s", name)
		}
		for what, v := range map[string]float64{
			"tandem.first_ms": c.Tandem.FirstMS, "tandem.noop_ms": c.Tandem.NoopMS, "tandem.changed100_ms": c.Tandem.Changed100MS,
			"tandem.changed100_again_ms": c.Tandem.Again100MS, "tandem.peak_rss_mb": c.Tandem.PeakRSSMB,
			"tandem.first_cpu_s":       c.Tandem.FirstCPUS,
			"floor.sync_collection_ms": c.Floor.SyncCollectionMS, "floor.changed100_ms": c.Floor.Changed100MS,
			"floor.first_ms": c.Floor.FirstMS, "floor.changed100_again_ms": c.Floor.Again100MS,
			"vdirsyncer.first_ms": c.VDirSyncer.FirstMS, "vdirsyncer.noop_ms": c.VDirSyncer.NoopMS,
			"vdirsyncer.changed100_ms": c.VDirSyncer.Changed100MS,
			"ratio.noop_to_floor":      c.Ratio.NoopToFloor, "ratio.changed100_to_floor": c.Ratio.Changed100ToFloor,
			"ratio.vdirsyncer_noop_to_tandem_noop":             c.Ratio.VDirSyncerNoopToTandemNoop,
			"ratio.vdirsyncer_changed100_to_tandem_changed100": c.Ratio.VDirSyncerChanged100ToTandemChanged100,
			"ratio.tandem_first_to_vdirsyncer_first":           c.Ratio.TandemFirstToVDirSyncerFirst,
		} {
			if v <= 0 {
				t.Errorf("%s.%s = %v, want a positive number", name, what, v)
			}
		}
		for what, runs := range map[string]struct{ got, want int }{
			"tandem first": {len(c.Tandem.First), 1}, "tandem noop": {len(c.Tandem.Noop), 2},
			"tandem changed": {len(c.Tandem.Changed), 1}, "tandem again": {len(c.Tandem.Again), 1},
			"floor noop": {len(c.Floor.Noop), 2}, "vdirsyncer noop": {len(c.VDirSyncer.Noop), 1},
			"vdirsyncer changed": {len(c.VDirSyncer.Changed), 1},
		} {
			if runs.got != runs.want {
				t.Errorf("%s: %d %s runs, want %d", name, runs.got, what, runs.want)
			}
		}
		if s := c.Stats.First; s.LocalCreated != n || s.Skipped != 0 {
			t.Errorf("%s: first sync %+v, want %d created", name, s, n)
		}
		if s := c.Stats.Again; s.LocalUpdated != changes || s.RemoteUpdated != 0 {
			t.Errorf("%s: changed-again run %+v, want %d local updates and nothing written back", name, s, changes)
		}
		if c.Tandem.First[0].DatabaseMB <= 0 || c.VDirSyncer.First[0].Items != n || c.Floor.First[0].Items != n {
			t.Errorf("%s: first runs: Tandem %+v, vdirsyncer %+v, floor %+v", name, c.Tandem.First[0],
				c.VDirSyncer.First[0], c.Floor.First[0])
		}
		for _, phase := range []string{"first", "noop", "changed", "again"} {
			if fi, err := os.Stat(prof + "." + name + "." + phase + ".pprof"); err != nil || fi.Size() == 0 {
				t.Errorf("no CPU profile of %s %s: %v", name, phase, err)
			}
		}
	}
	// A contact changed on the server is only taken in: nothing goes back.
	if s := r.Contacts.Stats.Changed; s.LocalUpdated != changes || s.RemoteUpdated != 0 || s.Conflicts != 0 {
		t.Errorf("contacts: changed run %+v, want %d local updates and nothing else", s, changes)
	}
	if len(r.Goals) != 11 {
		t.Errorf("%d goals, want 11: %+v", len(r.Goals), r.Goals)
	}
	if r.Path != "" {
		t.Errorf("work folder kept without Keep: %s", r.Path)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "tandem-bench-dav-*")); len(left) != 0 {
		t.Errorf("work folder left behind: %v", left)
	}
	doc, err := json.Marshal(r)
	if err != nil || !bytes.Contains(doc, []byte(`"vdirsyncer_noop_to_tandem_noop"`)) {
		t.Errorf("json: %v %s", err, doc)
	}
	var text bytes.Buffer
	r.Text(&text)
	for _, want := range []string{"contacts no-op", "events changed", "goals:", "Tandem peak RSS"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("no %q in the text:\n%s", want, text.String())
		}
	}
	for _, phase := range []string{"generating", "filling Radicale's item cache", "vdirsyncer's first sync", "changed again"} {
		if !strings.Contains(progress.String(), phase) {
			t.Errorf("no %q in the progress:\n%s", phase, progress.String())
		}
	}
}

func TestDavOptions(t *testing.T) {
	for _, o := range []DavOptions{
		{N: 100, Reps: 2, Changes: 60},
		{Collections: []string{"tasks"}},
		{Collections: []string{"events", "events"}},
	} {
		if err := o.defaults(); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
	o := DavOptions{}
	if err := o.defaults(); err != nil || o.N != defaultDavN || o.Changes != defaultDavChanges ||
		strings.Join(o.Collections, ",") != "contacts,events" {
		t.Errorf("defaults %+v: %v", o, err)
	}
}
