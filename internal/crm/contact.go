package crm

import (
	"fmt"
	"net/mail"
	"strings"
	"time"
)

// Contact types a user can pick; the list is closed so that sync policies
// (e.g. "export employees only") can rely on it.
var ContactTypes = []string{"", "employee", "customer", "partner", "supplier", "other"}

// Phone kinds.
var PhoneKinds = []string{"mobile", "work", "home", "other"}

// Email kinds.
var EmailKinds = []string{"work", "home", "other"}

// Address kinds.
var AddressKinds = []string{"work", "home", "other"}

// Contact is a person.
type Contact struct {
	ID         string
	GivenName  string
	MiddleName string
	FamilyName string
	Name       string // display name; derived from the parts when empty
	JobTitle   string
	Type       string
	AccountID  string
	// Company is the company's name as the contact states it (a vCard's
	// ORG, Google's organization). It is kept apart from AccountID so that
	// a name no account matches survives a sync round trip; CompanyName
	// falls back to the account's name when it is empty.
	Company   string
	Birthday  string // "YYYY-MM-DD", or "--MM-DD" when the year is unknown; "" for none
	Notes     string
	Emails    []Email
	Phones    []Phone
	Addresses []Address
	Tags      []TagRef // only the tags the reading user may see
	Access    []Grant  // nil on update means "leave as is"
	// Photo describes the contact's photo as read, without its bytes
	// (store.ContactPhoto reads them); nil: none. Writes ignore it.
	Photo *Photo
	// PhotoEdit changes the photo on create and update: nil leaves it as
	// it is, one with Data replaces it (checked as NewPhoto does), one
	// without Data removes it.
	PhotoEdit   *Photo
	OwnerID     string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Version     int64
	AccountName string // read-only, filled by the store for display
}

// Email is one communication option.
type Email struct {
	Address string
	Kind    string
	Primary bool
}

// Phone is one communication option.
type Phone struct {
	Number  string
	Kind    string
	Primary bool
}

// Address is a postal address. Street may hold several lines.
type Address struct {
	Kind       string
	Street     string
	City       string
	Region     string
	PostalCode string
	Country    string
	Primary    bool
}

// IsEmpty reports an address with no part filled in.
func (a Address) IsEmpty() bool {
	return a.Street == "" && a.City == "" && a.Region == "" && a.PostalCode == "" && a.Country == ""
}

// TagRef is a tag as attached to a record.
type TagRef struct {
	ID    string
	Name  string
	Kind  string
	Color string
}

// Normalize trims fields, derives the display name and makes sure exactly one
// email and one phone are primary when there are any, as users expect a
// default address without having to tick a box.
func (c *Contact) Normalize() {
	c.GivenName = strings.TrimSpace(c.GivenName)
	c.MiddleName = strings.TrimSpace(c.MiddleName)
	c.FamilyName = strings.TrimSpace(c.FamilyName)
	c.Name = strings.TrimSpace(c.Name)
	c.JobTitle = strings.TrimSpace(c.JobTitle)
	c.Company = strings.TrimSpace(c.Company)
	c.Birthday = strings.TrimSpace(c.Birthday)
	if c.Name == "" {
		c.Name = strings.Join(nonEmpty(c.GivenName, c.MiddleName, c.FamilyName), " ")
	}
	for i := range c.Emails {
		c.Emails[i].Address = strings.TrimSpace(c.Emails[i].Address)
		if c.Emails[i].Kind == "" {
			c.Emails[i].Kind = "work"
		}
	}
	for i := range c.Phones {
		c.Phones[i].Number = strings.TrimSpace(c.Phones[i].Number)
		if c.Phones[i].Kind == "" {
			c.Phones[i].Kind = "mobile"
		}
	}
	for i := range c.Addresses {
		a := &c.Addresses[i]
		// The street keeps its inner line breaks; a region, city and so on
		// are one line.
		a.Street = strings.TrimSpace(strings.ReplaceAll(a.Street, "\r\n", "\n"))
		a.City = strings.TrimSpace(a.City)
		a.Region = strings.TrimSpace(a.Region)
		a.PostalCode = strings.TrimSpace(a.PostalCode)
		a.Country = strings.TrimSpace(a.Country)
		if a.Kind == "" {
			a.Kind = "work"
		}
	}
	fixPrimary(len(c.Emails), func(i int) *bool { return &c.Emails[i].Primary })
	fixPrimary(len(c.Phones), func(i int) *bool { return &c.Phones[i].Primary })
	fixPrimary(len(c.Addresses), func(i int) *bool { return &c.Addresses[i].Primary })
}

