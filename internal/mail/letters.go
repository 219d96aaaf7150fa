package mail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/mail/imap"
	"github.com/tandem-crm/tandem/internal/mail/message"
	"github.com/tandem-crm/tandem/internal/mail/smtp"
	"github.com/tandem-crm/tandem/internal/store"
)

// LetterView is a letter as its page shows it: the stored detail and the
// bodies read again from the raw letter.
type LetterView struct {
	store.LetterDetail
	Text string
	// HTML is sanitized; inline images (cid:) point at the letter's
	// attachment URLs.
	HTML string
}

// AttachmentURL is where the UI serves attachment n of a letter.
func AttachmentURL(letterID string, n int) string {
	return fmt.Sprintf("/letters/%s/attachments/%d", letterID, n)
}

// Letter returns a letter the viewer may see (store.ErrNotFound otherwise).
func (m *Mailboxes) Letter(ctx context.Context, v access.Viewer, id string) (*LetterView, error) {
	d, p, err := m.parsed(ctx, v, id)
	if err != nil {
		return nil, err
	}
	html := message.SanitizeHTML(p.HTML)
	for i, a := range p.Attachments {
		if a.ContentID != "" {
			html = strings.ReplaceAll(html, `"cid:`+a.ContentID+`"`, `"`+AttachmentURL(id, i)+`"`)
		}
	}
	return &LetterView{LetterDetail: *d, Text: p.Text, HTML: html}, nil
}

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

// Attachment returns attachment n of a letter the viewer may see.
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

// Raw returns a letter exactly as received.
func (m *Mailboxes) Raw(ctx context.Context, v access.Viewer, id string) ([]byte, error) {
	d, err := m.st.GetLetter(ctx, v.UserID, id)
	if err != nil {
		return nil, err
	}
	return m.st.LetterRaw(ctx, d.Hash)
}

// Senders is the viewer's From list: their own mailboxes with sending on
// and the shared ones they may send from, the default sender first.
func (m *Mailboxes) Senders(ctx context.Context, v access.Viewer) ([]store.MailboxWithAccess, error) {
	all, err := m.st.MailboxesOf(ctx, v.UserID)
	if err != nil {
		return nil, err
	}
	var out []store.MailboxWithAccess
	for _, mb := range all {
		if mb.SendEnabled && (mb.Access.Owner || mb.Access.Send) {
			if mb.Access.Owner && mb.DefaultSender {
				out = append([]store.MailboxWithAccess{mb}, out...)
			} else {
				out = append(out, mb)
			}
		}
	}
	return out, nil
}

// OutgoingFile is an attachment of a letter to send.
type OutgoingFile struct {
	Name, ContentType string
	Data              []byte
}

// Outgoing is a letter a user sends.
type Outgoing struct {
	MailboxID   string
	To, Cc, Bcc []string // addresses, with or without display names
	Subject     string
	HTML        string
	Attachments []OutgoingFile
	// ReplyTo is the id of the letter answered, "" for a new one.
	ReplyTo string
}

// MaxOutgoing bounds a letter's attachments together.
const MaxOutgoing = 25 << 20

