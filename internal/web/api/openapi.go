package api

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tandem-crm/tandem/internal/provider"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/i18n"
	"github.com/tandem-crm/tandem/internal/jobs"
	"github.com/tandem-crm/tandem/internal/settings"
	"github.com/tandem-crm/tandem/internal/signin"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/syncer"
)

func (a *API) openAPI(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, openAPIDoc())
}

// openAPIDoc returns the OpenAPI 3.1 document of the API. It never changes
// while the process runs, so it is built once. Enumerations and limits are
// read from the Go variables and constants that validate requests, so the
// document cannot drift from the rules; openapi_test.go checks routes and
// field names against the code.
var openAPIDoc = sync.OnceValue(buildOpenAPI)

// obj is a JSON object of the document.
type obj = map[string]any

func buildOpenAPI() obj {
	return obj{
		"openapi": "3.1.0",
		"info": obj{
			"title":       "Tandem REST API",
			"version":     "1",
			"description": infoDescription,
		},
		"servers":  []obj{{"url": "/", "description": "This Tandem server"}},
		"security": []obj{{"bearerAuth": []string{}}},
		"tags": []obj{
			{"name": "auth", "description": "API tokens and the caller."},
			{"name": "contacts", "description": "People."},
			{"name": "accounts", "description": "Companies (counterparties)."},
			{"name": "activities", "description": "Tasks, meetings, calls and notes."},
			{"name": "cases", "description": "Customer requests worked on to their resolution, often raised from a chat."},
			{"name": "tags", "description": "Labels on contacts, accounts and activities."},
			{"name": "groups", "description": "Named static lists of contacts or activities."},
			{"name": "users", "description": "People who log in to Tandem."},
			{"name": "roles", "description": "Roles and system operations."},
			{"name": "admin", "description": "System settings, the change log and background jobs."},
			{"name": "connections", "description": "The caller's mailbox and calendar connections."},
			{"name": "mail", "description": "The directory of mail providers and their domains."},
			{"name": "mailboxes", "description": "The caller's mailboxes and the shared mailboxes they hold rights on."},
			{"name": "letters", "description": "Letters: records' timelines, the communication panel, sending."},
			{"name": "chats", "description": "Omnichannel chats: the operator panel, and queues, channels and chat actions for chat managers."},
			{"name": "meta", "description": "This document."},
		},
		"paths":      paths(),
		"components": components(),
	}
}

const infoDescription = `Tandem's JSON REST API. All paths are under /api/v1; an unknown path under /api/ is answered 404 with a problem body.

**Authentication.** Get a token with ` + "`POST /api/v1/auth/token`" + ` (email and password) and send it as ` + "`Authorization: Bearer <token>`" + `. Tokens can also be made and revoked under /api/v1/tokens. Every operation but token issuing and this document needs a token; without a valid one the answer is 401 with ` + "`WWW-Authenticate: Bearer realm=\"tandem\"`" + `. Operations marked "Administrators only" answer 403 to callers without the ` + access.OpManageAdministration + ` operation.

**Requests.** Bodies are single JSON objects (Content-Type application/json or any +json type; curl's default application/x-www-form-urlencoded is read as JSON too; up to 1 MiB). Unknown fields, wrong types, trailing data and text that is not valid UTF-8 (code invalid_utf8, also for a \u escape of an unpaired surrogate) are rejected with 400 naming the field; nothing is stored. In PATCH bodies every field is optional: absent fields (and fields sent as null) keep their value, present ones replace it; arrays replace the whole list.

**Responses.** Errors are RFC 9457 problem details (application/problem+json, schema Problem); validation errors list every bad field in ` + "`errors`" + `, with messages in the caller's language (their profile language, else Accept-Language). Times are RFC 3339 in UTC.

**Paging.** Lists answer ` + "`{\"items\": [...], \"next_cursor\": string|null}`" + `. Pass next_cursor back as ` + "`cursor`" + ` (with the same filters) for the next page; null means the last page. Lists that are not paged always answer next_cursor null. The change log pages by sequence number instead.

**Concurrency.** Contacts, accounts, activities and cases carry a version: responses send it as a quoted ETag, and PATCH honours ` + "`If-Match`" + ` with that value, answering 412 when the record has changed. Without If-Match a PATCH still fails with 412 rather than overwrite a change made while it ran.

**Outside the API.** ` + "`GET /healthz`" + ` answers 200 "ok" (text/plain) when the database is reachable, else 503; ` + "`GET /metrics`" + ` serves Prometheus metrics. Neither needs authentication nor is described here.`

// adminNote starts the description of every administrator-only operation.
const adminNote = "**Administrators only**: the caller needs the " + access.OpManageAdministration + " operation, else 403."

// ---- schema helpers ----

func ref(name string) obj { return obj{"$ref": "#/components/schemas/" + name} }

func described(s obj, desc string) obj {
	if desc != "" {
		s["description"] = desc
	}
	return s
}

func str(desc string) obj { return described(obj{"type": "string"}, desc) }

// text is a string of at most max characters.
func text(maxLen int, desc string) obj {
	return described(obj{"type": "string", "maxLength": maxLen}, desc)
}

func integer(desc string) obj { return described(obj{"type": "integer", "format": "int64"}, desc) }

func boolean(desc string) obj { return described(obj{"type": "boolean"}, desc) }

func dateTime(desc string) obj {
	return described(obj{"type": "string", "format": "date-time"}, desc)
}

// dateOrTime is what parseTime accepts.
func dateOrTime(desc string) obj {
	return described(obj{"type": "string", "anyOf": []obj{{"format": "date-time"}, {"format": "date"}}}, desc)
}

// enum is a string restricted to values; it copies the slice so the
// document never aliases the Go variable.
func enum(values []string, desc string) obj {
	return described(obj{"type": "string", "enum": slices.Clone(values)}, desc)
}

func array(items obj, desc string) obj {
	return described(obj{"type": "array", "items": items}, desc)
}

// nullable lets a schema with a single "type" also be null.
func nullable(s obj) obj {
	s["type"] = []string{s["type"].(string), "null"}
	return s
}

// output is an object the server sends: every property is always present
// except those named optional (the omitempty fields of the Go struct).
func output(desc string, props obj, optional ...string) obj {
	var req []string
	for k := range props {
		if !slices.Contains(optional, k) {
			req = append(req, k)
		}
	}
	slices.Sort(req)
	return described(obj{"type": "object", "properties": props, "required": req}, desc)
}

// input is an object the strict decoder reads: unknown fields are errors and
// no field is required (PATCH bodies use it as is).
func input(desc string, props obj) obj {
	return described(obj{"type": "object", "properties": props, "additionalProperties": false}, desc)
}

// creation is an input schema with the fields a create needs.
func creation(inputName, desc string, required ...string) obj {
	s := obj{"allOf": []obj{ref(inputName)}}
	if len(required) > 0 {
		s["required"] = required
	}
	return described(s, desc)
}

// anyOfRequired makes s require at least one of fields.
func anyOfRequired(s obj, fields ...string) obj {
	alts := make([]obj, len(fields))
	for i, f := range fields {
		alts[i] = obj{"required": []string{f}}
	}
	s["anyOf"] = alts
	return s
}

// pagedList is the shape of every collection answer (type list[T]).
func pagedList(item string, paged bool) obj {
	cursor := "Cursor of the next page, null on the last one."
	if !paged {
		cursor = "Always null: this list is not paged."
	}
	return output("", obj{
		"items":       array(ref(item), ""),
		"next_cursor": nullable(str(cursor)),
	})
}

// ---- parameter helpers ----

func paramRef(name string) obj { return obj{"$ref": "#/components/parameters/" + name} }

func query(name, desc string, schema obj) obj {
	return obj{"name": name, "in": "query", "description": desc, "schema": schema}
}

func pathParam(name, desc string, schema obj) obj {
	return obj{"name": name, "in": "path", "required": true, "description": desc, "schema": schema}
}

// idParam is the {id} of a record path.
func idParam(what string) obj { return pathParam("id", "ID of the "+what+".", str("")) }

// ---- response helpers ----

func responseRef(name string) obj { return obj{"$ref": "#/components/responses/" + name} }

// jsonResponse answers schema as application/json with the named headers
// (components/headers).
func jsonResponse(desc string, schema obj, headers ...string) obj {
	r := obj{"description": desc, "content": obj{"application/json": obj{"schema": schema}}}
	if len(headers) > 0 {
		h := obj{}
		for _, name := range headers {
			h[name] = obj{"$ref": "#/components/headers/" + name}
		}
		r["headers"] = h
	}
	return r
}

func problemResponse(desc string) obj {
	return obj{"description": desc, "content": obj{"application/problem+json": obj{"schema": ref("Problem")}}}
}

// problems names the shared problem responses by status.
var problems = map[int]string{
	http.StatusBadRequest:          "BadRequest",
	http.StatusUnauthorized:        "Unauthorized",
	http.StatusForbidden:           "Forbidden",
	http.StatusNotFound:            "NotFound",
	http.StatusConflict:            "Conflict",
	http.StatusPreconditionFailed:  "PreconditionFailed",
	http.StatusUnprocessableEntity: "Unprocessable",
	http.StatusServiceUnavailable:  "ServiceUnavailable",
}

