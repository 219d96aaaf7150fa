package google

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"google.golang.org/api/calendar/v3"
)

// WatchEvents opens a push channel on a calendar's events: Google POSTs to
// address on every change (first a "sync" message), echoing token. It
// returns the channel's resource id and expiry.
func WatchEvents(ctx context.Context, svc *calendar.Service, calendarID, channelID, address, token string, ttl time.Duration) (string, time.Time, error) {
	ch := &calendar.Channel{Id: channelID, Type: "web_hook", Address: address, Token: token,
		Params: map[string]string{"ttl": strconv.Itoa(int(ttl / time.Second))}}
	got, err := svc.Events.Watch(calendarID, ch).Context(ctx).Do()
	if err != nil {
		return "", time.Time{}, fmt.Errorf("watch calendar: %w", err)
	}
	exp := time.Now().Add(ttl)
	if got.Expiration > 0 {
		exp = time.UnixMilli(got.Expiration)
	}
	return got.ResourceId, exp, nil
}

// StopChannel closes a push channel; one already gone is not an error.
func StopChannel(ctx context.Context, svc *calendar.Service, channelID, resourceID string) error {
	err := svc.Channels.Stop(&calendar.Channel{Id: channelID, ResourceId: resourceID}).Context(ctx).Do()
	if ge := apiError(err); ge != nil && ge.Code == 404 {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stop channel: %w", err)
	}
	return nil
}
