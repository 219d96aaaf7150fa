package ui_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/textproto"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/i18n"
	"github.com/tandem-crm/tandem/internal/jobs"
	"github.com/tandem-crm/tandem/internal/oauth"
	"github.com/tandem-crm/tandem/internal/settings"
	"github.com/tandem-crm/tandem/internal/signin"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
	"github.com/tandem-crm/tandem/internal/web/ui"
)

// ---------- helpers shared by the profile and admin tests ----------

// esc escapes text the way html/template does in element content.
var esc = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;", "+", "&#43;").Replace

// tr is a catalogue message as it appears in a page.
func tr(l i18n.Lang, key string, args ...any) string { return esc(l.T(key, args...)) }

func wantStatus(t *testing.T, what string, p tandemtest.Page, status int) {
	t.Helper()
	if p.Status != status {
		t.Fatalf("%s: status %d at %s, want %d", what, p.Status, p.URL, status)
	}
}

func mustHave(t *testing.T, what, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("%s: page lacks %q", what, w)
		}
	}
}

func mustLack(t *testing.T, what, body string, bad ...string) {
	t.Helper()
	for _, b := range bad {
		if strings.Contains(body, b) {
			t.Errorf("%s: page contains %q", what, b)
		}
	}
}

// rawKey finds catalogue keys that reached a page untranslated (T returns
// a missing key itself).
var rawKey = regexp.MustCompile(`\b(?:admin|profile|setting|operation|flash|error|common|action|connection|provider|confirm|count|form)\.[A-Za-z_]+(?:\.[A-Za-z_0-9]+)*`)

func noRawKeys(t *testing.T, what, body string) {
	t.Helper()
	if m := rawKey.FindAllString(body, 5); m != nil {
		t.Errorf("%s: untranslated keys %v", what, m)
	}
}

var csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([^"]*)">`)

// uploader is a signed-in browser that can post multipart forms, which
// tandemtest.Browser does not.
type uploader struct {
	hc   *http.Client
	base string
	csrf string
}

func newUploader(t *testing.T, s *tandemtest.Server, email, password string) *uploader {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	u := &uploader{hc: &http.Client{Jar: jar}, base: s.URL}
	u.get(t, "/login")
	resp, err := u.hc.PostForm(s.URL+"/login", url.Values{"email": {email}, "password": {password}, "csrf_token": {u.csrf}})
	if err != nil {
		t.Fatal(err)
	}
	u.read(t, resp)
	if strings.Contains(resp.Request.URL.Path, "/login") {
		t.Fatalf("sign in as %s failed", email)
	}
	return u
}

func (u *uploader) read(t *testing.T, resp *http.Response) (int, string) {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if m := csrfMeta.FindSubmatch(b); m != nil {
		u.csrf = string(m[1])
	}
	return resp.StatusCode, string(b)
}

func (u *uploader) get(t *testing.T, path string) (int, string, http.Header) {
	t.Helper()
	resp, err := u.hc.Get(u.base + path)
	if err != nil {
		t.Fatal(err)
	}
	h := resp.Header
	status, body := u.read(t, resp)
	return status, body, h
}

// upload posts a multipart form with one file.
func (u *uploader) upload(t *testing.T, path string, fields map[string]string, field, name, ctype string, data []byte) (int, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("csrf_token", u.csrf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if field != "" {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="`+field+`"; filename="`+name+`"`)
		h.Set("Content-Type", ctype)
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	mw.Close()
	resp, err := u.hc.Post(u.base+path, mw.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	return u.read(t, resp)
}

func adminBrowser(t *testing.T, s *tandemtest.Server) *tandemtest.Browser {
	return s.Browser(t, tandemtest.AdminEmail, tandemtest.AdminPassword)
}

// ---------- administration ----------

func TestAdminForbiddenToOthers(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	ctx := context.Background()
	roleID := s.NewRole(t, "Support", access.OpManageChats)
	s.NewUser(t, "user@example.com", roleID) // holds an operation, but not administration
	b := s.Browser(t, "user@example.com", "user-password-1")

	home := b.Get(t, "/profile")
	wantStatus(t, "profile", home, http.StatusOK)
	mustLack(t, "non-admin shell", home.Body, `href="/admin"`)

	for _, path := range []string{"/admin", "/admin/", "/admin/settings", "/admin/settings/OmniChatNotificationSound/file",
		"/admin/users", "/admin/users/new", "/admin/users/" + s.Admin.UserID, "/admin/roles", "/admin/roles/new",
		"/admin/roles/" + roleID, "/admin/operations", "/admin/jobs", "/admin/jobs?state=failed", "/admin/login-failures"} {
		p := b.Get(t, path)
		wantStatus(t, "GET "+path, p, http.StatusForbidden)
		mustHave(t, "GET "+path, p.Body, tr(i18n.En, "error.page.403.title"))
	}
	posts := map[string]url.Values{
		"/admin/settings":                    {"MailboxSyncInterval": {"99"}},
		"/admin/users/new":                   {"name": {"Eve"}, "email": {"eve@example.com"}, "password": {"eve-password-1"}, "active": {"1"}},
		"/admin/users/" + s.Admin.UserID:     {"name": {"Eve"}, "email": {"eve@example.com"}, "active": {"1"}},
		"/admin/roles/new":                   {"name": {"Eve's role"}, "operations": {access.OpManageAdministration}},
		"/admin/roles/" + roleID:             {"name": {"Hacked"}, "operations": {access.OpManageAdministration}},
		"/admin/roles/" + roleID + "/delete": nil,
		"/admin/jobs/1/cancel":               nil,
		"/admin/jobs/1/retry":                nil,
	}
	for path, form := range posts {
		p := b.Post(t, path, form)
		wantStatus(t, "POST "+path, p, http.StatusForbidden)
	}
	if n := s.App.Settings.Int(ctx, "MailboxSyncInterval"); n != 10 {
		t.Errorf("MailboxSyncInterval = %d after a refused post", n)
	}
	rl, err := s.App.Store.GetRole(ctx, roleID)
	if err != nil || rl.Name != "Support" || slices.Contains(rl.Ops, access.OpManageAdministration) {
		t.Errorf("role changed by a refused post: %+v %v", rl, err)
	}
	admin, _ := s.App.Store.GetUser(ctx, s.Admin.UserID)
	if admin.Name == "Eve" {
		t.Error("admin renamed by a refused post")
	}
	if us, _ := s.App.Store.ListUsers(ctx, "eve"); len(us) != 0 {
		t.Error("user created by a refused post")
	}
}

func TestAdminPagesRender(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	roleID := s.NewRole(t, "Sales", access.OpManageChats)
	s.NewUser(t, "anna@example.com", roleID)
	for _, l := range []i18n.Lang{i18n.En, i18n.Ru} {
		b := adminBrowser(t, s)
		b.Post(t, "/language", url.Values{"lang": {l.String()}, "next": {"/admin"}})
		for _, path := range []string{"/admin", "/admin/settings", "/admin/users", "/admin/users/new", "/admin/users/" + s.Admin.UserID,
			"/admin/roles", "/admin/roles/new", "/admin/roles/" + roleID, "/admin/operations", "/admin/jobs", "/admin/jobs?state=completed",
			"/admin/login-failures", "/admin/login-failures?reason=throttled", "/profile", "/profile/tokens", "/profile/accounts"} {
			p := b.Get(t, path)
			wantStatus(t, l.String()+" "+path, p, http.StatusOK)
			mustHave(t, l.String()+" "+path, p.Body, `<html lang="`+l.Tag()+`">`, `aria-current="page"`)
			noRawKeys(t, l.String()+" "+path, p.Body)
		}
	}
}

// The settings page draws labels, help, groups and options from keys built
// in Go; every one must exist in both languages.
func TestAdminCatalogueKeys(t *testing.T) {
	var keys []string
	for _, g := range settings.Groups() {
		keys = append(keys, "setting.group."+g)
	}
	for _, d := range settings.Registry {
		keys = append(keys, "setting."+d.Code, "setting."+d.Code+".help")
		for _, o := range d.Options {
			keys = append(keys, "setting."+d.Code+"."+o)
		}
	}
	for _, op := range access.Operations {
		keys = append(keys, "operation."+op, "operation."+op+".description")
	}
	for _, st := range []jobs.State{jobs.StatePending, jobs.StateScheduled, jobs.StateAvailable, jobs.StateRunning,
		jobs.StateRetryable, jobs.StateCompleted, jobs.StateCancelled, jobs.StateDiscarded} {
		keys = append(keys, "admin.jobs.state."+string(st))
	}
	for _, r := range signin.Reasons {
		keys = append(keys, "admin.login_failures.reason."+string(r))
	}
	for _, k := range keys {
		for _, l := range i18n.Supported() {
			if !l.Has(k) {
				t.Errorf("%s catalogue lacks %q", l, k)
			}
		}
	}
}

func TestAdminIntSetting(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	ctx := context.Background()
	b := adminBrowser(t, s)

	p := b.Get(t, "/admin/settings")
	wantStatus(t, "settings", p, http.StatusOK)
	mustHave(t, "settings", p.Body, `name="MailboxSyncInterval"`, `type="number"`, `min="1"`, `max="1440"`,
		tr(i18n.En, "setting.MailboxSyncInterval"), tr(i18n.En, "setting.group.mail"))

	p = b.Post(t, "/admin/settings", url.Values{"MailboxSyncInterval": {"30"}})
	wantStatus(t, "save", p, http.StatusOK)
	if !strings.HasSuffix(strings.SplitN(p.URL, "#", 2)[0], "/admin/settings") {
		t.Errorf("after save at %s", p.URL)
	}
	mustHave(t, "save", p.Body, tr(i18n.En, "flash.saved"), `value="30"`)
	if n := s.App.Settings.Int(ctx, "MailboxSyncInterval"); n != 30 {
		t.Fatalf("MailboxSyncInterval = %d, want 30", n)
	}

	for raw, key := range map[string]string{"abc": "error.invalid_number", "0": "error.out_of_range", "100000": "error.out_of_range"} {
		p = b.Post(t, "/admin/settings", url.Values{"MailboxSyncInterval": {raw}})
		wantStatus(t, "bad "+raw, p, http.StatusUnprocessableEntity)
		mustHave(t, "bad "+raw, p.Body, tr(i18n.En, key), `id="s-MailboxSyncInterval-error"`, `aria-invalid="true"`, `value="`+raw+`"`)
		if n := s.App.Settings.Int(ctx, "MailboxSyncInterval"); n != 30 {
			t.Fatalf("bad value %q saved: %d", raw, n)
		}
	}

	// One bad field in a group: nothing of the group is saved.
	p = b.Post(t, "/admin/settings", url.Values{"SimultaneousChats": {"7"}, "OmniChatOperatorAcceptChatTimeout": {"soon"}})
	wantStatus(t, "half bad", p, http.StatusUnprocessableEntity)
	mustHave(t, "half bad", p.Body, `value="7"`, `value="soon"`)
	if n := s.App.Settings.Int(ctx, "SimultaneousChats"); n != 2 {
		t.Errorf("SimultaneousChats = %d: saved although another field was bad", n)
	}

	// Empty resets to the default.
	b.Post(t, "/admin/settings", url.Values{"MailboxSyncInterval": {""}})
	if n := s.App.Settings.Int(ctx, "MailboxSyncInterval"); n != 10 {
		t.Errorf("reset: %d", n)
	}
	// A post that carries a setting not at all leaves it as it is.
	b.Post(t, "/admin/settings", url.Values{"MailboxSyncInterval": {"25"}})
	b.Post(t, "/admin/settings", url.Values{"SimultaneousChats": {"3"}})
	if n := s.App.Settings.Int(ctx, "MailboxSyncInterval"); n != 25 {
		t.Errorf("a post without it changed MailboxSyncInterval to %d", n)
	}
}

func TestAdminSecretSetting(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	ctx := context.Background()
	b := adminBrowser(t, s)
	const plain = "GOCSPX-very-secret-value-42"
	google := func(extra ...string) url.Values {
		// As the page posts it: the checkbox's hidden partner says "off"
		// unless the box adds "1".
		v := url.Values{"GoogleClientId": {"123.apps.googleusercontent.com"}, "GoogleApplicationName": {"Tandem"},
			"UseSharedGoogleApp": {"0"}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return v
	}

	p := b.Post(t, "/admin/settings", google("GoogleClientSecret", plain))
	wantStatus(t, "save secret", p, http.StatusOK)
	if got, _ := s.App.Settings.Get(ctx, "GoogleClientSecret"); got != plain {
		t.Fatalf("stored secret %q", got)
	}
	if s.App.Settings.Bool(ctx, "UseSharedGoogleApp") {
		t.Error("unchecked UseSharedGoogleApp stayed on")
	}
	raw, _, _ := s.App.Store.GetSetting(ctx, "GoogleClientSecret")
	if strings.Contains(raw, plain) {
		t.Error("secret stored in plain text")
	}
	mustLack(t, "after save", p.Body, plain, "very-secret")
	mustHave(t, "after save", p.Body, esc(settings.Mask(plain)), `name="GoogleClientSecret_clear"`)

	// Empty keeps the secret.
	p = b.Post(t, "/admin/settings", google("GoogleClientSecret", ""))
	wantStatus(t, "keep", p, http.StatusOK)
	if got, _ := s.App.Settings.Get(ctx, "GoogleClientSecret"); got != plain {
		t.Errorf("empty field changed the secret to %q", got)
	}
	// A failed save never echoes a submitted secret, nor stores it.
	p = b.Post(t, "/admin/settings", google("GoogleClientSecret", "new-secret-never-shown", "GooglePushServiceUrl", "not a url"))
	wantStatus(t, "bad url", p, http.StatusUnprocessableEntity)
	mustHave(t, "bad url", p.Body, tr(i18n.En, "error.invalid_url"), tr(i18n.En, "admin.settings.secret_retype"))
	mustLack(t, "bad url", p.Body, "new-secret-never-shown", plain)
	if got, _ := s.App.Settings.Get(ctx, "GoogleClientSecret"); got != plain {
		t.Errorf("failed save changed the secret to %q", got)
	}
	for _, path := range []string{"/admin/settings", "/admin", "/admin/users"} {
		mustLack(t, path, b.Get(t, path).Body, plain)
	}
	// The shared-app warning shows while a client id is set with the shared app on.
	p = b.Post(t, "/admin/settings", google())
	mustLack(t, "shared off", p.Body, tr(i18n.En, "admin.settings.google_shared_warning"))
	v := google()
	v.Add("UseSharedGoogleApp", "1")
	p = b.Post(t, "/admin/settings", v)
	mustHave(t, "shared on", p.Body, tr(i18n.En, "admin.settings.google_shared_warning"))
	// "Clear" removes it.
	p = b.Post(t, "/admin/settings", google("GoogleClientSecret_clear", "1"))
	wantStatus(t, "clear", p, http.StatusOK)
	if got, _ := s.App.Settings.Get(ctx, "GoogleClientSecret"); got != "" {
		t.Errorf("cleared secret is %q", got)
	}
}

func TestAdminOAuthBox(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	b := adminBrowser(t, s)
	p := b.Get(t, "/admin/settings")
	mustHave(t, "no site url", p.Body, tr(i18n.En, "admin.oauth.site_url_needed"))
	mustLack(t, "no site url", p.Body, oauth.GoogleCallbackPath)

	p = b.Post(t, "/admin/settings", url.Values{"SiteUrl": {"https://crm.example.com/"}, "CalendarIntegration": {"google"}})
	wantStatus(t, "site url", p, http.StatusOK)
	mustHave(t, "oauth", p.Body, `value="https://crm.example.com/oauth/google/callback"`,
		`value="https://crm.example.com/oauth/microsoft/callback"`, "data-copy-target=")
	mustLack(t, "oauth", p.Body, tr(i18n.En, "admin.oauth.site_url_needed"))
	for _, sc := range append(slices.Clone(oauth.GoogleScopes), ui.MicrosoftScopes...) {
		mustHave(t, "scopes", p.Body, `data-copy="`+sc+`"`)
	}
	mustHave(t, "scope list", p.Body, `data-copy="`+strings.Join(ui.MicrosoftScopes, " ")+`"`)
	if got, _ := s.App.Settings.Get(context.Background(), "CalendarIntegration"); got != "google" {
		t.Errorf("CalendarIntegration = %q", got)
	}
}

func TestAdminSoundUpload(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	ctx := context.Background()
	up := newUploader(t, s, tandemtest.AdminEmail, tandemtest.AdminPassword)
	up.get(t, "/admin/settings")
	chats := map[string]string{"SimultaneousChats": "2", "OmniChatOperatorAcceptChatTimeout": "5"}
	mp3 := append([]byte("ID3\x04\x00\x00\x00\x00\x00\x00"), bytes.Repeat([]byte{0xff, 0xfb, 0x90, 0x00}, 256)...)

	status, body := up.upload(t, "/admin/settings", chats, "OmniChatNotificationSound", "ding.mp3", "audio/mpeg", mp3)
	if status != http.StatusOK {
		t.Fatalf("upload: %d", status)
	}
	raw, _ := s.App.Settings.Get(ctx, "OmniChatNotificationSound")
	f, err := settings.DecodeFile(raw)
	if err != nil || f.Name != "ding.mp3" || f.ContentType != "audio/mpeg" || !bytes.Equal(f.Data, mp3) {
		t.Fatalf("stored %q %q %d bytes, %v", f.Name, f.ContentType, len(f.Data), err)
	}
	mustHave(t, "uploaded", body, "ding.mp3", `<audio controls`, `name="OmniChatNotificationSound_clear"`, `accept="audio/*"`,
		`enctype="multipart/form-data"`)
	src := regexp.MustCompile(`<audio controls preload="none" src="([^"]+)"`).FindStringSubmatch(body)
	if src == nil || !strings.HasPrefix(src[1], "/admin/settings/OmniChatNotificationSound/file?v=") {
		t.Fatalf("audio preview src: %v", src)
	}
	status, got, h := up.get(t, strings.ReplaceAll(src[1], "&amp;", "&"))
	if status != http.StatusOK || got != string(mp3) || h.Get("Content-Type") != "audio/mpeg" {
		t.Errorf("preview: %d %q, %d bytes", status, h.Get("Content-Type"), len(got))
	}

	refused := []struct {
		name, ctype string
		data        []byte
		key         string
	}{
		{"notes.txt", "text/plain", []byte("just some text"), "error.wrong_file_type"},
		{"page.mp3", "audio/mpeg", []byte("<html><script>alert(1)</script></html>"), "error.wrong_file_type"},
		{"huge.mp3", "audio/mpeg", append(slices.Clone(mp3), make([]byte, 1<<20)...), "error.too_large"},
	}
	for _, c := range refused {
		status, body = up.upload(t, "/admin/settings", chats, "OmniChatNotificationSound", c.name, c.ctype, c.data)
		if status != http.StatusUnprocessableEntity {
			t.Errorf("%s: status %d", c.name, status)
		}
		mustHave(t, c.name, body, tr(i18n.En, c.key), `id="s-OmniChatNotificationSound-error"`)
		raw2, _ := s.App.Settings.Get(ctx, "OmniChatNotificationSound")
		if raw2 != raw {
			t.Errorf("%s: stored file changed", c.name)
		}
	}

	// Saving the group without a new file keeps the sound; "remove" drops it.
	up.upload(t, "/admin/settings", chats, "", "", "", nil)
	if raw2, _ := s.App.Settings.Get(ctx, "OmniChatNotificationSound"); raw2 != raw {
		t.Error("save without a file dropped the sound")
	}
	chats["OmniChatNotificationSound_clear"] = "1"
	up.upload(t, "/admin/settings", chats, "", "", "", nil)
	if raw2, _ := s.App.Settings.Get(ctx, "OmniChatNotificationSound"); raw2 != "" {
		t.Error("remove kept the sound")
	}
	if status, _, _ := up.get(t, "/admin/settings/OmniChatNotificationSound/file"); status != http.StatusNotFound {
		t.Errorf("removed file served: %d", status)
	}
	if status, _, _ := up.get(t, "/admin/settings/GoogleClientSecret/file"); status != http.StatusNotFound {
		t.Errorf("non-file setting served as a file: %d", status)
	}
}

// opRow returns the operations matrix row of op.
func opRow(t *testing.T, body, op string) string {
	t.Helper()
	i := strings.Index(body, `id="op-`+op+`"`)
	if i < 0 {
		t.Fatalf("no matrix row for %s", op)
	}
	row := body[i:]
	if j := strings.Index(row, "</tr>"); j >= 0 {
		row = row[:j]
	}
	return row
}

func TestAdminUsersRolesOperations(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	ctx := context.Background()
	b := adminBrowser(t, s)

	// A role with an operation.
	p := b.Post(t, "/admin/roles/new", url.Values{"name": {"Sales"}, "description": {"Sales team"}, "operations": {access.OpManageChats}})
	wantStatus(t, "new role", p, http.StatusOK)
	mustHave(t, "new role", p.Body, tr(i18n.En, "flash.role_created", "Sales"), "Sales team")
	var roleID string
	roles, _ := s.App.Store.ListRoles(ctx) // Sales, and Administrators made at first start
	for _, rl := range roles {
		if rl.Name == "Sales" && rl.Description == "Sales team" && slices.Equal(rl.Ops, []string{access.OpManageChats}) {
			roleID = rl.ID
		}
	}
	if roleID == "" {
		t.Fatalf("role not saved")
	}
	p = b.Post(t, "/admin/roles/new", url.Values{"name": {"Sales"}})
	wantStatus(t, "duplicate role", p, http.StatusUnprocessableEntity)
	mustHave(t, "duplicate role", p.Body, tr(i18n.En, "error.duplicate"))

	// A user in the role, with a direct operation.
	form := url.Values{"name": {"Ольга Петрова"}, "email": {"Olga@Example.com"}, "password": {"olga-password-1"}, "active": {"1"},
		"language": {"ru"}, "time_zone": {"Europe/Moscow"}, "roles": {roleID}, "operations": {access.OpConnectSharedMailbox}}
	p = b.Post(t, "/admin/users/new", form)
	wantStatus(t, "new user", p, http.StatusOK)
	mustHave(t, "users list", p.Body, tr(i18n.En, "flash.user_created", "Ольга Петрова"), "olga@example.com", "Sales")
	us, _ := s.App.Store.ListUsers(ctx, "olga")
	if len(us) != 1 {
		t.Fatalf("users: %+v", us)
	}
	olga, _ := s.App.Store.GetUser(ctx, us[0].ID)
	if olga.Language != "ru" || olga.TimeZone != "Europe/Moscow" || !olga.Active || !slices.Equal(olga.RoleIDs, []string{roleID}) ||
		!slices.Equal(olga.Ops, []string{access.OpConnectSharedMailbox}) {
		t.Errorf("created %+v", olga)
	}
	s.Browser(t, "olga@example.com", "olga-password-1") // can sign in

	// Bad forms come back with inline errors.
	form.Set("email", "olga@example.com")
	p = b.Post(t, "/admin/users/new", form)
	wantStatus(t, "duplicate email", p, http.StatusUnprocessableEntity)
	mustHave(t, "duplicate email", p.Body, tr(i18n.En, "error.duplicate"), `id="f-email-error"`)
	form.Set("email", "other@example.com")
	form.Set("password", "short")
	p = b.Post(t, "/admin/users/new", form)
	wantStatus(t, "short password", p, http.StatusUnprocessableEntity)
	mustHave(t, "short password", p.Body, tr(i18n.En, "error.password_weak"), `value="other@example.com"`)
	form.Set("password", "other-password-1")
	form.Set("email", "not-an-email")
	p = b.Post(t, "/admin/users/new", form)
	mustHave(t, "bad email", p.Body, tr(i18n.En, "error.invalid_email"))
	if us, _ := s.App.Store.ListUsers(ctx, "other"); len(us) != 0 {
		t.Error("user created from a bad form")
	}

	// The matrix shows who holds what.
	p = b.Get(t, "/admin/operations")
	wantStatus(t, "operations", p, http.StatusOK)
	chats := opRow(t, p.Body, access.OpManageChats)
	mustHave(t, "CanManageChats row", chats, `href="/admin/roles/`+roleID+`"`, "Sales", tr(i18n.En, "operation.CanManageChats"),
		tr(i18n.En, "operation.CanManageChats.description"))
	mustHave(t, "CanConnectSharedMailbox row", opRow(t, p.Body, access.OpConnectSharedMailbox), `href="/admin/users/`+olga.ID+`"`, "Ольга Петрова")
	mustHave(t, "CanManageAdministration row", opRow(t, p.Body, access.OpManageAdministration), "Administrators")

	// The role page lists its members; the user page shows the role's grant.
	p = b.Get(t, "/admin/roles/"+roleID)
	mustHave(t, "role page", p.Body, `href="/admin/users/`+olga.ID+`"`, "Ольга Петрова", `value="Sales"`)
	p = b.Get(t, "/admin/users/"+olga.ID)
	mustHave(t, "user page", p.Body, `value="`+roleID+`" checked`, tr(i18n.En, "admin.users.via_roles")+": Sales")

	// Edit: deactivate, take the role away, reset the password.
	p = b.Post(t, "/admin/users/"+olga.ID, url.Values{"name": {"Olga P."}, "email": {"olga@example.com"}, "language": {""},
		"time_zone": {"UTC"}, "password": {"olga-new-password"}})
	wantStatus(t, "edit user", p, http.StatusOK)
	mustHave(t, "edit user", p.Body, tr(i18n.En, "flash.saved"))
	olga, _ = s.App.Store.GetUser(ctx, olga.ID)
	if olga.Active || olga.Name != "Olga P." || len(olga.RoleIDs) != 0 || len(olga.Ops) != 0 || olga.Language != "" {
		t.Errorf("edited %+v", olga)
	}
	if _, err := s.App.Store.Authenticate(ctx, "olga@example.com", "olga-new-password"); !errors.Is(err, access.ErrPassword) {
		t.Errorf("inactive user authenticates: %v", err) // inactive, so refused even with the new password
	}

	// An administrator can neither deactivate nor demote themselves.
	self := url.Values{"name": {"Admin"}, "email": {tandemtest.AdminEmail}, "time_zone": {"UTC"}, "operations": {access.OpManageAdministration}}
	p = b.Post(t, "/admin/users/"+s.Admin.UserID, self)
	wantStatus(t, "self deactivate", p, http.StatusUnprocessableEntity)
	mustHave(t, "self deactivate", p.Body, tr(i18n.En, "admin.users.error.self_deactivate"))
	self.Set("active", "1")
	self.Del("operations")
	p = b.Post(t, "/admin/users/"+s.Admin.UserID, self)
	wantStatus(t, "self demote", p, http.StatusUnprocessableEntity)
	mustHave(t, "self demote", p.Body, tr(i18n.En, "admin.users.error.self_admin"))
	if v, err := s.App.Store.Viewer(ctx, s.Admin.UserID); err != nil || !v.IsAdmin() {
		t.Fatalf("admin lost their rights: %v", err)
	}
	// The edit page of oneself keeps "active" on with a hidden field.
	mustHave(t, "self page", b.Get(t, "/admin/users/"+s.Admin.UserID).Body, `<input type="hidden" name="active" value="1">`)

	// Role delete.
	p = b.Post(t, "/admin/roles/"+roleID+"/delete", nil)
	wantStatus(t, "delete role", p, http.StatusOK)
	mustHave(t, "delete role", p.Body, tr(i18n.En, "flash.role_deleted", "Sales"))
	if _, err := s.App.Store.GetRole(ctx, roleID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("role still there: %v", err)
	}
	mustLack(t, "matrix after delete", opRow(t, b.Get(t, "/admin/operations").Body, access.OpManageChats), "Sales")
	wantStatus(t, "deleted role page", b.Get(t, "/admin/roles/"+roleID), http.StatusNotFound)
	wantStatus(t, "delete again", b.Post(t, "/admin/roles/"+roleID+"/delete", nil), http.StatusNotFound)
	wantStatus(t, "unknown user", b.Get(t, "/admin/users/nope"), http.StatusNotFound)
}

// Deleting the role an administrator's right comes from is refused.
func TestAdminRoleDeleteKeepsOwnRight(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	ctx := context.Background()
	roleID := s.NewRole(t, "Admins", access.OpManageAdministration)
	s.NewUser(t, "boss@example.com", roleID)
	b := s.Browser(t, "boss@example.com", "user-password-1")
	p := b.Post(t, "/admin/roles/"+roleID+"/delete", nil)
	mustHave(t, "own admin role", p.Body, tr(i18n.En, "admin.roles.error.self_admin"))
	if _, err := s.App.Store.GetRole(ctx, roleID); err != nil {
		t.Errorf("role deleted: %v", err)
	}
}

func TestAdminJobs(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	b := adminBrowser(t, s)
	p := b.Get(t, "/admin/jobs")
	wantStatus(t, "jobs", p, http.StatusOK)
	mustHave(t, "jobs", p.Body, tr(i18n.En, "admin.jobs.title"), `href="/admin/jobs?state=discarded"`)
	mustLack(t, "jobs", p.Body, tr(i18n.En, "admin.jobs.unavailable"))
	wantStatus(t, "bad state", b.Get(t, "/admin/jobs?state=bogus"), http.StatusBadRequest)
	wantStatus(t, "bad cursor", b.Get(t, "/admin/jobs?cursor=x"), http.StatusBadRequest)
	wantStatus(t, "cancel unknown", b.Post(t, "/admin/jobs/987654/cancel", nil), http.StatusNotFound)
	wantStatus(t, "retry unknown", b.Post(t, "/admin/jobs/987654/retry", nil), http.StatusNotFound)
	wantStatus(t, "bad id", b.Post(t, "/admin/jobs/abc/retry", nil), http.StatusNotFound)

	// Scheduled housekeeping jobs to list, page through, cancel and retry.
	ctx := context.Background()
	var ids []int64
	for range 52 {
		id, _, err := s.App.Queue.Enqueue(ctx, housekeeping{}, &river.InsertOpts{ScheduledAt: time.Now().Add(24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	p = b.Get(t, "/admin/jobs?state=scheduled")
	wantStatus(t, "scheduled", p, http.StatusOK)
	mustHave(t, "scheduled", p.Body, "maintenance.cleanup", `class="badge job-scheduled"`, tr(i18n.En, "admin.jobs.state.scheduled"),
		`action="/admin/jobs/`+strconv.FormatInt(ids[51], 10)+`/cancel"`, tr(i18n.En, "action.run_now"), tr(i18n.En, "pagination.load_more"), `data-load-more-target="#job-rows"`)
	next := regexp.MustCompile(`href="(\?[^"]*cursor=[^"]+)"`).FindStringSubmatch(p.Body)
	if next == nil {
		t.Fatal("no load-more link")
	}
	p = b.Get(t, "/admin/jobs"+strings.ReplaceAll(next[1], "&amp;", "&"))
	mustHave(t, "page 2", p.Body, `action="/admin/jobs/`+strconv.FormatInt(ids[0], 10)+`/cancel"`)
	mustLack(t, "page 2", p.Body, `action="/admin/jobs/`+strconv.FormatInt(ids[51], 10)+`/cancel"`, tr(i18n.En, "pagination.load_more"))

	id := strconv.FormatInt(ids[0], 10)
	p = b.Post(t, "/admin/jobs/"+id+"/cancel", url.Values{"next": {"/admin/jobs?state=cancelled"}})
	wantStatus(t, "cancel", p, http.StatusOK)
	if !strings.HasSuffix(p.URL, "/admin/jobs?state=cancelled") {
		t.Errorf("after cancel at %s", p.URL)
	}
	mustHave(t, "cancel", p.Body, tr(i18n.En, "flash.job_cancelled", id), `class="badge job-cancelled"`)
	if j, _ := s.App.Queue.Get(ctx, ids[0]); j.State != jobs.StateCancelled {
		t.Errorf("after cancel: %s", j.State)
	}
	p = b.Post(t, "/admin/jobs/"+id+"/retry", url.Values{"next": {"https://evil.example/"}})
	wantStatus(t, "retry", p, http.StatusOK)
	if !strings.HasSuffix(p.URL, "/admin/jobs") {
		t.Errorf("after retry at %s", p.URL)
	}
	mustHave(t, "retry", p.Body, tr(i18n.En, "flash.job_retried", id))
	if j, _ := s.App.Queue.Get(ctx, ids[0]); j.State == jobs.StateCancelled {
		t.Errorf("after retry: %s", j.State)
	}
}

// housekeeping enqueues the app's cleanup job kind, which has a worker.
type housekeeping struct{}

func (housekeeping) Kind() string { return "maintenance.cleanup" }
