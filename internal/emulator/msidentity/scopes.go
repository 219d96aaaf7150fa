package msidentity

import (
	"slices"
	"strings"
)

// graphResource is the resource of scopes named without one (Mail.Read).
const graphResource = "https://graph.microsoft.com"

// oidcScope reports the OpenID Connect scopes, which name no resource.
func oidcScope(sc string) bool {
	switch strings.ToLower(sc) {
	case "openid", "profile", "email", ScopeOfflineAccess:
		return true
	}
	return false
}

// qualify gives a scope its resource: a bare name is Graph's.
func qualify(sc string) string {
	if oidcScope(sc) || strings.Contains(sc, "://") {
		return sc
	}
	return graphResource + "/" + sc
}

// resourceOf is the resource a scope is for ("" for the OpenID ones):
// https://outlook.office.com for https://outlook.office.com/SMTP.Send.
func resourceOf(sc string) string {
	if oidcScope(sc) {
		return ""
	}
	sc = qualify(sc)
	scheme, rest, _ := strings.Cut(sc, "://")
	host, _, _ := strings.Cut(rest, "/")
	return strings.ToLower(scheme + "://" + host)
}

// hasScope compares scopes as Microsoft does, without regard to case.
func hasScope(list []string, sc string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(qualify(x), qualify(sc)) })
}

// addScopes adds to list the scopes it lacks.
func addScopes(list []string, more ...string) []string {
	for _, sc := range more {
		if !hasScope(list, sc) {
			list = append(list, qualify(sc))
		}
	}
	return list
}

// tokenScopes are what a token request gets.
type tokenScopes struct {
	resource string   // "" when only OpenID scopes were asked
	scopes   []string // the resource's consented scopes: the access token's
	oidc     []string // the OpenID scopes asked
}

// pickScopes resolves a token request's scopes: asked (its scope
// parameter) or, when it has none, def (what the authorization asked). An
// access token is for one resource: asked must name one (AADSTS28000), def
// gives its first. Every resource scope must have been consented to
// (AADSTS65001); the token then carries all of that resource's consented
// scopes, as Microsoft's do.
func pickScopes(asked, def, consented []string) (tokenScopes, *aadError) {
	req := asked
	if len(req) == 0 {
		req = def
	}
	var ts tokenScopes
	for _, sc := range req {
		if oidcScope(sc) {
			ts.oidc = append(ts.oidc, strings.ToLower(sc))
			continue
		}
		r := resourceOf(sc)
		switch {
		case ts.resource == "":
			ts.resource = r
		case r != ts.resource && len(asked) > 0:
			return ts, &aadError{status: 400, err: "invalid_scope", code: 28000,
				msg: "Provided value for the input parameter scope is not valid because it contains more than one resource. Scope " + strings.Join(asked, " ") + " is not valid."}
		case r != ts.resource:
			continue
		}
		if !hasScope(consented, sc) {
			return ts, &aadError{status: 400, err: "invalid_grant", code: 65001,
				msg: "The user or administrator has not consented to use the application. Send an interactive authorization request for this user and resource."}
		}
	}
	for _, sc := range consented {
		if ts.resource != "" && resourceOf(sc) == ts.resource {
			ts.scopes = append(ts.scopes, qualify(sc))
		}
	}
	return ts, nil
}

// granted is the token response's scope: the resource's scopes, or the
// OpenID ones of a token for no resource.
func (ts tokenScopes) granted() string {
	if ts.resource == "" {
		return strings.Join(ts.oidc, " ")
	}
	return strings.Join(ts.scopes, " ")
}

func (ts tokenScopes) has(oidc string) bool { return slices.Contains(ts.oidc, oidc) }
