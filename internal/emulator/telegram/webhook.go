package telegram

import (
	"bytes"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// webhook is a bot's registered webhook and its delivery state, after the
// official server's WebhookActor: updates of one chat are delivered one
// at a time and in order (a failing one holds its chat's later updates
// back), different chats in parallel, at most maxConn requests in flight;
// ready chats go in update order.
type webhook struct {
	url      string
	secret   string
	maxConn  int
	ip       string // the address delivered to, as getWebhookInfo shows it
	givenIP  string // setWebhook's ip_address
	hasCert  bool
	foreign  bool // set by another program: the emulator delivers nothing
	errDate  int64
	errMsg   string
	queues   map[chatKey]*chatQueue
	ready    readyHeap
	inFlight int
	kick     chan struct{}
	ctx      context.Context
	cancel   context.CancelFunc
	stopped  bool
}

// chatQueue is one chat's undelivered updates.
type chatQueue struct {
	key    chatKey
	items  []*queuedUpdate
	wakeAt time.Time // real time; zero: ready now
	busy   bool      // its head is in flight
	idx    int       // index in the ready heap, -1 when out
}

type readyHeap []*chatQueue

func (h readyHeap) Len() int { return len(h) }
func (h readyHeap) Less(i, j int) bool {
	if !h[i].wakeAt.Equal(h[j].wakeAt) {
		return h[i].wakeAt.Before(h[j].wakeAt)
	}
	return h[i].items[0].id < h[j].items[0].id
}
func (h readyHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}
func (h *readyHeap) Push(x any) {
	cq := x.(*chatQueue)
	cq.idx = len(*h)
	*h = append(*h, cq)
}
func (h *readyHeap) Pop() any {
	old := *h
	cq := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	cq.idx = -1
	return cq
}

func newWebhook(url, secret string, maxConn int, ip string) *webhook {
	wh := &webhook{url: url, secret: secret, maxConn: maxConn, ip: ip,
		queues: map[chatKey]*chatQueue{}, kick: make(chan struct{}, 1)}
	wh.ctx, wh.cancel = context.WithCancel(context.Background())
	return wh
}

// add queues an update for delivery (under s.mu).
func (wh *webhook) add(qu *queuedUpdate) {
	if wh.foreign || wh.stopped {
		return
	}
	cq := wh.queues[qu.key]
	if cq == nil {
		cq = &chatQueue{key: qu.key, idx: -1}
		wh.queues[qu.key] = cq
	}
	cq.items = append(cq.items, qu)
	if len(cq.items) == 1 && !cq.busy {
		cq.wakeAt = time.Time{}
		heap.Push(&wh.ready, cq)
		wh.poke()
	}
}

func (wh *webhook) poke() {
	select {
	case wh.kick <- struct{}{}:
	default:
	}
}

// halt stops deliveries (under s.mu); requests in flight are cancelled.
func (wh *webhook) halt() {
	if !wh.stopped {
		wh.stopped = true
		wh.cancel()
		wh.poke()
	}
}

// startWebhookLocked installs wh, loads the pending updates into it and
// starts its worker.
func (s *Server) startWebhookLocked(b *bot, wh *webhook) {
	b.wh = wh
	if wh.foreign {
		for _, it := range b.q.items {
			if !it.done {
				s.forgetLocked(b, it)
				b.foreignReceived++
			}
		}
		return
	}
	for _, it := range b.q.items {
		if !it.done {
			wh.add(it)
		}
	}
	s.wg.Add(1)
	go s.runWebhook(b, wh)
}

// runWebhook dispatches ready chats' next updates while connections are
// free; it sleeps until a new update, a finished delivery or the next
// retry is due.
func (s *Server) runWebhook(b *bot, wh *webhook) {
	defer s.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		s.mu.Lock()
		if wh.stopped {
			s.mu.Unlock()
			return
		}
		wait := time.Duration(-1)
		now := time.Now()
		for wh.inFlight < wh.maxConn && wh.ready.Len() > 0 {
			cq := wh.ready[0]
			if d := cq.wakeAt.Sub(now); d > 0 {
				wait = d
				break
			}
			heap.Pop(&wh.ready)
			qu := s.headLocked(b, wh, cq)
			if qu == nil {
				continue
			}
			cq.busy = true
			qu.attempts++
			wh.inFlight++
			s.wg.Add(1)
			go s.deliver(b, wh, cq, qu, qu.attempts)
		}
		s.mu.Unlock()
		if wait >= 0 {
			timer.Reset(wait)
		}
		select {
		case <-wh.kick:
		case <-timer.C:
		case <-s.closing:
			timer.Stop()
			return
		}
		timer.Stop()
	}
}

