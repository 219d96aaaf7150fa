package google

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// personFieldOrder lists every Person field the emulator knows, in the
// order responses carry them.
var personFieldOrder = []string{
	"names", "nicknames", "photos", "coverPhotos", "birthdays", "genders", "addresses",
	"emailAddresses", "phoneNumbers", "organizations", "occupations", "biographies",
	"urls", "relations", "events", "imClients", "sipAddresses", "calendarUrls",
	"interests", "skills", "locales", "locations", "miscKeywords", "externalIds",
	"userDefined", "clientData", "ageRanges", "memberships",
}

var personFields = func() map[string]bool {
	m := map[string]bool{"metadata": true}
	for _, f := range personFieldOrder {
		m[f] = true
	}
	return m
}()

// writablePersonFields are the paths updatePersonFields accepts (apis.md §1.3).
var writablePersonFields = map[string]bool{
	"addresses": true, "biographies": true, "birthdays": true, "calendarUrls": true, "clientData": true,
	"emailAddresses": true, "events": true, "externalIds": true, "genders": true, "imClients": true,
	"interests": true, "locales": true, "locations": true, "memberships": true, "miscKeywords": true,
	"names": true, "nicknames": true, "occupations": true, "organizations": true, "phoneNumbers": true,
	"relations": true, "sipAddresses": true, "urls": true, "userDefined": true,
}

// outputOnlyPersonFields are accepted in a request body and ignored.
var outputOnlyPersonFields = map[string]bool{
	"resourceName": true, "etag": true, "metadata": true, "photos": true, "coverPhotos": true,
	"ageRanges": true, "ageRange": true, "skills": true,
	// deprecated Person fields of the generated client
	"braggingRights": true, "fileAses": true, "relationshipInterests": true, "relationshipStatuses": true,
	"residences": true, "taglines": true,
}

var singletonPersonFields = map[string]bool{"names": true, "biographies": true, "birthdays": true, "genders": true}

// primaryPersonFields get metadata.primary on their primary value.
var primaryPersonFields = map[string]bool{
	"names": true, "nicknames": true, "birthdays": true, "genders": true, "addresses": true,
	"emailAddresses": true, "phoneNumbers": true, "organizations": true, "occupations": true,
	"biographies": true, "urls": true, "imClients": true, "sipAddresses": true, "locales": true,
	"locations": true, "calendarUrls": true,
}

type person struct {
	id, src    string
	fields     map[string]json.RawMessage // normalized values, all but memberships
	groups     []string                   // contact group ids
	seq        int64
	createdSeq int64
	updated    time.Time
	deleted    bool
}

func (s *Server) hashTag(prefix string, parts ...string) string {
	h := sha256.New()
	h.Write(s.secret)
	for _, p := range parts {
		h.Write([]byte(p + "\x00"))
	}
	return prefix + base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:18])
}

func (s *Server) personEtag(p *person) string {
	return s.hashTag("%", "person", p.id, strconv.FormatInt(p.seq, 10))
}

func (s *Server) sourceEtag(p *person) string {
	return s.hashTag("#", "source", p.id, strconv.FormatInt(p.seq, 10))
}

func (p *person) hasGroup(id string) bool { return contains(p.groups, id) }

// --- routing ---------------------------------------------------------------

func (s *Server) peopleRoute(method string, segs []string) *route {
	r := func(name string, need scopeNeed, h func(http.ResponseWriter, *http.Request, *user, []string)) *route {
		return &route{api: apiPeople, name: name, scopes: need, h: h, segs: segs}
	}
	n := len(segs)
	switch {
	case n == 3 && segs[0] == "people" && segs[2] == "connections" && method == "GET":
		return r("people.connections.list", needContactsRead, s.connectionsList)
	case n == 1 && segs[0] == "people:createContact" && method == "POST":
		return r("people.createContact", needContactsWrite, s.createContact)
	case n == 1 && segs[0] == "people:batchCreateContacts" && method == "POST":
		return r("people.batchCreateContacts", needContactsWrite, s.batchCreateContacts)
	case n == 1 && segs[0] == "people:batchUpdateContacts" && method == "POST":
		return r("people.batchUpdateContacts", needContactsWrite, s.batchUpdateContacts)
	case n == 1 && segs[0] == "people:batchDeleteContacts" && method == "POST":
		return r("people.batchDeleteContacts", needContactsWrite, s.batchDeleteContacts)
	case n == 1 && segs[0] == "people:batchGet" && method == "GET":
		return r("people.getBatchGet", needContactsRead, s.peopleBatchGet)
	case n == 2 && segs[0] == "people" && strings.HasSuffix(segs[1], ":updateContact") && method == "PATCH":
		return r("people.updateContact", needContactsWrite, s.updateContact)
	case n == 2 && segs[0] == "people" && strings.HasSuffix(segs[1], ":deleteContact") && method == "DELETE":
		return r("people.deleteContact", needContactsWrite, s.deleteContact)
	case n == 2 && segs[0] == "people" && !strings.Contains(segs[1], ":") && method == "GET":
		return r("people.get", needContactsRead, s.peopleGet)
	case n == 1 && segs[0] == "contactGroups" && method == "GET":
		return r("contactGroups.list", needContactsRead, s.groupsList)
	case n == 1 && segs[0] == "contactGroups" && method == "POST":
		return r("contactGroups.create", needContactsWrite, s.groupsCreate)
	case n == 2 && segs[0] == "contactGroups" && method == "GET":
		return r("contactGroups.get", needContactsRead, s.groupsGet)
	case n == 2 && segs[0] == "contactGroups" && method == "PUT":
		return r("contactGroups.update", needContactsWrite, s.groupsUpdate)
	case n == 2 && segs[0] == "contactGroups" && method == "DELETE":
		return r("contactGroups.delete", needContactsWrite, s.groupsDelete)
	case n == 3 && segs[0] == "contactGroups" && segs[2] == "members:modify" && method == "POST":
		return r("contactGroups.members.modify", needContactsWrite, s.groupsMembersModify)
	}
	return nil
}

