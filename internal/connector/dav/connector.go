package dav

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/tandem-crm/tandem/internal/reconcile"
)

// Collection connectors: one address book or one calendar's events or
// tasks as the engine's reconcile.Connector.
//
// The remote cursor is the collection's sync token (RFC 6578). A run with
// nothing changed costs one sync-collection REPORT; changed objects are
// fetched with multiget, a page (MultiGetBatch objects) at a time. A
// server without sync-collection gets "ctag:<ctag>" as the cursor: an
// unchanged ctag costs one PROPFIND, a changed one is ErrCursorExpired,
// so the engine lists the collection whole and reconciles it against its
// links (which is what tells it the deletions).
//
// Objects Tandem creates live at <collection>/<marker><ext>: FindByMarker
// is one GET, and an object created just before a crash is found by its
// name as well as by the marker it carries.

// CollectionOptions configure a collection connector.
type CollectionOptions struct {
	// Kind is AddressBook or Calendar.
	Kind Kind
	// Component is the calendar component the binding syncs (VEVENT or
	// VTODO); objects of other components in the same calendar are not
	// the binding's and are reported as not in the collection.
	Component string
	Codec     Codec
	// Window, for events: objects that do not reach it are left out of a
	// listing (the binding's sync-from date). Nil: everything.
	Window func(reconcile.Fields) bool
	// KeepForeign: Delete leaves objects Tandem did not create where they
	// are (the binding's policy for records leaving it); Tandem's own are
	// deleted.
	KeepForeign bool
	Log         *slog.Logger
}

// CollectionConnector syncs one collection.
type CollectionConnector struct {
	c   *Client
	url string
	opt CollectionOptions

	mu       sync.Mutex
	listings map[int]*listing
	nextGen  int
}

// listing is one listing's changes, served a page at a time; page tokens
// name it by generation (they live only as long as a run).
type listing struct {
	changed []string // hrefs to fetch
	deleted []string
	cursor  string
}

// NewCollection returns the connector of the collection at url.
func (c *Client) NewCollection(url string, opt CollectionOptions) *CollectionConnector {
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	return &CollectionConnector{c: c, url: c.resolve(url), opt: opt, listings: map[int]*listing{}}
}

var (
	_ reconcile.Connector        = (*CollectionConnector)(nil)
	_ reconcile.Windowed         = (*CollectionConnector)(nil)
	_ reconcile.IdentityRestorer = (*CollectionConnector)(nil)
	_ reconcile.IdentityFinder   = (*CollectionConnector)(nil)
	_ reconcile.IdentityCreator  = (*CollectionConnector)(nil)
)

const ctagCursor = "ctag:"

// List implements reconcile.Connector.
func (cc *CollectionConnector) List(ctx context.Context, cursor, page string) (reconcile.Page, error) {
	var l *listing
	offset := 0
	if page != "" {
		gen, off, ok := strings.Cut(page, ":")
		g, err1 := strconv.Atoi(gen)
		o, err2 := strconv.Atoi(off)
		cc.mu.Lock()
		l = cc.listings[g]
		cc.mu.Unlock()
		if !ok || err1 != nil || err2 != nil || l == nil {
			return reconcile.Page{}, fmt.Errorf("dav: unknown page %q", page)
		}
		offset = o
		if offset >= len(l.changed) {
			cc.forget(g)
		}
		return cc.page(ctx, l, g, offset)
	}
	l, err := cc.start(ctx, cursor)
	if err != nil {
		return reconcile.Page{}, err
	}
	cc.mu.Lock()
	g := cc.nextGen
	cc.nextGen++
	cc.listings[g] = l
	cc.mu.Unlock()
	return cc.page(ctx, l, g, 0)
}

func (cc *CollectionConnector) forget(gen int) {
	cc.mu.Lock()
	delete(cc.listings, gen)
	cc.mu.Unlock()
}

// start asks the server what changed since cursor.
func (cc *CollectionConnector) start(ctx context.Context, cursor string) (*listing, error) {
	if ctag, ok := strings.CutPrefix(cursor, ctagCursor); ok {
		st, err := cc.c.CollectionState(ctx, cc.url)
		if err != nil {
			return nil, err
		}
		if st.CTag == "" || st.CTag != ctag {
			return nil, reconcile.ErrCursorExpired
		}
		return &listing{cursor: cursor}, nil
	}
	res, err := cc.c.SyncAll(ctx, cc.url, cursor, 0)
	switch {
	case errors.Is(err, ErrInvalidSyncToken) && cursor != "":
		return nil, fmt.Errorf("%w: %w", reconcile.ErrCursorExpired, err)
	case err != nil && cursor == "" && !errors.Is(err, ErrUnauthorized) && !errors.Is(err, ErrTLS):
		// No sync-collection here: list the etags and keep the ctag.
		return cc.listAll(ctx, err)
	case err != nil:
		return nil, err
	}
	l := &listing{cursor: res.Token, deleted: res.Deleted}
	for _, it := range res.Changed {
		l.changed = append(l.changed, it.Href)
	}
	return l, nil
}

