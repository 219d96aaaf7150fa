package message

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
)

func encode(t *testing.T, e encoding.Encoding, s string) []byte {
	t.Helper()
	b, err := e.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatalf("encode %q: %v", s, err)
	}
	return b
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func qp(b []byte) string {
	var buf bytes.Buffer
	w := quotedprintable.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.String()
}

func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

func TestParseCharsets(t *testing.T) {
	const ru = "Привет, как дела? Встреча завтра в 10:00."
	const jp = "会議の議事録を送ります"
	koi := encode(t, charmap.KOI8R, ru)
	win := encode(t, charmap.Windows1251, ru)
	iso := encode(t, japanese.ISO2022JP, jp)
	tests := []struct {
		name    string
		raw     []byte
		subject string
		text    string
		warn    WarningCode // expected; "" for none
	}{
		{
			name: "koi8-r subject and quoted-printable body",
			raw: crlf("From: a@example.com\nDate: Mon, 2 Jan 2006 15:04:05 +0300\nMessage-ID: <1@x>\n" +
				"Subject: =?koi8-r?B?" + b64(koi) + "?=\nContent-Type: text/plain; charset=koi8-r\n" +
				"Content-Transfer-Encoding: quoted-printable\n\n" + qp(koi)),
			subject: ru, text: ru,
		},
		{
			name: "windows-1251 Q subject and base64 body",
			raw: crlf("From: a@example.com\nDate: Mon, 2 Jan 2006 15:04:05 +0300\nMessage-ID: <1@x>\n" +
				"Subject: " + mime.QEncoding.Encode("windows-1251", string(win)) + "\n" +
				"Content-Type: text/plain; charset=\"windows-1251\"\nContent-Transfer-Encoding: base64\n\n" + b64(win)),
			subject: ru, text: ru,
		},
		{
			name: "iso-2022-jp subject split over words and 7bit body",
			raw: crlf("From: a@example.com\nDate: Mon, 2 Jan 2006 15:04:05 +0900\nMessage-ID: <1@x>\n" +
				"Subject: =?ISO-2022-JP?B?" + b64(iso[:len(iso)/2]) + "?=\n =?ISO-2022-JP?B?" + b64(iso[len(iso)/2:]) + "?=\n" +
				"Content-Type: text/plain; charset=ISO-2022-JP\n\n" + string(iso)),
			subject: jp, text: jp,
		},
		{
			name: "raw 8-bit windows-1251 subject, charset from the body",
			raw: append(append(crlf("From: a@example.com\nDate: Mon, 2 Jan 2006 15:04:05 +0300\nMessage-ID: <1@x>\nSubject: "), win...),
				crlf("\nContent-Type: text/plain; charset=windows-1251\nContent-Transfer-Encoding: 8bit\n\n"+string(win))...),
			subject: ru, text: ru, warn: WarnEightBitHeader,
		},
		{
			name: "raw 8-bit koi8-r subject, no charset anywhere",
			raw: append(append(crlf("From: a@example.com\nDate: Mon, 2 Jan 2006 15:04:05 +0300\nMessage-ID: <1@x>\nSubject: "), koi...),
				crlf("\n\nhello")...),
			subject: ru, text: "hello", warn: WarnEightBitHeader,
		},
		{
			name:    "8-bit windows-1251 body without charset",
			raw:     append(crlf("From: a@example.com\nDate: Mon, 2 Jan 2006 15:04:05 +0300\nMessage-ID: <1@x>\nSubject: x\n\n"), win...),
			subject: "x", text: ru, warn: WarnBadText,
		},
		{
			name: "broken charset name",
			raw: crlf("From: a@example.com\nDate: Mon, 2 Jan 2006 15:04:05 +0300\nMessage-ID: <1@x>\nSubject: =?x-bogus?Q?caf=C3=A9?=\n" +
				"Content-Type: text/plain; charset=\"utf-8;\"\n\ncafé"),
			subject: "café", text: "café", warn: WarnUnknownCharset,
		},
		{
			name:    "utf-8 declared, windows-1251 sent",
			raw:     append(crlf("From: a@example.com\nDate: Mon, 2 Jan 2006 15:04:05 +0300\nMessage-ID: <1@x>\nSubject: x\nContent-Type: text/plain; charset=utf-8\n\n"), win...),
			subject: "x", text: ru, warn: WarnBadText,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := parse(tt.raw)
			checkInvariants(t, tt.raw, m)
			if m.Subject != tt.subject {
				t.Errorf("Subject = %q, want %q", m.Subject, tt.subject)
			}
			if strings.TrimRight(m.Text, "\n") != tt.text {
				t.Errorf("Text = %q, want %q", m.Text, tt.text)
			}
			if tt.warn == "" && len(m.Warnings) > 0 {
				t.Errorf("warnings %v, want none", m.Warnings)
			}
			if tt.warn != "" && !m.HasWarning(tt.warn) {
				t.Errorf("warnings %v, want %s", m.Warnings, tt.warn)
			}
		})
	}
}

