// Package web owns Tandem's HTTP server: the route table that joins the
// JSON API (web/api) and the UI (web/ui), authentication of requests by API
// token or session cookie, CSRF and cross-origin protection, health and
// Prometheus metrics, request logging and panic recovery.
package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tandem-crm/tandem/internal/access"
	appmetrics "github.com/tandem-crm/tandem/internal/metrics"
	"github.com/tandem-crm/tandem/internal/signin"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/web/api"
)

// SessionCookie names the UI session cookie.
const SessionCookie = "tandem_session"

// SessionTTL is how long a UI login lasts.
const SessionTTL = 14 * 24 * time.Hour

// UI is the part of the web UI the server mounts.
type UI interface {
	Routes(mux *http.ServeMux, auth *Auth)
	// BadInput answers a request whose URL or form holds NUL characters
	// or invalid UTF-8 (400).
	BadInput(w http.ResponseWriter, r *http.Request)
}

// Server is the HTTP handler of a Tandem process.
type Server struct {
	handler http.Handler
	Auth    *Auth
	// Registry is what /metrics serves: HTTP requests and the Go runtime;
	// the app adds its own metrics (internal/metrics) to it.
	Registry *prometheus.Registry
}

// Mounter adds routes of its own (webhooks).
type Mounter interface{ Routes(mux *http.ServeMux) }

// New builds the route table. ui may be nil (API-only tests).
func New(st *store.Store, logins *signin.Service, a *api.API, ui UI, log *slog.Logger, extra ...Mounter) *Server {
	auth := &Auth{st: st, logins: logins, log: log}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := st.Ping(ctx); err != nil {
			log.Error("health check failed", "err", err)
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	reg := appmetrics.NewRegistry()
	m := newMetrics(reg)
	reg.MustRegister(logins.Metrics())
	mux.Handle("GET /metrics", appmetrics.Handler(reg, log))
	a.Routes(mux, auth.API)
	if ui != nil {
		ui.Routes(mux, auth)
	}
	for _, m := range extra {
		m.Routes(mux)
	}
	// Cross-origin protection rejects unsafe cross-site browser requests
	// using Fetch metadata; it complements the per-session CSRF token.
	cop := http.NewCrossOriginProtection()
	var h http.Handler = mux
	h = cop.Handler(h)
	var badForm http.HandlerFunc
	if ui != nil {
		badForm = ui.BadInput
	}
	h = cleanInput(badForm, h)
	h = m.wrap(h)
	h = recoverer(log, h)
	h = securityHeaders(h)
	return &Server{handler: h, Auth: auth, Registry: reg}
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Auth resolves who a request acts for.
type Auth struct {
	st     *store.Store
	logins *signin.Service
	log    *slog.Logger
}

// SignIn checks the email and password of a UI login, throttled per
// account and per client address (see package signin).
func (a *Auth) SignIn(r *http.Request, email, password string) (*access.User, error) {
	return a.logins.SignIn(r.Context(), email, password, signin.ClientAddr(r))
}

// API authenticates an API request: a bearer token, or the UI's session
// cookie (then unsafe methods must carry the session's CSRF token in the
// X-CSRF-Token header, so the UI's own scripts can call the API).
func (a *Auth) API(r *http.Request) (access.Viewer, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || tok == "" {
			return access.Viewer{}, false
		}
		uid, err := a.st.APITokenUser(r.Context(), strings.TrimSpace(tok))
		if err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				a.log.ErrorContext(r.Context(), "token check failed", "err", err)
			}
			return access.Viewer{}, false
		}
		v, err := a.st.Viewer(r.Context(), uid)
		return v, err == nil
	}
	v, sess, ok := a.Session(r)
	if !ok {
		return access.Viewer{}, false
	}
	if !safeMethod(r.Method) && r.Header.Get("X-CSRF-Token") != sess.CSRF {
		return access.Viewer{}, false
	}
	return v, true
}