// ---- operations ----

// operation is one method of a path, completed with the chainable helpers
// below. Every operation needs a bearer token unless made public, and may
// answer an unexpected problem (500).
type operation obj

func op(tag, id, summary, desc string) operation {
	o := operation{"tags": []string{tag}, "operationId": id, "summary": summary, "responses": obj{
		"401":     responseRef(problems[http.StatusUnauthorized]),
		"default": responseRef("Error"),
	}}
	if desc != "" {
		o["description"] = desc
	}
	return o
}

func (o operation) params(ps ...obj) operation {
	prev, _ := o["parameters"].([]obj)
	o["parameters"] = append(prev, ps...)
	return o
}

// raw adds a required request body that is not JSON (content: media type
// → schema).
func (o operation) raw(content obj) operation {
	o["requestBody"] = obj{"required": true, "description": content["description"], "content": content["content"]}
	return o
}

// body adds a required JSON request body.
func (o operation) body(schema obj) operation {
	o["requestBody"] = obj{"required": true, "content": obj{"application/json": obj{"schema": schema}}}
	return o
}

func (o operation) reply(status int, r obj) operation {
	o["responses"].(obj)[strconv.Itoa(status)] = r
	return o
}

// fails adds the shared problem responses for statuses.
func (o operation) fails(statuses ...int) operation {
	for _, s := range statuses {
		o.reply(s, responseRef(problems[s]))
	}
	return o
}

func (o operation) noContent(desc string) operation {
	return o.reply(http.StatusNoContent, obj{"description": desc})
}

// adminOnly marks an operation registered with admin(...).
func (o operation) adminOnly() operation {
	d, _ := o["description"].(string)
	o["description"] = strings.TrimSpace(adminNote + "\n\n" + d)
	o["x-admin-only"] = true
	return o.fails(http.StatusForbidden)
}

// public drops the token requirement.
func (o operation) public() operation {
	o["security"] = []obj{}
	delete(o["responses"].(obj), "401")
	return o
}

// record is the set of operations every versioned record (contacts,
// accounts, activities) has; what tells them apart is passed in.
type record struct {
	tag, noun, plural, schema string
	filters                   []obj  // query parameters of the list
	create                    obj    // request body of POST
	patchNote                 string // extra description of PATCH
}

func (rc record) operations(add func(string, operation)) {
	base := "/api/v1/" + rc.plural
	item := base + "/{id}"
	title := strings.ToUpper(rc.plural[:1]) + rc.plural[1:]
	one := strings.ToUpper(rc.noun[:1]) + rc.noun[1:]
	add("GET "+base, op(rc.tag, "list"+title, "List "+rc.plural,
		"Lists the "+rc.plural+" the caller may read, paged.").
		params(append([]obj{paramRef("limit"), paramRef("cursor")}, rc.filters...)...).
		reply(http.StatusOK, jsonResponse("A page of "+rc.plural+".", pagedList(rc.schema, true))).
		fails(http.StatusBadRequest))
	add("POST "+base, op(rc.tag, "create"+one, "Create a "+rc.noun,
		"Creates a "+rc.noun+" owned by owner_id, else by the caller.").
		body(rc.create).
		reply(http.StatusCreated, jsonResponse("The new "+rc.noun+".", ref(rc.schema), "ETag", "Location")).
		fails(http.StatusBadRequest))
	add("GET "+item, op(rc.tag, "get"+one, "Get a "+rc.noun, "").
		params(idParam(rc.noun)).
		reply(http.StatusOK, jsonResponse("The "+rc.noun+".", ref(rc.schema), "ETag")).
		fails(http.StatusNotFound))
	add("PATCH "+item, op(rc.tag, "patch"+one, "Update a "+rc.noun,
		strings.TrimSpace("Changes the fields present in the body. Send If-Match with the ETag of the version you edited "+
			"to fail with 412 instead of overwriting someone else's change. "+rc.patchNote)).
		params(idParam(rc.noun), paramRef("If-Match")).
		body(ref(rc.schema+"Input")).
		reply(http.StatusOK, jsonResponse("The updated "+rc.noun+".", ref(rc.schema), "ETag")).
		fails(http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusPreconditionFailed))
	add("DELETE "+item, op(rc.tag, "delete"+one, "Delete a "+rc.noun, "").
		params(idParam(rc.noun)).
		noContent("Deleted.").
		fails(http.StatusForbidden, http.StatusNotFound))
}

