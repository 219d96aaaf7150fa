package hooks

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tandem-crm/tandem/internal/provider"
	"github.com/tandem-crm/tandem/internal/provider/providertest"
)

type notifier struct {
	got  []provider.Notification
	from []string
	err  error
}

func (n *notifier) Notify(ctx context.Context, providerName string, no provider.Notification) error {
	n.got, n.from = append(n.got, no), append(n.from, providerName)
	return n.err
}

var (
	errUnknown = errors.New("unknown")
	errSecret  = errors.Join(errUnknown, errors.New("secret"))
)

// Every registered provider's hooks are mounted and answer by the
// notifier's verdict.
func TestHooks(t *testing.T) {
	a, b := providertest.New("one"), providertest.New("two")
	n := &notifier{}
	h := &Hooks{Providers: provider.NewRegistry(a, b), Notifier: n, Unknown: errUnknown, BadSecret: errSecret,
		Log: slog.New(slog.DiscardHandler)}
	mux := http.NewServeMux()
	h.Routes(mux)
	post := func(path, id string) int {
		req := httptest.NewRequest("POST", path, nil)
		if id != "" {
			req.Header.Set("X-Fake-Subscription", id)
			req.Header.Set("X-Fake-Secret", "s")
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		return rec.Code
	}
	for _, c := range []struct {
		path, id string
		err      error
		want     int
	}{
		{b.HookPath(), "sub-1", nil, http.StatusOK},
		{a.HookPath(), "sub-2", nil, http.StatusOK},
		{a.HookPath(), "", nil, http.StatusBadRequest},
		{a.HookPath(), "sub-3", errUnknown, http.StatusNotFound},
		{a.HookPath(), "sub-4", errSecret, http.StatusNotFound},
		{a.HookPath(), "sub-5", errors.New("database down"), http.StatusServiceUnavailable},
		{"/hooks/three/calendar", "sub-6", nil, http.StatusNotFound},
	} {
		n.err = c.err
		if got := post(c.path, c.id); got != c.want {
			t.Errorf("POST %s (%s): %d, want %d", c.path, c.id, got, c.want)
		}
	}
	if len(n.got) != 5 || n.from[0] != "two" || n.from[1] != "one" || n.got[0].SubscriptionID != "sub-1" || n.got[0].Secret != "s" {
		t.Errorf("notified %v from %v", n.got, n.from)
	}
}
