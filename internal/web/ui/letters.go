package ui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/mail"
	"github.com/tandem-crm/tandem/internal/mail/message"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/web/download"
)

// Letters (SPEC §2): the "Letters" section of contact and account cards
// and its full list, one letter's page with its attachments, the
// communication panel /mail with live updates, and composing. Which
// letters a user sees is the store's rule (their mailboxes, and shared
// ones they hold a right on; the panel only those they may send from).

func (u *UI) letterRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /contacts/{id}/letters", u.authed(u.recordLetterPage("contact")))
	mux.HandleFunc("GET /accounts/{id}/letters", u.authed(u.recordLetterPage("account")))
	mux.HandleFunc("GET /letters/{id}", u.authed(u.letterPage))
	mux.HandleFunc("GET /letters/{id}/attachments/{n}", u.authed(u.letterAttachment))
	mux.HandleFunc("GET /letters/{id}/raw", u.authed(u.letterRaw))
	mux.HandleFunc("GET /mail", u.authed(u.mailPanel))
	mux.HandleFunc("GET /mail/events", u.authed(u.mailEvents))
	mux.HandleFunc("GET /mail/compose", u.authed(u.composeForm))
	mux.HandleFunc("POST /mail/compose", u.limitUpload(u.authed(u.composeSend)))
}

// timelineLimit is how many letters a card shows before "more".
const timelineLimit = 10

// letterRow is a letter in a list.
type letterRow struct {
	ID, Subject, From, FromEmail, Snippet string
	At                                    time.Time
	Attachments, Unread, Warned           bool
}

func letterRows(ls []store.LetterSummary) []letterRow {
	out := make([]letterRow, 0, len(ls))
	for _, l := range ls {
		r := letterRow{ID: l.ID, Subject: l.Subject, From: l.FromName, FromEmail: l.FromEmail, Snippet: l.Snippet,
			At: crm.FromMicros(l.ReceivedAt), Attachments: l.HasAttachments, Unread: !l.Seen, Warned: len(l.Warnings) > 0}
		if r.From == "" {
			r.From = l.FromEmail
		}
		if l.ReceivedAt == 0 {
			r.At = crm.FromMicros(l.SentAt)
		}
		out = append(out, r)
	}
	return out
}

// letterList is a page of letters and the cursor of the next one.
type letterList struct {
	Rows []letterRow
	Next string // cursor; "" on the last page
}

func pageOfLetters(ls []store.LetterSummary, limit int) letterList {
	var next string
	if len(ls) > limit {
		ls = ls[:limit]
		last := ls[len(ls)-1]
		next = mail.EncodeCursor(store.LetterCursor{ReceivedAt: last.ReceivedAt, ID: last.ID})
	}
	return letterList{Rows: letterRows(ls), Next: next}
}

// recordLetters is a page of a record's letters for the viewer; the
// caller has read the record (so the viewer may see it).
func (u *UI) recordLetters(ctx context.Context, c *Ctx, entity, id, cursor string, limit int) (letterList, error) {
	cur, err := mail.DecodeCursor(cursor)
	if err != nil {
		return letterList{}, err
	}
	ls, err := u.st.LettersOfRecord(ctx, c.V.UserID, entity, id, cur, limit+1)
	if err != nil {
		return letterList{}, err
	}
	return pageOfLetters(ls, limit), nil
}

// recordLettersData is the Data of a record's letter list.
type recordLettersData struct {
	Entity, ID, Name string
	Letters          letterList
	MoreHref         string
}

func (u *UI) recordLetterPage(entity string) handler {
	return func(w http.ResponseWriter, r *http.Request, c *Ctx) {
		ctx, id := r.Context(), r.PathValue("id")
		d := recordLettersData{Entity: entity, ID: id}
		active := "contacts"
		if entity == "contact" {
			x, err := u.st.GetContact(ctx, c.V, id)
			if err != nil {
				u.fail(w, r, c, err)
				return
			}
			d.Name = x.Name
		} else {
			x, err := u.st.GetAccount(ctx, c.V, id)
			if err != nil {
				u.fail(w, r, c, err)
				return
			}
			d.Name, active = x.Name, "accounts"
		}
		var err error
		if d.Letters, err = u.recordLetters(ctx, c, entity, id, r.URL.Query().Get("cursor"), 50); err != nil {
			u.fail(w, r, c, err)
			return
		}
		u.render(w, http.StatusOK, "letters/record", c.Page(w, r, active, d))
	}
}

