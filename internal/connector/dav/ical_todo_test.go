package dav

import (
	"strings"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/reconcile"
)

var (
	// Thunderbird: Berlin times, in progress, high priority, an alarm.
	thunderbirdTodo = obj(`
BEGIN:VCALENDAR
PRODID:-//Mozilla.org/NONSGML Mozilla Calendar V1.1//EN
VERSION:2.0
BEGIN:VTIMEZONE
TZID:Europe/Berlin
X-LIC-LOCATION:Europe/Berlin
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE
BEGIN:VTODO
CREATED:20260201T090000Z
LAST-MODIFIED:20260202T100000Z
DTSTAMP:20260202T100000Z
UID:9c1e5b0a-6d7f-4e2a-b3c4-d5e6f7a8b9c0
SUMMARY:Prepare the quarterly report
PRIORITY:1
STATUS:IN-PROCESS
PERCENT-COMPLETE:40
DTSTART;TZID=Europe/Berlin:20260305T090000
DUE;TZID=Europe/Berlin:20260310T170000
X-MOZ-GENERATION:2
DESCRIPTION:Numbers from finance\, slides from sales.
X-FOO;X-PARAM=1:bar
BEGIN:VALARM
ACTION:DISPLAY
TRIGGER;VALUE=DURATION;RELATED=END:-PT1H
DESCRIPTION:Default Mozilla Description
END:VALARM
END:VTODO
END:VCALENDAR
`)
	thunderbirdTodoFields = reconcile.Fields{
		reconcile.FieldTitle: "Prepare the quarterly report", reconcile.FieldDescription: "Numbers from finance, slides from sales.",
		reconcile.FieldStart: "2026-03-05T08:00:00Z", reconcile.FieldDue: "2026-03-10T16:00:00Z",
		reconcile.FieldTaskStatus: reconcile.TaskInProcess, reconcile.FieldPriority: "high",
	}

	// iCloud Reminders: a completed all-day reminder, low priority.
	appleTodo = obj(`
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Apple Inc.//iOS 17.2//EN
BEGIN:VTODO
COMPLETED:20260304T151500Z
CREATED:20260301T080000Z
DTSTAMP:20260304T151500Z
DUE;VALUE=DATE:20260304
LAST-MODIFIED:20260304T151500Z
PERCENT-COMPLETE:100
PRIORITY:9
SEQUENCE:1
STATUS:COMPLETED
SUMMARY:Buy a gift
UID:A1B2C3D4-E5F6-4789-ABCD-EF0123456789
X-APPLE-SORT-ORDER:1234567
END:VTODO
END:VCALENDAR
`)
	appleTodoFields = reconcile.Fields{
		reconcile.FieldTitle: "Buy a gift", reconcile.FieldDue: "2026-03-04", reconcile.FieldAllDay: "true",
		reconcile.FieldTaskStatus: reconcile.TaskCompleted, reconcile.FieldPriority: "low", reconcile.FieldCompleted: "2026-03-04T15:15:00Z",
	}

	// Nextcloud Tasks: dates, PRIORITY 5, no STATUS, categories and a
	// parent task.
	nextcloudTodo = obj(`
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Nextcloud Tasks v0.16.0
BEGIN:VTODO
UID:c7d8e9f0-a1b2-4c3d-8e4f-5a6b7c8d9e0f
CREATED:20260301T100000
LAST-MODIFIED:20260301T101500
DTSTAMP:20260301T101500
SUMMARY:Call the supplier
PRIORITY:5
PERCENT-COMPLETE:30
CATEGORIES:Work,Calls
RELATED-TO:5b6c7d8e-0000-4000-8000-000000000001
DTSTART;VALUE=DATE:20260302
DUE;VALUE=DATE:20260306
END:VTODO
END:VCALENDAR
`)
	nextcloudTodoFields = reconcile.Fields{
		reconcile.FieldTitle: "Call the supplier", reconcile.FieldStart: "2026-03-02", reconcile.FieldDue: "2026-03-06",
		reconcile.FieldAllDay: "true", reconcile.FieldTaskStatus: reconcile.TaskNeedsAction,
	}

	// OpenTasks through DAVx5 on Radicale: DTSTART + DURATION, COMPLETED
	// without STATUS.
	radicaleTodo = obj(`
BEGIN:VCALENDAR
VERSION:2.0
PRODID:+//IDN bitfire.at//ical4android (org.dmfs.tasks)
BEGIN:VTODO
DTSTAMP:20260301T120000Z
UID:1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9
SUMMARY:Renew the domain
COMPLETED:20260301T115900Z
DTSTART:20260301T090000Z
DURATION:PT2H
X-TANDEM-ID:act-5
END:VTODO
END:VCALENDAR
`)
	radicaleTodoFields = reconcile.Fields{
		reconcile.FieldTitle: "Renew the domain", reconcile.FieldStart: "2026-03-01T09:00:00Z", reconcile.FieldDue: "2026-03-01T11:00:00Z",
		reconcile.FieldTaskStatus: reconcile.TaskCompleted,
		reconcile.FieldCompleted:  "2026-03-01T11:59:00Z", reconcile.FieldTandemID: "act-5",
	}
)

