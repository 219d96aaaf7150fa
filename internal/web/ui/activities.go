package ui

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/i18n"
	"github.com/tandem-crm/tandem/internal/store"
)

func (u *UI) activityRoutes(mux *http.ServeMux) {
	pages := u.activityPages()
	mux.HandleFunc("GET /activities", u.authed(u.activityList))
	mux.HandleFunc("GET /activities/new", u.authed(pages.handleNew))
	mux.HandleFunc("POST /activities", u.authed(pages.handleCreate))
	mux.HandleFunc("GET /activities/{id}", u.authed(u.activityCard))
	mux.HandleFunc("GET /activities/{id}/edit", u.authed(pages.handleEdit))
	mux.HandleFunc("POST /activities/{id}", u.authed(pages.handleUpdate))
	mux.HandleFunc("POST /activities/{id}/delete", u.authed(pages.handleDelete))
}

func (u *UI) activityPages() *recordPages[crm.Activity, activityForm, activityFormData] {
	return &recordPages[crm.Activity, activityForm, activityFormData]{u: u, kind: "activities", created: "flash.activity_created",
		get: u.st.GetActivity, create: u.st.CreateActivity, update: u.st.UpdateActivity, remove: u.st.DeleteActivity,
		ref:   func(a *crm.Activity) (string, string) { return a.ID, a.Title },
		blank: newActivityForm, formOf: formFromActivity,
		parse: func(r *http.Request, c *Ctx) activityForm {
			f := activityFormFromRequest(r)
			u.fillParticipants(r.Context(), c, f.Participants)
			return f
		},
		record: activityFromForm, formData: u.activityFormData,
		// The date inputs of all-day items share the errors of the times.
		errorAlias: map[string]string{"start": "start_date", "end": "end_date"},
	}
}

// Layouts of <input type=date> and <input type=datetime-local>.
const (
	inputDateLayout     = "2006-01-02"
	inputDateTimeLayout = "2006-01-02T15:04"
)

// zoneOptions lists the time zones for the activity form: the common ones
// (see zoneChoices), the activity's current zone and the user's own.
func zoneOptions(userTZ, current string) []Option {
	out := zoneChoices(current)
	if userTZ != "" && !slices.ContainsFunc(out, func(o Option) bool { return o.Value == userTZ }) {
		if _, err := time.LoadLocation(userTZ); err == nil {
			out = append(out, Option{Value: userTZ, Label: userTZ})
		}
	}
	return out
}

// ---------- list ----------

// activityRow is an activity as lists show it.
type activityRow struct {
	ID, Title, Type, Status, Priority, Owner string
	RRule, TimeZone                          string
	Start, End                               *time.Time
	LastDay                                  *time.Time // all-day: the last day, inclusive
	AllDay, Recurring                        bool
}

func activityRows(as []crm.Activity, names map[string]string) []activityRow {
	out := make([]activityRow, 0, len(as))
	for _, a := range as {
		row := activityRow{ID: a.ID, Title: a.Title, Type: a.Type, Status: a.Status, Priority: a.Priority,
			Owner: names[a.OwnerID], Start: a.Start, End: a.End, AllDay: a.AllDay, Recurring: a.IsSeries(),
			RRule: a.RRule, TimeZone: a.TimeZone}
		if a.AllDay && a.End != nil {
			last := a.End.AddDate(0, 0, -1)
			if a.Start != nil && last.Before(*a.Start) {
				last = *a.Start
			}
			row.LastDay = &last
		}
		out = append(out, row)
	}
	return out
}

type activityListData struct {
	Activities []activityRow
	Next       string
	Q          string
	Type       string
	Status     string
	GroupID    string
	ContactID  string
	AccountID  string
	Types      []Option
	Statuses   []Option
	Groups     []crm.Group
	Filtered   bool
}

