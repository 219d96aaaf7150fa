package ui_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// calMonthCell returns the markup of one day of the month grid.
func calMonthCell(t *testing.T, body, date string) string {
	t.Helper()
	i := strings.Index(body, `class="calendar-month"`)
	if i < 0 {
		t.Fatalf("no month grid")
	}
	body = body[i:]
	j := strings.Index(body, `data-date="`+date+`"`)
	if j < 0 {
		t.Fatalf("no cell for %s", date)
	}
	j = strings.LastIndex(body[:j], `<div class="cm-day`)
	cell := body[j:]
	if k := strings.Index(cell[1:], `<div class="cm-`); k >= 0 {
		cell = cell[:k+1]
	}
	return cell
}

// TestCalendarViews: the day, week and month views show the activities of
// their period, series occurrences and a moved one included; each names
// its period in the viewer's language and links to the periods around it
// and to the other views. Every date is relative to one fixed day passed
// in the URL (a Tuesday, the last of a year), so the test holds on any day.
func TestCalendarViews(t *testing.T) {
	e := startCRM(t)
	en, enAPI := e.newUser(t, "cal-en@example.com", "en", "Europe/Moscow")
	ru, ruAPI := e.newUser(t, "cal-ru@example.com", "ru", "Europe/Moscow")
	msk, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	anchor := time.Date(2030, 12, 31, 0, 0, 0, 0, msk)
	day := func(n int) time.Time { return anchor.AddDate(0, 0, n) }
	ymd := func(n int) string { return day(n).Format("2006-01-02") }
	at := func(n, h, m int) string {
		return day(n).Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute).UTC().Format(time.RFC3339)
	}
	url := func(view string, n int) string { return "/calendar?view=" + view + "&date=" + ymd(n) }
	link := func(view string, n int) string { return `href="/calendar?date=` + ymd(n) + `&amp;view=` + view + `"` }

	create := func(body map[string]any) {
		t.Helper()
		body["show_in_calendar"] = true
		if body["time_zone"] == nil {
			body["time_zone"] = "Europe/Moscow"
		}
		crmCreate(t, enAPI, "/api/v1/activities", body)
		crmCreate(t, ruAPI, "/api/v1/activities", body)
	}
	// Half an hour before the working day.
	create(map[string]any{"type": "call", "title": "Early call", "start": at(0, 6, 0), "end": at(0, 6, 30)})
	// Daily 15-minute standups from the day before, five of them; the one
	// on the day after is moved to the afternoon and renamed.
	create(map[string]any{"type": "meeting", "title": "Standup", "start": at(-1, 10, 0), "end": at(-1, 10, 15),
		"rrule": "FREQ=DAILY;COUNT=5", "overrides": []any{map[string]any{"recurrence_id": at(1, 10, 0),
			"start": at(1, 15, 0), "end": at(1, 16, 0), "title": "Late standup"}}})
	create(map[string]any{"type": "task", "title": "Holiday", "all_day": true, "start": ymd(2), "end": ymd(3)})
	create(map[string]any{"type": "meeting", "title": "Far review", "start": at(10, 12, 0), "end": at(10, 13, 0)})
	// Overnight into the next week's Tuesday (which must not open at midnight for it).
	create(map[string]any{"type": "meeting", "title": "Night shift", "start": at(5, 23, 0), "end": at(6, 1, 0)})
	for i := range 5 { // a busy day: the month cell shows three and "2 more"
		create(map[string]any{"type": "call", "title": fmt.Sprintf("Busy %d", i), "start": at(7, 9+i, 0), "end": at(7, 9+i, 30)})
	}

	t.Run("week", func(t *testing.T) {
		// English weeks start on Sunday: 29 December – 4 January.
		p := en.Get(t, url("week", 0))
		crmStatus(t, p, http.StatusOK)
		crmHas(t, p, "Dec 29, 2030 – Jan 4, 2031", link("week", -9), link("week", 5), link("day", 0), link("month", 0),
			`data-scroll-hour="6"`, `title="Early call · 6:00 AM – 6:30 AM"`)
		crmNoRawKeys(t, p.Body)
		col := calColumn(t, p.Body, ymd(0))
		if !strings.Contains(col, "cw-event-short") || !strings.Contains(col, `<span class="cw-event-title">Early call</span>`) ||
			!strings.Contains(col, "--start:360;--duration:30") || !strings.Contains(col, ">Standup<") {
			t.Errorf("the day's column:\n%s", col)
		}
		if col := calColumn(t, p.Body, ymd(1)); !strings.Contains(col, ">Late standup<") || strings.Contains(col, ">Standup<") {
			t.Errorf("the moved occurrence:\n%s", col)
		}
		if col := calColumn(t, p.Body, ymd(3)); !strings.Contains(col, ">Standup<") { // the last of five
			t.Errorf("the series' end:\n%s", col)
		}
		crmLacks(t, p, "Far review", "Busy 0")
		allDay := p.Body[strings.Index(p.Body, `class="cw-allday"`):strings.Index(p.Body, `class="cw-scroll"`)]
		if cells := strings.Split(allDay, `class="cw-allday-cell"`)[1:]; len(cells) != 7 || !strings.Contains(cells[4], "Holiday") {
			t.Errorf("all-day row: %q", cells)
		}
		// Russian weeks start on Monday: 30 December – 5 January.
		p = ru.Get(t, url("week", 0))
		crmHas(t, p, "30 дек. 2030 г. – 5 янв. 2031 г.", "Вид календаря", "Предыдущая неделя")
		crmNoRawKeys(t, p.Body)
		if days := weekdays(p.Body); len(days) != 7 || days[0] != "Пн" {
			t.Errorf("ru week header %v", days)
		}
		// Two months of one year, then one month.
		crmHas(t, en.Get(t, url("week", -27)), "Dec 1 – 7, 2030")
		crmHas(t, en.Get(t, url("week", -31)), "Nov 24 – 30, 2030")
		crmHas(t, en.Get(t, url("week", -64)), "Oct 27 – Nov 2, 2030")
		crmHas(t, ru.Get(t, url("week", -28)), "2–8 дек. 2030 г.")
		crmHas(t, ru.Get(t, url("week", -30)), "25 нояб. – 1 дек. 2030 г.")
		// A working-day week opens at 8:00, also with an event going on
		// from the night before.
		p = en.Get(t, url("week", 7))
		crmHas(t, p, `data-scroll-hour="8"`)
		if col := calColumn(t, p.Body, ymd(6)); !strings.Contains(col, "Night shift") || !strings.Contains(col, "--start:0;--duration:60") {
			t.Errorf("the night's end:\n%s", col)
		}
		// The old week parameter still works.
		crmHas(t, en.Get(t, "/calendar?week="+ymd(0)), "Dec 29, 2030 – Jan 4, 2031")
	})

	t.Run("day", func(t *testing.T) {
		p := en.Get(t, url("day", 0))
		crmStatus(t, p, http.StatusOK)
		crmHas(t, p, "Tuesday, December 31, 2030", link("day", -1), link("day", 1), "Previous day", `data-scroll-hour="6"`,
			`style="--cw-days:1"`)
		crmNoRawKeys(t, p.Body)
		col := calColumn(t, p.Body, ymd(0))
		if !strings.Contains(col, "Early call") || !strings.Contains(col, ">Standup<") {
			t.Errorf("the day:\n%s", col)
		}
		crmLacks(t, p, "Late standup", "Holiday", `data-date="`+ymd(1)+`"`)
		p = ru.Get(t, url("day", 2))
		crmHas(t, p, "Четверг, 2 января 2031 г.", "Holiday", ">Standup<", "Следующий день")
		crmLacks(t, p, "Early call")
		crmNoRawKeys(t, p.Body)
		crmHas(t, en.Get(t, url("day", 4)), "No events this day.")
	})

	t.Run("month", func(t *testing.T) {
		p := en.Get(t, url("month", 0))
		crmStatus(t, p, http.StatusOK)
		// December 2030 from Sunday 1 December to Saturday 4 January.
		crmHas(t, p, "December 2030", link("month", -60), link("month", 1), "Next month")
		crmNoRawKeys(t, p.Body)
		if n := strings.Count(p.Body, `class="cm-week"`); n != 5 {
			t.Errorf("%d weeks, want 5", n)
		}
		cell := calMonthCell(t, p.Body, ymd(0))
		if !strings.Contains(cell, "6:00 AM</span> <span class=\"cm-event-title\">Early call") || !strings.Contains(cell, "Standup") ||
			!strings.Contains(cell, link("day", 0)) || strings.Contains(cell, "is-outside") {
			t.Errorf("31 December:\n%s", cell)
		}
		if cell := calMonthCell(t, p.Body, ymd(1)); !strings.Contains(cell, "is-outside") || !strings.Contains(cell, "Late standup") {
			t.Errorf("1 January, in December's last week:\n%s", cell)
		}
		if cell := calMonthCell(t, p.Body, ymd(2)); !strings.Contains(cell, `class="cw-chip ev-task`) || !strings.Contains(cell, "Holiday") {
			t.Errorf("the all-day item:\n%s", cell)
		}
		crmLacks(t, p, "Far review", "Busy 0", `data-date="`+ymd(5)+`"`)
		// January 2031 in Russian, from Monday 30 December to Sunday 2 February.
		p = ru.Get(t, url("month", 10))
		crmHas(t, p, "Январь 2031 г.", "Far review")
		crmNoRawKeys(t, p.Body)
		cell = calMonthCell(t, p.Body, ymd(7))
		if strings.Count(cell, ">Busy ") != 3 || !strings.Contains(cell, "ещё 2") || !strings.Contains(cell, link("day", 7)) {
			t.Errorf("the busy day:\n%s", cell)
		}
		if cell := calMonthCell(t, p.Body, ymd(-1)); !strings.Contains(cell, "is-outside") || !strings.Contains(cell, ">Standup<") {
			t.Errorf("30 December:\n%s", cell)
		}
		if n := strings.Count(p.Body, `class="cm-week"`); n != 5 {
			t.Errorf("%d weeks, want 5", n)
		}
	})

	t.Run("bad parameters fall back", func(t *testing.T) {
		crmStatus(t, en.Get(t, "/calendar?view=year&date=someday"), http.StatusOK)
		crmHas(t, en.Get(t, "/calendar?view=year&date="+ymd(0)), "Dec 29, 2030 – Jan 4, 2031")
	})
}