// Send sends a letter from one of the viewer's senders over its SMTP
// server, with the mailbox's alias and signature, appends a copy to its
// Sent folder and stores it, so it shows on the recipients' timelines at
// once. A copy that cannot be appended is logged: the letter is sent.
func (m *Mailboxes) Send(ctx context.Context, v access.Viewer, out Outgoing) (string, error) {
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
	fe := crm.FieldErrors{}
	if from == nil {
		fe["mailbox_id"] = "mail.error.not_a_sender"
	}
	var to, cc, bcc []message.Address
	for _, f := range []struct {
		field string
		in    []string
		dst   *[]message.Address
	}{{"to", out.To, &to}, {"cc", out.Cc, &cc}, {"bcc", out.Bcc, &bcc}} {
		for _, s := range f.in {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			list, err := mail.ParseAddressList(s)
			if err != nil {
				fe[f.field] = "error.invalid_email"
				break
			}
			for _, a := range list {
				*f.dst = append(*f.dst, message.Address{Name: a.Name, Email: strings.ToLower(a.Address)})
			}
		}
	}
	if len(to)+len(cc)+len(bcc) == 0 && fe["to"] == "" {
		fe["to"] = crm.ErrRequired
	}
	if len(out.Subject) > 998 {
		fe["subject"] = crm.ErrTooLong
	}
	size := 0
	for _, a := range out.Attachments {
		size += len(a.Data)
	}
	if size > MaxOutgoing {
		fe["attachments"] = "mail.error.attachments_too_large"
	}
	if len(fe) > 0 {
		return "", &crm.ValidationError{Fields: fe}
	}
	s, err := m.open(ctx, from.ID)
	if err != nil {
		return "", err
	}
	now := m.Now().UTC().Truncate(time.Second)
	_, domain, _ := strings.Cut(s.mb.Address, "@")
	d := message.Draft{
		From:      message.Address{Name: s.mb.Alias, Email: s.mb.Address},
		To:        to,
		Cc:        cc,
		Bcc:       bcc,
		Subject:   strings.TrimSpace(out.Subject),
		HTML:      message.SanitizeHTML(out.HTML),
		Date:      now,
		MessageID: newConnectionID() + "@" + domain,
	}
	if s.mb.SignatureEnabled && s.mb.Signature != "" {
		d.HTML += `<br><div class="signature">` + s.mb.Signature + `</div>`
	}
	for _, a := range out.Attachments {
		d.Attachments = append(d.Attachments, message.Attachment{Filename: a.Name, ContentType: a.ContentType, Data: a.Data,
			Size: len(a.Data)})
	}
	if out.ReplyTo != "" {
		parent, err := m.st.GetLetter(ctx, v.UserID, out.ReplyTo)
		if err != nil {
			return "", err
		}
		if parent.MessageID != "" {
			d.InReplyTo = parent.MessageID
			if parent.InReplyTo != "" {
				d.References = []string{parent.InReplyTo}
			}
			d.References = append(d.References, parent.MessageID)
		}
	}
	raw, rcpts, err := message.Compose(d)
	if err != nil {
		return "", &crm.ValidationError{Fields: crm.FieldErrors{"to": "error.invalid_email"}}
	}
	if err := smtp.Send(ctx, s.ep.SMTP, s.ep.Auth, s.mb.Address, rcpts, bytes.NewReader(raw), m.smtpOptions()...); err != nil {
		var rej *smtp.RejectedError
		if errors.As(err, &rej) {
			return "", &RejectedError{Rejected: rej}
		}
		return "", fmt.Errorf("send letter: %w", err)
	}
	folder, uid, validity := m.appendSent(ctx, s, raw, now)
	l := toLetter(raw, imap.Message{UID: uid, InternalDate: now, Flags: []string{`\Seen`}})
	id, err := m.st.SaveLetterAt(ctx, s.mb.ID, folder, validity, uid, l)
	if err != nil {
		return "", fmt.Errorf("letter sent, not stored: %w", err)
	}
	if m.Changed != nil {
		m.Changed(s.mb.ID)
	}
	m.log.Info("letter sent", "mailbox", s.mb.ID, "letter", id, "recipients", len(rcpts))
	return id, nil
}

// RejectedError: the SMTP server refused recipients; nothing was sent.
type RejectedError struct{ Rejected *smtp.RejectedError }

func (e *RejectedError) Error() string { return e.Rejected.Error() }
func (e *RejectedError) Unwrap() error { return e.Rejected }

// appendSent copies a sent letter to the mailbox's Sent folder, marked
// seen; uid 0 when it could not.
func (m *Mailboxes) appendSent(ctx context.Context, s *session, raw []byte, at time.Time) (folder string, uid, validity uint32) {
	cl, err := imap.Dial(ctx, s.ep.IMAP, s.ep.Auth, m.imapOptions()...)
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
