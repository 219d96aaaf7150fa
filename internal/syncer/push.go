package syncer

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/jobs"
	"github.com/tandem-crm/tandem/internal/provider"
	"github.com/tandem-crm/tandem/internal/store"
)

// Push: while a provider's push is on (provider.Pusher: some need an https
// address), each enabled binding of a kind the provider has a hook
// for keeps a subscription whose notifications start an incremental run
// within seconds. With push off Tandem opens none and stops those it has;
// the card and the settings page say so. A subscription with an expiry is
// renewed before it (provider.Hook.RenewBefore): a new one first, then the
// old one is stopped. Polling on the binding's period stays as the
// fallback. One table (store.Subscription) and one job serve every
// provider.

// ErrUnknownSubscription is a notification Tandem cannot verify.
var ErrUnknownSubscription = errors.New("sync: unknown push subscription or wrong secret")

// ErrBadSecret is the ErrUnknownSubscription of a known subscription with
// the wrong secret (told apart for the metrics only: both get the same
// answer).
var ErrBadSecret = fmt.Errorf("%w (wrong secret)", ErrUnknownSubscription)

// EnsureSubscriptions opens or renews the push subscriptions of a
// connection's enabled bindings. While push is off it opens none and stops
// the ones the connection has.
func (s *Service) EnsureSubscriptions(ctx context.Context, connID string) error {
	// One renewal of a connection at a time in this process: a run that
	// ends and the hourly job (or a caller) renewing together would each
	// open a new subscription for the same expiring one and keep both.
	l := s.lock("subscriptions:" + connID)
	l.Lock()
	defer l.Unlock()
	conn, p, err := s.connection(ctx, connID)
	if errors.Is(err, provider.ErrUnknownProvider) {
		return nil
	}
	if err != nil {
		return err
	}
	pu, ok := p.(provider.Pusher)
	if !ok {
		return nil
	}
	push, err := pu.PushState(ctx)
	if err != nil {
		return err
	}
	if !push.On {
		return s.stopAll(ctx, conn, p, pu, push.Off)
	}
	var sess provider.Session
	var errs error
	for _, h := range pu.Hooks() {
		if off, err := kindOff(ctx, p, h.Kind); err != nil || off != nil {
			errs = errors.Join(errs, err)
			continue
		}
		st, err := s.Binding(ctx, connID, h.Kind)
		if err != nil {
			errs = errors.Join(errs, err)
			continue
		}
		b := st.Binding
		if !st.Saved() || !b.Enabled || b.Collection == "" {
			continue
		}
		subs, err := s.Store.Subscriptions(ctx, b.ID)
		if err != nil {
			errs = errors.Join(errs, err)
			continue
		}
		if len(subs) > 0 && (subs[0].ExpiresAt.IsZero() || subs[0].ExpiresAt.After(time.Now().Add(h.RenewBefore()))) {
			continue
		}
		if sess == nil {
			if sess, err = p.Open(ctx, conn); err != nil {
				return errors.Join(errs, err)
			}
		}
		if err := s.subscribe(ctx, sess, h, b, push.Address); err != nil {
			errs = errors.Join(errs, err)
			continue
		}
		errs = errors.Join(errs, s.stopSubscriptions(ctx, conn, sess, h.Kind, subs))
	}
	return errs
}

// subscribe opens a new subscription of binding b.
func (s *Service) subscribe(ctx context.Context, sess provider.Session, h provider.Hook, b *store.Binding, address string) error {
	sub, ok := sess.(provider.Subscriber)
	if !ok {
		return fmt.Errorf("sync: %w: push subscriptions", provider.ErrKindNotSupported)
	}
	// Recorded before the remote is asked: the first notification may
	// arrive while that call is still answering.
	id, secret := uuid.NewString(), access.NewToken("")
	var exp time.Time
	if h.TTL > 0 {
		exp = time.Now().Add(h.TTL)
	}
	if err := s.Store.SaveSubscription(ctx, &store.Subscription{ID: id, BindingID: b.ID, Kind: store.SubscriptionWebhook,
		SecretHash: access.HashToken(secret), ExpiresAt: exp}); err != nil {
		return err
	}
	got, err := sub.Subscribe(ctx, provider.SubscribeRequest{ID: id, Kind: h.Kind, Collection: b.Collection,
		Callback: address + h.Path, Secret: secret, TTL: h.TTL})
	if err != nil {
		s.Store.DeleteSubscription(context.WithoutCancel(ctx), id)
		return err
	}
	return s.Store.SetSubscriptionResource(ctx, id, got.ResourceID, got.ExpiresAt)
}

