package google

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/api/people/v1"

	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/reconcile"
)

// personFields is every field the connector reads; the same mask on every
// page of a listing, as the API demands.
const personFields = "names,emailAddresses,phoneNumbers,organizations,biographies,memberships,clientData,metadata"

// updateFields are the fields an update writes. Google replaces each named
// list whole. Tandem maps names, e-mails, phones and notes entirely, so
// they are written from the fields alone; an organization carries more
// than the job title Tandem maps (the company…), so it is written from the
// person as it is (see orgsOf). clientData is left alone: the marker is
// written once, at create.
const updateFields = "names,emailAddresses,phoneNumbers,organizations,biographies"

// orgFields is what an update needs to read of a person it does not know.
const orgFields = "organizations,metadata"

// markerKey is the clientData key of Tandem's marker.
const markerKey = "tandem.marker"

// DefaultGroupName is the contact group Tandem creates in Google (SPEC §3).
const DefaultGroupName = "Tandem"

// Contacts is a reconcile.Connector over one contact group: members of the
// group are the collection; leaving the group is removal.
type Contacts struct {
	svc      *people.Service
	group    string // contactGroups/<id>
	pageSize int64

	mu   sync.Mutex
	orgs map[string]knownOrgs // resource name → organizations as of an etag
}

// knownOrgs are a person's organizations as Google last answered them.
// An update carrying the same etag writes them back with the new job
// title and needs no read: were they any different now, the etag would
// have moved and Google refuses the update.
type knownOrgs struct {
	etag string
	orgs []*people.Organization
}

// maxKnownOrgs bounds the remembered organizations; past it they are
// forgotten and updates read again.
const maxKnownOrgs = 10_000

// NewContacts returns the connector for a group's resource name.
func NewContacts(svc *people.Service, group string) *Contacts {
	return &Contacts{svc: svc, group: group, pageSize: 500, orgs: map[string]knownOrgs{}}
}

func (c *Contacts) remember(p *people.Person) {
	if p.ResourceName == "" || p.Etag == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.orgs) >= maxKnownOrgs {
		clear(c.orgs)
	}
	c.orgs[p.ResourceName] = knownOrgs{p.Etag, p.Organizations}
}

// orgsOf returns the organizations of the person id as of etag, if known.
func (c *Contacts) orgsOf(id, etag string) ([]*people.Organization, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := c.orgs[id]
	if !ok || k.etag != etag {
		return nil, false
	}
	return cloneOrgs(k.orgs), true
}

func cloneOrgs(orgs []*people.Organization) []*people.Organization {
	out := make([]*people.Organization, len(orgs))
	for i, o := range orgs {
		cp := *o
		out[i] = &cp
	}
	return out
}

// EnsureGroup returns the resource name of the user's group called name,
// creating it on first use.
func EnsureGroup(ctx context.Context, svc *people.Service, name string) (string, error) {
	rn, found, err := FindGroup(ctx, svc, name)
	if err != nil || found {
		return rn, err
	}
	g, err := svc.ContactGroups.Create(&people.CreateContactGroupRequest{ContactGroup: &people.ContactGroup{Name: name}}).Context(ctx).Do()
	if err != nil {
		return "", fmt.Errorf("create contact group: %w", err)
	}
	return g.ResourceName, nil
}

// FindGroup looks up the user's group called name.
func FindGroup(ctx context.Context, svc *people.Service, name string) (string, bool, error) {
	page := ""
	for {
		call := svc.ContactGroups.List().PageSize(1000).Context(ctx)
		if page != "" {
			call = call.PageToken(page)
		}
		resp, err := call.Do()
		if err != nil {
			return "", false, fmt.Errorf("list contact groups: %w", err)
		}
		for _, g := range resp.ContactGroups {
			if g.GroupType == "USER_CONTACT_GROUP" && g.Name == name {
				return g.ResourceName, true, nil
			}
		}
		if resp.NextPageToken == "" {
			return "", false, nil
		}
		page = resp.NextPageToken
	}
}

