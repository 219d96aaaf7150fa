package access

import (
	"strings"
	"testing"
)

func TestPassword(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$") || strings.Contains(h, "correct horse") {
		t.Fatalf("unexpected hash %q", h)
	}
	if err := CheckPassword(h, "correct horse"); err != nil {
		t.Errorf("right password rejected: %v", err)
	}
	for _, bad := range []string{"", "correct hors", "correct horse "} {
		if err := CheckPassword(h, bad); err != ErrPassword {
			t.Errorf("CheckPassword(%q) = %v, want ErrPassword", bad, err)
		}
	}
	for _, enc := range []string{"", "$argon2id$", "$bcrypt$x$y$z$w", "$argon2id$v=19$m=x$aa$bb"} {
		if err := CheckPassword(enc, "correct horse"); err != ErrPassword {
			t.Errorf("CheckPassword(enc %q) = %v", enc, err)
		}
	}
	if _, err := HashPassword("short"); err == nil {
		t.Error("short password accepted")
	}
}

func TestToken(t *testing.T) {
	a, b := NewToken("tnd_"), NewToken("tnd_")
	if a == b || !strings.HasPrefix(a, "tnd_") || len(a) < 40 {
		t.Fatalf("tokens %q %q", a, b)
	}
	if HashToken(a) == HashToken(b) || len(HashToken(a)) != 64 {
		t.Fatal("bad token hash")
	}
}
