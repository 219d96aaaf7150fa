package message

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	gomessage "github.com/emersion/go-message"
)

// Draft is an outgoing letter. Date and MessageID come from the caller so that Compose is a
// pure function: the same draft always gives the same bytes.
type Draft struct {
	From    Address
	ReplyTo []Address
	To      []Address
	Cc      []Address
	// Bcc receive the letter but are not written to its header.
	Bcc []Address

	Subject string
	// HTML is the body. It is sent as given: sanitize user input (SanitizeHTML) before.
	HTML string
	// Text is the plain alternative; when empty it is derived from HTML (HTMLToText). A draft
	// with Text and no HTML is sent as plain text only.
	Text string

	// InReplyTo and References are message ids without angle brackets.
	InReplyTo  string
	References []string

	// Attachments are sent as files; those with Inline set (a ContentID is then required) are
	// shown in the HTML body through "cid:" references, e.g. signature images.
	Attachments []Attachment

	Date time.Time
	// MessageID is the id without angle brackets, e.g. "uuid@example.com".
	MessageID string
}

// Errors returned by Compose, wrapped with the details.
var (
	ErrNoRecipients = errors.New("no recipients")
	ErrBadAddress   = errors.New("invalid address")
	ErrBadDraft     = errors.New("invalid draft")
)

// Compose renders d as an RFC 5322 letter with 7-bit-safe transfer encodings (quoted-printable
// text, base64 attachments), RFC 2047 encoded non-ASCII header text and RFC 2231 encoded file
// names. It returns the letter and the envelope recipients for SMTP (To, Cc and Bcc, each
// address once).
func Compose(d Draft) (raw []byte, recipients []string, err error) {
	recipients, err = d.validate()
	if err != nil {
		return nil, nil, err
	}

	var inline, files []Attachment
	for _, a := range d.Attachments {
		a.Filename = cleanFilename(a.Filename)
		if a.Inline {
			inline = append(inline, a)
		} else {
			files = append(files, a)
		}
	}
	c := composer{seed: d.MessageID}
	fields := [][2]string{{"From", formatAddresses([]Address{d.From})}}
	if len(d.ReplyTo) > 0 {
		fields = append(fields, [2]string{"Reply-To", formatAddresses(d.ReplyTo)})
	}
	if len(d.To) > 0 {
		fields = append(fields, [2]string{"To", formatAddresses(d.To)})
	}
	if len(d.Cc) > 0 {
		fields = append(fields, [2]string{"Cc", formatAddresses(d.Cc)})
	}
	fields = append(fields,
		[2]string{"Subject", encodeText(strings.TrimSpace(d.Subject))},
		[2]string{"Date", d.Date.Format("Mon, 02 Jan 2006 15:04:05 -0700")},
		[2]string{"Message-ID", "<" + d.MessageID + ">"},
	)
	if d.InReplyTo != "" {
		fields = append(fields, [2]string{"In-Reply-To", "<" + d.InReplyTo + ">"})
	}
	if len(d.References) > 0 {
		fields = append(fields, [2]string{"References", "<" + strings.Join(d.References, "> <") + ">"})
	}
	fields = append(fields, [2]string{"MIME-Version", "1.0"})
	h := c.bodyHeader(d, inline, files)
	// textproto headers insert at the top: add in reverse of the order written.
	for i := len(fields) - 1; i >= 0; i-- {
		h.AddRaw(foldField(fields[i][0], fields[i][1]))
	}

	var buf bytes.Buffer
	buf.Grow(len(d.HTML)*2 + len(d.Text) + attachmentsSize(d.Attachments)*4/3 + 4096)
	w, err := gomessage.CreateWriter(&buf, h)
	if err != nil {
		return nil, nil, fmt.Errorf("write header: %w", err)
	}
	if err := c.writeBody(w, d, inline, files); err != nil {
		return nil, nil, err
	}
	if err := w.Close(); err != nil {
		return nil, nil, fmt.Errorf("close letter: %w", err)
	}
	return buf.Bytes(), recipients, nil
}

func attachmentsSize(as []Attachment) int {
	n := 0
	for _, a := range as {
		n += len(a.Data)
	}
	return n
}

