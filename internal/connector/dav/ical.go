package dav

// What the VEVENT and VTODO codecs share: the calendar object around the
// component, dates and times, time zones (reading TZIDs of every kind,
// writing VTIMEZONEs from Go's tz database) and the bookkeeping stamps.

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/teambition/rrule-go"

	"github.com/tandem-crm/tandem/internal/crm"
)

// ProdID names Tandem in the objects it creates.
const ProdID = "-//Tandem//Tandem CRM//EN"

// TandemIDProperty carries the activity's id in calendar objects
// (reconcile.FieldTandemID).
const TandemIDProperty = "X-TANDEM-ID"

// icalDoc is a parsed calendar object with its time zones.
type icalDoc struct {
	d        *document
	cal      *component
	tz       *tzResolver
	warnings []string
}

func parseICal(raw []byte, def *time.Location) (*icalDoc, error) {
	d, err := parseDocument(raw, "VCALENDAR", "ical")
	if err != nil {
		return nil, err
	}
	x := &icalDoc{d: d, cal: d.root}
	if d.invalid {
		x.warn("invalid utf-8 replaced")
	}
	if d.extra {
		x.warn("content after END:VCALENDAR ignored")
	}
	if d.unreadable > 0 {
		x.warn(fmt.Sprintf("%d unreadable lines kept as they are", d.unreadable))
	}
	x.tz = newTZResolver(d, def)
	return x, nil
}

func (x *icalDoc) warn(s string) { x.warnings = append(x.warnings, s) }

// uidOf is the UID of a component ("" without).
func (x *icalDoc) uidOf(c *component) string {
	if l := x.d.first(c, "UID"); l != nil {
		return strings.TrimSpace(l.text())
	}
	return ""
}

// modified is LAST-MODIFIED, else DTSTAMP, of c.
func (x *icalDoc) modified(c *component) time.Time {
	for _, n := range []string{"LAST-MODIFIED", "DTSTAMP"} {
		if l := x.d.first(c, n); l != nil {
			// Some clients write them floating; read as UTC, they are close.
			if t, err := time.Parse("20060102T150405", strings.TrimSuffix(strings.TrimSpace(l.value), "Z")); err == nil {
				return t
			}
		}
	}
	return time.Time{}
}

// restamp sets the DTSTAMP and LAST-MODIFIED c has to now: they say when
// the object was last revised, and Tandem just revised it.
func (e *editor) restamp(c *component, now time.Time) {
	stamp := now.UTC().Format("20060102T150405Z")
	for _, n := range []string{"DTSTAMP", "LAST-MODIFIED"} {
		if idx := e.d.find(c, n); len(idx) > 0 && !e.gone(idx[0]) {
			e.replace(idx[0], e.d.lines[idx[0]].rewrite(stamp, nil))
		}
	}
}

// dtval is a DATE or DATE-TIME value.
type dtval struct {
	t    time.Time // the instant; for a date, UTC midnight of the date
	date bool
	zone string // the field zone: "UTC", an IANA name; "" for dates
}

// field renders v in FormatEventTime's form (allDay: as a date).
func (v dtval) field(allDay bool) string {
	if allDay && !v.date {
		// A time where a date is expected: its date where it happens.
		loc := time.UTC
		if l, err := loadZone(v.zone); err == nil {
			loc = l
		}
		y, m, d := v.t.In(loc).Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Format(crmDate)
	}
	return formatEventTime(v.t, allDay)
}

const crmDate = "2006-01-02"

func formatEventTime(t time.Time, allDay bool) string {
	if allDay {
		return t.UTC().Format(crmDate)
	}
	return t.UTC().Truncate(time.Second).Format(time.RFC3339)
}

// parseDT reads the values of a date or date-time property (EXDATE may list
// several).
func (x *icalDoc) parseDT(l *cline) ([]dtval, error) {
	var out []dtval
	for _, s := range strings.Split(l.value, ",") {
		v, err := x.parseOne(strings.TrimSpace(s), l.param("TZID"))
		if err != nil {
			return out, fmt.Errorf("ical: %s value %q: %w", strings.ToLower(l.name), truncate(s, 40), err)
		}
		out = append(out, v)
	}
	return out, nil
}

func (x *icalDoc) parseOne(s, tzid string) (dtval, error) {
	v, err := x.parseValue(s, tzid)
	if err == nil && (v.t.UTC().Year() < 1 || v.t.UTC().Year() > 9999) {
		err = fmt.Errorf("out of range")
	}
	return v, err
}

