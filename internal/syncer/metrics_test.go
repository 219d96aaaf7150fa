package syncer

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"testing"

	"github.com/tandem-crm/tandem/internal/provider"
	googleprov "github.com/tandem-crm/tandem/internal/provider/google"

	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/oauth2"
	"google.golang.org/api/googleapi"

	"github.com/tandem-crm/tandem/internal/metrics"
	"github.com/tandem-crm/tandem/internal/oauth"
	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/store"
)

func TestErrorKind(t *testing.T) {
	// viaHTTP wraps err the way http.Client does what its transport (the
	// OAuth token source, the retry transport) returns.
	viaHTTP := func(err error) error {
		return &url.Error{Op: "Get", URL: "https://people.googleapis.com/v1/x", Err: err}
	}
	tests := []struct {
		name string
		err  error
		want metrics.ErrorKind
	}{
		{"success", nil, ""},
		{"connection marked needs_reauth", oauth.ErrNeedsReauth, metrics.ErrorNeedsReauth},
		{"grant refused on refresh", viaHTTP(&oauth.ReauthError{ConnectionID: "c1"}), metrics.ErrorNeedsReauth},
		{"other token failure", viaHTTP(&oauth2.RetrieveError{Response: nil, Body: []byte("oops")}), metrics.ErrorAuth},
		{"empty collection guard", fmt.Errorf("run: %w", reconcile.ErrCollectionEmpty), metrics.ErrorCollectionEmpty},
		{"calendar integration off", &provider.OffError{Reason: "calendar sync with Google is off"}, metrics.ErrorConfig},
		{"no client keys", fmt.Errorf("google: %w", oauth.ErrNotConfigured), metrics.ErrorConfig},
		{"shared app", oauth.ErrSharedApp, metrics.ErrorConfig},
		{"shutdown", fmt.Errorf("list: %w", context.Canceled), metrics.ErrorCancelled},
		{"job timeout", viaHTTP(context.DeadlineExceeded), metrics.ErrorCancelled},
		{"lease lost", ErrLeaseLost, metrics.ErrorCancelled},
		{"429", fmt.Errorf("list people: %w", &googleapi.Error{Code: 429}), metrics.ErrorRateLimited},
		{"403 user rate limit", &googleapi.Error{Code: 403, Errors: []googleapi.ErrorItem{{Reason: "userRateLimitExceeded"}}},
			metrics.ErrorRateLimited},
		{"403 rate limit in details", &googleapi.Error{Code: 403, Details: []any{map[string]any{"reason": "RATE_LIMIT_EXCEEDED"}}},
			metrics.ErrorRateLimited},
		{"403 forbidden", &googleapi.Error{Code: 403, Errors: []googleapi.ErrorItem{{Reason: "forbidden"}}}, metrics.ErrorRemote},
		{"500", fmt.Errorf("list events: %w", &googleapi.Error{Code: 500}), metrics.ErrorRemote},
		{"unreachable", viaHTTP(errors.New("dial tcp: connection refused")), metrics.ErrorRemote},
		{"database", fmt.Errorf("apply: %w", &pgconn.PgError{Code: "40001"}), metrics.ErrorStore},
		{"database while saving a token", viaHTTP(fmt.Errorf("save token: %w", &pgconn.PgError{Code: "53300"})), metrics.ErrorStore},
		{"record changed", fmt.Errorf("save: %w", store.ErrConflict), metrics.ErrorStore},
		{"not set up", errors.New("sync: choose the personal tag whose contacts go to Google"), metrics.ErrorOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errorKind(googleprov.New(nil, nil, nil), tt.err); got != tt.want {
				t.Errorf("errorKind(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}