func paths() obj {
	ps := obj{}
	// add takes the pattern exactly as (*API).Routes registers it.
	add := func(pattern string, o operation) {
		method, path, _ := strings.Cut(pattern, " ")
		item, ok := ps[path].(obj)
		if !ok {
			item = obj{}
			ps[path] = item
		}
		item[strings.ToLower(method)] = obj(o)
	}
	created := func(what, schema string, headers ...string) obj {
		return jsonResponse("The new "+what+".", ref(schema), headers...)
	}
	ok := func(desc, schema string) obj { return jsonResponse(desc, ref(schema)) }
	list := func(desc, schema string) obj { return jsonResponse(desc, pagedList(schema, false)) }

	// Auth and meta.
	add("POST /api/v1/auth/token", op("auth", "issueToken", "Issue a token",
		"Exchanges an email and password for an API token that expires in 90 days. A wrong email or password, "+
			"or an inactive user, is answered 401 with code wrong_password.\n\n"+
			"Failed attempts are throttled per account and per client address: after "+strconv.Itoa(signin.AddressPolicy.Free)+
			" failures from one address (or "+strconv.Itoa(signin.AccountPolicy.Free)+" at one account from anywhere) further "+
			"attempts are refused for a while without checking the password, answered 429 with Retry-After. The wait "+
			"doubles with each further failure, up to "+signin.AddressPolicy.Max.String()+" for an address and "+
			signin.AccountPolicy.Max.String()+" for an account; a successful sign-in resets the account's count.").
		public().
		body(ref("TokenRequest")).
		reply(http.StatusCreated, ok("The token; keep it secret, it is not shown again.", "IssuedToken")).
		fails(http.StatusBadRequest).
		reply(http.StatusUnauthorized, problemResponse("Wrong email or password.")).
		reply(http.StatusTooManyRequests, obj{"description": "Too many failed sign-ins (code too_many_sign_ins): wait " +
			"Retry-After seconds.", "content": obj{"application/problem+json": obj{"schema": ref("Problem")}},
			"headers": obj{"Retry-After": obj{"$ref": "#/components/headers/Retry-After"}}}))
	add("GET /api/v1/openapi.json", op("meta", "openAPI", "This document", "").
		public().
		reply(http.StatusOK, jsonResponse("The OpenAPI 3.1 document.", obj{"type": "object"})))
	add("GET /api/v1/me", op("auth", "me", "The caller",
		"The user the token belongs to, with the operations they hold directly or through roles.").
		reply(http.StatusOK, ok("The caller.", "Me")))
	add("GET /api/v1/tokens", op("auth", "listTokens", "List the caller's API tokens", "Secrets are never listed.").
		reply(http.StatusOK, list("The caller's tokens.", "ApiToken")))
	add("POST /api/v1/tokens", op("auth", "createToken", "Create an API token for the caller",
		"The answer carries the secret in `token`, the only time it is shown.").
		body(ref("TokenCreate")).
		reply(http.StatusCreated, created("token, with its secret", "ApiToken")).
		fails(http.StatusBadRequest))
	add("DELETE /api/v1/tokens/{id}", op("auth", "deleteToken", "Revoke one of the caller's API tokens", "").
		params(idParam("token")).
		noContent("Revoked.").
		fails(http.StatusNotFound))

	// Versioned records.
	tagFilter := query("tag_id", "Only records carrying this tag.", str(""))
	ownerFilter := query("owner_id", "Only records owned by this user.", str(""))
	record{tag: "contacts", noun: "contact", plural: "contacts", schema: "Contact",
		filters: []obj{
			query("q", "Case-insensitive substring of the name, name parts, job title, emails or phones.", str("")),
			tagFilter,
			query("group_id", "Only members of this contact group.", str("")),
			query("account_id", "Only contacts of this account.", str("")),
			ownerFilter,
			query("email", "Only contacts with this exact address (case-insensitive).", str("")),
		},
		create: anyOfRequired(creation("ContactInput", "A contact needs a name or at least one name part."),
			"name", "given_name", "middle_name", "family_name"),
		patchNote: "A display name that was derived from the name parts follows changes to them unless name is sent too.",
	}.operations(add)
	record{tag: "accounts", noun: "account", plural: "accounts", schema: "Account",
		filters: []obj{
			query("q", "Case-insensitive substring of the name, industry, website, email or phone.", str("")),
			tagFilter,
			ownerFilter,
		},
		create: creation("AccountInput", "An account needs a name.", "name"),
	}.operations(add)
	record{tag: "activities", noun: "activity", plural: "activities", schema: "Activity",
		filters: []obj{
			query("q", "Case-insensitive substring of the title or location.", str("")),
			query("type", "Only activities of this type.", enum(crm.ActivityTypes, "")),
			query("status", "Only activities in this status.", enum(crm.ActivityStatuses, "")),
			ownerFilter,
			query("contact_id", "Only activities about this contact or with it as a participant.", str("")),
			query("account_id", "Only activities of this account.", str("")),
			tagFilter,
			query("group_id", "Only members of this activity group.", str("")),
			query("from", "Only activities ending at or after this time (recurring ones always match). "+
				"RFC 3339 date-time or YYYY-MM-DD.", dateOrTime("")),
			query("to", "Only activities starting before this time. RFC 3339 date-time or YYYY-MM-DD.", dateOrTime("")),
			query("show_in_calendar", "Only activities shown (true) or not shown (false) in the calendar.", boolean("")),
		},
		create: creation("ActivityInput", "An activity needs a title.", "title"),
	}.operations(add)

	// Tags.
	add("GET /api/v1/tags", op("tags", "listTags", "List tags",
		"The caller's personal tags and every corporate and public tag, by name.").
		params(query("kind", "Only tags of this kind.", enum(crm.TagKinds, ""))).
		reply(http.StatusOK, list("The tags.", "Tag")))
	add("POST /api/v1/tags", op("tags", "createTag", "Create a tag",
		"The caller owns the new tag. Names are unique among one's personal tags and among shared tags.").
		body(creation("TagInput", "A tag needs a name.", "name")).
		reply(http.StatusCreated, created("tag", "Tag", "Location")).
		fails(http.StatusBadRequest))
	add("GET /api/v1/tags/{id}", op("tags", "getTag", "Get a tag", "").
		params(idParam("tag")).
		reply(http.StatusOK, ok("The tag.", "Tag")).
		fails(http.StatusNotFound))
	add("PATCH /api/v1/tags/{id}", op("tags", "patchTag", "Rename or recolor a tag",
		"The kind cannot change: a different kind is answered 400 (code read_only). Only the owner, or an "+
			"administrator for shared tags, may change a tag.").
		params(idParam("tag")).
		body(ref("TagInput")).
		reply(http.StatusOK, ok("The updated tag.", "Tag")).
		fails(http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound))
	add("DELETE /api/v1/tags/{id}", op("tags", "deleteTag", "Delete a tag",
		"Removes the tag from every record. Only the owner, or an administrator for shared tags, may delete it.").
		params(idParam("tag")).
		noContent("Deleted.").
		fails(http.StatusForbidden, http.StatusNotFound))

	// Groups.
	add("GET /api/v1/groups", op("groups", "listGroups", "List groups", "The groups the caller may read, by name.").
		params(query("entity", "Only groups of this kind of record.", enum(groupEntities, ""))).
		reply(http.StatusOK, list("The groups.", "Group")))
	add("POST /api/v1/groups", op("groups", "createGroup", "Create a group", "The caller owns the new group.").
		body(creation("GroupInput", "A group needs a name and an entity.", "name", "entity")).
		reply(http.StatusCreated, created("group", "Group", "Location")).
		fails(http.StatusBadRequest))
	add("GET /api/v1/groups/{id}", op("groups", "getGroup", "Get a group", "").
		params(idParam("group")).
		reply(http.StatusOK, ok("The group.", "Group")).
		fails(http.StatusNotFound))
	add("PATCH /api/v1/groups/{id}", op("groups", "patchGroup", "Rename a group or change its access",
		"The entity cannot change: a different entity is answered 400 (code read_only).").
		params(idParam("group")).
		body(ref("GroupInput")).
		reply(http.StatusOK, ok("The updated group.", "Group")).
		fails(http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound))
	add("DELETE /api/v1/groups/{id}", op("groups", "deleteGroup", "Delete a group", "Its members are kept.").
		params(idParam("group")).
		noContent("Deleted.").
		fails(http.StatusForbidden, http.StatusNotFound))
	add("POST /api/v1/groups/{id}/members", op("groups", "addMembers", "Add records to a group",
		"The ids are contacts or activities, as the group's entity says.").
		params(idParam("group")).
		body(ref("GroupMembers")).
		reply(http.StatusOK, ok("The group with its new member count.", "Group")).
		fails(http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound))
	add("DELETE /api/v1/groups/{id}/members", op("groups", "removeMembers", "Remove records from a group",
		"Takes a request body like adding members does.").
		params(idParam("group")).
		body(ref("GroupMembers")).
		reply(http.StatusOK, ok("The group with its new member count.", "Group")).
		fails(http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound))

	// Users, roles and operations.
	add("GET /api/v1/users", op("users", "listUsers", "List users",
		"Every user by name. role_ids and operations are shown to administrators and for the caller only.").
		params(query("q", "Case-insensitive substring of the name or email.", str(""))).
		reply(http.StatusOK, list("The users.", "User")))
	add("GET /api/v1/users/{id}", op("users", "getUser", "Get a user",
		"role_ids and operations are shown to administrators and for the caller only.").
		params(idParam("user")).
		reply(http.StatusOK, ok("The user.", "User")).
		fails(http.StatusNotFound))
	add("POST /api/v1/users", op("users", "createUser", "Create a user", "New users are active unless active is false.").
		adminOnly().
		body(creation("UserInput", "A user needs an email and a password.", "email", "password")).
		reply(http.StatusCreated, created("user", "User", "Location")).
		fails(http.StatusBadRequest))
	add("PATCH /api/v1/users/{id}", op("users", "patchUser", "Update a user",
		"A password in the body replaces the user's password. Administrators cannot deactivate themselves.").
		adminOnly().
		params(idParam("user")).
		body(ref("UserInput")).
		reply(http.StatusOK, ok("The updated user.", "User")).
		fails(http.StatusBadRequest, http.StatusNotFound))
	add("GET /api/v1/roles", op("roles", "listRoles", "List roles", "Every role by name.").
		reply(http.StatusOK, list("The roles.", "Role")))
	add("GET /api/v1/roles/{id}", op("roles", "getRole", "Get a role", "").
		params(idParam("role")).
		reply(http.StatusOK, ok("The role.", "Role")).
		fails(http.StatusNotFound))
	add("POST /api/v1/roles", op("roles", "createRole", "Create a role", "").
		adminOnly().
		body(creation("RoleInput", "A role needs a name.", "name")).
		reply(http.StatusCreated, created("role", "Role")).
		fails(http.StatusBadRequest))
	add("PATCH /api/v1/roles/{id}", op("roles", "patchRole", "Update a role", "").
		adminOnly().
		params(idParam("role")).
		body(ref("RoleInput")).
		reply(http.StatusOK, ok("The updated role.", "Role")).
		fails(http.StatusBadRequest, http.StatusNotFound))
	add("DELETE /api/v1/roles/{id}", op("roles", "deleteRole", "Delete a role",
		"Removes it from its members and from record access lists.").
		adminOnly().
		params(idParam("role")).
		noContent("Deleted.").
		fails(http.StatusNotFound))
	add("GET /api/v1/operations", op("roles", "listOperations", "List system operations",
		"Every operation that can be granted to users and roles, with its title in the caller's language.").
		reply(http.StatusOK, list("The operations.", "Operation")))

	// Administration.
	code := pathParam("code", "Code of the setting.", enum(settingCodes(), ""))
	add("GET /api/v1/settings", op("admin", "listSettings", "List system settings",
		"Every setting in registry order; secret values are masked.").
		adminOnly().
		reply(http.StatusOK, list("The settings.", "Setting")))
	add("GET /api/v1/settings/{code}", op("admin", "getSetting", "Get a system setting", "").
		adminOnly().
		params(code).
		reply(http.StatusOK, ok("The setting.", "Setting")).
		fails(http.StatusNotFound))
	add("PUT /api/v1/settings/{code}", op("admin", "putSetting", "Set a system setting",
		"An empty, null or absent value resets the setting to its default.").
		adminOnly().
		params(code).
		body(ref("SettingValue")).
		reply(http.StatusOK, ok("The setting as stored.", "Setting")).
		fails(http.StatusBadRequest, http.StatusNotFound))
	add("GET /api/v1/changes", op("admin", "listChanges", "Read the change log",
		"Changes to contacts, accounts and activities, oldest first. Entries name records (even deleted ones) "+
			"without checking record access. To follow the log, pass the answer's last_seq as since.").
		adminOnly().
		params(
			query("since", "Only changes with a greater sequence number.", obj{"type": "integer", "format": "int64", "minimum": 0, "default": 0}),
			query("limit", "Maximum number of changes.", obj{"type": "integer", "minimum": 1, "maximum": 10000, "default": 1000}),
			query("entity", "Only changes of this kind of record.", enum(changeEntities, "")),
		).
		reply(http.StatusOK, ok("Changes after since.", "ChangeLog")).
		fails(http.StatusBadRequest))
	jobID := pathParam("id", "ID of the job.", integer(""))
	add("GET /api/v1/jobs", op("admin", "listJobs", "List background jobs",
		"Newest first, paged. An unknown state or bad cursor is answered 400 (field cursor). "+
			"Processes without a job queue answer 503.").
		adminOnly().
		params(paramRef("limit"), paramRef("cursor"),
			query("state", "Only jobs in this state.", enum(jobStates(), "")),
			query("kind", "Only jobs of this kind.", str(""))).
		reply(http.StatusOK, jsonResponse("A page of jobs.", pagedList("Job", true))).
		fails(http.StatusBadRequest, http.StatusServiceUnavailable))
	for _, j := range []struct {
		pattern, id, summary, more string
		fails                      []int
	}{
		{"GET /api/v1/jobs/{id}", "getJob", "Get a background job", "", nil},
		{"POST /api/v1/jobs/{id}/cancel", "cancelJob", "Cancel a background job", "", nil},
		{"POST /api/v1/jobs/{id}/retry", "retryJob", "Retry a background job now",
			"Only a failed (retryable), discarded or cancelled job is retried, and a waiting (scheduled or pending) " +
				"one made to run now; a completed, running or queued one is answered 409 (job_not_retryable). ",
			[]int{http.StatusConflict}},
	} {
		add(j.pattern, op("admin", j.id, j.summary, j.more+"Processes without a job queue answer 503.").
			adminOnly().
			params(jobID).
			reply(http.StatusOK, ok("The job.", "Job")).
			fails(append([]int{http.StatusNotFound, http.StatusServiceUnavailable}, j.fails...)...))
	}

	add("GET /api/v1/login-failures", op("admin", "listLoginFailures", "List failed sign-ins",
		"Failed sign-ins through the API and the UI, newest first, paged; they are kept for "+
			strconv.Itoa(int(signin.Keep/(24*time.Hour)))+" days.").
		adminOnly().
		params(paramRef("limit"), paramRef("cursor"),
			query("email", "Only attempts with this email (case-insensitive).", str("")),
			query("client_addr", "Only attempts from this address.", str("")),
			query("reason", "Only failures for this reason.", enum(loginReasons(), ""))).
		reply(http.StatusOK, jsonResponse("A page of failed sign-ins.", pagedList("LoginFailure", true))).
		fails(http.StatusBadRequest))

	add("GET /api/v1/connections", op("connections", "listConnections", "List the caller's connections",
		"Mailbox and calendar accounts the caller has connected, oldest first.").
		reply(http.StatusOK, list("The connections.", "Connection")))
	connID := idParam("connection")
	add("POST /api/v1/connections", op("connections", "createConnection", "Add an account with a password",
		"Adds an account of a provider whose accounts sign in with a server address, a user name and a password "+
			"(an app password where the service has two-factor sign-in), such as CalDAV/CardDAV servers. The provider verifies "+
			"the credentials first: it signs in and finds the account's address books and calendars. A refusal is 422 "+
			"with the field to fix and the reason (wrong credentials, not a CalDAV/CardDAV server, TLS problem, server "+
			"unreachable, no address book or calendar). The same account again takes the new password. The password "+
			"is stored encrypted and never returned.").
		body(ref("ConnectionCreate")).
		reply(http.StatusCreated, ok("The connection.", "Connection")).
		fails(http.StatusBadRequest, http.StatusUnprocessableEntity))
	add("DELETE /api/v1/connections/{id}", op("connections", "deleteConnection", "Remove a connection",
		"Removes the connection with its bindings and links. No record is deleted on either side.").
		params(connID).
		noContent("Removed.").
		fails(http.StatusNotFound))
	add("PUT /api/v1/connections/{id}/credentials", op("connections", "putConnectionCredentials",
		"Replace an account's password",
		"For a password account whose password changed (status needs_reauth): verified like createConnection, "+
			"then stored, and the connection is active again. The address and user name stay unless given.").
		params(connID).
		body(ref("ConnectionCredentials")).
		reply(http.StatusOK, ok("The connection.", "Connection")).
		fails(http.StatusBadRequest, http.StatusNotFound, http.StatusUnprocessableEntity))
	add("POST /api/v1/connections/{id}/sync", op("connections", "runSync", "Run sync now",
		"Queues a run of every enabled binding of the caller's connection. A run already waiting absorbs the request "+
			"(already_queued). Processes without a job queue answer 503. With dry_run=true nothing is changed on "+
			"either side: the answer (200) lists what a run of the contact and calendar bindings would create, update "+
			"and remove on each side.").
		params(connID, query("dry_run", "Preview instead of running.", boolean(""))).
		reply(http.StatusAccepted, ok("The queued run.", "SyncQueued")).
		reply(http.StatusOK, ok("The preview (dry_run=true).", "SyncPreview")).
		fails(http.StatusNotFound, http.StatusServiceUnavailable))
	add("GET /api/v1/connections/{id}/contacts", op("connections", "getContactSync", "Get contact sync settings",
		"The connection's contact binding: the personal tag whose contacts sync, automatic runs, the remote group, "+
			"and the last run's time, error and counts.").
		params(connID).
		reply(http.StatusOK, ok("The settings.", "ContactSync")).
		fails(http.StatusNotFound))
	add("PUT /api/v1/connections/{id}/contacts", op("connections", "putContactSync", "Change contact sync settings",
		"Fields left out keep their value. The tag must be one of the caller's personal tags; changing it starts the "+
			"next run from a full listing.").
		params(connID).
		body(ref("ContactSyncUpdate")).
		reply(http.StatusOK, ok("The settings.", "ContactSync")).
		fails(http.StatusBadRequest, http.StatusNotFound))
	add("GET /api/v1/connections/{id}/calendar", op("connections", "getCalendarSync", "Get calendar sync settings",
		"The connection's calendar binding: the remote calendar whose events sync with the caller's activities shown "+
			"in the calendar, the date older items are not synced before, automatic runs, and the last run's time, "+
			"error and counts.").
		params(connID).
		reply(http.StatusOK, ok("The settings.", "CalendarSync")).
		fails(http.StatusNotFound))
	add("PUT /api/v1/connections/{id}/calendar", op("connections", "putCalendarSync", "Change calendar sync settings",
		"Fields left out keep their value. Choosing another calendar unsubscribes from the current one (every link "+
			"between activities and its events is removed, no record is deleted) and subscribes to the new one: the "+
			"next run imports and exports the period afresh, matching what is already there instead of duplicating it. "+
			"Another sync_from lists the calendar again from that date.").
		params(connID).
		body(ref("CalendarSyncUpdate")).
		reply(http.StatusOK, ok("The settings.", "CalendarSync")).
		fails(http.StatusBadRequest, http.StatusNotFound))
	add("POST /api/v1/connections/{id}/calendar/resync", op("connections", "resyncCalendar", "Sync the calendar again from a date",
		"For after an outage: the next run lists the calendar again from the date and looks again at every activity "+
			"changed since then, on both sides, matching what is linked so nothing is created twice. The sync-from "+
			"date stays: older items still do not sync. Queues the run like runSync.").
		params(connID).
		body(ref("CalendarResync")).
		reply(http.StatusAccepted, ok("The queued run.", "SyncQueued")).
		fails(http.StatusBadRequest, http.StatusNotFound, http.StatusServiceUnavailable))
	add("GET /api/v1/connections/{id}/calendars", op("connections", "listCalendars", "List the account's calendars",
		"The calendars of the connection's account, primary first, to choose the one to sync.").
		params(connID).
		reply(http.StatusOK, list("The calendars.", "RemoteCalendar")).
		fails(http.StatusNotFound, http.StatusServiceUnavailable))
	kindParam := obj{"name": "kind", "in": "path", "required": true, "description": "The binding kind.",
		"schema": enum(bindingKinds(), "")}
	add("GET /api/v1/connections/{id}/sync/{kind}", op("connections", "getBindingSync", "Get a binding's settings",
		"The settings of one binding kind of the connection, whichever provider it is of: its settings, their schema "+
			"(the fields the kind has, with their types and limits), how the remote collection is chosen, whether the "+
			"kind is off or needs more consent, push, and the last run. A binding never saved answers its defaults "+
			"(saved false): reading creates nothing. A kind the connection's provider does not sync is 404.").
		params(connID, kindParam).
		reply(http.StatusOK, ok("The binding.", "BindingSync")).
		fails(http.StatusNotFound))
	add("PUT /api/v1/connections/{id}/sync/{kind}", op("connections", "putBindingSync", "Change a binding's settings",
		"Fields of settings left out keep their value; a field outside the kind's schema is 400. The first save "+
			"creates the binding.").
		params(connID, kindParam).
		body(ref("BindingSyncUpdate")).
		reply(http.StatusOK, ok("The binding.", "BindingSync")).
		fails(http.StatusBadRequest, http.StatusNotFound))
	add("GET /api/v1/connections/{id}/sync/{kind}/collections", op("connections", "listBindingCollections",
		"List the remote collections of a kind",
		"The collections of the connection's account to pick from, primary first (for kinds whose collection is picked; "+
			"404 otherwise).").
		params(connID, kindParam).
		reply(http.StatusOK, list("The collections.", "RemoteCalendar")).
		fails(http.StatusNotFound, http.StatusServiceUnavailable))
	contactPhotoPaths(add)
	add("GET /api/v1/contacts/{id}/journal", op("contacts", "contactJournal", "Sync journal of a contact",
		"What sync changed on this contact, newest first: which side, which fields, and why.").
		params(idParam("contact")).
		reply(http.StatusOK, list("Journal entries.", "JournalEntry")).
		fails(http.StatusNotFound))
	casePaths(add)
	mailPaths(add)
	mailboxPaths(add)
	letterPaths(add)
	chatPaths(add)
	return ps
}

