// Package access owns who may do what: the Viewer a request acts as, the
// system operations (named rights granted to users or roles), password
// hashing and the generation of session and API tokens. It holds the rules;
// the store persists users, roles, grants, sessions and tokens and applies
// record access in its queries.
package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
)

// System operations. Codes are exact: they appear in the UI, the API and
// grants stored in the database.
const (
	OpManageAdministration    = "CanManageAdministration"
	OpManageChats             = "CanManageChats"
	OpConnectSharedMailbox    = "CanConnectSharedMailbox"
	OpManageSharedMailboxSync = "CanManageSharedMailboxSync"
)

// Operations lists every known operation in display order.
var Operations = []string{OpManageAdministration, OpManageChats, OpConnectSharedMailbox, OpManageSharedMailboxSync}

// KnownOperation reports whether code is one of Operations.
func KnownOperation(code string) bool {
	for _, o := range Operations {
		if o == code {
			return true
		}
	}
	return false
}

// Viewer is the user a request acts as, with the operations they hold
// directly or through roles. Record access is checked by the store against
// UserID, so a Viewer never caches record rights.
type Viewer struct {
	UserID string
	Email  string
	Name   string
	Lang   string
	TZ     string
	Ops    map[string]bool
}

// Can reports whether the viewer holds operation op.
func (v Viewer) Can(op string) bool { return v.Ops[op] }

// IsAdmin is shorthand for the administration right.
func (v Viewer) IsAdmin() bool { return v.Can(OpManageAdministration) }

// ErrPassword is returned for a wrong password; callers must not say whether
// the user exists.
var ErrPassword = errors.New("wrong email or password")

// Why a sign-in failed, for the record administrators see; both are also
// ErrPassword, which is all a caller may be told.
var (
	ErrUnknownUser = fmt.Errorf("%w: no such user", ErrPassword)
	ErrInactive    = fmt.Errorf("%w: user is inactive", ErrPassword)
)

// argon2id parameters (RFC 9106 second recommended option, with lower memory
// so that a small server can log several users in at once).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// MinPasswordLen is enforced on every password a user sets.
const MinPasswordLen = 10

// HashPassword returns an encoded argon2id hash in the PHC string format.
func HashPassword(password string) (string, error) {
	if len(password) < MinPasswordLen {
		return "", fmt.Errorf("password must have at least %d characters", MinPasswordLen)
	}
	if len(password) > 1024 {
		return "", fmt.Errorf("password is too long")
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// CheckPassword compares password with an encoded hash in constant time.
func CheckPassword(encoded, password string) error {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return ErrPassword
	}
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return ErrPassword
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || m > 1<<20 || t > 10 || p == 0 {
		return ErrPassword
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return ErrPassword
	}
	return nil
}

// NewToken returns a random URL-safe token with a readable prefix ("tnd_"
// for API tokens) so that leaked tokens are easy to spot by scanners.
func NewToken(prefix string) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("access: crypto/rand failed: " + err.Error())
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// HashToken is how tokens are stored: only their SHA-256, so a database
// leak does not leak working credentials.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// User is a person who logs in to Tandem.
type User struct {
	ID        string
	Email     string
	Name      string
	Language  string // "" means "from the browser"
	TimeZone  string
	Active    bool
	RoleIDs   []string
	Ops       []string // operations granted directly (not through roles)
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Role groups users for record access and operations.
type Role struct {
	ID          string
	Name        string
	Description string
	Ops         []string
	MemberCount int
	CreatedAt   time.Time
}

// APIToken is a machine credential; the secret is shown once at creation.
type APIToken struct {
	ID         string
	UserID     string
	Name       string
	CreatedAt  time.Time
	LastUsedAt time.Time
	ExpiresAt  time.Time // zero: never
}

type viewerKey struct{}

// WithViewer returns a context carrying the authenticated viewer.
func WithViewer(ctx context.Context, v Viewer) context.Context {
	return context.WithValue(ctx, viewerKey{}, v)
}

// ViewerFrom returns the viewer set by WithViewer.
func ViewerFrom(ctx context.Context) (Viewer, bool) {
	v, ok := ctx.Value(viewerKey{}).(Viewer)
	return v, ok
}