func TestTodoDecode(t *testing.T) {
	for _, tc := range []struct {
		name     string
		raw      []byte
		uid      string
		fields   reconcile.Fields
		modified time.Time
		warning  string
	}{
		{"thunderbird", thunderbirdTodo, "9c1e5b0a-6d7f-4e2a-b3c4-d5e6f7a8b9c0", thunderbirdTodoFields, time.Date(2026, 2, 2, 10, 0, 0, 0, time.UTC), ""},
		{"apple", appleTodo, "A1B2C3D4-E5F6-4789-ABCD-EF0123456789", appleTodoFields, time.Date(2026, 3, 4, 15, 15, 0, 0, time.UTC), ""},
		{"nextcloud", nextcloudTodo, "c7d8e9f0-a1b2-4c3d-8e4f-5a6b7c8d9e0f", nextcloudTodoFields, time.Date(2026, 3, 1, 10, 15, 0, 0, time.UTC), ""},
		{"radicale", radicaleTodo, "1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9", radicaleTodoFields, time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), ""},
		{"cancelled, priority 0", obj("BEGIN:VCALENDAR\nBEGIN:VTODO\nUID:t\nSUMMARY:x\nSTATUS:CANCELLED\nPRIORITY:0\nEND:VTODO\nEND:VCALENDAR\n"), "t",
			reconcile.Fields{reconcile.FieldTitle: "x", reconcile.FieldTaskStatus: reconcile.TaskCancelled}, time.Time{}, ""},
		{"unknown status, bad priority", obj("BEGIN:VCALENDAR\nBEGIN:VTODO\nUID:t\nSTATUS:WAITING\nPRIORITY:high\nEND:VTODO\nEND:VCALENDAR\n"), "t",
			reconcile.Fields{reconcile.FieldTaskStatus: reconcile.TaskNeedsAction}, time.Time{}, `unknown vtodo status "WAITING"`},
		{"unreadable due kept", obj("BEGIN:VCALENDAR\nBEGIN:VTODO\nUID:t\nDUE:next week\nEND:VTODO\nEND:VCALENDAR\n"), "t",
			reconcile.Fields{reconcile.FieldTaskStatus: reconcile.TaskNeedsAction}, time.Time{}, "ical: due value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := TaskCodec{Now: clock}
			d, err := c.Decode(tc.raw)
			if err != nil {
				t.Fatal(err)
			}
			if d.UID != tc.uid {
				t.Errorf("uid %q", d.UID)
			}
			sameFields(t, "decode", d.Fields, tc.fields)
			if !d.Modified.Equal(tc.modified) {
				t.Errorf("modified %v, want %v", d.Modified, tc.modified)
			}
			if w := strings.Join(d.Warnings, "; "); tc.warning != "" && !strings.Contains(w, tc.warning) || tc.warning == "" && w != "" {
				t.Errorf("warnings %q, want %q", w, tc.warning)
			}
			out, err := c.Encode(tc.raw, d.Fields, d.UID, d.Marker)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != string(tc.raw) {
				t.Errorf("round trip changed the object:\n%s", out)
			}
		})
	}
}

