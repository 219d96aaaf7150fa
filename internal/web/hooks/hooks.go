// Package hooks owns Tandem's inbound webhooks from remote services: push
// notifications, verified before anything else is read (the subscription
// they name and the secret it was given). Each provider that pushes
// (provider.Pusher) declares its hooks: the path, and a parser that reads
// the subscription, the secret and whether the message is a mere ping.
// A hook answers quickly; the work it causes runs as a job.
package hooks

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/tandem-crm/tandem/internal/chat"
	"github.com/tandem-crm/tandem/internal/metrics"
	"github.com/tandem-crm/tandem/internal/provider"
)

// Notifier handles a verified-to-parse notification that arrived at a
// hook of a provider.
type Notifier interface {
	Notify(ctx context.Context, providerName string, n provider.Notification) error
}

// ChatHooks are the chat channels' webhooks (package chat's adapters),
// each verifying its own deliveries.
type ChatHooks interface {
	Hooks() []chat.Hook
}

// Hooks serves the webhooks of the registered providers.
type Hooks struct {
	Chat      ChatHooks // may be nil
	Providers *provider.Registry
	Notifier  Notifier
	Unknown   error // the notifier's "unknown subscription" error
	BadSecret error // the notifier's "wrong secret" error (an Unknown too)
	Log       *slog.Logger
	Metrics   *metrics.Metrics // nil records nothing
}

// Routes registers every hook of every registered provider and chat
// channel kind.
func (h *Hooks) Routes(mux *http.ServeMux) {
	if h.Chat != nil {
		for _, hk := range h.Chat.Hooks() {
			mux.Handle(hk.Pattern, hk.Handler)
		}
	}
	for _, p := range h.Providers.All() {
		pu, ok := p.(provider.Pusher)
		if !ok {
			continue
		}
		for _, hk := range pu.Hooks() {
			mux.HandleFunc("POST "+hk.Path, h.handler(p.Name(), hk))
		}
	}
}

// handler answers a provider's notifications. A request that is no
// notification gets 400; an unknown subscription or a wrong secret 404, so
// the remote stops sending; a failure on our side 503, so the remote
// retries with backoff.
func (h *Hooks) handler(providerName string, hk provider.Hook) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h.Metrics.PushReceived(hk.Label)
		n, err := hk.Parse(r)
		if err != nil {
			h.Metrics.PushRejected(hk.Label, metrics.RejectMalformed)
			http.Error(w, "not a notification of this hook", http.StatusBadRequest)
			return
		}
		err = h.Notifier.Notify(r.Context(), providerName, n)
		switch {
		case err == nil:
			w.WriteHeader(http.StatusOK)
		case h.BadSecret != nil && errors.Is(err, h.BadSecret):
			h.Metrics.PushRejected(hk.Label, metrics.RejectBadToken)
			http.Error(w, "unknown subscription", http.StatusNotFound)
		case h.Unknown != nil && errors.Is(err, h.Unknown):
			h.Metrics.PushRejected(hk.Label, metrics.RejectUnknownChannel)
			http.Error(w, "unknown subscription", http.StatusNotFound)
		default:
			h.Metrics.PushRejected(hk.Label, metrics.RejectError)
			h.Log.ErrorContext(r.Context(), "push notification", "provider", providerName, "hook", hk.Label,
				"subscription", n.SubscriptionID, "detail", n.Detail, "err", err)
			http.Error(w, "try again", http.StatusServiceUnavailable)
		}
	}
}
