package syncer_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/provider"
	googleprov "github.com/tandem-crm/tandem/internal/provider/google"

	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

// serveTLS serves Tandem over https too, with httptest's certificate,
// which the emulator is told to trust as Google trusts a real one.
func (f *calendarFixture) serveTLS(t *testing.T) string {
	t.Helper()
	ts := httptest.NewTLSServer(f.s.Handler)
	t.Cleanup(ts.Close)
	f.g.TrustPushCertificate(ts.Certificate())
	return ts.URL
}

func (f *calendarFixture) set(t *testing.T, code, value string) {
	t.Helper()
	if err := f.s.App.Settings.Put(context.Background(), code, value, "test"); err != nil {
		t.Fatal(err)
	}
}

// storedChannels are the push channels Tandem keeps for the calendar binding.
func (f *calendarFixture) storedChannels(t *testing.T) []*store.Subscription {
	t.Helper()
	ctx := context.Background()
	b, _, err := f.s.App.Sync.EventBinding(ctx, f.connID)
	if err != nil {
		t.Fatal(err)
	}
	chans, err := f.s.App.Store.Subscriptions(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	return chans
}

// insertEvent adds an event in Google days from today, 10:00–11:00 UTC.
func (f *calendarFixture) insertEvent(t *testing.T, title string, days int) {
	t.Helper()
	start := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, days).Add(10 * time.Hour)
	if _, err := f.g.InsertEvent(googleUser, f.work, map[string]any{"summary": title,
		"start": map[string]any{"dateTime": start.Format(time.RFC3339)},
		"end":   map[string]any{"dateTime": start.Add(time.Hour).Format(time.RFC3339)}}); err != nil {
		t.Fatal(err)
	}
}

func (f *calendarFixture) enableCalendar(t *testing.T) {
	t.Helper()
	from := time.Now().AddDate(0, 0, -30).Format("2006-01-02")
	f.api.JSON(t, "PUT", "/api/v1/connections/"+f.connID+"/calendar",
		map[string]any{"enabled": true, "calendar_id": f.work, "sync_from": from, "auto": true, "period_minutes": 15}, 200, nil)
}