// headLocked is the chat's next update to deliver, skipping those already
// done (confirmed by drop_pending_updates, expired); nil when the chat has
// nothing left.
func (s *Server) headLocked(b *bot, wh *webhook, cq *chatQueue) *queuedUpdate {
	now := s.now()
	for len(cq.items) > 0 {
		it := cq.items[0]
		if !it.done && !s.expiredLocked(it, now) {
			return it
		}
		s.forgetLocked(b, it)
		cq.items[0] = nil
		cq.items = cq.items[1:]
	}
	delete(wh.queues, cq.key)
	return nil
}

// WebhookAttempt is one webhook delivery attempt.
type WebhookAttempt struct {
	UpdateID int64     `json:"update_id"`
	Attempt  int       `json:"attempt"` // 1 for the first try
	Status   int       `json:"status"`  // HTTP status; 0 on a transport error
	Error    string    `json:"error,omitempty"`
	Dropped  bool      `json:"dropped,omitempty"` // the last try failed too: the update is gone
	Posted   time.Time `json:"posted"`            // when the request went out
	At       time.Time `json:"at"`                // when the answer (or the error) came
	// ReplyMethod is the method the receiver's 2xx answer called, and
	// ReplyError its error, if any.
	ReplyMethod string `json:"reply_method,omitempty"`
	ReplyError  string `json:"reply_error,omitempty"`
}

const maxWebhookLog = 10000

// WebhookLog returns the bot's webhook delivery attempts, oldest first
// (the last 10,000).
func (s *Server) WebhookLog(token string) []WebhookAttempt {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.bots[token]; b != nil {
		return append([]WebhookAttempt(nil), b.whLog[max(0, len(b.whLog)-maxWebhookLog):]...)
	}
	return nil
}

func (s *Server) deliver(b *bot, wh *webhook, cq *chatQueue, qu *queuedUpdate, attempt int) {
	defer s.wg.Done()
	posted := s.now()
	status, body, ctype, retryAfter, errMsg := s.post(wh, qu.raw)
	ok := errMsg == ""

	s.mu.Lock()
	wh.inFlight--
	cq.busy = false
	rec := WebhookAttempt{UpdateID: qu.id, Attempt: attempt, Status: status, Error: errMsg, Posted: posted, At: s.now()}
	cancelled := wh.stopped && !ok
	switch {
	case cancelled:
		// Deleted or replaced meanwhile: the update stays pending for
		// whatever comes next.
	case ok:
		s.forgetLocked(b, qu)
		s.advanceLocked(b, wh, cq)
	default:
		wh.errDate, wh.errMsg = s.now().Unix(), errMsg
		if attempt > s.opts.WebhookRetries || qu.done {
			rec.Dropped = !qu.done
			s.forgetLocked(b, qu)
			s.logf("telegram emulator: webhook dropped update %d after %d attempts: %s", qu.id, attempt, errMsg)
			s.advanceLocked(b, wh, cq)
		} else {
			d := s.opts.WebhookRetryBackoff << (attempt - 1)
			if d > s.opts.WebhookMaxBackoff || d <= 0 {
				d = s.opts.WebhookMaxBackoff
			}
			if retryAfter > 0 {
				d = time.Duration(min(retryAfter, 3600)) * time.Second
			}
			cq.wakeAt = time.Now().Add(d)
			heap.Push(&wh.ready, cq)
		}
	}
	var reply *params
	var replyMethod string
	if ok && !wh.stopped {
		reply, replyMethod = webhookReply(body, ctype)
		rec.ReplyMethod = replyMethod
	}
	if !cancelled {
		b.whLog = append(b.whLog, rec)
		if len(b.whLog) >= 2*maxWebhookLog { // trimmed in halves: amortised O(1)
			b.whLog = append(b.whLog[:0:0], b.whLog[len(b.whLog)-maxWebhookLog:]...)
		}
	}
	idx := len(b.whLog) - 1
	wh.poke()
	s.bumpLocked()
	s.mu.Unlock()

	if reply != nil {
		if aerr := s.callFromWebhook(b, replyMethod, reply); aerr != nil {
			s.mu.Lock()
			if idx >= 0 && idx < len(b.whLog) && b.whLog[idx].UpdateID == qu.id {
				b.whLog[idx].ReplyError = aerr.desc
			}
			s.bumpLocked()
			s.mu.Unlock()
		}
	}
}

