// Package settings owns the system settings registry: every setting's code,
// type, default and validation, and reading and writing values through a
// small storage interface. Secret values are sealed with package secret
// before they are stored and are only ever shown masked.
package settings

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tandem-crm/tandem/internal/i18n"
	"github.com/tandem-crm/tandem/internal/secret"
)

// Types of setting values.
const (
	TypeString = "string"
	TypeInt    = "int"
	TypeBool   = "bool"
	TypeURL    = "url"
	TypeSecret = "secret"
	TypeEnum   = "enum"
	TypeFile   = "file"
)

// MaxTextLen is the longest string, URL or secret value, in characters.
const MaxTextLen = 2000

// Def describes one setting.
type Def struct {
	Code    string
	Type    string
	Default string
	Group   string   // section on the admin page: general, google, microsoft, mail, chats
	Min     int      // for TypeInt
	Max     int      // for TypeInt
	Options []string // for TypeEnum
	Accept  string   // for TypeFile: a MIME type prefix, e.g. "audio/"
	MaxSize int      // for TypeFile, bytes
}

// Registry lists every system setting. Codes are exact (SPEC §1).
var Registry = []Def{
	{Code: "SiteUrl", Type: TypeURL, Group: "general"},
	{Code: "MailboxSyncInterval", Type: TypeInt, Default: "10", Min: 1, Max: 1440, Group: "mail"},
	{Code: "SimultaneousChats", Type: TypeInt, Default: "2", Min: 1, Max: 100, Group: "chats"},
	{Code: "OmniChatOperatorAcceptChatTimeout", Type: TypeInt, Default: "5", Min: 1, Max: 1440, Group: "chats"},
	{Code: "OmniChatNotificationSound", Type: TypeFile, Group: "chats", Accept: "audio/", MaxSize: 1 << 20},
	// TelegramApiUrl is the Bot API's address; only a test emulator needs
	// another one.
	{Code: "TelegramApiUrl", Type: TypeURL, Default: "https://api.telegram.org", Group: "chats"},
	// The company's Meta app for Messenger page channels (package
	// chat/messenger); the URLs and version point Tandem at another Graph
	// host (a test emulator) or pin the Graph API version.
	{Code: "MessengerAppId", Type: TypeString, Group: "chats"},
	{Code: "MessengerAppSecret", Type: TypeSecret, Group: "chats"},
	{Code: "MessengerGraphUrl", Type: TypeURL, Default: "https://graph.facebook.com", Group: "chats"},
	{Code: "MessengerLoginUrl", Type: TypeURL, Default: "https://www.facebook.com", Group: "chats"},
	{Code: "MessengerApiVersion", Type: TypeString, Default: "v21.0", Group: "chats"},
	{Code: "CalendarIntegration", Type: TypeEnum, Default: "none", Options: []string{"none", "google", "exchange"}, Group: "general"},
	// UseSharedGoogleApp: Tandem ships no shared Google app, so while it is
	// on (the default) connecting Google accounts is unavailable and users
	// are told to ask an administrator to turn it off and enter the
	// company's GoogleClientId and GoogleClientSecret (package oauth).
	{Code: "UseSharedGoogleApp", Type: TypeBool, Default: "true", Group: "google"},
	{Code: "GoogleClientId", Type: TypeString, Group: "google"},
	{Code: "GoogleClientSecret", Type: TypeSecret, Group: "google"},
	{Code: "GoogleApplicationName", Type: TypeString, Default: "Tandem", Group: "google"},
	{Code: "GooglePushServiceUrl", Type: TypeURL, Group: "google"},
	// Google's endpoints, settings so that tests, benchmarks and `tandem
	// demo` can point them at the loopback emulator. GoogleApiUrl empty
	// means the real People and Calendar hosts; when set, People is
	// <GoogleApiUrl>/ and Calendar <GoogleApiUrl>/calendar/v3/, and the
	// user info endpoint defaults to <GoogleApiUrl>/oauth2/v3/userinfo.
	{Code: "GoogleAuthUrl", Type: TypeURL, Default: "https://accounts.google.com/o/oauth2/v2/auth", Group: "google"},
	{Code: "GoogleTokenUrl", Type: TypeURL, Default: "https://oauth2.googleapis.com/token", Group: "google"},
	{Code: "GoogleUserInfoUrl", Type: TypeURL, Default: "https://openidconnect.googleapis.com/v1/userinfo", Group: "google"},
	{Code: "GoogleApiUrl", Type: TypeURL, Group: "google"},
	{Code: "MicrosoftClientId", Type: TypeString, Group: "microsoft"},
	{Code: "MicrosoftClientSecret", Type: TypeSecret, Group: "microsoft"},
	{Code: "MicrosoftTenantId", Type: TypeString, Default: "common", Group: "microsoft"},
	// MicrosoftAuthorityUrl is the Microsoft identity platform's host, a
	// setting so that tests and `tandem demo` can point it at the loopback
	// emulator (internal/emulator/msidentity): sign-in is at
	// <MicrosoftAuthorityUrl>/<MicrosoftTenantId>/oauth2/v2.0/authorize,
	// tokens at …/oauth2/v2.0/token.
	{Code: "MicrosoftAuthorityUrl", Type: TypeURL, Default: "https://login.microsoftonline.com", Group: "microsoft"},
}

