package google

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/api/googleapi"
)

func TestFaultsObservableByClients(t *testing.T) {
	e := newEnv(t)
	ps := e.people(alice)
	cs := e.calendar(alice)
	f := e.srv.Faults()
	f.SetRetryAfter(3 * time.Second)
	listP := func() error {
		_, err := ps.People.Connections.List("people/me").PersonFields("names").Do()
		return err
	}
	listC := func() error {
		_, err := cs.Events.List("primary").Do()
		return err
	}
	tests := []struct {
		name        string
		kind        FaultKind
		call        func() error
		code        int
		reason      string // errors[0].reason
		detail      string // ErrorInfo reason
		status      string // People error.status
		retryAfter  string
		wantMessage string
	}{
		{"people 429", FaultRateLimit429, listP, 429, "", "RATE_LIMIT_EXCEEDED", "RESOURCE_EXHAUSTED", "3", "Quota exceeded for quota metric"},
		{"people 403", FaultRateLimit403, listP, 403, "rateLimitExceeded", "", "PERMISSION_DENIED", "3", "Rate Limit Exceeded"},
		{"people 500", FaultBackend500, listP, 500, "backendError", "", "INTERNAL", "", ""},
		{"calendar 429", FaultRateLimit429, listC, 429, "rateLimitExceeded", "", "", "3", "Rate Limit Exceeded"},
		{"calendar 403", FaultRateLimit403, listC, 403, "rateLimitExceeded", "", "", "3", "Rate Limit Exceeded"},
		{"calendar 500", FaultBackend500, listC, 500, "backendError", "", "", "", "Backend Error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.FailNext(1, tc.kind)
			ge := apiErr(t, tc.call(), tc.code)
			if reason(ge) != tc.reason || detailReason(ge) != tc.detail || ge.Header.Get("Retry-After") != tc.retryAfter ||
				!strings.Contains(ge.Message, tc.wantMessage) {
				t.Fatalf("%s: %s (Retry-After %q)", tc.name, ge.Body, ge.Header.Get("Retry-After"))
			}
			if tc.status != "" && bodyStatus(t, ge) != tc.status {
				t.Fatalf("status: %s", ge.Body)
			}
			if err := tc.call(); err != nil {
				t.Fatalf("one-shot fault stuck: %v", err)
			}
		})
	}

	// a dropped connection is a transport error, not an API error
	f.FailNext(1, FaultDrop)
	_, err := ps.People.CreateContact(mkPerson("Drop", "Me", "")).Do()
	var ge *googleapi.Error
	if err == nil || errors.As(err, &ge) {
		t.Fatalf("drop: %v", err)
	}
	if len(e.srv.People(alice)) != 0 {
		t.Fatal("dropped request was applied")
	}

	// slow responses: served late, or the client gives up
	f.SetSlowDelay(300 * time.Millisecond)
	f.FailNext(1, FaultSlow)
	start := time.Now()
	if err := listC(); err != nil || time.Since(start) < 300*time.Millisecond {
		t.Fatalf("slow: %v after %v", err, time.Since(start))
	}
	f.FailNext(1, FaultSlow)
	ctx, cancel := context.WithTimeout(e.ctx, 50*time.Millisecond)
	defer cancel()
	_, err = cs.Events.List("primary").Context(ctx).Do()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("slow with deadline: %v", err)
	}

	// targets: a People fault does not hit Calendar
	f.FailNextOn(TargetPeople, 1, FaultBackend500)
	if err := listC(); err != nil {
		t.Fatal(err)
	}
	apiErr(t, listP(), 500)
	inj := f.Injected()
	if inj[FaultRateLimit429] != 2 || inj[FaultDrop] != 1 || inj[FaultSlow] != 2 {
		t.Fatalf("injected %v", inj)
	}
	if e.srv.Calls()["people.connections.list"] == 0 || e.srv.RequestCounts()["GET /calendar/v3/calendars/primary/events"] == 0 {
		t.Fatalf("counters %v", e.srv.Calls())
	}
}

func TestFaultRatesAreSeeded(t *testing.T) {
	pattern := func(seed int64) string {
		e := newEnv(t, func(o *Options) { o.Seed = seed })
		e.srv.Faults().SetRates(FaultRates{Backend500: 0.3, RateLimit429: 0.2})
		cs := e.calendar(alice)
		var b strings.Builder
		for i := 0; i < 40; i++ {
			_, err := cs.Events.List("primary").Do()
			var ge *googleapi.Error
			switch {
			case err == nil:
				b.WriteByte('.')
			case errors.As(err, &ge):
				b.WriteString(map[int]string{500: "5", 429: "4"}[ge.Code])
			default:
				t.Fatal(err)
			}
		}
		return b.String()
	}
	a, b := pattern(7), pattern(7)
	if a != b {
		t.Fatalf("same seed, different faults:\n%s\n%s", a, b)
	}
	if !strings.Contains(a, "5") || !strings.Contains(a, "4") || !strings.Contains(a, ".") {
		t.Fatalf("rates not applied: %s", a)
	}
}

func TestFaultOnTokenEndpoint(t *testing.T) {
	e := newEnv(t)
	cfg := e.oauthConfig()
	// AuthStyleAutoDetect would retry a failed first try with the other
	// style and hide the fault.
	cfg.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	e.srv.SetAutoApprove(alice)
	q, _, _ := e.authorize("GET", cfg.AuthCodeURL("s", oauth2.AccessTypeOffline), nil)
	e.srv.Faults().FailNextOn(TargetOAuth, 1, FaultBackend500)
	_, err := cfg.Exchange(e.ctx, q.Get("code"))
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response.StatusCode != 500 {
		t.Fatalf("token 500: %v", err)
	}
	// API requests are not affected by OAuth faults, and the code still works
	e.srv.Faults().FailNextOn(TargetOAuth, 1, FaultBackend500)
	if _, err := e.calendar(alice).Events.List("primary").Do(); err != nil {
		t.Fatal(err)
	}
	e.srv.Faults().Reset()
	if _, err := cfg.Exchange(e.ctx, q.Get("code")); err != nil {
		t.Fatal(err)
	}
}
