package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// eachDB runs a test on SQLite and on PostgreSQL.
func eachDB(t *testing.T, fn func(t *testing.T, s *Store)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		s, err := Open(context.Background(), Options{SQLitePath: filepath.Join(t.TempDir(), "t.db")})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		fn(t, s)
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		s, err := Open(context.Background(), Options{DatabaseURL: testenv.Postgres(t)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		fn(t, s)
	})
}

// mkUser creates a user and returns the viewer acting as them.
func mkUser(t *testing.T, s *Store, email string, roles ...string) access.Viewer {
	t.Helper()
	ctx := context.Background()
	u := &access.User{Email: email, Name: email, Active: true, RoleIDs: roles}
	if err := s.CreateUser(ctx, u, "password123"); err != nil {
		t.Fatalf("create user: %v", err)
	}
	v, err := s.Viewer(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mkRole(t *testing.T, s *Store, name string, ops ...string) string {
	t.Helper()
	r := &access.Role{Name: name, Ops: ops}
	if err := s.SaveRole(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	return r.ID
}

func TestMigrationsIdempotent(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		if err := s.migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		v, err := s.SchemaVersion(context.Background())
		if err != nil || v < 1 {
			t.Fatalf("schema version %d, %v", v, err)
		}
	})
}

func TestContactCRUDAndChangeLog(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := WithOrigin(context.Background(), "api")
		alice := mkUser(t, s, "alice@example.com")
		acc := &crm.Account{Name: "ООО Ромашка"}
		if err := s.CreateAccount(ctx, alice, acc); err != nil {
			t.Fatal(err)
		}
		tag := &crm.Tag{Name: "VIP", Kind: crm.TagCorporate}
		if err := s.SaveTag(ctx, alice, tag); err != nil {
			t.Fatal(err)
		}
		since, _ := s.LastChange(ctx)
		c := &crm.Contact{GivenName: "Иван", FamilyName: "Петров", AccountID: acc.ID,
			Emails: []crm.Email{{Address: "ivan@example.com"}, {Address: "i.petrov@example.com", Kind: "home"}},
			Phones: []crm.Phone{{Number: "+7 (495) 123-45-67"}},
			Tags:   []crm.TagRef{{ID: tag.ID}}}
		if err := s.CreateContact(ctx, alice, c); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetContact(ctx, alice, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "Иван Петров" || got.AccountName != "ООО Ромашка" || len(got.Emails) != 2 || !got.Emails[0].Primary ||
			got.Emails[1].Primary || len(got.Phones) != 1 || len(got.Tags) != 1 || got.Tags[0].Name != "VIP" || got.Version != 1 {
			t.Fatalf("read back %+v", got)
		}
		got.JobTitle = "CEO"
		got.Tags = nil // keep tags
		if err := s.UpdateContact(ctx, alice, got, 1); err != nil {
			t.Fatal(err)
		}
		if got.Version != 2 {
			t.Errorf("version %d, want 2", got.Version)
		}
		if err := s.UpdateContact(ctx, alice, got, 1); !errors.Is(err, ErrConflict) {
			t.Errorf("stale version: %v, want ErrConflict", err)
		}
		again, _ := s.GetContact(ctx, alice, c.ID)
		if again.JobTitle != "CEO" || len(again.Tags) != 1 {
			t.Errorf("after update %+v", again)
		}
		if err := s.DeleteContact(ctx, alice, c.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetContact(ctx, alice, c.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("deleted contact: %v", err)
		}
		changes, err := s.Changes(ctx, since, EntityContact, 100)
		if err != nil {
			t.Fatal(err)
		}
		var ops []string
		for _, ch := range changes {
			if ch.EntityID != c.ID || ch.Origin != "api" || ch.ActorID != alice.UserID {
				t.Errorf("change %+v", ch)
			}
			ops = append(ops, ch.Op)
		}
		if fmt.Sprint(ops) != "[create update delete]" {
			t.Errorf("ops %v", ops)
		}
	})
}

func TestNothingHalfWritten(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		alice := mkUser(t, s, "alice@example.com")
		before, _ := s.LastChange(ctx)
		c := &crm.Contact{Name: "X", Emails: []crm.Email{{Address: "x@example.com"}}, Tags: []crm.TagRef{{ID: "no-such-tag"}}}
		var ve *crm.ValidationError
		if err := s.CreateContact(ctx, alice, c); !errors.As(err, &ve) || ve.Fields["tags"] == "" {
			t.Fatalf("err = %v, want tags field error", err)
		}
		list, _, _ := s.ListContacts(ctx, alice, ContactFilter{})
		after, _ := s.LastChange(ctx)
		if len(list) != 0 || after != before {
			t.Fatalf("half-written: %d contacts, change log %d→%d", len(list), before, after)
		}
		bad := &crm.Contact{Name: "Y", Emails: []crm.Email{{Address: "not an email"}}}
		if err := s.CreateContact(ctx, alice, bad); !errors.As(err, &ve) || ve.Fields["emails[0].address"] != crm.ErrEmail {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestRecordAccess(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		sales := mkRole(t, s, "Sales")
		support := mkRole(t, s, "Support")
		alice := mkUser(t, s, "alice@example.com")
		bob := mkUser(t, s, "bob@example.com", sales)
		carol := mkUser(t, s, "carol@example.com", support)
		c := &crm.Contact{Name: "Secret Person", Access: []crm.Grant{{RoleID: sales, Level: crm.AccessRead}}}
		if err := s.CreateContact(ctx, alice, c); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetContact(ctx, carol, c.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("carol sees it: %v", err)
		}
		if list, _, _ := s.ListContacts(ctx, carol, ContactFilter{}); len(list) != 0 {
			t.Errorf("carol lists %d", len(list))
		}
		got, err := s.GetContact(ctx, bob, c.ID)
		if err != nil {
			t.Fatalf("bob (read) cannot see: %v", err)
		}
		got.JobTitle = "x"
		if err := s.UpdateContact(ctx, bob, got, 0); !errors.Is(err, ErrForbidden) {
			t.Errorf("bob (read) update: %v, want ErrForbidden", err)
		}
		if err := s.DeleteContact(ctx, bob, c.ID); !errors.Is(err, ErrForbidden) {
			t.Errorf("bob (read) delete: %v", err)
		}
		if err := s.DeleteContact(ctx, carol, c.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("carol delete: %v", err)
		}
		c.Access = []crm.Grant{{RoleID: sales, Level: crm.AccessEdit}}
		if err := s.UpdateContact(ctx, alice, c, 0); err != nil {
			t.Fatal(err)
		}
		got, _ = s.GetContact(ctx, bob, c.ID)
		got.JobTitle = "Edited by Bob"
		if err := s.UpdateContact(ctx, bob, got, 0); err != nil {
			t.Errorf("bob (edit) update: %v", err)
		}
		// A reference to a record the user cannot see is "not found".
		hidden := &crm.Account{Name: "Hidden"}
		s.CreateAccount(ctx, alice, hidden)
		var ve *crm.ValidationError
		if err := s.CreateContact(ctx, carol, &crm.Contact{Name: "Z", AccountID: hidden.ID}); !errors.As(err, &ve) || ve.Fields["account_id"] == "" {
			t.Errorf("invisible account accepted: %v", err)
		}
	})
}

func TestPersonalTags(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		team := mkRole(t, s, "Team")
		alice := mkUser(t, s, "alice@example.com", team)
		bob := mkUser(t, s, "bob@example.com", team)
		mine := &crm.Tag{Name: "Мои клиенты"}
		shared := &crm.Tag{Name: "Partner", Kind: crm.TagPublic}
		for _, tg := range []*crm.Tag{mine, shared} {
			if err := s.SaveTag(ctx, alice, tg); err != nil {
				t.Fatal(err)
			}
		}
		c := &crm.Contact{Name: "Shared", Tags: []crm.TagRef{{ID: mine.ID}, {ID: shared.ID}},
			Access: []crm.Grant{{RoleID: team, Level: crm.AccessEdit}}}
		if err := s.CreateContact(ctx, alice, c); err != nil {
			t.Fatal(err)
		}
		bc, _ := s.GetContact(ctx, bob, c.ID)
		if len(bc.Tags) != 1 || bc.Tags[0].ID != shared.ID {
			t.Fatalf("bob sees tags %+v", bc.Tags)
		}
		bobTags, _ := s.ListTags(ctx, bob, "")
		if len(bobTags) != 1 {
			t.Errorf("bob lists %d tags", len(bobTags))
		}
		if _, err := s.GetTag(ctx, bob, mine.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("bob gets alice's personal tag: %v", err)
		}
		if list, _, _ := s.ListContacts(ctx, bob, ContactFilter{TagID: mine.ID}); len(list) != 0 {
			t.Errorf("bob filters by alice's personal tag: %d", len(list))
		}
		// Bob cannot attach Alice's personal tag, and his edit keeps it.
		bc.Tags = []crm.TagRef{{ID: mine.ID}}
		if err := s.UpdateContact(ctx, bob, bc, 0); err == nil {
			t.Error("bob attached alice's personal tag")
		}
		bc.Tags = []crm.TagRef{}
		if err := s.UpdateContact(ctx, bob, bc, 0); err != nil {
			t.Fatal(err)
		}
		ac, _ := s.GetContact(ctx, alice, c.ID)
		if len(ac.Tags) != 1 || ac.Tags[0].ID != mine.ID {
			t.Errorf("alice's tags after bob's edit: %+v", ac.Tags)
		}
		if err := s.SaveTag(ctx, bob, &crm.Tag{ID: shared.ID, Name: "Renamed"}); !errors.Is(err, ErrForbidden) {
			t.Errorf("bob renamed alice's tag: %v", err)
		}
		var ve *crm.ValidationError
		if err := s.SaveTag(ctx, alice, &crm.Tag{Name: "partner", Kind: crm.TagCorporate}); !errors.As(err, &ve) {
			t.Errorf("duplicate shared tag name: %v", err)
		}
		if err := s.SaveTag(ctx, bob, &crm.Tag{Name: "Мои клиенты"}); err != nil {
			t.Errorf("bob's own personal tag with alice's name: %v", err)
		}
	})
}