// --- masks -------------------------------------------------------------------

// parseMask parses a comma-separated field mask; bad is the first path that
// is not in valid.
func parseMask(m string, valid map[string]bool) (map[string]bool, []string, string) {
	set := map[string]bool{}
	var list []string
	for _, f := range strings.Split(m, ",") {
		f = strings.TrimSpace(f)
		f = strings.TrimPrefix(f, "person.")
		if f == "" {
			continue
		}
		if !valid[f] {
			return nil, nil, f
		}
		if !set[f] {
			set[f] = true
			list = append(list, f)
		}
	}
	return set, list, ""
}

func (s *Server) readMask(q url.Values, param string, required bool) (map[string]bool, *peopleErr) {
	v := q.Get(param)
	if v == "" {
		if required {
			return nil, pInvalid(param + " mask is required. Please specify one or more valid paths. Valid paths are documented at https://developers.google.com/people/api/rest/v1/people.connections/list.")
		}
		return nil, nil
	}
	set, _, bad := parseMask(v, personFields)
	if bad != "" {
		return nil, pInvalid(fmt.Sprintf("Invalid %s mask path: %q. Valid paths are documented at https://developers.google.com/people/api/rest/v1/people/get.", param, bad))
	}
	if len(set) == 0 {
		return nil, pInvalid(param + " mask is required.")
	}
	return set, nil
}

// --- rendering -----------------------------------------------------------------

func (s *Server) renderPerson(u *user, p *person, mask map[string]bool) obj {
	o := obj{{"resourceName", "people/" + p.id}, {"etag", s.personEtag(p)}}
	if p.deleted {
		o.add("metadata", obj{{"sources", []any{obj{{"type", "CONTACT"}, {"id", p.src}}}}, {"deleted", true}, {"objectType", "PERSON"}})
		return o
	}
	if mask == nil || mask["metadata"] {
		o.add("metadata", obj{{"sources", []any{obj{{"type", "CONTACT"}, {"id", p.src}, {"etag", s.sourceEtag(p)},
			{"updateTime", p.updated.UTC().Format("2006-01-02T15:04:05.000000Z")}}}}, {"objectType", "PERSON"}})
	}
	for _, f := range personFieldOrder {
		if mask != nil && !mask[f] {
			continue
		}
		if f == "memberships" {
			if len(p.groups) > 0 {
				var ms []any
				for _, g := range p.groups {
					ms = append(ms, obj{{"metadata", obj{{"source", obj{{"type", "CONTACT"}, {"id", p.src}}}}},
						{"contactGroupMembership", obj{{"contactGroupId", g}, {"contactGroupResourceName", "contactGroups/" + g}}}})
				}
				o.add("memberships", ms)
			}
			continue
		}
		if v, ok := p.fields[f]; ok {
			o.add(f, v)
		}
	}
	return o
}

func (s *Server) renderProfile(u *user, mask map[string]bool) obj {
	o := obj{{"resourceName", "people/" + u.sub}, {"etag", s.hashTag("%", "profile", u.sub, strconv.FormatInt(u.profileSeq, 10))}}
	src := obj{{"type", "PROFILE"}, {"id", u.sub}}
	if mask == nil || mask["metadata"] {
		o.add("metadata", obj{{"sources", []any{src}}, {"objectType", "PERSON"}})
	}
	md := obj{{"primary", true}, {"source", src}}
	if mask == nil || mask["names"] {
		given, family, _ := strings.Cut(u.name, " ")
		o.add("names", []any{obj{{"metadata", md}, {"displayName", u.name}, {"familyName", family}, {"givenName", given}, {"unstructuredName", u.name}}})
	}
	if mask == nil || mask["emailAddresses"] {
		o.add("emailAddresses", []any{obj{{"metadata", obj{{"primary", true}, {"verified", true}, {"source", src}}}, {"value", u.email}}})
	}
	return o
}