// Lookup finds a setting by code.
func Lookup(code string) (Def, bool) {
	for _, d := range Registry {
		if d.Code == code {
			return d, true
		}
	}
	return Def{}, false
}

// File is the value of a TypeFile setting.
type File struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Data        []byte `json:"data"`
}

// Normalize validates raw input for d and returns the canonical string to
// store, or a message key from the i18n catalogue.
func (d Def) Normalize(raw string) (string, string) {
	if !utf8.ValidString(raw) {
		return "", "error.invalid"
	}
	switch d.Type {
	case TypeInt:
		n, err := strconv.Atoi(strings.TrimSpace(raw))
		if err != nil {
			return "", "error.invalid_number"
		}
		if n < d.Min || (d.Max > 0 && n > d.Max) {
			return "", "error.out_of_range"
		}
		return strconv.Itoa(n), ""
	case TypeBool:
		b, err := strconv.ParseBool(strings.TrimSpace(raw))
		if err != nil {
			return "", "error.invalid"
		}
		return strconv.FormatBool(b), ""
	case TypeURL:
		raw = strings.TrimRight(strings.TrimSpace(raw), "/")
		if raw == "" {
			return "", ""
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", "error.invalid_url"
		}
		return raw, ""
	case TypeEnum:
		for _, o := range d.Options {
			if raw == o {
				return raw, ""
			}
		}
		return "", "error.unknown_value"
	case TypeFile:
		if raw == "" {
			return "", ""
		}
		var f File
		if err := json.Unmarshal([]byte(raw), &f); err != nil || f.Name == "" {
			return "", "error.invalid"
		}
		if len(f.Data) > d.MaxSize {
			return "", "error.too_large"
		}
		if !strings.HasPrefix(f.ContentType, d.Accept) {
			return "", "error.wrong_file_type"
		}
		return raw, ""
	default: // string, secret
		raw = strings.TrimSpace(raw)
		if utf8.RuneCountInString(raw) > MaxTextLen {
			return "", i18n.WithCount("error.too_long", MaxTextLen)
		}
		return raw, ""
	}
}

// Storage persists raw values.
type Storage interface {
	GetSetting(ctx context.Context, code string) (string, bool, error)
	PutSetting(ctx context.Context, code, value, actor string, del bool) error
	ListSettings(ctx context.Context) (map[string]string, error)
}

// Service reads and writes settings.
//
// Reads are cached for MaxAge: hot paths read settings per request (a
// chat message reads SimultaneousChats), which was a database round trip
// each. A value put through this Service is seen at once; one put by
// another process (or another Service) within MaxAge.
type Service struct {
	st  Storage
	box *secret.Box
	// MaxAge is how long a read value is reused; 0 turns the cache off.
	MaxAge time.Duration
	now    func() time.Time

	mu    sync.Mutex
	cache map[string]cachedSetting
}

type cachedSetting struct {
	raw string
	set bool
	at  time.Time
}

// DefaultMaxAge is a Service's MaxAge unless changed.
const DefaultMaxAge = time.Second

// New returns a Service.
func New(st Storage, box *secret.Box) *Service {
	return &Service{st: st, box: box, MaxAge: DefaultMaxAge, now: time.Now, cache: map[string]cachedSetting{}}
}

