package ui_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// calColumn returns the markup of one day column of the week grid.
func calColumn(t *testing.T, body, date string) string {
	t.Helper()
	i := strings.Index(body, `class="cw-grid"`)
	if i < 0 {
		t.Fatalf("no week grid")
	}
	body = body[i:]
	j := strings.Index(body, `data-date="`+date+`"`)
	if j < 0 {
		t.Fatalf("no column for %s", date)
	}
	col := body[j+1:]
	if k := strings.Index(col, `data-date="`); k >= 0 {
		col = col[:k]
	}
	return col
}

// weekdays returns the weekday labels of the week header, in order.
func weekdays(body string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`<span class="cw-dow">([^<]+)</span>`).FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

var crmRawKey = regexp.MustCompile(`\b(?:contact|account|activity|case|calendar|tag|group|search|error|flash)\.[a-z_]+(?:\.[a-z_]+)*\b`)

// crmNoRawKeys fails when a page shows a catalogue key instead of text.
func crmNoRawKeys(t *testing.T, body string) {
	t.Helper()
	if i := strings.Index(body, "<main"); i >= 0 {
		body = body[i:]
	}
	if m := crmRawKey.FindString(body); m != "" {
		t.Errorf("untranslated key %q on the page", m)
	}
}

func TestActivityWithParticipantsOnCalendar(t *testing.T) {
	e := startCRM(t)
	b, api := e.newUser(t, "alice@example.com", "en", "Europe/Moscow")
	cid := crmCreate(t, api, "/api/v1/contacts", map[string]any{"name": "Olga Client",
		"emails": []map[string]any{{"address": "olga@client.example", "primary": true}}})

	p := b.Get(t, "/activities/new?contact_id="+cid)
	crmStatus(t, p, http.StatusOK)
	crmHas(t, p, `<option value="Europe/Moscow" selected>`, `<option value="`+cid+`" selected>Olga Client`,
		`name="participants[__i__].email"`, `name="repeat"`)

	form := url.Values{
		"type": {"meeting"}, "title": {"Weekly sync"}, "location": {"Room 1"}, "status": {"not_started"}, "priority": {"high"},
		"start": {"2026-03-02T10:00"}, "end": {"2026-03-02T11:00"}, "time_zone": {"Europe/Moscow"},
		"show_in_calendar": {"1"}, "owner_id": {api.UserID}, "contact_id": {cid},
		"repeat": {"weekly"}, "interval": {"1"}, "until": {""}, "count": {""}, "rrule": {""}, "rrule_shown": {""},
		"participants[0].email": {"olga@client.example"}, "participants[0].contact_id": {cid},
		"participants[0].response_status": {"accepted"},
		"participants[1].email":           {"guest@partner.example"}, "participants[1].response_status": {"tentative"},
		"participants[2].email": {""}, // the blank row of the form
	}
	// Invalid first: the end before the start, and a participant's bad address.
	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad.Set("end", "2026-03-02T09:00")
	bad.Set("participants[1].email", "guest at partner")
	p = b.Post(t, "/activities", bad)
	crmStatus(t, p, http.StatusUnprocessableEntity)
	crmHas(t, p, "The end must be after the start.", `value="guest at partner"`, `id="participants[1].error"`,
		`name="title" value="Weekly sync"`, `<option value="weekly" selected>`)

	p = b.Post(t, "/activities", form)
	crmStatus(t, p, http.StatusOK)
	id := crmRecordID(t, p, "/activities/")
	crmHas(t, p, "Activity “Weekly sync” created.", "FREQ=WEEKLY", "Weekly", "Mar 2, 2026, 10:00 AM", "Mar 2, 2026, 11:00 AM",
		`href="/contacts/`+cid+`"`, "olga@client.example", "guest@partner.example", "response-accepted", "Accepted",
		"response-tentative", "Maybe", "Room 1", "2 participants")
	crmNoRawKeys(t, p.Body)

	// The third occurrence, Monday 16 March, in its week (Sunday first in English).
	p = b.Get(t, "/calendar?week=2026-03-18")
	crmStatus(t, p, http.StatusOK)
	crmHas(t, p, "Mar 15 – 21, 2026", "?date=2026-03-08&amp;view=week", "?date=2026-03-22&amp;view=week")
	if days := weekdays(p.Body); len(days) != 7 || days[0] != "Sun" {
		t.Errorf("week header %v", days)
	}
	col := calColumn(t, p.Body, "2026-03-16")
	if !strings.Contains(col, "Weekly sync") || !strings.Contains(col, "--start:600;--duration:60") ||
		!strings.Contains(col, `href="/activities/`+id+`"`) || !strings.Contains(col, "10:00 AM – 11:00 AM") {
		t.Errorf("16 March column lacks the meeting:\n%s", col)
	}
	if strings.Contains(calColumn(t, p.Body, "2026-03-17"), "Weekly sync") {
		t.Error("the meeting shows on Tuesday too")
	}
	crmNoRawKeys(t, p.Body)
	// Not before the series starts.
	crmLacks(t, b.Get(t, "/calendar?week=2026-02-25"), "Weekly sync")

	// The list and the contact's card show it.
	p = b.Get(t, "/activities?type=meeting")
	crmHas(t, p, "Weekly sync", "status-not_started", "priority-high", "Mar 2, 2026, 10:00 AM")
	crmLacks(t, b.Get(t, "/activities?type=call"), "Weekly sync")
	crmHas(t, b.Get(t, "/activities?q=WEEKLY"), "Weekly sync")
	crmHas(t, b.Get(t, "/contacts/"+cid), "Weekly sync", `href="/activities/`+id+`"`)

	// Edit: the picker and the rows come back; a stale version conflicts.
	p = b.Get(t, "/activities/"+id+"/edit")
	crmHas(t, p, `<option value="weekly" selected>`, `name="rrule_shown" value="FREQ=WEEKLY"`, `name="version" value="1"`,
		`value="guest@partner.example"`, `name="start" value="2026-03-02T10:00"`)
	form.Set("version", "1")
	form.Set("rrule_shown", "FREQ=WEEKLY")
	form.Set("rrule", "FREQ=WEEKLY")
	form.Set("count", "2")
	p = b.Post(t, "/activities/"+id, form)
	crmStatus(t, p, http.StatusOK)
	crmHas(t, p, `<span title="FREQ=WEEKLY;COUNT=2">Weekly, 2 times</span>`, "Changes saved.")
	crmLacks(t, p, `<code class="mono">FREQ=WEEKLY`)
	crmLacks(t, b.Get(t, "/calendar?week=2026-03-18"), "Weekly sync") // only two occurrences now
	form.Set("title", "Stale")
	p = b.Post(t, "/activities/"+id, form)
	crmStatus(t, p, http.StatusConflict)
	crmHas(t, p, "The record was changed by someone else", `name="title" value="Stale"`)

	// Another user sees nothing of it.
	other, _ := e.newUser(t, "eve@example.com", "en", "Europe/Moscow")
	crmStatus(t, other.Get(t, "/activities/"+id), http.StatusNotFound)
	crmLacks(t, other.Get(t, "/calendar?week=2026-03-02"), "Weekly sync")
	crmLacks(t, other.Get(t, "/activities"), "Weekly sync")

	p = b.Post(t, "/activities/"+id+"/delete", nil)
	crmHas(t, p, "Deleted.")
	crmStatus(t, b.Get(t, "/activities/"+id), http.StatusNotFound)
}