// fixPrimary makes the first item primary when none is; several primaries
// are left for Validate to report.
func fixPrimary(n int, primary func(int) *bool) {
	for i := 0; i < n; i++ {
		if *primary(i) {
			return
		}
	}
	if n > 0 {
		*primary(0) = true
	}
}

func nonEmpty(ss ...string) []string {
	out := ss[:0:0]
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Validate reports every field problem. Call Normalize first.
func (c *Contact) Validate() error {
	fe := FieldErrors{}
	lim := limits[KindContact]
	checkLen(fe, "given_name", c.GivenName, lim["given_name"], false)
	checkLen(fe, "middle_name", c.MiddleName, lim["middle_name"], false)
	checkLen(fe, "family_name", c.FamilyName, lim["family_name"], false)
	switch {
	case strings.TrimSpace(c.Name) == "":
		// Any one part will do; "required" on the full name alone would
		// contradict its help, which says it may stay empty.
		fe.Add("name", ErrNameRequired)
	case c.Name == strings.Join(nonEmpty(c.GivenName, c.MiddleName, c.FamilyName), " "):
		// Made of the parts, which are checked above: an over-long part is
		// reported on that part only, not again on the name.
	default:
		checkLen(fe, "name", c.Name, lim["name"], true)
	}
	checkLen(fe, "job_title", c.JobTitle, lim["job_title"], false)
	checkLen(fe, "company", c.Company, lim["company"], false)
	if c.Birthday != "" {
		if _, _, _, ok := ParseBirthday(c.Birthday); !ok {
			fe.Add("birthday", ErrDate)
		}
	}
	checkLen(fe, "notes", c.Notes, lim["notes"], false)
	checkEnum(fe, "type", c.Type, ContactTypes)
	if len(c.Emails) > MaxItems {
		fe.Add("emails", ErrTooMany)
	}
	if len(c.Phones) > MaxItems {
		fe.Add("phones", ErrTooMany)
	}
	if len(c.Addresses) > MaxItems {
		fe.Add("addresses", ErrTooMany)
	}
	ValidateGrants(fe, c.Access)
	if p := c.PhotoEdit; p != nil && len(p.Data) > 0 {
		if key := photoProblem(p.Data); key != "" {
			fe.Add("photo", key)
		}
	}
	primaries := 0
	for i, e := range c.Emails {
		f := fmt.Sprintf("emails[%d]", i)
		if !ValidEmail(e.Address) {
			fe.Add(f+".address", ErrEmail)
		}
		checkEnum(fe, f+".kind", e.Kind, EmailKinds)
		if e.Primary {
			primaries++
		}
	}
	if primaries > 1 {
		fe.Add("emails", ErrOnePrimary)
	}
	primaries = 0
	for i, p := range c.Phones {
		f := fmt.Sprintf("phones[%d]", i)
		checkLen(fe, f+".number", p.Number, lim["phone"], true)
		if p.Number != "" && !validPhone(p.Number) {
			fe.Add(f+".number", ErrPhone)
		}
		checkEnum(fe, f+".kind", p.Kind, PhoneKinds)
		if p.Primary {
			primaries++
		}
	}
	if primaries > 1 {
		fe.Add("phones", ErrOnePrimary)
	}
	primaries = 0
	for i, a := range c.Addresses {
		f := fmt.Sprintf("addresses[%d]", i)
		if a.IsEmpty() {
			fe.Add(f+".street", ErrAddressRequired)
		}
		checkLen(fe, f+".street", a.Street, lim["street"], false)
		checkLen(fe, f+".city", a.City, lim["city"], false)
		checkLen(fe, f+".region", a.Region, lim["region"], false)
		checkLen(fe, f+".postal_code", a.PostalCode, lim["postal_code"], false)
		checkLen(fe, f+".country", a.Country, lim["country"], false)
		checkEnum(fe, f+".kind", a.Kind, AddressKinds)
		if a.Primary {
			primaries++
		}
	}
	if primaries > 1 {
		fe.Add("addresses", ErrOnePrimary)
	}
	return fe.Err()
}

// ParseBirthday reads a Birthday: "YYYY-MM-DD", or "--MM-DD" with year 0
// when the year is unknown (vCard's "--MMDD", Google's birthday without a
// year). ok is false for anything else, including a day the month does not
// have (February 29 is allowed without a year).
func ParseBirthday(s string) (year, month, day int, ok bool) {
	var y int
	rest, noYear := strings.CutPrefix(s, "--")
	if !noYear {
		if len(s) != 10 || s[4] != '-' {
			return 0, 0, 0, false
		}
		var okY bool
		if y, okY = digits(s[:4]); !okY || y == 0 {
			return 0, 0, 0, false
		}
		rest = s[5:]
	}
	if len(rest) != 5 || rest[2] != '-' {
		return 0, 0, 0, false
	}
	m, okM := digits(rest[:2])
	d, okD := digits(rest[3:])
	if !okM || !okD || m < 1 || m > 12 || d < 1 {
		return 0, 0, 0, false
	}
	year4 := y
	if noYear {
		year4 = 2000 // a leap year: a birthday without a year may be February 29
	}
	if d > time.Date(year4, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day() {
		return 0, 0, 0, false
	}
	return y, m, d, true
}

// FormatBirthday is ParseBirthday's inverse; year 0 means unknown.
func FormatBirthday(year, month, day int) string {
	if year == 0 {
		return fmt.Sprintf("--%02d-%02d", month, day)
	}
	return fmt.Sprintf("%04d-%02d-%02d", year, month, day)
}

func digits(s string) (int, bool) {
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, false
		}
		n = n*10 + int(r-'0')
	}
	return n, s != ""
}

