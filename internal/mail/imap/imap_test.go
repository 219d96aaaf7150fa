package imap_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/mail/imap"
	"github.com/tandem-crm/tandem/internal/mail/wire"
	"github.com/tandem-crm/tandem/internal/testenv/mailserver"
)

// base is a fixed INTERNALDATE far from now; every date in these tests is
// derived from it.
var base = time.Date(2021, 3, 14, 15, 9, 26, 0, time.UTC)

const (
	alice     = "alice@example.test"
	alicePass = "Alice-pass-7f3c"
)

type env struct {
	t   *testing.T
	srv *mailserver.Server
	ctx context.Context
}

func newEnv(t *testing.T, opts mailserver.Options) *env {
	t.Helper()
	srv := mailserver.Start(t, opts)
	srv.AddUser(t, alice, alicePass)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return &env{t: t, srv: srv, ctx: ctx}
}

func (e *env) dial(sec wire.Security, opts ...imap.Option) *imap.Client {
	e.t.Helper()
	c, err := imap.Dial(e.ctx, e.srv.IMAP(sec), wire.Auth{Username: alice, Password: alicePass},
		append([]imap.Option{imap.WithTLSConfig(e.srv.TLSConfig())}, opts...)...)
	if err != nil {
		e.t.Fatalf("dial %s: %v\n%s", sec, err, e.srv.Logs())
	}
	e.t.Cleanup(func() { c.Close() })
	return c
}

func letter(n int, extra string) []byte {
	return []byte(fmt.Sprintf("From: Bob <bob@else.test>\r\nTo: Alice <alice@example.test>\r\n"+
		"Subject: letter %d\r\nMessage-ID: <%d@else.test>\r\nDate: Sun, 14 Mar 2021 15:09:26 +0000\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\n\r\nBody of letter %d.\r\n%s", n, n, n, extra))
}

func TestDialKinds(t *testing.T) {
	e := newEnv(t, mailserver.Options{})
	good := wire.Auth{Username: alice, Password: alicePass}
	wrong := wire.Auth{Username: alice, Password: "not-the-password-91b2"}
	closed := e.srv.IMAP(wire.SecurityNone)
	closed.Port = freeClosedPort(t)
	plainAsTLS := e.srv.IMAP(wire.SecurityNone)
	plainAsTLS.Security = wire.SecurityTLS
	tlsAsPlain := e.srv.IMAP(wire.SecurityTLS)
	tlsAsPlain.Security = wire.SecurityNone

	for _, tc := range []struct {
		name string
		ep   wire.Endpoint
		auth wire.Auth
		tls  *tls.Config
		want wire.Kind
	}{
		{"tls ok", e.srv.IMAP(wire.SecurityTLS), good, e.srv.TLSConfig(), ""},
		{"starttls ok", e.srv.IMAP(wire.SecuritySTARTTLS), good, e.srv.TLSConfig(), ""},
		{"plain ok", e.srv.IMAP(wire.SecurityNone), good, nil, ""},
		{"wrong password", e.srv.IMAP(wire.SecurityTLS), wrong, e.srv.TLSConfig(), wire.KindAuth},
		{"wrong password plain", e.srv.IMAP(wire.SecurityNone), wrong, nil, wire.KindAuth},
		{"unknown user", e.srv.IMAP(wire.SecurityNone), wire.Auth{Username: "nobody@example.test", Password: "x"}, nil, wire.KindAuth},
		{"closed port", closed, good, nil, wire.KindUnreachable},
		{"tls to the plain port", plainAsTLS, good, e.srv.TLSConfig(), wire.KindTLS},
		{"plain to the tls port", tlsAsPlain, good, nil, wire.KindTLS},
		{"untrusted certificate", e.srv.IMAP(wire.SecurityTLS), good, &tls.Config{}, wire.KindTLS},
		{"untrusted certificate starttls", e.srv.IMAP(wire.SecuritySTARTTLS), good, &tls.Config{}, wire.KindTLS},
		{"no such host", wire.Endpoint{Host: "imap.does-not-exist.invalid", Port: 993, Security: wire.SecurityTLS}, good, nil, wire.KindUnreachable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var opts []imap.Option
			if tc.ep.Port == tlsAsPlain.Port && tc.ep.Security == wire.SecurityNone {
				// Both sides wait for the other; only the greeting timer ends it.
				opts = append(opts, imap.WithGreetingTimeout(time.Second))
			}
			if tc.tls != nil {
				opts = append(opts, imap.WithTLSConfig(tc.tls))
			}
			c, err := imap.Dial(e.ctx, tc.ep, tc.auth, opts...)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("dial: %v", err)
				}
				if !c.Caps().CondStore || !c.Caps().Idle || !c.Caps().UIDPlus || !c.Caps().SpecialUse {
					t.Errorf("caps %+v", c.Caps())
				}
				if err := c.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
				return
			}
			if err == nil {
				c.Close()
				t.Fatalf("dial succeeded, want %s", tc.want)
			}
			if got := wire.KindOf(err); got != tc.want {
				t.Fatalf("kind %q, want %q: %v", got, tc.want, err)
			}
			if strings.Contains(err.Error(), tc.auth.Password) {
				t.Errorf("error holds the password: %v", err)
			}
		})
	}
}

