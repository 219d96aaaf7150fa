package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/app"
	"github.com/tandem-crm/tandem/internal/testenv"
)

// apiClient calls the demo's API as a user would from outside.
type apiClient struct {
	t     *testing.T
	base  string
	token string
}

func (c *apiClient) do(method, path string, in any, want int, out any) {
	c.t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			c.t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
}

type contactJSON struct {
	Name   string `json:"name"`
	Phones []struct {
		Number string `json:"number"`
	} `json:"phones"`
}

type activityJSON struct {
	Title   string   `json:"title"`
	Start   string   `json:"start"`
	RRule   string   `json:"rrule"`
	ExDates []string `json:"exdates"`
}

func (c *apiClient) contacts() map[string]contactJSON {
	var l struct{ Items []contactJSON }
	c.do("GET", "/api/v1/contacts?limit=200", nil, http.StatusOK, &l)
	out := map[string]contactJSON{}
	for _, x := range l.Items {
		out[x.Name] = x
	}
	return out
}

func (c *apiClient) activities() map[string]activityJSON {
	var l struct{ Items []activityJSON }
	c.do("GET", "/api/v1/activities?limit=200", nil, http.StatusOK, &l)
	out := map[string]activityJSON{}
	for _, x := range l.Items {
		out[x.Title] = x
	}
	return out
}

// waitOutput waits until the demo printed n lines containing s.
func waitOutput(t *testing.T, out *testenv.Buffer, s string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(out.String(), s) < n {
		if time.Now().After(deadline) {
			t.Fatalf("the demo did not print %d × %q:\n%s", n, s, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// printed returns the value after label on the summary's line.
func printed(t *testing.T, out, label string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^  ` + label + `\s+(.+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %q line in:\n%s", label, out)
	}
	return strings.TrimSpace(m[1])
}

func TestRun(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // the data folder goes here
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &testenv.Buffer{}
	input, typing := io.Pipe()
	defer typing.Close()
	ready := make(chan Info, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Addr: "127.0.0.1:0", Out: out, Input: input, Ready: func(i Info) { ready <- i }})
	}()
	var info Info
	select {
	case info = <-ready:
	case err := <-done:
		t.Fatalf("the demo ended before it was ready: %v\n%s", err, out)
	case <-time.After(60 * time.Second):
		t.Fatalf("the demo is not ready after a minute:\n%s", out)
	}
	summary := out.String()

	// The printed address answers, and the printed sign-in works.
	url, email, password := printed(t, summary, "Open"), printed(t, summary, "Sign in"), printed(t, summary, "Password")
	if url != info.URL || email != info.Email || password != info.Password {
		t.Fatalf("printed %s %s %s, running %+v", url, email, password, info)
	}
	resp, err := http.Get(url + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %v %v", err, resp)
	}
	resp.Body.Close()
	c := &apiClient{t: t, base: url}
	var tok struct{ Token string }
	c.do("POST", "/api/v1/auth/token", map[string]string{"email": email, "password": password}, http.StatusCreated, &tok)
	c.token = tok.Token
	if _, err := os.Stat(info.DataDir); err != nil || !strings.HasPrefix(info.DataDir, tmp) {
		t.Fatalf("data folder %s: %v", info.DataDir, err)
	}

	// The connection is active and both bindings ran without error.
	var conns struct {
		Items []struct{ ID, Status, AccountEmail string }
	}
	c.do("GET", "/api/v1/connections", nil, http.StatusOK, &conns)
	if len(conns.Items) != 1 || conns.Items[0].Status != "active" || conns.Items[0].ID != info.ConnectionID {
		t.Fatalf("connections %+v, want %s active", conns.Items, info.ConnectionID)
	}
	for _, kind := range []string{"contacts", "calendar"} {
		var b struct {
			Enabled   bool       `json:"enabled"`
			Auto      bool       `json:"auto"`
			LastRunAt *time.Time `json:"last_run_at"`
			LastError string     `json:"last_error"`
		}
		c.do("GET", "/api/v1/connections/"+info.ConnectionID+"/"+kind, nil, http.StatusOK, &b)
		if !b.Enabled || !b.Auto || b.LastRunAt == nil || b.LastError != "" {
			t.Errorf("%s binding %+v, want enabled, automatic, run without error", kind, b)
		}
	}
	// What the first sync did, per binding.
	for label, want := range map[string]string{
		"Contacts": "3 read from Google, 1 created in Tandem, 2 created in Google",
		"Calendar": "3 read from Google, 3 created in Tandem, 3 created in Google",
	} {
		if got := printed(t, summary, label); !strings.HasSuffix(got, want) {
			t.Errorf("%s line %q, want it to end with %q", label, got, want)
		}
	}

	// Google has Tandem's tagged contacts in the "Tandem" group, Tandem
	// has the contact of that group and the Google events.
	grp, err := groupNamed(info.Google, groupName)
	if err != nil {
		t.Fatal(err)
	}
	var members []string
	for _, p := range info.Google.People(GoogleAccount) {
		ms, _ := json.Marshal(p["memberships"])
		if bytes.Contains(ms, []byte(`"`+grp+`"`)) {
			n := p["names"].([]any)[0].(map[string]any)
			members = append(members, fmt.Sprint(n["givenName"], " ", n["familyName"]))
		}
	}
	slices.Sort(members)
	if want := []string{"Erin Eckert", "Nina Novak", "Oleg Orlov"}; !slices.Equal(members, want) {
		t.Errorf("the %q group in Google holds %v, want %v", groupName, members, want)
	}
	contacts := c.contacts()
	if _, ok := contacts["Erin Eckert"]; !ok {
		t.Errorf("Erin Eckert was not brought into Tandem: %v", contacts)
	}
	acts := c.activities()
	for _, title := range []string{"Call with Carla Castillo", "Team sync", "Trade fair"} {
		if _, ok := acts[title]; !ok {
			t.Errorf("the Google event %q is not in Tandem", title)
		}
	}
	if acts["Team sync"].RRule == "" {
		t.Error("the Google weekly series came into Tandem without its rule")
	}
	var inGoogle []string
	for _, e := range info.Google.Events(GoogleAccount, "primary") {
		inGoogle = append(inGoogle, fmt.Sprint(e["summary"]))
		if e["summary"] == "Pipeline review" && e["recurrence"] == nil {
			t.Error("the weekly series went to Google without its rule")
		}
	}
	for _, title := range []string{"Kick-off with Northwind", "Call Oleg about the pilot", "Pipeline review"} {
		if !slices.Contains(inGoogle, title) {
			t.Errorf("%q did not go to Google: %v", title, inGoogle)
		}
	}
	if slices.Contains(inGoogle, "Send the pilot proposal to Contoso") {
		t.Error("a task not shown in the calendar went to Google")
	}

	// Each Enter makes the next scripted change in Google; a sync brings
	// them all into Tandem.
	callBefore := acts["Call with Carla Castillo"].Start
	for range googleChanges(time.Now()) {
		if _, err := typing.Write([]byte("\n")); err != nil {
			t.Fatal(err)
		}
	}
	waitOutput(t, out, "In Google, Alice", len(googleChanges(time.Now())))
	if strings.Contains(out.String(), "Could not make the change") {
		t.Fatalf("a scripted change failed:\n%s", out)
	}
	var queued struct {
		JobID int64 `json:"job_id"`
	}
	c.do("POST", "/api/v1/connections/"+info.ConnectionID+"/sync", nil, http.StatusAccepted, &queued)
	deadline := time.Now().Add(20 * time.Second)
	for {
		var j struct{ State string }
		c.do("GET", fmt.Sprint("/api/v1/jobs/", queued.JobID), nil, http.StatusOK, &j)
		if j.State == "completed" {
			break
		}
		if j.State != "available" && j.State != "running" && j.State != "scheduled" || time.Now().After(deadline) {
			t.Fatalf("sync job %d is %s", queued.JobID, j.State)
		}
		time.Sleep(20 * time.Millisecond)
	}
	contacts, acts = c.contacts(), c.activities()
	if _, ok := contacts["Dmitri Dorn"]; !ok {
		t.Error("Dmitri Dorn, added to the group in Google, is not in Tandem")
	}
	if p := contacts["Nina Novak"].Phones; len(p) != 1 || p[0].Number != "+49 30 5550 199" {
		t.Errorf("Nina's phone changed in Google is %+v in Tandem", p)
	}
	if _, ok := acts["Lunch with Dmitri Dorn"]; !ok {
		t.Error("the event added in Google is not in Tandem")
	}
	before, _ := time.Parse(time.RFC3339, callBefore)
	after, _ := time.Parse(time.RFC3339, acts["Call with Carla Castillo"].Start)
	if after.Sub(before) != time.Hour {
		t.Errorf("the call moved in Google starts at %s in Tandem, was %s", after, before)
	}
	if len(acts["Team sync"].ExDates) != 1 {
		t.Errorf("the occurrence cancelled in Google: exdates %v", acts["Team sync"].ExDates)
	}

	// Ctrl-C: a clean stop that removes the data folder.
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after cancel: %v\n%s", err, out)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the demo did not stop")
	}
	if _, err := os.Stat(info.DataDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("data folder after the stop: %v", err)
	}
	if _, err := http.Get(url + "/healthz"); err == nil {
		t.Error("Tandem still answers after the stop")
	}
	if _, err := http.Get(info.GoogleURL + "/healthz"); err == nil {
		t.Error("the emulator still answers after the stop")
	}
}

