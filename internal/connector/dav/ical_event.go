package dav

// EventCodec: a CalDAV calendar object resource holding one event (RFC 4791
// §4.1) ↔ the event fields of package reconcile.
//
// The resource is a VCALENDAR with the series' master VEVENT, perhaps
// override VEVENTs (same UID, a RECURRENCE-ID) and the VTIMEZONEs its TZIDs
// name. Decode maps:
//
//	SUMMARY, DESCRIPTION, LOCATION  title, description, location
//	DTSTART, DTEND | DURATION       start, end (UTC instants, or dates with
//	                                an exclusive end), all_day, time_zone
//	RRULE                           rrule (the value as written)
//	RDATE (DATE, DATE-TIME)         rdates, in the series' terms
//	EXDATE + cancelled overrides    exdates
//	other override VEVENTs          overrides, normalized as crm keeps them
//	ATTENDEE, ORGANIZER (mailto:)   attendees, organizer
//	X-TANDEM-ID                     tandem_id
//
// A TZID is read as an IANA zone where one can be told (the name, the
// name behind a vendor prefix, a Windows name, the VTIMEZONE's
// X-LIC-LOCATION or a fixed offset); otherwise its instants come from its
// VTIMEZONE's rules and the field zone is the codec's default, with a
// warning. Floating times are in the default zone.
//
// Encode patches: only the lines of the fields that changed are rewritten.
// RDATE and EXDATE lines and override VEVENTs are touched only when
// rdates, exdates or overrides (or the series they hang on) changed, and
// then only the lines whose dates are no longer all wanted; a change to the series'
// title, description, location or length is carried into the overrides
// that did not differ from the series in it, so that they stay unlisted.
// Times are written in the field zone with a TZID and, when the object
// does not define it yet, a VTIMEZONE generated from Go's tz database; a
// VTIMEZONE only rewritten lines used is removed. The DTSTAMP and
// LAST-MODIFIED of an edited VEVENT are set to the codec's clock. PERIOD
// RDATEs (not modelled: an occurrence with a length of its own), VALARM,
// X- properties and unknown parameters are never touched.

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/teambition/rrule-go"

	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/reconcile"
)

// EventCodec maps calendar objects holding a VEVENT.
type EventCodec struct {
	// Zone is where floating times happen and what unknown TZIDs are read
	// as (nil: UTC): the calendar's or the user's zone.
	Zone *time.Location
	// Now stamps DTSTAMP and LAST-MODIFIED (nil: crm.Now).
	Now func() time.Time
	// Self is the address of the user who syncs the calendar. An event
	// without ORGANIZER (a personal one, as most clients write them) reads
	// as organized by Self, as Tandem reads an activity without organizer
	// (crmsync.EventsLocal) and as Google reports the calendar's owner;
	// written back with Self it stays without, unless it has attendees
	// (a meeting names its organizer, RFC 5545 §3.8.4.3). Empty: such an
	// event has no organizer.
	Self string
}

var _ Codec = EventCodec{}

// eventDoc is a calendar object read as an event.
type eventDoc struct {
	*icalDoc
	uid       string
	marker    string
	master    *component
	overrides []*overrideComp
	fields    reconcile.Fields
	allDay    bool
	zone      string        // the field zone of the master's start
	startT    time.Time     // the master's start (zero without)
	dur       time.Duration // the master's length
}

// overrideComp is an override VEVENT.
type overrideComp struct {
	c         *component
	rid       time.Time // in the series' terms: UTC instant or UTC-midnight date
	cancelled bool
	occ       crm.Occurrence // as written (normalized like crm)
}

// Decode implements Codec.
func (c EventCodec) Decode(raw []byte) (Decoded, error) {
	ed, err := c.read(raw)
	if err != nil {
		return Decoded{}, err
	}
	return Decoded{UID: ed.uid, Marker: ed.marker, Fields: ed.fields, Modified: ed.modified(ed.master), Warnings: ed.warnings}, nil
}

func (c EventCodec) read(raw []byte) (*eventDoc, error) {
	x, err := parseICal(raw, c.Zone)
	if err != nil {
		return nil, err
	}
	events := childrenNamed(x.cal, "VEVENT")
	if len(events) == 0 {
		return nil, fmt.Errorf("ical: no vevent")
	}
	ed := &eventDoc{icalDoc: x, uid: x.uidOf(events[0]), fields: reconcile.Fields{}}
	if ed.uid == "" {
		return nil, fmt.Errorf("ical: vevent without uid")
	}
	var others int
	var overrides []*component
	for _, ev := range events {
		switch {
		case x.uidOf(ev) != ed.uid:
			others++
		case x.d.first(ev, "RECURRENCE-ID") != nil:
			overrides = append(overrides, ev)
		case ed.master == nil:
			ed.master = ev
		default:
			others++
		}
	}
	if ed.master == nil {
		return nil, fmt.Errorf("ical: no master vevent, only overrides")
	}
	if others > 0 {
		ed.warn(fmt.Sprintf("%d other vevents ignored", others))
	}
	if err := ed.readMaster(); err != nil {
		return nil, err
	}
	ed.readOverrides(overrides)
	if c.Self != "" && ed.d.first(ed.master, "ORGANIZER") == nil {
		ed.fields[reconcile.FieldOrganizer] = strings.ToLower(strings.TrimSpace(c.Self))
	}
	for k, v := range ed.fields {
		if v == "" {
			delete(ed.fields, k)
		}
	}
	return ed, nil
}

