package provider

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// Push subscriptions. A provider whose remote can tell Tandem of changes
// (Google's watch channels, Microsoft Graph's subscriptions, IMAP IDLE)
// is a Pusher; its sessions are Subscribers. syncer keeps one table of
// subscriptions for all of them (store.Subscription) and one renewal job:
// a subscription is opened when its binding is enabled and push is on,
// renewed before it expires (the new one first, then the old one
// stopped), and stopped when push goes off. Notifications arrive at the
// provider's hooks (web/hooks mounts them), whose Parse yields the
// subscription and its secret; syncer verifies both before anything runs.

// PushOff says why changes do not arrive by push.
type PushOff string

const (
	PushNoAddress PushOff = "no_address" // no public address is set
	PushNotHTTPS  PushOff = "not_https"  // the public address is not an https URL
)

// PushState is whether a provider's subscriptions are opened now.
type PushState struct {
	On      bool
	Off     PushOff // why not, when !On
	Address string  // the public base address hooks are reached at, without a trailing slash
}

// Pusher is a Provider whose remote notifies Tandem of changes.
type Pusher interface {
	// PushState decides whether subscriptions are opened now (the
	// provider's rules: Google delivers only to https addresses).
	PushState(ctx context.Context) (PushState, error)
	// Hooks are where notifications arrive, one per kind with push.
	Hooks() []Hook
}

// Hook is an inbound webhook of a provider, for the subscriptions of one
// binding kind.
type Hook struct {
	Kind Kind
	// Path is the route under the push address ("/hooks/google/calendar");
	// it never changes once remotes know it.
	Path string
	// Label names the hook in the metrics.
	Label string
	// TTL is how long a subscription lives unless renewed (0: it does not
	// expire). Renewal happens a day before expiry, or at a third of the
	// TTL when that is shorter.
	TTL time.Duration
	// Parse reads a notification from the request: the subscription it
	// belongs to and the secret it carries. It returns ErrMalformed for a
	// request that is no notification of this hook.
	Parse func(r *http.Request) (Notification, error)
}

// RenewBefore is how long before its expiry a subscription is renewed.
func (h Hook) RenewBefore() time.Duration {
	return min(24*time.Hour, h.TTL/3)
}

// Notification is what a hook's request says.
type Notification struct {
	SubscriptionID string // Tandem's id of the subscription
	Secret         string // the verification secret Tandem gave it
	// Ping: the remote only confirms the subscription (Google's "sync"
	// message); nothing changed.
	Ping bool
	// Detail is a short word for logs (Google's resource state).
	Detail string
}

// ErrMalformed is a request that is not a notification of the hook.
var ErrMalformed = errors.New("not a push notification")

// Subscriber is a Session that opens and stops push subscriptions.
type Subscriber interface {
	Subscribe(ctx context.Context, req SubscribeRequest) (Subscribed, error)
	// Unsubscribe stops a subscription; one already gone is no error.
	Unsubscribe(ctx context.Context, sub Subscription) error
}

// SubscribeRequest asks the remote to notify Tandem of changes in one
// collection.
type SubscribeRequest struct {
	ID         string // Tandem's id: notifications carry it back
	Kind       Kind
	Collection string
	Callback   string // the hook's full URL
	Secret     string // notifications must carry it
	TTL        time.Duration
}

// Subscribed is the remote's answer.
type Subscribed struct {
	ResourceID string    // the remote's id of what is watched, needed to stop it
	ExpiresAt  time.Time // zero: no expiry
}

// Subscription is an open subscription, as Unsubscribe needs it.
type Subscription struct {
	ID         string
	ResourceID string
	Kind       Kind
}