func TestTodoMalformed(t *testing.T) {
	for _, tc := range []struct{ name, raw string }{
		{"bare vtodo", "BEGIN:VTODO\nUID:x\nEND:VTODO\n"},
		{"no vtodo", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\nEND:VEVENT\nEND:VCALENDAR\n"},
		{"no uid", "BEGIN:VCALENDAR\nBEGIN:VTODO\nSUMMARY:x\nEND:VTODO\nEND:VCALENDAR\n"},
	} {
		_, err := TaskCodec{}.Decode(obj(tc.raw))
		if err == nil {
			t.Errorf("%s: decoded", tc.name)
		} else if !strings.HasPrefix(err.Error(), "ical: ") {
			t.Errorf("%s: error %q", tc.name, err)
		}
	}
}

func TestTodoPatch(t *testing.T) {
	c := TaskCodec{Now: clock}
	for _, tc := range []struct {
		name  string
		raw   []byte
		f     reconcile.Fields
		props []string
		check func(t *testing.T, out string)
	}{
		{"completed", thunderbirdTodo, with(thunderbirdTodoFields, reconcile.FieldTaskStatus, reconcile.TaskCompleted,
			reconcile.FieldCompleted, "2026-03-09T15:00:00Z"), []string{"STATUS", "PERCENT-COMPLETE", "COMPLETED"}, func(t *testing.T, out string) {
			for _, want := range []string{"STATUS:COMPLETED\r\n", "PERCENT-COMPLETE:100\r\n", "COMPLETED:20260309T150000Z\r\n"} {
				if !strings.Contains(out, want) {
					t.Errorf("no %q", want)
				}
			}
		}},
		{"reopened", appleTodo, with(appleTodoFields, reconcile.FieldTaskStatus, reconcile.TaskNeedsAction, reconcile.FieldCompleted, ""),
			[]string{"STATUS", "COMPLETED"}, func(t *testing.T, out string) {
				if !strings.Contains(out, "PERCENT-COMPLETE:100\r\n") {
					t.Error("PERCENT-COMPLETE touched")
				}
			}},
		{"cancelled", nextcloudTodo, with(nextcloudTodoFields, reconcile.FieldTaskStatus, reconcile.TaskCancelled), []string{"STATUS"}, nil},
		{"priority low", thunderbirdTodo, with(thunderbirdTodoFields, reconcile.FieldPriority, "low"), []string{"PRIORITY"}, func(t *testing.T, out string) {
			if !strings.Contains(out, "PRIORITY:9\r\n") {
				t.Error("no PRIORITY:9")
			}
		}},
		{"priority normal", appleTodo, with(appleTodoFields, reconcile.FieldPriority, ""), []string{"PRIORITY"}, nil},
		{"priority high", nextcloudTodo, with(nextcloudTodoFields, reconcile.FieldPriority, "high"), []string{"PRIORITY"}, nil},
		{"due moved keeps its zone", thunderbirdTodo, with(thunderbirdTodoFields, reconcile.FieldDue, "2026-04-10T15:00:00Z"), []string{"DUE"},
			func(t *testing.T, out string) {
				if !strings.Contains(out, "DUE;TZID=Europe/Berlin:20260410T170000\r\n") {
					t.Error("due not in Berlin summer time")
				}
			}},
		{"due of a duration task", radicaleTodo, with(radicaleTodoFields, reconcile.FieldDue, "2026-03-02T09:00:00Z"), []string{"DUE", "DURATION"}, nil},
		{"start of a duration task keeps the due", radicaleTodo, with(radicaleTodoFields, reconcile.FieldStart, "2026-03-01T08:00:00Z"),
			[]string{"DTSTART", "DUE", "DURATION"}, func(t *testing.T, out string) {
				if !strings.Contains(out, "DUE:20260301T110000Z\r\n") {
					t.Error("due moved with the start")
				}
			}},
		{"all-day due", nextcloudTodo, with(nextcloudTodoFields, reconcile.FieldDue, "2026-03-20"), []string{"DUE"}, func(t *testing.T, out string) {
			if !strings.Contains(out, "DUE;VALUE=DATE:20260320\r\n") {
				t.Error("due not a date")
			}
		}},
		{"start removed", nextcloudTodo, with(nextcloudTodoFields, reconcile.FieldStart, ""), []string{"DTSTART"}, nil},
		{"title and description", radicaleTodo, with(radicaleTodoFields, reconcile.FieldTitle, "Продлить домен", reconcile.FieldDescription,
			"Registrar: example; account 42, \"main\""), []string{"SUMMARY", "DESCRIPTION"}, nil},
		{"tandem id", appleTodo, with(appleTodoFields, reconcile.FieldTandemID, "act-9"), []string{"X-TANDEM-ID"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _ := patched(t, c, tc.raw, tc.f, []string{"DTSTAMP", "LAST-MODIFIED"}, tc.props)
			if !strings.Contains(string(out), "DTSTAMP:20260301T090000Z") {
				t.Error("DTSTAMP not stamped")
			}
			for _, keep := range []string{"X-FOO;X-PARAM=1:bar\r\n", "BEGIN:VALARM\r\n", "CATEGORIES:Work,Calls\r\n"} {
				if strings.Contains(string(tc.raw), keep) && !strings.Contains(string(out), keep) {
					t.Errorf("%q lost", keep)
				}
			}
			if tc.check != nil {
				tc.check(t, strings.ReplaceAll(string(out), "\r\n ", ""))
			}
		})
	}
}

func TestTodoCreate(t *testing.T) {
	c := TaskCodec{Now: clock}
	for _, f := range []reconcile.Fields{
		thunderbirdTodoFields, appleTodoFields, nextcloudTodoFields, radicaleTodoFields,
		{reconcile.FieldTitle: "Only a title", reconcile.FieldTaskStatus: reconcile.TaskNeedsAction},
	} {
		out, err := c.Encode(nil, f, "new-task", "mk-2")
		if err != nil {
			t.Fatal(err)
		}
		checkWellFormed(t, out)
		d, err := c.Decode(out)
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if d.UID != "new-task" || d.Marker != "mk-2" {
			t.Errorf("identity %q %q", d.UID, d.Marker)
		}
		sameFields(t, "created", d.Fields, f)
		if strings.Contains(string(out), "TZID") {
			t.Errorf("a new task's times are UTC:\n%s", out)
		}
	}
	// A task without status or priority fields is created with the
	// defaults and reads back with them.
	out, err := c.Encode(nil, reconcile.Fields{reconcile.FieldTitle: "t"}, "u", "")
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := c.Decode(out); d.Fields[reconcile.FieldTaskStatus] != reconcile.TaskNeedsAction || d.Fields[reconcile.FieldPriority] != "" {
		t.Errorf("defaults %q", d.Fields)
	}
}

func TestTodoCorpus(t *testing.T) {
	c := TaskCodec{Now: clock}
	read := 0
	for name, raw := range corpus(t) {
		d, err := c.Decode(raw)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "ical: ") {
				t.Errorf("%s: error %q", name, err)
			}
			continue
		}
		read++
		if out, err := c.Encode(raw, d.Fields, d.UID, d.Marker); err != nil || string(out) != string(raw) {
			t.Errorf("%s: round trip: %v", name, err)
		}
		g := with(d.Fields, reconcile.FieldTaskStatus, reconcile.TaskCompleted, reconcile.FieldCompleted, "2026-03-01T10:00:00Z")
		out, err := c.Encode(raw, g, d.UID, d.Marker)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		d2, err := c.Decode(out)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		sameFields(t, name, d2.Fields, g)
	}
	if read == 0 {
		t.Error("no corpus object read as a task")
	}
	t.Logf("%d corpus objects read as tasks", read)
}

