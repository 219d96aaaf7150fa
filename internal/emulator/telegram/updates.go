package telegram

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"
)

// queuedUpdate is an update waiting to be confirmed (getUpdates) or
// delivered (webhook).
type queuedUpdate struct {
	id       int64
	typ      string
	raw      []byte // the update's JSON, update_id included
	at       time.Time
	key      chatKey
	done     bool // confirmed, delivered, dropped or expired
	attempts int  // webhook deliveries tried
}

// chatKey groups updates whose webhook deliveries must stay in order: those
// of one chat. Updates without a chat get a key of their own (solo).
type chatKey struct{ chat, solo int64 }

// updateQueue is a bot's pending updates in update_id order, after the
// official server's TQueue: ids are sequential from a random start, done
// entries leave from the front lazily.
type updateQueue struct {
	items   []*queuedUpdate
	live    int
	tail    int64 // the next update_id; 0 until the first update
	lastAdd time.Time
}

// updateTypes are the Update fields allowed_updates may name.
var updateTypes = []string{
	"message", "edited_message", "channel_post", "edited_channel_post",
	"business_connection", "business_message", "edited_business_message", "deleted_business_messages",
	"message_reaction", "message_reaction_count", "inline_query", "chosen_inline_result",
	"callback_query", "shipping_query", "pre_checkout_query", "purchased_paid_media", "poll", "poll_answer",
	"my_chat_member", "chat_member", "chat_join_request", "chat_boost", "removed_chat_boost",
}

// notByDefault are left out when allowed_updates is empty or never given.
var notByDefault = map[string]bool{"chat_member": true, "message_reaction": true, "message_reaction_count": true}

func (b *bot) allowedLocked(typ string) bool {
	if b.allowed == nil {
		return !notByDefault[typ]
	}
	return b.allowed[typ]
}

// updateAllowedLocked applies allowed_updates as the real server: not
// given keeps the setting; a JSON array (or a single string) of known
// names sets it; nothing known — [] included — restores the default.
func (b *bot) updateAllowedLocked(p *params) {
	raw, ok := p.v["allowed_updates"]
	if !ok {
		return
	}
	var names []string
	if err := json.Unmarshal([]byte(raw), &names); err != nil {
		var one string
		if json.Unmarshal([]byte(raw), &one) == nil {
			names = []string{one}
		}
	}
	set := map[string]bool{}
	for _, n := range names {
		n = strings.ToLower(n)
		if slices.Contains(updateTypes, n) {
			set[n] = true
		}
	}
	if len(set) == 0 {
		b.allowed = nil
		return
	}
	b.allowed = set
}

// allowedListLocked is allowed_updates for getWebhookInfo: nil for the
// default set.
func (b *bot) allowedListLocked() []string {
	if b.allowed == nil {
		return nil
	}
	var out []string
	for _, t := range updateTypes {
		if b.allowed[t] {
			out = append(out, t)
		}
	}
	return out
}

// idleRestart: after this long without updates the queue starts again
// from a random id, as Telegram's does after about a week.
const idleRestart = 7 * 24 * time.Hour

// enqueueLocked adds an update of the given type (unless allowed_updates
// excludes it: the real server does not even queue those) and hands it to
// the webhook or a waiting getUpdates.
func (s *Server) enqueueLocked(b *bot, typ string, u Update, key chatKey) int64 {
	if !b.allowedLocked(typ) {
		return 0
	}
	now := s.now()
	s.expireLocked(b, now)
	q := &b.q
	if q.tail == 0 || (q.live == 0 && now.Sub(q.lastAdd) > idleRestart) {
		// TQueue starts a queue at a random id in [2·10⁶+1, 10⁹).
		q.tail = 2000001 + s.rng.Int64N(1000000000-2000001)
	}
	u.UpdateID = q.tail
	q.tail++
	raw, err := json.Marshal(u)
	if err != nil {
		s.logf("telegram emulator: encoding update: %v", err)
		return 0
	}
	if key == (chatKey{}) {
		key = chatKey{solo: u.UpdateID}
	}
	qu := &queuedUpdate{id: u.UpdateID, typ: typ, raw: raw, at: now, key: key}
	q.items = append(q.items, qu)
	q.live++
	q.lastAdd = now
	switch {
	case b.wh != nil && b.wh.foreign:
		// The other program's webhook receives it.
		s.forgetLocked(b, qu)
		b.foreignReceived++
	case b.wh != nil:
		b.wh.add(qu)
	case b.poll != nil && b.poll.foreign:
		s.forgetLocked(b, qu)
		b.foreignReceived++
	case b.poll != nil:
		b.poll.wakeUp()
	}
	s.bumpLocked()
	return u.UpdateID
}

func (s *Server) forgetLocked(b *bot, qu *queuedUpdate) {
	if !qu.done {
		qu.done = true
		b.q.live--
	}
}

func (s *Server) expiredLocked(qu *queuedUpdate, now time.Time) bool {
	return qu.at.Add(s.opts.UpdateLifetime).Before(now)
}

