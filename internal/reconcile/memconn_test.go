package reconcile_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/tandem-crm/tandem/internal/reconcile"
)

// memConn is an in-memory remote collection for engine unit tests: etags,
// a change sequence as cursor, tombstones for deletions, markers, and
// scripted faults. End-to-end tests use the provider emulators instead.
type memConn struct {
	mu       sync.Mutex
	seq      int
	gen      int // bumping it expires cursors
	items    map[string]*memItem
	pageSize int
	nextID   int

	failCreateAfter  int             // >0: the Nth create succeeds remotely, then reports an error (a crash)
	hideCreated      bool            // created items stay out of listings (Google's propagation delay)
	failCalls        int             // the next N calls fail with errTransient (a 500 after retries, a timeout)
	delayed          map[string]bool // items a hidden listing skipped; setHidden(false) delivers them
	creates          int             // successful creates
	preconditionNext bool            // the next Update sees a concurrent remote edit first
	updates, deletes int
	restores         int
	// notCarried are fields the remote side does not sync (Google's
	// photos): its items never hold them, whatever is written.
	notCarried []string
	// uids: items Tandem creates carry their marker as identity, as a
	// CalDAV object's UID does.
	uids bool
}

type memItem struct {
	id, etag, marker string
	identity         string
	fields           reconcile.Fields
	deleted          bool // out of the collection (restorable)
	purged           bool // and deleted for good
	seq              int
	modified         time.Time
	problem          string // the item cannot be read (a malformed object)
}

func newMemConn() *memConn { return &memConn{items: map[string]*memItem{}, pageSize: 3} }

func (m *memConn) touch(it *memItem) {
	m.seq++
	it.seq = m.seq
	it.etag = fmt.Sprintf(`"e%d"`, m.seq)
	it.modified = time.Now()
}

// remoteEdit simulates a user editing in the remote app.
func (m *memConn) remoteEdit(id string, f reconcile.Fields) {
	m.mu.Lock()
	defer m.mu.Unlock()
	it := m.items[id]
	for k, v := range f {
		if v == "" {
			delete(it.fields, k)
		} else {
			it.fields[k] = v
		}
	}
	m.touch(it)
}

func (m *memConn) remoteAdd(f reconcile.Fields) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nextID++
	id := "r" + strconv.Itoa(m.nextID)
	it := &memItem{id: id, fields: f.Clone()}
	m.items[id] = it
	m.touch(it)
	return id
}

// remoteAddIdentity adds an item carrying an identity (an iCalUID, a
// vCard UID), as a copy of an item in another account would.
func (m *memConn) remoteAddIdentity(f reconcile.Fields, identity string) string {
	id := m.remoteAdd(f)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.items[id].identity = identity
	return id
}

func (m *memConn) remoteDelete(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	it := m.items[id]
	it.deleted = true
	m.touch(it)
}

// remoteRestore simulates a user putting an item back into the
// collection (back into the group, undeleted).
func (m *memConn) remoteRestore(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	it := m.items[id]
	if it.deleted && !it.purged {
		it.deleted = false
		m.touch(it)
	}
}

// remotePurge simulates a user deleting an item for good.
func (m *memConn) remotePurge(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	it := m.items[id]
	it.deleted, it.purged = true, true
	m.touch(it)
}

