package mail

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/mail/imap"
	"github.com/tandem-crm/tandem/internal/mail/message"
	"github.com/tandem-crm/tandem/internal/mail/smtp"
	"github.com/tandem-crm/tandem/internal/store"
)

// LetterView is one letter as its page shows it: the stored detail with
// the body read again from the raw letter.
type LetterView struct {
	store.LetterDetail
	Text string
	// HTML is sanitized (message.SanitizeHTML); inline "cid:" images point
	// at the attachment's address, /letters/{id}/attachments/{n}.
	HTML string
}

// Letter returns a letter the viewer may see (store.ErrNotFound
// otherwise) with its body.
func (m *Mailboxes) Letter(ctx context.Context, v access.Viewer, id string) (*LetterView, error) {
	d, p, err := m.parsed(ctx, v, id)
	if err != nil {
		return nil, err
	}
	lv := &LetterView{LetterDetail: *d, Text: p.Text}
	if p.HTML != "" {
		lv.HTML = rewriteCIDs(message.SanitizeHTML(p.HTML), id, p.Attachments)
	}
	return lv, nil
}

// parsed reads a letter the viewer may see and parses its raw bytes.
func (m *Mailboxes) parsed(ctx context.Context, v access.Viewer, id string) (*store.LetterDetail, *message.Message, error) {
	d, err := m.st.GetLetter(ctx, v.UserID, id)
	if err != nil {
		return nil, nil, err
	}
	raw, err := m.st.LetterRaw(ctx, d.Hash)
	if err != nil {
		return nil, nil, err
	}
	return d, message.Parse(raw), nil
}

// cidRef matches a sanitized src="cid:…" attribute (bluemonday always
// writes double quotes and escapes them inside values).
var cidRef = regexp.MustCompile(`src="cid:([^"]*)"`)

// rewriteCIDs points inline images at their attachment's address; a
// reference to no attachment is left as is (the browser shows nothing).
func rewriteCIDs(html, letterID string, as []message.Attachment) string {
	return cidRef.ReplaceAllStringFunc(html, func(s string) string {
		ref := cidRef.FindStringSubmatch(s)[1]
		ref = strings.Trim(strings.ReplaceAll(ref, "&amp;", "&"), "<>")
		for i, a := range as {
			if a.ContentID != "" && strings.EqualFold(a.ContentID, ref) {
				return `src="/letters/` + letterID + `/attachments/` + strconv.Itoa(i) + `"`
			}
		}
		return s
	})
}

// Attachment returns attachment n (0-based, in the letter's order) of a
// letter the viewer may see.
func (m *Mailboxes) Attachment(ctx context.Context, v access.Viewer, letterID string, n int) (*message.Attachment, error) {
	_, p, err := m.parsed(ctx, v, letterID)
	if err != nil {
		return nil, err
	}
	if n < 0 || n >= len(p.Attachments) {
		return nil, store.ErrNotFound
	}
	return &p.Attachments[n], nil
}

// Senders is the From list: the viewer's own mailboxes with sending on,
// and shared ones with sending on that they hold the send right on
// ("send from this mailbox" is the mailbox's setting, for everyone who
// sends from it). The default sender comes first.
func (m *Mailboxes) Senders(ctx context.Context, v access.Viewer) ([]store.MailboxWithAccess, error) {
	all, err := m.st.MailboxesOf(ctx, v.UserID)
	if err != nil {
		return nil, err
	}
	var out []store.MailboxWithAccess
	for _, mb := range all {
		if mb.SendEnabled && (mb.Access.Owner || mb.Access.Send) {
			out = append(out, mb)
		}
	}
	for i, mb := range out {
		if mb.Access.Owner && mb.DefaultSender && i > 0 {
			out = append([]store.MailboxWithAccess{mb}, append(out[:i:i], out[i+1:]...)...)
			break
		}
	}
	return out, nil
}

// Outgoing is a letter a user sends.
type Outgoing struct {
	MailboxID     string
	To, Cc, Bcc   []string
	Subject, HTML string
	Attachments   []OutgoingFile
	ReplyTo       string // the id of the letter answered, if any
}

// OutgoingFile is an attached file.
type OutgoingFile struct {
	Name, ContentType string
	Data              []byte
}

