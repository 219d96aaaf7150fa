package syncer

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/connector/google"
	"github.com/tandem-crm/tandem/internal/jobs"
	"github.com/tandem-crm/tandem/internal/oauth"
	"github.com/tandem-crm/tandem/internal/store"
)

// Push: when a push address is set, each calendar binding keeps a Google watch
// channel whose notifications start an incremental run within seconds.
// Channels live a week and are renewed a day before they expire (a new
// channel first, then the old one is stopped); polling on the binding's
// period stays as the fallback.

const (
	channelTTL  = 7 * 24 * time.Hour
	renewBefore = 24 * time.Hour
	// HookPath is where Google posts calendar notifications.
	HookPath = "/hooks/google/calendar"
)

// pushAddress is where Google sends notifications: GooglePushServiceUrl
// when the company publishes the hook elsewhere than the UI, else SiteUrl.
func (s *Service) pushAddress(ctx context.Context) (string, error) {
	for _, code := range []string{"GooglePushServiceUrl", "SiteUrl"} {
		v, err := s.Settings.Get(ctx, code)
		if err != nil || v != "" {
			return v, err
		}
	}
	return "", nil
}

// ErrUnknownChannel is a notification Tandem cannot verify.
var ErrUnknownChannel = errors.New("sync: unknown push channel or wrong token")

// ErrBadChannelToken is the ErrUnknownChannel of a known channel with the
// wrong token (told apart for the metrics only: both get the same answer).
var ErrBadChannelToken = fmt.Errorf("%w (wrong token)", ErrUnknownChannel)

// EnsureChannels opens or renews the push channel of a connection's
// calendar binding. Without a push address it does nothing.
func (s *Service) EnsureChannels(ctx context.Context, connID string) error {
	site, err := s.pushAddress(ctx)
	if err != nil || site == "" {
		return err
	}
	if on, err := s.CalendarOn(ctx); err != nil || !on {
		return err
	}
	b, _, err := s.EventBinding(ctx, connID)
	if err != nil || !b.Enabled || b.Collection == "" {
		return err
	}
	chans, err := s.Store.Channels(ctx, b.ID)
	if err != nil {
		return err
	}
	if len(chans) > 0 && chans[0].ExpiresAt.After(time.Now().Add(renewBefore)) {
		return nil
	}
	ep, err := oauth.Google(ctx, s.Settings)
	if err != nil {
		return err
	}
	hc := google.HTTPClient(ctx, s.Tokens.TokenSource(ctx, connID))
	svc, err := google.NewCalendarService(ctx, hc, google.Endpoints{People: ep.PeopleURL, Calendar: ep.CalendarURL})
	if err != nil {
		return err
	}
	// Recorded before the watch call: Google sends the first notification
	// while that call is still answering.
	id, token := uuid.NewString(), access.NewToken("")
	if err := s.Store.SaveChannel(ctx, &store.Channel{ID: id, BindingID: b.ID, TokenHash: access.HashToken(token),
		ExpiresAt: time.Now().Add(channelTTL)}); err != nil {
		return err
	}
	rid, exp, err := google.WatchEvents(ctx, svc, b.Collection, id, strings.TrimRight(site, "/")+HookPath, token, channelTTL)
	if err != nil {
		s.Store.DeleteChannel(context.WithoutCancel(ctx), id)
		return err
	}
	if err := s.Store.SetChannelResource(ctx, id, rid, exp); err != nil {
		return err
	}
	for _, old := range chans {
		if err := google.StopChannel(ctx, svc, old.ID, old.ResourceID); err != nil {
			s.Log.WarnContext(ctx, "stop old push channel", "channel", old.ID, "err", err)
		}
		if err := s.Store.DeleteChannel(ctx, old.ID); err != nil {
			return err
		}
	}
	return nil
}

// Notify handles a push notification: the channel and its token must
// match what Tandem registered; "sync" (the first message) is only
// acknowledged, anything else queues an incremental run.
func (s *Service) Notify(ctx context.Context, channelID, token, state string) error {
	ch, err := s.Store.GetChannel(ctx, channelID)
	if errors.Is(err, store.ErrNotFound) {
		return ErrUnknownChannel
	}
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare([]byte(access.HashToken(token)), []byte(ch.TokenHash)) != 1 {
		return ErrBadChannelToken
	}
	if state == "sync" {
		return nil
	}
	b, err := s.Store.GetBinding(ctx, ch.BindingID)
	if err != nil {
		return fmt.Errorf("push: %w", err)
	}
	_, _, err = s.Enqueue(ctx, b.ConnectionID, "push")
	return err
}

// channelsArgs is the periodic job that renews push channels.
type channelsArgs struct{}

func (channelsArgs) Kind() string { return "sync.channels" }

type channelsWorker struct {
	river.WorkerDefaults[channelsArgs]
	s *Service
}

func (w *channelsWorker) Work(ctx context.Context, _ *river.Job[channelsArgs]) error {
	bs, err := w.s.Store.DueBindings(ctx)
	if err != nil {
		return err
	}
	var errs error
	done := map[string]bool{}
	for _, b := range bs {
		if b.Kind != KindEvents || done[b.ConnectionID] {
			continue
		}
		done[b.ConnectionID] = true
		if err := w.s.EnsureChannels(ctx, b.ConnectionID); err != nil {
			w.s.Log.WarnContext(ctx, "push channel", "connection", b.ConnectionID, "err", err)
			errs = errors.Join(errs, err)
		}
	}
	return errs
}

func (s *Service) registerPush(reg *jobs.Registry) {
	jobs.Register(reg, &channelsWorker{s: s}, nil)
	reg.AddPeriodic(time.Hour, channelsArgs{}, &river.InsertOpts{UniqueOpts: jobs.OnePerKey()})
}
