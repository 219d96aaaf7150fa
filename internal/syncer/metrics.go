package syncer

import (
	"context"
	"errors"

	"golang.org/x/oauth2"

	"github.com/tandem-crm/tandem/internal/connector/google"
	"github.com/tandem-crm/tandem/internal/metrics"
	"github.com/tandem-crm/tandem/internal/oauth"
	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/store"
)

// metricsConnection is the kind label of a run that failed before any of
// its bindings ran (the connection needs a new sign-in, the integration is
// not configured, …).
const metricsConnection = "connection"

// errorKind classifies a run's error for the metrics ("" when it
// succeeded). The order matters: the HTTP client wraps whatever its
// transport returns (a refused grant, a failed token refresh, the store's
// error while saving a refreshed token) in a *url.Error, so the specific
// kinds are looked for before the generic remote one.
func errorKind(err error) metrics.ErrorKind {
	var re *oauth2.RetrieveError
	switch {
	case err == nil:
		return ""
	case errors.Is(err, oauth.ErrNeedsReauth):
		return metrics.ErrorNeedsReauth
	case errors.Is(err, reconcile.ErrCollectionEmpty):
		return metrics.ErrorCollectionEmpty
	case errors.Is(err, ErrCalendarOff), errors.Is(err, oauth.ErrNotConfigured), errors.Is(err, oauth.ErrSharedApp):
		return metrics.ErrorConfig
	case errors.Is(err, ErrLeaseLost), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return metrics.ErrorCancelled
	case google.RateLimited(err):
		return metrics.ErrorRateLimited
	case errors.As(err, &re):
		return metrics.ErrorAuth
	case store.IsDatabaseError(err):
		return metrics.ErrorStore
	case google.RemoteError(err):
		return metrics.ErrorRemote
	default:
		return metrics.ErrorOther
	}
}
