package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/store"
)

type emailJSON struct {
	Address string `json:"address"`
	Kind    string `json:"kind,omitempty"`
	Primary bool   `json:"primary"`
}

type phoneJSON struct {
	Number  string `json:"number"`
	Kind    string `json:"kind,omitempty"`
	Primary bool   `json:"primary"`
}

type addressJSON struct {
	Kind       string `json:"kind,omitempty"`
	Street     string `json:"street"`
	City       string `json:"city"`
	Region     string `json:"region"`
	PostalCode string `json:"postal_code"`
	Country    string `json:"country"`
	Primary    bool   `json:"primary"`
}

type contactIn struct {
	Name       *string        `json:"name"`
	GivenName  *string        `json:"given_name"`
	MiddleName *string        `json:"middle_name"`
	FamilyName *string        `json:"family_name"`
	JobTitle   *string        `json:"job_title"`
	Type       *string        `json:"type"`
	AccountID  *string        `json:"account_id"`
	Company    *string        `json:"company"`
	Birthday   *string        `json:"birthday"`
	Notes      *string        `json:"notes"`
	OwnerID    *string        `json:"owner_id"`
	Emails     *[]emailJSON   `json:"emails"`
	Phones     *[]phoneJSON   `json:"phones"`
	Addresses  *[]addressJSON `json:"addresses"`
	Tags       *[]tagIn       `json:"tags"`
	Access     *[]grantJSON   `json:"access"`
}

// apply copies the fields present in the request onto c.
func (in *contactIn) apply(c *crm.Contact) {
	// A display name that was derived from the name parts follows them.
	derived := c.Name == strings.Join(strings.Fields(c.GivenName+" "+c.MiddleName+" "+c.FamilyName), " ")
	set(&c.GivenName, in.GivenName)
	set(&c.MiddleName, in.MiddleName)
	set(&c.FamilyName, in.FamilyName)
	if in.Name != nil {
		c.Name = *in.Name
	} else if derived && (in.GivenName != nil || in.MiddleName != nil || in.FamilyName != nil) {
		c.Name = ""
	}
	set(&c.JobTitle, in.JobTitle)
	set(&c.Type, in.Type)
	set(&c.AccountID, in.AccountID)
	set(&c.Company, in.Company)
	set(&c.Birthday, in.Birthday)
	set(&c.Notes, in.Notes)
	set(&c.OwnerID, in.OwnerID)
	if in.Emails != nil {
		c.Emails = make([]crm.Email, 0, len(*in.Emails))
		for _, e := range *in.Emails {
			c.Emails = append(c.Emails, crm.Email{Address: e.Address, Kind: e.Kind, Primary: e.Primary})
		}
	}
	if in.Phones != nil {
		c.Phones = make([]crm.Phone, 0, len(*in.Phones))
		for _, p := range *in.Phones {
			c.Phones = append(c.Phones, crm.Phone{Number: p.Number, Kind: p.Kind, Primary: p.Primary})
		}
	}
	if in.Addresses != nil {
		c.Addresses = make([]crm.Address, 0, len(*in.Addresses))
		for _, a := range *in.Addresses {
			c.Addresses = append(c.Addresses, crm.Address{Kind: a.Kind, Street: a.Street, City: a.City, Region: a.Region,
				PostalCode: a.PostalCode, Country: a.Country, Primary: a.Primary})
		}
	}
	c.Tags = nil
	if in.Tags != nil {
		c.Tags = tagRefs(in.Tags)
	}
	c.Access = nil
	if in.Access != nil {
		c.Access = grantsIn(in.Access)
	}
}

type contactOut struct {
	ID          string        `json:"id"`
	Name        string        `json:"name"`
	GivenName   string        `json:"given_name"`
	MiddleName  string        `json:"middle_name"`
	FamilyName  string        `json:"family_name"`
	JobTitle    string        `json:"job_title"`
	Type        string        `json:"type"`
	AccountID   *string       `json:"account_id"`
	AccountName string        `json:"account_name,omitempty"`
	Company     string        `json:"company"`
	Birthday    *string       `json:"birthday"`
	Notes       string        `json:"notes"`
	Emails      []emailJSON   `json:"emails"`
	Phones      []phoneJSON   `json:"phones"`
	Addresses   []addressJSON `json:"addresses"`
	Tags        []tagOut      `json:"tags"`
	Access      []grantJSON   `json:"access"`
	Photo       *photoJSON    `json:"photo"`
	OwnerID     string        `json:"owner_id"`
	CreatedAt   time.Time     `json:"created_at"`
	UpdatedAt   time.Time     `json:"updated_at"`
	Version     int64         `json:"version"`
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func contactJSON(c *crm.Contact) contactOut {
	o := contactOut{ID: c.ID, Name: c.Name, GivenName: c.GivenName, MiddleName: c.MiddleName, FamilyName: c.FamilyName,
		JobTitle: c.JobTitle, Type: c.Type, AccountID: optional(c.AccountID), AccountName: c.AccountName,
		Company: c.Company, Birthday: optional(c.Birthday), Notes: c.Notes,
		Emails: []emailJSON{}, Phones: []phoneJSON{}, Addresses: []addressJSON{}, Tags: tagsOut(c.Tags),
		Access: grantsOut(c.Access), Photo: photoOut(c.ID, c.Photo), OwnerID: c.OwnerID, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, Version: c.Version}
	for _, e := range c.Emails {
		o.Emails = append(o.Emails, emailJSON{Address: e.Address, Kind: e.Kind, Primary: e.Primary})
	}
	for _, p := range c.Phones {
		o.Phones = append(o.Phones, phoneJSON{Number: p.Number, Kind: p.Kind, Primary: p.Primary})
	}
	for _, a := range c.Addresses {
		o.Addresses = append(o.Addresses, addressJSON{Kind: a.Kind, Street: a.Street, City: a.City, Region: a.Region,
			PostalCode: a.PostalCode, Country: a.Country, Primary: a.Primary})
	}
	return o
}

func (a *API) listContacts(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	p, err := pageParams(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	items, next, err := a.st.ListContacts(r.Context(), v, store.ContactFilter{Q: q.Get("q"), TagID: q.Get("tag_id"),
		GroupID: q.Get("group_id"), AccountID: q.Get("account_id"), OwnerID: q.Get("owner_id"), Email: q.Get("email"), Page: p})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writePage(w, items, next, contactJSON)
}

func (a *API) createContact(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	createRecord(a, a.contacts(), w, r, v, func(in *contactIn, c *crm.Contact, _ crm.FieldErrors) { in.apply(c) })
}

func (a *API) getContact(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	a.contacts().serveGet(a, w, r, v)
}

func (a *API) patchContact(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	patch(a, a.contacts(), w, r, v, func(in *contactIn, c *crm.Contact, _ crm.FieldErrors) { in.apply(c) })
}

func (a *API) deleteContact(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	a.contacts().serveDelete(a, w, r, v)
}