// bindingKinds are the binding kinds, for the document.
func bindingKinds() []string {
	out := make([]string, len(provider.Kinds))
	for i, k := range provider.Kinds {
		out[i] = string(k)
	}
	return out
}

var (
	groupEntities  = []string{crm.GroupContacts, crm.GroupActivities}
	changeEntities = []string{store.EntityContact, store.EntityAccount, store.EntityActivity, store.EntityCase}
	grantLevels    = []string{crm.AccessRead, crm.AccessEdit}
	settingTypes   = []string{settings.TypeString, settings.TypeInt, settings.TypeBool, settings.TypeURL,
		settings.TypeSecret, settings.TypeEnum, settings.TypeFile}
)

func jobStates() []string {
	return []string{string(jobs.StatePending), string(jobs.StateScheduled), string(jobs.StateAvailable),
		string(jobs.StateRunning), string(jobs.StateRetryable), string(jobs.StateCompleted),
		string(jobs.StateCancelled), string(jobs.StateDiscarded)}
}

func loginReasons() []string {
	out := make([]string, len(signin.Reasons))
	for i, r := range signin.Reasons {
		out[i] = string(r)
	}
	return out
}

func settingCodes() []string {
	out := make([]string, len(settings.Registry))
	for i, d := range settings.Registry {
		out[i] = d.Code
	}
	return out
}