// --- normalisation of written fields -------------------------------------------

var formattedTypes = map[string]string{
	"home": "Home", "work": "Work", "other": "Other", "mobile": "Mobile", "homeFax": "Home Fax",
	"workFax": "Work Fax", "otherFax": "Other Fax", "pager": "Pager", "workMobile": "Work Mobile",
	"workPager": "Work Pager", "main": "Main", "googleVoice": "Google Voice", "blog": "Blog",
	"profile": "Profile", "homePage": "Home Page", "appInstallPage": "App Install Page",
	"reservations": "Reservations", "school": "School",
}

// normalizeField validates one Person field of a write and adds what Google
// adds: per-value metadata (source, primary), formatted types and the
// computed name forms. A nil result means the field is cleared.
func normalizeField(name string, raw json.RawMessage, src string) (json.RawMessage, *peopleErr) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return nil, nil
	}
	var items []map[string]json.RawMessage
	if err := json.Unmarshal(t, &items); err != nil {
		return nil, pInvalid(fmt.Sprintf("Invalid value at 'person.%s' (type.googleapis.com/google.people.v1.Person), %s", name, strings.TrimSpace(string(t))))
	}
	if len(items) == 0 {
		return nil, nil
	}
	if singletonPersonFields[name] && len(items) > 1 {
		return nil, pInvalid(fmt.Sprintf("Invalid value at 'person.%s': only one value is allowed for a singleton field.", name))
	}
	primary := 0
	for i, it := range items {
		var md struct {
			Primary bool `json:"primary"`
		}
		if m, ok := it["metadata"]; ok && json.Unmarshal(m, &md) == nil && md.Primary {
			primary = i
			break
		}
	}
	out := make([]obj, 0, len(items))
	for i, it := range items {
		if it == nil {
			return nil, pInvalid(fmt.Sprintf("Invalid value at 'person.%s'", name))
		}
		delete(it, "metadata")
		md := obj{}
		if primaryPersonFields[name] && i == primary {
			md.add("primary", true)
		}
		md.add("source", obj{{"type", "CONTACT"}, {"id", src}})
		switch name {
		case "names":
			normalizeName(it)
		case "biographies":
			if _, ok := it["contentType"]; !ok {
				it["contentType"] = rawJSON("TEXT_PLAIN")
			}
		}
		if tv, ok := it["type"]; ok {
			var ty string
			if json.Unmarshal(tv, &ty) == nil && ty != "" {
				ft := formattedTypes[ty]
				if ft == "" {
					ft = ty
				}
				it["formattedType"] = rawJSON(ft)
			}
		}
		o := obj{{"metadata", md}}
		keys := make([]string, 0, len(it))
		for k := range it {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			o.add(k, it[k])
		}
		out = append(out, o)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, pInvalid(err.Error())
	}
	return b, nil
}

func strField(m map[string]json.RawMessage, k string) string {
	var s string
	if v, ok := m[k]; ok {
		json.Unmarshal(v, &s)
	}
	return s
}

func normalizeName(it map[string]json.RawMessage) {
	given, middle, family := strField(it, "givenName"), strField(it, "middleName"), strField(it, "familyName")
	prefix, suffix := strField(it, "honorificPrefix"), strField(it, "honorificSuffix")
	if given == "" && middle == "" && family == "" && prefix == "" && suffix == "" {
		un := strings.TrimSpace(strField(it, "unstructuredName"))
		if un == "" {
			un = strings.TrimSpace(strField(it, "displayName"))
		}
		if un == "" {
			return
		}
		g, f, _ := strings.Cut(un, " ")
		given, family = g, strings.TrimSpace(f)
		if given != "" {
			it["givenName"] = rawJSON(given)
		}
		if family != "" {
			it["familyName"] = rawJSON(family)
		}
	}
	var parts []string
	for _, p := range []string{prefix, given, middle, family, suffix} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	display := strings.Join(parts, " ")
	lastFirst := display
	if family != "" {
		rest := strings.TrimSpace(strings.Join([]string{prefix, given, middle}, " "))
		rest = strings.Join(strings.Fields(rest), " ")
		lastFirst = family
		if rest != "" {
			lastFirst += ", " + rest
		}
		if suffix != "" {
			lastFirst += ", " + suffix
		}
	}
	it["displayName"] = rawJSON(display)
	it["displayNameLastFirst"] = rawJSON(lastFirst)
	it["unstructuredName"] = rawJSON(display)
}