func FuzzTodo(f *testing.F) {
	for _, raw := range [][]byte{thunderbirdTodo, appleTodo, nextcloudTodo, radicaleTodo} {
		f.Add(raw)
	}
	for _, raw := range corpus(f) {
		f.Add(raw)
	}
	fuzzCodec(f, TaskCodec{Now: clock},
		func(g reconcile.Fields) { g[reconcile.FieldTitle] = fuzzText },
		func(g reconcile.Fields) {
			if g[reconcile.FieldTaskStatus] == reconcile.TaskCompleted {
				g[reconcile.FieldTaskStatus], g[reconcile.FieldCompleted] = reconcile.TaskNeedsAction, ""
			} else {
				g[reconcile.FieldTaskStatus], g[reconcile.FieldCompleted] = reconcile.TaskCompleted, "2026-03-01T10:00:00Z"
			}
		},
		func(g reconcile.Fields) {
			g[reconcile.FieldPriority] = map[string]string{"high": "low", "low": "", "": "high"}[g[reconcile.FieldPriority]]
			if g[reconcile.FieldPriority] == "" {
				g[reconcile.FieldPriority] = "high"
			}
		},
		func(g reconcile.Fields) {
			for _, n := range []string{reconcile.FieldDue, reconcile.FieldStart} {
				if t, allDay, err := reconcile.ParseEventTime(g[n]); err == nil && g[n] != "" {
					g[n] = reconcile.FormatEventTime(t.AddDate(0, 0, 1), allDay)
				}
			}
		})
}