// languages are the values of a user's language: "" (from the browser) or
// a supported UI language.
func languages() []string {
	out := []string{""}
	for _, l := range i18n.Supported() {
		out = append(out, string(l))
	}
	return out
}

func components() obj {
	return obj{
		"securitySchemes": obj{"bearerAuth": obj{
			"type": "http", "scheme": "bearer",
			"description": "An API token from POST /api/v1/auth/token or POST /api/v1/tokens. (The web UI's session " +
				"cookie is accepted too, with X-CSRF-Token on unsafe methods; it is not meant for API clients.)",
		}},
		"parameters": obj{
			"limit": query("limit", "Page size.", obj{"type": "integer", "minimum": 1, "maximum": 200, "default": 50}),
			"cursor": query("cursor", "next_cursor of the previous page; omit for the first page. "+
				"A malformed cursor is answered 400.", str("")),
			"If-Match": obj{"name": "If-Match", "in": "header", "schema": str(""), "description": "The ETag of the version " +
				`the change is based on, e.g. "3" (the quoted version; a W/ prefix is ignored, * means any). ` +
				"A different current version is answered 412; a malformed value 400 (field If-Match)."},
		},
		"headers": obj{
			"ETag": obj{"description": `The record's version, quoted ("3"); send it back in If-Match.`,
				"schema": str("")},
			"Location":    obj{"description": "Path of the new resource.", "schema": str("")},
			"Retry-After": obj{"description": "Seconds to wait before trying again.", "schema": obj{"type": "integer", "minimum": 1}},
		},
		"responses": obj{
			"BadRequest": problemResponse("The request is invalid: malformed or oversized JSON, a media type other " +
				"than JSON (code unsupported_media_type), an unknown field, or invalid values (code form, with one " +
				"entry per field in errors)."),
			"Unauthorized": problemResponse("No valid bearer token (code unauthorized)."),
			"Forbidden": problemResponse("The caller may not do this (code forbidden): the operation is for " +
				"administrators (or chat managers), or the caller may read but not change the record."),
			"NotFound": problemResponse("No such resource, or the caller may not see it (code not_found)."),
			"Conflict": problemResponse("The resource's state does not allow this (a job that cannot be retried: code job_not_retryable; " +
				"a mail provider that mailboxes use: code mail_provider_in_use; a chat queue in use: chat_queue_in_use; a channel with " +
				"chats: chat_channel_has_chats; a chat another operator took: chat_taken; an operator at SimultaneousChats: " +
				"chat_at_cap; an Inactive operator: chat_operator_inactive)."),
			"PreconditionFailed": problemResponse("The record has changed since the version in If-Match (code conflict)."),
			"Unprocessable": problemResponse("The request was well formed but the remote server refused it, or it " +
				"cannot be reached; errors[] names the field to fix and why."),
			"ServiceUnavailable": problemResponse("This process has no job queue, or not the service the operation needs (code internal)."),
			"Error":              problemResponse("An unexpected error (500, code internal); details are logged, not sent."),
		},
		"schemas": with(with(with(with(with(with(schemas(), caseSchemas()), mailSchemas()), mailboxSchemas()), letterSchemas()),
			chatSchemas()), bindingSettingsSchemas()),
	}
}