// parseMemberships returns the contact group ids named by
// contactGroupMembership.contactGroupResourceName (the only field Google
// uses to modify membership).
func parseMemberships(raw json.RawMessage) ([]string, *peopleErr) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return nil, nil
	}
	var items []struct {
		CGM *struct {
			ResourceName string `json:"contactGroupResourceName"`
		} `json:"contactGroupMembership"`
	}
	if err := json.Unmarshal(t, &items); err != nil {
		return nil, pInvalid("Invalid value at 'person.memberships'")
	}
	var ids []string
	for _, it := range items {
		if it.CGM == nil || it.CGM.ResourceName == "" {
			continue
		}
		id, ok := strings.CutPrefix(it.CGM.ResourceName, "contactGroups/")
		if !ok || id == "" {
			return nil, pInvalid("Invalid contact group resource name: " + it.CGM.ResourceName)
		}
		if !contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// checkGroupsForPerson validates a person's new memberships: every group
// exists; system groups other than myContacts and starred can only be kept,
// not joined.
func checkGroupsForPerson(u *user, p *person, ids []string) *peopleErr {
	for _, id := range ids {
		g, ok := u.groups[id]
		if !ok || g.deleted {
			return pInvalid("Contact group resource name not found: contactGroups/" + id)
		}
		if g.system && !systemGroupAcceptsAdd(id) && (p == nil || !p.hasGroup(id)) {
			return pFailedPrecondition("Cannot add contacts to system contact group contactGroups/" + id + ".")
		}
	}
	return nil
}

// decodePerson parses a Person body and checks its field names.
func decodePerson(body []byte) (map[string]json.RawMessage, *peopleErr) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return nil, pInvalid("Invalid JSON payload received. " + errText(err))
	}
	for k := range m {
		if !personFields[k] && !outputOnlyPersonFields[k] {
			return nil, pInvalid(fmt.Sprintf("Invalid JSON payload received. Unknown name %q at 'person': Cannot find field.", k))
		}
	}
	return m, nil
}

func errText(err error) string {
	if err == nil {
		return "Expected an object."
	}
	return err.Error()
}

// --- core operations (callers hold s.mu) ------------------------------------------

func (s *Server) newPersonID(u *user) (string, string) {
	for {
		s.idSeq++
		n := uint64FromBytes(s.idBytes("person", s.idSeq)) >> 1
		id := "c" + strconv.FormatUint(n, 10)
		if _, taken := u.persons[id]; !taken {
			return id, strconv.FormatUint(n, 16)
		}
	}
}

func (s *Server) createPersonLocked(u *user, m map[string]json.RawMessage) (*person, *peopleErr) {
	id, src := s.newPersonID(u)
	p := &person{id: id, src: src, fields: map[string]json.RawMessage{}}
	for k, v := range m {
		if outputOnlyPersonFields[k] {
			continue
		}
		if k == "memberships" {
			ids, e := parseMemberships(v)
			if e != nil {
				return nil, e
			}
			if e := checkGroupsForPerson(u, nil, ids); e != nil {
				return nil, e
			}
			p.groups = ids
			continue
		}
		nv, e := normalizeField(k, v, src)
		if e != nil {
			return nil, e
		}
		if nv != nil {
			p.fields[k] = nv
		}
	}
	if !p.hasGroup("myContacts") {
		p.groups = append([]string{"myContacts"}, p.groups...)
	}
	s.touchPerson(u, p)
	p.createdSeq = p.seq
	u.persons[id] = p
	u.livePersons++
	s.touchGroups(u, p.groups)
	return p, nil
}

// etagOf returns the etag a Person body carries: person.etag or the CONTACT
// source's etag.
func etagOf(m map[string]json.RawMessage) string {
	if e := strField(m, "etag"); e != "" {
		return e
	}
	var md struct {
		Sources []struct {
			Type string `json:"type"`
			Etag string `json:"etag"`
		} `json:"sources"`
	}
	if raw, ok := m["metadata"]; ok && json.Unmarshal(raw, &md) == nil {
		for _, src := range md.Sources {
			if src.Type == "CONTACT" && src.Etag != "" {
				return src.Etag
			}
		}
	}
	return ""
}

// prepareUpdate validates an update and returns a function that applies it.
func (s *Server) prepareUpdate(u *user, p *person, m map[string]json.RawMessage, mask []string) (func(), *peopleErr) {
	et := etagOf(m)
	if et == "" {
		return nil, pInvalid("Request must set person.etag or person.metadata.sources.etag for the source that is being updated.")
	}
	if et != s.personEtag(p) && et != s.sourceEtag(p) {
		return nil, pFailedPrecondition("Request person.etag is different than the current person.etag. Clear local cache and get the latest person.")
	}
	if rn := strField(m, "resourceName"); rn != "" && rn != "people/"+p.id {
		return nil, pInvalid("person.resourceName must match the resource name in the request URL.")
	}
	newFields := map[string]json.RawMessage{}
	var newGroups []string
	groupsSet := false
	for _, f := range mask {
		if f == "memberships" {
			ids, e := parseMemberships(m[f])
			if e != nil {
				return nil, e
			}
			if len(ids) == 0 {
				return nil, pInvalid("Updating memberships requires at least one contact group membership.")
			}
			if e := checkGroupsForPerson(u, p, ids); e != nil {
				return nil, e
			}
			newGroups, groupsSet = ids, true
			continue
		}
		nv, e := normalizeField(f, m[f], p.src)
		if e != nil {
			return nil, e
		}
		newFields[f] = nv
	}
	return func() {
		for _, f := range mask {
			if f == "memberships" {
				continue
			}
			if nv := newFields[f]; nv != nil {
				p.fields[f] = nv
			} else {
				delete(p.fields, f)
			}
		}
		old := p.groups
		if groupsSet {
			p.groups = newGroups
		}
		s.touchPerson(u, p)
		if groupsSet {
			s.touchGroups(u, symmetricDiff(old, newGroups))
		}
	}, nil
}

