package oauth

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/oauth2"

	"github.com/tandem-crm/tandem/internal/settings"
)

// GoogleCallbackPath is where Google sends the browser back, appended to
// SiteUrl; the administration page shows the result to register.
const GoogleCallbackPath = "/oauth/google/callback"

// Google's OAuth scopes of the features below.
const (
	GoogleScopeContacts = "https://www.googleapis.com/auth/contacts"
	GoogleScopeCalendar = "https://www.googleapis.com/auth/calendar"
	// GoogleScopeMail is IMAP and SMTP with XOAUTH2 (apis.md §3.3).
	GoogleScopeMail = "https://mail.google.com/"
)

// GoogleIdentityScopes name the account (OpenID); every authorization asks
// for them.
var GoogleIdentityScopes = []string{"openid", "email", "profile"}

// GoogleFeature is a part of Tandem that works with a part of a Google
// account, and the scopes it needs.
type GoogleFeature struct {
	Name   string // "contacts", "calendar"
	Scopes []string
	// The feature is on while the system setting Setting has the value
	// Value; with no Setting it is always on.
	Setting, Value string
	// OnDemand scopes are asked only by the authorization that needs them
	// (adding a Gmail mailbox), never when an account is connected: the
	// feature is never "on" here.
	OnDemand bool
}

// GoogleFeatures are the features that use a Google account. An
// authorization asks only for the scopes of the features that are on, with
// include_granted_scopes=true: a feature turned on later adds its scopes
// the next time the account is connected, and Google keeps what was granted
// before (incremental authorization). Mail's scope is on demand: a
// mailbox's own authorization asks for it (package mail), with the mail
// provider's app.
var GoogleFeatures = []GoogleFeature{
	{Name: "contacts", Scopes: []string{GoogleScopeContacts}},
	{Name: "calendar", Scopes: []string{GoogleScopeCalendar}, Setting: "CalendarIntegration", Value: "google"},
	{Name: "mail", Scopes: []string{GoogleScopeMail}, OnDemand: true},
}

// GoogleScopes are every scope Tandem may ask Google for, the identity ones
// included: what the administrator registers in Google Cloud. The
// administration page shows this list.
var GoogleScopes = googleScopes(GoogleFeatures)

// GoogleScopesOn are the scopes an authorization asks for now: those of the
// features that are on, and the identity ones.
func GoogleScopesOn(ctx context.Context, set *settings.Service) ([]string, error) {
	on, err := googleFeaturesOn(ctx, set)
	return googleScopes(on), err
}

// GoogleFeaturesMissing names the features that are on but whose scopes
// the connection was not granted (scopes: store.Connection.Scopes); they
// fail until the account is connected again. Nothing is reported while the
// granted scopes are unknown ("").
func GoogleFeaturesMissing(ctx context.Context, set *settings.Service, scopes string) ([]string, error) {
	granted := strings.Fields(scopes)
	if len(granted) == 0 {
		return nil, nil
	}
	on, err := googleFeaturesOn(ctx, set)
	var out []string
	for _, f := range on {
		for _, sc := range f.Scopes {
			if !slices.Contains(granted, sc) {
				out = append(out, f.Name)
				break
			}
		}
	}
	return out, err
}

func googleFeaturesOn(ctx context.Context, set *settings.Service) ([]GoogleFeature, error) {
	var on []GoogleFeature
	for _, f := range GoogleFeatures {
		if f.OnDemand {
			continue
		}
		if f.Setting != "" {
			v, err := set.Get(ctx, f.Setting)
			if err != nil {
				return nil, err
			}
			if v != f.Value {
				continue
			}
		}
		on = append(on, f)
	}
	return on, nil
}

func googleScopes(fs []GoogleFeature) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Scopes...)
	}
	return append(out, GoogleIdentityScopes...)
}

// identityScope reports the OpenID scopes (and Microsoft's
// offline_access), which Google reports back in other spellings
// (userinfo.email), Microsoft not at all, and which sync does not need.
func identityScope(s string) bool {
	switch s {
	case "openid", "email", "profile", "offline_access", "https://www.googleapis.com/auth/userinfo.email",
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
// app: its keys, Google's endpoints, GoogleScopesOn and the redirect URL
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
	scopes, err := GoogleScopesOn(ctx, set)
	if err != nil {
		return nil, err
	}
	return &oauth2.Config{
		ClientID:     strings.TrimSpace(id),
		ClientSecret: sec,
		Endpoint:     oauth2.Endpoint{AuthURL: e.AuthURL, TokenURL: e.TokenURL, AuthStyle: oauth2.AuthStyleInParams},
		RedirectURL:  redirectURL(site, "", GoogleCallbackPath),
		Scopes:       scopes,
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
