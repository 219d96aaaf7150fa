package google

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Quotas are per-minute-per-user ceilings, in quota units, on a sliding
// one-minute window (apis.md §1.5). Zero turns a quota off. People
// requests over a quota get 429 RESOURCE_EXHAUSTED, Calendar requests 403
// userRateLimitExceeded, both with Retry-After: the seconds until the
// window has room for the request. A refused request costs nothing. A
// request's cost is in QuotaCost.
type Quotas struct {
	// PeopleCriticalReads: "Critical read requests (Contact and Profile
	// Reads)".
	PeopleCriticalReads int `json:"peopleCriticalReads"`
	// PeopleCriticalWrites: "Critical write requests (Contact Creates and
	// Updates)".
	PeopleCriticalWrites int `json:"peopleCriticalWrites"`
	// PeopleWrites: "Write requests (Contact Deletes and Contact Group
	// Writes)".
	PeopleWrites int `json:"peopleWrites"`
	// PeopleGroupReads: "Read requests (Contact Group Reads)".
	PeopleGroupReads int `json:"peopleGroupReads"`
	// PeopleFullSyncFirstPages: the first page of a full connections.list
	// (no pageToken, no syncToken), Google's extra fixed quota.
	PeopleFullSyncFirstPages int `json:"peopleFullSyncFirstPages"`
	// Calendar: every Calendar API request.
	Calendar int `json:"calendar"`
}

// DefaultQuotas are the ceilings a new emulator enforces: the figures seen
// for People in Cloud Console (apis.md §1.5) — critical reads 90, critical
// writes 60, writes 30 and group reads 90 units a minute per user. The
// full-sync first-page quota and Calendar's are off: their figures are not
// known.
func DefaultQuotas() Quotas {
	return Quotas{PeopleCriticalReads: 90, PeopleCriticalWrites: 60, PeopleWrites: 30, PeopleGroupReads: 90}
}

// quota buckets, by Quotas' JSON names.
const (
	qCriticalReads  = "peopleCriticalReads"
	qCriticalWrites = "peopleCriticalWrites"
	qWrites         = "peopleWrites"
	qGroupReads     = "peopleGroupReads"
	qFullSync       = "peopleFullSyncFirstPages"
	qCalendar       = "calendar"
)

func (q Quotas) limit(bucket string) int {
	switch bucket {
	case qCriticalReads:
		return q.PeopleCriticalReads
	case qCriticalWrites:
		return q.PeopleCriticalWrites
	case qWrites:
		return q.PeopleWrites
	case qGroupReads:
		return q.PeopleGroupReads
	case qFullSync:
		return q.PeopleFullSyncFirstPages
	case qCalendar:
		return q.Calendar
	}
	return 0
}

// quotaMetric names a bucket in the 429 body, as Google's message does.
var quotaMetric = map[string][3]string{
	qCriticalReads:  {"Critical read requests (Contact and Profile Reads)", "people.googleapis.com/read_requests", "ReadRequestsPerMinutePerUser"},
	qCriticalWrites: {"Critical write requests (Contact Creates and Updates)", "people.googleapis.com/write_requests", "WriteRequestsPerMinutePerUser"},
	qWrites:         {"Write requests (Contact Deletes and Contact Group Writes)", "people.googleapis.com/contact_group_write_requests", "ContactGroupWriteRequestsPerMinutePerUser"},
	qGroupReads:     {"Read requests (Contact Group Reads)", "people.googleapis.com/contact_group_read_requests", "ContactGroupReadRequestsPerMinutePerUser"},
	qFullSync:       {"Full sync requests", "people.googleapis.com/full_sync_requests", "FullSyncRequestsPerMinutePerUser"},
	qCalendar:       {"Queries per minute per user", "calendar-json.googleapis.com/requests", "defaultPerMinutePerUser"},
}

// QuotaUnits is what one request of a method costs in one quota.
type QuotaUnits struct {
	Quota string // a Quotas JSON name, e.g. "peopleCriticalWrites"
	Units int
}

