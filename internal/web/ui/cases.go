package ui

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/store"
)

func (u *UI) caseRoutes(mux *http.ServeMux) {
	pages := u.casePages()
	mux.HandleFunc("GET /cases", u.authed(u.caseList))
	mux.HandleFunc("GET /cases/new", u.authed(pages.handleNew))
	mux.HandleFunc("POST /cases", u.authed(pages.handleCreate))
	mux.HandleFunc("GET /cases/{id}", u.authed(u.caseCard))
	mux.HandleFunc("GET /cases/{id}/edit", u.authed(pages.handleEdit))
	mux.HandleFunc("POST /cases/{id}", u.authed(pages.handleUpdate))
	mux.HandleFunc("POST /cases/{id}/delete", u.authed(pages.handleDelete))
}

func (u *UI) casePages() *recordPages[crm.Case, caseForm, caseFormData] {
	return &recordPages[crm.Case, caseForm, caseFormData]{u: u, kind: "cases", created: "flash.case_created",
		get: u.st.GetCase, create: u.st.CreateCase, update: u.st.UpdateCase, remove: u.st.DeleteCase,
		ref:      func(k *crm.Case) (string, string) { return k.ID, k.Ref() },
		blank:    u.newCaseForm,
		formOf:   formFromCase,
		parse:    func(r *http.Request, _ *Ctx) caseForm { return caseFormFromRequest(r) },
		record:   caseFromForm,
		formData: u.caseFormData,
	}
}

// ---------- list ----------

// caseRow is a case as lists show it (the list page, and the contact and
// account cards).
type caseRow struct {
	ID, Ref, Subject, ContactID, ContactName, AccountID, AccountName, Owner string
	Status                                                                  crm.CaseStatus
	Priority                                                                crm.CasePriority
	Created                                                                 time.Time
}

func caseRows(ks []crm.Case, names map[string]string) []caseRow {
	out := make([]caseRow, len(ks))
	for i := range ks {
		k := &ks[i]
		out[i] = caseRow{ID: k.ID, Ref: k.Ref(), Subject: k.Subject, Status: k.Status, Priority: k.Priority,
			ContactID: k.ContactID, ContactName: k.ContactName, AccountID: k.AccountID, AccountName: k.AccountName,
			Owner: names[k.OwnerID], Created: k.CreatedAt}
	}
	return out
}

// caseStatusOpen is the status filter's value for every open status.
const caseStatusOpen = "open"

type caseListData struct {
	Cases                               []caseRow
	Next                                string
	Q, Status, Priority, OwnerID, Sort  string
	ContactID, AccountID, SourceChatID  string
	Statuses, Priorities, Owners, Sorts []Option
	Filtered                            bool
}

// caseListFilter reads the list's query string (q, status, priority, owner,
// sort, contact, account, chat); a value outside a closed set is an error.
func caseListFilter(q url.Values, v access.Viewer) (store.CaseFilter, error) {
	text, page := listQuery(q)
	f := store.CaseFilter{Q: text, OwnerID: q.Get("owner"), ContactID: q.Get("contact"), AccountID: q.Get("account"),
		SourceChatID: q.Get("chat"), Page: page}
	if f.OwnerID == "me" {
		f.OwnerID = v.UserID
	}
	var err error
	switch s := q.Get("status"); s {
	case "":
	case caseStatusOpen:
		f.Statuses = crm.OpenCaseStatuses
	default:
		st, perr := crm.ParseCaseStatus(s)
		if perr != nil {
			return f, perr
		}
		f.Statuses = []crm.CaseStatus{st}
	}
	if p := q.Get("priority"); p != "" {
		if f.Priority, err = crm.ParseCasePriority(p); err != nil {
			return f, err
		}
	}
	if f.Sort, err = store.ParseCaseSort(q.Get("sort")); err != nil {
		return f, err
	}
	return f, nil
}