func TestActivityAllDayAndCustomRule(t *testing.T) {
	e := startCRM(t)
	b, api := e.newUser(t, "dan@example.com", "en", "America/New_York")
	// In progress since its first day: a started task shows at its actual
	// dates, which the status would otherwise stamp with today.
	form := url.Values{"type": {"task"}, "title": {"Conference"}, "status": {"in_progress"}, "priority": {"normal"},
		"all_day": {"1"}, "start_date": {"2026-03-05"}, "end_date": {"2026-03-07"}, "time_zone": {"America/New_York"},
		"actual_start": {"2026-03-05T09:00"}, "actual_end": {""},
		"show_in_calendar": {"1"}, "owner_id": {api.UserID}, "repeat": {"custom"}, "rrule": {"FREQ=DAILY;BYDAY=SOMEDAY"}}
	p := b.Post(t, "/activities", form)
	crmStatus(t, p, http.StatusUnprocessableEntity)
	crmHas(t, p, "Enter a valid recurrence rule (RRULE).", `value="FREQ=DAILY;BYDAY=SOMEDAY"`, `<details class="field-full" open>`)

	// A participant picked from the contacts alone gets the contact's address.
	cid := crmCreate(t, api, "/api/v1/contacts", map[string]any{"name": "Pat Picked",
		"emails": []map[string]any{{"address": "pat@picked.example"}}})
	form.Set("repeat", "none")
	form.Set("rrule", "")
	form.Set("participants[0].contact_id", cid)
	p = b.Post(t, "/activities", form)
	crmStatus(t, p, http.StatusOK)
	crmHas(t, p, "Mar 5, 2026", "Mar 7, 2026", `href="/contacts/`+cid+`"`, "Pat Picked", "pat@picked.example", "Awaiting response")
	// One chip on each of its days, none outside them, in the all-day row.
	p = b.Get(t, "/calendar?week=2026-03-04")
	crmHas(t, p, `class="cw-chip ev-task status-in_progress"`)
	if n := strings.Count(p.Body, ">Conference</a>"); n != 3 {
		t.Errorf("all-day chips: %d, want 3 (5, 6 and 7 March)", n)
	}
	allDay := p.Body[strings.Index(p.Body, `class="cw-allday"`):strings.Index(p.Body, `class="cw-scroll"`)]
	cells := strings.Split(allDay, `class="cw-allday-cell"`)[1:] // Sunday 1 March first
	for i, cell := range cells {
		if want := i >= 4 && i <= 6; strings.Contains(cell, "Conference") != want {
			t.Errorf("day %d of the week: chip %v, want %v", i, !want, want)
		}
	}
}