// ErrSend: the mail server did not take the letter (nothing was sent).
var ErrSend = errors.New("the mail server did not take the letter")

// MaxOutgoing bounds the attachments of one outgoing letter (servers
// commonly refuse letters above 25 MB once base64 adds its third).
const MaxOutgoing = 18 << 20

// Send sends a letter from one of the viewer's senders over SMTP, with
// the mailbox's alias and signature, puts a copy into its Sent folder and
// stores it. It returns the stored letter's id, "" when the Sent folder
// is not loaded yet (the copy then arrives with the next load).
// Validation problems are a *crm.ValidationError keyed by field.
func (m *Mailboxes) Send(ctx context.Context, v access.Viewer, out Outgoing) (string, error) {
	fe := crm.FieldErrors{}
	senders, err := m.Senders(ctx, v)
	if err != nil {
		return "", err
	}
	var from *store.MailboxWithAccess
	for i := range senders {
		if senders[i].ID == out.MailboxID {
			from = &senders[i]
		}
	}
	if from == nil {
		fe["mailbox_id"] = crm.ErrUnknownEnum
	}
	lists := map[string][]message.Address{}
	for field, in := range map[string][]string{"to": out.To, "cc": out.Cc, "bcc": out.Bcc} {
		for _, s := range in {
			if strings.TrimSpace(s) == "" {
				continue
			}
			as, err := mail.ParseAddressList(s)
			if err != nil {
				fe[field] = crm.ErrEmail
				break
			}
			for _, a := range as {
				lists[field] = append(lists[field], message.Address{Name: a.Name, Email: a.Address})
			}
		}
	}
	if len(lists["to"])+len(lists["cc"])+len(lists["bcc"]) == 0 && fe["to"] == "" {
		fe["to"] = crm.ErrRequired
	}
	out.Subject = strings.TrimSpace(out.Subject)
	if strings.ContainsAny(out.Subject, "\r\n") || len(out.Subject) > 998 {
		fe["subject"] = crm.ErrInvalid
	}
	size := 0
	for _, f := range out.Attachments {
		size += len(f.Data)
	}
	if size > MaxOutgoing {
		fe["attachments"] = "error.too_large"
	}
	var replied *store.LetterDetail
	if out.ReplyTo != "" {
		if replied, err = m.st.GetLetter(ctx, v.UserID, out.ReplyTo); errors.Is(err, store.ErrNotFound) {
			fe["reply_to"] = crm.ErrInvalid
		} else if err != nil {
			return "", err
		}
	}
	if len(fe) > 0 {
		return "", &crm.ValidationError{Fields: fe}
	}

	s, err := m.open(ctx, from.ID)
	if err != nil {
		return "", err
	}
	// Seconds, as IMAP keeps arrival times: the copy in Sent and the
	// letter stored now sort the same.
	now := m.Now().UTC().Truncate(time.Second)
	_, domain, _ := strings.Cut(s.mb.Address, "@")
	body := message.SanitizeHTML(out.HTML)
	if s.mb.SignatureEnabled && s.mb.Signature != "" {
		body += "<br><br>" + s.mb.Signature
	}
	d := message.Draft{From: message.Address{Name: s.mb.Alias, Email: s.mb.Address}, To: lists["to"], Cc: lists["cc"],
		Bcc: lists["bcc"], Subject: out.Subject, HTML: body, Date: now, MessageID: uuid.NewString() + "@" + domain}
	for _, f := range out.Attachments {
		d.Attachments = append(d.Attachments, message.Attachment{Filename: f.Name, ContentType: f.ContentType, Data: f.Data})
	}
	if replied != nil && replied.MessageID != "" {
		d.InReplyTo = replied.MessageID
		if raw, err := m.st.LetterRaw(ctx, replied.Hash); err == nil {
			d.References = message.Parse(raw).References
		}
		d.References = append(d.References, replied.MessageID)
	}
	raw, rcpts, err := message.Compose(d)
	if errors.Is(err, message.ErrBadAddress) {
		return "", &crm.ValidationError{Fields: crm.FieldErrors{"to": crm.ErrEmail}}
	}
	if err != nil {
		return "", err
	}
	// A refused login sends nothing, so a renewed token may try again.
	err = m.withToken(ctx, s, func() error {
		return smtp.Send(ctx, s.ep.SMTP, s.ep.Auth, s.mb.Address, rcpts, bytes.NewReader(raw), m.smtpOptions()...)
	})
	if err != nil {
		var rej *smtp.RejectedError
		if errors.As(err, &rej) {
			m.log.Info("recipients refused", "mailbox", s.mb.ID, "err", err)
			return "", &crm.ValidationError{Fields: crm.FieldErrors{"to": "letter.error.recipients_refused"}}
		}
		return "", fmt.Errorf("%w: %w", ErrSend, err)
	}
	m.log.Info("letter sent", "mailbox", s.mb.ID, "user", v.UserID, "recipients", len(rcpts))
	// The letter is gone: from here on a failure only loses the copy.
	id, err := m.keepSent(context.WithoutCancel(ctx), s, raw, now)
	if err != nil {
		return "", fmt.Errorf("letter sent, not stored: %w", err)
	}
	return id, nil
}

