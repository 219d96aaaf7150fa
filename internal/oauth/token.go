package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/tandem-crm/tandem/internal/store"
)

// credentials are what connections.credentials holds, as JSON sealed with
// package secret (associated data "connection:<id>").
type credentials struct {
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	TokenType    string    `json:"token_type,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"`
	Scopes       []string  `json:"scopes,omitempty"`
}

func (s *Service) seal(connID string, c credentials) (string, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	return s.box.Seal(string(b), credentialsAD(connID)), nil
}

func (s *Service) open(connID, sealed string) (credentials, error) {
	var c credentials
	if sealed == "" {
		return c, errors.New("oauth: connection has no credentials")
	}
	plain, err := s.box.Open(sealed, credentialsAD(connID))
	if err != nil {
		return c, fmt.Errorf("oauth: open credentials of connection %s: %w", connID, err)
	}
	if err := json.Unmarshal([]byte(plain), &c); err != nil {
		return c, fmt.Errorf("oauth: credentials of connection %s: %w", connID, err)
	}
	return c, nil
}

// fresh reports whether the access token outlives the refresh margin.
func (c credentials) fresh(now time.Time) bool {
	return c.AccessToken != "" && (c.Expiry.IsZero() || c.Expiry.Add(-RefreshMargin).After(now))
}

func (c credentials) token() *oauth2.Token {
	return &oauth2.Token{AccessToken: c.AccessToken, TokenType: c.TokenType, RefreshToken: c.RefreshToken, Expiry: c.Expiry}
}

// TokenSource returns the access tokens of a connection, for connectors.
// It reuses a token until RefreshMargin before its expiry, then refreshes
// it — one refresh at a time per connection in this process — and stores
// the result sealed. Google does not rotate refresh tokens: without a new
// one in the answer the old one is kept; Microsoft does, and the new one
// is stored with the access token in one write (the old one may stop
// working once used). When the provider answers invalid_grant the
// connection turns needs_reauth with the provider's reason and Token
// returns a *ReauthError (errors.Is(err, ErrNeedsReauth)), as it does at
// once for a connection already needs_reauth; other connections are not
// affected. ctx bounds the refresh requests, as with oauth2.Config.
func (s *Service) TokenSource(ctx context.Context, connID string) oauth2.TokenSource {
	return oauth2.ReuseTokenSourceWithExpiry(nil, &connSource{s: s, ctx: ctx, id: connID}, RefreshMargin)
}

// Client returns an HTTP client that authorizes requests with the
// connection's TokenSource. A request made after the connection needs
// re-authorization fails with an error for which
// errors.Is(err, ErrNeedsReauth) holds.
func (s *Service) Client(ctx context.Context, connID string) *http.Client {
	base := s.HTTPClient.Transport
	return &http.Client{Transport: &oauth2.Transport{Base: base, Source: s.TokenSource(ctx, connID)}}
}

// connSource reads a connection's token from the store and refreshes it.
type connSource struct {
	s   *Service
	ctx context.Context
	id  string
}

func (cs *connSource) Token() (*oauth2.Token, error) {
	mu := cs.s.lock(cs.id)
	mu.Lock()
	defer mu.Unlock()
	// Twice at most: a refresh refused with an old grant is retried once
	// when the connection was reconnected meanwhile.
	for attempt := 0; ; attempt++ {
		tok, retry, err := cs.s.refresh(cs.ctx, cs.id, "")
		if retry && attempt == 0 {
			continue
		}
		return tok, err
	}
}

// Refresh renews a connection's access token now when the stored one is
// stale — one a server refused before its recorded expiry (revoked, or
// expired early) — and returns the current token otherwise (another
// caller renewed it meanwhile). Errors are as with TokenSource.
func (s *Service) Refresh(ctx context.Context, connID, stale string) (*oauth2.Token, error) {
	mu := s.lock(connID)
	mu.Lock()
	defer mu.Unlock()
	for attempt := 0; ; attempt++ {
		tok, retry, err := s.refresh(ctx, connID, stale)
		if retry && attempt == 0 {
			continue
		}
		return tok, err
	}
}

