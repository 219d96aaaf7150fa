// Package api owns Tandem's JSON REST API under /api/v1: routing, decoding
// and validation of requests, problem+json errors with per-field messages,
// cursor paging and the OpenAPI document. It calls the store and services
// through the interfaces declared here and never writes SQL.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/chat"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/i18n"
	"github.com/tandem-crm/tandem/internal/jobs"
	"github.com/tandem-crm/tandem/internal/mail"
	"github.com/tandem-crm/tandem/internal/provider"
	"github.com/tandem-crm/tandem/internal/settings"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/syncer"
)

// Jobs is the part of the job queue the API shows.
type Jobs interface {
	List(ctx context.Context, f jobs.Filter) ([]jobs.Job, string, error)
	Get(ctx context.Context, id int64) (jobs.Job, error)
	Cancel(ctx context.Context, id int64) (jobs.Job, error)
	Retry(ctx context.Context, id int64) (jobs.Job, error)
}

// API serves /api/v1.
type API struct {
	st       *store.Store
	settings *settings.Service
	jobs     Jobs
	log      *slog.Logger
	patterns []string      // registered routes, checked against the OpenAPI document
	sync     Sync          // nil until WithSync
	logins   Logins        // nil until WithLogins
	mail     *mail.Service // nil until WithMail
	// mailboxes is nil until WithMailboxes.
	mailboxes *mail.Mailboxes
	chat      *chat.Service      // nil until WithChat
	providers *provider.Registry // nil until WithProviders
}

// New returns the API; jobs may be nil in processes without a queue.
func New(st *store.Store, set *settings.Service, j Jobs, log *slog.Logger) *API {
	return &API{st: st, settings: set, jobs: j, log: log}
}

// Authenticator resolves the caller of an API request.
type Authenticator func(r *http.Request) (access.Viewer, bool)

