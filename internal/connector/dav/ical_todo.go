package dav

// TaskCodec: a CalDAV calendar object resource holding a VTODO ↔ the task
// fields of package reconcile.
//
//	SUMMARY, DESCRIPTION  title, description
//	DTSTART               start
//	DUE (or DTSTART + DURATION)  due
//	                      all_day when DUE (else DTSTART) is a DATE
//	STATUS                task_status: NEEDS-ACTION, IN-PROCESS, COMPLETED,
//	                      CANCELLED; absent → needs_action, or completed
//	                      when a COMPLETED date is there
//	PRIORITY              priority: 1-4 high, 6-9 low, 5, 0 or none normal
//	COMPLETED             completed (a UTC instant)
//	X-TANDEM-ID           tandem_id
//
// Decode always reports task_status and priority (their defaults
// included); Encode reads an absent one as the default. Encode patches as
// the event codec does; timed values are written in the zone the task's
// DUE or DTSTART was in (UTC for a new task). Setting the status to
// completed sets an existing PERCENT-COMPLETE to 100; otherwise
// PERCENT-COMPLETE, RRULE, VALARM, CATEGORIES, X- properties and unknown
// parameters are never touched.

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tandem-crm/tandem/internal/reconcile"
)

// TaskCodec maps calendar objects holding a VTODO.
type TaskCodec struct {
	// Zone is where floating times happen and what unknown TZIDs are read
	// as (nil: UTC).
	Zone *time.Location
	// Now stamps DTSTAMP and LAST-MODIFIED (nil: crm.Now).
	Now func() time.Time
}

var _ Codec = TaskCodec{}

type todoDoc struct {
	*icalDoc
	uid    string
	marker string
	todo   *component
	fields reconcile.Fields
	allDay bool
	zone   string // the zone its timed values were in
	start  *dtval
}

var taskStatuses = map[string]string{"NEEDS-ACTION": reconcile.TaskNeedsAction, "IN-PROCESS": reconcile.TaskInProcess,
	"COMPLETED": reconcile.TaskCompleted, "CANCELLED": reconcile.TaskCancelled}

// Decode implements Codec.
func (c TaskCodec) Decode(raw []byte) (Decoded, error) {
	td, err := c.read(raw)
	if err != nil {
		return Decoded{}, err
	}
	return Decoded{UID: td.uid, Marker: td.marker, Fields: td.fields, Modified: td.modified(td.todo), Warnings: td.warnings}, nil
}

