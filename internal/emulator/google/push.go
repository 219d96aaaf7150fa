package google

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// channel is an events.watch notification channel.
type channel struct {
	id, resourceID, resourceURI, token, address string
	user, cal                                   string
	expiration                                  time.Time
	notify                                      chan struct{}
	stop                                        chan struct{}
	stopOnce                                    sync.Once
	msg                                         int64 // last message number (delivery goroutine only)
}

func (ch *channel) halt() { ch.stopOnce.Do(func() { close(ch.stop) }) }

// PushRecord is one delivery attempt of a push notification.
type PushRecord struct {
	ChannelID     string
	MessageNumber int64
	State         string // sync, exists
	Attempt       int    // 1 for the first try
	Status        int    // HTTP status; 0 on a transport error
	Err           string
	At            time.Time
}

// ChannelInfo describes a live watch channel.
type ChannelInfo struct {
	ID, ResourceID, ResourceURI, Token, Address string
	User, CalendarID                            string
	Expiration                                  time.Time
}

// PushLog returns every delivery attempt so far, in order.
func (s *Server) PushLog() []PushRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]PushRecord(nil), s.pushLog...)
}

// Channels lists the live watch channels.
func (s *Server) Channels() []ChannelInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ChannelInfo
	for _, ch := range s.channels {
		out = append(out, ChannelInfo{ID: ch.id, ResourceID: ch.resourceID, ResourceURI: ch.resourceURI, Token: ch.token,
			Address: ch.address, User: ch.user, CalendarID: ch.cal, Expiration: ch.expiration})
	}
	return out
}

// StopChannel stops a channel as if it expired (no more notifications).
func (s *Server) StopChannel(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch, ok := s.channels[id]; ok {
		ch.halt()
		delete(s.channels, id)
	}
}

func newPushTransport(roots *x509.CertPool) *http.Transport {
	return &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4, IdleConnTimeout: 30 * time.Second,
		TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}
}

// TrustPushCertificate makes push deliveries accept https receivers
// whose certificate chains to cert (e.g. an httptest TLS server's), in
// addition to the system roots. Google checks receivers' certificates;
// so does the emulator.
func (s *Server) TrustPushCertificate(cert *x509.Certificate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if old := s.pushTr.TLSClientConfig.RootCAs; old != nil {
		roots = old.Clone()
	}
	roots.AddCert(cert)
	s.pushTr.CloseIdleConnections()
	s.pushTr = newPushTransport(roots)
}

func isLoopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func (s *Server) eventsWatch(w http.ResponseWriter, r *http.Request, u *user, segs []string) {
	var b struct {
		ID         string          `json:"id"`
		Type       string          `json:"type"`
		Address    string          `json:"address"`
		Token      string          `json:"token"`
		Expiration json.RawMessage `json:"expiration"`
		Params     struct {
			TTL string `json:"ttl"`
		} `json:"params"`
	}
	body, _ := readBody(r, 1<<20)
	if err := json.Unmarshal(body, &b); err != nil {
		cBadRequest("Parse Error").write(w)
		return
	}
	if b.ID == "" {
		cRequired("Required channel id").write(w)
		return
	}
	if b.Type != "web_hook" && b.Type != "webhook" {
		cErr(400, "global", "push.channelTypeUnknown", "Unknown channel type: "+b.Type).write(w)
		return
	}
	au, err := url.Parse(b.Address)
	if err != nil || au.Host == "" || (au.Scheme != "https" && au.Scheme != "http") {
		cErr(400, "global", "push.webhookUrlUnknown", "WebHook callback must be a URL: "+b.Address).write(w)
		return
	}
	loop := isLoopbackHost(au.Hostname())
	if au.Scheme == "http" && !s.opts.AllowHTTPPush {
		cErr(400, "global", "push.webhookUrlNotHttps", "WebHook callback must be HTTPS: "+b.Address).write(w)
		return
	}
	if !loop && !s.opts.AllowRemotePush {
		cErr(400, "global", "push.webhookUrlUnauthorized", "Unauthorized WebHook callback channel: "+b.Address).write(w)
		return
	}
	now := s.now()
	exp := now.Add(7 * 24 * time.Hour)
	if b.Params.TTL != "" {
		n, err := strconv.ParseInt(b.Params.TTL, 10, 64)
		if err != nil || n <= 0 {
			cInvalid("Invalid ttl value for channel: " + b.Params.TTL).write(w)
			return
		}
		exp = now.Add(time.Duration(n) * time.Second)
	}
	if raw := strings.Trim(string(b.Expiration), `"`); raw != "" && raw != "null" && raw != "0" {
		ms, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			cInvalid("Invalid expiration value for channel.").write(w)
			return
		}
		if t := time.UnixMilli(ms); t.After(now) && t.Before(exp) {
			exp = t
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calendarOf(u, segs[1])
	if c == nil {
		cNotFound().write(w)
		return
	}
	if _, dup := s.channels[b.ID]; dup {
		cErr(400, "global", "channelIdNotUnique", "Channel id "+b.ID+" not unique").write(w)
		return
	}
	if s.closed {
		cErr(503, "global", "backendError", "Backend Error").write(w)
		return
	}
	ch := &channel{
		id:          b.ID,
		resourceID:  s.hashTag("", "resource", u.email, c.id),
		resourceURI: "http://" + r.Host + "/calendar/v3/calendars/" + url.PathEscape(c.id) + "/events?alt=json",
		token:       b.Token,
		address:     b.Address,
		user:        u.email,
		cal:         c.id,
		expiration:  exp.Truncate(time.Millisecond),
		notify:      make(chan struct{}, 1),
		stop:        make(chan struct{}),
	}
	s.channels[ch.id] = ch
	s.wg.Add(1)
	go s.runChannel(ch)
	resp := obj{{"kind", "api#channel"}, {"id", ch.id}, {"resourceId", ch.resourceID}, {"resourceUri", ch.resourceURI}}
	if ch.token != "" {
		resp.add("token", ch.token)
	}
	resp.add("expiration", strconv.FormatInt(ch.expiration.UnixMilli(), 10))
	writeJSON(w, 200, resp)
}

func (s *Server) channelsStop(w http.ResponseWriter, r *http.Request, u *user, segs []string) {
	var b struct {
		ID         string `json:"id"`
		ResourceID string `json:"resourceId"`
	}
	body, _ := readBody(r, 1<<20)
	if err := json.Unmarshal(body, &b); err != nil {
		cBadRequest("Parse Error").write(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.channels[b.ID]
	if !ok || ch.user != u.email || (b.ResourceID != "" && b.ResourceID != ch.resourceID) {
		cErr(404, "global", "notFound", "Channel '"+b.ID+"' not found for project '"+projectNumber+"'").write(w)
		return
	}
	ch.halt()
	delete(s.channels, b.ID)
	w.WriteHeader(http.StatusNoContent)
}

// notifyCalendarLocked wakes the channels watching a calendar.
func (s *Server) notifyCalendarLocked(userEmail, calID string) {
	for _, ch := range s.channels {
		if ch.user == userEmail && ch.cal == calID {
			select {
			case ch.notify <- struct{}{}:
			default:
			}
		}
	}
}

func (s *Server) stopChannelsOfLocked(userEmail, calID string) {
	for id, ch := range s.channels {
		if ch.user == userEmail && ch.cal == calID {
			ch.halt()
			delete(s.channels, id)
		}
	}
}

// runChannel delivers a channel's notifications: "sync" at once, then
// "exists" after changes, debounced.
func (s *Server) runChannel(ch *channel) {
	defer s.wg.Done()
	if !s.deliver(ch, "sync") {
		return
	}
	for {
		select {
		case <-ch.stop:
			return
		case <-s.closing:
			return
		case <-ch.notify:
		}
		t := time.NewTimer(s.opts.PushDebounce)
		select {
		case <-t.C:
		case <-ch.stop:
			t.Stop()
			return
		case <-s.closing:
			t.Stop()
			return
		}
		select {
		case <-ch.notify:
		default:
		}
		if !s.deliver(ch, "exists") {
			return
		}
	}
}

var pushRetryable = map[int]bool{500: true, 502: true, 503: true, 504: true}
var pushOK = map[int]bool{200: true, 201: true, 202: true, 204: true, 102: true}

// deliver sends one notification with retries; false means the channel is
// gone (stopped, expired, or the server closing).
func (s *Server) deliver(ch *channel, state string) bool {
	if !s.now().Before(ch.expiration) {
		s.mu.Lock()
		if s.channels[ch.id] == ch {
			delete(s.channels, ch.id)
		}
		s.mu.Unlock()
		ch.halt()
		return false
	}
	ch.msg++
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	go func() {
		select {
		case <-ch.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	s.mu.Lock()
	tr := s.pushTr
	s.mu.Unlock()
	client := &http.Client{Transport: tr, Timeout: s.opts.PushTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	backoff := s.opts.PushRetryBackoff
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, ch.address, bytes.NewReader(nil))
		if err != nil {
			return true
		}
		req.Header.Set("X-Goog-Channel-ID", ch.id)
		req.Header.Set("X-Goog-Message-Number", strconv.FormatInt(ch.msg, 10))
		req.Header.Set("X-Goog-Resource-ID", ch.resourceID)
		req.Header.Set("X-Goog-Resource-State", state)
		req.Header.Set("X-Goog-Resource-URI", ch.resourceURI)
		req.Header.Set("X-Goog-Channel-Expiration", ch.expiration.UTC().Format(http.TimeFormat))
		if ch.token != "" {
			req.Header.Set("X-Goog-Channel-Token", ch.token)
		}
		req.Header.Set("User-Agent", "APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)")
		req.Header.Set("Accept", "*/*")
		req.ContentLength = 0
		resp, err := client.Do(req)
		rec := PushRecord{ChannelID: ch.id, MessageNumber: ch.msg, State: state, Attempt: attempt, At: s.now()}
		if err != nil {
			rec.Err = err.Error()
		} else {
			rec.Status = resp.StatusCode
			resp.Body.Close()
		}
		s.mu.Lock()
		s.pushLog = append(s.pushLog, rec)
		s.mu.Unlock()
		s.logf("push %s #%d %s to %s: attempt %d status %d %s", ch.id, ch.msg, state, ch.address, attempt, rec.Status, rec.Err)
		if err == nil && pushOK[rec.Status] {
			return true
		}
		if (err != nil || pushRetryable[rec.Status]) && attempt <= s.opts.PushRetries {
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-ch.stop:
				t.Stop()
				return false
			case <-s.closing:
				t.Stop()
				return false
			}
			backoff *= 2
			continue
		}
		return true // a failure: Google drops this message and goes on
	}
}
