package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tandem-crm/tandem/internal/testenv"
)

// TestBenchSync runs `tandem bench sync --json` tiny, with the real
// `tandem emulator google` as its emulator process (this test binary run
// as main), and checks the JSON has every figure of issue 8, positive, per
// database. It asserts no timing.
func TestBenchSync(t *testing.T) {
	t.Setenv(runMainEnv, "1")
	t.Setenv("TANDEM_TEST_DATABASE_URL", "")
	tiny := []string{"bench", "sync", "--json", "--n", "200", "--mid", "100", "--small", "50", "--changes", "10",
		"--rounds", "1", "--foreign", "101", "--quota", "20"}
	for _, c := range []struct {
		name string
		args []string
		dbs  []string
	}{
		{"sqlite", nil, []string{"sqlite"}},
		{"both", []string{"--db", "postgres,sqlite"}, []string{"sqlite", "postgres"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append(append([]string(nil), tiny...), c.args...)
			if len(c.dbs) > 1 {
				args = append(args, "--postgres", testenv.Postgres(t))
			}
			var out, errb bytes.Buffer
			if err := run(args, &out, &errb); err != nil {
				t.Fatalf("%v\n%s", err, errb.String())
			}
			var doc map[string]map[string]any
			if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
				t.Fatalf("stdout is not one JSON object: %v\n%s", err, out.String())
			}
			if len(doc) != len(c.dbs) {
				t.Errorf("databases %v, want %v", keys(doc), c.dbs)
			}
			for _, db := range c.dbs {
				res := doc[db]
				if res == nil || res["database"] != db {
					t.Fatalf("no %s result: %v", db, keys(doc))
				}
				for _, path := range []string{"import.contacts_per_sec", "import.peak_rss_mb", "export.contacts_per_sec",
					"export.peak_rss_mb", "incremental_ratio", "catch_up_ms", "quota.wall_s", "import_mid.contacts_per_sec",
					"import_mid.peak_rss_mb", "emulator.peak_rss_mb"} {
					var v any = res
					for _, k := range strings.Split(path, ".") {
						m, _ := v.(map[string]any)
						v = m[k]
					}
					if f, ok := v.(float64); !ok || f <= 0 {
						t.Errorf("%s: %s = %v, want a positive number", db, path, v)
					}
				}
				q, _ := res["quota"].(map[string]any)
				if _, ok := q["floor_s"]; !ok || q["complete"] != true || q["exported"] != 20.0 {
					t.Errorf("%s: quota %v", db, q)
				}
			}
			if !strings.Contains(errb.String(), "first import") {
				t.Errorf("no progress on stderr:\n%s", errb.String())
			}
		})
	}
}

func keys(m map[string]map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func TestBenchSyncFlags(t *testing.T) {
	t.Setenv("TANDEM_TEST_DATABASE_URL", "")
	for _, args := range [][]string{
		{"--db", "postgres"},
		{"--db", "mysql"},
		{"--db", ","},
		{"--changes", "5000", "--small", "100"},
		{"--quota", "-1"},
		{"--quota-timeout", "0s"},
		{"extra"},
	} {
		var out, errb bytes.Buffer
		if err := run(append([]string{"bench", "sync"}, args...), &out, &errb); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
