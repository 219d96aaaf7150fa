package dav

// VCardCodec: a CardDAV address object (RFC 6352; vCard 3.0 or 4.0, read
// leniently down to 2.1) ↔ the contact fields of package reconcile.
//
//	N      given_name, middle_name, family_name (components 2, 3, 1)
//	FN     name
//	TITLE  job_title
//	EMAIL  emails: TYPE work/home → kind, else other; PREF=n or TYPE=pref
//	       → primary (the lowest PREF when several, the first line when
//	       none)
//	TEL    phones: TYPE cell (mobile, iphone) → mobile, work, home, else
//	       other; primary as for EMAIL; tel: URIs read as the number
//	NOTE   notes
//	ORG    company (the first component; the others, units, are kept)
//	BDAY   birthday: a date (1985-04-12, 19850412, a date-time's date), or
//	       one without a year (--0412, --04-12, Apple's
//	       X-APPLE-OMIT-YEAR); any other value (a year alone, text) is
//	       none and its line is kept as long as Tandem sets none
//	ADR    addresses: street, locality, region, postal code, country
//	       (components 3 to 7; the PO box and extended address are kept);
//	       kind and primary as for EMAIL; one with none of those parts is
//	       not an address to Tandem and is kept
//
// Lists use reconcile.EncodeEmails / EncodePhones / EncodeAddresses, so
// both sides of a binding produce the same string for the same list.
//
// Encode patches the card last read: a field that did not change leaves
// its lines as they were; one that did rewrites only its lines. Entries of
// a list are matched to their lines (by value, then by position), so an
// edited address keeps its line's group (Apple's item1.EMAIL with its
// item1.X-ABLabel) and unknown parameters, and a removed one takes its
// group's label with it. An edited ADR rewrites only the components that
// changed. PHOTO and CATEGORIES are patched as vcard_media.go says; X-
// properties and anything else Tandem does not model are never touched.
// REV is set to the codec's clock when
// anything changed. New cards are vCard 3.0 (the
// version every server and client reads: iCloud, Radicale, Nextcloud,
// Android) with VERSION, PRODID, UID, FN, N and X-TANDEM-MARKER.

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/reconcile"
)

// VCardCodec maps vCards.
type VCardCodec struct {
	// Now stamps REV (nil: crm.Now).
	Now func() time.Time
}

var _ Codec = VCardCodec{}

type cardDoc struct {
	d        *document
	card     *component
	version  string
	uid      string
	marker   string
	fields   reconcile.Fields
	emails   []listLine
	phones   []listLine
	adrs     []listLine
	warnings []string
	// notCarried are the fields the card holds in a form Tandem does not
	// take (a PHOTO that is a link): reconcile.Item.NotCarried.
	notCarried []string
	// photoTruncated: the PHOTO not carried is a data: URI without its
	// data, which Tandem writes over (vcard_media.go).
	photoTruncated bool
	// photoLink: the PHOTO not carried is this web link (vcard_media.go).
	photoLink string
}

// listLine is an EMAIL, TEL or ADR line with the entry it holds.
type listLine struct {
	i int
	listEntry
}

// listEntry is an entry of a list. An address's value is its street; rest
// holds its locality, region, postal code and country.
type listEntry struct {
	value   string
	rest    [4]string
	kind    string
	primary bool
}

// Decode implements Codec.
func (c VCardCodec) Decode(raw []byte) (Decoded, error) {
	cd, err := readCard(raw)
	if err != nil {
		return Decoded{}, err
	}
	return Decoded{UID: cd.uid, Marker: cd.marker, Fields: cd.fields, Modified: cd.rev(), Warnings: cd.warnings,
		NotCarried: cd.notCarried, PhotoLink: cd.photoLink}, nil
}

