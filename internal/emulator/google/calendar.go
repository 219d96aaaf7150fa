package google

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

type calendar struct {
	id, summary, description, timeZone string
	primary                            bool
	seq                                int64
	updated                            time.Time
	deleted                            bool
	events                             map[string]*event
	order                              seqIndex[*event] // events by change position, for events.list
}

type event struct {
	id               string
	fields           map[string]json.RawMessage // client-writable fields
	status           string                     // confirmed, tentative, cancelled
	seq              int64
	created, updated time.Time
	deleted          bool // a deletion tombstone
	sequence         int64
	iCalUID          string
	recurringEventID string
	originalStart    json.RawMessage
}

// readOnlyEventFields are ignored in write bodies (or handled apart).
var readOnlyEventFields = map[string]bool{
	"kind": true, "etag": true, "id": true, "htmlLink": true, "created": true, "updated": true,
	"creator": true, "organizer": true, "iCalUID": true, "recurringEventId": true,
	"originalStartTime": true, "sequence": true, "hangoutLink": true, "status": true, "privateCopy": true,
}

// eventFieldOrder is the order of stored fields in responses.
var eventFieldOrder = []string{"summary", "description", "location", "colorId"}
var eventFieldOrder2 = []string{"start", "end", "endTimeUnspecified", "recurrence"}
var eventFieldOrder3 = []string{"transparency", "visibility"}
var eventFieldOrder4 = []string{"attendees", "guestsCanInviteOthers", "guestsCanModify", "guestsCanSeeOtherGuests",
	"extendedProperties", "reminders", "eventType"}

func (e *event) cancelled() bool { return e.deleted || e.status == "cancelled" }

func (e *event) isMaster() bool {
	_, ok := e.fields["recurrence"]
	return ok && e.recurringEventID == ""
}

func (e *event) recurrence() []string {
	var rec []string
	if raw, ok := e.fields["recurrence"]; ok {
		json.Unmarshal(raw, &rec)
	}
	return rec
}

func eventEtag(seq int64, updated time.Time) string {
	return `"` + strconv.FormatInt(updated.UnixMilli()*1000+seq%1000, 10) + `"`
}

func (e *event) etag() string { return eventEtag(e.seq, e.updated) }

// --- routing -------------------------------------------------------------------

func (s *Server) calendarRoute(method string, segs []string) *route {
	r := func(name string, need scopeNeed, h func(http.ResponseWriter, *http.Request, *user, []string)) *route {
		return &route{api: apiCalendar, name: name, scopes: need, h: h, segs: segs}
	}
	n := len(segs)
	switch {
	case n == 3 && segs[0] == "users" && segs[1] == "me" && segs[2] == "calendarList" && method == "GET":
		return r("calendar.calendarList.list", needCalendarList, s.calendarListList)
	case n == 4 && segs[0] == "users" && segs[1] == "me" && segs[2] == "calendarList" && method == "GET":
		return r("calendar.calendarList.get", needCalendarList, s.calendarListGet)
	case n == 1 && segs[0] == "calendars" && method == "POST":
		return r("calendar.calendars.insert", needCalendarWrite, s.calendarsInsert)
	case n == 2 && segs[0] == "calendars" && method == "GET":
		return r("calendar.calendars.get", needCalendarRead, s.calendarsGet)
	case n == 2 && segs[0] == "calendars" && method == "DELETE":
		return r("calendar.calendars.delete", needCalendarWrite, s.calendarsDelete)
	case n == 2 && segs[0] == "channels" && segs[1] == "stop" && method == "POST":
		return r("calendar.channels.stop", append(append(scopeNeed{}, needEventsRead...), needCalendarList...), s.channelsStop)
	case n == 3 && segs[0] == "calendars" && segs[2] == "events" && method == "GET":
		return r("calendar.events.list", needEventsRead, s.eventsList)
	case n == 3 && segs[0] == "calendars" && segs[2] == "events" && method == "POST":
		return r("calendar.events.insert", needEventsWrite, s.eventsInsert)
	case n == 4 && segs[0] == "calendars" && segs[2] == "events" && segs[3] == "watch" && method == "POST":
		return r("calendar.events.watch", needEventsRead, s.eventsWatch)
	case n == 5 && segs[0] == "calendars" && segs[2] == "events" && segs[4] == "instances" && method == "GET":
		return r("calendar.events.instances", needEventsRead, s.eventsInstances)
	case n == 4 && segs[0] == "calendars" && segs[2] == "events" && method == "GET":
		return r("calendar.events.get", needEventsRead, s.eventsGet)
	case n == 4 && segs[0] == "calendars" && segs[2] == "events" && method == "PATCH":
		return r("calendar.events.patch", needEventsWrite, s.eventsPatch)
	case n == 4 && segs[0] == "calendars" && segs[2] == "events" && method == "PUT":
		return r("calendar.events.update", needEventsWrite, s.eventsUpdate)
	case n == 4 && segs[0] == "calendars" && segs[2] == "events" && method == "DELETE":
		return r("calendar.events.delete", needEventsWrite, s.eventsDelete)
	}
	return nil
}

