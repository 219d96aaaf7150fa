package dav

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/testenv/davserver"
)

// TestCollectionConnector drives the engine's connector contract against
// both servers: create under the marker and find it again, a stale etag
// refused before anything is written, paging of a listing, a refused
// sync token, the ctag fallback.
func TestCollectionConnector(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		cc := e.c.NewCollection(e.ab, CollectionOptions{Kind: AddressBook, Codec: VCardCodec{}})
		f := reconcile.Fields{reconcile.FieldName: "Ann Lee", reconcile.FieldGivenName: "Ann", reconcile.FieldFamilyName: "Lee"}
		it, err := cc.Create(ctx, f, "tandem-m1")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(it.RemoteID, "/tandem-m1.vcf") || it.Marker != "tandem-m1" || it.ETag == "" {
			t.Fatalf("created %+v", it)
		}
		if _, err := cc.Create(ctx, f, "tandem-m1"); !errors.Is(err, reconcile.ErrPrecondition) {
			t.Fatalf("a second create under the same marker: %v", err)
		}
		found, ok, err := cc.FindByMarker(ctx, "tandem-m1")
		if err != nil || !ok || found.RemoteID != it.RemoteID || found.Fields[reconcile.FieldName] != "Ann Lee" {
			t.Fatalf("find by marker %+v %v %v", found, ok, err)
		}
		if _, ok, err := cc.FindByMarker(ctx, "tandem-none"); ok || err != nil {
			t.Fatalf("found a marker never used: %v %v", ok, err)
		}

		// Another client changes the card: an update with the old etag is
		// refused and the server keeps the other client's version.
		other := strings.Replace(string(mustGet(t, e.c, it.RemoteID)), "FN:Ann Lee", "FN:Ann Other", 1)
		if _, err := e.srv.Put(ctx, it.RemoteID, VCardType, []byte(other)); err != nil {
			t.Fatal(err)
		}
		g := f.Clone()
		g[reconcile.FieldJobTitle] = "Buyer"
		if _, err := cc.Update(ctx, it.RemoteID, it.ETag, g); !errors.Is(err, reconcile.ErrPrecondition) {
			t.Fatalf("stale update: %v", err)
		}
		if got := string(mustGet(t, e.c, it.RemoteID)); !strings.Contains(got, "FN:Ann Other") || strings.Contains(got, "Buyer") {
			t.Fatalf("a stale write went through: %q", got)
		}
		cur, err := cc.Get(ctx, it.RemoteID)
		if err != nil {
			t.Fatal(err)
		}
		up, err := cc.Update(ctx, it.RemoteID, cur.ETag, g)
		if err != nil || up.Fields[reconcile.FieldJobTitle] != "Buyer" || up.ETag == cur.ETag {
			t.Fatalf("update %+v %v", up, err)
		}

		// A listing of 150 cards comes in pages of MultiGetBatch.
		for i := range 149 {
			if _, err := e.srv.Put(ctx, e.ab+"p"+strconv.Itoa(i)+".vcf", VCardType, vcard("p"+strconv.Itoa(i), "Person "+strconv.Itoa(i))); err != nil {
				t.Fatal(err)
			}
		}
		items, cursor := listAll(t, cc, "")
		if len(items) != 150 || cursor == "" {
			t.Fatalf("%d items, cursor %q", len(items), cursor)
		}
		// Nothing changed: one page, no items, the same kind of cursor.
		if again, _ := listAll(t, cc, cursor); len(again) != 0 {
			t.Fatalf("no-op listing has %d items", len(again))
		}
		if err := e.srv.Delete(ctx, e.ab+"p7.vcf"); err != nil {
			t.Fatal(err)
		}
		changed, next := listAll(t, cc, cursor)
		if len(changed) != 1 || !changed[0].Deleted || !strings.HasSuffix(changed[0].RemoteID, "/p7.vcf") {
			t.Fatalf("after a delete %+v", changed)
		}
		// A token the server does not know is an expired cursor.
		if _, err := cc.List(ctx, mangle(next), ""); !errors.Is(err, reconcile.ErrCursorExpired) {
			t.Fatalf("refused token: %v", err)
		}
		// Delete with the etag: gone; with KeepForeign only Tandem's own go.
		keep := e.c.NewCollection(e.ab, CollectionOptions{Kind: AddressBook, Codec: VCardCodec{}, KeepForeign: true})
		if err := keep.Delete(ctx, e.ab+"p8.vcf", ""); !errors.Is(err, reconcile.ErrKept) {
			t.Fatalf("a foreign card under the keep policy: %v", err)
		}
		if _, err := e.c.Get(ctx, e.ab+"p8.vcf"); err != nil {
			t.Fatalf("a foreign card was deleted: %v", err)
		}
		if err := keep.Delete(ctx, up.RemoteID, up.ETag); err != nil {
			t.Fatal(err)
		}
		if _, err := e.c.Get(ctx, up.RemoteID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Tandem's card is still there: %v", err)
		}
	})
}