func symmetricDiff(a, b []string) []string {
	var d []string
	for _, x := range a {
		if !contains(b, x) {
			d = append(d, x)
		}
	}
	for _, x := range b {
		if !contains(a, x) {
			d = append(d, x)
		}
	}
	return d
}

func (s *Server) deletePersonLocked(u *user, p *person) {
	groups := p.groups
	p.deleted = true
	u.livePersons--
	p.fields = map[string]json.RawMessage{}
	p.groups = nil
	s.touchPerson(u, p)
	s.touchGroups(u, groups)
}

// touchGroups bumps the groups whose member count changed.
func (s *Server) touchGroups(u *user, ids []string) {
	for _, id := range ids {
		if g, ok := u.groups[id]; ok && !g.deleted {
			g.seq, g.updated = s.tick(u)
		}
	}
}

func (s *Server) livePerson(u *user, resourceName string) *person {
	id, ok := strings.CutPrefix(resourceName, "people/")
	if !ok {
		return nil
	}
	p := u.persons[id]
	if p == nil || p.deleted {
		return nil
	}
	return p
}

// --- handlers --------------------------------------------------------------------

type personKey struct {
	k1 int64
	k2 string
}

func (a personKey) less(b personKey) bool {
	if a.k1 != b.k1 {
		return a.k1 < b.k1
	}
	return a.k2 < b.k2
}

func nameSortKey(p *person, lastFirst bool) string {
	var names []map[string]json.RawMessage
	if raw, ok := p.fields["names"]; ok {
		json.Unmarshal(raw, &names)
	}
	var g, f string
	if len(names) > 0 {
		g, f = strings.ToLower(strField(names[0], "givenName")), strings.ToLower(strField(names[0], "familyName"))
	}
	if lastFirst {
		return f + "\x00" + g + "\x00" + p.id
	}
	return g + "\x00" + f + "\x00" + p.id
}

var sortOrders = map[string]bool{"LAST_MODIFIED_ASCENDING": true, "LAST_MODIFIED_DESCENDING": true, "FIRST_NAME_ASCENDING": true, "LAST_NAME_ASCENDING": true}

