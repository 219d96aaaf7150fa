// Package mailserver starts real mail servers for tests: a private Dovecot
// (Debian dovecot-imapd + dovecot-lmtpd) serving IMAP, and a private Postfix
// that accepts mail on loopback, relays only for the test domain and
// delivers into that Dovecot over LMTP. Everything — configuration, Maildir
// homes, queue, logs, a self-signed certificate — lives in one temporary
// directory; every port is a free loopback port; both daemons run as
// children of the test process and are stopped by PID in t.Cleanup, which
// also checks that no listener is left behind.
//
// Ports (Server.IMAP / Server.SMTP pick by security):
//
//	IMAP   plain + STARTTLS       IMAP(wire.SecurityNone | wire.SecuritySTARTTLS)
//	IMAPS  implicit TLS           IMAP(wire.SecurityTLS)
//	MX     SMTP, no auth, accepts mail for the test domain only (Deliver uses it)
//	SUBM   submission, SASL via Dovecot, plain + STARTTLS   SMTP(None | STARTTLS)
//	SUBMS  submission, implicit TLS                         SMTP(TLS)
//
// With Options.OAuth, Dovecot also offers XOAUTH2 and OAUTHBEARER (IMAP and,
// through Postfix's Dovecot SASL, submission), validating tokens at the
// given tokeninfo URL (Google's style: GET url+token → JSON with email and
// scope).
//
// With Options.IMAPOnly it starts Dovecot alone, IMAP on one plain port
// without TLS, for programs that are not tests: New starts such a server
// (or a full one) without a testing.TB and Close stops it; the mail
// benchmark (internal/bench) uses it.
//
// It needs root (Dovecot switches to nobody for the Maildirs, Postfix to
// its postfix user). Missing packages are installed with apt-get when
// running as root; the tests skip, saying why, only when the binaries are
// missing and cannot be installed. scripts/test installs them beforehand.
//
// Measured on the 2-core CI kind of machine: Start takes 0.1–0.5 s (up to
// 1.5 s under load), stopping 1.0–1.1 s (Dovecot's master waits a second for
// its children), a Deliver 0.3 s; so tests start their own Server.
package mailserver

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/testenv/daemon"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/tandem-crm/tandem/internal/mail/wire"
)

// DefaultDomain is the mail domain the servers accept mail for.
const DefaultDomain = "example.test"

// Options configure Start.
type Options struct {
	// Domain the SMTP server accepts and Dovecot stores mail for;
	// DefaultDomain when empty.
	Domain string
	// OAuth, when set, adds XOAUTH2 and OAUTHBEARER validated at a
	// tokeninfo endpoint.
	OAuth *OAuth
	// IMAPCapability, when set, replaces the capabilities Dovecot
	// advertises after login (imap_capability), e.g. CapabilityNoCondStore
	// to play a server like Microsoft 365's.
	IMAPCapability string
	// IMAPOnly starts Dovecot alone: IMAP on one loopback port, no TLS
	// (plain login allowed), no LMTP, no Postfix. IMAP(SecurityNone) is
	// its endpoint; SMTP, MX, Deliver and TLSConfig are not available.
	IMAPOnly bool
	// Fsync has Dovecot fsync mail as it does by default (mail_fsync =
	// optimized); without it Dovecot never fsyncs, which makes tests
	// faster.
	Fsync bool
}

// CapabilityNoCondStore is like Microsoft 365's IMAP (apis.md §8): IDLE
// but neither CONDSTORE nor QRESYNC.
const CapabilityNoCondStore = "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ UIDPLUS MOVE NAMESPACE CHILDREN SPECIAL-USE"

// CapabilityNoIdle is a server with neither IDLE nor CONDSTORE.
const CapabilityNoIdle = "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE LITERAL+ UIDPLUS NAMESPACE CHILDREN SPECIAL-USE"

// OAuth configures Dovecot's oauth2 passdb.
type OAuth struct {
	// TokenInfoURL gets the access token appended and must answer 200 with
	// a JSON object holding "email" (the login name) and "scope" for a good
	// token, or 4xx for a bad one — e.g. the Google emulator's
	// base+"/tokeninfo?access_token=".
	TokenInfoURL string
	// Scope, when set, must be among the token's scopes
	// (e.g. "https://mail.google.com/").
	Scope string
}