func TestParseFields(t *testing.T) {
	raw := crlf(`Return-Path: <bounce@example.com>
From: =?utf-8?B?0JjQstCw0L0g0J/QtdGC0YDQvtCy?= <Ivan.Petrov@Example.COM>
Sender: "Secretary" <sec@example.com>
Reply-To: reply@example.com
To: "Doe, Jane" <jane@example.com>, bob@example.com
Cc: undisclosed: ;, Carol <CAROL@example.com>
Bcc: hidden@example.com
Subject: =?utf-8?Q?=D0=9E=D1=82=D1=87=D1=91=D1=82?= for Q3
Date: Tue, 1 Jul 2003 10:52:37 +0200
Message-ID:  <abc.123@mail.example.com>
In-Reply-To: <prev@example.com>
References: <first@example.com>
 <prev@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Hello
`)
	m := parse(raw)
	checkInvariants(t, raw, m)
	if len(m.Warnings) != 0 {
		t.Errorf("warnings: %v", m.Warnings)
	}
	want := &Message{
		MessageID:  "abc.123@mail.example.com",
		Subject:    "Отчёт for Q3",
		Date:       time.Date(2003, 7, 1, 8, 52, 37, 0, time.UTC),
		From:       []Address{{"Иван Петров", "ivan.petrov@example.com"}},
		Sender:     []Address{{"Secretary", "sec@example.com"}},
		ReplyTo:    []Address{{"", "reply@example.com"}},
		To:         []Address{{"Doe, Jane", "jane@example.com"}, {"", "bob@example.com"}},
		Cc:         []Address{{"Carol", "carol@example.com"}},
		Bcc:        []Address{{"", "hidden@example.com"}},
		InReplyTo:  []string{"prev@example.com"},
		References: []string{"first@example.com", "prev@example.com"},
		Text:       "Hello\n",
	}
	got := *m
	if !got.Date.Equal(want.Date) {
		t.Errorf("Date = %v, want %v", got.Date, want.Date)
	}
	got.Date, want.Date = time.Time{}, time.Time{}
	got.Headers, got.Snippet, got.Size, got.Warnings = nil, "", 0, nil
	if !reflect.DeepEqual(&got, want) {
		t.Errorf("got  %+v\nwant %+v", got, *want)
	}
	all := m.AllAddresses()
	if len(all) != 7 {
		t.Errorf("AllAddresses = %v, want 7 distinct", all)
	}
	if m.Header("return-path") != "<bounce@example.com>" {
		t.Errorf("Header(return-path) = %q", m.Header("return-path"))
	}
}

