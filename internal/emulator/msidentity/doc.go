// Package msidentity is a loopback emulator of the Microsoft identity
// platform v2.0 (login.microsoftonline.com): the OAuth 2.0
// authorization-code flow with PKCE that Tandem's package oauth runs for
// Microsoft accounts, with the wire facts of shared/reference/apis.md §3.2.
// It is built on net/http and encoding/json only, and kept apart from any
// Microsoft API emulator (Graph), which uses it for its tokens. Tests use it
// for Outlook / Microsoft 365 mailboxes (XOAUTH2, apis.md §3.3).
//
// # Endpoint contract
//
// Everything is served on one host. With base = the URL Start returns
// (e.g. "http://127.0.0.1:41234", no trailing slash) — Tandem's
// MicrosoftAuthorityUrl — and tenant one of common, organizations,
// consumers, the directory's id (Options.TenantID), ConsumersTenantID, or a
// domain of the directory's users:
//
//	Authorize   GET base/{tenant}/oauth2/v2.0/authorize?client_id&response_type=code&redirect_uri
//	            &scope&state&response_mode=query|fragment|form_post&prompt&login_hint
//	            &code_challenge&code_challenge_method=S256
//	            → the account picker and consent page (Accept / Cancel), then the
//	            redirect with code and state, or error=access_denied (AADSTS65004)
//	Token       POST base/{tenant}/oauth2/v2.0/token (form; client_secret in the body or Basic)
//	            grant_type=authorization_code (code, redirect_uri, code_verifier, scope)
//	            grant_type=refresh_token (refresh_token, scope)
//	            → {"token_type":"Bearer","scope","expires_in","ext_expires_in",
//	               "access_token","refresh_token","id_token"}
//	Discovery   GET base/{tenant}/v2.0/.well-known/openid-configuration
//
// Errors of the token endpoint have Microsoft's shape: {"error",
// "error_description":"AADSTSnnn: …\r\nTrace ID: …\r\nCorrelation ID: …\r\n
// Timestamp: …","error_codes":[nnn],"timestamp","trace_id",
// "correlation_id","error_uri"}; the authorization endpoint shows an error
// page for what it cannot send back (an unknown tenant AADSTS90002, an
// unknown client AADSTS700016, an unregistered redirect URI AADSTS50011).
//
// # Behaviour
//
// Users are accounts of two directories: addresses at Microsoft's consumer
// domains (outlook.com, hotmail.com, live.com, msn.com) are personal
// accounts (tid ConsumersTenantID, accepted at common and consumers);
// any other address is a work account of the organization (tid
// Options.TenantID, accepted at common, organizations, the tenant id and
// its users' domains).
//
// Scopes are resource-qualified (https://outlook.office.com/IMAP.AccessAsUser.All);
// a bare name such as Mail.Read is Microsoft Graph's. An authorization may
// ask for scopes of several resources (consent only); each token request
// gets an access token for one resource — the first one named — and
// mixing resources in a token request is invalid_scope (AADSTS28000).
// Asking the token endpoint for a scope the user never consented to is
// invalid_grant (AADSTS65001). openid gives an id_token, offline_access a
// refresh token.
//
// Refresh tokens rotate: every refresh answers a new one. Microsoft does
// not revoke the old one, so by default it keeps working; with
// InvalidateRotated (or SetInvalidateRotated) a redeemed refresh token is
// refused afterwards (invalid_grant AADSTS70008), which proves a client
// stores the newest. Refresh tokens expire after RefreshTokenLifetime of
// disuse (AADSTS700082); Revoke ends every grant of a user (AADSTS50173)
// and, as Exchange Online's continuous access evaluation does, their
// access tokens too.
//
// The id_token is a JWT with Microsoft's v2.0 claims (iss
// base/{tid}/v2.0, aud the client id, oid, tid, sub, name and
// preferred_username with the profile scope, email with the email scope,
// nonce). It is signed HS256 with the client's secret — Microsoft signs
// RS256 with its published keys — so it is for reading claims, not for
// verification.
//
// # Not Microsoft's: token information for mail servers
//
// Exchange Online validates the XOAUTH2 access tokens its IMAP and SMTP
// servers receive itself. The test mail server (Dovecot's oauth2 passdb,
// package testenv/mailserver) needs an endpoint to ask instead; the
// emulator serves one in the shape Dovecot's tokeninfo_url expects, as
// Google's tokeninfo does:
//
//	GET or POST base/emulator/tokeninfo?access_token=…
//	→ 200 {"aud","email","oid","tid","scope","exp","expires_in"} (strings)
//	→ 400 {"error":"invalid_token"} for an unknown, expired or revoked token
//
// # Control
//
// Go methods (AddClient, AddUser, SetAutoApprove, SetAutoDeny, Revoke,
// ExpireAccessTokens, SetInvalidateRotated; counters Exchanges, Refreshes,
// Authorizations) and the same as JSON over HTTP for a driver in another
// process, under base/emulator/:
//
//	POST users               {"email","name"}   AddUser
//	POST auto-approve        {"email"}          SetAutoApprove ("" turns it off)
//	POST auto-deny           {"on"}             SetAutoDeny
//	POST revoke              {"email"}          Revoke
//	POST expire-access-tokens {}                ExpireAccessTokens
//	POST invalidate-rotated  {"on"}             SetInvalidateRotated
//
// Options.Now is the clock, so tests step over token lifetimes.
package msidentity