// letterViewData is the Data of a letter's page.
type letterViewData struct {
	ID, Subject        string
	From, To, Cc, Bcc  []string
	At                 time.Time
	SrcDoc             string // the sanitized HTML as the iframe's document
	Text               string
	Files              []letterFile
	Warnings           []string
	CanReply, ReplyAll bool
}

type letterFile struct {
	N                 int
	Name, ContentType string
	Size              string // in KB, in the viewer's language
}

func addressLine(a store.LetterAddress) string {
	if a.Name == "" {
		return a.Email
	}
	return a.Name + " <" + a.Email + ">"
}

// srcDoc wraps a letter's sanitized HTML as the document of a sandboxed
// iframe: links open outside Tandem.
func srcDoc(body string) string {
	return `<!doctype html><html><head><meta charset="utf-8"><base target="_blank"></head><body>` + body + `</body></html>`
}

func (u *UI) letterService(w http.ResponseWriter, r *http.Request, c *Ctx) (*mail.Mailboxes, bool) {
	if u.mailboxes == nil {
		u.errorPage(w, r, c, http.StatusServiceUnavailable)
		return nil, false
	}
	return u.mailboxes, true
}

func (u *UI) letterPage(w http.ResponseWriter, r *http.Request, c *Ctx) {
	m, ok := u.letterService(w, r, c)
	if !ok {
		return
	}
	ctx := r.Context()
	l, err := m.Letter(ctx, c.V, r.PathValue("id"))
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	d := letterViewData{ID: l.ID, Subject: l.Subject, At: crm.FromMicros(l.SentAt), Text: l.Text, Warnings: l.Warnings}
	if l.SentAt == 0 {
		d.At = crm.FromMicros(l.ReceivedAt)
	}
	if l.HTML != "" {
		d.SrcDoc = srcDoc(l.HTML)
	}
	others := 0
	for _, a := range l.Addresses {
		switch a.Role {
		case "from":
			d.From = append(d.From, addressLine(a))
		case "to":
			d.To = append(d.To, addressLine(a))
			others++
		case "cc":
			d.Cc = append(d.Cc, addressLine(a))
			others++
		case "bcc":
			d.Bcc = append(d.Bcc, addressLine(a))
		}
	}
	for i, a := range l.Attachments {
		if a.Inline && a.ContentID != "" && strings.Contains(l.HTML, "/letters/"+l.ID+"/attachments/"+strconv.Itoa(i)+`"`) {
			continue // shown in the body
		}
		d.Files = append(d.Files, letterFile{N: i, Name: a.Filename, ContentType: a.ContentType,
			Size: c.Lang.T("letter.size_kb", c.Lang.FormatNumber((a.Size+1023)/1024))})
	}
	senders, err := m.Senders(ctx, c.V)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	d.CanReply, d.ReplyAll = len(senders) > 0, others > 1
	u.render(w, http.StatusOK, "letters/view", c.Page(w, r, "mail", d))
}

func (u *UI) letterAttachment(w http.ResponseWriter, r *http.Request, c *Ctx) {
	m, ok := u.letterService(w, r, c)
	if !ok {
		return
	}
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil {
		u.errorPage(w, r, c, http.StatusNotFound)
		return
	}
	a, err := m.Attachment(r.Context(), c.V, r.PathValue("id"), n)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	download.Serve(w, a.Filename, a.ContentType, a.Data)
}

func (u *UI) letterRaw(w http.ResponseWriter, r *http.Request, c *Ctx) {
	ctx := r.Context()
	d, err := u.st.GetLetter(ctx, c.V.UserID, r.PathValue("id"))
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	raw, err := u.st.LetterRaw(ctx, d.Hash)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	download.Serve(w, d.ID+".eml", "message/rfc822", raw)
}

// ---------- the communication panel ----------

// mailboxTab is a mailbox of the panel's filter.
type mailboxTab struct {
	ID, Address, Alias string
	Unread             int
	Active             bool
}

// mailPanelData is the Data of /mail.
type mailPanelData struct {
	Mailboxes   []mailboxTab
	Mailbox     string // the filter; "" for all
	Unread      int    // across the panel's mailboxes
	Letters     letterList
	Query       url.Values
	CanCompose  bool
	EventsURL   string
	NoMailboxes bool
}