func TestParseBroken(t *testing.T) {
	tests := []struct {
		name  string
		raw   string
		warn  WarningCode
		check func(t *testing.T, m *Message)
	}{
		{"missing Message-ID", "From: a@example.com\nDate: Mon, 2 Jan 2006 15:04:05 +0000\n\nbody", WarnMissingHeader,
			func(t *testing.T, m *Message) {
				if m.MessageID != "" || m.Text != "body" {
					t.Errorf("MessageID %q Text %q", m.MessageID, m.Text)
				}
			}},
		{"bad date", "From: a@example.com\nMessage-ID: <a@b>\nDate: yesterday at noon\n\nbody", WarnBadDate,
			func(t *testing.T, m *Message) {
				if !m.Date.IsZero() {
					t.Errorf("Date = %v, want zero", m.Date)
				}
			}},
		{"obsolete zone and comments in date", "From: a@example.com\nMessage-ID: <a@b>\nDate: Wed, 9 Jan 2002 19:47:50 MST (Mountain)\nX: (\n\nbody", "",
			func(t *testing.T, m *Message) {
				if want := time.Date(2002, 1, 10, 2, 47, 50, 0, time.UTC); !m.Date.Equal(want) {
					t.Errorf("Date = %v, want %v", m.Date.UTC(), want)
				}
			}},
		{"broken address list keeps the good ones", "From: a@example.com\nMessage-ID: <a@b>\nDate: Mon, 2 Jan 2006 15:04:05 +0000\nTo: ok@example.com, broken <<, Имя <x@example.com>, (c) <<@>>, bare@example.org junk\n\nb", WarnBadAddress,
			func(t *testing.T, m *Message) {
				want := []Address{{"", "ok@example.com"}, {"Имя", "x@example.com"}, {"", "bare@example.org"}}
				if !reflect.DeepEqual(m.To, want) {
					t.Errorf("To = %v, want %v", m.To, want)
				}
			}},
		{"truncated multipart keeps the parts read", "From: a@example.com\nMessage-ID: <a@b>\nDate: Mon, 2 Jan 2006 15:04:05 +0000\nContent-Type: multipart/mixed; boundary=XX\n\n--XX\nContent-Type: text/plain\n\nfirst\n--XX\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK", WarnTruncatedMultipart,
			func(t *testing.T, m *Message) {
				if m.Text != "first" || len(m.Attachments) != 1 || string(m.Attachments[0].Data) != "%PDF-1.4\n" {
					t.Errorf("Text %q attachments %v", m.Text, m.Attachments)
				}
			}},
		{"multipart without boundary is read as text", "From: a@example.com\nMessage-ID: <a@b>\nDate: Mon, 2 Jan 2006 15:04:05 +0000\nContent-Type: multipart/mixed\n\nhello", WarnBadContentType,
			func(t *testing.T, m *Message) {
				if m.Text != "hello" {
					t.Errorf("Text %q", m.Text)
				}
			}},
		{"bad base64 decodes what it can", "From: a@example.com\nMessage-ID: <a@b>\nDate: Mon, 2 Jan 2006 15:04:05 +0000\nContent-Transfer-Encoding: base64\n\naGVs bG8g!d29y\nbGQ=", WarnBadEncoding,
			func(t *testing.T, m *Message) {
				if m.Text != "hello world" {
					t.Errorf("Text %q", m.Text)
				}
			}},
		{"bad quoted-printable keeps the text", "From: a@example.com\nMessage-ID: <a@b>\nDate: Mon, 2 Jan 2006 15:04:05 +0000\nContent-Transfer-Encoding: quoted-printable\n\n100% =ZZ caf=C3=A9 soft=\nbreak", WarnBadEncoding,
			func(t *testing.T, m *Message) {
				if m.Text != "100% =ZZ café softbreak" {
					t.Errorf("Text %q", m.Text)
				}
			}},
		{"header without blank line", "From: a@example.com\nMessage-ID: <a@b>\nDate: Mon, 2 Jan 2006 15:04:05 +0000\nthis is the body\nsecond line", WarnBadHeader,
			func(t *testing.T, m *Message) {
				if m.Text != "this is the body\nsecond line" {
					t.Errorf("Text %q", m.Text)
				}
			}},
		{"no header at all", "just some text\n", WarnBadHeader,
			func(t *testing.T, m *Message) {
				if m.Text != "just some text\n" {
					t.Errorf("Text %q", m.Text)
				}
			}},
		{"empty input", "", WarnMissingHeader, func(t *testing.T, m *Message) {}},
		{"deep nesting", "From: a@example.com\nMessage-ID: <a@b>\nDate: Mon, 2 Jan 2006 15:04:05 +0000\n" + nested(60), WarnTooComplex,
			func(t *testing.T, m *Message) {}},
		{"references with an invalid id", "From: a@example.com\nMessage-ID: <a@b>\nDate: Mon, 2 Jan 2006 15:04:05 +0000\nReferences: <foo@bar.net>, <invalid.   \n something@bar.net>\n\nx", WarnBadMessageID,
			func(t *testing.T, m *Message) {
				if want := []string{"foo@bar.net", "invalid.something@bar.net"}; !reflect.DeepEqual(m.References, want) {
					t.Errorf("References %q, want %q", m.References, want)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := []byte(tt.raw)
			m := parse(raw)
			checkInvariants(t, raw, m)
			if tt.warn == "" && len(m.Warnings) > 0 {
				t.Errorf("warnings %v, want none", m.Warnings)
			}
			if tt.warn != "" && !m.HasWarning(tt.warn) {
				t.Errorf("warnings %v, want %s", m.Warnings, tt.warn)
			}
			tt.check(t, m)
		})
	}
}

func nested(depth int) string {
	var b strings.Builder
	for i := 0; i < depth; i++ {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n", i, i)
	}
	b.WriteString("Content-Type: text/plain\n\ndeep\n")
	for i := depth - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\n", i)
	}
	return b.String()
}