func (u *UI) activityList(w http.ResponseWriter, r *http.Request, c *Ctx) {
	ctx := r.Context()
	q := r.URL.Query()
	text, page := listQuery(q)
	f := store.ActivityFilter{Q: text, Type: q.Get("type"), Status: q.Get("status"), GroupID: q.Get("group"),
		ContactID: q.Get("contact"), AccountID: q.Get("account"), Page: page}
	as, next, err := u.st.ListActivities(ctx, c.V, f)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	_, names, err := u.users(ctx)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	d := activityListData{Activities: activityRows(as, names), Next: next, Q: f.Q, Type: f.Type, Status: f.Status,
		GroupID: f.GroupID, ContactID: f.ContactID, AccountID: f.AccountID,
		Types:    enumOptions("activity.type", crm.ActivityTypes),
		Statuses: enumOptions("activity.status", crm.ActivityStatuses),
		Filtered: f.Q != "" || f.Type != "" || f.Status != "" || f.GroupID != "" || f.ContactID != "" || f.AccountID != ""}
	if d.Groups, err = u.st.ListGroups(ctx, c.V, crm.GroupActivities); err != nil {
		u.fail(w, r, c, err)
		return
	}
	u.render(w, http.StatusOK, "activities/list", c.Page(w, r, "activities", d))
}

// ---------- form ----------

type participantRow struct {
	Email, ContactID, Name, ResponseStatus string
}

// activityForm is an activity as the form shows it: dates and times as the
// inputs hold them, in the activity's time zone.
type activityForm struct {
	ID, Type, Title, Description, Location                    string
	Version                                                   int64
	AllDay, ShowInCalendar                                    bool
	StartDate, EndDate, Start, End                            string
	TimeZone, Status, Priority, OwnerID, ContactID, AccountID string
	Participants                                              []participantRow
	Repeat, Interval, Until, Count, RRule, RRuleShown         string
	// ActualStart and ActualEnd are a task's actual dates (datetime-local);
	// empty leaves them to the status. HasActual says the form has these
	// inputs: a form without them leaves the stored dates as they are.
	ActualStart, ActualEnd string
	HasActual              bool
}

type activityFormData struct {
	IsNew      bool
	Form       activityForm
	Types      []Option
	Statuses   []Option
	Priorities []Option
	Responses  []Option
	Repeats    []Option
	Zones      []Option
	Owners     []Option
	Contacts   []Option
	Accounts   []Option
	Cancel     string
}

// Bounds of the recurrence picker's numbers.
const (
	maxInterval = 1000
	maxCount    = 10000
)

var repeatFreqs = map[string]string{"daily": "DAILY", "weekly": "WEEKLY", "monthly": "MONTHLY", "yearly": "YEARLY"}

// pickerFromRRule fills the simple recurrence picker from a rule; rules it
// cannot express are "custom".
func pickerFromRRule(rule string, tz *time.Location) (repeat, interval, until, count string) {
	rule = strings.TrimPrefix(strings.TrimSpace(rule), "RRULE:")
	if rule == "" {
		return "none", "1", "", ""
	}
	interval = "1"
	for _, part := range strings.Split(rule, ";") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return "custom", "1", "", ""
		}
		switch strings.ToUpper(k) {
		case "FREQ":
			for name, f := range repeatFreqs {
				if strings.EqualFold(v, f) {
					repeat = name
				}
			}
			if repeat == "" {
				return "custom", "1", "", ""
			}
		case "INTERVAL":
			interval = v
		case "COUNT":
			count = v
		case "UNTIL":
			t, ok := parseRRuleTime(v, tz)
			if !ok {
				return "custom", "1", "", ""
			}
			until = t.Format(inputDateLayout)
		default:
			return "custom", "1", "", ""
		}
	}
	if repeat == "" {
		return "custom", "1", "", ""
	}
	return repeat, interval, until, count
}

// parseRRuleTime reads an UNTIL value: a date, a UTC time or a local time
// in tz; the result is in tz.
func parseRRuleTime(v string, tz *time.Location) (time.Time, bool) {
	for _, l := range []string{"20060102T150405Z", "20060102T150405", "20060102"} {
		if len(v) != len(l) {
			continue
		}
		loc := tz
		if strings.HasSuffix(l, "Z") {
			loc = time.UTC
		}
		if t, err := time.ParseInLocation(l, v, loc); err == nil {
			return t.In(tz), true
		}
	}
	return time.Time{}, false
}

