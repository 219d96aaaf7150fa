// Package davserver starts real CalDAV/CardDAV servers for tests: a private
// Radicale (Debian radicale) and a private Xandikos (Debian xandikos), each
// on a free loopback port with its collections in a temporary directory,
// with one user and an app password, stopped by PID when the test ends.
//
// Authentication: Radicale checks the password itself (htpasswd, plain
// encryption: bcrypt would need python3-bcrypt and costs ~0.1 s a request).
// Xandikos has no authentication of its own (it expects a front server), so
// the harness puts a small reverse proxy in the test process in front of it
// that enforces HTTP Basic auth with the same user and password and passes
// requests on unchanged; URL() is the proxy's. A client therefore sees the
// same thing from both servers: 401 without or with a wrong password.
//
// Restart kills the server with SIGKILL and starts it again on the same
// port and directory (for convergence tests); the proxy in front of
// Xandikos keeps running, so the URL does not change.
//
// Missing packages are installed with apt-get when running as root;
// otherwise the tests skip, saying why. scripts/test installs them
// beforehand.
package davserver

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/testenv/daemon"
)

// Kind names a server implementation.
type Kind string

const (
	Radicale Kind = "radicale"
	Xandikos Kind = "xandikos"
)

// Kinds lists every server the harness can start, for table-driven tests.
var Kinds = []Kind{Radicale, Xandikos}

const (
	radicaleBin = "/usr/bin/radicale"
	xandikosBin = "/usr/bin/xandikos"
)

// DefaultUser and DefaultPassword are the account Start creates.
const (
	DefaultUser     = "alice"
	DefaultPassword = "alice-app-password"
)

// Server is a running DAV server.
type Server struct {
	kind     Kind
	dir      string
	user     string
	password string
	port     int // the server's own port
	url      string

	mu     sync.Mutex
	d      *daemon.Process
	proxy  *http.Server // Xandikos only
	closed bool
}

// Start starts a server of the given kind for the test and stops it when
// the test ends.
func Start(t testing.TB, kind Kind) *Server {
	t.Helper()
	requireBinaries(t)
	s, err := New(kind, dataDir(t))
	if err != nil {
		t.Fatalf("davserver: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("davserver: %v", err)
		}
	})
	return s
}

// dataDir is a temporary directory on tmpfs when there is one: both
// servers fsync every write (Radicale cannot be told otherwise from its
// config file), which on disk makes filling a collection of 250 items take
// ~15 s instead of ~1 s.
func dataDir(t testing.TB) string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "tandem-dav-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(d) })
			return d
		}
	}
	return t.TempDir()
}

// New starts a server of the given kind with its data under dir; Close
// stops it.
func New(kind Kind, dir string) (*Server, error) {
	if kind != Radicale && kind != Xandikos {
		return nil, fmt.Errorf("unknown server kind %q", kind)
	}
	s := &Server{kind: kind, dir: dir, user: DefaultUser, password: DefaultPassword}
	if err := os.MkdirAll(filepath.Join(dir, "collections"), 0o755); err != nil {
		return nil, err
	}
	var lastErr error
	// A free port can be taken between the probe and the server's bind by
	// another test on the machine; try a few.
	for range 5 {
		port, err := daemon.FreePort()
		if err != nil {
			return nil, err
		}
		s.port = port
		if err := s.launch(); err != nil {
			lastErr = err
			if errors.Is(err, errPortTaken) {
				continue
			}
			return nil, err
		}
		lastErr = nil
		break
	}
	if lastErr != nil {
		return nil, lastErr
	}
	if kind == Radicale {
		s.url = fmt.Sprintf("http://127.0.0.1:%d/", s.port)
		return s, nil
	}
	if err := s.startProxy(); err != nil {
		s.d.Kill()
		return nil, err
	}
	return s, nil
}

var errPortTaken = errors.New("port taken")

func (s *Server) logPath() string { return filepath.Join(s.dir, string(s.kind)+".log") }

