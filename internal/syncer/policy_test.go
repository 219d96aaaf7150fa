package syncer

import (
	"testing"

	"github.com/tandem-crm/tandem/internal/store"
)

// TestSchedulePolicies: the scheduler reads each binding's policy as its
// own kind's settings, and a policy it cannot read is an error, not a
// binding silently left without its period.
func TestSchedulePolicies(t *testing.T) {
	tests := []struct {
		name, kind, policy string
		auto               bool
		minutes            int
		wantErr            bool
	}{
		{"contacts", KindContacts, `{"tag_id":"t","auto":true,"period_minutes":30,"group_name":"Tandem"}`, true, 30, false},
		{"calendar", KindEvents, `{"calendar_id":"c","sync_from":"2026-01-01","auto":true,"period_minutes":45,"current":true}`, true, 45, false},
		{"no policy yet", KindEvents, ``, false, 0, false},
		{"a calendar policy on a contact binding", KindContacts, `{"calendar_id":"c","auto":true,"period_minutes":45}`, false, 0, true},
		{"a contact policy on a calendar binding", KindEvents, `{"tag_id":"t","auto":true,"period_minutes":30}`, false, 0, true},
		{"damaged", KindContacts, `{"auto":"yes"}`, false, 0, true},
		{"unknown import mode", KindEvents, `{"calendar_id":"c","import_as":"task"}`, false, 0, true},
		{"tasks", KindTasks, `{"list_id":"l","sync_from":"2026-01-01","auto":true,"period_minutes":20,"current":true}`, true, 20, false},
		{"a calendar policy on a task binding", KindTasks, `{"calendar_id":"c","auto":true}`, false, 0, true},
		{"unknown kind", "mail", `{}`, false, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			auto, minutes, err := schedule(&store.Binding{Kind: tt.kind, Policy: tt.policy})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err == nil && (auto != tt.auto || minutes != tt.minutes) {
				t.Errorf("auto %v every %d min, want %v every %d", auto, minutes, tt.auto, tt.minutes)
			}
		})
	}
}