func (u *UI) caseList(w http.ResponseWriter, r *http.Request, c *Ctx) {
	ctx := r.Context()
	q := r.URL.Query()
	f, err := caseListFilter(q, c.V)
	if err != nil {
		u.errorPage(w, r, c, http.StatusBadRequest)
		return
	}
	ks, next, err := u.st.ListCases(ctx, c.V, f)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	us, names, err := u.users(ctx)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	d := caseListData{Cases: caseRows(ks, names), Next: next, Q: f.Q, Status: q.Get("status"), Priority: string(f.Priority),
		OwnerID: q.Get("owner"), Sort: string(f.Sort), ContactID: f.ContactID, AccountID: f.AccountID,
		SourceChatID: f.SourceChatID,
		Statuses:     enumOptions("case.status", crm.Strings(crm.CaseStatuses)),
		Priorities:   enumOptions("case.priority", crm.Strings(crm.CasePriorities)),
		Owners:       append([]Option{{Value: "me", Key: "case.filter.mine"}}, ownerOptions(us, f.OwnerID)...),
		Filtered: f.Q != "" || len(f.Statuses) > 0 || f.Priority != "" || f.OwnerID != "" || f.ContactID != "" ||
			f.AccountID != "" || f.SourceChatID != ""}
	for _, s := range store.CaseSorts {
		d.Sorts = append(d.Sorts, Option{Value: string(s), Key: "case.sort." + string(s)})
	}
	u.render(w, http.StatusOK, "cases/list", c.Page(w, r, "cases", d))
}

// ---------- form ----------

// caseForm is the case as the form shows it: what was typed, unchecked.
type caseForm struct {
	ID, Subject, Description, Status, Priority, ContactID, AccountID, SourceChatID, OwnerID string
	Version                                                                                 int64
	Tags                                                                                    map[string]bool
}

type caseFormData struct {
	IsNew      bool
	Form       caseForm
	Statuses   []Option
	Priorities []Option
	Contacts   []Option
	Accounts   []Option
	Owners     []Option
	Tags       []crm.Tag
}

// newCaseForm is the blank form; the contact and account cards and a chat
// preset its contact, account and source chat. A case about a contact
// starts on the contact's account.
func (u *UI) newCaseForm(r *http.Request, c *Ctx) caseForm {
	q := r.URL.Query()
	f := caseForm{Status: string(crm.CaseNew), Priority: string(crm.CaseNormal), OwnerID: c.V.UserID,
		ContactID: q.Get("contact_id"), AccountID: q.Get("account_id"), SourceChatID: q.Get("source_chat_id"),
		Tags: map[string]bool{}}
	if f.ContactID != "" && f.AccountID == "" {
		if x, err := u.st.GetContact(r.Context(), c.V, f.ContactID); err == nil {
			f.AccountID = x.AccountID
		}
	}
	return f
}

// caseFormFromRequest reads the posted form as typed.
func caseFormFromRequest(r *http.Request) caseForm {
	pf := r.PostForm
	f := caseForm{ID: r.PathValue("id"), Subject: pf.Get("subject"), Description: pf.Get("description"),
		Status: pf.Get("status"), Priority: pf.Get("priority"), ContactID: pf.Get("contact_id"),
		AccountID: pf.Get("account_id"), SourceChatID: pf.Get("source_chat_id"), OwnerID: pf.Get("owner_id"),
		Version: formVersion(r), Tags: map[string]bool{}}
	for _, id := range pf["tags"] {
		if id != "" {
			f.Tags[id] = true
		}
	}
	return f
}

func formFromCase(k *crm.Case) caseForm {
	f := caseForm{ID: k.ID, Subject: k.Subject, Description: k.Description, Status: string(k.Status),
		Priority: string(k.Priority), ContactID: k.ContactID, AccountID: k.AccountID, SourceChatID: k.SourceChatID,
		OwnerID: k.OwnerID, Version: k.Version, Tags: map[string]bool{}}
	for _, t := range k.Tags {
		f.Tags[t.ID] = true
	}
	return f
}

