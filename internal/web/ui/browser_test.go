package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

// chromiumPath finds Debian's Chromium, installing it when it is missing
// (unless TANDEM_TEST_SKIP_BROWSER=1, which skips browser tests instead).
func chromiumPath(t *testing.T) string {
	t.Helper()
	find := func() string {
		for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
			if p, err := exec.LookPath(name); err == nil {
				return p
			}
		}
		return ""
	}
	if p := find(); p != "" {
		return p
	}
	if os.Getenv("TANDEM_TEST_SKIP_BROWSER") == "1" {
		t.Skip("chromium is not installed and TANDEM_TEST_SKIP_BROWSER=1")
	}
	t.Log("chromium not found: installing Debian's chromium")
	for _, args := range [][]string{
		{"-o", "DPkg::Lock::Timeout=300", "update"},
		{"-o", "DPkg::Lock::Timeout=300", "install", "-y", "--no-install-recommends", "chromium"},
	} {
		cmd := exec.Command("apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("apt-get %s: %v\n%s\n(set TANDEM_TEST_SKIP_BROWSER=1 to skip browser tests)",
				strings.Join(args, " "), err, out)
		}
	}
	p := find()
	if p == "" {
		t.Fatal("chromium still not found after installing it")
	}
	return p
}

// newChrome starts a headless Chromium for the test; on failure the page
// is saved as a screenshot in the test's temp directory.
func newChrome(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	exe := chromiumPath(t)
	dir := t.TempDir()
	parent, cancelTimeout := context.WithTimeout(context.Background(), timeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(parent,
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox, // tests run as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.UserDataDir(filepath.Join(dir, "profile")),
		chromedp.WindowSize(1280, 900),
	)
	ctx, cancelCtx := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
		cancelTimeout()
	})
	// Runs before the cancels above (cleanups run last first).
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		shotCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		buf, err := chromedp.Run(shotCtx, chromedp.FullScreenshot(90))
		if err != nil {
			t.Logf("no screenshot: %v", err)
			return
		}
		p := filepath.Join(dir, "failure.jpg")
		if err := os.WriteFile(p, buf, 0o644); err == nil {
			t.Logf("screenshot of the page: %s", p)
		}
		if loc, err := chromedp.Run(shotCtx, chromedp.Location()); err == nil {
			t.Logf("page: %s", loc)
		}
	})
	// Start the browser now, so a missing library fails here, clearly.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium %s: %v", exe, err)
	}
	return ctx
}

func TestBrowserContactFlow(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	// A contact the search must leave out.
	s.Admin.JSON(t, "POST", "/api/v1/contacts", map[string]any{"name": "Someone Else"}, http.StatusCreated, nil)
	ctx := newChrome(t, 60*time.Second)
	step := stepper(t, ctx)
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(v)
	}
	const (
		name  = "Зоя Браузерова"
		email = "zoya@browser.example"
		tag   = "Browser VIP"
	)

	step("sign in", signIn(s.URL, tandemtest.AdminEmail, tandemtest.AdminPassword)...)

	step("create a tag",
		chromedp.Navigate(s.URL+"/tags"),
		chromedp.WaitVisible(chromedp.ID("f-name")),
		chromedp.SendKeys(chromedp.ID("f-name"), tag),
		chromedp.SetValue(chromedp.ID("f-kind"), "corporate"),
		chromedp.SetValue(chromedp.ID("f-color"), "green"),
		chromedp.Click(chromedp.CSS(`form[action="/tags"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a.chip.tag-green`)),
	)

	step("create a contact",
		chromedp.Navigate(s.URL+"/contacts/new"),
		chromedp.WaitVisible(chromedp.ID("f-given_name")),
		chromedp.SendKeys(chromedp.ID("f-given_name"), "Зоя"),
		chromedp.SendKeys(chromedp.ID("f-family_name"), "Браузерова"),
		chromedp.SendKeys(chromedp.CSS(`input[name="emails[0].address"]`), email),
		chromedp.Click(chromedp.CSS(`input[name="tags"]`)),
		chromedp.Click(chromedp.CSS(`form[action="/contacts"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href^="mailto:"]`)),
	)
	if got := text("h1.page-title"); got != name {
		t.Fatalf("card title %q", got)
	}

	// Live search from the list's search box, in another case.
	step("search",
		chromedp.Navigate(s.URL+"/contacts"),
		chromedp.WaitVisible(chromedp.ID("contact-q")),
		chromedp.SendKeys(chromedp.ID("contact-q"), "БРАУЗЕР"),
		chromedp.Poll[chromedp.Void](`(() => { const r = document.querySelector("#contact-rows");
			return r && r.rows.length === 1 && r.textContent.includes("Браузерова"); })()`,
			chromedp.WithPollingTimeout(10*time.Second)),
	)
	if rows := text("#contact-rows"); strings.Contains(rows, "Someone Else") {
		t.Errorf("search results include another contact: %q", rows)
	}

	step("open the card",
		chromedp.Click(chromedp.CSS(`#contact-rows a[href^="/contacts/"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href^="mailto:"]`)),
	)
	if got := text("h1.page-title"); got != name {
		t.Errorf("card title %q, want %q", got, name)
	}
	if got := text(`a[href^="mailto:"]`); got != email {
		t.Errorf("email %q, want %q", got, email)
	}
	if got := text("ul.chips li.chip"); got != tag {
		t.Errorf("tag chip %q, want %q", got, tag)
	}
}

