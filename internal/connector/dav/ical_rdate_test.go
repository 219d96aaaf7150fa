package dav

import (
	"strings"
	"testing"

	"github.com/tandem-crm/tandem/internal/reconcile"
)

var (
	// A weekly review in Moscow with extra dates: two date-times on one
	// line with a TZID, a date (at the series' time of day), a period
	// (not modelled: kept as it is), an excluded date, and an extra
	// occurrence moved on its own.
	rdateEvent = obj(`
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VTIMEZONE
TZID:Europe/Moscow
BEGIN:STANDARD
DTSTART:19700101T000000
TZOFFSETFROM:+0300
TZOFFSETTO:+0300
TZNAME:MSK
END:STANDARD
END:VTIMEZONE
BEGIN:VEVENT
UID:rd-1
DTSTAMP:20260101T000000Z
DTSTART;TZID=Europe/Moscow:20260302T090000
DTEND;TZID=Europe/Moscow:20260302T100000
RRULE:FREQ=WEEKLY;COUNT=4
RDATE;TZID=Europe/Moscow:20260305T090000,20260312T090000
RDATE;VALUE=DATE:20260318
RDATE;VALUE=PERIOD:20260320T100000Z/20260320T120000Z
EXDATE;TZID=Europe/Moscow:20260309T090000
SUMMARY:Review
X-FOO;X-PARAM=1:bar
END:VEVENT
BEGIN:VEVENT
UID:rd-1
DTSTAMP:20260101T000000Z
RECURRENCE-ID;TZID=Europe/Moscow:20260312T090000
DTSTART;TZID=Europe/Moscow:20260312T110000
DTEND;TZID=Europe/Moscow:20260312T120000
SUMMARY:Review (moved)
END:VEVENT
END:VCALENDAR
`)
	rdateEventFields = reconcile.Fields{
		reconcile.FieldTitle: "Review", reconcile.FieldStart: "2026-03-02T06:00:00Z", reconcile.FieldEnd: "2026-03-02T07:00:00Z",
		reconcile.FieldTimeZone: "Europe/Moscow", reconcile.FieldRRule: "FREQ=WEEKLY;COUNT=4",
		reconcile.FieldRDates:  "2026-03-05T06:00:00Z,2026-03-12T06:00:00Z,2026-03-18T06:00:00Z",
		reconcile.FieldExDates: "2026-03-09T06:00:00Z",
		reconcile.FieldOverrides: occLine("2026-03-12T06:00:00Z", "2026-03-12T08:00:00Z", "2026-03-12T09:00:00Z",
			"Review (moved)", "", ""),
	}

	// All-day extra dates of a series without a rule, in UTC date-times
	// and dates.
	rdateAllDay = obj(`
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:rd-2
DTSTAMP:20260101T000000Z
DTSTART;VALUE=DATE:20260601
DTEND;VALUE=DATE:20260602
RDATE;VALUE=DATE:20260610,20260620
SUMMARY:Inventory
END:VEVENT
END:VCALENDAR
`)
	rdateAllDayFields = reconcile.Fields{
		reconcile.FieldTitle: "Inventory", reconcile.FieldStart: "2026-06-01", reconcile.FieldEnd: "2026-06-02",
		reconcile.FieldAllDay: "true", reconcile.FieldRDates: "2026-06-10,2026-06-20",
	}

	// A single event whose only RDATE is a period: no series Tandem
	// models, and the period stays.
	periodOnly = obj(`
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:rd-3
DTSTAMP:20260101T000000Z
DTSTART:20260310T100000Z
DTEND:20260310T110000Z
RDATE;VALUE=PERIOD:20260312T100000Z/PT3H,20260314T100000Z/20260314T110000Z
SUMMARY:Workshop
END:VEVENT
END:VCALENDAR
`)
	periodOnlyFields = reconcile.Fields{
		reconcile.FieldTitle: "Workshop", reconcile.FieldStart: "2026-03-10T10:00:00Z", reconcile.FieldEnd: "2026-03-10T11:00:00Z",
		reconcile.FieldTimeZone: "UTC",
	}
)

