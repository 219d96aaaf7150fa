package crm

import (
	"fmt"
	"strings"
	"time"

	"github.com/teambition/rrule-go"
)

// Enumerations of an activity. Order matters for the UI lists.
var (
	ActivityTypes    = []string{"task", "meeting", "call", "note"}
	ActivityStatuses = []string{"not_started", "in_progress", "ready_for_review", "completed", "cancelled"}
	Priorities       = []string{"low", "normal", "high"}
	ResponseStatuses = []string{"needs_action", "accepted", "declined", "tentative"}
)

// Activity is a task, meeting, call or note.
type Activity struct {
	ID             string
	Type           string
	Title          string
	Description    string
	Location       string
	Start          *time.Time // UTC instant; for all-day, midnight UTC of the date
	End            *time.Time // exclusive for all-day (the day after the last day)
	AllDay         bool
	TimeZone       string // IANA name the times were entered in
	ShowInCalendar bool
	Status         string
	Priority       string
	OwnerID        string // responsible user
	AuthorID       string
	OrganizerID    string // a user, when the organizer is one of ours
	OrganizerEmail string
	AccountID      string
	ContactID      string
	Participants   []Participant
	RRule          string      // RFC 5545 RRULE value without the "RRULE:" prefix
	ExDates        []time.Time // exceptions: original start times removed from the series
	Tags           []TagRef
	Access         []Grant
	CreatedAt      time.Time
	UpdatedAt      time.Time
	Version        int64
}

// Participant is an attendee of an activity.
type Participant struct {
	ContactID      string
	Email          string
	Name           string
	ResponseStatus string
}

// Normalize trims and fills defaults.
func (a *Activity) Normalize() {
	a.Title = strings.TrimSpace(a.Title)
	a.Location = strings.TrimSpace(a.Location)
	a.TimeZone = strings.TrimSpace(a.TimeZone)
	a.RRule = strings.TrimPrefix(strings.TrimSpace(a.RRule), "RRULE:")
	if a.Type == "" {
		a.Type = "task"
	}
	if a.Status == "" {
		a.Status = "not_started"
	}
	if a.Priority == "" {
		a.Priority = "normal"
	}
	if a.TimeZone == "" {
		a.TimeZone = "UTC"
	}
	if a.AllDay {
		// An all-day item is a date range; keep it on UTC midnights so that it
		// shows on the same calendar day in every time zone.
		a.Start = truncDay(a.Start)
		a.End = truncDay(a.End)
		if a.Start != nil && (a.End == nil || !a.End.After(*a.Start)) {
			e := a.Start.AddDate(0, 0, 1)
			a.End = &e
		}
	}
	for i := range a.Participants {
		p := &a.Participants[i]
		p.Email = strings.TrimSpace(p.Email)
		p.Name = strings.TrimSpace(p.Name)
		if p.ResponseStatus == "" {
			p.ResponseStatus = "needs_action"
		}
	}
	a.OrganizerEmail = strings.TrimSpace(a.OrganizerEmail)
}

func truncDay(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	d := time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC)
	return &d
}

// Validate reports every field problem. Call Normalize first.
func (a *Activity) Validate() error {
	fe := FieldErrors{}
	checkLen(fe, "title", a.Title, MaxName, true)
	checkLen(fe, "description", a.Description, MaxText, false)
	checkLen(fe, "location", a.Location, MaxName, false)
	checkEnum(fe, "type", a.Type, ActivityTypes)
	checkEnum(fe, "status", a.Status, ActivityStatuses)
	checkEnum(fe, "priority", a.Priority, Priorities)
	if _, err := time.LoadLocation(a.TimeZone); err != nil || len(a.TimeZone) > MaxShort {
		fe.Add("time_zone", ErrTimeZone)
	}
	if a.Start != nil && a.End != nil && a.End.Before(*a.Start) {
		fe.Add("end", ErrEndBefore)
	}
	if a.ShowInCalendar && a.Start == nil {
		fe.Add("start", ErrRequired)
	}
	if a.Start != nil && (a.Start.Year() < 1900 || a.Start.Year() > 2200) {
		fe.Add("start", ErrDate)
	}
	if a.End != nil && (a.End.Year() < 1900 || a.End.Year() > 2200) {
		fe.Add("end", ErrDate)
	}
	if a.RRule != "" {
		if a.Start == nil {
			fe.Add("start", ErrRequired)
		}
		if err := ValidRRule(a.RRule); err != nil || len(a.RRule) > 500 {
			fe.Add("rrule", ErrRRule)
		}
	} else if len(a.ExDates) > 0 {
		fe.Add("exdates", ErrInvalid)
	}
	ValidateGrants(fe, a.Access)
	if len(a.ExDates) > 1000 {
		fe.Add("exdates", ErrTooMany)
	}
	if a.OrganizerEmail != "" && !ValidEmail(a.OrganizerEmail) {
		fe.Add("organizer_email", ErrEmail)
	}
	if len(a.Participants) > 500 {
		fe.Add("participants", ErrTooMany)
	}
	seen := map[string]bool{}
	for i, p := range a.Participants {
		f := fmt.Sprintf("participants[%d]", i)
		if p.Email == "" && p.ContactID == "" {
			fe.Add(f+".email", ErrRequired)
		}
		if p.Email != "" && !ValidEmail(p.Email) {
			fe.Add(f+".email", ErrEmail)
		}
		if p.Email != "" {
			k := Fold(p.Email)
			if seen[k] {
				fe.Add(f+".email", ErrInvalid)
			}
			seen[k] = true
		}
		checkLen(fe, f+".name", p.Name, MaxName, false)
		checkEnum(fe, f+".response_status", p.ResponseStatus, ResponseStatuses)
	}
	return fe.Err()
}

// ValidRRule parses an RRULE value (without the "RRULE:" prefix).
func ValidRRule(s string) error {
	if strings.ContainsAny(s, "\r\n") {
		return fmt.Errorf("rrule: line breaks not allowed")
	}
	opt, err := rrule.StrToROption(s)
	if err != nil {
		return fmt.Errorf("rrule: %w", err)
	}
	if opt.Interval < 0 || opt.Count < 0 {
		return fmt.Errorf("rrule: negative interval or count")
	}
	return nil
}

// SearchText is what activity search matches against, folded.
func (a *Activity) SearchText() string {
	return Fold(a.Title + " " + a.Location)
}
