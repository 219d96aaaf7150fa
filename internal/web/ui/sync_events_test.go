package ui_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/syncer"
	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

// sseEvent is one Server-Sent Event.
type sseEvent struct {
	Name string
	Data struct {
		State    string `json:"state"`
		Message  string `json:"message"`
		Error    string `json:"error"`
		Bindings []struct {
			Kind    string `json:"kind"`
			Running bool   `json:"running"`
			Done    bool   `json:"done"`
			Stats   struct {
				RemoteCreated int `json:"remote_created"`
				LocalCreated  int `json:"local_created"`
			} `json:"stats"`
			Status  string `json:"status"`
			Text    string `json:"text"`
			Error   string `json:"error"`
			LastRun string `json:"last_run"`
		} `json:"bindings"`
	}
}

// readEvents reads a stream's events onto a channel, closed at its end.
func readEvents(t *testing.T, resp *http.Response) <-chan sseEvent {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("stream: %d %s", resp.StatusCode, ct)
	}
	out := make(chan sseEvent, 100)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.Name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev.Data); err != nil {
					t.Errorf("event data %q: %v", line, err)
				}
			case line == "" && ev.Name != "":
				out <- ev
				ev = sseEvent{}
			}
		}
	}()
	return out
}

// nextEvent waits for the first event that satisfies ok.
func nextEvent(t *testing.T, events <-chan sseEvent, what string, ok func(sseEvent) bool) sseEvent {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev, open := <-events:
			if !open {
				t.Fatalf("the stream ended before %s", what)
			}
			if ok(ev) {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s in 30 s", what)
		}
	}
}

// TestSyncProgressLive: "Run sync now" leads to the connection's page
// following the run; its event stream shows the running counts in the
// middle of the run (held at the second contact sent to Google), then the
// final counts when it ends, and closes. Only the connection's owner may
// follow it. The stream reads the counts from the database, where the
// running process (any one) writes them: both databases.
func TestSyncProgressLive(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) {
			t.Parallel()
			testSyncProgressLive(t, tandemtest.Start(t, tandemtest.Options{Postgres: pg}))
		})
	}
}