func TestCalendarAcrossDST(t *testing.T) {
	e := startCRM(t)
	ru, ruAPI := e.newUser(t, "msk@example.com", "ru", "Europe/Moscow")
	en, enAPI := e.newUser(t, "nyc@example.com", "en", "America/New_York")
	// Each has a weekly 09:00 New York meeting from Monday 2 March 2026 (EST);
	// New York moves to EDT on 8 March, Moscow has no DST.
	series := map[string]any{"type": "call", "title": "NY standup", "start": "2026-03-02T14:00:00Z", "end": "2026-03-02T14:30:00Z",
		"time_zone": "America/New_York", "show_in_calendar": true, "rrule": "FREQ=WEEKLY"}
	crmCreate(t, ruAPI, "/api/v1/activities", series)
	crmCreate(t, enAPI, "/api/v1/activities", series)

	// Moscow (Monday first): 17:00 before the switch, 16:00 after.
	p := ru.Get(t, "/calendar?week=2026-03-04")
	crmStatus(t, p, http.StatusOK)
	if days := weekdays(p.Body); len(days) != 7 || days[0] != "Пн" || days[6] != "Вс" {
		t.Errorf("ru week header %v", days)
	}
	if col := calColumn(t, p.Body, "2026-03-02"); !strings.Contains(col, "--start:1020;") || !strings.Contains(col, "17:00 – 17:30") {
		t.Errorf("Moscow, week 1:\n%s", col)
	}
	p = ru.Get(t, "/calendar?week=2026-03-09")
	if col := calColumn(t, p.Body, "2026-03-09"); !strings.Contains(col, "--start:960;") || !strings.Contains(col, "16:00 – 16:30") {
		t.Errorf("Moscow, week 2:\n%s", col)
	}
	crmHas(t, p, "Календарь", "Весь день", "9–15 мар. 2026 г.")
	crmNoRawKeys(t, p.Body)

	// New York (Sunday first): 09:00 both weeks, and the DST week has its
	// seven days.
	p = en.Get(t, "/calendar?week=2026-03-02")
	if col := calColumn(t, p.Body, "2026-03-02"); !strings.Contains(col, "--start:540;") || !strings.Contains(col, "9:00 AM") {
		t.Errorf("New York, week 1:\n%s", col)
	}
	p = en.Get(t, "/calendar?week=2026-03-08")
	if col := calColumn(t, p.Body, "2026-03-09"); !strings.Contains(col, "--start:540;") || !strings.Contains(col, "9:00 AM – 9:30 AM") {
		t.Errorf("New York, week 2:\n%s", col)
	}
	for _, d := range []string{"2026-03-08", "2026-03-14"} {
		calColumn(t, p.Body, d)
	}
	if days := weekdays(p.Body); len(days) != 7 || days[0] != "Sun" {
		t.Errorf("en week header %v", days)
	}
	// A bad week parameter falls back to the current week.
	crmStatus(t, en.Get(t, "/calendar?week=yesterday"), http.StatusOK)
}