// keepSent copies a sent letter to the mailbox's Sent folder and stores
// it at once (so it is on the timelines), without moving the folder's
// cursor: the next load of the folder finds it by content and adds
// nothing. A copy that could not be appended is stored all the same.
func (m *Mailboxes) keepSent(ctx context.Context, s *session, raw []byte, now time.Time) (string, error) {
	folder, uid, validity := m.appendSent(ctx, s, raw, now)
	l := toLetter(raw, imap.Message{UID: uid, InternalDate: now, Flags: []string{`\Seen`}})
	id, err := m.st.SaveLetterAt(ctx, s.mb.ID, folder, validity, uid, l)
	if err != nil {
		return "", err
	}
	if m.Changed != nil {
		m.Changed(s.mb.ID)
	}
	return id, nil
}

// appendSent copies a sent letter to the mailbox's Sent folder, marked
// seen; uid 0 when it could not.
func (m *Mailboxes) appendSent(ctx context.Context, s *session, raw []byte, at time.Time) (folder string, uid, validity uint32) {
	cl, err := m.dialIMAP(ctx, s)
	if err != nil {
		m.log.Warn("sent letter not copied to Sent", "mailbox", s.mb.ID, "err", err)
		return "", 0, 0
	}
	defer cl.Close()
	folder, ok, err := cl.SentFolder(ctx)
	if err != nil || !ok {
		m.log.Warn("sent letter not copied: no Sent folder", "mailbox", s.mb.ID, "err", err)
		return "", 0, 0
	}
	uid, validity, err = cl.Append(ctx, folder, []string{`\Seen`}, at, raw)
	if err != nil {
		m.log.Warn("sent letter not copied to Sent", "mailbox", s.mb.ID, "folder", folder, "err", err)
		return "", 0, 0
	}
	return folder, uid, validity
}

// Raw returns a letter exactly as received.
func (m *Mailboxes) Raw(ctx context.Context, v access.Viewer, id string) ([]byte, error) {
	d, err := m.st.GetLetter(ctx, v.UserID, id)
	if err != nil {
		return nil, err
	}
	return m.st.LetterRaw(ctx, d.Hash)
}

// EncodeCursor turns the last letter of a page into an opaque cursor.
func EncodeCursor(c store.LetterCursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.ReceivedAt, 10) + "." + c.ID))
}

// DecodeCursor reads a cursor of EncodeCursor; "" is the first page.
// Anything else is store.ErrBadCursor.
func DecodeCursor(s string) (store.LetterCursor, error) {
	if s == "" {
		return store.LetterCursor{}, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return store.LetterCursor{}, store.ErrBadCursor
	}
	at, id, ok := strings.Cut(string(b), ".")
	n, err := strconv.ParseInt(at, 10, 64)
	if !ok || err != nil || id == "" {
		return store.LetterCursor{}, store.ErrBadCursor
	}
	return store.LetterCursor{ReceivedAt: n, ID: id}, nil
}

// ReplySubject is the subject of an answer: "Re: " once, however many
// the letter answered carries (other markers, "Fwd:", stay).
func ReplySubject(s string) string {
	s = strings.TrimSpace(s)
	for len(s) >= 3 && strings.EqualFold(s[:3], "re:") {
		s = strings.TrimSpace(s[3:])
	}
	return "Re: " + s
}
