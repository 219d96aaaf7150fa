package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/app"
	"github.com/tandem-crm/tandem/internal/bench"
	"github.com/tandem-crm/tandem/internal/config"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/emulator/google"
	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/syncer"
	"github.com/tandem-crm/tandem/internal/testenv/storetest"
)

// TestSyncCommands runs `tandem sync run` and `tandem sync list` on a data
// folder with a Google account connected through OAuth to the emulator.
func TestSyncCommands(t *testing.T) {
	data := t.TempDir()
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	t.Setenv("TANDEM_DATA", data)
	t.Setenv("TANDEM_SECRET_KEY", key)
	t.Setenv("TANDEM_LOG_LEVEL", "error")
	ctx := context.Background()

	em := google.New(google.Options{Seed: 3})
	base, err := em.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { em.Close() })
	const gmail = "ann@gmail.com"
	em.AddUser(gmail, "Ann")

	// A user with three tagged contacts and a Google account connected.
	a, err := app.Open(ctx, &config.Config{DataDir: data, SecretKey: key}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := bench.ConfigureGoogle(ctx, a.Settings, em, base); err != nil {
		t.Fatal(err)
	}
	v := storetest.User(t, a.Store, "ann@example.com")
	tag := &crm.Tag{Name: "Google"}
	if err := a.Store.SaveTag(ctx, v, tag); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"Ann Lee", "Bob Stone", "Иван Петров"} {
		if err := a.Store.CreateContact(ctx, v, &crm.Contact{Name: n, Tags: []crm.TagRef{{ID: tag.ID}}}); err != nil {
			t.Fatal(err)
		}
	}
	conn, err := bench.ConnectGoogle(ctx, a.OAuth, em, v.UserID, gmail)
	if err != nil {
		t.Fatal(err)
	}
	a.Close(ctx)

	var out, errb bytes.Buffer
	do := func(args ...string) error {
		out.Reset()
		errb.Reset()
		return run(args, &out, &errb)
	}

	// Listed, never run; the binding appears once it exists.
	if err := do("sync", "list"); err != nil {
		t.Fatalf("list: %v\n%s", err, errb.String())
	}
	for _, want := range []string{conn.ID, "ann@example.com", gmail + " (google)", "active", "never"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("list lacks %q:\n%s", want, out.String())
		}
	}
	if err := do("sync", "run", "--connection", conn.ID); err == nil || !strings.Contains(err.Error(), "no enabled binding") {
		t.Errorf("run without a binding: %v", err)
	}
	enable(t, ctx, data, key, conn.ID, v, tag.ID)

	// The run exports the three contacts and reports it.
	if err := do("sync", "run", "--connection", conn.ID); err != nil {
		t.Fatalf("run: %v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "connection "+conn.ID) ||
		!strings.Contains(out.String(), "remote: 3 created, 0 updated, 0 removed  conflicts 0  skipped 0") {
		t.Errorf("run output:\n%s", out.String())
	}
	// The progress line ends on the counts the summary gives.
	_, summary, _ := strings.Cut(out.String(), "  contact  ")
	summary, _, _ = strings.Cut(summary, "\n")
	lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
	if last := lines[len(lines)-1]; summary == "" || !strings.HasPrefix(last, "contact ") || !strings.Contains(last, summary) {
		t.Errorf("progress:\n%s", errb.String())
	}
	if n := len(em.People(gmail)); n != 3 {
		t.Errorf("%d contacts in Google, want 3", n)
	}

	// A change in Google comes back; JSON output.
	if _, err := em.CreateContact(gmail, map[string]any{"names": []any{map[string]any{"givenName": "Zoë", "familyName": "Novak"}},
		"memberships": []any{map[string]any{"contactGroupMembership": map[string]any{"contactGroupResourceName": group(t, em, gmail)}}}}); err != nil {
		t.Fatal(err)
	}
	if err := do("sync", "run", "--connection", conn.ID, "--json"); err != nil {
		t.Fatalf("run --json: %v\n%s", err, errb.String())
	}
	var res struct {
		Connection string
		Stats      map[string]reconcile.Stats
		Error      string
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || res.Connection != conn.ID || res.Stats["contact"].LocalCreated != 1 || res.Error != "" {
		t.Errorf("run --json: %v %+v\n%s", err, res, out.String())
	}

	if err := do("sync", "list"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"contact", "enabled", "contactGroups/", "ok", "local +1 ~0 -0, remote +0 ~0 -0"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("list lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "never") {
		t.Errorf("list after runs:\n%s", out.String())
	}

	// A failing run exits with the error, and the list shows it.
	em.Revoke(gmail)
	em.ExpireAccessTokens()
	err = do("sync", "run", "--connection", conn.ID)
	if err == nil || !strings.Contains(err.Error(), "sync run:") {
		t.Fatalf("run with a revoked grant: %v\n%s", err, out.String())
	}
	t.Logf("failed run: %v", err)
	if err := do("sync", "list"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "failed: ") {
		t.Errorf("list after a revoked grant:\n%s", out.String())
	}

	// Usage errors.
	for _, args := range [][]string{{"sync"}, {"sync", "frob"}, {"sync", "run"}, {"sync", "run", "--connection", "nope"}} {
		if err := do(args...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

func enable(t *testing.T, ctx context.Context, data, key, connID string, v access.Viewer, tagID string) {
	t.Helper()
	a, err := app.Open(ctx, &config.Config{DataDir: data, SecretKey: key}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(ctx)
	if err := a.Sync.SaveContactSettings(ctx, v, connID, true, syncer.ContactSettings{TagID: tagID}); err != nil {
		t.Fatal(err)
	}
}

func group(t *testing.T, em *google.Server, email string) string {
	t.Helper()
	for _, g := range em.ContactGroups(email) {
		if g["name"] == "Tandem" {
			rn, _ := g["resourceName"].(string)
			return rn
		}
	}
	t.Fatal("no Tandem group")
	return ""
}
