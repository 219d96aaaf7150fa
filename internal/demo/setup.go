package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tandem-crm/tandem/internal/app"
	"github.com/tandem-crm/tandem/internal/emulator/google"
	"github.com/tandem-crm/tandem/internal/jobs"
	"github.com/tandem-crm/tandem/internal/oauth"
	"github.com/tandem-crm/tandem/internal/reconcile"
)

// Names the demo's data and summary share.
const (
	tagName     = "Google" // the personal tag whose contacts sync
	groupName   = "Tandem" // GoogleApplicationName: the contact group in Google
	zone        = "Europe/Berlin"
	settingsBy  = "demo"
	syncPeriod  = 15 // minutes between automatic runs
	jobPollTick = 50 * time.Millisecond
)

type demo struct {
	o    Options
	a    *app.App
	emu  *google.Server
	c    *client
	info *Info

	tagID    string
	calendar string // the synced calendar's id
	syncFrom string
}

// configure enters the system settings an administrator would for a
// company Google app, pointed at the emulator.
func configure(ctx context.Context, a *app.App, site, emu string) error {
	for _, kv := range [][2]string{
		{"SiteUrl", site},
		{"UseSharedGoogleApp", "false"},
		{"CalendarIntegration", "google"},
		{"GoogleClientId", clientID},
		{"GoogleClientSecret", clientSecret},
		{"GoogleApplicationName", groupName},
		{"GoogleApiUrl", emu},
		{"GoogleAuthUrl", emu + "/o/oauth2/v2/auth"},
		{"GoogleTokenUrl", emu + "/token"},
		{"GoogleUserInfoUrl", emu + "/oauth2/v3/userinfo"},
	} {
		if err := a.Settings.Put(ctx, kv[0], kv[1], settingsBy); err != nil {
			return fmt.Errorf("setting %s: %w", kv[0], err)
		}
	}
	return nil
}

// firstSync is what the first run did, by binding.
type firstSync struct {
	Contacts, Calendar reconcile.Stats
}

// setUp signs in, adds the CRM data, connects the Google account, sets
// up both syncs and runs the first sync.
func (d *demo) setUp(ctx context.Context) (firstSync, error) {
	if err := d.signIn(ctx); err != nil {
		return firstSync{}, err
	}
	if err := d.addRecords(ctx); err != nil {
		return firstSync{}, fmt.Errorf("demo data: %w", err)
	}
	if err := d.connect(ctx); err != nil {
		return firstSync{}, fmt.Errorf("connect %s: %w", GoogleAccount, err)
	}
	if err := d.setUpSync(ctx); err != nil {
		return firstSync{}, fmt.Errorf("sync settings: %w", err)
	}
	return d.runFirstSync(ctx)
}

// signIn gets an API token and a UI session as the administrator, and
// gives them the demo account's name and time zone.
func (d *demo) signIn(ctx context.Context) error {
	var tok struct {
		Token  string `json:"token"`
		UserID string `json:"user_id"`
	}
	if err := d.c.api(ctx, "POST", "/api/v1/auth/token", map[string]string{"email": d.info.Email, "password": d.info.Password},
		http.StatusCreated, &tok); err != nil {
		return fmt.Errorf("sign in: %w", err)
	}
	d.c.token = tok.Token
	if err := d.c.api(ctx, "PATCH", "/api/v1/users/"+tok.UserID, map[string]string{"name": "Alice Anders", "time_zone": zone},
		http.StatusOK, nil); err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	if _, err := d.c.page(ctx, "/login", nil); err != nil {
		return err
	}
	at, err := d.c.page(ctx, "/login", url.Values{"email": {d.info.Email}, "password": {d.info.Password}})
	if err != nil {
		return fmt.Errorf("sign in to the UI: %w", err)
	}
	if at.Path == "/login" {
		return errors.New("sign in to the UI: the password was not accepted")
	}
	return nil
}

