// Package reconcile is Tandem's provider-neutral two-way sync engine. It
// owns the run of one binding (one connection × one kind × one remote
// collection): pulling remote changes through a Connector, matching them to
// local records by link, marker and identity, merging field by field against
// the last synced base, applying them through a Local adapter, and pushing
// local changes back. It knows no provider: connectors (package
// connector/…) translate remote items to and from Fields, and the per-binding
// policy lives in the Local adapter (package crmsync for Tandem's records)
// and the connector's options. It owns the field vocabulary both sides
// share: field names and their canonical encodings (contacts.go,
// events.go) and the journal's reason codes (reasons.go).
//
// Invariants (each has a test):
//
//  1. No duplicates. Before a remote create the engine commits a pending link
//     carrying a marker that the connector stores in the remote item; after
//     a crash the item is found by marker (on the next pull, or with
//     Connector.FindByMarker) instead of being created again. Unlinked remote
//     items are matched by marker and identity before anything is created.
//  2. No echo. Local writes made by a binding are logged with the origin
//     "sync:<binding>" and not pushed back to it; remote writes made by the
//     engine are recognised by their etag on the next pull.
//  3. No lost update. Remote writes carry the etag; on ErrPrecondition the
//     engine re-reads, re-merges and retries. Local writes carry the record
//     version.
//  4. Safe cursors. An expired remote cursor means a full listing reconciled
//     against the links — never a re-import; a full listing that comes back
//     empty while links exist stops the run with ErrCollectionEmpty. A
//     listing bounded to a window (Windowed) is judged only against the
//     links inside the window.
//  5. Policy, not code paths: what is in scope, what a delete means on
//     either side, and which remote changes a local rule takes back
//     (LocalRecord.Locked) are decided by the Local adapter and the
//     connector.
//  6. Journal: every applied change is recorded with side, fields and reason.
//  7. Leaving is not forgetting. When a record leaves the binding's scope
//     (untagged, taken out of the calendar) or its item leaves the
//     collection (taken out of the group, deleted remotely) while the
//     record stays, the link is kept, dormant, with its base. Coming back
//     on either side finds the other through it, so nothing is created
//     twice: an item back in the collection is matched to its dormant link
//     (by remote id, marker or identity like any item), the Local puts the
//     record back in scope (Local.Reenter: re-tag, show in the calendar)
//     and the engine merges three-way against the kept base; a record
//     back in scope has its item put back (Connector.Restore) and merged
//     the same way. Only a record deleted for good (Tandem deletes records
//     outright) ends the link: its item, coming back, is a new record, and
//     an item gone for good makes a record coming back create a new one.
//     The link of a record deleted while out of scope, or whose item the
//     connector kept in place (ErrKept), stays dormant as a tombstone: its
//     item, unchanged, is no new item to a full listing; changed, it is a
//     new record as above.
//     A dormant link stands for no item in the collection: the
//     empty-collection guard and a full listing's check for missing items
//     pass it by.
//
// Atomicity: a page of remote items is applied in one store transaction —
// each item with its local write, link and journal entry — and a cursor is
// advanced only after everything before it is applied. An item that fails
// on its own (an ItemError) is rolled back alone: the page is applied again
// with a savepoint per item, and the bad one is skipped while the rest
// commit. A crash, or any other error, rolls back the unfinished page and
// the next run replays it; replay is idempotent (an item whose etag equals
// the link's is skipped; a merged item equals its base). Items of a page
// see what earlier items of the same page wrote: links through the page's
// own index, records through reads inside the transaction (Local.Load).
// A page's new items (no link by remote id, marker or identity) are
// created together when the Local is a BulkCreator: records, links and
// journal entries in a few multi-row statements at the end of the page,
// or earlier, before an item that could match one of them, so the page's
// index shows them to it; when that fails, the page is applied again item
// by item with savepoints, as for any failed item.
// Remote writes a page calls for (a merge the remote lacks) run after its
// commit, never while it holds SQLite's single writer; until each succeeds
// the link's base stays what the remote holds, and the page notes the
// record in the change log under another origin than the binding's
// (Tx.NoteChange), so a crash in between — or a write that fails — leaves
// a change the next push sends, even when the record's own edit is
// behind the local cursor. The push works in batches:
// pending links carrying markers for a batch of creates commit in one
// transaction before the remote writes (BatchWriter, or a request each),
// the finished links and journal entries in one transaction after; a
// crash in between leaves pending links that are found by marker.
//
// Scale: the next page is fetched while one is written; nothing
// proportional to the collection is kept across pages but, in a full
// listing of a binding that had links, the remote ids seen (for the sweep
// of missing items, which streams link ids); a push far behind the shared
// change log asks it only about the binding's records (ScopeCandidates).
package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/tandem-crm/tandem/internal/crm"
)