func schemas() obj {
	opsEnum := enum(access.Operations, "")
	tags := array(ref("TagRef"), "The record's tags the caller may see.")
	tagsIn := array(ref("TagRefInput"), "Replaces the record's tags that the caller can see (other users' personal "+
		"tags stay). Each is a tag id or an object with an id.")
	accessOut := array(ref("Grant"), "Roles that may read or edit the record besides its owner.")
	accessIn := array(ref("Grant"), "Replaces the roles that may read or edit the record.")
	accessIn["maxItems"] = crm.MaxItems
	created, updated := dateTime(""), dateTime("")
	version := integer("Incremented by every change; sent quoted as the ETag.")

	return obj{
		"Problem": output("RFC 9457 problem details.", obj{
			"type":   str(`"about:blank", or "https://tandem.dev/problems/validation" when errors lists fields.`),
			"title":  str("The HTTP status text."),
			"status": obj{"type": "integer"},
			"detail": str("What went wrong, in the caller's language."),
			"code": str("Stable machine-readable code, e.g. unauthorized, forbidden, not_found, conflict, form, " +
				"wrong_password, malformed_json, too_large, unsupported_media_type, internal."),
			"errors": array(ref("FieldError"), "Per-field problems, sorted by field."),
		}, "detail", "errors"),
		"FieldError": output("One invalid field.", obj{
			"field":   str(`Path of the field, e.g. "emails[1].address", or a parameter name ("limit", "cursor", "If-Match").`),
			"code":    str("Stable code, e.g. required, too_long, invalid, invalid_email, unknown_value, unknown_field, wrong_type."),
			"message": str("The problem in the caller's language."),
		}),
		"TagRef": output("A tag as attached to a record.", obj{
			"id": str(""), "name": str(""), "kind": enum(crm.TagKinds, ""), "color": enum(crm.TagColors, ""),
		}),
		"TagRefInput": described(obj{"oneOf": []obj{
			str("A tag id."),
			{"type": "object", "required": []string{"id"}, "properties": obj{"id": str("A tag id.")}},
		}}, "A tag to attach, by id. It must be visible to the caller."),
		"Grant": described(obj{"type": "object", "additionalProperties": false, "required": []string{"role_id", "level"},
			"properties": obj{"role_id": str("A role id; each role at most once."), "level": enum(grantLevels, "")}},
			"Access of a role to one record. The owner always has edit access."),
		"Email": described(obj{"type": "object", "additionalProperties": false, "required": []string{"address"},
			"properties": obj{
				"address": str("A bare address, no display name."),
				"kind":    described(enum(crm.EmailKinds, ""), "Defaults to work."),
				"primary": boolean("At most one address is primary; the first becomes primary when none is."),
			}}, ""),
		"Phone": described(obj{"type": "object", "additionalProperties": false, "required": []string{"number"},
			"properties": obj{
				"number":  text(crm.MaxShort, "Digits with spaces, + - ( ) . # * and an extension marker; at least three digits."),
				"kind":    described(enum(crm.PhoneKinds, ""), "Defaults to mobile."),
				"primary": boolean("At most one number is primary; the first becomes primary when none is."),
			}}, ""),
		"Address": described(obj{"type": "object", "additionalProperties": false, "properties": obj{
			"kind":        described(enum(crm.AddressKinds, ""), "Defaults to work."),
			"street":      text(crm.MaxName*2, "Street and house; may hold several lines."),
			"city":        text(crm.MaxShort, ""),
			"region":      text(crm.MaxShort, "State, province or region."),
			"postal_code": text(crm.MaxShort, ""),
			"country":     text(crm.MaxShort, ""),
			"primary":     boolean("At most one address is primary; the first becomes primary when none is."),
		}}, "A postal address; at least one part besides kind and primary is filled in."),
		"Participant": described(obj{"type": "object", "additionalProperties": false, "properties": obj{
			"contact_id":      nullable(str("The contact attending, if known.")),
			"email":           str("Needed when contact_id is not set; unique within the activity."),
			"name":            text(crm.MaxName, ""),
			"response_status": described(enum(crm.ResponseStatuses, ""), "Defaults to needs_action."),
		}}, "An attendee of an activity."),

		"Contact": output("A person.", with(contactFields(), obj{
			"id":           str(""),
			"account_id":   nullable(str("The account the contact works for.")),
			"account_name": str("Name of that account; absent without one."),
			"birthday": described(nullable(obj{"type": "string", "pattern": birthdayPattern}),
				`"YYYY-MM-DD", or "--MM-DD" when the year is unknown; null for none.`),
			"tags": tags, "access": accessOut, "created_at": created, "updated_at": updated, "version": version,
			"photo": described(obj{"anyOf": []obj{ref("ContactPhoto"), {"type": "null"}}},
				"The contact's photo (its bytes at url); null for none."),
		}), "account_name"),
		"ContactPhoto": output("A contact's photo, described.", obj{
			"content_type": enum(crm.PhotoTypes, "What the image's bytes are, whatever was claimed on upload."),
			"etag":         str("Hex SHA-256 of the bytes: the ETag of GET url."),
			"updated_at":   dateTime(""),
			"url":          str("Where GET answers the bytes."),
		}),
		"ContactInput": input("Fields of a contact.", with(contactFields(), obj{
			"account_id": str(`The account the contact works for; "" clears it.`),
			"birthday": described(obj{"type": "string", "pattern": birthdayPattern + `|^$`},
				`"YYYY-MM-DD", or "--MM-DD" when the year is unknown; a real date (February 29 only in a leap year `+
					`or without one); "" clears it.`),
			"tags": tagsIn, "access": accessIn,
		})),
		"Account": output("A company.", with(accountFields(), obj{
			"id": str(""), "tags": tags, "access": accessOut, "created_at": created, "updated_at": updated, "version": version,
		})),
		"AccountInput": input("Fields of an account.", with(accountFields(), obj{"tags": tagsIn, "access": accessIn})),
		"Activity": output("A task, meeting, call or note.", with(activityFields(), obj{
			"id": str(""),
			"start": nullable(str("RFC 3339 date-time in UTC; a date (YYYY-MM-DD) when all_day. " +
				"Null for undated activities.")),
			"end":          nullable(str("Like start. Exclusive for all-day activities (the day after the last day).")),
			"author_id":    str("The user who created the activity."),
			"organizer_id": nullable(str("The organizer, when it is a user.")),
			"account_id":   nullable(str("The account the activity is about.")),
			"contact_id":   nullable(str("The contact the activity is about.")),
			"rdates": array(dateTime(""), "Extra occurrences of the series (iCalendar RDATE), by start, RFC 3339 "+
				"in UTC; with them a series needs no rrule."),
			"exdates": array(dateTime(""), "Start times removed from the series, RFC 3339 in UTC."),
			"overrides": array(ref("Occurrence"), "Occurrences of the series changed on their own "+
				"(iCalendar exceptions with a RECURRENCE-ID), by original start; empty for a single activity."),
			"actual_start": nullable(str("When a task really started, formatted like start. A task's status keeps " +
				"it: in_progress, ready_for_review and completed stamp the current time when it is empty, " +
				"not_started clears it. Calendars show a started task at its actual dates.")),
			"actual_end": nullable(str("When a task was really completed, formatted like start. A task's status " +
				"keeps it: completed stamps the current time when it is empty; not_started, in_progress and " +
				"ready_for_review clear it.")),
			"tags":       tags,
			"access":     accessOut,
			"created_at": created,
			"updated_at": updated,
			"version":    version,
		})),
		"ActivityInput": input("Fields of an activity.", with(activityFields(), obj{
			"start": dateOrTime(`RFC 3339 date-time or YYYY-MM-DD; "" clears it. Needed when show_in_calendar ` +
				"or rrule is set."),
			"end":          dateOrTime(`Like start; not before it. "" clears it.`),
			"organizer_id": str(`The organizer, when it is a user; "" clears it.`),
			"account_id":   str(`The account the activity is about; "" clears it.`),
			"contact_id":   str(`The contact the activity is about; "" clears it.`),
			"rdates": with(array(dateOrTime(""), "Extra occurrences of the series (iCalendar RDATE), by "+
				"start; each as long as the first. Replaces the list."), obj{"maxItems": 1000}),
			"exdates": with(array(dateOrTime(""), "Start times removed from the series; only with rrule or rdates. "+
				"Replaces the list."), obj{"maxItems": 1000}),
			"overrides": with(array(ref("OccurrenceInput"), "Occurrences of the series changed on their own; "+
				"only with rrule or rdates. Replaces the list. An override that changes nothing is dropped; one whose "+
				"recurrence_id is not an occurrence of the series (or is removed by exdates, or named twice) "+
				"is an error. Overrides a later change of rrule or start leaves without an occurrence are dropped."),
				obj{"maxItems": 1000}),
			"actual_start": nullable(dateOrTime(`When a task really started. Unlike other fields, null (or "") ` +
				"clears it; the status may stamp it again (see Activity).")),
			"actual_end": nullable(dateOrTime(`When a task was really completed; not before actual_start. ` +
				`Null (or "") clears it; the status may stamp it again.`)),
			"tags":   tagsIn,
			"access": accessIn,
		})),
		"Occurrence": output("One occurrence of a series as changed on its own: its full values. Dates (YYYY-MM-DD) "+
			"for all-day series, else RFC 3339 in UTC.", obj{
			"recurrence_id": str("The occurrence's original start, as the rule generates it."),
			"start":         str("Its start now."),
			"end":           str("Its end now; exclusive for all-day series."),
			"title":         str(""),
			"description":   str(""),
			"location":      str(""),
		}),
		"OccurrenceInput": described(obj{"type": "object", "additionalProperties": false,
			"required": []string{"recurrence_id"}, "properties": obj{
				"recurrence_id": dateOrTime("The original start of the occurrence to change, as the rule generates it " +
					"(a date for all-day series)."),
				"start": dateOrTime("Defaults to the original start."),
				"end": dateOrTime("Defaults to the original end, or with start alone to start plus the series' " +
					"duration. Not before start; exclusive for all-day series."),
				"title":       text(crm.MaxName, "Defaults to the series' title."),
				"description": text(crm.MaxText, "Defaults to the series' description."),
				"location":    text(crm.MaxName, "Defaults to the series' location."),
			}}, "One occurrence of a series changed on its own."),

		"Tag": output("A label. Personal tags are seen by their owner only; corporate and public ones by everyone.", obj{
			"id": str(""), "name": text(crm.MaxShort, ""), "kind": enum(crm.TagKinds, ""), "color": enum(crm.TagColors, ""),
			"owner_id": str(""), "created_at": created,
		}),
		"TagInput": input("Fields of a tag.", obj{
			"name":  text(crm.MaxShort, ""),
			"kind":  described(enum(crm.TagKinds, ""), "Defaults to "+crm.TagPersonal+"; fixed after creation."),
			"color": described(enum(crm.TagColors, ""), "Defaults to gray."),
		}),
		"Group": output("A named static list of contacts or of activities.", obj{
			"id": str(""), "name": text(crm.MaxName, ""), "entity": enum(groupEntities, ""), "owner_id": str(""),
			"member_count": obj{"type": "integer"}, "access": accessOut, "created_at": created, "updated_at": updated,
		}),
		"GroupInput": input("Fields of a group.", obj{
			"name":   text(crm.MaxName, ""),
			"entity": described(enum(groupEntities, ""), "What the group lists; fixed after creation."),
			"access": accessIn,
		}),
		"GroupMembers": described(obj{"type": "object", "additionalProperties": false, "required": []string{"ids"},
			"properties": obj{"ids": with(array(str(""), "Record ids."), obj{"minItems": 1})}}, ""),

		"User": output("A person who logs in to Tandem.", obj{
			"id": str(""), "email": str(""), "name": str(""),
			"language":   enum(languages(), `UI language; "" means from the browser.`),
			"time_zone":  str("IANA time zone."),
			"active":     boolean("Inactive users cannot log in."),
			"role_ids":   array(str(""), "The user's roles; shown to administrators and to the user only."),
			"operations": array(opsEnum, "Operations granted directly (not through roles); shown to administrators and to the user only."),
			"created_at": created,
		}, "role_ids", "operations"),
		"UserInput": input("Fields of a user.", obj{
			"email":      str("Unique; stored in lower case."),
			"name":       text(crm.MaxName, "Defaults to the email."),
			"password":   described(obj{"type": "string", "minLength": access.MinPasswordLen, "maxLength": 1024}, "Sets the password."),
			"language":   enum(languages(), `UI language; "" means from the browser.`),
			"time_zone":  str("IANA time zone; defaults to UTC."),
			"active":     boolean("Defaults to true on creation."),
			"role_ids":   array(str(""), "Replaces the user's roles."),
			"operations": array(opsEnum, "Replaces the operations granted directly."),
		}),
		"Me": output("The caller.", obj{
			"user":                 ref("User"),
			"effective_operations": array(opsEnum, "Every operation the caller holds, directly or through roles."),
		}),
		"Role": output("Groups users for record access and operations.", obj{
			"id": str(""), "name": text(crm.MaxShort, ""), "description": text(crm.MaxName*2, ""),
			"operations":   array(opsEnum, "Operations every member holds."),
			"member_count": obj{"type": "integer"}, "created_at": created,
		}),
		"RoleInput": input("Fields of a role.", obj{
			"name": text(crm.MaxShort, "Unique."), "description": text(crm.MaxName*2, ""),
			"operations": array(opsEnum, "Replaces the role's operations."),
		}),
		"Operation": output("A system operation.", obj{"code": opsEnum, "title": str("In the caller's language.")}),

		"Setting": output("A system setting.", obj{
			"code":    enum(settingCodes(), ""),
			"type":    enum(settingTypes, ""),
			"group":   str("Section of the settings page."),
			"value":   str("The effective value as a string: the default when not set, masked for secrets, the file name for files."),
			"default": str(""),
			"is_set":  boolean("Whether a value is stored (else the default applies)."),
			"secret":  boolean("Whether the value is a secret and shown masked."),
			"options": array(str(""), "The allowed values of an enum setting."),
		}, "options"),
		"SettingValue": input("A new value.", obj{"value": described(obj{"type": []string{"string", "number", "boolean", "null"}},
			"The value as a string, as in the settings form; numbers and booleans are accepted too. "+
				`"", null or absent resets to the default.`)}),

		"Change": output("One change-log entry.", obj{
			"seq": integer("Increasing sequence number."), "entity": enum(changeEntities, ""), "entity_id": str(""),
			"op":       enum([]string{"create", "update", "delete"}, ""),
			"origin":   str(`Where the change came from: "api", "ui", "app", or a sync binding ("sync:<id>").`),
			"actor_id": str("The user who made it."),
			"at":       dateTime(""),
		}),
		"ChangeLog": output("A slice of the change log.", obj{
			"items":    array(ref("Change"), "Oldest first."),
			"last_seq": integer("seq of the last item, or since when there are none: pass it as since to continue."),
			"has_more": boolean("True when the answer was cut at limit."),
		}),
		"LoginFailure": output("A failed sign-in (API token or UI login).", obj{
			"id": integer("Increasing; newer failures have larger ids."), "at": dateTime(""),
			"email":       str("The email tried, lower-cased (an address no user has is kept too)."),
			"client_addr": str("The client's address as the server saw it (the connection's peer; X-Forwarded-For is not trusted)."),
			"reason": described(enum(loginReasons(), ""), "bad_password, unknown_user (no such email), inactive_user "+
				"(a deactivated user, whatever the password), or throttled (refused without checking the password)."),
		}),
		"Job": output("A background job.", obj{
			"id": integer(""), "kind": str(""), "queue": str(""), "state": enum(jobStates(), ""),
			"attempt":      described(obj{"type": "integer"}, "Runs so far, including a current one."),
			"max_attempts": obj{"type": "integer"},
			"errors":       array(str(""), "One per failed attempt, oldest first."),
			"args":         described(obj{}, "The job's arguments as JSON."),
			"created_at":   dateTime(""), "scheduled_at": dateTime(""),
			"attempted_at": dateTime("Start of the latest attempt; absent before the first."),
			"finalized_at": dateTime("When the job completed, was cancelled or discarded; absent before."),
		}, "attempted_at", "finalized_at"),
		"Connection": output("A mailbox or calendar account the caller connected.", obj{
			"id": str(""), "provider": str(""), "account_email": str(""), "display_name": str(""),
			"status": str(""), "status_reason": str(""),
			"last_sync_at": nullable(dateTime("Null before the first sync.")), "created_at": created,
		}),

		"ConnectionCreate": described(obj{"type": "object", "additionalProperties": false,
			"required": []string{"provider", "url", "username", "password"}, "properties": obj{
				"provider": str("The code of a provider whose accounts sign in with a password (a connection's provider)."),
				"url":      str("The server's address (any URL on it; discovery finds the rest), or the account's e-mail address."),
				"username": str(""), "password": described(obj{"type": "string", "writeOnly": true}, "An app password."),
			}}, "A password account to add."),
		"ConnectionCredentials": described(obj{"type": "object", "additionalProperties": false,
			"required": []string{"password"}, "properties": obj{
				"url": str(""), "username": str(""), "password": described(obj{"type": "string", "writeOnly": true}, ""),
			}}, "New credentials of a password account."),
		"SyncQueued": output("A queued sync run.", obj{
			"job_id": integer("ID of the job (see /api/v1/jobs)."), "already_queued": boolean("A run was already waiting."),
		}),
		"ContactSync": output("Contact sync settings and status of a connection.", obj{
			"enabled": boolean(""), "tag_id": str("The personal tag whose contacts sync."), "auto": boolean("Run on a period."),
			"period_minutes": integer("Minutes between automatic runs."), "group_name": str("The name of the remote group Tandem creates."),
			"collection":  str("The remote group's resource name; empty before the first run."),
			"last_run_at": nullable(dateTime("")), "last_error": str(""),
			"last_stats": obj{"type": "object", "description": "Counts of the last run."},
		}),
		"ContactSyncUpdate": input("Changes to contact sync settings.", obj{
			"enabled": boolean(""), "tag_id": str(""), "auto": boolean(""),
			"period_minutes": obj{"type": "integer", "minimum": 5, "maximum": 1440}, "group_name": str(""),
		}),
		"CalendarSync": output("Calendar sync settings and status of a connection.", obj{
			"enabled": boolean(""), "calendar_id": str("The remote calendar that syncs; empty until chosen."),
			"sync_from": described(obj{"type": "string", "format": "date"}, "Items older than this date are not synced."),
			"auto":      boolean("Run on a period."), "period_minutes": integer("Minutes between automatic runs."),
			"import_as": enum(syncer.ImportTypes, "The type a remote event becomes (notes: the import mode that keeps events as notes)."),
			"resync_from": nullable(described(obj{"type": "string", "format": "date"},
				"A requested sync-again date the next successful run clears.")),
			"collection":  str("The calendar of the current binding."),
			"last_run_at": nullable(dateTime("")), "last_error": str(""),
			"last_stats": obj{"type": "object", "description": "Counts of the last run."},
			"push":       ref("CalendarPush"),
		}),
		"CalendarPush": output("Whether remote changes reach Tandem by push within seconds. Providers deliver push "+
			"notifications only to an https address with a valid certificate (the provider's push address setting, else "+
			"SiteUrl); without one Tandem opens no subscription and only the automatic runs on period_minutes bring changes.", obj{
			"on": boolean(""),
			"reason": enum([]string{string(provider.PushNoAddress), string(provider.PushNotHTTPS)},
				"Why push is off: no_address (no address is set) or not_https."),
		}, "reason"),
		"CalendarSyncUpdate": input("Changes to calendar sync settings.", obj{
			"enabled": boolean(""), "calendar_id": str("An id from the calendar list (or primary)."),
			"sync_from": described(obj{"type": "string", "format": "date"}, "YYYY-MM-DD; default today."),
			"auto":      boolean(""), "period_minutes": obj{"type": "integer", "minimum": 5, "maximum": 1440},
			"import_as": enum(syncer.ImportTypes, ""),
		}),
		"CalendarResync": input("A date to sync the calendar again from.", obj{
			"from": described(obj{"type": "string", "format": "date"}, "YYYY-MM-DD."),
		}),
		"BindingSync": output("One binding kind of a connection.", obj{
			"kind": enum(bindingKinds(), ""), "provider": str("The connection's provider."),
			"collection_mode": enum([]string{string(provider.CollectionNamed), string(provider.CollectionPicked)},
				"named: Tandem creates the remote collection under a name; picked: chosen from the collections list."),
			"saved":    boolean("False until the settings are first saved (these are the defaults)."),
			"enabled":  boolean(""),
			"settings": bindingSettingsOneOf(),
			"several": boolean("The provider syncs several collections of the kind at once (calendars, task lists), " +
				"each a binding of its own: settings name them and the home one."),
			"schema": array(output("A settings field.", obj{
				"name": str(""), "type": str("boolean, integer, string, date, enum, tag, collection, collections or collection_name."),
				"minimum": integer(""), "maximum": integer(""), "max_length": integer(""), "enum": array(str(""), ""),
				"max_items": integer(""), "required_when_enabled": boolean(""),
			}, "minimum", "maximum", "max_length", "enum", "max_items", "required_when_enabled"), "The kind's settings fields."),
			"collection": str("The remote collection of the binding (the home one where several sync); empty until " +
				"chosen or created."),
			"picked": array(output("A collection that syncs, with its own binding's last run.", obj{
				"collection": str(""), "home": boolean("New records of the kind are exported there; the others sync " +
					"their own items only."),
				"last_run_at": nullable(dateTime("")), "last_error": str(""),
				"last_stats": obj{"type": "object", "description": "Counts of its last run."},
			}), "The collections that sync, the home one first (kinds whose collection is picked)."),
			"off":           nullable(str("Why the kind is off for the provider system-wide; null while on.")),
			"push":          obj{"oneOf": []obj{ref("CalendarPush"), {"type": "null"}}, "description": "Null when the provider has no push for the kind."},
			"needs_consent": boolean("The account has not granted Tandem this kind yet."),
			"last_run_at":   nullable(dateTime("")), "last_error": str(""),
			"last_stats": obj{"type": "object", "description": "Counts of the last run."},
		}),
		"BindingSyncUpdate": input("Changes to a binding.", obj{
			"enabled":  boolean(""),
			"settings": obj{"type": "object", "description": "Fields of the kind's schema; those left out keep their value."},
		}),
		"RemoteCalendar": output("A calendar of the connected account.", obj{
			"id": str(""), "summary": str(""), "time_zone": str(""), "primary": boolean(""), "access_role": str(""),
		}),
		"SyncPreview": output("What a sync run would do.", obj{
			"dry_run": boolean(""), "plan": obj{"type": "array", "items": ref("JournalEntry")},
			"stats": obj{"type": "object", "description": "Counts the run would reach, by binding kind (contact, event, task)."},
		}),
		"JournalEntry": output("One change sync applied (or, in a preview, would apply).", obj{
			"name": str("The record's name (previews)."),
			"seq":  integer(""), "binding_id": str(""), "remote_id": str(""), "side": enum([]string{"local", "remote"}, ""),
			"action": str(""), "fields": obj{"type": "array", "items": str("")}, "reason": str("Why, in the caller's language."), "reason_code": str("The stable code behind reason, e.g. created_locally, conflict:job_title."), "at": dateTime(""),
		}),

		"ApiToken": output("An API token. Only the answer to its creation carries the secret.", obj{
			"id": str(""), "name": text(crm.MaxShort, ""), "created_at": created,
			"last_used_at": nullable(dateTime("")),
			"expires_at":   nullable(dateTime("Null for tokens that never expire.")),
			"token":        str("The secret to send as bearer token; only in the answer to the creation."),
		}, "token"),
		"TokenCreate": input("A new API token for the caller.", obj{
			"name":            text(crm.MaxShort, `Defaults to "API".`),
			"expires_in_days": described(obj{"type": "integer", "minimum": 0, "maximum": 3650, "default": 0}, "0 means never."),
		}),
		"TokenRequest": described(obj{"type": "object", "additionalProperties": false, "required": []string{"email", "password"},
			"properties": obj{
				"email":    str(""),
				"password": str(""),
				"name":     text(crm.MaxShort, `Name of the token; defaults to "API login <date and time>".`),
			}}, "Credentials of a user."),
		"IssuedToken": output("A token issued for a password login.", obj{
			"token":      str("The secret to send as bearer token."),
			"token_type": described(obj{"const": "Bearer"}, ""),
			"expires_at": dateTime(""),
			"user_id":    str(""),
		}),
	}
}

