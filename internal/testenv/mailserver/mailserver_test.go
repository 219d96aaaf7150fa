package mailserver

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/tandem-crm/tandem/internal/mail/wire"
)

// oldDate is a fixed INTERNALDATE far from now.
var oldDate = time.Date(2021, 3, 14, 15, 9, 26, 0, time.UTC)

func TestStartDeliverStop(t *testing.T) {
	t0 := time.Now()
	s := Start(t, Options{})
	t.Logf("start took %v", time.Since(t0))
	s.AddUser(t, "alice@example.test", "alicepass")

	raw := []byte("From: bob@else.test\r\nTo: alice@example.test\r\nSubject: hello\r\nMessage-ID: <1@else.test>\r\n\r\nbody\r\n")
	t1 := time.Now()
	s.Deliver(t, "bob@else.test", []string{"alice@example.test"}, raw)
	t.Logf("deliver took %v", time.Since(t1))
	if n := s.Count(t, "alice@example.test", "INBOX"); n != 1 {
		t.Fatalf("INBOX has %d messages, want 1", n)
	}

	s.CreateFolder(t, "alice@example.test", "Projects/Alpha")
	uid := s.Append(t, "alice@example.test", "Projects/Alpha", raw, oldDate)
	if uid != 1 {
		t.Errorf("appended uid %d, want 1", uid)
	}
	before := s.UIDValidity(t, "alice@example.test", "Projects/Alpha")
	after := s.ResetUIDValidity(t, "alice@example.test", "Projects/Alpha")
	if after == before {
		t.Errorf("uidvalidity unchanged: %d", after)
	}

	ports := s.Ports()
	t2 := time.Now()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("stop took %v", time.Since(t2))
	for _, p := range ports {
		if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(p), time.Second); err == nil {
			c.Close()
			t.Errorf("port %d still listening", p)
		}
	}
	if ep := s.IMAP(wire.SecurityTLS); ep.Port == s.IMAP(wire.SecurityNone).Port || !strings.HasPrefix(ep.Addr(), "127.0.0.1:") {
		t.Errorf("IMAP endpoints: %v", ep)
	}
}

// TestNewIMAPOnly starts Dovecot alone without a testing.TB, as the mail
// benchmark does: messages written into a Maildir are served over plain
// IMAP, and Close stops it and removes its directory.
func TestNewIMAPOnly(t *testing.T) {
	s, err := New(Options{IMAPOnly: true, Fsync: true})
	if errors.Is(err, ErrUnavailable) {
		t.Skipf("mailserver: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			s.Close()
		}
	})
	if len(s.Ports()) != 1 || s.PostfixPID() != 0 || s.DovecotPID() == 0 {
		t.Fatalf("ports %v, postfix %d, dovecot %d", s.Ports(), s.PostfixPID(), s.DovecotPID())
	}
	if err := s.CreateUser("bench@example.test", "bench-pass"); err != nil {
		t.Fatal(err)
	}
	raw := "From: bob@else.test\nTo: bench@example.test\nSubject: one\n\nbody\n"
	err = s.FillMaildir("bench@example.test", func(dir string) error {
		for _, sub := range []string{"cur", "new", "tmp"} {
			if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
				return err
			}
		}
		return os.WriteFile(filepath.Join(dir, "cur", "1.M1.bench:2,S"), []byte(raw), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := imapclient.DialInsecure(s.IMAP(wire.SecurityNone).Addr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login("bench@example.test", "bench-pass").Wait(); err != nil {
		t.Fatal(err)
	}
	sel, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil || sel.NumMessages != 1 {
		t.Fatalf("INBOX %+v, %v", sel, err)
	}
	c.Close()
	if uid := s.Append(t, "bench@example.test", "INBOX", []byte(raw), oldDate); uid != 2 {
		t.Errorf("appended uid %d, want 2", uid)
	}
	dir, port := s.Dir(), s.Ports()[0]
	closed = true
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("directory left behind: %v", err)
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second); err == nil {
		c.Close()
		t.Errorf("port %d still listening", port)
	}
}