// Server is a running Dovecot + Postfix pair.
type Server struct {
	opts  Options
	dir   string
	ports struct{ imap, imaps, mx, submission, submissions int }
	tls   *tls.Config

	mu    sync.Mutex
	users map[string]string // email → password

	dovecot, postfix *daemon.Process
}

// Start starts a Dovecot and a Postfix for the test and stops them when it
// ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	requireBinaries(t)
	t0 := time.Now()
	s, err := launch(opts)
	if err != nil {
		t.Fatalf("mailserver: %v", err)
	}
	t.Logf("mailserver: up in %v (%s)", time.Since(t0).Round(time.Millisecond), s.portList())
	t.Cleanup(func() {
		t0 := time.Now()
		if err := s.Close(); err != nil {
			t.Errorf("mailserver: %v", err)
		}
		t.Logf("mailserver: stopped in %v", time.Since(t0).Round(time.Millisecond))
	})
	return s
}

// ErrUnavailable: the servers cannot run here (packages missing and no
// root to install them, or not root).
var ErrUnavailable = errors.New("mail servers unavailable")

// New starts the servers opts describe for a program that is not a test:
// the caller stops them, and removes their directory, with Close. Missing
// packages are installed when running as root; an error wrapping
// ErrUnavailable says they cannot be.
func New(opts Options) (*Server, error) {
	if err := Install(neededFor(opts)...); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("%w: needs root (Dovecot switches to the mail user)", ErrUnavailable)
	}
	return launch(opts)
}

// launch starts the servers, trying again with new ports when a port
// found free was taken before a daemon bound it.
func launch(opts Options) (*Server, error) {
	if opts.Domain == "" {
		opts.Domain = DefaultDomain
	}
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		var s *Server
		if s, err = start(opts); err == nil {
			return s, nil
		}
		if !errors.Is(err, errPortTaken) {
			break
		}
	}
	return nil, err
}

func (s *Server) portList() string {
	names := []string{"IMAP", "IMAPS", "MX", "submission", "submissions"}
	var b strings.Builder
	for i, p := range []int{s.ports.imap, s.ports.imaps, s.ports.mx, s.ports.submission, s.ports.submissions} {
		if p != 0 {
			if b.Len() > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s %d", names[i], p)
		}
	}
	return b.String()
}

var errPortTaken = errors.New("port taken")

// start starts the daemons; on an error it stops what it started and
// removes the directory.
func start(opts Options) (_ *Server, err error) {
	s := &Server{opts: opts, users: map[string]string{}}
	// Not t.TempDir: Dovecot's mail user and Postfix must traverse it, and
	// unix socket paths must stay short.
	s.dir, err = os.MkdirTemp("", "tandem-mail-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.stopDaemons(), os.RemoveAll(s.dir))
		}
	}()
	if err := os.Chmod(s.dir, 0o755); err != nil {
		return nil, err
	}
	ports := []*int{&s.ports.imap}
	if !opts.IMAPOnly {
		ports = append(ports, &s.ports.imaps, &s.ports.mx, &s.ports.submission, &s.ports.submissions)
	}
	for _, p := range ports {
		if *p, err = daemon.FreePort(); err != nil {
			return nil, err
		}
	}
	if err := s.writeFiles(); err != nil {
		return nil, err
	}

	s.dovecot, err = daemon.Start(daemon.Config{Name: "dovecot", Bin: dovecotBin, Args: []string{"-F", "-c", s.path("dovecot.conf")}, Out: s.path("dovecot.out"), DeathSignal: syscall.SIGTERM})
	if err != nil {
		return nil, err
	}
	imapPorts := []int{s.ports.imap}
	if !opts.IMAPOnly {
		imapPorts = append(imapPorts, s.ports.imaps)
	}
	if err := s.waitListening(s.dovecot, s.path("dovecot.log"), imapPorts...); err != nil {
		return nil, err
	}
	if opts.IMAPOnly {
		return s, nil
	}
	if err := waitFile(s.path("auth"), 10*time.Second); err != nil {
		return nil, fmt.Errorf("dovecot auth socket: %w", err)
	}

	// The master runs in the foreground (-d) as our child.
	s.postfix, err = daemon.Start(daemon.Config{Name: "postfix", Bin: postfixMaster, Args: []string{"-d", "-c", s.path("postfix/conf")}, Out: s.path("postfix.out"), DeathSignal: syscall.SIGTERM})
	if err != nil {
		return nil, err
	}
	if err := s.waitListening(s.postfix, s.path("postfix.log"), s.ports.mx, s.ports.submission, s.ports.submissions); err != nil {
		return nil, err
	}
	return s, nil
}

