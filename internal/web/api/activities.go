package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/store"
)

type participantJSON struct {
	ContactID      *string `json:"contact_id"`
	Email          string  `json:"email"`
	Name           string  `json:"name"`
	ResponseStatus string  `json:"response_status"`
}

type activityIn struct {
	Type           *string            `json:"type"`
	Title          *string            `json:"title"`
	Description    *string            `json:"description"`
	Location       *string            `json:"location"`
	Start          *string            `json:"start"`
	End            *string            `json:"end"`
	AllDay         *bool              `json:"all_day"`
	TimeZone       *string            `json:"time_zone"`
	ShowInCalendar *bool              `json:"show_in_calendar"`
	Status         *string            `json:"status"`
	Priority       *string            `json:"priority"`
	OwnerID        *string            `json:"owner_id"`
	OrganizerID    *string            `json:"organizer_id"`
	OrganizerEmail *string            `json:"organizer_email"`
	AccountID      *string            `json:"account_id"`
	ContactID      *string            `json:"contact_id"`
	Participants   *[]participantJSON `json:"participants"`
	RRule          *string            `json:"rrule"`
	RDates         *[]string          `json:"rdates"`
	ExDates        *[]string          `json:"exdates"`
	Overrides      *[]occurrenceIn    `json:"overrides"`
	ActualStart    clearable          `json:"actual_start"`
	ActualEnd      clearable          `json:"actual_end"`
	Tags           *[]tagIn           `json:"tags"`
	Access         *[]grantJSON       `json:"access"`
}

// occurrenceIn is one changed occurrence of a series as a client sends it:
// which occurrence (its original start) and what differs. What it leaves
// out is the generated occurrence's.
type occurrenceIn struct {
	RecurrenceID *string `json:"recurrence_id"`
	Start        *string `json:"start"`
	End          *string `json:"end"`
	Title        *string `json:"title"`
	Description  *string `json:"description"`
	Location     *string `json:"location"`
}

// clearable is a string field in which null, unlike an absent field,
// clears the value: present says the field was sent, value is nil for null.
type clearable struct {
	present bool
	value   *string
}

func (c *clearable) UnmarshalJSON(b []byte) error {
	c.present, c.value = true, nil
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err // a *json.UnmarshalTypeError; the decoder names the field
	}
	c.value = &s
	return nil
}

// time reads a sent value: nil for null or "".
func (c clearable) time(field string, fe crm.FieldErrors) *time.Time {
	if c.value == nil {
		return nil
	}
	return parseTime(field, *c.value, fe)
}

// apply copies present fields onto act; date problems go to fe.
func (in *activityIn) apply(act *crm.Activity, fe crm.FieldErrors) {
	set(&act.Type, in.Type)
	set(&act.Title, in.Title)
	set(&act.Description, in.Description)
	set(&act.Location, in.Location)
	if in.Start != nil {
		act.Start = parseTime("start", *in.Start, fe)
	}
	if in.End != nil {
		act.End = parseTime("end", *in.End, fe)
	}
	set(&act.AllDay, in.AllDay)
	set(&act.TimeZone, in.TimeZone)
	set(&act.ShowInCalendar, in.ShowInCalendar)
	set(&act.Status, in.Status)
	set(&act.Priority, in.Priority)
	set(&act.OwnerID, in.OwnerID)
	set(&act.OrganizerID, in.OrganizerID)
	set(&act.OrganizerEmail, in.OrganizerEmail)
	set(&act.AccountID, in.AccountID)
	set(&act.ContactID, in.ContactID)
	set(&act.RRule, in.RRule)
	if in.Participants != nil {
		act.Participants = make([]crm.Participant, 0, len(*in.Participants))
		for _, p := range *in.Participants {
			cp := crm.Participant{Email: p.Email, Name: p.Name, ResponseStatus: p.ResponseStatus}
			if p.ContactID != nil {
				cp.ContactID = *p.ContactID
			}
			act.Participants = append(act.Participants, cp)
		}
	}
	if in.RDates != nil {
		act.RDates = nil
		for i, s := range *in.RDates {
			if t := parseTime(fmt.Sprintf("rdates[%d]", i), s, fe); t != nil {
				act.RDates = append(act.RDates, *t)
			}
		}
	}
	if in.ExDates != nil {
		act.ExDates = nil
		for i, s := range *in.ExDates {
			if t := parseTime(fmt.Sprintf("exdates[%d]", i), s, fe); t != nil {
				act.ExDates = append(act.ExDates, *t)
			}
		}
	}
	if in.ActualStart.present {
		act.ActualStart = in.ActualStart.time("actual_start", fe)
	}
	if in.ActualEnd.present {
		act.ActualEnd = in.ActualEnd.time("actual_end", fe)
	}
	act.Tags, act.Access = nil, nil
	if in.Tags != nil {
		act.Tags = tagRefs(in.Tags)
	}
	if in.Access != nil {
		act.Access = grantsIn(in.Access)
	}
	if in.Overrides != nil {
		// Last: the defaults of an override are the series' new values.
		act.Overrides = overridesIn(*in.Overrides, act, fe)
		// The store drops overrides that name no occurrence; a client that
		// sent one hears about it instead.
		act.CheckOverrides(fe)
	}
}

