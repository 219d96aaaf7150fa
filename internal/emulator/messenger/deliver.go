package messenger

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// --- webhook payload shapes -------------------------------------------------------

type idRef struct {
	ID string `json:"id"`
}

type midRef struct {
	Mid string `json:"mid"`
}

type payloadRef struct {
	Payload string `json:"payload"`
}

// mItem is one element of entry[].messaging[] or entry[].standby[].
type mItem struct {
	Sender    *idRef              `json:"sender,omitempty"`
	Recipient idRef               `json:"recipient"`
	Timestamp int64               `json:"timestamp"`
	Message   *mMessage           `json:"message,omitempty"`
	Postback  *mPostback          `json:"postback,omitempty"`
	Delivery  *mDelivery          `json:"delivery,omitempty"`
	Read      *mRead              `json:"read,omitempty"`
	Pass      *mHandover          `json:"pass_thread_control,omitempty"`
	Take      *mHandover          `json:"take_thread_control,omitempty"`
	Request   *mRequest           `json:"request_thread_control,omitempty"`
	AppRoles  map[string][]string `json:"app_roles,omitempty"`
}

type mMessage struct {
	IsEcho      bool              `json:"is_echo,omitempty"`
	AppID       json.Number       `json:"app_id,omitempty"`
	Metadata    string            `json:"metadata,omitempty"`
	Mid         string            `json:"mid"`
	Text        string            `json:"text,omitempty"`
	Attachments []json.RawMessage `json:"attachments,omitempty"`
	QuickReply  *payloadRef       `json:"quick_reply,omitempty"`
	ReplyTo     *midRef           `json:"reply_to,omitempty"`
}

type mPostback struct {
	Title   string `json:"title"`
	Payload string `json:"payload,omitempty"`
	Mid     string `json:"mid"`
}

type mDelivery struct {
	Mids      []string `json:"mids"`
	Watermark int64    `json:"watermark"`
}

type mRead struct {
	Watermark int64 `json:"watermark"`
}

type mHandover struct {
	PreviousOwner *string `json:"previous_owner_app_id"`
	NewOwner      string  `json:"new_owner_app_id"`
	Metadata      string  `json:"metadata,omitempty"`
}

type mRequest struct {
	RequestedOwner string `json:"requested_owner_app_id"`
	Metadata       string `json:"metadata,omitempty"`
}

type entry struct {
	ID        string   `json:"id"`
	Time      int64    `json:"time"`
	Messaging []*mItem `json:"messaging,omitempty"`
	Standby   []*mItem `json:"standby,omitempty"`
}

type payload struct {
	Object string  `json:"object"`
	Entry  []entry `json:"entry"`
}

// evKind is the kind of a webhook event; it decides the field an app must
// subscribe to.
type evKind int

const (
	evMessage evKind = iota + 1
	evEcho
	evPostback
	evDelivery
	evRead
	evHandover
)

func (k evKind) field() string {
	switch k {
	case evMessage:
		return "messages"
	case evEcho:
		return "message_echoes"
	case evPostback:
		return "messaging_postbacks"
	case evDelivery:
		return "message_deliveries"
	case evRead:
		return "message_reads"
	case evHandover:
		return "messaging_handovers"
	}
	return ""
}

// event is one queued delivery to one app.
type event struct {
	pageID  string
	standby bool
	item    *mItem
}

// fanoutLocked queues a thread event for the page's subscribed apps: the
// thread owner, or every app while the thread is idle, gets it under
// messaging[] if it subscribed to the event's field; the other apps get
// it under standby[] if they subscribed to standby. An app gets an event
// only for fields it subscribed to both on the page (subscribed_apps) and
// in its app subscription, as Meta does.
func (s *Server) fanoutLocked(p *page, c *customer, kind evKind, item *mItem) {
	owner := c.owner
	for _, appID := range p.subOrder {
		a := s.apps[appID]
		if a == nil || a.sub == nil {
			continue
		}
		if owner == "" || owner == appID {
			if f := kind.field(); p.subscribed(appID, f) && a.sub.has(f) {
				s.deliv.enqueueLocked(appID, p.id+"|"+c.psid, event{pageID: p.id, item: item})
			}
			continue
		}
		if p.subscribed(appID, "standby") && a.sub.has("standby") {
			it := item
			if item.Postback != nil && item.Postback.Payload != "" {
				// Postbacks on the standby channel carry no payload.
				cp := *item
				pb := *item.Postback
				pb.Payload = ""
				cp.Postback = &pb
				it = &cp
			}
			s.deliv.enqueueLocked(appID, p.id+"|"+c.psid, event{pageID: p.id, standby: true, item: it})
		}
	}
}