// Where Debian puts the daemons.
const (
	dovecotBin    = "/usr/sbin/dovecot"
	doveadmBin    = "/usr/bin/doveadm"
	postfixMaster = "/usr/lib/postfix/sbin/master"
)

func (s *Server) path(name string) string { return filepath.Join(s.dir, name) }

func (s *Server) writeFiles() error {
	dirs := []string{"dovecot/run", "dovecot/state", "mail"}
	if !s.opts.IMAPOnly {
		dirs = append(dirs, "postfix/conf", "postfix/queue", "postfix/data")
	}
	for _, d := range dirs {
		if err := os.MkdirAll(s.path(d), 0o755); err != nil {
			return err
		}
	}
	if err := os.Chown(s.path("mail"), nobodyID, nobodyID); err != nil {
		return err
	}
	files := map[string]string{
		"users":        "",
		"dovecot.conf": s.dovecotConf(),
	}
	if !s.opts.IMAPOnly {
		if err := makePostfixQueue(s.path("postfix/queue"), s.path("postfix/data")); err != nil {
			return err
		}
		certPEM, keyPEM, pool, err := selfSigned()
		if err != nil {
			return err
		}
		s.tls = &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS12}
		files["cert.pem"], files["key.pem"] = string(certPEM), string(keyPEM)
		files["postfix/conf/main.cf"], files["postfix/conf/master.cf"] = s.postfixMain(), s.postfixMaster()
	}
	if s.opts.OAuth != nil {
		files["oauth2.conf.ext"] = s.oauth2Conf()
	}
	for name, body := range files {
		if err := os.WriteFile(s.path(name), []byte(body), 0o644); err != nil {
			return err
		}
		// Postfix waits until a configuration file is a few seconds old
		// (in case it is still being edited); date them back.
		old := time.Now().Add(-time.Minute)
		if err := os.Chtimes(s.path(name), old, old); err != nil {
			return err
		}
	}
	if s.opts.IMAPOnly {
		return nil
	}
	return os.Chmod(s.path("key.pem"), 0o600)
}

// nobodyID is the uid and gid Dovecot stores mail as.
const nobodyID = 65534

// makePostfixQueue lays out the queue as /etc/postfix/postfix-files wants
// it (what `postfix check` would do, which takes 5 s).
func makePostfixQueue(queue, data string) error {
	uid, err := lookupID("passwd", "postfix")
	if err != nil {
		return err
	}
	gid, err := lookupID("group", "postdrop")
	if err != nil {
		return err
	}
	dirs := []struct {
		name     string
		uid, gid int
		mode     os.FileMode
	}{
		{"active", uid, -1, 0o700}, {"bounce", uid, -1, 0o700}, {"corrupt", uid, -1, 0o700},
		{"defer", uid, -1, 0o700}, {"deferred", uid, -1, 0o700}, {"flush", uid, -1, 0o700},
		{"hold", uid, -1, 0o700}, {"incoming", uid, -1, 0o700}, {"private", uid, -1, 0o700},
		{"maildrop", uid, gid, 0o730}, {"public", uid, gid, 0o710}, {"pid", 0, -1, 0o755},
		{"saved", uid, -1, 0o700}, {"trace", uid, -1, 0o700},
	}
	for _, d := range dirs {
		p := filepath.Join(queue, d.name)
		if err := os.Mkdir(p, d.mode); err != nil {
			return err
		}
		if err := os.Chown(p, d.uid, d.gid); err != nil {
			return err
		}
		if err := os.Chmod(p, d.mode); err != nil { // past the umask
			return err
		}
	}
	if err := os.Chown(data, uid, -1); err != nil {
		return err
	}
	return os.Chmod(data, 0o700)
}