func TestParseAttachments(t *testing.T) {
	raw := crlf(`From: a@example.com
Message-ID: <a@b>
Date: Mon, 2 Jan 2006 15:04:05 +0000
Content-Type: multipart/mixed; boundary="outer"

preamble
--outer
Content-Type: multipart/related; boundary="outer-inner"

--outer-inner
Content-Type: text/html; charset=utf-8

<p>Hi <img src="cid:logo@x"></p>
--outer-inner
Content-Type: image/png
Content-ID: <logo@x>
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--outer-inner--
--outer
Content-Type: application/pdf; name="=?utf-8?B?0J7RgtGH0ZHRgi5wZGY=?="
Content-Disposition: attachment

%PDF
--outer
Content-Type: application/octet-stream
Content-Disposition: attachment;
 filename*0*=utf-8''%D0%94%D0%BE%D0%B3%D0%BE%D0%B2%D0%BE%D1%80;
 filename*1*=%20%E2%84%961.docx

doc
--outer
Content-Type: text/plain; name=notes.txt
Content-Disposition: attachment; filename="C:\tmp\notes.txt"

notes
--outer
Content-Type: message/rfc822

From: inner@example.com
Subject: inner

inner body
--outer--
epilogue
`)
	m := parse(raw)
	checkInvariants(t, raw, m)
	if len(m.Warnings) != 0 {
		t.Errorf("warnings: %v", m.Warnings)
	}
	if m.HTML != "<p>Hi <img src=\"cid:logo@x\"></p>" || m.Text != "" {
		t.Errorf("HTML %q Text %q", m.HTML, m.Text)
	}
	if m.Snippet != "Hi" {
		t.Errorf("Snippet %q, want from HTML", m.Snippet)
	}
	type att struct {
		Filename, ContentType, ContentID string
		Inline                           bool
		Data                             string
	}
	var got []att
	for _, a := range m.Attachments {
		got = append(got, att{a.Filename, a.ContentType, a.ContentID, a.Inline, string(a.Data)})
	}
	want := []att{
		{"", "image/png", "logo@x", true, "\x89PNG\r\n\x1a\n"},
		{"Отчёт.pdf", "application/pdf", "", false, "%PDF"},
		{"Договор №1.docx", "application/octet-stream", "", false, "doc"},
		{"notes.txt", "text/plain", "", false, "notes"},
		{"", "message/rfc822", "", false, "From: inner@example.com\r\nSubject: inner\r\n\r\ninner body"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("attachments\n got %+v\nwant %+v", got, want)
	}
	inner := parse(m.Attachments[4].Data)
	if inner.Subject != "inner" || inner.Text != "inner body" {
		t.Errorf("nested letter: %q %q", inner.Subject, inner.Text)
	}
}

func TestParseCorpusDetails(t *testing.T) {
	c := corpus(t)
	tests := []struct {
		file  string
		check func(t *testing.T, m *Message)
	}{
		{"attachment_emails_attachment_nonascii_filename.eml", func(t *testing.T, m *Message) {
			if len(m.Attachments) != 1 || m.Attachments[0].Filename != "ciële.txt" {
				t.Errorf("attachments %v", m.Attachments)
			}
		}},
		{"attachment_emails_attachment_message_rfc822.eml", func(t *testing.T, m *Message) {
			var found bool
			for _, a := range m.Attachments {
				if a.ContentType == "message/rfc822" {
					found = true
					if inner := parse(a.Data); len(inner.From) == 0 {
						t.Errorf("nested letter has no From: %v", inner.Warnings)
					}
				}
			}
			if !found {
				t.Errorf("no message/rfc822 attachment in %v", m.Attachments)
			}
		}},
		{"multi_charset_japanese_iso_2022.eml", func(t *testing.T, m *Message) {
			if m.Subject != "まみむめも" || m.To[0].Name != "みける" || !strings.Contains(m.Text, "すみません。") {
				t.Errorf("Subject %q To %v Text %q", m.Subject, m.To, m.Text)
			}
		}},
		{"rfc2822_example14.eml", func(t *testing.T, m *Message) {
			if m.Subject != "Re: TEST  テストテスト" {
				t.Errorf("Subject %q", m.Subject)
			}
		}},
		{"error_emails_content_transfer_encoding_7-bit.eml", func(t *testing.T, m *Message) {
			if !m.HasWarning(WarnBadEncoding) || m.Text == "" || m.HTML == "" {
				t.Errorf("warnings %v, text %d, html %d", m.Warnings, len(m.Text), len(m.HTML))
			}
		}},
		{"error_emails_bad_encoded_subject.eml", func(t *testing.T, m *Message) {
			if m.Subject != "TEST" || !m.HasWarning(WarnUnknownCharset) {
				t.Errorf("Subject %q warnings %v", m.Subject, m.Warnings)
			}
		}},
		{"error_emails_multiple_content_types.eml", func(t *testing.T, m *Message) {
			if m.Text != "foo\n" || m.HTML != "<p>foo</p>\n" || !m.HasWarning(WarnBadHeader) {
				t.Errorf("Text %q HTML %q warnings %v", m.Text, m.HTML, m.Warnings)
			}
		}},
		{"plain_emails_raw_email_incorrect_header.eml", func(t *testing.T, m *Message) {
			if m.Subject == "" || len(m.From) != 1 || !m.HasWarning(WarnBadHeader) {
				t.Errorf("Subject %q From %v warnings %v", m.Subject, m.From, m.Warnings)
			}
		}},
		{"rfc2822_example13.eml", func(t *testing.T, m *Message) {
			if len(m.To) != 1 || m.To[0].Email != "mary@example.net" || m.MessageID != "1234@local.machine.example" {
				t.Errorf("To %v MessageID %q", m.To, m.MessageID)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw, ok := c[tt.file]
			if !ok {
				t.Fatalf("%s not in corpus", tt.file)
			}
			tt.check(t, parse(raw))
		})
	}
}

func TestParseManyRecipients(t *testing.T) {
	var to strings.Builder
	for i := 0; i < 2000; i++ {
		if i > 0 {
			to.WriteString(",\r\n ")
		}
		if i%3 == 0 {
			fmt.Fprintf(&to, "%s <User%d@Example.com>", mime.QEncoding.Encode("utf-8", fmt.Sprintf("Получатель %d", i)), i)
		} else {
			fmt.Fprintf(&to, "user%d@example.com", i)
		}
	}
	raw := []byte("From: a@example.com\r\nMessage-ID: <a@b>\r\nDate: Mon, 2 Jan 2006 15:04:05 +0000\r\nTo: " + to.String() + "\r\nCc: user5@example.com\r\n\r\nhi\r\n")
	m := parse(raw)
	checkInvariants(t, raw, m)
	if len(m.Warnings) != 0 {
		t.Errorf("warnings %v", m.Warnings)
	}
	if len(m.To) != 2000 {
		t.Fatalf("To has %d addresses, want 2000", len(m.To))
	}
	if m.To[3] != (Address{"Получатель 3", "user3@example.com"}) {
		t.Errorf("To[3] = %v", m.To[3])
	}
	if n := len(m.AllAddresses()); n != 2001 {
		t.Errorf("AllAddresses has %d, want 2001 (Cc repeats a To)", n)
	}
}

func TestParseLargeAttachment(t *testing.T) {
	if testing.Short() {
		t.Skip("30 MB letter")
	}
	const size = 30 << 20
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i*7 + i>>11)
	}
	var buf bytes.Buffer
	buf.WriteString("From: a@example.com\r\nMessage-ID: <a@b>\r\nDate: Mon, 2 Jan 2006 15:04:05 +0000\r\n" +
		"Content-Type: multipart/mixed; boundary=BB\r\n\r\n--BB\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n" +
		"--BB\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=big.bin\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n")
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		buf.WriteString(enc[:76])
		buf.WriteString("\r\n")
		enc = enc[76:]
	}
	buf.WriteString(enc + "\r\n--BB--\r\n")
	raw := buf.Bytes()

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m := parse(raw)
	runtime.ReadMemStats(&after)

	if len(m.Attachments) != 1 || !bytes.Equal(m.Attachments[0].Data, data) {
		t.Fatalf("attachment not decoded intact")
	}
	if m.Text != "see attached" || len(m.Warnings) != 0 {
		t.Errorf("Text %q warnings %v", m.Text, m.Warnings)
	}
	// One decoded copy (30 MB, allocated at the decoder's upper bound) and small change;
	// a second copy of the letter or of the data would be 40 or 30 MB more.
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("parse of a %d MB letter allocated %.1f MB", len(raw)>>20, float64(alloc)/(1<<20))
	if limit := uint64(size) * 5 / 4; alloc > limit {
		t.Errorf("parse allocated %d bytes, want at most %d", alloc, limit)
	}
}

