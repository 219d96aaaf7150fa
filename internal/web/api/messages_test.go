package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

// Validation messages say what is needed: which name will do, and the
// limit of a value that is too long, on the one field that is.
func TestValidationMessagesSayWhat(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	long := strings.Repeat("я", 10000)
	tests := []struct {
		name, path, body, lang string
		field, code, message   string
	}{
		{"only a job title", "/api/v1/contacts", `{"job_title":"CEO"}`, "en",
			"name", "required_name", "Enter a first, last or full name."},
		{"only a job title, ru", "/api/v1/contacts", `{"job_title":"CEO"}`, "ru",
			"name", "required_name", "Введите имя, фамилию или полное имя."},
		{"long first name", "/api/v1/contacts", `{"given_name":"` + long + `"}`, "en",
			"given_name", "too_long", "At most 100 characters."},
		{"long full name, ru", "/api/v1/contacts", `{"name":"` + long + `"}`, "ru",
			"name", "too_long", "Не более 200 символов."},
		{"long account notes", "/api/v1/accounts", `{"name":"x","notes":"` + strings.Repeat("n", 20001) + `"}`, "en",
			"notes", "too_long", "At most 20,000 characters."},
		{"participant without email", "/api/v1/activities", `{"title":"x","participants":[{"name":"Ann"}]}`, "en",
			"participants[0].email", "required_participant", "Enter an email or choose a contact."},
		{"calendar without start", "/api/v1/activities", `{"title":"x","show_in_calendar":true}`, "ru",
			"start", "required_start_calendar", "Укажите начало, чтобы показать активность в календаре."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.Admin.Do(t, "POST", tt.path, tt.body, "Accept-Language", tt.lang)
			if r.Status != http.StatusBadRequest {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
			p := decodeProblem(t, r)
			if len(p.Errors) != 1 || p.Errors[0].Field != tt.field || p.Errors[0].Code != tt.code || p.Errors[0].Message != tt.message {
				t.Errorf("errors %+v, want only %s: %s %q", p.Errors, tt.field, tt.code, tt.message)
			}
		})
	}
}

// A journal entry's reason is words in the caller's language, with the
// stable code beside it; an old English note reads the same way.
func TestJournalReasons(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	ctx := context.Background()
	var c struct {
		ID string `json:"id"`
	}
	s.Admin.JSON(t, "POST", "/api/v1/contacts", map[string]any{"name": "Ann"}, http.StatusCreated, &c)
	err := s.App.Store.InTx(ctx, func(tx *store.Tx) error {
		for _, reason := range []string{"created in Tandem", reconcile.Conflict([]string{reconcile.FieldJobTitle})} {
			if err := tx.Journal(ctx, store.JournalEntry{BindingID: "b1", Entity: store.EntityContact, RecordID: c.ID,
				Side: "remote", Action: "update", Reason: reason}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r := s.Admin.Do(t, "GET", "/api/v1/contacts/"+c.ID+"/journal", nil, "Accept-Language", "ru")
	var out struct {
		Items []struct {
			Reason     string `json:"reason"`
			ReasonCode string `json:"reason_code"`
		} `json:"items"`
	}
	if err := json.Unmarshal(r.Body, &out); err != nil || r.Status != http.StatusOK {
		t.Fatalf("%d %s %v", r.Status, r.Body, err)
	}
	want := []struct{ reason, code string }{
		{"изменено с обеих сторон; сохранено более позднее изменение (Должность)", "conflict:job_title"},
		{"создано в Tandem", "created_locally"},
	}
	if len(out.Items) != len(want) {
		t.Fatalf("items %+v", out.Items)
	}
	for i, w := range want {
		if out.Items[i].Reason != w.reason || out.Items[i].ReasonCode != w.code {
			t.Errorf("item %d: %+v, want %+v", i, out.Items[i], w)
		}
	}
}