func (s *Server) connectionsList(w http.ResponseWriter, r *http.Request, u *user, segs []string) {
	if segs[1] != "me" {
		pInvalid("Only people/me is a valid resource name for connections.list.").write(w)
		return
	}
	q := r.URL.Query()
	mask, e := s.readMask(q, "personFields", true)
	if e != nil {
		e.write(w)
		return
	}
	pageSize := 100
	if v := q.Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 1000 {
			pInvalid("pageSize must be between 1 and 1000.").write(w)
			return
		}
		if n > 0 {
			pageSize = n
		}
	}
	sortOrder := q.Get("sortOrder")
	if sortOrder != "" && !sortOrders[sortOrder] {
		pInvalid(fmt.Sprintf("Invalid value at 'sort_order' (type.googleapis.com/google.people.v1.ListConnectionsRequest.SortOrder), %q", sortOrder)).write(w)
		return
	}
	reqSync, _, err := queryBool(q, "requestSyncToken")
	if err != nil {
		pInvalid("Invalid value at 'request_sync_token' (TYPE_BOOL)").write(w)
		return
	}
	sources := append([]string(nil), q["sources"]...)
	sort.Strings(sources)
	_, maskList, _ := parseMask(q.Get("personFields"), personFields)
	sort.Strings(maskList)
	syncBind := hashStrings(strings.Join(maskList, ","), strings.Join(sources, ","))

	s.mu.Lock()
	defer s.mu.Unlock()
	syncTok := q.Get("syncToken")
	inc := syncTok != ""
	var from, snapshot, origin int64
	if inc {
		st, err := s.decodeCursor(syncTok, "ps")
		if err != nil || st.User != u.email || st.Gen != u.gen || s.peopleTokenExpired(st.Origin) {
			pExpiredSyncToken().write(w)
			return
		}
		if st.Hash != syncBind {
			pInvalid("Parameters provided to connections.list must match the first call that provided the sync token (personFields and sources).").write(w)
			return
		}
		from, origin = st.Pos, st.Origin
	}
	var pc cursor
	paging := q.Get("pageToken") != ""
	if paging {
		pc, err = s.decodeCursor(q.Get("pageToken"), "pp")
		if err != nil || pc.User != u.email {
			pInvalid("Page token is invalid.").write(w)
			return
		}
		if pc.Hash != paramHash(q) {
			pInvalid("Parameters provided to connections.list must match the first call that provided the page token.").write(w)
			return
		}
		if pc.Inc && pc.Gen != u.gen {
			pExpiredSyncToken().write(w)
			return
		}
		snapshot, origin = pc.Pos, pc.Origin
	} else if inc {
		snapshot = max(s.settledSeq(u), from)
	} else {
		snapshot, origin = u.seq, s.now().Unix()
	}

	syncMode := inc || reqSync
	type item struct {
		p   *person
		key personKey
	}
	var items []item
	var total int
	switch {
	case syncMode || sortOrder == "" || sortOrder == "LAST_MODIFIED_ASCENDING":
		// The change order is kept by personOrder: find the page's start
		// and read on, skipping superseded entries (and, in a full
		// listing, tombstones).
		ents := u.personOrder.entries
		start := from
		if paging {
			start = max(start, pc.C1)
		}
		for i := u.personOrder.after(start); i < len(ents) && len(items) <= pageSize; i++ {
			e := ents[i]
			if inc && e.seq > snapshot {
				break
			}
			if e.item.seq != e.seq || (!inc && e.item.deleted) {
				continue
			}
			items = append(items, item{e.item, personKey{e.seq, e.item.id}})
		}
		switch {
		case !inc:
			total = u.livePersons
		case paging:
			total = int(pc.Total)
		default:
			// Counted once, on the first page of an incremental listing,
			// and carried in its page tokens.
			for i := u.personOrder.after(from); i < len(ents) && ents[i].seq <= snapshot; i++ {
				if ents[i].item.seq == ents[i].seq {
					total++
				}
			}
		}
	case sortOrder == "LAST_MODIFIED_DESCENDING":
		ents := u.personOrder.entries
		i := len(ents) - 1
		if paging {
			i = u.personOrder.after(-pc.C1-1) - 1
		}
		for ; i >= 0 && len(items) <= pageSize; i-- {
			e := ents[i]
			if e.item.seq != e.seq || e.item.deleted {
				continue
			}
			items = append(items, item{e.item, personKey{-e.seq, e.item.id}})
		}
		total = u.livePersons
	default:
		// Name orders are not kept: sort everything (rarely asked for).
		for _, p := range u.persons {
			if p.deleted {
				continue
			}
			items = append(items, item{p, personKey{0, nameSortKey(p, sortOrder == "LAST_NAME_ASCENDING")}})
		}
		sort.Slice(items, func(i, j int) bool { return items[i].key.less(items[j].key) })
		total = len(items)
		if paging {
			after := personKey{pc.C1, pc.C2}
			i := sort.Search(len(items), func(i int) bool { return after.less(items[i].key) })
			items = items[i:]
		}
	}
	more := len(items) > pageSize
	if more {
		items = items[:pageSize]
	}
	resp := obj{}
	if len(items) > 0 {
		conns := make([]any, len(items))
		for i, it := range items {
			conns[i] = s.renderPerson(u, it.p, mask)
		}
		resp.add("connections", conns)
	}
	if more {
		last := items[len(items)-1].key
		resp.add("nextPageToken", s.encodeCursor(cursor{Kind: "pp", User: u.email, Gen: u.gen, Pos: snapshot, From: from,
			Origin: origin, Hash: paramHash(q), C1: last.k1, C2: last.k2, Inc: inc, Total: int64(total)}))
	} else if reqSync {
		resp.add("nextSyncToken", s.encodeCursor(cursor{Kind: "ps", User: u.email, Gen: u.gen, Pos: snapshot, Origin: origin, Hash: syncBind}))
	}
	if total > 0 {
		resp.add("totalPeople", total)
		resp.add("totalItems", total)
	}
	writeJSON(w, 200, resp)
}

func (s *Server) peopleTokenExpired(origin int64) bool {
	l := s.opts.PeopleSyncTokenLifetime
	return l > 0 && s.now().Sub(time.Unix(origin, 0)) > l
}