// CompanyName is the company the contact is shown and synced with: the
// name it states, else its account's (AccountName, which the store fills).
func (c *Contact) CompanyName() string {
	if c.Company != "" {
		return c.Company
	}
	return c.AccountName
}

// ValidEmail accepts a bare address (no display name) with a domain part.
func ValidEmail(s string) bool {
	if s == "" || len(s) > MaxEmail {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	return at > 0 && at < len(s)-1
}

// validPhone allows what people actually type: digits, spaces, + - ( ) . and
// an extension marker, with at least three digits.
func validPhone(s string) bool {
	digits := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune(" +-().#*xXдоб", r):
		default:
			return false
		}
	}
	return digits >= 3
}

// PrimaryEmail returns the primary address or "".
func (c *Contact) PrimaryEmail() string {
	for _, e := range c.Emails {
		if e.Primary {
			return e.Address
		}
	}
	return ""
}

// PrimaryPhone returns the primary number or "".
func (c *Contact) PrimaryPhone() string {
	for _, p := range c.Phones {
		if p.Primary {
			return p.Number
		}
	}
	return ""
}

// SearchText is what contact search matches against, folded.
func (c *Contact) SearchText() string {
	parts := []string{c.Name, c.GivenName, c.MiddleName, c.FamilyName, c.JobTitle, c.Company}
	for _, e := range c.Emails {
		parts = append(parts, e.Address)
	}
	for _, p := range c.Phones {
		parts = append(parts, p.Number, digitsOnly(p.Number))
	}
	return Fold(strings.Join(nonEmpty(parts...), " "))
}

func digitsOnly(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