func TestSearchCyrillicAndPaging(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		alice := mkUser(t, s, "alice@example.com")
		for _, n := range []string{"Иван Петров", "Ёлкин Пётр", "JOHN Smith", "Анна Иванова", "100% Done_ok"} {
			if err := s.CreateContact(ctx, alice, &crm.Contact{Name: n}); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			q    string
			want int
		}{{"иван", 2}, {"ИВАН", 2}, {"петр", 2}, {"елкин", 1}, {"ЁЛКИН", 1}, {"john", 1}, {"smith", 1}, {"%", 1}, {"_", 1}, {"zzz", 0}}
		for _, tt := range tests {
			list, _, err := s.ListContacts(ctx, alice, ContactFilter{Q: tt.q})
			if err != nil || len(list) != tt.want {
				t.Errorf("q=%q: %d results, %v; want %d", tt.q, len(list), err, tt.want)
			}
		}
		for i := 0; i < 115; i++ {
			s.CreateContact(ctx, alice, &crm.Contact{Name: fmt.Sprintf("Page %03d", i%60)})
		}
		seen := map[string]bool{}
		cursor, pages, prev := "", 0, ""
		for {
			list, next, err := s.ListContacts(ctx, alice, ContactFilter{Q: "page", Page: Page{Limit: 50, Cursor: cursor}})
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, c := range list {
				if seen[c.ID] {
					t.Fatalf("duplicate %s across pages", c.ID)
				}
				seen[c.ID] = true
				if key := crm.Fold(c.Name); key < prev {
					t.Fatalf("out of order: %q after %q", key, prev)
				}
				prev = crm.Fold(c.Name)
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if len(seen) != 115 || pages != 3 {
			t.Errorf("paged %d contacts in %d pages", len(seen), pages)
		}
		if _, _, err := s.ListContacts(ctx, alice, ContactFilter{Page: Page{Cursor: "!!"}}); !errors.Is(err, ErrBadCursor) {
			t.Errorf("bad cursor: %v", err)
		}
	})
}