// stored returns the stored value of code, from the cache when fresh.
func (s *Service) stored(ctx context.Context, code string) (string, bool, error) {
	now := s.now()
	s.mu.Lock()
	c, ok := s.cache[code]
	s.mu.Unlock()
	if ok && s.MaxAge > 0 && now.Sub(c.at) < s.MaxAge {
		return c.raw, c.set, nil
	}
	v, set, err := s.st.GetSetting(ctx, code)
	if err != nil {
		return "", false, err
	}
	if s.MaxAge > 0 {
		s.mu.Lock()
		s.cache[code] = cachedSetting{raw: v, set: set, at: now}
		s.mu.Unlock()
	}
	return v, set, nil
}

// forget drops code's cached value.
func (s *Service) forget(code string) {
	s.mu.Lock()
	delete(s.cache, code)
	s.mu.Unlock()
}

// ErrUnknown is an unknown setting code.
var ErrUnknown = fmt.Errorf("unknown setting")

// InvalidError is a value the setting does not accept.
type InvalidError struct{ Key string }

func (e *InvalidError) Error() string { return "invalid setting value: " + e.Key }

func ad(code string) string { return "setting:" + code }

// Get returns the effective value (the default when unset), secrets opened.
func (s *Service) Get(ctx context.Context, code string) (string, error) {
	d, ok := Lookup(code)
	if !ok {
		return "", ErrUnknown
	}
	v, set, err := s.stored(ctx, code)
	if err != nil {
		return "", err
	}
	if !set {
		return d.Default, nil
	}
	if d.Type == TypeSecret && v != "" {
		return s.box.Open(v, ad(code))
	}
	return v, nil
}

// Int returns an int setting's value (its default if the stored one is bad).
func (s *Service) Int(ctx context.Context, code string) int {
	v, _ := s.Get(ctx, code)
	n, err := strconv.Atoi(v)
	if err != nil {
		d, _ := Lookup(code)
		n, _ = strconv.Atoi(d.Default)
	}
	return n
}

// Bool returns a bool setting's value.
func (s *Service) Bool(ctx context.Context, code string) bool {
	v, _ := s.Get(ctx, code)
	b, _ := strconv.ParseBool(v)
	return b
}

// Put validates and stores a value; an empty value resets to the default.
func (s *Service) Put(ctx context.Context, code, raw, actor string) error {
	d, ok := Lookup(code)
	if !ok {
		return ErrUnknown
	}
	defer s.forget(code)
	if raw == "" {
		return s.st.PutSetting(ctx, code, "", actor, true)
	}
	v, key := d.Normalize(raw)
	if key != "" {
		return &InvalidError{Key: key}
	}
	if d.Type == TypeSecret && v != "" {
		v = s.box.Seal(v, ad(code))
	}
	return s.st.PutSetting(ctx, code, v, actor, false)
}

// Entry is a setting as shown to an administrator.
type Entry struct {
	Def
	Value string // masked for secrets; a file's name for files
	IsSet bool
}

// Mask shows a secret without revealing it: its length class and last two
// characters, so an admin can tell which key is in place.
func Mask(v string) string {
	if v == "" {
		return ""
	}
	r := []rune(v)
	if len(r) <= 6 {
		return "••••••"
	}
	return "••••••" + string(r[len(r)-2:])
}

// List returns every setting in registry order, for display.
func (s *Service) List(ctx context.Context) ([]Entry, error) {
	stored, err := s.st.ListSettings(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(Registry))
	for _, d := range Registry {
		e := Entry{Def: d, Value: d.Default}
		if v, ok := stored[d.Code]; ok {
			e.IsSet = true
			e.Value = v
			switch d.Type {
			case TypeSecret:
				plain, err := s.box.Open(v, ad(d.Code))
				if err != nil {
					plain = "?"
				}
				e.Value = Mask(plain)
			case TypeFile:
				var f File
				json.Unmarshal([]byte(v), &f)
				e.Value = f.Name
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// Groups returns the group names in display order.
func Groups() []string {
	seen := map[string]int{}
	var out []string
	for i, d := range Registry {
		if _, ok := seen[d.Group]; !ok {
			seen[d.Group] = i
			out = append(out, d.Group)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return seen[out[i]] < seen[out[j]] })
	return out
}

// EncodeFile builds the raw value of a file setting from an upload.
func EncodeFile(name, contentType string, data []byte) string {
	b, _ := json.Marshal(File{Name: name, ContentType: contentType, Data: data})
	return string(b)
}

// DecodeFile returns a stored file setting.
func DecodeFile(raw string) (File, error) {
	var f File
	err := json.Unmarshal([]byte(raw), &f)
	return f, err
}