// addRecords adds accounts, contacts (two with the personal tag that
// syncs) and activities for the calendar, dated around today.
func (d *demo) addRecords(ctx context.Context) error {
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return err
	}
	now := d.o.Now().In(loc)
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	at := func(days int, hour, minute int) string {
		return day.AddDate(0, 0, days).Add(time.Duration(hour)*time.Hour + time.Duration(minute)*time.Minute).Format(time.RFC3339)
	}
	id := func(path string, in any) (string, error) {
		var out struct{ ID string }
		err := d.c.api(ctx, "POST", path, in, http.StatusCreated, &out)
		return out.ID, err
	}

	if d.tagID, err = id("/api/v1/tags", map[string]any{"name": tagName, "kind": "personal"}); err != nil {
		return err
	}
	accounts := map[string]string{}
	for _, a := range []map[string]any{
		{"name": "Northwind Traders", "type": "customer", "industry": "Wholesale", "website": "https://northwind.example"},
		{"name": "Contoso", "type": "partner", "industry": "Software", "website": "https://contoso.example"},
		{"name": "Fabrikam", "type": "supplier", "industry": "Manufacturing"},
	} {
		if accounts[a["name"].(string)], err = id("/api/v1/accounts", a); err != nil {
			return err
		}
	}
	contact := func(given, family, title, account, email, phone string, tagged bool) (string, error) {
		c := map[string]any{"given_name": given, "family_name": family, "job_title": title, "account_id": accounts[account],
			"type":   "customer",
			"emails": []any{map[string]any{"address": email, "kind": "work", "primary": true}},
			"phones": []any{map[string]any{"number": phone, "kind": "work", "primary": true}}}
		if tagged {
			c["tags"] = []string{d.tagID}
		}
		return id("/api/v1/contacts", c)
	}
	nina, err := contact("Nina", "Novak", "Head of Purchasing", "Northwind Traders", "nina.novak@northwind.example", "+49 30 5550 101", true)
	if err != nil {
		return err
	}
	oleg, err := contact("Oleg", "Orlov", "CTO", "Contoso", "oleg@contoso.example", "+49 40 5550 202", true)
	if err != nil {
		return err
	}
	if _, err := contact("Paula", "Perez", "Office manager", "Fabrikam", "paula@fabrikam.example", "+49 89 5550 303", false); err != nil {
		return err
	}
	if _, err := contact("Quentin", "Quinn", "Logistics", "Northwind Traders", "quentin@northwind.example", "+49 30 5550 104", false); err != nil {
		return err
	}
	for _, a := range []map[string]any{
		{"type": "meeting", "title": "Kick-off with Northwind", "location": "Northwind, Berlin",
			"start": at(2, 14, 0), "end": at(2, 15, 0), "account_id": accounts["Northwind Traders"], "contact_id": nina,
			"participants": []any{map[string]any{"contact_id": nina, "email": "nina.novak@northwind.example", "name": "Nina Novak"}}},
		{"type": "call", "title": "Call Oleg about the pilot", "start": at(1, 11, 0), "end": at(1, 11, 30),
			"account_id": accounts["Contoso"], "contact_id": oleg},
		{"type": "meeting", "title": "Pipeline review", "start": at(-14, 8, 30), "end": at(-14, 9, 0),
			"rrule": "FREQ=WEEKLY;COUNT=8", "description": "Every week: deals, next steps, forecasts."},
		{"type": "task", "title": "Send the pilot proposal to Contoso", "start": at(3, 9, 0), "end": at(3, 10, 0),
			"show_in_calendar": false, "account_id": accounts["Contoso"], "contact_id": oleg},
	} {
		a["time_zone"] = zone
		if _, ok := a["show_in_calendar"]; !ok {
			a["show_in_calendar"] = true
		}
		if _, err := id("/api/v1/activities", a); err != nil {
			return err
		}
	}
	return nil
}

// connect connects the administrator's Google account as a user would:
// "Add Google account" on the External accounts page, the emulator
// approving as the demo account (instead of its consent page), Tandem's
// callback exchanging the code with the PKCE verifier.
func (d *demo) connect(ctx context.Context) error {
	if _, err := d.c.page(ctx, "/profile/accounts", nil); err != nil {
		return err
	}
	// Approve only this authorization: afterwards "Add Google account"
	// shows the emulator's consent page, where bob@example.com can be
	// chosen.
	d.emu.SetAutoApprove(GoogleAccount)
	at, err := d.c.page(ctx, "/oauth/google/start", url.Values{})
	d.emu.SetAutoApprove("")
	if err != nil {
		return err
	}
	var conns struct {
		Items []struct {
			ID           string `json:"id"`
			AccountEmail string `json:"account_email"`
			Status       string `json:"status"`
		} `json:"items"`
	}
	if err := d.c.api(ctx, "GET", "/api/v1/connections", nil, http.StatusOK, &conns); err != nil {
		return err
	}
	for _, c := range conns.Items {
		if c.AccountEmail == GoogleAccount && c.Status == "active" {
			d.info.ConnectionID = c.ID
			return nil
		}
	}
	return fmt.Errorf("the authorization ended on %s without a connection", at)
}

