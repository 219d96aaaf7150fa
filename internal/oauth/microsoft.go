package oauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/tandem-crm/tandem/internal/settings"
)

// The Microsoft identity platform v2.0 (apis.md §3.2) as an issuer of
// tokens for apps other than a sync provider's: a mail provider's app
// asking for Exchange Online's IMAP and SMTP scopes (package mail).
// Microsoft differs from Google in ways this file keeps: the endpoints
// are under an authority and a tenant; every token request names the
// scopes of one resource (the refresh too, which golang.org/x/oauth2
// cannot send, so refreshMicrosoft does); refresh tokens rotate, the
// newest stored with its access token (refresh); and the account is read
// from the id_token the token endpoint answers, there being no user info
// endpoint for these scopes.

// MicrosoftCallbackPath is where Microsoft sends the browser back,
// appended to SiteUrl: the redirect URI to register in Microsoft Entra.
const MicrosoftCallbackPath = "/oauth/microsoft/callback"

// Exchange Online's scopes of IMAP and SMTP with XOAUTH2 (apis.md §3.2,
// §3.3): resource-qualified, as these protocols need.
const (
	MicrosoftScopeIMAP = "https://outlook.office.com/IMAP.AccessAsUser.All"
	MicrosoftScopeSMTP = "https://outlook.office.com/SMTP.Send"
)

// MicrosoftMailScopes are what a Microsoft mailbox's authorization asks
// for besides the identity scopes.
var MicrosoftMailScopes = []string{MicrosoftScopeIMAP, MicrosoftScopeSMTP}

// MicrosoftIdentityScopes are asked by every Microsoft authorization:
// offline_access for a refresh token, and OpenID for the id_token that
// names the account.
var MicrosoftIdentityScopes = []string{"offline_access", "openid", "email", "profile"}

// MicrosoftEndpoints are where Tandem calls the Microsoft identity
// platform, from the MicrosoftAuthorityUrl and MicrosoftTenantId settings.
type MicrosoftEndpoints struct {
	Authority string // e.g. https://login.microsoftonline.com, no trailing slash
	Tenant    string // common, organizations, consumers, a tenant id or domain
	AuthURL   string // <Authority>/<Tenant>/oauth2/v2.0/authorize
	TokenURL  string // <Authority>/<Tenant>/oauth2/v2.0/token
}

// Microsoft returns the Microsoft endpoints in effect; an empty tenant is
// common (work and personal accounts).
func Microsoft(ctx context.Context, set *settings.Service) (MicrosoftEndpoints, error) {
	authority, err := set.Get(ctx, "MicrosoftAuthorityUrl")
	if err != nil {
		return MicrosoftEndpoints{}, err
	}
	tenant, err := set.Get(ctx, "MicrosoftTenantId")
	if err != nil {
		return MicrosoftEndpoints{}, err
	}
	e := MicrosoftEndpoints{Authority: strings.TrimRight(strings.TrimSpace(authority), "/"), Tenant: strings.TrimSpace(tenant)}
	if e.Tenant == "" {
		e.Tenant = "common"
	}
	base := e.Authority + "/" + url.PathEscape(e.Tenant) + "/oauth2/v2.0/"
	e.AuthURL, e.TokenURL = base+"authorize", base+"token"
	return e, nil
}

// msClaims are the id_token claims Tandem reads (Microsoft identity
// platform v2.0 id_token reference).
type msClaims struct {
	Iss               string `json:"iss"`
	Aud               string `json:"aud"`
	Exp               int64  `json:"exp"`
	Tid               string `json:"tid"`
	Oid               string `json:"oid"`
	Sub               string `json:"sub"`
	Name              string `json:"name"`
	PreferredUsername string `json:"preferred_username"`
	Email             string `json:"email"`
}

// idTokenSkew is the clock difference tolerated on an id_token's expiry.
const idTokenSkew = 5 * time.Minute

// microsoftAccount names the account of a token answer from its id_token:
// its address is preferred_username (the sign-in name, which XOAUTH2 logs
// in with) when that is an address, else the email claim. The token came
// straight from the token endpoint over the connection Tandem opened, so,
// as OpenID Connect Core §3.1.3.7 allows, the TLS server authentication
// stands in for the signature; the audience, the issuer (the authority
// and the account's tenant) and the expiry are checked.
func microsoftAccount(tok *oauth2.Token, clientID, authority string, now time.Time) (*userInfo, error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, errors.New("no id_token in the token answer (openid not granted?)")
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, errors.New("id_token: not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, fmt.Errorf("id_token: %w", err)
	}
	var c msClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, fmt.Errorf("id_token: %w", err)
	}
	switch {
	case c.Aud != clientID:
		return nil, fmt.Errorf("id_token: audience %q, not this app", c.Aud)
	case c.Tid == "" || c.Iss != authority+"/"+c.Tid+"/v2.0":
		return nil, fmt.Errorf("id_token: issuer %q is not the authority's", c.Iss)
	case c.Exp == 0 || time.Unix(c.Exp, 0).Add(idTokenSkew).Before(now):
		return nil, errors.New("id_token: expired")
	}
	email := strings.TrimSpace(c.PreferredUsername)
	if !strings.Contains(email, "@") {
		email = strings.TrimSpace(c.Email)
	}
	return &userInfo{Sub: c.Oid, Email: email, Name: c.Name}, nil
}

// refreshMicrosoft renews a token at cfg's token endpoint, naming cfg's
// scopes: Microsoft issues each access token for one resource, named by
// the request (apis.md §3.2). Errors are *oauth2.RetrieveError for an
// answer with an error, as golang.org/x/oauth2's.
func (s *Service) refreshMicrosoft(ctx context.Context, cfg *oauth2.Config, refreshToken string) (*oauth2.Token, error) {
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}, "client_id": {cfg.ClientID},
		"client_secret": {cfg.ClientSecret}, "scope": {strings.Join(cfg.Scopes, " ")}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.Endpoint.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := s.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	var tj struct {
		AccessToken      string      `json:"access_token"`
		TokenType        string      `json:"token_type"`
		RefreshToken     string      `json:"refresh_token"`
		ExpiresIn        json.Number `json:"expires_in"`
		Error            string      `json:"error"`
		ErrorDescription string      `json:"error_description"`
		ErrorURI         string      `json:"error_uri"`
	}
	jerr := json.Unmarshal(body, &tj)
	if resp.StatusCode < 200 || resp.StatusCode > 299 || tj.Error != "" {
		return nil, &oauth2.RetrieveError{Response: resp, Body: body, ErrorCode: tj.Error, ErrorDescription: tj.ErrorDescription,
			ErrorURI: tj.ErrorURI}
	}
	if jerr != nil {
		return nil, fmt.Errorf("token answer: %w", jerr)
	}
	if tj.AccessToken == "" {
		return nil, errors.New("token answer without an access token")
	}
	var extra map[string]any
	if err := json.Unmarshal(body, &extra); err != nil {
		return nil, fmt.Errorf("token answer: %w", err)
	}
	tok := &oauth2.Token{AccessToken: tj.AccessToken, TokenType: tj.TokenType, RefreshToken: tj.RefreshToken}
	if n, err := tj.ExpiresIn.Int64(); err == nil && n > 0 {
		tok.Expiry = time.Now().Add(time.Duration(n) * time.Second)
	}
	return tok.WithExtra(extra), nil
}
