package syncer_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/syncer"
)

// A change in Google Calendar reaches Tandem by push within seconds,
// without anyone pressing "Run sync now"; channels are verified and
// renewed before they expire.
func TestCalendarPush(t *testing.T) {
	ctx := context.Background()
	f := connectCalendar(t, false)
	if err := f.s.App.Settings.Put(ctx, "SiteUrl", f.s.URL, "test"); err != nil {
		t.Fatal(err)
	}
	f.api.JSON(t, "PUT", "/api/v1/connections/"+f.connID+"/calendar",
		map[string]any{"enabled": true, "calendar_id": f.work, "sync_from": "2026-01-01"}, 200, nil)
	f.sync(t)
	chans := f.g.Channels()
	if len(chans) != 1 || chans[0].Address != f.s.URL+syncer.HookPath || chans[0].CalendarID != f.work {
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
	if _, err := f.g.InsertEvent(googleUser, f.work, map[string]any{"summary": "Pushed meeting",
		"start": map[string]any{"dateTime": "2026-12-10T10:00:00Z"}, "end": map[string]any{"dateTime": "2026-12-10T11:00:00Z"}}); err != nil {
		t.Fatal(err)
	}
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
		req, _ := http.NewRequest("POST", f.s.URL+syncer.HookPath, strings.NewReader(""))
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
	old, err := st.GetChannel(ctx, chans[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	st.DeleteChannel(ctx, old.ID)
	old.ExpiresAt = time.Now().Add(time.Hour)
	if err := st.SaveChannel(ctx, old); err != nil {
		t.Fatal(err)
	}
	if err := f.s.App.Sync.EnsureChannels(ctx, f.connID); err != nil {
		t.Fatal(err)
	}
	now := f.g.Channels()
	if len(now) != 1 || now[0].ID == old.ID {
		t.Fatalf("after renewal %+v", now)
	}
	if _, err := st.GetChannel(ctx, old.ID); err != store.ErrNotFound {
		t.Errorf("old channel kept: %v", err)
	}
}