// caseFromForm converts the form. A status or priority outside the lists
// is reported with whatever else is wrong, so the user fixes everything in
// one round. The source chat is set on a new case only.
func caseFromForm(f caseForm, old *crm.Case) (*crm.Case, error) {
	fe := crm.FieldErrors{}
	k := &crm.Case{ID: f.ID, Subject: f.Subject, Description: f.Description, ContactID: f.ContactID,
		AccountID: f.AccountID, SourceChatID: f.SourceChatID, OwnerID: f.OwnerID, Tags: []crm.TagRef{}}
	var err error
	if k.Status, err = crm.ParseCaseStatus(f.Status); err != nil {
		fe.Add("status", crm.ErrUnknownEnum)
	}
	if k.Priority, err = crm.ParseCasePriority(f.Priority); err != nil {
		fe.Add("priority", crm.ErrUnknownEnum)
	}
	if old != nil {
		k.SourceChatID = old.SourceChatID
	}
	for id := range f.Tags {
		k.Tags = append(k.Tags, crm.TagRef{ID: id})
	}
	slices.SortFunc(k.Tags, func(a, b crm.TagRef) int { return strings.Compare(a.ID, b.ID) })
	return k, formFailure(fe, k)
}

func (u *UI) caseFormData(ctx context.Context, c *Ctx, f caseForm, isNew bool) (caseFormData, error) {
	d := caseFormData{IsNew: isNew, Form: f, Statuses: enumOptions("case.status", crm.Strings(crm.CaseStatuses)),
		Priorities: enumOptions("case.priority", crm.Strings(crm.CasePriorities))}
	us, _, err := u.users(ctx)
	if err != nil {
		return d, err
	}
	d.Owners = ownerOptions(us, f.OwnerID)
	if d.Contacts, err = u.contactOptions(ctx, c.V, f.ContactID); err != nil {
		return d, err
	}
	if d.Accounts, err = u.accountOptions(ctx, c.V, f.AccountID, ""); err != nil {
		return d, err
	}
	// A link the viewer may not see stays selected, unnamed: saving keeps
	// it (the store allows keeping such a link, not making one).
	d.Contacts = keepOption(d.Contacts, f.ContactID, "case.hidden_record")
	d.Accounts = keepOption(d.Accounts, f.AccountID, "case.hidden_record")
	if d.Tags, err = u.st.ListTags(ctx, c.V, ""); err != nil {
		return d, err
	}
	return d, nil
}

// keepOption adds value to opts, labelled by the catalogue key, unless it
// is empty or already there.
func keepOption(opts []Option, value, key string) []Option {
	if value == "" || slices.ContainsFunc(opts, func(o Option) bool { return o.Value == value }) {
		return opts
	}
	return append(opts, Option{Value: value, Key: key})
}

// ---------- card ----------

type caseCardData struct {
	K      *crm.Case
	Owner  string
	Author string
	Access accessView
}

func (u *UI) caseCard(w http.ResponseWriter, r *http.Request, c *Ctx) {
	ctx := r.Context()
	k, err := u.st.GetCase(ctx, c.V, r.PathValue("id"))
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	_, names, err := u.users(ctx)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	d := caseCardData{K: k, Owner: names[k.OwnerID], Author: names[k.CreatedBy],
		Access: u.accessView(ctx, c, "/cases/"+k.ID, k.Access)}
	u.render(w, http.StatusOK, "cases/card", c.Page(w, r, "cases", d))
}

// ---------- the cases of a contact or an account ----------

// caseSection is the "Cases" section of a contact's or an account's card.
type caseSection struct {
	Rows  []caseRow
	Total int
	All   string // the list filtered to the record, when the card shows only the newest
	New   string // the new-case form, preset to the record
}

// cardCaseLimit is how many cases a contact or account card shows.
const cardCaseLimit = 10

// recordCases builds the section; of is store.CasesOfContact or
// CasesOfAccount, param the list's query parameter and the form's prefix
// of the record ("contact" or "account").
func (u *UI) recordCases(ctx context.Context, c *Ctx, names map[string]string, param, id string,
	of func(context.Context, access.Viewer, string, int) ([]crm.Case, int, error)) (caseSection, error) {
	ks, total, err := of(ctx, c.V, id, cardCaseLimit)
	if err != nil {
		return caseSection{}, err
	}
	s := caseSection{Rows: caseRows(ks, names), Total: total, New: "/cases/new?" + param + "_id=" + url.QueryEscape(id)}
	if total > len(ks) {
		s.All = "/cases?" + param + "=" + url.QueryEscape(id)
	}
	return s, nil
}