func (ed *eventDoc) text(c *component, name string) string {
	if l := ed.d.first(c, name); l != nil {
		return l.text()
	}
	return ""
}

func (ed *eventDoc) readMaster() error {
	m, f := ed.master, ed.fields
	f[reconcile.FieldTitle] = ed.text(m, "SUMMARY")
	f[reconcile.FieldDescription] = ed.text(m, "DESCRIPTION")
	f[reconcile.FieldLocation] = ed.text(m, "LOCATION")
	f[reconcile.FieldTandemID] = strings.TrimSpace(ed.text(m, TandemIDProperty))
	ed.marker = strings.TrimSpace(ed.text(m, MarkerProperty))
	if ed.marker == "" {
		ed.marker = strings.TrimSpace(ed.text(ed.cal, MarkerProperty))
	}
	start, end, err := ed.span(m, nil)
	if err != nil {
		return err
	}
	if start != nil {
		ed.allDay, ed.zone, ed.startT = start.date, start.zone, start.t
		ed.dur = end.t.Sub(start.t)
		f[reconcile.FieldStart] = start.field(ed.allDay)
		f[reconcile.FieldEnd] = end.field(ed.allDay)
		if ed.allDay {
			f[reconcile.FieldAllDay] = "true"
		} else {
			f[reconcile.FieldTimeZone] = ed.zone
		}
	}
	if idx := ed.d.find(m, "RRULE"); len(idx) > 0 {
		f[reconcile.FieldRRule] = strings.TrimPrefix(strings.TrimSpace(validUTF8(ed.d.lines[idx[0]].value)), "RRULE:")
		if len(idx) > 1 {
			ed.warn("more than one rrule: only the first is read")
		}
		if start == nil {
			ed.warn("rrule without dtstart")
		}
	}
	if start != nil {
		var rd []time.Time
		for _, ts := range ed.rDates() {
			rd = append(rd, ts...)
		}
		f[reconcile.FieldRDates] = reconcile.EncodeExDates(rd, ed.allDay)
	}
	var as []reconcile.Attendee
	for _, i := range ed.d.find(m, "ATTENDEE") {
		if a, ok := readAttendee(ed.d.lines[i]); ok {
			as = append(as, a)
		}
	}
	f[reconcile.FieldAttendees] = reconcile.EncodeAttendees(as)
	if l := ed.d.first(m, "ORGANIZER"); l != nil {
		f[reconcile.FieldOrganizer] = calAddress(l)
	}
	return nil
}

// span reads DTSTART and DTEND (or DURATION) of c; without DTSTART, nil.
// For an override, base is its RECURRENCE-ID (the start when it has no
// DTSTART) and the series' length applies when it says none.
func (ed *eventDoc) span(c *component, base *dtval) (start, end *dtval, err error) {
	if l := ed.d.first(c, "DTSTART"); l != nil {
		vs, err := ed.parseDT(l)
		if err != nil {
			if base == nil {
				return nil, nil, err
			}
			ed.warn(err.Error())
		} else {
			start = &vs[0]
		}
	}
	if start == nil {
		if base == nil {
			return nil, nil, nil
		}
		start = base
	}
	e := *start
	switch {
	case ed.d.first(c, "DTEND") != nil:
		vs, err := ed.parseDT(ed.d.first(c, "DTEND"))
		if err != nil {
			ed.warn(err.Error())
			e = ed.defaultEnd(*start, base)
		} else {
			e = vs[0]
		}
	case ed.d.first(c, "DURATION") != nil:
		d, ok := parseDuration(ed.d.first(c, "DURATION").value)
		if !ok {
			ed.warn("unreadable duration ignored")
			e = ed.defaultEnd(*start, base)
		} else if start.date && d%(24*time.Hour) == 0 {
			e.t = start.t.AddDate(0, 0, int(d/(24*time.Hour)))
		} else {
			e.t = start.t.Add(d)
		}
	default:
		e = ed.defaultEnd(*start, base)
	}
	if start.date && !e.date {
		e = dtval{t: dateOf(e), date: true}
	}
	if start.date && !e.t.After(start.t) {
		// crm keeps an all-day item at least a day long.
		e.t = start.t.AddDate(0, 0, 1)
	}
	return start, &e, nil
}

// defaultEnd is RFC 5545's end of an event without DTEND or DURATION (an
// override: the series' length).
func (ed *eventDoc) defaultEnd(start dtval, base *dtval) dtval {
	e := start
	switch {
	case base != nil:
		e.t = start.t.Add(ed.dur)
	case start.date:
		e.t = start.t.AddDate(0, 0, 1)
	}
	return e
}

