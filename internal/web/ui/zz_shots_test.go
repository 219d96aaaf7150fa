package ui_test

import (
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

func TestZZShots(t *testing.T) {
	if os.Getenv("SHOTS") == "" {
		t.Skip()
	}
	s := tandemtest.Start(t, tandemtest.Options{})
	var tg struct{ ID string }
	s.Admin.JSON(t, "POST", "/api/v1/tags", map[string]any{"name": "VIP", "kind": "corporate", "color": "green"}, 201, &tg)
	var acc struct{ ID string }
	s.Admin.JSON(t, "POST", "/api/v1/accounts", map[string]any{"name": "ООО Ромашка", "industry": "Retail"}, 201, &acc)
	var c struct{ ID string }
	s.Admin.JSON(t, "POST", "/api/v1/contacts", map[string]any{"given_name": "Анна", "family_name": "Петрова", "job_title": "CFO", "account_id": acc.ID, "tags": []string{tg.ID},
		"emails": []map[string]any{{"address": "anna@example.com", "primary": true}, {"address": "anna@home.example", "kind": "home"}},
		"phones": []map[string]any{{"number": "+7 900 123-45-67"}}}, 201, &c)
	now := time.Now().UTC()
	for i, h := range []int{9, 10, 13} {
		st := time.Date(now.Year(), now.Month(), now.Day(), h, 0, 0, 0, time.UTC)
		s.Admin.JSON(t, "POST", "/api/v1/activities", map[string]any{"type": []string{"meeting", "call", "task"}[i], "title": "Event " + string(rune('A'+i)),
			"start": st.Format(time.RFC3339), "end": st.Add(90 * time.Minute).Format(time.RFC3339), "show_in_calendar": true, "contact_id": c.ID,
			"participants": []map[string]any{{"email": "x@example.com"}}, "rrule": "FREQ=DAILY;COUNT=3"}, 201, nil)
	}
	d := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	s.Admin.JSON(t, "POST", "/api/v1/activities", map[string]any{"type": "note", "title": "Conference", "all_day": true,
		"start": d.Format("2006-01-02"), "end": d.AddDate(0, 0, 2).Format("2006-01-02"), "show_in_calendar": true}, 201, nil)
	_ = http.StatusOK
	ctx := newChrome(t, 90*time.Second)
	if err := chromedp.Do(ctx, chromedp.Navigate(s.URL+"/login"), chromedp.WaitVisible(chromedp.ID("f-email")),
		chromedp.SendKeys(chromedp.ID("f-email"), tandemtest.AdminEmail), chromedp.SendKeys(chromedp.ID("f-password"), tandemtest.AdminPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type="submit"]`)), chromedp.WaitVisible(chromedp.ID("contact-q"))); err != nil {
		t.Fatal(err)
	}
	var actID string
	for _, p := range []string{"/contacts", "/contacts/new", "/contacts/" + c.ID, "/accounts/" + acc.ID, "/activities", "/activities/new", "/calendar", "/tags", "/groups"} {
		if err := chromedp.Do(ctx, chromedp.Navigate(s.URL+p), chromedp.WaitVisible(chromedp.CSS("main"))); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
		buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		name := "/tmp/shots/" + map[string]string{"/contacts": "list", "/contacts/new": "cnew", "/activities": "alist", "/activities/new": "anew", "/calendar": "cal", "/tags": "tags", "/groups": "groups"}[p] + ".png"
		if name == "/tmp/shots/.png" {
			name = "/tmp/shots/card" + p[1:4] + ".png"
		}
		os.WriteFile(name, buf, 0o644)
	}
	_ = actID
}
