// Package providertest is a second sync provider for tests: calendars and
// task lists held in memory, with push subscriptions that expire after
// three days (as Microsoft Graph's do) and a hook of its own. Registered next to
// Google, it shows that a provider is a package plus one registration:
// nothing in syncer or the web layer names it.
package providertest

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/tandem-crm/tandem/internal/provider"
	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/store"
)

// TTL is how long the fake's subscriptions live.
const TTL = 72 * time.Hour

// Fake is the provider.
type Fake struct {
	code string

	mu        sync.Mutex
	list      []provider.Collection
	calendars map[string]*Calendar
	tasks     map[string]*Calendar // task lists, by the same ids as the calendars
	push      provider.PushState
	subs      map[string]provider.SubscribeRequest // open at the remote, by id
	log       []string                             // "subscribe <id>", "unsubscribe <id>", in order
	several   bool                                 // several calendars and lists may sync at once
}

// New returns a provider named code with the given calendars, push off.
// Each calendar holds a task list too (as a CalDAV calendar holds VTODOs
// next to its VEVENTs), kept apart from its events.
func New(code string, calendars ...provider.Collection) *Fake {
	f := &Fake{code: code, list: calendars, calendars: map[string]*Calendar{}, tasks: map[string]*Calendar{},
		subs: map[string]provider.SubscribeRequest{}, push: provider.PushState{Off: provider.PushNoAddress}}
	for _, c := range calendars {
		f.calendars[c.ID] = &Calendar{items: map[string]*reconcile.Item{}}
		f.tasks[c.ID] = &Calendar{items: map[string]*reconcile.Item{}}
	}
	return f
}

var (
	_ provider.Provider         = (*Fake)(nil)
	_ provider.Pusher           = (*Fake)(nil)
	_ provider.CollectionLister = (*session)(nil)
	_ provider.Subscriber       = (*session)(nil)
	_ reconcile.IdentityFinder  = (*Calendar)(nil)
)

func (f *Fake) Name() string        { return f.code }
func (f *Fake) DisplayName() string { return "Fake DAV" }

// Kinds: calendars and task lists, picked from the list; no contacts.
func (f *Fake) Kinds() []provider.KindInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	return []provider.KindInfo{{Kind: provider.Event, Collection: provider.CollectionPicked, Several: f.several},
		{Kind: provider.Task, Collection: provider.CollectionPicked, Several: f.several}}
}

// SetSeveral lets several calendars and task lists sync at once (as a
// CalDAV account's do), or one at a time (as Google's calendar does).
func (f *Fake) SetSeveral(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.several = on
}

func (f *Fake) Open(ctx context.Context, conn *store.Connection) (provider.Session, error) {
	return &session{f: f}, nil
}

// SetPush turns push on (at address) or off.
func (f *Fake) SetPush(ps provider.PushState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.push = ps
}

func (f *Fake) PushState(ctx context.Context) (provider.PushState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.push, nil
}

// HookPath is where the fake's remote posts notifications.
func (f *Fake) HookPath() string { return "/hooks/" + f.code + "/calendar" }

func (f *Fake) Hooks() []provider.Hook {
	return []provider.Hook{{Kind: provider.Event, Path: f.HookPath(), Label: f.code + "_calendar", TTL: TTL,
		Parse: func(r *http.Request) (provider.Notification, error) {
			id, secret := r.Header.Get("X-Fake-Subscription"), r.Header.Get("X-Fake-Secret")
			if id == "" {
				return provider.Notification{}, provider.ErrMalformed
			}
			return provider.Notification{SubscriptionID: id, Secret: secret, Ping: r.Header.Get("X-Fake-Ping") != ""}, nil
		}}}
}

// Subscriptions are the subscriptions open at the remote.
func (f *Fake) Subscriptions() map[string]provider.SubscribeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]provider.SubscribeRequest, len(f.subs))
	for k, v := range f.subs {
		out[k] = v
	}
	return out
}

// Log lists what Tandem asked of the remote's subscriptions, in order:
// "subscribe <id>" and "unsubscribe <id>".
func (f *Fake) Log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.log)
}

// Calendar returns a calendar by id (nil when there is none).
func (f *Fake) Calendar(id string) *Calendar {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calendars[id]
}

// TaskList returns a task list by id (nil when there is none).
func (f *Fake) TaskList(id string) *Calendar {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tasks[id]
}

type session struct{ f *Fake }

func (s *session) Connector(ctx context.Context, b provider.BindingSpec) (reconcile.Connector, error) {
	var c *Calendar
	switch b.Kind {
	case provider.Event:
		c = s.f.Calendar(b.Collection)
	case provider.Task:
		c = s.f.TaskList(b.Collection)
	default:
		return nil, fmt.Errorf("fake: %w: %q", provider.ErrKindNotSupported, b.Kind)
	}
	if c == nil {
		return nil, fmt.Errorf("fake: no %s collection %q", b.Kind, b.Collection)
	}
	return c, nil
}

func (s *session) Collections(ctx context.Context, kind provider.Kind) ([]provider.Collection, error) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	return slices.Clone(s.f.list), nil
}

func (s *session) Subscribe(ctx context.Context, req provider.SubscribeRequest) (provider.Subscribed, error) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	if s.f.calendars[req.Collection] == nil {
		return provider.Subscribed{}, fmt.Errorf("fake: no calendar %q", req.Collection)
	}
	s.f.subs[req.ID] = req
	s.f.log = append(s.f.log, "subscribe "+req.ID)
	return provider.Subscribed{ResourceID: "res-" + req.ID, ExpiresAt: time.Now().Add(req.TTL)}, nil
}

