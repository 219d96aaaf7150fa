package crm

import (
	"errors"
	"strings"
	"testing"
)

func TestCaseNormalizeValidate(t *testing.T) {
	tests := []struct {
		name  string
		k     Case
		field string // "" means valid
		key   string
	}{
		{"defaults", Case{Subject: " Не работает вход "}, "", ""},
		{"every field", Case{Subject: "Refund", Description: "Line 1\nLine 2", Status: CaseWaiting, Priority: CaseUrgent,
			ContactID: "c1", AccountID: "a1", SourceChatID: " chat-1 ", Access: []Grant{{RoleID: "r", Level: AccessEdit}}}, "", ""},
		{"no subject", Case{Description: "x"}, "subject", ErrRequired},
		{"blank subject", Case{Subject: " \t "}, "subject", ErrRequired},
		{"long subject", Case{Subject: strings.Repeat("я", MaxName+1)}, "subject", TooLong(MaxName)},
		{"cyrillic subject at limit", Case{Subject: strings.Repeat("я", MaxName)}, "", ""},
		{"long description", Case{Subject: "x", Description: strings.Repeat("x", MaxText+1)}, "description", TooLong(MaxText)},
		{"control character", Case{Subject: "a\x07b"}, "subject", ErrInvalid},
		{"invalid utf8", Case{Subject: "x", Description: "\xff"}, "description", ErrInvalid},
		{"unknown status", Case{Subject: "x", Status: "reopened"}, "status", ErrUnknownEnum},
		{"status in capitals", Case{Subject: "x", Status: "NEW"}, "status", ErrUnknownEnum},
		{"unknown priority", Case{Subject: "x", Priority: "asap"}, "priority", ErrUnknownEnum},
		{"long chat id", Case{Subject: "x", SourceChatID: strings.Repeat("c", MaxShort+1)}, "source_chat_id", TooLong(MaxShort)},
		{"bad grant", Case{Subject: "x", Access: []Grant{{RoleID: "r", Level: "own"}}}, "access[0].level", ErrUnknownEnum},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := tt.k
			k.Normalize()
			fe := fieldsOf(k.Validate())
			if tt.field == "" {
				if fe != nil {
					t.Fatalf("unexpected errors %v", fe)
				}
				if k.Subject != strings.TrimSpace(tt.k.Subject) || k.SourceChatID != strings.TrimSpace(tt.k.SourceChatID) {
					t.Errorf("not trimmed: %+v", k)
				}
				if tt.k.Status == "" && k.Status != CaseNew || tt.k.Priority == "" && k.Priority != CaseNormal {
					t.Errorf("defaults: status %q, priority %q", k.Status, k.Priority)
				}
				return
			}
			if fe[tt.field] != tt.key || len(fe) != 1 {
				t.Fatalf("errors %v, want only %s=%s", fe, tt.field, tt.key)
			}
		})
	}
}

func TestParseCaseEnums(t *testing.T) {
	for _, s := range CaseStatuses {
		if got, err := ParseCaseStatus(string(s)); err != nil || got != s {
			t.Errorf("ParseCaseStatus(%q) = %q, %v", s, got, err)
		}
	}
	for _, p := range CasePriorities {
		if got, err := ParseCasePriority(string(p)); err != nil || got != p {
			t.Errorf("ParseCasePriority(%q) = %q, %v", p, got, err)
		}
	}
	for _, bad := range []string{"", "open", "New", " new", "in progress"} {
		if got, err := ParseCaseStatus(bad); !errors.Is(err, ErrUnknownValue) || got != "" {
			t.Errorf("ParseCaseStatus(%q) = %q, %v; want ErrUnknownValue", bad, got, err)
		}
	}
	if _, err := ParseCasePriority("critical"); !errors.Is(err, ErrUnknownValue) {
		t.Errorf("ParseCasePriority(critical): %v", err)
	}
	for _, s := range CaseStatuses {
		open := false
		for _, o := range OpenCaseStatuses {
			open = open || o == s
		}
		if open == s.Done() {
			t.Errorf("%s: open %v and done %v", s, open, s.Done())
		}
	}
}

func TestCaseRefAndSearch(t *testing.T) {
	k := Case{Subject: "Ёлка не горит"}
	if k.Ref() != "" {
		t.Errorf("unsaved case has ref %q", k.Ref())
	}
	for n, want := range map[int64]string{1: "CS-000001", 123: "CS-000123", 999999: "CS-999999", 1234567: "CS-1234567"} {
		k.Number = n
		if got := k.Ref(); got != want {
			t.Errorf("Ref(%d) = %q, want %q", n, got, want)
		}
	}
	k.Number = 123
	if got := k.SearchText(); got != "cs-000123 елка не горит" {
		t.Errorf("SearchText = %q", got)
	}
}
