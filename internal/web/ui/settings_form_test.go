package ui_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tandem-crm/tandem/internal/i18n"
	"github.com/tandem-crm/tandem/internal/settings"
	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

var (
	formTag   = regexp.MustCompile(`(?s)<form\b[^>]*>.*?</form>`)
	inputTag  = regexp.MustCompile(`<input\b[^>]*>`)
	selectTag = regexp.MustCompile(`(?s)<select\b([^>]*)>(.*?)</select>`)
	attr      = regexp.MustCompile(`([a-z-]+)(?:="([^"]*)")?`)
	selected  = regexp.MustCompile(`<option value="([^"]*)"[^>]*\bselected`)
)

// pageForm reads the one form of a page that posts to action, the way a
// browser would submit it untouched: text-like inputs with their values,
// ticked checkboxes, the selected option of each select. Files stay out.
func pageForm(t *testing.T, body, action string) url.Values {
	t.Helper()
	var form string
	for _, f := range formTag.FindAllString(body, -1) {
		if open := f[:strings.Index(f, ">")]; strings.Contains(open, `method="post"`) && strings.Contains(open, `action="`+action+`"`) {
			if form != "" {
				t.Fatalf("more than one form posts to %s", action)
			}
			form = f
		}
	}
	if form == "" {
		t.Fatalf("no form posts to %s", action)
	}
	attrs := func(tag string) map[string]string {
		m := map[string]string{}
		for _, a := range attr.FindAllStringSubmatch(tag, -1) {
			m[a[1]] = html.UnescapeString(a[2])
		}
		return m
	}
	out := url.Values{}
	for _, tag := range inputTag.FindAllString(form, -1) {
		a := attrs(tag)
		name, typ := a["name"], a["type"]
		_, isChecked := a["checked"]
		switch {
		case name == "" || typ == "file":
		case typ == "checkbox" || typ == "radio":
			if isChecked {
				out.Add(name, a["value"])
			}
		default:
			out.Add(name, a["value"])
		}
	}
	for _, m := range selectTag.FindAllStringSubmatch(form, -1) {
		name := attrs(m[1])["name"]
		if o := selected.FindStringSubmatch(m[2]); o != nil {
			out.Add(name, html.UnescapeString(o[1]))
		}
	}
	return out
}

// The settings page is one form with one Save: a change in one section is
// stored together with a change in another, never dropped by it; with an
// error anywhere nothing is stored and everything typed comes back.
func TestAdminSettingsOneSave(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	ctx := context.Background()
	b := adminBrowser(t, s)

	p := b.Get(t, "/admin/settings")
	wantStatus(t, "settings", p, http.StatusOK)
	if n := strings.Count(p.Body, `<button type="submit" class="btn btn-primary">`); n != 1 {
		t.Errorf("%d save buttons, want one", n)
	}
	form := pageForm(t, p.Body, "/admin/settings")
	for _, d := range settings.Registry {
		if d.Type != settings.TypeFile && !form.Has(d.Code) {
			t.Errorf("%s is not on the form", d.Code)
		}
	}

	// Fixes first: an error in one section keeps what was typed in all.
	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad.Set("CalendarIntegration", "google")              // general
	bad.Set("GoogleClientId", "typed-client-id")          // google
	bad.Set("GoogleClientSecret", "typed-secret-value-1") // google, a secret
	bad.Set("MailboxSyncInterval", "0")                   // mail: out of range
	p = b.Post(t, "/admin/settings", bad)
	wantStatus(t, "bad", p, http.StatusUnprocessableEntity)
	mustHave(t, "bad", p.Body, `<option value="google" selected>`, `value="typed-client-id"`, `value="0"`,
		tr(i18n.En, "error.out_of_range"), tr(i18n.En, "admin.settings.secret_retype"))
	mustLack(t, "bad", p.Body, "typed-secret-value-1")
	for _, code := range []string{"CalendarIntegration", "GoogleClientId", "GoogleClientSecret"} {
		if v, _, _ := s.App.Store.GetSetting(ctx, code); v != "" {
			t.Errorf("%s stored by a save that failed", code)
		}
	}

	// The page as the error left it, corrected, saved once: both sections
	// are stored.
	form = pageForm(t, p.Body, "/admin/settings")
	form.Set("MailboxSyncInterval", "30")
	form.Set("GoogleClientSecret", "typed-secret-value-1")
	p = b.Post(t, "/admin/settings", form)
	wantStatus(t, "save", p, http.StatusOK)
	mustHave(t, "save", p.Body, tr(i18n.En, "flash.saved"))
	want := map[string]string{"CalendarIntegration": "google", "GoogleClientId": "typed-client-id",
		"GoogleClientSecret": "typed-secret-value-1", "MailboxSyncInterval": "30", "UseSharedGoogleApp": "true",
		"GoogleApplicationName": "Tandem"}
	for code, v := range want {
		if got, _ := s.App.Settings.Get(ctx, code); got != v {
			t.Errorf("%s = %q, want %q", code, got, v)
		}
	}

	// Saving the page untouched changes nothing: the secret stays, the
	// unticked box stays unticked, defaults stay defaults.
	form = pageForm(t, b.Get(t, "/admin/settings").Body, "/admin/settings")
	if form.Get("GoogleClientSecret") != "" {
		t.Error("the secret is on the page")
	}
	form.Del("UseSharedGoogleApp")
	form.Add("UseSharedGoogleApp", "0") // untick it
	b.Post(t, "/admin/settings", form)
	b.Post(t, "/admin/settings", pageForm(t, b.Get(t, "/admin/settings").Body, "/admin/settings"))
	want["UseSharedGoogleApp"] = "false"
	for code, v := range want {
		if got, _ := s.App.Settings.Get(ctx, code); got != v {
			t.Errorf("after saving untouched: %s = %q, want %q", code, got, v)
		}
	}
	if raw, isSet, _ := s.App.Store.GetSetting(ctx, "GoogleApplicationName"); isSet {
		t.Errorf("a default became a stored value: %q", raw)
	}
}