// TestBrowserCalendar: the week opens scrolled to an event before the
// working day, a half-hour event keeps its title on one line, and a mark
// counts the events below the visible hours; a click on it brings the
// event into view.
func TestBrowserCalendar(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	s.Admin.JSON(t, "POST", "/api/v1/users", map[string]any{"email": "week@example.com", "name": "Week", "password": "user-password-1",
		"time_zone": "UTC", "language": "en", "role_ids": []string{}}, http.StatusCreated, nil)
	api := s.Login(t, "week@example.com", "user-password-1")
	day := time.Date(2031, 3, 12, 0, 0, 0, 0, time.UTC) // a fixed Wednesday
	at := func(h, m int) string {
		return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute).Format(time.RFC3339)
	}
	for _, e := range []struct {
		title      string
		start, end string
	}{
		{"Dawn check-in with a long title", at(5, 0), at(5, 30)},
		{"Late call", at(23, 0), at(23, 45)},
	} {
		api.JSON(t, "POST", "/api/v1/activities", map[string]any{"type": "call", "title": e.title, "start": e.start, "end": e.end,
			"time_zone": "UTC", "show_in_calendar": true}, http.StatusCreated, nil)
	}
	ctx := newChrome(t, 60*time.Second)
	step := stepper(t, ctx)
	eval := func(js string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return v
	}
	step("sign in", signIn(s.URL, "week@example.com", "user-password-1")...)
	step("open the week",
		chromedp.Navigate(s.URL+"/calendar?view=week&date="+day.Format("2006-01-02")),
		chromedp.WaitVisible(chromedp.CSS(".cw-edge-mark:not([hidden])")),
	)
	// What of an element the scrolling box shows: "whole", "part" or "none".
	const seen = `(el) => { const box = document.querySelector(".cw-scroll").getBoundingClientRect(), r = el.getBoundingClientRect();
		return r.top >= box.top && r.bottom <= box.bottom ? "whole" : r.bottom > box.top && r.top < box.bottom ? "part" : "none"; }`
	dawn := `[...document.querySelectorAll(".cw-event")].find((e) => e.textContent.includes("Dawn"))`
	late := `[...document.querySelectorAll(".cw-event")].find((e) => e.textContent.includes("Late call"))`
	if got := eval(`(` + seen + `)(` + dawn + `)`); got != "whole" {
		t.Errorf("the 05:00 event is %s in view, want whole", got)
	}
	// The short event's title is on screen (not pushed out by its time).
	if got := eval(`(() => { const t = ` + dawn + `.querySelector(".cw-event-title"), r = t.getBoundingClientRect();
		return r.width > 40 && r.height > 0 && getComputedStyle(t).display !== "none" ? "shown" : "hidden " + r.width; })()`); got != "shown" {
		t.Errorf("the short event's title is %s", got)
	}
	if got := eval(`(` + seen + `)(` + late + `)`); got != "none" {
		t.Fatalf("the 23:00 event is %s in view; the test needs it out of sight", got)
	}
	col := `document.querySelector('.cw-edge-bottom').children[` + "4" + `]` // the gutter, then Sunday…Wednesday
	if got := eval(col + `.textContent.trim() + "|" + ` + col + `.querySelector("button").title`); got != "↓ 1|Later events: 1" {
		t.Errorf("bottom mark of Wednesday: %q", got)
	}
	// Then the event is in view, and a mark at the top counts the one above.
	step("follow the mark",
		chromedp.Click(chromedp.CSS(`.cw-edge-bottom > :nth-child(5) button`)),
		chromedp.Poll[chromedp.Void](`(`+seen+`)(`+late+`) === "whole" &&
			!document.querySelector(".cw-edge-top").children[4].querySelector("button").hidden`, chromedp.WithPollingTimeout(5*time.Second)),
	)
}