// RDATE values decode into the series' extra dates, whatever their form
// (a TZID, UTC, a date); periods are not modelled; the object as read
// comes back byte for byte.
func TestEventRDateDecode(t *testing.T) {
	c := EventCodec{Now: clock}
	for _, tc := range []struct {
		name string
		raw  []byte
		want reconcile.Fields
	}{
		{"date-times with a tzid, a date, a period", rdateEvent, rdateEventFields},
		{"all-day without a rule", rdateAllDay, rdateAllDayFields},
		{"a period alone", periodOnly, periodOnlyFields},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := c.Decode(tc.raw)
			if err != nil {
				t.Fatal(err)
			}
			sameFields(t, "decode", d.Fields, tc.want)
			if len(d.Warnings) > 0 {
				t.Errorf("warnings %q", d.Warnings)
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

// Changed extra dates rewrite only the RDATE lines that no longer hold;
// new ones are written in the series' form; a PERIOD line stays byte for
// byte, and so does everything else.
func TestEventRDatePatch(t *testing.T) {
	c := EventCodec{Now: clock}
	const period = "RDATE;VALUE=PERIOD:20260320T100000Z/20260320T120000Z\r\n"
	for _, tc := range []struct {
		name  string
		raw   []byte
		f     reconcile.Fields
		props []string // properties whose lines may change besides DTSTAMP and LAST-MODIFIED
		want  []string // lines the result holds
		gone  []string // lines it no longer holds
	}{
		{"date added in the series' zone", rdateEvent,
			with(rdateEventFields, reconcile.FieldRDates, "2026-03-05T06:00:00Z,2026-03-12T06:00:00Z,2026-03-18T06:00:00Z,2026-03-26T06:00:00Z"),
			[]string{"RDATE"}, []string{"RDATE;TZID=Europe/Moscow:20260326T090000\r\n", "RDATE;TZID=Europe/Moscow:20260305T090000,20260312T090000\r\n",
				"RDATE;VALUE=DATE:20260318\r\n", period}, nil},
		{"one date of a line removed", rdateEvent,
			with(rdateEventFields, reconcile.FieldRDates, "2026-03-12T06:00:00Z,2026-03-18T06:00:00Z"),
			[]string{"RDATE"}, []string{"RDATE;TZID=Europe/Moscow:20260312T090000\r\n", "RDATE;VALUE=DATE:20260318\r\n", period,
				"SUMMARY:Review (moved)\r\n"}, []string{"20260305T090000"}},
		{"every date removed, its override too", rdateEvent,
			with(with(rdateEventFields, reconcile.FieldRDates, ""), reconcile.FieldOverrides, ""),
			[]string{"RDATE", "BEGIN", "END", "UID", "DTSTAMP", "RECURRENCE-ID", "DTSTART", "DTEND", "SUMMARY"},
			[]string{period, "RRULE:FREQ=WEEKLY;COUNT=4\r\n"}, []string{"20260305T090000", "VALUE=DATE:20260318", "Review (moved)"}},
		{"title changed: the dates stay as they are", rdateEvent, with(rdateEventFields, reconcile.FieldTitle, "Weekly review"),
			[]string{"SUMMARY"}, []string{"RDATE;TZID=Europe/Moscow:20260305T090000,20260312T090000\r\n", period}, nil},
		{"all-day date added", rdateAllDay, with(rdateAllDayFields, reconcile.FieldRDates, "2026-06-10,2026-06-20,2026-06-25"),
			[]string{"RDATE"}, []string{"RDATE;VALUE=DATE:20260610,20260620\r\n", "RDATE;VALUE=DATE:20260625\r\n"}, nil},
		{"a rule and extra dates given to a single event", periodOnly,
			with(with(periodOnlyFields, reconcile.FieldRRule, "FREQ=DAILY;COUNT=2"), reconcile.FieldRDates, "2026-03-20T10:00:00Z"),
			[]string{"RRULE", "RDATE"}, []string{"RRULE:FREQ=DAILY;COUNT=2\r\n", "RDATE:20260320T100000Z\r\n",
				"RDATE;VALUE=PERIOD:20260312T100000Z/PT3H,20260314T100000Z/20260314T110000Z\r\n"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, d := patched(t, c, tc.raw, tc.f, []string{"DTSTAMP", "LAST-MODIFIED"}, tc.props)
			for _, l := range tc.want {
				if !strings.Contains(string(out), l) {
					t.Errorf("%q missing:\n%s", l, out)
				}
			}
			for _, l := range tc.gone {
				if strings.Contains(string(out), l) {
					t.Errorf("%q still there:\n%s", l, out)
				}
			}
			if !strings.Contains(string(out), "X-FOO;X-PARAM=1:bar\r\n") && strings.Contains(string(tc.raw), "X-FOO") {
				t.Error("unknown property lost")
			}
			// And once more: nothing left to change.
			again, err := c.Encode(out, d.Fields, d.UID, d.Marker)
			if err != nil || string(again) != string(out) {
				t.Errorf("a second encode changed the object (%v):\n%s", err, again)
			}
		})
	}
}