// Routes registers the API on mux. Every route but token issuing and the
// OpenAPI document needs a viewer from auth.
func (a *API) Routes(mux *http.ServeMux, auth Authenticator) {
	handle := func(pattern string, fn http.HandlerFunc) {
		a.patterns = append(a.patterns, pattern)
		mux.HandleFunc(pattern, fn)
	}
	handle("POST /api/v1/auth/token", a.issueToken)
	handle("GET /api/v1/openapi.json", a.openAPI)
	h := func(pattern string, fn func(http.ResponseWriter, *http.Request, access.Viewer)) {
		handle(pattern, func(w http.ResponseWriter, r *http.Request) {
			v, ok := auth(r)
			if !ok {
				w.Header().Set("WWW-Authenticate", `Bearer realm="tandem"`)
				a.problem(w, r, http.StatusUnauthorized, "error.unauthorized", nil)
				return
			}
			r = r.WithContext(store.WithOrigin(access.WithViewer(r.Context(), v), "api"))
			fn(w, r, v)
		})
	}
	admin := func(pattern string, fn func(http.ResponseWriter, *http.Request, access.Viewer)) {
		h(pattern, func(w http.ResponseWriter, r *http.Request, v access.Viewer) {
			if !v.IsAdmin() {
				a.problem(w, r, http.StatusForbidden, "error.forbidden", nil)
				return
			}
			fn(w, r, v)
		})
	}
	h("GET /api/v1/me", a.me)
	h("GET /api/v1/tokens", a.listTokens)
	h("POST /api/v1/tokens", a.createToken)
	h("DELETE /api/v1/tokens/{id}", a.deleteToken)

	h("GET /api/v1/contacts", a.listContacts)
	h("POST /api/v1/contacts", a.createContact)
	h("GET /api/v1/contacts/{id}", a.getContact)
	h("PATCH /api/v1/contacts/{id}", a.patchContact)
	h("DELETE /api/v1/contacts/{id}", a.deleteContact)
	h("GET /api/v1/contacts/{id}/photo", a.getContactPhoto)
	h("PUT /api/v1/contacts/{id}/photo", a.putContactPhoto)
	h("DELETE /api/v1/contacts/{id}/photo", a.deleteContactPhoto)

	h("GET /api/v1/accounts", a.listAccounts)
	h("POST /api/v1/accounts", a.createAccount)
	h("GET /api/v1/accounts/{id}", a.getAccount)
	h("PATCH /api/v1/accounts/{id}", a.patchAccount)
	h("DELETE /api/v1/accounts/{id}", a.deleteAccount)

	h("GET /api/v1/activities", a.listActivities)
	h("POST /api/v1/activities", a.createActivity)
	h("GET /api/v1/activities/{id}", a.getActivity)
	h("PATCH /api/v1/activities/{id}", a.patchActivity)
	h("DELETE /api/v1/activities/{id}", a.deleteActivity)

	h("GET /api/v1/cases", a.listCases)
	h("POST /api/v1/cases", a.createCase)
	h("GET /api/v1/cases/{id}", a.getCase)
	h("PATCH /api/v1/cases/{id}", a.patchCase)
	h("DELETE /api/v1/cases/{id}", a.deleteCase)

	h("GET /api/v1/tags", a.listTags)
	h("POST /api/v1/tags", a.createTag)
	h("GET /api/v1/tags/{id}", a.getTag)
	h("PATCH /api/v1/tags/{id}", a.patchTag)
	h("DELETE /api/v1/tags/{id}", a.deleteTag)

	h("GET /api/v1/groups", a.listGroups)
	h("POST /api/v1/groups", a.createGroup)
	h("GET /api/v1/groups/{id}", a.getGroup)
	h("PATCH /api/v1/groups/{id}", a.patchGroup)
	h("DELETE /api/v1/groups/{id}", a.deleteGroup)
	h("POST /api/v1/groups/{id}/members", a.addMembers)
	h("DELETE /api/v1/groups/{id}/members", a.removeMembers)

	h("GET /api/v1/users", a.listUsers)
	h("GET /api/v1/users/{id}", a.getUser)
	admin("POST /api/v1/users", a.createUser)
	admin("PATCH /api/v1/users/{id}", a.patchUser)
	h("GET /api/v1/roles", a.listRoles)
	h("GET /api/v1/roles/{id}", a.getRole)
	admin("POST /api/v1/roles", a.createRole)
	admin("PATCH /api/v1/roles/{id}", a.patchRole)
	admin("DELETE /api/v1/roles/{id}", a.deleteRole)
	h("GET /api/v1/operations", a.listOperations)

	admin("GET /api/v1/settings", a.listSettings)
	admin("GET /api/v1/settings/{code}", a.getSetting)
	admin("PUT /api/v1/settings/{code}", a.putSetting)
	admin("GET /api/v1/changes", a.listChanges)
	admin("GET /api/v1/jobs", a.listJobs)
	admin("GET /api/v1/jobs/{id}", a.getJob)
	admin("POST /api/v1/jobs/{id}/cancel", a.cancelJob)
	admin("POST /api/v1/jobs/{id}/retry", a.retryJob)

	admin("GET /api/v1/login-failures", a.listLoginFailures)

	h("GET /api/v1/connections", a.listConnections)
	h("POST /api/v1/connections", a.createConnection)
	h("DELETE /api/v1/connections/{id}", a.deleteConnection)
	h("PUT /api/v1/connections/{id}/credentials", a.putCredentials)
	h("POST /api/v1/connections/{id}/sync", a.runSync)
	h("GET /api/v1/connections/{id}/contacts", a.getContactSync)
	h("PUT /api/v1/connections/{id}/contacts", a.putContactSync)
	h("GET /api/v1/connections/{id}/calendar", a.getCalendarSync)
	h("PUT /api/v1/connections/{id}/calendar", a.putCalendarSync)
	h("GET /api/v1/connections/{id}/calendars", a.listCalendars)
	h("POST /api/v1/connections/{id}/calendar/resync", a.resyncCalendar)
	h("GET /api/v1/connections/{id}/sync/{kind}", a.getBindingSync)
	h("PUT /api/v1/connections/{id}/sync/{kind}", a.putBindingSync)
	h("GET /api/v1/connections/{id}/sync/{kind}/collections", a.listBindingCollections)
	h("GET /api/v1/contacts/{id}/journal", a.contactJournal)

	admin("GET /api/v1/mail/providers", a.listMailProviders)
	admin("POST /api/v1/mail/providers", a.createMailProvider)
	admin("POST /api/v1/mail/providers/from-preset", a.createMailProviderFromPreset)
	admin("GET /api/v1/mail/providers/{id}", a.getMailProvider)
	admin("PATCH /api/v1/mail/providers/{id}", a.patchMailProvider)
	admin("DELETE /api/v1/mail/providers/{id}", a.deleteMailProvider)
	admin("GET /api/v1/mail/presets", a.listMailPresets)
	admin("GET /api/v1/mail/domains", a.listMailDomains)
	admin("POST /api/v1/mail/domains", a.createMailDomain)
	admin("DELETE /api/v1/mail/domains/{domain}", a.deleteMailDomain)
	h("GET /api/v1/mail/provider-choices", a.listMailProviderChoices)
	h("GET /api/v1/mail/detect", a.detectMailProvider)

	h("GET /api/v1/mailboxes", a.listMailboxes)
	h("POST /api/v1/mailboxes", a.createMailbox)
	h("GET /api/v1/mailboxes/{id}", a.getMailbox)
	h("PATCH /api/v1/mailboxes/{id}", a.patchMailbox)
	h("DELETE /api/v1/mailboxes/{id}", a.deleteMailbox)
	h("GET /api/v1/mailboxes/{id}/grants", a.getMailboxGrants)
	h("PUT /api/v1/mailboxes/{id}/grants", a.putMailboxGrants)
	h("GET /api/v1/mailboxes/{id}/folders", a.listMailboxFolders)
	h("POST /api/v1/mailboxes/{id}/load", a.loadMailbox)
	a.letterRoutes(h)
	a.chatRoutes(h)

	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		a.problem(w, r, http.StatusNotFound, "error.not_found", nil)
	})
}