func (x *icalDoc) parseValue(s, tzid string) (dtval, error) {
	switch {
	case len(s) == 8:
		t, err := time.Parse("20060102", s)
		return dtval{t: t, date: true}, err
	case len(s) == 16 && (s[15] == 'Z' || s[15] == 'z'):
		t, err := time.Parse("20060102T150405", s[:15])
		return dtval{t: t, zone: "UTC"}, err
	case len(s) == 15:
		w, err := time.Parse("20060102T150405", s)
		if err != nil {
			return dtval{}, err
		}
		r := x.tz.resolve(tzid, &x.warnings)
		return dtval{t: r.instant(w), zone: r.name}, nil
	}
	return dtval{}, fmt.Errorf("not a date or date-time")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// dtForm is how a series writes its times: as dates, in UTC, or in a zone.
type dtForm struct {
	date bool
	zone string // "UTC" or an IANA name; "" for dates
}

// formOf is the form of the fields' start.
func formOf(allDay bool, zone string) dtForm {
	if allDay {
		return dtForm{date: true}
	}
	if zone == "" || zone == "Etc/UTC" || zone == "Z" {
		zone = "UTC"
	}
	if _, err := loadZone(zone); err != nil {
		zone = "UTC"
	}
	return dtForm{zone: zone}
}

// line renders a date or date-time property in form f. The caller adds
// the TZID to the zones the object must define (zoneOf).
func (f dtForm) line(name string, t time.Time, keep *cline) string {
	var value string
	var params []cparam
	drop := []string{"VALUE", "TZID"}
	switch {
	case f.date:
		value = t.UTC().Format("20060102")
		params, drop = []cparam{newParam("VALUE", "DATE")}, drop[1:]
	case f.zone == "UTC":
		value = t.UTC().Format("20060102T150405Z")
	default:
		loc, _ := loadZone(f.zone)
		value = t.In(loc).Format("20060102T150405")
		params, drop = []cparam{newParam("TZID", f.zone)}, drop[:1]
	}
	if keep != nil {
		return keep.edit(value, params, drop...)
	}
	return cprop{name: name, params: params, value: value}.String()
}

// tzid is the TZID a line in form f carries ("" for none).
func (f dtForm) tzid() string {
	if f.date || f.zone == "UTC" {
		return ""
	}
	return f.zone
}

func loadZone(name string) (*time.Location, error) { return crm.LoadZone(name) }

// tzResolver turns TZIDs into zones. Calendars write TZIDs of every kind:
// IANA names, IANA names behind a vendor prefix (Thunderbird's
// /mozilla.org/20050126_1/America/New_York), Windows names from Outlook and
// Exchange, and made-up names defined only by their VTIMEZONE.
type tzResolver struct {
	vtz   map[string]*component
	d     *document
	def   *time.Location
	cache map[string]*zoneRes
}

type zoneRes struct {
	name  string         // the field zone
	loc   *time.Location // instants are local times in loc...
	rules *vtzRules      // ...or by the VTIMEZONE's own rules
	warn  string
}

func newTZResolver(d *document, def *time.Location) *tzResolver {
	r := &tzResolver{vtz: map[string]*component{}, d: d, def: def, cache: map[string]*zoneRes{}}
	if r.def == nil || r.def.String() == "Local" {
		r.def = time.UTC
	}
	for _, c := range childrenNamed(d.root, "VTIMEZONE") {
		if l := d.first(c, "TZID"); l != nil {
			r.vtz[strings.TrimSpace(l.value)] = c
		}
	}
	return r
}

func (z *zoneRes) instant(w time.Time) time.Time {
	if z.rules != nil {
		return w.Add(-time.Duration(z.rules.offsetAt(w)) * time.Second)
	}
	return time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, z.loc)
}

// resolve finds the zone of tzid ("" is a floating time: the default
// zone). A warning is added once per unknown name.
func (r *tzResolver) resolve(tzid string, warnings *[]string) *zoneRes {
	tzid = strings.TrimSpace(tzid)
	if z, ok := r.cache[tzid]; ok {
		return z
	}
	z := r.lookup(tzid)
	r.cache[tzid] = z
	if z.warn != "" {
		*warnings = append(*warnings, z.warn)
	}
	return z
}

