package crm

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func fieldsOf(err error) FieldErrors {
	var ve *ValidationError
	if errors.As(err, &ve) {
		return ve.Fields
	}
	return nil
}

func TestContactNormalizeValidate(t *testing.T) {
	tests := []struct {
		name  string
		c     Contact
		field string // "" means valid
		key   string
	}{
		{"derived name", Contact{GivenName: " Анна ", FamilyName: "Ли"}, "", ""},
		{"no name", Contact{JobTitle: "x"}, "name", ErrNameRequired},
		{"blank parts", Contact{GivenName: " ", FamilyName: "\t", JobTitle: "x"}, "name", ErrNameRequired},
		{"one part is enough", Contact{FamilyName: "Ли"}, "", ""},
		{"long name", Contact{Name: strings.Repeat("x", MaxName+1)}, "name", TooLong(MaxName)},
		// The name made of the parts is not flagged again for a long part.
		{"long given name", Contact{GivenName: strings.Repeat("x", 10000)}, "given_name", TooLong(MaxShort)},
		{"long family name", Contact{GivenName: "Анна", FamilyName: strings.Repeat("я", MaxShort+1)}, "family_name", TooLong(MaxShort)},
		{"long parts make a long name", Contact{GivenName: strings.Repeat("a", MaxShort), MiddleName: strings.Repeat("b", MaxShort), FamilyName: strings.Repeat("c", MaxShort)}, "", ""},
		{"long typed name with parts", Contact{GivenName: "Анна", Name: strings.Repeat("x", MaxName+1)}, "name", TooLong(MaxName)},
		{"long job title", Contact{Name: "x", JobTitle: strings.Repeat("x", MaxName+1)}, "job_title", TooLong(MaxName)},
		{"long phone", Contact{Name: "x", Phones: []Phone{{Number: strings.Repeat("1", MaxShort+1)}}}, "phones[0].number", TooLong(MaxShort)},
		{"cyrillic at limit", Contact{Name: strings.Repeat("я", MaxName)}, "", ""},
		{"bad email", Contact{Name: "x", Emails: []Email{{Address: "a@"}}}, "emails[0].address", ErrEmail},
		{"display name in email", Contact{Name: "x", Emails: []Email{{Address: "Ann <a@b.c>"}}}, "emails[0].address", ErrEmail},
		{"two primaries", Contact{Name: "x", Emails: []Email{{Address: "a@b.c", Primary: true}, {Address: "d@e.f", Primary: true}}}, "emails", ErrOnePrimary},
		{"bad phone", Contact{Name: "x", Phones: []Phone{{Number: "call me"}}}, "phones[0].number", ErrPhone},
		{"russian extension", Contact{Name: "x", Phones: []Phone{{Number: "+7 (495) 123-45-67 доб. 12"}}}, "", ""},
		{"unknown type", Contact{Name: "x", Type: "alien"}, "type", ErrUnknownEnum},
		{"bad grant", Contact{Name: "x", Access: []Grant{{RoleID: "r", Level: "own"}}}, "access[0].level", ErrUnknownEnum},
		{"invalid utf8", Contact{Name: "\xff"}, "name", ErrInvalid},
		{"birthday", Contact{Name: "x", Birthday: "1985-04-12"}, "", ""},
		{"birthday without year", Contact{Name: "x", Birthday: "--02-29"}, "", ""},
		{"birthday not a date", Contact{Name: "x", Birthday: "1985-02-29"}, "birthday", ErrDate},
		{"birthday in vCard form", Contact{Name: "x", Birthday: "19850412"}, "birthday", ErrDate},
		{"long company", Contact{Name: "x", Company: strings.Repeat("x", MaxName+1)}, "company", TooLong(MaxName)},
		{"address", Contact{Name: "x", Addresses: []Address{{Street: "Тверская ул., 1\nкв. 5", City: "Москва"}}}, "", ""},
		{"empty address", Contact{Name: "x", Addresses: []Address{{Kind: "home", Street: " "}}}, "addresses[0].street", ErrAddressRequired},
		{"unknown address kind", Contact{Name: "x", Addresses: []Address{{Kind: "mars", City: "x"}}}, "addresses[0].kind", ErrUnknownEnum},
		{"long postal code", Contact{Name: "x", Addresses: []Address{{PostalCode: strings.Repeat("1", MaxShort+1)}}}, "addresses[0].postal_code", TooLong(MaxShort)},
		{"control in city", Contact{Name: "x", Addresses: []Address{{City: "a\x01"}}}, "addresses[0].city", ErrInvalid},
		{"two primary addresses", Contact{Name: "x", Addresses: []Address{{City: "a", Primary: true}, {City: "b", Primary: true}}}, "addresses", ErrOnePrimary},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c
			c.Normalize()
			fe := fieldsOf(c.Validate())
			if tt.field == "" {
				if fe != nil {
					t.Fatalf("unexpected errors %v", fe)
				}
				return
			}
			if fe[tt.field] != tt.key || len(fe) != 1 {
				t.Fatalf("errors %v, want only %s=%s", fe, tt.field, tt.key)
			}
		})
	}
	c := Contact{GivenName: "Анна", FamilyName: "Ли", Emails: []Email{{Address: "a@b.c"}, {Address: "d@e.f"}}}
	c.Normalize()
	if c.Name != "Анна Ли" || !c.Emails[0].Primary || c.Emails[1].Primary || c.Emails[0].Kind != "work" {
		t.Errorf("normalized %+v", c)
	}
	if c.PrimaryEmail() != "a@b.c" {
		t.Errorf("primary %q", c.PrimaryEmail())
	}
	c = Contact{Name: "x", Company: " Acme ", Birthday: " --04-12 ", Addresses: []Address{{Street: " a\r\nb ", City: " c "}, {City: "d"}}}
	c.Normalize()
	if c.Company != "Acme" || c.Birthday != "--04-12" || c.Addresses[0] != (Address{Kind: "work", Street: "a\nb", City: "c", Primary: true}) || c.Addresses[1].Primary {
		t.Errorf("normalized %+v", c)
	}
}