// List implements reconcile.Connector. Google lists every contact; those
// outside the group are reported as removed, which the engine ignores for
// items it never linked.
func (c *Contacts) List(ctx context.Context, cursor, page string) (reconcile.Page, error) {
	call := c.svc.People.Connections.List("people/me").PersonFields(personFields).PageSize(c.pageSize).
		RequestSyncToken(true).Context(ctx)
	if cursor != "" {
		call = call.SyncToken(cursor)
	}
	if page != "" {
		call = call.PageToken(page)
	}
	resp, err := call.Do()
	if err != nil {
		if ge := apiError(err); ge != nil && (hasReason(ge, "EXPIRED_SYNC_TOKEN") || strings.Contains(ge.Message, "Sync token is expired")) {
			return reconcile.Page{}, reconcile.ErrCursorExpired
		}
		return reconcile.Page{}, fmt.Errorf("list contacts: %w", err)
	}
	p := reconcile.Page{NextPage: resp.NextPageToken, NextCursor: resp.NextSyncToken}
	for _, pr := range resp.Connections {
		p.Items = append(p.Items, c.item(pr))
	}
	return p, nil
}

func (c *Contacts) inGroup(p *people.Person) bool {
	for _, m := range p.Memberships {
		if m.ContactGroupMembership != nil && m.ContactGroupMembership.ContactGroupResourceName == c.group {
			return true
		}
	}
	return false
}

// item maps a person; deleted persons and non-members come out removed.
func (c *Contacts) item(p *people.Person) reconcile.Item {
	it := reconcile.Item{RemoteID: p.ResourceName, ETag: p.Etag}
	if p.Metadata != nil {
		if p.Metadata.Deleted {
			it.Deleted = true
			return it
		}
		c.remember(p)
		for _, s := range p.Metadata.Sources {
			if s.Type == "CONTACT" && s.UpdateTime != "" {
				it.Modified, _ = time.Parse(time.RFC3339Nano, s.UpdateTime)
			}
		}
	}
	for _, d := range p.ClientData {
		if d.Key == markerKey {
			it.Marker = d.Value
		}
	}
	if !c.inGroup(p) {
		it.Deleted = true
		return it
	}
	it.Fields = PersonFields(p)
	return it
}

// PersonFields maps a person to contact fields.
func PersonFields(p *people.Person) reconcile.Fields {
	c := &crm.Contact{}
	if len(p.Names) > 0 {
		n := p.Names[0]
		c.GivenName, c.MiddleName, c.FamilyName = n.GivenName, n.MiddleName, n.FamilyName
		c.Name = n.UnstructuredName
		if c.Name == "" {
			c.Name = n.DisplayName
		}
	}
	for _, e := range p.EmailAddresses {
		c.Emails = append(c.Emails, crm.Email{Address: e.Value, Kind: emailKind(e.Type), Primary: e.Metadata != nil && e.Metadata.Primary})
	}
	for _, ph := range p.PhoneNumbers {
		c.Phones = append(c.Phones, crm.Phone{Number: ph.Value, Kind: phoneKind(ph.Type), Primary: ph.Metadata != nil && ph.Metadata.Primary})
	}
	if len(p.Organizations) > 0 {
		c.JobTitle = p.Organizations[0].Title
	}
	if len(p.Biographies) > 0 {
		c.Notes = p.Biographies[0].Value
	}
	c.Normalize() // the same defaults (primary, kinds, name) as a local record
	return reconcile.ContactFields(c)
}

func emailKind(t string) string {
	switch strings.ToLower(t) {
	case "work", "home":
		return strings.ToLower(t)
	}
	return "other"
}

func phoneKind(t string) string {
	switch strings.ToLower(t) {
	case "mobile", "work", "home":
		return strings.ToLower(t)
	}
	return "other"
}

