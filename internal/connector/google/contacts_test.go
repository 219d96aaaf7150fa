package google

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"

	"golang.org/x/oauth2"
	"google.golang.org/api/people/v1"

	"github.com/tandem-crm/tandem/internal/crm"
	emu "github.com/tandem-crm/tandem/internal/emulator/google"
	"github.com/tandem-crm/tandem/internal/reconcile"
)

const user = "conn@example.com"

// newContacts returns the connector against a fresh emulator, with a group.
func newContacts(t *testing.T) (*Contacts, *emu.Server) {
	t.Helper()
	e := emu.New(emu.Options{})
	e.AddUser(user, "Conn")
	srv := httptest.NewServer(e.Handler())
	t.Cleanup(func() { srv.Close(); e.Close() })
	ctx := context.Background()
	hc := HTTPClient(ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: e.MintAccessToken(user)}))
	svc, err := NewPeople(ctx, hc, FromBase(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	group, err := EnsureGroup(ctx, svc, DefaultGroupName)
	if err != nil {
		t.Fatal(err)
	}
	again, err := EnsureGroup(ctx, svc, DefaultGroupName)
	if err != nil || again != group {
		t.Fatalf("EnsureGroup twice: %q %q %v", group, again, err)
	}
	return NewContacts(svc, group), e
}

func TestContactsConnector(t *testing.T) {
	ctx := context.Background()
	c, e := newContacts(t)
	f := reconcile.Fields{reconcile.FieldGivenName: "Анна", reconcile.FieldFamilyName: "Ли", reconcile.FieldName: "Анна Ли",
		reconcile.FieldJobTitle: "CEO", reconcile.FieldEmails: "anna@example.com|work|primary\nanna@home.example|home|",
		reconcile.FieldPhones: "+7 495 000-00-00|mobile|primary", reconcile.FieldNotes: "Met at a fair"}
	it, err := c.Create(ctx, f, "tandem-m1")
	if err != nil {
		t.Fatal(err)
	}
	if !it.Fields.Equal(f) || it.Marker != "tandem-m1" || it.Deleted {
		t.Fatalf("created %+v", it)
	}
	// The listing gives the item with the same fields and a sync token.
	p, err := c.List(ctx, "", "")
	if err != nil || len(p.Items) != 1 || p.NextCursor == "" || !p.Items[0].Fields.Equal(f) {
		t.Fatalf("list %+v %v", p, err)
	}
	// A stale etag is a precondition failure (Google's 400 failedPrecondition).
	if err := e.UpdateContact(user, it.RemoteID, map[string]any{"biographies": []any{map[string]any{"value": "edited in Google"}}}, "biographies"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Update(ctx, it.RemoteID, it.ETag, f); !errors.Is(err, reconcile.ErrPrecondition) {
		t.Fatalf("stale update: %v", err)
	}
	cur, err := c.Get(ctx, it.RemoteID)
	if err != nil || cur.Fields[reconcile.FieldNotes] != "edited in Google" {
		t.Fatalf("get %+v %v", cur, err)
	}
	f[reconcile.FieldJobTitle] = "CTO"
	up, err := c.Update(ctx, it.RemoteID, cur.ETag, f)
	if err != nil || up.Fields[reconcile.FieldJobTitle] != "CTO" || up.Marker != "tandem-m1" {
		t.Fatalf("update %+v %v", up, err)
	}
	// The incremental listing reports the change; then leaving the group
	// reports the item as removed, and it stays in Google.
	p2, err := c.List(ctx, p.NextCursor, "")
	if err != nil || len(p2.Items) != 1 {
		t.Fatalf("incremental %+v %v", p2, err)
	}
	if found, ok, err := c.FindByMarker(ctx, "tandem-m1"); err != nil || !ok || found.RemoteID != it.RemoteID {
		t.Fatalf("find by marker %v %v", ok, err)
	}
	if err := c.Delete(ctx, it.RemoteID, up.ETag); err != nil {
		t.Fatal(err)
	}
	p3, err := c.List(ctx, p2.NextCursor, "")
	if err != nil || len(p3.Items) != 1 || !p3.Items[0].Deleted {
		t.Fatalf("after leaving the group %+v %v", p3, err)
	}
	if len(e.People(user)) != 1 {
		t.Error("leaving the group deleted the contact")
	}
	// An expired sync token is the engine's ErrCursorExpired.
	e.ExpireSyncTokens(user)
	if _, err := c.List(ctx, p3.NextCursor, ""); !errors.Is(err, reconcile.ErrCursorExpired) {
		t.Fatalf("expired token: %v", err)
	}
	// Deleted in Google: reported as deleted.
	p4, _ := c.List(ctx, "", "")
	if err := e.DeleteContact(user, it.RemoteID); err != nil {
		t.Fatal(err)
	}
	p5, err := c.List(ctx, p4.NextCursor, "")
	if err != nil || len(p5.Items) != 1 || !p5.Items[0].Deleted {
		t.Fatalf("deleted %+v %v", p5, err)
	}
	if _, err := c.Get(ctx, it.RemoteID); !errors.Is(err, reconcile.ErrRemoteNotFound) {
		t.Errorf("get deleted: %v", err)
	}
}

// A person's organization, birthday and addresses map to the company, the
// birthday and the addresses; an update writes Tandem's changes and keeps
// what Tandem does not map: the organization's department, a birthday held
// as text only, an address's PO box, extended address, custom label,
// country code and formatted value.
func TestContactsDetailsKeepUnmapped(t *testing.T) {
	ctx := context.Background()
	c, e := newContacts(t)
	rn, err := e.CreateContact(user, map[string]any{
		"names":         []any{map[string]any{"givenName": "Olga"}},
		"organizations": []any{map[string]any{"name": "Acme", "title": "CEO", "department": "R&D"}},
		"birthdays":     []any{map[string]any{"text": "around Easter"}},
		"addresses": []any{
			map[string]any{"type": "Dacha", "streetAddress": "Lesnaya 1", "city": "Zvenigorod", "country": "Russia",
				"countryCode": "RU", "poBox": "PO 7", "extendedAddress": "Apt 5"},
			map[string]any{"type": "work", "formattedValue": "1600 Amphitheatre Pkwy, Mountain View"},
		},
		"memberships": []any{map[string]any{"contactGroupMembership": map[string]any{"contactGroupResourceName": c.group}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	it, err := c.Get(ctx, rn)
	if err != nil {
		t.Fatal(err)
	}
	want := reconcile.Fields{reconcile.FieldGivenName: "Olga", reconcile.FieldName: "Olga", reconcile.FieldJobTitle: "CEO",
		reconcile.FieldCompany: "Acme",
		reconcile.FieldAddresses: "Lesnaya 1|Zvenigorod|||Russia|other|primary\n" +
			"1600 Amphitheatre Pkwy, Mountain View|||||work|"}
	if !it.Fields.Equal(want) {
		t.Fatalf("fields %v, want %v", it.Fields, want)
	}
	person := func() map[string]any {
		t.Helper()
		p, ok := e.Person(user, rn)
		if !ok {
			t.Fatal("person gone")
		}
		return p
	}
	first := func(p map[string]any, field string) map[string]any {
		t.Helper()
		xs, _ := p[field].([]any)
		if len(xs) == 0 {
			t.Fatalf("%s: none in %v", field, p)
		}
		return xs[0].(map[string]any)
	}

	// Notes change: everything else goes back as it was.
	f := it.Fields.Clone()
	f[reconcile.FieldNotes] = "likes tea"
	up, err := c.Update(ctx, rn, it.ETag, f)
	if err != nil || !up.Fields.Equal(f) {
		t.Fatalf("update notes: %v %v", up.Fields, err)
	}
	p := person()
	if o := first(p, "organizations"); o["department"] != "R&D" || o["name"] != "Acme" {
		t.Errorf("organization %v", o)
	}
	if b := first(p, "birthdays"); b["text"] != "around Easter" {
		t.Errorf("birthday %v", b)
	}
	addrs := p["addresses"].([]any)
	if a := addrs[0].(map[string]any); a["type"] != "Dacha" || a["poBox"] != "PO 7" || a["extendedAddress"] != "Apt 5" || a["countryCode"] != "RU" {
		t.Errorf("first address %v", a)
	}
	if a := addrs[1].(map[string]any); a["formattedValue"] != "1600 Amphitheatre Pkwy, Mountain View" || a["streetAddress"] != nil {
		t.Errorf("second address %v", a)
	}

	// Tandem's edits: a city, a birthday without a year, the company.
	f = up.Fields.Clone()
	f[reconcile.FieldAddresses] = "Lesnaya 1|Moscow|||Russia|other|primary\n1600 Amphitheatre Pkwy, Mountain View|||||work|"
	f[reconcile.FieldBirthday] = "--04-12"
	f[reconcile.FieldCompany] = "Acme Europe"
	up, err = c.Update(ctx, rn, up.ETag, f)
	if err != nil || !up.Fields.Equal(f) {
		t.Fatalf("update details: %v %v", up.Fields, err)
	}
	p = person()
	if o := first(p, "organizations"); o["department"] != "R&D" || o["name"] != "Acme Europe" || o["title"] != "CEO" {
		t.Errorf("organization %v", o)
	}
	if b := first(p, "birthdays"); b["text"] != nil || fmt.Sprint(b["date"]) != "map[day:12 month:4]" {
		t.Errorf("birthday %v", b)
	}
	addrs = p["addresses"].([]any)
	if a := addrs[0].(map[string]any); a["city"] != "Moscow" || a["type"] != "Dacha" || a["poBox"] != "PO 7" ||
		a["extendedAddress"] != "Apt 5" || a["countryCode"] != "RU" {
		t.Errorf("edited address %v", a)
	}
	// A country changed drops the old code; a kind changed drops the
	// custom label; a removed address is gone.
	f = up.Fields.Clone()
	f[reconcile.FieldAddresses] = "Lesnaya 1|Moscow|||Россия|home|primary"
	f[reconcile.FieldBirthday] = ""
	f[reconcile.FieldCompany] = ""
	up, err = c.Update(ctx, rn, up.ETag, f)
	delete(f, reconcile.FieldBirthday)
	delete(f, reconcile.FieldCompany)
	if err != nil || !up.Fields.Equal(f) {
		t.Fatalf("update again: %v %v", up.Fields, err)
	}
	p = person()
	addrs = p["addresses"].([]any)
	if a := addrs[0].(map[string]any); len(addrs) != 1 || a["type"] != "home" || a["countryCode"] != nil || a["poBox"] != "PO 7" {
		t.Errorf("addresses %v", addrs)
	}
	if _, ok := p["birthdays"]; ok {
		t.Errorf("birthday not cleared: %v", p["birthdays"])
	}

	// A new contact carries them all.
	nf := reconcile.Fields{reconcile.FieldName: "Pavel", reconcile.FieldCompany: "Globex", reconcile.FieldBirthday: "1985-04-12",
		reconcile.FieldAddresses: "Main St 1|Springfield|IL|62701|USA|work|primary"}
	created, err := c.Create(ctx, nf, "tandem-m2")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{reconcile.FieldCompany, reconcile.FieldBirthday, reconcile.FieldAddresses} {
		if created.Fields[k] != nf[k] {
			t.Errorf("created %s = %q, want %q", k, created.Fields[k], nf[k])
		}
	}
}

// TestContactsLeaveAndRestore: a contact that left the group joins it
// again as the same Google contact with its fields; one deleted in Google
// is not found; one whose only group is Tandem's leaves it for My
// Contacts, since a Google contact keeps a group.
func TestContactsLeaveAndRestore(t *testing.T) {
	ctx := context.Background()
	c, e := newContacts(t)
	f := reconcile.Fields{reconcile.FieldName: "Ann Lee", reconcile.FieldGivenName: "Ann", reconcile.FieldFamilyName: "Lee",
		reconcile.FieldEmails: "ann@example.com|other|primary"}
	it, err := c.Create(ctx, f, "tandem-m1")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, it.RemoteID, it.ETag); err != nil {
		t.Fatal(err)
	}
	back, err := c.Restore(ctx, it.RemoteID, f)
	if err != nil || back.Deleted || back.RemoteID != it.RemoteID || !back.Fields.Equal(f) || back.Marker != "tandem-m1" {
		t.Fatalf("restored %+v %v", back, err)
	}
	if again, err := c.Restore(ctx, it.RemoteID, f); err != nil || again.ETag != back.ETag {
		t.Errorf("restore of a member changed it: %+v %v", again, err)
	}

	// Only in Tandem's group (the user took it out of My Contacts).
	if err := e.UpdateContact(user, it.RemoteID, map[string]any{"memberships": []any{map[string]any{
		"contactGroupMembership": map[string]any{"contactGroupResourceName": c.group}}}}, "memberships"); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, it.RemoteID, ""); err != nil {
		t.Fatal(err)
	}
	p, _ := e.Person(user, it.RemoteID)
	if emu.InGroup(p, c.group) || !emu.InGroup(p, myContacts) {
		t.Errorf("memberships after leaving its only group: %v", p["memberships"])
	}

	if err := e.DeleteContact(user, it.RemoteID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Restore(ctx, it.RemoteID, f); !errors.Is(err, reconcile.ErrRemoteNotFound) {
		t.Errorf("restore of a deleted contact: %v", err)
	}
}

func TestContactsConnectorRetriesRateLimits(t *testing.T) {
	c, e := newContacts(t)
	e.Faults().SetRetryAfter(0)
	e.Faults().FailNext(1, emu.FaultRateLimit429)
	if _, err := c.List(context.Background(), "", ""); err != nil {
		t.Fatalf("429s not retried: %v", err)
	}
}

// FuzzPersonFields maps arbitrary Person JSON to fields and back into a
// contact: never a panic, and what comes out validates or is rejected
// cleanly.
func FuzzPersonFields(f *testing.F) {
	for _, s := range []string{
		`{"names":[{"givenName":"A","familyName":"B"}],"emailAddresses":[{"value":"a@b.c","metadata":{"primary":true}}]}`,
		`{"names":[],"phoneNumbers":[{"value":"+1 555","type":"workFax"}],"organizations":[{"title":"x"}]}`,
		`{"emailAddresses":[{"value":"x|y\n"},{"value":""}],"biographies":[{"value":"\u0000"}]}`,
		`{"memberships":[{"contactGroupMembership":{}}],"metadata":{"deleted":true}}`, `{}`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var p people.Person
		if json.Unmarshal(b, &p) != nil {
			return
		}
		fields := PersonFields(&p)
		c := &crm.Contact{}
		reconcile.ApplyContactFields(c, fields, reconcile.ContactFieldNames)
		c.Normalize()
		_ = c.Validate()
		// The encoding round-trips.
		if again := reconcile.ContactFields(c); reconcile.EncodeEmails(c.Emails) != again[reconcile.FieldEmails] {
			t.Fatalf("emails do not round-trip: %q", fields[reconcile.FieldEmails])
		}
		var q people.Person
		applyFields(&q, fields, "m")
		if len(q.ClientData) != 1 {
			t.Fatal("marker lost")
		}
	})
}