// lookupID reads a user's uid or a group's gid with getent (os/user needs
// cgo for anything but /etc/passwd; getent also sees NSS).
func lookupID(db, name string) (int, error) {
	out, err := exec.Command("getent", db, name).Output()
	if err != nil {
		return 0, fmt.Errorf("no %s entry %s: %w", db, name, err)
	}
	f := strings.Split(strings.TrimSpace(string(out)), ":")
	if len(f) < 3 {
		return 0, fmt.Errorf("bad %s entry %q", db, out)
	}
	return strconv.Atoi(f[2])
}

// selfSigned makes a certificate for localhost and 127.0.0.1.
func selfSigned() (certPEM, keyPEM []byte, pool *x509.CertPool, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "localhost"},
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, nil, err
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), pool, nil
}

// --- daemons ---------------------------------------------------------------

// waitListening waits for the daemon to listen on every port. An exit
// before that with "address already in use" logged, or with nothing said
// at all, is taken for a port another test took first.
func (s *Server) waitListening(d *daemon.Process, logPath string, ports ...int) error {
	err := d.WaitListening(30*time.Second, ports...)
	if err == nil {
		return nil
	}
	log := daemon.Tail(logPath) + d.Output()
	if errors.Is(err, daemon.ErrExited) && (strings.Contains(log, "Address already in use") || strings.TrimSpace(log) == "") {
		// Postfix's master logs through postlogd, which may not have
		// written its bind error yet when the master is gone: a real
		// misconfiguration fails every attempt the same way.
		return fmt.Errorf("%w: %w: %s", err, errPortTaken, log)
	}
	return fmt.Errorf("%w: %s", err, log)
}

