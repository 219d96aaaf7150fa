package google

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// APIError is the error of a direct mutation helper: the status and
// message the API would have answered.
type APIError struct {
	Code    int
	Message string
}

func (e *APIError) Error() string { return fmt.Sprintf("emulator: %d %s", e.Code, e.Message) }

func fromPeople(e *peopleErr) error {
	if e == nil {
		return nil
	}
	return &APIError{Code: e.code, Message: e.message}
}

func fromCal(e *calErr) error {
	if e == nil {
		return nil
	}
	return &APIError{Code: e.code, Message: e.message}
}

// toFields turns a helper's argument (a map, a struct such as people.Person
// or calendar.Event, json.RawMessage or []byte) into top-level JSON fields.
func toFields(v any) (map[string]json.RawMessage, error) {
	var b []byte
	switch x := v.(type) {
	case json.RawMessage:
		b = x
	case []byte:
		b = x
	case string:
		b = []byte(x)
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			return nil, err
		}
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	if m == nil {
		m = map[string]json.RawMessage{}
	}
	return m, nil
}

func toMap(o any) map[string]any {
	b, _ := json.Marshal(o)
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}

// --- People ------------------------------------------------------------------

// CreateContact creates a contact as the user would in Google Contacts
// (same rules and change tracking as people.createContact) and returns its
// resource name.
func (s *Server) CreateContact(email string, person any) (string, error) {
	m, err := toFields(person)
	if err != nil {
		return "", err
	}
	for k := range m {
		if !personFields[k] && !outputOnlyPersonFields[k] {
			return "", &APIError{400, "unknown person field " + k}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(email)
	if err != nil {
		return "", err
	}
	p, e := s.createPersonLocked(u, m)
	if e != nil {
		return "", fromPeople(e)
	}
	return "people/" + p.id, nil
}

// UpdateContact edits a contact as the user would in Google: the named
// fields (default: every writable field present in person) are replaced
// wholesale. No etag is needed; the contact's etag changes.
func (s *Server) UpdateContact(email, resourceName string, person any, fields ...string) error {
	m, err := toFields(person)
	if err != nil {
		return err
	}
	if len(fields) == 0 {
		for k := range m {
			if writablePersonFields[k] {
				fields = append(fields, k)
			}
		}
		sort.Strings(fields)
	}
	for _, f := range fields {
		if !writablePersonFields[f] {
			return &APIError{400, "not a writable person field: " + f}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(email)
	if err != nil {
		return err
	}
	p := s.livePerson(u, resourceName)
	if p == nil {
		return &APIError{404, "Requested entity was not found."}
	}
	m["etag"] = rawJSON(s.personEtag(p))
	apply, e := s.prepareUpdate(u, p, m, fields)
	if e != nil {
		return fromPeople(e)
	}
	apply()
	return nil
}

// DeleteContact deletes a contact; incremental syncs report it deleted.
func (s *Server) DeleteContact(email, resourceName string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(email)
	if err != nil {
		return err
	}
	p := s.livePerson(u, resourceName)
	if p == nil {
		return &APIError{404, "Requested entity was not found."}
	}
	s.deletePersonLocked(u, p)
	return nil
}

// People returns the user's live contacts with every field, oldest first,
// as the JSON people.get would return (decoded into maps).
func (s *Server) People(email string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(email)
	if err != nil {
		return nil
	}
	var ps []*person
	for _, p := range u.persons {
		if !p.deleted {
			ps = append(ps, p)
		}
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].createdSeq < ps[j].createdSeq })
	out := make([]map[string]any, len(ps))
	for i, p := range ps {
		out[i] = toMap(s.renderPerson(u, p, nil))
	}
	return out
}

// InGroup reports whether a contact, as Person or People return it, is a
// member of the contact group with resource name group.
func InGroup(p map[string]any, group string) bool {
	ms, _ := p["memberships"].([]any)
	for _, m := range ms {
		cg, _ := m.(map[string]any)["contactGroupMembership"].(map[string]any)
		if cg["contactGroupResourceName"] == group {
			return true
		}
	}
	return false
}

// Person returns one live contact, as People does.
func (s *Server) Person(email, resourceName string) (map[string]any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(email)
	if err != nil {
		return nil, false
	}
	p := s.livePerson(u, resourceName)
	if p == nil {
		return nil, false
	}
	return toMap(s.renderPerson(u, p, nil)), true
}

// CreateContactGroup creates a user contact group and returns its resource
// name ("contactGroups/…").
func (s *Server) CreateContactGroup(email, name string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(email)
	if err != nil {
		return "", err
	}
	g, e := s.createGroupLocked(u, name, nil)
	if e != nil {
		return "", fromPeople(e)
	}
	return "contactGroups/" + g.id, nil
}

// DeleteContactGroup deletes a user contact group (and its contacts when
// deleteContacts).
func (s *Server) DeleteContactGroup(email, groupResourceName string, deleteContacts bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(email)
	if err != nil {
		return err
	}
	g := s.liveGroup(u, strings.TrimPrefix(groupResourceName, "contactGroups/"))
	if g == nil {
		return &APIError{404, "Requested entity was not found."}
	}
	if g.system {
		return &APIError{400, "Cannot delete a system contact group."}
	}
	s.deleteGroupLocked(u, g, deleteContacts)
	return nil
}

// ModifyGroupMembers adds and removes contacts (resource names) to and from
// a group, as contactGroups.members.modify does.
func (s *Server) ModifyGroupMembers(email, groupResourceName string, add, remove []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(email)
	if err != nil {
		return err
	}
	g := s.liveGroup(u, strings.TrimPrefix(groupResourceName, "contactGroups/"))
	if g == nil {
		return &APIError{404, "Requested entity was not found."}
	}
	nf, cr, e := s.modifyMembersLocked(u, g, add, remove)
	if e != nil {
		return fromPeople(e)
	}
	if len(nf) > 0 || len(cr) > 0 {
		return &APIError{400, fmt.Sprintf("not found: %v; cannot remove last group: %v", nf, cr)}
	}
	return nil
}

// ContactGroups returns the user's live contact groups with member names.
func (s *Server) ContactGroups(email string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(email)
	if err != nil {
		return nil
	}
	var gs []*group
	for _, g := range u.groups {
		if !g.deleted {
			gs = append(gs, g)
		}
	}
	sort.Slice(gs, func(i, j int) bool { return gs[i].seq < gs[j].seq })
	all := map[string]bool{"clientData": true, "groupType": true, "memberCount": true, "metadata": true, "name": true}
	out := make([]map[string]any, len(gs))
	for i, g := range gs {
		out[i] = toMap(s.renderGroup(u, g, all, 1<<30))
	}
	return out
}

// --- Calendar ----------------------------------------------------------------

// CreateCalendar adds a secondary calendar to the user's calendar list and
// returns its id.
func (s *Server) CreateCalendar(email, summary, timeZone string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(email)
	if err != nil {
		return "", err
	}
	c, e := s.createCalendarLocked(u, summary, timeZone, "")
	if e != nil {
		return "", fromCal(e)
	}
	return c.id, nil
}

func (s *Server) calLocked(email, calendarID string) (*user, *calendar, error) {
	u, err := s.userLocked(email)
	if err != nil {
		return nil, nil, err
	}
	c := s.calendarOf(u, calendarID)
	if c == nil {
		return nil, nil, &APIError{404, "Not Found"}
	}
	return u, c, nil
}

// InsertEvent creates an event as the user would in Google Calendar (same
// rules as events.insert; push channels are notified) and returns its id.
func (s *Server) InsertEvent(email, calendarID string, event any) (string, error) {
	m, err := toFields(event)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, c, err := s.calLocked(email, calendarID)
	if err != nil {
		return "", err
	}
	e, ce := s.insertEventLocked(u, c, m)
	if ce != nil {
		return "", fromCal(ce)
	}
	return e.id, nil
}

// PatchEvent edits an event (or one instance of a series, by instance id,
// which makes an exception) with events.patch semantics.
func (s *Server) PatchEvent(email, calendarID, eventID string, patch any) error {
	m, err := toFields(patch)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, c, err := s.calLocked(email, calendarID)
	if err != nil {
		return err
	}
	_, ce := s.writeEventLocked(u, c, eventID, m, false, "")
	return fromCal(ce)
}

// DeleteEvent deletes an event (a series with its exceptions, or one
// instance, which becomes a cancelled exception).
func (s *Server) DeleteEvent(email, calendarID, eventID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, c, err := s.calLocked(email, calendarID)
	if err != nil {
		return err
	}
	return fromCal(s.deleteEventLocked(u, c, eventID, ""))
}

// Events returns the stored events of a calendar (single events, series
// masters and their exceptions, cancelled exceptions included, deleted
// events not), oldest first, as events.get returns them.
func (s *Server) Events(email, calendarID string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, c, err := s.calLocked(email, calendarID)
	if err != nil {
		return nil
	}
	var es []*event
	for _, e := range c.events {
		if !e.deleted {
			es = append(es, e)
		}
	}
	sort.Slice(es, func(i, j int) bool {
		if !es[i].created.Equal(es[j].created) {
			return es[i].created.Before(es[j].created)
		}
		return es[i].id < es[j].id
	})
	out := make([]map[string]any, len(es))
	for i, e := range es {
		out[i] = toMap(s.renderEvent(u, c, e))
	}
	return out
}

// Event returns one stored event (a deleted one in its cancelled form).
func (s *Server) Event(email, calendarID, eventID string) (map[string]any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, c, err := s.calLocked(email, calendarID)
	if err != nil {
		return nil, false
	}
	e, ok := c.events[eventID]
	if !ok {
		return nil, false
	}
	return toMap(s.renderEvent(u, c, e)), true
}

// --- demo data -----------------------------------------------------------------

// DemoUsers are the accounts SeedDemo creates.
var DemoUsers = []struct{ Email, Name string }{
	{"alice@example.com", "Alice Anders"},
	{"bob@example.com", "Bob Brandt"},
}

// SeedDemo adds the demo users (alice@example.com, bob@example.com), each
// with a few contacts, a user contact group and events around now (one
// weekly series among them). The content is the same on every run.
func (s *Server) SeedDemo() error {
	berlin, err := loadLoc("Europe/Berlin")
	if err != nil {
		return err
	}
	now := s.now().In(berlin)
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, berlin)
	contacts := map[string][][4]string{
		"alice@example.com": {
			{"Carla", "Castillo", "carla@castillo.example", "Castillo Logistics"},
			{"Dmitri", "Dorn", "dmitri.dorn@example.net", "Dorn & Partner"},
			{"Erin", "Eckert", "erin@eckert.example", ""},
		},
		"bob@example.com": {
			{"Farah", "Fischer", "farah@fischer.example", "Fischer GmbH"},
			{"Gus", "Gerber", "gus.gerber@example.org", ""},
		},
	}
	for i, du := range DemoUsers {
		s.AddUser(du.Email, du.Name)
		grp, err := s.CreateContactGroup(du.Email, "Customers")
		if err != nil {
			return err
		}
		for j, c := range contacts[du.Email] {
			p := map[string]any{
				"names":          []any{map[string]any{"givenName": c[0], "familyName": c[1]}},
				"emailAddresses": []any{map[string]any{"value": c[2], "type": "work"}},
				"phoneNumbers":   []any{map[string]any{"value": fmt.Sprintf("+49 30 %07d", 1000+i*100+j), "type": "work"}},
			}
			if c[3] != "" {
				p["organizations"] = []any{map[string]any{"name": c[3], "title": "Purchasing"}}
			}
			if j == 0 {
				p["memberships"] = []any{map[string]any{"contactGroupMembership": map[string]any{"contactGroupResourceName": grp}}}
			}
			if _, err := s.CreateContact(du.Email, p); err != nil {
				return err
			}
		}
		tz := "Europe/Berlin"
		first := contacts[du.Email][0]
		evs := []map[string]any{
			{"summary": "Call with " + first[0] + " " + first[1],
				"start":     map[string]any{"dateTime": day.AddDate(0, 0, 1).Add(9 * time.Hour).Format(time.RFC3339), "timeZone": tz},
				"end":       map[string]any{"dateTime": day.AddDate(0, 0, 1).Add(9*time.Hour + 30*time.Minute).Format(time.RFC3339), "timeZone": tz},
				"attendees": []any{map[string]any{"email": du.Email}, map[string]any{"email": first[2]}}},
			{"summary": "Team sync", "location": "Room 2",
				"start":      map[string]any{"dateTime": day.AddDate(0, 0, -7).Add(10 * time.Hour).Format(time.RFC3339), "timeZone": tz},
				"end":        map[string]any{"dateTime": day.AddDate(0, 0, -7).Add(11 * time.Hour).Format(time.RFC3339), "timeZone": tz},
				"recurrence": []any{"RRULE:FREQ=WEEKLY;COUNT=10"}},
			{"summary": "Trade fair",
				"start": map[string]any{"date": day.AddDate(0, 0, 14).Format("2006-01-02")},
				"end":   map[string]any{"date": day.AddDate(0, 0, 16).Format("2006-01-02")}},
		}
		for _, e := range evs {
			if _, err := s.InsertEvent(du.Email, "primary", e); err != nil {
				return err
			}
		}
	}
	return nil
}
