package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/tandem-crm/tandem/internal/emulator/google"
	"github.com/tandem-crm/tandem/internal/oauth"
	"github.com/tandem-crm/tandem/internal/settings"
	"github.com/tandem-crm/tandem/internal/store"
)

// The OAuth client the sync benchmark registers with its emulator, and the
// site its redirect URI is built on (never called: ConnectGoogle reads the
// redirect instead of following it).
const (
	GoogleClientID     = "tandem-bench.apps.googleusercontent.com"
	GoogleClientSecret = "tandem-bench-secret"
	GoogleSite         = "http://tandem.invalid"
)

// GoogleRedirectURI is the redirect URI ConnectGoogle uses.
const GoogleRedirectURI = GoogleSite + oauth.GoogleCallbackPath

// ConfigureGoogle registers the benchmark's OAuth client with the emulator
// em, reachable at base, and points Tandem's Google settings at it, as an
// administrator would with a real Google Cloud app.
func ConfigureGoogle(ctx context.Context, set *settings.Service, em *google.Server, base string) error {
	em.AddClient(GoogleClientID, GoogleClientSecret, GoogleRedirectURI)
	return configureGoogle(ctx, set, base)
}

// configureGoogle points Tandem's Google settings at the emulator at base,
// which knows the benchmark's OAuth client.
func configureGoogle(ctx context.Context, set *settings.Service, base string) error {
	for _, kv := range [][2]string{
		{"UseSharedGoogleApp", "false"},
		{"CalendarIntegration", "google"},
		{"GoogleClientId", GoogleClientID},
		{"GoogleClientSecret", GoogleClientSecret},
		{"GoogleAuthUrl", base + "/o/oauth2/v2/auth"},
		{"GoogleTokenUrl", base + "/token"},
		{"GoogleApiUrl", base},
	} {
		if err := set.Put(ctx, kv[0], kv[1], "bench"); err != nil {
			return fmt.Errorf("setting %s: %w", kv[0], err)
		}
	}
	return nil
}

// ConnectGoogle connects the Google account email (an emulator user) to the
// Tandem user userID through the real authorization-code flow: Begin, the
// emulator's authorization endpoint (auto-approving email, so no consent
// page), and Complete with the code and state of its redirect, the way the
// browser and the callback handler would. The client must be registered
// with the emulator for GoogleRedirectURI (ConfigureGoogle does it; so does
// oauthtest.New given that URI).
func ConnectGoogle(ctx context.Context, o *oauth.Service, em *google.Server, userID, email string) (*store.Connection, error) {
	em.SetAutoApprove(email)
	return connectGoogle(ctx, o, userID, email)
}

// connectGoogle is ConnectGoogle once the emulator approves email at once.
func connectGoogle(ctx context.Context, o *oauth.Service, userID, email string) (*store.Connection, error) {
	const session = "bench-session"
	authURL, err := o.Begin(ctx, oauth.BeginRequest{Provider: oauth.ProviderGoogle, UserID: userID, Session: session,
		BaseURL: GoogleSite, LoginHint: email})
	if err != nil {
		return nil, fmt.Errorf("oauth begin: %w", err)
	}
	hc := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("oauth authorize: %w", err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode/100 != 3 || loc.Query().Get("code") == "" {
		return nil, fmt.Errorf("oauth authorize: status %d, location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	res, err := o.Complete(ctx, oauth.CallbackRequest{Provider: oauth.ProviderGoogle, UserID: userID, Session: session,
		Query: loc.Query()})
	if err != nil {
		return nil, fmt.Errorf("oauth complete: %w", err)
	}
	return res.Connection, nil
}
