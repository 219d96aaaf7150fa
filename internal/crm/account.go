package crm

import (
	"net/url"
	"strings"
	"time"
)

// AccountTypes a user can pick.
var AccountTypes = []string{"", "customer", "partner", "supplier", "competitor", "our_company", "other"}

// Account is a company (counterparty).
type Account struct {
	ID        string
	Name      string
	Type      string
	Industry  string
	Website   string
	Phone     string
	Email     string
	Address   string
	Notes     string
	Tags      []TagRef
	Access    []Grant
	OwnerID   string
	CreatedAt time.Time
	UpdatedAt time.Time
	Version   int64
}

// Normalize trims fields.
func (a *Account) Normalize() {
	a.Name = strings.TrimSpace(a.Name)
	a.Industry = strings.TrimSpace(a.Industry)
	a.Website = strings.TrimSpace(a.Website)
	a.Phone = strings.TrimSpace(a.Phone)
	a.Email = strings.TrimSpace(a.Email)
	a.Address = strings.TrimSpace(a.Address)
}

// Validate reports every field problem.
func (a *Account) Validate() error {
	fe := FieldErrors{}
	lim := limits[KindAccount]
	checkLen(fe, "name", a.Name, lim["name"], true)
	checkEnum(fe, "type", a.Type, AccountTypes)
	checkLen(fe, "industry", a.Industry, lim["industry"], false)
	checkLen(fe, "website", a.Website, lim["website"], false)
	checkLen(fe, "phone", a.Phone, lim["phone"], false)
	checkLen(fe, "address", a.Address, lim["address"], false)
	checkLen(fe, "notes", a.Notes, lim["notes"], false)
	ValidateGrants(fe, a.Access)
	if a.Email != "" && !ValidEmail(a.Email) {
		fe.Add("email", ErrEmail)
	}
	if a.Phone != "" && !validPhone(a.Phone) {
		fe.Add("phone", ErrPhone)
	}
	if a.Website != "" {
		u, err := url.Parse(a.Website)
		if err != nil || strings.ContainsAny(a.Website, " \t\n") || (u.Scheme != "" && u.Scheme != "http" && u.Scheme != "https") {
			fe.Add("website", ErrURL)
		}
	}
	return fe.Err()
}

// SearchText is what account search matches against, folded.
func (a *Account) SearchText() string {
	return Fold(strings.Join(nonEmpty(a.Name, a.Industry, a.Website, a.Email, a.Phone), " "))
}
