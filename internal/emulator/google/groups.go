package google

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

type group struct {
	id, name, formatted string
	system              bool
	clientData          json.RawMessage
	seq                 int64
	updated             time.Time
	deleted             bool
}

var systemGroups = []struct{ id, formatted string }{
	{"myContacts", "My Contacts"},
	{"starred", "Starred"},
	{"friends", "Friends"},
	{"family", "Family"},
	{"coworkers", "Coworkers"},
	{"chatBuddies", "Chat contacts"},
}

// systemGroupAcceptsAdd: among system groups only myContacts and starred
// accept additions (apis.md §1.4).
func systemGroupAcceptsAdd(id string) bool { return id == "myContacts" || id == "starred" }

var groupFieldNames = map[string]bool{"clientData": true, "groupType": true, "memberCount": true, "metadata": true, "name": true}

const defaultGroupFields = "metadata,groupType,memberCount,name"

func (s *Server) groupEtag(g *group) string {
	return s.hashTag("%", "group", g.id, strconv.FormatInt(g.seq, 10))
}

// members lists the resource names of a group's members, oldest first.
func groupMembers(u *user, id string) []string {
	var ps []*person
	for _, p := range u.persons {
		if !p.deleted && p.hasGroup(id) {
			ps = append(ps, p)
		}
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].createdSeq < ps[j].createdSeq })
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = "people/" + p.id
	}
	return out
}

func (s *Server) renderGroup(u *user, g *group, fields map[string]bool, maxMembers int) obj {
	o := obj{{"resourceName", "contactGroups/" + g.id}, {"etag", s.groupEtag(g)}}
	if g.deleted {
		o.add("metadata", obj{{"updateTime", g.updated.UTC().Format("2006-01-02T15:04:05.000000Z")}, {"deleted", true}})
		return o
	}
	if fields["metadata"] {
		o.add("metadata", obj{{"updateTime", g.updated.UTC().Format("2006-01-02T15:04:05.000000Z")}})
	}
	if fields["groupType"] {
		t := "USER_CONTACT_GROUP"
		if g.system {
			t = "SYSTEM_CONTACT_GROUP"
		}
		o.add("groupType", t)
	}
	if fields["name"] {
		o.add("name", g.name)
		f := g.formatted
		if f == "" {
			f = g.name
		}
		o.add("formattedName", f)
	}
	members := groupMembers(u, g.id)
	if maxMembers > 0 && len(members) > 0 {
		if len(members) > maxMembers {
			members = members[:maxMembers]
		}
		o.add("memberResourceNames", members)
	}
	if fields["memberCount"] {
		if n := len(groupMembers(u, g.id)); n > 0 {
			o.add("memberCount", n)
		}
	}
	if fields["clientData"] && len(g.clientData) > 0 {
		o.add("clientData", g.clientData)
	}
	return o
}

func groupFieldsParam(v string) (map[string]bool, *peopleErr) {
	if v == "" {
		v = defaultGroupFields
	}
	set, _, bad := parseMask(v, groupFieldNames)
	if bad != "" {
		return nil, pInvalid(fmt.Sprintf("Invalid groupFields mask path: %q.", bad))
	}
	return set, nil
}

func groupID(segs []string) string { return segs[1] }

func (s *Server) liveGroup(u *user, id string) *group {
	g := u.groups[id]
	if g == nil || g.deleted {
		return nil
	}
	return g
}

func (s *Server) groupsList(w http.ResponseWriter, r *http.Request, u *user, segs []string) {
	q := r.URL.Query()
	fields, e := groupFieldsParam(q.Get("groupFields"))
	if e != nil {
		e.write(w)
		return
	}
	pageSize := 30
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
	s.mu.Lock()
	defer s.mu.Unlock()
	var from, snapshot int64
	inc := q.Get("syncToken") != ""
	if inc {
		st, err := s.decodeCursor(q.Get("syncToken"), "gs")
		if err != nil || st.User != u.email || st.Gen != u.gen {
			pExpiredSyncToken().write(w)
			return
		}
		from = st.Pos
	}
	var pc cursor
	paging := q.Get("pageToken") != ""
	if paging {
		var err error
		pc, err = s.decodeCursor(q.Get("pageToken"), "gp")
		if err != nil || pc.User != u.email {
			pInvalid("Page token is invalid.").write(w)
			return
		}
		if pc.Hash != paramHash(q) {
			pInvalid("Parameters provided to contactGroups.list must match the first call that provided the page token.").write(w)
			return
		}
		snapshot = pc.Pos
	} else {
		snapshot = u.seq
	}
	var gs []*group
	for _, g := range u.groups {
		if inc {
			if g.seq <= from || g.seq > snapshot {
				continue
			}
		} else if g.deleted {
			continue
		}
		gs = append(gs, g)
	}
	sort.Slice(gs, func(i, j int) bool { return personKey{gs[i].seq, gs[i].id}.less(personKey{gs[j].seq, gs[j].id}) })
	total := len(gs)
	if paging {
		after := personKey{pc.C1, pc.C2}
		i := sort.Search(len(gs), func(i int) bool { return after.less(personKey{gs[i].seq, gs[i].id}) })
		gs = gs[i:]
	}
	more := len(gs) > pageSize
	if more {
		gs = gs[:pageSize]
	}
	resp := obj{}
	if len(gs) > 0 {
		var out []any
		for _, g := range gs {
			out = append(out, s.renderGroup(u, g, fields, 0))
		}
		resp.add("contactGroups", out)
	}
	if total > 0 {
		resp.add("totalItems", total)
	}
	if more {
		last := gs[len(gs)-1]
		resp.add("nextPageToken", s.encodeCursor(cursor{Kind: "gp", User: u.email, Gen: u.gen, Pos: snapshot, Hash: paramHash(q), C1: last.seq, C2: last.id}))
	} else {
		resp.add("nextSyncToken", s.encodeCursor(cursor{Kind: "gs", User: u.email, Gen: u.gen, Pos: snapshot}))
	}
	writeJSON(w, 200, resp)
}

