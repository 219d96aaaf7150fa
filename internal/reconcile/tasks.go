package reconcile

import (
	"fmt"
	"slices"
	"time"

	"github.com/tandem-crm/tandem/internal/crm"
)

// Task field names (activities of type task that are not shown in a
// calendar: a to-do list such as CalDAV's VTODO or Microsoft To Do). A
// task shares FieldTitle, FieldDescription, FieldStart, FieldAllDay and
// FieldTandemID with events; FieldStart is its planned start, in
// FormatEventTime's form like FieldDue and FieldCompleted.
const (
	// FieldDue is the task's planned due time (the activity's end). An
	// all-day task's due is the date it is due on, its last day — not the
	// exclusive end an all-day event's FieldEnd is (see TaskFields).
	FieldDue = "due"
	// FieldTaskStatus is one of the TaskStatus values. The remote
	// vocabulary is the coarser one (iCalendar's VTODO STATUS); the
	// Local maps Tandem's statuses onto it and back without losing a
	// finer local status the remote cannot tell apart.
	FieldTaskStatus = "task_status"
	// FieldPriority is "low", "normal" or "high" (absent: normal).
	FieldPriority = "priority"
	// FieldCompleted is when the task was completed (its actual end), as
	// an RFC 3339 UTC instant.
	FieldCompleted = "completed"
)

// Task statuses in field form.
const (
	TaskNeedsAction = "needs_action"
	TaskInProcess   = "in_process"
	TaskCompleted   = "completed"
	TaskCancelled   = "cancelled"
)

// TaskFieldNames lists every task field.
var TaskFieldNames = []string{FieldTitle, FieldDescription, FieldStart, FieldDue, FieldAllDay, FieldTaskStatus,
	FieldPriority, FieldCompleted, FieldTandemID}

// TaskStatusField is the field form of an activity status: the remote
// vocabulary is coarser, so in progress and ready for review both read as
// in process.
func TaskStatusField(status string) string {
	switch status {
	case "in_progress", "ready_for_review":
		return TaskInProcess
	case "completed":
		return TaskCompleted
	case "cancelled":
		return TaskCancelled
	}
	return TaskNeedsAction
}

// ApplyTaskStatus is the activity status a task whose status is current
// takes for the field value field: in process keeps a status that already
// says so (ready for review stays ready for review), else in progress. An
// empty value is needs action (iCalendar's reading of a to-do without a
// status); a value it does not know keeps current.
func ApplyTaskStatus(current, field string) string {
	switch field {
	case "", TaskNeedsAction:
		return "not_started"
	case TaskInProcess:
		if current == "in_progress" || current == "ready_for_review" {
			return current
		}
		return "in_progress"
	case TaskCompleted:
		return "completed"
	case TaskCancelled:
		return "cancelled"
	}
	return current
}

// formatDue renders a task's due time. An all-day task's due is the date
// it is due on, as to-do lists show it (iCalendar's DUE;VALUE=DATE,
// Microsoft To Do's due date): the activity's last day, one before the
// exclusive end crm.Activity keeps.
func formatDue(a *crm.Activity) string {
	if !a.AllDay {
		return FormatEventTime(*a.End, false)
	}
	last := a.End.UTC().AddDate(0, 0, -1)
	if a.Start != nil && last.Before(a.Start.UTC()) {
		last = a.Start.UTC()
	}
	return FormatEventTime(last, true)
}

// FormatCompleted renders a completion time as FieldCompleted holds it.
func FormatCompleted(t time.Time) string { return t.UTC().Truncate(time.Second).Format(time.RFC3339) }

// TaskFields is the normalized form of an activity kept in a to-do list:
// its planned dates (not the actual ones a calendar shows), the status in
// the remote vocabulary (TaskStatusField), the priority unless normal,
// and the completion time (the actual end) of a completed task.
func TaskFields(a *crm.Activity) Fields {
	f := Fields{FieldTitle: a.Title, FieldDescription: a.Description, FieldTaskStatus: TaskStatusField(a.Status),
		FieldTandemID: a.ID}
	if a.Start != nil {
		f[FieldStart] = FormatEventTime(*a.Start, a.AllDay)
	}
	if a.End != nil {
		f[FieldDue] = formatDue(a)
	}
	if a.AllDay && (a.Start != nil || a.End != nil) {
		// Only a dated task is all-day: a to-do list has nowhere to keep
		// the flag of an undated one.
		f[FieldAllDay] = "true"
	}
	if a.Priority != "normal" {
		f[FieldPriority] = a.Priority
	}
	if a.Status == "completed" && a.ActualEnd != nil {
		f[FieldCompleted] = FormatCompleted(*a.ActualEnd)
	}
	for k, v := range f {
		if v == "" {
			delete(f, k)
		}
	}
	return f
}

