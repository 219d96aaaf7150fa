package syncer

import (
	"encoding/json"
	"maps"
	"testing"

	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/crmsync"
	"github.com/tandem-crm/tandem/internal/provider"
)

func TestSchemaCheck(t *testing.T) {
	long := string(make([]rune, 101))
	for _, c := range []struct {
		name    string
		set     Settings
		enabled bool
		want    map[string]string
	}{
		{"contact defaults", &ContactSettings{PeriodMinutes: 15, GroupName: "Tandem"}, false, map[string]string{}},
		{"contact enabled without tag", &ContactSettings{PeriodMinutes: 15}, true, map[string]string{"tag_id": "error.required"}},
		{"period out of range", &ContactSettings{TagID: "t", PeriodMinutes: 4}, true,
			map[string]string{"period_minutes": "error.out_of_range"}},
		{"group name too long", &ContactSettings{PeriodMinutes: 15, GroupName: long}, false,
			map[string]string{"group_name": crm.TooLong(100)}},
		{"remote delete policy", &ContactSettings{PeriodMinutes: 15, RemoteDelete: "purge"}, false,
			map[string]string{"remote_delete": "error.unknown_value"}},
		{"event complete", &EventSettings{CalendarID: "c", SyncFrom: "2026-01-02", PeriodMinutes: 60, ImportAs: "note"}, true,
			map[string]string{}},
		{"event enabled without calendar", &EventSettings{PeriodMinutes: 60, ImportAs: "meeting"}, true,
			map[string]string{"calendar_id": "error.required"}},
		{"event bad values", &EventSettings{CalendarID: "c", SyncFrom: "2026-13-01", PeriodMinutes: 2000, ImportAs: "task"}, false,
			map[string]string{"sync_from": "error.invalid_date", "period_minutes": "error.out_of_range", "import_as": "error.unknown_value"}},
		{"task complete", &TaskSettings{ListID: "l", SyncFrom: "2026-01-02", PeriodMinutes: 60}, true, map[string]string{}},
		{"task enabled without list", &TaskSettings{PeriodMinutes: 60}, true, map[string]string{"list_id": "error.required"}},
		{"task bad values", &TaskSettings{ListID: "l", SyncFrom: "2026-02-30", PeriodMinutes: 1}, false,
			map[string]string{"sync_from": "error.invalid_date", "period_minutes": "error.out_of_range"}},
	} {
		schema, err := SchemaOf(c.set.Kind())
		if err != nil {
			t.Fatal(err)
		}
		got := schema.Check(c.set, c.enabled)
		if !maps.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestDecodeSettings(t *testing.T) {
	s, err := DecodeSettings(provider.Event, `{"calendar_id":"c","sync_from":"2026-01-02","auto":true,"period_minutes":30}`)
	if es, ok := s.(*EventSettings); err != nil || !ok || es.ImportAs != "meeting" || es.CalendarID != "c" {
		t.Errorf("event policy: %+v, %v", s, err)
	}
	s, err = DecodeSettings(provider.Task, `{"list_id":"l","sync_from":"2026-01-02","auto":true,"period_minutes":30,"current":true}`)
	if ts, ok := s.(*TaskSettings); err != nil || !ok || ts.ListID != "l" || !ts.Current || ts.From("Europe/Moscow").IsZero() {
		t.Errorf("task policy: %+v, %v", s, err)
	}
	for _, bad := range []struct {
		kind   provider.Kind
		policy string
	}{
		{provider.Contact, `{"calendar_id":"c"}`}, // another kind's policy
		{provider.Event, `{"import_as":"task"}`},
		{provider.Contact, `{"period_minutes":"x"}`},
		{"mail", `{}`},
		{provider.Task, `{"calendar_id":"c"}`},
		{provider.Event, `{"calendar_id":"c","export":"everything"}`}, // an export scope no one wrote
		{provider.Task, `{"list_id":"l","export":1}`},
		{provider.Event, `{"calendar_id":"c","calendar_ids":["c","d"]}`}, // the picks are bindings, not a policy
	} {
		if _, err := DecodeSettings(bad.kind, bad.policy); err == nil {
			t.Errorf("%s policy %s decoded", bad.kind, bad.policy)
		}
	}
}

// The export scope of a binding is typed: a home calendar exports all of
// the user's activities, another one only its own; an old policy without
// it is a home.
func TestDecodeExportScope(t *testing.T) {
	for _, c := range []struct {
		kind   provider.Kind
		policy string
		want   crmsync.ExportScope
	}{
		{provider.Event, `{"calendar_id":"c"}`, crmsync.ExportAll},
		{provider.Event, `{"calendar_id":"c","export":"all"}`, crmsync.ExportAll},
		{provider.Event, `{"calendar_id":"c","export":"own"}`, crmsync.ExportOwn},
		{provider.Task, `{"list_id":"l","export":"own"}`, crmsync.ExportOwn},
	} {
		s, err := DecodeSettings(c.kind, c.policy)
		if err != nil {
			t.Fatalf("%s: %v", c.policy, err)
		}
		if got := s.(picked).export(); got != c.want {
			t.Errorf("%s: export %q, want %q", c.policy, got, c.want)
		}
	}
	if _, err := crmsync.ParseExportScope("mine"); err == nil {
		t.Error("a made-up export scope parsed")
	}
}

func TestPatchSettings(t *testing.T) {
	cur := &ContactSettings{TagID: "t1", Auto: true, PeriodMinutes: 30, GroupName: "Tandem"}
	got, err := PatchSettings(cur, json.RawMessage(`{"period_minutes":60,"group_name":"CRM"}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := (&ContactSettings{TagID: "t1", Auto: true, PeriodMinutes: 60, GroupName: "CRM"}); *got.(*ContactSettings) != *want {
		t.Errorf("patched %+v, want %+v", got, want)
	}
	if cur.PeriodMinutes != 30 {
		t.Error("the patch changed the current settings")
	}
	for _, bad := range []string{`{"calendar_id":"c"}`, `{"current":true}`, `{"period_minutes":"x"}`, `[]`} {
		if _, err := PatchSettings(cur, json.RawMessage(bad)); err == nil {
			t.Errorf("patch %s accepted", bad)
		}
	}
}