// applyFields writes contact fields onto a person, keeping what Tandem does
// not map (the company of an organization, other client data).
func applyFields(p *people.Person, f reconcile.Fields, marker string) {
	c := &crm.Contact{}
	reconcile.ApplyContactFields(c, f, reconcile.ContactFieldNames)
	p.Names = []*people.Name{{GivenName: c.GivenName, MiddleName: c.MiddleName, FamilyName: c.FamilyName, UnstructuredName: c.Name}}
	p.EmailAddresses = nil
	for _, e := range c.Emails {
		p.EmailAddresses = append(p.EmailAddresses, &people.EmailAddress{Value: e.Address, Type: e.Kind,
			Metadata: &people.FieldMetadata{Primary: e.Primary}})
	}
	p.PhoneNumbers = nil
	for _, ph := range c.Phones {
		p.PhoneNumbers = append(p.PhoneNumbers, &people.PhoneNumber{Value: ph.Number, Type: ph.Kind,
			Metadata: &people.FieldMetadata{Primary: ph.Primary}})
	}
	if len(p.Organizations) == 0 {
		if c.JobTitle != "" {
			p.Organizations = []*people.Organization{{Title: c.JobTitle}}
		}
	} else {
		p.Organizations[0].Title = c.JobTitle
	}
	p.Biographies = nil
	if c.Notes != "" {
		p.Biographies = []*people.Biography{{Value: c.Notes, ContentType: "TEXT_PLAIN"}}
	}
	if marker != "" {
		kept := p.ClientData[:0:0]
		for _, d := range p.ClientData {
			if d.Key != markerKey {
				kept = append(kept, d)
			}
		}
		p.ClientData = append(kept, &people.ClientData{Key: markerKey, Value: marker})
	}
}

// Get implements reconcile.Connector.
func (c *Contacts) Get(ctx context.Context, id string) (reconcile.Item, error) {
	p, err := c.svc.People.Get(id).PersonFields(personFields).Context(ctx).Do()
	if err != nil {
		return reconcile.Item{}, c.mapErr("get contact", err)
	}
	return c.item(p), nil
}

