package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/tandem-crm/tandem/internal/testenv/mailserver"
)

// TestBenchMail runs `tandem bench mail --json` small against the real
// Dovecot and mbsync and checks the JSON has every figure of issue 9, and
// that the runs did what they should. It asserts no timing.
func TestBenchMail(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the mail benchmark runs on Linux only")
	}
	const n, newN = 200, 10
	prof := t.TempDir() + "/cpu.pprof"
	var out, errb bytes.Buffer
	err := run([]string{"bench", "mail", "--json", "--n", "200", "--new", "10", "--reps", "1", "--cpuprofile", prof}, &out, &errb)
	if errors.Is(err, mailserver.ErrUnavailable) {
		t.Skipf("%v", err)
	}
	if err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	var doc map[string]any
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, out.String())
	}
	// get follows a dotted path; a list on the way stands for its first
	// element ("first_load.runs.stored": the first run's).
	get := func(path string) any {
		var v any = doc
		for _, k := range strings.Split(path, ".") {
			if l, ok := v.([]any); ok && len(l) > 0 {
				v = l[0]
			}
			m, _ := v.(map[string]any)
			v = m[k]
		}
		return v
	}
	for _, path := range []string{"first_load.messages_per_sec", "first_load.ratio_to_mbsync", "first_load.peak_rss_mb",
		"new100_ms", "noop_ms", "idle_latency_ms", "first_load.seconds", "first_load.mbsync_seconds",
		"first_load.cpu_seconds", "first_load.runs.database_mb", "mbsync_cold_seconds", "bytes"} {
		if f, ok := get(path).(float64); !ok || f <= 0 {
			t.Errorf("%s = %v, want a positive number", path, get(path))
		}
	}
	for path, want := range map[string]float64{
		"n": n, "new": newN, "reps": 1, "contacts": 5,
		"first_load.runs.stored": n, "first_load.mbsync_runs.messages": n, "first_load.stats.fetched": n,
		"new_runs.stored": newN,
	} {
		if got, _ := get(path).(float64); got != want {
			t.Errorf("%s = %v, want %v", path, get(path), want)
		}
	}
	// Each contact's address is in at least one letter.
	if linked, _ := get("linked_letters").(float64); linked < 5 {
		t.Errorf("linked_letters = %v, want at least one per contact", get("linked_letters"))
	}
	for path, want := range map[string]int{"first_load.runs": 1, "first_load.mbsync_runs": 1, "new_runs": 3, "noop_runs_ms": 5, "idle_runs_ms": 5} {
		if l, _ := get(path).([]any); len(l) != want {
			t.Errorf("%s has %d entries, want %d", path, len(l), want)
		}
	}
	if _, kept := doc["path"]; kept {
		t.Errorf("work folder kept without --keep: %v", doc["path"])
	}
	if fi, err := os.Stat(prof); err != nil || fi.Size() == 0 {
		t.Errorf("no CPU profile: %v", err)
	}
	for _, phase := range []string{"generating", "mbsync pull", "IDLE"} {
		if !strings.Contains(errb.String(), phase) {
			t.Errorf("no %q on stderr:\n%s", phase, errb.String())
		}
	}
}

func TestBenchMailFlags(t *testing.T) {
	for _, args := range [][]string{{"--n", "0"}, {"--reps", "0"}, {"--new", "-1"}, {"extra"}} {
		var out, errb bytes.Buffer
		if err := run(append([]string{"bench", "mail"}, args...), &out, &errb); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

func TestBenchDavFlags(t *testing.T) {
	for _, args := range [][]string{{"--n", "0"}, {"--reps", "0"}, {"--noops", "0"}, {"--changes", "0"},
		{"--n", "100", "--reps", "3", "--changes", "50"}, {"--collections", " , "}, {"--collections", "tasks"}, {"extra"}} {
		var out, errb bytes.Buffer
		if err := run(append([]string{"bench", "dav"}, args...), &out, &errb); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
