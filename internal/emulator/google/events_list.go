package google

import (
	"encoding/json"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// window holds the filters of a full sync; a sync token carries them into
// the incremental syncs that follow (apis.md §2.1: "the window lives inside
// the token").
type window struct {
	Min    string   `json:"n,omitempty"`
	Max    string   `json:"x,omitempty"`
	Q      string   `json:"q,omitempty"`
	ICal   string   `json:"i,omitempty"`
	Priv   []string `json:"p,omitempty"`
	Shared []string `json:"s,omitempty"`
}

func (w window) empty() bool {
	return w.Min == "" && w.Max == "" && w.Q == "" && w.ICal == "" && len(w.Priv) == 0 && len(w.Shared) == 0
}

// forbiddenWithSyncToken are the events.list parameters that cannot be
// combined with syncToken.
var forbiddenWithSyncToken = []string{"iCalUID", "orderBy", "privateExtendedProperty", "q",
	"sharedExtendedProperty", "timeMin", "timeMax", "updatedMin"}

type listParams struct {
	inc            bool
	from, snapshot int64
	showDeleted    bool
	single         bool
	orderBy        string
	tmin, tmax     time.Time
	updMin         time.Time
	win            window
}

// evItem is one item of a listing, rendered only if it is on the page.
type evItem struct {
	key    personKey
	render func() obj
}

func (s *Server) eventsList(w http.ResponseWriter, r *http.Request, u *user, segs []string) {
	q := r.URL.Query()
	p := listParams{}
	maxResults := 250
	if v := q.Get("maxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			cInvalidParam("maxResults").write(w)
			return
		}
		maxResults = min(n, 2500)
	}
	var sdPresent bool
	var err error
	p.showDeleted, sdPresent, err = queryBool(q, "showDeleted")
	if err != nil {
		cInvalidParam("showDeleted").write(w)
		return
	}
	if p.single, _, err = queryBool(q, "singleEvents"); err != nil {
		cInvalidParam("singleEvents").write(w)
		return
	}
	p.orderBy = q.Get("orderBy")
	switch p.orderBy {
	case "", "updated":
	case "startTime":
		if !p.single {
			cBadRequest("The requested ordering is not available for the particular query.").write(w)
			return
		}
	default:
		cInvalidParam("orderBy").write(w)
		return
	}
	syncTok := q.Get("syncToken")
	p.inc = syncTok != ""
	if p.inc {
		for _, f := range forbiddenWithSyncToken {
			if q.Has(f) {
				cInvalidLoc("The parameter '"+f+"' cannot be used together with 'syncToken'.", f).write(w)
				return
			}
		}
		if sdPresent && !p.showDeleted {
			cInvalidLoc("The parameter 'showDeleted' cannot be false when 'syncToken' is set: deletions are always returned.", "showDeleted").write(w)
			return
		}
		p.showDeleted = true
	} else {
		p.win = window{Min: q.Get("timeMin"), Max: q.Get("timeMax"), Q: q.Get("q"), ICal: q.Get("iCalUID"),
			Priv: q["privateExtendedProperty"], Shared: q["sharedExtendedProperty"]}
	}
	if v := q.Get("updatedMin"); v != "" {
		if p.updMin, err = time.Parse(time.RFC3339, v); err != nil {
			cInvalidParam("updatedMin").write(w)
			return
		}
		p.showDeleted = true
	}
	if _, _, ce := parseWindow(p.win.Min, p.win.Max); ce != nil {
		ce.write(w)
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calendarOf(u, segs[1])
	if c == nil {
		cNotFound().write(w)
		return
	}
	if p.inc {
		st, err := s.decodeCursor(syncTok, "es")
		if err != nil || st.User != u.email || st.Cal != c.id || st.Gen != u.gen || s.calendarTokenExpired(st.Origin) {
			cFullSyncRequired().write(w)
			return
		}
		p.from = st.Pos
		if st.Win != nil {
			p.win = *st.Win
		}
	}
	var pc cursor
	paging := q.Get("pageToken") != ""
	if paging {
		pc, err = s.decodeCursor(q.Get("pageToken"), "ep")
		if err != nil || pc.User != u.email || pc.Cal != c.id {
			cInvalidLoc("Invalid page token value.", "pageToken").write(w)
			return
		}
		if pc.Hash != paramHash(q) {
			cInvalidLoc("The request parameters must match the request that returned the page token.", "pageToken").write(w)
			return
		}
		if pc.Inc && pc.Gen != u.gen {
			cFullSyncRequired().write(w)
			return
		}
		p.snapshot = pc.Pos
		if pc.Win != nil {
			p.win = *pc.Win
		}
	} else {
		p.snapshot = u.seq
		pc = cursor{Kind: "ep", User: u.email, Gen: u.gen, Cal: c.id, Pos: p.snapshot, Inc: p.inc, From: p.from,
			Hash: paramHash(q), C1: math.MinInt64}
		if !p.win.empty() {
			wc := p.win
			pc.Win = &wc
		}
	}
	p.tmin, p.tmax, _ = parseWindow(p.win.Min, p.win.Max)

	var items []evItem
	updated := c.updated
	if n := len(c.order.entries); n > 0 {
		// The newest change is the calendar's last: updated only grows.
		updated = maxTime(updated, c.order.entries[n-1].item.updated)
	}
	if p.orderBy == "startTime" {
		items = s.collectEvents(u, c, p)
		sort.Slice(items, func(i, j int) bool { return items[i].key.less(items[j].key) })
		after := personKey{pc.C1, pc.C2}
		i := sort.Search(len(items), func(i int) bool { return after.less(items[i].key) })
		items = items[i:]
	} else {
		items = s.pageEvents(u, c, p, personKey{pc.C1, pc.C2}, maxResults+1)
	}

	resp := obj{{"kind", "calendar#events"}, {"etag", eventEtag(p.snapshot, updated)}, {"summary", c.summary}}
	if c.description != "" {
		resp.add("description", c.description)
	}
	resp.add("updated", rfc3339(updated))
	resp.add("timeZone", c.timeZone)
	resp.add("accessRole", "owner")
	resp.add("defaultReminders", []any{})

	next := pc
	if s.emptyPages && !pc.Empty && len(items) > 0 {
		next.Empty = true
		resp.add("nextPageToken", s.encodeCursor(next))
		resp.add("items", []any{})
		writeJSON(w, 200, resp)
		return
	}
	more := len(items) > maxResults
	if more {
		items = items[:maxResults]
	}
	out := make([]any, len(items))
	for i, it := range items {
		out[i] = it.render()
	}
	if more {
		last := items[len(items)-1].key
		next.Empty, next.C1, next.C2 = false, last.k1, last.k2
		resp.add("nextPageToken", s.encodeCursor(next))
	} else {
		st := cursor{Kind: "es", User: u.email, Gen: u.gen, Cal: c.id, Pos: p.snapshot, Origin: s.now().Unix()}
		if !p.win.empty() {
			wc := p.win
			st.Win = &wc
		}
		resp.add("nextSyncToken", s.encodeCursor(st))
	}
	resp.add("items", out)
	writeJSON(w, 200, resp)
}

func (s *Server) calendarTokenExpired(origin int64) bool {
	l := s.opts.CalendarSyncTokenLifetime
	return l > 0 && s.now().Sub(time.Unix(origin, 0)) > l
}

// eventRange is the span of a stored non-master event (cancelled
// exceptions: their original start).
func eventRange(e *event, calTZ string) (time.Time, time.Time, bool) {
	if e.recurringEventID != "" && e.cancelled() {
		st, err := parseEDT(e.originalStart, calTZ)
		if err != nil {
			return time.Time{}, time.Time{}, false
		}
		return st.t, st.t.Add(time.Second), true
	}
	st, err1 := parseEDT(e.fields["start"], calTZ)
	en, err2 := parseEDT(e.fields["end"], calTZ)
	if err1 != nil || err2 != nil {
		return time.Time{}, time.Time{}, false
	}
	end := en.t
	if !end.After(st.t) {
		end = st.t.Add(time.Nanosecond)
	}
	return st.t, end, true
}

func inWindow(start, end, tmin, tmax time.Time) bool {
	if !tmin.IsZero() && !end.After(tmin) {
		return false
	}
	if !tmax.IsZero() && !start.Before(tmax) {
		return false
	}
	return true
}

func (p *listParams) matches(e *event) bool {
	if p.win.ICal != "" && e.iCalUID != p.win.ICal {
		return false
	}
	if p.win.Q != "" {
		ql := strings.ToLower(p.win.Q)
		hit := false
		for _, f := range []string{"summary", "description", "location"} {
			if strings.Contains(strings.ToLower(strField(e.fields, f)), ql) {
				hit = true
			}
		}
		if !hit {
			return false
		}
	}
	if len(p.win.Priv) > 0 || len(p.win.Shared) > 0 {
		var ep struct {
			Private map[string]string `json:"private"`
			Shared  map[string]string `json:"shared"`
		}
		if raw, ok := e.fields["extendedProperties"]; ok {
			json.Unmarshal(raw, &ep)
		}
		for _, kv := range p.win.Priv {
			k, v, _ := strings.Cut(kv, "=")
			if got, ok := ep.Private[k]; !ok || got != v {
				return false
			}
		}
		for _, kv := range p.win.Shared {
			k, v, _ := strings.Cut(kv, "=")
			if got, ok := ep.Shared[k]; !ok || got != v {
				return false
			}
		}
	}
	return true
}

func (p *listParams) key(seq int64, id string, start time.Time) personKey {
	if p.orderBy == "startTime" {
		return personKey{start.UnixNano(), id}
	}
	return personKey{seq, id}
}

// collectEvents computes every item of a listing (before sorting and
// paging): the startTime order is not kept, so it takes everything.
func (s *Server) collectEvents(u *user, c *calendar, p listParams) []evItem {
	var items []evItem
	until := s.listUntil(p)
	for _, e := range c.events {
		items = s.eventItems(u, c, e, p, until, items)
	}
	return items
}

// pageEvents computes the next n items after the key in change order, from
// the calendar's order index: O(log n + page) rather than everything.
func (s *Server) pageEvents(u *user, c *calendar, p listParams, after personKey, n int) []evItem {
	var items []evItem
	until := s.listUntil(p)
	ents := c.order.entries
	i := c.order.after(p.from)
	if after.k1 > p.from {
		i = c.order.after(after.k1 - 1)
	}
	for ; i < len(ents) && len(items) < n; i++ {
		e := ents[i].item
		if e.seq != ents[i].seq {
			continue
		}
		if p.inc && e.seq > p.snapshot {
			break
		}
		got := s.eventItems(u, c, e, p, until, nil)
		// A series' instances share its position: by id, as a full sort
		// would order them.
		sort.Slice(got, func(i, j int) bool { return got[i].key.less(got[j].key) })
		for _, it := range got {
			if after.less(it.key) {
				items = append(items, it)
			}
		}
	}
	return items
}

func (s *Server) listUntil(p listParams) time.Time {
	if p.tmax.IsZero() {
		return s.now().Add(s.opts.RecurrenceHorizon)
	}
	return p.tmax
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// eventItems appends the items one stored event contributes to a listing.
func (s *Server) eventItems(u *user, c *calendar, e *event, p listParams, until time.Time, items []evItem) []evItem {
	if p.inc {
		if e.seq <= p.from || e.seq > p.snapshot {
			return items
		}
	} else {
		if e.cancelled() && !p.showDeleted {
			return items
		}
		if !p.updMin.IsZero() && e.updated.Before(p.updMin) {
			return items
		}
	}
	if !p.matches(e) {
		return items
	}
	if e.isMaster() {
		sr, err := parseSeries(e.recurrence(), e.fields["start"], e.fields["end"], c.timeZone)
		if err != nil {
			return items
		}
		if !p.single {
			var first time.Time
			found := false
			sr.each(until, func(oc occurrence) bool {
				if inWindow(oc.start, oc.end, p.tmin, p.tmax) {
					first, found = oc.start, true
					return false
				}
				return true
			})
			if found || (e.cancelled() && p.inc) {
				if !found {
					first = sr.start.t
				}
				items = append(items, evItem{p.key(e.seq, e.id, first), func() obj { return s.renderEvent(u, c, e) }})
			}
			return items
		}
		// singleEvents: the instances, not the master.
		if e.deleted && !p.inc {
			return items
		}
		sr.each(until, func(oc occurrence) bool {
			if !inWindow(oc.start, oc.end, p.tmin, p.tmax) {
				return true
			}
			iid := e.id + "_" + oc.suffix
			if _, ok := c.events[iid]; ok {
				return true // an exception, listed from its own record
			}
			if e.deleted {
				items = append(items, evItem{p.key(e.seq, iid, oc.start), func() obj { return renderInstanceTombstone(e, oc) }})
			} else {
				items = append(items, evItem{p.key(e.seq, iid, oc.start), func() obj { return s.renderInstance(u, c, e, oc) }})
			}
			return true
		})
		return items
	}
	start, end, ok := eventRange(e, c.timeZone)
	if !ok {
		return items
	}
	if !(p.inc && e.cancelled()) && !inWindow(start, end, p.tmin, p.tmax) {
		return items
	}
	return append(items, evItem{p.key(e.seq, e.id, start), func() obj { return s.renderEvent(u, c, e) }})
}
