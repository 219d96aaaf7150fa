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
const personFields = "names,emailAddresses,phoneNumbers,organizations,biographies,birthdays,addresses,memberships,clientData,metadata"

// updateFields are the fields an update writes. Google replaces each named
// list whole. Tandem maps names, e-mails, phones and notes entirely, so
// they are written from the fields alone. Organizations, birthdays and
// addresses carry more than Tandem maps (an organization's department, a
// birthday Google holds as text only, an address's PO box, extended
// address and custom label), so they are written from the person as it is
// with Tandem's changes on top (see keptOf). clientData is left alone: the
// marker is written once, at create.
const updateFields = "names,emailAddresses,phoneNumbers,organizations,biographies,birthdays,addresses"

// keptFields is what an update needs to read of a person it does not know.
const keptFields = "organizations,birthdays,addresses,metadata"

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

	mu    sync.Mutex
	known map[string]knownPerson // resource name → kept parts as of an etag
}

// kept are the parts of a person an update writes back beyond what
// Tandem maps: its organizations, birthdays and addresses as Google last
// answered them (see updateFields).
type kept struct {
	orgs      []*people.Organization
	birthdays []*people.Birthday
	addresses []*people.Address
}

func keptOf(p *people.Person) kept { return kept{p.Organizations, p.Birthdays, p.Addresses} }

// knownPerson is a person's kept parts at an etag. An update carrying the
// same etag writes them back with Tandem's changes and needs no read: were
// they any different now, the etag would have moved and Google refuses
// the update.
type knownPerson struct {
	etag string
	kept
}

// maxKnown bounds the remembered persons; past it they are forgotten and
// updates read again.
const maxKnown = 10_000

// NewContacts returns the connector for a group's resource name.
func NewContacts(svc *people.Service, group string) *Contacts {
	return &Contacts{svc: svc, group: group, pageSize: 500, known: map[string]knownPerson{}}
}

func (c *Contacts) remember(p *people.Person) {
	if p.ResourceName == "" || p.Etag == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.known) >= maxKnown {
		clear(c.known)
	}
	c.known[p.ResourceName] = knownPerson{p.Etag, keptOf(p)}
}

// keptAt returns the kept parts of the person id as of etag, if known,
// as copies an update may change.
func (c *Contacts) keptAt(id, etag string) (kept, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := c.known[id]
	if !ok || k.etag != etag {
		return kept{}, false
	}
	return k.kept.clone(), true
}

func (k kept) clone() kept {
	return kept{orgs: clonePtrs(k.orgs), birthdays: clonePtrs(k.birthdays), addresses: clonePtrs(k.addresses)}
}

// clonePtrs copies each element, so that changing a copy leaves the
// remembered one as Google answered it.
func clonePtrs[T any](xs []*T) []*T {
	if xs == nil {
		return nil
	}
	out := make([]*T, len(xs))
	for i, x := range xs {
		cp := *x
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
	it.NotCarried = notCarried
	return it
}

// notCarried are the contact fields the connector does not sync: a
// person's photo is a URL to fetch and takes a call of its own to change,
// and Google's counterpart of categories, contact groups, is what scopes
// the binding. The engine keeps Tandem's values of them as they are.
var notCarried = []string{reconcile.FieldPhoto, reconcile.FieldCategories}

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
		c.Company = p.Organizations[0].Name
	}
	if len(p.Biographies) > 0 {
		c.Notes = p.Biographies[0].Value
	}
	c.Birthday = birthdayOf(p.Birthdays)
	for _, a := range p.Addresses {
		if x, ok := addressOf(a); ok {
			c.Addresses = append(c.Addresses, x)
		}
	}
	c.Normalize() // the same defaults (primary, kinds, name) as a local record
	return reconcile.ContactFields(c)
}

// birthdayOf is the birthday of a person: the primary one with a date, else
// the first with a date; "" when none has one (Google may hold a birthday
// as text only, which stays in Google untouched).
func birthdayOf(bs []*people.Birthday) string {
	for _, primaryOnly := range []bool{true, false} {
		for _, b := range bs {
			if b.Date == nil || primaryOnly && (b.Metadata == nil || !b.Metadata.Primary) {
				continue
			}
			s := crm.FormatBirthday(int(b.Date.Year), int(b.Date.Month), int(b.Date.Day))
			if _, _, _, ok := crm.ParseBirthday(s); ok {
				return s
			}
		}
	}
	return ""
}

// addressOf maps a Google address; an address with no structured part is
// its formatted value as the street. ok is false for an empty one.
func addressOf(a *people.Address) (crm.Address, bool) {
	x := crm.Address{Kind: addressKind(a.Type), Street: a.StreetAddress, City: a.City, Region: a.Region,
		PostalCode: a.PostalCode, Country: a.Country}
	if strings.TrimSpace(x.Street+x.City+x.Region+x.PostalCode+x.Country) == "" {
		x.Street = a.FormattedValue
	}
	// Normalized alone, as a local one would be; its primary is Google's.
	one := crm.Contact{Addresses: []crm.Address{x}}
	one.Normalize()
	x = one.Addresses[0]
	x.Primary = a.Metadata != nil && a.Metadata.Primary
	return x, !x.IsEmpty()
}

