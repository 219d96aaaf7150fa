package reconcile

import (
	"context"
	"errors"
	"strings"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/store"
)

// Contact field names. Connectors map their items to exactly these.
const (
	FieldGivenName  = "given_name"
	FieldMiddleName = "middle_name"
	FieldFamilyName = "family_name"
	FieldName       = "name"
	FieldJobTitle   = "job_title"
	FieldEmails     = "emails"
	FieldPhones     = "phones"
	FieldNotes      = "notes"
)

// Lists are encoded one entry a line, "value|kind|primary", primary first
// then in their order, so both sides produce the same string for the same
// list.

// EncodeEmails renders emails canonically.
func EncodeEmails(es []crm.Email) string {
	lines := make([]string, 0, len(es))
	for _, e := range primaryFirst(len(es), func(i int) bool { return es[i].Primary }) {
		lines = append(lines, encodeEntry(es[e].Address, es[e].Kind, es[e].Primary))
	}
	return strings.Join(lines, "\n")
}

// DecodeEmails parses EncodeEmails.
func DecodeEmails(s string) []crm.Email {
	var out []crm.Email
	for _, l := range splitLines(s) {
		v, k, p := decodeEntry(l)
		out = append(out, crm.Email{Address: v, Kind: k, Primary: p})
	}
	return out
}

// EncodePhones renders phones canonically.
func EncodePhones(ps []crm.Phone) string {
	lines := make([]string, 0, len(ps))
	for _, i := range primaryFirst(len(ps), func(i int) bool { return ps[i].Primary }) {
		lines = append(lines, encodeEntry(ps[i].Number, ps[i].Kind, ps[i].Primary))
	}
	return strings.Join(lines, "\n")
}

// DecodePhones parses EncodePhones.
func DecodePhones(s string) []crm.Phone {
	var out []crm.Phone
	for _, l := range splitLines(s) {
		v, k, p := decodeEntry(l)
		out = append(out, crm.Phone{Number: v, Kind: k, Primary: p})
	}
	return out
}

func primaryFirst(n int, primary func(int) bool) []int {
	idx := make([]int, 0, n)
	for i := 0; i < n; i++ {
		if primary(i) {
			idx = append(idx, i)
		}
	}
	for i := 0; i < n; i++ {
		if !primary(i) {
			idx = append(idx, i)
		}
	}
	return idx
}

var entryEscaper = strings.NewReplacer(`\`, `\\`, "|", `\p`, "\n", `\n`)
var entryUnescaper = strings.NewReplacer(`\\`, `\`, `\p`, "|", `\n`, "\n")

func encodeEntry(value, kind string, primary bool) string {
	p := ""
	if primary {
		p = "primary"
	}
	return entryEscaper.Replace(value) + "|" + entryEscaper.Replace(kind) + "|" + p
}

func decodeEntry(l string) (string, string, bool) {
	parts := strings.SplitN(l, "|", 3)
	for len(parts) < 3 {
		parts = append(parts, "")
	}
	return entryUnescaper.Replace(parts[0]), entryUnescaper.Replace(parts[1]), parts[2] == "primary"
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// ContactFields is the normalized form of a contact.
func ContactFields(c *crm.Contact) Fields {
	f := Fields{
		FieldGivenName: c.GivenName, FieldMiddleName: c.MiddleName, FieldFamilyName: c.FamilyName, FieldName: c.Name,
		FieldJobTitle: c.JobTitle, FieldEmails: EncodeEmails(c.Emails), FieldPhones: EncodePhones(c.Phones), FieldNotes: c.Notes,
	}
	for k, v := range f {
		if v == "" {
			delete(f, k)
		}
	}
	return f
}

// ApplyContactFields sets the named fields of c from f.
func ApplyContactFields(c *crm.Contact, f Fields, names []string) {
	for _, n := range names {
		v := f[n]
		switch n {
		case FieldGivenName:
			c.GivenName = v
		case FieldMiddleName:
			c.MiddleName = v
		case FieldFamilyName:
			c.FamilyName = v
		case FieldName:
			c.Name = v
		case FieldJobTitle:
			c.JobTitle = v
		case FieldEmails:
			c.Emails = DecodeEmails(v)
		case FieldPhones:
			c.Phones = DecodePhones(v)
		case FieldNotes:
			c.Notes = v
		}
	}
}

// ContactFieldNames lists every contact field.
var ContactFieldNames = []string{FieldGivenName, FieldMiddleName, FieldFamilyName, FieldName, FieldJobTitle, FieldEmails, FieldPhones, FieldNotes}

// ContactsLocal is the Tandem side of a contact binding whose scope is a
// personal tag (SPEC §3 Google): tagged contacts sync; an imported contact
// gets the tag; a contact removed remotely loses the tag and stays, and
// gets it back when its item comes back.
type ContactsLocal struct {
	Store  *store.Store
	Viewer access.Viewer // the connection's user: owner of imports, whose rights apply
	TagID  string
}

// Entity implements Local.
func (l *ContactsLocal) Entity() string { return store.EntityContact }

// Load implements Local.
func (l *ContactsLocal) Load(ctx context.Context, id string) (LocalRecord, error) {
	c, err := l.Store.GetContact(ctx, l.Viewer, id)
	if errors.Is(err, store.ErrNotFound) {
		return LocalRecord{}, nil
	}
	if err != nil {
		return LocalRecord{}, err
	}
	rec := LocalRecord{Exists: true, Fields: ContactFields(c), Modified: c.UpdatedAt}
	for _, t := range c.Tags {
		if t.ID == l.TagID {
			rec.InScope = true
		}
	}
	return rec, nil
}

// InScopeIDs implements ScopeFilter with Load's rule in one query: the
// viewer can read the contact and sees the binding's tag on it.
func (l *ContactsLocal) InScopeIDs(ctx context.Context, ids []string) (map[string]bool, error) {
	return l.Store.TaggedContactIDs(ctx, l.Viewer, l.TagID, ids)
}

// Create implements Local: the contact is the viewer's and carries the tag.
func (l *ContactsLocal) Create(ctx context.Context, tx *store.Tx, f Fields) (string, error) {
	c := &crm.Contact{Tags: []crm.TagRef{{ID: l.TagID}}}
	ApplyContactFields(c, f, ContactFieldNames)
	if err := tx.CreateContact(ctx, l.Viewer, c); err != nil {
		return "", err
	}
	return c.ID, nil
}

// Update implements Local.
func (l *ContactsLocal) Update(ctx context.Context, tx *store.Tx, id string, f Fields, names []string) error {
	c, err := l.Store.GetContact(ctx, l.Viewer, id)
	if err != nil {
		return err
	}
	ApplyContactFields(c, f, names)
	c.Tags, c.Access = nil, nil // leave as they are
	return tx.UpdateContact(ctx, l.Viewer, c, c.Version)
}

// Reenter implements Local: a contact back in the remote group gets the
// tag again.
func (l *ContactsLocal) Reenter(ctx context.Context, tx *store.Tx, id string) (string, error) {
	if err := tx.SetTag(ctx, l.Viewer, store.EntityContact, id, l.TagID, true); err != nil {
		return "", err
	}
	return "tag", nil
}

// RemoteRemoved implements Local: untag, keep the contact.
func (l *ContactsLocal) RemoteRemoved(ctx context.Context, tx *store.Tx, id string) (string, error) {
	if err := tx.SetTag(ctx, l.Viewer, store.EntityContact, id, l.TagID, false); err != nil {
		return "", err
	}
	return "untag", nil
}
