// Package google is Tandem's connector to Google Contacts (People API v1)
// and Google Calendar (Calendar API v3), through google.golang.org/api. It
// translates Google's resources to reconcile.Fields and back and maps
// Google's errors to the engine's (expired sync token → ErrCursorExpired,
// stale etag → ErrPrecondition). It stores nothing: the engine owns links
// and cursors. Base URLs come from the caller, so tests and the emulator
// (internal/emulator/google) point it at loopback.
//
// Google meters People writes per user per minute (apis.md §1.5), so
// Contacts is a reconcile.BatchWriter: 200 creates or updates a request,
// 1,000 removals from the group a request, no read per update. Its HTTP
// client (HTTPClient) retries rate limits after Retry-After and, given the
// Account, sends one account's writes one at a time across the process,
// as Google asks.
package google

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
	"google.golang.org/api/people/v1"
)

// Endpoints are the service roots. Empty fields mean Google's own.
type Endpoints struct {
	People   string // e.g. http://127.0.0.1:8085/ (the emulator) — with a trailing slash
	Calendar string // e.g. http://127.0.0.1:8085/calendar/v3/
}

// FromBase derives both endpoints from one base URL, the way the emulator
// serves them; empty base means Google's hosts.
func FromBase(base string) Endpoints {
	if base == "" {
		return Endpoints{}
	}
	base = strings.TrimRight(base, "/")
	return Endpoints{People: base + "/", Calendar: base + "/calendar/v3/"}
}

// NewPeople returns a People API client.
func NewPeople(ctx context.Context, hc *http.Client, ep Endpoints) (*people.Service, error) {
	opts := []option.ClientOption{option.WithHTTPClient(hc)}
	if ep.People != "" {
		opts = append(opts, option.WithEndpoint(ep.People))
	}
	svc, err := people.NewService(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("people client: %w", err)
	}
	return svc, nil
}

// apiError returns the Google API error in err, if any.
func apiError(err error) *googleapi.Error {
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		return ge
	}
	return nil
}

// hasReason reports whether a Google error carries reason in its errors[]
// items or its google.rpc.ErrorInfo details, or in its message.
func hasReason(ge *googleapi.Error, reason string) bool {
	for _, e := range ge.Errors {
		if strings.EqualFold(e.Reason, reason) {
			return true
		}
	}
	for _, d := range ge.Details {
		if m, ok := d.(map[string]any); ok {
			if r, _ := m["reason"].(string); strings.EqualFold(r, reason) {
				return true
			}
		}
	}
	return strings.Contains(string(ge.Body), `"`+reason+`"`)
}
