package mail_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/mail"
	"github.com/tandem-crm/tandem/internal/mail/wire"
	"github.com/tandem-crm/tandem/internal/secret"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/testenv/mailserver"
	"github.com/tandem-crm/tandem/internal/testenv/storetest"
)

// mailEnv is a store, the mail services over it and a real Dovecot +
// Postfix with a provider pointing at them.
type mailEnv struct {
	st       *store.Store
	srv      *mailserver.Server
	dir      *mail.Service
	mbs      *mail.Mailboxes
	provider *mail.Provider
	admin    access.Viewer
	now      time.Time
}

// t0 is the tests' "now": far from the real date on purpose, since the
// letters' arrival dates are set by APPEND.
var t0 = time.Date(2021, 3, 10, 12, 0, 0, 0, time.UTC)

func newMailEnv(t *testing.T, st *store.Store, srv *mailserver.Server) *mailEnv {
	t.Helper()
	box, err := secret.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	e := &mailEnv{st: st, srv: srv, now: t0}
	e.dir = mail.New(st, box, nil)
	e.mbs = mail.NewMailboxes(st, box, e.dir, slog.New(slog.NewTextHandler(t.Output(), nil)))
	e.mbs.Now = func() time.Time { return e.now }
	e.mbs.TLS = srv.TLSConfig()
	t.Cleanup(e.mbs.CloseConns)
	u := storetest.User(t, st, "admin@example.com")
	e.admin = access.Viewer{UserID: u.UserID, Ops: map[string]bool{access.OpManageAdministration: true}}
	imapEP, smtpEP := srv.IMAP(wire.SecurityTLS), srv.SMTP(wire.SecurityTLS)
	e.provider = &mail.Provider{Name: "Test server", Type: mail.TypeIMAP,
		IMAP:        mail.Server{Host: imapEP.Host, Port: imapEP.Port, Security: mail.SecurityTLS},
		SMTP:        mail.Server{Host: smtpEP.Host, Port: smtpEP.Port, Security: mail.SecurityTLS},
		LoginFormat: mail.LoginEmail, Auth: mail.AuthBasic}
	if err := e.dir.CreateProvider(context.Background(), e.admin, e.provider); err != nil {
		t.Fatal(err)
	}
	return e
}

func raw(from, to, subject, body string, extra ...string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@example.org>\r\nDate: Mon, 1 Mar 2021 10:00:00 +0000\r\n",
		from, to, subject, subject)
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n")
	return b.Bytes()
}