func TestRussianUI(t *testing.T) {
	e := startCRM(t)
	b, api := e.newUser(t, "ivan@example.com", "ru", "UTC")
	p := b.Get(t, "/contacts/new")
	crmStatus(t, p, http.StatusOK)
	crmHas(t, p, `<html lang="ru">`, "Новый контакт", "Имя", "Фамилия", "Должность", "Добавить email", "Создать")
	crmNoRawKeys(t, p.Body)

	p = b.Post(t, "/contacts", url.Values{"given_name": {"Мария"}, "emails[0].address": {"неверный"}, "owner_id": {api.UserID}})
	crmStatus(t, p, http.StatusUnprocessableEntity)
	crmHas(t, p, "Исправьте отмеченные поля.", "Введите корректный email.", `value="неверный"`)

	p = b.Post(t, "/contacts", url.Values{"given_name": {"Мария"}, "family_name": {"Иванова"}, "owner_id": {api.UserID}})
	crmStatus(t, p, http.StatusOK)
	crmHas(t, p, "Контакт «Мария Иванова» создан.", "Ответственный", "Создан", " г., ")
	crmNoRawKeys(t, p.Body)

	p = b.Post(t, "/activities", url.Values{"type": {"call"}, "title": {"Звонок"}, "status": {"completed"}, "priority": {"low"},
		"start": {"2026-03-05T10:00"}, "end": {"2026-03-05T10:30"}, "time_zone": {"UTC"}, "owner_id": {api.UserID},
		"repeat": {"none"}})
	crmStatus(t, p, http.StatusOK)
	crmHas(t, p, "Звонок", "5 мар. 2026 г., 10:00", "5 мар. 2026 г., 10:30", "Завершена", "Низкий", "Начало", "Окончание")
	crmNoRawKeys(t, p.Body)

	for _, path := range []string{"/contacts", "/accounts", "/activities", "/tags", "/groups", "/accounts/new", "/activities/new", "/calendar"} {
		p = b.Get(t, path)
		crmStatus(t, p, http.StatusOK)
		crmNoRawKeys(t, p.Body)
	}
	crmHas(t, b.Get(t, "/activities"), "Активности", "5 мар. 2026 г., 10:00")
}

