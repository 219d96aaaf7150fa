package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/jobs"
	"github.com/tandem-crm/tandem/internal/settings"
	"github.com/tandem-crm/tandem/internal/signin"
	"github.com/tandem-crm/tandem/internal/store"
)

// tokenTTL bounds tokens issued by password login; tokens made on the
// profile page may live longer.
const tokenTTL = 90 * 24 * time.Hour

type tokenRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Name     string `json:"name"`
}

func (a *API) issueToken(w http.ResponseWriter, r *http.Request) {
	var in tokenRequest
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	fe := crm.FieldErrors{}
	if in.Email == "" {
		fe.Add("email", crm.ErrRequired)
	}
	if in.Password == "" {
		fe.Add("password", crm.ErrRequired)
	}
	if err := fe.Err(); err != nil {
		a.fail(w, r, err)
		return
	}
	u, err := a.logins.SignIn(r.Context(), in.Email, in.Password, signin.ClientAddr(r))
	var wait *signin.ThrottledError
	if errors.As(err, &wait) {
		w.Header().Set("Retry-After", strconv.Itoa(wait.Seconds()))
		a.problem(w, r, http.StatusTooManyRequests, "error.too_many_sign_ins", nil)
		return
	}
	if errors.Is(err, access.ErrPassword) {
		a.problem(w, r, http.StatusUnauthorized, "error.wrong_password", nil)
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	name := in.Name
	if name == "" {
		name = "API login " + time.Now().UTC().Format("2006-01-02 15:04")
	}
	secret, t, err := a.st.CreateAPIToken(r.Context(), u.ID, name, crm.Micros(time.Now().Add(tokenTTL)))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"token": secret, "token_type": "Bearer", "expires_at": t.ExpiresAt, "user_id": u.ID})
}

