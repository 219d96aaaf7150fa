package messenger

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// AdminPrefix is the path prefix of the emulator's own control API: JSON
// over HTTP doing what the Go methods of this package do, for tests in
// another process and the standalone emulator (see the package doc for
// the endpoints). It is not part of any Meta API and needs no token; the
// emulator listens on loopback.
const AdminPrefix = "/emulator/"

// adminError is an error of the control API (or of a Go helper) that is
// not a Graph error: 400 for a bad request, 404 for an unknown app, user,
// page or customer.
type adminError struct {
	code int
	msg  string
}

func (e *adminError) Error() string { return e.msg }

func decodeAdmin(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 16<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &adminError{http.StatusBadRequest, "bad request body: " + err.Error()}
	}
	return nil
}

type pagePSID struct {
	Page string `json:"page"`
	PSID string `json:"psid"`
}

func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	route := r.Method + " " + strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, AdminPrefix), "/")
	q := r.URL.Query()
	var out any = map[string]bool{"success": true}
	var err error
	switch {
	case route == "POST apps":
		var in AppConfig
		if err = decodeAdmin(r, &in); err == nil {
			out, err = s.AddApp(in)
		}
	case route == "GET apps":
		out = s.Apps()
	case route == "POST users":
		var in struct{ ID, Name string }
		if err = decodeAdmin(r, &in); err == nil {
			var id string
			if id, err = s.AddUser(in.ID, in.Name); err == nil {
				out = map[string]string{"id": id}
			}
		}
	case route == "POST pages":
		var in PageConfig
		if err = decodeAdmin(r, &in); err == nil {
			var id string
			if id, err = s.AddPage(in); err == nil {
				out = map[string]string{"id": id}
			}
		}
	case route == "POST page-admins":
		var in struct {
			Page  string   `json:"page"`
			User  string   `json:"user"`
			Tasks []string `json:"tasks"`
		}
		if err = decodeAdmin(r, &in); err == nil {
			err = s.AddPageAdmin(in.Page, in.User, in.Tasks...)
		}
	case route == "POST signed-in":
		var in struct{ User string }
		if err = decodeAdmin(r, &in); err == nil {
			err = s.SetSignedIn(in.User)
		}
	case route == "POST auto-approve":
		var in struct{ User string }
		if err = decodeAdmin(r, &in); err == nil {
			err = s.SetAutoApprove(in.User)
		}
	case route == "POST auto-deny":
		var in struct{ On bool }
		if err = decodeAdmin(r, &in); err == nil {
			s.SetAutoDeny(in.On)
		}
	case route == "POST revoke":
		var in struct{ User, App string }
		if err = decodeAdmin(r, &in); err == nil {
			s.Revoke(in.User, in.App)
		}
	case route == "POST expire-tokens":
		s.ExpireTokens()
	case route == "POST page-token":
		var in struct{ App, User, Page string }
		if err = decodeAdmin(r, &in); err == nil {
			var tok string
			if tok, err = s.PageToken(in.App, in.User, in.Page); err == nil {
				out = map[string]string{"access_token": tok}
			}
		}
	case route == "POST customers":
		var in struct{ Page, Name string }
		if err = decodeAdmin(r, &in); err == nil {
			var psid string
			if psid, err = s.AddCustomer(in.Page, in.Name); err == nil {
				out = map[string]string{"psid": psid}
			}
		}
	case route == "POST customers/messages":
		var in struct {
			pagePSID
			Inbound
			Messages []Inbound `json:"messages"`
		}
		if err = decodeAdmin(r, &in); err == nil {
			msgs := in.Messages
			if in.Text != "" || len(in.Attachments) > 0 {
				msgs = append([]Inbound{in.Inbound}, msgs...)
			}
			var mids []string
			if mids, err = s.CustomerSays(in.Page, in.PSID, msgs...); err == nil {
				out = map[string][]string{"mids": mids}
			}
		}
	case route == "POST customers/postback":
		var in struct {
			pagePSID
			Title   string `json:"title"`
			Payload string `json:"payload"`
		}
		if err = decodeAdmin(r, &in); err == nil {
			var mid string
			if mid, err = s.CustomerPostback(in.Page, in.PSID, in.Title, in.Payload); err == nil {
				out = map[string]string{"mid": mid}
			}
		}
	case route == "POST customers/read":
		var in pagePSID
		if err = decodeAdmin(r, &in); err == nil {
			err = s.CustomerReads(in.Page, in.PSID)
		}
	case route == "GET customers/received":
		var msgs []Sent
		if msgs, err = s.Received(q.Get("page"), q.Get("psid")); err == nil {
			out = map[string]any{"messages": msgs}
		}
	case route == "GET customers/next":
		out, err = s.adminNext(r, q.Get("page"), q.Get("psid"), q.Get("index"), q.Get("timeout"))
	case route == "GET customers/actions":
		var acts []string
		if acts, err = s.SenderActions(q.Get("page"), q.Get("psid")); err == nil {
			out = map[string]any{"actions": acts}
		}
	case route == "PUT handover":
		var in struct {
			Page      string   `json:"page"`
			Primary   string   `json:"primary"`
			Secondary []string `json:"secondary"`
		}
		if err = decodeAdmin(r, &in); err == nil {
			err = s.SetHandover(in.Page, in.Primary, in.Secondary...)
		}
	case strings.HasPrefix(route, "POST handover/") && isHandoverOp(strings.TrimPrefix(route, "POST handover/")):
		var in struct {
			pagePSID
			App         string `json:"app"`
			TargetAppID string `json:"target_app_id"`
			Metadata    string `json:"metadata"`
		}
		if err = decodeAdmin(r, &in); err == nil {
			err = s.handover(in.Page, in.App, strings.TrimPrefix(route, "POST handover/"), in.PSID, in.TargetAppID, in.Metadata)
		}
	case route == "GET thread-owner":
		var owner string
		if owner, err = s.ThreadOwner(q.Get("page"), q.Get("psid")); err == nil {
			out = map[string]string{"app_id": owner}
		}
	case route == "POST send":
		var in struct {
			Page string `json:"page"`
			App  string `json:"app"`
			SendRequest
		}
		if err = decodeAdmin(r, &in); err == nil {
			out, err = s.SendAs(in.Page, in.App, in.SendRequest)
		}
	case route == "POST subscribe-page":
		var in struct {
			Page, App string
			Fields    []string
		}
		if err = decodeAdmin(r, &in); err == nil {
			err = s.SubscribePage(in.Page, in.App, in.Fields...)
		}
	case route == "POST subscribe-app":
		var in struct {
			App         string   `json:"app"`
			CallbackURL string   `json:"callback_url"`
			VerifyToken string   `json:"verify_token"`
			Fields      []string `json:"fields"`
		}
		if err = decodeAdmin(r, &in); err == nil {
			err = s.SubscribeApp(r.Context(), in.App, in.CallbackURL, in.VerifyToken, in.Fields...)
		}
	case route == "GET deliveries":
		out = s.DeliverySettings()
	case route == "PUT deliveries":
		var in DeliverySettings
		if err = decodeAdmin(r, &in); err == nil {
			s.SetDeliverySettings(in)
			out = s.DeliverySettings()
		}
	case route == "GET deliveries/log":
		type rec struct {
			DeliveryRecord
			Body string `json:"body"`
		}
		var recs []rec
		for _, d := range s.Deliveries() {
			recs = append(recs, rec{d, string(d.Body)})
		}
		out = map[string]any{"deliveries": recs}
	case route == "GET deliveries/stats":
		out = s.DeliveryStats()
	case route == "POST deliveries/wait":
		ctx, cancel := adminTimeout(r, q.Get("timeout"))
		defer cancel()
		if err = s.WaitDeliveries(ctx); err != nil {
			err = &adminError{http.StatusRequestTimeout, "deliveries still pending: " + err.Error()}
		} else {
			out = s.DeliveryStats()
		}
	case route == "POST faults":
		var in struct {
			Path string    `json:"path"`
			N    int       `json:"n"`
			Kind FaultKind `json:"kind"`
		}
		if err = decodeAdmin(r, &in); err == nil {
			if err = s.FailNext(in.Path, in.N, in.Kind); err != nil {
				err = &adminError{http.StatusBadRequest, err.Error()}
			}
		}
	case route == "DELETE faults":
		s.ClearFaults()
	case route == "PUT send-rate-limit":
		var in struct {
			PerSecond int `json:"per_second"`
		}
		if err = decodeAdmin(r, &in); err == nil {
			s.SetSendRateLimit(in.PerSecond)
		}
	case route == "POST clock/advance":
		var in struct {
			Duration string `json:"duration"`
		}
		if err = decodeAdmin(r, &in); err == nil {
			var d time.Duration
			if d, err = time.ParseDuration(in.Duration); err != nil || d < 0 {
				err = &adminError{http.StatusBadRequest, "duration must be like \"25h\""}
			} else {
				s.AdvanceClock(d)
				out = map[string]string{"now": s.now().UTC().Format(time.RFC3339)}
			}
		}
	case route == "GET requests":
		out = s.RequestCounts()
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such emulator endpoint: " + route})
		return
	}
	if err != nil {
		var ge *GraphError
		var ae *adminError
		switch {
		case errors.As(err, &ge):
			ge.write(w, s.fbtraceID())
		case errors.As(err, &ae):
			writeJSON(w, ae.code, map[string]string{"error": ae.msg})
		default:
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		}
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func adminTimeout(r *http.Request, v string) (context.Context, context.CancelFunc) {
	d := 10 * time.Second
	if x, err := time.ParseDuration(v); err == nil && x > 0 {
		d = x
	}
	return context.WithTimeout(r.Context(), d)
}

func (s *Server) adminNext(r *http.Request, page, psid, index, timeout string) (any, error) {
	n, err := strconv.Atoi(index)
	if err != nil || n < 0 {
		return nil, &adminError{http.StatusBadRequest, "index must be a message number from 0"}
	}
	ctx, cancel := adminTimeout(r, timeout)
	defer cancel()
	m, err := s.NextReceived(ctx, page, psid, n)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return nil, &adminError{http.StatusRequestTimeout, "no message " + index + " yet"}
	}
	return m, err
}
