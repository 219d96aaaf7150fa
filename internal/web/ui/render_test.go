package ui

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/tandem-crm/tandem/internal/i18n"
)

// testRenderer builds a renderer from the embedded templates plus extra
// page files (path → source), so tests can add pages of their own.
func testRenderer(t *testing.T, extra map[string]string) *Renderer {
	t.Helper()
	sub, err := fs.Sub(templateFiles, "templates")
	if err != nil {
		t.Fatal(err)
	}
	mfs := fstest.MapFS{}
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sub, p)
		mfs[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for p, src := range extra {
		mfs[p] = &fstest.MapFile{Data: []byte(src)}
	}
	r, err := newRenderer(mfs)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func render(t *testing.T, r *Renderer, name string, data PageData) (*httptest.ResponseRecorder, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	r.Render(rec, http.StatusOK, name, data)
	return rec, rec.Body.String()
}

func mustContain(t *testing.T, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("output lacks %q", w)
		}
	}
}

func mustNotContain(t *testing.T, body string, bad ...string) {
	t.Helper()
	for _, b := range bad {
		if strings.Contains(body, b) {
			t.Errorf("output contains %q", b)
		}
	}
}

func TestTemplatesParse(t *testing.T) {
	r, err := NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"login", "error"} {
		if !r.Has(name) {
			t.Errorf("page %q not registered; have %v", name, r.Pages())
		}
	}
	for _, name := range r.Pages() {
		tm := r.pages[name]
		for _, def := range []string{"layout", "title", "content"} {
			if tm.Lookup(def) == nil {
				t.Errorf("page %s: %q not defined", name, def)
			}
		}
	}
}

func TestNewRendererRejectsPageWithoutContent(t *testing.T) {
	sub, _ := fs.Sub(templateFiles, "templates")
	mfs := fstest.MapFS{"bad.html": {Data: []byte(`{{define "title"}}x{{end}}`)}}
	for _, p := range []string{"layout.html", "partials/form.html", "partials/icons.html"} {
		b, _ := fs.ReadFile(sub, p)
		mfs[p] = &fstest.MapFile{Data: b}
	}
	if _, err := newRenderer(mfs); err == nil || !strings.Contains(err.Error(), "content") {
		t.Fatalf("err = %v, want a missing content error", err)
	}
}

func shellData(l i18n.Lang) PageData {
	return PageData{
		Lang:   l,
		User:   &UserView{ID: "u1", Name: "Анна Петрова", Email: "anna@example.com"},
		CSRF:   "tok<&>en",
		Active: "contacts",
		Path:   "/contacts?q=x",
		Form:   url.Values{"q": {"Ив"}},
		Flash:  []Flash{{Kind: FlashSuccess, Key: "flash.contact_created", Args: []any{"Иван"}}},
	}
}

func TestRenderShellTranslated(t *testing.T) {
	r, err := NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		lang i18n.Lang
		want []string
	}{
		{i18n.En, []string{`<html lang="en">`, ">Contacts<", ">Accounts<", ">Activities<", ">Calendar<", ">Profile<",
			"Sign out", "Contact “Иван” created.", "Page not found", `placeholder="Search contacts…"`}},
		{i18n.Ru, []string{`<html lang="ru">`, ">Контакты<", ">Контрагенты<", ">Активности<", ">Календарь<", ">Профиль<",
			"Выйти", "Контакт «Иван» создан.", "Страница не найдена", `placeholder="Поиск контактов…"`}},
	}
	for _, tt := range tests {
		d := shellData(tt.lang)
		rec := httptest.NewRecorder()
		r.Error(rec, http.StatusNotFound, d)
		body := rec.Body.String()
		if rec.Code != http.StatusNotFound {
			t.Errorf("%s: status %d", tt.lang, rec.Code)
		}
		if got := rec.Header().Get("Content-Language"); got != string(tt.lang) {
			t.Errorf("%s: Content-Language %q", tt.lang, got)
		}
		mustContain(t, body, tt.want...)
		mustContain(t, body,
			`<meta name="csrf-token" content="tok&lt;&amp;&gt;en">`,
			`<input type="hidden" name="csrf_token" value="tok&lt;&amp;&gt;en">`,
			`action="/contacts"`, `name="q" value="Ив"`,
			`href="/contacts" aria-current="page"`,
			`action="/logout"`, `action="/language"`, `name="next" value="/contacts?q=x"`,
			"/static/app.css?v="+assets["app.css"].hash, "/static/app.js?v=",
			"anna@example.com", ">АП<",
		)
		// Not an admin: no Administration link.
		mustNotContain(t, body, `href="/admin"`, "%!", "<no value>")
	}
	d := shellData(i18n.Ru)
	d.User.IsAdmin = true
	d.Active = "admin"
	_, body := render(t, r, "error", PageData{Lang: d.Lang, User: d.User, Active: "admin", Data: NewErrorData(403)})
	mustContain(t, body, `href="/admin" aria-current="page"`, "Администрирование", "Доступ запрещён")
}