// rrule builds the rule from the form: the advanced text when the user
// chose "custom" or edited it, else the picker.
func (f activityForm) rrule(tz *time.Location, fe crm.FieldErrors) string {
	raw := strings.TrimPrefix(strings.TrimSpace(f.RRule), "RRULE:")
	if f.Repeat == "custom" || raw != strings.TrimPrefix(strings.TrimSpace(f.RRuleShown), "RRULE:") {
		return raw
	}
	freq := repeatFreqs[f.Repeat]
	if freq == "" {
		return ""
	}
	parts := []string{"FREQ=" + freq}
	if s := strings.TrimSpace(f.Interval); s != "" {
		n, err := strconv.Atoi(s)
		switch {
		case err != nil || n < 1 || n > maxInterval:
			fe.Add("interval", i18n.WithCount("activity.error.whole_number", maxInterval))
		case n > 1:
			parts = append(parts, "INTERVAL="+strconv.Itoa(n))
		}
	}
	count := strings.TrimSpace(f.Count)
	until := strings.TrimSpace(f.Until)
	if count != "" && until != "" {
		fe.Add("count", "activity.error.count_and_until")
	}
	if count != "" {
		n, err := strconv.Atoi(count)
		if err != nil || n < 1 || n > maxCount {
			fe.Add("count", i18n.WithCount("activity.error.whole_number", maxCount))
		} else {
			parts = append(parts, "COUNT="+strconv.Itoa(n))
		}
	}
	if until != "" {
		d, err := time.Parse(inputDateLayout, until)
		switch {
		case err != nil:
			fe.Add("until", crm.ErrDate)
		case f.AllDay:
			parts = append(parts, "UNTIL="+d.Format("20060102"))
		default:
			end := time.Date(d.Year(), d.Month(), d.Day(), 23, 59, 59, 0, tz)
			parts = append(parts, "UNTIL="+end.UTC().Format("20060102T150405Z"))
		}
	}
	return strings.Join(parts, ";")
}

func activityFormFromRequest(r *http.Request) activityForm {
	pf := r.PostForm
	f := activityForm{
		ID:   r.PathValue("id"),
		Type: pf.Get("type"), Title: pf.Get("title"), Description: pf.Get("description"), Location: pf.Get("location"),
		Version: formVersion(r), AllDay: isOn(pf.Get("all_day")), ShowInCalendar: isOn(pf.Get("show_in_calendar")),
		StartDate: pf.Get("start_date"), EndDate: pf.Get("end_date"), Start: pf.Get("start"), End: pf.Get("end"),
		TimeZone: pf.Get("time_zone"), Status: pf.Get("status"), Priority: pf.Get("priority"), OwnerID: pf.Get("owner_id"),
		ContactID: pf.Get("contact_id"), AccountID: pf.Get("account_id"),
		Repeat: pf.Get("repeat"), Interval: pf.Get("interval"), Until: pf.Get("until"), Count: pf.Get("count"),
		RRule: pf.Get("rrule"), RRuleShown: pf.Get("rrule_shown"),
		ActualStart: pf.Get("actual_start"), ActualEnd: pf.Get("actual_end"),
		HasActual: pf.Has("actual_start") || pf.Has("actual_end"),
	}
	for _, row := range formRows(pf, "participants") {
		p := participantRow{Email: strings.TrimSpace(row["email"]), ContactID: row["contact_id"], Name: row["name"],
			ResponseStatus: row["response_status"]}
		if p.Email == "" && p.ContactID == "" {
			continue
		}
		f.Participants = append(f.Participants, p)
	}
	return f
}