// freeClosedPort returns a loopback port nothing listens on.
func freeClosedPort(t *testing.T) int {
	t.Helper()
	srv := mailserver.Start(t, mailserver.Options{})
	p := srv.IMAP(wire.SecurityNone).Port
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCanceledDial(t *testing.T) {
	e := newEnv(t, mailserver.Options{})
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	_, err := imap.Dial(ctx, e.srv.IMAP(wire.SecurityNone), wire.Auth{Username: alice, Password: alicePass})
	if !errors.Is(err, context.Canceled) || wire.KindOf(err) != "" {
		t.Fatalf("dial with a canceled ctx: %v (kind %q)", err, wire.KindOf(err))
	}
}

func TestFoldersAndSent(t *testing.T) {
	e := newEnv(t, mailserver.Options{})
	e.srv.CreateFolder(t, alice, "Projects")
	e.srv.CreateFolder(t, alice, "Projects/Alpha")
	e.srv.CreateFolder(t, alice, "Projects/Beta")
	e.srv.CreateFolder(t, alice, "Archive/2020") // its parent does not exist
	c := e.dial(wire.SecurityTLS)
	fs, err := c.Folders(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]imap.Folder{}
	var names []string
	for _, f := range fs {
		byName[f.Name] = f
		names = append(names, f.Name)
	}
	if names[0] != "INBOX" {
		t.Errorf("INBOX not first: %v", names)
	}
	for _, want := range []struct{ name, parent, special string }{
		{"INBOX", "", ""}, {"Projects", "", ""}, {"Projects/Alpha", "Projects", ""}, {"Projects/Beta", "Projects", ""},
		{"Sent Items", "", imap.SpecialSent}, {"Drafts", "", imap.SpecialDrafts}, {"Trash", "", imap.SpecialTrash}, {"Junk", "", imap.SpecialJunk},
	} {
		f, ok := byName[want.name]
		if !ok {
			t.Errorf("no folder %q in %v", want.name, names)
			continue
		}
		if f.Parent != want.parent || f.SpecialUse != want.special || f.Delimiter != "/" || f.NoSelect {
			t.Errorf("folder %+v, want parent %q special %q", f, want.parent, want.special)
		}
	}
	if a, y := byName["Archive"], byName["Archive/2020"]; !a.NoSelect || y.NoSelect || y.Parent != "Archive" {
		t.Errorf("a folder whose parent does not exist: %+v under %+v", y, a)
	}
	if got := byName["Projects/Alpha"].Leaf(); got != "Alpha" {
		t.Errorf("leaf %q", got)
	}
	sent, ok, err := c.SentFolder(e.ctx)
	if err != nil || !ok || sent != "Sent Items" {
		t.Errorf("sent folder %q %v %v", sent, ok, err)
	}
}

func TestPickSent(t *testing.T) {
	f := func(name, special string) imap.Folder {
		return imap.Folder{Name: name, Delimiter: "/", SpecialUse: special}
	}
	for _, tc := range []struct {
		name    string
		folders []imap.Folder
		want    string
	}{
		{"special-use wins over names", []imap.Folder{f("Sent", ""), f("Outbox copies", imap.SpecialSent)}, "Outbox copies"},
		{"common name", []imap.Folder{f("INBOX", ""), f("Sent Messages", "")}, "Sent Messages"},
		{"case-insensitive", []imap.Folder{f("INBOX", ""), f("SENT", "")}, "SENT"},
		{"gmail", []imap.Folder{f("[Gmail]", ""), f("[Gmail]/Sent Mail", "")}, "[Gmail]/Sent Mail"},
		{"under a parent", []imap.Folder{{Name: "INBOX.Sent Items", Delimiter: "."}}, "INBOX.Sent Items"},
		{"russian", []imap.Folder{f("Входящие", ""), f("Отправленные", "")}, "Отправленные"},
		{"noselect skipped", []imap.Folder{{Name: "Sent", Delimiter: "/", NoSelect: true}, f("Sent/2024", "")}, ""},
		{"none", []imap.Folder{f("INBOX", ""), f("Archive", imap.SpecialArchive)}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := imap.PickSent(tc.folders)
			if got != tc.want || ok != (tc.want != "") {
				t.Errorf("PickSent = %q, %v; want %q", got, ok, tc.want)
			}
		})
	}
}