// TestSeriesOverridesOnCardAndCalendar: a series' changed occurrences are
// listed on its card in the viewer's zone and show on the week calendar
// where they were moved to (also into the week from the next one, and out
// of it); editing the series in the form keeps those that still apply.
func TestSeriesOverridesOnCardAndCalendar(t *testing.T) {
	e := startCRM(t)
	b, api := e.newUser(t, "olga@example.com", "en", "Europe/Moscow")
	// Ten daily standups at 12:00 Moscow time (09:00 UTC) from Monday 2 March 2026.
	var act struct {
		ID        string
		Overrides []map[string]string
		Title     string
	}
	api.JSON(t, "POST", "/api/v1/activities", map[string]any{"title": "Standup", "type": "meeting", "location": "Room 1",
		"start": "2026-03-02T09:00:00Z", "end": "2026-03-02T09:30:00Z", "time_zone": "Europe/Moscow",
		"show_in_calendar": true, "rrule": "FREQ=DAILY;COUNT=10", "overrides": []any{
			map[string]any{"recurrence_id": "2026-03-03T09:00:00Z", "title": "Planning"},
			map[string]any{"recurrence_id": "2026-03-04T09:00:00Z", "start": "2026-03-04T14:00:00Z", "end": "2026-03-04T15:00:00Z",
				"title": "Late standup"},
			map[string]any{"recurrence_id": "2026-03-05T09:00:00Z", "start": "2026-03-12T09:00:00Z"},
			map[string]any{"recurrence_id": "2026-03-10T09:00:00Z", "start": "2026-03-06T11:00:00Z", "location": "Room 2"},
		}}, http.StatusCreated, &act)
	if len(act.Overrides) != 4 {
		t.Fatalf("overrides %v", act.Overrides)
	}

	p := b.Get(t, "/activities/"+act.ID)
	crmStatus(t, p, http.StatusOK)
	crmHas(t, p, "Changed occurrences",
		"Mar 3, 2026, 12:00 PM · <span class=\"muted\">Title:</span> Planning</li>",
		"Mar 4, 2026, 12:00 PM <span aria-hidden=\"true\">→</span><span class=\"visually-hidden\">moved to</span> Mar 4, 2026, 5:00 PM – 6:00 PM · <span class=\"muted\">Title:</span> Late standup",
		"Mar 5, 2026, 12:00 PM <span aria-hidden=\"true\">→</span><span class=\"visually-hidden\">moved to</span> Mar 12, 2026, 12:00 PM – 12:30 PM</li>",
		"Mar 10, 2026, 12:00 PM <span aria-hidden=\"true\">→</span><span class=\"visually-hidden\">moved to</span> Mar 6, 2026, 2:00 PM – 2:30 PM · <span class=\"muted\">Location:</span> Room 2")
	crmNoRawKeys(t, p.Body)

	// The week of 1–7 March (Sunday first in English).
	p = b.Get(t, "/calendar?week=2026-03-04")
	crmStatus(t, p, http.StatusOK)
	for _, c := range []struct {
		date      string
		has, lack []string
	}{
		{"2026-03-02", []string{">Standup<", "--start:720;"}, nil},
		{"2026-03-03", []string{">Planning<", "--start:720;"}, []string{">Standup<"}},
		{"2026-03-04", []string{">Late standup<", "--start:1020;--duration:60", "5:00 PM – 6:00 PM"}, []string{">Standup<", "--start:720;"}},
		{"2026-03-05", nil, []string{">Standup<"}},
		{"2026-03-06", []string{"--start:720;", "--start:840;--duration:30", "2:00 PM – 2:30 PM"}, nil},
	} {
		col := calColumn(t, p.Body, c.date)
		for _, s := range c.has {
			if !strings.Contains(col, s) {
				t.Errorf("%s lacks %q:\n%s", c.date, s, col)
			}
		}
		for _, s := range c.lack {
			if strings.Contains(col, s) {
				t.Errorf("%s has %q:\n%s", c.date, s, col)
			}
		}
	}
	if n := strings.Count(calColumn(t, p.Body, "2026-03-06"), ">Standup<"); n != 2 {
		t.Errorf("6 March: %d standups, want 2 (its own and the one moved from 10 March)", n)
	}
	// The next week: 10 March moved away, 5 March moved in on the 12th.
	p = b.Get(t, "/calendar?week=2026-03-11")
	if col := calColumn(t, p.Body, "2026-03-10"); strings.Contains(col, "Standup") {
		t.Errorf("10 March still shows its moved occurrence:\n%s", col)
	}
	if col := calColumn(t, p.Body, "2026-03-12"); !strings.Contains(col, ">Standup<") || !strings.Contains(col, "--start:720;") {
		t.Errorf("12 March lacks the occurrence moved from 5 March:\n%s", col)
	}

	// Editing the series' title in the form keeps its overrides; a shorter
	// rule keeps only those it still makes.
	p = b.Get(t, "/activities/"+act.ID+"/edit")
	crmHas(t, p, `name="start" value="2026-03-02T12:00"`, `name="version" value="1"`)
	crmLacks(t, p, `name="actual_start"`) // a meeting
	form := url.Values{"type": {"meeting"}, "title": {"Daily standup"}, "location": {"Room 1"}, "status": {"not_started"},
		"priority": {"normal"}, "start": {"2026-03-02T12:00"}, "end": {"2026-03-02T12:30"}, "time_zone": {"Europe/Moscow"},
		"show_in_calendar": {"1"}, "owner_id": {api.UserID}, "repeat": {"daily"}, "interval": {"1"}, "count": {"10"},
		"rrule": {"FREQ=DAILY;COUNT=10"}, "rrule_shown": {"FREQ=DAILY;COUNT=10"}, "version": {"1"}}
	crmStatus(t, b.Post(t, "/activities/"+act.ID, form), http.StatusOK)
	api.JSON(t, "GET", "/api/v1/activities/"+act.ID, nil, http.StatusOK, &act)
	if act.Title != "Daily standup" || len(act.Overrides) != 4 || act.Overrides[1]["title"] != "Late standup" {
		t.Fatalf("after a title edit: %q %v", act.Title, act.Overrides)
	}
	form.Set("version", "2")
	form.Set("count", "3")
	crmStatus(t, b.Post(t, "/activities/"+act.ID, form), http.StatusOK)
	api.JSON(t, "GET", "/api/v1/activities/"+act.ID, nil, http.StatusOK, &act)
	if len(act.Overrides) != 2 || act.Overrides[0]["recurrence_id"] != "2026-03-03T09:00:00Z" ||
		act.Overrides[1]["recurrence_id"] != "2026-03-04T09:00:00Z" {
		t.Errorf("after COUNT=3: %v", act.Overrides)
	}
}