// ApplyTaskFields sets the named fields of a from f (tandem_id is the
// adapter's). A date-form start or due makes the task all-day unless
// all_day is among the names; an all-day due is the last day (see
// TaskFields). The completion time of a task that is completed after the
// change becomes its actual end — the remote's time wins over the stamp
// crm.Activity.Normalize would put there — and an actual start after it
// (or none) moves back to it, as a task cannot end before it started.
func ApplyTaskFields(a *crm.Activity, f Fields, names []string) error {
	has := map[string]bool{}
	for _, n := range names {
		has[n] = true
	}
	parse := func(n string) (*time.Time, bool, error) {
		v := f[n]
		if v == "" {
			return nil, false, nil
		}
		t, allDay, err := ParseEventTime(v)
		if err != nil {
			return nil, false, fmt.Errorf("task %s %q: %w", n, v, err)
		}
		return &t, allDay, nil
	}
	for _, n := range names {
		v := f[n]
		switch n {
		case FieldTitle:
			a.Title = v
		case FieldDescription:
			a.Description = v
		case FieldAllDay:
			a.AllDay = v == "true"
		case FieldTaskStatus:
			if !slices.Contains([]string{"", TaskNeedsAction, TaskInProcess, TaskCompleted, TaskCancelled}, v) {
				return fmt.Errorf("task status %q unknown", v)
			}
			a.Status = ApplyTaskStatus(a.Status, v)
		case FieldPriority:
			switch {
			case v == "":
				a.Priority = "normal"
			case slices.Contains(crm.Priorities, v):
				a.Priority = v
			default:
				return fmt.Errorf("task priority %q unknown", v)
			}
		}
	}
	if has[FieldStart] {
		t, allDay, err := parse(FieldStart)
		if err != nil {
			return err
		}
		a.Start = t
		if t != nil && !has[FieldAllDay] {
			a.AllDay = allDay
		}
	}
	if has[FieldDue] {
		t, allDay, err := parse(FieldDue)
		if err != nil {
			return err
		}
		if t != nil && allDay {
			e := t.AddDate(0, 0, 1) // the last day → the exclusive end
			t = &e
		}
		a.End = t
		if t != nil && !has[FieldAllDay] && !(has[FieldStart] && f[FieldStart] != "") {
			a.AllDay = allDay
		}
	}
	if (has[FieldTaskStatus] || has[FieldCompleted]) && a.Status == "completed" && f[FieldCompleted] != "" {
		t, err := time.Parse(time.RFC3339, f[FieldCompleted])
		if err != nil {
			return fmt.Errorf("task completed %q: %w", f[FieldCompleted], err)
		}
		t = t.UTC()
		a.ActualEnd = &t
		if a.ActualStart == nil || a.ActualStart.After(t) {
			a.ActualStart = &t
		}
	}
	return nil
}

// TaskReachesDate reports whether a task is not older than from: its due
// time (an all-day task's last day), else its planned start, else
// (undated) its creation is on or after from. An undated task created
// before the sync-from date is old.
func TaskReachesDate(a *crm.Activity, from time.Time) bool {
	if from.IsZero() {
		return true
	}
	ref := a.CreatedAt
	switch {
	case a.End != nil && a.AllDay:
		ref, _, _ = ParseEventTime(formatDue(a))
	case a.End != nil:
		ref = *a.End
	case a.Start != nil:
		ref = *a.Start
	}
	return !ref.Before(from)
}

// TaskItemReachesDate is TaskReachesDate for a remote task in Fields form,
// for a connector that bounds its listing by the sync-from date: due
// (an all-day one's date), else start, on or after from. An undated task,
// or one whose dates cannot be read, counts as reaching it: a window must
// never hide what it cannot judge.
func TaskItemReachesDate(f Fields, from time.Time) bool {
	if from.IsZero() {
		return true
	}
	for _, n := range []string{FieldDue, FieldStart} {
		if f[n] == "" {
			continue
		}
		t, _, err := ParseEventTime(f[n])
		if err != nil {
			return true
		}
		return !t.Before(from)
	}
	return true
}
