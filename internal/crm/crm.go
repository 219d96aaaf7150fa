// Package crm owns Tandem's core records — contacts, accounts, activities,
// cases, tags and groups — as plain types with their validation rules. It does no
// I/O: the store persists these types, the web layer decodes them, and the
// sync engine compares them, all against the same rules defined here.
package crm

import (
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tandem-crm/tandem/internal/i18n"
)

// Field length limits shared by the API, the UI and the store.
const (
	MaxName  = 200
	MaxShort = 100
	MaxText  = 20000
	MaxItems = 50
	MaxEmail = 254 // RFC 5321's limit on a forward path
	MaxRRule = 500
)

// Kinds of records in the limits table (MaxLen).
const (
	KindContact  = "contact"
	KindAccount  = "account"
	KindActivity = "activity"
	KindCase     = "case"
	KindTag      = "tag"
	KindGroup    = "group"
	KindUser     = "user"
	KindRole     = "role"
	KindToken    = "token"
)

// limits is the longest value, in characters, of each text field by record
// kind. Validate checks these and the web forms take their maxlength from
// MaxLen, so an input never accepts what saving then refuses.
var limits = map[string]map[string]int{
	KindContact: {"name": MaxName, "given_name": MaxShort, "middle_name": MaxShort, "family_name": MaxShort,
		"job_title": MaxName, "company": MaxName, "notes": MaxText, "email": MaxEmail, "phone": MaxShort,
		"street": MaxName * 2, "city": MaxShort, "region": MaxShort, "postal_code": MaxShort, "country": MaxShort},
	KindAccount: {"name": MaxName, "industry": MaxShort, "website": MaxName, "phone": MaxShort, "email": MaxEmail,
		"address": MaxName * 2, "notes": MaxText},
	KindActivity: {"title": MaxName, "description": MaxText, "location": MaxName, "rrule": MaxRRule,
		"participant_name": MaxName, "email": MaxEmail},
	KindCase:  {"subject": MaxName, "description": MaxText, "source_chat_id": MaxShort},
	KindTag:   {"name": MaxShort},
	KindGroup: {"name": MaxName},
	// Users, roles and API tokens are checked by the store, against these.
	KindUser:  {"name": MaxName, "email": MaxEmail},
	KindRole:  {"name": MaxShort, "description": MaxName * 2},
	KindToken: {"name": MaxShort},
}

// MaxLen is the longest value, in characters, of a record kind's text field
// (MaxLen(KindContact, "given_name")); 0 for a field without a limit.
func MaxLen(kind, field string) int { return limits[kind][field] }

// FieldErrors maps a field path (e.g. "emails[1].address") to a message key
// from the i18n catalogue ("error.required"). An empty map means valid.
type FieldErrors map[string]string

// Add records the first problem found for a field; later ones are dropped so
// the user fixes one thing at a time.
func (fe FieldErrors) Add(field, key string) {
	if _, ok := fe[field]; !ok {
		fe[field] = key
	}
}

// Err returns nil when there are no errors, so callers can write
// `return fe.Err()`.
func (fe FieldErrors) Err() error {
	if len(fe) == 0 {
		return nil
	}
	return &ValidationError{Fields: fe}
}

// ValidationError carries per-field problems up to the web layer.
type ValidationError struct{ Fields FieldErrors }

func (e *ValidationError) Error() string {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("invalid fields:")
	for _, k := range keys {
		b.WriteString(" " + k + " (" + e.Fields[k] + ")")
	}
	return b.String()
}

// Message keys for validation problems; the catalogue translates them.
const (
	ErrRequired = "error.required"
	ErrTooLong  = "error.too_long" // a count message: use TooLong, which says the limit
	ErrInvalid  = "error.invalid"
	ErrEmail    = "error.invalid_email"
	ErrDate     = "error.invalid_date"
	ErrRRule    = "error.invalid_rrule"
	// ErrNotOccurrence: an override names a start the series never has.
	ErrNotOccurrence = "error.not_an_occurrence"
	ErrTimeZone      = "error.invalid_time_zone"
	ErrEndBefore     = "error.end_before_start"
	ErrOnePrimary    = "error.one_primary"
	ErrTooMany       = "error.too_many"
	ErrUnknownEnum   = "error.unknown_value"
)

// Keys that say what exactly is wrong or missing, where a bare "invalid"
// or "required" would mislead.
const (
	ErrPhone     = "error.invalid_phone"
	ErrURL       = "error.invalid_url"
	ErrDuplicate = "error.duplicate" // the same value twice in a list

	// ErrNameRequired: a contact has neither a full name nor any part of one.
	ErrNameRequired = "error.required_name"
	// ErrAddressRequired: a postal address has no part filled in.
	ErrAddressRequired = "error.required_address"
	// ErrParticipantRequired: a participant has neither an email nor a contact.
	ErrParticipantRequired = "error.required_participant"
	// ErrStartForCalendar and ErrStartForRepeat: an activity shown in the
	// calendar, or repeating, needs a start.
	ErrStartForCalendar = "error.required_start_calendar"
	ErrStartForRepeat   = "error.required_start_repeat"
)

// TooLong is the error of a value longer than max characters; the message
// states the limit ("At most 200 characters.").
func TooLong(max int) string { return i18n.WithCount(ErrTooLong, max) }

func checkLen(fe FieldErrors, field, v string, max int, required bool) {
	switch {
	case required && strings.TrimSpace(v) == "":
		fe.Add(field, ErrRequired)
	case utf8.RuneCountInString(v) > max:
		fe.Add(field, TooLong(max))
	case !utf8.ValidString(v) || hasControl(v):
		fe.Add(field, ErrInvalid)
	}
}

func checkEnum(fe FieldErrors, field, v string, allowed []string) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	fe.Add(field, ErrUnknownEnum)
}

// Fold returns the form of s used for case-insensitive search. It is
// computed in Go rather than SQL because SQLite's lower() only folds ASCII,
// and search must treat Cyrillic and Latin alike on both databases.
// Russian "ё" folds to "е" because users type them interchangeably.
func Fold(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.ReplaceAll(s, "ё", "е")
}

// Timestamps are stored as Unix microseconds in UTC so that the same SQL
// sorts and compares them on SQLite and PostgreSQL.

// Micros converts t to storage form.
func Micros(t time.Time) int64 { return t.UTC().UnixMicro() }

// FromMicros converts storage form back to a UTC time.
func FromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// Now is the store's clock truncated to the stored precision, so a record
// read back compares equal to the one written.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// hasControl reports C0 control characters other than tab and line breaks:
// they are invisible, break exports (vCard, iCalendar) and PostgreSQL
// rejects NUL outright.
func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' {
			return true
		}
	}
	return false
}
