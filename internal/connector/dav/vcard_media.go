package dav

// PHOTO and CATEGORIES of a vCard (see VCardCodec).
//
//	PHOTO       photo: the first PHOTO line, when it holds the image
//	            itself — vCard 3.0's ENCODING=b (2.1's BASE64) or a
//	            data: URI (4.0) — of a type and size Tandem keeps
//	            (crm.PhotoTypes, crm.MaxPhotoBytes; the type is what the
//	            bytes sniff as). Any other PHOTO (a link to fetch, an
//	            image Tandem does not keep) is not carried
//	            (reconcile.Item.NotCarried): never fetched, never
//	            rewritten, and never a reason to clear the contact's
//	            photo. Written as PHOTO;ENCODING=b;TYPE=JPEG:… on 3.0 and
//	            PHOTO:data:image/jpeg;base64,… on 4.0, in place of the
//	            first line (its group and other parameters kept but
//	            Apple's crop of the old image). A link to the card's own
//	            server (Decoded.PhotoLink) is fetched by the connector
//	            (photolink.go) and then carried: it stays as long as the
//	            photo here is the image it gives (EncodeLinked).
//
// Radicale (through vobject, which reads every PHOTO as 3.0 text) keeps
// a data: URI only up to its comma: it stores PHOTO:data:image/jpeg\;base64
// and drops the image (Kozea/Radicale#1863). Such a remnant is not
// carried either, so it never clears the contact's photo; but it holds
// nothing, so Tandem writes over it, and in 3.0's ENCODING=b form, which
// those servers keep on a 4.0 card too.
//	CATEGORIES  categories: every CATEGORIES line, a comma-separated list
//	            (RFC 6350 §6.7.1, commas in a value escaped). A category
//	            Tandem cannot keep as a tag's name (reconcile.
//	            NormalizeCategory) is not read and stays where it is
//	            when the others change. A change keeps the entries that
//	            hold, as written, drops the removed ones (and a line left
//	            empty), and adds new ones to the first line.

import (
	"encoding/base64"
	"errors"
	"net/url"
	"slices"
	"strings"

	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/reconcile"
)

// errPhotoWithoutData is a photo value that lacks its image (a link's
// base holds the hash alone): it is never written.
var errPhotoWithoutData = errors.New("vcard: photo value without its image")

// photoState is what a PHOTO line is to Tandem.
type photoState int

const (
	photoImage     photoState = iota // an image Tandem keeps
	photoOther                       // a link, or an image Tandem does not keep: left as it is
	photoTruncated                   // a data: URI without its data (a server cut it off): written over
)

// readPhoto reads the first PHOTO line into the card's fields, or notes
// the photo as not carried.
func (cd *cardDoc) readPhoto() {
	l := cd.d.first(cd.card, "PHOTO")
	if l == nil {
		return
	}
	ct, data, st := photoOf(l)
	if st != photoImage {
		cd.notCarried = append(cd.notCarried, reconcile.FieldPhoto)
		cd.photoTruncated = st == photoTruncated
		if st == photoOther {
			cd.photoLink = photoLinkOf(l)
		}
		return
	}
	cd.fields[reconcile.FieldPhoto] = reconcile.EncodePhoto(ct, data)
}

// photoOf is the image a PHOTO line holds, and whether Tandem keeps it.
func photoOf(l *cline) (string, []byte, photoState) {
	var b64 string
	enc := strings.ToLower(l.param("ENCODING"))
	switch {
	case enc == "b" || enc == "base64":
		b64 = l.value
	default:
		// A URI; servers that treat every value as text escape its ; and ,
		// (base64 has no backslash to lose).
		v := unescapeText(l.value)
		if len(v) < 5 || !strings.EqualFold(v[:5], "data:") {
			return "", nil, photoOther
		}
		meta, payload, ok := strings.Cut(v[5:], ",")
		if !ok || strings.TrimSpace(payload) == "" {
			return "", nil, photoTruncated
		}
		if !strings.HasSuffix(strings.ToLower(meta), ";base64") {
			return "", nil, photoOther
		}
		b64 = payload
	}
	b64 = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, b64)
	if len(b64) > base64.StdEncoding.EncodedLen(crm.MaxPhotoBytes)+4 {
		return "", nil, photoOther
	}
	data, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		if data, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(b64, "=")); err != nil {
			return "", nil, photoOther
		}
	}
	ct := crm.PhotoType(data)
	if ct == "" || len(data) > crm.MaxPhotoBytes {
		return "", nil, photoOther
	}
	return ct, data, photoImage
}

// photoLinkOf is the web link a PHOTO line gives its image by (an http
// or https URL, or a path on the card's own server), or "".
func photoLinkOf(l *cline) string {
	if l.param("ENCODING") != "" {
		return ""
	}
	v := strings.TrimSpace(unescapeText(l.value))
	u, err := url.Parse(v)
	if err != nil {
		return ""
	}
	switch {
	case strings.EqualFold(u.Scheme, "http"), strings.EqualFold(u.Scheme, "https"):
		if u.Host == "" {
			return ""
		}
	case u.Scheme == "" && u.Host == "" && strings.HasPrefix(u.Path, "/"):
	default:
		return ""
	}
	return v
}