// with adds props to s and returns s.
func with(s obj, props obj) obj {
	for k, v := range props {
		s[k] = v
	}
	return s
}

// contactFields are the properties a contact shows and takes alike.
func contactFields() obj {
	return obj{
		"name":        text(crm.MaxName, "Display name; derived from the name parts when empty."),
		"given_name":  text(crm.MaxShort, ""),
		"middle_name": text(crm.MaxShort, ""),
		"family_name": text(crm.MaxShort, ""),
		"job_title":   text(crm.MaxName, ""),
		"type":        enum(crm.ContactTypes, `Kind of contact; "" for none.`),
		"notes":       text(crm.MaxText, ""),
		"owner_id":    str("The user responsible for the contact; the creator by default."),
		"emails":      with(array(ref("Email"), "Email addresses; a list in a request replaces all."), obj{"maxItems": crm.MaxItems}),
		"phones":      with(array(ref("Phone"), "Phone numbers; a list in a request replaces all."), obj{"maxItems": crm.MaxItems}),
		"addresses":   with(array(ref("Address"), "Postal addresses; a list in a request replaces all."), obj{"maxItems": crm.MaxItems}),
		"company": text(crm.MaxName, "The company's name as the contact states it, kept even when no account "+
			`has that name; "" when the contact goes by its account's name (account_name). Sync shows and `+
			"exports this name, else the account's, and links an imported contact to the one account of that name "+
			"the connection's user can see."),
	}
}