func (r *tzResolver) lookup(tzid string) *zoneRes {
	defName := r.def.String()
	if tzid == "" {
		return &zoneRes{name: defName, loc: r.def}
	}
	if name, loc, ok := ianaZone(tzid); ok {
		return &zoneRes{name: name, loc: loc}
	}
	c := r.vtz[tzid]
	if c != nil {
		if l := r.d.first(c, "X-LIC-LOCATION"); l != nil {
			if name, loc, ok := ianaZone(strings.TrimSpace(l.value)); ok {
				return &zoneRes{name: name, loc: loc}
			}
		}
		rules := readVTZ(r.d, c)
		if off, fixed := rules.fixed(); fixed && off%3600 == 0 && off != 0 && off >= -12*3600 && off <= 14*3600 {
			// Etc/GMT zones have inverted signs: Etc/GMT-11 is UTC+11.
			name := fmt.Sprintf("Etc/GMT%+d", -off/3600)
			if loc, err := loadZone(name); err == nil {
				return &zoneRes{name: name, loc: loc}
			}
		}
		if len(rules.obs) > 0 {
			return &zoneRes{name: defName, rules: rules,
				warn: fmt.Sprintf("time zone %q is not an iana zone; its series expand in %s", truncate(tzid, 60), defName)}
		}
	}
	return &zoneRes{name: defName, loc: r.def,
		warn: fmt.Sprintf("unknown time zone %q read as %s", truncate(tzid, 60), defName)}
}

// ianaZone maps a TZID to an IANA zone: the name itself, the name behind a
// vendor prefix, or a Windows name.
func ianaZone(tzid string) (string, *time.Location, bool) {
	switch strings.ToUpper(tzid) {
	case "UTC", "GMT", "Z", "ETC/UTC", "ETC/GMT", "UNIVERSAL", "ZULU", "COORDINATED UNIVERSAL TIME":
		return "UTC", time.UTC, true
	}
	if l, err := loadZone(tzid); err == nil {
		return tzid, l, true
	}
	if parts := strings.Split(strings.Trim(tzid, "/"), "/"); len(parts) > 2 {
		for i := 1; i+1 < len(parts); i++ {
			name := strings.Join(parts[i:], "/")
			if l, err := loadZone(name); err == nil {
				return name, l, true
			}
		}
	}
	if name, ok := windowsZones[strings.ToLower(tzid)]; ok {
		if l, err := loadZone(name); err == nil {
			return name, l, true
		}
	}
	return "", nil, false
}

