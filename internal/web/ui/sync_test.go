package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/emulator/google"
	"github.com/tandem-crm/tandem/internal/oauth"
	"github.com/tandem-crm/tandem/internal/oauth/oauthtest"
	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

func TestContactSyncPage(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	g, api, b, page := connectGoogle(t, s, "sync@gmail.com", "Sync", "syncer@example.com", nil)
	var tag struct{ ID string }
	api.JSON(t, "POST", "/api/v1/tags", map[string]any{"name": "To Google"}, 201, &tag)
	var c struct{ ID string }
	api.JSON(t, "POST", "/api/v1/contacts", map[string]any{"name": "Синх Контакт", "tags": []string{tag.ID}}, 201, &c)

	p := b.Get(t, page)
	if !strings.Contains(p.Body, `action="`+page+`/contacts"`) || !strings.Contains(p.Body, "To Google") {
		t.Fatal("no contact sync form with the personal tag")
	}
	p = b.Post(t, page+"/contacts", url.Values{"enabled": {"1"}, "period_minutes": {"2"}})
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "has-error") {
		t.Fatalf("bad settings accepted: %d", p.Status)
	}
	p = b.Post(t, page+"/contacts", url.Values{"enabled": {"1"}, "tag_id": {tag.ID}, "period_minutes": {"15"}, "group_name": {"Tandem"}})
	if !strings.Contains(p.Body, "Sync settings saved") {
		t.Fatal("settings not saved")
	}
	p = b.Post(t, page+"/preview", nil)
	if !strings.Contains(p.Body, "What a sync would do") || !strings.Contains(p.Body, "Синх Контакт") {
		t.Fatalf("preview does not list the contact")
	}
	if len(g.People("sync@gmail.com")) != 0 {
		t.Fatal("preview wrote to Google")
	}
	p = b.Post(t, page+"/sync", nil)
	if !strings.Contains(p.Body, "Sync started") {
		t.Fatal("run now not confirmed")
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(g.People("sync@gmail.com")) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if len(g.People("sync@gmail.com")) != 1 {
		t.Fatal("contact not exported")
	}
	for time.Now().Before(deadline) {
		if card := b.Get(t, "/contacts/"+c.ID); strings.Contains(card.Body, "Sync history") {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Error("the contact card shows no sync history")
}

func TestCalendarSyncCard(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	ctx := context.Background()
	g := oauthtest.New(t, google.Options{}, s.URL+oauth.GoogleCallbackPath)
	if err := g.Configure(ctx, s.App.Settings); err != nil {
		t.Fatal(err)
	}
	g.AddUser("cal@gmail.com", "Cal")
	g.SetAutoApprove("cal@gmail.com")
	work, _ := g.CreateCalendar("cal@gmail.com", "Work calendar", "Europe/Moscow")
	api := s.NewUser(t, "cal@example.com")
	b := s.Browser(t, "cal@example.com", "user-password-1")
	b.Post(t, "/oauth/google/start", nil)
	conns, _ := s.App.Store.ListConnections(ctx, api.UserID)
	page := "/profile/accounts/" + conns[0].ID
	p := b.Get(t, page)
	if !strings.Contains(p.Body, "Work calendar") || !strings.Contains(p.Body, `action="`+page+`/calendar"`) {
		t.Fatal("no calendar card listing the Google calendars")
	}
	p = b.Post(t, page+"/calendar", url.Values{"enabled": {"1"}, "sync_from": {"not a date"}, "period_minutes": {"15"}})
	if p.Status != http.StatusUnprocessableEntity {
		t.Fatalf("bad settings: %d", p.Status)
	}
	// Dates follow today: the sync-from date bounds what the calendar lists.
	day := func(days int) string { return time.Now().UTC().AddDate(0, 0, days).Format("2006-01-02") }
	from := day(-30)
	p = b.Post(t, page+"/calendar", url.Values{"enabled": {"1"}, "calendar_id": {work}, "sync_from": {from}, "period_minutes": {"15"}})
	if !strings.Contains(p.Body, "Sync settings saved") {
		t.Fatalf("calendar settings not saved: %d", p.Status)
	}
	_, es, err := s.App.Sync.EventBinding(ctx, conns[0].ID)
	if err != nil || es.CalendarID != work || es.SyncFrom != from || es.ImportAs != "meeting" {
		t.Fatalf("stored %+v %v", es, err)
	}
	if !strings.Contains(p.Body, "Active") || !strings.Contains(p.Body, `action="`+page+`/calendar/resync"`) {
		t.Error("the card shows no status or no sync-again form")
	}

	// The import mode that keeps events as notes.
	p = b.Post(t, page+"/calendar", url.Values{"enabled": {"1"}, "calendar_id": {work}, "sync_from": {from},
		"period_minutes": {"15"}, "import_as": {"note"}})
	if _, es, _ = s.App.Sync.EventBinding(ctx, conns[0].ID); es.ImportAs != "note" || !strings.Contains(p.Body, `value="note" selected`) {
		t.Errorf("import mode %q", es.ImportAs)
	}

	// The preview lists the calendar's part on the calendar card (before any
	// run could import the event).
	if _, err := g.InsertEvent("cal@gmail.com", work, map[string]any{"summary": "Previewed event",
		"start": map[string]any{"date": day(10)}, "end": map[string]any{"date": day(11)}}); err != nil {
		t.Fatal(err)
	}
	p = b.Post(t, page+"/preview", nil)
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "Previewed event") {
		t.Errorf("calendar preview: %d", p.Status)
	}

	// Sync again from a date: a bad date is shown, a good one queues a run.
	p = b.Post(t, page+"/calendar/resync", url.Values{"from": {"someday"}})
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `value="someday"`) {
		t.Errorf("bad resync date: %d", p.Status)
	}
	p = b.Post(t, page+"/calendar/resync", url.Values{"from": {day(-5)}})
	if !strings.Contains(p.Body, "Syncing again from "+day(-5)) {
		t.Errorf("resync not confirmed: %d", p.Status)
	}

	// Another calendar integration: the card says why sync is off.
	if err := s.App.Settings.Put(ctx, "CalendarIntegration", "exchange", "test"); err != nil {
		t.Fatal(err)
	}
	p = b.Get(t, page)
	if !strings.Contains(p.Body, "the administrator chose another calendar integration") || !strings.Contains(p.Body, "Not active") {
		t.Error("no notice that calendar sync is off")
	}
}