func (s *Server) groupsGet(w http.ResponseWriter, r *http.Request, u *user, segs []string) {
	q := r.URL.Query()
	fields, e := groupFieldsParam(q.Get("groupFields"))
	if e != nil {
		e.write(w)
		return
	}
	maxMembers := 0
	if v := q.Get("maxMembers"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			pInvalid("maxMembers must be a non-negative integer.").write(w)
			return
		}
		maxMembers = n
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.liveGroup(u, groupID(segs))
	if g == nil {
		pNotFound().write(w)
		return
	}
	writeJSON(w, 200, s.renderGroup(u, g, fields, maxMembers))
}

type groupBody struct {
	ContactGroup *struct {
		Name       string          `json:"name"`
		Etag       string          `json:"etag"`
		ClientData json.RawMessage `json:"clientData"`
	} `json:"contactGroup"`
	ReadGroupFields   string `json:"readGroupFields"`
	UpdateGroupFields string `json:"updateGroupFields"`
}

func decodeGroupBody(r *http.Request) (*groupBody, *peopleErr) {
	body, _ := readBody(r, 1<<20)
	var b groupBody
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, pInvalid("Invalid JSON payload received. " + err.Error())
	}
	if b.ContactGroup == nil {
		return nil, pInvalid("contactGroup is required.")
	}
	return &b, nil
}

func (s *Server) groupNameTaken(u *user, name, except string) bool {
	for _, g := range u.groups {
		if g.deleted || g.id == except {
			continue
		}
		if g.name == name || (g.system && g.formatted == name) {
			return true
		}
	}
	return false
}

func (s *Server) createGroupLocked(u *user, name string, clientData json.RawMessage) (*group, *peopleErr) {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, pInvalid("contactGroup.name is required.")
	}
	if s.groupNameTaken(u, name, "") {
		return nil, &peopleErr{code: 409, status: "ALREADY_EXISTS", message: "Cannot create contact group with duplicate name.",
			errors: []errItem{{Message: "Cannot create contact group with duplicate name.", Domain: "global", Reason: "duplicate"}}}
	}
	var id string
	for {
		s.idSeq++
		id = strconv.FormatUint(uint64FromBytes(s.idBytes("group", s.idSeq))>>4, 16)
		if _, taken := u.groups[id]; !taken {
			break
		}
	}
	g := &group{id: id, name: name}
	if cd, e := normalizeClientData(clientData); e != nil {
		return nil, e
	} else {
		g.clientData = cd
	}
	g.seq, g.updated = s.tick(u)
	u.groups[id] = g
	return g, nil
}

func normalizeClientData(raw json.RawMessage) (json.RawMessage, *peopleErr) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var items []struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	}
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, pInvalid("Invalid value at 'contact_group.client_data'")
	}
	if len(items) == 0 {
		return nil, nil
	}
	var out []any
	for _, it := range items {
		out = append(out, obj{{"key", it.Key}, {"value", it.Value}})
	}
	return rawJSON(out), nil
}