func TestLoadMailbox(t *testing.T) {
	srv := mailserver.Start(t, mailserver.Options{})
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newMailEnv(t, st, srv)
		user := "alice-" + t.Name()[len("TestLoadMailbox/"):] + "@" + srv.Domain()
		srv.AddUser(t, user, "alice-pass")
		srv.CreateFolder(t, user, "Projects")
		srv.CreateFolder(t, user, "Projects/Alpha")
		alice := storetest.User(t, st, user)
		ivan := &crm.Contact{Name: "Ivan Petrov", Emails: []crm.Email{{Address: "Ivan@Example.org", Kind: "work", Primary: true}}}
		if err := st.CreateContact(ctx, alice, ivan); err != nil {
			t.Fatal(err)
		}

		// A wrong password is refused with the kind the UI names.
		_, err := e.mbs.Add(ctx, alice, mail.NewMailbox{Address: user, ProviderID: e.provider.ID, Password: "wrong"})
		var ve *mail.VerifyError
		if !errors.As(err, &ve) || ve.Protocol != mail.IMAP || ve.Kind != wire.KindAuth {
			t.Fatalf("wrong password: %v", err)
		}
		if _, err := e.dir.Detect(ctx, user); !errors.Is(err, mail.ErrUnknownDomain) {
			t.Fatalf("a refused mailbox taught its domain: %v", err)
		}
		// An unknown domain asks for a provider, and picking one learns it.
		if _, err := e.mbs.Add(ctx, alice, mail.NewMailbox{Address: user, Password: "alice-pass"}); !errors.Is(err, mail.ErrPickProvider) {
			t.Fatalf("unknown domain: %v", err)
		}
		mb, err := e.mbs.Add(ctx, alice, mail.NewMailbox{Address: user, ProviderID: e.provider.ID, Password: "alice-pass"})
		if err != nil {
			t.Fatal(err)
		}
		if p, err := e.dir.Detect(ctx, "someone@"+srv.Domain()); err != nil || p.ID != e.provider.ID {
			t.Fatalf("domain not learned: %v", err)
		}
		if !mb.DefaultSender || !mb.AllFolders || mb.FirstLoad != "month" {
			t.Fatalf("defaults %+v", mb)
		}

		// Within the month before t0, a day early (SEARCH SINCE is by
		// date, so the server returns it and Tandem drops it), and older.
		inMonth := raw("Ivan Petrov <ivan@example.org>", user, "quote", "Цена: 100 ₽")
		srv.Append(t, user, "INBOX", inMonth, t0.AddDate(0, 0, -5))
		srv.Append(t, user, "Projects", inMonth, t0.AddDate(0, 0, -5)) // the same letter in a second folder
		srv.Append(t, user, "INBOX", raw("x@example.org", user, "dayearly", "b"), t0.AddDate(0, -1, 0).Add(-time.Hour))
		srv.Append(t, user, "INBOX", raw("x@example.org", user, "old", "b"), t0.AddDate(0, -2, 0))
		srv.Append(t, user, "Projects/Alpha", raw("ivan@example.org", user, "child", "b"), t0.AddDate(0, 0, -1))
		// Broken MIME is stored with a warning, never lost.
		brokenUID := srv.Append(t, user, "INBOX", []byte("From: ivan@example.org\r\nSubject: broken\r\nContent-Type: multipart/mixed; boundary=\"zz\"\r\n\r\n--zz\r\nContent-Type: text/plain; charset=no-such-charset\r\n\r\nhello\r\n"), t0.AddDate(0, 0, -2))

		// Only INBOX and the parent "Projects", not its child.
		set := mail.MailboxSettings{FirstLoad: mail.PeriodMonth, AutoLoad: true, Folders: []string{"INBOX", "Projects"},
			SendEnabled: true, DefaultSender: true}
		if _, err := e.mbs.UpdateSettings(ctx, alice, mb.ID, set); err != nil {
			t.Fatal(err)
		}
		stats, err := e.mbs.Load(ctx, mb.ID)
		if err != nil {
			t.Fatal(err)
		}
		if stats.Folders != 2 || stats.Stored != 2 || stats.Skipped != 1 || stats.Warnings != 1 {
			t.Fatalf("first load %+v", stats)
		}
		letters, locations, err := st.CountLetters(ctx, mb.ID)
		if err != nil || letters != 2 || locations != 3 {
			t.Fatalf("%d letters in %d locations, %v", letters, locations, err)
		}
		onIvan, err := st.LettersOfRecord(ctx, alice.UserID, "contact", ivan.ID, store.LetterCursor{}, 10)
		if err != nil || len(onIvan) != 2 {
			t.Fatalf("ivan's timeline %+v, %v", onIvan, err)
		}
		var broken, quote store.LetterSummary
		for _, l := range onIvan {
			switch l.Subject {
			case "broken":
				broken = l
			case "quote":
				quote = l
			}
		}
		if len(broken.Warnings) == 0 || quote.Snippet != "Цена: 100 ₽" || quote.Seen {
			t.Fatalf("letters %+v", onIvan)
		}
		d, err := st.GetLetter(ctx, alice.UserID, quote.ID)
		if err != nil {
			t.Fatal(err)
		}
		if kept, err := st.LetterRaw(ctx, d.Hash); err != nil || !bytes.Equal(kept, inMonth) {
			t.Fatalf("raw letter not kept as received (%v)", err)
		}

		// Nothing new: nothing fetched.
		if stats, err := e.mbs.Load(ctx, mb.ID); err != nil || stats.Fetched != 0 || stats.Stored != 0 {
			t.Fatalf("no-op load %+v, %v", stats, err)
		}
		// Read elsewhere: the next load sees it (CONDSTORE), and nothing
		// else is fetched.
		srv.SetFlags(t, user, "INBOX", brokenUID, `\Seen`)
		if stats, err := e.mbs.Load(ctx, mb.ID); err != nil || stats.FlagChanges != 1 || stats.Fetched != 0 {
			t.Fatalf("flags load %+v, %v", stats, err)
		}
		if d, err := st.GetLetter(ctx, alice.UserID, broken.ID); err != nil || !d.Seen {
			t.Fatalf("the letter read elsewhere is unread in Tandem: %+v, %v", d, err)
		}
		// The connection kept from the last load is dropped by the server:
		// the next load logs in again and goes on.
		srv.Doveadm(t, "kick", user)
		if stats, err := e.mbs.Load(ctx, mb.ID); err != nil || stats.Fetched != 0 {
			t.Fatalf("load after the server dropped the kept connection: %+v, %v", stats, err)
		}
		// A new letter; then a new UIDVALIDITY, which re-reads the folder
		// and stores nothing twice.
		srv.Append(t, user, "INBOX", raw("ivan@example.org", user, "followup", "b", "In-Reply-To: <quote@example.org>"), t0)
		if stats, err := e.mbs.Load(ctx, mb.ID); err != nil || stats.Stored != 1 || stats.Fetched != 1 {
			t.Fatalf("incremental load %+v, %v", stats, err)
		}
		srv.ResetUIDValidity(t, user, "INBOX")
		stats, err = e.mbs.Load(ctx, mb.ID)
		if err != nil || stats.Reset != 1 || stats.Stored != 0 {
			t.Fatalf("load after UIDVALIDITY change %+v, %v", stats, err)
		}
		if letters, locations, _ := st.CountLetters(ctx, mb.ID); letters != 3 || locations != 4 {
			t.Fatalf("after the reset: %d letters in %d locations", letters, locations)
		}
		onIvan, _ = st.LettersOfRecord(ctx, alice.UserID, "contact", ivan.ID, store.LetterCursor{}, 10)
		if len(onIvan) != 3 || onIvan[0].Subject != "followup" || onIvan[0].ThreadID != quote.ThreadID {
			t.Fatalf("timeline after follow-up %+v", onIvan)
		}
		conn, err := st.GetConnection(ctx, mb.ID)
		if err != nil || conn.Status != store.ConnectionActive || conn.LastSyncAt == 0 {
			t.Fatalf("connection %+v, %v", conn, err)
		}
	})
}