// launch starts the server process on s.port and waits until it answers.
func (s *Server) launch() error {
	var bin string
	var args []string
	switch s.kind {
	case Radicale:
		users := filepath.Join(s.dir, "users")
		if err := os.WriteFile(users, []byte(s.user+":"+s.password+"\n"), 0o600); err != nil {
			return err
		}
		conf := fmt.Sprintf(`[server]
hosts = 127.0.0.1:%d
[auth]
type = htpasswd
htpasswd_filename = %s
htpasswd_encryption = plain
# no delay after a failed login: the tests try a wrong password on purpose
delay = 0
[storage]
filesystem_folder = %s
[rights]
type = owner_only
[logging]
level = warning
`, s.port, users, filepath.Join(s.dir, "collections"))
		confPath := filepath.Join(s.dir, "radicale.conf")
		if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
			return err
		}
		bin, args = radicaleBin, []string{"--config", confPath}
	case Xandikos:
		bin, args = xandikosBin, []string{
			"-d", filepath.Join(s.dir, "collections"),
			"-l", "127.0.0.1", "-p", strconv.Itoa(s.port),
			// The principal is /alice/ (as on Radicale), created with its
			// calendar and address book home sets; collections are made by
			// the tests.
			"--current-user-principal", "/" + s.user + "/", "--autocreate",
		}
	}
	d, err := daemon.Start(daemon.Config{Name: string(s.kind), Bin: bin, Args: args, Out: s.logPath()})
	if err != nil {
		return err
	}
	if err := d.WaitListening(30*time.Second, s.port); err != nil {
		d.Kill()
		log := d.Output()
		if errors.Is(err, daemon.ErrExited) && strings.Contains(strings.ToLower(log), "address already in use") {
			return fmt.Errorf("%w: %w: %s", errPortTaken, err, log)
		}
		return fmt.Errorf("%w: %s", err, log)
	}
	s.mu.Lock()
	s.d = d
	s.mu.Unlock()
	return nil
}

// startProxy puts the Basic-auth reverse proxy in front of Xandikos.
func (s *Server) startProxy() error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	target := &url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(s.port)}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			// Xandikos builds absolute URLs from Host in a few places
			// (redirects); keep the client's.
			r.Out.Host = r.In.Host
			r.Out.Header.Del("Authorization")
		},
		ErrorLog: nil,
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(s.user)) != 1 ||
			subtle.ConstantTimeCompare([]byte(p), []byte(s.password)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="xandikos"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		rp.ServeHTTP(w, r)
	})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l) //nolint:errcheck // ends with Close
	s.proxy = srv
	s.url = "http://" + l.Addr().String() + "/"
	return nil
}

// Kind is the server's implementation.
func (s *Server) Kind() Kind { return s.kind }

// URL is the server's root URL (with a trailing slash), where a client
// starts discovery.
func (s *Server) URL() string { return s.url }

// User and Password are the account's credentials.
func (s *Server) User() string     { return s.user }
func (s *Server) Password() string { return s.password }

// HomeURL is the user's principal collection, under which the helpers
// create collections.
func (s *Server) HomeURL() string { return s.url + s.user + "/" }

// AddressBookHome and CalendarHome are where new address books and
// calendars go: Radicale keeps both in the principal collection, Xandikos
// has separate home sets.
func (s *Server) AddressBookHome() string {
	if s.kind == Xandikos {
		return s.HomeURL() + "contacts/"
	}
	return s.HomeURL()
}

func (s *Server) CalendarHome() string {
	if s.kind == Xandikos {
		return s.HomeURL() + "calendars/"
	}
	return s.HomeURL()
}

// PID is the server process's PID (for tests that kill it themselves).
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.d.PID()
}

// Restart kills the server with SIGKILL, as a crash would, and starts it
// again on the same port and directory.
func (s *Server) Restart() error {
	s.mu.Lock()
	d := s.d
	s.mu.Unlock()
	d.Kill()
	// The port is free once the process is gone (the listener had
	// SO_REUSEADDR); retry briefly in case the kernel is slow to let go.
	var err error
	for range 50 {
		if err = s.launch(); err == nil || !errors.Is(err, errPortTaken) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("restart %s: %w", s.kind, err)
}

// Close stops the server (and the proxy) and checks no listener is left.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	d := s.d
	s.mu.Unlock()
	var errs []error
	if s.proxy != nil {
		errs = append(errs, s.proxy.Close())
	}
	// SIGKILL: the data directory is thrown away, and Radicale sometimes
	// takes over 10 s to act on SIGTERM while its worker threads finish.
	d.Kill()
	if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(s.port), time.Second); err == nil {
		c.Close()
		errs = append(errs, fmt.Errorf("%s: port %d still listening after stop", s.kind, s.port))
	}
	return errors.Join(errs...)
}