// windowsZones maps the Windows zone names Outlook and Exchange write as
// TZIDs to IANA zones (CLDR windowsZones.xml, territory 001).
var windowsZones = map[string]string{
	"dateline standard time": "Etc/GMT+12", "utc-11": "Etc/GMT+11", "hawaiian standard time": "Pacific/Honolulu",
	"alaskan standard time": "America/Anchorage", "pacific standard time": "America/Los_Angeles",
	"pacific standard time (mexico)": "America/Tijuana", "us mountain standard time": "America/Phoenix",
	"mountain standard time": "America/Denver", "central america standard time": "America/Guatemala",
	"central standard time": "America/Chicago", "central standard time (mexico)": "America/Mexico_City",
	"canada central standard time": "America/Regina", "sa pacific standard time": "America/Bogota",
	"eastern standard time": "America/New_York", "us eastern standard time": "America/Indiana/Indianapolis",
	"venezuela standard time": "America/Caracas", "atlantic standard time": "America/Halifax",
	"sa western standard time": "America/La_Paz", "pacific sa standard time": "America/Santiago",
	"newfoundland standard time": "America/St_Johns", "e. south america standard time": "America/Sao_Paulo",
	"argentina standard time": "America/Argentina/Buenos_Aires", "greenland standard time": "America/Nuuk",
	"utc-02": "Etc/GMT+2", "utc+12": "Etc/GMT-12", "utc-08": "Etc/GMT+8", "utc-09": "Etc/GMT+9", "utc+13": "Etc/GMT-13", "azores standard time": "Atlantic/Azores", "cape verde standard time": "Atlantic/Cape_Verde",
	"utc": "UTC", "gmt standard time": "Europe/London", "greenwich standard time": "Atlantic/Reykjavik",
	"w. europe standard time": "Europe/Berlin", "central europe standard time": "Europe/Budapest",
	"romance standard time": "Europe/Paris", "central european standard time": "Europe/Warsaw",
	"w. central africa standard time": "Africa/Lagos", "gtb standard time": "Europe/Bucharest",
	"e. europe standard time": "Europe/Chisinau", "egypt standard time": "Africa/Cairo",
	"south africa standard time": "Africa/Johannesburg", "fle standard time": "Europe/Kyiv",
	"israel standard time": "Asia/Jerusalem", "kaliningrad standard time": "Europe/Kaliningrad",
	"arabic standard time": "Asia/Baghdad", "turkey standard time": "Europe/Istanbul",
	"arab standard time": "Asia/Riyadh", "belarus standard time": "Europe/Minsk",
	"russian standard time": "Europe/Moscow", "e. africa standard time": "Africa/Nairobi",
	"iran standard time": "Asia/Tehran", "arabian standard time": "Asia/Dubai", "russia time zone 3": "Europe/Samara",
	"caucasus standard time": "Asia/Yerevan", "afghanistan standard time": "Asia/Kabul",
	"ekaterinburg standard time": "Asia/Yekaterinburg", "pakistan standard time": "Asia/Karachi",
	"india standard time": "Asia/Kolkata", "sri lanka standard time": "Asia/Colombo",
	"nepal standard time": "Asia/Kathmandu", "central asia standard time": "Asia/Almaty",
	"bangladesh standard time": "Asia/Dhaka", "omsk standard time": "Asia/Omsk",
	"myanmar standard time": "Asia/Yangon", "se asia standard time": "Asia/Bangkok",
	"n. central asia standard time": "Asia/Novosibirsk", "north asia standard time": "Asia/Krasnoyarsk",
	"china standard time": "Asia/Shanghai", "north asia east standard time": "Asia/Irkutsk",
	"singapore standard time": "Asia/Singapore", "w. australia standard time": "Australia/Perth",
	"taipei standard time": "Asia/Taipei", "tokyo standard time": "Asia/Tokyo", "korea standard time": "Asia/Seoul",
	"yakutsk standard time": "Asia/Yakutsk", "cen. australia standard time": "Australia/Adelaide",
	"aus central standard time": "Australia/Darwin", "e. australia standard time": "Australia/Brisbane",
	"aus eastern standard time": "Australia/Sydney", "tasmania standard time": "Australia/Hobart",
	"vladivostok standard time": "Asia/Vladivostok", "magadan standard time": "Asia/Magadan",
	"russia time zone 11": "Asia/Kamchatka", "new zealand standard time": "Pacific/Auckland",
	"fiji standard time": "Pacific/Fiji", "tonga standard time": "Pacific/Tongatapu",
}

// vtzRules are a VTIMEZONE's observances, for zones no IANA name gives.
type vtzRules struct {
	obs []observance
}

type observance struct {
	start    time.Time // wall clock (as UTC) of the first onset
	from, to int       // offsets in seconds
	rrule    string
	rdates   []time.Time
}

func readVTZ(d *document, c *component) *vtzRules {
	r := &vtzRules{}
	for _, ch := range c.children {
		if ch.name != "STANDARD" && ch.name != "DAYLIGHT" {
			continue
		}
		var o observance
		var ok1, ok2, ok3 bool
		if l := d.first(ch, "DTSTART"); l != nil {
			o.start, ok1 = wallTime(l.value)
		}
		if l := d.first(ch, "TZOFFSETFROM"); l != nil {
			o.from, ok2 = parseOffset(l.value)
		}
		if l := d.first(ch, "TZOFFSETTO"); l != nil {
			o.to, ok3 = parseOffset(l.value)
		}
		if !ok1 || !ok3 {
			continue
		}
		if !ok2 {
			o.from = o.to
		}
		if l := d.first(ch, "RRULE"); l != nil {
			o.rrule = strings.TrimSpace(l.value)
		}
		for _, i := range d.find(ch, "RDATE") {
			for _, s := range strings.Split(d.lines[i].value, ",") {
				if t, ok := wallTime(s); ok {
					o.rdates = append(o.rdates, t)
				}
			}
		}
		r.obs = append(r.obs, o)
	}
	return r
}