func TestRenderLogin(t *testing.T) {
	r, err := NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		lang i18n.Lang
		want []string
	}{
		{i18n.En, []string{"Sign in to Tandem", "Email", "Password", "Keep me signed in", ">Sign in<", "Incorrect email or password."}},
		{i18n.Ru, []string{"Вход в Tandem", "Email", "Пароль", "Не выходить из системы", ">Войти<", "Неверный email или пароль."}},
	} {
		data := PageData{
			Lang:   tt.lang,
			CSRF:   "abc",
			Form:   url.Values{"email": {"a@b.c"}, "password": {"secret"}, "next": {"/calendar"}},
			Errors: map[string]string{FormError: "login.failed"},
		}
		rec, body := render(t, r, "login", data)
		if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
			t.Fatalf("%s: status %d, type %q", tt.lang, rec.Code, rec.Header().Get("Content-Type"))
		}
		mustContain(t, body, tt.want...)
		mustContain(t, body, `class="bare"`, `name="email" value="a@b.c"`, `name="next" value="/calendar"`,
			`name="csrf_token" value="abc"`, `autocomplete="current-password"`, `lang="ru"`, `lang="en"`)
		// The shell's navigation is for signed-in users only, and a
		// password is never echoed back.
		mustNotContain(t, body, `class="sidebar"`, "secret", "%!", "<no value>")
	}
}

// keyPatterns find catalogue keys used literally in templates: t and n
// calls, the dict arguments partials translate, and options prefixes.
var (
	callKeyRe    = regexp.MustCompile(`(?:\{\{-?\s*|\(\s*|\|\s*)(?:t|n)\s+"([^"]+)"`)
	dictKeyRe    = regexp.MustCompile(`"(?:Label|Title|Text|ActionLabel|Placeholder|Help)"\s+"([^"]+)"`)
	optionsKeyRe = regexp.MustCompile(`options\s+"([^"]+)"((?:\s+"[^"]*")+)`)
	quotedRe     = regexp.MustCompile(`"([^"]*)"`)
)

func templateKeys(src string) []string {
	var keys []string
	for _, m := range callKeyRe.FindAllStringSubmatch(src, -1) {
		keys = append(keys, m[1])
	}
	for _, m := range dictKeyRe.FindAllStringSubmatch(src, -1) {
		keys = append(keys, m[1])
	}
	for _, m := range optionsKeyRe.FindAllStringSubmatch(src, -1) {
		for _, v := range quotedRe.FindAllStringSubmatch(m[2], -1) {
			if v[1] != "" {
				keys = append(keys, m[1]+"."+v[1])
			}
		}
	}
	return keys
}

