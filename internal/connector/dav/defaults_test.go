package dav

import (
	"strings"
	"testing"

	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/reconcile"
)

// TestVCardPrimaryByDefault: a card without preferences reads with its
// first email and phone primary, as Tandem keeps such lists; preferences
// decide otherwise (the primary is listed first, as reconcile encodes
// lists); a contact read so writes back to the card unchanged.
func TestVCardPrimaryByDefault(t *testing.T) {
	card := func(lines ...string) []byte {
		return []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u1\r\nFN:Ann\r\n" + strings.Join(lines, "\r\n") + "\r\nEND:VCARD\r\n")
	}
	cases := []struct {
		name           string
		raw            []byte
		emails, phones string
	}{
		{"no preference", card("EMAIL;TYPE=INTERNET:a@x.example", "EMAIL;TYPE=HOME:b@x.example", "TEL;TYPE=CELL:+1 555 0100"),
			"a@x.example|other|primary\nb@x.example|home|", "+1 555 0100|mobile|primary"},
		{"TYPE=pref", card("EMAIL:a@x.example", "EMAIL;TYPE=pref:b@x.example"), "b@x.example|other|primary\na@x.example|other|", ""},
		{"PREF ranks", card("EMAIL;PREF=2:a@x.example", "EMAIL;PREF=1:b@x.example", "EMAIL:c@x.example"),
			"b@x.example|other|primary\na@x.example|other|\nc@x.example|other|", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := VCardCodec{}.Decode(c.raw)
			if err != nil {
				t.Fatal(err)
			}
			if d.Fields[reconcile.FieldEmails] != c.emails || d.Fields[reconcile.FieldPhones] != c.phones {
				t.Fatalf("emails %q phones %q, want %q %q", d.Fields[reconcile.FieldEmails], d.Fields[reconcile.FieldPhones], c.emails, c.phones)
			}
			// Tandem's own reading of the same lists (crm normalizes a
			// list without a primary to its first entry) is the same.
			ct := &crm.Contact{Name: "Ann", Emails: reconcile.DecodeEmails(c.emails), Phones: reconcile.DecodePhones(c.phones)}
			ct.Normalize()
			if f := reconcile.ContactFields(ct); f[reconcile.FieldEmails] != c.emails || f[reconcile.FieldPhones] != c.phones {
				t.Fatalf("the contact reads %v", f)
			}
			out, err := VCardCodec{}.Encode(c.raw, d.Fields, d.UID, "")
			if err != nil || string(out) != string(c.raw) {
				t.Fatalf("written back %q, %v", out, err)
			}
		})
	}
}

// TestEventOrganizerSelf: an event without ORGANIZER reads as organized by
// the syncing user (EventCodec.Self), and stays without when written back
// unless it gains attendees; one with an ORGANIZER reads as it says.
func TestEventOrganizerSelf(t *testing.T) {
	event := func(lines ...string) []byte {
		return []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nBEGIN:VEVENT\r\nUID:e1\r\nDTSTAMP:20200101T000000Z\r\n" +
			"DTSTART:20300101T100000Z\r\nDTEND:20300101T110000Z\r\nSUMMARY:Lunch\r\n" + strings.Join(lines, "") +
			"END:VEVENT\r\nEND:VCALENDAR\r\n")
	}
	codec := EventCodec{Self: "Ann@Example.com"}
	cases := []struct {
		name, organizer string
		raw             []byte
	}{
		{"none", "ann@example.com", event()},
		{"another", "bob@example.com", event("ORGANIZER;CN=Bob:mailto:bob@example.com\r\n")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := codec.Decode(c.raw)
			if err != nil {
				t.Fatal(err)
			}
			if got := d.Fields[reconcile.FieldOrganizer]; got != c.organizer {
				t.Fatalf("organizer %q, want %q", got, c.organizer)
			}
			if out, err := codec.Encode(c.raw, d.Fields, d.UID, ""); err != nil || string(out) != string(c.raw) {
				t.Fatalf("written back %q, %v", out, err)
			}
		})
	}
	if d, _ := (EventCodec{}).Decode(event()); d.Fields[reconcile.FieldOrganizer] != "" {
		t.Errorf("without Self: organizer %q", d.Fields[reconcile.FieldOrganizer])
	}
	// A meeting names its organizer: attendees added to an event without
	// one write the organizer too, and it reads back the same.
	d, _ := codec.Decode(event())
	f := d.Fields
	f[reconcile.FieldAttendees] = reconcile.EncodeAttendees([]reconcile.Attendee{{Email: "bob@example.com"}})
	out, err := codec.Encode(event(), f, d.UID, "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "ORGANIZER:mailto:ann@example.com") {
		t.Errorf("meeting without organizer: %q", out)
	}
	if back, err := codec.Decode(out); err != nil || !back.Fields.Equal(f) {
		t.Errorf("read back %v (%v), want %v", back.Fields, err, f)
	}
	// New events: the organizer is written only for a meeting.
	delete(f, reconcile.FieldAttendees)
	out, err = codec.Encode(nil, f, "e2", "tandem-1")
	if err != nil || strings.Contains(string(out), "ORGANIZER") {
		t.Errorf("new event without attendees: %q %v", out, err)
	}
}