// dateOf is the date a time falls on in its zone.
func dateOf(v dtval) time.Time {
	t, _ := time.Parse(crmDate, v.field(true))
	return t
}

// inSeries converts a RECURRENCE-ID or EXDATE value to the series' terms:
// a date for an all-day series, an instant for a timed one (a date there
// is that day at the series' time of day).
func (ed *eventDoc) inSeries(v dtval) time.Time {
	switch {
	case ed.allDay:
		return dateOf(v)
	case v.date:
		loc, err := loadZone(ed.zone)
		if err != nil {
			loc = time.UTC
		}
		s := ed.startT.In(loc)
		return time.Date(v.t.Year(), v.t.Month(), v.t.Day(), s.Hour(), s.Minute(), s.Second(), 0, loc).UTC()
	}
	return v.t
}

// exDates reads the EXDATE lines of the master, line by line (nil for a
// line that cannot be read).
func (ed *eventDoc) exDates() map[int][]time.Time { return ed.dateLines("EXDATE", false) }

// rDates reads the RDATE lines of the master that hold dates or
// date-times, line by line (nil for a line that cannot be read). PERIOD
// lines are not modelled and not listed.
func (ed *eventDoc) rDates() map[int][]time.Time { return ed.dateLines("RDATE", true) }

// dateLines reads the master's lines of a date-list property, by line
// index, in the series' terms; with skipPeriods, period lines are left
// out.
func (ed *eventDoc) dateLines(name string, skipPeriods bool) map[int][]time.Time {
	out := map[int][]time.Time{}
	for _, i := range ed.d.find(ed.master, name) {
		l := ed.d.lines[i]
		if skipPeriods && isPeriod(l) {
			continue
		}
		vs, err := ed.parseDT(l)
		if err != nil {
			ed.warn(err.Error())
			out[i] = nil
			continue
		}
		for _, v := range vs {
			out[i] = append(out[i], ed.inSeries(v))
		}
	}
	return out
}

// isPeriod reports whether an RDATE line holds periods (start/end or
// start/duration): an occurrence with a length of its own, which crm does
// not model.
func isPeriod(l *cline) bool {
	return strings.EqualFold(l.param("VALUE"), "PERIOD") || strings.Contains(l.value, "/")
}

// isSeries reports whether f describes a series: a rule or extra dates.
func isSeries(f reconcile.Fields) bool {
	return f[reconcile.FieldRRule] != "" || f[reconcile.FieldRDates] != ""
}

func (ed *eventDoc) readOverrides(comps []*component) {
	f := ed.fields
	if !isSeries(f) || f[reconcile.FieldStart] == "" {
		if len(comps) > 0 {
			ed.warn("overrides of an event without rrule or rdate ignored")
		}
		return
	}
	var ex []time.Time
	lines := ed.exDates()
	for _, ts := range lines {
		ex = append(ex, ts...)
	}
	var occs []crm.Occurrence
	last := ed.startT
	for _, c := range comps {
		l := ed.d.first(c, "RECURRENCE-ID")
		vs, err := ed.parseDT(l)
		if err != nil {
			ed.warn(err.Error())
			continue
		}
		if strings.EqualFold(l.param("RANGE"), "THISANDFUTURE") {
			ed.warn("recurrence-id range thisandfuture read as one occurrence")
		}
		oc := &overrideComp{c: c, rid: ed.inSeries(vs[0])}
		oc.cancelled = strings.EqualFold(strings.TrimSpace(ed.text(c, "STATUS")), "CANCELLED")
		base := dtval{t: oc.rid, date: ed.allDay, zone: ed.zone}
		start, end, _ := ed.span(c, &base)
		oc.occ = ed.normalize(crm.Occurrence{RecurrenceID: oc.rid, Start: ed.inSeriesSpan(*start), End: ed.inSeriesSpan(*end),
			Title: ed.text(c, "SUMMARY"), Description: ed.text(c, "DESCRIPTION"), Location: ed.text(c, "LOCATION")})
		ed.overrides = append(ed.overrides, oc)
		if oc.cancelled {
			ex = append(ex, oc.rid)
		} else {
			occs = append(occs, oc.occ)
		}
		if oc.rid.After(last) {
			last = oc.rid
		}
	}
	f[reconcile.FieldExDates] = reconcile.EncodeExDates(ex, ed.allDay)
	if len(occs) > 0 {
		if !seriesUsable(f, last) {
			ed.warn("overrides of a series that cannot be expanded ignored")
			return
		}
		f[reconcile.FieldOverrides] = reconcile.CanonicalOverrides(f, occs)
	}
}

// inSeriesSpan is an override's start or end in the series' terms.
func (ed *eventDoc) inSeriesSpan(v dtval) time.Time {
	if ed.allDay {
		return dateOf(v)
	}
	return v.t
}