func waitFile(path string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// --- installation ----------------------------------------------------------

// Package is a file a program needs and the Debian package that holds it.
type Package struct{ File, Name string }

// needed lists what the servers need.
var needed = []Package{
	{dovecotBin, "dovecot-core"},
	{doveadmBin, "dovecot-core"},
	{"/usr/lib/dovecot/imap", "dovecot-imapd"},
	{"/usr/lib/dovecot/lmtp", "dovecot-lmtpd"},
	{postfixMaster, "postfix"},
}

// neededFor is what the servers of opts need.
func neededFor(opts Options) []Package {
	if opts.IMAPOnly {
		return needed[:3]
	}
	return needed
}

var install = sync.OnceValue(func() error { return Install(needed...) })

var installMu sync.Mutex

// Install installs with apt-get the packages whose file is missing; when
// some are and the process is not root, it says which.
func Install(pkgs ...Package) error {
	installMu.Lock()
	defer installMu.Unlock()
	var missing []string
	for _, n := range pkgs {
		if _, err := os.Stat(n.File); err != nil && !slices.Contains(missing, n.Name) {
			missing = append(missing, n.Name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
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
			return fmt.Errorf("apt-get %s: %v: %s", strings.Join(args, " "), err, tail2(out))
		}
	}
	return nil
}

func tail2(b []byte) string {
	if len(b) > 1000 {
		b = b[len(b)-1000:]
	}
	return string(b)
}

func requireBinaries(t testing.TB) {
	t.Helper()
	if err := install(); err != nil {
		t.Skipf("mailserver: Dovecot/Postfix unavailable (%v); scripts/test installs dovecot-imapd dovecot-lmtpd postfix", err)
	}
	if os.Geteuid() != 0 {
		t.Skip("mailserver: needs root (Dovecot switches to the mail user, Postfix to its own); scripts/test runs as root in CI")
	}
}

// --- endpoints -------------------------------------------------------------

// Domain is the mail domain of the server's users.
func (s *Server) Domain() string { return s.opts.Domain }

// Dir is the server's directory (configuration, logs, Maildirs).
func (s *Server) Dir() string { return s.dir }

// IMAP is the IMAP endpoint for a security mode: the IMAPS port for
// SecurityTLS, the plain port (which offers STARTTLS) otherwise.
func (s *Server) IMAP(sec wire.Security) wire.Endpoint {
	port := s.ports.imap
	if sec == wire.SecurityTLS {
		port = s.ports.imaps
	}
	return wire.Endpoint{Host: "127.0.0.1", Port: port, Security: sec}
}

// SMTP is the submission endpoint (SASL login required) for a security
// mode: the implicit-TLS port for SecurityTLS, the plain port (which offers
// STARTTLS) otherwise.
func (s *Server) SMTP(sec wire.Security) wire.Endpoint {
	port := s.ports.submission
	if sec == wire.SecurityTLS {
		port = s.ports.submissions
	}
	return wire.Endpoint{Host: "127.0.0.1", Port: port, Security: sec}
}

// MX is the SMTP port that takes mail for the domain without login, as an
// MX host would.
func (s *Server) MX() wire.Endpoint {
	return wire.Endpoint{Host: "127.0.0.1", Port: s.ports.mx, Security: wire.SecurityNone}
}

// TLSConfig trusts the server's self-signed certificate (for localhost and
// 127.0.0.1). It is a fresh copy each call.
func (s *Server) TLSConfig() *tls.Config { return s.tls.Clone() }

// Ports lists every TCP port the server listens on.
func (s *Server) Ports() []int {
	var out []int
	for _, p := range []int{s.ports.imap, s.ports.imaps, s.ports.mx, s.ports.submission, s.ports.submissions} {
		if p != 0 {
			out = append(out, p)
		}
	}
	return out
}

// DovecotPID and PostfixPID are the masters' process ids (PostfixPID is 0
// without Postfix).
func (s *Server) DovecotPID() int { return s.dovecot.PID() }
func (s *Server) PostfixPID() int {
	if s.postfix == nil {
		return 0
	}
	return s.postfix.PID()
}

// Stop stops the daemons now (Close and t.Cleanup do it too) and reports
// a listener left behind.
func (s *Server) Stop() error {
	err := s.stopDaemons()
	for _, p := range s.Ports() {
		if c, derr := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(p), time.Second); derr == nil {
			c.Close()
			err = errors.Join(err, fmt.Errorf("port %d still listening after stop", p))
		}
	}
	return err
}

func (s *Server) stopDaemons() error {
	// Together: Dovecot's master takes a second to stop.
	errc := make(chan error, 1)
	go func() { errc <- s.postfix.Stop(15 * time.Second) }()
	return errors.Join(s.dovecot.Stop(15*time.Second), <-errc)
}

// Close stops the daemons and removes the server's directory.
func (s *Server) Close() error {
	return errors.Join(s.Stop(), os.RemoveAll(s.dir))
}

// --- users and mailboxes ---------------------------------------------------

// AddUser adds a mailbox user (email as login) with a password. It takes
// effect at once: Dovecot re-reads its passwd-file on change.
func (s *Server) AddUser(t testing.TB, email, password string) {
	t.Helper()
	if err := s.CreateUser(email, password); err != nil {
		t.Fatalf("mailserver: %v", err)
	}
}

// CreateUser is AddUser for programs: it returns the error.
func (s *Server) CreateUser(email, password string) error {
	if strings.ContainsAny(email+password, ":\n") {
		return fmt.Errorf("user %q or its password holds ':' or a newline", email)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[strings.ToLower(email)] = password
	var b strings.Builder
	for u, p := range s.users {
		fmt.Fprintf(&b, "%s:{PLAIN}%s:%d:%d::%s::\n", u, p, nobodyID, nobodyID, s.home(u))
	}
	tmp := s.path("users.tmp")
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, s.path("users")); err != nil {
		return err
	}
	// Dovecot looks at the users file at most once a second: a user added
	// in the second of the last look is unknown until the next. Wait until
	// its auth service knows the new user.
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := exec.Command(doveadmBin, "-c", s.path("dovecot.conf"), "auth", "test", "-x", "service=imap", email, password).CombinedOutput()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("user %s not known to Dovecot: %v: %s", email, err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *Server) home(user string) string { return s.path("mail/" + strings.ToLower(user)) }

// FillMaildir has fill write messages straight into user's INBOX, a
// Maildir (cur/, new/, tmp/) at the path it is given, and then hands the
// user's home to the mail user. Dovecot indexes the messages at the next
// SELECT.
func (s *Server) FillMaildir(user string, fill func(maildir string) error) error {
	home := s.home(user)
	dir := filepath.Join(home, "Maildir")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := fill(dir); err != nil {
		return err
	}
	return filepath.WalkDir(home, func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, nobodyID, nobodyID)
	})
}