func wallTime(s string) (time.Time, bool) {
	s = strings.TrimSuffix(strings.TrimSpace(s), "Z")
	for _, layout := range []string{"20060102T150405", "20060102"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// parseOffset reads "+0300", "-000115".
func parseOffset(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if len(s) != 5 && len(s) != 7 || s[0] != '+' && s[0] != '-' {
		return 0, false
	}
	n := 0
	for i := 1; i < len(s); i += 2 {
		v, err := strconv.Atoi(s[i : i+2])
		if err != nil {
			return 0, false
		}
		n = n*60 + v
	}
	if len(s) == 5 {
		n *= 60
	}
	if s[0] == '-' {
		n = -n
	}
	return n, true
}

// fixed reports a zone whose observances all have one offset.
func (r *vtzRules) fixed() (int, bool) {
	if len(r.obs) == 0 {
		return 0, false
	}
	off := r.obs[0].to
	for _, o := range r.obs {
		if o.to != off || o.from != off {
			return 0, false
		}
	}
	return off, true
}

// offsetAt is the offset in effect at wall-clock time w: the TZOFFSETTO of
// the latest onset not after w (before every onset, the first one's
// TZOFFSETFROM).
func (r *vtzRules) offsetAt(w time.Time) int {
	var best time.Time
	off, found := 0, false
	earliest := time.Time{}
	for _, o := range r.obs {
		if earliest.IsZero() || o.start.Before(earliest) {
			earliest, off = o.start, o.from
		}
	}
	consider := func(t time.Time, to int) {
		if !t.After(w) && (!found || t.After(best)) {
			best, found = t, true
			off = to
		}
	}
	for _, o := range r.obs {
		consider(o.start, o.to)
		for _, t := range o.rdates {
			consider(t, o.to)
		}
		if o.rrule == "" || !o.start.Before(w) {
			continue
		}
		opt, err := rrule.StrToROptionInLocation(o.rrule, time.UTC)
		if err != nil || opt.Freq > rrule.MONTHLY {
			continue // zones change at most a few times a year
		}
		opt.Dtstart = o.start
		if opt.Count == 0 {
			// Start the rule near w: rrule-go gives up on long
			// expansions (a zone defined from 1601 is common), and the
			// onsets of a yearly or monthly rule repeat with its period.
			step := max(opt.Interval, 1)
			if opt.Freq == rrule.YEARLY {
				if years := w.Year() - 2 - o.start.Year(); years > step {
					opt.Dtstart = o.start.AddDate(years-years%step, 0, 0)
				}
			} else if months := (w.Year()-2-o.start.Year())*12 + int(w.Month()-o.start.Month()); months > step {
				opt.Dtstart = o.start.AddDate(0, months-months%step, 0)
			}
		}
		rr, err := rrule.NewRRule(*opt)
		if err != nil {
			continue
		}
		next := rr.Iterator()
		for n := 0; n < 5000; n++ {
			t, ok := next()
			if !ok || t.After(w) {
				break
			}
			consider(t, o.to)
		}
	}
	return off
}

// vtimezone renders a VTIMEZONE for an IANA zone from Go's tz database.
// A zone whose daylight saving follows a yearly weekday rule around t
// (most) gets a STANDARD/DAYLIGHT pair with RRULEs from 1970, as
// Thunderbird and Apple write them; one without daylight saving a single
// observance; any other (Morocco's, tied to Ramadan) its actual changes
// from the year before t to ten years after, as RDATEs. Clients that know
// the IANA name (all common ones) use their own data; the rest get the
// times right for the years around t.
func vtimezone(name string, t time.Time) string {
	loc, err := loadZone(name)
	if err != nil {
		return ""
	}
	year := t.In(loc).Year()
	key := fmt.Sprintf("%s/%d", name, year)
	if s, ok := vtzCache.Load(key); ok {
		return s.(string)
	}
	var b strings.Builder
	b.WriteString("BEGIN:VTIMEZONE\r\n")
	b.WriteString(cprop{name: "TZID", value: name}.String())
	observance := func(tr transition, start time.Time, extra string) {
		kind := "STANDARD"
		if tr.dst {
			kind = "DAYLIGHT"
		}
		b.WriteString("BEGIN:" + kind + "\r\n")
		b.WriteString("DTSTART:" + start.Format("20060102T150405") + "\r\n")
		b.WriteString(extra)
		b.WriteString("TZOFFSETFROM:" + formatOffset(tr.from) + "\r\n")
		b.WriteString("TZOFFSETTO:" + formatOffset(tr.to) + "\r\n")
		if tr.abbr != "" {
			b.WriteString(cprop{name: "TZNAME", value: escapeText(tr.abbr)}.String())
		}
		b.WriteString("END:" + kind + "\r\n")
	}
	trs := transitions(loc, year)
	switch rules, ok := yearlyRules(loc, year, trs); {
	case len(trs) == 0:
		at := time.Date(year, 1, 1, 0, 0, 0, 0, loc)
		abbr, off := zoneAt(at)
		observance(transition{from: off, to: off, abbr: abbr, dst: at.IsDST()}, time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), "")
	case ok:
		for i, tr := range trs {
			observance(tr, rules[i].start, rules[i].rrule)
		}
	default:
		at := time.Date(year-1, 1, 1, 0, 0, 0, 0, loc)
		abbr, off := zoneAt(at)
		observance(transition{from: off, to: off, abbr: abbr, dst: at.IsDST()}, time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), "")
		var all []transition
		for y := year - 1; y <= year+10; y++ {
			all = append(all, transitions(loc, y)...)
		}
		// One observance per kind of change, its later onsets as RDATEs.
		type kind struct {
			from, to int
			abbr     string
			dst      bool
		}
		var order []kind
		onsets := map[kind][]string{}
		for _, tr := range all {
			k := kind{tr.from, tr.to, tr.abbr, tr.dst}
			if _, seen := onsets[k]; !seen {
				order = append(order, k)
			}
			onsets[k] = append(onsets[k], tr.wall().Format("20060102T150405"))
		}
		for _, k := range order {
			extra := ""
			if os := onsets[k]; len(os) > 1 {
				extra = cprop{name: "RDATE", value: strings.Join(os[1:], ",")}.String()
			}
			first, _ := time.Parse("20060102T150405", onsets[k][0])
			observance(transition{from: k.from, to: k.to, abbr: k.abbr, dst: k.dst}, first, extra)
		}
	}
	b.WriteString("END:VTIMEZONE\r\n")
	vtzCache.Store(key, b.String())
	return b.String()
}

