package mail_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"

	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/mail"
	"github.com/tandem-crm/tandem/internal/mail/message"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/testenv/mailserver"
	"github.com/tandem-crm/tandem/internal/testenv/storetest"
)

// badLetter is a letter the parser must survive.
type badLetter struct {
	name string
	raw  []byte
	warn bool // the parser reports a warning for it
}

// badLetters are what real mailboxes hold: broken MIME, raw 8-bit
// headers, broken charsets, a 30 MB attachment and 2,000 recipients (the
// 1,999th is recipients[1998]).
func badLetters(t *testing.T, to string, recipients []string) []badLetter {
	t.Helper()
	cp1251 := func(s string) string {
		b, err := charmap.Windows1251.NewEncoder().String(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	koi8 := func(s string) string {
		b, err := charmap.KOI8R.NewEncoder().String(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	head := func(subject, id string) string {
		return "From: Ivan <ivan@example.org>\r\nTo: " + to + "\r\nSubject: " + subject + "\r\nMessage-ID: <" + id +
			"@example.org>\r\nDate: Tue, 9 Mar 2021 09:00:00 +0300\r\n"
	}

	// 30 MB of attachment (about 40 MB once base64 encoded), in 76-column
	// lines as mailers write it.
	data := make([]byte, 30<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i+8 <= len(data); i += 8 {
		v := rng.Uint64()
		for j := range 8 {
			data[i+j] = byte(v >> (8 * j))
		}
	}
	enc := base64.StdEncoding.EncodeToString(data)
	var big strings.Builder
	big.WriteString(head("big attachment", "big") + "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe scans are attached.\r\n" +
		"--b1\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"scans.bin\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n")
	for i := 0; i < len(enc); i += 76 {
		big.WriteString(enc[i:min(i+76, len(enc))] + "\r\n")
	}
	big.WriteString("--b1--\r\n")

	var many strings.Builder
	many.WriteString("From: Ivan <ivan@example.org>\r\nTo: ")
	for i, r := range recipients {
		if i > 0 {
			many.WriteString(",\r\n ")
		}
		fmt.Fprintf(&many, "\"Recipient %d\" <%s>", i+1, r)
	}
	many.WriteString("\r\nSubject: newsletter\r\nMessage-ID: <many@example.org>\r\nDate: Tue, 9 Mar 2021 09:00:00 +0300\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nNews for everyone.\r\n")

	return []badLetter{
		{name: "malformed MIME", warn: true, raw: []byte(head("malformed", "malformed") +
			"this line is no header\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n" +
			"--outer\r\nContent-Type: multipart/alternative\r\n\r\nno boundary here\r\n" +
			"--outer\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n!!not*base64==\r\n" +
			"--outer\r\nContent-Type: image/png; name=\"x.png\r\nContent-Transfer-Encoding: x-unknown\r\n\r\n\x89PNG\r\n" +
			"--outer\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>unterminated")},
		{name: "8-bit raw headers", warn: true, raw: []byte("From: " + cp1251("Иван Петров") + " <ivan@example.org>\r\nTo: " + to +
			"\r\nSubject: " + cp1251("Счёт на оплату за март") + "\r\nMessage-ID: <eightbit@example.org>\r\n" +
			"Date: Tue, 9 Mar 2021 09:00:00 +0300\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=windows-1251\r\n\r\n" +
			cp1251("Добрый день, счёт во вложении.") + "\r\n")},
		{name: "broken charset", warn: true, raw: []byte(head("=?x-no-such-charset?Q?hello?= =?utf-8?B?!!!?=", "charset") +
			"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"c\"\r\n\r\n" +
			"--c\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nbad utf-8: \xff\xfe\xc3\x28 end\r\n" +
			"--c\r\nContent-Type: text/html; charset=\"koi8-q\"\r\n\r\n<p>" + koi8("Привет") + "</p>\r\n--c--\r\n")},
		{name: "30 MB attachment", raw: []byte(big.String())},
		{name: "2000 recipients", raw: []byte(many.String())},
	}
}

// TestLoadBadInput appends hostile letters to a real Dovecot, loads them,
// and checks each is stored with its raw bytes exactly as appended and the
// parser's warnings recorded; none is lost, and the 2,000-recipient letter
// is on the card of the contact whose address is its 1,999th recipient.
func TestLoadBadInput(t *testing.T) {
	srv := mailserver.Start(t, mailserver.Options{})
	recipients := make([]string, 2000)
	for i := range recipients {
		recipients[i] = fmt.Sprintf("r%04d@list.example.org", i+1)
	}
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newMailEnv(t, st, srv)
		user := "bad-" + t.Name()[len("TestLoadBadInput/"):] + "@" + srv.Domain()
		srv.AddUser(t, user, "bad-pass")
		owner := storetest.User(t, st, user)
		nth := &crm.Contact{Name: "The 1999th", Emails: []crm.Email{{Address: strings.ToUpper(recipients[1998]), Kind: "work", Primary: true}}}
		if err := st.CreateContact(ctx, owner, nth); err != nil {
			t.Fatal(err)
		}
		mb, err := e.mbs.Add(ctx, owner, mail.NewMailbox{Address: user, ProviderID: e.provider.ID, Password: "bad-pass"})
		if err != nil {
			t.Fatal(err)
		}
		letters := badLetters(t, user, recipients)
		withWarnings := 0
		for _, l := range letters {
			if got := len(message.Parse(l.raw).Warnings) > 0; got != l.warn {
				t.Fatalf("%s: the parser reports warnings: %v, the test expects %v", l.name, got, l.warn)
			}
			if l.warn {
				withWarnings++
			}
			srv.Append(t, user, "INBOX", l.raw, t0.AddDate(0, 0, -1))
		}

		stats, err := e.mbs.Load(ctx, mb.ID)
		if err != nil {
			t.Fatal(err)
		}
		if stats.Fetched != len(letters) || stats.Stored != len(letters) || stats.Skipped != 0 || stats.Warnings != withWarnings {
			t.Fatalf("load %+v, want %d fetched and stored, %d with warnings", stats, len(letters), withWarnings)
		}
		if n, locs, err := st.CountLetters(ctx, mb.ID); err != nil || n != len(letters) || locs != len(letters) {
			t.Fatalf("%d letters in %d locations (%v), want %d", n, locs, err, len(letters))
		}
		stored, err := st.LettersOfUser(ctx, owner.UserID, mb.ID, store.LetterCursor{}, 50)
		if err != nil {
			t.Fatal(err)
		}
		byHash := map[string]*store.LetterDetail{}
		for _, s := range stored {
			d, err := st.GetLetter(ctx, owner.UserID, s.ID)
			if err != nil {
				t.Fatal(err)
			}
			byHash[d.Hash] = d
		}
		for _, l := range letters {
			d := byHash[message.Hash(l.raw)]
			if d == nil {
				t.Errorf("%s: not stored under the hash of the appended bytes", l.name)
				continue
			}
			kept, err := st.LetterRaw(ctx, d.Hash)
			if err != nil || !bytes.Equal(kept, l.raw) {
				t.Errorf("%s: raw letter not kept as appended (%d bytes kept, %d appended, %v)", l.name, len(kept), len(l.raw), err)
			}
			var want []string
			for _, w := range message.Parse(l.raw).Warnings {
				want = append(want, w.String())
			}
			if !slices.Equal(d.Warnings, want) {
				t.Errorf("%s: warnings %q, the parser reports %q", l.name, d.Warnings, want)
			}
			if d.Size != int64(len(l.raw)) {
				t.Errorf("%s: size %d, want %d", l.name, d.Size, len(l.raw))
			}
			switch l.name {
			case "8-bit raw headers":
				if d.Subject != "Счёт на оплату за март" || d.FromName != "Иван Петров" {
					t.Errorf("8-bit headers read as subject %q, from %q", d.Subject, d.FromName)
				}
			case "30 MB attachment":
				if len(d.Attachments) != 1 || d.Attachments[0].Size != 30<<20 || d.Attachments[0].Filename != "scans.bin" {
					t.Errorf("big attachment %+v", d.Attachments)
				}
			case "2000 recipients":
				var to []string
				for _, a := range d.Addresses {
					if a.Role == "to" {
						to = append(to, a.Email)
					}
				}
				if !slices.Equal(to, recipients) {
					t.Errorf("%d of 2000 recipients stored in order", len(to))
				}
			}
		}
		onNth, err := st.LettersOfRecord(ctx, owner.UserID, "contact", nth.ID, store.LetterCursor{}, 10)
		if err != nil || len(onNth) != 1 || onNth[0].Subject != "newsletter" {
			t.Fatalf("the 1,999th recipient's card: %+v, %v", onNth, err)
		}
		// The big attachment reads back whole.
		view, err := e.mbs.Attachment(ctx, owner, byHash[message.Hash(letters[3].raw)].ID, 0)
		if err != nil || view.Size != 30<<20 {
			t.Fatalf("big attachment read back: %v", err)
		}
	})
}