// listAll is the fallback listing of a server without sync-collection.
func (cc *CollectionConnector) listAll(ctx context.Context, syncErr error) (*listing, error) {
	st, err := cc.c.CollectionState(ctx, cc.url)
	if err != nil {
		return nil, errors.Join(syncErr, err)
	}
	items, err := cc.c.ListETags(ctx, cc.url)
	if err != nil {
		return nil, errors.Join(syncErr, err)
	}
	cc.opt.Log.Info("dav: no sync-collection; listing etags", "collection", cc.url, "err", syncErr)
	l := &listing{}
	if st.CTag != "" {
		l.cursor = ctagCursor + st.CTag
	}
	for _, it := range items {
		l.changed = append(l.changed, it.Href)
	}
	return l, nil
}

// page fetches one batch of a listing; the deletions come with the first.
func (cc *CollectionConnector) page(ctx context.Context, l *listing, gen, offset int) (reconcile.Page, error) {
	var p reconcile.Page
	if offset == 0 {
		for _, h := range l.deleted {
			p.Items = append(p.Items, reconcile.Item{RemoteID: h, Deleted: true})
		}
	}
	end := min(offset+MultiGetBatch, len(l.changed))
	if offset < end {
		objs, missing, err := cc.c.MultiGet(ctx, cc.opt.Kind, cc.url, l.changed[offset:end])
		if err != nil {
			return reconcile.Page{}, err
		}
		for _, o := range objs {
			p.Items = append(p.Items, cc.item(ctx, o, linkedPhoto{}))
		}
		for _, h := range missing {
			// Deleted between the listing and the fetch.
			p.Items = append(p.Items, reconcile.Item{RemoteID: h, Deleted: true})
		}
	}
	if end < len(l.changed) {
		p.NextPage = strconv.Itoa(gen) + ":" + strconv.Itoa(end)
	} else {
		p.NextCursor = l.cursor
		cc.forget(gen)
	}
	return p, nil
}

// item decodes one object. An object of another component is not in
// the binding's collection; one that cannot be read is reported with
// Problem set, so the engine journals it and skips it.
func (cc *CollectionConnector) item(ctx context.Context, o Object, known linkedPhoto) reconcile.Item {
	it := reconcile.Item{RemoteID: o.Href, ETag: o.ETag}
	if !cc.ours(o.Data) {
		it.Deleted = true
		return it
	}
	d, err := cc.opt.Codec.Decode(o.Data)
	if err != nil {
		it.Problem = err.Error()
		return it
	}
	for _, w := range d.Warnings {
		cc.opt.Log.Info("dav: object read with a warning", "href", o.Href, "warning", w)
	}
	it.Identity, it.Marker, it.Modified, it.Fields, it.NotCarried = d.UID, d.Marker, d.Modified, d.Fields, d.NotCarried
	if d.PhotoLink != "" {
		cc.takePhoto(ctx, &it, o.Href, d.PhotoLink, known)
	}
	if cc.opt.Window != nil && !cc.opt.Window(d.Fields) {
		it.Deleted = true // outside the window: as if not listed
	}
	return it
}

// linkedPhoto is a card's photo link and the image it gave.
type linkedPhoto struct{ link, image string }

// takePhoto makes the image a card's photo link gives the item's photo:
// known's when it is the same link, else fetched. A link that cannot be
// fetched leaves the photo not carried.
func (cc *CollectionConnector) takePhoto(ctx context.Context, it *reconcile.Item, href, link string, known linkedPhoto) {
	lp := known
	if lp.link != link || lp.image == "" {
		lp = cc.fetchPhoto(ctx, href, link)
	}
	if lp.image == "" {
		return
	}
	it.Fields[reconcile.FieldPhoto] = lp.image
	it.NotCarried = slices.DeleteFunc(slices.Clone(it.NotCarried), func(f string) bool { return f == reconcile.FieldPhoto })
}

// fetchPhoto fetches the image of the photo link of the card at href
// (Client.Photo); zero when it cannot be.
func (cc *CollectionConnector) fetchPhoto(ctx context.Context, href, link string) linkedPhoto {
	image, err := cc.c.Photo(ctx, href, link)
	if err != nil {
		cc.opt.Log.Info("dav: photo link not fetched", "href", href, "err", err)
		return linkedPhoto{}
	}
	return linkedPhoto{link, image}
}

// ours reports whether an object holds the binding's component: a
// calendar may hold events and tasks side by side.
func (cc *CollectionConnector) ours(data []byte) bool {
	if cc.opt.Kind != Calendar || cc.opt.Component == "" {
		return true
	}
	return bytes.Contains(data, []byte("BEGIN:"+cc.opt.Component))
}