func (c *Contacts) mapErr(op string, err error) error {
	if ge := apiError(err); ge != nil {
		switch {
		case ge.Code == http.StatusNotFound:
			return reconcile.ErrRemoteNotFound
		case ge.Code == http.StatusPreconditionFailed,
			ge.Code == http.StatusBadRequest && (hasReason(ge, "failedPrecondition") || strings.Contains(ge.Body, "FAILED_PRECONDITION")):
			return reconcile.ErrPrecondition
		}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// Create implements reconcile.Connector: a new contact in the group,
// carrying the marker in clientData.
func (c *Contacts) Create(ctx context.Context, f reconcile.Fields, marker string) (reconcile.Item, error) {
	p := &people.Person{Memberships: []*people.Membership{{ContactGroupMembership: &people.ContactGroupMembership{
		ContactGroupResourceName: c.group}}}}
	applyFields(p, f, marker)
	got, err := c.svc.People.CreateContact(p).PersonFields(personFields).Context(ctx).Do()
	if err != nil {
		return reconcile.Item{}, c.mapErr("create contact", err)
	}
	return c.item(got), nil
}

// Update implements reconcile.Connector: the mapped fields written if the
// person still has etag. The organizations Tandem keeps come from the
// person as last seen at that etag when the connector saw it (a listing, a
// read, a write); otherwise they are read first.
func (c *Contacts) Update(ctx context.Context, id, etag string, f reconcile.Fields) (reconcile.Item, error) {
	orgs, ok := c.orgsOf(id, etag)
	if !ok {
		p, err := c.svc.People.Get(id).PersonFields(orgFields).Context(ctx).Do()
		if err != nil {
			return reconcile.Item{}, c.mapErr("read contact", err)
		}
		if p.Etag != etag {
			return reconcile.Item{}, reconcile.ErrPrecondition
		}
		orgs = p.Organizations
	}
	return c.update(ctx, id, updatePerson(etag, orgs, f))
}

// updatePerson is the body of an update to fields f of a person whose
// organizations are orgs.
func updatePerson(etag string, orgs []*people.Organization, f reconcile.Fields) *people.Person {
	p := &people.Person{Etag: etag, Organizations: orgs}
	applyFields(p, f, "")
	return p
}

func (c *Contacts) update(ctx context.Context, id string, p *people.Person) (reconcile.Item, error) {
	got, err := c.svc.People.UpdateContact(id, p).UpdatePersonFields(updateFields).PersonFields(personFields).Context(ctx).Do()
	if err != nil {
		return reconcile.Item{}, c.mapErr("update contact", err)
	}
	return c.item(got), nil
}

// myContacts is Google's system group of the user's contacts.
const myContacts = "contactGroups/myContacts"

// Delete implements reconcile.Connector: the contact leaves the group and
// stays in Google (SPEC §3: deleted in Tandem → removed from the group). A
// contact keeps at least one group in Google, so one whose only group is
// Tandem's moves to My Contacts.
func (c *Contacts) Delete(ctx context.Context, id, etag string) error {
	resp, err := c.modify(ctx, c.group, "", id)
	if err == nil && slices.Contains(resp.CanNotRemoveLastContactGroupResourceNames, id) {
		if _, err = c.modify(ctx, myContacts, id, ""); err == nil {
			resp, err = c.modify(ctx, c.group, "", id)
		}
	}
	if err != nil {
		return c.mapErr("leave group", err)
	}
	if slices.Contains(resp.NotFoundResourceNames, id) {
		return reconcile.ErrRemoteNotFound
	}
	if slices.Contains(resp.CanNotRemoveLastContactGroupResourceNames, id) {
		return &reconcile.ItemError{Err: fmt.Errorf("leave group: %s cannot leave its last contact group", id)}
	}
	return nil
}

// Restore implements reconcile.Connector: the contact joins the group
// again (it left it and stayed in Google); a contact deleted in Google is
// not found.
func (c *Contacts) Restore(ctx context.Context, id string, base reconcile.Fields) (reconcile.Item, error) {
	resp, err := c.modify(ctx, c.group, id, "")
	if err != nil {
		return reconcile.Item{}, c.mapErr("join group", err)
	}
	if slices.Contains(resp.NotFoundResourceNames, id) {
		return reconcile.Item{}, reconcile.ErrRemoteNotFound
	}
	return c.Get(ctx, id)
}

// modify adds a contact to a group and/or removes one from it ("" for
// neither).
func (c *Contacts) modify(ctx context.Context, group, add, remove string) (*people.ModifyContactGroupMembersResponse, error) {
	req := &people.ModifyContactGroupMembersRequest{}
	if add != "" {
		req.ResourceNamesToAdd = []string{add}
	}
	if remove != "" {
		req.ResourceNamesToRemove = []string{remove}
	}
	return c.svc.ContactGroups.Members.Modify(group, req).Context(ctx).Do()
}

// FindByMarker implements reconcile.Connector by a full listing; it runs
// only to finish a create a crash interrupted.
func (c *Contacts) FindByMarker(ctx context.Context, marker string) (reconcile.Item, bool, error) {
	page := ""
	for {
		call := c.svc.People.Connections.List("people/me").PersonFields(personFields).PageSize(1000).Context(ctx)
		if page != "" {
			call = call.PageToken(page)
		}
		resp, err := call.Do()
		if err != nil {
			return reconcile.Item{}, false, fmt.Errorf("find contact by marker: %w", err)
		}
		for _, p := range resp.Connections {
			for _, d := range p.ClientData {
				if d.Key == markerKey && d.Value == marker {
					return c.item(p), true, nil
				}
			}
		}
		if resp.NextPageToken == "" {
			return reconcile.Item{}, false, nil
		}
		page = resp.NextPageToken
	}
}

var _ reconcile.Connector = (*Contacts)(nil)