// advanceLocked moves a chat on to its next update after its head was
// delivered or dropped.
func (s *Server) advanceLocked(b *bot, wh *webhook, cq *chatQueue) {
	if len(cq.items) > 0 {
		cq.items[0] = nil
		cq.items = cq.items[1:]
	}
	if len(cq.items) == 0 {
		if wh.queues[cq.key] == cq {
			delete(wh.queues, cq.key)
		}
		return
	}
	if !wh.stopped {
		cq.wakeAt = time.Time{}
		heap.Push(&wh.ready, cq)
	}
}

// post makes one delivery: the update as the JSON body, the secret token
// header when one was set. It reports the status, the body of a 2xx
// answer, and otherwise the error as getWebhookInfo's last_error_message
// words it.
func (s *Server) post(wh *webhook, body []byte) (status int, respBody []byte, ctype string, retryAfter int, errMsg string) {
	ctx, cancel := context.WithTimeout(wh.ctx, s.opts.WebhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, wh.url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, "", 0, err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept-Encoding", "gzip, deflate")
	if wh.secret != "" {
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", wh.secret)
	}
	resp, err := s.whClient.Do(req)
	if err != nil {
		return 0, nil, "", 0, transportError(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, nil, "", 0, "Webhook connection closed"
	}
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		ra, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return resp.StatusCode, nil, "", ra, "Wrong response from the webhook: " + resp.Status
	}
	return resp.StatusCode, data, resp.Header.Get("Content-Type"), 0, ""
}

// transportError words a failed connection as Telegram's
// last_error_message does.
func transportError(err error) string {
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "Connection refused"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return "Read timeout expired"
	case errors.As(err, &dnsErr):
		return "Failed to resolve host: Name or service not known"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
		return "Webhook connection closed"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "Read timeout expired"
	}
	return err.Error()
}

// webhookReply reads a Bot API call from a webhook's 2xx answer, as the
// real server: a JSON object or form with "method"; the getters,
// setWebhook, deleteWebhook, close and logOut are not run from there.
func webhookReply(body []byte, ctype string) (*params, string) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, ""
	}
	mt, _, _ := mime.ParseMediaType(ctype)
	var p *params
	switch {
	case mt == "application/json" || body[0] == '{':
		var err error
		if p, err = paramsFromJSON(body); err != nil {
			return nil, ""
		}
	case mt == "application/x-www-form-urlencoded":
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, ""
		}
		p = &params{v: map[string]string{}, files: map[string]*upload{}}
		for k, vs := range vals {
			p.v[k] = vs[len(vs)-1]
		}
	default:
		return nil, ""
	}
	name := strings.ToLower(p.str("method"))
	if name == "" || name == "deletewebhook" || name == "setwebhook" || name == "close" || name == "logout" || strings.HasPrefix(name, "get") {
		return nil, ""
	}
	m, ok := methods[name]
	if !ok {
		return nil, p.str("method")
	}
	return p, m.name
}