// ForgetSyncTokens makes Radicale forget every sync token it gave out for
// the collection at u, as a server that expires old tokens does: a client
// asking for changes since one of them is refused (DAV:valid-sync-token)
// once the collection has changed. Xandikos derives its tokens from its
// history and cannot forget them.
func (s *Server) ForgetSyncTokens(u string) error {
	if s.kind != Radicale {
		return fmt.Errorf("%s cannot forget sync tokens", s.kind)
	}
	pu, err := url.Parse(u)
	if err != nil {
		return err
	}
	rel := strings.Trim(pu.Path, "/")
	if rel == "" || strings.Contains(rel, "..") {
		return fmt.Errorf("not a collection: %q", u)
	}
	return os.RemoveAll(filepath.Join(s.dir, "collections", "collection-root", filepath.FromSlash(rel), ".Radicale.cache", "sync-token"))
}

// --- collections -----------------------------------------------------------

// CreateAddressBook creates an address book named name under the address
// book home and returns its URL.
func (s *Server) CreateAddressBook(ctx context.Context, name, displayName string) (string, error) {
	u := s.AddressBookHome() + name + "/"
	body := `<?xml version="1.0" encoding="utf-8"?>
<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop>
<D:resourcetype><D:collection/><C:addressbook/></D:resourcetype>
<D:displayname>` + xmlEscape(displayName) + `</D:displayname>
</D:prop></D:set></D:mkcol>`
	return u, s.do(ctx, "MKCOL", u, body, http.StatusCreated)
}

// CreateCalendar creates a calendar named name under the calendar home
// whose supported components are comps (e.g. "VEVENT", "VTODO") and
// returns its URL.
func (s *Server) CreateCalendar(ctx context.Context, name, displayName string, comps ...string) (string, error) {
	u := s.CalendarHome() + name + "/"
	var set strings.Builder
	for _, c := range comps {
		set.WriteString(`<C:comp name="` + xmlEscape(c) + `"/>`)
	}
	body := `<?xml version="1.0" encoding="utf-8"?>
<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>
<D:displayname>` + xmlEscape(displayName) + `</D:displayname>
<C:supported-calendar-component-set>` + set.String() + `</C:supported-calendar-component-set>
</D:prop></D:set></C:mkcalendar>`
	return u, s.do(ctx, "MKCALENDAR", u, body, http.StatusCreated)
}

// Put stores an object at u behind the client's back (no preconditions),
// as another client of the server would; it returns the new ETag if the
// server sent one.
func (s *Server) Put(ctx context.Context, u, contentType string, data []byte) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, bytes.NewReader(data))
	if err != nil {
		return "", err
	}
	req.SetBasicAuth(s.user, s.password)
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("PUT %s: %s: %s", u, resp.Status, b)
	}
	return resp.Header.Get("ETag"), nil
}

// Delete removes u behind the client's back.
func (s *Server) Delete(ctx context.Context, u string) error {
	return s.do(ctx, http.MethodDelete, u, "", http.StatusNoContent, http.StatusOK)
}

func (s *Server) do(ctx context.Context, method, u, body string, want ...int) error {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, r)
	if err != nil {
		return err
	}
	req.SetBasicAuth(s.user, s.password)
	if body != "" {
		req.Header.Set("Content-Type", `application/xml; charset="utf-8"`)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if !slices.Contains(want, resp.StatusCode) {
		return fmt.Errorf("%s %s: %s: %s", method, u, resp.Status, b)
	}
	return nil
}

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// --- installation ----------------------------------------------------------

var installMu sync.Mutex

// Install installs radicale and xandikos with apt-get when missing; when
// they are and the process is not root, it says so.
func Install() error {
	installMu.Lock()
	defer installMu.Unlock()
	var missing []string
	for bin, pkg := range map[string]string{radicaleBin: "radicale", xandikosBin: "xandikos"} {
		if _, err := os.Stat(bin); err != nil {
			missing = append(missing, pkg)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	slices.Sort(missing)
	if os.Geteuid() != 0 {
		return fmt.Errorf("missing %s and not root to install them", strings.Join(missing, " "))
	}
	for _, args := range [][]string{
		{"-o", "DPkg::Lock::Timeout=300", "update", "-qq"},
		append([]string{"-o", "DPkg::Lock::Timeout=300", "install", "-y", "-qq", "--no-install-recommends"}, missing...),
	} {
		cmd := exec.Command("apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			if len(out) > 1000 {
				out = out[len(out)-1000:]
			}
			return fmt.Errorf("apt-get %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

var install = sync.OnceValue(Install)

func requireBinaries(t testing.TB) {
	t.Helper()
	if err := install(); err != nil {
		t.Skipf("davserver: Radicale/Xandikos unavailable (%v); scripts/test installs radicale and xandikos", err)
	}
}
