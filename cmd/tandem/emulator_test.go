package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/testenv"
	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

// Every verb answers -h and --help with its usage and success, and opens
// no data folder doing so.
func TestHelp(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	t.Setenv("TANDEM_DATA", data)
	for _, args := range [][]string{
		{"help"}, {"-h"}, {"--help"},
		{"serve", "-h"}, {"serve", "--help"}, {"worker", "--help"}, {"migrate", "-h"},
		{"user", "--help"}, {"user", "create", "-h"}, {"user", "passwd", "--help"},
		{"sync", "-h"}, {"sync", "run", "--help"}, {"sync", "list", "-h"},
		{"bench", "--help"}, {"bench", "store", "-h"}, {"bench", "sync", "--help"},
		{"emulator", "--help"}, {"emulator", "google", "--help"}, {"emulator", "google", "-h"},
		{"emulator", "messenger", "--help"},
	} {
		var out, errb bytes.Buffer
		if status := exitStatus(run(args, &out, &errb), &errb); status != 0 {
			t.Errorf("%v: exit status %d: %s", args, status, errb.String())
		}
		if !strings.Contains(out.String()+errb.String(), "Usage") {
			t.Errorf("%v printed no usage: %q %q", args, out.String(), errb.String())
		}
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("asking for help made the data folder: %v", err)
	}
	var out, errb bytes.Buffer
	if status := exitStatus(run(nil, &out, &errb), &errb); status == 0 || !strings.Contains(errb.String(), "Usage") {
		t.Errorf("no command: status %d %q", status, errb.String())
	}
}