func TestParseBirthday(t *testing.T) {
	tests := []struct {
		in      string
		y, m, d int
		ok      bool
	}{
		{"1985-04-12", 1985, 4, 12, true},
		{"--04-12", 0, 4, 12, true},
		{"--02-29", 0, 2, 29, true},
		{"2000-02-29", 2000, 2, 29, true},
		{"1900-02-29", 0, 0, 0, false},
		{"--02-30", 0, 0, 0, false},
		{"0000-01-01", 0, 0, 0, false},
		{"1985-13-01", 0, 0, 0, false},
		{"1985-00-01", 0, 0, 0, false},
		{"1985-4-12", 0, 0, 0, false},
		{"--0412", 0, 0, 0, false},
		{"19850412", 0, 0, 0, false},
		{"+985-04-12", 0, 0, 0, false},
		{"", 0, 0, 0, false},
	}
	for _, tt := range tests {
		y, m, d, ok := ParseBirthday(tt.in)
		if y != tt.y || m != tt.m || d != tt.d || ok != tt.ok {
			t.Errorf("ParseBirthday(%q) = %d %d %d %v, want %d %d %d %v", tt.in, y, m, d, ok, tt.y, tt.m, tt.d, tt.ok)
		}
		if ok {
			if got := FormatBirthday(y, m, d); got != tt.in {
				t.Errorf("FormatBirthday(%d, %d, %d) = %q, want %q", y, m, d, got, tt.in)
			}
		}
	}
}

func TestCompanyName(t *testing.T) {
	for _, tt := range []struct{ company, account, want string }{
		{"", "", ""}, {"", "Acme", "Acme"}, {"ООО Ромашка", "Acme", "ООО Ромашка"}, {"Globex", "", "Globex"},
	} {
		c := Contact{Company: tt.company, AccountName: tt.account}
		if got := c.CompanyName(); got != tt.want {
			t.Errorf("CompanyName(%q, account %q) = %q, want %q", tt.company, tt.account, got, tt.want)
		}
	}
}