func (s *Server) password(t testing.TB, user string) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.users[strings.ToLower(user)]
	if !ok {
		t.Fatalf("mailserver: no user %q (AddUser first)", user)
	}
	return p
}

// Doveadm runs doveadm against this Dovecot and returns its output.
func (s *Server) Doveadm(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command(doveadmBin, append([]string{"-c", s.path("dovecot.conf")}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("mailserver: doveadm %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// CreateFolder creates a folder (parents included, "/" separated) for user.
func (s *Server) CreateFolder(t testing.TB, user, folder string) {
	t.Helper()
	s.Doveadm(t, "mailbox", "create", "-u", user, "-s", folder)
}

// UIDValidity returns a folder's UIDVALIDITY.
func (s *Server) UIDValidity(t testing.TB, user, folder string) uint32 {
	t.Helper()
	out := s.Doveadm(t, "-f", "flow", "mailbox", "status", "-u", user, "uidvalidity", folder)
	v, err := strconv.ParseUint(flowField(out, "uidvalidity"), 10, 32)
	if err != nil {
		t.Fatalf("mailserver: uidvalidity of %s: %q", folder, out)
	}
	return uint32(v)
}

// ResetUIDValidity gives a folder a new UIDVALIDITY (as a server does after
// rebuilding its index) and returns it. Every UID a client cached for the
// folder is invalid afterwards.
func (s *Server) ResetUIDValidity(t testing.TB, user, folder string) uint32 {
	t.Helper()
	v := s.UIDValidity(t, user, folder) + 1
	s.Doveadm(t, "mailbox", "update", "-u", user, "--uid-validity", strconv.FormatUint(uint64(v), 10), folder)
	if got := s.UIDValidity(t, user, folder); got != v {
		t.Fatalf("mailserver: uidvalidity of %s is %d after setting %d", folder, got, v)
	}
	return v
}

// Append stores raw in user's folder with the INTERNALDATE date (now when
// zero), over IMAP APPEND as the user, and returns its UID.
func (s *Server) Append(t testing.TB, user, folder string, raw []byte, date time.Time) uint32 {
	t.Helper()
	c := s.dialIMAP(t, user)
	defer c.Close()
	cmd := c.Append(folder, int64(len(raw)), &imap.AppendOptions{Time: date})
	if _, err := cmd.Write(raw); err != nil {
		t.Fatalf("mailserver: append: %v", err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatalf("mailserver: append: %v", err)
	}
	data, err := cmd.Wait()
	if err != nil {
		t.Fatalf("mailserver: append to %s: %v", folder, err)
	}
	return uint32(data.UID)
}

// SetFlags replaces the flags of the message with uid in user's folder.
func (s *Server) SetFlags(t testing.TB, user, folder string, uid uint32, flags ...string) {
	t.Helper()
	c := s.dialIMAP(t, user)
	defer c.Close()
	if _, err := c.Select(folder, nil).Wait(); err != nil {
		t.Fatalf("mailserver: select %s: %v", folder, err)
	}
	fl := make([]imap.Flag, len(flags))
	for i, f := range flags {
		fl[i] = imap.Flag(f)
	}
	if err := c.Store(imap.UIDSetNum(imap.UID(uid)), &imap.StoreFlags{Op: imap.StoreFlagsSet, Silent: true, Flags: fl}, nil).Close(); err != nil {
		t.Fatalf("mailserver: store flags: %v", err)
	}
}

// Expunge deletes the message with uid from user's folder.
func (s *Server) Expunge(t testing.TB, user, folder string, uid uint32) {
	t.Helper()
	s.Doveadm(t, "expunge", "-u", user, "mailbox", folder, "uid", strconv.FormatUint(uint64(uid), 10))
}

// Count is the number of messages in user's folder.
func (s *Server) Count(t testing.TB, user, folder string) int {
	t.Helper()
	out := s.Doveadm(t, "-f", "flow", "mailbox", "status", "-u", user, "messages", folder)
	n, err := strconv.Atoi(flowField(out, "messages"))
	if err != nil {
		t.Fatalf("mailserver: messages of %s: %q", folder, out)
	}
	return n
}

// flowField reads key's value from doveadm's flow output
// ("mailbox=INBOX messages=3"; the mailbox name may hold spaces).
func flowField(out, key string) string {
	i := strings.LastIndex(out, key+"=")
	if i < 0 {
		return ""
	}
	v := out[i+len(key)+1:]
	if j := strings.IndexAny(v, " \n"); j >= 0 {
		v = v[:j]
	}
	return v
}

// WaitCount waits until user's folder holds at least n messages (mail
// sent through the submission port arrives asynchronously) and fails the
// test after 30 s.
func (s *Server) WaitCount(t testing.TB, user, folder string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := s.Count(t, user, folder)
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailserver: %s/%s holds %d messages after 30 s, want %d\n%s", user, folder, got, n, s.Logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *Server) dialIMAP(t testing.TB, user string) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(s.IMAP(wire.SecurityNone).Addr(), nil)
	if err != nil {
		t.Fatalf("mailserver: dial imap: %v", err)
	}
	if err := c.Login(user, s.password(t, user)).Wait(); err != nil {
		c.Close()
		t.Fatalf("mailserver: login %s: %v", user, err)
	}
	return c
}

// --- delivery ----------------------------------------------------------------

// Deliver sends raw from → to through the MX port, as another mail server
// would, and returns once Dovecot has stored it for every recipient (it
// follows the message's queue id in Postfix's log to the LMTP "sent"). A
// bounce or a deferral fails the test with Postfix's words.
func (s *Server) Deliver(t testing.TB, from string, to []string, raw []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	queueID, err := s.submit(ctx, from, to, raw)
	if err != nil {
		t.Fatalf("mailserver: deliver: %v", err)
	}
	if err := s.WaitDelivered(ctx, queueID, len(to)); err != nil {
		t.Fatalf("mailserver: deliver: %v", err)
	}
}

func (s *Server) submit(ctx context.Context, from string, to []string, raw []byte) (string, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.MX().Addr())
	if err != nil {
		return "", err
	}
	c := gosmtp.NewClient(conn)
	defer c.Close()
	if err := c.Mail(from, nil); err != nil {
		return "", err
	}
	for _, r := range to {
		if err := c.Rcpt(r, nil); err != nil {
			return "", fmt.Errorf("rcpt %s: %w", r, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return "", err
	}
	if _, err := w.Write(raw); err != nil {
		return "", err
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		return "", err
	}
	_ = c.Quit()
	return QueueID(resp.StatusText)
}

var queuedAs = regexp.MustCompile(`queued as ([0-9A-Za-z]+)`)

// QueueID reads Postfix's queue id from its reply to DATA
// ("2.0.0 Ok: queued as 4F2A1B3C").
func QueueID(reply string) (string, error) {
	m := queuedAs.FindStringSubmatch(reply)
	if m == nil {
		return "", fmt.Errorf("no queue id in %q", reply)
	}
	return m[1], nil
}

// WaitDelivered waits until Postfix's log shows the message with queueID
// handed to Dovecot for n recipients. It fails at the first bounce or
// deferral.
func (s *Server) WaitDelivered(ctx context.Context, queueID string, n int) error {
	prefix := queueID + ": to=<"
	for {
		sent := 0
		f, err := os.Open(s.path("postfix.log"))
		if err == nil {
			sc := bufio.NewScanner(f)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			for sc.Scan() {
				line := sc.Text()
				i := strings.Index(line, prefix)
				if i < 0 {
					continue
				}
				switch rest := line[i:]; {
				case strings.Contains(rest, "status=sent"):
					sent++
				case strings.Contains(rest, "status=bounced"), strings.Contains(rest, "status=deferred"):
					f.Close()
					return fmt.Errorf("not delivered: %s", rest)
				}
			}
			f.Close()
		}
		if sent >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("message %s: %d of %d recipients delivered: %w\n%s", queueID, sent, n, ctx.Err(), daemon.Tail(s.path("postfix.log")))
		case <-time.After(15 * time.Millisecond):
		}
	}
}

// Logs returns the tails of Dovecot's and Postfix's logs, for failure
// messages.
func (s *Server) Logs() string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "--- dovecot.log\n%s\n--- postfix.log\n%s", daemon.Tail(s.path("dovecot.log")), daemon.Tail(s.path("postfix.log")))
	return b.String()
}
