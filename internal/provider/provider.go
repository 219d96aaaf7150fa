// Package provider owns what a sync provider (Google, later CalDAV/CardDAV,
// IMAP, Microsoft Graph, Exchange EWS) offers Tandem, and the registry of
// the providers a process knows. A provider is a package that implements
// Provider and is registered once (app.go); syncer, web/api, web/ui and
// web/hooks then work with it by its name (connections.provider) and never
// name it.
//
// The core interface is small: the binding kinds a provider supports and
// how to open an authenticated session for one connection, from which the
// connector of each binding is built. Everything else is an optional
// capability, a small interface of its own that the caller checks for at
// the point of use (as go-imap's server does with its backends): listing
// remote collections, finding or creating a collection by name, push
// subscriptions and the hooks that receive them, OAuth scopes per kind,
// a system-wide switch per kind, and classifying the provider's errors.
package provider

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/store"
)

// Kind is a binding kind: what a binding syncs. Kinds are Tandem's (the
// CRM side of a binding, its settings and its local adapter are the same
// whichever provider holds the remote side), so they are declared here and
// a provider says which of them it supports.
type Kind string

// The binding kinds. Mail comes later.
const (
	Contact Kind = "contact"
	Event   Kind = "event"
	// Task is a to-do list: activities of type task not shown in the
	// calendar (SPEC §4: an activity shown in the calendar is a meeting
	// there, without it a task).
	Task Kind = "task"
)

// Kinds are every binding kind, in the order the UI shows them.
var Kinds = []Kind{Contact, Event, Task}

// ErrUnknownKind is a binding kind Tandem does not know.
var ErrUnknownKind = errors.New("unknown binding kind")

// ParseKind reads a binding kind (from a URL, a stored binding).
func ParseKind(s string) (Kind, error) {
	k := Kind(s)
	if !slices.Contains(Kinds, k) {
		return "", fmt.Errorf("%w %q", ErrUnknownKind, s)
	}
	return k, nil
}

// CollectionMode is how a binding's remote collection is chosen.
type CollectionMode string

const (
	// CollectionNamed: Tandem finds the collection by a name the user may
	// change (CollectionFinder) and creates it on the first run (Google's
	// contact group).
	CollectionNamed CollectionMode = "named"
	// CollectionPicked: the user picks the collection from the remote list
	// (CollectionLister; Google's calendars).
	CollectionPicked CollectionMode = "picked"
)

// KindInfo is what a provider says about one kind it supports.
type KindInfo struct {
	Kind       Kind
	Collection CollectionMode
	// Several: the user may pick several collections of the kind at once
	// (CollectionPicked only), each synced by a binding of its own; one
	// of them is the home one, where new records go (a CalDAV account's
	// calendars). Otherwise one collection at a time.
	Several bool
}

// Provider is a sync provider.
type Provider interface {
	// Name is the provider's code: the value of connections.provider.
	Name() string
	// DisplayName is the provider's name as users see it ("Google"). It is
	// a brand, the same in every language.
	DisplayName() string
	// Kinds are the binding kinds the provider supports.
	Kinds() []KindInfo
	// Open builds authenticated clients for one connection from its
	// credentials. It talks to no one: a bad credential shows on first use.
	Open(ctx context.Context, conn *store.Connection) (Session, error)
}

// BindingSpec is what a session needs to build the connector of one
// binding.
type BindingSpec struct {
	Kind       Kind
	Collection string // the remote collection's id
	// From bounds the remote listing (events ending after it; tasks due,
	// else starting, on or after it, and undated ones — see
	// reconcile.TaskItemReachesDate); zero lists everything.
	From time.Time
	// Self is the connection owner's email address (whose events are
	// theirs); TZ their time zone.
	Self, TZ string
	// DeleteForeign: a record leaving the binding deletes its remote item
	// even when Tandem did not create it (for collections where leaving
	// means deleting: an address book). Otherwise such an item stays.
	DeleteForeign bool
}

// Session is one connection's authenticated clients.
type Session interface {
	// Connector builds the connector of one binding. The collection must
	// be set (see CollectionFinder for named collections).
	Connector(ctx context.Context, b BindingSpec) (reconcile.Connector, error)
}

