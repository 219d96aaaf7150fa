package api

import (
	"fmt"
	"net/http"
	"strconv"
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
	ExDates        *[]string          `json:"exdates"`
	Tags           *[]tagIn           `json:"tags"`
	Access         *[]grantJSON       `json:"access"`
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
	if in.ExDates != nil {
		act.ExDates = nil
		for i, s := range *in.ExDates {
			if t := parseTime(fmt.Sprintf("exdates[%d]", i), s, fe); t != nil {
				act.ExDates = append(act.ExDates, *t)
			}
		}
	}
	act.Tags, act.Access = nil, nil
	if in.Tags != nil {
		act.Tags = tagRefs(in.Tags)
	}
	if in.Access != nil {
		act.Access = grantsIn(in.Access)
	}
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
	ExDates        []string          `json:"exdates"`
	Tags           []tagOut          `json:"tags"`
	Access         []grantJSON       `json:"access"`
	CreatedAt      time.Time         `json:"created_at"`
	UpdatedAt      time.Time         `json:"updated_at"`
	Version        int64             `json:"version"`
}

func activityJSON(a *crm.Activity) activityOut {
	o := activityOut{ID: a.ID, Type: a.Type, Title: a.Title, Description: a.Description, Location: a.Location,
		Start: formatTime(a.Start), End: formatTime(a.End), AllDay: a.AllDay, TimeZone: a.TimeZone,
		ShowInCalendar: a.ShowInCalendar, Status: a.Status, Priority: a.Priority, OwnerID: a.OwnerID, AuthorID: a.AuthorID,
		OrganizerID: optional(a.OrganizerID), OrganizerEmail: a.OrganizerEmail, AccountID: optional(a.AccountID),
		ContactID: optional(a.ContactID), Participants: []participantJSON{}, RRule: a.RRule, ExDates: []string{},
		Tags: tagsOut(a.Tags), Access: grantsOut(a.Access), CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt, Version: a.Version}
	if a.AllDay {
		// All-day items are dates; say so on the wire.
		if a.Start != nil {
			s := a.Start.Format("2006-01-02")
			o.Start = &s
		}
		if a.End != nil {
			e := a.End.Format("2006-01-02")
			o.End = &e
		}
	}
	for _, p := range a.Participants {
		o.Participants = append(o.Participants, participantJSON{ContactID: optional(p.ContactID), Email: p.Email, Name: p.Name,
			ResponseStatus: p.ResponseStatus})
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
	out := make([]activityOut, len(items))
	for i := range items {
		out[i] = activityJSON(&items[i])
	}
	writeJSON(w, http.StatusOK, page(out, next))
}

func (a *API) createActivity(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	var in activityIn
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	act := &crm.Activity{}
	fe := crm.FieldErrors{}
	in.apply(act, fe)
	if err := fe.Err(); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.st.CreateActivity(r.Context(), v, act); err != nil {
		a.fail(w, r, err)
		return
	}
	a.activities().respond(a, w, r, v, act.ID, http.StatusCreated)
}

func (a *API) getActivity(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	a.activities().respond(a, w, r, v, r.PathValue("id"), http.StatusOK)
}

func (a *API) patchActivity(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	patch(a, a.activities(), w, r, v, func(in *activityIn, act *crm.Activity, fe crm.FieldErrors) { in.apply(act, fe) })
}

func (a *API) deleteActivity(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	if err := a.st.DeleteActivity(r.Context(), v, r.PathValue("id")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