// linkPhoto takes linked, the image the card's photo link gives
// (fetched by the connector), as the card's photo: compared with the
// fields to write like any field, and replaced by an image written into
// the card only when those differ.
func (cd *cardDoc) linkPhoto(linked string) {
	if linked == "" || cd.photoLink == "" {
		return
	}
	cd.fields[reconcile.FieldPhoto] = linked
	cd.notCarried = slices.DeleteFunc(cd.notCarried, func(f string) bool { return f == reconcile.FieldPhoto })
}

// writePhoto makes the card's photo the one in v ("" for none). A card
// whose photo is not carried keeps it as it is.
func (cd *cardDoc) writePhoto(e *editor, v string) error {
	if slices.Contains(cd.notCarried, reconcile.FieldPhoto) && !cd.photoTruncated {
		return nil
	}
	idx := cd.d.find(cd.card, "PHOTO")
	if v == "" {
		for _, i := range idx {
			e.remove(i)
		}
		return nil
	}
	ct, data, ok := reconcile.DecodePhoto(v)
	if !ok {
		return errPhotoWithoutData
	}
	sub := strings.TrimPrefix(ct, "image/")
	p := cprop{name: "PHOTO"}
	if cd.version == "4.0" && !cd.photoTruncated {
		p.value = "data:" + ct + ";base64," + base64.StdEncoding.EncodeToString(data)
	} else {
		enc := "b"
		if cd.version == "2.1" {
			enc = "BASE64"
		}
		p.params = []cparam{newParam("ENCODING", enc), newParam("TYPE", strings.ToUpper(sub))}
		p.value = base64.StdEncoding.EncodeToString(data)
	}
	if len(idx) == 0 {
		e.insertBefore(propEnd(cd.card), p.String())
		return nil
	}
	l := cd.d.lines[idx[0]]
	p.group = l.group
	for _, pa := range l.params {
		switch pa.name {
		case "ENCODING", "TYPE", "VALUE", "MEDIATYPE", "", "X-ABCROP-RECTANGLE":
		default:
			p.params = append(p.params, pa)
		}
	}
	e.replace(idx[0], p.String())
	return nil
}

// categoryEntries are the entries of a CATEGORIES line as written
// (escaped), quoted-printable decoded and escaped again.
func categoryEntries(l *cline) []string {
	if l.param("ENCODING") == "" {
		return splitUnescaped(l.value, ',')
	}
	v := l.value
	if strings.EqualFold(l.param("ENCODING"), "QUOTED-PRINTABLE") {
		if b, err := readQP(v); err == nil {
			v = b
		}
	}
	return splitUnescaped(v, ',')
}

// categoryOf reads an entry as written; ok is false for one Tandem does
// not keep.
func categoryOf(entry string) (string, bool) {
	return reconcile.NormalizeCategory(validUTF8(unescapeText(entry)))
}

// readCategories reads every CATEGORIES line into the card's fields.
func (cd *cardDoc) readCategories() {
	var cats []string
	for _, i := range cd.d.find(cd.card, "CATEGORIES") {
		for _, en := range categoryEntries(cd.d.lines[i]) {
			if c, ok := categoryOf(en); ok {
				cats = append(cats, c)
			}
		}
	}
	cd.fields[reconcile.FieldCategories] = reconcile.EncodeCategories(cats)
}

// writeCategories makes the card's categories those of v
// (reconcile.EncodeCategories), keeping what it can as written.
func (cd *cardDoc) writeCategories(e *editor, v string) {
	want := reconcile.DecodeCategories(v)
	byFold := map[string]string{}
	for _, w := range want {
		byFold[crm.Fold(w)] = w
	}
	placed := map[string]bool{}
	idx := cd.d.find(cd.card, "CATEGORIES")
	first := -1
	var firstEntries []string
	for _, i := range idx {
		l := cd.d.lines[i]
		old := categoryEntries(l)
		var kept []string
		for _, en := range old {
			c, ok := categoryOf(en)
			switch {
			case !ok:
				kept = append(kept, en) // not Tandem's: stays
			case byFold[crm.Fold(c)] == "" || placed[crm.Fold(c)]:
				// removed, or the same category again
			case byFold[crm.Fold(c)] == c:
				placed[crm.Fold(c)] = true
				kept = append(kept, en)
			default: // another spelling: the wanted one
				placed[crm.Fold(c)] = true
				kept = append(kept, escapeText(byFold[crm.Fold(c)]))
			}
		}
		if first < 0 {
			first, firstEntries = i, kept
			continue
		}
		cd.rewriteCategories(e, i, old, kept)
	}
	for _, w := range want {
		if !placed[crm.Fold(w)] {
			firstEntries = append(firstEntries, escapeText(w))
		}
	}
	if first < 0 {
		if len(firstEntries) > 0 {
			e.insertBefore(propEnd(cd.card), cprop{name: "CATEGORIES", value: strings.Join(firstEntries, ",")}.String())
		}
		return
	}
	cd.rewriteCategories(e, first, categoryEntries(cd.d.lines[first]), firstEntries)
}

// rewriteCategories writes line i with entries, unless they are what it
// holds; a line left without entries goes.
func (cd *cardDoc) rewriteCategories(e *editor, i int, old, entries []string) {
	l := cd.d.lines[i]
	switch {
	case len(entries) == 0:
		e.remove(i)
	case slices.Equal(old, entries):
	default:
		e.replace(i, l.rewrite(strings.Join(entries, ","), func(p cparam) bool { return p.name != "ENCODING" && p.name != "CHARSET" }))
	}
}
