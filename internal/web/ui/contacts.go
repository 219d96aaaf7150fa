package ui

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/web/download"
)

// crmRoutes registers the contact pages, tags and groups, and (from their
// own files) activities and the calendar.
func (u *UI) crmRoutes(mux *http.ServeMux) {
	pages := u.contactPages()
	mux.HandleFunc("GET /contacts", u.authed(u.contactList))
	mux.HandleFunc("GET /contacts/new", u.authed(pages.handleNew))
	mux.HandleFunc("POST /contacts", u.authed(pages.handleCreate))
	mux.HandleFunc("GET /contacts/{id}", u.authed(u.contactCard))
	mux.HandleFunc("GET /contacts/{id}/edit", u.authed(pages.handleEdit))
	mux.HandleFunc("POST /contacts/{id}", u.authed(pages.handleUpdate))
	mux.HandleFunc("POST /contacts/{id}/delete", u.authed(pages.handleDelete))
	mux.HandleFunc("GET /contacts/{id}/photo", u.authed(u.contactPhoto))
	mux.HandleFunc("POST /contacts/{id}/tags", u.authed(u.contactSetTags))
	mux.HandleFunc("POST /contacts/{id}/groups", u.authed(u.contactSetGroups))

	mux.HandleFunc("GET /tags", u.authed(u.tagList))
	mux.HandleFunc("POST /tags", u.authed(u.tagCreate))
	mux.HandleFunc("POST /tags/{id}", u.authed(u.tagUpdate))
	mux.HandleFunc("POST /tags/{id}/delete", u.authed(u.tagDelete))

	mux.HandleFunc("GET /groups", u.authed(u.groupList))
	mux.HandleFunc("POST /groups", u.authed(u.groupCreate))
	mux.HandleFunc("POST /groups/{id}", u.authed(u.groupUpdate))
	mux.HandleFunc("POST /groups/{id}/delete", u.authed(u.groupDelete))

	u.activityRoutes(mux)
	u.calendarRoutes(mux)
}

// listLimit is the page size of the list pages.
const listLimit = 50

// pickerLimit caps the records offered in a select (accounts, contacts).
const pickerLimit = 200

// ---------- shared helpers ----------

// rowKey matches the names of repeated form rows: emails[2].address.
var rowKey = regexp.MustCompile(`^([a-z_]+)\[(\d{1,4})\]\.([a-z_]+)$`)

