package google

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// AdminPrefix is the path prefix of the emulator's own API (adminPrefix):
// JSON over HTTP for a driver in another process (`tandem bench sync` runs
// the emulator as a child process), doing what the Go helpers of this
// package do in process. It is not part of any Google API and needs no
// token; the emulator listens on loopback. Besides the quota endpoints
// (handleAdmin):
//
//	POST /emulator/users         {"email","name"}                     AddUser
//	POST /emulator/auto-approve  {"email"}                            SetAutoApprove ("" turns it off)
//	POST /emulator/groups        {"user","name"}                      CreateContactGroup → {"resourceName"}
//	POST /emulator/contacts      {"user","persons":[person…]}         CreateContact each → {"resourceNames":[…]}
//	POST /emulator/contacts:update {"user","updates":[{"resourceName","person","fields":[…]}…]}
//	                                                                  UpdateContact each → {"updated":n}
//	GET  /emulator/contacts:count?user=…[&group=contactGroups/…]      live contacts (in the group) → {"count":n}
//	GET  /emulator/calls                                              Calls → {"people.connections.list":n,…}
//
// Errors answer 400 (bad request) or 404 (unknown user or contact) with
// {"error":"…"}.
const AdminPrefix = adminPrefix

// serveAdmin answers the admin API (paths under AdminPrefix); what it does
// not know goes to handleAdmin.
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	route := r.Method + " " + strings.TrimPrefix(r.URL.Path, AdminPrefix)
	var out any
	var err error
	switch route {
	case "POST users":
		var in struct{ Email, Name string }
		if err = decodeAdmin(r, &in); err == nil {
			if in.Email == "" {
				err = adminErr(400, "email is required")
				break
			}
			s.AddUser(in.Email, in.Name)
			out = struct{}{}
		}
	case "POST auto-approve":
		var in struct{ Email string }
		if err = decodeAdmin(r, &in); err == nil {
			s.SetAutoApprove(in.Email)
			out = struct{}{}
		}
	case "POST groups":
		var in struct{ User, Name string }
		if err = decodeAdmin(r, &in); err == nil {
			var rn string
			if rn, err = s.CreateContactGroup(in.User, in.Name); err == nil {
				out = map[string]string{"resourceName": rn}
			}
		}
	case "POST contacts":
		var in struct {
			User    string
			Persons []json.RawMessage
		}
		if err = decodeAdmin(r, &in); err == nil {
			names := make([]string, 0, len(in.Persons))
			for _, p := range in.Persons {
				var rn string
				if rn, err = s.CreateContact(in.User, p); err != nil {
					break
				}
				names = append(names, rn)
			}
			if err == nil {
				out = map[string][]string{"resourceNames": names}
			}
		}
	case "POST contacts:update":
		var in struct {
			User    string
			Updates []struct {
				ResourceName string          `json:"resourceName"`
				Person       json.RawMessage `json:"person"`
				Fields       []string        `json:"fields"`
			}
		}
		if err = decodeAdmin(r, &in); err == nil {
			for _, u := range in.Updates {
				if err = s.UpdateContact(in.User, u.ResourceName, u.Person, u.Fields...); err != nil {
					break
				}
			}
			if err == nil {
				out = map[string]int{"updated": len(in.Updates)}
			}
		}
	case "GET contacts:count":
		out, err = s.adminCount(r.URL.Query().Get("user"), r.URL.Query().Get("group"))
	case "GET calls":
		out = s.Calls()
	default:
		s.handleAdmin(w, r) // the quota endpoints, and 404
		return
	}
	if err != nil {
		code := http.StatusBadRequest
		var ae *APIError
		if errors.As(err, &ae) {
			code = ae.Code
		}
		writeJSON(w, code, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// adminCount counts a user's live contacts, or those in group.
func (s *Server) adminCount(email, group string) (map[string]int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(email)
	if err != nil {
		return nil, adminErr(http.StatusNotFound, err.Error())
	}
	id := strings.TrimPrefix(group, "contactGroups/")
	n := 0
	for _, p := range u.persons {
		if !p.deleted && (group == "" || p.hasGroup(id)) {
			n++
		}
	}
	return map[string]int{"count": n}, nil
}

func decodeAdmin(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 256<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return adminErr(http.StatusBadRequest, "bad request body: "+err.Error())
	}
	return nil
}

func adminErr(code int, msg string) error { return &APIError{Code: code, Message: msg} }