// panelMailboxes are the mailboxes whose letters the panel shows: the
// viewer's own and shared ones they may send from (a grant to send
// counts only while the mailbox sends at all).
func (u *UI) panelMailboxes(ctx context.Context, c *Ctx) ([]store.MailboxWithAccess, error) {
	all, err := u.st.MailboxesOf(ctx, c.V.UserID)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(m store.MailboxWithAccess) bool { return !m.Access.Owner && !(m.Access.Send && m.SendEnabled) }), nil
}

func (u *UI) mailPanel(w http.ResponseWriter, r *http.Request, c *Ctx) {
	ctx := r.Context()
	q := r.URL.Query()
	mbs, err := u.panelMailboxes(ctx, c)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	unread, err := u.st.UnreadCounts(ctx, c.V.UserID)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	d := mailPanelData{Mailbox: q.Get("mailbox"), Query: url.Values{}, NoMailboxes: len(mbs) == 0, EventsURL: "/mail/events"}
	known := d.Mailbox == ""
	for _, m := range mbs {
		d.Mailboxes = append(d.Mailboxes, mailboxTab{ID: m.ID, Address: m.Address, Alias: m.Alias, Unread: unread[m.ID],
			Active: m.ID == d.Mailbox})
		d.Unread += unread[m.ID]
		known = known || m.ID == d.Mailbox
		d.CanCompose = d.CanCompose || (m.SendEnabled && (m.Access.Owner || m.Access.Send))
	}
	if !known {
		u.errorPage(w, r, c, http.StatusNotFound)
		return
	}
	if d.Mailbox != "" {
		d.Query.Set("mailbox", d.Mailbox)
		d.EventsURL += "?mailbox=" + url.QueryEscape(d.Mailbox)
	}
	cur, err := mail.DecodeCursor(q.Get("cursor"))
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	ls, err := u.st.LettersOfUser(ctx, c.V.UserID, d.Mailbox, cur, listLimit+1)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	d.Letters = pageOfLetters(ls, listLimit)
	u.render(w, http.StatusOK, "mail/panel", c.Page(w, r, "mail", d))
}

// The panel's live updates: GET /mail/events sends a "changed" event
// (data: the unread count of each panel mailbox) whenever the viewer's
// panel changed — new letters, or letters read elsewhere — and the page
// reloads its list. It wakes at once when this process stored letters
// (the broker) and otherwise looks at the database every
// mailEventsEvery, for letters stored by another process.
const (
	mailEventsEvery     = 5 * time.Second
	mailEventsKeepAlive = 15 * time.Second
	mailEventsMax       = time.Hour
)

// panelState is what the panel shows in brief: its newest letter and its
// unread counts. Any change of it refreshes the list.
func (u *UI) panelState(ctx context.Context, c *Ctx, mailbox string) (string, map[string]int, error) {
	ls, err := u.st.LettersOfUser(ctx, c.V.UserID, mailbox, store.LetterCursor{}, 1)
	if err != nil {
		return "", nil, err
	}
	unread, err := u.st.UnreadCounts(ctx, c.V.UserID)
	if err != nil {
		return "", nil, err
	}
	var b strings.Builder
	if len(ls) > 0 {
		b.WriteString(ls[0].ID)
	}
	for _, k := range sortedStrings(unread) {
		fmt.Fprintf(&b, ";%s=%d", k, unread[k])
	}
	return b.String(), unread, nil
}