// callFromWebhook runs a method a webhook answer asked for; the result
// goes nowhere, as with Telegram.
func (s *Server) callFromWebhook(b *bot, name string, p *params) *apiError {
	m, ok := methods[strings.ToLower(name)]
	if !ok || m.h == nil {
		return errNotFound
	}
	s.mu.Lock()
	s.calls["webhook:"+m.name]++
	s.mu.Unlock()
	_, aerr := m.h(s, context.Background(), b, p)
	return aerr
}

// --- setWebhook, deleteWebhook, getWebhookInfo -------------------------------

// webhookPorts are the ports Telegram delivers to.
var webhookPorts = map[string]bool{"443": true, "80": true, "88": true, "8443": true}

func badWebhook(why string) *apiError { return badRequest("bad webhook: " + why) }

// checkWebhookURL refuses what Telegram refuses (unless insecure webhooks
// are allowed) and returns the address it would deliver to.
func checkWebhookURL(ctx context.Context, raw, ipAddress string, insecure bool) (string, *apiError) {
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw // the real server's default scheme
	}
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", badRequest("invalid webhook URL specified")
	}
	host := u.Hostname()
	if insecure {
		if ip := net.ParseIP(host); ip != nil {
			return ip.String(), nil
		}
		return "", nil
	}
	if u.Scheme != "https" {
		return "", badWebhook("An HTTPS URL must be provided for webhook")
	}
	port := u.Port()
	if port == "" {
		port = "443"
	}
	if !webhookPorts[port] {
		return "", badWebhook("Webhook can be set up only on ports 80, 88, 443 or 8443")
	}
	var ip net.IP
	switch {
	case ipAddress != "":
		if ip = net.ParseIP(ipAddress); ip == nil {
			return "", badRequest("invalid IP address specified")
		}
	case net.ParseIP(host) != nil:
		ip = net.ParseIP(host)
	default:
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		addrs, err := net.DefaultResolver.LookupIPAddr(rctx, host)
		cancel()
		if err != nil || len(addrs) == 0 {
			return "", badWebhook("Failed to resolve host: Name or service not known")
		}
		ip = addrs[0].IP
		for _, a := range addrs {
			if a.IP.To4() != nil {
				ip = a.IP
				break
			}
		}
	}
	if ip.To4() == nil {
		return "", badWebhook("IPv6-only addresses are not allowed")
	}
	if reservedIP(ip) {
		return "", badWebhook(fmt.Sprintf("IP address %s is reserved", ip))
	}
	return ip.String(), nil
}

var reservedNets = func() []*net.IPNet {
	var out []*net.IPNet
	for _, c := range []string{"0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "192.0.2.0/24", "198.18.0.0/15",
		"198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4"} {
		_, n, _ := net.ParseCIDR(c)
		out = append(out, n)
	}
	return out
}()