// stopAll stops the subscriptions of every binding of a connection whose
// kind has push (push went off).
func (s *Service) stopAll(ctx context.Context, conn *store.Connection, p provider.Provider, pu provider.Pusher, why provider.PushOff) error {
	bs, err := s.Store.ListBindings(ctx, conn.ID)
	if err != nil {
		return err
	}
	var sess provider.Session
	for _, h := range pu.Hooks() {
		var subs []*store.Subscription
		for _, b := range bs {
			if b.Kind != string(h.Kind) {
				continue
			}
			ss, err := s.Store.Subscriptions(ctx, b.ID)
			if err != nil {
				return err
			}
			subs = append(subs, ss...)
		}
		if len(subs) == 0 {
			continue
		}
		s.Log.InfoContext(ctx, "push off: stopping subscriptions", "connection", conn.ID, "provider", conn.Provider,
			"kind", h.Kind, "reason", why)
		if sess == nil {
			var err error
			if sess, err = p.Open(ctx, conn); err != nil {
				s.Log.WarnContext(ctx, "stop push subscriptions", "connection", conn.ID, "err", err)
			}
		}
		if err := s.stopSubscriptions(ctx, conn, sess, h.Kind, subs); err != nil {
			return err
		}
	}
	return nil
}

// stopSubscriptions stops subscriptions at the remote and forgets them. A
// failed stop is only logged: the subscription runs out on its own, and
// its notifications meanwhile are refused as unknown. A nil session only
// forgets them.
func (s *Service) stopSubscriptions(ctx context.Context, conn *store.Connection, sess provider.Session, kind provider.Kind, subs []*store.Subscription) error {
	sub, _ := sess.(provider.Subscriber)
	for _, old := range subs {
		if sub != nil {
			if err := sub.Unsubscribe(ctx, provider.Subscription{ID: old.ID, ResourceID: old.ResourceID, Kind: kind}); err != nil {
				s.Log.WarnContext(ctx, "stop push subscription", "connection", conn.ID, "subscription", old.ID, "err", err)
			}
		}
		if err := s.Store.DeleteSubscription(ctx, old.ID); err != nil {
			return err
		}
	}
	return nil
}

// Notify handles a push notification that arrived at a hook of provider
// providerName: the subscription must be one of that provider's and the
// secret the one Tandem gave it; a ping is only acknowledged, anything
// else queues an incremental run.
func (s *Service) Notify(ctx context.Context, providerName string, n provider.Notification) error {
	sub, err := s.Store.GetSubscription(ctx, n.SubscriptionID)
	if errors.Is(err, store.ErrNotFound) {
		return ErrUnknownSubscription
	}
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare([]byte(access.HashToken(n.Secret)), []byte(sub.SecretHash)) != 1 {
		return ErrBadSecret
	}
	b, err := s.Store.GetBinding(ctx, sub.BindingID)
	if err != nil {
		return fmt.Errorf("push: %w", err)
	}
	conn, err := s.Store.GetConnection(ctx, b.ConnectionID)
	if err != nil {
		return fmt.Errorf("push: %w", err)
	}
	if conn.Provider != providerName {
		return ErrUnknownSubscription
	}
	if n.Ping {
		return nil
	}
	_, _, err = s.Enqueue(ctx, b.ConnectionID, "push")
	return err
}

// subscriptionsArgs is the periodic job that renews push subscriptions.
// Its kind keeps the name it had when it renewed one provider's channels,
// so jobs queued by an earlier version still find their worker.
type subscriptionsArgs struct{}

func (subscriptionsArgs) Kind() string { return "sync.channels" }

type subscriptionsWorker struct {
	river.WorkerDefaults[subscriptionsArgs]
	s *Service
}

func (w *subscriptionsWorker) Work(ctx context.Context, _ *river.Job[subscriptionsArgs]) error {
	bs, err := w.s.Store.DueBindings(ctx)
	if err != nil {
		return err
	}
	var errs error
	done := map[string]bool{}
	for _, b := range bs {
		if done[b.ConnectionID] {
			continue
		}
		done[b.ConnectionID] = true
		if err := w.s.EnsureSubscriptions(ctx, b.ConnectionID); err != nil {
			w.s.Log.WarnContext(ctx, "push subscription", "connection", b.ConnectionID, "err", err)
			errs = errors.Join(errs, err)
		}
	}
	return errs
}

// RenewSubscriptions renews the push subscriptions of every connection
// with an enabled binding: what the hourly job does.
func (s *Service) RenewSubscriptions(ctx context.Context) error {
	return (&subscriptionsWorker{s: s}).Work(ctx, nil)
}

func (s *Service) registerPush(reg *jobs.Registry) {
	jobs.Register(reg, &subscriptionsWorker{s: s}, nil)
	reg.AddPeriodic(time.Hour, subscriptionsArgs{}, &river.InsertOpts{UniqueOpts: jobs.OnePerKey()})
}
