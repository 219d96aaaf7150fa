package messenger

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// PageInboxAppID is the app id of the Page Inbox (Meta Business Suite
// inbox): a thread passed to it is answered by people in Facebook's own
// inbox. It is always a valid handover target; the emulator delivers
// nothing to it.
const PageInboxAppID = "263902037430900"

// defaultTasks are the tasks of a page's full admin.
var defaultTasks = []string{"ADVERTISE", "ANALYZE", "CREATE_CONTENT", "MESSAGING", "MODERATE", "MANAGE"}

// AppConfig describes a Meta app (an app in the App Dashboard).
type AppConfig struct {
	ID     string `json:"id"`     // numeric; generated when empty
	Secret string `json:"secret"` // generated when empty
	Name   string `json:"name"`
	// HumanAgent is the approved Human Agent permission: the app may send
	// with tag HUMAN_AGENT up to 7 days after the customer's last message.
	HumanAgent bool `json:"human_agent"`
	// RedirectURIs are the "Valid OAuth Redirect URIs" of Facebook Login;
	// the login dialog and the code exchange accept these exactly.
	RedirectURIs []string `json:"redirect_uris"`
}

type app struct {
	id, secret, name string
	humanAgent       bool
	redirects        []string
	sub              *appSub // the app's webhook subscription for object=page
}

// appSub is an app-level webhook subscription (/{app-id}/subscriptions).
type appSub struct {
	callbackURL, verifyToken, version string
	fields                            []string
}

func (a *appSub) has(field string) bool { return a != nil && slices.Contains(a.fields, field) }

type user struct {
	id, name string
	pages    []string
}

// PageConfig describes a Facebook page.
type PageConfig struct {
	ID       string `json:"id"` // numeric; generated when empty
	Name     string `json:"name"`
	Category string `json:"category"` // default "Shopping & retail"
	// Admins are the ids of the users who manage the page (full tasks).
	Admins []string `json:"admins"`
}

type page struct {
	id, name, category string
	roles              map[string][]string // user id → tasks
	subs               map[string][]string // app id → subscribed_fields
	subOrder           []string
	primary            string
	secondary          []string
	customers          map[string]*customer
	custOrder          []string
	sends              []time.Time // Send API calls in the rate-limit window
}

func (p *page) subscribed(appID, field string) bool {
	return slices.Contains(p.subs[appID], field)
}

// hasRoles reports whether the page uses handover roles at all.
func (p *page) hasRoles() bool { return p.primary != "" || len(p.secondary) > 0 }

// connected reports whether an app takes part in the page's handover: a
// Primary or Secondary Receiver, the Page Inbox, or (when no roles are
// set) any app.
func (p *page) connected(appID string) bool {
	if appID == PageInboxAppID || !p.hasRoles() {
		return true
	}
	return appID == p.primary || slices.Contains(p.secondary, appID)
}

type customer struct {
	psid, name string
	// lastInbound is the customer's last message or postback: the start
	// of the messaging windows.
	lastInbound time.Time
	// owner is the thread owner's app id; "" while the thread is idle.
	owner        string
	lastActivity time.Time
	received     []Sent
	actions      []string
	notify       chan struct{} // closed and replaced on each message sent
}

// AddApp registers an app. Empty ID and Secret are generated; the result
// carries them.
func (s *Server) AddApp(c AppConfig) (AppConfig, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.ID == "" {
		for c.ID == "" || s.apps[c.ID] != nil {
			c.ID = s.digitsLocked('1', 15)
		}
	}
	if !isNumeric(c.ID) {
		return c, &adminError{400, fmt.Sprintf("emulator: app id %q is not numeric", c.ID)}
	}
	if c.ID == PageInboxAppID {
		return c, &adminError{400, "emulator: that app id is the Page Inbox's"}
	}
	if c.Secret == "" {
		c.Secret = strings.ToLower(s.opaqueLocked("", "app-secret", 32))
	}
	if c.Name == "" {
		c.Name = "App " + c.ID
	}
	if a, ok := s.apps[c.ID]; ok {
		a.secret, a.name, a.humanAgent = c.Secret, c.Name, c.HumanAgent
		a.redirects = append([]string(nil), c.RedirectURIs...)
		return c, nil
	}
	s.apps[c.ID] = &app{id: c.ID, secret: c.Secret, name: c.Name, humanAgent: c.HumanAgent,
		redirects: append([]string(nil), c.RedirectURIs...)}
	s.appOrder = append(s.appOrder, c.ID)
	return c, nil
}

// SetHumanAgent grants or withdraws an app's Human Agent permission.
func (s *Server) SetHumanAgent(appID string, on bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[appID]
	if !ok {
		return &adminError{404, fmt.Sprintf("emulator: no app %q", appID)}
	}
	a.humanAgent = on
	return nil
}