// Session returns the viewer and session of a UI request's cookie.
func (a *Auth) Session(r *http.Request) (access.Viewer, store.Session, bool) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return access.Viewer{}, store.Session{}, false
	}
	v, sess, err := a.st.SessionViewer(r.Context(), c.Value)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			a.log.ErrorContext(r.Context(), "session check failed", "err", err)
		}
		return access.Viewer{}, store.Session{}, false
	}
	return v, sess, true
}

// Login starts a session and sets its cookie.
func (a *Auth) Login(w http.ResponseWriter, r *http.Request, userID string) (store.Session, error) {
	tok, sess, err := a.st.CreateSession(r.Context(), userID, int64(SessionTTL/time.Microsecond))
	if err != nil {
		return store.Session{}, err
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: tok, Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteLaxMode, MaxAge: int(SessionTTL / time.Second)})
	return sess, nil
}

// Logout ends the request's session and clears its cookie.
func (a *Auth) Logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(SessionCookie); err == nil {
		if err := a.st.DeleteSession(r.Context(), c.Value); err != nil {
			a.log.ErrorContext(r.Context(), "logout failed", "err", err)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true, MaxAge: -1})
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; media-src 'self' data:; style-src 'self'; style-src-attr 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'")
		next.ServeHTTP(w, r)
	})
}

// recoverer turns a panic into a logged 500 so one bad request never takes
// the server down.
func recoverer(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.ErrorContext(r.Context(), "panic in handler", "method", r.Method, "path", r.URL.Path, "panic", p)
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tandem_http_requests_total",
			Help: "HTTP requests by route pattern and status code."}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "tandem_http_request_duration_seconds",
			Help: "HTTP request latency by route pattern.", Buckets: prometheus.DefBuckets}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (m *metrics) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		// The mux records the matched pattern on the request; label by it
		// (not the raw path) to keep the number of series bounded.
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		m.requests.WithLabelValues(route, strconv.Itoa(sw.status)).Inc()
		m.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}

// cleanInput refuses URLs and form bodies with NUL characters or invalid
// UTF-8 before any handler sees them: PostgreSQL rejects both in text, and
// no path, query or form field of ours has a use for them. A refused form
// post gets the UI's page saying so (badForm), in the user's language.
// API bodies are JSON whatever their Content-Type (curl -d sends a form
// type): they are left to the API's decoder, which names the bad field.
// maxFormBody bounds a UI form post with files (mail attachments are the
// largest).
const maxFormBody = 64 << 20

func cleanInput(badForm http.HandlerFunc, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		isAPI := strings.HasPrefix(r.URL.Path, "/api/")
		bad := !cleanString(r.URL.Path) || !cleanValues(r.URL.Query())
		if !bad && !isAPI && r.Method == http.MethodPost {
			ct := r.Header.Get("Content-Type")
			if strings.HasPrefix(ct, "application/x-www-form-urlencoded") || strings.HasPrefix(ct, "multipart/form-data") {
				// Parsing here caches the form for the handler; multipart
				// files stay on the request untouched.
				if strings.HasPrefix(ct, "multipart/") {
					// Bounded: a form's files spill to disk past 32 MiB
					// and would otherwise fill it.
					r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
					r.ParseMultipartForm(32 << 20)
				} else {
					r.ParseForm()
				}
				bad = !cleanValues(r.PostForm)
			}
		}
		if bad {
			switch {
			case isAPI:
				w.Header().Set("Content-Type", "application/problem+json; charset=utf-8")
				w.WriteHeader(http.StatusBadRequest)
				w.Write([]byte(`{"type":"about:blank","title":"Bad Request","status":400,"code":"invalid","detail":"The request contains NUL characters or invalid UTF-8."}` + "\n"))
			case badForm != nil:
				badForm(w, r)
			default:
				http.Error(w, "The request contains NUL characters or invalid UTF-8.", http.StatusBadRequest)
			}
			return
		}
		next.ServeHTTP(w, r)
	})
}

func cleanString(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

func cleanValues(vs map[string][]string) bool {
	for k, list := range vs {
		if !cleanString(k) {
			return false
		}
		for _, v := range list {
			if !cleanString(v) {
				return false
			}
		}
	}
	return true
}