func readCard(raw []byte) (*cardDoc, error) {
	d, err := parseDocument(raw, "VCARD", "vcard")
	if err != nil {
		return nil, err
	}
	cd := &cardDoc{d: d, card: d.root, fields: reconcile.Fields{}}
	if d.invalid {
		cd.warnings = append(cd.warnings, "invalid utf-8 replaced")
	}
	if d.extra {
		cd.warnings = append(cd.warnings, "content after END:VCARD ignored")
	}
	if d.unreadable > 0 {
		cd.warnings = append(cd.warnings, fmt.Sprintf("%d unreadable lines kept as they are", d.unreadable))
	}
	text := func(name string) string {
		if l := d.first(cd.card, name); l != nil {
			return l.text()
		}
		return ""
	}
	cd.version = strings.TrimSpace(text("VERSION"))
	switch cd.version {
	case "3.0", "4.0":
	case "2.1":
		cd.warnings = append(cd.warnings, "vcard 2.1 read leniently")
	default:
		cd.warnings = append(cd.warnings, fmt.Sprintf("vcard version %q read as 3.0", truncate(cd.version, 10)))
		cd.version = "3.0"
	}
	cd.uid = strings.TrimSpace(text("UID"))
	cd.marker = strings.TrimSpace(text(MarkerProperty))
	f := cd.fields
	if d.first(cd.card, "FN") == nil {
		cd.warnings = append(cd.warnings, "no fn")
	}
	f[reconcile.FieldName] = text("FN")
	if l := d.first(cd.card, "N"); l != nil {
		n := append(l.components(), "", "", "")
		f[reconcile.FieldFamilyName], f[reconcile.FieldGivenName], f[reconcile.FieldMiddleName] = n[0], n[1], n[2]
	}
	f[reconcile.FieldJobTitle] = text("TITLE")
	f[reconcile.FieldNotes] = text("NOTE")
	if l := d.first(cd.card, "ORG"); l != nil {
		f[reconcile.FieldCompany] = strings.TrimSpace(l.components()[0])
	}
	if l := d.first(cd.card, "BDAY"); l != nil {
		f[reconcile.FieldBirthday] = birthdayOf(l)
	}
	cd.emails = cd.readList("EMAIL", emailKind, emailValue)
	cd.phones = cd.readList("TEL", phoneKind, phoneValue)
	cd.adrs = cd.readEntries("ADR", adrEntry)
	var as []crm.Address
	for _, a := range cd.adrs {
		as = append(as, a.address())
	}
	f[reconcile.FieldAddresses] = reconcile.EncodeAddresses(as)
	var es []crm.Email
	for _, e := range cd.emails {
		es = append(es, crm.Email{Address: e.value, Kind: e.kind, Primary: e.primary})
	}
	var ps []crm.Phone
	for _, p := range cd.phones {
		ps = append(ps, crm.Phone{Number: p.value, Kind: p.kind, Primary: p.primary})
	}
	f[reconcile.FieldEmails] = reconcile.EncodeEmails(es)
	f[reconcile.FieldPhones] = reconcile.EncodePhones(ps)
	cd.readPhoto()
	cd.readCategories()
	for k, v := range f {
		if v == "" {
			delete(f, k)
		}
	}
	return cd, nil
}