// TestBrowserParticipantStatusFits: the participant's response drop-down
// of the activity form is wide enough for its longest choice in both
// languages ("Awaiting resp" was cut).
func TestBrowserParticipantStatusFits(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	ctx := newChrome(t, 60*time.Second)
	step := stepper(t, ctx)
	step("sign in", signIn(s.URL, tandemtest.AdminEmail, tandemtest.AdminPassword)...)
	// The room each option's text needs against the room the select gives
	// it (its content box: the padding holds the arrow).
	const fits = `(() => {
		const sel = document.querySelector('select[name="participants[0].response_status"]');
		const cs = getComputedStyle(sel);
		const room = sel.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
		const probe = document.createElement("span");
		probe.style.font = cs.font;
		probe.style.whiteSpace = "pre";
		document.body.append(probe);
		const cut = [...sel.options].filter((o) => { probe.textContent = o.text; return probe.offsetWidth > room; }).map((o) => o.text);
		probe.remove();
		return cut.join(", ");
	})()`
	for _, lang := range []string{"en", "ru"} {
		step("open the form in "+lang,
			chromedp.Navigate(s.URL+"/profile"),
			chromedp.Evaluate[chromedp.Void](`(() => { const f = document.createElement("form"); f.method = "post"; f.action = "/language";
				f.innerHTML = '<input name="lang" value="`+lang+`"><input name="next" value="/activities/new?type=meeting">' +
				'<input name="csrf_token" value="' + document.querySelector('meta[name="csrf-token"]').content + '">';
				document.body.append(f); f.submit(); })()`),
			chromedp.WaitVisible(chromedp.CSS(`html[lang="`+lang+`"] select[name="participants[0].response_status"]`)),
		)
		cut, err := chromedp.Run(ctx, chromedp.Evaluate[string](fits))
		if err != nil {
			t.Fatal(err)
		}
		if cut != "" {
			t.Errorf("%s: options cut off: %s", lang, cut)
		}
	}
}

// TestBrowserSyncProgress: after "Run sync now" the connection's page shows
// the run's counts as it goes (sync.js on the event stream), then the
// final ones on a refreshed card and a toast.
func TestBrowserSyncProgress(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	g, api, b, page := connectGoogle(t, s, "watch@gmail.com", "Watch", "watch@example.com", nil)
	var tag struct{ ID string }
	api.JSON(t, "POST", "/api/v1/tags", map[string]any{"name": "Watched"}, http.StatusCreated, &tag)
	for _, name := range []string{"Ann Watch", "Bob Watch"} {
		api.JSON(t, "POST", "/api/v1/contacts", map[string]any{"name": name, "tags": []string{tag.ID}}, http.StatusCreated, nil)
	}
	b.Post(t, page+"/contacts", url.Values{"enabled": {"1"}, "tag_id": {tag.ID}, "period_minutes": {"15"}, "group_name": {"Tandem"}})
	// One contact waits in Google's group: the run imports it, then sends
	// Tandem's two in one batch, held at Google.
	seedGroup(t, g, "watch@gmail.com", "Tandem", "Dee Google")
	held, release := g.Hold(t, func(r *http.Request) bool {
		return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, ":batchCreateContacts")
	})
	run := b.Post(t, page+"/sync", nil).URL // the page that follows the run
	select {
	case <-held:
	case <-time.After(30 * time.Second):
		t.Fatal("the run never sent its contacts")
	}

	ctx := newChrome(t, 90*time.Second)
	step := stepper(t, ctx)
	step("sign in", signIn(s.URL, "watch@example.com", "user-password-1")...)
	line := `document.querySelector('[data-sync-progress="contact"]')`
	step("the running counts",
		chromedp.Navigate(run),
		chromedp.Poll[chromedp.Void](line+`.textContent.includes("here: +1,") && !`+line+`.hidden`,
			chromedp.WithPollingTimeout(30*time.Second)),
	)
	release()
	step("the end",
		chromedp.Poll[chromedp.Void](`[...document.querySelectorAll(".toast-success")].some((t) => t.textContent.includes("Sync finished."))`,
			chromedp.WithPollingTimeout(30*time.Second)),
		chromedp.Poll[chromedp.Void](`document.querySelector('[data-sync-card="contact"] .props').textContent.includes("remote: +2,") &&
			`+line+`.textContent.startsWith("Done") && !location.search.includes("run=")`,
			chromedp.WithPollingTimeout(30*time.Second)),
	)
}