func sortedStrings(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (u *UI) mailEvents(w http.ResponseWriter, r *http.Request, c *Ctx) {
	ctx, cancel := u.streamContext(r)
	defer cancel()
	mailbox := r.URL.Query().Get("mailbox")
	var news <-chan string
	if u.news != nil {
		ch, stop := u.news.Subscribe()
		defer stop()
		news = ch
	}
	last, _, err := u.panelState(ctx, c, mailbox)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": open\n\n")
	if rc.Flush() != nil {
		return
	}
	every := u.mailEventsEvery
	if every <= 0 {
		every = mailEventsEvery
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	end := time.Now().Add(mailEventsMax)
	lastSent := time.Now()
	for time.Now().Before(end) {
		select {
		case <-ctx.Done():
			return
		case <-news:
		case <-tick.C:
		}
		state, unread, err := u.panelState(ctx, c, mailbox)
		if err != nil {
			if ctx.Err() == nil {
				u.log.ErrorContext(ctx, "mail events", "user", c.V.UserID, "err", err)
			}
			return // the browser tries again
		}
		switch {
		case state != last:
			data, _ := json.Marshal(map[string]any{"unread": unread})
			fmt.Fprintf(w, "event: changed\ndata: %s\n\n", data)
			last, lastSent = state, time.Now()
		case time.Since(lastSent) >= mailEventsKeepAlive:
			fmt.Fprint(w, ": keep-alive\n\n")
			lastSent = time.Now()
		default:
			continue
		}
		if rc.Flush() != nil {
			return
		}
	}
}

// ---------- composing ----------

// composeData is the Data of the compose page.
type composeData struct {
	Senders []Option
	ReplyTo string // the letter answered
	// KeptFiles names the files of a failed send: they must be attached
	// again.
	KeptFiles []string
	MaxMB     int
}

// maxCompose bounds a compose post: the attachments' limit and room for
// the text; larger posts are refused before reading (413).
const maxCompose = mail.MaxOutgoing + 8<<20

// limitUpload refuses a post larger than maxCompose outright and bounds
// the body of the others.
func (u *UI) limitUpload(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > maxCompose {
			c := u.anonCtx(w, r)
			if v, sess, ok := u.auth.Session(r); ok {
				c = u.ctxFor(r, v, sess)
			}
			d := NewErrorData(http.StatusRequestEntityTooLarge)
			d.TextKey = "letter.error.attachments_too_large"
			u.r.Error(w, http.StatusRequestEntityTooLarge, c.Page(w, r, "", d))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxCompose)
		next(w, r)
	}
}

func senderOptions(ms []store.MailboxWithAccess) []Option {
	out := make([]Option, 0, len(ms))
	for _, m := range ms {
		label := m.Address
		if m.Alias != "" {
			label = m.Alias + " <" + m.Address + ">"
		}
		out = append(out, Option{Value: m.ID, Label: label})
	}
	return out
}

func (u *UI) composePage(w http.ResponseWriter, r *http.Request, c *Ctx, status int, form url.Values, kept []string, errs map[string]string) {
	m, ok := u.letterService(w, r, c)
	if !ok {
		return
	}
	senders, err := m.Senders(r.Context(), c.V)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	d := composeData{Senders: senderOptions(senders), ReplyTo: form.Get("reply_to"), KeptFiles: kept, MaxMB: mail.MaxOutgoing >> 20}
	p := c.Page(w, r, "mail", d)
	p.Form, p.Errors = form, errs
	u.render(w, status, "mail/compose", p)
}

// composeForm opens the compose page, empty or (?reply=<letter>, with
// &all=1 for everyone) answering a letter: its sender (and the other
// recipients), "Re: " subject and the quoted text; sent from the mailbox
// that holds the letter when the viewer may send from it.
func (u *UI) composeForm(w http.ResponseWriter, r *http.Request, c *Ctx) {
	m, ok := u.letterService(w, r, c)
	if !ok {
		return
	}
	ctx := r.Context()
	form := url.Values{}
	for _, k := range []string{"to", "cc", "subject"} {
		if v := r.URL.Query().Get(k); v != "" {
			form.Set(k, v)
		}
	}
	senders, err := m.Senders(ctx, c.V)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	if len(senders) > 0 {
		form.Set("mailbox_id", senders[0].ID)
	}
	if id := r.URL.Query().Get("reply"); id != "" {
		l, err := m.Letter(ctx, c.V, id)
		if err != nil {
			u.fail(w, r, c, err)
			return
		}
		own := map[string]bool{}
		for _, s := range senders {
			own[strings.ToLower(s.Address)] = true
			if slices.Contains(l.MailboxIDs, s.ID) {
				form.Set("mailbox_id", s.ID)
			}
		}
		to, cc := replyRecipients(l.Addresses, r.URL.Query().Get("all") == "1", own)
		form.Set("to", strings.Join(to, ", "))
		form.Set("cc", strings.Join(cc, ", "))
		form.Set("subject", mail.ReplySubject(l.Subject))
		form.Set("reply_to", l.ID)
		from := l.FromEmail
		if l.FromName != "" {
			from = l.FromName + " <" + l.FromEmail + ">"
		}
		text := l.Text
		if text == "" && l.HTML != "" {
			text = message.HTMLToText(l.HTML)
		}
		when := c.Lang.FormatDateTime(crm.FromMicros(l.SentAt).In(c.Loc))
		form.Set("html", "<p></p>\n<p>"+html.EscapeString(c.Lang.T("letter.reply.quote_header", when, from))+"</p>\n<blockquote>"+
			strings.ReplaceAll(html.EscapeString(strings.TrimSpace(text)), "\n", "<br>\n")+"</blockquote>")
	}
	u.composePage(w, r, c, http.StatusOK, form, nil, nil)
}

