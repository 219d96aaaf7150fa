// Package hooks owns Tandem's inbound webhooks from remote services: push
// notifications, verified before anything else is read (for Google
// Calendar, the channel id and its secret token). A hook answers quickly;
// the work it causes runs as a job.
package hooks

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/tandem-crm/tandem/internal/metrics"
)

// CalendarNotifier handles a Google Calendar push notification.
type CalendarNotifier interface {
	Notify(ctx context.Context, channelID, token, state string) error
}

// Hooks serves the webhooks.
type Hooks struct {
	Calendar CalendarNotifier
	Unknown  error // the notifier's "unknown channel" error
	BadToken error // the notifier's "wrong token" error (an Unknown too)
	Log      *slog.Logger
	Metrics  *metrics.Metrics // nil records nothing
}

// hookGoogleCalendar is the hook label of Google Calendar notifications.
const hookGoogleCalendar = "google_calendar"

// Routes registers the hooks.
func (h *Hooks) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /hooks/google/calendar", h.googleCalendar)
}

// googleCalendar handles Google's notification: an empty body and
// X-Goog-* headers. Unknown channels get 404 so Google stops sending; a
// failure on our side gets 503 so Google retries with backoff.
func (h *Hooks) googleCalendar(w http.ResponseWriter, r *http.Request) {
	h.Metrics.PushReceived(hookGoogleCalendar)
	id := r.Header.Get("X-Goog-Channel-ID")
	token := r.Header.Get("X-Goog-Channel-Token")
	state := r.Header.Get("X-Goog-Resource-State")
	if id == "" || state == "" || len(id) > 200 || len(token) > 200 {
		h.Metrics.PushRejected(hookGoogleCalendar, metrics.RejectMalformed)
		http.Error(w, "not a calendar notification", http.StatusBadRequest)
		return
	}
	err := h.Calendar.Notify(r.Context(), id, token, state)
	switch {
	case err == nil:
		w.WriteHeader(http.StatusOK)
	case h.BadToken != nil && errors.Is(err, h.BadToken):
		h.Metrics.PushRejected(hookGoogleCalendar, metrics.RejectBadToken)
		http.Error(w, "unknown channel", http.StatusNotFound)
	case h.Unknown != nil && errors.Is(err, h.Unknown):
		h.Metrics.PushRejected(hookGoogleCalendar, metrics.RejectUnknownChannel)
		http.Error(w, "unknown channel", http.StatusNotFound)
	default:
		h.Metrics.PushRejected(hookGoogleCalendar, metrics.RejectError)
		h.Log.ErrorContext(r.Context(), "calendar notification", "channel", id, "err", err)
		http.Error(w, "try again", http.StatusServiceUnavailable)
	}
}