// mailbox appends letters at controlled INTERNALDATEs and checks Examine,
// SearchSince, UIDsFrom, AllUIDs and Fetch against them.
func TestExamineSearchFetch(t *testing.T) {
	e := newEnv(t, mailserver.Options{})
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB body
	msgs := []struct {
		raw  []byte
		date time.Time
	}{
		{letter(1, ""), base.AddDate(0, 0, -10)},
		{letter(2, ""), base.Add(-12 * time.Hour)}, // the day before: SEARCH SINCE (d-1) finds it, the caller filters it out
		{letter(3, string(big)), base},
		{letter(4, ""), base.AddDate(0, 0, 2)},
	}
	for i, m := range msgs {
		if uid := e.srv.Append(t, alice, "INBOX", m.raw, m.date); uid != uint32(i+1) {
			t.Fatalf("appended uid %d, want %d", uid, i+1)
		}
	}
	c := e.dial(wire.SecuritySTARTTLS, imap.WithFetchBatch(3))

	if _, err := c.AllUIDs(e.ctx); !errors.Is(err, imap.ErrNotSelected) {
		t.Fatalf("search before examine: %v", err)
	}
	st, err := c.Examine(e.ctx, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if want := e.srv.UIDValidity(t, alice, "INBOX"); st.UIDValidity != want || st.UIDNext != 5 || st.Messages != 4 || st.HighestModSeq == 0 {
		t.Fatalf("status %+v (uidvalidity want %d)", st, want)
	}

	since, err := c.SearchSince(e.ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(since) != "[2 3 4]" {
		t.Errorf("SearchSince = %v, want [2 3 4]", since)
	}
	all, err := c.AllUIDs(e.ctx)
	if err != nil || fmt.Sprint(all) != "[1 2 3 4]" {
		t.Errorf("AllUIDs = %v, %v", all, err)
	}

	var got []imap.Message
	var bodies [][]byte
	err = c.Fetch(e.ctx, []uint32{4, 99, 1, 2, 3}, func(m imap.Message) error {
		if _, buffered := m.Body.(*bytes.Reader); buffered {
			t.Errorf("uid %d: body was buffered, not streamed", m.UID)
		}
		b, err := io.ReadAll(m.Body)
		if err != nil {
			return err
		}
		m.Body = nil
		got = append(got, m)
		bodies = append(bodies, b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("fetched %d messages, want 4", len(got))
	}
	for i, m := range got {
		want := msgs[i]
		if m.UID != uint32(i+1) || !m.InternalDate.Equal(want.date) || m.Size != int64(len(want.raw)) ||
			m.ModSeq == 0 || m.Seen() || !bytes.Equal(bodies[i], want.raw) {
			t.Errorf("message %d: uid %d date %v size %d modseq %d flags %v, body equal %v",
				i+1, m.UID, m.InternalDate, m.Size, m.ModSeq, m.Flags, bytes.Equal(bodies[i], want.raw))
		}
	}

	// Reading a body never set \Seen, and a partly read body leaves the
	// connection usable.
	err = c.Fetch(e.ctx, []uint32{3}, func(m imap.Message) error {
		_, err := io.ReadFull(m.Body, make([]byte, 100))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	changes, err := c.ChangedSince(e.ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range changes {
		for _, f := range ch.Flags {
			if f == `\Seen` {
				t.Errorf("uid %d has \\Seen after fetching", ch.UID)
			}
		}
	}

	// An error from the callback stops the fetch and comes back as is;
	// the connection stays usable.
	stop := errors.New("stop here")
	n := 0
	err = c.Fetch(e.ctx, all, func(imap.Message) error { n++; return stop })
	if err != stop || n != 1 {
		t.Errorf("fetch with a failing callback: %v after %d", err, n)
	}
	if again, err := c.AllUIDs(e.ctx); err != nil || len(again) != 4 {
		t.Errorf("after a stopped fetch: %v %v", again, err)
	}
}

func TestUIDsFrom(t *testing.T) {
	e := newEnv(t, mailserver.Options{})
	for i := 1; i <= 3; i++ {
		e.srv.Append(t, alice, "INBOX", letter(i, ""), base)
	}
	c := e.dial(wire.SecurityNone)
	st, err := c.Examine(e.ctx, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	// Nothing new: "4:*" still matches UID 3 on the server.
	if got, err := c.UIDsFrom(e.ctx, st.UIDNext); err != nil || len(got) != 0 {
		t.Errorf("UIDsFrom(UIDNEXT) = %v, %v; want none", got, err)
	}
	if got, err := c.UIDsFrom(e.ctx, 2); err != nil || fmt.Sprint(got) != "[2 3]" {
		t.Errorf("UIDsFrom(2) = %v, %v", got, err)
	}
	e.srv.Append(t, alice, "INBOX", letter(4, ""), base)
	// Examine again: the folder's state is as of the last Examine.
	if _, err := c.Examine(e.ctx, "INBOX"); err != nil {
		t.Fatal(err)
	}
	if got, err := c.UIDsFrom(e.ctx, st.UIDNext); err != nil || fmt.Sprint(got) != "[4]" {
		t.Errorf("UIDsFrom after new mail = %v, %v", got, err)
	}
}

func TestChangedSince(t *testing.T) {
	e := newEnv(t, mailserver.Options{})
	for i := 1; i <= 3; i++ {
		e.srv.Append(t, alice, "INBOX", letter(i, ""), base)
	}
	c := e.dial(wire.SecurityTLS)
	st, err := c.Examine(e.ctx, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	e.srv.SetFlags(t, alice, "INBOX", 2, `\Flagged`, `\Seen`)
	st2, err := c.Examine(e.ctx, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if st2.HighestModSeq <= st.HighestModSeq {
		t.Fatalf("HIGHESTMODSEQ %d after a change, was %d", st2.HighestModSeq, st.HighestModSeq)
	}
	ch, err := c.ChangedSince(e.ctx, st.HighestModSeq)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch) != 1 || ch[0].UID != 2 || ch[0].ModSeq != st2.HighestModSeq ||
		strings.Join(ch[0].Flags, " ") != `\Flagged \Seen` && strings.Join(ch[0].Flags, " ") != `\Seen \Flagged` {
		t.Errorf("ChangedSince = %+v", ch)
	}
	if none, err := c.ChangedSince(e.ctx, st2.HighestModSeq); err != nil || len(none) != 0 {
		t.Errorf("ChangedSince(highest) = %+v, %v", none, err)
	}
}

// A server like Microsoft 365's: no CONDSTORE, so HIGHESTMODSEQ is 0 and
// ChangedSince returns every message's flags.
func TestNoCondStore(t *testing.T) {
	e := newEnv(t, mailserver.Options{IMAPCapability: mailserver.CapabilityNoCondStore})
	for i := 1; i <= 2; i++ {
		e.srv.Append(t, alice, "INBOX", letter(i, ""), base)
	}
	c := e.dial(wire.SecurityNone)
	if c.Caps().CondStore || !c.Caps().Idle {
		t.Fatalf("caps %+v", c.Caps())
	}
	st, err := c.Examine(e.ctx, "INBOX")
	if err != nil || st.HighestModSeq != 0 || st.UIDNext != 3 {
		t.Fatalf("examine: %+v %v", st, err)
	}
	ch, err := c.ChangedSince(e.ctx, 12345)
	if err != nil || len(ch) != 2 || ch[0].ModSeq != 0 {
		t.Errorf("ChangedSince without CONDSTORE = %+v, %v", ch, err)
	}
	err = c.Fetch(e.ctx, []uint32{1}, func(m imap.Message) error {
		if m.ModSeq != 0 || m.UID != 1 {
			t.Errorf("message %+v", m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestUIDValidityReset(t *testing.T) {
	e := newEnv(t, mailserver.Options{})
	e.srv.CreateFolder(t, alice, "Work")
	e.srv.Append(t, alice, "Work", letter(1, ""), base)
	c := e.dial(wire.SecurityNone)
	st, err := c.Examine(e.ctx, "Work")
	if err != nil {
		t.Fatal(err)
	}
	v := e.srv.ResetUIDValidity(t, alice, "Work")
	st2, err := c.Examine(e.ctx, "Work")
	if err != nil {
		t.Fatal(err)
	}
	if st2.UIDValidity == st.UIDValidity || st2.UIDValidity != v {
		t.Errorf("UIDVALIDITY %d → %d, server set %d", st.UIDValidity, st2.UIDValidity, v)
	}
}

func TestAppendToSent(t *testing.T) {
	e := newEnv(t, mailserver.Options{})
	c := e.dial(wire.SecurityTLS)
	sent, ok, err := c.SentFolder(e.ctx)
	if err != nil || !ok {
		t.Fatal(sent, ok, err)
	}
	raw := letter(7, "")
	date := base.Add(90 * time.Minute)
	uid, validity, err := c.Append(e.ctx, sent, []string{`\Seen`}, date, raw)
	if err != nil {
		t.Fatal(err)
	}
	if uid != 1 || validity != e.srv.UIDValidity(t, alice, sent) {
		t.Errorf("append gave uid %d validity %d", uid, validity)
	}
	if _, err := c.Examine(e.ctx, sent); err != nil {
		t.Fatal(err)
	}
	var seen int
	err = c.Fetch(e.ctx, []uint32{uid}, func(m imap.Message) error {
		b, _ := io.ReadAll(m.Body)
		if !bytes.Equal(b, raw) || !m.InternalDate.Equal(date) || !m.Seen() {
			t.Errorf("appended message: date %v flags %v equal %v", m.InternalDate, m.Flags, bytes.Equal(b, raw))
		}
		seen++
		return nil
	})
	if err != nil || seen != 1 {
		t.Fatal(err, seen)
	}
	if _, _, err := c.Append(e.ctx, "No Such Folder", nil, time.Time{}, raw); wire.KindOf(err) != wire.KindProtocol {
		t.Errorf("append to a missing folder: %v", err)
	}
}

// A letter delivered through Postfix reaches Dovecot over LMTP and wakes
// Idle, also after IDLE was re-issued.
func TestIdle(t *testing.T) {
	e := newEnv(t, mailserver.Options{})
	c := e.dial(wire.SecurityTLS, imap.WithIdleRestart(150*time.Millisecond))
	ctx, cancel := context.WithCancel(e.ctx)
	changes := make(chan time.Time, 10)
	done := make(chan error, 1)
	go func() { done <- c.Idle(ctx, "INBOX", func() { changes <- time.Now() }) }()

	// The first call says IDLE runs; each delivery (≥ 0.1 s) spans IDLE
	// restarts.
	select {
	case <-changes:
	case err := <-done:
		t.Fatalf("Idle: %v", err)
	}
	for i := 1; i <= 3; i++ {
		t0 := time.Now()
		e.srv.Deliver(t, "bob@else.test", []string{alice}, letter(i, ""))
		select {
		case at := <-changes:
			t.Logf("letter %d: IDLE callback %v after the delivery began", i, at.Sub(t0))
		case <-time.After(10 * time.Second):
			t.Fatalf("no IDLE callback for letter %d\n%s", i, e.srv.Logs())
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Idle returned %v after cancel", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Idle did not return after cancel")
	}
	// The main connection is still usable.
	if _, err := c.Examine(e.ctx, "INBOX"); err != nil {
		t.Error(err)
	}
}

func TestIdleUnsupported(t *testing.T) {
	e := newEnv(t, mailserver.Options{IMAPCapability: mailserver.CapabilityNoIdle})
	c := e.dial(wire.SecurityNone)
	var called atomic.Bool
	if err := c.Idle(e.ctx, "INBOX", func() { called.Store(true) }); !errors.Is(err, imap.ErrNoIdle) {
		t.Fatalf("Idle without IDLE: %v", err)
	}
}

// Auth never shows the password.
func TestAuthRedacted(t *testing.T) {
	a := wire.Auth{Username: alice, Password: alicePass}
	for _, s := range []string{fmt.Sprint(a), fmt.Sprintf("%+v", a), fmt.Sprintf("%#v", a), fmt.Sprintf("%q", a), fmt.Sprint(&a)} {
		if strings.Contains(s, alicePass) {
			t.Errorf("printed auth holds the password: %s", s)
		}
	}
}
