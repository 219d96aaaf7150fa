package ui

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/store"
)

func (u *UI) accountRoutes(mux *http.ServeMux) {
	pages := u.accountPages()
	mux.HandleFunc("GET /accounts", u.authed(u.accountList))
	mux.HandleFunc("GET /accounts/new", u.authed(pages.handleNew))
	mux.HandleFunc("POST /accounts", u.authed(pages.handleCreate))
	mux.HandleFunc("GET /accounts/{id}", u.authed(u.accountCard))
	mux.HandleFunc("GET /accounts/{id}/edit", u.authed(pages.handleEdit))
	mux.HandleFunc("POST /accounts/{id}", u.authed(pages.handleUpdate))
	mux.HandleFunc("POST /accounts/{id}/delete", u.authed(pages.handleDelete))
}

func (u *UI) accountPages() *recordPages[crm.Account, accountForm, accountFormData] {
	return &recordPages[crm.Account, accountForm, accountFormData]{u: u, kind: "accounts", created: "flash.account_created",
		get: u.st.GetAccount, create: u.st.CreateAccount, update: u.st.UpdateAccount, remove: u.st.DeleteAccount,
		ref: func(a *crm.Account) (string, string) { return a.ID, a.Name },
		blank: func(r *http.Request, c *Ctx) accountForm {
			return accountForm{OwnerID: c.V.UserID, Tags: map[string]bool{}}
		},
		formOf:   formFromAccount,
		parse:    func(r *http.Request, _ *Ctx) accountForm { return accountFormFromRequest(r) },
		record:   func(f accountForm, _ *crm.Account) (*crm.Account, error) { return f.account(), nil },
		formData: u.accountFormData,
	}
}

type accountListData struct {
	Accounts []crm.Account
	Owners   map[string]string
	Next     string
	Q        string
}

func (u *UI) accountList(w http.ResponseWriter, r *http.Request, c *Ctx) {
	text, page := listQuery(r.URL.Query())
	f := store.AccountFilter{Q: text, Page: page}
	as, next, err := u.st.ListAccounts(r.Context(), c.V, f)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	_, names, err := u.users(r.Context())
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	u.render(w, http.StatusOK, "accounts/list", c.Page(w, r, "accounts",
		accountListData{Accounts: as, Owners: names, Next: next, Q: f.Q}))
}

// accountForm is the account as the form shows it.
type accountForm struct {
	ID, Name, Type, Industry, Website, Phone, Email, Address, Notes, OwnerID string
	Version                                                                  int64
	Tags                                                                     map[string]bool
}

type accountFormData struct {
	IsNew  bool
	Form   accountForm
	Types  []Option
	Owners []Option
	Tags   []crm.Tag
}

func accountFormFromRequest(r *http.Request) accountForm {
	pf := r.PostForm
	f := accountForm{ID: r.PathValue("id"), Name: pf.Get("name"), Type: pf.Get("type"), Industry: pf.Get("industry"),
		Website: pf.Get("website"), Phone: pf.Get("phone"), Email: pf.Get("email"), Address: pf.Get("address"),
		Notes: pf.Get("notes"), OwnerID: pf.Get("owner_id"), Version: formVersion(r), Tags: map[string]bool{}}
	for _, id := range pf["tags"] {
		if id != "" {
			f.Tags[id] = true
		}
	}
	return f
}

func formFromAccount(a *crm.Account) accountForm {
	f := accountForm{ID: a.ID, Name: a.Name, Type: a.Type, Industry: a.Industry, Website: a.Website, Phone: a.Phone,
		Email: a.Email, Address: a.Address, Notes: a.Notes, OwnerID: a.OwnerID, Version: a.Version, Tags: map[string]bool{}}
	for _, t := range a.Tags {
		f.Tags[t.ID] = true
	}
	return f
}

func (f accountForm) account() *crm.Account {
	a := &crm.Account{ID: f.ID, Name: f.Name, Type: f.Type, Industry: f.Industry, Website: f.Website, Phone: f.Phone,
		Email: f.Email, Address: f.Address, Notes: f.Notes, OwnerID: f.OwnerID, Tags: []crm.TagRef{}}
	for id := range f.Tags {
		a.Tags = append(a.Tags, crm.TagRef{ID: id})
	}
	return a
}

func (u *UI) accountFormData(ctx context.Context, c *Ctx, f accountForm, isNew bool) (accountFormData, error) {
	d := accountFormData{IsNew: isNew, Form: f, Types: enumOptions("account.type", crm.AccountTypes)}
	us, _, err := u.users(ctx)
	if err != nil {
		return d, err
	}
	d.Owners = ownerOptions(us, f.OwnerID)
	if d.Tags, err = u.st.ListTags(ctx, c.V, ""); err != nil {
		return d, err
	}
	return d, nil
}

type accountCardData struct {
	A            *crm.Account
	Owner        string
	TypeKey      string
	WebsiteURL   string
	PhoneTel     string
	Contacts     []contactRow
	MoreContacts string // link to the full list when the card shows only the first page
	Activities   []activityRow
	Access       accessView
	NewContact   string
	NewActivity  string
	Letters      letterList
	Cases        caseSection
}

func (u *UI) accountCard(w http.ResponseWriter, r *http.Request, c *Ctx) {
	ctx := r.Context()
	a, err := u.st.GetAccount(ctx, c.V, r.PathValue("id"))
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	_, names, err := u.users(ctx)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	d := accountCardData{A: a, Owner: names[a.OwnerID], Access: u.accessView(ctx, c, "/accounts/"+a.ID, a.Access),
		NewContact:  "/contacts/new?account_id=" + url.QueryEscape(a.ID),
		NewActivity: "/activities/new?account_id=" + url.QueryEscape(a.ID)}
	if a.Type != "" {
		d.TypeKey = "account.type." + a.Type
	}
	d.PhoneTel = telDigits(a.Phone)
	if a.Website != "" {
		d.WebsiteURL = a.Website
		if !strings.HasPrefix(a.Website, "http://") && !strings.HasPrefix(a.Website, "https://") {
			d.WebsiteURL = "https://" + a.Website
		}
	}
	cs, next, err := u.st.ListContacts(ctx, c.V, store.ContactFilter{AccountID: a.ID, Page: store.Page{Limit: listLimit}})
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	for i := range cs {
		x := &cs[i]
		d.Contacts = append(d.Contacts, contactRow{ID: x.ID, Name: x.Name, JobTitle: x.JobTitle, Email: x.PrimaryEmail(),
			Phone: x.PrimaryPhone(), Tel: telDigits(x.PrimaryPhone()), Tags: x.Tags})
	}
	if next != "" {
		d.MoreContacts = "/contacts?account=" + url.QueryEscape(a.ID)
	}
	acts, _, err := u.st.ListActivities(ctx, c.V, store.ActivityFilter{AccountID: a.ID, Page: store.Page{Limit: 20}})
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	d.Activities = activityRows(acts, names)
	if d.Cases, err = u.recordCases(ctx, c, names, "account", a.ID, u.st.CasesOfAccount); err != nil {
		u.fail(w, r, c, err)
		return
	}
	if d.Letters, err = u.recordLetters(ctx, c, "account", a.ID, "", timelineLimit); err != nil {
		u.fail(w, r, c, err)
		return
	}
	u.render(w, http.StatusOK, "accounts/card", c.Page(w, r, "accounts", d))
}
