package syncer

import (
	"context"
	"errors"
	"net/http"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/connector/google"
	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/store"
)

// runEvents syncs a calendar binding.
func (s *Service) runEvents(ctx context.Context, v access.Viewer, b *store.Binding, hc *http.Client, ep google.Endpoints) (reconcile.Stats, error) {
	return reconcile.Stats{}, errors.New("sync: calendar sync is not available yet")
}