// normalize puts an occurrence in the form crm compares it in.
func (ed *eventDoc) normalize(o crm.Occurrence) crm.Occurrence {
	o.Title, o.Location = strings.TrimSpace(o.Title), strings.TrimSpace(o.Location)
	o.RecurrenceID, o.Start, o.End = o.RecurrenceID.UTC(), o.Start.UTC(), o.End.UTC()
	if ed.allDay && !o.End.After(o.Start) {
		o.End = o.Start.AddDate(0, 0, 1)
	}
	return o
}

// seriesUsable reports whether crm can expand the series of f up to last
// in reasonable time. crm expands the rule from its start to each
// override; rrule-go scans to the year 9999 for a rule that yields
// nothing, and a sub-daily rule over years takes millions of steps.
// Calendars hold neither; such a series' overrides are not read.
func seriesUsable(f reconcile.Fields, last time.Time) bool {
	a := activity(f)
	if a == nil {
		return false
	}
	if a.RRule == "" {
		return true // extra dates alone: a short list
	}
	opt, err := rrule.StrToROption(a.RRule)
	if err != nil || opt.Freq > rrule.DAILY {
		return false
	}
	unit := map[rrule.Frequency]float64{rrule.YEARLY: 365 * 86400, rrule.MONTHLY: 28 * 86400, rrule.WEEKLY: 7 * 86400,
		rrule.DAILY: 86400}[opt.Freq]
	if last.Sub(*a.Start).Seconds()/(unit*float64(max(opt.Interval, 1))) > 1e5 {
		return false
	}
	r := a.Recurrence()
	return r != nil && !r.After(a.Start.Add(-time.Second), true).IsZero()
}

// readAttendee reads an ATTENDEE line; one without an e-mail is not
// listed (and not touched).
func readAttendee(l *cline) (reconcile.Attendee, bool) {
	email := calAddress(l)
	if email == "" {
		return reconcile.Attendee{}, false
	}
	return reconcile.Attendee{Email: email, Name: validUTF8(l.param("CN")), Status: partStat(l.param("PARTSTAT"))}, true
}

// calAddress is the e-mail of a mailto: calendar address (or its EMAIL
// parameter), lower-cased; "" for other addresses.
func calAddress(l *cline) string {
	v := strings.TrimSpace(l.value)
	switch {
	case len(v) >= 7 && strings.EqualFold(v[:7], "mailto:"):
		v = v[7:]
	case l.param("EMAIL") != "":
		v = l.param("EMAIL")
	default:
		return ""
	}
	return strings.ToLower(strings.TrimSpace(validUTF8(v)))
}

var partStats = map[string]string{"NEEDS-ACTION": "needs_action", "ACCEPTED": "accepted", "DECLINED": "declined", "TENTATIVE": "tentative"}

func partStat(s string) string {
	if v, ok := partStats[strings.ToUpper(strings.TrimSpace(s))]; ok {
		return v
	}
	return "needs_action" // DELEGATED, absent, unknown
}

func toPartStat(s string) string {
	for k, v := range partStats {
		if v == s {
			return k
		}
	}
	return "NEEDS-ACTION"
}