func TestTakenPort(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	tests := []struct {
		name       string
		opts       Options
		flag       string
		keepFolder bool
	}{
		{"Tandem's port", Options{Addr: taken.Addr().String()}, "--addr", false},
		{"the emulator's port", Options{Addr: "127.0.0.1:0", EmulatorAddr: taken.Addr().String()}, "--emulator-addr", false},
		{"the emulator's port, --keep", Options{Addr: "127.0.0.1:0", EmulatorAddr: taken.Addr().String(), Keep: true}, "--emulator-addr", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp)
			var out bytes.Buffer
			tt.opts.Out = &out
			err := Run(context.Background(), tt.opts)
			if !errors.Is(err, app.ErrAddrInUse) || !strings.Contains(err.Error(), taken.Addr().String()) ||
				!strings.Contains(err.Error(), tt.flag) {
				t.Fatalf("Run: %v, want %v naming %s and %s", err, app.ErrAddrInUse, taken.Addr(), tt.flag)
			}
			left, _ := os.ReadDir(tmp)
			if tt.keepFolder {
				if len(left) != 1 || !strings.Contains(out.String(), left[0].Name()) {
					t.Errorf("--keep: folders %v, output %q", left, out.String())
				}
			} else if len(left) != 0 {
				t.Errorf("left behind: %v", left)
			}
		})
	}
}

func TestSiteURL(t *testing.T) {
	tests := []struct{ addr, want string }{
		{"127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"0.0.0.0:8080", "http://127.0.0.1:8080"},
		{"[::]:8080", "http://127.0.0.1:8080"},
		{"[::1]:9000", "http://[::1]:9000"},
	}
	for _, tt := range tests {
		a, err := net.ResolveTCPAddr("tcp", tt.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := siteURL(a); got != tt.want {
			t.Errorf("siteURL(%s) = %s, want %s", tt.addr, got, tt.want)
		}
	}
}
