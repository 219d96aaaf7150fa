package crmsync

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/store"
)

// ContactsLocal is the Tandem side of a contact binding whose scope is a
// personal tag (SPEC §3 Google): tagged contacts sync; an imported contact
// gets the tag; a contact removed remotely loses the tag and stays, and
// gets it back when its item comes back.
//
// Beyond the contact's own fields: the photo is the contact's photo, and
// the categories are the viewer's personal tags on the contact but the
// binding's own tag, which scopes the binding and is never a category. A
// category the viewer has no personal tag of creates one; a category
// removed remotely takes its tag off the contact (the tag stays).
type ContactsLocal struct {
	Store  *store.Store
	Viewer access.Viewer // the connection's user: owner of imports, whose rights apply
	TagID  string
}

// Entity implements Local.
func (l *ContactsLocal) Entity() string { return store.EntityContact }

func (l *ContactsLocal) reads(tx *store.Tx) *store.Store { return readsIn(l.Store, tx) }

// Load implements Local.
func (l *ContactsLocal) Load(ctx context.Context, tx *store.Tx, id string) (reconcile.LocalRecord, error) {
	st := l.reads(tx)
	c, err := st.GetContact(ctx, l.Viewer, id)
	if errors.Is(err, store.ErrNotFound) {
		return reconcile.LocalRecord{}, nil
	}
	if err != nil {
		return reconcile.LocalRecord{}, err
	}
	photos, err := l.photos(ctx, st, []crm.Contact{*c})
	if err != nil {
		return reconcile.LocalRecord{}, err
	}
	return l.record(c, photos), nil
}