// wall is the local time a change happens at, on the clock before it.
func (tr transition) wall() time.Time {
	return tr.at.Add(time.Duration(tr.from) * time.Second).UTC()
}

type yearlyRule struct {
	start time.Time // the onset in 1970
	rrule string    // the RRULE line
}

// yearlyRules expresses a year's two changes as "the n-th (or last)
// weekday of the month" rules, if the two years after follow them.
func yearlyRules(loc *time.Location, year int, trs []transition) ([]yearlyRule, bool) {
	if len(trs) != 2 || trs[0].from != trs[1].to || trs[0].to != trs[1].from {
		return nil, false
	}
	type rule struct {
		month   time.Month
		weekday time.Weekday
		n       int
		clock   time.Duration
	}
	ruleOf := func(tr transition) rule {
		w := tr.wall()
		n := (w.Day()-1)/7 + 1
		if w.Day()+7 > daysIn(w.Year(), w.Month()) {
			n = -1
		}
		return rule{w.Month(), w.Weekday(), n, w.Sub(time.Date(w.Year(), w.Month(), w.Day(), 0, 0, 0, 0, time.UTC))}
	}
	var out []yearlyRule
	for i, tr := range trs {
		r := ruleOf(tr)
		for y := year + 1; y <= year+2; y++ {
			next := transitions(loc, y)
			if len(next) != 2 || ruleOf(next[i]) != r {
				return nil, false
			}
		}
		wd := strings.ToUpper(r.weekday.String()[:2])
		out = append(out, yearlyRule{start: nthWeekday(1970, r.month, r.weekday, r.n).Add(r.clock),
			rrule: fmt.Sprintf("RRULE:FREQ=YEARLY;BYMONTH=%d;BYDAY=%d%s\r\n", int(r.month), r.n, wd)})
	}
	return out, true
}

var vtzCache sync.Map

type transition struct {
	at       time.Time // the instant of the change
	from, to int
	abbr     string
	dst      bool
}

// transitions are the offset changes of loc in year, found by a daily scan
// and a binary search to the second (Go does not expose its zone rules).
func transitions(loc *time.Location, year int) []transition {
	var out []transition
	t := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(year+1, 1, 1, 0, 0, 0, 0, time.UTC)
	_, off := t.In(loc).Zone()
	for t.Before(end) {
		next := t.Add(24 * time.Hour)
		_, noff := next.In(loc).Zone()
		if noff != off {
			lo, hi := t, next
			for hi.Sub(lo) > time.Second {
				mid := lo.Add(hi.Sub(lo) / 2)
				if _, m := mid.In(loc).Zone(); m == off {
					lo = mid
				} else {
					hi = mid
				}
			}
			abbr, _ := zoneAt(hi.In(loc))
			out = append(out, transition{at: hi, from: off, to: noff, abbr: abbr, dst: hi.In(loc).IsDST()})
			off = noff
		}
		t = next
	}
	return out
}