func TestActivities(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		alice := mkUser(t, s, "alice@example.com")
		c := &crm.Contact{Name: "Guest", Emails: []crm.Email{{Address: "guest@example.com"}}}
		s.CreateContact(ctx, alice, c)
		start := time.Date(2026, 3, 29, 9, 0, 0, 0, time.UTC)
		end := start.Add(time.Hour)
		a := &crm.Activity{Type: "meeting", Title: "Планёрка", Start: &start, End: &end, TimeZone: "Europe/Moscow",
			ShowInCalendar: true, RRule: "FREQ=WEEKLY;BYDAY=MO", ExDates: []time.Time{start.AddDate(0, 0, 7)},
			Participants: []crm.Participant{{ContactID: c.ID, Email: "guest@example.com", ResponseStatus: "accepted"}, {Email: "ext@example.org"}}}
		if err := s.CreateActivity(ctx, alice, a); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetActivity(ctx, alice, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Start.Equal(start) || got.RRule != "FREQ=WEEKLY;BYDAY=MO" || len(got.ExDates) != 1 || !got.ExDates[0].Equal(start.AddDate(0, 0, 7)) ||
			len(got.Participants) != 2 || got.Participants[1].ResponseStatus != "needs_action" || got.AuthorID != alice.UserID {
			t.Fatalf("read back %+v", got)
		}
		// A moved occurrence and a task's actual dates survive a round trip.
		moved := start.AddDate(0, 0, 15) // a Monday
		got.Overrides = []crm.Occurrence{{RecurrenceID: moved, Start: moved.Add(2 * time.Hour), End: moved.Add(3 * time.Hour),
			Title: "Планёрка (перенесена)", Location: "Room 2"}}
		if err := s.UpdateActivity(ctx, alice, got, got.Version); err != nil {
			t.Fatal(err)
		}
		again, _ := s.GetActivity(ctx, alice, a.ID)
		if len(again.Overrides) != 1 || again.Overrides[0] != got.Overrides[0] {
			t.Fatalf("overrides read back %+v", again.Overrides)
		}
		task := &crm.Activity{Title: "Report", Type: "task", Status: "completed"}
		if err := s.CreateActivity(ctx, alice, task); err != nil {
			t.Fatal(err)
		}
		if tr, _ := s.GetActivity(ctx, alice, task.ID); tr.ActualStart == nil || tr.ActualEnd == nil || !tr.ActualEnd.Equal(*task.ActualEnd) {
			t.Fatalf("actual dates read back %v %v", tr.ActualStart, tr.ActualEnd)
		}
		s.DeleteActivity(ctx, alice, task.ID)
		// A started task is found in the range of its actual dates.
		planned, plannedEnd, actual := time.Date(2026, 3, 5, 9, 0, 0, 0, time.UTC), time.Date(2026, 3, 7, 9, 0, 0, 0, time.UTC), time.Date(2026, 6, 10, 9, 0, 0, 0, time.UTC)
		late := &crm.Activity{Title: "Late start", Type: "task", Status: "in_progress", Start: &planned, End: &plannedEnd, ActualStart: &actual}
		if err := s.CreateActivity(ctx, alice, late); err != nil {
			t.Fatal(err)
		}
		june := time.Date(2026, 6, 8, 0, 0, 0, 0, time.UTC)
		if got, _, _ := s.ListActivities(ctx, alice, ActivityFilter{From: june, To: june.AddDate(0, 0, 7)}); len(got) != 2 || got[0].ID != a.ID && got[1].ID != a.ID {
			t.Errorf("June has %d activities, want the series and the late task", len(got))
		}
		s.DeleteActivity(ctx, alice, late.ID)
		undated := &crm.Activity{Title: "Call back"}
		s.CreateActivity(ctx, alice, undated)
		all, _, _ := s.ListActivities(ctx, alice, ActivityFilter{})
		if len(all) != 2 || all[1].ID != undated.ID {
			t.Errorf("undated should sort last: %d", len(all))
		}
		// A range far after the first occurrence still finds the series.
		from := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
		inRange, _, _ := s.ListActivities(ctx, alice, ActivityFilter{From: from, To: from.AddDate(0, 0, 7)})
		if len(inRange) != 1 {
			t.Errorf("range found %d", len(inRange))
		}
		byContact, _, _ := s.ListActivities(ctx, alice, ActivityFilter{ContactID: c.ID})
		if len(byContact) != 1 {
			t.Errorf("by participant found %d", len(byContact))
		}
		var ve *crm.ValidationError
		bad := &crm.Activity{Title: "x", Start: &start, RRule: "FREQ=SOMETIMES"}
		if err := s.CreateActivity(ctx, alice, bad); !errors.As(err, &ve) || ve.Fields["rrule"] == "" {
			t.Errorf("bad rrule: %v", err)
		}
	})
}