func TestHash(t *testing.T) {
	if got := Hash(nil); got != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Errorf("Hash(nil) = %s", got)
	}
	if Hash([]byte("a\r\n")) == Hash([]byte("a\n")) {
		t.Error("hash ignores bytes")
	}
}

func TestNormalizeSubject(t *testing.T) {
	for in, want := range map[string]string{
		"Re: Hello":                   "Hello",
		"RE: Fwd: re:  Hello   world": "Hello world",
		"Отв: Пересл: Счёт №5":        "Счёт №5",
		"Re[2]: Re(3): Status":        "Status",
		"AW: WG: Angebot":             "Angebot",
		"[team] Re: plan":             "[team] Re: plan",
		"Meeting: 10:00":              "Meeting: 10:00",
		"Re:":                         "",
		"":                            "",
	} {
		if got := NormalizeSubject(in); got != want {
			t.Errorf("NormalizeSubject(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseHTMLMetaCharset(t *testing.T) {
	html := `<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1251"></head><body><p>Добрый день</p></body></html>`
	raw := append(crlf("From: a@example.com\nMessage-ID: <a@b>\nDate: Mon, 2 Jan 2006 15:04:05 +0000\nContent-Type: text/html\n\n"),
		encode(t, charmap.Windows1251, html)...)
	m := parse(raw)
	if m.HTML != html || m.Snippet != "Добрый день" || len(m.Warnings) != 0 {
		t.Errorf("HTML %q Snippet %q warnings %v", m.HTML, m.Snippet, m.Warnings)
	}
}

// TestParseLinearTime feeds inputs that make naive parsers quadratic. The bound is loose on
// purpose (shared CI machines); a quadratic regression on these sizes takes minutes.
func TestParseLinearTime(t *testing.T) {
	for name, raw := range map[string]string{
		"encoded-word starts":   "Subject: " + strings.Repeat("=?x?q?", 200000) + "\r\n\r\n",
		"long folded To":        "To: " + strings.Repeat("a@b.example,\r\n ", 100000) + "\r\n\r\n",
		"boundary lookalikes":   "Content-Type: multipart/mixed; boundary=a\r\n\r\n" + strings.Repeat("--ab\r\n", 200000),
		"unclosed links":        "Content-Type: text/html\r\n\r\n" + strings.Repeat("<a href='http://x'>", 50000),
		"parameter pieces":      "Content-Type: text/plain" + strings.Repeat("; a*1=b", 100000) + "\r\n\r\n",
		"empty parts":           "Content-Type: multipart/mixed; boundary=a\r\n\r\n" + strings.Repeat("--a\r\n\r\n", 200000),
		"address junk":          "To: " + strings.Repeat("<<\"(", 100000) + "\r\n\r\n",
		"unterminated ids":      "References: " + strings.Repeat("<a", 200000) + "\r\n\r\n",
		"continuation overflow": "X: a\r\n" + strings.Repeat(" b\r\n", 300000) + "\r\n",
	} {
		start := time.Now()
		m := parse([]byte(raw))
		checkInvariants(t, []byte(raw), m)
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%s took %v", name, d)
		}
	}
}