// Fields is a record in normalized, provider-neutral form: field name →
// canonical string value (lists are encoded canonically by the mapper).
// Both sides of a binding produce the same set of names; a missing name
// means "empty".
type Fields map[string]string

// Equal reports whether two records hold the same values (blob fields
// compared by their heads).
func (f Fields) Equal(g Fields) bool {
	for k, v := range f {
		if !sameValue(k, g[k], v) {
			return false
		}
	}
	for k, v := range g {
		if !sameValue(k, f[k], v) {
			return false
		}
	}
	return true
}

// blobFields hold values too large to compare or keep twice (a photo):
// "<head>\n<payload>", where the head names the payload (its type and
// hash). They are compared by head, and a link's base keeps the head
// alone; the payload comes from the side that has it (a merge takes a
// value from the local or the remote record, never from the base).
var blobFields = map[string]bool{FieldPhoto: true}

// blobHead is the head of a blob value (all of a head-only one).
func blobHead(v string) string {
	head, _, _ := strings.Cut(v, "\n")
	return head
}

// sameValue reports whether a and b are the same value of field k.
func sameValue(k, a, b string) bool {
	return a == b || blobFields[k] && blobHead(a) == blobHead(b)
}

// SameValue reports whether a and b are the same value of field k, as the
// engine compares them: a photo by its hash.
func SameValue(k, a, b string) bool { return sameValue(k, a, b) }

// carry gives the fields it does not carry (Item.NotCarried) the values
// of ref, the record it is compared with, so that they read as unchanged
// on the remote side whatever ref holds.
func carry(it Item, ref Fields) Item {
	if len(it.NotCarried) == 0 || it.Fields == nil {
		return it
	}
	f := it.Fields.Clone()
	for _, k := range it.NotCarried {
		setField(f, k, ref[k])
	}
	it.Fields = f
	return it
}

// Clone returns a copy of f (never nil).
func (f Fields) Clone() Fields {
	out := make(Fields, len(f))
	for k, v := range f {
		out[k] = v
	}
	return out
}

// encodeFields renders f for a link's base: blob fields by their heads.
func encodeFields(f Fields) string {
	for k := range blobFields {
		if v, ok := f[k]; ok && v != blobHead(v) {
			f = f.Clone()
			for k := range blobFields {
				if v, ok := f[k]; ok {
					f[k] = blobHead(v)
				}
			}
			break
		}
	}
	b, _ := json.Marshal(f) // map keys are sorted: the encoding is canonical
	return string(b)
}

func decodeFields(s string) Fields {
	f := Fields{}
	if s != "" {
		json.Unmarshal([]byte(s), &f)
	}
	return f
}