// AddRedirectURIs adds valid OAuth redirect URIs to an app.
func (s *Server) AddRedirectURIs(appID string, uris ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[appID]
	if !ok {
		return &adminError{404, fmt.Sprintf("emulator: no app %q", appID)}
	}
	for _, u := range uris {
		if !slices.Contains(a.redirects, u) {
			a.redirects = append(a.redirects, u)
		}
	}
	return nil
}

// Apps lists the registered apps in the order they were added.
func (s *Server) Apps() []AppConfig {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]AppConfig, 0, len(s.appOrder))
	for _, id := range s.appOrder {
		a := s.apps[id]
		out = append(out, AppConfig{ID: a.id, Secret: a.secret, Name: a.name, HumanAgent: a.humanAgent,
			RedirectURIs: append([]string(nil), a.redirects...)})
	}
	return out
}

// AddUser adds a Facebook user (someone who can sign in to the login
// dialog and manage pages) and returns their id; id "" is generated. The
// first user added is the one signed in to the login dialog until
// SetSignedIn says otherwise.
func (s *Server) AddUser(id, name string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == "" {
		for id == "" || s.users[id] != nil {
			id = s.digitsLocked('1', 16)
		}
	}
	if !isNumeric(id) {
		return "", &adminError{400, fmt.Sprintf("emulator: user id %q is not numeric", id)}
	}
	if name == "" {
		name = "User " + id
	}
	if u, ok := s.users[id]; ok {
		u.name = name
		return id, nil
	}
	s.users[id] = &user{id: id, name: name}
	s.userOrder = append(s.userOrder, id)
	return id, nil
}

// AddPage adds a page managed by the given users and returns its id.
func (s *Server) AddPage(c PageConfig) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, uid := range c.Admins {
		if s.users[uid] == nil {
			return "", &adminError{404, fmt.Sprintf("emulator: no user %q", uid)}
		}
	}
	if c.ID == "" {
		for c.ID == "" || s.pages[c.ID] != nil {
			c.ID = s.digitsLocked('1', 15)
		}
	}
	if !isNumeric(c.ID) {
		return "", &adminError{400, fmt.Sprintf("emulator: page id %q is not numeric", c.ID)}
	}
	if s.pages[c.ID] != nil {
		return "", &adminError{400, fmt.Sprintf("emulator: page %q exists", c.ID)}
	}
	if c.Name == "" {
		c.Name = "Page " + c.ID
	}
	if c.Category == "" {
		c.Category = "Shopping & retail"
	}
	p := &page{id: c.ID, name: c.Name, category: c.Category, roles: map[string][]string{},
		subs: map[string][]string{}, customers: map[string]*customer{}}
	for _, uid := range c.Admins {
		p.roles[uid] = defaultTasks
		s.users[uid].pages = append(s.users[uid].pages, c.ID)
	}
	s.pages[c.ID] = p
	s.pageOrder = append(s.pageOrder, c.ID)
	return c.ID, nil
}

// AddPageAdmin lets a user manage a page, with the given tasks (all of
// them when none are given).
func (s *Server) AddPageAdmin(pageID, userID string, tasks ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.pageLocked(pageID)
	if err != nil {
		return err
	}
	u := s.users[userID]
	if u == nil {
		return &adminError{404, fmt.Sprintf("emulator: no user %q", userID)}
	}
	if len(tasks) == 0 {
		tasks = defaultTasks
	}
	if _, ok := p.roles[userID]; !ok {
		u.pages = append(u.pages, pageID)
	}
	p.roles[userID] = slices.Clone(tasks)
	return nil
}

// AddCustomer adds a Messenger user of a page (someone who writes to it)
// and returns their page-scoped id (PSID). Their messaging window is
// closed until they write (CustomerSays).
func (s *Server) AddCustomer(pageID, name string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.pageLocked(pageID)
	if err != nil {
		return "", err
	}
	psid := ""
	for psid == "" || p.customers[psid] != nil {
		psid = s.digitsLocked('2', 16)
	}
	if name == "" {
		name = "Customer " + psid
	}
	p.customers[psid] = &customer{psid: psid, name: name, notify: make(chan struct{})}
	p.custOrder = append(p.custOrder, psid)
	return psid, nil
}

// Customers lists a page's PSIDs in the order they were added.
func (s *Server) Customers(pageID string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.pageLocked(pageID)
	if err != nil {
		return nil, err
	}
	return append([]string(nil), p.custOrder...), nil
}

func (s *Server) pageLocked(id string) (*page, error) {
	p, ok := s.pages[id]
	if !ok {
		return nil, &adminError{404, fmt.Sprintf("emulator: no page %q", id)}
	}
	return p, nil
}

func (s *Server) customerLocked(pageID, psid string) (*page, *customer, error) {
	p, err := s.pageLocked(pageID)
	if err != nil {
		return nil, nil, err
	}
	c, ok := p.customers[psid]
	if !ok {
		return nil, nil, &adminError{404, fmt.Sprintf("emulator: page %s has no customer %q", pageID, psid)}
	}
	return p, c, nil
}

func isNumeric(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
