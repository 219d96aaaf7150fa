package crm

import (
	"strconv"
	"strings"
	"time"
)

// Tag kinds. A personal tag is visible to its owner only; corporate and
// public tags are visible to every user (public ones are also meant for
// outside portals, which Tandem does not have yet).
const (
	TagPersonal  = "personal"
	TagCorporate = "corporate"
	TagPublic    = "public"
)

// TagKinds lists the kinds in UI order.
var TagKinds = []string{TagPersonal, TagCorporate, TagPublic}

// TagColors a user can pick for a chip.
var TagColors = []string{"gray", "red", "orange", "yellow", "green", "teal", "blue", "purple", "pink"}

// Tag labels records.
type Tag struct {
	ID        string
	Name      string
	Kind      string
	Color     string
	OwnerID   string
	CreatedAt time.Time
}

// Normalize trims and fills defaults.
func (t *Tag) Normalize() {
	t.Name = strings.TrimSpace(t.Name)
	if t.Kind == "" {
		t.Kind = TagPersonal
	}
	if t.Color == "" {
		t.Color = "gray"
	}
}

// Validate reports every field problem.
func (t *Tag) Validate() error {
	fe := FieldErrors{}
	checkLen(fe, "name", t.Name, MaxLen(KindTag, "name"), true)
	checkEnum(fe, "kind", t.Kind, TagKinds)
	checkEnum(fe, "color", t.Color, TagColors)
	return fe.Err()
}

// Group entity kinds.
const (
	GroupContacts   = "contact"
	GroupActivities = "activity"
)

// Group is a named static list of contacts or of activities.
type Group struct {
	ID          string
	Name        string
	Entity      string
	OwnerID     string
	MemberCount int
	Access      []Grant
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Normalize trims.
func (g *Group) Normalize() { g.Name = strings.TrimSpace(g.Name) }

// Validate reports every field problem.
func (g *Group) Validate() error {
	fe := FieldErrors{}
	checkLen(fe, "name", g.Name, MaxLen(KindGroup, "name"), true)
	checkEnum(fe, "entity", g.Entity, []string{GroupContacts, GroupActivities})
	ValidateGrants(fe, g.Access)
	return fe.Err()
}

// Access levels a role may hold on a record.
const (
	AccessRead = "read"
	AccessEdit = "edit"
)

// Grant gives a role read or edit access to one record. The owner always
// has edit access and needs no grant.
type Grant struct {
	RoleID string
	Level  string
}

// ValidateGrants checks a record's access list.
func ValidateGrants(fe FieldErrors, gs []Grant) {
	if len(gs) > MaxItems {
		fe.Add("access", ErrTooMany)
	}
	seen := map[string]bool{}
	for i, g := range gs {
		f := "access[" + itoa(i) + "]"
		if g.RoleID == "" {
			fe.Add(f+".role_id", ErrRequired)
		}
		if seen[g.RoleID] {
			fe.Add(f+".role_id", ErrInvalid)
		}
		seen[g.RoleID] = true
		checkEnum(fe, f+".level", g.Level, []string{AccessRead, AccessEdit})
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