// refresh returns the connection's token, renewed when it is about to
// expire or is stale (non-empty: the token a server refused). retry means
// the grant was refused but the stored credentials had changed meanwhile,
// so they are worth another try.
func (s *Service) refresh(ctx context.Context, connID, stale string) (tok *oauth2.Token, retry bool, err error) {
	c, err := s.st.GetConnection(ctx, connID)
	if err != nil {
		return nil, false, fmt.Errorf("oauth: connection %s: %w", connID, err)
	}
	if c.Status == store.ConnectionNeedsReauth {
		return nil, false, &ReauthError{ConnectionID: connID, Reason: c.StatusReason}
	}
	sealed, err := s.st.ConnectionCredentials(ctx, connID)
	if err != nil {
		return nil, false, fmt.Errorf("oauth: connection %s: %w", connID, err)
	}
	cr, err := s.open(connID, sealed)
	if err != nil {
		return nil, false, err
	}
	if cr.fresh(time.Now()) && (stale == "" || cr.AccessToken != stale) {
		return cr.token(), false, nil
	}
	if cr.RefreshToken == "" {
		return nil, false, s.needsReauth(ctx, connID, sealed, "no refresh token")
	}
	cfg, issuer, err := s.connConfig(ctx, c)
	if err != nil {
		return nil, false, err
	}
	var nt *oauth2.Token
	if issuer == ProviderMicrosoft {
		nt, err = s.refreshMicrosoft(ctx, cfg, cr.RefreshToken)
	} else {
		nt, err = cfg.TokenSource(s.httpCtx(ctx), &oauth2.Token{RefreshToken: cr.RefreshToken}).Token()
	}
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.ErrorCode == "invalid_grant" {
			// Microsoft's description goes on with trace and correlation
			// ids and the time on further lines: the reason is the first.
			reason, _, _ := strings.Cut(strings.TrimSpace(re.ErrorDescription), "\n")
			reason = strings.TrimSpace(reason)
			if reason == "" {
				reason = "invalid_grant"
			}
			rerr := s.needsReauth(ctx, connID, sealed, reason)
			var ra *ReauthError
			if !errors.As(rerr, &ra) {
				return nil, true, rerr
			}
			return nil, false, rerr
		}
		if errors.As(err, &re) {
			err = retrieveErr(re)
		}
		return nil, false, fmt.Errorf("oauth: refresh token of connection %s: %w", connID, err)
	}
	next := credentials{AccessToken: nt.AccessToken, RefreshToken: nt.RefreshToken, TokenType: nt.TokenType, Expiry: nt.Expiry,
		Scopes: cr.Scopes}
	if next.RefreshToken == "" {
		next.RefreshToken = cr.RefreshToken // Google does not rotate: keep it (Microsoft's new one replaces it)
	}
	if sc, ok := nt.Extra("scope").(string); ok && strings.TrimSpace(sc) != "" {
		next.Scopes = strings.Fields(sc)
	}
	newSealed, err := s.seal(connID, next)
	if err != nil {
		return nil, false, err
	}
	// Only over what was read: if another process refreshed or the user
	// reconnected meanwhile, theirs stays and this token is used once.
	if _, err := s.st.SaveConnectionCredentials(ctx, connID, newSealed, sealed); err != nil {
		return nil, false, err
	}
	return next.token(), false, nil
}

// needsReauth marks the connection needs_reauth, unless its credentials
// changed since they were read (sealedSeen): then a plain error is returned
// and the caller may try again with the new ones.
func (s *Service) needsReauth(ctx context.Context, connID, sealedSeen, reason string) error {
	ok, err := s.st.MarkConnectionNeedsReauth(ctx, connID, sealedSeen, reason)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("oauth: connection %s: credentials changed during refresh", connID)
	}
	s.log.WarnContext(ctx, "oauth connection needs re-authorization", "connection", connID, "reason", reason)
	return &ReauthError{ConnectionID: connID, Reason: reason}
}