// birthdayPattern is the shape of crm.Contact.Birthday.
const birthdayPattern = `^([0-9]{4}|-)-[0-9]{2}-[0-9]{2}$`

// accountFields are the properties an account shows and takes alike.
func accountFields() obj {
	return obj{
		"name":     text(crm.MaxName, ""),
		"type":     enum(crm.AccountTypes, `Kind of account; "" for none.`),
		"industry": text(crm.MaxShort, ""),
		"website":  text(crm.MaxName, "A URL; http or https when a scheme is given."),
		"phone":    text(crm.MaxShort, ""),
		"email":    str("A bare address."),
		"address":  text(crm.MaxName*2, ""),
		"notes":    text(crm.MaxText, ""),
		"owner_id": str("The user responsible for the account; the creator by default."),
	}
}

// activityFields are the properties an activity shows and takes alike.
func activityFields() obj {
	return obj{
		"type":             described(enum(crm.ActivityTypes, ""), "Defaults to task."),
		"title":            text(crm.MaxName, ""),
		"description":      text(crm.MaxText, ""),
		"location":         text(crm.MaxName, ""),
		"all_day":          boolean("Whether start and end are dates rather than times."),
		"time_zone":        text(crm.MaxShort, "IANA name the times were entered in; defaults to UTC."),
		"show_in_calendar": boolean("Whether the activity shows in calendars; needs a start."),
		"status":           described(enum(crm.ActivityStatuses, ""), "Defaults to not_started."),
		"priority":         described(enum(crm.Priorities, ""), "Defaults to normal."),
		"owner_id":         str("The responsible user; the creator by default."),
		"organizer_email":  str("The organizer's address."),
		"participants":     with(array(ref("Participant"), "Attendees; a list in a request replaces all."), obj{"maxItems": 500}),
		"rrule": text(500, `RFC 5545 recurrence rule without the "RRULE:" prefix (a prefix is dropped), `+
			`e.g. "FREQ=WEEKLY;BYDAY=MO"; "" for none.`),
	}
}

// contactPhotoPaths are the operations on a contact's photo
// (contact_photos.go).
func contactPhotoPaths(add func(string, operation)) {
	image := func(desc string) obj {
		content := obj{}
		for _, t := range crm.PhotoTypes {
			content[t] = obj{"schema": obj{"type": "string", "format": "binary"}}
		}
		return obj{"description": desc, "content": content}
	}
	limit := mbText(crm.MaxPhotoBytes)
	add("GET /api/v1/contacts/{id}/photo", op("contacts", "getContactPhoto", "Get a contact's photo",
		"The image's bytes with its type (one of "+strings.Join(crm.PhotoTypes, ", ")+"), for a caller who may read the "+
			"contact; 404 when it has no photo. The ETag is the hash of the bytes (If-None-Match answers 304); "+
			"Cache-Control asks to revalidate, or to keep it for good when the query names that ETag as v.").
		params(idParam("contact")).
		reply(http.StatusOK, image("The photo.")).
		reply(http.StatusNotModified, obj{"description": "Unchanged since the ETag sent in If-None-Match."}).
		fails(http.StatusNotFound))
	add("PUT /api/v1/contacts/{id}/photo", op("contacts", "putContactPhoto", "Set a contact's photo",
		"The body is the image itself: JPEG, PNG, GIF or WebP (told by its bytes, whatever Content-Type says), up to "+
			limit+". Needs edit access to the contact; send If-Match with the contact's ETag to fail with 412 instead "+
			"of overwriting someone else's change. A photo change is a change of the contact (its version moves on and "+
			"sync sends it). Another kind of file is 400 (field photo, code photo_type), an empty body 400 "+
			"(photo_empty), a larger one 413 (photo_too_large).").
		params(idParam("contact"), paramRef("If-Match")).
		raw(image("The image.")).
		reply(http.StatusOK, jsonResponse("The contact with its new photo.", ref("Contact"), "ETag")).
		reply(http.StatusRequestEntityTooLarge, problemResponse("The image is larger than "+limit+".")).
		fails(http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusPreconditionFailed))
	add("DELETE /api/v1/contacts/{id}/photo", op("contacts", "deleteContactPhoto", "Remove a contact's photo",
		"Needs edit access to the contact; a contact without a photo is left as it is.").
		params(idParam("contact"), paramRef("If-Match")).
		noContent("Removed.").
		fails(http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusPreconditionFailed))
}