func TestSendAndLoadBack(t *testing.T) {
	srv := mailserver.Start(t, mailserver.Options{})
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newMailEnv(t, st, srv)
		db := t.Name()[len("TestSendAndLoadBack/"):]
		aliceAddr, bobAddr := "alice-"+db+"@"+srv.Domain(), "bob-"+db+"@"+srv.Domain()
		srv.AddUser(t, aliceAddr, "alice-pass")
		srv.AddUser(t, bobAddr, "bob-pass")
		alice := storetest.User(t, st, aliceAddr)
		bob := storetest.User(t, st, bobAddr)
		aliceBox, err := e.mbs.Add(ctx, alice, mail.NewMailbox{Address: aliceAddr, ProviderID: e.provider.ID, Password: "alice-pass"})
		if err != nil {
			t.Fatal(err)
		}
		bobBox, err := e.mbs.Add(ctx, bob, mail.NewMailbox{Address: bobAddr, Password: "bob-pass"}) // the domain was learned
		if err != nil {
			t.Fatal(err)
		}
		set := mail.MailboxSettings{FirstLoad: mail.PeriodWeek, AutoLoad: true, AllFolders: true, SendEnabled: true,
			DefaultSender: true, Alias: "Алиса Смирнова", Signature: `<p>Best, Alice<script>alert(1)</script></p>`,
			SignatureEnabled: true}
		if _, err := e.mbs.UpdateSettings(ctx, alice, aliceBox.ID, set); err != nil {
			t.Fatal(err)
		}
		bobContact := &crm.Contact{Name: "Bob", Emails: []crm.Email{{Address: bobAddr, Kind: "work", Primary: true}}}
		if err := st.CreateContact(ctx, alice, bobContact); err != nil {
			t.Fatal(err)
		}
		aliceContact := &crm.Contact{Name: "Alice", Emails: []crm.Email{{Address: aliceAddr, Kind: "work", Primary: true}}}
		if err := st.CreateContact(ctx, bob, aliceContact); err != nil {
			t.Fatal(err)
		}
		// The real clock: the servers date what they receive now.
		e.now = time.Now()

		if _, err := e.mbs.Send(ctx, alice, mail.Outgoing{MailboxID: aliceBox.ID}); err == nil {
			t.Fatal("a letter without recipients was sent")
		}
		if _, err := e.mbs.Send(ctx, bob, mail.Outgoing{MailboxID: aliceBox.ID, To: []string{bobAddr}}); err == nil {
			t.Fatal("bob sent from alice's mailbox")
		}
		id, err := e.mbs.Send(ctx, alice, mail.Outgoing{MailboxID: aliceBox.ID, To: []string{"Bob <" + bobAddr + ">"},
			Subject: "Предложение", HTML: "<p>Hello Bob</p>",
			Attachments: []mail.OutgoingFile{{Name: "смета.txt", ContentType: "text/plain", Data: []byte("1 2 3")}}})
		if err != nil {
			t.Fatal(err)
		}
		// On Bob's card in Alice's CRM at once, in Alice's Sent folder, and
		// in Bob's inbox.
		onBob, err := st.LettersOfRecord(ctx, alice.UserID, "contact", bobContact.ID, store.LetterCursor{}, 10)
		if err != nil || len(onBob) != 1 || onBob[0].ID != id || !onBob[0].HasAttachments {
			t.Fatalf("bob's timeline %+v, %v", onBob, err)
		}
		view, err := e.mbs.Letter(ctx, alice, id)
		if err != nil || !strings.Contains(view.HTML, "Best, Alice") || strings.Contains(view.HTML, "script") ||
			view.FromName != "Алиса Смирнова" {
			t.Fatalf("sent letter %+v, %v", view, err)
		}
		srv.WaitCount(t, bobAddr, "INBOX", 1)
		if n := srv.Count(t, aliceAddr, "Sent Items"); n != 1 { // the server's \Sent folder
			t.Fatalf("%d letters in alice's Sent", n)
		}
		// Loading Alice's mailbox finds the Sent copy by content.
		if stats, err := e.mbs.Load(ctx, aliceBox.ID); err != nil || stats.Stored != 0 || stats.Fetched != 1 {
			t.Fatalf("alice's load %+v, %v", stats, err)
		}
		// Bob loads it and sees it on Alice's card; he replies from it.
		if stats, err := e.mbs.Load(ctx, bobBox.ID); err != nil || stats.Stored != 1 {
			t.Fatalf("bob's load %+v, %v", stats, err)
		}
		onAlice, err := st.LettersOfRecord(ctx, bob.UserID, "contact", aliceContact.ID, store.LetterCursor{}, 10)
		if err != nil || len(onAlice) != 1 || onAlice[0].Subject != "Предложение" {
			t.Fatalf("alice's timeline in bob's CRM %+v, %v", onAlice, err)
		}
		att, err := e.mbs.Attachment(ctx, bob, onAlice[0].ID, 0)
		if err != nil || att.Filename != "смета.txt" || string(att.Data) != "1 2 3" {
			t.Fatalf("attachment %+v, %v", att, err)
		}
		reply, err := e.mbs.Send(ctx, bob, mail.Outgoing{MailboxID: bobBox.ID, To: []string{aliceAddr}, Subject: "Re: Предложение",
			HTML: "<p>Thanks</p>", ReplyTo: onAlice[0].ID})
		if err != nil {
			t.Fatal(err)
		}
		srv.WaitCount(t, aliceAddr, "INBOX", 1)
		if stats, err := e.mbs.Load(ctx, aliceBox.ID); err != nil || stats.Stored != 1 {
			t.Fatalf("alice loads the reply %+v, %v", stats, err)
		}
		onBob, _ = st.LettersOfRecord(ctx, alice.UserID, "contact", bobContact.ID, store.LetterCursor{}, 10)
		if len(onBob) != 2 || onBob[0].Subject != "Re: Предложение" || onBob[0].ThreadID != onBob[1].ThreadID {
			t.Fatalf("the reply is not threaded on bob's card: %+v (reply %s)", onBob, reply)
		}
	})
}

