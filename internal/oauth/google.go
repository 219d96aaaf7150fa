package oauth

import (
	"context"
	"strconv"
	"strings"

	"golang.org/x/oauth2"

	"github.com/tandem-crm/tandem/internal/settings"
)

// GoogleCallbackPath is where Google sends the browser back, appended to
// SiteUrl; the administration page shows the result to register.
const GoogleCallbackPath = "/oauth/google/callback"

// GoogleScopes are the scopes Tandem asks Google for and the administrator
// registers in Google Cloud (SPEC §1: contacts, calendar, Gmail), plus the
// OpenID ones that name the account. The single source: the administration
// page shows this list.
var GoogleScopes = []string{
	"https://www.googleapis.com/auth/contacts",
	"https://www.googleapis.com/auth/calendar",
	"https://mail.google.com/",
	"openid", "email", "profile",
}

// identityScope reports the OpenID scopes, which Google reports back in
// other spellings (userinfo.email) and which sync does not need.
func identityScope(s string) bool {
	switch s {
	case "openid", "email", "profile", "https://www.googleapis.com/auth/userinfo.email",
		"https://www.googleapis.com/auth/userinfo.profile":
		return true
	}
	return false
}

// Google's real endpoints: the defaults of the Google*Url settings and the
// base paths of google.golang.org/api's people/v1 and calendar/v3.
const (
	googlePeopleURL   = "https://people.googleapis.com/"
	googleCalendarURL = "https://www.googleapis.com/calendar/v3/"
)

// GoogleEndpoints are the addresses Tandem calls Google at, from the
// Google*Url settings (loopback ones in tests and with the emulator).
type GoogleEndpoints struct {
	AuthURL     string
	TokenURL    string
	UserInfoURL string
	PeopleURL   string // base path for people/v1 (option.WithEndpoint), ends in "/"
	CalendarURL string // base path for calendar/v3, ends in "/"
}

// Google returns the Google endpoints in effect. GoogleApiUrl empty means
// the real hosts; when set, People is <GoogleApiUrl>/, Calendar
// <GoogleApiUrl>/calendar/v3/ and, unless GoogleUserInfoUrl was changed
// from its default, user info <GoogleApiUrl>/oauth2/v3/userinfo (where the
// emulator serves it).
func Google(ctx context.Context, set *settings.Service) (GoogleEndpoints, error) {
	var e GoogleEndpoints
	var api string
	for _, f := range []struct {
		code string
		dst  *string
	}{{"GoogleAuthUrl", &e.AuthURL}, {"GoogleTokenUrl", &e.TokenURL}, {"GoogleUserInfoUrl", &e.UserInfoURL},
		{"GoogleApiUrl", &api}} {
		v, err := set.Get(ctx, f.code)
		if err != nil {
			return GoogleEndpoints{}, err
		}
		*f.dst = strings.TrimSpace(v)
	}
	e.PeopleURL, e.CalendarURL = googlePeopleURL, googleCalendarURL
	if api = strings.TrimRight(api, "/"); api != "" {
		e.PeopleURL, e.CalendarURL = api+"/", api+"/calendar/v3/"
		if d, _ := settings.Lookup("GoogleUserInfoUrl"); e.UserInfoURL == d.Default {
			e.UserInfoURL = api + "/oauth2/v3/userinfo"
		}
	}
	return e, nil
}

// GoogleConfig returns the client configuration of the company's Google
// app: its keys, Google's endpoints, GoogleScopes and the redirect URL
// <SiteUrl>/oauth/google/callback ("" while SiteUrl is unset; Begin then
// derives it from the request's host). ErrSharedApp while
// UseSharedGoogleApp is on; ErrNotConfigured without client id or secret.
func GoogleConfig(ctx context.Context, set *settings.Service) (*oauth2.Config, error) {
	shared, err := set.Get(ctx, "UseSharedGoogleApp")
	if err != nil {
		return nil, err
	}
	if b, _ := strconv.ParseBool(shared); b {
		return nil, ErrSharedApp
	}
	id, err := set.Get(ctx, "GoogleClientId")
	if err != nil {
		return nil, err
	}
	sec, err := set.Get(ctx, "GoogleClientSecret")
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(id) == "" || sec == "" {
		return nil, ErrNotConfigured
	}
	e, err := Google(ctx, set)
	if err != nil {
		return nil, err
	}
	site, err := set.Get(ctx, "SiteUrl")
	if err != nil {
		return nil, err
	}
	return &oauth2.Config{
		ClientID:     strings.TrimSpace(id),
		ClientSecret: sec,
		Endpoint:     oauth2.Endpoint{AuthURL: e.AuthURL, TokenURL: e.TokenURL, AuthStyle: oauth2.AuthStyleInParams},
		RedirectURL:  redirectURL(site, "", GoogleCallbackPath),
		Scopes:       append([]string(nil), GoogleScopes...),
	}, nil
}

// redirectURL is <SiteUrl><path>, or, while SiteUrl is unset, <base><path>
// where base is the scheme and host the request came in on (fine on
// loopback; behind a proxy SiteUrl must be set).
func redirectURL(siteURL, base, path string) string {
	if s := strings.TrimRight(strings.TrimSpace(siteURL), "/"); s != "" {
		return s + path
	}
	if base = strings.TrimRight(base, "/"); base != "" {
		return base + path
	}
	return ""
}