func (c TaskCodec) read(raw []byte) (*todoDoc, error) {
	x, err := parseICal(raw, c.Zone)
	if err != nil {
		return nil, err
	}
	todos := childrenNamed(x.cal, "VTODO")
	if len(todos) == 0 {
		return nil, fmt.Errorf("ical: no vtodo")
	}
	td := &todoDoc{icalDoc: x, uid: x.uidOf(todos[0]), fields: reconcile.Fields{}}
	if td.uid == "" {
		return nil, fmt.Errorf("ical: vtodo without uid")
	}
	others := 0
	for _, t := range todos {
		if td.todo == nil && x.uidOf(t) == td.uid && x.d.first(t, "RECURRENCE-ID") == nil {
			td.todo = t
		} else {
			others++
		}
	}
	if td.todo == nil {
		return nil, fmt.Errorf("ical: no master vtodo, only overrides")
	}
	if others > 0 {
		td.warn(fmt.Sprintf("%d other vtodos ignored", others))
	}
	t, f := td.todo, td.fields
	text := func(name string) string {
		if l := x.d.first(t, name); l != nil {
			return l.text()
		}
		return ""
	}
	f[reconcile.FieldTitle] = text("SUMMARY")
	f[reconcile.FieldDescription] = text("DESCRIPTION")
	f[reconcile.FieldTandemID] = strings.TrimSpace(text(TandemIDProperty))
	td.marker = strings.TrimSpace(text(MarkerProperty))
	if td.marker == "" {
		td.marker = strings.TrimSpace(textOf(x.d, x.cal, MarkerProperty))
	}
	td.start = td.dt("DTSTART")
	due := td.dt("DUE")
	if due == nil && td.start != nil {
		if l := x.d.first(t, "DURATION"); l != nil {
			if d, ok := parseDuration(l.value); ok {
				v := *td.start
				if v.date && d%(24*time.Hour) == 0 {
					v.t = v.t.AddDate(0, 0, int(d/(24*time.Hour)))
				} else {
					v.t = v.t.Add(d)
				}
				due = &v
			}
		}
	}
	switch {
	case due != nil:
		td.allDay = due.date
	case td.start != nil:
		td.allDay = td.start.date
	}
	for _, v := range []*dtval{due, td.start} {
		if v != nil && !v.date {
			td.zone = v.zone
		}
	}
	if td.allDay {
		f[reconcile.FieldAllDay] = "true"
	}
	if td.start != nil {
		f[reconcile.FieldStart] = td.start.field(td.allDay)
	}
	if due != nil {
		f[reconcile.FieldDue] = due.field(td.allDay)
	}
	if l := x.d.first(t, "COMPLETED"); l != nil {
		if vs, err := td.parseDT(l); err != nil {
			td.warn(err.Error())
		} else {
			f[reconcile.FieldCompleted] = formatEventTime(vs[0].t, false)
		}
	}
	status := reconcile.TaskNeedsAction
	if x.d.first(t, "COMPLETED") != nil {
		status = reconcile.TaskCompleted
	}
	if s := strings.ToUpper(strings.TrimSpace(text("STATUS"))); s != "" {
		if v, ok := taskStatuses[s]; ok {
			status = v
		} else {
			td.warn(fmt.Sprintf("unknown vtodo status %q read as needs-action", truncate(s, 20)))
			status = reconcile.TaskNeedsAction
		}
	}
	f[reconcile.FieldTaskStatus] = status
	// Normal priority is no field (reconcile.TaskFields omits it too).
	if s := strings.TrimSpace(text("PRIORITY")); s != "" {
		n, err := strconv.Atoi(s)
		switch {
		case err != nil || n < 0 || n > 9:
			td.warn(fmt.Sprintf("priority %q read as normal", truncate(s, 10)))
		case n >= 1 && n <= 4:
			f[reconcile.FieldPriority] = "high"
		case n >= 6:
			f[reconcile.FieldPriority] = "low"
		}
	}
	for k, v := range f {
		if v == "" {
			delete(f, k)
		}
	}
	return td, nil
}

func textOf(d *document, c *component, name string) string {
	if l := d.first(c, name); l != nil {
		return l.text()
	}
	return ""
}

// dt reads a date or date-time property; an unreadable one is noted and
// treated as absent (and so never rewritten unless Tandem sets it).
func (td *todoDoc) dt(name string) *dtval {
	l := td.d.first(td.todo, name)
	if l == nil {
		return nil
	}
	vs, err := td.parseDT(l)
	if err != nil {
		td.warn(err.Error())
		return nil
	}
	return &vs[0]
}