// QuotaCost is what a call of an API method (by the names Calls reports)
// costs, after People's published units (apis.md §1.5): a single create or
// update 1 critical read + 1 critical write; a batch create or update 6 +
// 6 whatever its size; a delete 1 write, a batch delete 10; a contact-group
// write 1 write; a read 1 unit of its kind. The units of people.getBatchGet
// and contactGroups.batchGet are not published; they count 1. Daily
// contact writes are not modelled. The first page of a full
// connections.list also costs 1 PeopleFullSyncFirstPages unit (not in
// QuotaCost: it depends on the request).
func QuotaCost(method string) []QuotaUnits {
	switch method {
	case "people.connections.list", "people.get", "people.getBatchGet":
		return []QuotaUnits{{qCriticalReads, 1}}
	case "people.createContact", "people.updateContact":
		return []QuotaUnits{{qCriticalReads, 1}, {qCriticalWrites, 1}}
	case "people.batchCreateContacts", "people.batchUpdateContacts":
		return []QuotaUnits{{qCriticalReads, 6}, {qCriticalWrites, 6}}
	case "people.deleteContact", "contactGroups.create", "contactGroups.update", "contactGroups.delete", "contactGroups.members.modify":
		return []QuotaUnits{{qWrites, 1}}
	case "people.batchDeleteContacts":
		return []QuotaUnits{{qWrites, 10}}
	case "contactGroups.list", "contactGroups.get", "contactGroups.batchGet":
		return []QuotaUnits{{qGroupReads, 1}}
	}
	if strings.HasPrefix(method, "calendar.") {
		return []QuotaUnits{{qCalendar, 1}}
	}
	return nil
}

// Floor is the least time the quotas allow for calls (count per method
// name, as Calls reports them), from the first call's start to the last's:
// in each quota the calls fill whole windows of a minute, and the last
// window opens (windows-1) minutes after the first. The largest over the
// quotas is the floor; it ignores the time the calls themselves take. A
// call that costs more than its quota allows a minute can never pass: an
// error.
func (q Quotas) Floor(calls map[string]int) (time.Duration, error) {
	type class struct{ units, n int }
	buckets := map[string][]class{}
	for m, n := range calls {
		if n <= 0 {
			continue
		}
		for _, c := range QuotaCost(m) {
			buckets[c.Quota] = append(buckets[c.Quota], class{c.Units, n})
		}
	}
	var floor time.Duration
	for b, cs := range buckets {
		limit := q.limit(b)
		if limit <= 0 {
			continue
		}
		// Two lower bounds on the windows needed: all units over the
		// limit, and, per cost, the calls over how many fit a window.
		total, windows := 0, 0
		for _, c := range cs {
			if c.units > limit {
				return 0, fmt.Errorf("emulator: a call costs %d units of %s, more than its limit of %d a minute", c.units, b, limit)
			}
			total += c.units * c.n
			per := limit / c.units
			windows = max(windows, (c.n+per-1)/per)
		}
		windows = max(windows, (total+limit-1)/limit)
		floor = max(floor, time.Duration(windows-1)*time.Minute)
	}
	return floor, nil
}

// SetQuotas sets the per-user quotas and clears the windows.
func (s *Server) SetQuotas(q Quotas) {
	s.mu.Lock()
	s.quotas = q
	s.quotaHits = map[string][]quotaHit{}
	s.mu.Unlock()
}

// Quotas returns the quotas in force.
func (s *Server) Quotas() Quotas {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.quotas
}

// QuotaFloor is Floor of the quotas in force for the calls made so far
// (Calls; ResetCounts starts again).
func (s *Server) QuotaFloor() (time.Duration, error) {
	return s.Quotas().Floor(s.Calls())
}

// QuotaRefusals returns how many requests each quota refused so far, by
// the Quotas JSON names.
func (s *Server) QuotaRefusals() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]int, len(s.quotaRefused))
	for k, v := range s.quotaRefused {
		m[k] = v
	}
	return m
}

type quotaHit struct {
	at    time.Time
	units int
}

