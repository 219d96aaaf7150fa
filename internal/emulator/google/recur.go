package google

import (
	"encoding/json"
	"errors"
	"strings"
	"time"
	_ "time/tzdata" // events name IANA zones; the emulator must work without /usr/share/zoneinfo

	"github.com/teambition/rrule-go"
)

// edt is a parsed EventDateTime.
type edt struct {
	allDay bool
	t      time.Time // the instant (all-day: midnight in loc)
	date   string
	tz     string // the timeZone field as given
	loc    *time.Location
}

var errMissingTZ = errors.New("missing time zone")

func loadLoc(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	return time.LoadLocation(name)
}

// parseEDT parses {date|dateTime,timeZone}; defTZ is the calendar's zone.
func parseEDT(raw json.RawMessage, defTZ string) (edt, error) {
	var v struct {
		Date     string `json:"date"`
		DateTime string `json:"dateTime"`
		TimeZone string `json:"timeZone"`
	}
	if len(raw) == 0 || string(raw) == "null" {
		return edt{}, errors.New("missing")
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return edt{}, err
	}
	if (v.Date == "") == (v.DateTime == "") {
		return edt{}, errors.New("exactly one of date and dateTime")
	}
	zone := v.TimeZone
	if zone == "" {
		zone = defTZ
	}
	loc, err := loadLoc(zone)
	if err != nil {
		return edt{}, err
	}
	e := edt{tz: v.TimeZone, loc: loc}
	if v.Date != "" {
		t, err := time.ParseInLocation("2006-01-02", v.Date, loc)
		if err != nil {
			return edt{}, err
		}
		e.allDay, e.t, e.date = true, t, v.Date
		return e, nil
	}
	t, err := time.Parse(time.RFC3339, v.DateTime)
	if err != nil {
		if v.TimeZone == "" {
			return edt{}, errMissingTZ
		}
		t, err = time.ParseInLocation("2006-01-02T15:04:05", v.DateTime, loc)
		if err != nil {
			return edt{}, err
		}
	}
	e.t = t
	return e, nil
}

// occurrence is one instance of a recurring series.
type occurrence struct {
	start, end time.Time // instants
	suffix     string    // instance id suffix
	startJSON  obj
	endJSON    obj
}

// series is a parsed recurring event.
type series struct {
	set    *rrule.Set
	start  edt
	dur    time.Duration // timed events
	days   int           // all-day events
	calLoc *time.Location
}

func isRecurrenceLine(l string) bool {
	for _, p := range []string{"RRULE:", "EXRULE:", "RDATE", "EXDATE"} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

// parseSeries builds the recurrence set of a master event.
func parseSeries(rec []string, startRaw, endRaw json.RawMessage, calTZ string) (*series, error) {
	st, err := parseEDT(startRaw, calTZ)
	if err != nil {
		return nil, err
	}
	en, err := parseEDT(endRaw, calTZ)
	if err != nil {
		return nil, err
	}
	calLoc, _ := loadLoc(calTZ)
	sr := &series{start: st, calLoc: calLoc}
	var dtstart time.Time
	loc := st.loc
	if st.allDay {
		y, m, d := st.t.Date()
		dtstart = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		loc = time.UTC
		sr.days = int(en.t.Sub(st.t).Hours()/24 + 0.5)
		if sr.days < 1 {
			sr.days = 1
		}
	} else {
		dtstart = st.t.In(loc)
		sr.dur = en.t.Sub(st.t)
	}
	set := &rrule.Set{}
	for _, line := range rec {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		name, rest, ok := cutName(line)
		if !ok {
			return nil, errors.New("bad recurrence line")
		}
		switch name {
		case "RRULE":
			opt, err := rrule.StrToROptionInLocation(rest, loc)
			if err != nil {
				return nil, err
			}
			opt.Dtstart = dtstart
			r, err := rrule.NewRRule(*opt)
			if err != nil {
				return nil, err
			}
			set.RRule(r)
		case "RDATE", "EXDATE":
			ts, err := rrule.StrToDatesInLoc(rest, loc)
			if err != nil {
				return nil, err
			}
			for _, t := range ts {
				if st.allDay {
					y, m, d := t.Date()
					t = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
				}
				if name == "RDATE" {
					set.RDate(t)
				} else {
					set.ExDate(t)
				}
			}
		case "EXRULE":
			// Deprecated in RFC 5545 and not supported by rrule-go: ignored.
		default:
			return nil, errors.New("unsupported recurrence property " + name)
		}
	}
	set.DTStart(dtstart)
	set.RDate(dtstart) // DTSTART is always the first instance (RFC 5545 §3.8.5.3)
	sr.set = set
	return sr, nil
}

// cutName splits "RRULE:FREQ=…" or "EXDATE;TZID=…:…" into name and the
// part after the first ':' or ';'.
func cutName(line string) (string, string, bool) {
	i := strings.IndexAny(line, ":;")
	if i <= 0 {
		return "", "", false
	}
	return strings.ToUpper(line[:i]), line[i+1:], true
}

// occ builds the occurrence starting at t (from the set's iterator).
func (sr *series) occ(t time.Time) occurrence {
	if sr.start.allDay {
		y, m, d := t.Date()
		start := time.Date(y, m, d, 0, 0, 0, 0, sr.calLoc)
		endD := time.Date(y, m, d+sr.days, 0, 0, 0, 0, time.UTC)
		end := time.Date(endD.Year(), endD.Month(), endD.Day(), 0, 0, 0, 0, sr.calLoc)
		return occurrence{start: start, end: end, suffix: t.Format("20060102"),
			startJSON: obj{{"date", t.Format("2006-01-02")}},
			endJSON:   obj{{"date", endD.Format("2006-01-02")}}}
	}
	t = t.In(sr.start.loc)
	e := t.Add(sr.dur)
	sj := obj{{"dateTime", t.Format(time.RFC3339)}}
	ej := obj{{"dateTime", e.Format(time.RFC3339)}}
	if sr.start.tz != "" {
		sj.add("timeZone", sr.start.tz)
		ej.add("timeZone", sr.start.tz)
	}
	return occurrence{start: t, end: e, suffix: t.UTC().Format("20060102T150405Z"), startJSON: sj, endJSON: ej}
}

// maxInstances bounds one expansion.
const maxInstances = 10000

// each calls f for every occurrence starting before until, in order, until
// f returns false.
func (sr *series) each(until time.Time, f func(occurrence) bool) {
	next := sr.set.Iterator()
	for n := 0; n < maxInstances; n++ {
		t, ok := next()
		if !ok {
			return
		}
		o := sr.occ(t)
		if !o.start.Before(until) {
			return
		}
		if !f(o) {
			return
		}
	}
}

// find returns the occurrence with the given id suffix.
func (sr *series) find(suffix string) (occurrence, bool) {
	var at time.Time
	var err error
	if sr.start.allDay {
		at, err = time.ParseInLocation("20060102", suffix, time.UTC)
	} else {
		at, err = time.Parse("20060102T150405Z", suffix)
	}
	if err != nil {
		return occurrence{}, false
	}
	var found occurrence
	ok := false
	sr.each(at.Add(48*time.Hour), func(o occurrence) bool {
		if o.suffix == suffix {
			found, ok = o, true
			return false
		}
		return true
	})
	return found, ok
}
