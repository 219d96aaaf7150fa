package msidentity

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// handleTokenInfo is the stand-in for Exchange Online's own validation of
// XOAUTH2 tokens (see the package documentation), in the shape Dovecot's
// oauth2 passdb reads from a tokeninfo_url: every value a string, the
// account's address in "email", the access token's scopes in "scope".
func (s *Server) handleTokenInfo(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "invalid_request", "error_description": "GET or POST only"})
		return
	}
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": err.Error()})
		return
	}
	tok := r.Form.Get("access_token")
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.access[tok]
	now := s.now()
	if tok == "" || !ok || !now.Before(at.expires) || at.grant.revoked {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_token", "error_description": "The access token is unknown, expired or revoked."})
		return
	}
	u := at.grant.user
	writeJSON(w, http.StatusOK, map[string]string{
		"aud":        at.grant.clientID,
		"email":      u.email,
		"oid":        u.oid,
		"tid":        u.tid,
		"scope":      strings.Join(at.scopes, " "),
		"exp":        strconv.FormatInt(at.expires.Unix(), 10),
		"expires_in": strconv.FormatInt(int64(at.expires.Sub(now).Seconds()), 10),
	})
}

// serveControl answers the control API under /emulator/ (see the package
// documentation). Errors answer 400 with {"error":"…"}.
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	route := r.Method + " " + strings.TrimPrefix(r.URL.Path, controlPrefix)
	var in struct {
		Email string `json:"email"`
		Name  string `json:"name"`
		On    bool   `json:"on"`
	}
	if r.Method == http.MethodPost {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		if err == nil && len(strings.TrimSpace(string(body))) > 0 {
			err = json.Unmarshal(body, &in)
		}
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad JSON: " + err.Error()})
			return
		}
	}
	var err error
	switch route {
	case "POST users":
		if in.Email == "" || !strings.Contains(in.Email, "@") {
			err = errors.New("email is required")
			break
		}
		s.AddUser(in.Email, in.Name)
	case "POST auto-approve":
		s.SetAutoApprove(in.Email)
	case "POST auto-deny":
		s.SetAutoDeny(in.On)
	case "POST revoke":
		if in.Email == "" {
			err = errors.New("email is required")
			break
		}
		s.Revoke(in.Email)
	case "POST expire-access-tokens":
		s.ExpireAccessTokens()
	case "POST invalidate-rotated":
		s.SetInvalidateRotated(in.On)
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "unknown control " + route})
		return
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}