func (s *Server) peopleGet(w http.ResponseWriter, r *http.Request, u *user, segs []string) {
	q := r.URL.Query()
	mask, e := s.readMask(q, "personFields", true)
	if e != nil {
		e.write(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if segs[1] == "me" || segs[1] == u.sub {
		writeJSON(w, 200, s.renderProfile(u, mask))
		return
	}
	p := s.livePerson(u, "people/"+segs[1])
	if p == nil {
		pNotFound().write(w)
		return
	}
	writeJSON(w, 200, s.renderPerson(u, p, mask))
}

func (s *Server) peopleBatchGet(w http.ResponseWriter, r *http.Request, u *user, segs []string) {
	q := r.URL.Query()
	mask, e := s.readMask(q, "personFields", true)
	if e != nil {
		e.write(w)
		return
	}
	names := q["resourceNames"]
	if len(names) == 0 || len(names) > 200 {
		pInvalid("resourceNames must name between 1 and 200 people.").write(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []any
	for _, rn := range names {
		if rn == "people/me" {
			out = append(out, obj{{"httpStatusCode", 200}, {"person", s.renderProfile(u, mask)}, {"requestedResourceName", rn}, {"status", obj{}}})
			continue
		}
		p := s.livePerson(u, rn)
		if p == nil {
			out = append(out, obj{{"httpStatusCode", 404}, {"requestedResourceName", rn}, {"status", obj{{"code", 5}, {"message", "Requested entity was not found."}}}})
			continue
		}
		out = append(out, obj{{"httpStatusCode", 200}, {"person", s.renderPerson(u, p, mask)}, {"requestedResourceName", rn}, {"status", obj{}}})
	}
	writeJSON(w, 200, obj{{"responses", out}})
}

func (s *Server) createContact(w http.ResponseWriter, r *http.Request, u *user, segs []string) {
	mask, e := s.readMask(r.URL.Query(), "personFields", false)
	if e != nil {
		e.write(w)
		return
	}
	body, err := readBody(r, 4<<20)
	if err != nil {
		pInvalid(err.Error()).write(w)
		return
	}
	m, e := decodePerson(body)
	if e != nil {
		e.write(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, e := s.createPersonLocked(u, m)
	if e != nil {
		e.write(w)
		return
	}
	writeJSON(w, 200, s.renderPerson(u, p, mask))
}

func (s *Server) updateContact(w http.ResponseWriter, r *http.Request, u *user, segs []string) {
	q := r.URL.Query()
	id := strings.TrimSuffix(segs[1], ":updateContact")
	um := q.Get("updatePersonFields")
	if um == "" {
		pInvalid("updatePersonFields mask is required. Please specify one or more valid paths. Valid paths are documented at https://developers.google.com/people/api/rest/v1/people/updateContact.").write(w)
		return
	}
	_, list, bad := parseMask(um, writablePersonFields)
	if bad != "" || len(list) == 0 {
		pInvalid(fmt.Sprintf("Invalid updatePersonFields mask path: %q. Valid paths are documented at https://developers.google.com/people/api/rest/v1/people/updateContact.", bad)).write(w)
		return
	}
	mask, e := s.readMask(q, "personFields", false)
	if e != nil {
		e.write(w)
		return
	}
	body, err := readBody(r, 4<<20)
	if err != nil {
		pInvalid(err.Error()).write(w)
		return
	}
	m, e := decodePerson(body)
	if e != nil {
		e.write(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.livePerson(u, "people/"+id)
	if p == nil {
		pNotFound().write(w)
		return
	}
	apply, e := s.prepareUpdate(u, p, m, list)
	if e != nil {
		e.write(w)
		return
	}
	apply()
	writeJSON(w, 200, s.renderPerson(u, p, mask))
}

func (s *Server) deleteContact(w http.ResponseWriter, r *http.Request, u *user, segs []string) {
	id := strings.TrimSuffix(segs[1], ":deleteContact")
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.livePerson(u, "people/"+id)
	if p == nil {
		pNotFound().write(w)
		return
	}
	s.deletePersonLocked(u, p)
	writeJSON(w, 200, obj{})
}

func (s *Server) batchCreateContacts(w http.ResponseWriter, r *http.Request, u *user, segs []string) {
	var req struct {
		Contacts []struct {
			ContactPerson json.RawMessage `json:"contactPerson"`
		} `json:"contacts"`
		ReadMask string `json:"readMask"`
	}
	body, _ := readBody(r, 32<<20)
	if err := json.Unmarshal(body, &req); err != nil {
		pInvalid("Invalid JSON payload received. " + err.Error()).write(w)
		return
	}
	if req.ReadMask == "" {
		pInvalid("readMask is required.").write(w)
		return
	}
	mask, _, bad := parseMask(req.ReadMask, personFields)
	if bad != "" {
		pInvalid(fmt.Sprintf("Invalid readMask path: %q.", bad)).write(w)
		return
	}
	if len(req.Contacts) == 0 || len(req.Contacts) > 200 {
		pInvalid("contacts must hold between 1 and 200 people.").write(w)
		return
	}
	var bodies []map[string]json.RawMessage
	for _, c := range req.Contacts {
		m, e := decodePerson(c.ContactPerson)
		if e != nil {
			e.write(w)
			return
		}
		bodies = append(bodies, m)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Validate all before creating any: the batch is all or nothing.
	for _, m := range bodies {
		if e := s.validateCreate(u, m); e != nil {
			e.write(w)
			return
		}
	}
	var out []any
	for _, m := range bodies {
		p, _ := s.createPersonLocked(u, m)
		out = append(out, obj{{"httpStatusCode", 200}, {"person", s.renderPerson(u, p, mask)}, {"requestedResourceName", "people/" + p.id}, {"status", obj{}}})
	}
	writeJSON(w, 200, obj{{"createdPeople", out}})
}

func (s *Server) validateCreate(u *user, m map[string]json.RawMessage) *peopleErr {
	for k, v := range m {
		if outputOnlyPersonFields[k] {
			continue
		}
		if k == "memberships" {
			ids, e := parseMemberships(v)
			if e != nil {
				return e
			}
			if e := checkGroupsForPerson(u, nil, ids); e != nil {
				return e
			}
			continue
		}
		if _, e := normalizeField(k, v, "0"); e != nil {
			return e
		}
	}
	return nil
}

func (s *Server) batchUpdateContacts(w http.ResponseWriter, r *http.Request, u *user, segs []string) {
	var req struct {
		Contacts   map[string]json.RawMessage `json:"contacts"`
		UpdateMask string                     `json:"updateMask"`
		ReadMask   string                     `json:"readMask"`
	}
	body, _ := readBody(r, 32<<20)
	if err := json.Unmarshal(body, &req); err != nil {
		pInvalid("Invalid JSON payload received. " + err.Error()).write(w)
		return
	}
	if req.UpdateMask == "" || req.ReadMask == "" {
		pInvalid("updateMask and readMask are required.").write(w)
		return
	}
	_, list, bad := parseMask(req.UpdateMask, writablePersonFields)
	if bad != "" || len(list) == 0 {
		pInvalid(fmt.Sprintf("Invalid updateMask path: %q.", bad)).write(w)
		return
	}
	mask, _, bad := parseMask(req.ReadMask, personFields)
	if bad != "" {
		pInvalid(fmt.Sprintf("Invalid readMask path: %q.", bad)).write(w)
		return
	}
	if len(req.Contacts) == 0 || len(req.Contacts) > 200 {
		pInvalid("contacts must hold between 1 and 200 people.").write(w)
		return
	}
	names := make([]string, 0, len(req.Contacts))
	for rn := range req.Contacts {
		names = append(names, rn)
	}
	sort.Strings(names)
	s.mu.Lock()
	defer s.mu.Unlock()
	// All or nothing, as Google: one refused contact fails the call, and
	// the error's BatchUpdateContactsErrorDetails names every refused one.
	var applies []func()
	var first *peopleErr
	contactErrors := obj{}
	for _, rn := range names {
		m, e := decodePerson(req.Contacts[rn])
		var apply func()
		if e == nil {
			if p := s.livePerson(u, rn); p == nil {
				e = pNotFound()
			} else {
				apply, e = s.prepareUpdate(u, p, m, list)
			}
		}
		if e != nil {
			if first == nil {
				first = e
			}
			contactErrors.add(rn, obj{{"code", grpcCode[e.status]}, {"message", e.message}})
			continue
		}
		applies = append(applies, apply)
	}
	if first != nil {
		e := *first
		e.details = []any{obj{{"@type", "type.googleapis.com/google.people.v1.BatchUpdateContactsErrorDetails"}, {"contactErrors", contactErrors}}}
		e.write(w)
		return
	}
	res := obj{}
	for i, rn := range names {
		applies[i]()
		p := s.livePerson(u, rn)
		res.add(rn, obj{{"httpStatusCode", 200}, {"person", s.renderPerson(u, p, mask)}, {"requestedResourceName", rn}, {"status", obj{}}})
	}
	writeJSON(w, 200, obj{{"updateResult", res}})
}

func (s *Server) batchDeleteContacts(w http.ResponseWriter, r *http.Request, u *user, segs []string) {
	var req struct {
		ResourceNames []string `json:"resourceNames"`
	}
	body, _ := readBody(r, 4<<20)
	if err := json.Unmarshal(body, &req); err != nil {
		pInvalid("Invalid JSON payload received. " + err.Error()).write(w)
		return
	}
	if len(req.ResourceNames) == 0 || len(req.ResourceNames) > 500 {
		pInvalid("resourceNames must name between 1 and 500 people.").write(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var ps []*person
	for _, rn := range req.ResourceNames {
		p := s.livePerson(u, rn)
		if p == nil {
			pInvalid("Resource name not found: " + rn).write(w)
			return
		}
		if !containsPerson(ps, p) {
			ps = append(ps, p)
		}
	}
	for _, p := range ps {
		s.deletePersonLocked(u, p)
	}
	writeJSON(w, 200, obj{})
}

// grpcCode is google.rpc.Code by status name, for per-item statuses.
var grpcCode = map[string]int{"INVALID_ARGUMENT": 3, "NOT_FOUND": 5, "ALREADY_EXISTS": 6, "PERMISSION_DENIED": 7,
	"RESOURCE_EXHAUSTED": 8, "FAILED_PRECONDITION": 9}

func containsPerson(ps []*person, p *person) bool {
	for _, x := range ps {
		if x == p {
			return true
		}
	}
	return false
}
