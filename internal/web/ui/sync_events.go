package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tandem-crm/tandem/internal/jobs"
	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/syncer"
)

// Live progress of a sync run, as Server-Sent Events. After "Run sync now"
// a connection's page opens
//
//	GET /profile/accounts/{id}/sync/events?job=<the run's job>
//
// which sends a "progress" event whenever the run's state or counts
// change, and one "done" event with the final counts (or the error) once
// the job has ended; then the stream ends. The running process may be
// another one (a worker on PostgreSQL): it writes the counts to the
// binding's row now and then (syncer, store.SaveRunProgress), and the
// stream polls the database.

// syncEventsEvery is how often the stream looks at the database;
// syncEventsKeepAlive how often an idle stream sends a comment, so proxies
// keep it open; syncEventsMax how long a stream lasts at most (the job's
// own timeout is 30 minutes).
const (
	syncEventsEvery     = 500 * time.Millisecond
	syncEventsKeepAlive = 15 * time.Second
	syncEventsMax       = time.Hour
)

// syncEvent is the data of an event. Texts are in the viewer's language.
type syncEvent struct {
	// State: "queued", "running"; at the end "completed" or "failed".
	State    string             `json:"state"`
	Message  string             `json:"message"`
	Error    string             `json:"error,omitempty"`
	Bindings []syncBindingEvent `json:"bindings"`
}

// syncBindingEvent is one binding (contacts, calendar) of the run.
type syncBindingEvent struct {
	Kind    string          `json:"kind"`
	Running bool            `json:"running"` // under way now
	Done    bool            `json:"done"`    // run by this job
	Stats   reconcile.Stats `json:"stats"`
	Status  string          `json:"status"`
	Text    string          `json:"text,omitempty"` // the counts
	Error   string          `json:"error,omitempty"`
	LastRun string          `json:"last_run,omitempty"`
}

// streamContext is the context of a long-lived response: the request's,
// also ended when the server begins to shut down, which otherwise waits
// for every response to finish.
func (u *UI) streamContext(r *http.Request) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(r.Context())
	srv, _ := r.Context().Value(http.ServerContextKey).(*http.Server)
	if srv == nil {
		return ctx, cancel
	}
	u.streamsMu.Lock()
	stop, ok := u.streamsStop[srv]
	if !ok {
		if u.streamsStop == nil {
			u.streamsStop = map[*http.Server]chan struct{}{}
		}
		stop = make(chan struct{})
		u.streamsStop[srv] = stop
		srv.RegisterOnShutdown(func() { close(stop) })
	}
	u.streamsMu.Unlock()
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