func testSyncProgressLive(t *testing.T, s *tandemtest.Server) {
	g, api, b, page := connectGoogle(t, s, "live@gmail.com", "Live", "live@example.com", nil)
	var tag struct{ ID string }
	api.JSON(t, "POST", "/api/v1/tags", map[string]any{"name": "Live"}, http.StatusCreated, &tag)
	for _, name := range []string{"Ann Live", "Bob Live", "Cid Live"} {
		api.JSON(t, "POST", "/api/v1/contacts", map[string]any{"name": name, "tags": []string{tag.ID}}, http.StatusCreated, nil)
	}
	b.Post(t, page+"/contacts", url.Values{"enabled": {"1"}, "tag_id": {tag.ID}, "period_minutes": {"15"}, "group_name": {"Tandem"}})

	// One contact waits in Google's group: the run imports it, then sends
	// Tandem's three in one batch, held at Google.
	seedGroup(t, g, "live@gmail.com", "Tandem", "Dee Google")
	held, release := g.Hold(t, func(r *http.Request) bool {
		return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, ":batchCreateContacts")
	})
	p := b.Post(t, page+"/sync", nil)
	m := regexp.MustCompile(`\?run=(\d+)$`).FindStringSubmatch(p.URL)
	if m == nil {
		t.Fatalf("after Run sync now at %s", p.URL)
	}
	stream := page + "/sync/events?job=" + m[1]
	mustHave(t, "run page", p.Body, "Sync started.", `data-sync-events="`+stream+`"`, `data-sync-progress="contact"`, "/static/sync.js?v=")

	// Another user, and a job that is not this connection's run.
	s.NewUser(t, "other@example.com")
	ob := s.Browser(t, "other@example.com", "user-password-1")
	if r := ob.Open(t, stream); r.StatusCode != http.StatusNotFound {
		t.Errorf("another user's stream: %d", r.StatusCode)
	}
	if r := b.Open(t, page+"/sync/events?job=x"); r.StatusCode != http.StatusBadRequest {
		t.Errorf("bad job: %d", r.StatusCode)
	}
	if r := b.Open(t, page+"/sync/events?job=987654"); r.StatusCode != http.StatusNotFound {
		t.Errorf("unknown job: %d", r.StatusCode)
	}

	events := readEvents(t, b.Open(t, stream))
	select {
	case <-held:
	case <-time.After(30 * time.Second):
		t.Fatal("the run never sent its contacts")
	}
	// Google's contact is imported, Tandem's wait: the counts say so.
	ev := nextEvent(t, events, "progress with one contact imported", func(ev sseEvent) bool {
		return ev.Name == "progress" && len(ev.Data.Bindings) == 1 && ev.Data.Bindings[0].Running &&
			ev.Data.Bindings[0].Stats.LocalCreated == 1
	})
	if bd := ev.Data.Bindings[0]; ev.Data.State != "running" || bd.Kind != "contact" || bd.Status != "Syncing…" ||
		bd.Stats.RemoteCreated != 0 || !strings.Contains(bd.Text, "here: +1,") {
		t.Errorf("progress %+v", ev.Data)
	}
	release()
	ev = nextEvent(t, events, "the end", func(ev sseEvent) bool { return ev.Name == "done" })
	if len(ev.Data.Bindings) != 1 {
		t.Fatalf("done %+v", ev.Data)
	}
	if bd := ev.Data.Bindings[0]; ev.Data.State != "completed" || ev.Data.Message != "Sync finished." || !bd.Done || bd.Running ||
		bd.Stats.RemoteCreated != 3 || !strings.Contains(bd.Text, "remote: +3,") || bd.LastRun == "" || bd.Error != "" {
		t.Errorf("done %+v", ev.Data)
	}
	if _, open := <-events; open {
		t.Error("the stream goes on after its end")
	}
	if n := len(g.People("live@gmail.com")); n != 4 {
		t.Errorf("%d contacts in Google", n)
	}

	// An administrator may follow it too.
	admin := s.Browser(t, tandemtest.AdminEmail, tandemtest.AdminPassword)
	nextEvent(t, readEvents(t, admin.Open(t, stream)), "the end for the administrator", func(ev sseEvent) bool { return ev.Name == "done" })

	// Following an ended run ends at once, in the viewer's language.
	b.Post(t, "/language", url.Values{"lang": {"ru"}, "next": {page}})
	ev = nextEvent(t, readEvents(t, b.Open(t, stream)), "the end", func(ev sseEvent) bool { return ev.Name == "done" })
	if ev.Data.Message != "Синхронизация завершена." || !strings.Contains(ev.Data.Bindings[0].Text, "+3") {
		t.Errorf("ru %+v", ev.Data)
	}

	// "Run sync now" on the contacts page, with one account syncing
	// contacts, follows the run on that account's page.
	p = b.Post(t, "/contacts/sync", nil)
	if !regexp.MustCompile(regexp.QuoteMeta(page) + `\?run=\d+$`).MatchString(p.URL) {
		t.Errorf("after Run sync now on the contacts page at %s", p.URL)
	}
	mustHave(t, "contacts page run", p.Body, "Синхронизация запущена.", "data-sync-events=")
}

// TestSyncEventsEndOnShutdown: a stream following a run that has not
// started does not hold up the server's shutdown.
func TestSyncEventsEndOnShutdown(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	ctx := context.Background()
	api := s.NewUser(t, "shut@example.com")
	b := s.Browser(t, "shut@example.com", "user-password-1")
	cn := &store.Connection{UserID: api.UserID, Provider: "google", AccountEmail: "shut@gmail.com", Status: store.ConnectionActive}
	if err := s.App.Store.CreateConnection(ctx, cn, ""); err != nil {
		t.Fatal(err)
	}
	job, _, err := s.App.Queue.Enqueue(ctx, syncer.RunArgs{ConnectionID: cn.ID, Reason: "manual"},
		&river.InsertOpts{ScheduledAt: time.Now().Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	// The same handler on a server of our own, to shut it down.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: s.Handler}
	go srv.Serve(ln)
	events := readEvents(t, b.Open(t, "http://"+ln.Addr().String()+"/profile/accounts/"+cn.ID+"/sync/events?job="+strconv.FormatInt(job, 10)))
	if ev := nextEvent(t, events, "the waiting run", func(sseEvent) bool { return true }); ev.Data.State != "queued" {
		t.Errorf("first event %+v", ev)
	}
	shutCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	for range events { // the stream has ended
	}
}