// Item is a remote item as a connector reports it.
type Item struct {
	RemoteID string
	ETag     string
	Identity string    // iCalUID, vCard UID …
	Marker   string    // the Tandem marker stored in the item, if any
	Deleted  bool      // deleted remotely, or no longer in the collection
	Modified time.Time // remote last modification, for "later change wins"
	Fields   Fields
	// Problem says why the item could not be read (a malformed vCard or
	// iCalendar object); Fields are then empty. The engine skips it,
	// leaves its link as it was (the next change of the item is read
	// again) and journals the problem on the linked record.
	Problem string
	// NotCarried names fields the item holds no value of for Tandem: a
	// field its provider does not sync (Google's photos), or one this
	// item keeps in a form Tandem does not take (a vCard's PHOTO that is
	// a link). The engine reads them as equal to the linked record's, so
	// they change on neither side: never cleared because the remote side
	// lacks them, and never written to it (the connector leaves them as
	// they are whatever it is sent).
	NotCarried []string
}

// Page is one page of a listing.
type Page struct {
	Items      []Item
	NextPage   string // "" on the last page
	NextCursor string // the cursor to resume from; set on the last page
}

// Errors a connector returns.
var (
	// ErrCursorExpired: the remote cursor is no longer valid; list again
	// from scratch.
	ErrCursorExpired = errors.New("remote cursor expired")
	// ErrPrecondition: the item changed since the etag the write carried.
	ErrPrecondition = errors.New("remote item changed since it was read")
	// ErrRemoteNotFound: the item does not exist (any more).
	ErrRemoteNotFound = errors.New("remote item not found")
	// ErrKept: Delete left the item where it is, by the binding's policy
	// (an address book keeps the cards Tandem did not put there). The
	// engine keeps the link, dormant, even when the record is deleted for
	// good: the item is not a new one to import while it stays unchanged.
	ErrKept = errors.New("remote item kept by policy")
)

// ErrCollectionEmpty stops a run whose full listing found nothing while
// links exist: a wrong account or an emptied collection must not delete
// everything on the other side.
var ErrCollectionEmpty = errors.New("remote collection is empty but records are linked to it; sync stopped to protect them")

// Connector is one remote collection. Implementations translate the
// provider's items to Fields and back and keep to its wire rules (paging,
// etags, rate limits).
type Connector interface {
	// List returns one page of changes since cursor ("" lists everything),
	// continuing from page. It returns ErrCursorExpired when the cursor is
	// no longer valid.
	List(ctx context.Context, cursor, page string) (Page, error)
	// Get reads one item.
	Get(ctx context.Context, remoteID string) (Item, error)
	// Create adds an item carrying marker, so it can be found after a
	// crash.
	Create(ctx context.Context, f Fields, marker string) (Item, error)
	// Update writes f if the item still has etag (else ErrPrecondition).
	Update(ctx context.Context, remoteID, etag string, f Fields) (Item, error)
	// Delete removes the item from the collection (what that means —
	// delete, leave a group — is the connector's policy).
	Delete(ctx context.Context, remoteID, etag string) error
	// Restore puts an item that left the collection back into it (joins
	// the group again, undeletes) and returns it as it is then; an item
	// in the collection stays as it is. base is the item as last synced,
	// for what leaving took away with it (a series' changed occurrences).
	// It returns ErrRemoteNotFound when the item is gone for good.
	Restore(ctx context.Context, remoteID string, base Fields) (Item, error)
	// FindByMarker finds an item created with marker.
	FindByMarker(ctx context.Context, marker string) (Item, bool, error)
}

// Windowed is a Connector whose full listing shows only part of the
// collection, such as a calendar listed from a date. A full listing says
// nothing about items outside its window, so the engine judges it — "is
// the collection suddenly empty?", "which linked items are gone?" — only
// against the links whose last synced record the window covers.
type Windowed interface {
	// Covers reports whether a full listing would show an item last
	// synced as f.
	Covers(f Fields) bool
}