func TestIdleLoadsNewMail(t *testing.T) {
	srv := mailserver.Start(t, mailserver.Options{})
	st := storetest.Open(t, false)
	ctx := context.Background()
	e := newMailEnv(t, st, srv)
	addr := "idle@" + srv.Domain()
	srv.AddUser(t, addr, "idle-pass")
	u := storetest.User(t, st, addr)
	e.now = time.Now() // the server dates delivered mail now
	mb, err := e.mbs.Add(ctx, u, mail.NewMailbox{Address: addr, ProviderID: e.provider.ID, Password: "idle-pass"})
	if err != nil {
		t.Fatal(err)
	}
	ictx, stop := context.WithCancel(ctx)
	idled := make(chan error, 1)
	go func() { idled <- e.mbs.RunIdle(ictx) }()
	t.Cleanup(func() {
		stop()
		if err := <-idled; err != nil {
			t.Error(err)
		}
	})
	// IDLE starts by loading what is there (nothing), then waits.
	waitFor(t, func() bool { f, _ := st.MailFolders(ctx, mb.ID); return len(f) > 0 && f[0].LoadedAt > 0 })
	t0 := time.Now()
	srv.Deliver(t, "ivan@example.org", []string{addr}, raw("Ivan <ivan@example.org>", addr, "pushed", "hi"))
	waitFor(t, func() bool { n, _, _ := st.CountLetters(ctx, mb.ID); return n == 1 })
	t.Logf("delivered letter stored %v after delivery started", time.Since(t0).Round(time.Millisecond))
}

// waitFor polls cond until it holds, failing after 30 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 30 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