// zoneAt is the zone's abbreviation and offset at t; "" for Go's numeric
// stand-ins ("+03"), which are no names.
func zoneAt(t time.Time) (string, int) {
	abbr, off := t.Zone()
	if strings.ContainsAny(abbr, "+-") {
		abbr = ""
	}
	return abbr, off
}

func daysIn(y int, m time.Month) int { return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day() }

// nthWeekday is the n-th (n = -1: last) weekday wd of the month.
func nthWeekday(y int, m time.Month, wd time.Weekday, n int) time.Time {
	if n < 0 {
		last := time.Date(y, m, daysIn(y, m), 0, 0, 0, 0, time.UTC)
		return last.AddDate(0, 0, -((int(last.Weekday()) - int(wd) + 7) % 7))
	}
	first := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	return first.AddDate(0, 0, (int(wd)-int(first.Weekday())+7)%7+7*(n-1))
}

func formatOffset(sec int) string {
	sign := "+"
	if sec < 0 {
		sign, sec = "-", -sec
	}
	s := fmt.Sprintf("%s%02d%02d", sign, sec/3600, sec/60%60)
	if sec%60 != 0 {
		s += fmt.Sprintf("%02d", sec%60)
	}
	return s
}

// syncZones keeps the VTIMEZONEs in step with the TZIDs the edited object
// uses: one is added, from Go's tz database, for each TZID Tandem wrote
// that the object does not define, and one that only Tandem's rewritten
// lines referred to is removed. written maps each TZID Tandem wrote to a
// time that says which year's rules to use.
func (e *editor) syncZones(cal *component, written map[string]time.Time) {
	defined := map[string]*component{}
	for _, c := range childrenNamed(cal, "VTIMEZONE") {
		if l := e.d.first(c, "TZID"); l != nil {
			defined[strings.TrimSpace(l.value)] = c
		}
	}
	before, after := map[string]bool{}, map[string]bool{}
	var walk func(c *component)
	walk = func(c *component) {
		if c.name == "VTIMEZONE" {
			return
		}
		for _, i := range c.props {
			if tz := e.d.lines[i].param("TZID"); tz != "" {
				before[strings.TrimSpace(tz)] = true
				if !e.gone(i) {
					after[strings.TrimSpace(tz)] = true
				}
			}
		}
		for _, ch := range c.children {
			walk(ch)
		}
	}
	walk(cal)
	for tz := range written {
		after[tz] = true
	}
	for tz, c := range defined {
		if before[tz] && !after[tz] {
			e.removeComponent(c)
		}
	}
	var add []string
	for tz := range written {
		if defined[tz] == nil {
			add = append(add, tz)
		}
	}
	sort.Strings(add)
	if len(add) == 0 {
		return
	}
	at := cal.end
	for _, ch := range cal.children {
		if ch.name != "VTIMEZONE" {
			at = ch.begin
			break
		}
	}
	for _, tz := range add {
		if s := vtimezone(tz, written[tz]); s != "" {
			e.insertBefore(at, s)
		}
	}
}

// now is the codecs' clock.
func now(clock func() time.Time) time.Time {
	if clock != nil {
		return clock()
	}
	return crm.Now()
}

// newCalendar is the skeleton of an object Tandem creates: the patching
// code fills it like any object it read.
func newCalendar(kind, uid, marker string, stamp time.Time) []byte {
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")
	b.WriteString(cprop{name: "PRODID", value: ProdID}.String())
	b.WriteString("BEGIN:" + kind + "\r\n")
	b.WriteString(cprop{name: "UID", value: escapeText(uid)}.String())
	b.WriteString("DTSTAMP:" + stamp.UTC().Format("20060102T150405Z") + "\r\n")
	if marker != "" {
		b.WriteString(cprop{name: MarkerProperty, value: escapeText(marker)}.String())
	}
	b.WriteString("END:" + kind + "\r\nEND:VCALENDAR\r\n")
	return []byte(b.String())
}
