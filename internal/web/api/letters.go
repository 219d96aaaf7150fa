package api

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/mail"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/web/download"
)

// Letters (SPEC §2): the timelines of contacts and accounts, the
// communication panel, one letter with its attachments and raw message,
// and sending. Which letters a user sees is the store's rule: those of
// mailboxes they own or hold a right on; the panel only those they own or
// may send from.

func (a *API) letterRoutes(h func(string, func(http.ResponseWriter, *http.Request, access.Viewer))) {
	h("GET /api/v1/contacts/{id}/letters", a.recordLetters("contact"))
	h("GET /api/v1/accounts/{id}/letters", a.recordLetters("account"))
	h("GET /api/v1/letters", a.listLetters)
	h("POST /api/v1/letters", a.sendLetter)
	h("GET /api/v1/letters/unread", a.unreadLetters)
	h("GET /api/v1/letters/{id}", a.getLetter)
	h("GET /api/v1/letters/{id}/attachments/{n}", a.getLetterAttachment)
	h("GET /api/v1/letters/{id}/raw", a.getLetterRaw)
}

// letterSummaryJSON is a letter in a list.
type letterSummaryJSON struct {
	ID             string     `json:"id"`
	ThreadID       string     `json:"thread_id"`
	Subject        string     `json:"subject"`
	Snippet        string     `json:"snippet"`
	FromName       string     `json:"from_name"`
	FromEmail      string     `json:"from_email"`
	SentAt         *time.Time `json:"sent_at"`
	ReceivedAt     time.Time  `json:"received_at"`
	HasAttachments bool       `json:"has_attachments"`
	Seen           bool       `json:"seen"`
	Warnings       []string   `json:"warnings"`
}

func letterSummaryOut(l store.LetterSummary) letterSummaryJSON {
	out := letterSummaryJSON{ID: l.ID, ThreadID: l.ThreadID, Subject: l.Subject, Snippet: l.Snippet, FromName: l.FromName,
		FromEmail: l.FromEmail, ReceivedAt: crm.FromMicros(l.ReceivedAt).UTC(), HasAttachments: l.HasAttachments, Seen: l.Seen,
		Warnings: l.Warnings}
	if l.SentAt != 0 {
		t := crm.FromMicros(l.SentAt).UTC()
		out.SentAt = &t
	}
	if out.Warnings == nil {
		out.Warnings = []string{}
	}
	return out
}

type letterAddressJSON struct {
	Role  string `json:"role"`
	Email string `json:"email"`
	Name  string `json:"name"`
}

type letterAttachmentJSON struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	ContentID   string `json:"content_id"`
	Inline      bool   `json:"inline"`
	Size        int64  `json:"size"`
	URL         string `json:"url"`
}

// letterJSON is one letter with its body.
type letterJSON struct {
	ID             string                 `json:"id"`
	ThreadID       string                 `json:"thread_id"`
	Subject        string                 `json:"subject"`
	Snippet        string                 `json:"snippet"`
	FromName       string                 `json:"from_name"`
	FromEmail      string                 `json:"from_email"`
	SentAt         *time.Time             `json:"sent_at"`
	ReceivedAt     time.Time              `json:"received_at"`
	HasAttachments bool                   `json:"has_attachments"`
	Seen           bool                   `json:"seen"`
	Warnings       []string               `json:"warnings"`
	MessageID      string                 `json:"message_id"`
	InReplyTo      string                 `json:"in_reply_to"`
	Size           int64                  `json:"size"`
	Addresses      []letterAddressJSON    `json:"addresses"`
	Attachments    []letterAttachmentJSON `json:"attachments"`
	MailboxIDs     []string               `json:"mailbox_ids"`
	Text           string                 `json:"text"`
	HTML           string                 `json:"html"` // sanitized
	RawURL         string                 `json:"raw_url"`
}

func (a *API) letterService(w http.ResponseWriter, r *http.Request) (*mail.Mailboxes, bool) {
	if a.mailboxes == nil {
		a.problem(w, r, http.StatusServiceUnavailable, "error.internal", nil)
		return nil, false
	}
	return a.mailboxes, true
}

// letterPage reads limit and cursor of a letter list.
func letterPage(r *http.Request) (store.LetterCursor, int, error) {
	p, err := pageParams(r)
	if err != nil {
		return store.LetterCursor{}, 0, err
	}
	if p.Limit == 0 {
		p.Limit = 50
	}
	c, err := mail.DecodeCursor(p.Cursor)
	return c, p.Limit, err
}

func letterPageOut(ls []store.LetterSummary, limit int) list[letterSummaryJSON] {
	next := ""
	if len(ls) > limit {
		ls = ls[:limit]
		last := ls[len(ls)-1]
		next = mail.EncodeCursor(store.LetterCursor{ReceivedAt: last.ReceivedAt, ID: last.ID})
	}
	items := make([]letterSummaryJSON, 0, len(ls))
	for _, l := range ls {
		items = append(items, letterSummaryOut(l))
	}
	return page(items, next)
}

// recordLetters lists a contact's or account's letters; the record must
// be one the viewer may read.
func (a *API) recordLetters(entity string) func(http.ResponseWriter, *http.Request, access.Viewer) {
	return func(w http.ResponseWriter, r *http.Request, v access.Viewer) {
		ctx, id := r.Context(), r.PathValue("id")
		var err error
		if entity == "contact" {
			_, err = a.st.GetContact(ctx, v, id)
		} else {
			_, err = a.st.GetAccount(ctx, v, id)
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		cur, limit, err := letterPage(r)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		ls, err := a.st.LettersOfRecord(ctx, v.UserID, entity, id, cur, limit+1)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, letterPageOut(ls, limit))
	}
}