// Covers implements reconcile.Windowed.
func (cc *CollectionConnector) Covers(f reconcile.Fields) bool {
	return cc.opt.Window == nil || cc.opt.Window(f)
}

// Get implements reconcile.Connector.
func (cc *CollectionConnector) Get(ctx context.Context, remoteID string) (reconcile.Item, error) {
	o, err := cc.c.Get(ctx, remoteID)
	if errors.Is(err, ErrNotFound) {
		return reconcile.Item{}, reconcile.ErrRemoteNotFound
	}
	if err != nil {
		return reconcile.Item{}, err
	}
	return cc.item(ctx, *o, linkedPhoto{}), nil
}

func (cc *CollectionConnector) ext() string {
	if cc.opt.Kind == AddressBook {
		return ".vcf"
	}
	return ".ics"
}

func (cc *CollectionConnector) contentType() string {
	if cc.opt.Kind == AddressBook {
		return VCardType
	}
	return ICalendarType
}

// hrefOf is where Tandem puts the object it creates with marker.
func (cc *CollectionConnector) hrefOf(marker string) string {
	return strings.TrimSuffix(cc.url, "/") + "/" + marker + cc.ext()
}

// created reports whether Tandem created the object at href: it names
// its objects after their marker.
func (cc *CollectionConnector) created(href string) bool {
	name := href[strings.LastIndexByte(href, '/')+1:]
	return strings.HasPrefix(name, "tandem-") && strings.HasSuffix(name, cc.ext())
}

// Create implements reconcile.Connector.
func (cc *CollectionConnector) Create(ctx context.Context, f reconcile.Fields, marker string) (reconcile.Item, error) {
	return cc.put(ctx, cc.hrefOf(marker), "", nil, f, marker, marker, linkedPhoto{})
}

// CreateIdentity implements reconcile.IdentityCreator: Create, the new
// object with uid as its UID. The object is still named after the marker,
// so FindByMarker and the rule that Tandem removes only objects it
// created (KeepForeign) hold for it as for any other Tandem makes.
func (cc *CollectionConnector) CreateIdentity(ctx context.Context, f reconcile.Fields, marker, uid string) (reconcile.Item, error) {
	return cc.put(ctx, cc.hrefOf(marker), "", nil, f, cmp.Or(uid, marker), marker, linkedPhoto{})
}

// put writes f into raw (nil: a new object) at href: If-Match etag, or
// If-None-Match for a new one.
func (cc *CollectionConnector) put(ctx context.Context, href, etag string, raw []byte, f reconcile.Fields, uid, marker string,
	known linkedPhoto) (reconcile.Item, error) {
	var data []byte
	var err error
	if pl, ok := cc.opt.Codec.(photoLinker); ok && known.image != "" {
		data, err = pl.EncodeLinked(raw, f, uid, marker, known.image)
	} else {
		data, err = cc.opt.Codec.Encode(raw, f, uid, marker)
	}
	if err != nil {
		return reconcile.Item{}, &reconcile.ItemError{Err: err}
	}
	if raw == nil {
		etag, err = cc.c.Create(ctx, href, cc.contentType(), data)
	} else {
		etag, err = cc.c.Update(ctx, href, etag, cc.contentType(), data)
	}
	if err != nil {
		return reconcile.Item{}, cc.writeError(err)
	}
	it := cc.item(ctx, Object{Href: cc.c.resolve(href), ETag: etag, Data: data}, known)
	if it.Problem != "" {
		return reconcile.Item{}, &reconcile.ItemError{Err: errors.New(it.Problem)}
	}
	it.Deleted = false // written: in the collection whatever the window says
	if it.Modified.IsZero() {
		it.Modified = time.Now()
	}
	return it, nil
}

func (cc *CollectionConnector) writeError(err error) error {
	switch {
	case errors.Is(err, ErrPrecondition):
		return fmt.Errorf("%w: %w", reconcile.ErrPrecondition, err)
	case errors.Is(err, ErrNotFound):
		return fmt.Errorf("%w: %w", reconcile.ErrRemoteNotFound, err)
	}
	var se *StatusError
	if errors.As(err, &se) && (se.Code == 400 || se.Code == 403 || se.Code == 409 || se.Code == 415 || se.Code == 422) {
		// The server refused this object (a precondition of its own such
		// as a size limit or a UID taken): that item alone fails.
		return &reconcile.ItemError{Err: err}
	}
	return err
}