// TestTaskActualDatesInForm: the task form has actual start and end
// inputs, keeps them on errors, and shows them on the card; an untouched
// input keeps the stored time exactly, an emptied one goes back to the
// status.
func TestTaskActualDatesInForm(t *testing.T) {
	e := startCRM(t)
	b, api := e.newUser(t, "tess@example.com", "en", "Europe/Moscow")
	crmHas(t, b.Get(t, "/activities/new"), `name="actual_start"`, `name="actual_end"`,
		"Empty: filled in by the status")
	crmLacks(t, b.Get(t, "/activities/new?type=meeting"), `name="actual_start"`)

	base := url.Values{"type": {"task"}, "title": {"Offer"}, "status": {"completed"}, "priority": {"normal"},
		"start": {"2026-03-02T10:00"}, "end": {"2026-03-02T11:00"}, "time_zone": {"Europe/Moscow"}, "owner_id": {api.UserID},
		"repeat": {"none"}, "show_in_calendar": {"1"}}
	with := func(kv ...string) url.Values {
		f := url.Values{}
		for k, v := range base {
			f[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		return f
	}
	for _, tt := range []struct {
		name string
		form url.Values
		has  []string
	}{
		{"the end before the start", with("actual_start", "2026-03-05T09:00", "actual_end", "2026-03-04T09:00"),
			[]string{"The end must be after the start.", `id="f-actual_end-error"`, `value="2026-03-05T09:00"`, `value="2026-03-04T09:00"`}},
		{"not a date", with("actual_start", "soon", "actual_end", ""),
			[]string{"Enter a valid date.", `id="f-actual_start-error"`, `name="actual_start" value="soon"`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := b.Post(t, "/activities", tt.form)
			crmStatus(t, p, http.StatusUnprocessableEntity)
			crmHas(t, p, tt.has...)
		})
	}

	p := b.Post(t, "/activities", with("actual_start", "2026-03-05T09:00", "actual_end", "2026-03-06T18:30"))
	crmStatus(t, p, http.StatusOK)
	id := crmRecordID(t, p, "/activities/")
	crmHas(t, p, "Actual start</dt><dd>Mar 5, 2026, 9:00 AM", "Actual end</dt><dd>Mar 6, 2026, 6:30 PM")
	crmNoRawKeys(t, p.Body)
	// The calendar shows it on its actual days, not on the planned 2 March.
	p = b.Get(t, "/calendar?week=2026-03-04")
	if col := calColumn(t, p.Body, "2026-03-05"); !strings.Contains(col, ">Offer<") || !strings.Contains(col, "--start:540;") {
		t.Errorf("5 March lacks the task's actual start:\n%s", col)
	}
	if col := calColumn(t, p.Body, "2026-03-02"); strings.Contains(col, "Offer") {
		t.Errorf("the task still shows on its planned day:\n%s", col)
	}

	// Seconds the input cannot show survive an edit that leaves it alone.
	item := "/api/v1/activities/" + id
	api.JSON(t, "PATCH", item, map[string]any{"actual_start": "2026-03-05T06:00:30Z"}, http.StatusOK, nil)
	p = b.Get(t, "/activities/"+id+"/edit")
	crmHas(t, p, `name="actual_start" value="2026-03-05T09:00"`, `name="actual_end" value="2026-03-06T18:30"`)
	crmStatus(t, b.Post(t, "/activities/"+id, with("version", "2", "title", "Offer v2", "actual_start", "2026-03-05T09:00",
		"actual_end", "2026-03-06T18:30")), http.StatusOK)
	var task struct {
		ActualStart *string `json:"actual_start"`
		ActualEnd   *string `json:"actual_end"`
	}
	api.JSON(t, "GET", item, nil, http.StatusOK, &task)
	if task.ActualStart == nil || *task.ActualStart != "2026-03-05T06:00:30Z" || task.ActualEnd == nil || *task.ActualEnd != "2026-03-06T15:30:00Z" {
		t.Errorf("after an edit that kept them: %v %v", task.ActualStart, task.ActualEnd)
	}
	// Emptied, the status decides: reopened in progress, the start is
	// stamped anew and the end cleared.
	crmStatus(t, b.Post(t, "/activities/"+id, with("version", "3", "status", "in_progress", "actual_start", "",
		"actual_end", "2026-03-06T18:30")), http.StatusOK)
	api.JSON(t, "GET", item, nil, http.StatusOK, &task)
	if task.ActualStart == nil || *task.ActualStart == "2026-03-05T06:00:30Z" || task.ActualEnd != nil {
		t.Errorf("after emptying: %v %v", task.ActualStart, task.ActualEnd)
	}

	// A meeting's form has no such inputs and leaves its actual dates alone.
	var m struct{ ID string }
	api.JSON(t, "POST", "/api/v1/activities", map[string]any{"title": "Kick-off", "type": "meeting", "start": "2026-03-02T07:00:00Z",
		"time_zone": "Europe/Moscow", "actual_start": "2026-03-02T07:05:00Z"}, http.StatusCreated, &m)
	crmStatus(t, b.Post(t, "/activities/"+m.ID, with("type", "meeting", "title", "Kick-off call", "status", "not_started",
		"version", "1")), http.StatusOK)
	api.JSON(t, "GET", "/api/v1/activities/"+m.ID, nil, http.StatusOK, &task)
	if task.ActualStart == nil || *task.ActualStart != "2026-03-02T07:05:00Z" {
		t.Errorf("the meeting's actual start: %v", task.ActualStart)
	}
}

// TestChangedOccurrencesInRussian: an all-day series' changed occurrences
// as dates, and a task's actual dates, for a Russian viewer; the moved day
// shows in the all-day row of its new week.
func TestChangedOccurrencesInRussian(t *testing.T) {
	e := startCRM(t)
	b, api := e.newUser(t, "ivan@example.com", "ru", "Asia/Vladivostok")
	id := crmCreate(t, api, "/api/v1/activities", map[string]any{"title": "Обзор", "type": "meeting", "all_day": true,
		"start": "2026-07-01", "end": "2026-07-02", "time_zone": "Europe/Moscow", "show_in_calendar": true,
		"rrule": "FREQ=WEEKLY", "overrides": []any{
			map[string]any{"recurrence_id": "2026-07-08", "start": "2026-07-10", "end": "2026-07-12", "title": "Большой обзор"},
			map[string]any{"recurrence_id": "2026-07-15", "description": "С заказчиком"},
		}})
	p := b.Get(t, "/activities/"+id)
	crmStatus(t, p, http.StatusOK)
	crmHas(t, p, "Изменённые повторения",
		`8 июл. 2026 г. <span aria-hidden="true">→</span><span class="visually-hidden">перенесено на</span> 10 июл. 2026 г. – 11 июл. 2026 г. · <span class="muted">Тема:</span> Большой обзор</li>`,
		`15 июл. 2026 г. · <span class="muted">изменено описание</span></li>`)
	crmNoRawKeys(t, p.Body)

	p = b.Get(t, "/calendar?week=2026-07-08") // Monday 6 to Sunday 12 July
	allDay := p.Body[strings.Index(p.Body, `class="cw-allday"`):strings.Index(p.Body, `class="cw-scroll"`)]
	cells := strings.Split(allDay, `class="cw-allday-cell"`)[1:]
	for i, cell := range cells {
		want := map[int]string{2: "", 4: "Большой обзор", 5: "Большой обзор"}[i] // Wednesday 8 moved to Friday 10 – Saturday 11
		if got := strings.Contains(cell, "бзор"); got != (want != "") || (want != "" && !strings.Contains(cell, want)) {
			t.Errorf("day %d of the week: %q, want %q", i, cell, want)
		}
	}

	task := crmCreate(t, api, "/api/v1/activities", map[string]any{"title": "Отчёт", "type": "task", "status": "completed",
		"start": "2026-03-02T01:00:00Z", "time_zone": "Asia/Vladivostok", "actual_start": "2026-03-03T01:00:00Z",
		"actual_end": "2026-03-04T08:30:00Z"})
	p = b.Get(t, "/activities/"+task)
	crmHas(t, p, "Фактическое начало</dt><dd>3 мар. 2026 г., 11:00", "Фактическое окончание</dt><dd>4 мар. 2026 г., 18:30")
	p = b.Get(t, "/activities/"+task+"/edit")
	crmHas(t, p, "Фактическое начало", `name="actual_start" value="2026-03-03T11:00"`, "Если пусто, заполняется по статусу")
	crmNoRawKeys(t, p.Body)
}

// The activity form says what is wrong and what would do: the range of the
// recurrence numbers, a start for the calendar.
func TestActivityFormMessages(t *testing.T) {
	e := startCRM(t)
	b, api := e.newUser(t, "mia@example.com", "ru", "Europe/Moscow")
	form := url.Values{"type": {"meeting"}, "title": {"Sync"}, "status": {"not_started"}, "priority": {"normal"},
		"time_zone": {"Europe/Moscow"}, "owner_id": {api.UserID}, "show_in_calendar": {"1"},
		"repeat": {"weekly"}, "interval": {"5000"}, "count": {"0"}}
	p := b.Post(t, "/activities", form)
	crmStatus(t, p, http.StatusUnprocessableEntity)
	crmHas(t, p, `id="f-interval-error"`, "Введите целое число от 1 до 1\u00a0000.",
		`id="f-count-error"`, "Введите целое число от 1 до 10\u00a0000.",
		`id="f-start-error"`, "Укажите начало")
	crmLacks(t, p, "Введите число.", "Обязательное поле.")
	crmNoRawKeys(t, p.Body)
}

// A series shows its rule in words wherever it appears: the card, the list
// and the contact's card; a rule the words cannot say shows as it is.
func TestRecurrenceInWords(t *testing.T) {
	e := startCRM(t)
	b, api := e.newUser(t, "ru-rule@example.com", "ru", "Europe/Moscow")
	cid := crmCreate(t, api, "/api/v1/contacts", map[string]any{"name": "Ольга"})
	id := crmCreate(t, api, "/api/v1/activities", map[string]any{"type": "meeting", "title": "Планёрка",
		"start": "2026-03-02T07:00:00Z", "end": "2026-03-02T08:00:00Z", "time_zone": "Europe/Moscow", "contact_id": cid,
		"rrule": "FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=6"})
	const words = "Еженедельно по пн, ср, пт, 6 раз"
	crmHas(t, b.Get(t, "/activities/"+id), `<span title="FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=6">`+words+`</span>`)
	crmHas(t, b.Get(t, "/activities"), words)
	crmHas(t, b.Get(t, "/contacts/"+cid), words)

	odd := crmCreate(t, api, "/api/v1/activities", map[string]any{"type": "meeting", "title": "Годовщина",
		"start": "2026-03-08T07:00:00Z", "time_zone": "Europe/Moscow", "rrule": "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=8"})
	crmHas(t, b.Get(t, "/activities/"+odd), `<code class="mono">FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=8</code>`)
}