// parseInputTime reads a date or datetime-local input in loc.
func parseInputTime(s string, loc *time.Location) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, l := range []string{inputDateTimeLayout, "2006-01-02T15:04:05", inputDateLayout} {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// activity converts the form into a record; unparsable inputs are reported
// in fe. old, when set, supplies what the form does not edit.
func (f activityForm) activity(old *crm.Activity, fe crm.FieldErrors) *crm.Activity {
	a := &crm.Activity{}
	if old != nil {
		*a = *old
	}
	a.ID, a.Type, a.Title, a.Description, a.Location = f.ID, f.Type, f.Title, f.Description, f.Location
	a.AllDay, a.ShowInCalendar, a.TimeZone = f.AllDay, f.ShowInCalendar, strings.TrimSpace(f.TimeZone)
	a.Status, a.Priority, a.OwnerID, a.ContactID, a.AccountID = f.Status, f.Priority, f.OwnerID, f.ContactID, f.AccountID
	a.Start, a.End = nil, nil
	tz, err := time.LoadLocation(a.TimeZone)
	if err != nil || a.TimeZone == "" {
		tz = time.UTC
	}
	if f.AllDay {
		startIn, endIn := f.StartDate, f.EndDate
		if strings.TrimSpace(startIn) == "" && len(f.Start) >= 10 {
			startIn = f.Start[:10]
		}
		if strings.TrimSpace(endIn) == "" && len(f.End) >= 10 {
			endIn = f.End[:10]
		}
		if s := strings.TrimSpace(startIn); s != "" {
			if t, err := time.Parse(inputDateLayout, s); err == nil {
				a.Start = &t
			} else {
				fe.Add("start", crm.ErrDate)
			}
		}
		if s := strings.TrimSpace(endIn); s != "" {
			if t, err := time.Parse(inputDateLayout, s); err == nil {
				t = t.AddDate(0, 0, 1) // the form shows the last day; the record keeps the day after
				a.End = &t
			} else {
				fe.Add("end", crm.ErrDate)
			}
		}
	} else {
		startIn, endIn := f.Start, f.End
		if strings.TrimSpace(startIn) == "" {
			startIn = f.StartDate
		}
		if strings.TrimSpace(endIn) == "" {
			endIn = f.EndDate
		}
		if s := strings.TrimSpace(startIn); s != "" {
			if t, ok := parseInputTime(s, tz); ok {
				t = t.UTC()
				a.Start = &t
			} else {
				fe.Add("start", crm.ErrDate)
			}
		}
		if s := strings.TrimSpace(endIn); s != "" {
			if t, ok := parseInputTime(s, tz); ok {
				t = t.UTC()
				a.End = &t
			} else {
				fe.Add("end", crm.ErrDate)
			}
		}
	}
	if f.HasActual {
		var oldStart, oldEnd *time.Time
		if old != nil {
			oldStart, oldEnd = old.ActualStart, old.ActualEnd
		}
		a.ActualStart = actualTime("actual_start", f.ActualStart, oldStart, tz, fe)
		a.ActualEnd = actualTime("actual_end", f.ActualEnd, oldEnd, tz, fe)
	}
	// A series' changed occurrences (Overrides) and extra dates (RDates)
	// are not on the form: they stay as they are, as far as the rule and
	// start still make them.
	a.RRule = f.rrule(tz, fe)
	if !a.IsSeries() {
		a.ExDates = nil
	}
	a.Participants = []crm.Participant{}
	for _, p := range f.Participants {
		a.Participants = append(a.Participants, crm.Participant{Email: p.Email, ContactID: p.ContactID, Name: p.Name,
			ResponseStatus: p.ResponseStatus})
	}
	a.Tags, a.Access = nil, nil // not on this form: left as they are
	return a
}

// actualTime reads an actual-date input in tz: empty is nil (the status
// decides), and the value the form was filled with keeps the stored time
// to the second, which the input cannot show.
func actualTime(field, in string, old *time.Time, tz *time.Location, fe crm.FieldErrors) *time.Time {
	in = strings.TrimSpace(in)
	if in == "" {
		return nil
	}
	if old != nil && old.In(tz).Format(inputDateTimeLayout) == in {
		return old
	}
	t, ok := parseInputTime(in, tz)
	if !ok {
		fe.Add(field, crm.ErrDate)
		return nil
	}
	t = t.UTC()
	return &t
}

func formFromActivity(a *crm.Activity) activityForm {
	f := activityForm{ID: a.ID, Type: a.Type, Title: a.Title, Description: a.Description, Location: a.Location,
		Version: a.Version, AllDay: a.AllDay, ShowInCalendar: a.ShowInCalendar, TimeZone: a.TimeZone, Status: a.Status,
		Priority: a.Priority, OwnerID: a.OwnerID, ContactID: a.ContactID, AccountID: a.AccountID,
		RRule: a.RRule, RRuleShown: a.RRule}
	tz, err := time.LoadLocation(a.TimeZone)
	if err != nil {
		tz = time.UTC
	}
	if a.AllDay {
		if a.Start != nil {
			f.StartDate = a.Start.UTC().Format(inputDateLayout)
			f.Start = f.StartDate + "T09:00"
		}
		if a.End != nil {
			last := a.End.UTC().AddDate(0, 0, -1)
			if a.Start != nil && last.Before(*a.Start) {
				last = a.Start.UTC()
			}
			f.EndDate = last.Format(inputDateLayout)
			f.End = f.EndDate + "T10:00"
		}
	} else {
		if a.Start != nil {
			f.Start = a.Start.In(tz).Format(inputDateTimeLayout)
			f.StartDate = f.Start[:10]
		}
		if a.End != nil {
			f.End = a.End.In(tz).Format(inputDateTimeLayout)
			f.EndDate = f.End[:10]
		}
	}
	f.HasActual = a.Type == "task" || a.ActualStart != nil || a.ActualEnd != nil
	if a.ActualStart != nil {
		f.ActualStart = a.ActualStart.In(tz).Format(inputDateTimeLayout)
	}
	if a.ActualEnd != nil {
		f.ActualEnd = a.ActualEnd.In(tz).Format(inputDateTimeLayout)
	}
	f.Repeat, f.Interval, f.Until, f.Count = pickerFromRRule(a.RRule, tz)
	for _, p := range a.Participants {
		f.Participants = append(f.Participants, participantRow{Email: p.Email, ContactID: p.ContactID, Name: p.Name,
			ResponseStatus: p.ResponseStatus})
	}
	return f
}

func (u *UI) activityFormData(ctx context.Context, c *Ctx, f activityForm, isNew bool) (activityFormData, error) {
	d := activityFormData{IsNew: isNew, Form: f,
		Types:      enumOptions("activity.type", crm.ActivityTypes),
		Statuses:   enumOptions("activity.status", crm.ActivityStatuses),
		Priorities: enumOptions("activity.priority", crm.Priorities),
		Responses:  enumOptions("activity.response", crm.ResponseStatuses),
		Repeats:    enumOptions("activity.recurrence", []string{"none", "daily", "weekly", "monthly", "yearly", "custom"}),
		Zones:      zoneOptions(c.V.TZ, f.TimeZone),
		Cancel:     "/activities",
	}
	if !isNew {
		d.Cancel = "/activities/" + f.ID
	}
	if d.Form.Interval == "" {
		d.Form.Interval = "1"
	}
	if len(d.Form.Participants) == 0 { // one row to fill in, also without JavaScript
		d.Form.Participants = []participantRow{{ResponseStatus: "needs_action"}}
	}
	us, _, err := u.users(ctx)
	if err != nil {
		return d, err
	}
	d.Owners = ownerOptions(us, f.OwnerID)
	keep := []string{f.ContactID}
	for _, p := range f.Participants {
		keep = append(keep, p.ContactID)
	}
	if d.Contacts, err = u.contactOptions(ctx, c.V, keep...); err != nil {
		return d, err
	}
	if d.Accounts, err = u.accountOptions(ctx, c.V, f.AccountID, ""); err != nil {
		return d, err
	}
	return d, nil
}

// newActivityForm is the form of a new activity; links from a contact, an
// account or a calendar day preset what they know.
func newActivityForm(r *http.Request, c *Ctx) activityForm {
	q := r.URL.Query()
	f := activityForm{Type: "task", Status: "not_started", Priority: "normal", OwnerID: c.V.UserID,
		TimeZone: c.Loc.String(), ContactID: q.Get("contact_id"), AccountID: q.Get("account_id"),
		Repeat: "none", Interval: "1", ShowInCalendar: isOn(q.Get("show_in_calendar"))}
	if t := q.Get("type"); slices.Contains(crm.ActivityTypes, t) {
		f.Type = t
	}
	f.HasActual = f.Type == "task"
	if d, err := time.ParseInLocation(inputDateLayout, q.Get("date"), c.Loc); err == nil {
		start := time.Date(d.Year(), d.Month(), d.Day(), 9, 0, 0, 0, c.Loc)
		f.Start, f.End = start.Format(inputDateTimeLayout), start.Add(time.Hour).Format(inputDateTimeLayout)
		f.StartDate, f.EndDate = f.Start[:10], f.End[:10]
	}
	return f
}

// fillParticipants gives a participant picked from the contacts the
// contact's address and name where the form left them empty.
func (u *UI) fillParticipants(ctx context.Context, c *Ctx, ps []participantRow) {
	for i := range ps {
		p := &ps[i]
		if p.ContactID == "" || (p.Email != "" && p.Name != "") {
			continue
		}
		if x, err := u.st.GetContact(ctx, c.V, p.ContactID); err == nil {
			if p.Email == "" {
				p.Email = x.PrimaryEmail()
			}
			if p.Name == "" {
				p.Name = x.Name
			}
		}
	}
}

// activityFromForm converts the form; when some inputs cannot be read it
// reports them together with whatever else is wrong, so the user fixes
// everything in one round.
func activityFromForm(f activityForm, old *crm.Activity) (*crm.Activity, error) {
	fe := crm.FieldErrors{}
	a := f.activity(old, fe)
	return a, formFailure(fe, a)
}

// ---------- card ----------

type participantView struct {
	Email, Name, ContactID, ContactName, ResponseStatus string
}

type activityCardData struct {
	A            *crm.Activity
	Row          activityRow
	Owner        string
	Author       string
	Organizer    string
	ContactName  string
	AccountName  string
	Participants []participantView
	ZoneDiffers  bool
	LocalStart   string // start and end in the activity's own zone, when it differs from the viewer's
	LocalEnd     string
	Changes      []occurrenceChange // a series' changed occurrences
	Access       accessView
	Journal      []journalRow
}

// occurrenceChange is one changed occurrence of a series as the card lists
// it: where it was and, as far as they differ, where it is now and what it
// is called. Times show in the viewer's zone; all-day ones as dates.
type occurrenceChange struct {
	From       time.Time // the original start
	Start, End time.Time
	LastDay    time.Time // all-day: the last day, inclusive
	Moved      bool
	SameDay    bool // timed: ends on the day it starts, so the end shows as a time
	Title      string
	Location   string
	// Described says only the description differs.
	Described bool
}

func occurrenceChanges(a *crm.Activity, loc *time.Location) []occurrenceChange {
	var out []occurrenceChange
	for _, o := range a.Overrides {
		gen := a.Generated(o.RecurrenceID)
		ch := occurrenceChange{From: o.RecurrenceID, Start: o.Start, End: o.End,
			Moved: !o.Start.Equal(gen.Start) || !o.End.Equal(gen.End)}
		if a.AllDay {
			ch.LastDay = o.End.AddDate(0, 0, -1)
			if ch.LastDay.Before(o.Start) {
				ch.LastDay = o.Start
			}
		} else {
			y1, m1, d1 := o.Start.In(loc).Date()
			y2, m2, d2 := o.End.In(loc).Date()
			ch.SameDay = y1 == y2 && m1 == m2 && d1 == d2
		}
		if o.Title != a.Title {
			ch.Title = o.Title
		}
		if o.Location != a.Location {
			ch.Location = o.Location
		}
		ch.Described = !ch.Moved && ch.Title == "" && ch.Location == "" && o.Description != a.Description
		out = append(out, ch)
	}
	return out
}

func (u *UI) activityCard(w http.ResponseWriter, r *http.Request, c *Ctx) {
	ctx := r.Context()
	a, err := u.st.GetActivity(ctx, c.V, r.PathValue("id"))
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	_, names, err := u.users(ctx)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	d := activityCardData{A: a, Row: activityRows([]crm.Activity{*a}, names)[0], Owner: names[a.OwnerID],
		Author: names[a.AuthorID], Organizer: names[a.OrganizerID], Access: u.accessView(ctx, c, "/activities/"+a.ID, a.Access)}
	if d.Organizer == "" {
		d.Organizer = a.OrganizerEmail
	}
	if a.ContactID != "" {
		if x, err := u.st.GetContact(ctx, c.V, a.ContactID); err == nil {
			d.ContactName = x.Name
		}
	}
	if a.AccountID != "" {
		if x, err := u.st.GetAccount(ctx, c.V, a.AccountID); err == nil {
			d.AccountName = x.Name
		}
	}
	contactNames := map[string]string{}
	for _, p := range a.Participants {
		pv := participantView{Email: p.Email, Name: p.Name, ContactID: p.ContactID, ResponseStatus: p.ResponseStatus}
		if p.ContactID != "" {
			n, ok := contactNames[p.ContactID]
			if !ok && len(contactNames) < 100 {
				if x, err := u.st.GetContact(ctx, c.V, p.ContactID); err == nil {
					n = x.Name
				}
				contactNames[p.ContactID] = n
			}
			pv.ContactName = n
			if n == "" {
				pv.ContactID = "" // not visible to this viewer: no link
			}
		}
		d.Participants = append(d.Participants, pv)
	}
	if !a.AllDay && a.TimeZone != "" && a.TimeZone != c.Loc.String() {
		if tz, err := time.LoadLocation(a.TimeZone); err == nil {
			d.ZoneDiffers = true
			if a.Start != nil {
				d.LocalStart = c.Lang.FormatDateTime(a.Start.In(tz))
			}
			if a.End != nil {
				d.LocalEnd = c.Lang.FormatDateTime(a.End.In(tz))
			}
		}
	}
	d.Changes = occurrenceChanges(a, c.Loc)
	d.Journal = u.journalRows(ctx, c.Lang, a.ID)
	u.render(w, http.StatusOK, "activities/card", c.Page(w, r, "activities", d))
}