// formRows collects the repeated rows named prefix[i].field, in index
// order; gaps left by removed rows are closed.
func formRows(f url.Values, prefix string) []map[string]string {
	byIdx := map[int]map[string]string{}
	for k, vs := range f {
		m := rowKey.FindStringSubmatch(k)
		if m == nil || m[1] != prefix || len(vs) == 0 {
			continue
		}
		i, err := strconv.Atoi(m[2])
		if err != nil {
			continue
		}
		if byIdx[i] == nil {
			byIdx[i] = map[string]string{}
		}
		byIdx[i][m[3]] = vs[0]
	}
	idx := make([]int, 0, len(byIdx))
	for i := range byIdx {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	rows := make([]map[string]string, 0, len(idx))
	for _, i := range idx {
		rows = append(rows, byIdx[i])
	}
	return rows
}

func isOn(v string) bool { return v == "1" || v == "on" || v == "true" }

// formVersion reads the hidden optimistic-concurrency version.
func formVersion(r *http.Request) int64 {
	n, _ := strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	if n < 0 {
		return 0
	}
	return n
}

// users returns every user, for owner pickers and names.
func (u *UI) users(ctx context.Context) ([]*access.User, map[string]string, error) {
	us, err := u.st.ListUsers(ctx, "")
	if err != nil {
		return nil, nil, err
	}
	names := make(map[string]string, len(us))
	for _, x := range us {
		names[x.ID] = x.Name
	}
	return us, names, nil
}

// ownerOptions lists active users (plus the current owner, whatever its
// state) for an owner select.
func ownerOptions(us []*access.User, current string) []Option {
	var out []Option
	for _, x := range us {
		if x.Active || x.ID == current {
			out = append(out, Option{Value: x.ID, Label: x.Name})
		}
	}
	return out
}

// accountOptions lists the accounts the viewer can see for a select; the
// current one is kept even when it is past the first page.
func (u *UI) accountOptions(ctx context.Context, v access.Viewer, currentID, currentName string) ([]Option, error) {
	as, _, err := u.st.ListAccounts(ctx, v, store.AccountFilter{Page: store.Page{Limit: pickerLimit}})
	if err != nil {
		return nil, err
	}
	out := make([]Option, 0, len(as)+1)
	found := currentID == ""
	for _, a := range as {
		out = append(out, Option{Value: a.ID, Label: a.Name})
		found = found || a.ID == currentID
	}
	if !found {
		if currentName == "" {
			if a, err := u.st.GetAccount(ctx, v, currentID); err == nil {
				currentName = a.Name
			}
		}
		if currentName != "" {
			out = append(out, Option{Value: currentID, Label: currentName})
		}
	}
	return out, nil
}

// contactOptions lists the contacts the viewer can see for a select.
func (u *UI) contactOptions(ctx context.Context, v access.Viewer, keep ...string) ([]Option, error) {
	cs, _, err := u.st.ListContacts(ctx, v, store.ContactFilter{Page: store.Page{Limit: pickerLimit}})
	if err != nil {
		return nil, err
	}
	out := make([]Option, 0, len(cs))
	have := map[string]bool{}
	for _, x := range cs {
		out = append(out, Option{Value: x.ID, Label: contactLabel(&x)})
		have[x.ID] = true
	}
	for _, id := range keep {
		if id == "" || have[id] {
			continue
		}
		have[id] = true
		if x, err := u.st.GetContact(ctx, v, id); err == nil {
			out = append(out, Option{Value: x.ID, Label: contactLabel(x)})
		}
	}
	return out, nil
}

func contactLabel(c *crm.Contact) string {
	if e := c.PrimaryEmail(); e != "" {
		return c.Name + " <" + e + ">"
	}
	return c.Name
}

// enumOptions builds options whose labels are catalogue keys prefix.value.
func enumOptions(prefix string, values []string) []Option {
	var out []Option
	for _, v := range values {
		if v != "" {
			out = append(out, Option{Value: v, Key: prefix + "." + v})
		}
	}
	return out
}

// formPage renders a form page again with errors, keeping the input that
// the view model carries.
func (u *UI) formPage(w http.ResponseWriter, r *http.Request, c *Ctx, status int, active, page string, data any, errs map[string]string) {
	p := c.Page(w, r, active, data)
	p.Form = nil // the view model carries the values
	p.Errors = errs
	if isReview(r) {
		p.Flash = append(p.Flash, Flash{Kind: FlashWarning, Key: "resume.check_and_save"})
	}
	u.render(w, status, page, p)
}

// ---------- contact list ----------

type contactRow struct {
	ID, Name, JobTitle, AccountID, AccountName, Company, Email, Phone, Tel string
	Tags                                                                   []crm.TagRef
}

// telDigits reduces a phone number to what a tel: link carries: digits and
// a leading plus.
func telDigits(s string) string {
	var b strings.Builder
	for i, r := range strings.TrimSpace(s) {
		if r >= '0' && r <= '9' || (r == '+' && i == 0) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

type phoneView struct {
	crm.Phone
	Tel string
}

type contactListData struct {
	Contacts  []contactRow
	Next      string
	Q         string
	TagID     string
	GroupID   string
	AccountID string
	Tags      []crm.Tag
	Groups    []crm.Group
	Filtered  bool
}

func (u *UI) contactList(w http.ResponseWriter, r *http.Request, c *Ctx) {
	q := r.URL.Query()
	text, page := listQuery(q)
	f := store.ContactFilter{Q: text, TagID: q.Get("tag"), GroupID: q.Get("group"), AccountID: q.Get("account"), Page: page}
	cs, next, err := u.st.ListContacts(r.Context(), c.V, f)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	d := contactListData{Next: next, Q: f.Q, TagID: f.TagID, GroupID: f.GroupID, AccountID: f.AccountID,
		Filtered: f.Q != "" || f.TagID != "" || f.GroupID != "" || f.AccountID != ""}
	for i := range cs {
		x := &cs[i]
		d.Contacts = append(d.Contacts, contactRow{ID: x.ID, Name: x.Name, JobTitle: x.JobTitle, AccountID: x.AccountID,
			AccountName: x.AccountName, Company: x.Company, Email: x.PrimaryEmail(), Phone: x.PrimaryPhone(), Tel: telDigits(x.PrimaryPhone()),
			Tags: x.Tags})
	}
	if d.Tags, err = u.st.ListTags(r.Context(), c.V, ""); err != nil {
		u.fail(w, r, c, err)
		return
	}
	if d.Groups, err = u.st.ListGroups(r.Context(), c.V, crm.GroupContacts); err != nil {
		u.fail(w, r, c, err)
		return
	}
	u.render(w, http.StatusOK, "contacts/list", c.Page(w, r, "contacts", d))
}

// ---------- contact form ----------

type emailRow struct {
	Address, Kind string
	Primary       bool
}

type phoneRow struct {
	Number, Kind string
	Primary      bool
}

type addressRow struct {
	Kind, Street, City, Region, PostalCode, Country string
	Primary                                         bool
}

// Part is the address part the form names name ("postal_code").
func (a addressRow) Part(name string) string {
	switch name {
	case "street":
		return a.Street
	case "city":
		return a.City
	case "region":
		return a.Region
	case "postal_code":
		return a.PostalCode
	case "country":
		return a.Country
	}
	return ""
}

// birthdayParts is a birthday as the form's three inputs hold it: a
// birthday may have no year, which a date input cannot express.
type birthdayParts struct{ Day, Month, Year string }

// contactForm is the contact as the form shows it.
type contactForm struct {
	ID, Name, GivenName, MiddleName, FamilyName, JobTitle, Type, AccountID, Company, Notes, OwnerID string
	Birthday                                                                                        birthdayParts
	Version                                                                                         int64
	Emails                                                                                          []emailRow
	Phones                                                                                          []phoneRow
	Addresses                                                                                       []addressRow
	Tags                                                                                            map[string]bool
	Photo                                                                                           photoInput
}

// photoInput is the photo part of the contact form: the photo the
// contact has, and what the form asks to do with it.
type photoInput struct {
	ETag   string // of the contact's current photo, "" for none
	Remove bool
	// New is a new photo's bytes: uploaded, or kept from a submit that
	// failed on another field (Kept, in a hidden input: a browser does not
	// send a chosen file twice).
	New     []byte
	Problem string // message key of what is wrong with the uploaded file
}

// Kept is New as the form's hidden input carries it.
func (p photoInput) Kept() string {
	if len(p.New) == 0 || p.Problem != "" {
		return ""
	}
	return base64.StdEncoding.EncodeToString(p.New)
}

// photoFromRequest reads the photo part of a posted contact form: a file
// chosen in "photo", else the one kept in "photo_kept".
func photoFromRequest(r *http.Request) photoInput {
	p := photoInput{ETag: r.PostFormValue("photo_etag"), Remove: isOn(r.PostFormValue("photo_remove"))}
	if r.MultipartForm != nil {
		if fhs := r.MultipartForm.File["photo"]; len(fhs) > 0 && fhs[0].Size > 0 {
			if fhs[0].Size > crm.MaxPhotoBytes {
				p.Problem = crm.ErrPhotoTooLarge
				return p
			}
			f, err := fhs[0].Open()
			if err != nil {
				p.Problem = "error.invalid"
				return p
			}
			defer f.Close()
			if p.New, err = io.ReadAll(io.LimitReader(f, crm.MaxPhotoBytes+1)); err != nil {
				p.Problem = "error.invalid"
				return p
			}
			if _, err := crm.NewPhoto(p.New); err != nil {
				p.Problem, _ = formErrorKey(err, "photo")
			}
			return p
		}
	}
	if kept := r.PostFormValue("photo_kept"); kept != "" {
		// It came from this form, but through the browser: checked again.
		if data, err := base64.StdEncoding.DecodeString(kept); err == nil {
			if _, err := crm.NewPhoto(data); err == nil {
				p.New = data
			}
		}
	}
	return p
}

// formErrorKey is the message key err holds for field.
func formErrorKey(err error, field string) (string, bool) {
	fe, ok := formErrors(err)
	if !ok || fe[field] == "" {
		return "error.invalid", false
	}
	return fe[field], true
}

type contactFormData struct {
	IsNew        bool
	Form         contactForm
	Types        []Option
	Accounts     []Option
	Owners       []Option
	Tags         []crm.Tag
	EmailKinds   []Option
	PhoneKinds   []Option
	AddressKinds []Option
	Months       []int
}

// splitBirthday gives a stored birthday's parts, without leading zeros.
func splitBirthday(s string) birthdayParts {
	y, m, d, ok := crm.ParseBirthday(s)
	if !ok {
		return birthdayParts{}
	}
	b := birthdayParts{Day: strconv.Itoa(d), Month: strconv.Itoa(m)}
	if y != 0 {
		b.Year = strconv.Itoa(y)
	}
	return b
}

// value is the crm.Contact.Birthday the parts make: "" when all are empty,
// and what was typed, unpadded, when it is not a date, so that Validate
// refuses it (a two-digit year is a mistake, not the first century).
func (b birthdayParts) value() string {
	day, month, year := strings.TrimSpace(b.Day), strings.TrimSpace(b.Month), strings.TrimSpace(b.Year)
	if day == "" && month == "" && year == "" {
		return ""
	}
	pad := func(s string) string {
		if len(s) == 1 {
			return "0" + s
		}
		return s
	}
	if year == "" {
		year = "-"
	}
	return year + "-" + pad(month) + "-" + pad(day)
}

func formFromContact(x *crm.Contact) contactForm {
	f := contactForm{ID: x.ID, Name: x.Name, GivenName: x.GivenName, MiddleName: x.MiddleName, FamilyName: x.FamilyName,
		JobTitle: x.JobTitle, Type: x.Type, AccountID: x.AccountID, Company: x.Company, Notes: x.Notes, OwnerID: x.OwnerID,
		Birthday: splitBirthday(x.Birthday), Version: x.Version, Tags: map[string]bool{}}
	if x.Photo != nil {
		f.Photo.ETag = x.Photo.ETag
	}
	// A name derived from the parts is left empty so that it follows them.
	if x.Name == strings.Join(strings.Fields(x.GivenName+" "+x.MiddleName+" "+x.FamilyName), " ") {
		f.Name = ""
	}
	for _, e := range x.Emails {
		f.Emails = append(f.Emails, emailRow{Address: e.Address, Kind: e.Kind, Primary: e.Primary})
	}
	for _, p := range x.Phones {
		f.Phones = append(f.Phones, phoneRow{Number: p.Number, Kind: p.Kind, Primary: p.Primary})
	}
	for _, a := range x.Addresses {
		f.Addresses = append(f.Addresses, addressRow(a))
	}
	for _, t := range x.Tags {
		f.Tags[t.ID] = true
	}
	return f
}

func contactFormFromRequest(r *http.Request) contactForm {
	pf := r.PostForm
	f := contactForm{
		ID:   r.PathValue("id"),
		Name: pf.Get("name"), GivenName: pf.Get("given_name"), MiddleName: pf.Get("middle_name"),
		FamilyName: pf.Get("family_name"), JobTitle: pf.Get("job_title"), Type: pf.Get("type"),
		AccountID: pf.Get("account_id"), Company: pf.Get("company"), Notes: pf.Get("notes"), OwnerID: pf.Get("owner_id"),
		Birthday: birthdayParts{Day: pf.Get("birthday_day"), Month: pf.Get("birthday_month"), Year: pf.Get("birthday_year")},
		Version:  formVersion(r), Tags: map[string]bool{}, Photo: photoFromRequest(r),
	}
	for _, row := range formRows(pf, "emails") {
		if strings.TrimSpace(row["address"]) == "" {
			continue
		}
		f.Emails = append(f.Emails, emailRow{Address: row["address"], Kind: row["kind"], Primary: isOn(row["primary"])})
	}
	for _, row := range formRows(pf, "phones") {
		if strings.TrimSpace(row["number"]) == "" {
			continue
		}
		f.Phones = append(f.Phones, phoneRow{Number: row["number"], Kind: row["kind"], Primary: isOn(row["primary"])})
	}
	for _, row := range formRows(pf, "addresses") {
		a := addressRow{Kind: row["kind"], Street: row["street"], City: row["city"], Region: row["region"],
			PostalCode: row["postal_code"], Country: row["country"], Primary: isOn(row["primary"])}
		// A row left blank is no address, as a blank email row is none.
		if strings.TrimSpace(a.Street+a.City+a.Region+a.PostalCode+a.Country) == "" {
			continue
		}
		f.Addresses = append(f.Addresses, a)
	}
	for _, id := range pf["tags"] {
		if id != "" {
			f.Tags[id] = true
		}
	}
	return f
}

func (f contactForm) contact() *crm.Contact {
	x := &crm.Contact{ID: f.ID, Name: f.Name, GivenName: f.GivenName, MiddleName: f.MiddleName, FamilyName: f.FamilyName,
		JobTitle: f.JobTitle, Type: f.Type, AccountID: f.AccountID, Company: f.Company, Birthday: f.Birthday.value(),
		Notes: f.Notes, OwnerID: f.OwnerID, Emails: []crm.Email{}, Phones: []crm.Phone{}, Addresses: []crm.Address{},
		Tags: []crm.TagRef{}}
	for _, e := range f.Emails {
		x.Emails = append(x.Emails, crm.Email{Address: e.Address, Kind: e.Kind, Primary: e.Primary})
	}
	for _, p := range f.Phones {
		x.Phones = append(x.Phones, crm.Phone{Number: p.Number, Kind: p.Kind, Primary: p.Primary})
	}
	for _, a := range f.Addresses {
		x.Addresses = append(x.Addresses, crm.Address(a))
	}
	for id := range f.Tags {
		x.Tags = append(x.Tags, crm.TagRef{ID: id})
	}
	slices.SortFunc(x.Tags, func(a, b crm.TagRef) int { return strings.Compare(a.ID, b.ID) })
	switch {
	case len(f.Photo.New) > 0 && f.Photo.Problem == "":
		x.PhotoEdit = &crm.Photo{Data: f.Photo.New}
	case f.Photo.Remove:
		x.PhotoEdit = &crm.Photo{}
	}
	return x
}

// record is the contact the form makes, or the form's errors: a file that
// is no photo Tandem takes is named with the other fields' problems.
func (f contactForm) record() (*crm.Contact, error) {
	x := f.contact()
	fe := crm.FieldErrors{}
	if f.Photo.Problem != "" {
		fe.Add("photo", f.Photo.Problem)
	}
	if err := formFailure(fe, x); err != nil {
		return nil, err
	}
	return x, nil
}

func (u *UI) contactFormData(ctx context.Context, c *Ctx, f contactForm, isNew bool) (contactFormData, error) {
	d := contactFormData{IsNew: isNew, Form: f, Types: enumOptions("contact.type", crm.ContactTypes),
		EmailKinds: enumOptions("contact.email_kind", crm.EmailKinds), PhoneKinds: enumOptions("contact.phone_kind", crm.PhoneKinds),
		AddressKinds: enumOptions("contact.address_kind", crm.AddressKinds), Months: []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}}
	if len(d.Form.Emails) == 0 {
		d.Form.Emails = []emailRow{{Kind: "work", Primary: true}}
	}
	if len(d.Form.Phones) == 0 {
		d.Form.Phones = []phoneRow{{Kind: "mobile", Primary: true}}
	}
	us, _, err := u.users(ctx)
	if err != nil {
		return d, err
	}
	d.Owners = ownerOptions(us, f.OwnerID)
	if d.Accounts, err = u.accountOptions(ctx, c.V, f.AccountID, ""); err != nil {
		return d, err
	}
	if d.Tags, err = u.st.ListTags(ctx, c.V, ""); err != nil {
		return d, err
	}
	return d, nil
}

func (u *UI) contactPages() *recordPages[crm.Contact, contactForm, contactFormData] {
	return &recordPages[crm.Contact, contactForm, contactFormData]{u: u, kind: "contacts", created: "flash.contact_created",
		get: u.st.GetContact, create: u.st.CreateContact, update: u.st.UpdateContact, remove: u.st.DeleteContact,
		ref: func(x *crm.Contact) (string, string) { return x.ID, x.Name },
		blank: func(r *http.Request, c *Ctx) contactForm {
			return contactForm{OwnerID: c.V.UserID, AccountID: r.URL.Query().Get("account_id"), Tags: map[string]bool{}}
		},
		formOf:   formFromContact,
		parse:    func(r *http.Request, _ *Ctx) contactForm { return contactFormFromRequest(r) },
		record:   func(f contactForm, _ *crm.Contact) (*crm.Contact, error) { return f.record() },
		formData: u.contactFormData,
	}
}

// ---------- contact card ----------

// addressView is an address as the card shows it: the street, then the
// postal code, city, region and country on one line.
type addressView struct {
	crm.Address
	Text string
}

func viewAddress(a crm.Address) addressView {
	place := strings.TrimSpace(a.PostalCode + " " + a.City)
	line := strings.Join(slices.DeleteFunc([]string{place, a.Region, a.Country}, func(s string) bool { return s == "" }), ", ")
	text := a.Street
	if text != "" && line != "" {
		text += "\n"
	}
	return addressView{Address: a, Text: text + line}
}

type contactCardData struct {
	C           *crm.Contact
	Phones      []phoneView
	Addresses   []addressView
	Owner       string
	TypeKey     string
	Groups      []crm.Group // contact groups it is in
	AddGroups   []crm.Group // contact groups it could join
	AddTags     []crm.Tag   // visible tags it does not carry
	Activities  []activityRow
	MoreActs    bool
	Access      accessView
	ActivityNew string
	Journal     []journalRow
	Letters     letterList
	Cases       caseSection
	Chats       []store.Chat // its chats, newest first (chat_panel.go)
}

func (u *UI) contactCard(w http.ResponseWriter, r *http.Request, c *Ctx) {
	ctx := r.Context()
	x, err := u.st.GetContact(ctx, c.V, r.PathValue("id"))
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	d := contactCardData{C: x, Access: u.accessView(ctx, c, "/contacts/"+x.ID, x.Access),
		ActivityNew: "/activities/new?contact_id=" + url.QueryEscape(x.ID)}
	if x.Type != "" {
		d.TypeKey = "contact.type." + x.Type
	}
	for _, p := range x.Phones {
		d.Phones = append(d.Phones, phoneView{Phone: p, Tel: telDigits(p.Number)})
	}
	for _, a := range x.Addresses {
		d.Addresses = append(d.Addresses, viewAddress(a))
	}
	_, names, err := u.users(ctx)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	d.Owner = names[x.OwnerID]
	in, err := u.st.GroupsOf(ctx, c.V, x.ID)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	member := map[string]bool{}
	for _, g := range in {
		if g.Entity == crm.GroupContacts {
			d.Groups = append(d.Groups, g)
			member[g.ID] = true
		}
	}
	all, err := u.st.ListGroups(ctx, c.V, crm.GroupContacts)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	for _, g := range all {
		if !member[g.ID] {
			d.AddGroups = append(d.AddGroups, g)
		}
	}
	tags, err := u.st.ListTags(ctx, c.V, "")
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	has := map[string]bool{}
	for _, t := range x.Tags {
		has[t.ID] = true
	}
	for _, t := range tags {
		if !has[t.ID] {
			d.AddTags = append(d.AddTags, t)
		}
	}
	acts, next, err := u.st.ListActivities(ctx, c.V, store.ActivityFilter{ContactID: x.ID, Page: store.Page{Limit: 20}})
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	d.Activities, d.MoreActs = activityRows(acts, names), next != ""
	if d.Cases, err = u.recordCases(ctx, c, names, "contact", x.ID, u.st.CasesOfContact); err != nil {
		u.fail(w, r, c, err)
		return
	}
	d.Journal = u.journalRows(ctx, c.Lang, x.ID)
	if d.Letters, err = u.recordLetters(ctx, c, "contact", x.ID, "", timelineLimit); err != nil {
		u.fail(w, r, c, err)
		return
	}
	if d.Chats, err = u.st.ListChats(ctx, store.ChatFilter{ContactID: x.ID, Limit: timelineLimit}); err != nil {
		u.fail(w, r, c, err)
		return
	}
	u.render(w, http.StatusOK, "contacts/card", c.Page(w, r, "contacts", d))
}

// contactPhoto answers a contact's photo to whoever may read the contact.
func (u *UI) contactPhoto(w http.ResponseWriter, r *http.Request, c *Ctx) {
	p, err := u.st.ContactPhoto(r.Context(), c.V, r.PathValue("id"))
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	download.ServeImage(w, r, download.Image{Type: p.Type, Data: p.Data, ETag: p.ETag, UpdatedAt: p.UpdatedAt})
}

// contactSetTags changes a contact's tags: "set" replaces them with the
// "tags" values; "add" and "remove" change one tag.
func (u *UI) contactSetTags(w http.ResponseWriter, r *http.Request, c *Ctx) {
	ctx := r.Context()
	x, err := u.st.GetContact(ctx, c.V, r.PathValue("id"))
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	ids := map[string]bool{}
	for _, t := range x.Tags {
		ids[t.ID] = true
	}
	if r.PostFormValue("set") != "" {
		ids = map[string]bool{}
		for _, id := range r.PostForm["tags"] {
			if id != "" {
				ids[id] = true
			}
		}
	}
	if id := r.PostFormValue("add"); id != "" {
		ids[id] = true
	}
	if id := r.PostFormValue("remove"); id != "" {
		delete(ids, id)
	}
	x.Tags = []crm.TagRef{}
	for id := range ids {
		x.Tags = append(x.Tags, crm.TagRef{ID: id})
	}
	x.Access = nil // leave the grants as they are
	back := "/contacts/" + x.ID
	if err := u.st.UpdateContact(ctx, c.V, x, x.Version); err != nil {
		if fe, ok := formErrors(err); ok {
			redirect(w, r, back, Flash{Kind: FlashError, Key: firstError(fe)})
			return
		}
		u.fail(w, r, c, err)
		return
	}
	redirect(w, r, back, Flash{Kind: FlashSuccess, Key: "flash.saved"})
}

// contactSetGroups adds the contact to the "add" group or removes it from
// the "remove" group.
func (u *UI) contactSetGroups(w http.ResponseWriter, r *http.Request, c *Ctx) {
	ctx := r.Context()
	x, err := u.st.GetContact(ctx, c.V, r.PathValue("id"))
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	back := "/contacts/" + x.ID
	if id := r.PostFormValue("add"); id != "" {
		err = u.st.AddGroupMembers(ctx, c.V, id, []string{x.ID})
	} else if id := r.PostFormValue("remove"); id != "" {
		err = u.st.RemoveGroupMembers(ctx, c.V, id, []string{x.ID})
	}
	if err != nil {
		if fe, ok := formErrors(err); ok {
			redirect(w, r, back, Flash{Kind: FlashError, Key: firstError(fe)})
			return
		}
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrForbidden) {
			redirect(w, r, back, Flash{Kind: FlashError, Key: "error.forbidden"})
			return
		}
		u.fail(w, r, c, err)
		return
	}
	redirect(w, r, back, Flash{Kind: FlashSuccess, Key: "flash.saved"})
}

// firstError picks one message key of a set of field errors, for a flash.
func firstError(fe map[string]string) string {
	keys := make([]string, 0, len(fe))
	for k := range fe {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if len(keys) == 0 {
		return "flash.error"
	}
	return fe[keys[0]]
}

// ---------- tags ----------

type tagRow struct {
	crm.Tag
	Owner     string
	CanChange bool
}

type tagListData struct {
	Tags   []tagRow
	New    crm.Tag
	Kinds  []Option
	Colors []Option
}

func (u *UI) tagPage(w http.ResponseWriter, r *http.Request, c *Ctx, status int, nt crm.Tag, errs map[string]string) {
	ctx := r.Context()
	tags, err := u.st.ListTags(ctx, c.V, "")
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	_, names, err := u.users(ctx)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	if nt.Kind == "" {
		nt.Kind = crm.TagPersonal
	}
	if nt.Color == "" {
		nt.Color = "blue"
	}
	d := tagListData{New: nt, Kinds: enumOptions("tag.kind", crm.TagKinds), Colors: enumOptions("tag.color", crm.TagColors)}
	for _, t := range tags {
		d.Tags = append(d.Tags, tagRow{Tag: t, Owner: names[t.OwnerID],
			CanChange: t.OwnerID == c.V.UserID || (t.Kind != crm.TagPersonal && c.V.IsAdmin())})
	}
	u.formPage(w, r, c, status, "contacts", "contacts/tags", d, errs)
}

func (u *UI) tagList(w http.ResponseWriter, r *http.Request, c *Ctx) {
	u.tagPage(w, r, c, http.StatusOK, crm.Tag{}, nil)
}

func (u *UI) tagCreate(w http.ResponseWriter, r *http.Request, c *Ctx) {
	t := crm.Tag{Name: r.PostFormValue("name"), Kind: r.PostFormValue("kind"), Color: r.PostFormValue("color")}
	if err := u.st.SaveTag(r.Context(), c.V, &t); err != nil {
		if fe, ok := formErrors(err); ok {
			u.tagPage(w, r, c, http.StatusUnprocessableEntity, t, fe)
			return
		}
		u.fail(w, r, c, err)
		return
	}
	redirect(w, r, "/tags", Flash{Kind: FlashSuccess, Key: "flash.created"})
}

func (u *UI) tagUpdate(w http.ResponseWriter, r *http.Request, c *Ctx) {
	t, err := u.st.GetTag(r.Context(), c.V, r.PathValue("id"))
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	t.Name = r.PostFormValue("name")
	if col := r.PostFormValue("color"); col != "" {
		t.Color = col
	}
	if err := u.st.SaveTag(r.Context(), c.V, t); err != nil {
		if fe, ok := formErrors(err); ok {
			redirect(w, r, "/tags", Flash{Kind: FlashError, Key: firstError(fe)})
			return
		}
		u.fail(w, r, c, err)
		return
	}
	redirect(w, r, "/tags", Flash{Kind: FlashSuccess, Key: "flash.saved"})
}

func (u *UI) tagDelete(w http.ResponseWriter, r *http.Request, c *Ctx) {
	if err := u.st.DeleteTag(r.Context(), c.V, r.PathValue("id")); err != nil {
		u.fail(w, r, c, err)
		return
	}
	redirect(w, r, "/tags", Flash{Kind: FlashSuccess, Key: "flash.deleted"})
}

// ---------- groups ----------

type groupRow struct {
	crm.Group
	Owner   string
	ListURL string
}

type groupListData struct {
	Contacts   []groupRow
	Activities []groupRow
	New        crm.Group
	Entities   []Option
}

func (u *UI) groupPage(w http.ResponseWriter, r *http.Request, c *Ctx, status int, ng crm.Group, errs map[string]string) {
	ctx := r.Context()
	gs, err := u.st.ListGroups(ctx, c.V, "")
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	_, names, err := u.users(ctx)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	if ng.Entity == "" {
		ng.Entity = crm.GroupContacts
	}
	d := groupListData{New: ng, Entities: enumOptions("group.entity", []string{crm.GroupContacts, crm.GroupActivities})}
	for _, g := range gs {
		row := groupRow{Group: g, Owner: names[g.OwnerID]}
		if g.Entity == crm.GroupActivities {
			row.ListURL = "/activities?group=" + url.QueryEscape(g.ID)
			d.Activities = append(d.Activities, row)
		} else {
			row.ListURL = "/contacts?group=" + url.QueryEscape(g.ID)
			d.Contacts = append(d.Contacts, row)
		}
	}
	u.formPage(w, r, c, status, "contacts", "contacts/groups", d, errs)
}

func (u *UI) groupList(w http.ResponseWriter, r *http.Request, c *Ctx) {
	u.groupPage(w, r, c, http.StatusOK, crm.Group{}, nil)
}

func (u *UI) groupCreate(w http.ResponseWriter, r *http.Request, c *Ctx) {
	g := crm.Group{Name: r.PostFormValue("name"), Entity: r.PostFormValue("entity")}
	if err := u.st.SaveGroup(r.Context(), c.V, &g); err != nil {
		if fe, ok := formErrors(err); ok {
			u.groupPage(w, r, c, http.StatusUnprocessableEntity, g, fe)
			return
		}
		u.fail(w, r, c, err)
		return
	}
	redirect(w, r, "/groups", Flash{Kind: FlashSuccess, Key: "flash.created"})
}

func (u *UI) groupUpdate(w http.ResponseWriter, r *http.Request, c *Ctx) {
	g, err := u.st.GetGroup(r.Context(), c.V, r.PathValue("id"))
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	g.Name = r.PostFormValue("name")
	g.Access = nil // leave the grants as they are
	if err := u.st.SaveGroup(r.Context(), c.V, g); err != nil {
		if fe, ok := formErrors(err); ok {
			redirect(w, r, "/groups", Flash{Kind: FlashError, Key: firstError(fe)})
			return
		}
		u.fail(w, r, c, err)
		return
	}
	redirect(w, r, "/groups", Flash{Kind: FlashSuccess, Key: "flash.saved"})
}

func (u *UI) groupDelete(w http.ResponseWriter, r *http.Request, c *Ctx) {
	if err := u.st.DeleteGroup(r.Context(), c.V, r.PathValue("id")); err != nil {
		u.fail(w, r, c, err)
		return
	}
	redirect(w, r, "/groups", Flash{Kind: FlashSuccess, Key: "flash.deleted"})
}