// notifyAppLocked queues a messaging_handovers event for one app.
func (s *Server) notifyAppLocked(p *page, psid, appID string, item *mItem) {
	a := s.apps[appID]
	if a == nil || a.sub == nil || !p.subscribed(appID, "messaging_handovers") || !a.sub.has("messaging_handovers") {
		return
	}
	s.deliv.enqueueLocked(appID, p.id+"|"+psid, event{pageID: p.id, item: item})
}

// --- delivery machinery -------------------------------------------------------------

// DeliveryRecord is one webhook POST attempt.
type DeliveryRecord struct {
	AppID   string    `json:"app_id"`
	URL     string    `json:"url"`
	Attempt int       `json:"attempt"` // 1 for the first try
	Events  int       `json:"events"`  // messaging/standby items in the body
	Status  int       `json:"status"`  // HTTP status; 0 on a transport error
	Err     string    `json:"error,omitempty"`
	Body    []byte    `json:"-"` // the exact bytes sent (and signed)
	At      time.Time `json:"at"`
	// Duplicate marks the second POST of a duplicated delivery.
	Duplicate bool `json:"duplicate,omitempty"`
}

// DeliverySettings steer how events reach the callbacks.
type DeliverySettings struct {
	// Batch > 1 lets one POST carry up to Batch events waiting in one of
	// an app's lanes (entry[] per page, messaging[]/standby[] per entry),
	// as Meta batches under load; a thread's events share a lane. Default 1.
	Batch int `json:"batch"`
	// Duplicate POSTs every body twice.
	Duplicate bool `json:"duplicate"`
	// OutOfOrder delivers the events waiting in a lane newest first.
	OutOfOrder bool `json:"out_of_order"`
	// Paused holds deliveries in their queues until unpaused (tests pause,
	// act, unpause to make batches and reorderings deterministic).
	Paused bool `json:"paused"`
}

const maxDeliveryLog = 20000

type lane struct {
	mu   sync.Mutex
	q    []event
	wake chan struct{}
}

type deliveries struct {
	s *Server

	mu       sync.Mutex
	tr       *http.Transport
	cl       *http.Client
	lanes    map[string][]*lane // app id → lanes
	set      DeliverySettings
	resume   chan struct{} // closed when unpaused
	log      []DeliveryRecord
	dropped  int // records pushed out of the log
	pending  int // events queued or in flight
	idle     chan struct{}
	posted   int // successful POSTs
	failed   int // POSTs given up
	attempts int
}