func (cd *cardDoc) rev() time.Time {
	l := cd.d.first(cd.card, "REV")
	if l == nil {
		return time.Time{}
	}
	v := strings.TrimSpace(l.value)
	for _, layout := range []string{"20060102T150405Z", time.RFC3339, "2006-01-02T15:04:05Z", "20060102T150405Z0700",
		"20060102T150405", "2006-01-02T15:04:05", "20060102", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// birthdayOf reads a BDAY line as crm.Contact.Birthday, "" when it holds
// no day of a month.
func birthdayOf(l *cline) string {
	v := strings.TrimSpace(l.text())
	if strings.EqualFold(l.param("VALUE"), "text") {
		return ""
	}
	if t := strings.IndexAny(v, "Tt"); t >= 0 {
		v = v[:t] // a date-time's date, as written (no zone shift)
	}
	year := ""
	switch {
	case len(v) == 10 && v[4] == '-' && v[7] == '-': // 1985-04-12
		year, v = v[:4], v[5:7]+v[8:]
	case len(v) == 8 && !strings.HasPrefix(v, "-"): // 19850412
		year, v = v[:4], v[4:]
	case len(v) == 7 && strings.HasPrefix(v, "--") && v[4] == '-': // --04-12
		v = v[2:4] + v[5:]
	case len(v) == 6 && strings.HasPrefix(v, "--"): // --0412
		v = v[2:]
	default:
		return ""
	}
	if omit := l.param("X-APPLE-OMIT-YEAR"); omit != "" && omit == year {
		year = ""
	}
	s := "--" + v[:2] + "-" + v[2:]
	if year != "" {
		s = year + "-" + v[:2] + "-" + v[2:]
	}
	if _, _, _, ok := crm.ParseBirthday(s); !ok {
		return ""
	}
	return s
}

// birthdayValue renders a birthday for a card of version: vCard 4.0's
// basic format (19850412, --0412); on 3.0 the extended one (1985-04-12),
// and without a year Apple's convention, which iOS, macOS and Android's
// DAVx⁵ read as a birthday without a year (3.0 has no partial dates).
func birthdayValue(version, s string) (string, []cparam) {
	y, m, d, _ := crm.ParseBirthday(s)
	switch {
	case version == "4.0" && y == 0:
		return fmt.Sprintf("--%02d%02d", m, d), nil
	case version == "4.0":
		return fmt.Sprintf("%04d%02d%02d", y, m, d), nil
	case y == 0:
		return fmt.Sprintf("1604-%02d-%02d", m, d), []cparam{newParam("X-APPLE-OMIT-YEAR", "1604")}
	}
	return fmt.Sprintf("%04d-%02d-%02d", y, m, d), nil
}

// adrEntry reads an ADR line, its parts normalized as crm keeps them.
func adrEntry(l *cline) (listEntry, bool) {
	c := append(l.components(), "", "", "", "", "", "", "")
	one := crm.Contact{Addresses: []crm.Address{{Kind: adrKind(l.types()), Street: c[2], City: c[3], Region: c[4],
		PostalCode: c[5], Country: c[6]}}}
	one.Normalize()
	a := one.Addresses[0]
	return listEntry{value: a.Street, rest: [4]string{a.City, a.Region, a.PostalCode, a.Country}, kind: a.Kind}, !a.IsEmpty()
}

func (e listEntry) address() crm.Address {
	return crm.Address{Street: e.value, City: e.rest[0], Region: e.rest[1], PostalCode: e.rest[2], Country: e.rest[3],
		Kind: e.kind, Primary: e.primary}
}

func adrKind(types []string) string {
	switch {
	case slices.Contains(types, "work"):
		return "work"
	case slices.Contains(types, "home"):
		return "home"
	}
	return "other"
}

// readList reads the EMAIL or TEL lines (see readEntries).
func (cd *cardDoc) readList(name string, kind func([]string) string, value func(*cline) string) []listLine {
	return cd.readEntries(name, func(l *cline) (listEntry, bool) {
		v := strings.TrimSpace(value(l))
		return listEntry{value: v, kind: kind(l.types())}, v != ""
	})
}

// readEntries reads the lines of a list, skipping those entry finds empty:
// the primary is the line with the lowest PREF (TYPE=pref counts as 1),
// the first among equals. A card without preferences has its first line
// primary, as Tandem keeps such a list (crm.Contact.Normalize): read
// otherwise, an imported card would differ from its contact for good,
// since Tandem does not echo back what a sync wrote.
func (cd *cardDoc) readEntries(name string, entry func(*cline) (listEntry, bool)) []listLine {
	var out []listLine
	best, bestRank := -1, 102 // below "no preference" (101)
	for _, i := range cd.d.find(cd.card, name) {
		l := cd.d.lines[i]
		en, ok := entry(l)
		if !ok {
			continue
		}
		out = append(out, listLine{i: i, listEntry: en})
		if r := prefRank(l); r < bestRank {
			best, bestRank = len(out)-1, r
		}
	}
	if best < 0 && len(out) > 0 {
		// No line carries a preference: the first is the primary, as
		// Tandem makes it of a contact's first address (crm.Contact
		// Normalize). Read otherwise, the link's base would differ from
		// the imported contact, and the item's next remote change would
		// look like a local edit too: a conflict, and a write back.
		best = 0
	}
	if best >= 0 {
		out[best].primary = true
	}
	return out
}

// prefRank is a line's preference: PREF=1..100 (vCard 4.0), TYPE=pref as
// 1 (3.0); 101 for none.
func prefRank(l *cline) int {
	r := 101
	if p := l.param("PREF"); p != "" {
		var n int
		if _, err := fmt.Sscanf(p, "%d", &n); err == nil && n >= 1 && n <= 100 {
			r = n
		}
	}
	if slices.Contains(l.types(), "pref") {
		r = min(r, 1)
	}
	return r
}

func emailKind(types []string) string {
	switch {
	case slices.Contains(types, "work"):
		return "work"
	case slices.Contains(types, "home"):
		return "home"
	}
	return "other"
}

func phoneKind(types []string) string {
	switch {
	case slices.Contains(types, "cell"), slices.Contains(types, "mobile"), slices.Contains(types, "iphone"):
		return "mobile"
	case slices.Contains(types, "work"):
		return "work"
	case slices.Contains(types, "home"):
		return "home"
	}
	return "other"
}

// Types that say an entry's kind or preference: replaced when an entry's
// kind or primary changes, the others (INTERNET, VOICE, FAX) kept.
var (
	emailKindTypes = []string{"work", "home", "other", "pref"}
	phoneKindTypes = []string{"cell", "mobile", "iphone", "work", "home", "other", "pref"}
	adrKindTypes   = emailKindTypes
)

func emailValue(l *cline) string {
	v := l.text()
	if len(v) > 7 && strings.EqualFold(v[:7], "mailto:") {
		v = v[7:]
	}
	return v
}

func phoneValue(l *cline) string {
	if strings.EqualFold(l.param("VALUE"), "uri") || len(l.value) > 4 && strings.EqualFold(l.value[:4], "tel:") {
		// A URI has no escapes, but servers that treat every value as
		// text (Radicale) write tel:+1-555;ext=1 as tel:+1-555\;ext=1.
		v := validUTF8(unescapeText(l.value))
		if len(v) > 4 && strings.EqualFold(v[:4], "tel:") {
			v = v[4:]
		}
		return v
	}
	return l.text()
}

// Encode implements Codec.
func (c VCardCodec) Encode(raw []byte, f reconcile.Fields, uid, marker string) ([]byte, error) {
	return c.EncodeLinked(raw, f, uid, marker, "")
}

// EncodeLinked is Encode for a card whose photo link gives the image
// linked (an EncodePhoto value; "" when it was not fetched): the link
// stays unless f's photo differs from that image.
func (c VCardCodec) EncodeLinked(raw []byte, f reconcile.Fields, uid, marker, linked string) ([]byte, error) {
	stamp := now(c.Now).UTC().Format("20060102T150405Z")
	creating := raw == nil
	if creating {
		if uid == "" {
			return nil, fmt.Errorf("vcard: new card without uid")
		}
		var b strings.Builder
		b.WriteString("BEGIN:VCARD\r\nVERSION:3.0\r\n")
		b.WriteString(cprop{name: "PRODID", value: ProdID}.String())
		b.WriteString(cprop{name: "UID", value: escapeText(uid)}.String())
		b.WriteString("FN:\r\nN:;;;;\r\n")
		if marker != "" {
			b.WriteString(cprop{name: MarkerProperty, value: escapeText(marker)}.String())
		}
		b.WriteString("END:VCARD\r\n")
		raw = []byte(b.String())
	}
	cd, err := readCard(raw)
	if err != nil {
		return nil, err
	}
	cd.linkPhoto(linked)
	e := newEditor(cd.d)
	card, old := cd.card, cd.fields
	diff := func(n string) bool { return !reconcile.SameValue(n, f[n], old[n]) }
	if cd.uid == "" && uid != "" {
		// CardDAV requires a UID (RFC 6352 §5.1); one the caller knows the
		// card by is better than none.
		e.insertBefore(propEnd(card), cprop{name: "UID", value: escapeText(uid)}.String())
	}
	if marker != "" && marker != cd.marker {
		e.setText(card, MarkerProperty, marker)
	}
	namesChanged := diff(reconcile.FieldGivenName) || diff(reconcile.FieldMiddleName) || diff(reconcile.FieldFamilyName)
	if diff(reconcile.FieldName) || namesChanged && f[reconcile.FieldName] == "" {
		fn := f[reconcile.FieldName]
		if fn == "" {
			// FN is required; crm derives a missing name the same way.
			var parts []string
			for _, n := range []string{reconcile.FieldGivenName, reconcile.FieldMiddleName, reconcile.FieldFamilyName} {
				if v := strings.TrimSpace(f[n]); v != "" {
					parts = append(parts, v)
				}
			}
			fn = strings.Join(parts, " ")
		}
		idx := cd.d.find(card, "FN")
		if len(idx) == 0 {
			e.insertBefore(propEnd(card), cprop{name: "FN", value: escapeText(fn)}.String())
		} else {
			e.replace(idx[0], cd.d.lines[idx[0]].rewrite(escapeText(fn), func(p cparam) bool {
				return p.name != "ENCODING" && p.name != "CHARSET"
			}))
			for _, i := range idx[1:] {
				e.remove(i)
			}
		}
	}
	if namesChanged {
		cd.writeN(e, f)
	}
	if diff(reconcile.FieldJobTitle) {
		e.setText(card, "TITLE", f[reconcile.FieldJobTitle])
	}
	if diff(reconcile.FieldEmails) {
		var want []listEntry
		for _, x := range reconcile.DecodeEmails(f[reconcile.FieldEmails]) {
			want = append(want, listEntry{value: strings.TrimSpace(x.Address), kind: x.Kind, primary: x.Primary})
		}
		cd.patchList(e, "EMAIL", cd.emails, want, emailKindTypes, func(a, b string) bool { return strings.EqualFold(a, b) },
			func(es []listEntry) string {
				var xs []crm.Email
				for _, x := range es {
					xs = append(xs, crm.Email{Address: x.value, Kind: x.kind, Primary: x.primary})
				}
				return reconcile.EncodeEmails(xs)
			})
	}
	if diff(reconcile.FieldPhones) {
		var want []listEntry
		for _, x := range reconcile.DecodePhones(f[reconcile.FieldPhones]) {
			want = append(want, listEntry{value: strings.TrimSpace(x.Number), kind: x.Kind, primary: x.Primary})
		}
		cd.patchList(e, "TEL", cd.phones, want, phoneKindTypes, func(a, b string) bool { return a == b },
			func(ps []listEntry) string {
				var xs []crm.Phone
				for _, x := range ps {
					xs = append(xs, crm.Phone{Number: x.value, Kind: x.kind, Primary: x.primary})
				}
				return reconcile.EncodePhones(xs)
			})
	}
	if diff(reconcile.FieldNotes) {
		e.setText(card, "NOTE", f[reconcile.FieldNotes])
	}
	if diff(reconcile.FieldCompany) {
		cd.writeORG(e, f[reconcile.FieldCompany])
	}
	if diff(reconcile.FieldBirthday) {
		cd.writeBDAY(e, f[reconcile.FieldBirthday])
	}
	if diff(reconcile.FieldAddresses) {
		var want []listEntry
		for _, a := range reconcile.DecodeAddresses(f[reconcile.FieldAddresses]) {
			want = append(want, listEntry{value: a.Street, rest: [4]string{a.City, a.Region, a.PostalCode, a.Country},
				kind: a.Kind, primary: a.Primary})
		}
		cd.patchList(e, "ADR", cd.adrs, want, adrKindTypes, func(a, b string) bool { return a == b },
			func(es []listEntry) string {
				var xs []crm.Address
				for _, x := range es {
					xs = append(xs, x.address())
				}
				return reconcile.EncodeAddresses(xs)
			})
	}
	if diff(reconcile.FieldPhoto) {
		if err := cd.writePhoto(e, f[reconcile.FieldPhoto]); err != nil {
			return nil, err
		}
	}
	if diff(reconcile.FieldCategories) {
		cd.writeCategories(e, f[reconcile.FieldCategories])
	}
	if !e.changed() {
		return copyBytes(raw), nil
	}
	if idx := cd.d.find(card, "REV"); len(idx) > 0 {
		e.replace(idx[0], cd.d.lines[idx[0]].rewrite(stamp, func(p cparam) bool { return p.name != "VALUE" }))
	} else if creating {
		e.insertBefore(card.end, "REV:"+stamp+"\r\n")
	}
	return e.bytes(), nil
}

// writeORG makes ORG's first component company, keeping its units; an ORG
// left with nothing goes.
func (cd *cardDoc) writeORG(e *editor, company string) {
	idx := cd.d.find(cd.card, "ORG")
	if len(idx) == 0 {
		if company != "" {
			e.insertBefore(propEnd(cd.card), cprop{name: "ORG", value: escapeText(company)}.String())
		}
		return
	}
	l := cd.d.lines[idx[0]]
	parts := escapedComponents(l)
	parts[0] = escapeText(company)
	if strings.Trim(strings.Join(parts, ""), " ") == "" {
		e.remove(idx[0])
		return
	}
	e.replace(idx[0], l.rewrite(strings.Join(parts, ";"), func(p cparam) bool { return p.name != "ENCODING" && p.name != "CHARSET" }))
}

// writeBDAY makes BDAY hold birthday, keeping the line's group and other
// parameters; "" removes it.
func (cd *cardDoc) writeBDAY(e *editor, birthday string) {
	idx := cd.d.find(cd.card, "BDAY")
	if birthday == "" {
		for _, i := range idx {
			e.remove(i)
		}
		return
	}
	v, add := birthdayValue(cd.version, birthday)
	if len(idx) == 0 {
		e.insertBefore(propEnd(cd.card), cprop{name: "BDAY", params: add, value: v}.String())
		return
	}
	e.replace(idx[0], cd.d.lines[idx[0]].rewrite(v, func(p cparam) bool {
		return p.name != "VALUE" && p.name != "X-APPLE-OMIT-YEAR" && p.name != "ENCODING" && p.name != "CHARSET"
	}, add...))
	for _, i := range idx[1:] {
		e.remove(i)
	}
}

// escapedComponents splits a structured value into its components as
// written (escaped), quoted-printable decoded and escaped again.
func escapedComponents(l *cline) []string {
	if l.param("ENCODING") == "" {
		return splitUnescaped(l.value, ';')
	}
	var parts []string
	for _, c := range l.components() {
		parts = append(parts, escapeText(c))
	}
	return parts
}

// writeN rewrites the name components of N, keeping its prefix, suffix
// and anything after them as written.
func (cd *cardDoc) writeN(e *editor, f reconcile.Fields) {
	names := []string{escapeText(f[reconcile.FieldFamilyName]), escapeText(f[reconcile.FieldGivenName]),
		escapeText(f[reconcile.FieldMiddleName])}
	idx := cd.d.find(cd.card, "N")
	if len(idx) == 0 {
		at := propEnd(cd.card)
		if fn := cd.d.find(cd.card, "FN"); len(fn) > 0 {
			at = fn[0] + 1
		}
		e.insertBefore(at, cprop{name: "N", value: strings.Join(append(names, "", ""), ";")}.String())
		return
	}
	l := cd.d.lines[idx[0]]
	var parts []string
	if l.param("ENCODING") != "" {
		for _, c := range l.components() {
			parts = append(parts, escapeText(c))
		}
	} else {
		parts = splitUnescaped(l.value, ';')
	}
	for len(parts) < 5 {
		parts = append(parts, "")
	}
	copy(parts, names)
	e.replace(idx[0], l.rewrite(strings.Join(parts, ";"), func(p cparam) bool { return p.name != "ENCODING" && p.name != "CHARSET" }))
}

// patchList makes the EMAIL, TEL or ADR lines hold want. Entries are matched to
// lines: the same entry, else the same value, else the next unmatched line
// of the same kind (an edited value). A matched line is kept as it is when its
// entry holds, otherwise rewritten with its group and other parameters.
// Lines keep their places when that reads back as want; otherwise (a
// reordering) the list's lines are written together, in want's order, where
// its first line was.
func (cd *cardDoc) patchList(e *editor, name string, old []listLine, want []listEntry, kindTypes []string,
	same func(a, b string) bool, encode func([]listEntry) string) {
	match := make([]int, len(want)) // index into old, -1: none
	used := make([]bool, len(old))
	for i := range match {
		match[i] = -1
	}
	for pass := 0; pass < 3; pass++ {
		for i, w := range want {
			if match[i] >= 0 {
				continue
			}
			for j, o := range old {
				if used[j] {
					continue
				}
				if pass == 0 && o.listEntry == w || pass == 1 && same(o.value, w.value) || pass == 2 && o.kind == w.kind {
					match[i], used[j] = j, true
					break
				}
			}
		}
	}
	// A line stays as written when it holds its entry and, if not the
	// primary, carries no preference that could make it one.
	keep := func(i int) bool {
		j := match[i]
		return j >= 0 && old[j].listEntry == want[i] && (want[i].primary || prefRank(cd.d.lines[old[j].i]) == 101)
	}
	render := func(i int) string {
		w := want[i]
		if j := match[i]; j >= 0 {
			l := cd.d.lines[old[j].i]
			if keep(i) {
				return string(l.raw)
			}
			return cd.listLine(name, l, old[j].listEntry, w, kindTypes)
		}
		return cd.listLine(name, nil, listEntry{}, w, kindTypes)
	}
	// In place: matched lines where they are, new ones after the last line.
	var order []listEntry
	for j := range old {
		if used[j] {
			for i := range want {
				if match[i] == j {
					order = append(order, want[i])
				}
			}
		}
	}
	for i, w := range want {
		if match[i] < 0 {
			order = append(order, w)
		}
	}
	var removedGroups []string
	for j, o := range old {
		if !used[j] {
			e.remove(o.i)
			if g := cd.d.lines[o.i].group; g != "" {
				removedGroups = append(removedGroups, g)
			}
		}
	}
	at := propEnd(cd.card)
	if len(old) > 0 {
		at = old[len(old)-1].i + 1
	}
	if encode(order) == encode(want) {
		for i := range want {
			if j := match[i]; j >= 0 && !keep(i) {
				e.replace(old[j].i, render(i))
			}
		}
		for i := range want {
			if match[i] < 0 {
				e.insertBefore(at, render(i))
			}
		}
	} else {
		if len(old) > 0 {
			at = old[0].i
		}
		for _, o := range old {
			e.remove(o.i)
		}
		for i := range want {
			e.insertBefore(at, render(i))
		}
	}
	cd.removeOrphanLabels(e, removedGroups)
}

// removeOrphanLabels removes the X-ABLabel of a group whose other lines
// are all gone, and an address's X-ABADR (Apple's country code of an ADR)
// with it.
func (cd *cardDoc) removeOrphanLabels(e *editor, groups []string) {
	for _, g := range groups {
		var labels []int
		alive := false
		for _, i := range cd.card.props {
			l := cd.d.lines[i]
			if !strings.EqualFold(l.group, g) || e.removed[i] {
				continue
			}
			if l.name == "X-ABLABEL" || l.name == "X-ABADR" {
				labels = append(labels, i)
			} else {
				alive = true
			}
		}
		if !alive {
			for _, i := range labels {
				e.remove(i)
			}
		}
	}
}

// uriEscaper keeps what phoneValue unescapes: a URI holds neither.
var uriEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`)

// listLine renders an EMAIL, TEL or ADR line for w. From an existing line l
// (holding was) it keeps the group and, when only the value changed, every
// parameter; otherwise the parameters that do not carry kind or
// preference (INTERNET, VOICE, X- ones). A tel: URI stays one.
func (cd *cardDoc) listLine(name string, l *cline, was, w listEntry, kindTypes []string) string {
	p := cprop{name: name}
	valueSame := l != nil && was.value == w.value && was.rest == w.rest
	uri := l != nil && name == "TEL" && (strings.EqualFold(l.param("VALUE"), "uri") || len(l.value) > 4 && strings.EqualFold(l.value[:4], "tel:"))
	switch {
	case valueSame:
		p.value = l.value
	case name == "ADR":
		p.value = adrValue(l, was, w)
	case uri:
		p.value = "tel:" + uriEscaper.Replace(w.value)
	default:
		p.value = escapeText(w.value)
	}
	if l != nil {
		p.group = l.group
		if was.kind == w.kind && was.primary == w.primary && (w.primary || prefRank(l) == 101) {
			for _, pa := range l.params {
				if valueSame || pa.name != "ENCODING" && pa.name != "CHARSET" {
					p.params = append(p.params, pa)
				}
			}
			return p.String()
		}
	}
	var types []string
	if l != nil {
		for _, pa := range l.params {
			switch pa.name {
			case "TYPE", "", "PREF":
			case "ENCODING", "CHARSET":
				if valueSame {
					p.params = append(p.params, pa)
				}
			default:
				p.params = append(p.params, pa)
			}
		}
		for _, t := range l.types() {
			if !slices.Contains(kindTypes, t) && !slices.Contains(types, t) {
				types = append(types, t)
			}
		}
	}
	switch {
	case name == "EMAIL" && (w.kind == "work" || w.kind == "home"):
		types = append(types, w.kind)
	case name == "TEL" && w.kind == "mobile":
		types = append(types, "cell")
	case name == "TEL" && (w.kind == "work" || w.kind == "home"):
		types = append(types, w.kind)
	case name == "ADR" && (w.kind == "work" || w.kind == "home"):
		types = append(types, w.kind)
	}
	if w.primary && cd.version != "4.0" {
		types = append(types, "pref")
	}
	if len(types) > 0 {
		p.params = append(p.params, newParam("TYPE", types...))
	}
	if w.primary && cd.version == "4.0" {
		p.params = append(p.params, newParam("PREF", "1"))
	}
	return p.String()
}

// adrValue is the value of an ADR line for w: from an existing line l
// (holding was) the PO box, extended address and any further components
// as written, and the parts that did not change as written too.
func adrValue(l *cline, was, w listEntry) string {
	var parts []string
	if l != nil {
		parts = escapedComponents(l)
	}
	for len(parts) < 7 {
		parts = append(parts, "")
	}
	olds := append([]string{was.value}, was.rest[:]...)
	for k, v := range append([]string{w.value}, w.rest[:]...) {
		if l == nil || v != olds[k] {
			parts[2+k] = escapeText(v)
		}
	}
	return strings.Join(parts, ";")
}