// parseDuration reads an RFC 5545 duration ("PT1H30M", "-P1D", "P2W").
func parseDuration(s string) (time.Duration, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	neg := false
	switch {
	case strings.HasPrefix(s, "-"):
		neg, s = true, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	if !strings.HasPrefix(s, "P") || len(s) < 3 {
		return 0, false
	}
	var d time.Duration
	n, digits, inTime := 0, false, false
	for _, r := range s[1:] {
		switch {
		case r >= '0' && r <= '9':
			n, digits = n*10+int(r-'0'), true
			if n > 1e7 {
				return 0, false
			}
			continue
		case r == 'T':
			if digits || inTime {
				return 0, false
			}
			inTime = true
			continue
		}
		if !digits {
			return 0, false
		}
		unit := map[rune]time.Duration{'W': 7 * 24 * time.Hour, 'D': 24 * time.Hour}[r]
		if inTime {
			unit = map[rune]time.Duration{'H': time.Hour, 'M': time.Minute, 'S': time.Second}[r]
		}
		if unit == 0 {
			return 0, false
		}
		d += time.Duration(n) * unit
		n, digits = 0, false
	}
	if digits {
		return 0, false
	}
	if neg {
		d = -d
	}
	return d, true
}

// Encode implements Codec.
func (c EventCodec) Encode(raw []byte, f reconcile.Fields, uid, marker string) ([]byte, error) {
	stamp := now(c.Now)
	if raw == nil {
		if uid == "" {
			return nil, fmt.Errorf("ical: new event without uid")
		}
		raw = newCalendar("VEVENT", uid, marker, stamp)
	}
	ed, err := c.read(raw)
	if err != nil {
		return nil, err
	}
	p, err := ed.newPatch(f)
	if err != nil {
		return nil, err
	}
	p.stamp = stamp
	m := ed.master
	if marker != "" && marker != ed.marker {
		p.e.setText(m, MarkerProperty, marker)
	}
	p.timing()
	if p.diff(reconcile.FieldRRule) {
		p.e.setRaw(m, "RRULE", f[reconcile.FieldRRule])
	}
	p.rdates()
	p.exdates()
	if p.diff(reconcile.FieldTitle) {
		p.e.setText(m, "SUMMARY", f[reconcile.FieldTitle])
	}
	if p.diff(reconcile.FieldDescription) {
		p.e.setText(m, "DESCRIPTION", f[reconcile.FieldDescription], "ALTREP")
	}
	if p.diff(reconcile.FieldLocation) {
		p.e.setText(m, "LOCATION", f[reconcile.FieldLocation], "ALTREP")
	}
	if p.diff(reconcile.FieldOrganizer) || p.f[reconcile.FieldAttendees] != "" && p.f[reconcile.FieldOrganizer] != "" &&
		ed.d.first(m, "ORGANIZER") == nil {
		p.organizer()
	}
	if p.diff(reconcile.FieldAttendees) {
		p.attendees()
	}
	if p.diff(reconcile.FieldTandemID) {
		p.e.setText(m, TandemIDProperty, f[reconcile.FieldTandemID])
	}
	if err := p.overrides(); err != nil {
		return nil, err
	}
	if !p.e.changed() {
		return copyBytes(raw), nil
	}
	for _, ev := range childrenNamed(ed.cal, "VEVENT") {
		if p.e.touched(ev) {
			p.e.restamp(ev, stamp)
		}
	}
	p.e.syncZones(ed.cal, p.written)
	return p.e.bytes(), nil
}

// touched reports whether any line of c changed or was added to it.
func (e *editor) touched(c *component) bool {
	for i := c.begin; i <= c.end; i++ {
		if e.gone(i) || i > c.begin && len(e.before[i]) > 0 {
			return true
		}
	}
	return false
}

// patch is one Encode of an event.
type patch struct {
	ed      *eventDoc
	e       *editor
	f, old  reconcile.Fields
	form    dtForm // how the new series writes its times
	allDay  bool
	start   time.Time
	end     time.Time
	hasSpan bool
	written map[string]time.Time // TZIDs written → a time in the year they are for
	stamp   time.Time
}

func (ed *eventDoc) newPatch(f reconcile.Fields) (*patch, error) {
	p := &patch{ed: ed, e: newEditor(ed.d), f: f, old: ed.fields, written: map[string]time.Time{}}
	p.allDay = f[reconcile.FieldAllDay] == "true"
	if s := f[reconcile.FieldStart]; s != "" {
		t, isDate, err := reconcile.ParseEventTime(s)
		if err != nil {
			return nil, fmt.Errorf("ical: event start %q: %w", s, err)
		}
		p.start, p.allDay, p.hasSpan = t, isDate, true
		p.end = t
		if p.allDay {
			p.end = t.AddDate(0, 0, 1)
		}
		if s := f[reconcile.FieldEnd]; s != "" {
			if p.end, _, err = reconcile.ParseEventTime(s); err != nil {
				return nil, fmt.Errorf("ical: event end %q: %w", s, err)
			}
		}
	}
	p.form = formOf(p.allDay, f[reconcile.FieldTimeZone])
	return p, nil
}

func (p *patch) diff(name string) bool { return p.f[name] != p.old[name] }

func (p *patch) line(name string, t time.Time, keep *cline) string {
	if tz := p.form.tzid(); tz != "" {
		if _, ok := p.written[tz]; !ok {
			p.written[tz] = t
		}
	}
	return p.form.line(name, t, keep)
}

func (p *patch) timingChanged() bool {
	return p.diff(reconcile.FieldStart) || p.diff(reconcile.FieldEnd) || p.diff(reconcile.FieldAllDay) || p.diff(reconcile.FieldTimeZone)
}

// timing rewrites DTSTART and DTEND of the master.
func (p *patch) timing() {
	if !p.timingChanged() {
		return
	}
	m, d, e := p.ed.master, p.ed.d, p.e
	if !p.hasSpan {
		for _, n := range []string{"DTSTART", "DTEND", "DURATION"} {
			for _, i := range d.find(m, n) {
				e.remove(i)
			}
		}
		return
	}
	sameForm := p.allDay == p.ed.allDay && !p.diff(reconcile.FieldTimeZone)
	if !sameForm || p.diff(reconcile.FieldStart) {
		if idx := d.find(m, "DTSTART"); len(idx) > 0 {
			e.replace(idx[0], p.line("DTSTART", p.start, d.lines[idx[0]]))
		} else {
			e.insertBefore(propEnd(m), p.line("DTSTART", p.start, nil))
		}
	}
	if sameForm && !p.diff(reconcile.FieldEnd) {
		return
	}
	p.writeEnd(m, p.start, p.end, true)
}

// writeEnd makes c end at end: its DTEND rewritten, or a DURATION
// replaced by a DTEND. A master without either gets none when end is the
// default one (optional: an override's default is the series' length).
func (p *patch) writeEnd(c *component, start, end time.Time, optional bool) {
	d, e := p.ed.d, p.e
	dtend, dur := d.find(c, "DTEND"), d.find(c, "DURATION")
	switch {
	case len(dtend) > 0:
		e.replace(dtend[0], p.line("DTEND", end, d.lines[dtend[0]]))
		for _, i := range dur {
			e.remove(i)
		}
	case len(dur) > 0:
		e.replace(dur[0], p.line("DTEND", end, nil))
		for _, i := range dur[1:] {
			e.remove(i)
		}
	case optional && p.allDay && end.Equal(start.AddDate(0, 0, 1)), optional && !p.allDay && end.Equal(start):
	default:
		// After DTSTART, where readers look for it.
		at := propEnd(c)
		if idx := d.find(c, "DTSTART"); len(idx) > 0 {
			at = idx[0] + 1
		}
		e.insertBefore(at, p.line("DTEND", end, nil))
	}
}

func splitSet(s string) map[string]bool {
	out := map[string]bool{}
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out[v] = true
		}
	}
	return out
}