// Update implements reconcile.Connector: the object as the server holds
// it now is patched, so whatever Tandem does not model stays; an object
// changed since etag is ErrPrecondition before anything is written.
func (cc *CollectionConnector) Update(ctx context.Context, remoteID, etag string, f reconcile.Fields) (reconcile.Item, error) {
	o, err := cc.c.Get(ctx, remoteID)
	if errors.Is(err, ErrNotFound) {
		return reconcile.Item{}, reconcile.ErrRemoteNotFound
	}
	if err != nil {
		return reconcile.Item{}, err
	}
	if etag != "" && o.ETag != "" && o.ETag != etag {
		return reconcile.Item{}, fmt.Errorf("%w: %s changed since it was read", reconcile.ErrPrecondition, remoteID)
	}
	if etag == "" {
		etag = o.ETag
	}
	d, err := cc.opt.Codec.Decode(o.Data)
	if err != nil {
		return reconcile.Item{}, &reconcile.ItemError{Err: err}
	}
	// A photo link's image is fetched again to compare: the link stays
	// unless the photo changed here.
	var known linkedPhoto
	if d.PhotoLink != "" {
		known = cc.fetchPhoto(ctx, remoteID, d.PhotoLink)
	}
	return cc.put(ctx, remoteID, etag, o.Data, f, d.UID, d.Marker, known)
}

// Delete implements reconcile.Connector. An object someone else created
// stays when the binding keeps them (KeepForeign); the engine then keeps
// its link dormant, as for any record out of scope.
func (cc *CollectionConnector) Delete(ctx context.Context, remoteID, etag string) error {
	if cc.opt.KeepForeign && !cc.created(remoteID) {
		return fmt.Errorf("%w: %s: Tandem did not create it", reconcile.ErrKept, remoteID)
	}
	if err := cc.c.Delete(ctx, remoteID, etag); err != nil {
		return cc.writeError(err)
	}
	return nil
}

// Restore implements reconcile.Connector: an object deleted on the server
// is written again at its href from base (what the server held is gone
// with it). The engine calls RestoreIdentity, which knows the UID the
// object had; without one the UID is made up anew.
func (cc *CollectionConnector) Restore(ctx context.Context, remoteID string, base reconcile.Fields) (reconcile.Item, error) {
	return cc.RestoreIdentity(ctx, remoteID, "", base)
}

// RestoreIdentity implements reconcile.IdentityRestorer: Restore, the
// object written again with uid, the UID it had (read from its content
// when it was synced; the file name need not say it).
func (cc *CollectionConnector) RestoreIdentity(ctx context.Context, remoteID, uid string, base reconcile.Fields) (reconcile.Item, error) {
	it, err := cc.Get(ctx, remoteID)
	if err == nil {
		return it, nil
	}
	if !errors.Is(err, reconcile.ErrRemoteNotFound) {
		return reconcile.Item{}, err
	}
	if uid == "" {
		uid = "tandem-" + uuid.NewString()
	}
	return cc.put(ctx, remoteID, "", nil, base, uid, "", linkedPhoto{})
}

// FindByIdentity implements reconcile.IdentityFinder: the object whose
// UID is uid. Clients keep an object's name when they move it and most
// name objects after their UID, so <collection>/<uid><ext> is tried
// first (one GET); then a calendar-query on the UID. An object outside
// the window is reported Deleted, as a listing would.
func (cc *CollectionConnector) FindByIdentity(ctx context.Context, uid string) (reconcile.Item, bool, error) {
	if uid == "" {
		return reconcile.Item{}, false, nil
	}
	href := strings.TrimSuffix(cc.url, "/") + "/" + url.PathEscape(uid) + cc.ext()
	o, err := cc.c.Get(ctx, href)
	switch {
	case err == nil:
		if it := cc.item(ctx, *o, linkedPhoto{}); it.Identity == uid {
			return it, true, nil
		}
	case !errors.Is(err, ErrNotFound):
		return reconcile.Item{}, false, err
	}
	if cc.opt.Kind != Calendar {
		return reconcile.Item{}, false, nil
	}
	objs, err := cc.c.QueryUID(ctx, cc.url, cmp.Or(cc.opt.Component, "VEVENT"), uid)
	if err != nil {
		return reconcile.Item{}, false, err
	}
	for _, o := range objs {
		// text-match matches substrings: the UID itself must be equal.
		if it := cc.item(ctx, o, linkedPhoto{}); it.Identity == uid {
			return it, true, nil
		}
	}
	return reconcile.Item{}, false, nil
}

// FindByMarker implements reconcile.Connector: Tandem's objects are named
// after their marker.
func (cc *CollectionConnector) FindByMarker(ctx context.Context, marker string) (reconcile.Item, bool, error) {
	it, err := cc.Get(ctx, cc.hrefOf(marker))
	if errors.Is(err, reconcile.ErrRemoteNotFound) {
		return reconcile.Item{}, false, nil
	}
	if err != nil {
		return reconcile.Item{}, false, err
	}
	return it, true, nil
}