// checkQuota counts a request against the user's quotas; true means it was
// refused and the response written.
func (s *Server) checkQuota(w http.ResponseWriter, r *http.Request, a api, name string, u *user) bool {
	cost := QuotaCost(name)
	if name == "people.connections.list" && r.URL.Query().Get("pageToken") == "" && r.URL.Query().Get("syncToken") == "" {
		cost = append(cost, QuotaUnits{qFullSync, 1})
	}
	s.mu.Lock()
	now := s.now()
	cut := now.Add(-time.Minute)
	var wait time.Duration
	refused := ""
	for _, c := range cost {
		limit := s.quotas.limit(c.Quota)
		if limit <= 0 {
			continue
		}
		k := u.email + "|" + c.Quota
		hits := s.quotaHits[k]
		i, used := 0, 0
		for i < len(hits) && !hits[i].at.After(cut) {
			i++
		}
		hits = hits[i:]
		s.quotaHits[k] = hits
		for _, h := range hits {
			used += h.units
		}
		if used+c.Units <= limit {
			continue
		}
		// Wait until enough of the window's units have left it.
		d := time.Minute
		if c.Units <= limit {
			for _, h := range hits {
				used -= h.units
				if used+c.Units <= limit {
					d = h.at.Add(time.Minute).Sub(now)
					break
				}
			}
		}
		if refused == "" || d > wait {
			refused, wait = c.Quota, d
		}
	}
	if refused != "" {
		s.quotaRefused[refused]++
		s.mu.Unlock()
		h := http.Header{"Retry-After": {retryAfterSeconds(wait)}}
		if a == apiPeople {
			m := quotaMetric[refused]
			e := peopleQuotaError(m[0], m[1], m[2])
			e.header = h
			e.write(w)
		} else {
			e := cErr(403, "usageLimits", "userRateLimitExceeded", "User Rate Limit Exceeded")
			e.header = h
			e.write(w)
		}
		return true
	}
	for _, c := range cost {
		if s.quotas.limit(c.Quota) > 0 {
			k := u.email + "|" + c.Quota
			s.quotaHits[k] = append(s.quotaHits[k], quotaHit{now, c.Units})
		}
	}
	s.mu.Unlock()
	return false
}

// --- the emulator's own API ------------------------------------------------------

// adminPrefix is where the emulator's own API lives, outside Google's paths:
//
//	GET  /emulator/quotas        → the Quotas in force, as JSON
//	PUT  /emulator/quotas        ← Quotas as JSON; fields left out keep their value
//	GET  /emulator/quotas/floor  → {"floorSeconds":…,"calls":{…}} for the calls in
//	                               the query (?people.batchCreateContacts=25&…), or
//	                               for the calls made so far when there is none
const adminPrefix = "/emulator/"

func (s *Server) handleAdmin(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == adminPrefix+"quotas" && r.Method == http.MethodGet:
		writeJSON(w, 200, s.Quotas())
	case r.URL.Path == adminPrefix+"quotas" && r.Method == http.MethodPut:
		q := s.Quotas()
		body, err := readBody(r, 64<<10)
		if err == nil {
			err = json.Unmarshal(body, &q)
		}
		if err == nil && (q.PeopleCriticalReads < 0 || q.PeopleCriticalWrites < 0 || q.PeopleWrites < 0 || q.PeopleGroupReads < 0 ||
			q.PeopleFullSyncFirstPages < 0 || q.Calendar < 0) {
			err = fmt.Errorf("quotas cannot be negative")
		}
		if err != nil {
			writeJSON(w, 400, obj{{"error", err.Error()}})
			return
		}
		s.SetQuotas(q)
		writeJSON(w, 200, q)
	case r.URL.Path == adminPrefix+"quotas/floor" && r.Method == http.MethodGet:
		calls := map[string]int{}
		for k, vs := range r.URL.Query() {
			n, err := strconv.Atoi(vs[0])
			if err != nil || n < 0 {
				writeJSON(w, 400, obj{{"error", fmt.Sprintf("%s: want a count of calls, got %q", k, vs[0])}})
				return
			}
			calls[k] = n
		}
		if len(calls) == 0 {
			calls = s.Calls()
		}
		floor, err := s.Quotas().Floor(calls)
		if err != nil {
			writeJSON(w, 400, obj{{"error", err.Error()}})
			return
		}
		names := make([]string, 0, len(calls))
		for k := range calls {
			names = append(names, k)
		}
		sort.Strings(names)
		co := obj{}
		for _, k := range names {
			co.add(k, calls[k])
		}
		writeJSON(w, 200, obj{{"floorSeconds", math.Round(floor.Seconds()*1000) / 1000}, {"calls", co}})
	default:
		writeJSON(w, 404, obj{{"error", "no such emulator endpoint: " + r.Method + " " + r.URL.Path}})
	}
}
