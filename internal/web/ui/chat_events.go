package ui

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/tandem-crm/tandem/internal/chat"
	"github.com/tandem-crm/tandem/internal/settings"
)

// The operator panel's live updates, as Server-Sent Events:
//
//	GET /chats/events[?chat=<id>]
//
// listens to the chat event bus (every server process's events, through
// PostgreSQL's LISTEN/NOTIFY there) and passes on, as they happen:
//
//   - "panel": an event that concerns the viewer's lists (chat.Event.Concerns:
//     their chats, their queues' chats, their own status);
//   - "chat": an event of the open chat (?chat=), which the viewer may see;
//   - "reload": events were missed (the stream fell behind, or a
//     process lost its database connection): read the lists again.
//
// The data is the chat.Event as JSON. The page reads what it shows from
// the server again; the events only say when.

const (
	chatEventsKeepAlive = 15 * time.Second
	chatEventsMax       = time.Hour
)

// chatQueueSets are the queues the viewer works and every queue known when
// they were read: an event of a queue not among them means the queues
// changed.
type chatQueueSets struct {
	mine, known map[string]bool
}

func (u *UI) readQueueSets(ctx context.Context, userID string) (chatQueueSets, error) {
	s := chatQueueSets{mine: map[string]bool{}, known: map[string]bool{}}
	mine, err := u.st.ChatQueuesOf(ctx, userID)
	if err != nil {
		return s, err
	}
	for _, id := range mine {
		s.mine[id] = true
	}
	all, err := u.st.ChatQueues(ctx)
	if err != nil {
		return s, err
	}
	for _, q := range all {
		s.known[q.ID] = true
	}
	return s, nil
}

func (s chatQueueSets) stale(e chat.Event) bool {
	return (e.QueueID != "" && !s.known[e.QueueID]) || (e.PrevQueueID != "" && !s.known[e.PrevQueueID])
}

func (u *UI) chatEvents(w http.ResponseWriter, r *http.Request, c *Ctx) {
	if u.chat == nil || u.chatBus == nil {
		u.errorPage(w, r, c, http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := u.streamContext(r)
	defer cancel()
	// Subscribe before reading anything, so no event falls between.
	events, stop := u.chatBus.Subscribe()
	defer stop()
	open := r.URL.Query().Get("chat")
	if open != "" {
		if _, err := u.visibleChat(ctx, c, open); err != nil {
			u.fail(w, r, c, err)
			return
		}
	}
	me := c.V.UserID
	sets, err := u.readQueueSets(ctx, me)
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
	fmt.Fprint(w, ": open\n\n")
	if rc.Flush() != nil {
		return
	}
	// Events arrive in bursts (a process's NOTIFY carries a batch of
	// them): each is written as it comes, and the stream flushed once
	// nothing more is waiting, one write for the burst.
	var pending bool
	write := func(name string, e chat.Event) {
		data, _ := json.Marshal(e)
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, data)
		pending = true
	}
	flush := func() bool {
		if !pending {
			return true
		}
		pending = false
		return rc.Flush() == nil
	}
	keep := time.NewTicker(chatEventsKeepAlive)
	defer keep.Stop()
	end := time.NewTimer(chatEventsMax)
	defer end.Stop()
	for {
		var e chat.Event
		var ok bool
		select {
		case e, ok = <-events:
		default:
			if !flush() {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-end.C:
				return // the browser reconnects
			case <-keep.C:
				fmt.Fprint(w, ": keep-alive\n\n")
				if rc.Flush() != nil {
					return
				}
				continue
			case e, ok = <-events:
			}
		}
		if !ok {
			return
		}
		name := ""
		switch {
		case e.Type == chat.EventLagged:
			name = "reload"
		case e.Type == chat.EventOperator:
			// Someone's status, or who works which queue, changed.
			if sets, err = u.readQueueSets(ctx, me); err != nil {
				if ctx.Err() == nil {
					u.log.ErrorContext(ctx, "chat events", "user", me, "err", err)
				}
				return // the browser tries again
			}
			if e.OperatorID == me || e.OperatorID == "" {
				name = "panel"
			}
		default:
			if sets.stale(e) {
				if sets, err = u.readQueueSets(ctx, me); err != nil {
					if ctx.Err() == nil {
						u.log.ErrorContext(ctx, "chat events", "user", me, "err", err)
					}
					return
				}
			}
			switch {
			case open != "" && e.ChatID == open:
				name = "chat"
			case e.Concerns(me, sets.mine):
				name = "panel"
			}
		}
		if name != "" {
			write(name, e)
		}
	}
}

// chatSoundURL is where the panel gets the uploaded notification sound,
// versioned by its content; "" when none is uploaded.
func (u *UI) chatSoundURL(ctx context.Context) string {
	raw, err := u.set.Get(ctx, "OmniChatNotificationSound")
	if err != nil || raw == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(raw))
	return "/chats/sound?v=" + hex.EncodeToString(sum[:6])
}

// chatSound serves the uploaded notification sound to any signed-in user
// (the administration's own preview is for administrators only).
func (u *UI) chatSound(w http.ResponseWriter, r *http.Request, c *Ctx) {
	d, _ := settings.Lookup("OmniChatNotificationSound")
	raw, err := u.set.Get(r.Context(), d.Code)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	f, err := settings.DecodeFile(raw)
	if raw == "" || err != nil {
		u.errorPage(w, r, c, http.StatusNotFound)
		return
	}
	ct, _, err := mime.ParseMediaType(f.ContentType)
	if err != nil || !strings.HasPrefix(ct, d.Accept) {
		ct = "application/octet-stream"
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, max-age=86400") // the URL carries the content's hash
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.Data))
}