// Encode implements Codec.
func (c TaskCodec) Encode(raw []byte, f reconcile.Fields, uid, marker string) ([]byte, error) {
	stamp := now(c.Now)
	if raw == nil {
		if uid == "" {
			return nil, fmt.Errorf("ical: new task without uid")
		}
		raw = newCalendar("VTODO", uid, marker, stamp)
	}
	td, err := c.read(raw)
	if err != nil {
		return nil, err
	}
	old, t := td.fields, td.todo
	e := newEditor(td.d)
	diff := func(n string) bool { return f[n] != old[n] }
	written := map[string]time.Time{}
	if marker != "" && marker != td.marker {
		e.setText(t, MarkerProperty, marker)
	}

	allDay := f[reconcile.FieldAllDay] == "true"
	for _, n := range []string{reconcile.FieldDue, reconcile.FieldStart} {
		if _, isDate, err := reconcile.ParseEventTime(f[n]); f[n] != "" && err == nil {
			allDay = isDate
			break
		}
	}
	zone := td.zone
	if zone == "" {
		zone = "UTC"
	}
	form := formOf(allDay, zone)
	formChanged := allDay != td.allDay
	write := func(name, field string, keep *cline) (string, error) {
		tv, _, err := reconcile.ParseEventTime(f[field])
		if err != nil {
			return "", fmt.Errorf("ical: task %s %q: %w", field, f[field], err)
		}
		if tz := form.tzid(); tz != "" {
			written[tz] = tv
		}
		return form.line(name, tv, keep), nil
	}
	durs := td.d.find(t, "DURATION")
	startChanged := diff(reconcile.FieldStart) || formChanged
	dueChanged := diff(reconcile.FieldDue) || formChanged || startChanged && len(durs) > 0
	if startChanged {
		idx := td.d.find(t, "DTSTART")
		switch {
		case f[reconcile.FieldStart] == "":
			for _, i := range idx {
				e.remove(i)
			}
		case len(idx) > 0:
			s, err := write("DTSTART", reconcile.FieldStart, td.d.lines[idx[0]])
			if err != nil {
				return nil, err
			}
			e.replace(idx[0], s)
		default:
			s, err := write("DTSTART", reconcile.FieldStart, nil)
			if err != nil {
				return nil, err
			}
			e.insertBefore(propEnd(t), s)
		}
	}
	if dueChanged {
		// A DURATION hangs on DTSTART: the due date is written as DUE.
		for _, i := range durs {
			e.remove(i)
		}
		idx := td.d.find(t, "DUE")
		switch {
		case f[reconcile.FieldDue] == "":
			for _, i := range idx {
				e.remove(i)
			}
		case len(idx) > 0:
			s, err := write("DUE", reconcile.FieldDue, td.d.lines[idx[0]])
			if err != nil {
				return nil, err
			}
			e.replace(idx[0], s)
		default:
			s, err := write("DUE", reconcile.FieldDue, nil)
			if err != nil {
				return nil, err
			}
			at := propEnd(t)
			if len(durs) > 0 {
				at = durs[0]
			}
			e.insertBefore(at, s)
		}
	}
	if diff(reconcile.FieldTitle) {
		e.setText(t, "SUMMARY", f[reconcile.FieldTitle])
	}
	if diff(reconcile.FieldDescription) {
		e.setText(t, "DESCRIPTION", f[reconcile.FieldDescription], "ALTREP")
	}
	newStatus := f[reconcile.FieldTaskStatus]
	if newStatus == "" {
		newStatus = reconcile.TaskNeedsAction
	}
	if newStatus != old[reconcile.FieldTaskStatus] {
		v := "NEEDS-ACTION"
		for k, s := range taskStatuses {
			if s == newStatus {
				v = k
			}
		}
		e.setRaw(t, "STATUS", v)
		if newStatus == reconcile.TaskCompleted {
			for _, i := range td.d.find(t, "PERCENT-COMPLETE") {
				e.replace(i, td.d.lines[i].rewrite("100", nil))
			}
		}
	}
	if newPrio := f[reconcile.FieldPriority]; newPrio != old[reconcile.FieldPriority] {
		e.setRaw(t, "PRIORITY", map[string]string{"high": "1", "low": "9"}[newPrio])
	}
	if diff(reconcile.FieldCompleted) {
		v := ""
		if s := f[reconcile.FieldCompleted]; s != "" {
			tv, _, err := reconcile.ParseEventTime(s)
			if err != nil {
				return nil, fmt.Errorf("ical: task completed %q: %w", s, err)
			}
			v = tv.UTC().Format("20060102T150405Z")
		}
		e.setRaw(t, "COMPLETED", v)
	}
	if diff(reconcile.FieldTandemID) {
		e.setText(t, TandemIDProperty, f[reconcile.FieldTandemID])
	}
	if !e.changed() {
		return copyBytes(raw), nil
	}
	e.restamp(t, stamp)
	e.syncZones(td.cal, written)
	return e.bytes(), nil
}