// The sync history on a card speaks the viewer's language: fields as the
// form labels them, reasons in words — also for rows written before
// reasons were codes.
func TestSyncJournalInWords(t *testing.T) {
	e := startCRM(t)
	ctx := context.Background()
	b, api := e.newUser(t, "journal@example.com", "ru", "Europe/Moscow")
	cid := crmCreate(t, api, "/api/v1/contacts", map[string]any{"given_name": "Анна", "family_name": "Ли"})
	aid := crmCreate(t, api, "/api/v1/activities", map[string]any{"title": "Встреча", "start": "2026-03-02T07:00:00Z"})
	rows := []store.JournalEntry{
		{Entity: store.EntityContact, RecordID: cid, Side: "remote", Action: "create",
			Fields: []string{reconcile.FieldFamilyName, reconcile.FieldGivenName}, Reason: reconcile.ReasonCreatedLocally},
		{Entity: store.EntityContact, RecordID: cid, Side: "local", Action: "update",
			Fields: []string{reconcile.FieldJobTitle}, Reason: reconcile.Conflict([]string{reconcile.FieldJobTitle})},
		{Entity: store.EntityContact, RecordID: cid, Side: "local", Action: "untag", Reason: "removed remotely"}, // an old row
		{Entity: store.EntityActivity, RecordID: aid, Side: "remote", Action: "revert",
			Fields: []string{reconcile.FieldStart, reconcile.FieldAllDay}, Reason: reconcile.RuleActualStart},
	}
	err := e.s.App.Store.InTx(ctx, func(tx *store.Tx) error {
		for _, r := range rows {
			r.BindingID = "b1"
			if err := tx.Journal(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	p := b.Get(t, "/contacts/"+cid)
	crmHas(t, p, "(Фамилия, Имя)", "создано в Tandem", "(Должность)",
		"изменено с обеих сторон; сохранено более позднее изменение (Должность)", "удалено в подключённом аккаунте")
	crmLacks(t, p, "family_name", "given_name", "job_title", "created in Tandem", "removed remotely", "conflict:")
	p = b.Get(t, "/activities/"+aid)
	crmHas(t, p, "(Начало, Весь день)", "фактическое начало задачи")
	crmLacks(t, p, "all_day", "kept_actual_start")
}

// connectGoogle starts the Google emulator for s, makes the Tandem user
// email and connects the emulator's account gmail through the UI, as a
// user clicking "Add Google account" would. before, when set, runs once the
// emulator's settings are in Tandem and before the connection is made. It
// returns the emulator, the user's API client and browser, and the
// connection's page.
func connectGoogle(t *testing.T, s *tandemtest.Server, gmail, name, email string, before func()) (*oauthtest.Google, *tandemtest.Client, *tandemtest.Browser, string) {
	t.Helper()
	ctx := context.Background()
	g := oauthtest.New(t, google.Options{}, s.URL+oauth.GoogleCallbackPath)
	if err := g.Configure(ctx, s.App.Settings); err != nil {
		t.Fatal(err)
	}
	if before != nil {
		before()
	}
	g.AddUser(gmail, name)
	g.SetAutoApprove(gmail)
	api := s.NewUser(t, email)
	b := s.Browser(t, email, "user-password-1")
	b.Post(t, "/oauth/google/start", nil)
	conns, _ := s.App.Store.ListConnections(ctx, api.UserID)
	if len(conns) != 1 {
		t.Fatalf("connections %d", len(conns))
	}
	return g, api, b, "/profile/accounts/" + conns[0].ID
}

// seedGroup puts contacts named names into the user's Google group called
// group (made if missing), as the user would in Google Contacts.
func seedGroup(t *testing.T, g *oauthtest.Google, gmail, group string, names ...string) {
	t.Helper()
	grp, err := g.CreateContactGroup(gmail, group)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		p := map[string]any{"names": []any{map[string]any{"unstructuredName": n}},
			"memberships": []any{map[string]any{"contactGroupMembership": map[string]any{"contactGroupResourceName": grp}}}}
		if _, err := g.CreateContact(gmail, p); err != nil {
			t.Fatal(err)
		}
	}
}
