package dav

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/teambition/rrule-go"

	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/reconcile"
)

// TestServersKeepMappedObjects stores what the codecs read and write on
// Radicale and Xandikos: other clients' objects, objects Tandem creates
// and objects Tandem patched. Each must be accepted, and read back from
// the server (which may re-serialize it) with the same fields; unknown
// properties must survive.
func TestServersKeepMappedObjects(t *testing.T) {
	at := func(s string) time.Time { t, _, _ := reconcile.ParseEventTime(s); return t }
	moscowSeries := reconcile.Fields{
		reconcile.FieldTitle: "Планёрка", reconcile.FieldDescription: "Agenda:\n1. Plans; 2. Risks, issues",
		reconcile.FieldStart: "2026-03-10T07:00:00Z", reconcile.FieldEnd: "2026-03-10T08:00:00Z", reconcile.FieldTimeZone: "Europe/Moscow",
		reconcile.FieldRRule: "FREQ=WEEKLY;BYDAY=TU;COUNT=10", reconcile.FieldExDates: "2026-03-17T07:00:00Z",
		reconcile.FieldAttendees: "a@example.com|A|accepted", reconcile.FieldOrganizer: "boss@example.com", reconcile.FieldTandemID: "act-1",
	}
	moscowSeries[reconcile.FieldOverrides] = reconcile.CanonicalOverrides(moscowSeries, []crm.Occurrence{{RecurrenceID: at("2026-03-24T07:00:00Z"),
		Start: at("2026-03-24T12:00:00Z"), End: at("2026-03-24T13:00:00Z"), Title: "Планёрка (moved)"}})
	nySeries := reconcile.Fields{reconcile.FieldTitle: "Standup", reconcile.FieldStart: "2026-03-02T15:00:00Z",
		reconcile.FieldEnd: "2026-03-02T15:15:00Z", reconcile.FieldTimeZone: "America/New_York", reconcile.FieldRRule: "FREQ=DAILY;COUNT=20",
		reconcile.FieldExDates: "2026-03-10T14:00:00Z"}

	type object struct {
		name   string
		raw    []byte           // another client's object, or nil
		fields reconcile.Fields // to create, when raw is nil
		change func(reconcile.Fields)
	}
	kinds := []struct {
		kc      kindCase
		codec   Codec
		objects []object
	}{
		{kindCases[0], VCardCodec{Now: clock}, []object{
			{name: "apple", raw: appleCard, change: func(f reconcile.Fields) {
				f[reconcile.FieldEmails] = "j.appleseed@home.example|home|primary\njohnny@apple.example|work|\nnew@example.com|other|"
			}},
			{name: "nextcloud", raw: nextcloudCard, change: func(f reconcile.Fields) { f[reconcile.FieldJobTitle] = "CFO, Finance" }},
			{name: "thunderbird", raw: thunderbirdCard, change: func(f reconcile.Fields) { f[reconcile.FieldNotes] = "" }},
			{name: "rfc6350", raw: rfc6350Card, change: func(f reconcile.Fields) { f[reconcile.FieldFamilyName] = "Perreault-Smith" }},
			{name: "created", fields: appleFields, change: func(f reconcile.Fields) { f[reconcile.FieldPhones] = "" }},
		}},
		{kindCases[1], EventCodec{Now: clock}, []object{
			{name: "apple", raw: appleEvent, change: func(f reconcile.Fields) {
				f[reconcile.FieldExDates] = "2026-03-17T07:00:00Z"
				f[reconcile.FieldTitle] = "Weekly sync, renamed"
			}},
			{name: "nextcloud", raw: nextcloudEvent, change: func(f reconcile.Fields) {
				f[reconcile.FieldOverrides] = occLine("2026-03-09T14:00:00Z", "2026-03-09T20:00:00Z", "2026-03-09T21:00:00Z", "Late", "", "Room 1") +
					"\n" + f[reconcile.FieldOverrides]
			}},
			{name: "thunderbird", raw: thunderbirdEvent, change: func(f reconcile.Fields) { f[reconcile.FieldEnd] = "2026-03-12" }},
			{name: "radicale", raw: radicaleEvent, change: func(f reconcile.Fields) { f[reconcile.FieldTimeZone] = "Asia/Tokyo" }},
			{name: "created moscow", fields: moscowSeries, change: func(f reconcile.Fields) { f[reconcile.FieldAttendees] = "" }},
			{name: "created new york", fields: nySeries, change: func(f reconcile.Fields) { f[reconcile.FieldTimeZone] = "Europe/Berlin" }},
			{name: "created all-day", fields: thunderbirdEventFields, change: func(f reconcile.Fields) { f[reconcile.FieldRRule] = "FREQ=YEARLY;COUNT=3" }},
		}},
		{kindCases[2], TaskCodec{Now: clock}, []object{
			{name: "thunderbird", raw: thunderbirdTodo, change: func(f reconcile.Fields) {
				f[reconcile.FieldTaskStatus], f[reconcile.FieldCompleted] = reconcile.TaskCompleted, "2026-03-09T15:00:00Z"
			}},
			{name: "apple", raw: appleTodo, change: func(f reconcile.Fields) { f[reconcile.FieldDue] = "2026-03-05" }},
			{name: "nextcloud", raw: nextcloudTodo, change: func(f reconcile.Fields) { f[reconcile.FieldPriority] = "high" }},
			{name: "created", fields: thunderbirdTodoFields, change: func(f reconcile.Fields) { f[reconcile.FieldDue] = "2026-03-11T16:00:00Z" }},
		}},
	}
	forEachServer(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		for _, k := range kinds {
			for i, o := range k.objects {
				name := k.kc.name + " " + o.name
				raw := o.raw
				if raw == nil {
					var err error
					if raw, err = k.codec.Encode(nil, o.fields, fmt.Sprintf("tandem-%s-%d", k.kc.name, i), "mk"); err != nil {
						t.Fatalf("%s: %v", name, err)
					}
				}
				want, err := k.codec.Decode(raw)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				href := k.kc.col(e) + fmt.Sprintf("map-%s-%d", k.kc.name, i) + k.kc.ext
				if _, err := e.c.Create(ctx, href, k.kc.ctype, raw); err != nil {
					t.Errorf("%s: the server refused it: %v\n%s", name, err, raw)
					continue
				}
				got := stored(t, e, k.codec, href, name, want.Fields, raw)
				if got == nil {
					continue
				}
				// Tandem patches what the server holds.
				f := want.Fields.Clone()
				o.change(f)
				for n, v := range f {
					if v == "" {
						delete(f, n)
					}
				}
				patched, err := k.codec.Encode(got.Data, f, want.UID, "")
				if err != nil {
					t.Errorf("%s: patch: %v", name, err)
					continue
				}
				if _, err := e.c.Update(ctx, href, got.ETag, k.kc.ctype, patched); err != nil {
					t.Errorf("%s: the server refused the patched object: %v\n%s", name, err, patched)
					continue
				}
				stored(t, e, k.codec, href, name+" patched", f, patched)
			}
		}
	})
}

