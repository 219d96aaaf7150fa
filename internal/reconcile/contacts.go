package reconcile

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/tandem-crm/tandem/internal/crm"
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
	FieldBirthday   = "birthday"  // crm.Contact.Birthday's form
	FieldAddresses  = "addresses" // EncodeAddresses
	// FieldCompany is the company the contact shows (crm.Contact.CompanyName);
	// applied, it is the stated company, and the Tandem side links the
	// account by SPEC §3's company rule (crmsync).
	FieldCompany = "company"
	// FieldPhoto is the contact's picture, EncodePhoto's form. It is a
	// blob field (see blobFields): compared by its hash, and a link's
	// base keeps the hash alone.
	FieldPhoto = "photo"
	// FieldCategories are the contact's categories (a vCard's CATEGORIES;
	// in Tandem the syncing user's personal tags), EncodeCategories' form:
	// a set, so that their order never reads as a change.
	FieldCategories = "categories"
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

// EncodeAddresses renders addresses canonically, one a line, primary
// first: "street|city|region|postal code|country|kind|primary", each part
// escaped like an email's address.
func EncodeAddresses(as []crm.Address) string {
	lines := make([]string, 0, len(as))
	for _, i := range primaryFirst(len(as), func(i int) bool { return as[i].Primary }) {
		a := as[i]
		parts := []string{a.Street, a.City, a.Region, a.PostalCode, a.Country, a.Kind}
		for j := range parts {
			parts[j] = entryEscaper.Replace(parts[j])
		}
		p := ""
		if a.Primary {
			p = "primary"
		}
		lines = append(lines, strings.Join(parts, "|")+"|"+p)
	}
	return strings.Join(lines, "\n")
}

// DecodeAddresses parses EncodeAddresses.
func DecodeAddresses(s string) []crm.Address {
	var out []crm.Address
	for _, l := range splitLines(s) {
		parts := strings.SplitN(l, "|", 7)
		for len(parts) < 7 {
			parts = append(parts, "")
		}
		for j := range parts[:6] {
			parts[j] = entryUnescaper.Replace(parts[j])
		}
		out = append(out, crm.Address{Street: parts[0], City: parts[1], Region: parts[2], PostalCode: parts[3],
			Country: parts[4], Kind: parts[5], Primary: parts[6] == "primary"})
	}
	return out
}

// EncodePhoto renders a photo as a blob value: its head, "<content type>
// sha256:<hex of data>", a line break, then data in standard base64. Two
// photos are the same when their heads are (sameValue), so a merge never
// compares the bytes and a link's base keeps the head only. "" for none.
func EncodePhoto(contentType string, data []byte) string {
	if len(data) == 0 {
		return ""
	}
	return PhotoHead(contentType, data) + "\n" + base64.StdEncoding.EncodeToString(data)
}

// PhotoHead is the head of EncodePhoto's value.
func PhotoHead(contentType string, data []byte) string {
	sum := sha256.Sum256(data)
	return contentType + " sha256:" + hex.EncodeToString(sum[:])
}

// DecodePhoto parses EncodePhoto. ok is false for a value without its
// data (a link's base holds the head alone) or a malformed one: such a
// value must never be written as a photo.
func DecodePhoto(s string) (contentType string, data []byte, ok bool) {
	head, payload, found := strings.Cut(s, "\n")
	if !found {
		return "", nil, false
	}
	data, err := base64.StdEncoding.DecodeString(payload)
	if err != nil || len(data) == 0 {
		return "", nil, false
	}
	ct, _, _ := strings.Cut(head, " ")
	if PhotoHead(ct, data) != head {
		return "", nil, false
	}
	return ct, data, true
}

// NormalizeCategory is a category as Tandem keeps one (a tag's name):
// trimmed, with line breaks and runs of spaces made one space. ok is false
// for one Tandem cannot keep as a tag (empty, too long, control
// characters: what crm.Tag.Validate refuses); a codec leaves such
// categories where they are.
func NormalizeCategory(s string) (string, bool) {
	s = strings.Join(strings.Fields(s), " ")
	t := crm.Tag{Name: s}
	t.Normalize()
	return s, s != "" && t.Validate() == nil
}

// EncodeCategories renders categories as a set: normalized, one per
// folded spelling (the first wins), sorted by folded name, one a line.
// Categories NormalizeCategory refuses are left out.
func EncodeCategories(cs []string) string {
	seen := map[string]bool{}
	var out []string
	for _, c := range cs {
		c, ok := NormalizeCategory(c)
		if !ok || seen[crm.Fold(c)] {
			continue
		}
		seen[crm.Fold(c)] = true
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b string) int {
		if c := strings.Compare(crm.Fold(a), crm.Fold(b)); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return strings.Join(out, "\n")
}

// DecodeCategories parses EncodeCategories.
func DecodeCategories(s string) []string { return splitLines(s) }

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
		FieldBirthday: c.Birthday, FieldAddresses: EncodeAddresses(c.Addresses), FieldCompany: c.CompanyName(),
	}
	for k, v := range f {
		if v == "" {
			delete(f, k)
		}
	}
	return f
}

// ApplyContactFields sets the named fields of c from f. A company sets
// c.Company only: which account it links is the caller's to decide, by the
// viewer's rights (crmsync.ContactsLocal).
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
		case FieldBirthday:
			c.Birthday = v
		case FieldAddresses:
			c.Addresses = DecodeAddresses(v)
		case FieldCompany:
			c.Company = v
		}
	}
}

// ContactFieldNames lists every contact field ApplyContactFields sets.
// The photo and the categories are not among them: they are no part of
// crm.Contact's own row, and the Tandem side (crmsync) writes them apart.
var ContactFieldNames = []string{FieldGivenName, FieldMiddleName, FieldFamilyName, FieldName, FieldJobTitle, FieldEmails,
	FieldPhones, FieldNotes, FieldBirthday, FieldAddresses, FieldCompany}