// calendarOf resolves a calendar id ("primary" is the user's own).
func (s *Server) calendarOf(u *user, id string) *calendar {
	if id == "primary" {
		id = u.email
	}
	c := u.calendars[strings.ToLower(id)]
	if c == nil || c.deleted {
		return nil
	}
	return c
}

// --- calendars and the calendar list ------------------------------------------------

func (s *Server) calendarEtag(c *calendar) string { return eventEtag(c.seq, c.updated) }

func (s *Server) renderCalendar(u *user, c *calendar) obj {
	o := obj{{"kind", "calendar#calendar"}, {"etag", s.calendarEtag(c)}, {"id", c.id}, {"summary", c.summary}}
	if c.description != "" {
		o.add("description", c.description)
	}
	o.add("timeZone", c.timeZone)
	o.add("conferenceProperties", obj{{"allowedConferenceSolutionTypes", []string{"hangoutsMeet"}}})
	return o
}

func (s *Server) renderCalendarListEntry(u *user, c *calendar) obj {
	o := obj{{"kind", "calendar#calendarListEntry"}, {"etag", s.calendarEtag(c)}, {"id", c.id}}
	if c.deleted {
		o.add("deleted", true)
		return o
	}
	o.add("summary", c.summary)
	if c.description != "" {
		o.add("description", c.description)
	}
	o.add("timeZone", c.timeZone)
	o.add("colorId", "14")
	o.add("backgroundColor", "#9fe1e7")
	o.add("foregroundColor", "#000000")
	o.add("selected", true)
	o.add("accessRole", "owner")
	o.add("defaultReminders", []any{})
	if c.primary {
		o.add("notificationSettings", obj{{"notifications", []any{}}})
		o.add("primary", true)
	}
	o.add("conferenceProperties", obj{{"allowedConferenceSolutionTypes", []string{"hangoutsMeet"}}})
	return o
}

func (s *Server) createCalendarLocked(u *user, summary, tz, description string) (*calendar, *calErr) {
	if strings.TrimSpace(summary) == "" {
		return nil, cRequired("Missing title.")
	}
	if tz == "" {
		tz = s.opts.DefaultTimeZone
	}
	if _, err := loadLoc(tz); err != nil {
		return nil, cInvalid("Invalid time zone definition for calendar.")
	}
	s.idSeq++
	id := base32hex(s.idBytes("calendar", s.idSeq))[:26] + "@group.calendar.google.com"
	c := &calendar{id: id, summary: summary, timeZone: tz, description: description, events: map[string]*event{}}
	c.seq, c.updated = s.tick(u)
	u.calendars[id] = c
	u.calOrder = append(u.calOrder, id)
	return c, nil
}

