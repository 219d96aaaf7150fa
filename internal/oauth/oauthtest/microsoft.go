package oauthtest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/tandem-crm/tandem/internal/emulator/msidentity"
	"github.com/tandem-crm/tandem/internal/settings"
)

// The test app registered with the Microsoft identity platform emulator.
const (
	MicrosoftClientID     = "5f2b1c7e-0d4a-4b8e-9a61-3c2d7e8f9a10"
	MicrosoftClientSecret = "tandem~test~microsoft~secret"
)

// Microsoft is a running Microsoft identity platform emulator. The
// embedded Server scripts it: AddUser, SetAutoApprove, SetAutoDeny,
// Revoke, ExpireAccessTokens, SetInvalidateRotated …
type Microsoft struct {
	*msidentity.Server
	URL string // the authority: MicrosoftAuthorityUrl

	mu     sync.Mutex
	tokens []url.Values
}

// NewMicrosoft starts an emulator on a loopback port until the test ends,
// with the test app allowed to redirect to redirectURIs.
func NewMicrosoft(t testing.TB, opts msidentity.Options, redirectURIs ...string) *Microsoft {
	t.Helper()
	m := &Microsoft{Server: msidentity.New(opts)}
	m.AddClient(MicrosoftClientID, MicrosoftClientSecret, redirectURIs...)
	srv := httptest.NewServer(m.record(m.Handler()))
	t.Cleanup(srv.Close)
	m.URL = srv.URL
	return m
}

// Configure points Tandem's settings at the emulator (tenant common) and
// enters the test app's keys.
func (m *Microsoft) Configure(ctx context.Context, set *settings.Service) error {
	for _, kv := range [][2]string{
		{"MicrosoftAuthorityUrl", m.URL},
		{"MicrosoftTenantId", "common"},
		{"MicrosoftClientId", MicrosoftClientID},
		{"MicrosoftClientSecret", MicrosoftClientSecret},
	} {
		if err := set.Put(ctx, kv[0], kv[1], "test"); err != nil {
			return err
		}
	}
	return nil
}

// TokenRequests returns the form of every token request so far, without
// the client secret, the code and the verifier.
func (m *Microsoft) TokenRequests() []url.Values {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]url.Values(nil), m.tokens...)
}

func (m *Microsoft) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token") {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			form, _ := url.ParseQuery(string(body))
			for _, k := range []string{"client_secret", "code", "code_verifier"} {
				if form.Has(k) {
					form.Set(k, "…")
				}
			}
			m.mu.Lock()
			m.tokens = append(m.tokens, form)
			m.mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
}
