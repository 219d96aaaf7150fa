package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/store"
)

func TestCLI(t *testing.T) {
	data := t.TempDir()
	t.Setenv("TANDEM_DATA", data)
	t.Setenv("TANDEM_LOG_LEVEL", "error")
	var out, errb bytes.Buffer
	if err := run([]string{"version"}, &out, &errb); err != nil || !strings.HasPrefix(out.String(), "tandem ") {
		t.Fatalf("version: %v %q", err, out.String())
	}
	if err := run([]string{"migrate"}, &out, &errb); err != nil {
		t.Fatalf("migrate: %v\n%s", err, errb.String())
	}
	st, err := os.Stat(filepath.Join(data, "secret.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", err, st)
	}
	out.Reset()
	if err := run([]string{"user", "create", "--email", "Ann@Example.com", "--name", "Ann", "--password", "secret-pass-1", "--admin"}, &out, &errb); err != nil {
		t.Fatalf("user create: %v\n%s", err, errb.String())
	}
	if err := run([]string{"user", "create", "--email", "ann@example.com", "--password", "secret-pass-1"}, &out, &errb); err == nil {
		t.Error("duplicate user accepted")
	}
	if err := run([]string{"user", "passwd", "--email", "ann@example.com", "--password", "other-pass-2"}, &out, &errb); err != nil {
		t.Fatalf("passwd: %v", err)
	}
	if err := run([]string{"user", "passwd", "--email", "nobody@example.com", "--password", "other-pass-2"}, &out, &errb); err == nil {
		t.Error("passwd for unknown user succeeded")
	}
	s, err := store.Open(context.Background(), store.Options{SQLitePath: filepath.Join(data, "tandem.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u, err := s.Authenticate(context.Background(), "ann@example.com", "other-pass-2")
	if err != nil {
		t.Fatalf("login with new password: %v", err)
	}
	v, _ := s.Viewer(context.Background(), u.ID)
	if !v.Can(access.OpManageAdministration) {
		t.Error("--admin did not grant administration")
	}
	if err := run([]string{"frobnicate"}, &out, &errb); err == nil {
		t.Error("unknown command accepted")
	}
}

func TestFirstStartAdmin(t *testing.T) {
	data := t.TempDir()
	t.Setenv("TANDEM_DATA", data)
	t.Setenv("TANDEM_LOG_LEVEL", "error")
	t.Setenv("TANDEM_ADDR", "127.0.0.1:0")
	var out, errb bytes.Buffer
	// serve runs until its context ends.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := serve(ctx, nil, &out, &errb); err != nil {
		t.Fatalf("serve: %v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "admin@localhost") || !strings.Contains(out.String(), "password") {
		t.Fatalf("first start did not print the admin password: %q", out.String())
	}
	out.Reset()
	ctx, cancel = context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := serve(ctx, nil, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if out.Len() != 0 {
		t.Errorf("second start printed %q", out.String())
	}
}