// With Tandem on a port other than 8080, the settings `tandem emulator
// google --tandem-url` prints are all it takes to connect a Google account
// first time: SiteUrl among them, and the redirect URI Tandem sends is the
// one the emulator accepts.
func TestEmulatorGoogleAnyPort(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	if strings.HasSuffix(s.URL, ":8080") {
		t.Skip("Tandem landed on 8080, the default this test must avoid")
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb testenv.Buffer
	done := make(chan error, 1)
	go func() {
		done <- emulatorGoogle(ctx, []string{"--addr", "127.0.0.1:0", "--tandem-url", s.URL + "/", "--auto-approve", "alice@example.com"}, &out, &errb)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("emulator: %v\n%s", err, errb.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "Press Ctrl-C") {
		if time.Now().After(deadline) {
			t.Fatalf("emulator did not start: %q %q", out.String(), errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}

	// Enter the printed settings, as an administrator would.
	printed := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && strings.HasPrefix(sc.Text(), "    ") {
			printed[f[0]] = f[1]
		}
	}
	redirect := s.URL + "/oauth/google/callback"
	if printed["SiteUrl"] != s.URL || !strings.Contains(out.String(), "Redirect URI the emulator accepts: "+redirect+"\n") {
		t.Fatalf("printed %q", out.String())
	}
	for _, code := range []string{"SiteUrl", "CalendarIntegration", "UseSharedGoogleApp", "GoogleClientId", "GoogleClientSecret",
		"GoogleApiUrl", "GoogleAuthUrl", "GoogleTokenUrl", "GoogleUserInfoUrl"} {
		v, ok := printed[code]
		if !ok {
			t.Fatalf("%s not printed: %q", code, out.String())
		}
		if v == "off" {
			v = "false" // a check box in the form
		}
		if err := s.App.Settings.Put(ctx, code, v, "test"); err != nil {
			t.Fatalf("%s=%s: %v", code, v, err)
		}
	}

	// Connect Google in the browser: consent (auto-approved), back to Tandem.
	api := s.NewUser(t, "ann@example.com")
	b := s.Browser(t, "ann@example.com", "user-password-1")
	p := b.Post(t, "/oauth/google/start", nil)
	if p.Status != http.StatusOK || !strings.HasPrefix(p.URL, s.URL) || strings.Contains(p.Body, "redirect_uri_mismatch") {
		t.Fatalf("connect: %d at %s: %.500s", p.Status, p.URL, p.Body)
	}
	var conns struct {
		Items []struct {
			Status       string `json:"status"`
			AccountEmail string `json:"account_email"`
		}
	}
	api.JSON(t, "GET", "/api/v1/connections", nil, http.StatusOK, &conns)
	if len(conns.Items) != 1 || conns.Items[0].Status != "active" || conns.Items[0].AccountEmail != "alice@example.com" {
		t.Fatalf("connections %+v", conns)
	}
}

// The quota flags set the emulator's quotas (0 turns one off), and its
// admin endpoint reports them.
func TestEmulatorGoogleQuotaFlags(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb testenv.Buffer
	done := make(chan error, 1)
	go func() {
		done <- emulatorGoogle(ctx, []string{"--addr", "127.0.0.1:0", "--quota-critical-writes=7", "--quota-writes", "0"}, &out, &errb)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("emulator: %v\n%s", err, errb.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "Press Ctrl-C") {
		if time.Now().After(deadline) {
			t.Fatalf("emulator did not start: %q %q", out.String(), errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	line, _, _ := strings.Cut(out.String(), "\n")
	base := strings.TrimPrefix(line, "Google emulator listening on ")
	resp, err := http.Get(base + "/emulator/quotas")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var q map[string]int
	if err := json.NewDecoder(resp.Body).Decode(&q); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"peopleCriticalReads": 90, "peopleCriticalWrites": 7, "peopleWrites": 0, "peopleGroupReads": 90, "calendar": 0, "peopleFullSyncFirstPages": 0}
	for k, v := range want {
		if q[k] != v {
			t.Errorf("%s = %d, want %d (all: %v)", k, q[k], v, q)
		}
	}
	var errOut bytes.Buffer
	if err := emulatorGoogle(context.Background(), []string{"--quota-writes=-1"}, &bytes.Buffer{}, &errOut); err == nil {
		t.Error("a negative quota was accepted")
	}
}

// `tandem emulator messenger` prints the app, the redirect URI it accepts
// for --tandem-url, the demo page and customers; the printed values work
// against it: the login dialog sends a code back to the redirect URI, the
// code buys a token with the printed secret, and the control API plays
// the printed customer.
func TestEmulatorMessenger(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb testenv.Buffer
	done := make(chan error, 1)
	go func() {
		done <- emulatorMessenger(ctx, []string{"--addr", "127.0.0.1:0", "--tandem-url", "http://127.0.0.1:9191/", "--auto-approve"}, &out, &errb)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("emulator: %v\n%s", err, errb.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "Press Ctrl-C") {
		if time.Now().After(deadline) {
			t.Fatalf("emulator did not start: %q %q", out.String(), errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	printed := map[string]string{}
	var base, page, psid string
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "Messenger emulator listening on "); ok {
			base = v
		}
		for _, k := range []string{"App id", "App secret", "Redirect URI"} {
			if v, ok := strings.CutPrefix(line, "  "+k+" "); ok {
				printed[k] = strings.TrimSpace(v)
			}
		}
		if _, rest, ok := strings.Cut(line, "manages the page Demo Shop ("); ok {
			page = strings.TrimSuffix(rest, ").")
		}
		if f := strings.Fields(line); len(f) == 3 && f[1] == "Carla" && psid == "" {
			psid = f[0]
		}
	}
	redirect := "http://127.0.0.1:9191/oauth/facebook/callback"
	if base == "" || page == "" || psid == "" || printed["Redirect URI"] != redirect || printed["App id"] == "" {
		t.Fatalf("printed %q (base %q page %q psid %q %v)", out.String(), base, page, psid, printed)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(base + "/v21.0/dialog/oauth?" + url.Values{"client_id": {printed["App id"]}, "redirect_uri": {redirect},
		"state": {"s"}, "scope": {"pages_show_list,pages_manage_metadata,pages_messaging"}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc.String(), redirect+"?") || loc.Query().Get("code") == "" {
		t.Fatalf("dialog: %d %s", resp.StatusCode, loc)
	}
	resp, err = http.Get(base + "/v21.0/oauth/access_token?" + url.Values{"client_id": {printed["App id"]}, "client_secret": {printed["App secret"]},
		"redirect_uri": {redirect}, "code": {loc.Query().Get("code")}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if resp.StatusCode != 200 || tok.AccessToken == "" {
		t.Fatalf("token exchange: %d", resp.StatusCode)
	}
	body, _ := json.Marshal(map[string]string{"page": page, "psid": psid, "text": "Hello"})
	resp, err = http.Post(base+"/emulator/customers/messages", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("customer message: %d", resp.StatusCode)
	}
}