// listLetters is the communication panel: ?mailbox= narrows it to one of
// the viewer's panel mailboxes.
func (a *API) listLetters(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	ctx := r.Context()
	cur, limit, err := letterPage(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ls, err := a.st.LettersOfUser(ctx, v.UserID, r.URL.Query().Get("mailbox"), cur, limit+1)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, letterPageOut(ls, limit))
}

// unreadJSON is the panel's unread letters per mailbox.
type unreadJSON struct {
	Mailboxes map[string]int `json:"mailboxes"`
	Total     int            `json:"total"`
}

func (a *API) unreadLetters(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	counts, err := a.st.UnreadCounts(r.Context(), v.UserID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := unreadJSON{Mailboxes: counts}
	for _, n := range counts {
		out.Total += n
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) getLetter(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	m, ok := a.letterService(w, r)
	if !ok {
		return
	}
	l, err := m.Letter(r.Context(), v, r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	sum := letterSummaryOut(l.LetterSummary)
	out := letterJSON{ID: sum.ID, ThreadID: sum.ThreadID, Subject: sum.Subject, Snippet: sum.Snippet, FromName: sum.FromName,
		FromEmail: sum.FromEmail, SentAt: sum.SentAt, ReceivedAt: sum.ReceivedAt, HasAttachments: sum.HasAttachments,
		Seen: sum.Seen, Warnings: sum.Warnings, MessageID: l.MessageID, InReplyTo: l.InReplyTo,
		Size: l.Size, Addresses: []letterAddressJSON{}, Attachments: []letterAttachmentJSON{}, MailboxIDs: l.MailboxIDs,
		Text: l.Text, HTML: l.HTML, RawURL: "/api/v1/letters/" + l.ID + "/raw"}
	for _, x := range l.Addresses {
		out.Addresses = append(out.Addresses, letterAddressJSON{Role: x.Role, Email: x.Email, Name: x.Name})
	}
	for i, x := range l.Attachments {
		out.Attachments = append(out.Attachments, letterAttachmentJSON{Filename: x.Filename, ContentType: x.ContentType,
			ContentID: x.ContentID, Inline: x.Inline, Size: x.Size,
			URL: "/api/v1/letters/" + l.ID + "/attachments/" + strconv.Itoa(i)})
	}
	if out.MailboxIDs == nil {
		out.MailboxIDs = []string{}
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) getLetterAttachment(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	m, ok := a.letterService(w, r)
	if !ok {
		return
	}
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil {
		a.fail(w, r, store.ErrNotFound)
		return
	}
	at, err := m.Attachment(r.Context(), v, r.PathValue("id"), n)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	download.Serve(w, at.Filename, at.ContentType, at.Data)
}

func (a *API) getLetterRaw(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	ctx := r.Context()
	d, err := a.st.GetLetter(ctx, v.UserID, r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	raw, err := a.st.LetterRaw(ctx, d.Hash)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	download.Serve(w, d.ID+".eml", "message/rfc822", raw)
}

// letterIn is the body of POST /api/v1/letters.
type letterIn struct {
	MailboxID   string         `json:"mailbox_id"`
	To          []string       `json:"to"`
	Cc          []string       `json:"cc"`
	Bcc         []string       `json:"bcc"`
	Subject     string         `json:"subject"`
	HTML        string         `json:"html"`
	ReplyTo     string         `json:"reply_to"`
	Attachments []attachmentIn `json:"attachments"`
}

type attachmentIn struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Data        string `json:"data"` // base64
}

// letterSentJSON answers a send.
type letterSentJSON struct {
	ID   string `json:"id"` // "" until the copy in Sent is loaded
	Sent bool   `json:"sent"`
}

// maxLetterBody bounds POST /api/v1/letters: the attachments' limit in
// base64 and the text around them.
const maxLetterBody = mail.MaxOutgoing/3*4 + 4<<20

func (a *API) sendLetter(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	m, ok := a.letterService(w, r)
	if !ok {
		return
	}
	var in letterIn
	if err := decodeMax(r, &in, maxLetterBody); err != nil {
		a.fail(w, r, err)
		return
	}
	out := mail.Outgoing{MailboxID: in.MailboxID, To: in.To, Cc: in.Cc, Bcc: in.Bcc, Subject: in.Subject, HTML: in.HTML,
		ReplyTo: in.ReplyTo}
	for i, at := range in.Attachments {
		data, err := base64.StdEncoding.DecodeString(at.Data)
		if err != nil {
			a.problem(w, r, http.StatusBadRequest, "error.form",
				crm.FieldErrors{"attachments[" + strconv.Itoa(i) + "].data": "error.invalid"})
			return
		}
		out.Attachments = append(out.Attachments, mail.OutgoingFile{Name: at.Filename, ContentType: at.ContentType, Data: data})
	}
	id, err := m.Send(r.Context(), v, out)
	if errors.Is(err, mail.ErrSend) {
		a.log.WarnContext(r.Context(), "send letter", "err", err)
		a.problem(w, r, http.StatusBadGateway, "letter.error.send_failed", nil)
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, letterSentJSON{ID: id, Sent: true})
}