// writeJSON answers with a JSON body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// list is the shape of every paged collection.
type list[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

func page[T any](items []T, next string) list[T] {
	if items == nil {
		items = []T{}
	}
	l := list[T]{Items: items}
	if next != "" {
		l.NextCursor = &next
	}
	return l
}

// fieldError is one entry of a problem's "errors".
type fieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// problem is an RFC 9457 problem details body.
type problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail,omitempty"`
	Code   string       `json:"code"`
	Errors []fieldError `json:"errors,omitempty"`
}

// lang picks the language of messages: the user's, else Accept-Language.
func lang(r *http.Request) i18n.Lang {
	if v, ok := access.ViewerFrom(r.Context()); ok {
		if l, ok := i18n.Parse(v.Lang); ok {
			return l
		}
	}
	return i18n.Match(r.Header.Get("Accept-Language"))
}

func (a *API) problem(w http.ResponseWriter, r *http.Request, status int, key string, fields crm.FieldErrors) {
	l := lang(r)
	p := problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: l.T(key), Code: strings.TrimPrefix(key, "error.")}
	if len(fields) > 0 {
		p.Type = "https://tandem.dev/problems/validation"
		for _, f := range sortedKeys(fields) {
			p.Errors = append(p.Errors, fieldError{Field: f, Code: strings.TrimPrefix(i18n.RefKey(fields[f]), "error."), Message: l.T(fields[f])})
		}
	}
	w.Header().Set("Content-Type", "application/problem+json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(p)
}

// fail maps an error from the store or services to a response. Unknown
// errors are logged and answered 500 without details.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ve *crm.ValidationError
	var de *decodeError
	var se *settings.InvalidError
	var sse *syncer.SettingsError
	switch {
	case errors.As(err, &de):
		a.problem(w, r, http.StatusBadRequest, de.key, de.fields)
	case errors.As(err, &ve):
		a.problem(w, r, http.StatusBadRequest, "error.form", ve.Fields)
	case errors.As(err, &se):
		a.problem(w, r, http.StatusBadRequest, "error.form", crm.FieldErrors{"value": se.Key})
	case errors.As(err, &sse):
		a.problem(w, r, http.StatusBadRequest, "error.form", sse.Fields)
	case errors.Is(err, store.ErrNotFound), errors.Is(err, jobs.ErrNotFound), errors.Is(err, settings.ErrUnknown):
		a.problem(w, r, http.StatusNotFound, "error.not_found", nil)
	case errors.Is(err, store.ErrForbidden):
		a.problem(w, r, http.StatusForbidden, "error.forbidden", nil)
	case errors.Is(err, store.ErrConflict):
		a.problem(w, r, http.StatusPreconditionFailed, "error.conflict", nil)
	case errors.Is(err, store.ErrProviderInUse):
		a.problem(w, r, http.StatusConflict, "error.mail_provider_in_use", nil)
	case errors.Is(err, mail.ErrUnknownPreset):
		a.problem(w, r, http.StatusBadRequest, "error.form", crm.FieldErrors{"preset": crm.ErrUnknownEnum})
	case errors.Is(err, jobs.ErrNotRetryable):
		a.problem(w, r, http.StatusConflict, "error.job_not_retryable", nil)
	case errors.Is(err, store.ErrBadCursor), errors.Is(err, jobs.ErrInvalidFilter):
		a.problem(w, r, http.StatusBadRequest, "error.form", crm.FieldErrors{"cursor": "error.invalid"})
	case errors.Is(err, context.Canceled):
		// The client went away; nothing to answer.
	default:
		a.log.ErrorContext(r.Context(), "api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		a.problem(w, r, http.StatusInternalServerError, "error.internal", nil)
	}
}

// pageParams reads limit and cursor.
func pageParams(r *http.Request) (store.Page, error) {
	p := store.Page{Cursor: r.URL.Query().Get("cursor")}
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 200 {
			return p, &decodeError{key: "error.form", fields: crm.FieldErrors{"limit": "error.out_of_range"}}
		}
		p.Limit = n
	}
	return p, nil
}

// ifMatch returns the version a client expects from an If-Match header
// (the ETag we send is the quoted version), or 0 when absent.
func ifMatch(r *http.Request) (int64, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" || h == "*" {
		return 0, nil
	}
	n, err := strconv.ParseInt(strings.Trim(strings.TrimPrefix(h, "W/"), `"`), 10, 64)
	if err != nil || n < 1 {
		return 0, &decodeError{key: "error.form", fields: crm.FieldErrors{"If-Match": "error.invalid"}}
	}
	return n, nil
}

func setETag(w http.ResponseWriter, version int64) {
	w.Header().Set("ETag", `"`+strconv.FormatInt(version, 10)+`"`)
}