// formatAddresses formats an address list; non-ASCII names become RFC 2047 words.
func formatAddresses(as []Address) string {
	parts := make([]string, len(as))
	for i, a := range as {
		e := strings.TrimSpace(a.Email)
		switch {
		case a.Name == "":
			parts[i] = "<" + e + ">"
		case isASCII(a.Name):
			parts[i] = (&mail.Address{Name: a.Name, Address: e}).String()
		default:
			// B words: Q words in a phrase may not hold "(", "," and the like (RFC 2047 5).
			parts[i] = encodeB(a.Name, 60) + " <" + e + ">"
		}
	}
	return strings.Join(parts, ", ")
}

// encodeText RFC 2047-encodes s when it is not printable ASCII: base64 words for mostly
// non-Latin text (shorter), Q words otherwise (readable).
func encodeText(s string) string {
	if isASCII(s) {
		return s
	}
	non := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			non++
		}
	}
	if non*3 > len(s) {
		return encodeB(s, 60)
	}
	return mime.QEncoding.Encode("utf-8", s)
}

// encodeB encodes s as base64 encoded words of at most max octets each, split between runes.
func encodeB(s string, max int) string {
	const frame = len("=?utf-8?b??=")
	limit := (max - frame) / 4 * 3 // raw bytes per word
	var b strings.Builder
	for len(s) > 0 {
		n := 0
		for n < len(s) {
			_, size := utf8.DecodeRuneInString(s[n:])
			if n+size > limit && n > 0 {
				break
			}
			n += size
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("=?utf-8?b?")
		b.WriteString(base64.StdEncoding.EncodeToString([]byte(s[:n])))
		b.WriteString("?=")
		s = s[n:]
	}
	return b.String()
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// foldField formats "Name: value" CRLF, folding before spaces so that lines stay within 76
// octets where the words allow (encoded words are at most 75).
func foldField(name, value string) []byte {
	var b strings.Builder
	b.Grow(len(name) + len(value) + len(value)/38 + 4)
	b.WriteString(name)
	b.WriteString(":")
	lineLen := b.Len()
	for _, tok := range strings.Split(value, " ") {
		// Folding right after the colon is allowed and keeps a long first word within limits.
		if tok != "" && lineLen+1+len(tok) > 76 {
			b.WriteString("\r\n")
			lineLen = 0
		}
		b.WriteByte(' ')
		b.WriteString(tok)
		lineLen += 1 + len(tok)
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

func (d Draft) validate() ([]string, error) {
	if err := checkAddress("From", d.From); err != nil {
		return nil, err
	}
	var rcpt []string
	seen := map[string]bool{}
	for _, l := range []struct {
		field string
		list  []Address
	}{{"To", d.To}, {"Cc", d.Cc}, {"Bcc", d.Bcc}} {
		for _, a := range l.list {
			if err := checkAddress(l.field, a); err != nil {
				return nil, err
			}
			e := strings.TrimSpace(a.Email)
			if k := strings.ToLower(e); !seen[k] {
				seen[k] = true
				rcpt = append(rcpt, e)
			}
		}
	}
	for _, a := range d.ReplyTo {
		if err := checkAddress("Reply-To", a); err != nil {
			return nil, err
		}
	}
	if len(rcpt) == 0 {
		return nil, fmt.Errorf("compose: %w", ErrNoRecipients)
	}
	if d.Date.IsZero() {
		return nil, fmt.Errorf("compose: %w: no date", ErrBadDraft)
	}
	if err := checkMsgID("Message-ID", d.MessageID); err != nil {
		return nil, err
	}
	if d.InReplyTo != "" {
		if err := checkMsgID("In-Reply-To", d.InReplyTo); err != nil {
			return nil, err
		}
	}
	for _, id := range d.References {
		if err := checkMsgID("References", id); err != nil {
			return nil, err
		}
	}
	if !utf8.ValidString(d.Subject) || strings.ContainsAny(d.Subject, "\r\n") {
		return nil, fmt.Errorf("compose: %w: subject has a line break or is not UTF-8", ErrBadDraft)
	}
	if !utf8.ValidString(d.HTML) || !utf8.ValidString(d.Text) {
		return nil, fmt.Errorf("compose: %w: body is not UTF-8", ErrBadDraft)
	}
	cids := map[string]bool{}
	for i, a := range d.Attachments {
		if a.ContentType != "" {
			if _, _, err := mime.ParseMediaType(a.ContentType); err != nil || !strings.Contains(a.ContentType, "/") {
				return nil, fmt.Errorf("compose: %w: attachment %d: content type %q", ErrBadDraft, i+1, a.ContentType)
			}
		}
		if !utf8.ValidString(a.Filename) {
			return nil, fmt.Errorf("compose: %w: attachment %d: file name is not UTF-8", ErrBadDraft, i+1)
		}
		if a.Inline && a.ContentID == "" {
			return nil, fmt.Errorf("compose: %w: inline attachment %d has no content id", ErrBadDraft, i+1)
		}
		if a.ContentID != "" {
			if err := checkMsgID("Content-ID", a.ContentID); err != nil {
				return nil, err
			}
			if cids[a.ContentID] {
				return nil, fmt.Errorf("compose: %w: content id %q used twice", ErrBadDraft, a.ContentID)
			}
			cids[a.ContentID] = true
		}
	}
	return rcpt, nil
}

func checkAddress(field string, a Address) error {
	e := strings.TrimSpace(a.Email)
	bad := func(why string) error {
		return fmt.Errorf("compose: %s: %w %q: %s", field, ErrBadAddress, a.Email, why)
	}
	if e == "" {
		return bad("empty")
	}
	for _, r := range e {
		if r >= utf8.RuneSelf {
			return bad("non-ASCII addresses are not supported")
		}
	}
	if strings.ContainsAny(a.Name, "\r\n") || !utf8.ValidString(a.Name) {
		return bad("name has a line break or is not UTF-8")
	}
	p, err := mail.ParseAddress("<" + e + ">")
	if err != nil || p.Address != e || !strings.Contains(e[strings.LastIndexByte(e, '@')+1:], ".") && !strings.HasSuffix(e, "@localhost") {
		return bad("not an address")
	}
	return nil
}

// checkMsgID accepts ids of the form left@right without brackets, blanks or controls.
func checkMsgID(field, id string) error {
	at := strings.IndexByte(id, '@')
	ok := at > 0 && at < len(id)-1 && strings.Count(id, "@") == 1
	for i := 0; ok && i < len(id); i++ {
		c := id[i]
		ok = c > ' ' && c < 0x7f && c != '<' && c != '>' && c != '"' && c != '(' && c != ')' && c != '\\'
	}
	if !ok {
		return fmt.Errorf("compose: %w: %s %q must look like left@right", ErrBadDraft, field, id)
	}
	return nil
}

type composer struct {
	seed string
	n    int
}

// boundary derives a boundary from the Message-ID so that output is reproducible. The
// characters "=_" cannot occur in quoted-printable or base64 text.
func (c *composer) boundary() string {
	c.n++
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s/%d", c.seed, c.n)))
	return "=_tandem_" + hex.EncodeToString(sum[:12])
}

func multipartHeader(kind, boundary string) gomessage.Header {
	var h gomessage.Header
	h.AddRaw(foldField("Content-Type", "multipart/"+kind+"; boundary=\""+boundary+"\""))
	return h
}

// bodyHeader returns the Content-Type of the letter's top entity.
func (c *composer) bodyHeader(d Draft, inline, files []Attachment) gomessage.Header {
	switch {
	case len(files) > 0:
		return multipartHeader("mixed", c.boundary())
	case len(inline) > 0:
		return multipartHeader("related", c.boundary())
	case d.HTML != "":
		return multipartHeader("alternative", c.boundary())
	default:
		return textHeader("text/plain")
	}
}

func textHeader(ct string) gomessage.Header {
	var h gomessage.Header
	h.Set("Content-Transfer-Encoding", "quoted-printable")
	h.Set("Content-Type", ct+"; charset=utf-8")
	return h
}

// writeBody writes the entity whose header bodyHeader made into w.
func (c *composer) writeBody(w *gomessage.Writer, d Draft, inline, files []Attachment) error {
	if len(files) > 0 {
		var inner gomessage.Header
		switch {
		case len(inline) > 0:
			inner = multipartHeader("related", c.boundary())
		case d.HTML != "":
			inner = multipartHeader("alternative", c.boundary())
		default:
			inner = textHeader("text/plain")
		}
		pw, err := w.CreatePart(inner)
		if err != nil {
			return fmt.Errorf("create part: %w", err)
		}
		if err := c.writeBody(pw, d, inline, nil); err != nil {
			return err
		}
		if err := pw.Close(); err != nil {
			return fmt.Errorf("close part: %w", err)
		}
		for _, a := range files {
			if err := writeAttachment(w, a); err != nil {
				return err
			}
		}
		return nil
	}
	if len(inline) > 0 {
		var inner gomessage.Header
		if d.HTML != "" {
			inner = multipartHeader("alternative", c.boundary())
		} else {
			inner = textHeader("text/plain")
		}
		pw, err := w.CreatePart(inner)
		if err != nil {
			return fmt.Errorf("create part: %w", err)
		}
		if err := c.writeBody(pw, d, nil, nil); err != nil {
			return err
		}
		if err := pw.Close(); err != nil {
			return fmt.Errorf("close part: %w", err)
		}
		for _, a := range inline {
			if err := writeAttachment(w, a); err != nil {
				return err
			}
		}
		return nil
	}
	text := d.Text
	if text == "" && d.HTML != "" {
		text = HTMLToText(d.HTML)
	}
	if d.HTML == "" {
		return writeText(w, text)
	}
	for _, p := range []struct{ ct, body string }{{"text/plain", text}, {"text/html", d.HTML}} {
		pw, err := w.CreatePart(textHeader(p.ct))
		if err != nil {
			return fmt.Errorf("create part: %w", err)
		}
		if err := writeText(pw, p.body); err != nil {
			return err
		}
		if err := pw.Close(); err != nil {
			return fmt.Errorf("close part: %w", err)
		}
	}
	return nil
}

func writeText(w *gomessage.Writer, s string) error {
	// The quoted-printable writer turns "\n" into CRLF; bare CRs would survive as =0D.
	s = strings.ReplaceAll(s, "\r\n", "\n")
	if _, err := w.Write([]byte(s)); err != nil {
		return fmt.Errorf("write text: %w", err)
	}
	return nil
}

func writeAttachment(w *gomessage.Writer, a Attachment) error {
	ct := a.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	var h gomessage.Header
	h.AddRaw([]byte("Content-Transfer-Encoding: base64\r\n"))
	disp := "attachment"
	if a.Inline {
		disp = "inline"
	}
	if a.ContentID != "" {
		h.AddRaw(foldField("Content-ID", "<"+a.ContentID+">"))
	}
	typ, prm, _ := mime.ParseMediaType(ct)
	delete(prm, "name")
	ctv := mime.FormatMediaType(typ, prm)
	if a.Filename != "" {
		// Old clients read the name from Content-Type, in RFC 2047 form.
		ctv += "; name=\"" + encodeText(a.Filename) + "\""
	}
	// Added in reverse of the order written.
	h.AddRaw(foldField("Content-Disposition", disp+filenameParam("filename", a.Filename)))
	h.AddRaw(foldField("Content-Type", ctv))
	pw, err := w.CreatePart(h)
	if err != nil {
		return fmt.Errorf("create attachment part: %w", err)
	}
	if _, err := pw.Write(a.Data); err != nil {
		return fmt.Errorf("write attachment: %w", err)
	}
	if err := pw.Close(); err != nil {
		return fmt.Errorf("close attachment: %w", err)
	}
	return nil
}

// filenameParam formats `; name="value"` for ASCII names and RFC 2231 `; name*0*=utf-8”...`
// continuations otherwise, in pieces short enough for the header to fold between them.
func filenameParam(name, value string) string {
	if value == "" {
		return ""
	}
	ascii := true
	for i := 0; i < len(value); i++ {
		if c := value[i]; c < ' ' || c >= 0x7f {
			ascii = false
			break
		}
	}
	if ascii && len(value) < 60 {
		return "; " + name + "=" + quoteParam(value)
	}
	const chunk = 60
	var pieces []string
	cur := "utf-8''"
	for i := 0; i < len(value); i++ {
		c := value[i]
		var enc string
		if c > ' ' && c < 0x7f && !strings.ContainsRune(`*'%()<>@,;:\"/[]?=`, rune(c)) {
			enc = string(c)
		} else {
			enc = fmt.Sprintf("%%%02X", c)
		}
		if len(cur)+len(enc) > chunk {
			pieces = append(pieces, cur)
			cur = ""
		}
		cur += enc
	}
	pieces = append(pieces, cur)
	var b strings.Builder
	for i, p := range pieces {
		fmt.Fprintf(&b, "; %s*%d*=%s", name, i, p)
	}
	return b.String()
}

func quoteParam(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
