package api

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/chat"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/jobs"
	"github.com/tandem-crm/tandem/internal/mail"
	"github.com/tandem-crm/tandem/internal/provider"
	"github.com/tandem-crm/tandem/internal/syncer"
)

// openAPIJSON returns the document as a client sees it: marshalled and
// decoded into generic JSON values.
func openAPIJSON(t *testing.T) map[string]any {
	t.Helper()
	b, err := json.Marshal(openAPIDoc())
	if err != nil {
		t.Fatalf("marshal OpenAPI document: %v", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("unmarshal OpenAPI document: %v", err)
	}
	return doc
}

// routes registers the API on a fresh mux with auth and returns both.
func routes(auth Authenticator) (*API, *http.ServeMux) {
	a := New(nil, nil, nil, slog.Default())
	mux := http.NewServeMux()
	a.Routes(mux, auth)
	return a, mux
}

func noViewer(*http.Request) (access.Viewer, bool) { return access.Viewer{}, false }

// splitPattern turns "GET /api/v1/contacts/{id}" into "get" and the
// OpenAPI path.
func splitPattern(t *testing.T, pattern string) (method, path string) {
	t.Helper()
	method, path, ok := strings.Cut(pattern, " ")
	if !ok || method == "" {
		t.Fatalf("route %q has no method", pattern)
	}
	path = strings.ReplaceAll(strings.TrimSuffix(path, "{$}"), "...}", "}")
	return strings.ToLower(method), path
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// operations returns the document's operations keyed "method path".
func operations(t *testing.T, doc map[string]any) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for path, item := range doc["paths"].(map[string]any) {
		for method, o := range item.(map[string]any) {
			if !slices.Contains(httpMethods, method) {
				continue
			}
			out[method+" "+path] = o.(map[string]any)
		}
	}
	return out
}

// resolve follows a local JSON pointer ("#/components/schemas/Contact").
func resolve(doc map[string]any, ref string) (any, bool) {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, false
	}
	var cur any = doc
	for _, tok := range strings.Split(rest, "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := cur.(type) {
		case map[string]any:
			if cur, ok = c[tok]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// deref resolves v when it is a {"$ref": …} object.
func deref(t *testing.T, doc map[string]any, v any) map[string]any {
	t.Helper()
	m := v.(map[string]any)
	if r, ok := m["$ref"].(string); ok {
		target, ok := resolve(doc, r)
		if !ok {
			t.Fatalf("unresolved $ref %q", r)
		}
		return target.(map[string]any)
	}
	return m
}

var pathParamRE = regexp.MustCompile(`\{([^}]+)\}`)

func TestOpenAPIRoutesMatchRouter(t *testing.T) {
	doc := openAPIJSON(t)
	ops := operations(t, doc)
	a, _ := routes(noViewer)
	if len(a.patterns) == 0 {
		t.Fatal("Routes registered no patterns")
	}
	served := map[string]bool{}
	for _, p := range a.patterns {
		method, path := splitPattern(t, p)
		key := method + " " + path
		served[key] = true
		o, ok := ops[key]
		if !ok {
			t.Errorf("route %q is missing from the OpenAPI document", p)
			continue
		}
		// Every path parameter is declared.
		declared := map[string]bool{}
		params, _ := o["parameters"].([]any)
		for _, prm := range params {
			m := deref(t, doc, prm)
			if m["in"] == "path" {
				declared[m["name"].(string)] = true
				if m["required"] != true {
					t.Errorf("%s: path parameter %v must be required", key, m["name"])
				}
			}
		}
		for _, sub := range pathParamRE.FindAllStringSubmatch(path, -1) {
			if !declared[sub[1]] {
				t.Errorf("%s: path parameter %q is not declared", key, sub[1])
			}
			delete(declared, sub[1])
		}
		for name := range declared {
			t.Errorf("%s: declares path parameter %q the path does not have", key, name)
		}
	}
	ids := map[string]string{}
	for key, o := range ops {
		if !served[key] {
			t.Errorf("the OpenAPI document has %q, which the router does not serve", key)
		}
		id, _ := o["operationId"].(string)
		if id == "" {
			t.Errorf("%s has no operationId", key)
		} else if prev, dup := ids[id]; dup {
			t.Errorf("operationId %q used by %s and %s", id, prev, key)
		}
		ids[id] = key
		if _, ok := o["responses"].(map[string]any); !ok {
			t.Errorf("%s has no responses", key)
		}
	}
}

// TestOpenAPIAccessMatchesRouter checks the security of each operation
// against the router: without a viewer, routes that need one answer 401
// before doing anything; with a viewer that is not an administrator, routes
// registered with admin(...) answer 403 before doing anything. Other
// handlers reach the nil store and panic, which is recovered.
func TestOpenAPIAccessMatchesRouter(t *testing.T) {
	doc := openAPIJSON(t)
	ops := operations(t, doc)
	user := func(*http.Request) (access.Viewer, bool) {
		return access.Viewer{UserID: "u1", Ops: map[string]bool{}}, true
	}
	anonAPI, anon := routes(noViewer)
	_, plain := routes(user)
	_, chatManager := routes(func(*http.Request) (access.Viewer, bool) {
		return access.Viewer{UserID: "u2", Ops: map[string]bool{access.OpManageChats: true}}, true
	})
	_, admin := routes(func(*http.Request) (access.Viewer, bool) {
		return access.Viewer{UserID: "u3", Ops: map[string]bool{access.OpManageAdministration: true}}, true
	})
	for _, p := range anonAPI.patterns {
		method, path := splitPattern(t, p)
		o, ok := ops[method+" "+path]
		if !ok {
			continue // reported by TestOpenAPIRoutesMatchRouter
		}
		url := pathParamRE.ReplaceAllString(path, "1")

		responses := o["responses"].(map[string]any)
		r401, _ := responses["401"].(map[string]any)
		documents401 := r401["$ref"] == "#/components/responses/Unauthorized"
		security, overridden := o["security"].([]any)
		public := overridden && len(security) == 0
		needsAuth := serve(anon, strings.ToUpper(method), url) == http.StatusUnauthorized
		if needsAuth == public || needsAuth != documents401 {
			t.Errorf("%s: needs a token: %v; document: public %v, Unauthorized listed %v", p, needsAuth, public, documents401)
		}

		refused := serve(plain, strings.ToUpper(method), url) == http.StatusForbidden
		desc, _ := o["description"].(string)
		marked := o["x-admin-only"] == true && strings.Contains(desc, "Administrators only")
		// Chat managers' operations need CanManageChats, which an
		// administrator does not hold as such.
		managers := o["x-required-operation"] == access.OpManageChats && strings.Contains(desc, "Chat managers only")
		_, documents403 := responses["403"]
		if refused != (marked || managers) || (refused && !documents403) {
			t.Errorf("%s: refused to a plain user: %v; document: administrators only %v, chat managers only %v, 403 listed %v",
				p, refused, marked, managers, documents403)
		}
		if managers {
			if serve(chatManager, strings.ToUpper(method), url) == http.StatusForbidden {
				t.Errorf("%s: refused to a chat manager", p)
			}
			if serve(admin, strings.ToUpper(method), url) != http.StatusForbidden {
				t.Errorf("%s: open to an administrator without %s", p, access.OpManageChats)
			}
		}
	}
}

// serve answers one request with an empty JSON body; -1 means the handler
// panicked (it reached the nil store).
func serve(mux *http.ServeMux, method, url string) (status int) {
	defer func() {
		if recover() != nil {
			status = -1
		}
	}()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(method, url, strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	mux.ServeHTTP(rec, req)
	return rec.Code
}

func TestOpenAPIRefsResolve(t *testing.T) {
	doc := openAPIJSON(t)
	n := 0
	var walk func(at string, v any)
	walk = func(at string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if r, ok := v["$ref"]; ok {
				n++
				s, _ := r.(string)
				if !strings.HasPrefix(s, "#/components/") {
					t.Errorf("%s: $ref %v does not point into components", at, r)
				} else if _, ok := resolve(doc, s); !ok {
					t.Errorf("%s: $ref %q is not defined", at, s)
				}
			}
			for k, e := range v {
				walk(at+"/"+k, e)
			}
		case []any:
			for _, e := range v {
				walk(at+"[]", e)
			}
		}
	}
	walk("#", doc)
	if n == 0 {
		t.Fatal("the document has no $ref at all")
	}
}

func TestOpenAPIDocumentIsJSON(t *testing.T) {
	doc := openAPIJSON(t)
	if doc["openapi"] != "3.1.0" {
		t.Errorf("openapi = %v, want 3.1.0", doc["openapi"])
	}
	info, _ := doc["info"].(map[string]any)
	for _, k := range []string{"title", "version", "description"} {
		if s, _ := info[k].(string); s == "" {
			t.Errorf("info.%s is empty", k)
		}
	}
	desc, _ := info["description"].(string)
	for _, path := range []string{"/healthz", "/metrics"} {
		if !strings.Contains(desc, path) {
			t.Errorf("info.description does not mention %s", path)
		}
	}
	if _, ok := resolve(doc, "#/components/securitySchemes/bearerAuth"); !ok {
		t.Error("no bearerAuth security scheme")
	}
	// The served answer is the same document.
	rec := httptest.NewRecorder()
	(&API{}).openAPI(rec, httptest.NewRequest("GET", "/api/v1/openapi.json", nil))
	var served map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &served); err != nil || !reflect.DeepEqual(served, doc) {
		t.Errorf("GET /api/v1/openapi.json does not serve the document (err %v)", err)
	}
}

// TestOpenAPIEnumsFromGo checks that enumerations are the Go variables'.
func TestOpenAPIEnumsFromGo(t *testing.T) {
	doc := openAPIJSON(t)
	for ptr, want := range map[string][]string{
		"#/components/schemas/Contact/properties/type":                    crm.ContactTypes,
		"#/components/schemas/Phone/properties/kind":                      crm.PhoneKinds,
		"#/components/schemas/Email/properties/kind":                      crm.EmailKinds,
		"#/components/schemas/Activity/properties/type":                   crm.ActivityTypes,
		"#/components/schemas/Activity/properties/status":                 crm.ActivityStatuses,
		"#/components/schemas/Activity/properties/priority":               crm.Priorities,
		"#/components/schemas/Participant/properties/response_status":     crm.ResponseStatuses,
		"#/components/schemas/Tag/properties/kind":                        crm.TagKinds,
		"#/components/schemas/TagInput/properties/color":                  crm.TagColors,
		"#/components/schemas/AccountInput/properties/type":               crm.AccountTypes,
		"#/components/schemas/Operation/properties/code":                  access.Operations,
		"#/components/schemas/RoleInput/properties/operations/items":      access.Operations,
		"#/components/schemas/Me/properties/effective_operations/items":   access.Operations,
		"#/components/schemas/Job/properties/state":                       jobStates(),
		"#/components/schemas/LoginFailure/properties/reason":             loginReasons(),
		"#/paths/~1api~1v1~1settings~1{code}/get/parameters/0/schema":     settingCodes(),
		"#/paths/~1api~1v1~1activities/get/parameters/3/schema":           crm.ActivityTypes,
		"#/components/schemas/User/properties/language":                   languages(),
		"#/components/schemas/Grant/properties/level":                     {crm.AccessRead, crm.AccessEdit},
		"#/paths/~1api~1v1~1tags/get/parameters/0/schema":                 crm.TagKinds,
		"#/components/schemas/Change/properties/entity":                   changeEntities,
		"#/components/schemas/GroupInput/properties/entity":               {crm.GroupContacts, crm.GroupActivities},
		"#/components/schemas/UserInput/properties/operations/items":      access.Operations,
		"#/components/schemas/TagRef/properties/color":                    crm.TagColors,
		"#/components/schemas/ContactInput/properties/type":               crm.ContactTypes,
		"#/components/schemas/BindingSync/properties/kind":                {"contact", "event", "task"},
		"#/components/schemas/EventSyncSettings/properties/import_as":     syncer.ImportTypes,
		"#/components/schemas/MailProvider/properties/type":               mail.Strings(mail.ProviderTypes),
		"#/components/schemas/MailProviderInput/properties/imap_security": mail.Strings(mail.Securities),
		"#/components/schemas/MailProviderInput/properties/login_format":  mail.Strings(mail.LoginFormats),
		"#/components/schemas/MailProviderInput/properties/auth":          mail.Strings(mail.AuthMethods),
		"#/components/schemas/MailPresetCreate/properties/preset":         mail.PresetCodes(),
		"#/components/schemas/MailboxSettings/properties/first_load":      mail.Strings(mail.Periods),
		"#/components/schemas/Case/properties/status":                     crm.Strings(crm.CaseStatuses),
		"#/components/schemas/Case/properties/priority":                   crm.Strings(crm.CasePriorities),
		"#/components/schemas/CaseInput/properties/status":                crm.Strings(crm.CaseStatuses),
		"#/components/schemas/CaseInput/properties/priority":              crm.Strings(crm.CasePriorities),
		"#/paths/~1api~1v1~1cases/get/parameters/3/schema/items":          crm.Strings(crm.CaseStatuses),
		"#/paths/~1api~1v1~1cases/get/parameters/4/schema":                crm.Strings(crm.CasePriorities),
		"#/paths/~1api~1v1~1cases/get/parameters/10/schema":               caseSorts(),
		"#/components/schemas/Chat/properties/status":                     chatStatuses,
		"#/components/schemas/Chat/properties/channel_kind":               {string(chat.KindTelegram), string(chat.KindMessenger)},
		"#/components/schemas/ChatQueueInput/properties/routing":          {string(chat.RoutingAll), string(chat.RoutingLeastBusy)},
		"#/components/schemas/ChatActionInput/properties/process":         {string(chat.ProcessCreateCase), string(chat.ProcessWebhook)},
		"#/components/schemas/ChatQueueMember/properties/kind":            chat.MemberKinds,
		"#/components/schemas/ChatMessage/properties/direction":           chatDirs,
	} {
		v, ok := resolve(doc, ptr)
		if !ok {
			t.Errorf("%s: not in the document", ptr)
			continue
		}
		got, _ := v.(map[string]any)["enum"].([]any)
		var gs []string
		for _, g := range got {
			gs = append(gs, g.(string))
		}
		if !slices.Equal(gs, want) {
			t.Errorf("%s: enum %q, want %q", ptr, gs, want)
		}
	}
}

// jsonFields lists the JSON names of a struct's fields and which of them
// are omitted when empty.
func jsonFields(t *testing.T, typ reflect.Type) (names []string, omitempty map[string]bool) {
	t.Helper()
	omitempty = map[string]bool{}
	for f := range typ.Fields() {
		if !f.IsExported() {
			continue
		}
		if f.Anonymous {
			t.Fatalf("%s embeds %s: teach jsonFields about embedding", typ, f.Type)
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		names = append(names, name)
		if slices.Contains(strings.Split(opts, ","), "omitempty") {
			omitempty[name] = true
		}
	}
	sort.Strings(names)
	return names, omitempty
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func strs(v any) []string {
	var out []string
	for _, e := range v.([]any) {
		out = append(out, e.(string))
	}
	sort.Strings(out)
	return out
}

// TestOpenAPISchemasMatchStructs keeps the schemas' field names equal to
// the JSON names of the Go types the handlers encode and decode. For
// response types, the required properties are exactly those the encoder
// always writes (no omitempty).
func TestOpenAPISchemasMatchStructs(t *testing.T) {
	doc := openAPIJSON(t)
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	for _, c := range []struct {
		schema   string
		value    any
		response bool // check required against omitempty
		request  bool // decoded strictly: no additional properties
	}{
		{"Contact", contactOut{}, true, false},
		{"ContactPhoto", photoJSON{}, true, false},
		{"Account", accountOut{}, true, false},
		{"Activity", activityOut{}, true, false},
		{"Case", caseOut{}, true, false},
		{"Tag", tagFull{}, true, false},
		{"Group", groupOut{}, true, false},
		{"User", userOut{}, true, false},
		{"Role", roleJSON{}, true, false},
		{"Setting", settingJSON{}, true, false},
		{"Change", changeJSON{}, true, false},
		{"Connection", connectionJSON{}, true, false},
		{"ApiToken", apiTokenJSON{}, true, false},
		{"TagRef", tagOut{}, true, false},
		{"Job", jobs.Job{}, true, false},
		{"LoginFailure", loginFailureJSON{}, true, false},
		{"Problem", problem{}, true, false},
		{"FieldError", fieldError{}, true, false},
		{"CalendarSync", calendarSyncJSON{}, true, false},
		{"CalendarPush", pushJSON{}, true, false},
		{"BindingSync", bindingSyncJSON{}, true, false},
		{"BindingSyncUpdate", bindingSyncIn{}, false, true},
		{"MailProvider", mailProviderJSON{}, true, false},
		{"MailPreset", mailPresetJSON{}, true, false},
		{"MailProviderChoice", mailChoiceJSON{}, true, false},
		{"MailDetection", mailDetectJSON{}, true, false},
		{"MailDomain", mailDomainJSON{}, true, false},
		{"MailProviderInput", mailProviderIn{}, false, true},
		{"MailPresetCreate", presetIn{}, false, true},
		{"MailDomainInput", mailDomainIn{}, false, true},
		{"Mailbox", mailboxJSON{}, true, false},
		{"MailboxGrant", mailboxGrantJSON{}, true, false},
		{"MailFolder", mailFolderJSON{}, true, false},
		{"MailboxLoadJob", loadJobJSON{}, true, false},
		{"MailboxProblem", mailboxProblem{}, true, false},
		{"MailboxCreate", mailboxIn{}, false, true},
		{"MailboxSettings", mailboxSettingsIn{}, false, true},
		{"MailboxGrants", mailboxGrantsIn{}, false, true},
		{"LetterSummary", letterSummaryJSON{}, true, false},
		{"Letter", letterJSON{}, true, false},
		{"LetterAddress", letterAddressJSON{}, true, false},
		{"LetterAttachment", letterAttachmentJSON{}, true, false},
		{"UnreadLetters", unreadJSON{}, true, false},
		{"LetterSent", letterSentJSON{}, true, false},
		{"LetterSend", letterIn{}, false, true},
		{"LetterFile", attachmentIn{}, false, true},
		{"Chat", chatJSON{}, true, false},
		{"ChatMessage", chatMessageJSON{}, true, false},
		{"ChatAttachment", chat.Attachment{}, true, false},
		{"ChatSendProblem", chatSendProblem{}, true, false},
		{"ChatActionResult", chatActionResultJSON{}, true, false},
		{"ChatStatus", chatStatusJSON{}, true, false},
		{"ChatQueue", chatQueueJSON{}, true, false},
		{"ChatChannel", chatChannelJSON{}, true, false},
		{"ChatAction", chatActionJSON{}, true, false},
		{"ChatOperator", chatOperatorJSON{}, true, false},
		{"ChatReply", chatReplyIn{}, false, true},
		{"ChatTransfer", chatTransferIn{}, false, true},
		{"ChatStatusUpdate", chatStatusIn{}, false, true},
		{"ChatQueueMember", chatMemberJSON{}, false, true},
		{"ChatQueueInput", chatQueueIn{}, false, true},
		{"ChatChannelUpdate", chatChannelIn{}, false, true},
		{"ChatActionInput", chatActionIn{}, false, true},

		// Types used in both directions.
		{"Email", emailJSON{}, false, true},
		{"Phone", phoneJSON{}, false, true},
		{"Address", addressJSON{}, false, true},
		{"Participant", participantJSON{}, false, true},
		{"Grant", grantJSON{}, false, true},

		{"ContactInput", contactIn{}, false, true},
		{"AccountInput", accountIn{}, false, true},
		{"ActivityInput", activityIn{}, false, true},
		{"CaseInput", caseIn{}, false, true},
		{"TagInput", tagWrite{}, false, true},
		{"GroupInput", groupIn{}, false, true},
		{"GroupMembers", membersIn{}, false, true},
		{"UserInput", userIn{}, false, true},
		{"RoleInput", roleIn{}, false, true},
		{"SettingValue", settingIn{}, false, true},
		{"TokenCreate", tokenIn{}, false, true},
		{"TokenRequest", tokenRequest{}, false, true},
	} {
		s, ok := schemas[c.schema].(map[string]any)
		if !ok {
			t.Errorf("schema %s is not defined", c.schema)
			continue
		}
		typ := reflect.TypeOf(c.value)
		names, omit := jsonFields(t, typ)
		props, _ := s["properties"].(map[string]any)
		if got := keys(props); !slices.Equal(got, names) {
			t.Errorf("schema %s has properties %q, %s has JSON fields %q", c.schema, got, typ, names)
		}
		if c.response {
			var want []string
			for _, n := range names {
				if !omit[n] {
					want = append(want, n)
				}
			}
			var got []string
			if r, ok := s["required"]; ok {
				got = strs(r)
			}
			if !slices.Equal(got, want) {
				t.Errorf("schema %s requires %q, %s always encodes %q", c.schema, got, typ, want)
			}
		}
		if c.request && s["additionalProperties"] != false {
			t.Errorf("schema %s must forbid additional properties: the decoder rejects unknown fields", c.schema)
		}
	}

	// Paged lists are list[T]; the change log is its own shape.
	names, _ := jsonFields(t, reflect.TypeFor[list[contactOut]]())
	for key, o := range operations(t, doc) {
		r, ok := o["responses"].(map[string]any)["200"]
		if !ok {
			continue
		}
		schema, ok := resolve(deref(t, doc, r), "#/content/application~1json/schema")
		if _, binary := resolve(deref(t, doc, r), "#/content/application~1octet-stream"); !ok && binary {
			continue // a download
		}
		if _, raw := resolve(deref(t, doc, r), "#/content/message~1rfc822"); !ok && raw {
			continue
		}
		if _, img := resolve(deref(t, doc, r), "#/content/image~1jpeg"); !ok && img {
			continue // a photo
		}
		if !ok {
			t.Errorf("%s: 200 has no JSON schema", key)
			continue
		}
		props, _ := deref(t, doc, schema)["properties"].(map[string]any)
		if _, isList := props["items"]; isList && key != "get /api/v1/changes" {
			if got := keys(props); !slices.Equal(got, names) {
				t.Errorf("%s: list has properties %q, want %q", key, got, names)
			}
		}
	}
	changes, _ := resolve(doc, "#/components/schemas/ChangeLog/properties")
	if got := keys(changes.(map[string]any)); !slices.Equal(got, []string{"has_more", "items", "last_seq"}) {
		t.Errorf("ChangeLog has properties %q", got)
	}
}

// TestOpenAPIBindingSettings: every binding kind has its settings in the
// document, with exactly the fields of the schema syncer validates, and
// BindingSync's settings is one of them.
func TestOpenAPIBindingSettings(t *testing.T) {
	doc := openAPIJSON(t)
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	var refs []string
	for _, k := range provider.Kinds {
		name := bindingSettingsName(k)
		refs = append(refs, "#/components/schemas/"+name)
		s, ok := schemas[name].(map[string]any)
		if !ok {
			t.Errorf("%s: no schema %s", k, name)
			continue
		}
		want, err := syncer.SchemaOf(k)
		if err != nil {
			t.Fatal(err)
		}
		names := want.Names()
		sort.Strings(names)
		if got := keys(s["properties"].(map[string]any)); !slices.Equal(got, names) {
			t.Errorf("%s: properties %q, want %q", name, got, names)
		}
		if got := strs(s["required"]); !slices.Equal(got, names) {
			t.Errorf("%s: required %q, want %q", name, got, names)
		}
	}
	var got []string
	for _, r := range doc["components"].(map[string]any)["schemas"].(map[string]any)["BindingSync"].(map[string]any)["properties"].(map[string]any)["settings"].(map[string]any)["oneOf"].([]any) {
		got = append(got, r.(map[string]any)["$ref"].(string))
	}
	if !slices.Equal(got, refs) {
		t.Errorf("BindingSync settings %q, want %q", got, refs)
	}
	if s, _ := schemas["TaskSyncSettings"].(map[string]any); s == nil {
		t.Error("no TaskSyncSettings")
	}
}