// overridesIn reads the overrides of act (its other fields already
// applied), in the order sent so that errors name the input's index. An
// override's start and end default to the generated occurrence's (a new
// start alone keeps the occurrence's length), its texts to the series'.
func overridesIn(in []occurrenceIn, act *crm.Activity, fe crm.FieldErrors) []crm.Occurrence {
	series := *act
	series.Overrides = nil
	series.Normalize()
	out := make([]crm.Occurrence, 0, len(in))
	for i, o := range in {
		f := fmt.Sprintf("overrides[%d].", i)
		var rid time.Time
		if o.RecurrenceID == nil || *o.RecurrenceID == "" {
			fe.Add(f+"recurrence_id", crm.ErrRequired)
		} else if t := parseTime(f+"recurrence_id", *o.RecurrenceID, fe); t != nil {
			rid = *t
			if series.AllDay {
				rid = time.Date(rid.Year(), rid.Month(), rid.Day(), 0, 0, 0, 0, time.UTC)
			}
		}
		occ := series.Generated(rid)
		if o.Start != nil && *o.Start != "" {
			if t := parseTime(f+"start", *o.Start, fe); t != nil {
				occ.Start, occ.End = *t, t.Add(series.Duration())
			}
		}
		if o.End != nil && *o.End != "" {
			if t := parseTime(f+"end", *o.End, fe); t != nil {
				occ.End = *t
			}
		}
		set(&occ.Title, o.Title)
		set(&occ.Description, o.Description)
		set(&occ.Location, o.Location)
		out = append(out, occ)
	}
	// The record rules, checked here on the input order (the store sorts
	// and would name the sorted index).
	check := series
	check.Overrides = out
	var ve *crm.ValidationError
	if errors.As(check.Validate(), &ve) {
		for k, v := range ve.Fields {
			item, _, _ := strings.Cut(k, ".")
			// An override without a readable recurrence_id has that error only.
			if strings.HasPrefix(k, "overrides[") && fe[item+".recurrence_id"] == "" {
				fe.Add(k, v)
			}
		}
	}
	return out
}

type activityOut struct {
	ID             string            `json:"id"`
	Type           string            `json:"type"`
	Title          string            `json:"title"`
	Description    string            `json:"description"`
	Location       string            `json:"location"`
	Start          *string           `json:"start"`
	End            *string           `json:"end"`
	AllDay         bool              `json:"all_day"`
	TimeZone       string            `json:"time_zone"`
	ShowInCalendar bool              `json:"show_in_calendar"`
	Status         string            `json:"status"`
	Priority       string            `json:"priority"`
	OwnerID        string            `json:"owner_id"`
	AuthorID       string            `json:"author_id"`
	OrganizerID    *string           `json:"organizer_id"`
	OrganizerEmail string            `json:"organizer_email"`
	AccountID      *string           `json:"account_id"`
	ContactID      *string           `json:"contact_id"`
	Participants   []participantJSON `json:"participants"`
	RRule          string            `json:"rrule"`
	RDates         []string          `json:"rdates"`
	ExDates        []string          `json:"exdates"`
	Overrides      []occurrenceOut   `json:"overrides"`
	ActualStart    *string           `json:"actual_start"`
	ActualEnd      *string           `json:"actual_end"`
	Tags           []tagOut          `json:"tags"`
	Access         []grantJSON       `json:"access"`
	CreatedAt      time.Time         `json:"created_at"`
	UpdatedAt      time.Time         `json:"updated_at"`
	Version        int64             `json:"version"`
}

