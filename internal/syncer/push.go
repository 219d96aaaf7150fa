package syncer

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	gcal "google.golang.org/api/calendar/v3"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/connector/google"
	"github.com/tandem-crm/tandem/internal/jobs"
	"github.com/tandem-crm/tandem/internal/oauth"
	"github.com/tandem-crm/tandem/internal/store"
)

// Push: when the push address is https, each calendar binding keeps a
// Google watch channel whose notifications start an incremental run within
// seconds. Google delivers notifications only to https addresses with a
// valid certificate, so with any other address Tandem opens no channel
// (it would never hear from it) and stops those it had; the card and the
// settings page say so. Channels live a week and are renewed a day before
// they expire (a new channel first, then the old one is stopped); polling
// on the binding's period stays as the fallback.

const (
	channelTTL  = 7 * 24 * time.Hour
	renewBefore = 24 * time.Hour
	// HookPath is where Google posts calendar notifications.
	HookPath = "/hooks/google/calendar"
)

// PushOff says why calendar changes do not arrive by push.
type PushOff string

const (
	PushNoAddress PushOff = "no_address" // neither GooglePushServiceUrl nor SiteUrl is set
	PushNotHTTPS  PushOff = "not_https"  // the push address is not an https URL
)

// PushState is whether Tandem opens watch channels.
type PushState struct {
	On      bool
	Off     PushOff // why not, when !On
	Address string  // GooglePushServiceUrl, else SiteUrl, without a trailing slash
}

// PushStateOf decides from the settings GooglePushServiceUrl (where the
// company publishes the hook, if not at the UI's address) and SiteUrl.
func PushStateOf(pushServiceURL, siteURL string) PushState {
	addr := strings.TrimRight(strings.TrimSpace(pushServiceURL), "/")
	if addr == "" {
		addr = strings.TrimRight(strings.TrimSpace(siteURL), "/")
	}
	if addr == "" {
		return PushState{Off: PushNoAddress}
	}
	u, err := url.Parse(addr)
	if err != nil || !strings.EqualFold(u.Scheme, "https") || u.Host == "" {
		return PushState{Off: PushNotHTTPS, Address: addr}
	}
	return PushState{On: true, Address: addr}
}

// Push reports whether calendar changes arrive by push.
func (s *Service) Push(ctx context.Context) (PushState, error) {
	var v [2]string
	for i, code := range []string{"GooglePushServiceUrl", "SiteUrl"} {
		var err error
		if v[i], err = s.Settings.Get(ctx, code); err != nil {
			return PushState{}, err
		}
	}
	return PushStateOf(v[0], v[1]), nil
}

// ErrUnknownChannel is a notification Tandem cannot verify.
var ErrUnknownChannel = errors.New("sync: unknown push channel or wrong token")

// ErrBadChannelToken is the ErrUnknownChannel of a known channel with the
// wrong token (told apart for the metrics only: both get the same answer).
var ErrBadChannelToken = fmt.Errorf("%w (wrong token)", ErrUnknownChannel)

// EnsureChannels opens or renews the push channel of a connection's
// calendar binding. While push is off it opens none and stops the ones
// the binding has.
func (s *Service) EnsureChannels(ctx context.Context, connID string) error {
	push, err := s.Push(ctx)
	if err != nil {
		return err
	}
	if !push.On {
		return s.stopAllChannels(ctx, connID, push.Off)
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
	svc, err := s.calendarService(ctx, connID)
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
	rid, exp, err := google.WatchEvents(ctx, svc, b.Collection, id, push.Address+HookPath, token, channelTTL)
	if err != nil {
		s.Store.DeleteChannel(context.WithoutCancel(ctx), id)
		return err
	}
	if err := s.Store.SetChannelResource(ctx, id, rid, exp); err != nil {
		return err
	}
	return s.stopChannels(ctx, connID, chans)
}

func (s *Service) calendarService(ctx context.Context, connID string) (*gcal.Service, error) {
	ep, err := oauth.Google(ctx, s.Settings)
	if err != nil {
		return nil, err
	}
	hc := google.HTTPClient(ctx, s.Tokens.TokenSource(ctx, connID), google.Account(connID))
	return google.NewCalendarService(ctx, hc, google.Endpoints{People: ep.PeopleURL, Calendar: ep.CalendarURL})
}

// stopAllChannels stops the channels of every calendar binding of a
// connection (push went off).
func (s *Service) stopAllChannels(ctx context.Context, connID string, why PushOff) error {
	bs, err := s.Store.ListBindings(ctx, connID)
	if err != nil {
		return err
	}
	var chans []*store.Channel
	for _, b := range bs {
		if b.Kind != KindEvents {
			continue
		}
		cs, err := s.Store.Channels(ctx, b.ID)
		if err != nil {
			return err
		}
		chans = append(chans, cs...)
	}
	if len(chans) > 0 {
		s.Log.InfoContext(ctx, "push off: stopping calendar channels", "connection", connID, "reason", why)
	}
	return s.stopChannels(ctx, connID, chans)
}

// stopChannels stops channels at Google and forgets them. A failed stop
// is only logged: the channel runs out within a week, and its
// notifications meanwhile are refused as unknown.
func (s *Service) stopChannels(ctx context.Context, connID string, chans []*store.Channel) error {
	if len(chans) == 0 {
		return nil
	}
	svc, err := s.calendarService(ctx, connID)
	for _, old := range chans {
		if err == nil {
			if serr := google.StopChannel(ctx, svc, old.ID, old.ResourceID); serr != nil {
				s.Log.WarnContext(ctx, "stop push channel", "channel", old.ID, "err", serr)
			}
		}
		if err := s.Store.DeleteChannel(ctx, old.ID); err != nil {
			return err
		}
	}
	if err != nil {
		s.Log.WarnContext(ctx, "stop push channels", "connection", connID, "err", err)
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