func TestTemplateKeysInCatalogue(t *testing.T) {
	if got := templateKeys(`{{t "a.b"}} {{- t "c" 1}} (t "d") {{n "e" 3}} dict "Label" "f" | t "g" {{options "x.y" "p" "" "q"}}`); !slices.Equal(got,
		[]string{"a.b", "c", "d", "e", "g", "f", "x.y.p", "x.y.q"}) {
		t.Fatalf("scanner finds %v", got)
	}
	seen := 0
	err := fs.WalkDir(templateFiles, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(templateFiles, p)
		if err != nil {
			return err
		}
		for _, key := range templateKeys(string(b)) {
			seen++
			for _, l := range i18n.Supported() {
				if !l.Has(key) {
					t.Errorf("%s: key %q missing from %s catalogue", p, key, l)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen < 30 {
		t.Errorf("only %d key usages found; is the scanner broken?", seen)
	}
	// Keys built in Go code.
	for _, status := range []int{400, 401, 403, 404, 405, 409, 418, 429, 500, 502, 503} {
		e := NewErrorData(status)
		for _, key := range []string{e.TitleKey, e.TextKey} {
			if !i18n.En.Has(key) || !i18n.Ru.Has(key) {
				t.Errorf("status %d: key %q missing", status, key)
			}
		}
	}
	for _, k := range []string{FlashSuccess, FlashInfo, FlashWarning, FlashError} {
		if !strings.Contains(readTemplate(t, "partials/icons.html"), `"flash-`+k+`"`) {
			t.Errorf("no icon for flash kind %q", k)
		}
	}
}

func readTemplate(t *testing.T, p string) string {
	b, err := fs.ReadFile(templateFiles, "templates/"+p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRenderErrorNeverWritesPartialPage(t *testing.T) {
	r := testRenderer(t, map[string]string{
		"broken.html": `{{define "title"}}Broken{{end}}{{define "content"}}<p>before the error</p>{{.Data.NoSuchField}}<p>after</p>{{end}}`,
	})
	for _, name := range []string{"broken", "no-such-page"} {
		rec := httptest.NewRecorder()
		rec.Header().Set("Cache-Control", "x") // must not matter
		r.Render(rec, http.StatusOK, name, PageData{Lang: i18n.Ru, Data: struct{ A int }{1}})
		body := rec.Body.String()
		if rec.Code != http.StatusInternalServerError {
			t.Errorf("%s: status %d, want 500", name, rec.Code)
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Errorf("%s: content type %q", name, ct)
		}
		mustNotContain(t, body, "<html", "before the error", "<!DOCTYPE")
		mustContain(t, body, "Внутренняя ошибка сервера")
	}
}

func TestFormFieldPartial(t *testing.T) {
	r := testRenderer(t, map[string]string{
		"form.html": `{{define "title"}}Form{{end}}{{define "content"}}
{{template "form_errors" .}}
{{template "form_field" dict "Page" . "Name" "given_name" "Label" "contact.field.given_name" "Required" true "Value" "Old"}}
{{template "form_field" dict "Page" . "Name" "email" "Label" "contact.field.email" "Type" "email" "Help" "profile.language.hint"}}
{{template "form_field" dict "Page" . "Name" "type" "Label" "contact.field.type" "Type" "select" "Options" (options "contact.type" "employee" "customer")}}
{{template "form_field" dict "Page" . "Name" "notes" "Label" "contact.field.notes" "Type" "textarea" "Value" "a<b"}}
{{template "form_field" dict "Page" . "Name" "pw" "Label" "login.password" "Type" "password"}}
{{template "form_field" dict "Page" . "Name" "all_day" "Label" "activity.field.all_day" "Type" "checkbox" "Checked" true}}
{{end}}`,
	})
	// A re-submitted form: values come back, errors show inline.
	data := PageData{
		Lang:   i18n.Ru,
		Form:   url.Values{"given_name": {"Иван"}, "email": {"bad"}, "type": {"customer"}, "pw": {"secret"}},
		Errors: map[string]string{"email": "error.invalid_email", "given_name": "error.required"},
	}
	_, body := render(t, r, "form", data)
	mustContain(t, body,
		"Исправьте отмеченные поля.",
		`<label class="label" for="f-given_name">Имя<span class="req" aria-hidden="true">*</span></label>`,
		`name="given_name" value="Иван"`,
		`id="f-email" type="email" name="email" value="bad"`,
		`aria-invalid="true" aria-describedby="f-email-help f-email-error"`,
		`<p class="field-error" id="f-email-error">`, "Введите корректный email.",
		`<option value="">— Выберите —</option>`, `<option value="customer" selected>Клиент</option>`,
		`<option value="employee">Сотрудник</option>`,
		`>a&lt;b</textarea>`,
		`class="field has-error"`,
	)
	mustNotContain(t, body, "secret", `value="Old"`, "%!", "<no value>", `name="all_day" value="1" checked`)

	// A fresh form: Value and Checked apply.
	_, body = render(t, r, "form", PageData{Lang: i18n.En})
	mustContain(t, body, `name="given_name" value="Old"`, `name="all_day" value="1" checked`, "First name")
	mustNotContain(t, body, "has-error", "alert", "aria-invalid")

	// A page's query string (/login?next=…) is not a submitted form: the
	// checkbox keeps its default.
	_, body = render(t, r, "form", PageData{Lang: i18n.En, Form: url.Values{"next": {"/contacts"}}})
	mustContain(t, body, `name="all_day" value="1" checked`)
}

func TestPartials(t *testing.T) {
	type tag struct{ Name, Kind, Color string }
	r := testRenderer(t, map[string]string{
		"parts.html": `{{define "title"}}P{{end}}{{define "content"}}
{{template "pagination" dict "Next" "c2" "Query" .Form "Target" "#rows"}}
{{template "pagination" dict "Next" "" "Query" .Form}}
{{template "empty_state" dict "Icon" "contacts" "Title" "search.no_results.title" "Text" "search.no_results.text" "Arg" "Ив" "ActionURL" "/contacts/new" "ActionLabel" "contact.new"}}
{{template "tags" .Data}}
{{template "icon" "no-such-icon"}}
{{end}}`,
	})
	data := PageData{
		Lang: i18n.Ru,
		Form: url.Values{"q": {"a b"}, "cursor": {"c1"}, "csrf_token": {"t"}},
		Data: []tag{{"VIP", "corporate", "red"}, {"Мой", "personal", "#ff0000"}},
	}
	_, body := render(t, r, "parts", data)
	mustContain(t, body,
		`href="?cursor=c2&amp;q=a&#43;b"`, `data-load-more-target="#rows"`, "Показать ещё",
		"Ничего не найдено", "По запросу «Ив» ничего нет.", `href="/contacts/new"`, "Новый контакт",
		`class="chip tag-red" title="Корпоративный">VIP`, `class="chip tag-gray" title="Личный">`,
		`<rect x="4" y="4" width="16" height="16" rx="3"/>`,
	)
	if strings.Count(body, "data-load-more ") != 1 && strings.Count(body, "data-load-more>") != 1 {
		t.Error("an empty cursor must not draw a load-more link")
	}
	mustNotContain(t, body, "csrf_token=", "%!", "<no value>")
}

func TestLocaleFuncs(t *testing.T) {
	moscow, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	r := testRenderer(t, map[string]string{
		"dates.html": `{{define "title"}}D{{end}}{{define "content"}}
[{{datetime .Data.At}}] [{{time .Data.At}}] [{{date .Data.Ptr}}] [{{date .Data.Nil}}] [{{date .Data.Zero}}]
[{{civildate .Data.Day}}] [{{inputDateTime .Data.At}}] [{{number 1234567.5}}] [{{n "count.contacts" 21}}]
[{{n "count.hours" 1.5}}] [{{month 3}}] [{{weekday 1}}] [{{monthYear .Data.At}}] [{{range seq 2 4}}{{.}}{{end}}] [{{add 1 2 3}}]
{{end}}`,
	})
	at := time.Date(2026, 1, 2, 21, 30, 0, 0, time.UTC)
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	data := struct {
		At, Zero, Day time.Time
		Ptr, Nil      *time.Time
	}{At: at, Day: day, Ptr: &at}
	_, body := render(t, r, "dates", PageData{Lang: i18n.Ru, Loc: moscow, Data: data})
	mustContain(t, body, "[3 янв. 2026 г., 00:30]", "[00:30]", "[3 янв. 2026 г.]", "[]",
		"[1 мар. 2026 г.]", "[2026-01-03T00:30]", "[1\u00a0234\u00a0567,5]", "[21 контакт]",
		"[1,5 часа]", "[Март]", "[Пн]", "[Январь 2026 г.]", "[23]", "[6]")

	ny, _ := time.LoadLocation("America/New_York")
	_, body = render(t, r, "dates", PageData{Lang: i18n.En, Loc: ny, Data: data})
	mustContain(t, body, "[Jan 2, 2026, 4:30 PM]", "[Mar 1, 2026]", "[21 contacts]", "[1.5 hours]", "[1,234,567.5]")

	_, body = render(t, r, "dates", PageData{Lang: i18n.En, Data: data})
	mustContain(t, body, "[Jan 2, 2026, 9:30 PM]")
}

func TestRenderConcurrent(t *testing.T) {
	r, err := NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	zones := []string{"UTC", "Europe/Moscow", "Asia/Vladivostok", "America/New_York"}
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			loc, err := time.LoadLocation(zones[i%len(zones)])
			if err != nil {
				loc = time.UTC
			}
			l := i18n.Supported()[i%2]
			rec := httptest.NewRecorder()
			r.Error(rec, 404, PageData{Lang: l, Loc: loc, User: &UserView{Name: "X"}})
			if rec.Code != 404 || !strings.Contains(rec.Body.String(), l.T("error.page.404.title")) {
				t.Errorf("render %d: status %d", i, rec.Code)
			}
		}()
	}
	wg.Wait()
	if len(r.bound) > 2*len(zones) {
		t.Errorf("%d bound clones, want at most %d", len(r.bound), 2*len(zones))
	}
}

func TestFuncs(t *testing.T) {
	if _, err := dict("a"); err == nil {
		t.Error("dict: odd args accepted")
	}
	if _, err := dict(1, 2); err == nil {
		t.Error("dict: non-string key accepted")
	}
	if got, _ := seq(3); !slices.Equal(got, []int{0, 1, 2}) {
		t.Errorf("seq(3) = %v", got)
	}
	if _, err := seq(); err == nil {
		t.Error("seq() accepted")
	}
	if got, _ := query(url.Values{"q": {"x"}, "cursor": {"a"}, "csrf_token": {"t"}}, "cursor", "b", "q", ""); got != "?cursor=b" {
		t.Errorf("query = %q", got)
	}
	for in, want := range map[string]string{"Анна Петрова": "АП", "john": "J", "": "?", "  o'neil  smith jr": "OS", "42 Ltd": "4L"} {
		if got := initials(in); got != want {
			t.Errorf("initials(%q) = %q, want %q", in, got, want)
		}
	}
	if tagClass("blue") != "tag-blue" || tagClass(`x" onclick="`) != "tag-gray" {
		t.Error("tagClass")
	}
	if h, _ := csrfField(`"><script>`); strings.Contains(string(h), "<script>") {
		t.Errorf("csrfField does not escape: %s", h)
	}
	if _, err := csrfField(3); err == nil {
		t.Error("csrfField(3) accepted")
	}
	opts, err := options("contact.type", []string{"", "employee"}, "other")
	if err != nil || len(opts) != 2 || opts[0].Key != "contact.type.employee" || opts[1].Value != "other" {
		t.Errorf("options = %v, %v", opts, err)
	}
	if _, err := assetURL("nope.css"); err == nil {
		t.Error("unknown asset accepted")
	}
}

func TestPageDataHelpers(t *testing.T) {
	p := PageData{Lang: i18n.Ru, Form: url.Values{"a": {"1"}}, Errors: map[string]string{"a": "error.required", "b": "custom text"}}
	if p.Value("a") != "1" || p.FieldError("a") != "Обязательное поле." || p.FieldError("b") != "custom text" || p.FieldError("c") != "" {
		t.Error("PageData helpers")
	}
	if (Flash{Key: "flash.signed_in", Args: []any{"Анна"}}).Message(i18n.Ru) != "С возвращением, Анна." {
		t.Error("Flash.Message")
	}
}

func TestSubdirectoryPages(t *testing.T) {
	r := testRenderer(t, map[string]string{
		"admin/settings.html": `{{define "title"}}{{t "admin.settings.title"}}{{end}}{{define "content"}}<h1 class="page-title">{{t "admin.settings.title"}}</h1>{{end}}`,
	})
	if !r.Has("admin/settings") {
		t.Fatalf("pages: %v", r.Pages())
	}
	_, body := render(t, r, "admin/settings", PageData{Lang: i18n.Ru, User: &UserView{Name: "A", IsAdmin: true}, Active: "admin"})
	mustContain(t, body, "<title>Системные настройки · Tandem</title>", `<h1 class="page-title">Системные настройки</h1>`)
	// The layout's own "title" block must not leak between pages.
	_, body = render(t, r, "login", PageData{Lang: i18n.Ru})
	mustContain(t, body, "<title>Вход · Tandem</title>")
}
