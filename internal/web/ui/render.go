package ui

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tandem-crm/tandem/internal/i18n"
)

//go:embed templates
var templateFiles embed.FS

// PageData is what every page template receives as ".".
type PageData struct {
	Lang   i18n.Lang
	User   *UserView // nil renders the bare shell (login, public error pages)
	CSRF   string    // session CSRF token, for forms and the csrf-token meta tag
	Flash  []Flash
	Title  string            // translated text; overrides the page's "title" template when set
	Active string            // nav key: contacts, accounts, activities, calendar, mail, profile, admin
	Data   any               // page-specific view model
	Errors map[string]string // field name → message key; FormError for the whole form
	Form   url.Values        // submitted values to re-fill a form, or the list page's query
	Loc    *time.Location    // viewer's time zone for date/time funcs; nil keeps times as given
	Path   string            // request path and query, where language switch returns to
}

// FormError is the Errors key for a problem with the form as a whole
// (shown above the fields by the "form_errors" partial).
const FormError = "_form"

// FieldError returns the translated error for a form field, or "".
func (p PageData) FieldError(field string) string {
	key := p.Errors[field]
	if key == "" {
		return ""
	}
	return p.Lang.T(key)
}

// Value returns the submitted value of a form field.
func (p PageData) Value(field string) string { return p.Form.Get(field) }

// UserView is the signed-in user as the shell shows them.
type UserView struct {
	ID      string
	Name    string
	Email   string
	IsAdmin bool
	// CanManageChats: the chat set-up pages are theirs (CanManageChats).
	CanManageChats bool
}

// Flash kinds; each has its own colour and icon.
const (
	FlashSuccess = "success"
	FlashInfo    = "info"
	FlashWarning = "warning"
	FlashError   = "error"
)

// Flash is a one-time message shown after a redirect. It carries a catalogue
// key, not text, so it is translated for whoever sees it.
type Flash struct {
	Kind string // FlashSuccess, FlashInfo, FlashWarning or FlashError
	Key  string
	Args []any
}

// Message translates the flash.
func (f Flash) Message(l i18n.Lang) string { return l.T(f.Key, f.Args...) }

// Option is one choice of a select field: Label is literal text, Key a
// catalogue key (used when set).
type Option struct {
	Value string
	Label string
	Key   string
}

// ErrorData is the Data of the "error" page.
type ErrorData struct {
	Status   int
	TitleKey string
	TextKey  string
}

// NewErrorData picks the friendly title and text for an HTTP status.
func NewErrorData(status int) ErrorData {
	switch status {
	case 400, 401, 403, 404, 405, 409, 429, 500, 503:
		k := fmt.Sprintf("error.page.%d", status)
		return ErrorData{Status: status, TitleKey: k + ".title", TextKey: k + ".text"}
	}
	if status >= 500 {
		return ErrorData{Status: status, TitleKey: "error.page.500.title", TextKey: "error.page.500.text"}
	}
	return ErrorData{Status: status, TitleKey: "error.page.400.title", TextKey: "error.page.400.text"}
}

// Renderer renders pages from the embedded templates. It is safe for
// concurrent use.
type Renderer struct {
	// pages holds each page parsed with the layout and partials. They are
	// never executed: html/template forbids cloning an executed template,
	// and every locale needs a clone with its own functions.
	pages map[string]*template.Template

	mu    sync.Mutex
	bound map[boundKey]*template.Template
}

// boundKey names a page clone whose locale functions are bound to one
// language and time zone.
type boundKey struct {
	page, lang, loc string
}

// maxBound caps the clone cache; past it (thousands of distinct time zones)
// pages are cloned per render, slower but correct.
const maxBound = 2048

// NewRenderer parses the embedded templates.
func NewRenderer() (*Renderer, error) {
	sub, err := fs.Sub(templateFiles, "templates")
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	return newRenderer(sub)
}

// newRenderer parses templates from fsys: layout.html, partials/*.html, and
// every other *.html file as a page named by its path without ".html".
func newRenderer(fsys fs.FS) (*Renderer, error) {
	base := template.New("shell").Funcs(baseFuncs()).Funcs(localeFuncs(i18n.Default, nil))
	if _, err := base.ParseFS(fsys, "layout.html", "partials/*.html"); err != nil {
		return nil, fmt.Errorf("parse layout: %w", err)
	}
	if base.Lookup("layout") == nil {
		return nil, errors.New("layout.html does not define \"layout\"")
	}
	r := &Renderer{pages: map[string]*template.Template{}, bound: map[boundKey]*template.Template{}}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || path.Ext(p) != ".html" || p == "layout.html" || strings.HasPrefix(p, "partials/") {
			return nil
		}
		src, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		name := strings.TrimSuffix(p, ".html")
		t, err := base.Clone()
		if err != nil {
			return err
		}
		if _, err := t.New("page:" + name).Parse(string(src)); err != nil {
			return fmt.Errorf("parse %s: %w", p, err)
		}
		if t.Lookup("content") == nil {
			return fmt.Errorf("%s does not define \"content\"", p)
		}
		r.pages[name] = t
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	return r, nil
}

// Pages lists the registered page names, sorted.
func (r *Renderer) Pages() []string {
	names := make([]string, 0, len(r.pages))
	for n := range r.pages {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Has reports whether a page is registered.
func (r *Renderer) Has(name string) bool {
	_, ok := r.pages[name]
	return ok
}

// bind returns the page with its locale functions bound for data.
func (r *Renderer) bind(name string, data PageData) (*template.Template, error) {
	master, ok := r.pages[name]
	if !ok {
		return nil, fmt.Errorf("unknown page %q", name)
	}
	lang := i18n.Lang(data.Lang.String())
	key := boundKey{page: name, lang: string(lang)}
	if data.Loc != nil {
		key.loc = data.Loc.String()
	}
	r.mu.Lock()
	t := r.bound[key]
	r.mu.Unlock()
	if t != nil {
		return t, nil
	}
	t, err := master.Clone()
	if err != nil {
		return nil, fmt.Errorf("clone %s: %w", name, err)
	}
	t.Funcs(localeFuncs(lang, data.Loc))
	r.mu.Lock()
	defer r.mu.Unlock()
	if prev := r.bound[key]; prev != nil {
		return prev, nil // another request bound it first; share its escaping work
	}
	if len(r.bound) < maxBound {
		r.bound[key] = t
	}
	return t, nil
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Render writes the page with the given status. The page is rendered into a
// buffer first, so a template error yields a logged, plain 500 instead of a
// half-written page.
func (r *Renderer) Render(w http.ResponseWriter, status int, name string, data PageData) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 1<<20 { // do not pin a rare huge page in the pool
			bufPool.Put(buf)
		}
	}()
	t, err := r.bind(name, data)
	if err == nil {
		err = t.ExecuteTemplate(buf, "layout", data)
	}
	if err != nil {
		slog.Error("render page", "page", name, "err", err)
		http.Error(w, data.Lang.T("error.internal"), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Language", data.Lang.Tag())
	h.Set("X-Content-Type-Options", "nosniff")
	if h.Get("Cache-Control") == "" {
		// Pages carry a CSRF token and private data: never store them.
		h.Set("Cache-Control", "no-store")
	}
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// Error renders the friendly error page for status. The shell is the full
// one when data.User is set, the bare one otherwise.
func (r *Renderer) Error(w http.ResponseWriter, status int, data PageData) {
	if _, ok := data.Data.(ErrorData); !ok {
		data.Data = NewErrorData(status)
	}
	r.Render(w, status, "error", data)
}