func TestGroupsAndAccountDelete(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		alice := mkUser(t, s, "alice@example.com")
		bob := mkUser(t, s, "bob@example.com")
		acc := &crm.Account{Name: "Acme"}
		s.CreateAccount(ctx, alice, acc)
		c1 := &crm.Contact{Name: "One", AccountID: acc.ID}
		c2 := &crm.Contact{Name: "Two"}
		s.CreateContact(ctx, alice, c1)
		s.CreateContact(ctx, alice, c2)
		g := &crm.Group{Name: "Newsletter", Entity: crm.GroupContacts}
		if err := s.SaveGroup(ctx, alice, g); err != nil {
			t.Fatal(err)
		}
		if err := s.AddGroupMembers(ctx, alice, g.ID, []string{c1.ID, c2.ID, c1.ID}); err != nil {
			t.Fatal(err)
		}
		list, _, _ := s.ListContacts(ctx, alice, ContactFilter{GroupID: g.ID})
		if len(list) != 2 {
			t.Errorf("group has %d", len(list))
		}
		if err := s.AddGroupMembers(ctx, bob, g.ID, []string{c1.ID}); !errors.Is(err, ErrNotFound) {
			t.Errorf("bob adds to alice's group: %v", err)
		}
		s.RemoveGroupMembers(ctx, alice, g.ID, []string{c2.ID})
		gg, _ := s.GetGroup(ctx, alice, g.ID)
		if gg.MemberCount != 1 {
			t.Errorf("member count %d", gg.MemberCount)
		}
		if err := s.DeleteAccount(ctx, alice, acc.ID); err != nil {
			t.Fatal(err)
		}
		got, _ := s.GetContact(ctx, alice, c1.ID)
		if got.AccountID != "" || got.Version != 2 {
			t.Errorf("contact after account delete: %+v", got)
		}
	})
}