func TestActivityNormalizeValidate(t *testing.T) {
	at := func(s string) *time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return &v
	}
	tests := []struct {
		name  string
		a     Activity
		field string
		key   string
	}{
		{"minimal task", Activity{Title: "Call"}, "", ""},
		{"no title", Activity{}, "title", ErrRequired},
		{"end before start", Activity{Title: "x", Start: at("2026-03-01T10:00:00Z"), End: at("2026-03-01T09:00:00Z")}, "end", ErrEndBefore},
		{"calendar needs start", Activity{Title: "x", ShowInCalendar: true}, "start", ErrStartForCalendar},
		{"rrule needs start", Activity{Title: "x", RRule: "FREQ=DAILY"}, "start", ErrStartForRepeat},
		{"long title", Activity{Title: strings.Repeat("x", MaxName+1)}, "title", TooLong(MaxName)},
		{"long rrule", Activity{Title: "x", Start: at("2026-03-01T10:00:00Z"), RRule: "FREQ=WEEKLY;BYDAY=" + strings.Repeat("MO,", 200) + "MO"}, "rrule", TooLong(MaxRRule)},
		{"bad rrule", Activity{Title: "x", Start: at("2026-03-01T10:00:00Z"), RRule: "FREQ=HOURLY;BYDAY=XX"}, "rrule", ErrRRule},
		{"rrule prefix ok", Activity{Title: "x", Start: at("2026-03-01T10:00:00Z"), RRule: "RRULE:FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20261231T000000Z"}, "", ""},
		{"exdates without rrule", Activity{Title: "x", Start: at("2026-03-01T10:00:00Z"), ExDates: []time.Time{time.Now()}}, "exdates", ErrInvalid},
		{"bad zone", Activity{Title: "x", TimeZone: "Europe/Atlantis"}, "time_zone", ErrTimeZone},
		{"bad status", Activity{Title: "x", Status: "done"}, "status", ErrUnknownEnum},
		{"duplicate participant", Activity{Title: "x", Participants: []Participant{{Email: "A@b.c"}, {Email: "a@B.c"}}}, "participants[1].email", ErrDuplicate},
		{"participant needs email or contact", Activity{Title: "x", Participants: []Participant{{Name: "Ann"}}}, "participants[0].email", ErrParticipantRequired},
		{"year out of range", Activity{Title: "x", Start: at("0001-01-01T00:00:00Z")}, "start", ErrDate},
		{"override", series(Occurrence{RecurrenceID: *at("2026-03-03T10:00:00Z"), Start: *at("2026-03-03T12:00:00Z"), End: *at("2026-03-03T13:00:00Z"), Title: "Standup"}), "", ""},
		{"override ends before it starts", series(Occurrence{RecurrenceID: *at("2026-03-03T10:00:00Z"), Start: *at("2026-03-03T12:00:00Z"), End: *at("2026-03-03T11:00:00Z"), Title: "Standup"}), "overrides[0].end", ErrEndBefore},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.a
			a.Normalize()
			fe := fieldsOf(a.Validate())
			if tt.field == "" {
				if fe != nil {
					t.Fatalf("unexpected errors %v", fe)
				}
				return
			}
			if fe[tt.field] != tt.key {
				t.Fatalf("errors %v, want %s=%s", fe, tt.field, tt.key)
			}
		})
	}
}

// All-day items are dates: any time of day folds to UTC midnight, and a
// missing or non-positive end becomes the next day.
// series is a daily 10:00 UTC standup with the given overrides.
func series(os ...Occurrence) Activity {
	s := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	e := s.Add(30 * time.Minute)
	return Activity{Title: "Standup", Start: &s, End: &e, RRule: "FREQ=DAILY;COUNT=10", Overrides: os}
}

func TestOverridesNormalize(t *testing.T) {
	rid := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	a := series(
		Occurrence{RecurrenceID: rid.AddDate(0, 0, 1), Start: rid.AddDate(0, 0, 1).Add(time.Hour), End: rid.AddDate(0, 0, 1).Add(2 * time.Hour), Title: " Later "},
		Occurrence{RecurrenceID: rid, Start: rid, End: rid.Add(30 * time.Minute), Title: "Standup"}, // as generated: not an override
	)
	a.Normalize()
	if len(a.Overrides) != 1 || a.Overrides[0].Title != "Later" || !a.Overrides[0].RecurrenceID.Equal(rid.AddDate(0, 0, 1)) {
		t.Fatalf("overrides %+v", a.Overrides)
	}
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestCheckOverrides(t *testing.T) {
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	tests := []struct {
		name  string
		a     Activity
		field string
		key   string
	}{
		{"an occurrence", series(Occurrence{RecurrenceID: at("2026-03-03T10:00:00Z"), Title: "x"}), "", ""},
		{"off the rule", series(Occurrence{RecurrenceID: at("2026-03-03T11:00:00Z")}), "overrides[0].recurrence_id", ErrNotOccurrence},
		{"after the series", series(Occurrence{RecurrenceID: at("2026-04-03T10:00:00Z")}), "overrides[0].recurrence_id", ErrNotOccurrence},
		{"twice", series(Occurrence{RecurrenceID: at("2026-03-03T10:00:00Z")}, Occurrence{RecurrenceID: at("2026-03-03T10:00:00Z")}), "overrides[1].recurrence_id", ErrInvalid},
		{"removed", func() Activity {
			a := series(Occurrence{RecurrenceID: at("2026-03-03T10:00:00Z")})
			a.ExDates = []time.Time{at("2026-03-03T10:00:00Z")}
			return a
		}(), "overrides[0].recurrence_id", ErrInvalid},
		{"no rule", Activity{Title: "x", Overrides: []Occurrence{{RecurrenceID: at("2026-03-03T10:00:00Z")}}}, "overrides", ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fe := FieldErrors{}
			tt.a.CheckOverrides(fe)
			if tt.field == "" && len(fe) > 0 || tt.field != "" && fe[tt.field] != tt.key {
				t.Fatalf("got %v, want %s=%s", fe, tt.field, tt.key)
			}
		})
	}
	// A series whose rule changed drops the overrides it no longer has.
	a := series(Occurrence{RecurrenceID: at("2026-03-03T10:00:00Z"), Title: "moved"})
	a.RRule = "FREQ=DAILY;COUNT=2"
	a.Normalize()
	if len(a.Overrides) != 0 {
		t.Fatalf("kept %+v", a.Overrides)
	}
}