type occurrenceOut struct {
	RecurrenceID string `json:"recurrence_id"`
	Start        string `json:"start"`
	End          string `json:"end"`
	Title        string `json:"title"`
	Description  string `json:"description"`
	Location     string `json:"location"`
}

func activityJSON(a *crm.Activity) activityOut {
	// All-day items are dates; say so on the wire.
	when := formatTime
	if a.AllDay {
		when = func(t *time.Time) *string {
			if t == nil {
				return nil
			}
			s := t.UTC().Format("2006-01-02")
			return &s
		}
	}
	o := activityOut{ID: a.ID, Type: a.Type, Title: a.Title, Description: a.Description, Location: a.Location,
		Start: when(a.Start), End: when(a.End), AllDay: a.AllDay, TimeZone: a.TimeZone,
		ShowInCalendar: a.ShowInCalendar, Status: a.Status, Priority: a.Priority, OwnerID: a.OwnerID, AuthorID: a.AuthorID,
		OrganizerID: optional(a.OrganizerID), OrganizerEmail: a.OrganizerEmail, AccountID: optional(a.AccountID),
		ContactID: optional(a.ContactID), Participants: []participantJSON{}, RRule: a.RRule, RDates: []string{}, ExDates: []string{},
		Overrides: []occurrenceOut{}, ActualStart: when(a.ActualStart), ActualEnd: when(a.ActualEnd),
		Tags: tagsOut(a.Tags), Access: grantsOut(a.Access), CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt, Version: a.Version}
	for _, ov := range a.Overrides {
		o.Overrides = append(o.Overrides, occurrenceOut{RecurrenceID: *when(&ov.RecurrenceID), Start: *when(&ov.Start),
			End: *when(&ov.End), Title: ov.Title, Description: ov.Description, Location: ov.Location})
	}
	for _, p := range a.Participants {
		o.Participants = append(o.Participants, participantJSON{ContactID: optional(p.ContactID), Email: p.Email, Name: p.Name,
			ResponseStatus: p.ResponseStatus})
	}
	for _, t := range a.RDates {
		o.RDates = append(o.RDates, t.UTC().Format(time.RFC3339))
	}
	for _, t := range a.ExDates {
		o.ExDates = append(o.ExDates, t.UTC().Format(time.RFC3339))
	}
	return o
}

func (a *API) listActivities(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	p, err := pageParams(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	fe := crm.FieldErrors{}
	f := store.ActivityFilter{Q: q.Get("q"), Type: q.Get("type"), Status: q.Get("status"), OwnerID: q.Get("owner_id"),
		ContactID: q.Get("contact_id"), AccountID: q.Get("account_id"), TagID: q.Get("tag_id"), GroupID: q.Get("group_id"), Page: p}
	if t := parseTime("from", q.Get("from"), fe); t != nil {
		f.From = *t
	}
	if t := parseTime("to", q.Get("to"), fe); t != nil {
		f.To = *t
	}
	if s := q.Get("show_in_calendar"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			fe.Add("show_in_calendar", "error.wrong_type")
		}
		f.ShowInCalendar = &b
	}
	if err := fe.Err(); err != nil {
		a.fail(w, r, err)
		return
	}
	items, next, err := a.st.ListActivities(r.Context(), v, f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writePage(w, items, next, activityJSON)
}

func (a *API) createActivity(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	createRecord(a, a.activities(), w, r, v, func(in *activityIn, act *crm.Activity, fe crm.FieldErrors) { in.apply(act, fe) })
}

func (a *API) getActivity(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	a.activities().serveGet(a, w, r, v)
}

func (a *API) patchActivity(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	patch(a, a.activities(), w, r, v, func(in *activityIn, act *crm.Activity, fe crm.FieldErrors) { in.apply(act, fe) })
}

func (a *API) deleteActivity(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	a.activities().serveDelete(a, w, r, v)
}
