package syncer

import (
	"context"
	"errors"
	"net/url"

	"golang.org/x/oauth2"

	"github.com/tandem-crm/tandem/internal/metrics"
	"github.com/tandem-crm/tandem/internal/oauth"
	"github.com/tandem-crm/tandem/internal/provider"
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
// kinds are looked for before the generic remote one. The provider, when
// it can (provider.ErrorClassifier), tells its rate limits and remote
// errors apart; p may be nil.
func errorKind(p provider.Provider, err error) metrics.ErrorKind {
	var re *oauth2.RetrieveError
	var ue *url.Error
	ec, _ := p.(provider.ErrorClassifier)
	switch {
	case err == nil:
		return ""
	case errors.Is(err, oauth.ErrNeedsReauth):
		return metrics.ErrorNeedsReauth
	case errors.Is(err, reconcile.ErrCollectionEmpty):
		return metrics.ErrorCollectionEmpty
	case errors.Is(err, provider.ErrKindOff), errors.Is(err, oauth.ErrNotConfigured), errors.Is(err, oauth.ErrSharedApp):
		return metrics.ErrorConfig
	case errors.Is(err, ErrLeaseLost), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return metrics.ErrorCancelled
	case ec != nil && ec.RateLimited(err):
		return metrics.ErrorRateLimited
	case errors.As(err, &re):
		return metrics.ErrorAuth
	case store.IsDatabaseError(err):
		return metrics.ErrorStore
	case ec != nil && ec.RemoteError(err), errors.As(err, &ue):
		return metrics.ErrorRemote
	default:
		return metrics.ErrorOther
	}
}