// Merge is the three-way, field-level merge. For each field: a change on
// one side only is taken; the same change on both sides is no conflict; a
// different change on both sides goes to the later side (ties go to the
// local side, since Tandem is the system of record). It returns the merged
// record, the fields the local and remote sides must take, and the fields
// decided as conflicts.
func Merge(base, local, remote Fields, localAt, remoteAt time.Time) (merged Fields, toLocal, toRemote, conflicts []string) {
	merged = Fields{}
	keys := map[string]bool{}
	for _, f := range []Fields{base, local, remote} {
		for k := range f {
			keys[k] = true
		}
	}
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		b, l, r := base[k], local[k], remote[k]
		switch {
		case sameValue(k, l, r):
			merged[k] = l
		case sameValue(k, l, b):
			merged[k] = r
			toLocal = append(toLocal, k)
		case sameValue(k, r, b):
			merged[k] = l
			toRemote = append(toRemote, k)
		case k == FieldCategories:
			// A set: each side's additions and removals both apply, so
			// neither side's categories are lost (a link made before
			// categories were synced has none in its base, and both
			// sides' read as added).
			merged[k] = mergeSet(b, l, r)
			if !sameValue(k, merged[k], l) {
				toLocal = append(toLocal, k)
			}
			if !sameValue(k, merged[k], r) {
				toRemote = append(toRemote, k)
			}
		default:
			conflicts = append(conflicts, k)
			if remoteAt.After(localAt) {
				merged[k] = r
				toLocal = append(toLocal, k)
			} else {
				merged[k] = l
				toRemote = append(toRemote, k)
			}
		}
		if merged[k] == "" {
			delete(merged, k)
		}
	}
	return merged, toLocal, toRemote, conflicts
}

// mergeSet merges three EncodeCategories sets: base with what either side
// added, less what either side removed.
func mergeSet(base, local, remote string) string {
	b, l, r := foldSet(base), foldSet(local), foldSet(remote)
	var out []string
	for _, side := range []map[string]string{l, r} {
		for f, v := range side {
			_, inB := b[f]
			_, inL := l[f]
			_, inR := r[f]
			if !inB || (inL && inR) {
				out = append(out, v) // added by a side, or kept by both
			}
		}
	}
	return EncodeCategories(out)
}

func foldSet(s string) map[string]string {
	m := map[string]string{}
	for _, c := range DecodeCategories(s) {
		m[crm.Fold(c)] = c
	}
	return m
}

// BatchWriter is a Connector that writes many items per request. Remote
// services meter writes per request and per user (Google: a few dozen a
// minute), so an export of thousands of records one request at a time
// would take hours. When the connector is a BatchWriter the engine's push
// hands it up to MaxBatch creates, updates or removals at once; each
// answer stands for its item alone, so one refused item is handled (or
// skipped) like a single write's error without failing the others. A
// returned error fails the whole call (auth, the network, a rate limit
// after retries) and stops the run like any fatal error.
type BatchWriter interface {
	// MaxBatch is the largest number of items one call takes.
	MaxBatch() int
	// CreateMany is Create for each item; results[i] answers creates[i].
	CreateMany(ctx context.Context, creates []NewItem) ([]Result, error)
	// UpdateMany is Update for each item: an item whose etag moved on
	// gets ErrPrecondition, one gone ErrRemoteNotFound.
	UpdateMany(ctx context.Context, updates []Change) ([]Result, error)
	// DeleteMany is Delete for each item; errs[i] answers items[i].
	DeleteMany(ctx context.Context, items []Ref) (errs []error, err error)
}

// NewItem is one create of a batch.
type NewItem struct {
	Fields Fields
	Marker string
	// Identity, when set, is the identity the item takes (a record's
	// kept one: IdentityKeeper) if the connector can give it.
	Identity string
}

// Change is one update of a batch: Fields written if the item still has
// ETag.
type Change struct {
	RemoteID string
	ETag     string
	Fields   Fields
}

// Ref names a remote item as last seen.
type Ref struct {
	RemoteID string
	ETag     string
}

// Result is one item's answer in a batch: the item as written, or why not.
type Result struct {
	Item Item
	Err  error
}