func TestActualDates(t *testing.T) {
	a := Activity{Title: "Write report", Type: "task", Status: "in_progress"}
	a.Normalize()
	if a.ActualStart == nil || a.ActualEnd != nil {
		t.Fatalf("in progress: %v %v", a.ActualStart, a.ActualEnd)
	}
	started := *a.ActualStart
	a.Status = "completed"
	a.Normalize()
	if !a.ActualStart.Equal(started) || a.ActualEnd == nil {
		t.Fatalf("completed: %v %v", a.ActualStart, a.ActualEnd)
	}
	a.Status = "in_progress" // reopened
	a.Normalize()
	if a.ActualEnd != nil || !a.ActualStart.Equal(started) {
		t.Fatalf("reopened: %v %v", a.ActualStart, a.ActualEnd)
	}
	a.Status = "not_started"
	a.Normalize()
	if a.ActualStart != nil {
		t.Fatalf("not started: %v", a.ActualStart)
	}
	m := Activity{Title: "Meeting", Type: "meeting", Status: "completed"}
	m.Normalize()
	if m.ActualStart != nil || m.ActualEnd != nil {
		t.Fatal("actual dates are a task's")
	}
}

func TestAllDayNormalize(t *testing.T) {
	start := time.Date(2026, 3, 29, 22, 30, 0, 0, time.UTC)
	a := Activity{Title: "x", AllDay: true, Start: &start}
	a.Normalize()
	if !a.Start.Equal(time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC)) || !a.End.Equal(time.Date(2026, 3, 30, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("all-day %v – %v", a.Start, a.End)
	}
	if a.Type != "task" || a.Status != "not_started" || a.Priority != "normal" || a.TimeZone != "UTC" {
		t.Errorf("defaults %+v", a)
	}
}