// A change in Google Calendar reaches Tandem by push within seconds,
// without anyone pressing "Run sync now"; channels are verified and
// renewed before they expire.
func TestCalendarPush(t *testing.T) {
	ctx := context.Background()
	f := connectCalendar(t, false)
	site := f.serveTLS(t)
	f.set(t, "SiteUrl", site)
	f.enableCalendar(t)
	f.sync(t)
	chans := f.g.Channels()
	if len(chans) != 1 || chans[0].Address != site+googleprov.HookPath || chans[0].CalendarID != f.work {
		t.Fatalf("channels %+v", chans)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(f.g.PushLog()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if log := f.g.PushLog(); len(log) == 0 || log[0].State != "sync" || log[0].Status != http.StatusOK {
		t.Fatalf("first notification %+v", log)
	}

	// An event added in Google arrives by itself.
	f.insertEvent(t, "Pushed meeting", 5)
	start := time.Now()
	deadline = time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, ok := f.activities(t)["Pushed meeting"]; ok {
			t.Logf("arrived %v after the change", time.Since(start).Round(time.Millisecond))
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, ok := f.activities(t)["Pushed meeting"]; !ok {
		t.Fatalf("push did not bring the event; pushes %+v", f.g.PushLog())
	}

	// Notifications that do not match a channel and its token are refused.
	for _, h := range [][2]string{{chans[0].ID, "wrong"}, {"no-such-channel", chans[0].Token}} {
		req, _ := http.NewRequest("POST", f.s.URL+googleprov.HookPath, strings.NewReader(""))
		req.Header.Set("X-Goog-Channel-ID", h[0])
		req.Header.Set("X-Goog-Channel-Token", h[1])
		req.Header.Set("X-Goog-Resource-State", "exists")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("forged notification %v: %d", h, resp.StatusCode)
		}
	}

	// A channel close to expiry is replaced: new one first, old one stopped.
	st := f.s.App.Store
	old, err := st.GetSubscription(ctx, chans[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	st.DeleteSubscription(ctx, old.ID)
	old.ExpiresAt = time.Now().Add(time.Hour)
	if err := st.SaveSubscription(ctx, old); err != nil {
		t.Fatal(err)
	}
	if err := f.s.App.Sync.EnsureSubscriptions(ctx, f.connID); err != nil {
		t.Fatal(err)
	}
	now := f.g.Channels()
	if len(now) != 1 || now[0].ID == old.ID {
		t.Fatalf("after renewal %+v", now)
	}
	if _, err := st.GetSubscription(ctx, old.ID); err != store.ErrNotFound {
		t.Errorf("old channel kept: %v", err)
	}
}

// Google delivers notifications only to https addresses: with an http
// push address Tandem opens no channel (one that never hears from Google
// would only hide that changes arrive late), stops the ones it had, keeps
// polling, and says so on the calendar card, the settings page and in the
// API.
func TestCalendarPushNeedsHTTPS(t *testing.T) {
	ctx := context.Background()
	f := connectCalendar(t, false)
	f.set(t, "SiteUrl", f.s.URL) // http
	f.enableCalendar(t)
	julia := f.s.Browser(t, "julia@example.com", "user-password-1")
	admin := f.s.Browser(t, tandemtest.AdminEmail, tandemtest.AdminPassword)
	card := "/profile/accounts/" + f.connID
	const cardNotice = "Push is off: the push address must be https. Polling every 15 minutes."

	type pushState struct {
		On     bool   `json:"on"`
		Reason string `json:"reason"`
	}
	push := func() pushState {
		var out struct{ Push pushState }
		f.api.JSON(t, "GET", "/api/v1/connections/"+f.connID+"/calendar", nil, 200, &out)
		return out.Push
	}
	check := func(step string, wantOn bool, wantChannels int) {
		t.Helper()
		if got := push(); got.On != wantOn || (got.Reason == "") != wantOn || (!wantOn && got.Reason != string(provider.PushNotHTTPS)) {
			t.Errorf("%s: API push %+v", step, got)
		}
		if n := len(f.g.Channels()); n != wantChannels {
			t.Errorf("%s: %d channels in Google, want %d", step, n, wantChannels)
		}
		if n := len(f.storedChannels(t)); n != wantChannels {
			t.Errorf("%s: %d channels stored, want %d", step, n, wantChannels)
		}
		if shown := strings.Contains(julia.Get(t, card).Body, cardNotice); shown == wantOn {
			t.Errorf("%s: card notice shown = %v", step, shown)
		}
		page := admin.Get(t, "/admin/settings").Body
		if shown := strings.Contains(page, `id="push-off"`); shown == wantOn || (shown && !strings.Contains(page, "is "+f.s.URL+".")) {
			t.Errorf("%s: settings page notice shown = %v", step, shown)
		}
	}

	st := f.sync(t) // fails the test if the run failed
	if st.Collection != f.work {
		t.Fatalf("calendar not synced: %+v", st)
	}
	if n := f.g.Calls()["calendar.events.watch"]; n != 0 {
		t.Fatalf("%d watch calls with an http push address", n)
	}
	check("http", false, 0)

	// Polling still brings changes from Google.
	f.insertEvent(t, "Polled meeting", 3)
	asked := time.Now()
	if err := f.s.App.Sync.EnqueueDue(ctx, time.Now().Add(16*time.Minute)); err != nil {
		t.Fatal(err)
	}
	f.waitRun(t, asked)
	if _, ok := f.activities(t)["Polled meeting"]; !ok {
		t.Fatal("the scheduled run did not bring the event")
	}

	// An https push address (GooglePushServiceUrl before SiteUrl) opens a
	// channel there.
	hook := f.serveTLS(t)
	f.set(t, "GooglePushServiceUrl", hook)
	f.sync(t)
	if chans := f.g.Channels(); len(chans) != 1 || chans[0].Address != hook+googleprov.HookPath {
		t.Fatalf("channels %+v", chans)
	}
	check("https", true, 1)

	// Back to http: the channel is stopped at Google and forgotten.
	f.set(t, "GooglePushServiceUrl", "")
	f.sync(t)
	if n := f.g.Calls()["calendar.channels.stop"]; n != 1 {
		t.Errorf("%d channels.stop calls", n)
	}
	check("http again", false, 0)

	// In Russian too, with the count's plural form.
	julia.Post(t, "/profile", url.Values{"name": {"Julia"}, "language": {"ru"}, "time_zone": {"UTC"}})
	const ru = "Push-уведомления выключены: адрес для push должен быть https. Опрос каждые 15 минут."
	if body := julia.Get(t, card).Body; !strings.Contains(body, ru) {
		t.Errorf("Russian card lacks %q", ru)
	}
}