// setUpSync turns on contact sync (the personal tag) and calendar sync
// (the primary calendar, from a month ago), both on a period.
func (d *demo) setUpSync(ctx context.Context) error {
	conn := "/api/v1/connections/" + d.info.ConnectionID
	if err := d.c.api(ctx, "PUT", conn+"/contacts", map[string]any{"enabled": true, "tag_id": d.tagID, "auto": true,
		"period_minutes": syncPeriod}, http.StatusOK, nil); err != nil {
		return err
	}
	var cals struct {
		Items []struct {
			ID      string `json:"id"`
			Primary bool   `json:"primary"`
		} `json:"items"`
	}
	if err := d.c.api(ctx, "GET", conn+"/calendars", nil, http.StatusOK, &cals); err != nil {
		return err
	}
	for _, c := range cals.Items {
		if c.Primary {
			d.calendar = c.ID
		}
	}
	if d.calendar == "" {
		return errors.New("the Google account has no primary calendar")
	}
	d.syncFrom = d.o.Now().AddDate(0, -1, 0).Format(reconcile.DateLayout)
	return d.c.api(ctx, "PUT", conn+"/calendar", map[string]any{"enabled": true, "calendar_id": d.calendar,
		"sync_from": d.syncFrom, "auto": true, "period_minutes": syncPeriod}, http.StatusOK, nil)
}

// runFirstSync asks for a run as "Run sync now" does and waits for its
// job to end.
func (d *demo) runFirstSync(ctx context.Context) (firstSync, error) {
	conn := "/api/v1/connections/" + d.info.ConnectionID
	var queued struct {
		JobID int64 `json:"job_id"`
	}
	if err := d.c.api(ctx, "POST", conn+"/sync", nil, http.StatusAccepted, &queued); err != nil {
		return firstSync{}, err
	}
	job, err := d.waitJob(ctx, queued.JobID)
	if err != nil {
		return firstSync{}, err
	}
	var fs firstSync
	var errs []string
	for _, b := range []struct {
		path  string
		stats *reconcile.Stats
	}{{"/contacts", &fs.Contacts}, {"/calendar", &fs.Calendar}} {
		var st struct {
			LastError string          `json:"last_error"`
			LastStats json.RawMessage `json:"last_stats"`
		}
		if err := d.c.api(ctx, "GET", conn+b.path, nil, http.StatusOK, &st); err != nil {
			return fs, err
		}
		if st.LastError != "" {
			errs = append(errs, strings.TrimPrefix(b.path, "/")+": "+st.LastError)
		}
		if len(st.LastStats) > 0 {
			if err := json.Unmarshal(st.LastStats, b.stats); err != nil {
				return fs, fmt.Errorf("%s stats: %w", b.path, err)
			}
		}
	}
	if job.State != jobs.StateCompleted || len(errs) > 0 {
		return fs, fmt.Errorf("the first sync failed (job %s): %s %s", job.State, strings.Join(errs, "; "), strings.Join(job.Errors, "; "))
	}
	return fs, nil
}

// waitJob waits until a job has run: completed, or failed (retryable,
// cancelled, discarded).
func (d *demo) waitJob(ctx context.Context, id int64) (jobs.Job, error) {
	t := time.NewTicker(jobPollTick)
	defer t.Stop()
	for {
		j, err := d.a.Queue.Get(ctx, id)
		if err != nil {
			return j, fmt.Errorf("first sync: %w", err)
		}
		switch j.State {
		case jobs.StateCompleted, jobs.StateRetryable, jobs.StateCancelled, jobs.StateDiscarded:
			return j, nil
		}
		select {
		case <-ctx.Done():
			return j, ctx.Err()
		case <-t.C:
		}
	}
}

// oauthCallback is where the emulator sends the browser back.
func oauthCallback(site string) string { return site + oauth.GoogleCallbackPath }