// Info returns what p says about kind, and whether p supports it.
func Info(p Provider, kind Kind) (KindInfo, bool) {
	for _, k := range p.Kinds() {
		if k.Kind == kind {
			return k, true
		}
	}
	return KindInfo{}, false
}

// ErrUnknownProvider is a provider no package registered.
var ErrUnknownProvider = errors.New("sync provider not supported")

// ErrKindNotSupported is a kind the provider does not sync.
var ErrKindNotSupported = errors.New("binding kind not supported by the provider")

// Registry is the providers a process knows, by name. Register them
// before the process serves or runs anything; reads are safe from any
// goroutine.
type Registry struct {
	mu    sync.RWMutex
	byKey map[string]Provider
	order []string
}

// NewRegistry returns a registry holding ps.
func NewRegistry(ps ...Provider) *Registry {
	r := &Registry{byKey: map[string]Provider{}}
	for _, p := range ps {
		if err := r.Register(p); err != nil {
			panic(err)
		}
	}
	return r
}

// Register adds a provider; a second one under the same name is an error.
func (r *Registry) Register(p Provider) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byKey == nil {
		r.byKey = map[string]Provider{}
	}
	name := p.Name()
	if name == "" {
		return errors.New("register provider: empty name")
	}
	if _, dup := r.byKey[name]; dup {
		return fmt.Errorf("register provider: %q registered twice", name)
	}
	r.byKey[name] = p
	r.order = append(r.order, name)
	return nil
}

// Get returns the provider named name (ErrUnknownProvider otherwise).
func (r *Registry) Get(name string) (Provider, error) {
	if r != nil {
		r.mu.RLock()
		p, ok := r.byKey[name]
		r.mu.RUnlock()
		if ok {
			return p, nil
		}
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownProvider, name)
}

// All returns the providers in the order they were registered.
func (r *Registry) All() []Provider {
	if r == nil {
		return nil
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Provider, len(r.order))
	for i, n := range r.order {
		out[i] = r.byKey[n]
	}
	return out
}

// Capabilities. Each is checked with a type assertion where it is used;
// a provider (or session) without it simply does not offer the feature.

// Collection is a remote collection a user may pick (a calendar). The
// JSON names are the API's (GET /connections/{id}/calendars).
type Collection struct {
	ID         string `json:"id"`
	Name       string `json:"summary"`
	TimeZone   string `json:"time_zone"`
	Primary    bool   `json:"primary"`
	AccessRole string `json:"access_role"`
}

// CollectionLister is a Session that lists the collections of a kind the
// user may pick, the primary one first.
type CollectionLister interface {
	Collections(ctx context.Context, kind Kind) ([]Collection, error)
}

// CollectionFinder is a Session that finds a collection by name and
// creates it when asked to. A preview only finds, never creates.
type CollectionFinder interface {
	// FindCollection returns the id of the collection of kind named name;
	// found is false when there is none.
	FindCollection(ctx context.Context, kind Kind, name string) (id string, found bool, err error)
	// EnsureCollection finds the collection, creating it when missing.
	EnsureCollection(ctx context.Context, kind Kind, name string) (string, error)
}

// CollectionNamer is a Provider that names the collections it creates for
// Tandem unless the user chose another name.
type CollectionNamer interface {
	DefaultCollectionName(ctx context.Context, kind Kind) string
}

// OffError says that a kind is off for a provider system-wide, and why.
// It is what a run of such a binding ends with: not a fault of the
// connection, which stays healthy.
type OffError struct {
	Provider string
	Kind     Kind
	Key      string // message key of what the UI says
	// Reason says it in English, for the binding's last error, logs and
	// the API ("calendar sync with Google is off: …").
	Reason string
}

func (e *OffError) Error() string { return "sync: " + e.Reason }

// Is makes every OffError match ErrKindOff.
func (e *OffError) Is(target error) bool { return target == ErrKindOff }

// ErrKindOff matches any OffError.
var ErrKindOff = errors.New("sync: binding kind off for the provider")