func (s *Server) calendarsInsert(w http.ResponseWriter, r *http.Request, u *user, segs []string) {
	var b struct {
		Summary, TimeZone, Description string
	}
	body, _ := readBody(r, 1<<20)
	if err := json.Unmarshal(body, &b); err != nil {
		cBadRequest("Parse Error").write(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, e := s.createCalendarLocked(u, b.Summary, b.TimeZone, b.Description)
	if e != nil {
		e.write(w)
		return
	}
	writeJSON(w, 200, s.renderCalendar(u, c))
}

func (s *Server) calendarsGet(w http.ResponseWriter, r *http.Request, u *user, segs []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calendarOf(u, segs[1])
	if c == nil {
		cNotFound().write(w)
		return
	}
	writeJSON(w, 200, s.renderCalendar(u, c))
}

func (s *Server) calendarsDelete(w http.ResponseWriter, r *http.Request, u *user, segs []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calendarOf(u, segs[1])
	if c == nil {
		cNotFound().write(w)
		return
	}
	if c.primary {
		cErr(400, "global", "cannotDeletePrimaryCalendar", "Cannot delete primary calendar.").write(w)
		return
	}
	c.deleted = true
	c.seq, c.updated = s.tick(u)
	s.stopChannelsOfLocked(u.email, c.id)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) calendarListGet(w http.ResponseWriter, r *http.Request, u *user, segs []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calendarOf(u, segs[3])
	if c == nil {
		cNotFound().write(w)
		return
	}
	writeJSON(w, 200, s.renderCalendarListEntry(u, c))
}

func (s *Server) calendarListList(w http.ResponseWriter, r *http.Request, u *user, segs []string) {
	q := r.URL.Query()
	maxResults := 100
	if v := q.Get("maxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			cInvalidParam("maxResults").write(w)
			return
		}
		maxResults = min(n, 250)
	}
	showDeleted, _, err := queryBool(q, "showDeleted")
	if err != nil {
		cInvalidParam("showDeleted").write(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var from, snapshot int64
	inc := q.Get("syncToken") != ""
	if inc {
		if q.Get("minAccessRole") != "" {
			cInvalidLoc("Sync token cannot be used together with minAccessRole.", "minAccessRole").write(w)
			return
		}
		st, err := s.decodeCursor(q.Get("syncToken"), "ls")
		if err != nil || st.User != u.email || st.Gen != u.gen {
			cFullSyncRequired().write(w)
			return
		}
		from = st.Pos
	}
	var pc cursor
	paging := q.Get("pageToken") != ""
	if paging {
		pc, err = s.decodeCursor(q.Get("pageToken"), "lp")
		if err != nil || pc.User != u.email || pc.Hash != paramHash(q) {
			cInvalidLoc("Invalid page token value.", "pageToken").write(w)
			return
		}
		snapshot = pc.Pos
	} else {
		snapshot = u.seq
	}
	var cs []*calendar
	for _, id := range u.calOrder {
		c := u.calendars[id]
		if inc {
			if c.seq <= from || c.seq > snapshot {
				continue
			}
		} else if c.deleted && !showDeleted {
			continue
		}
		cs = append(cs, c)
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].seq < cs[j].seq })
	if paging {
		i := sort.Search(len(cs), func(i int) bool { return personKey{pc.C1, pc.C2}.less(personKey{cs[i].seq, cs[i].id}) })
		cs = cs[i:]
	}
	more := len(cs) > maxResults
	if more {
		cs = cs[:maxResults]
	}
	items := []any{}
	for _, c := range cs {
		items = append(items, s.renderCalendarListEntry(u, c))
	}
	resp := obj{{"kind", "calendar#calendarList"}, {"etag", eventEtag(snapshot, u.last)}}
	if more {
		last := cs[len(cs)-1]
		resp.add("nextPageToken", s.encodeCursor(cursor{Kind: "lp", User: u.email, Pos: snapshot, Hash: paramHash(q), C1: last.seq, C2: last.id}))
	} else {
		resp.add("nextSyncToken", s.encodeCursor(cursor{Kind: "ls", User: u.email, Gen: u.gen, Pos: snapshot}))
	}
	resp.add("items", items)
	writeJSON(w, 200, resp)
}

// --- event rendering -------------------------------------------------------------------

func (s *Server) organizerOf(u *user, c *calendar) obj {
	if c.primary {
		return obj{{"email", u.email}, {"self", true}}
	}
	return obj{{"email", c.id}, {"displayName", c.summary}, {"self", true}}
}

func htmlLink(eventID, calID string) string {
	return "https://www.google.com/calendar/event?eid=" + base64.RawURLEncoding.EncodeToString([]byte(eventID+" "+calID))
}

// renderEvent renders a stored event or exception in full (or, when it is
// cancelled, the minimal form Google guarantees).
func (s *Server) renderEvent(u *user, c *calendar, e *event) obj {
	if e.cancelled() {
		o := obj{{"kind", "calendar#event"}, {"etag", e.etag()}, {"id", e.id}, {"status", "cancelled"}}
		if e.recurringEventID != "" {
			o.add("recurringEventId", e.recurringEventID)
			o.add("originalStartTime", e.originalStart)
		}
		return o
	}
	return s.renderFull(u, c, e.id, e.etag(), e.status, e.created, e.updated, e.fields, e.recurringEventID, e.originalStart, e.iCalUID, e.sequence, nil, nil)
}

func (s *Server) renderFull(u *user, c *calendar, id, etag, status string, created, updated time.Time,
	fields map[string]json.RawMessage, recurringID string, origStart json.RawMessage, ical string, sequence int64,
	start, end any) obj {
	o := obj{{"kind", "calendar#event"}, {"etag", etag}, {"id", id}, {"status", status},
		{"htmlLink", htmlLink(id, c.id)}, {"created", rfc3339(created)}, {"updated", rfc3339(updated)}}
	done := map[string]bool{}
	put := func(keys []string) {
		for _, k := range keys {
			done[k] = true
			switch {
			case k == "start" && start != nil:
				o.add(k, start)
			case k == "end" && end != nil:
				o.add(k, end)
			case k == "recurrence" && recurringID != "":
			default:
				if v, ok := fields[k]; ok {
					o.add(k, v)
				}
			}
		}
	}
	put(eventFieldOrder)
	o.add("creator", obj{{"email", u.email}, {"self", true}})
	o.add("organizer", s.organizerOf(u, c))
	put(eventFieldOrder2)
	if recurringID != "" {
		o.add("recurringEventId", recurringID)
		o.add("originalStartTime", origStart)
	}
	put(eventFieldOrder3)
	o.add("iCalUID", ical)
	o.add("sequence", sequence)
	put(eventFieldOrder4)
	if _, ok := fields["reminders"]; !ok {
		o.add("reminders", obj{{"useDefault", true}})
	}
	if _, ok := fields["eventType"]; !ok {
		o.add("eventType", "default")
	}
	var rest []string
	for k := range fields {
		if !done[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		o.add(k, fields[k])
	}
	return o
}

// renderInstance renders a generated (unmodified) instance of a series.
func (s *Server) renderInstance(u *user, c *calendar, m *event, oc occurrence) obj {
	return s.renderFull(u, c, m.id+"_"+oc.suffix, m.etag(), m.status, m.created, m.updated, m.fields,
		m.id, rawJSON(oc.startJSON), m.iCalUID, m.sequence, oc.startJSON, oc.endJSON)
}

func renderInstanceTombstone(m *event, oc occurrence) obj {
	return obj{{"kind", "calendar#event"}, {"etag", m.etag()}, {"id", m.id + "_" + oc.suffix}, {"status", "cancelled"},
		{"recurringEventId", m.id}, {"originalStartTime", oc.startJSON}}
}

// --- validation of written events --------------------------------------------------------

func validEventID(id string) bool {
	if len(id) < 5 || len(id) > 1024 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'v' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// checkTimes validates start/end (and recurrence) of an event's fields.
func checkTimes(fields map[string]json.RawMessage, calTZ string, exception bool) *calErr {
	sr, ok := fields["start"]
	if !ok {
		return cRequired("Missing start time.")
	}
	er, ok := fields["end"]
	if !ok {
		return cRequired("Missing end time.")
	}
	st, err := parseEDT(sr, calTZ)
	if err == errMissingTZ {
		return cRequired("Missing time zone definition for start time.")
	}
	if err != nil {
		return cInvalid("Invalid start time.")
	}
	en, err := parseEDT(er, calTZ)
	if err == errMissingTZ {
		return cRequired("Missing time zone definition for end time.")
	}
	if err != nil {
		return cInvalid("Invalid end time.")
	}
	if st.allDay != en.allDay {
		return cInvalid("Start and end times must either both be date or both be dateTime.")
	}
	if en.t.Before(st.t) || (st.allDay && !en.t.After(st.t)) {
		return cTimeRangeEmpty()
	}
	if raw, ok := fields["recurrence"]; ok && !exception {
		var rec []string
		if err := json.Unmarshal(raw, &rec); err != nil {
			return cInvalid("Invalid recurrence rule.")
		}
		for _, l := range rec {
			if !isRecurrenceLine(strings.TrimSpace(l)) {
				return cInvalid("Invalid recurrence rule.")
			}
		}
		if !st.allDay {
			var v struct {
				TimeZone string `json:"timeZone"`
			}
			json.Unmarshal(sr, &v)
			if v.TimeZone == "" {
				return cRequired("Missing time zone definition for start time.")
			}
		}
		if _, err := parseSeries(rec, sr, er, calTZ); err != nil {
			return cInvalid("Invalid recurrence rule.")
		}
	}
	return nil
}

func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || bytes.Equal(t, []byte("null"))
}

// normalizeEventFields drops read-only fields and marks the attendees that
// are the calendar's owner or organizer.
func (s *Server) normalizeEventFields(u *user, c *calendar, fields map[string]json.RawMessage) *calErr {
	for k, v := range fields {
		if readOnlyEventFields[k] || isNull(v) {
			delete(fields, k)
		}
	}
	if raw, ok := fields["recurrence"]; ok {
		var rec []string
		if json.Unmarshal(raw, &rec) != nil {
			return cInvalid("Invalid recurrence rule.")
		}
		if len(rec) == 0 {
			delete(fields, "recurrence")
		}
	}
	if raw, ok := fields["attendees"]; ok {
		var as []map[string]json.RawMessage
		if err := json.Unmarshal(raw, &as); err != nil {
			return cInvalid("Invalid attendees.")
		}
		if len(as) == 0 {
			delete(fields, "attendees")
		} else {
			org := strings.ToLower(u.email)
			if !c.primary {
				org = c.id
			}
			for _, a := range as {
				email := strings.ToLower(strField(a, "email"))
				if email == "" {
					return cRequired("Missing attendee email.")
				}
				if email == u.email {
					a["self"] = rawJSON(true)
				}
				if email == org {
					a["organizer"] = rawJSON(true)
				}
				if _, ok := a["responseStatus"]; !ok {
					a["responseStatus"] = rawJSON("needsAction")
				}
			}
			fields["attendees"] = rawJSON(as)
		}
	}
	if raw, ok := fields["extendedProperties"]; ok {
		var ep struct {
			Private map[string]string `json:"private"`
			Shared  map[string]string `json:"shared"`
		}
		if err := json.Unmarshal(raw, &ep); err != nil {
			return cInvalid("Invalid extendedProperties.")
		}
		o := obj{}
		if len(ep.Private) > 0 {
			o.add("private", ep.Private)
		}
		if len(ep.Shared) > 0 {
			o.add("shared", ep.Shared)
		}
		if len(o) == 0 {
			delete(fields, "extendedProperties")
		} else {
			fields["extendedProperties"] = rawJSON(o)
		}
	}
	return nil
}

func statusOf(body map[string]json.RawMessage, def string) (string, *calErr) {
	st := strField(body, "status")
	switch st {
	case "":
		return def, nil
	case "confirmed", "tentative", "cancelled":
		return st, nil
	}
	return "", cInvalid("Invalid value for status: " + st)
}

// --- event writes (callers hold s.mu) ------------------------------------------------------

func (s *Server) newEventID(c *calendar) string {
	for {
		s.idSeq++
		id := base32hex(s.idBytes("event", s.idSeq))[:26]
		if _, taken := c.events[id]; !taken {
			return id
		}
	}
}

func (s *Server) insertEventLocked(u *user, c *calendar, body map[string]json.RawMessage) (*event, *calErr) {
	id := strField(body, "id")
	if id != "" {
		if !validEventID(id) {
			return nil, cInvalid("Invalid resource id value.")
		}
		if _, ok := c.events[id]; ok {
			return nil, cDuplicate()
		}
	} else {
		id = s.newEventID(c)
	}
	ical := strField(body, "iCalUID")
	if ical == "" {
		ical = id + "@google.com"
	}
	status, ce := statusOf(body, "confirmed")
	if ce != nil {
		return nil, ce
	}
	var seqNo int64
	if v, ok := body["sequence"]; ok {
		json.Unmarshal(v, &seqNo)
	}
	fields := map[string]json.RawMessage{}
	for k, v := range body {
		fields[k] = v
	}
	if ce := s.normalizeEventFields(u, c, fields); ce != nil {
		return nil, ce
	}
	if ce := checkTimes(fields, c.timeZone, false); ce != nil {
		return nil, ce
	}
	e := &event{id: id, fields: fields, status: status, iCalUID: ical, sequence: seqNo}
	s.touchEvent(u, c, e)
	e.created = e.updated
	c.events[id] = e
	s.notifyCalendarLocked(u.email, c.id)
	return e, nil
}

// eventForWrite finds the event an id names, materialising an exception
// when the id names an unmodified instance of a series (not stored yet:
// the caller stores it on success).
func (s *Server) eventForWrite(c *calendar, id string) (e *event, fresh bool, ce *calErr) {
	if e, ok := c.events[id]; ok {
		return e, false, nil
	}
	base, suffix, ok := strings.Cut(id, "_")
	if !ok {
		return nil, false, cNotFound()
	}
	m, ok := c.events[base]
	if !ok || m.deleted || !m.isMaster() {
		return nil, false, cNotFound()
	}
	sr, err := parseSeries(m.recurrence(), m.fields["start"], m.fields["end"], c.timeZone)
	if err != nil {
		return nil, false, cNotFound()
	}
	oc, ok := sr.find(suffix)
	if !ok {
		return nil, false, cNotFound()
	}
	fields := map[string]json.RawMessage{}
	for k, v := range m.fields {
		if k != "recurrence" {
			fields[k] = v
		}
	}
	fields["start"] = rawJSON(oc.startJSON)
	fields["end"] = rawJSON(oc.endJSON)
	ex := &event{id: id, fields: fields, status: m.status, iCalUID: m.iCalUID, sequence: m.sequence,
		recurringEventID: m.id, originalStart: rawJSON(oc.startJSON), created: m.created,
		seq: m.seq, updated: m.updated}
	return ex, true, nil
}

// mergePatch applies Google's patch semantics to one field value: objects
// merge recursively, arrays and scalars replace, null clears.
func mergePatch(old, patch json.RawMessage) json.RawMessage {
	var po map[string]json.RawMessage
	if json.Unmarshal(patch, &po) != nil || po == nil {
		return patch
	}
	var oo map[string]json.RawMessage
	if json.Unmarshal(old, &oo) != nil || oo == nil {
		oo = map[string]json.RawMessage{}
	}
	for k, v := range po {
		if isNull(v) {
			delete(oo, k)
			continue
		}
		if ov, ok := oo[k]; ok {
			oo[k] = mergePatch(ov, v)
		} else {
			oo[k] = v
		}
	}
	return rawJSON(oo)
}

// writeEventLocked patches (replace=false) or updates (replace=true) an
// event; ifMatch is the If-Match header or "".
func (s *Server) writeEventLocked(u *user, c *calendar, id string, body map[string]json.RawMessage, replace bool, ifMatch string) (*event, *calErr) {
	e, fresh, ce := s.eventForWrite(c, id)
	if ce != nil {
		return nil, ce
	}
	if ifMatch != "" && ifMatch != "*" && ifMatch != e.etag() {
		return nil, cConditionNotMet()
	}
	newStatus, ce := statusOf(body, "")
	if ce != nil {
		return nil, ce
	}
	if e.deleted && (newStatus == "" || newStatus == "cancelled") {
		return nil, cDeleted()
	}
	fields := map[string]json.RawMessage{}
	if !replace {
		for k, v := range e.fields {
			fields[k] = v
		}
	}
	for k, v := range body {
		if readOnlyEventFields[k] {
			continue
		}
		switch {
		case isNull(v):
			delete(fields, k)
		case replace || k == "start" || k == "end":
			fields[k] = v
		default:
			if old, ok := fields[k]; ok {
				fields[k] = mergePatch(old, v)
			} else {
				fields[k] = v
			}
		}
	}
	exception := e.recurringEventID != ""
	if exception {
		delete(fields, "recurrence")
	}
	if ce := s.normalizeEventFields(u, c, fields); ce != nil {
		return nil, ce
	}
	status := e.status
	if newStatus != "" {
		status = newStatus
	} else if replace {
		status = "confirmed"
	}
	if status != "cancelled" || !exception {
		if ce := checkTimes(fields, c.timeZone, exception); ce != nil {
			return nil, ce
		}
	}
	seqNo := e.sequence
	if !bytes.Equal(e.fields["start"], fields["start"]) || !bytes.Equal(e.fields["end"], fields["end"]) ||
		!bytes.Equal(e.fields["recurrence"], fields["recurrence"]) {
		seqNo++
	}
	if v, ok := body["sequence"]; ok {
		var n int64
		if json.Unmarshal(v, &n) == nil && n > seqNo {
			seqNo = n
		}
	}
	e.fields, e.status, e.sequence, e.deleted = fields, status, seqNo, false
	s.touchEvent(u, c, e)
	if fresh {
		c.events[e.id] = e
	}
	s.notifyCalendarLocked(u.email, c.id)
	return e, nil
}

func (s *Server) deleteEventLocked(u *user, c *calendar, id, ifMatch string) *calErr {
	e, fresh, ce := s.eventForWrite(c, id)
	if ce != nil {
		return ce
	}
	if e.cancelled() {
		return cDeleted()
	}
	if ifMatch != "" && ifMatch != "*" && ifMatch != e.etag() {
		return cConditionNotMet()
	}
	if e.recurringEventID != "" {
		e.status = "cancelled"
	} else {
		e.deleted = true
		if e.isMaster() {
			for _, x := range c.events {
				if x.recurringEventID == e.id && !x.deleted {
					x.deleted = true
					s.touchEvent(u, c, x)
				}
			}
		}
	}
	s.touchEvent(u, c, e)
	if fresh {
		c.events[e.id] = e
	}
	s.notifyCalendarLocked(u.email, c.id)
	return nil
}

// --- event handlers ------------------------------------------------------------------------------

func decodeEventBody(r *http.Request) (map[string]json.RawMessage, *calErr) {
	body, err := readBody(r, 4<<20)
	if err != nil {
		return nil, cBadRequest(err.Error())
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return nil, cBadRequest("Parse Error")
	}
	return m, nil
}

func (s *Server) eventsInsert(w http.ResponseWriter, r *http.Request, u *user, segs []string) {
	body, ce := decodeEventBody(r)
	if ce != nil {
		ce.write(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calendarOf(u, segs[1])
	if c == nil {
		cNotFound().write(w)
		return
	}
	e, ce := s.insertEventLocked(u, c, body)
	if ce != nil {
		ce.write(w)
		return
	}
	writeJSON(w, 200, s.renderEvent(u, c, e))
}

func (s *Server) eventsGet(w http.ResponseWriter, r *http.Request, u *user, segs []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calendarOf(u, segs[1])
	if c == nil {
		cNotFound().write(w)
		return
	}
	var out obj
	var etag string
	if e, ok := c.events[segs[3]]; ok {
		out, etag = s.renderEvent(u, c, e), e.etag()
	} else {
		e, _, ce := s.eventForWrite(c, segs[3])
		if ce != nil {
			ce.write(w)
			return
		}
		m := c.events[e.recurringEventID]
		sr, _ := parseSeries(m.recurrence(), m.fields["start"], m.fields["end"], c.timeZone)
		oc, _ := sr.find(strings.TrimPrefix(e.id, m.id+"_"))
		out, etag = s.renderInstance(u, c, m, oc), m.etag()
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && (inm == etag || inm == "*") {
		w.Header().Set("ETag", etag)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("ETag", etag)
	writeJSON(w, 200, out)
}

func (s *Server) eventsPatch(w http.ResponseWriter, r *http.Request, u *user, segs []string) {
	s.eventsWrite(w, r, u, segs, false)
}

func (s *Server) eventsUpdate(w http.ResponseWriter, r *http.Request, u *user, segs []string) {
	s.eventsWrite(w, r, u, segs, true)
}

func (s *Server) eventsWrite(w http.ResponseWriter, r *http.Request, u *user, segs []string, replace bool) {
	body, ce := decodeEventBody(r)
	if ce != nil {
		ce.write(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calendarOf(u, segs[1])
	if c == nil {
		cNotFound().write(w)
		return
	}
	e, ce := s.writeEventLocked(u, c, segs[3], body, replace, r.Header.Get("If-Match"))
	if ce != nil {
		ce.write(w)
		return
	}
	writeJSON(w, 200, s.renderEvent(u, c, e))
}

func (s *Server) eventsDelete(w http.ResponseWriter, r *http.Request, u *user, segs []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calendarOf(u, segs[1])
	if c == nil {
		cNotFound().write(w)
		return
	}
	if ce := s.deleteEventLocked(u, c, segs[3], r.Header.Get("If-Match")); ce != nil {
		ce.write(w)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) eventsInstances(w http.ResponseWriter, r *http.Request, u *user, segs []string) {
	q := r.URL.Query()
	maxResults := 250
	if v := q.Get("maxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			cInvalidParam("maxResults").write(w)
			return
		}
		maxResults = min(n, 2500)
	}
	showDeleted, _, _ := queryBool(q, "showDeleted")
	tmin, tmax, ce := parseWindow(q.Get("timeMin"), q.Get("timeMax"))
	if ce != nil {
		ce.write(w)
		return
	}
	offset := 0
	if pt := q.Get("pageToken"); pt != "" {
		n, err := strconv.Atoi(pt)
		if err != nil || n < 0 {
			cInvalidLoc("Invalid page token value.", "pageToken").write(w)
			return
		}
		offset = n
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calendarOf(u, segs[1])
	if c == nil {
		cNotFound().write(w)
		return
	}
	m, ok := c.events[segs[3]]
	if !ok || m.deleted || !m.isMaster() {
		cNotFound().write(w)
		return
	}
	until := tmax
	if until.IsZero() {
		until = s.now().Add(s.opts.RecurrenceHorizon)
	}
	sr, err := parseSeries(m.recurrence(), m.fields["start"], m.fields["end"], c.timeZone)
	if err != nil {
		cNotFound().write(w)
		return
	}
	var items []any
	sr.each(until, func(oc occurrence) bool {
		if !tmin.IsZero() && !oc.end.After(tmin) {
			return true
		}
		if ex, ok := c.events[m.id+"_"+oc.suffix]; ok {
			if !ex.cancelled() || showDeleted {
				items = append(items, s.renderEvent(u, c, ex))
			}
			return true
		}
		items = append(items, s.renderInstance(u, c, m, oc))
		return true
	})
	resp := obj{{"kind", "calendar#events"}, {"etag", m.etag()}, {"summary", c.summary}, {"updated", rfc3339(m.updated)},
		{"timeZone", c.timeZone}, {"accessRole", "owner"}, {"defaultReminders", []any{}}}
	if offset > len(items) {
		offset = len(items)
	}
	items = items[offset:]
	if len(items) > maxResults {
		items = items[:maxResults]
		resp.add("nextPageToken", strconv.Itoa(offset+maxResults))
	}
	if items == nil {
		items = []any{}
	}
	resp.add("items", items)
	writeJSON(w, 200, resp)
}

func parseWindow(minS, maxS string) (tmin, tmax time.Time, ce *calErr) {
	var err error
	if minS != "" {
		if tmin, err = time.Parse(time.RFC3339, minS); err != nil {
			return tmin, tmax, cInvalidParam("timeMin")
		}
	}
	if maxS != "" {
		if tmax, err = time.Parse(time.RFC3339, maxS); err != nil {
			return tmin, tmax, cInvalidParam("timeMax")
		}
	}
	if !tmin.IsZero() && !tmax.IsZero() && !tmin.Before(tmax) {
		return tmin, tmax, cTimeRangeEmpty()
	}
	return tmin, tmax, nil
}