// photos reads the photos of those of cs that have one.
func (l *ContactsLocal) photos(ctx context.Context, st *store.Store, cs []crm.Contact) (map[string]*crm.Photo, error) {
	var ids []string
	for i := range cs {
		if cs[i].Photo != nil {
			ids = append(ids, cs[i].ID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	return st.ContactPhotos(ctx, l.Viewer, ids)
}

func (l *ContactsLocal) record(c *crm.Contact, photos map[string]*crm.Photo) reconcile.LocalRecord {
	rec := reconcile.LocalRecord{Exists: true, Fields: reconcile.ContactFields(c), Modified: c.UpdatedAt}
	var cats []string
	for _, t := range c.Tags {
		switch {
		case t.ID == l.TagID:
			rec.InScope = true
		case t.Kind == crm.TagPersonal:
			cats = append(cats, t.Name)
		}
	}
	if v := reconcile.EncodeCategories(cats); v != "" {
		rec.Fields[reconcile.FieldCategories] = v
	}
	if p := photos[c.ID]; p != nil {
		rec.Fields[reconcile.FieldPhoto] = reconcile.EncodePhoto(p.Type, p.Data)
	}
	return rec
}

// LoadMany implements reconcile.BatchLoader: Load for many contacts in a
// few queries.
func (l *ContactsLocal) LoadMany(ctx context.Context, tx *store.Tx, ids []string) (map[string]reconcile.LocalRecord, error) {
	st := l.reads(tx)
	cs, err := st.GetContacts(ctx, l.Viewer, ids)
	if err != nil {
		return nil, err
	}
	photos, err := l.photos(ctx, st, cs)
	if err != nil {
		return nil, err
	}
	out := make(map[string]reconcile.LocalRecord, len(ids))
	for i := range cs {
		out[cs[i].ID] = l.record(&cs[i], photos)
	}
	for _, id := range ids {
		if _, ok := out[id]; !ok {
			out[id] = reconcile.LocalRecord{} // gone, or not the viewer's to read
		}
	}
	return out, nil
}

// InScopeIDs implements ScopeFilter with Load's rule in one query: the
// viewer can read the contact and sees the binding's tag on it.
func (l *ContactsLocal) InScopeIDs(ctx context.Context, ids []string) (map[string]bool, error) {
	return l.Store.TaggedContactIDs(ctx, l.Viewer, l.TagID, ids)
}

// ScopeCandidates implements reconcile.ScopeCandidates: the contacts
// carrying the binding's tag, whoever may see them (InScopeIDs then
// applies the viewer's rights).
func (l *ContactsLocal) ScopeCandidates(ctx context.Context, limit int) ([]string, bool, error) {
	return l.Store.TaggedIDs(ctx, store.EntityContact, l.TagID, limit)
}

// companyAccounts applies SPEC §3's company rule: a contact whose company
// sync sets is linked to the account of that name (folded), and left
// unlinked when there is none or several, unless the viewer can see
// exactly one of them. Only accounts the viewer can read count, so the
// rule reduces to "exactly one visible account has the name". The company
// text stays either way (crm.Contact.Company): nothing is lost when no
// account matches. Lookups are remembered per name, for a page of imports.
type companyAccounts struct {
	l    *ContactsLocal
	st   *store.Store
	seen map[string]string // folded name → account id or ""
}

func (l *ContactsLocal) companies(tx *store.Tx) *companyAccounts {
	return &companyAccounts{l: l, st: l.reads(tx), seen: map[string]string{}}
}

// link sets c.AccountID by the rule from c.Company.
func (ca *companyAccounts) link(ctx context.Context, c *crm.Contact) error {
	c.AccountID = ""
	name := strings.TrimSpace(c.Company)
	if name == "" {
		// No company: no account either, or CompanyName would show the
		// account's name where the remote says there is none.
		return nil
	}
	key := crm.Fold(name)
	if id, ok := ca.seen[key]; ok {
		c.AccountID = id
		return nil
	}
	ids, err := ca.st.AccountsNamed(ctx, ca.l.Viewer, name, 2)
	if err != nil {
		return err
	}
	if len(ids) == 1 {
		c.AccountID = ids[0]
	}
	ca.seen[key] = c.AccountID
	return nil
}

// Create implements Local: the contact is the viewer's and carries the
// tag, and the viewer's personal tags of its categories.
func (l *ContactsLocal) Create(ctx context.Context, tx *store.Tx, f reconcile.Fields) (string, error) {
	tags, err := l.categoryTags(ctx, tx, f)
	if err != nil {
		return "", err
	}
	c, err := l.newContact(f, tags)
	if err != nil {
		return "", err
	}
	if err := l.companies(tx).link(ctx, c); err != nil {
		return "", err
	}
	if err := tx.CreateContact(ctx, l.Viewer, c); err != nil {
		return "", err
	}
	return c.ID, nil
}

// newContact is the contact a remote item makes, its categories' tags
// found in tags (by folded name).
func (l *ContactsLocal) newContact(f reconcile.Fields, tags map[string]string) (*crm.Contact, error) {
	c := &crm.Contact{Tags: []crm.TagRef{{ID: l.TagID}}}
	reconcile.ApplyContactFields(c, f, reconcile.ContactFieldNames)
	for _, name := range reconcile.DecodeCategories(f[reconcile.FieldCategories]) {
		if id := tags[crm.Fold(name)]; id != "" && id != l.TagID {
			c.Tags = append(c.Tags, crm.TagRef{ID: id})
		}
	}
	edit, err := photoEdit(f)
	if err != nil {
		return nil, err
	}
	if len(edit.Data) > 0 {
		c.PhotoEdit = edit
	}
	return c, nil
}

// photoEdit is the crm.Contact.PhotoEdit that makes a contact's photo
// f's. A photo value without its bytes (or a malformed one) is an error:
// it must never clear the photo.
func photoEdit(f reconcile.Fields) (*crm.Photo, error) {
	v := f[reconcile.FieldPhoto]
	if v == "" {
		return &crm.Photo{}, nil
	}
	_, data, ok := reconcile.DecodePhoto(v)
	if !ok {
		return nil, errors.New("contact photo: value without its data")
	}
	return &crm.Photo{Data: data}, nil
}

// categoryTags finds (or makes) the viewer's personal tags of the
// categories of fs, by folded name.
func (l *ContactsLocal) categoryTags(ctx context.Context, tx *store.Tx, fs ...reconcile.Fields) (map[string]string, error) {
	var names []string
	for _, f := range fs {
		names = append(names, reconcile.DecodeCategories(f[reconcile.FieldCategories])...)
	}
	if len(names) == 0 {
		return nil, nil
	}
	return tx.EnsurePersonalTags(ctx, l.Viewer, names)
}

// CreateMany implements reconcile.BulkCreator: Create for a page of new
// contacts, in a few multi-row statements.
func (l *ContactsLocal) CreateMany(ctx context.Context, tx *store.Tx, fs []reconcile.Fields) ([]string, error) {
	cs := make([]*crm.Contact, len(fs))
	ca := l.companies(tx)
	tags, err := l.categoryTags(ctx, tx, fs...)
	if err != nil {
		return nil, err
	}
	for i, f := range fs {
		if cs[i], err = l.newContact(f, tags); err != nil {
			return nil, err
		}
		if err := ca.link(ctx, cs[i]); err != nil {
			return nil, err
		}
	}
	if err := tx.CreateContacts(ctx, l.Viewer, cs); err != nil {
		return nil, err
	}
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return ids, nil
}

// Update implements Local.
func (l *ContactsLocal) Update(ctx context.Context, tx *store.Tx, id string, f reconcile.Fields, names []string) error {
	c, err := tx.Reads().GetContact(ctx, l.Viewer, id)
	if err != nil {
		return err
	}
	reconcile.ApplyContactFields(c, f, names)
	if slices.Contains(names, reconcile.FieldCompany) {
		if err := l.companies(tx).link(ctx, c); err != nil {
			return err
		}
	}
	if slices.Contains(names, reconcile.FieldPhoto) {
		if c.PhotoEdit, err = photoEdit(f); err != nil {
			return err
		}
	}
	had := c.Tags
	c.Tags, c.Access = nil, nil // leave as they are
	if err := tx.UpdateContact(ctx, l.Viewer, c, c.Version); err != nil {
		return err
	}
	if !slices.Contains(names, reconcile.FieldCategories) {
		return nil
	}
	return l.setCategories(ctx, tx, id, had, f)
}

// setCategories makes the viewer's personal tags on contact id (had, but
// the binding's tag) those of f's categories.
func (l *ContactsLocal) setCategories(ctx context.Context, tx *store.Tx, id string, had []crm.TagRef, f reconcile.Fields) error {
	want := map[string]bool{}
	var missing []string
	for _, name := range reconcile.DecodeCategories(f[reconcile.FieldCategories]) {
		want[crm.Fold(name)] = true
	}
	have := map[string]bool{}
	for _, t := range had {
		if t.ID == l.TagID || t.Kind != crm.TagPersonal {
			continue
		}
		name, _ := reconcile.NormalizeCategory(t.Name)
		if key := crm.Fold(name); want[key] {
			have[key] = true
		} else if err := tx.SetTag(ctx, l.Viewer, store.EntityContact, id, t.ID, false); err != nil {
			return err
		}
	}
	for _, name := range reconcile.DecodeCategories(f[reconcile.FieldCategories]) {
		if !have[crm.Fold(name)] {
			missing = append(missing, name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	tags, err := tx.EnsurePersonalTags(ctx, l.Viewer, missing)
	if err != nil {
		return err
	}
	for _, name := range missing {
		if tid := tags[crm.Fold(name)]; tid != "" && tid != l.TagID {
			if err := tx.SetTag(ctx, l.Viewer, store.EntityContact, id, tid, true); err != nil {
				return err
			}
		}
	}
	return nil
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
