package settings

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/secret"
)

type memStorage map[string]string

func (m memStorage) GetSetting(_ context.Context, code string) (string, bool, error) {
	v, ok := m[code]
	return v, ok, nil
}
func (m memStorage) PutSetting(_ context.Context, code, value, _ string, del bool) error {
	if del {
		delete(m, code)
	} else {
		m[code] = value
	}
	return nil
}
func (m memStorage) ListSettings(context.Context) (map[string]string, error) { return m, nil }

func TestNormalize(t *testing.T) {
	tests := []struct {
		code, raw, want, errKey string
	}{
		{"SimultaneousChats", " 3 ", "3", ""},
		{"SimultaneousChats", "0", "", "error.out_of_range"},
		{"SimultaneousChats", "two", "", "error.invalid_number"},
		{"MailboxSyncInterval", "1441", "", "error.out_of_range"},
		{"UseSharedGoogleApp", "false", "false", ""},
		{"UseSharedGoogleApp", "maybe", "", "error.invalid"},
		{"SiteUrl", "https://crm.example.com/", "https://crm.example.com", ""},
		{"SiteUrl", "ftp://x", "", "error.invalid_url"},
		{"SiteUrl", "crm.example.com", "", "error.invalid_url"},
		{"CalendarIntegration", "google", "google", ""},
		{"CalendarIntegration", "both", "", "error.unknown_value"},
		{"GoogleClientId", strings.Repeat("x", 2001), "", "error.too_long:2000"},
		{"OmniChatNotificationSound", EncodeFile("a.mp3", "audio/mpeg", []byte{1}), EncodeFile("a.mp3", "audio/mpeg", []byte{1}), ""},
		{"OmniChatNotificationSound", EncodeFile("a.exe", "application/x", []byte{1}), "", "error.wrong_file_type"},
		{"OmniChatNotificationSound", EncodeFile("a.mp3", "audio/mpeg", make([]byte, 2<<20)), "", "error.too_large"},
	}
	for _, tt := range tests {
		d, ok := Lookup(tt.code)
		if !ok {
			t.Fatalf("%s not registered", tt.code)
		}
		got, key := d.Normalize(tt.raw)
		if got != tt.want || key != tt.errKey {
			t.Errorf("%s %.30q: got (%.30q, %q), want (%.30q, %q)", tt.code, tt.raw, got, key, tt.want, tt.errKey)
		}
	}
}

func TestServiceSecretsAndDefaults(t *testing.T) {
	ctx := context.Background()
	box, _ := secret.New(bytes.Repeat([]byte{3}, secret.KeySize))
	st := memStorage{}
	s := New(st, box)
	if s.Int(ctx, "SimultaneousChats") != 2 || s.Int(ctx, "OmniChatOperatorAcceptChatTimeout") != 5 {
		t.Fatal("defaults wrong")
	}
	if err := s.Put(ctx, "GoogleClientSecret", "GOCSPX-supersecret", "u1"); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(st["GoogleClientSecret"], "supersecret") {
		t.Fatal("secret stored in plain text")
	}
	if v, err := s.Get(ctx, "GoogleClientSecret"); err != nil || v != "GOCSPX-supersecret" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	list, _ := s.List(ctx)
	for _, e := range list {
		if e.Code == "GoogleClientSecret" && (e.Value != "••••••et" || !e.IsSet) {
			t.Errorf("masked value %q", e.Value)
		}
	}
	var inv *InvalidError
	if err := s.Put(ctx, "SimultaneousChats", "-1", "u1"); !errors.As(err, &inv) {
		t.Errorf("bad value accepted: %v", err)
	}
	if err := s.Put(ctx, "Nope", "1", "u1"); err != ErrUnknown {
		t.Errorf("unknown code: %v", err)
	}
	s.Put(ctx, "SimultaneousChats", "4", "u1")
	s.Put(ctx, "SimultaneousChats", "", "u1")
	if s.Int(ctx, "SimultaneousChats") != 2 {
		t.Error("empty value did not reset to default")
	}
}

// countingStorage counts reads, to see the cache answer.
type countingStorage struct {
	memStorage
	reads int
}

func (c *countingStorage) GetSetting(ctx context.Context, code string) (string, bool, error) {
	c.reads++
	return c.memStorage.GetSetting(ctx, code)
}

func TestServiceCache(t *testing.T) {
	ctx := context.Background()
	box, _ := secret.New(bytes.Repeat([]byte{3}, secret.KeySize))
	st := &countingStorage{memStorage: memStorage{}}
	now := time.Unix(1_000_000, 0)
	s := New(st, box)
	s.now = func() time.Time { return now }
	other := New(st, box) // another process, as far as s can tell

	if s.Int(ctx, "SimultaneousChats") != 2 || s.Int(ctx, "SimultaneousChats") != 2 {
		t.Fatal("default wrong")
	}
	if st.reads != 1 {
		t.Fatalf("two reads within MaxAge cost %d storage reads, want 1", st.reads)
	}
	// Its own put is seen at once.
	if err := s.Put(ctx, "SimultaneousChats", "3", "u1"); err != nil {
		t.Fatal(err)
	}
	if n := s.Int(ctx, "SimultaneousChats"); n != 3 {
		t.Fatalf("after own put: %d, want 3", n)
	}
	// Another's put: the cached value until MaxAge has passed.
	if err := other.Put(ctx, "SimultaneousChats", "5", "u1"); err != nil {
		t.Fatal(err)
	}
	if n := s.Int(ctx, "SimultaneousChats"); n != 3 {
		t.Fatalf("within MaxAge: %d, want the cached 3", n)
	}
	now = now.Add(DefaultMaxAge)
	if n := s.Int(ctx, "SimultaneousChats"); n != 5 {
		t.Fatalf("after MaxAge: %d, want 5", n)
	}
	// MaxAge 0: every read goes to storage.
	s.MaxAge = 0
	before := st.reads
	s.Int(ctx, "SimultaneousChats")
	s.Int(ctx, "SimultaneousChats")
	if st.reads-before != 2 {
		t.Fatalf("uncached reads: %d, want 2", st.reads-before)
	}
}
