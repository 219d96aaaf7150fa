package google

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/api/people/v1"
)

func TestQuotaDefaultsOn(t *testing.T) {
	want := Quotas{PeopleCriticalReads: 90, PeopleCriticalWrites: 60, PeopleWrites: 30, PeopleGroupReads: 90}
	if got := New(Options{}).Quotas(); got != want {
		t.Fatalf("default quotas %+v, want %+v", got, want)
	}
	if got := New(Options{Quotas: &Quotas{}}).Quotas(); got != (Quotas{}) {
		t.Fatalf("quotas off: %+v", got)
	}
	// The defaults bite: the 61st single create of a minute is refused.
	e := newEnv(t, func(o *Options) { o.AccessTokenLifetime = 24 * time.Hour })
	ps := e.people(alice)
	for i := range 60 {
		if _, err := ps.People.CreateContact(mkPerson("A", fmt.Sprint(i), "")).Do(); err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
	}
	_, err := ps.People.CreateContact(mkPerson("A", "61", "")).Do()
	apiErr(t, err, 429)
	if r := e.srv.QuotaRefusals(); r[qCriticalWrites] != 1 {
		t.Fatalf("refusals %v", r)
	}
}

func TestQuotas(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.AccessTokenLifetime = 24 * time.Hour })
	e.srv.SetQuotas(Quotas{PeopleCriticalReads: 3, PeopleCriticalWrites: 12, Calendar: 1})
	ps := e.people(alice)
	list := func(svc *people.Service) error {
		_, err := svc.People.Connections.List("people/me").PersonFields("names").Do()
		return err
	}
	if err := list(ps); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(20 * time.Second)
	for range 2 {
		if err := list(ps); err != nil {
			t.Fatal(err)
		}
	}
	// Google's 429 (apis.md §1.5), with the seconds until the first unit
	// leaves the window.
	ge := apiErr(t, list(ps), 429)
	var body struct {
		Error struct {
			Code    int    `json:"code"`
			Status  string `json:"status"`
			Message string `json:"message"`
			Details []struct {
				Type     string            `json:"@type"`
				Reason   string            `json:"reason"`
				Domain   string            `json:"domain"`
				Metadata map[string]string `json:"metadata"`
			} `json:"details"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(ge.Body), &body); err != nil {
		t.Fatal(err)
	}
	d := body.Error.Details[0]
	if body.Error.Code != 429 || body.Error.Status != "RESOURCE_EXHAUSTED" ||
		!strings.Contains(body.Error.Message, "Quota exceeded for quota metric 'Critical read requests (Contact and Profile Reads)' and limit") ||
		!strings.Contains(body.Error.Message, "per minute per user' of service 'people.googleapis.com'") ||
		d.Type != "type.googleapis.com/google.rpc.ErrorInfo" || d.Reason != "RATE_LIMIT_EXCEEDED" || d.Domain != "googleapis.com" ||
		d.Metadata["quota_metric"] != "people.googleapis.com/read_requests" || d.Metadata["service"] != "people.googleapis.com" ||
		d.Metadata["quota_limit"] == "" || d.Metadata["consumer"] == "" {
		t.Fatalf("429 body %s", ge.Body)
	}
	if ra := ge.Header.Get("Retry-After"); ra != "40" {
		t.Fatalf("Retry-After %q, want 40", ra)
	}
	// Quotas are per user.
	if err := list(e.people(bob)); err != nil {
		t.Fatal(err)
	}
	// Units: a batch create costs 6 critical writes (and 6 critical
	// reads, here over the limit of 3: it can never pass).
	e.srv.SetQuotas(Quotas{PeopleCriticalWrites: 12})
	batch := func() error {
		_, err := ps.People.BatchCreateContacts(&people.BatchCreateContactsRequest{ReadMask: "names",
			Contacts: []*people.ContactToCreate{{ContactPerson: mkPerson("B", "C", "")}}}).Do()
		return err
	}
	for range 2 {
		if err := batch(); err != nil {
			t.Fatal(err)
		}
	}
	ge = apiErr(t, batch(), 429)
	if ra := ge.Header.Get("Retry-After"); ra != "60" {
		t.Fatalf("Retry-After %q, want 60", ra)
	}
	// A single create costs 1: still refused, the window is full.
	_, err := ps.People.CreateContact(mkPerson("A", "B", "")).Do()
	apiErr(t, err, 429)
	e.clock.Advance(time.Minute)
	if err := batch(); err != nil {
		t.Fatalf("after a minute: %v", err)
	}
	// Calendar: 403 userRateLimitExceeded.
	e.srv.SetQuotas(Quotas{Calendar: 1})
	cs := e.calendar(alice)
	if _, err := cs.Events.List("primary").Do(); err != nil {
		t.Fatal(err)
	}
	_, err = cs.Events.List("primary").Do()
	if ge := apiErr(t, err, 403); reason(ge) != "userRateLimitExceeded" || ge.Header.Get("Retry-After") != "60" {
		t.Fatal(ge.Body)
	}
	e.clock.Advance(61 * time.Second)
	if _, err := cs.Events.List("primary").Do(); err != nil {
		t.Fatal(err)
	}
	if r := e.srv.QuotaRefusals(); r[qCriticalReads] != 1 || r[qCriticalWrites] != 2 || r[qCalendar] != 1 {
		t.Fatalf("refusals %v", r)
	}
}

func TestQuotaFloor(t *testing.T) {
	def := DefaultQuotas()
	tests := []struct {
		name  string
		q     Quotas
		calls map[string]int
		want  time.Duration
	}{
		{"nothing", def, nil, 0},
		{"quotas off", Quotas{}, map[string]int{"people.createContact": 10_000}, 0},
		// 5,000 contacts in batches of 200: 25 calls × 6 critical writes,
		// 10 a minute: 3 windows.
		{"export of 5,000 in batches", def, map[string]int{"people.batchCreateContacts": 25}, 2 * time.Minute},
		{"one window", def, map[string]int{"people.batchCreateContacts": 10}, 0},
		{"one more call", def, map[string]int{"people.batchCreateContacts": 11}, time.Minute},
		// 5,000 single creates: 60 a minute.
		{"export of 5,000 one by one", def, map[string]int{"people.createContact": 5000}, 83 * time.Minute},
		// Reads add up across methods: 6×15 + 1 > 90.
		{"mixed reads", def, map[string]int{"people.batchCreateContacts": 15, "people.connections.list": 1}, time.Minute},
		// 1,200 removals: 2 modify calls; batch deletes cost 10 writes.
		{"writes", def, map[string]int{"contactGroups.members.modify": 2, "people.batchDeleteContacts": 2}, 0},
		{"writes add up", def, map[string]int{"contactGroups.members.modify": 2, "people.batchDeleteContacts": 3}, time.Minute},
		{"batch deletes", def, map[string]int{"people.batchDeleteContacts": 7}, 2 * time.Minute},
		{"calendar off", def, map[string]int{"calendar.events.insert": 1000}, 0},
		{"calendar on", Quotas{Calendar: 100}, map[string]int{"calendar.events.insert": 1000}, 9 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.q.Floor(tt.calls)
			if err != nil || got != tt.want {
				t.Fatalf("floor %v %v, want %v", got, err, tt.want)
			}
		})
	}
	if _, err := (Quotas{PeopleCriticalWrites: 5}).Floor(map[string]int{"people.batchUpdateContacts": 1}); err == nil {
		t.Fatal("a call over its quota has a floor")
	}
}

func TestAdminQuotas(t *testing.T) {
	e := newEnv(t)
	do := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, e.url+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s %s: %s", method, path, b)
		}
		return resp.StatusCode, m
	}
	code, m := do("GET", "/emulator/quotas", "")
	if code != 200 || m["peopleCriticalWrites"] != 60.0 || m["peopleWrites"] != 30.0 || m["calendar"] != 0.0 {
		t.Fatalf("GET %d %v", code, m)
	}
	// Fields left out keep their value.
	code, m = do("PUT", "/emulator/quotas", `{"peopleCriticalWrites":6,"calendar":100}`)
	if code != 200 || m["peopleCriticalWrites"] != 6.0 || m["peopleCriticalReads"] != 90.0 {
		t.Fatalf("PUT %d %v", code, m)
	}
	if q := e.srv.Quotas(); q.PeopleCriticalWrites != 6 || q.Calendar != 100 || q.PeopleWrites != 30 {
		t.Fatalf("quotas after PUT %+v", q)
	}
	if code, _ := do("PUT", "/emulator/quotas", `{"peopleWrites":-1}`); code != 400 {
		t.Fatalf("negative quota: %d", code)
	}
	// 6 critical writes a minute: one batch update per minute.
	code, m = do("GET", "/emulator/quotas/floor?people.batchUpdateContacts=3", "")
	if code != 200 || m["floorSeconds"] != 120.0 {
		t.Fatalf("floor %d %v", code, m)
	}
	// Without calls in the query: the calls made so far.
	if _, err := e.people(alice).People.CreateContact(mkPerson("A", "B", "")).Do(); err != nil {
		t.Fatal(err)
	}
	code, m = do("GET", "/emulator/quotas/floor", "")
	if calls, _ := m["calls"].(map[string]any); code != 200 || calls["people.createContact"] != 1.0 || m["floorSeconds"] != 0.0 {
		t.Fatalf("floor of the calls made %d %v", code, m)
	}
	if code, _ := do("PUT", "/emulator/quotas", `{"peopleCriticalWrites":0}`); code != 200 {
		t.Fatal(code)
	}
	if code, m := do("GET", "/emulator/quotas/floor?people.createContact=x", ""); code != 400 {
		t.Fatalf("bad count: %d %v", code, m)
	}
}