func (s *session) Unsubscribe(ctx context.Context, sub provider.Subscription) error {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	delete(s.f.subs, sub.ID)
	s.f.log = append(s.f.log, "unsubscribe "+sub.ID)
	return nil
}

// Calendar is an in-memory collection: a reconcile.Connector whose cursor
// is a change counter. Its items have an identity (a UID): the id of one
// put there, the marker of one Tandem creates.
type Calendar struct {
	mu      sync.Mutex
	items   map[string]*reconcile.Item
	changed map[string]int
	seq     int
}

// Items returns the items in the calendar (deleted ones left out).
func (c *Calendar) Items() []reconcile.Item {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []reconcile.Item
	for _, it := range c.items {
		if !it.Deleted {
			out = append(out, *it)
		}
	}
	return out
}

// Put adds or replaces an item as a remote change; its identity is id.
func (c *Calendar) Put(id string, f reconcile.Fields) {
	c.mu.Lock()
	defer c.mu.Unlock()
	identity, marker := id, ""
	if old := c.items[id]; old != nil {
		identity, marker = old.Identity, old.Marker
	}
	c.touch(&reconcile.Item{RemoteID: id, Identity: identity, Marker: marker, Fields: f})
}

// MoveTo moves an item to another collection, as a user does in a
// calendar app: deleted here, added there with its identity, marker and
// content under a new id, which it returns.
func (c *Calendar) MoveTo(id string, to *Calendar) string {
	c.mu.Lock()
	it := *c.items[id]
	gone := it
	gone.Deleted = true
	c.touch(&gone)
	c.mu.Unlock()
	to.mu.Lock()
	defer to.mu.Unlock()
	moved := &reconcile.Item{RemoteID: fmt.Sprintf("moved-%d-%s", to.seq+1, id), Identity: it.Identity, Marker: it.Marker,
		Fields: it.Fields}
	to.touch(moved)
	return moved.RemoteID
}

// FindByIdentity implements reconcile.IdentityFinder.
func (c *Calendar) FindByIdentity(ctx context.Context, identity string) (reconcile.Item, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, it := range c.items {
		if it.Identity == identity && !it.Deleted {
			return *it, true, nil
		}
	}
	return reconcile.Item{}, false, nil
}

// touch stores it as changed now; c.mu is held.
func (c *Calendar) touch(it *reconcile.Item) {
	if c.changed == nil {
		c.changed = map[string]int{}
	}
	c.seq++
	it.ETag, it.Modified = strconv.Itoa(c.seq), time.Now()
	c.items[it.RemoteID], c.changed[it.RemoteID] = it, c.seq
}

func (c *Calendar) List(ctx context.Context, cursor, page string) (reconcile.Page, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	since := 0
	if cursor != "" {
		var err error
		if since, err = strconv.Atoi(cursor); err != nil {
			return reconcile.Page{}, reconcile.ErrCursorExpired
		}
	}
	var out reconcile.Page
	for id, it := range c.items {
		if c.changed[id] > since && (since > 0 || !it.Deleted) {
			out.Items = append(out.Items, *it)
		}
	}
	out.NextCursor = strconv.Itoa(c.seq)
	return out, nil
}

func (c *Calendar) Get(ctx context.Context, id string) (reconcile.Item, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	it, ok := c.items[id]
	if !ok || it.Deleted {
		return reconcile.Item{}, reconcile.ErrRemoteNotFound
	}
	return *it, nil
}

func (c *Calendar) Create(ctx context.Context, f reconcile.Fields, marker string) (reconcile.Item, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	it := &reconcile.Item{RemoteID: fmt.Sprintf("item-%d", c.seq+1), Identity: marker, Marker: marker, Fields: f}
	c.touch(it)
	return *it, nil
}

func (c *Calendar) Update(ctx context.Context, id, etag string, f reconcile.Fields) (reconcile.Item, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	it, ok := c.items[id]
	if !ok || it.Deleted {
		return reconcile.Item{}, reconcile.ErrRemoteNotFound
	}
	if etag != "" && etag != it.ETag {
		return reconcile.Item{}, reconcile.ErrPrecondition
	}
	up := &reconcile.Item{RemoteID: id, Identity: it.Identity, Marker: it.Marker, Fields: f}
	c.touch(up)
	return *up, nil
}

func (c *Calendar) Delete(ctx context.Context, id, etag string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	it, ok := c.items[id]
	if !ok || it.Deleted {
		return nil
	}
	gone := *it
	gone.Deleted = true
	c.touch(&gone)
	return nil
}

func (c *Calendar) Restore(ctx context.Context, id string, base reconcile.Fields) (reconcile.Item, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	it, ok := c.items[id]
	if !ok {
		return reconcile.Item{}, reconcile.ErrRemoteNotFound
	}
	if it.Deleted {
		back := *it
		back.Deleted = false
		c.touch(&back)
		it = &back
	}
	return *it, nil
}

func (c *Calendar) FindByMarker(ctx context.Context, marker string) (reconcile.Item, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, it := range c.items {
		if it.Marker == marker && !it.Deleted {
			return *it, true, nil
		}
	}
	return reconcile.Item{}, false, nil
}