// TestViewerGrants: the viewer read in one query carries the operations of
// every role and the direct grants, once each, and a user with none is
// still a viewer; an inactive user's session is not.
func TestViewerGrants(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		r1 := mkRole(t, s, "Sales", access.OpManageChats, access.OpConnectSharedMailbox)
		r2 := mkRole(t, s, "Support", access.OpManageChats)
		r3 := mkRole(t, s, "Empty")
		direct := &access.User{Email: "direct@example.com", Name: "Direct", Active: true, RoleIDs: []string{r2}, Ops: []string{access.OpManageAdministration}}
		if err := s.CreateUser(ctx, direct, "password123"); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			id   string
			want []string
		}{
			{"two roles", mkUser(t, s, "two@example.com", r1, r2).UserID, []string{access.OpConnectSharedMailbox, access.OpManageChats}},
			{"role and direct", direct.ID, []string{access.OpManageAdministration, access.OpManageChats}},
			{"an empty role", mkUser(t, s, "empty@example.com", r3).UserID, nil},
			{"no role", mkUser(t, s, "none@example.com").UserID, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				v, err := s.Viewer(ctx, tc.id)
				if err != nil {
					t.Fatal(err)
				}
				tok, _, err := s.CreateSession(ctx, tc.id, int64(time.Hour/time.Microsecond))
				if err != nil {
					t.Fatal(err)
				}
				sv, sess, err := s.SessionViewer(ctx, tok)
				if err != nil || sess.UserID != tc.id || sess.CSRF == "" {
					t.Fatalf("session %+v %v", sess, err)
				}
				for _, got := range []access.Viewer{v, sv} {
					ops := slices.Sorted(maps.Keys(got.Ops))
					if got.UserID != tc.id || !slices.Equal(ops, tc.want) || got.Ops == nil {
						t.Errorf("viewer %+v, ops %v, want %v", got, ops, tc.want)
					}
				}
			})
		}
		tok, _, err := s.CreateSession(ctx, direct.ID, int64(time.Hour/time.Microsecond))
		if err != nil {
			t.Fatal(err)
		}
		direct.Active = false
		direct.RoleIDs, direct.Ops = nil, nil
		if err := s.UpdateUser(ctx, direct); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Viewer(ctx, direct.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("inactive viewer: %v", err)
		}
		if _, _, err := s.SessionViewer(ctx, tok); !errors.Is(err, ErrNotFound) {
			t.Errorf("inactive user's session: %v", err)
		}
		if _, _, err := s.SessionViewer(ctx, "no-such-token"); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown session: %v", err)
		}
	})
}