// One Save on the settings page keeps changes made in two sections (a
// saved section used to drop what was changed in another).
func TestBrowserSettingsOneSave(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	ctx := newChrome(t, 60*time.Second)
	step := stepper(t, ctx)
	step("sign in", signIn(s.URL, tandemtest.AdminEmail, tandemtest.AdminPassword)...)
	step("settings", chromedp.Navigate(s.URL+"/admin/settings"), chromedp.WaitVisible(chromedp.ID("s-CalendarIntegration")))
	// Leaving asks first once something is typed (beforeunload cancelled).
	const leaving = `(() => { const e = new Event("beforeunload", {cancelable: true}); window.dispatchEvent(e); return e.defaultPrevented; })()`
	warns := func(what string, want bool) {
		t.Helper()
		got, err := chromedp.Run(ctx, chromedp.Evaluate[bool](leaving))
		if err != nil || got != want {
			t.Errorf("%s: leaving warns %v (%v), want %v", what, got, err, want)
		}
	}
	warns("untouched", false)
	err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("s-CalendarIntegration"), "google"),
		chromedp.SendKeys(chromedp.ID("s-GoogleClientId"), "browser-client-id"),
	)
	if err != nil {
		t.Fatal(err)
	}
	warns("typed", true)
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`.save-bar button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.toast-success`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	warns("saved", false)
	for code, want := range map[string]string{"CalendarIntegration": "google", "GoogleClientId": "browser-client-id"} {
		if got, _ := s.App.Settings.Get(context.Background(), code); got != want {
			t.Errorf("%s = %q, want %q", code, got, want)
		}
	}
}

// A form submitted after the session ended (signed out in another tab)
// comes back filled in after signing in again, and saves.
func TestBrowserFormKeptOverSignIn(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	ctx := newChrome(t, 60*time.Second)
	signIn := []chromedp.Action[chromedp.Void]{
		chromedp.WaitVisible(chromedp.ID("f-email")),
		chromedp.SendKeys(chromedp.ID("f-email"), tandemtest.AdminEmail),
		chromedp.SendKeys(chromedp.ID("f-password"), tandemtest.AdminPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type="submit"]`)),
	}
	err := chromedp.Do(ctx, append([]chromedp.Action[chromedp.Void]{chromedp.Navigate(s.URL + "/login")}, append(signIn,
		chromedp.WaitVisible(chromedp.ID("contact-q")),
		chromedp.Navigate(s.URL+"/contacts/new"),
		chromedp.WaitVisible(chromedp.ID("f-given_name")),
		chromedp.SendKeys(chromedp.ID("f-given_name"), "Вера"),
		chromedp.SendKeys(chromedp.ID("f-family_name"), "Вкладкина"),
	)...)...)
	if err != nil {
		t.Fatal(err)
	}
	// Sign out in another tab.
	tab, cancel := chromedp.NewContext(ctx)
	defer cancel()
	_, err = chromedp.Run(tab, chromedp.Steps(
		chromedp.Navigate(s.URL+"/profile"),
		chromedp.WaitReady(chromedp.CSS(`form[action="/logout"]`)),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](`(document.querySelector('form[action="/logout"]').submit(), true)`)(ctx, t)
			return err
		}),
		chromedp.WaitVisible(chromedp.ID("f-email")),
	))
	if err != nil {
		t.Fatalf("sign out in another tab: %v", err)
	}
	err = chromedp.Do(ctx, append([]chromedp.Action[chromedp.Void]{
		chromedp.Click(chromedp.CSS(`form[action="/contacts"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.auth .alert-warning`)),
	}, append(signIn,
		chromedp.WaitReady(chromedp.CSS(`input[name="_review"]`)), // the offer to open the form
		chromedp.Click(chromedp.CSS(`main form[method="post"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("f-given_name")),
	)...)...)
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{"f-given_name": "Вера", "f-family_name": "Вкладкина"} {
		got, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID(id)))
		if err != nil || got != want {
			t.Errorf("%s = %q (%v), want %q", id, got, err, want)
		}
	}
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`form[action="/contacts"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href$="/edit"]`)), // the card
	)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1.page-title"))); strings.TrimSpace(got) != "Вера Вкладкина" {
		t.Errorf("saved contact %q", got)
	}
}

// stepper returns a function that runs actions in the browser and fails
// the test, naming the step, when they fail.
func stepper(t *testing.T, ctx context.Context) func(what string, actions ...chromedp.Action[chromedp.Void]) {
	return func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
}

// signIn fills in and sends the sign-in form, ending on the contacts page.
func signIn(base, email, password string) []chromedp.Action[chromedp.Void] {
	return []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(base + "/login"),
		chromedp.WaitVisible(chromedp.ID("f-email")),
		chromedp.SendKeys(chromedp.ID("f-email"), email),
		chromedp.SendKeys(chromedp.ID("f-password"), password),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("contact-q")),
	}
}