func addressKind(t string) string {
	switch strings.ToLower(t) {
	case "work", "home":
		return strings.ToLower(t)
	}
	return "other"
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

// applyFields writes contact fields onto a person whose organizations,
// birthdays and addresses are as Google last answered them, keeping what
// Tandem does not map (an organization's other parts, a birthday held as
// text, an address's other parts, other client data).
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
		if c.JobTitle != "" || c.Company != "" {
			p.Organizations = []*people.Organization{{Title: c.JobTitle, Name: c.Company}}
		}
	} else {
		p.Organizations[0].Title = c.JobTitle
		p.Organizations[0].Name = c.Company
	}
	p.Birthdays = writeBirthdays(p.Birthdays, c.Birthday)
	p.Addresses = writeAddresses(p.Addresses, c.Addresses)
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

// writeBirthdays is the birthdays of a person that had old and now has the
// birthday want: its own one (not its profile's) as it is when that reads
// as want. Google takes one birthday on a contact.
func writeBirthdays(old []*people.Birthday, want string) []*people.Birthday {
	var own []*people.Birthday
	for _, b := range old {
		if b.Metadata == nil || b.Metadata.Source == nil || b.Metadata.Source.Type == "CONTACT" {
			own = append(own, b)
			break
		}
	}
	if birthdayOf(own) == want {
		return own
	}
	y, m, d, ok := crm.ParseBirthday(want)
	if !ok {
		return nil
	}
	return []*people.Birthday{{Date: &people.Date{Year: int64(y), Month: int64(m), Day: int64(d)}}}
}

// writeAddresses is the addresses of a person that had old and now has
// want. Entries are matched to old addresses as the vCard codec matches
// lines: the same address, else the same street, else the next unmatched
// one in order (an edited address). An address that holds is written back
// as it was; an edited one keeps its old extended address and PO box, its
// custom label while it stays "other", and its country code while the
// country stays (Google rebuilds the formatted value).
func writeAddresses(old []*people.Address, want []crm.Address) []*people.Address {
	mapped := make([]crm.Address, len(old))
	usable := make([]bool, len(old))
	for j, o := range old {
		mapped[j], usable[j] = addressOf(o)
	}
	match := make([]int, len(want))
	for i := range match {
		match[i] = -1
	}
	sameParts := func(a, b crm.Address) bool { a.Primary, b.Primary = false, false; return a == b }
	for pass := 0; pass < 3; pass++ {
		for i, w := range want {
			for j := 0; match[i] < 0 && j < len(old); j++ {
				if !usable[j] {
					continue
				}
				if pass == 0 && sameParts(mapped[j], w) || pass == 1 && mapped[j].Street == w.Street || pass == 2 {
					match[i], usable[j] = j, false
				}
			}
		}
	}
	var out []*people.Address
	for i, w := range want {
		a := &people.Address{Type: w.Kind, StreetAddress: w.Street, City: w.City, Region: w.Region,
			PostalCode: w.PostalCode, Country: w.Country}
		if j := match[i]; j >= 0 {
			o := old[j]
			if sameParts(mapped[j], w) {
				cp := *o
				a = &cp
			} else {
				a.ExtendedAddress, a.PoBox = o.ExtendedAddress, o.PoBox
				if w.Kind == "other" && mapped[j].Kind == "other" {
					a.Type = o.Type
				}
				if w.Country == mapped[j].Country {
					a.CountryCode = o.CountryCode
				}
			}
		}
		a.Metadata = &people.FieldMetadata{Primary: w.Primary}
		out = append(out, a)
	}
	return out
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
// person still has etag. The parts Tandem keeps come from the person as
// last seen at that etag when the connector saw it (a listing, a read, a
// write); otherwise they are read first.
func (c *Contacts) Update(ctx context.Context, id, etag string, f reconcile.Fields) (reconcile.Item, error) {
	k, ok := c.keptAt(id, etag)
	if !ok {
		p, err := c.svc.People.Get(id).PersonFields(keptFields).Context(ctx).Do()
		if err != nil {
			return reconcile.Item{}, c.mapErr("read contact", err)
		}
		if p.Etag != etag {
			return reconcile.Item{}, reconcile.ErrPrecondition
		}
		k = keptOf(p)
	}
	return c.update(ctx, id, updatePerson(etag, k, f))
}

// updatePerson is the body of an update to fields f of a person whose
// kept parts are k.
func updatePerson(etag string, k kept, f reconcile.Fields) *people.Person {
	p := &people.Person{Etag: etag, Organizations: k.orgs, Birthdays: k.birthdays, Addresses: k.addresses}
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