func newDeliveries(s *Server) *deliveries {
	d := &deliveries{s: s, lanes: map[string][]*lane{}, set: DeliverySettings{Batch: 1},
		resume: make(chan struct{}), idle: make(chan struct{})}
	close(d.resume)
	close(d.idle)
	d.tr = newTransport(nil)
	d.cl = &http.Client{Transport: d.tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return d
}

func (d *deliveries) client() *http.Client {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cl
}

func (d *deliveries) trust(cert *x509.Certificate) {
	d.mu.Lock()
	defer d.mu.Unlock()
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if old := d.tr.TLSClientConfig.RootCAs; old != nil {
		roots = old.Clone()
	}
	roots.AddCert(cert)
	d.tr.CloseIdleConnections()
	d.tr = newTransport(roots)
	d.cl = &http.Client{Transport: d.tr, CheckRedirect: d.cl.CheckRedirect}
}

func (d *deliveries) closeIdle() {
	d.mu.Lock()
	tr := d.tr
	d.mu.Unlock()
	tr.CloseIdleConnections()
}

// enqueueLocked adds an event to its lane (callers hold s.mu, so events
// are queued in the order the state changed).
func (d *deliveries) enqueueLocked(appID, thread string, ev event) {
	if d.s.closed {
		return // Close is waiting for the lanes: start none
	}
	d.mu.Lock()
	ls := d.lanes[appID]
	if ls == nil {
		ls = make([]*lane, d.s.opts.DeliveryLanes)
		for i := range ls {
			ls[i] = &lane{wake: make(chan struct{}, 1)}
			d.s.wg.Add(1)
			go d.run(appID, ls[i])
		}
		d.lanes[appID] = ls
	}
	if d.pending == 0 {
		d.idle = make(chan struct{})
	}
	d.pending++
	d.mu.Unlock()
	h := fnv.New32a()
	h.Write([]byte(thread))
	l := ls[h.Sum32()%uint32(len(ls))]
	l.mu.Lock()
	l.q = append(l.q, ev)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (d *deliveries) done(n int) {
	d.mu.Lock()
	d.pending -= n
	if d.pending == 0 {
		close(d.idle)
	}
	d.mu.Unlock()
}

func (d *deliveries) settings() (DeliverySettings, chan struct{}) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.set, d.resume
}

func (d *deliveries) run(appID string, l *lane) {
	defer d.s.wg.Done()
	for {
		select {
		case <-l.wake:
		case <-d.s.closing:
			return
		}
		for {
			set, resume := d.settings()
			if set.Paused {
				select {
				case <-resume:
					continue
				case <-d.s.closing:
					return
				}
			}
			l.mu.Lock()
			n := len(l.q)
			if n == 0 {
				l.mu.Unlock()
				break
			}
			take := 1
			if set.OutOfOrder {
				take = n
			} else if set.Batch > 1 {
				take = min(set.Batch, n)
			}
			evs := slices.Clone(l.q[:take])
			l.q = slices.Delete(l.q, 0, take)
			l.mu.Unlock()
			if set.OutOfOrder {
				slices.Reverse(evs)
			}
			size := max(set.Batch, 1)
			for i := 0; i < len(evs); i += size {
				chunk := evs[i:min(i+size, len(evs))]
				body := encodePayload(chunk)
				d.post(appID, body, len(chunk), false)
				if set.Duplicate {
					d.post(appID, body, len(chunk), true)
				}
				d.done(len(chunk))
			}
		}
	}
}

// encodePayload builds {"object":"page","entry":[…]}: consecutive events of
// one page and channel share an entry.
func encodePayload(evs []event) []byte {
	p := payload{Object: "page"}
	for _, ev := range evs {
		n := len(p.Entry)
		if n == 0 || p.Entry[n-1].ID != ev.pageID || (len(p.Entry[n-1].Standby) > 0) != ev.standby {
			p.Entry = append(p.Entry, entry{ID: ev.pageID})
			n++
		}
		e := &p.Entry[n-1]
		e.Time = max(e.Time, ev.item.Timestamp)
		if ev.standby {
			e.Standby = append(e.Standby, ev.item)
		} else {
			e.Messaging = append(e.Messaging, ev.item)
		}
	}
	return metaJSON(p)
}

// metaJSON encodes v as Meta does: non-ASCII characters escaped as
// \uXXXX (lowercase hex, UTF-16 surrogate pairs beyond the BMP) and "/"
// as "\/". The signature is computed over exactly these bytes.
func metaJSON(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err) // the payload types always encode
	}
	b := bytes.TrimRight(buf.Bytes(), "\n")
	out := make([]byte, 0, len(b)+len(b)/8)
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c == '/' {
				out = append(out, '\\', '/')
			} else {
				out = append(out, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			out = fmt.Appendf(out, `\u%04x\u%04x`, r1, r2)
		} else {
			out = fmt.Appendf(out, `\u%04x`, r)
		}
		i += size
	}
	return out
}

