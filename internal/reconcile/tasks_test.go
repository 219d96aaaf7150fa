package reconcile_test

import (
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/reconcile"
)

func TestTaskStatusMapping(t *testing.T) {
	for _, tt := range []struct{ status, field string }{
		{"not_started", reconcile.TaskNeedsAction}, {"in_progress", reconcile.TaskInProcess},
		{"ready_for_review", reconcile.TaskInProcess}, {"completed", reconcile.TaskCompleted},
		{"cancelled", reconcile.TaskCancelled},
	} {
		if got := reconcile.TaskStatusField(tt.status); got != tt.field {
			t.Errorf("TaskStatusField(%s) = %s, want %s", tt.status, got, tt.field)
		}
	}
	for _, tt := range []struct{ current, field, want string }{
		{"not_started", reconcile.TaskInProcess, "in_progress"},
		{"in_progress", reconcile.TaskInProcess, "in_progress"},
		{"ready_for_review", reconcile.TaskInProcess, "ready_for_review"}, // the finer status is kept
		{"completed", reconcile.TaskInProcess, "in_progress"},
		{"cancelled", reconcile.TaskInProcess, "in_progress"},
		{"ready_for_review", reconcile.TaskNeedsAction, "not_started"},
		{"in_progress", "", "not_started"},
		{"ready_for_review", reconcile.TaskCompleted, "completed"},
		{"completed", reconcile.TaskCancelled, "cancelled"},
		{"in_progress", "bogus", "in_progress"},
	} {
		if got := reconcile.ApplyTaskStatus(tt.current, tt.field); got != tt.want {
			t.Errorf("ApplyTaskStatus(%s, %s) = %s, want %s", tt.current, tt.field, got, tt.want)
		}
	}
	// Every status survives a round trip through its own field value.
	for _, s := range crm.ActivityStatuses {
		if got := reconcile.ApplyTaskStatus(s, reconcile.TaskStatusField(s)); got != s {
			t.Errorf("%s → %s → %s", s, reconcile.TaskStatusField(s), got)
		}
	}
}

func TestTaskFieldsTable(t *testing.T) {
	tests := []struct {
		name string
		a    crm.Activity
		want reconcile.Fields
	}{
		{"undated, normal priority", crm.Activity{ID: "a1", Type: "task", Title: "Call back", Status: "not_started", Priority: "normal"},
			reconcile.Fields{"title": "Call back", "task_status": "needs_action", "tandem_id": "a1"}},
		{"timed, high", crm.Activity{ID: "a2", Title: "Report", Description: "Q3", Status: "in_progress", Priority: "high",
			Start: at("2031-03-09T09:00:00Z"), End: at("2031-03-10T17:30:00Z")},
			reconcile.Fields{"title": "Report", "description": "Q3", "task_status": "in_process", "priority": "high",
				"start": "2031-03-09T09:00:00Z", "due": "2031-03-10T17:30:00Z", "tandem_id": "a2"}},
		{"all-day: the due is the last day", crm.Activity{ID: "a3", Title: "Pack", Status: "ready_for_review", Priority: "low",
			AllDay: true, Start: at("2031-03-09"), End: at("2031-03-11")},
			reconcile.Fields{"title": "Pack", "task_status": "in_process", "priority": "low", "all_day": "true",
				"start": "2031-03-09", "due": "2031-03-10", "tandem_id": "a3"}},
		{"all-day due only", crm.Activity{ID: "a4", Title: "Pay", Status: "not_started", Priority: "normal", AllDay: true,
			End: at("2031-04-02")},
			reconcile.Fields{"title": "Pay", "task_status": "needs_action", "all_day": "true", "due": "2031-04-01", "tandem_id": "a4"}},
		{"undated all-day flag is not sent", crm.Activity{ID: "a5", Title: "Think", Status: "not_started", Priority: "normal", AllDay: true},
			reconcile.Fields{"title": "Think", "task_status": "needs_action", "tandem_id": "a5"}},
		{"completed: the actual end", crm.Activity{ID: "a6", Title: "Done", Status: "completed", Priority: "normal",
			ActualStart: at("2031-03-01T08:00:00Z"), ActualEnd: at("2031-03-02T10:15:00Z")},
			reconcile.Fields{"title": "Done", "task_status": "completed", "completed": "2031-03-02T10:15:00Z", "tandem_id": "a6"}},
		{"cancelled keeps no completion", crm.Activity{ID: "a7", Title: "Dropped", Status: "cancelled", Priority: "normal",
			ActualEnd: at("2031-03-02T10:15:00Z")},
			reconcile.Fields{"title": "Dropped", "task_status": "cancelled", "tandem_id": "a7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := reconcile.TaskFields(&tt.a)
			if !got.Equal(tt.want) {
				t.Fatalf("TaskFields = %v, want %v", got, tt.want)
			}
			// Applying the fields to a blank task gives the same fields back.
			b := &crm.Activity{ID: tt.a.ID, Type: "task", Status: "not_started", Priority: "normal"}
			if err := reconcile.ApplyTaskFields(b, got, reconcile.TaskFieldNames); err != nil {
				t.Fatal(err)
			}
			if tt.a.Status == "completed" {
				b.ActualStart = tt.a.ActualStart // the stamp's, not a field
			}
			if back := reconcile.TaskFields(b); !back.Equal(got) {
				t.Errorf("round trip %v, want %v", back, got)
			}
		})
	}
}

