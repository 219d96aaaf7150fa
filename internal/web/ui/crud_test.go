package ui_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

// TestRecordPages runs the form pages every record kind shares (new,
// create, edit, update, delete) through the same cases, so a kind that
// answers differently from the others shows up here.
func TestRecordPages(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	team := s.NewRole(t, "Team")
	alice := s.NewUser(t, "alice@example.com")
	s.NewUser(t, "bob@example.com", team)
	owner := s.Browser(t, "alice@example.com", "user-password-1")
	reader := s.Browser(t, "bob@example.com", "user-password-1")

	kinds := []struct {
		kind string // URL prefix
		// valid is a form the store accepts; created the flash it earns.
		valid   url.Values
		created string
		// invalid is refused with the messages in errs, and the form shows
		// the input in kept again.
		invalid url.Values
		errs    []string
		kept    []string
		// edited changes valid; a stale save of it must not reach the card.
		edited url.Values
	}{
		{
			kind:    "contacts",
			valid:   url.Values{"given_name": {"Vera"}, "family_name": {"Keep"}, "job_title": {"Buyer"}},
			created: "Contact “Vera Keep” created.",
			invalid: url.Values{"job_title": {"Kept title"}, "emails[0].address": {"not-an-email"}, "emails[0].kind": {"work"}},
			errs:    []string{"Enter a first, last or full name.", "Enter a valid email address.", `id="emails[0].error"`},
			kept:    []string{`name="job_title" value="Kept title"`, `value="not-an-email"`},
			edited:  url.Values{"job_title": {"Stale title"}},
		},
		{
			kind:    "accounts",
			valid:   url.Values{"name": {"Keep Co"}, "industry": {"Retail"}},
			created: "Account “Keep Co” created.",
			invalid: url.Values{"name": {"Kept Co"}, "email": {"bad email"}},
			errs:    []string{"Enter a valid email address.", `id="f-email-error"`},
			kept:    []string{`name="name" value="Kept Co"`, `value="bad email"`},
			edited:  url.Values{"industry": {"Stale industry"}},
		},
		{
			kind: "activities",
			valid: url.Values{"type": {"call"}, "title": {"Keep call"}, "status": {"not_started"}, "priority": {"normal"},
				"time_zone": {"UTC"}, "start": {"2026-03-02T10:00"}, "end": {"2026-03-02T11:00"}, "repeat": {"none"}},
			created: "Activity “Keep call” created.",
			// An end the form cannot read is reported with what the record
			// rules find (no title), and on the all-day input as well.
			invalid: url.Values{"type": {"call"}, "title": {""}, "location": {"Kept room"}, "status": {"not_started"},
				"priority": {"normal"}, "time_zone": {"UTC"}, "start": {"2026-03-02T10:00"}, "end": {"not a date"}},
			errs: []string{"Enter a valid date.", "This field is required.", `id="f-end-error"`, `id="f-end_date-error"`,
				`id="f-title-error"`},
			kept:   []string{`name="location" value="Kept room"`, `value="not a date"`},
			edited: url.Values{"title": {"Stale call"}},
		},
		{
			kind:    "cases",
			valid:   url.Values{"subject": {"Keep case"}, "status": {"new"}, "priority": {"normal"}},
			created: "Case CS-000001 created.",
			// A status outside the list is reported with the missing subject.
			invalid: url.Values{"subject": {""}, "description": {"Kept description"}, "status": {"reopened"}, "priority": {"high"}},
			errs: []string{"This field is required.", "Choose one of the listed values.", `id="f-subject-error"`,
				`id="f-status-error"`},
			kept:   []string{`>Kept description</textarea>`, `<option value="high" selected>High</option>`},
			edited: url.Values{"subject": {"Stale subject"}},
		},
	}
	for _, k := range kinds {
		t.Run(k.kind, func(t *testing.T) {
			base := "/" + k.kind
			form := func(vs ...url.Values) url.Values {
				out := url.Values{"owner_id": {alice.UserID}}
				for _, v := range vs {
					for name, val := range v {
						out[name] = val
					}
				}
				return out
			}

			// New and create: a refused form comes back with the input.
			crmStatus(t, owner.Get(t, base+"/new"), http.StatusOK)
			p := owner.Post(t, base, form(k.invalid))
			crmStatus(t, p, http.StatusUnprocessableEntity)
			if !strings.HasSuffix(p.URL, base) {
				t.Errorf("refused create answered at %s", p.URL)
			}
			crmHas(t, p, "Please correct the highlighted fields.", `action="`+base+`"`)
			crmHas(t, p, k.errs...)
			crmHas(t, p, k.kept...)
			crmNoRawKeys(t, p.Body)

			p = owner.Post(t, base, form(k.valid))
			crmStatus(t, p, http.StatusOK)
			id := crmRecordID(t, p, base+"/")
			crmHas(t, p, k.created)

			// Update: the version the form was filled from decides; a
			// second save from the same form is a conflict, input kept.
			p = owner.Get(t, base+"/"+id+"/edit")
			crmStatus(t, p, http.StatusOK)
			crmHas(t, p, `name="version" value="1"`, `action="`+base+"/"+id+`"`)
			p = owner.Post(t, base+"/"+id, form(k.valid, url.Values{"version": {"1"}}))
			crmStatus(t, p, http.StatusOK)
			if !strings.HasSuffix(p.URL, base+"/"+id) {
				t.Errorf("update answered at %s", p.URL)
			}
			crmHas(t, p, "Changes saved.")
			p = owner.Post(t, base+"/"+id, form(k.valid, k.edited, url.Values{"version": {"1"}}))
			crmStatus(t, p, http.StatusConflict)
			crmHas(t, p, "The record was changed by someone else", `name="version" value="1"`, `action="`+base+"/"+id+`"`)
			for name, v := range k.edited {
				crmHas(t, p, `name="`+name+`" value="`+v[0]+`"`)
				crmLacks(t, owner.Get(t, base+"/"+id), v[0])
			}

			// Access: a reader may see the record but neither change nor
			// delete it; someone without access does not find it at all.
			crmStatus(t, owner.Post(t, base+"/"+id+"/access", url.Values{"role_id": {team}, "level": {"read"}}), http.StatusOK)
			crmStatus(t, reader.Get(t, base+"/"+id), http.StatusOK)
			crmStatus(t, reader.Post(t, base+"/"+id, form(k.valid, k.edited, url.Values{"version": {"2"}})), http.StatusForbidden)
			p = reader.Post(t, base+"/"+id+"/delete", nil)
			crmStatus(t, p, http.StatusForbidden)
			crmHas(t, p, "Access denied")
			crmStatus(t, owner.Get(t, base+"/"+id), http.StatusOK)

			crmStatus(t, owner.Post(t, base+"/"+id+"/access", url.Values{}), http.StatusOK)
			crmStatus(t, reader.Get(t, base+"/"+id+"/edit"), http.StatusNotFound)
			crmStatus(t, reader.Post(t, base+"/"+id+"/delete", nil), http.StatusNotFound)

			// The owner deletes it and lands on the list.
			p = owner.Post(t, base+"/"+id+"/delete", nil)
			crmStatus(t, p, http.StatusOK)
			if !strings.HasSuffix(p.URL, base) {
				t.Errorf("delete answered at %s", p.URL)
			}
			crmHas(t, p, "Deleted.")
			crmStatus(t, owner.Get(t, base+"/"+id), http.StatusNotFound)
		})
	}
}
