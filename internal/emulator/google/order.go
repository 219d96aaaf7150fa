package google

import "sort"

// seqIndex keeps items in the order of their change position (the seq
// s.tick hands out), so a listing page in that order costs O(log n) to find
// its start and O(page) to fill instead of a sort of everything. A change
// appends the item again with its new seq: ticks only grow, so appends keep
// the slice sorted. The entry it had before goes stale (its seq is no longer
// the item's) and listings skip it; once stale entries outnumber live ones
// the slice is compacted, so memory and skipping stay O(live).
type seqIndex[T any] struct {
	entries []seqEntry[T]
	stale   int
}

type seqEntry[T any] struct {
	seq  int64
	item T
}

// moved records that item now has seq; had is the seq it had before (0
// for a new item). cur reports an item's current seq, for compaction.
func (x *seqIndex[T]) moved(item T, had, seq int64, cur func(T) int64) {
	if had != 0 {
		x.stale++
	}
	x.entries = append(x.entries, seqEntry[T]{seq, item})
	if x.stale > 1024 && x.stale > len(x.entries)/2 {
		live := x.entries[:0]
		for _, e := range x.entries {
			if cur(e.item) == e.seq {
				live = append(live, e)
			}
		}
		clear(x.entries[len(live):])
		x.entries = live
		x.stale = 0
	}
}

// after returns the index of the first entry with a seq greater than seq.
func (x *seqIndex[T]) after(seq int64) int {
	return sort.Search(len(x.entries), func(i int) bool { return x.entries[i].seq > seq })
}

// touchPerson gives p a new change position and keeps the user's listing
// order.
func (s *Server) touchPerson(u *user, p *person) {
	had := p.seq
	p.seq, p.updated = s.tick(u)
	u.personOrder.moved(p, had, p.seq, func(p *person) int64 { return p.seq })
}

// touchEvent gives e a new change position and keeps the calendar's
// listing order.
func (s *Server) touchEvent(u *user, c *calendar, e *event) {
	had := e.seq
	e.seq, e.updated = s.tick(u)
	c.order.moved(e, had, e.seq, func(e *event) int64 { return e.seq })
}