// KindGate is a Provider whose kinds the administrator may switch off
// system-wide (Google's calendar when another calendar integration is
// chosen). KindOff returns an *OffError when kind is off, nil when on.
type KindGate interface {
	KindOff(ctx context.Context, kind Kind) (*OffError, error)
}

// Consent is a Provider whose connections grant access per kind (OAuth
// scopes). MissingConsent names the kinds that are on but that conn was
// not granted: they fail until the account is connected again.
type Consent interface {
	MissingConsent(ctx context.Context, conn *store.Connection) ([]Kind, error)
}

// Reconnector is a Provider whose accounts are (re)connected through a
// flow the browser starts by POSTing the connection id (field
// "connection") to ConnectPath: a new sign-in, or more consent.
type Reconnector interface {
	ConnectPath() string
}

// Connectable is a Reconnector whose accounts users add themselves from
// the External accounts page. ConnectSetup says whether that works now;
// when not, notice is a message key saying why (an administrator has to
// set the provider up).
type Connectable interface {
	Reconnector
	ConnectSetup(ctx context.Context) (notice string, err error)
}

// OAuthApp is a Provider whose accounts connect through the company's own
// OAuth app, which the administrator registers with the provider: the
// administration page shows what to register.
type OAuthApp interface {
	OAuthRegistration() OAuthRegistration
}

// OAuthRegistration is what the administrator registers.
type OAuthRegistration struct {
	CallbackPath string   // appended to SiteUrl: the redirect URI
	Scopes       []string // every scope Tandem may ask for
	ConsoleURL   string   // where the app is registered
}

// SettingsNotices is a Provider with a group of system settings (the
// administration page's section SettingsGroup) that warns about their
// values as the page shows them (saved, or just posted): warning is a
// message key ("" none); push is set while push is off.
type SettingsNotices interface {
	SettingsGroup() string
	SettingsNotice(values map[string]string) (warning string, push *PushState)
}

// ScopeNamer is a Provider that names the permissions (OAuth scopes) a
// connection was granted, for the account's page: key is a message key,
// "" for a scope not worth showing (identity); known is false for a scope
// it does not know (shown as is).
type ScopeNamer interface {
	ScopeKey(scope string) (key string, known bool)
}

// ErrorClassifier is a Provider that tells its remote errors apart, for
// the metrics.
type ErrorClassifier interface {
	RateLimited(err error) bool // the remote asked to slow down
	RemoteError(err error) bool // any error of the remote or on the way to it
}

// PasswordAccounts is a Provider whose accounts users add with a server
// address, a user name and a password (an app password, for servers with
// two-factor sign-in) instead of an OAuth consent: CalDAV/CardDAV, later
// Exchange. The web layers show one form for every such provider.
type PasswordAccounts interface {
	// Presets are the well-known services whose address the form fills in.
	Presets() []Preset
	// Connect verifies the credentials with the server (it signs in and
	// finds what the account holds) and stores a new connection with
	// them sealed; with conn set it replaces that connection's
	// credentials instead (the password changed) and turns it active
	// again. A failure the user can fix is a *CredentialsError.
	Connect(ctx context.Context, userID string, in Credentials, conn *store.Connection) (*store.Connection, error)
	// CredentialsOf returns what the form shows of a connection's
	// credentials: the address and user name, never the password.
	CredentialsOf(ctx context.Context, conn *store.Connection) (Credentials, error)
}

// Credentials are what a user types to add an account.
type Credentials struct {
	URL      string // the server's address, or the account's e-mail address
	Username string
	Password string
}

// Preset is a well-known service.
type Preset struct {
	Code string // stable code, also the message key suffix of its hint
	Name string // a brand, the same in every language
	URL  string // what the form's address field gets
}

// CredentialsError is a failed connect the user can fix: Key is the
// message key that says what went wrong, Field the form field to fix
// ("url", "username", "password"; "" for the whole form).
type CredentialsError struct {
	Key   string
	Field string
	Err   error
}

func (e *CredentialsError) Error() string { return "connect: " + e.Err.Error() }
func (e *CredentialsError) Unwrap() error { return e.Err }