// exdates rewrites the EXDATE lines that no longer hold and adds the
// missing dates; a cancelled override whose occurrence is back is removed.
func (p *patch) exdates() {
	formChanged := p.allDay != p.ed.allDay
	if !p.diff(reconcile.FieldExDates) && !formChanged {
		return
	}
	want := splitSet(p.f[reconcile.FieldExDates])
	covered := map[string]bool{}
	m, e := p.ed.master, p.e
	lastEx := -1
	for i, ts := range p.ed.exDates() {
		if ts == nil {
			continue // unreadable: not part of the field, left alone
		}
		lastEx = max(lastEx, i)
		keep := !formChanged
		for _, t := range ts {
			keep = keep && want[formatEventTime(t, p.allDay)]
		}
		if keep {
			for _, t := range ts {
				covered[formatEventTime(t, p.allDay)] = true
			}
		} else {
			e.remove(i)
		}
	}
	for _, oc := range p.ed.overrides {
		if !oc.cancelled {
			continue
		}
		if k := formatEventTime(oc.rid, p.allDay); want[k] && !formChanged {
			covered[k] = true
		} else {
			e.removeComponent(oc.c)
		}
	}
	var add []string
	for k := range want {
		if !covered[k] {
			add = append(add, k)
		}
	}
	sort.Strings(add)
	at := propEnd(m)
	if lastEx >= 0 {
		at = lastEx + 1
	}
	for _, k := range add {
		t, _, err := reconcile.ParseEventTime(k)
		if err != nil {
			continue
		}
		e.insertBefore(at, p.line("EXDATE", t, nil))
	}
}

