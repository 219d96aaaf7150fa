package telegram

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/tandem-crm/tandem/internal/chat"
)

// Run keeps the bots' deliveries flowing until ctx ends. Without SiteUrl
// it long-polls each active channel (one poller per bot across processes,
// by lease). With SiteUrl, where Telegram posts to the webhook, it checks
// each bot's webhook now and then: a webhook that is not Tandem's means
// another program took the token. Either way a conflict breaks the
// channel with ErrUsedElsewhere, told to the admin.
func (a *Adapter) Run(ctx context.Context) error {
	type poller struct {
		stop context.CancelFunc
		done chan struct{}
	}
	pollers := map[string]poller{}
	stop := func(id string) {
		p := pollers[id]
		p.stop()
		<-p.done
		delete(pollers, id)
	}
	defer func() {
		for id := range pollers {
			stop(id)
		}
	}()
	lastCheck := time.Time{}
	lastSite := "\x00" // unknown: register every channel at start
	for {
		chs, err := a.svc.Channels(ctx, chat.KindTelegram)
		if err != nil && ctx.Err() == nil {
			a.log.Warn("telegram: list channels", "err", err)
		}
		site := a.svc.SiteURL(ctx)
		webhook := site != ""
		want := map[string]*chat.Channel{}
		for _, ch := range chs {
			if ch.Active && !webhook {
				want[ch.ID] = ch
			}
		}
		// Pollers stop (and are gone) before a webhook is set: Telegram
		// ends a waiting getUpdates with a 409 when it is, which would
		// look like another program polling.
		for id := range pollers {
			if want[id] == nil {
				stop(id)
			}
		}
		if site != lastSite && err == nil {
			// SiteUrl was set, changed or cleared (or this process just
			// started): point each bot's deliveries at the new address,
			// or take the webhook away so the bot can be polled.
			for _, ch := range chs {
				if !ch.Active {
					continue
				}
				if err := a.Activate(ctx, ch); err != nil {
					a.log.Warn("telegram: register delivery", "channel", ch.ID, "err", err)
				}
			}
			lastSite, lastCheck = site, time.Time{}
		}
		for id, ch := range want {
			if _, ok := pollers[id]; ok {
				continue
			}
			pctx, cancel := context.WithCancel(ctx)
			p := poller{stop: cancel, done: make(chan struct{})}
			pollers[id] = p
			go func() {
				defer close(p.done)
				a.poll(pctx, ch)
			}()
		}
		if webhook && time.Since(lastCheck) > time.Minute {
			lastCheck = time.Now()
			for _, ch := range chs {
				if ch.Active {
					a.checkWebhook(ctx, ch)
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(5 * time.Second):
		}
	}
}

// checkWebhook compares the bot's webhook with Tandem's.
func (a *Adapter) checkWebhook(ctx context.Context, ch *chat.Channel) {
	c, _, err := a.client(ctx, ch)
	if err != nil {
		return
	}
	var info webhookInfo
	if err := c.call(ctx, "getWebhookInfo", struct{}{}, &info); err != nil {
		a.log.Warn("telegram: webhook info", "channel", ch.ID, "err", err)
		return
	}
	if want := a.hookURL(ctx, ch); info.URL != want {
		a.svc.MarkBroken(ctx, ch.ID, fmt.Errorf("%w: its webhook points elsewhere", ErrUsedElsewhere))
		return
	}
	a.svc.MarkHealthy(ctx, ch.ID)
}

// pollLease is how long a poller's claim on a bot lasts without renewal.
const pollLease = time.Minute

// poll long-polls one bot while this process holds its lease.
func (a *Adapter) poll(ctx context.Context, ch *chat.Channel) {
	defer a.svc.ReleasePollLease(context.WithoutCancel(ctx), ch.ID, a.holder)
	backoff := time.Second
	for ctx.Err() == nil {
		held, err := a.svc.TryPollLease(ctx, ch.ID, a.holder, pollLease)
		if err != nil || !held {
			wait(ctx, 10*time.Second) // another process polls it
			continue
		}
		err = a.pollOnce(ctx, ch)
		switch {
		case err == nil:
			backoff = time.Second
			continue
		case ctx.Err() != nil:
			return
		case errors.Is(err, ErrUsedElsewhere):
			a.svc.MarkBroken(ctx, ch.ID, err)
			wait(ctx, 30*time.Second)
		default:
			a.log.Warn("telegram: poll", "channel", ch.ID, "err", err)
			wait(ctx, backoff)
			backoff = min(backoff*2, time.Minute)
		}
	}
}

// pollOnce takes one batch of updates and hands them to the chat service;
// the offset moves past the batch only once all of it is stored, so a
// crash redelivers rather than loses (the chat service drops the
// repeats).
func (a *Adapter) pollOnce(ctx context.Context, ch *chat.Channel) error {
	c, _, err := a.client(ctx, ch)
	if err != nil {
		return err
	}
	offset, err := a.svc.PollOffset(ctx, ch.ID)
	if err != nil {
		return err
	}
	var ups []Update
	err = c.call(ctx, "getUpdates", map[string]any{"offset": offset, "timeout": int(pollTimeout / time.Second),
		"allowed_updates": allowedUpdates}, &ups)
	var ae *APIError
	if errors.As(err, &ae) && ae.Code == http.StatusConflict {
		return fmt.Errorf("%w: %s", ErrUsedElsewhere, ae.Description)
	}
	if errors.As(err, &ae) && ae.Code == http.StatusUnauthorized {
		a.svc.MarkBroken(ctx, ch.ID, ErrBadToken)
		wait(ctx, time.Minute)
		return nil
	}
	if err != nil {
		return err
	}
	a.svc.MarkHealthy(ctx, ch.ID)
	if len(ups) == 0 {
		return nil
	}
	for _, u := range ups {
		if err := a.handle(ctx, ch, u); err != nil {
			return fmt.Errorf("store update %d: %w", u.UpdateID, err)
		}
	}
	return a.svc.SetPollOffset(ctx, ch.ID, ups[len(ups)-1].UpdateID+1)
}

func wait(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