// expireLocked drops updates older than the lifetime and trims done ones
// off the front.
func (s *Server) expireLocked(b *bot, now time.Time) {
	q := &b.q
	i := 0
	for ; i < len(q.items); i++ {
		it := q.items[i]
		if !it.done && !s.expiredLocked(it, now) {
			break
		}
		s.forgetLocked(b, it)
	}
	if i > 0 {
		clear(q.items[:i])
		q.items = q.items[i:]
	}
}

// maxUpdatesBytes caps one getUpdates answer, as the real server (4 MB).
const maxUpdatesBytes = 4 << 20

// takeLocked answers getUpdates' question after the official server:
// offset ≤ 0 starts at the oldest pending update, a negative one counts
// from the end; every update below the offset is forgotten (confirmed); an
// offset more than 10 past the last id is ignored (the whole queue is
// returned and nothing forgotten).
func (s *Server) takeLocked(b *bot, offset int64, limit int) [][]byte {
	s.expireLocked(b, s.now())
	q := &b.q
	if q.tail == 0 {
		return nil
	}
	head := q.tail
	if len(q.items) > 0 {
		head = q.items[0].id
	}
	if offset <= 0 {
		if offset < 0 {
			offset += q.tail
		}
		offset = max(offset, head)
	}
	forget := true
	if offset > q.tail+10 {
		offset, forget = head, false
	}
	var out [][]byte
	left := maxUpdatesBytes
	for _, it := range q.items {
		if it.done {
			continue
		}
		if it.id < offset {
			if forget {
				s.forgetLocked(b, it)
			}
			continue
		}
		left -= 50 + len(it.raw)
		if len(out) == limit || left <= 0 {
			break
		}
		out = append(out, it.raw)
	}
	s.expireLocked(b, s.now())
	return out
}

// longPoll is a getUpdates call waiting for updates — or the foreign
// poller, another program polling with the same token.
type longPoll struct {
	foreign bool
	wake    chan struct{}
	woken   bool
	aborted chan string
}

func newLongPoll(foreign bool) *longPoll {
	return &longPoll{foreign: foreign, wake: make(chan struct{}), aborted: make(chan string, 1)}
}

func (lp *longPoll) wakeUp() {
	if !lp.woken {
		lp.woken = true
		close(lp.wake)
	}
}

// abortLocked ends the bot's waiting poll with a 409; the caller then
// replaces b.poll.
func (b *bot) abortPollLocked(msg string) {
	if b.poll == nil {
		return
	}
	if !b.poll.foreign {
		select {
		case b.poll.aborted <- msg:
		default:
		}
	}
	b.poll = nil
}

// longPollMaxTimeout is the real server's ceiling on timeout (seconds).
const longPollMaxTimeout = 50

func (s *Server) getUpdates(w http.ResponseWriter, r *http.Request, b *bot, p *params) {
	offset := p.int("offset", 0, math.MinInt32, math.MaxInt32)
	limit := int(p.int("limit", 100, 1, 100))
	timeout := p.int("timeout", 0, 0, longPollMaxTimeout)

	s.mu.Lock()
	if b.wh != nil {
		s.mu.Unlock()
		writeError(w, conflict(conflictWebhookActive))
		return
	}
	b.updateAllowedLocked(p)
	ups := s.takeLocked(b, offset, limit)
	if len(ups) > 0 || timeout == 0 {
		s.mu.Unlock()
		writeUpdates(w, ups)
		return
	}
	// Only a call that is going to wait ends the one waiting before it,
	// as in the real server.
	b.abortPollLocked(conflictOtherPoller)
	lp := newLongPoll(false)
	b.poll = lp
	s.bumpLocked()
	s.mu.Unlock()

	t := time.NewTimer(time.Duration(timeout) * time.Second)
	defer t.Stop()
	var msg string
	select {
	case <-lp.wake:
	case msg = <-lp.aborted:
	case <-t.C:
	case <-r.Context().Done():
	case <-s.closing:
	}
	s.mu.Lock()
	if msg == "" {
		select {
		case msg = <-lp.aborted:
		default:
		}
	}
	if b.poll == lp {
		b.poll = nil
		s.bumpLocked()
	}
	if msg != "" {
		s.mu.Unlock()
		writeError(w, conflict(msg))
		return
	}
	ups = s.takeLocked(b, offset, limit)
	s.mu.Unlock()
	writeUpdates(w, ups)
}

func writeUpdates(w http.ResponseWriter, ups [][]byte) {
	var buf bytes.Buffer
	buf.WriteString(`{"ok":true,"result":[`)
	for i, u := range ups {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(u)
	}
	buf.WriteString("]}\n")
	w.Header().Set("Content-Type", "application/json")
	w.Write(buf.Bytes())
}

// Pending returns the bot's pending updates (not yet confirmed, delivered,
// dropped or expired), oldest first.
func (s *Server) Pending(token string) []Update {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.bots[token]
	if b == nil {
		return nil
	}
	s.expireLocked(b, s.now())
	var out []Update
	for _, it := range b.q.items {
		if it.done {
			continue
		}
		var u Update
		if json.Unmarshal(it.raw, &u) == nil {
			out = append(out, u)
		}
	}
	return out
}
