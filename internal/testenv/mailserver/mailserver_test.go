package mailserver

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

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