type userOut struct {
	ID         string    `json:"id"`
	Email      string    `json:"email"`
	Name       string    `json:"name"`
	Language   string    `json:"language"`
	TimeZone   string    `json:"time_zone"`
	Active     bool      `json:"active"`
	RoleIDs    []string  `json:"role_ids,omitempty"`
	Operations []string  `json:"operations,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

// userJSON shows roles and operations to administrators and to the user
// themselves only.
func userJSON(u *access.User, v access.Viewer) userOut {
	o := userOut{ID: u.ID, Email: u.Email, Name: u.Name, Language: u.Language, TimeZone: u.TimeZone, Active: u.Active, CreatedAt: u.CreatedAt}
	if v.IsAdmin() || v.UserID == u.ID {
		o.RoleIDs, o.Operations = u.RoleIDs, u.Ops
		if o.RoleIDs == nil {
			o.RoleIDs = []string{}
		}
		if o.Operations == nil {
			o.Operations = []string{}
		}
	}
	return o
}

func (a *API) me(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	u, err := a.st.GetUser(r.Context(), v.UserID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := userJSON(u, v)
	ops := []string{}
	for _, op := range access.Operations {
		if v.Can(op) {
			ops = append(ops, op)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": out, "effective_operations": ops})
}

func (a *API) listUsers(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	us, err := a.st.ListUsers(r.Context(), r.URL.Query().Get("q"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]userOut, 0, len(us))
	for _, u := range us {
		if v.IsAdmin() {
			full, err := a.st.GetUser(r.Context(), u.ID)
			if err != nil {
				a.fail(w, r, err)
				return
			}
			u = full
		}
		out = append(out, userJSON(u, v))
	}
	writeJSON(w, http.StatusOK, page(out, ""))
}

func (a *API) getUser(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	u, err := a.st.GetUser(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, userJSON(u, v))
}

type userIn struct {
	Email      *string   `json:"email"`
	Name       *string   `json:"name"`
	Password   *string   `json:"password"`
	Language   *string   `json:"language"`
	TimeZone   *string   `json:"time_zone"`
	Active     *bool     `json:"active"`
	RoleIDs    *[]string `json:"role_ids"`
	Operations *[]string `json:"operations"`
}

func (in *userIn) apply(u *access.User) {
	set(&u.Email, in.Email)
	set(&u.Name, in.Name)
	set(&u.Language, in.Language)
	set(&u.TimeZone, in.TimeZone)
	set(&u.Active, in.Active)
	u.RoleIDs, u.Ops = nil, nil
	if in.RoleIDs != nil {
		u.RoleIDs = append([]string{}, *in.RoleIDs...)
	}
	if in.Operations != nil {
		u.Ops = append([]string{}, *in.Operations...)
	}
}

func (a *API) createUser(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	var in userIn
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	u := &access.User{Active: true}
	in.apply(u)
	if in.Password == nil {
		a.fail(w, r, &crm.ValidationError{Fields: crm.FieldErrors{"password": crm.ErrRequired}})
		return
	}
	if err := a.st.CreateUser(r.Context(), u, *in.Password); err != nil {
		a.fail(w, r, err)
		return
	}
	u, err := a.st.GetUser(r.Context(), u.ID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/users/"+u.ID)
	writeJSON(w, http.StatusCreated, userJSON(u, v))
}

func (a *API) patchUser(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	var in userIn
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	u, err := a.st.GetUser(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	in.apply(u)
	if u.ID == v.UserID && !u.Active {
		// An administrator locking themselves out is never what they meant.
		a.fail(w, r, &crm.ValidationError{Fields: crm.FieldErrors{"active": "error.invalid"}})
		return
	}
	if err := a.st.UpdateUser(r.Context(), u); err != nil {
		a.fail(w, r, err)
		return
	}
	if in.Password != nil {
		if err := a.st.SetPassword(r.Context(), u.ID, *in.Password); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	u, err = a.st.GetUser(r.Context(), u.ID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, userJSON(u, v))
}

type roleJSON struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Operations  []string  `json:"operations"`
	MemberCount int       `json:"member_count"`
	CreatedAt   time.Time `json:"created_at"`
}

type roleIn struct {
	Name        *string   `json:"name"`
	Description *string   `json:"description"`
	Operations  *[]string `json:"operations"`
}

func roleOut(r *access.Role) roleJSON {
	return roleJSON{ID: r.ID, Name: r.Name, Description: r.Description, Operations: r.Ops, MemberCount: r.MemberCount, CreatedAt: r.CreatedAt}
}

func (a *API) listRoles(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	rs, err := a.st.ListRoles(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]roleJSON, len(rs))
	for i, rl := range rs {
		out[i] = roleOut(rl)
	}
	writeJSON(w, http.StatusOK, page(out, ""))
}

func (a *API) getRole(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	rl, err := a.st.GetRole(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, roleOut(rl))
}

func (a *API) saveRole(w http.ResponseWriter, r *http.Request, rl *access.Role, status int) {
	var in roleIn
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	set(&rl.Name, in.Name)
	set(&rl.Description, in.Description)
	rl.Ops = nil
	if in.Operations != nil {
		rl.Ops = append([]string{}, *in.Operations...)
	}
	if err := a.st.SaveRole(r.Context(), rl); err != nil {
		a.fail(w, r, err)
		return
	}
	rl, err := a.st.GetRole(r.Context(), rl.ID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, status, roleOut(rl))
}

func (a *API) createRole(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	a.saveRole(w, r, &access.Role{}, http.StatusCreated)
}

func (a *API) patchRole(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	rl, err := a.st.GetRole(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.saveRole(w, r, rl, http.StatusOK)
}

func (a *API) deleteRole(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	if err := a.st.DeleteRole(r.Context(), r.PathValue("id")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) listOperations(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	l := lang(r)
	type op struct {
		Code  string `json:"code"`
		Title string `json:"title"`
	}
	out := make([]op, 0, len(access.Operations))
	for _, c := range access.Operations {
		out = append(out, op{Code: c, Title: l.T("operation." + c)})
	}
	writeJSON(w, http.StatusOK, page(out, ""))
}

type settingJSON struct {
	Code    string   `json:"code"`
	Type    string   `json:"type"`
	Group   string   `json:"group"`
	Value   string   `json:"value"`
	Default string   `json:"default"`
	IsSet   bool     `json:"is_set"`
	Secret  bool     `json:"secret"`
	Options []string `json:"options,omitempty"`
}

func settingOut(e settings.Entry) settingJSON {
	return settingJSON{Code: e.Code, Type: e.Type, Group: e.Group, Value: e.Value, Default: e.Default, IsSet: e.IsSet,
		Secret: e.Type == settings.TypeSecret, Options: e.Options}
}

func (a *API) listSettings(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	es, err := a.settings.List(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]settingJSON, len(es))
	for i, e := range es {
		out[i] = settingOut(e)
	}
	writeJSON(w, http.StatusOK, page(out, ""))
}

func (a *API) getSetting(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	es, err := a.settings.List(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	for _, e := range es {
		if e.Code == r.PathValue("code") {
			writeJSON(w, http.StatusOK, settingOut(e))
			return
		}
	}
	a.fail(w, r, settings.ErrUnknown)
}

type settingIn struct {
	// Value is a string for every type, as in the UI form; JSON numbers
	// and booleans are accepted too.
	Value any `json:"value"`
}

func (a *API) putSetting(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	code := r.PathValue("code")
	if _, ok := settings.Lookup(code); !ok {
		a.fail(w, r, settings.ErrUnknown)
		return
	}
	var in settingIn
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	var raw string
	switch val := in.Value.(type) {
	case nil:
		raw = ""
	case string:
		raw = val
	case bool:
		raw = strconv.FormatBool(val)
	case float64:
		raw = strconv.FormatFloat(val, 'f', -1, 64)
	default:
		a.fail(w, r, &crm.ValidationError{Fields: crm.FieldErrors{"value": "error.wrong_type"}})
		return
	}
	if err := a.settings.Put(r.Context(), code, raw, v.UserID); err != nil {
		a.fail(w, r, err)
		return
	}
	a.getSetting(w, r, v)
}

type changeJSON struct {
	Seq      int64     `json:"seq"`
	Entity   string    `json:"entity"`
	EntityID string    `json:"entity_id"`
	Op       string    `json:"op"`
	Origin   string    `json:"origin"`
	ActorID  string    `json:"actor_id"`
	At       time.Time `json:"at"`
}

// listChanges serves the change log. It is for administrators only: entries
// name records (even deleted ones) without checking who may see them.
func (a *API) listChanges(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	q := r.URL.Query()
	fe := crm.FieldErrors{}
	var since int64
	if s := q.Get("since"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			fe.Add("since", "error.invalid_number")
		}
		since = n
	}
	limit := 1000
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 10000 {
			fe.Add("limit", "error.out_of_range")
		}
		limit = n
	}
	entity := q.Get("entity")
	if entity != "" && !slices.Contains(changeEntities, entity) {
		fe.Add("entity", crm.ErrUnknownEnum)
	}
	if err := fe.Err(); err != nil {
		a.fail(w, r, err)
		return
	}
	cs, err := a.st.Changes(r.Context(), since, entity, limit)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]changeJSON, len(cs))
	last := since
	for i, c := range cs {
		out[i] = changeJSON{Seq: c.Seq, Entity: c.Entity, EntityID: c.EntityID, Op: c.Op, Origin: c.Origin, ActorID: c.ActorID, At: c.At}
		last = c.Seq
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out, "last_seq": last, "has_more": len(cs) == limit})
}

func (a *API) jobID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	if a.jobs == nil {
		a.problem(w, r, http.StatusServiceUnavailable, "error.internal", nil)
		return 0, false
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		a.problem(w, r, http.StatusNotFound, "error.not_found", nil)
		return 0, false
	}
	return id, true
}

func (a *API) listJobs(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	if a.jobs == nil {
		a.problem(w, r, http.StatusServiceUnavailable, "error.internal", nil)
		return
	}
	p, err := pageParams(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	js, next, err := a.jobs.List(r.Context(), jobs.Filter{State: jobs.State(q.Get("state")), Kind: q.Get("kind"), Limit: p.Limit, Cursor: p.Cursor})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page(js, next))
}

func (a *API) getJob(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	a.jobAction(w, r, Jobs.Get)
}

func (a *API) cancelJob(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	a.jobAction(w, r, Jobs.Cancel)
}

func (a *API) retryJob(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	a.jobAction(w, r, Jobs.Retry)
}

func (a *API) jobAction(w http.ResponseWriter, r *http.Request, fn func(Jobs, context.Context, int64) (jobs.Job, error)) {
	id, ok := a.jobID(w, r)
	if !ok {
		return
	}
	j, err := fn(a.jobs, r.Context(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, j)
}

type connectionJSON struct {
	ID           string                 `json:"id"`
	Provider     string                 `json:"provider"`
	AccountEmail string                 `json:"account_email"`
	DisplayName  string                 `json:"display_name"`
	Status       store.ConnectionStatus `json:"status"`
	StatusReason string                 `json:"status_reason"`
	LastSyncAt   *time.Time             `json:"last_sync_at"`
	CreatedAt    time.Time              `json:"created_at"`
}

func (a *API) listConnections(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	cs, err := a.st.ListConnections(r.Context(), v.UserID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]connectionJSON, len(cs))
	for i := range cs {
		out[i] = toConnectionJSON(&cs[i])
	}
	writeJSON(w, http.StatusOK, page(out, ""))
}

type apiTokenJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	Token      string     `json:"token,omitempty"` // only in the answer to its creation
}

func tokenJSON(t *access.APIToken) apiTokenJSON {
	o := apiTokenJSON{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt}
	if !t.LastUsedAt.IsZero() {
		o.LastUsedAt = &t.LastUsedAt
	}
	if !t.ExpiresAt.IsZero() {
		o.ExpiresAt = &t.ExpiresAt
	}
	return o
}

func (a *API) listTokens(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	ts, err := a.st.ListAPITokens(r.Context(), v.UserID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]apiTokenJSON, len(ts))
	for i := range ts {
		out[i] = tokenJSON(&ts[i])
	}
	writeJSON(w, http.StatusOK, page(out, ""))
}

type tokenIn struct {
	Name          string `json:"name"`
	ExpiresInDays int    `json:"expires_in_days"`
}

func (a *API) createToken(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	var in tokenIn
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	if in.ExpiresInDays < 0 || in.ExpiresInDays > 3650 {
		a.fail(w, r, &crm.ValidationError{Fields: crm.FieldErrors{"expires_in_days": "error.out_of_range"}})
		return
	}
	var exp int64
	if in.ExpiresInDays > 0 {
		exp = crm.Micros(time.Now().AddDate(0, 0, in.ExpiresInDays))
	}
	secret, t, err := a.st.CreateAPIToken(r.Context(), v.UserID, in.Name, exp)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := tokenJSON(t)
	out.Token = secret
	writeJSON(w, http.StatusCreated, out)
}

func (a *API) deleteToken(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	if err := a.st.DeleteAPIToken(r.Context(), v.UserID, r.PathValue("id")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