// TestCollectionConnectorComponents: events and tasks share a calendar;
// each binding sees only its component.
func TestCollectionConnectorComponents(t *testing.T) {
	e := setup(t, davserver.Radicale)
	ctx := context.Background()
	if _, err := e.srv.Put(ctx, e.cal+"ev.ics", ICalendarType, vevent("ev", "Meeting")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.srv.Put(ctx, e.cal+"td.ics", ICalendarType, vtodo("td", "Report")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		comp  string
		codec Codec
		want  string
	}{{"VEVENT", EventCodec{}, "Meeting"}, {"VTODO", TaskCodec{}, "Report"}} {
		cc := e.c.NewCollection(e.cal, CollectionOptions{Kind: Calendar, Component: c.comp, Codec: c.codec})
		items, _ := listAll(t, cc, "")
		var live []string
		for _, it := range items {
			if !it.Deleted {
				live = append(live, it.Fields[reconcile.FieldTitle])
			}
		}
		if len(live) != 1 || live[0] != c.want {
			t.Errorf("%s binding sees %v", c.comp, live)
		}
	}
}

// TestUnreadableObject: an object the server takes but Tandem cannot read
// (here an occurrence of a series without the series itself) comes as an
// item with Problem set, and the rest of the listing with it. Xandikos
// stores it; Radicale refuses it on PUT.
func TestUnreadableObject(t *testing.T) {
	e := setup(t, davserver.Xandikos)
	ctx := context.Background()
	if _, err := e.srv.Put(ctx, e.cal+"good.ics", ICalendarType, vevent("good", "Good one")); err != nil {
		t.Fatal(err)
	}
	orphan := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Tandem//test//EN\r\nBEGIN:VEVENT\r\nUID:orphan\r\n" +
		"DTSTAMP:20260101T000000Z\r\nRECURRENCE-ID:20260105T100000Z\r\nDTSTART:20260105T120000Z\r\n" +
		"DTEND:20260105T130000Z\r\nSUMMARY:Moved occurrence\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	if _, err := e.srv.Put(ctx, e.cal+"orphan.ics", ICalendarType, []byte(orphan)); err != nil {
		t.Fatal(err)
	}
	cc := e.c.NewCollection(e.cal, CollectionOptions{Kind: Calendar, Component: "VEVENT", Codec: EventCodec{}})
	items, _ := listAll(t, cc, "")
	var good, problems int
	for _, it := range items {
		switch {
		case it.Problem != "":
			problems++
		case it.Fields[reconcile.FieldTitle] == "Good one":
			good++
		}
	}
	if good != 1 || problems != 1 {
		t.Fatalf("items %+v", items)
	}
}

func mustGet(t *testing.T, c *Client, href string) []byte {
	t.Helper()
	o, err := c.Get(context.Background(), href)
	if err != nil {
		t.Fatal(err)
	}
	return o.Data
}

func listAll(t *testing.T, cc *CollectionConnector, cursor string) ([]reconcile.Item, string) {
	t.Helper()
	var out []reconcile.Item
	page := ""
	for n := 0; ; n++ {
		p, err := cc.List(context.Background(), cursor, page)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) > MultiGetBatch+10 {
			t.Fatalf("page of %d items", len(p.Items))
		}
		out = append(out, p.Items...)
		if p.NextPage == "" {
			return out, p.NextCursor
		}
		page = p.NextPage
	}
}

// TestRestoreKeepsUID: an object deleted on the server and written again
// by Tandem keeps the UID it had — read from its content, which the file
// name need not say.
func TestRestoreKeepsUID(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		cc := e.c.NewCollection(e.cal, CollectionOptions{Kind: Calendar, Component: "VEVENT", Codec: EventCodec{}})
		href := e.cal + "named-by-the-client.ics"
		if _, err := e.srv.Put(ctx, href, ICalendarType, vevent("uid-from-content@example.org", "Offsite")); err != nil {
			t.Fatal(err)
		}
		it, err := cc.Get(ctx, href)
		if err != nil || it.Identity != "uid-from-content@example.org" {
			t.Fatalf("read %+v %v", it, err)
		}
		if err := e.srv.Delete(ctx, href); err != nil {
			t.Fatal(err)
		}
		back, err := cc.RestoreIdentity(ctx, href, it.Identity, it.Fields)
		if err != nil {
			t.Fatal(err)
		}
		got := string(mustGet(t, e.c, back.RemoteID))
		if back.Identity != it.Identity || !strings.Contains(got, "UID:uid-from-content@example.org\r\n") ||
			strings.Contains(got, "named-by-the-client") || !strings.Contains(got, "SUMMARY:Offsite") {
			t.Fatalf("restored %+v:\n%s", back, got)
		}
		// In place already: as it is.
		again, err := cc.RestoreIdentity(ctx, href, it.Identity, it.Fields)
		if err != nil || again.ETag != back.ETag {
			t.Fatalf("restore of an object in place: %+v %v", again, err)
		}
	})
}

// TestFindByIdentity: an object is found by its UID, under a name after
// the UID (one GET) or any other (a calendar-query); a UID that only
// contains the one asked for, or an object of the other component, is
// not it.
func TestFindByIdentity(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		for name, body := range map[string][]byte{
			"by-uid@example.org.ics": vevent("by-uid@example.org", "Named after its UID"),
			"x1.ics":                 vevent("elsewhere@example.org", "Named otherwise"),
			"x2.ics":                 vevent("elsewhere@example.org.copy", "A longer UID"),
			"x3.ics":                 vtodo("todo@example.org", "A task"),
		} {
			if _, err := e.srv.Put(ctx, e.cal+name, ICalendarType, body); err != nil {
				t.Fatal(err)
			}
		}
		cc := e.c.NewCollection(e.cal, CollectionOptions{Kind: Calendar, Component: "VEVENT", Codec: EventCodec{}})
		for uid, want := range map[string]string{"by-uid@example.org": "Named after its UID",
			"elsewhere@example.org": "Named otherwise", "todo@example.org": "", "nobody@example.org": ""} {
			it, found, err := cc.FindByIdentity(ctx, uid)
			if err != nil {
				t.Fatalf("%s: %v", uid, err)
			}
			if found != (want != "") || found && (it.Fields[reconcile.FieldTitle] != want || it.Identity != uid) {
				t.Errorf("%s: found %v %+v, want %q", uid, found, it, want)
			}
		}
	})
}