// gone lists the items out of the collection that can come back.
func (m *memConn) gone() []*memItem {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*memItem
	for _, it := range m.items {
		if it.deleted && !it.purged {
			out = append(out, it)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

func (m *memConn) live() []*memItem {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*memItem
	for _, it := range m.items {
		if !it.deleted {
			out = append(out, it)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

func (m *memConn) item(it *memItem) reconcile.Item {
	if it.problem != "" {
		return reconcile.Item{RemoteID: it.id, ETag: it.etag, Problem: it.problem}
	}
	out := reconcile.Item{RemoteID: it.id, ETag: it.etag, Marker: it.marker, Identity: it.identity, Deleted: it.deleted,
		Modified: it.modified, Fields: it.fields.Clone(), NotCarried: m.notCarried}
	for _, k := range m.notCarried {
		delete(out.Fields, k)
	}
	return out
}

// remoteBreak makes an item unreadable (problem != "") or readable again.
func (m *memConn) remoteBreak(id, problem string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	it := m.items[id]
	it.problem = problem
	m.touch(it)
}

var errTransient = errors.New("simulated transient failure")

// setHidden switches the propagation delay; switching it off delivers the
// delayed changes in the next listings, as Google eventually does.
func (m *memConn) setHidden(on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hideCreated = on
	if on {
		return
	}
	for id := range m.delayed {
		m.seq++
		m.items[id].seq = m.seq
	}
	m.delayed = nil
}

// fault consumes one scripted failure; callers hold m.mu.
func (m *memConn) fault() error {
	if m.failCalls > 0 {
		m.failCalls--
		return errTransient
	}
	return nil
}

func (m *memConn) List(ctx context.Context, cursor, page string) (reconcile.Page, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fault(); err != nil {
		return reconcile.Page{}, err
	}
	since := 0
	if cursor != "" {
		var gen int
		if _, err := fmt.Sscanf(cursor, "%d:%d", &gen, &since); err != nil || gen != m.gen {
			return reconcile.Page{}, reconcile.ErrCursorExpired
		}
	}
	var all []*memItem
	for _, it := range m.items {
		if m.hideCreated && it.marker != "" {
			if m.delayed == nil {
				m.delayed = map[string]bool{}
			}
			m.delayed[it.id] = true
			continue
		}
		if it.seq > since && (cursor != "" || !it.deleted) {
			all = append(all, it)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].seq < all[j].seq })
	off, _ := strconv.Atoi(page)
	end := min(off+m.pageSize, len(all))
	p := reconcile.Page{}
	for _, it := range all[off:end] {
		p.Items = append(p.Items, m.item(it))
	}
	if end < len(all) {
		p.NextPage = strconv.Itoa(end)
	} else {
		p.NextCursor = fmt.Sprintf("%d:%d", m.gen, m.seq)
	}
	return p, nil
}

func (m *memConn) Get(ctx context.Context, id string) (reconcile.Item, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fault(); err != nil {
		return reconcile.Item{}, err
	}
	it, ok := m.items[id]
	if !ok || it.deleted {
		return reconcile.Item{}, reconcile.ErrRemoteNotFound
	}
	return m.item(it), nil
}

var errCrash = errors.New("simulated crash after the remote create")

func (m *memConn) Create(ctx context.Context, f reconcile.Fields, marker string) (reconcile.Item, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fault(); err != nil {
		return reconcile.Item{}, err
	}
	m.nextID++
	it := &memItem{id: "r" + strconv.Itoa(m.nextID), fields: f.Clone(), marker: marker}
	if m.uids {
		it.identity = marker
	}
	m.items[it.id] = it
	m.touch(it)
	m.creates++
	if m.failCreateAfter > 0 && m.creates == m.failCreateAfter {
		return reconcile.Item{}, errCrash
	}
	return m.item(it), nil
}

func (m *memConn) Update(ctx context.Context, id, etag string, f reconcile.Fields) (reconcile.Item, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fault(); err != nil {
		return reconcile.Item{}, err
	}
	it, ok := m.items[id]
	if !ok || it.deleted {
		return reconcile.Item{}, reconcile.ErrRemoteNotFound
	}
	if m.preconditionNext {
		m.preconditionNext = false
		it.fields["notes"] = "edited remotely meanwhile"
		m.touch(it)
	}
	if it.etag != etag {
		return reconcile.Item{}, reconcile.ErrPrecondition
	}
	it.fields = f.Clone()
	m.touch(it)
	m.updates++
	return m.item(it), nil
}

func (m *memConn) Delete(ctx context.Context, id, etag string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fault(); err != nil {
		return err
	}
	it, ok := m.items[id]
	if !ok || it.deleted {
		return reconcile.ErrRemoteNotFound
	}
	if it.etag != etag {
		return reconcile.ErrPrecondition
	}
	it.deleted = true
	m.touch(it)
	m.deletes++
	return nil
}

// Restore puts an item that left the collection back; a purged one is
// gone for good.
func (m *memConn) Restore(ctx context.Context, id string, base reconcile.Fields) (reconcile.Item, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fault(); err != nil {
		return reconcile.Item{}, err
	}
	it, ok := m.items[id]
	if !ok || it.purged {
		return reconcile.Item{}, reconcile.ErrRemoteNotFound
	}
	if it.deleted {
		it.deleted = false
		m.touch(it)
		m.restores++
	}
	return m.item(it), nil
}

// FindByIdentity implements reconcile.IdentityFinder.
func (m *memConn) FindByIdentity(ctx context.Context, identity string) (reconcile.Item, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, it := range m.items {
		if it.identity == identity && !it.deleted {
			return m.item(it), true, nil
		}
	}
	return reconcile.Item{}, false, nil
}

// remoteMoveTo simulates a user moving an item to another collection of
// the account: gone from this one for good, created in to with the same
// identity, marker and content (under a new id and etag). It returns the
// new id.
func (m *memConn) remoteMoveTo(id string, to *memConn) string {
	m.mu.Lock()
	it := m.items[id]
	it.deleted, it.purged = true, true
	m.touch(it)
	f, identity, marker := it.fields.Clone(), it.identity, it.marker
	m.mu.Unlock()
	nid := to.remoteAddIdentity(f, identity)
	to.mu.Lock()
	to.items[nid].marker = marker
	to.mu.Unlock()
	return nid
}

func (m *memConn) FindByMarker(ctx context.Context, marker string) (reconcile.Item, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, it := range m.items {
		if it.marker == marker && !it.deleted {
			return m.item(it), true, nil
		}
	}
	return reconcile.Item{}, false, nil
}

// batchConn is a memConn that is a reconcile.BatchWriter: it takes up to
// max items per call and answers each alone, as Google's batch endpoints
// do. A per-item ErrPrecondition or ErrRemoteNotFound is that item's
// answer; any other failure (a scripted fault, a crash) fails the whole
// call, with what was written before it kept remotely, as a request that
// broke off would.
type batchConn struct {
	*memConn
	max   int
	calls []int // items per call, in order
	// stale lists remote ids whose next UpdateMany sees a concurrent
	// remote edit first (a per-item precondition failure).
	stale map[string]bool
}

var _ reconcile.BatchWriter = (*batchConn)(nil)

func (b *batchConn) MaxBatch() int { return b.max }

func (b *batchConn) call(n int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = append(b.calls, n)
	if n > b.max {
		return fmt.Errorf("batch of %d items, more than %d", n, b.max)
	}
	return nil
}

func perItem(err error) bool {
	return errors.Is(err, reconcile.ErrPrecondition) || errors.Is(err, reconcile.ErrRemoteNotFound)
}

func (b *batchConn) CreateMany(ctx context.Context, creates []reconcile.NewItem) ([]reconcile.Result, error) {
	if err := b.call(len(creates)); err != nil {
		return nil, err
	}
	out := make([]reconcile.Result, len(creates))
	for i, c := range creates {
		it, err := b.Create(ctx, c.Fields, c.Marker)
		if err != nil {
			return nil, err
		}
		out[i] = reconcile.Result{Item: it}
	}
	return out, nil
}

func (b *batchConn) UpdateMany(ctx context.Context, updates []reconcile.Change) ([]reconcile.Result, error) {
	if err := b.call(len(updates)); err != nil {
		return nil, err
	}
	out := make([]reconcile.Result, len(updates))
	for i, u := range updates {
		if b.stale[u.RemoteID] {
			delete(b.stale, u.RemoteID)
			b.remoteEdit(u.RemoteID, reconcile.Fields{reconcile.FieldNotes: "edited remotely meanwhile"})
		}
		it, err := b.Update(ctx, u.RemoteID, u.ETag, u.Fields)
		if err != nil && !perItem(err) {
			return nil, err
		}
		out[i] = reconcile.Result{Item: it, Err: err}
	}
	return out, nil
}

func (b *batchConn) DeleteMany(ctx context.Context, items []reconcile.Ref) ([]error, error) {
	if err := b.call(len(items)); err != nil {
		return nil, err
	}
	out := make([]error, len(items))
	for i, it := range items {
		err := b.Delete(ctx, it.RemoteID, it.ETag)
		if err != nil && !perItem(err) {
			return nil, err
		}
		out[i] = err
	}
	return out, nil
}