func TestUsersSessionsTokens(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		admins := mkRole(t, s, "Admins", access.OpManageAdministration)
		v := mkUser(t, s, "Admin@Example.com", admins)
		if !v.IsAdmin() || v.Email != "admin@example.com" {
			t.Fatalf("viewer %+v", v)
		}
		if _, err := s.Authenticate(ctx, "ADMIN@example.com", "password123"); err != nil {
			t.Errorf("login: %v", err)
		}
		if _, err := s.Authenticate(ctx, "admin@example.com", "wrong-password"); !errors.Is(err, access.ErrPassword) {
			t.Errorf("wrong password: %v", err)
		}
		var ve *crm.ValidationError
		if err := s.CreateUser(ctx, &access.User{Email: "admin@example.com"}, "password123"); !errors.As(err, &ve) {
			t.Errorf("duplicate email: %v", err)
		}
		tok, sess, err := s.CreateSession(ctx, v.UserID, int64(time.Hour/time.Microsecond))
		if err != nil {
			t.Fatal(err)
		}
		if gotV, got, err := s.SessionViewer(ctx, tok); err != nil || got != sess || gotV.UserID != v.UserID || !gotV.IsAdmin() {
			t.Errorf("session %+v %+v %v", got, gotV, err)
		}
		if err := s.SetPassword(ctx, v.UserID, "new-password-1"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.SessionViewer(ctx, tok); !errors.Is(err, ErrNotFound) {
			t.Errorf("session survived password change: %v", err)
		}
		secret, _, err := s.CreateAPIToken(ctx, v.UserID, "ci", 0)
		if err != nil {
			t.Fatal(err)
		}
		if uid, err := s.APITokenUser(ctx, secret); err != nil || uid != v.UserID {
			t.Errorf("token user %q %v", uid, err)
		}
		if _, err := s.APITokenUser(ctx, secret+"x"); !errors.Is(err, ErrNotFound) {
			t.Errorf("bad token: %v", err)
		}
		if err := s.PutSetting(ctx, "SiteUrl", "https://x", v.UserID, false); err != nil {
			t.Fatal(err)
		}
		if val, ok, _ := s.GetSetting(ctx, "SiteUrl"); !ok || val != "https://x" {
			t.Errorf("setting %q %v", val, ok)
		}
	})
}
