package secret

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestSealOpen(t *testing.T) {
	key := bytes.Repeat([]byte{7}, KeySize)
	b, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	s := b.Seal("hunter2", "setting:X")
	if bytes.Contains([]byte(s), []byte("hunter2")) {
		t.Fatal("plaintext visible in sealed value")
	}
	if got, err := b.Open(s, "setting:X"); err != nil || got != "hunter2" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := b.Open(s, "setting:Y"); err != ErrKey {
		t.Fatalf("wrong associated data: err = %v, want ErrKey", err)
	}
	other, _ := New(bytes.Repeat([]byte{8}, KeySize))
	if _, err := other.Open(s, "setting:X"); err != ErrKey {
		t.Fatalf("wrong key: err = %v, want ErrKey", err)
	}
	for _, bad := range []string{"", "hunter2", "v1:", "v1:!!!", "v1:AAAA"} {
		if _, err := b.Open(bad, "setting:X"); err != ErrKey {
			t.Errorf("Open(%q) err = %v, want ErrKey", bad, err)
		}
	}
	if b.Seal("x", "a") == b.Seal("x", "a") {
		t.Error("nonces repeat")
	}
}

func TestLoadKey(t *testing.T) {
	dir := t.TempDir()
	k1, err := LoadKey("", dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", st.Mode().Perm())
	}
	k2, err := LoadKey("", dir)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("second load differs: %v", err)
	}
	env := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, KeySize))
	k3, err := LoadKey(env, dir)
	if err != nil || !bytes.Equal(k3, bytes.Repeat([]byte{1}, KeySize)) {
		t.Fatalf("env key: %v", err)
	}
	for _, bad := range []string{"notbase64!", base64.StdEncoding.EncodeToString([]byte("short"))} {
		if _, err := LoadKey(bad, dir); err == nil {
			t.Errorf("LoadKey(%q) accepted a bad key", bad)
		}
	}
}

func TestReadKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := ReadKey("", dir); !errors.Is(err, ErrNoKey) {
		t.Fatalf("no key: %v, want ErrNoKey", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("ReadKey created the folder: %v", err)
	}
	k1, err := LoadKey("", dir)
	if err != nil {
		t.Fatal(err)
	}
	if k2, err := ReadKey("", dir); err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("ReadKey after LoadKey: %v", err)
	}
	env := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, KeySize))
	if k, err := ReadKey(env, t.TempDir()); err != nil || !bytes.Equal(k, bytes.Repeat([]byte{2}, KeySize)) {
		t.Fatalf("env key: %v", err)
	}
}
