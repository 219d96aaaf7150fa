package dav

import (
	"testing"

	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/reconcile"
)

// TestVCardPrimary: the primary email and phone read from a card are the
// ones Tandem stores for the imported contact, so the link's base equals
// the contact and the card's next remote change is not taken for a local
// edit as well (a conflict and a write back); an unchanged card encodes
// to its own bytes.
func TestVCardPrimary(t *testing.T) {
	for _, tc := range []struct {
		name, lines  string
		email, phone string // the primary's value
	}{
		{"no preference: the first", "EMAIL;TYPE=INTERNET,WORK:a@example.com\r\nEMAIL;TYPE=INTERNET,HOME:b@example.com\r\n" +
			"TEL;TYPE=WORK,VOICE:+1 555 0100\r\nTEL;TYPE=CELL:+1 555 0101\r\n", "a@example.com", "+1 555 0100"},
		{"TYPE=pref", "EMAIL;TYPE=INTERNET,WORK:a@example.com\r\nEMAIL;TYPE=INTERNET,HOME,pref:b@example.com\r\n" +
			"TEL;TYPE=WORK:+1 555 0100\r\nTEL;TYPE=CELL,pref:+1 555 0101\r\n", "b@example.com", "+1 555 0101"},
		{"lowest PREF", "EMAIL;PREF=2:a@example.com\r\nEMAIL;PREF=1:b@example.com\r\nTEL;PREF=1:+1 555 0100\r\n",
			"b@example.com", "+1 555 0100"},
		{"one each", "EMAIL:a@example.com\r\nTEL:+1 555 0100\r\n", "a@example.com", "+1 555 0100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u1\r\nFN:Ann Lee\r\nN:Lee;Ann;;;\r\n" + tc.lines + "END:VCARD\r\n")
			d, err := VCardCodec{}.Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			var c crm.Contact
			reconcile.ApplyContactFields(&c, d.Fields, []string{reconcile.FieldEmails, reconcile.FieldPhones})
			var email, phone string
			for _, e := range c.Emails {
				if e.Primary {
					email = e.Address
				}
			}
			for _, p := range c.Phones {
				if p.Primary {
					phone = p.Number
				}
			}
			if email != tc.email || phone != tc.phone {
				t.Errorf("primary email %q, phone %q; want %q, %q", email, phone, tc.email, tc.phone)
			}
			// What the store keeps of the imported contact reads back as
			// the same fields.
			stored := c
			stored.Normalize()
			got := reconcile.ContactFields(&stored)
			for _, k := range []string{reconcile.FieldEmails, reconcile.FieldPhones} {
				if got[k] != d.Fields[k] {
					t.Errorf("%s: the contact stores %q, the card reads %q", k, got[k], d.Fields[k])
				}
			}
			out, err := VCardCodec{}.Encode(raw, d.Fields, d.UID, d.Marker)
			if err != nil || string(out) != string(raw) {
				t.Errorf("unchanged card re-encoded (%v):\n%s", err, out)
			}
		})
	}
}