func TestFold(t *testing.T) {
	for in, want := range map[string]string{" ЁЛКИН ": "елкин", "Иван": "иван", "JOHN": "john", "Straße": "straße"} {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAccountAndTagValidate(t *testing.T) {
	acc := Account{Name: "Acme", Website: "ftp://acme", Email: "bad"}
	acc.Normalize()
	fe := fieldsOf(acc.Validate())
	if fe["website"] != ErrURL || fe["email"] != ErrEmail {
		t.Errorf("account errors %v", fe)
	}
	tag := Tag{Name: " VIP "}
	tag.Normalize()
	if tag.Validate() != nil || tag.Kind != TagPersonal || tag.Name != "VIP" {
		t.Errorf("tag %+v", tag)
	}
	g := Group{Name: "x", Entity: "account"}
	if fieldsOf(g.Validate())["entity"] != ErrUnknownEnum {
		t.Error("group entity not checked")
	}
}

// Every limit the forms take from MaxLen is the one Validate enforces: a
// value one character longer is refused on that field, and only there.
func TestMaxLenIsEnforced(t *testing.T) {
	start := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	type check struct {
		field string // the field reported
		valid func(s string) error
	}
	emailOf := func(n int) string { return strings.Repeat("a", n-len("@example.com")) + "@example.com" }
	checks := map[string]map[string]check{
		KindContact: {
			"name":        {"name", func(s string) error { return validContact(Contact{Name: s}) }},
			"given_name":  {"given_name", func(s string) error { return validContact(Contact{GivenName: s}) }},
			"middle_name": {"middle_name", func(s string) error { return validContact(Contact{MiddleName: s}) }},
			"family_name": {"family_name", func(s string) error { return validContact(Contact{FamilyName: s}) }},
			"job_title":   {"job_title", func(s string) error { return validContact(Contact{Name: "x", JobTitle: s}) }},
			"notes":       {"notes", func(s string) error { return validContact(Contact{Name: "x", Notes: s}) }},
			"phone":       {"phones[0].number", func(s string) error { return validContact(Contact{Name: "x", Phones: []Phone{{Number: s}}}) }},
			"email":       {"emails[0].address", nil},
			"company":     {"company", func(s string) error { return validContact(Contact{Name: "x", Company: s}) }},
			"street":      {"addresses[0].street", func(s string) error { return validContact(Contact{Name: "x", Addresses: []Address{{Street: s}}}) }},
			"city":        {"addresses[0].city", func(s string) error { return validContact(Contact{Name: "x", Addresses: []Address{{City: s}}}) }},
			"region":      {"addresses[0].region", func(s string) error { return validContact(Contact{Name: "x", Addresses: []Address{{Region: s}}}) }},
			"postal_code": {"addresses[0].postal_code", func(s string) error {
				return validContact(Contact{Name: "x", Addresses: []Address{{PostalCode: s}}})
			}},
			"country": {"addresses[0].country", func(s string) error { return validContact(Contact{Name: "x", Addresses: []Address{{Country: s}}}) }},
		},
		KindAccount: {
			"name":     {"name", func(s string) error { return validAccount(Account{Name: s}) }},
			"industry": {"industry", func(s string) error { return validAccount(Account{Name: "x", Industry: s}) }},
			"website":  {"website", func(s string) error { return validAccount(Account{Name: "x", Website: s}) }},
			"phone":    {"phone", func(s string) error { return validAccount(Account{Name: "x", Phone: s}) }},
			"address":  {"address", func(s string) error { return validAccount(Account{Name: "x", Address: s}) }},
			"notes":    {"notes", func(s string) error { return validAccount(Account{Name: "x", Notes: s}) }},
			"email":    {"email", nil},
		},
		KindActivity: {
			"title":       {"title", func(s string) error { return validActivity(Activity{Title: s}) }},
			"description": {"description", func(s string) error { return validActivity(Activity{Title: "x", Description: s}) }},
			"location":    {"location", func(s string) error { return validActivity(Activity{Title: "x", Location: s}) }},
			"rrule": {"rrule", func(s string) error {
				// A valid rule of len(s) characters: INTERVAL=000…01.
				const head = "FREQ=DAILY;INTERVAL="
				return validActivity(Activity{Title: "x", Start: &start, RRule: head + strings.Repeat("0", len(s)-len(head)-1) + "1"})
			}},
			"participant_name": {"participants[0].name", func(s string) error {
				return validActivity(Activity{Title: "x", Participants: []Participant{{Email: "a@b.c", Name: s}}})
			}},
			"email": {"participants[0].email", nil},
		},
		KindCase: {
			"subject":        {"subject", func(s string) error { return validCase(Case{Subject: s}) }},
			"description":    {"description", func(s string) error { return validCase(Case{Subject: "x", Description: s}) }},
			"source_chat_id": {"source_chat_id", func(s string) error { return validCase(Case{Subject: "x", SourceChatID: s}) }},
		},
		KindTag:   {"name": {"name", func(s string) error { t := Tag{Name: s}; t.Normalize(); return t.Validate() }}},
		KindGroup: {"name": {"name", func(s string) error { g := Group{Name: s, Entity: GroupContacts}; g.Normalize(); return g.Validate() }}},
	}
	for kind, fields := range checks {
		if len(fields) != len(limits[kind]) {
			t.Errorf("%s: %d limits, %d checked", kind, len(limits[kind]), len(fields))
		}
		for field, c := range fields {
			max := MaxLen(kind, field)
			if max == 0 {
				t.Errorf("%s.%s: no limit", kind, field)
				continue
			}
			if c.valid == nil { // emails: ValidEmail bounds them
				if !ValidEmail(emailOf(max)) || ValidEmail(emailOf(max+1)) {
					t.Errorf("%s.%s: ValidEmail does not stop at %d", kind, field, max)
				}
				continue
			}
			fill := strings.Repeat("1", max)
			if err := c.valid(fill); err != nil {
				t.Errorf("%s.%s at the limit: %v", kind, field, err)
			}
			fe := fieldsOf(c.valid(fill + "1"))
			if fe[c.field] != TooLong(max) || len(fe) != 1 {
				t.Errorf("%s.%s over the limit: %v, want only %s=%s", kind, field, fe, c.field, TooLong(max))
			}
		}
	}
}

func validContact(c Contact) error   { c.Normalize(); return c.Validate() }
func validAccount(a Account) error   { a.Normalize(); return a.Validate() }
func validActivity(a Activity) error { a.Normalize(); return a.Validate() }
func validCase(k Case) error         { k.Normalize(); return k.Validate() }