func TestApplyTaskFields(t *testing.T) {
	t.Run("a remote completion time wins over the stamp", func(t *testing.T) {
		a := &crm.Activity{Type: "task", Title: "x", Status: "in_progress", Priority: "normal",
			ActualStart: at("2031-05-02T09:00:00Z")}
		f := reconcile.Fields{"title": "x", "task_status": "completed", "completed": "2031-05-01T18:00:00Z"}
		if err := reconcile.ApplyTaskFields(a, f, []string{"task_status", "completed"}); err != nil {
			t.Fatal(err)
		}
		a.Normalize()
		if err := a.Validate(); err != nil {
			t.Fatal(err)
		}
		if a.Status != "completed" || !a.ActualEnd.Equal(*at("2031-05-01T18:00:00Z")) || !a.ActualStart.Equal(*a.ActualEnd) {
			t.Errorf("status %s, actual %v – %v", a.Status, a.ActualStart, a.ActualEnd)
		}
	})
	t.Run("completed without a time is stamped", func(t *testing.T) {
		a := &crm.Activity{Type: "task", Title: "x", Status: "not_started", Priority: "normal"}
		before := crm.Now()
		if err := reconcile.ApplyTaskFields(a, reconcile.Fields{"task_status": "completed"}, []string{"task_status"}); err != nil {
			t.Fatal(err)
		}
		a.Normalize()
		if a.ActualEnd == nil || a.ActualEnd.Before(before) {
			t.Errorf("actual end %v", a.ActualEnd)
		}
	})
	t.Run("a completion time of a task not completed is left to the status", func(t *testing.T) {
		a := &crm.Activity{Type: "task", Title: "x", Status: "not_started", Priority: "normal"}
		f := reconcile.Fields{"task_status": "in_process", "completed": "2031-05-01T18:00:00Z"}
		if err := reconcile.ApplyTaskFields(a, f, []string{"task_status", "completed"}); err != nil {
			t.Fatal(err)
		}
		if a.Status != "in_progress" || a.ActualEnd != nil {
			t.Errorf("status %s, actual end %v", a.Status, a.ActualEnd)
		}
	})
	t.Run("in process keeps ready for review", func(t *testing.T) {
		a := &crm.Activity{Type: "task", Title: "x", Status: "ready_for_review", Priority: "high"}
		f := reconcile.Fields{"title": "y", "task_status": "in_process"}
		if err := reconcile.ApplyTaskFields(a, f, []string{"title", "task_status", "priority"}); err != nil {
			t.Fatal(err)
		}
		if a.Status != "ready_for_review" || a.Title != "y" || a.Priority != "normal" {
			t.Errorf("%+v", a)
		}
	})
	t.Run("a date-form due makes the task all-day", func(t *testing.T) {
		a := &crm.Activity{Type: "task", Title: "x", Status: "not_started", Priority: "normal", Start: at("2031-05-01T09:00:00Z")}
		f := reconcile.Fields{"start": "2031-05-01", "due": "2031-05-03"}
		if err := reconcile.ApplyTaskFields(a, f, []string{"start", "due"}); err != nil {
			t.Fatal(err)
		}
		if !a.AllDay || !a.End.Equal(*at("2031-05-04")) {
			t.Errorf("all day %v, end %v", a.AllDay, a.End)
		}
		f = reconcile.Fields{"due": "2031-05-03T10:00:00Z"}
		if err := reconcile.ApplyTaskFields(a, f, []string{"start", "due"}); err != nil {
			t.Fatal(err)
		}
		if a.AllDay || a.Start != nil || !a.End.Equal(*at("2031-05-03T10:00:00Z")) {
			t.Errorf("all day %v, start %v, end %v", a.AllDay, a.Start, a.End)
		}
	})
	for _, f := range []reconcile.Fields{{"task_status": "done"}, {"priority": "urgent"}, {"due": "tomorrow"},
		{"task_status": "completed", "completed": "2031-05-01"}} {
		a := &crm.Activity{Type: "task", Status: "not_started", Priority: "normal"}
		if err := reconcile.ApplyTaskFields(a, f, reconcile.TaskFieldNames); err == nil {
			t.Errorf("%v: no error", f)
		}
	}
}

func TestTaskReachesDate(t *testing.T) {
	from := *at("2031-06-10T00:00:00Z")
	created := *at("2031-06-12T08:00:00Z")
	old := *at("2031-01-05T08:00:00Z")
	tests := []struct {
		name string
		a    crm.Activity
		want bool
	}{
		{"due after", crm.Activity{End: at("2031-06-11T10:00:00Z"), CreatedAt: old}, true},
		{"due before, though created after", crm.Activity{End: at("2031-06-09T10:00:00Z"), CreatedAt: created}, false},
		{"due on the day (all-day: exclusive end)", crm.Activity{AllDay: true, End: at("2031-06-11"), CreatedAt: old}, true},
		{"due the day before", crm.Activity{AllDay: true, End: at("2031-06-10"), CreatedAt: created}, false},
		{"started before, no due", crm.Activity{Start: at("2031-06-01T10:00:00Z"), CreatedAt: created}, false},
		{"undated, created after", crm.Activity{CreatedAt: created}, true},
		{"undated, created before", crm.Activity{CreatedAt: old}, false},
	}
	for _, tt := range tests {
		if got := reconcile.TaskReachesDate(&tt.a, from); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
		if !reconcile.TaskReachesDate(&tt.a, time.Time{}) {
			t.Errorf("%s: no date bound excludes it", tt.name)
		}
		// The remote form agrees on dated tasks.
		if tt.a.Start != nil || tt.a.End != nil {
			f := reconcile.TaskFields(&tt.a)
			if got := reconcile.TaskItemReachesDate(f, from); got != tt.want {
				t.Errorf("%s: item %v, want %v", tt.name, got, tt.want)
			}
		}
	}
	if !reconcile.TaskItemReachesDate(reconcile.Fields{"title": "undated"}, from) ||
		!reconcile.TaskItemReachesDate(reconcile.Fields{"due": "garbage"}, from) {
		t.Error("an item it cannot judge is hidden")
	}
}