func reservedIP(ip net.IP) bool {
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsUnspecified() || ip.IsLinkLocalUnicast() || ip.IsMulticast() {
		return true
	}
	for _, n := range reservedNets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// secretOK: 1–256 characters of A-Z a-z 0-9 _ - (empty means no secret).
func checkSecret(secret string) *apiError {
	if len(secret) > 256 {
		return badRequest("secret token is too long")
	}
	for i := 0; i < len(secret); i++ {
		c := secret[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return badRequest("secret token contains unallowed characters")
		}
	}
	return nil
}

func (s *Server) setWebhook(ctx context.Context, b *bot, p *params) (result, *apiError) {
	return s.changeWebhook(ctx, b, p, p.str("url"))
}

func (s *Server) deleteWebhook(ctx context.Context, b *bot, p *params) (result, *apiError) {
	return s.changeWebhook(ctx, b, p, "")
}

func (s *Server) changeWebhook(ctx context.Context, b *bot, p *params, newURL string) (result, *apiError) {
	if newURL != "" {
		s.mu.Lock()
		now := s.now()
		if s.limits.SetWebhook && now.Before(b.nextSetWebhook) {
			s.mu.Unlock()
			return result{}, tooManyRequests(1)
		}
		b.nextSetWebhook = now.Add(time.Second)
		s.mu.Unlock()
	}
	var secret, ipAddress string
	maxConn := 0
	_, hasCert := p.files["certificate"]
	if newURL != "" {
		secret = p.str("secret_token")
		if aerr := checkSecret(secret); aerr != nil {
			return result{}, aerr
		}
		maxConn = int(p.int("max_connections", 40, 1, 100))
		ipAddress = p.str("ip_address")
	}
	drop := p.bool("drop_pending_updates")

	s.mu.Lock()
	defer s.mu.Unlock()
	cur := b.wh
	if cur != nil && !cur.foreign && cur.url == newURL && cur.secret == secret && cur.maxConn == maxConn &&
		!hasCert && !cur.hasCert && cur.givenIP == ipAddress && !drop {
		b.updateAllowedLocked(p)
		return result{v: true, description: "Webhook is already set"}, nil
	}
	if newURL == "" && cur == nil && !drop {
		return result{v: true, description: "Webhook is already deleted"}, nil
	}
	var ip string
	if newURL != "" {
		// The address checks may resolve a name: not under the lock.
		s.mu.Unlock()
		var aerr *apiError
		ip, aerr = checkWebhookURL(ctx, newURL, ipAddress, s.opts.AllowInsecureWebhooks)
		s.mu.Lock()
		if aerr != nil {
			return result{}, aerr
		}
		b.abortPollLocked(conflictSetWebhook)
	}
	if b.wh != nil {
		b.wh.halt()
		b.wh = nil
	}
	if drop {
		for _, it := range b.q.items {
			s.forgetLocked(b, it)
		}
		s.expireLocked(b, s.now())
	}
	if newURL == "" {
		s.bumpLocked()
		if cur != nil {
			return result{v: true, description: "Webhook was deleted"}, nil
		}
		return result{v: true, description: "Webhook is already deleted"}, nil
	}
	b.updateAllowedLocked(p)
	wh := newWebhook(newURL, secret, maxConn, ip)
	wh.hasCert = hasCert
	wh.givenIP = ipAddress
	if s.closed {
		return result{}, &apiError{code: 500, desc: "Internal Server Error"}
	}
	s.startWebhookLocked(b, wh)
	s.bumpLocked()
	return result{v: true, description: "Webhook was set"}, nil
}

func (s *Server) getWebhookInfo(_ context.Context, b *bot, _ *params) (result, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked(b, s.now())
	info := WebhookInfo{PendingUpdateCount: b.q.live, AllowedUpdates: b.allowedListLocked()}
	if wh := b.wh; wh != nil {
		info.URL = wh.url
		info.HasCustomCertificate = wh.hasCert
		info.IPAddress = wh.ip
		info.MaxConnections = wh.maxConn
		info.LastErrorDate = wh.errDate
		info.LastErrorMessage = wh.errMsg
	}
	return result{v: info}, nil
}

// webhookInfoJSON is for the control API.
func (s *Server) webhookInfo(token string) (WebhookInfo, error) {
	s.mu.Lock()
	b, err := s.botLocked(token)
	s.mu.Unlock()
	if err != nil {
		return WebhookInfo{}, err
	}
	res, _ := s.getWebhookInfo(context.Background(), b, nil)
	return res.v.(WebhookInfo), nil
}