// replyRecipients: the letter's Reply-To, else its From; with all, its
// To and Cc too (in Cc), never the viewer's own addresses, each once.
func replyRecipients(as []store.LetterAddress, all bool, own map[string]bool) (to, cc []string) {
	seen := map[string]bool{}
	add := func(list *[]string, a store.LetterAddress) {
		k := strings.ToLower(a.Email)
		if k == "" || seen[k] || own[k] {
			return
		}
		seen[k] = true
		*list = append(*list, addressLine(a))
	}
	hasReplyTo := slices.ContainsFunc(as, func(a store.LetterAddress) bool { return a.Role == "reply_to" })
	for _, a := range as {
		if (hasReplyTo && a.Role == "reply_to") || (!hasReplyTo && a.Role == "from") {
			add(&to, a)
		}
	}
	if all {
		for _, a := range as {
			if a.Role == "to" || a.Role == "cc" {
				add(&cc, a)
			}
		}
	}
	return to, cc
}

func (u *UI) composeSend(w http.ResponseWriter, r *http.Request, c *Ctx) {
	m, ok := u.letterService(w, r, c)
	if !ok {
		return
	}
	// authed has parsed the multipart form (the CSRF token).
	if r.MultipartForm == nil {
		if err := r.ParseMultipartForm(32 << 20); err != nil {
			u.errorPage(w, r, c, http.StatusBadRequest)
			return
		}
	}
	form := url.Values{}
	for k, v := range r.MultipartForm.Value {
		if k != "csrf_token" {
			form[k] = v
		}
	}
	out := mail.Outgoing{MailboxID: form.Get("mailbox_id"), To: []string{form.Get("to")}, Cc: []string{form.Get("cc")},
		Bcc: []string{form.Get("bcc")}, Subject: form.Get("subject"), HTML: form.Get("html"), ReplyTo: form.Get("reply_to")}
	var kept []string
	var size int64
	for _, fh := range r.MultipartForm.File["attachments"] {
		if fh.Filename == "" && fh.Size == 0 {
			continue
		}
		kept = append(kept, fh.Filename)
		size += fh.Size
	}
	if size > mail.MaxOutgoing {
		u.composePage(w, r, c, http.StatusUnprocessableEntity, form, kept,
			map[string]string{"attachments": "letter.error.attachments_too_large"})
		return
	}
	for _, fh := range r.MultipartForm.File["attachments"] {
		if fh.Filename == "" && fh.Size == 0 {
			continue
		}
		data, err := readUpload(fh)
		if err != nil {
			u.fail(w, r, c, err)
			return
		}
		out.Attachments = append(out.Attachments, mail.OutgoingFile{Name: fh.Filename, ContentType: fh.Header.Get("Content-Type"), Data: data})
	}
	id, err := m.Send(r.Context(), c.V, out)
	if errs, ok := formErrors(err); ok {
		if errs["attachments"] == "error.too_large" {
			errs["attachments"] = "letter.error.attachments_too_large"
		}
		u.composePage(w, r, c, http.StatusUnprocessableEntity, form, kept, errs)
		return
	}
	if errors.Is(err, mail.ErrSend) {
		u.log.WarnContext(r.Context(), "send letter", "user", c.V.UserID, "err", err)
		u.composePage(w, r, c, http.StatusBadGateway, form, kept, map[string]string{FormError: "letter.error.send_failed"})
		return
	}
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	if id == "" {
		redirect(w, r, "/mail", Flash{Kind: FlashSuccess, Key: "letter.flash.sent"})
		return
	}
	redirect(w, r, "/letters/"+id, Flash{Kind: FlashSuccess, Key: "letter.flash.sent"})
}

func readUpload(fh *multipart.FileHeader) ([]byte, error) {
	f, err := fh.Open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}
