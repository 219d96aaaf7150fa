// Package message owns the pure e-mail message layer of Tandem's mail support: parsing raw
// RFC 5322 / MIME letters into a Message (tolerant of broken input, reporting Warnings instead of
// failing), composing outgoing letters (Compose), content addressing (Hash), subject
// normalization for threading, and HTML sanitizing for signatures and display. It does no I/O
// and keeps no state; transports (IMAP, SMTP) and storage live elsewhere.
package message

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// Message is a parsed letter. Every string is valid UTF-8.
type Message struct {
	// MessageID is the Message-ID header without angle brackets; empty when missing.
	MessageID string
	Subject   string
	// Date is the Date header; zero when missing or unparseable (with a warning).
	Date time.Time

	From    []Address
	Sender  []Address
	ReplyTo []Address
	To      []Address
	Cc      []Address
	Bcc     []Address

	// InReplyTo and References are message ids without angle brackets, in header order.
	InReplyTo  []string
	References []string

	// Text is the plain body and HTML the HTML body (not sanitized), both converted to UTF-8
	// with line endings normalized to "\n". Several inline parts of one kind are joined.
	Text string
	HTML string

	// Attachments holds every part that is not the text or HTML body, in order of appearance,
	// including inline images and nested message/rfc822 letters (kept whole, not parsed).
	Attachments []Attachment

	// Snippet is the start of the visible text (from HTML when there is no text part),
	// whitespace collapsed, at most SnippetLen runes.
	Snippet string

	// Size is len(raw).
	Size int

	// Headers are the top-level header fields in order, names canonicalized and values
	// decoded to UTF-8 (RFC 2047 words are left as they are, except in Subject and addresses).
	Headers []HeaderField

	Warnings []Warning
}

// HeaderField is one top-level header field.
type HeaderField struct {
	Name  string
	Value string
}

// Address is one mailbox. Email is trimmed and lower-cased; Name is decoded.
type Address struct {
	Name  string
	Email string
}

// String formats a for display ("Name <email>" or "email").
func (a Address) String() string {
	if a.Name == "" {
		return a.Email
	}
	return a.Name + " <" + a.Email + ">"
}

// Attachment is a non-body part.
type Attachment struct {
	// Filename is decoded (RFC 2231 and RFC 2047); empty when the part names none.
	Filename string
	// ContentType is the lower-cased media type without parameters, e.g. "image/png".
	ContentType string
	// ContentID is the Content-ID without angle brackets (referenced as cid: in HTML).
	ContentID string
	// Inline is true for parts meant to be shown in the body (Content-Disposition: inline, or
	// no disposition and a Content-ID).
	Inline bool
	// Size is len(Data).
	Size int
	// Data is the part's body with its transfer encoding removed. For parts that were not
	// encoded (7bit, 8bit, binary) it shares memory with the raw letter given to Parse.
	Data []byte
}

// WarningCode classifies a problem found while parsing.
type WarningCode string

// Warning codes. They are stable strings meant to be stored.
const (
	// WarnBadHeader: a header line that is not "Name: value", a missing blank line after the
	// header, or a repeated field that may appear only once.
	WarnBadHeader WarningCode = "bad_header"
	// WarnEightBitHeader: raw 8-bit bytes in a header that are not UTF-8, decoded in a
	// guessed charset.
	WarnEightBitHeader WarningCode = "8bit_header"
	// WarnUnknownCharset: a charset name that is not known; the text was decoded as UTF-8
	// or in a guessed charset.
	WarnUnknownCharset WarningCode = "unknown_charset"
	// WarnBadText: text that is not valid in its charset (or 8-bit text without a charset);
	// invalid bytes were replaced or the charset guessed.
	WarnBadText WarningCode = "bad_text"
	// WarnBadEncoding: an unknown Content-Transfer-Encoding or a body that does not decode
	// cleanly (bad base64, bad quoted-printable, bad RFC 2047 word).
	WarnBadEncoding WarningCode = "bad_encoding"
	// WarnBadContentType: a Content-Type or Content-Disposition that does not parse, or a
	// multipart without a boundary.
	WarnBadContentType WarningCode = "bad_content_type"
	// WarnTruncatedMultipart: a multipart body without its closing boundary or without parts.
	WarnTruncatedMultipart WarningCode = "truncated_multipart"
	// WarnBadDate: a Date header that does not parse.
	WarnBadDate WarningCode = "bad_date"
	// WarnBadAddress: an address list with entries that do not parse (the ones that do are kept).
	WarnBadAddress WarningCode = "bad_address"
	// WarnBadMessageID: a Message-ID, In-Reply-To or References value that is not a valid msg-id.
	WarnBadMessageID WarningCode = "bad_message_id"
	// WarnMissingHeader: a header that RFC 5322 requires (From, Date) or that threading and
	// deduplication rely on (Message-ID) is missing.
	WarnMissingHeader WarningCode = "missing_header"
	// WarnTooComplex: nesting or part count beyond the parser's limits; deeper parts are
	// kept undecoded as attachments.
	WarnTooComplex WarningCode = "too_complex"
	// WarnParserFailure: the parser itself failed (a bug); only Size is set. The raw letter
	// must be kept as it is.
	WarnParserFailure WarningCode = "parser_failure"
)

// Warning is one problem found while parsing. Detail is a short English explanation.
type Warning struct {
	Code   WarningCode
	Detail string
}

func (w Warning) String() string { return string(w.Code) + ": " + w.Detail }

// AllAddresses returns every address of From, Sender, ReplyTo, To, Cc and Bcc once (by
// Email), in that order, for linking the letter to contacts.
func (m *Message) AllAddresses() []Address {
	n := len(m.From) + len(m.Sender) + len(m.ReplyTo) + len(m.To) + len(m.Cc) + len(m.Bcc)
	out := make([]Address, 0, n)
	seen := make(map[string]struct{}, n)
	for _, list := range [][]Address{m.From, m.Sender, m.ReplyTo, m.To, m.Cc, m.Bcc} {
		for _, a := range list {
			if a.Email == "" {
				continue
			}
			if _, ok := seen[a.Email]; ok {
				continue
			}
			seen[a.Email] = struct{}{}
			out = append(out, a)
		}
	}
	return out
}

// HasWarning reports whether m has a warning with the code.
func (m *Message) HasWarning(code WarningCode) bool {
	for _, w := range m.Warnings {
		if w.Code == code {
			return true
		}
	}
	return false
}

// Header returns the first top-level header field named name (case-insensitive), decoded.
func (m *Message) Header(name string) string {
	for _, f := range m.Headers {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// Hash returns the content address of a raw letter: the lower-case hex SHA-256 of its bytes.
// The same bytes always give the same hash, so a letter found in several folders is stored once.
func Hash(raw []byte) string {
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}