// Sign returns the X-Hub-Signature-256 value of a body: "sha256=" and the
// lowercase hex HMAC-SHA256 of the raw bytes with the app secret.
func Sign(appSecret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func signSHA1(appSecret string, body []byte) string {
	mac := hmac.New(sha1.New, []byte(appSecret))
	mac.Write(body)
	return "sha1=" + hex.EncodeToString(mac.Sum(nil))
}

// post delivers one body to the app's callback, retrying a non-2xx answer
// or a transport error with doubling backoff.
func (d *deliveries) post(appID string, body []byte, events int, duplicate bool) {
	backoff := d.s.opts.RetryBackoff
	for attempt := 1; ; attempt++ {
		d.s.mu.Lock()
		a := d.s.apps[appID]
		var callback, secret string
		if a != nil && a.sub != nil {
			callback, secret = a.sub.callbackURL, a.secret
		}
		now := d.s.nowLocked()
		d.s.mu.Unlock()
		if callback == "" {
			d.record(DeliveryRecord{AppID: appID, Attempt: attempt, Events: events, Err: "no webhook subscription", Body: body, At: now, Duplicate: duplicate}, false, true)
			return
		}
		status, err := d.once(callback, secret, body)
		rec := DeliveryRecord{AppID: appID, URL: callback, Attempt: attempt, Events: events, Status: status, Body: body, At: now, Duplicate: duplicate}
		if err != nil {
			rec.Err = err.Error()
		}
		okStatus := err == nil && status/100 == 2
		giveUp := !okStatus && attempt > d.s.opts.DeliveryRetries
		d.record(rec, okStatus, giveUp)
		if okStatus {
			return
		}
		if giveUp {
			d.s.logf("webhook delivery to app %s (%s) given up after %d attempts: status %d %v", appID, callback, attempt, status, err)
			return
		}
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-d.s.closing:
			t.Stop()
			return
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

func (d *deliveries) once(callback, secret string, body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(d.s.ctx, d.s.opts.DeliveryTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, callback, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("X-Hub-Signature-256", Sign(secret, body))
	req.Header.Set("X-Hub-Signature", signSHA1(secret, body))
	resp, err := d.client().Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

func (d *deliveries) record(r DeliveryRecord, ok, gaveUp bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.attempts++
	if ok {
		d.posted++
	}
	if gaveUp {
		d.failed++
	}
	if len(d.log) >= maxDeliveryLog {
		n := maxDeliveryLog / 4
		d.log = slices.Delete(d.log, 0, n)
		d.dropped += n
	}
	d.log = append(d.log, r)
}

// SetDeliverySettings changes batching, duplication, ordering and pausing
// of webhook deliveries.
func (s *Server) SetDeliverySettings(set DeliverySettings) {
	d := s.deliv
	d.mu.Lock()
	defer d.mu.Unlock()
	if set.Batch < 1 {
		set.Batch = 1
	}
	wasPaused := d.set.Paused
	d.set = set
	if set.Paused && !wasPaused {
		d.resume = make(chan struct{})
	}
	if !set.Paused && wasPaused {
		close(d.resume)
	}
}

// DeliverySettings returns the delivery settings in force.
func (s *Server) DeliverySettings() DeliverySettings {
	set, _ := s.deliv.settings()
	return set
}

// Deliveries returns the webhook POST attempts so far, oldest first (the
// oldest are dropped beyond 20,000).
func (s *Server) Deliveries() []DeliveryRecord {
	d := s.deliv
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.log)
}

// DeliveryStats counts webhook POSTs: answered 2xx, given up, attempts,
// and events still queued or in flight.
type DeliveryStats struct {
	Delivered int `json:"delivered"`
	Failed    int `json:"failed"`
	Attempts  int `json:"attempts"`
	Pending   int `json:"pending"`
}

// DeliveryStats returns the delivery counters.
func (s *Server) DeliveryStats() DeliveryStats {
	d := s.deliv
	d.mu.Lock()
	defer d.mu.Unlock()
	return DeliveryStats{Delivered: d.posted, Failed: d.failed, Attempts: d.attempts, Pending: d.pending}
}

// WaitDeliveries waits until no event is queued or in flight (delivered or
// given up), or ctx ends. Paused deliveries never finish.
func (s *Server) WaitDeliveries(ctx context.Context) error {
	d := s.deliv
	d.mu.Lock()
	idle := d.idle
	d.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