// sameRule reports whether two RRULE values say the same.
func sameRule(a, b string) bool {
	if a == b {
		return true
	}
	oa, err1 := rrule.StrToROption(a)
	ob, err2 := rrule.StrToROption(b)
	return err1 == nil && err2 == nil && oa.RRuleString() == ob.RRuleString()
}

// stored reads href back and checks it holds fields and the unknown
// properties sent.
func stored(t *testing.T, e *env, c Codec, href, name string, fields reconcile.Fields, sent []byte) *Object {
	t.Helper()
	got, err := e.c.Get(context.Background(), href)
	if err != nil {
		t.Errorf("%s: get: %v", name, err)
		return nil
	}
	d, err := c.Decode(got.Data)
	if err != nil {
		t.Errorf("%s: the stored object does not decode: %v\n%s", name, err, got.Data)
		return nil
	}
	got2 := d.Fields.Clone()
	if sameRule(got2[reconcile.FieldRRule], fields[reconcile.FieldRRule]) {
		// Xandikos re-serializes RRULE with its parts in its own order.
		got2[reconcile.FieldRRule] = fields[reconcile.FieldRRule]
	}
	if !got2.Equal(fields) {
		sameFields(t, name+" as stored", got2, fields)
		t.Logf("sent:\n%s\nstored:\n%s", sent, got.Data)
	}
	// Radicale upper-cases names.
	unfolded := strings.ToUpper(strings.ReplaceAll(string(got.Data), "\r\n ", ""))
	for _, keep := range []string{"X-FOO;X-PARAM=1:BAR", "X-APPLE-TRAVEL-ADVISORY-BEHAVIOR:AUTOMATIC", "X-MOZ-GENERATION:",
		"ITEM2.X-ABLABEL", "TRIGGER"} {
		if strings.Contains(strings.ToUpper(string(sent)), keep) && !strings.Contains(unfolded, keep) {
			t.Errorf("%s: %q lost on the server", name, keep)
		}
	}
	return got
}