// rdates rewrites the RDATE lines whose dates are no longer all wanted
// (or whose form the series left) and adds the missing dates, after the
// last RDATE (else the RRULE). PERIOD lines and unreadable ones are not
// part of the field and stay as they are.
func (p *patch) rdates() {
	formChanged := p.allDay != p.ed.allDay
	if !p.diff(reconcile.FieldRDates) && !formChanged {
		return
	}
	want := splitSet(p.f[reconcile.FieldRDates])
	covered := map[string]bool{}
	m, d, e := p.ed.master, p.ed.d, p.e
	last := -1
	for _, i := range d.find(m, "RDATE") {
		last = i
	}
	lines := p.ed.rDates()
	idx := make([]int, 0, len(lines))
	for i := range lines {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	for _, i := range idx {
		ts := lines[i]
		if ts == nil {
			continue
		}
		keep := !formChanged
		for _, t := range ts {
			keep = keep && want[formatEventTime(t, p.allDay)] && !covered[formatEventTime(t, p.allDay)]
		}
		if !keep {
			e.remove(i)
			continue
		}
		for _, t := range ts {
			covered[formatEventTime(t, p.allDay)] = true
		}
	}
	var add []string
	for k := range want {
		if !covered[k] {
			add = append(add, k)
		}
	}
	if len(add) == 0 {
		return
	}
	sort.Strings(add)
	at := propEnd(m)
	switch idx := d.find(m, "RRULE"); {
	case last >= 0:
		at = last + 1
	case len(idx) > 0:
		at = idx[0] + 1
	}
	for _, k := range add {
		t, _, err := reconcile.ParseEventTime(k)
		if err != nil {
			continue
		}
		e.insertBefore(at, p.line("RDATE", t, nil))
	}
}

func (p *patch) organizer() {
	m, d, e := p.ed.master, p.ed.d, p.e
	v := p.f[reconcile.FieldOrganizer]
	idx := d.find(m, "ORGANIZER")
	switch {
	case v == "":
		for _, i := range idx {
			e.remove(i)
		}
	case len(idx) > 0:
		e.replace(idx[0], d.lines[idx[0]].edit("mailto:"+v, nil, "CN", "EMAIL", "SENT-BY"))
		for _, i := range idx[1:] {
			e.remove(i)
		}
	default:
		e.insertBefore(propEnd(m), cprop{name: "ORGANIZER", value: "mailto:" + v}.String())
	}
}

func attendeeLine(a reconcile.Attendee, keep *cline) string {
	params := []cparam{}
	var drop []string
	if a.Name = strings.TrimSpace(a.Name); a.Name != "" {
		params = append(params, newParam("CN", a.Name))
	} else {
		drop = append(drop, "CN")
	}
	params = append(params, newParam("PARTSTAT", toPartStat(a.Status)))
	if keep != nil {
		return keep.edit(keep.value, params, drop...)
	}
	return cprop{name: "ATTENDEE", params: params, value: "mailto:" + a.Email}.String()
}

// attendees matches the wanted attendees to the ATTENDEE lines by e-mail:
// a line whose name and status hold stays as it is, one that differs has
// its CN and PARTSTAT rewritten (ROLE, RSVP and the rest kept), the rest
// are removed or added.
func (p *patch) attendees() {
	m, d, e := p.ed.master, p.ed.d, p.e
	lines := map[string][]int{}
	last := -1
	for _, i := range d.find(m, "ATTENDEE") {
		if a, ok := readAttendee(d.lines[i]); ok {
			lines[a.Email] = append(lines[a.Email], i)
		}
		last = i
	}
	var add []string
	for _, a := range reconcile.DecodeAttendees(p.f[reconcile.FieldAttendees]) {
		a.Email = strings.ToLower(strings.TrimSpace(a.Email))
		if idx := lines[a.Email]; len(idx) > 0 {
			i := idx[0]
			lines[a.Email] = idx[1:]
			if old, _ := readAttendee(d.lines[i]); old.Name != strings.TrimSpace(a.Name) || old.Status != a.Status {
				e.replace(i, attendeeLine(a, d.lines[i]))
			}
			continue
		}
		add = append(add, attendeeLine(a, nil))
	}
	for _, idx := range lines {
		for _, i := range idx {
			e.remove(i)
		}
	}
	at := propEnd(m)
	if last >= 0 {
		at = last + 1
	}
	e.insertBefore(at, add...)
}

// activity is the series f describes, as crm keeps it (nil without a
// rule or extra dates).
func activity(f reconcile.Fields) *crm.Activity {
	if !isSeries(f) || f[reconcile.FieldStart] == "" {
		return nil
	}
	a := &crm.Activity{Type: "meeting"}
	if err := reconcile.ApplyEventFields(a, f, []string{reconcile.FieldTitle, reconcile.FieldDescription, reconcile.FieldLocation,
		reconcile.FieldStart, reconcile.FieldEnd, reconcile.FieldAllDay, reconcile.FieldTimeZone, reconcile.FieldRRule,
		reconcile.FieldRDates, reconcile.FieldExDates}); err != nil {
		return nil
	}
	a.Normalize()
	return a
}

// overrides brings the override VEVENTs in line with the wanted overrides,
// so that they read back as exactly those: a listed occurrence gets its
// component (patched, or new with the master's unmapped properties and
// alarms); an unlisted one the series generates is patched to read as
// generated (what Tandem does not model, an attendee's answer, stays); an
// excluded one goes, and so does Tandem's override, or one that followed
// the series, on an occurrence the series no longer has. Other overrides
// (of PERIOD RDATE occurrences, say) are left alone.
func (p *patch) overrides() error {
	relevant := []string{reconcile.FieldOverrides, reconcile.FieldExDates, reconcile.FieldStart, reconcile.FieldEnd,
		reconcile.FieldAllDay, reconcile.FieldTimeZone, reconcile.FieldRRule, reconcile.FieldRDates, reconcile.FieldTitle,
		reconcile.FieldDescription, reconcile.FieldLocation}
	changed := false
	for _, n := range relevant {
		changed = changed || p.diff(n)
	}
	if !changed {
		return nil
	}
	key := func(t time.Time) string { return formatEventTime(t, p.allDay) }
	want := map[string]crm.Occurrence{}
	for _, o := range reconcile.DecodeOverrides(p.f[reconcile.FieldOverrides]) {
		want[key(o.RecurrenceID)] = o
	}
	had := map[string]bool{}
	for _, o := range reconcile.DecodeOverrides(p.old[reconcile.FieldOverrides]) {
		had[formatEventTime(o.RecurrenceID, p.ed.allDay)] = true
	}
	removed := splitSet(p.f[reconcile.FieldExDates])
	oldA, newA := activity(p.old), activity(p.f)
	last := p.start
	for _, oc := range p.ed.overrides {
		if oc.rid.After(last) {
			last = oc.rid
		}
	}
	for _, o := range want {
		if o.RecurrenceID.After(last) {
			last = o.RecurrenceID
		}
	}
	if oldA != nil && !seriesUsable(p.old, last) {
		oldA = nil
	}
	if newA != nil && !seriesUsable(p.f, last) {
		newA = nil
	}
	formChanged := p.allDay != p.ed.allDay
	done := map[string]bool{}
	for _, oc := range p.ed.overrides {
		if oc.cancelled {
			continue
		}
		k := key(oc.rid)
		w, listed := want[k]
		switch {
		case formChanged:
			p.e.removeComponent(oc.c)
		case listed:
			p.patchOverride(oc, w)
			done[k] = true
		case removed[k]:
			p.e.removeComponent(oc.c)
		case newA != nil && newA.IsOccurrence(oc.rid):
			// Not listed: it must read as the series generates it. What
			// Tandem does not model (an answer, an alarm) stays.
			p.patchOverride(oc, newA.Generated(oc.rid))
		case had[formatEventTime(oc.rid, p.ed.allDay)],
			oldA != nil && oldA.IsOccurrence(oc.rid) && sameOcc(oc.occ, oldA.Generated(oc.rid)):
			// Tandem's override, or one that followed the series, on an
			// occurrence the series no longer has.
			p.e.removeComponent(oc.c)
		}
	}
	var add []string
	for k := range want {
		if !done[k] {
			add = append(add, k)
		}
	}
	sort.Strings(add)
	for _, k := range add {
		p.e.insertBefore(p.ed.cal.end, p.newOverride(want[k]))
	}
	return nil
}

func sameOcc(a, b crm.Occurrence) bool {
	return a.RecurrenceID.Equal(b.RecurrenceID) && a.Start.Equal(b.Start) && a.End.Equal(b.End) && a.Title == b.Title &&
		a.Description == b.Description && a.Location == b.Location
}

// patchOverride rewrites the mapped properties of an override that differ
// from o.
func (p *patch) patchOverride(oc *overrideComp, o crm.Occurrence) {
	c, d, e := oc.c, p.ed.d, p.e
	cur := oc.occ
	if !cur.Start.Equal(o.Start) {
		if idx := d.find(c, "DTSTART"); len(idx) > 0 {
			e.replace(idx[0], p.line("DTSTART", o.Start, d.lines[idx[0]]))
		} else {
			at := propEnd(c)
			if idx := d.find(c, "RECURRENCE-ID"); len(idx) > 0 {
				at = idx[0] + 1
			}
			e.insertBefore(at, p.line("DTSTART", o.Start, nil))
		}
	}
	if !cur.End.Equal(o.End) {
		p.writeEnd(c, o.Start, o.End, false)
	}
	if cur.Title != o.Title {
		e.setText(c, "SUMMARY", o.Title)
	}
	if cur.Description != o.Description {
		e.setText(c, "DESCRIPTION", o.Description, "ALTREP")
	}
	if cur.Location != o.Location {
		e.setText(c, "LOCATION", o.Location, "ALTREP")
	}
}

// mappedEvent are the properties an override Tandem creates writes
// itself rather than copying from the master.
var mappedEvent = map[string]bool{"UID": true, "DTSTAMP": true, "LAST-MODIFIED": true, "CREATED": true, "RECURRENCE-ID": true,
	"DTSTART": true, "DTEND": true, "DURATION": true, "RRULE": true, "RDATE": true, "EXDATE": true, "EXRULE": true,
	"SUMMARY": true, "DESCRIPTION": true, "LOCATION": true, "ORGANIZER": true, "ATTENDEE": true, TandemIDProperty: true,
	MarkerProperty: true}

// newOverride renders an override VEVENT for o: the mapped properties from
// the fields, the master's other properties and alarms as they are.
func (p *patch) newOverride(o crm.Occurrence) string {
	m, d := p.ed.master, p.ed.d
	var b strings.Builder
	b.WriteString("BEGIN:VEVENT\r\n")
	b.WriteString(cprop{name: "UID", value: escapeText(p.ed.uid)}.String())
	b.WriteString("DTSTAMP:" + p.stamp.UTC().Format("20060102T150405Z") + "\r\n")
	b.WriteString(p.line("RECURRENCE-ID", o.RecurrenceID, nil))
	b.WriteString(p.line("DTSTART", o.Start, nil))
	b.WriteString(p.line("DTEND", o.End, nil))
	for _, t := range []struct{ name, v string }{{"SUMMARY", o.Title}, {"DESCRIPTION", o.Description}, {"LOCATION", o.Location}} {
		if t.v != "" {
			b.WriteString(cprop{name: t.name, value: escapeText(t.v)}.String())
		}
	}
	if org := p.f[reconcile.FieldOrganizer]; org != "" {
		b.WriteString(cprop{name: "ORGANIZER", value: "mailto:" + org}.String())
	}
	for _, a := range reconcile.DecodeAttendees(p.f[reconcile.FieldAttendees]) {
		b.WriteString(attendeeLine(a, nil))
	}
	for _, i := range m.props {
		l := d.lines[i]
		if l.name == "STATUS" && strings.EqualFold(strings.TrimSpace(l.value), "CANCELLED") {
			continue
		}
		if !mappedEvent[l.name] {
			b.Write(d.lines[i].raw)
			if !strings.HasSuffix(string(d.lines[i].raw), "\n") {
				b.WriteString("\r\n")
			}
		}
	}
	for _, ch := range m.children {
		for i := ch.begin; i <= ch.end; i++ {
			b.Write(d.lines[i].raw)
		}
	}
	b.WriteString("END:VEVENT\r\n")
	return b.String()
}