func (u *UI) syncEvents(w http.ResponseWriter, r *http.Request, c *Ctx) {
	ctx, cancel := u.streamContext(r)
	defer cancel()
	cn, err := u.st.GetUserConnection(ctx, c.V.UserID, r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) && c.V.IsAdmin() {
		cn, err = u.st.GetConnection(ctx, r.PathValue("id"))
	}
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	if u.jobs == nil {
		u.errorPage(w, r, c, http.StatusServiceUnavailable)
		return
	}
	jobID, err := strconv.ParseInt(r.URL.Query().Get("job"), 10, 64)
	if err != nil {
		u.errorPage(w, r, c, http.StatusBadRequest)
		return
	}
	// Only a run of this connection: other jobs are none of its business.
	j, err := u.jobs.Get(ctx, jobID)
	var args syncer.RunArgs
	if err == nil && (j.Kind != args.Kind() || json.Unmarshal(j.Args, &args) != nil || args.ConnectionID != cn.ID) {
		err = jobs.ErrNotFound
	}
	if errors.Is(err, jobs.ErrNotFound) {
		u.errorPage(w, r, c, http.StatusNotFound)
		return
	}
	if err != nil {
		u.fail(w, r, c, err)
		return
	}

	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: pass events on at once
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a server write timeout must not cut the stream
	w.WriteHeader(http.StatusOK)
	send := func(event string, data []byte) bool {
		if event != "" {
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, data)
		} else {
			fmt.Fprint(w, ": keep-alive\n\n")
		}
		return rc.Flush() == nil
	}
	every := u.syncEventsEvery
	if every <= 0 {
		every = syncEventsEvery
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	end := time.Now().Add(syncEventsMax)
	var last []byte
	lastSent := time.Now()
	for {
		ev, done, err := u.syncState(ctx, c, cn.ID, u.providerName(c.Lang, cn.Provider), jobID)
		if err != nil {
			if ctx.Err() == nil {
				u.log.ErrorContext(ctx, "sync events", "connection", cn.ID, "job", jobID, "err", err)
			}
			return // the browser tries again
		}
		data, _ := json.Marshal(ev)
		switch {
		case done:
			send("done", data)
			return
		case !bytes.Equal(data, last):
			if !send("progress", data) {
				return
			}
			last, lastSent = data, time.Now()
		case time.Since(lastSent) >= syncEventsKeepAlive:
			if !send("", nil) {
				return
			}
			lastSent = time.Now()
		}
		if time.Now().After(end) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// syncState reads where job, a run of connection connID (of the provider
// named providerName), is; done once it has ended.
func (u *UI) syncState(ctx context.Context, c *Ctx, connID, providerName string, jobID int64) (syncEvent, bool, error) {
	j, err := u.jobs.Get(ctx, jobID)
	gone := errors.Is(err, jobs.ErrNotFound) // cleaned up: it ended long ago
	if err != nil && !gone {
		return syncEvent{}, false, err
	}
	bs, err := u.st.ListBindings(ctx, connID)
	if err != nil {
		return syncEvent{}, false, err
	}
	var ev syncEvent
	done := true
	switch {
	case gone, j.State == jobs.StateCompleted:
		ev.State, ev.Message = "completed", c.Lang.T("sync.progress.completed")
	case j.State == jobs.StateRetryable, j.State == jobs.StateCancelled, j.State == jobs.StateDiscarded:
		ev.State = "failed"
		if n := len(j.Errors); n > 0 {
			ev.Error = j.Errors[n-1]
		}
		ev.Message = c.Lang.T("sync.progress.failed")
		if j.State == jobs.StateRetryable {
			ev.Message = c.Lang.T("sync.progress.failed_retry")
		}
	case j.State == jobs.StateRunning:
		ev.State, ev.Message, done = "running", c.Lang.T("sync.progress.running"), false
	default: // waiting for a worker, or for another process's run to end
		ev.State, ev.Message, done = "queued", c.Lang.T("sync.progress.queued"), false
	}
	counts := func(st reconcile.Stats) string {
		s := c.Lang.T("sync.counts.value", st.LocalCreated, st.LocalUpdated, st.LocalRemoved, st.RemoteCreated,
			st.RemoteUpdated, st.RemoteRemoved)
		if st.Linked > 0 {
			s += " · " + c.Lang.T("sync.counts.linked", st.Linked)
		}
		return s
	}
	// A kind may have several bindings (calendars picked together): the
	// card's line shows them as one, their counts summed.
	byKind := map[string]*kindProgress{}
	var order []string
	for _, b := range bs {
		if !b.Enabled {
			continue
		}
		if byKind[b.Kind] == nil {
			byKind[b.Kind] = &kindProgress{}
			order = append(order, b.Kind)
		}
		k := byKind[b.Kind]
		k.bindings++
		var st reconcile.Stats
		ranHere := j.AttemptedAt != nil && !b.LastRunAt.Before(*j.AttemptedAt)
		switch {
		case done || (ranHere && b.RunProgress == ""):
			json.Unmarshal([]byte(b.LastStats), &st)
			k.done++
			if b.LastError != "" {
				k.errs = append(k.errs, b.LastError)
			}
			if b.LastRunAt.After(k.lastRun) {
				k.lastRun = b.LastRunAt
			}
		case ev.State == "running" && b.RunProgress != "":
			json.Unmarshal([]byte(b.RunProgress), &st)
			k.running++
		}
		k.stats = k.stats.Plus(st)
	}
	for _, kind := range order {
		k := byKind[kind]
		be := syncBindingEvent{Kind: kind, Stats: k.stats}
		switch {
		case k.done == k.bindings:
			be.Done, be.Error = true, strings.Join(k.errs, "; ")
			be.Status = c.Lang.T("sync.progress.finished")
			if be.Error != "" {
				be.Status = c.Lang.T("sync.progress.binding_failed")
			}
			if !k.lastRun.IsZero() {
				be.LastRun = c.Lang.FormatDateTime(k.lastRun.In(c.Loc))
			}
			be.Text = counts(be.Stats)
		case k.running > 0 || k.done > 0:
			be.Running, be.Status = true, c.Lang.T("sync.progress.running")
			be.Text = c.Lang.T("sync.progress.read", providerName, be.Stats.Pulled) + " · " + counts(be.Stats)
		default:
			be.Status = c.Lang.T("sync.progress.waiting")
		}
		ev.Bindings = append(ev.Bindings, be)
	}
	return ev, done, nil
}

// kindProgress is where the bindings of one kind are in a run.
type kindProgress struct {
	stats                   reconcile.Stats
	bindings, running, done int
	errs                    []string
	lastRun                 time.Time
}
