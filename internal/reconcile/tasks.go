package reconcile

// Task field names (activities of type task that are not shown in a
// calendar: a to-do list such as CalDAV's VTODO or Microsoft To Do). A
// task shares FieldTitle, FieldDescription, FieldStart, FieldAllDay and
// FieldTandemID with events; FieldStart is its planned start, in
// FormatEventTime's form like FieldDue and FieldCompleted.
const (
	// FieldDue is the task's planned due time (the activity's end).
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