func (s *Server) groupsCreate(w http.ResponseWriter, r *http.Request, u *user, segs []string) {
	b, e := decodeGroupBody(r)
	if e != nil {
		e.write(w)
		return
	}
	fields, e := groupFieldsParam(b.ReadGroupFields)
	if e != nil {
		e.write(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, e := s.createGroupLocked(u, b.ContactGroup.Name, b.ContactGroup.ClientData)
	if e != nil {
		e.write(w)
		return
	}
	writeJSON(w, 200, s.renderGroup(u, g, fields, 0))
}

func (s *Server) groupsUpdate(w http.ResponseWriter, r *http.Request, u *user, segs []string) {
	b, e := decodeGroupBody(r)
	if e != nil {
		e.write(w)
		return
	}
	fields, e := groupFieldsParam(b.ReadGroupFields)
	if e != nil {
		e.write(w)
		return
	}
	ugf := b.UpdateGroupFields
	if ugf == "" {
		ugf = "name"
	}
	upd, _, bad := parseMask(ugf, map[string]bool{"name": true, "clientData": true})
	if bad != "" {
		pInvalid(fmt.Sprintf("Invalid updateGroupFields mask path: %q.", bad)).write(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.liveGroup(u, groupID(segs))
	if g == nil {
		pNotFound().write(w)
		return
	}
	if g.system {
		pFailedPrecondition("Cannot update a system contact group.").write(w)
		return
	}
	if et := b.ContactGroup.Etag; et != "" && et != s.groupEtag(g) {
		pFailedPrecondition("Request contactGroup.etag is different than the current contactGroup.etag. Clear local cache and get the latest contact group.").write(w)
		return
	}
	name := strings.TrimSpace(b.ContactGroup.Name)
	if upd["name"] {
		if name == "" {
			pInvalid("contactGroup.name is required.").write(w)
			return
		}
		if s.groupNameTaken(u, name, g.id) {
			(&peopleErr{code: 409, status: "ALREADY_EXISTS", message: "Cannot update contact group with duplicate name."}).write(w)
			return
		}
	}
	var cd json.RawMessage
	if upd["clientData"] {
		cd, e = normalizeClientData(b.ContactGroup.ClientData)
		if e != nil {
			e.write(w)
			return
		}
	}
	if upd["name"] {
		g.name = name
	}
	if upd["clientData"] {
		g.clientData = cd
	}
	g.seq, g.updated = s.tick(u)
	writeJSON(w, 200, s.renderGroup(u, g, fields, 0))
}

func (s *Server) deleteGroupLocked(u *user, g *group, deleteContacts bool) {
	for _, rn := range groupMembers(u, g.id) {
		p := s.livePerson(u, rn)
		if deleteContacts {
			s.deletePersonLocked(u, p)
			continue
		}
		var keep []string
		for _, x := range p.groups {
			if x != g.id {
				keep = append(keep, x)
			}
		}
		p.groups = keep
		s.touchPerson(u, p)
	}
	g.deleted = true
	g.seq, g.updated = s.tick(u)
}

func (s *Server) groupsDelete(w http.ResponseWriter, r *http.Request, u *user, segs []string) {
	delContacts, _, err := queryBool(r.URL.Query(), "deleteContacts")
	if err != nil {
		pInvalid("Invalid value at 'delete_contacts' (TYPE_BOOL)").write(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.liveGroup(u, groupID(segs))
	if g == nil {
		pNotFound().write(w)
		return
	}
	if g.system {
		pFailedPrecondition("Cannot delete a system contact group.").write(w)
		return
	}
	s.deleteGroupLocked(u, g, delContacts)
	writeJSON(w, 200, obj{})
}

// modifyMembersLocked adds and removes members; see contactGroups.members.modify.
func (s *Server) modifyMembersLocked(u *user, g *group, add, remove []string) (notFound, cannotRemove []string, e *peopleErr) {
	if len(add)+len(remove) > 1000 {
		return nil, nil, pInvalid("Too many resource names: at most 1000 may be added and removed in one request.")
	}
	if len(add) > 0 && g.system && !systemGroupAcceptsAdd(g.id) {
		return nil, nil, pFailedPrecondition("Cannot add contacts to system contact group contactGroups/" + g.id + ".")
	}
	changed := false
	for _, rn := range add {
		p := s.livePerson(u, rn)
		if p == nil {
			notFound = append(notFound, rn)
			continue
		}
		if !p.hasGroup(g.id) {
			p.groups = append(p.groups, g.id)
			s.touchPerson(u, p)
			changed = true
		}
	}
	for _, rn := range remove {
		p := s.livePerson(u, rn)
		if p == nil {
			notFound = append(notFound, rn)
			continue
		}
		if !p.hasGroup(g.id) {
			continue
		}
		if len(p.groups) == 1 {
			cannotRemove = append(cannotRemove, rn)
			continue
		}
		var keep []string
		for _, x := range p.groups {
			if x != g.id {
				keep = append(keep, x)
			}
		}
		p.groups = keep
		s.touchPerson(u, p)
		changed = true
	}
	if changed {
		g.seq, g.updated = s.tick(u)
	}
	return notFound, cannotRemove, nil
}

func (s *Server) groupsMembersModify(w http.ResponseWriter, r *http.Request, u *user, segs []string) {
	var req struct {
		Add    []string `json:"resourceNamesToAdd"`
		Remove []string `json:"resourceNamesToRemove"`
	}
	body, _ := readBody(r, 4<<20)
	if len(body) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			pInvalid("Invalid JSON payload received. " + err.Error()).write(w)
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.liveGroup(u, groupID(segs))
	if g == nil {
		pNotFound().write(w)
		return
	}
	nf, cr, e := s.modifyMembersLocked(u, g, req.Add, req.Remove)
	if e != nil {
		e.write(w)
		return
	}
	resp := obj{}
	if len(nf) > 0 {
		resp.add("notFoundResourceNames", nf)
	}
	if len(cr) > 0 {
		resp.add("canNotRemoveLastContactGroupResourceNames", cr)
	}
	writeJSON(w, 200, resp)
}
