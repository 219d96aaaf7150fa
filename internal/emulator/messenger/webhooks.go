package messenger

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// pageFields are the webhook fields of object=page the emulator accepts
// (on the app subscription and on subscribed_apps). It delivers messages,
// messaging_postbacks, message_echoes, message_deliveries, message_reads,
// messaging_handovers and standby; the others are accepted and stay
// silent.
var pageFields = []string{
	"feed", "inbox_labels", "message_deliveries", "message_echoes", "message_edits",
	"message_reactions", "message_reads", "messages", "messaging_account_linking",
	"messaging_feedback", "messaging_game_plays", "messaging_handovers", "messaging_optins",
	"messaging_optouts", "messaging_policy_enforcement", "messaging_postbacks", "messaging_referrals",
	"name", "picture", "standby",
}

// needsMessaging reports whether subscribing a page to the field needs
// pages_messaging.
func needsMessaging(field string) bool {
	return strings.HasPrefix(field, "messag") || field == "standby" || field == "inbox_labels"
}

var subscriptionObjects = []string{"user", "page", "permissions", "payments", "application", "instagram", "whatsapp_business_account"}

// handleAppSubscriptions is /{app-id}/subscriptions (app access token).
func (s *Server) handleAppSubscriptions(rq *request, appID string) {
	t, err := s.auth(rq)
	if err != nil {
		rq.fail(err)
		return
	}
	s.mu.Lock()
	a := s.apps[appID]
	s.mu.Unlock()
	if a == nil {
		rq.fail(unsupported(rq.r.Method, appID))
		return
	}
	if t.kind != tokApp || t.appID != appID {
		rq.fail(gErr(15, 0, "(#15) This method must be called with an app access_token."))
		return
	}
	switch rq.r.Method {
	case http.MethodGet:
		s.mu.Lock()
		data := []map[string]any{}
		if sub := a.sub; sub != nil {
			var fields []map[string]string
			for _, f := range sub.fields {
				fields = append(fields, map[string]string{"name": f, "version": sub.version})
			}
			data = append(data, map[string]any{"object": "page", "callback_url": sub.callbackURL, "active": true, "fields": fields})
		}
		s.mu.Unlock()
		rq.ok(map[string]any{"data": data})
	case http.MethodPost:
		s.subscribeApp(rq, a)
	case http.MethodDelete:
		object := rq.get("object")
		if object != "" && object != "page" {
			rq.ok(map[string]bool{"success": true})
			return
		}
		fields := rq.list("fields")
		s.mu.Lock()
		if a.sub != nil && len(fields) > 0 {
			a.sub.fields = slices.DeleteFunc(a.sub.fields, func(f string) bool { return slices.Contains(fields, f) })
		}
		if len(fields) == 0 || (a.sub != nil && len(a.sub.fields) == 0) {
			a.sub = nil
		}
		s.mu.Unlock()
		rq.ok(map[string]bool{"success": true})
	default:
		rq.fail(unsupported(rq.r.Method, appID))
	}
}

func (s *Server) subscribeApp(rq *request, a *app) {
	object := rq.get("object")
	if object == "" {
		rq.fail(paramRequired("object"))
		return
	}
	if !slices.Contains(subscriptionObjects, object) {
		rq.fail(paramEnum("object", object, subscriptionObjects))
		return
	}
	if object != "page" {
		rq.fail(gErr(100, 0, "(#100) The emulator implements webhooks of object=page only"))
		return
	}
	callback := rq.get("callback_url")
	if callback == "" {
		rq.fail(paramRequired("callback_url"))
		return
	}
	if err := s.checkCallbackURL(callback); err != nil {
		rq.fail(err)
		return
	}
	fields := rq.list("fields")
	if len(fields) == 0 {
		rq.fail(paramRequired("fields"))
		return
	}
	for i, f := range fields {
		if !slices.Contains(pageFields, f) {
			rq.fail(paramEnum(fmt.Sprintf("fields[%d]", i), f, pageFields))
			return
		}
	}
	verify := rq.get("verify_token")
	if err := s.verifyCallback(rq.r.Context(), callback, verify); err != nil {
		s.logf("webhook verification of %s for app %s failed: %s", callback, a.id, err.Message)
		rq.fail(err)
		return
	}
	s.mu.Lock()
	sub := a.sub
	if sub == nil {
		sub = &appSub{}
		a.sub = sub
	}
	sub.callbackURL, sub.verifyToken, sub.version = callback, verify, rq.version
	for _, f := range fields {
		if !slices.Contains(sub.fields, f) {
			sub.fields = append(sub.fields, f)
		}
	}
	s.mu.Unlock()
	rq.ok(map[string]bool{"success": true})
}

func (s *Server) checkCallbackURL(raw string) *GraphError {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return gErr(100, 0, "(#100) Param callback_url must be a valid URL")
	}
	if u.Scheme == "http" && !s.opts.AllowHTTPCallbacks {
		return gErr(100, 0, "(#100) Param callback_url must be an https URL")
	}
	if !s.opts.AllowRemoteCallbacks && !isLoopbackHost(u.Hostname()) {
		return gErr(100, 0, "(#100) The emulator calls back to loopback addresses only (Options.AllowRemoteCallbacks)")
	}
	return nil
}

func isLoopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// verifyCallback performs Meta's verification request: GET the callback
// with hub.mode=subscribe, hub.challenge and hub.verify_token; only a 200
// whose body is exactly the challenge passes.
func (s *Server) verifyCallback(ctx context.Context, callback, verifyToken string) *GraphError {
	s.mu.Lock()
	challenge := s.digitsLocked('1', 10)
	s.mu.Unlock()
	u, _ := url.Parse(callback)
	q := u.Query()
	q.Set("hub.mode", "subscribe")
	q.Set("hub.challenge", challenge)
	q.Set("hub.verify_token", verifyToken)
	u.RawQuery = q.Encode()
	ctx, cancel := context.WithTimeout(ctx, s.opts.DeliveryTimeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	req.Header.Set("User-Agent", userAgent)
	resp, err := s.deliv.client().Do(req)
	if err != nil {
		return gErr(2200, 0, "(#2200) Callback verification failed with the following errors: curl_errno = 7; curl_error = Couldn't connect to server; HTTP Status Code = 0")
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return gErr(2200, 0, fmt.Sprintf("(#2200) Callback verification failed with the following errors: HTTP Status Code = %d; HTTP Message = %s",
			resp.StatusCode, http.StatusText(resp.StatusCode)))
	}
	if string(body) != challenge {
		got := string(body)
		if len(got) > 100 {
			got = got[:100]
		}
		return gErr(2200, 0, fmt.Sprintf("(#2200) Callback verification failed with the following errors: The URL couldn't be validated. Response does not match challenge, expected value=%q, received=%q", challenge, got))
	}
	return nil
}

const userAgent = "facebookexternalua"

// handleSubscribedApps is /{page-id}/subscribed_apps (page access token).
func (s *Server) handleSubscribedApps(rq *request, pageID string) {
	t, err := s.auth(rq)
	if err != nil {
		rq.fail(err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pages[pageID]
	if pageID == "me" && t.kind == tokPage {
		p = s.pages[t.pageID]
	}
	if p == nil {
		rq.fail(unsupported(rq.r.Method, pageID))
		return
	}
	if t.kind != tokPage || t.pageID != p.id {
		rq.fail(pageTokenRequired())
		return
	}
	switch rq.r.Method {
	case http.MethodGet:
		data := []map[string]any{}
		for _, id := range p.subOrder {
			a := s.apps[id]
			data = append(data, map[string]any{"category": "Business", "link": "https://www.facebook.com/games/?app_id=" + a.id,
				"name": a.name, "id": a.id, "subscribed_fields": p.subs[id]})
		}
		rq.ok(map[string]any{"data": data})
	case http.MethodPost:
		if !t.hasScope(ScopePagesManageMetadata) {
			rq.fail(gErr(200, 0, "(#200) Requires pages_manage_metadata permission to manage the object"))
			return
		}
		if !rq.has("subscribed_fields") {
			rq.fail(paramRequired("subscribed_fields"))
			return
		}
		fields := rq.list("subscribed_fields")
		for i, f := range fields {
			if !slices.Contains(pageFields, f) {
				rq.fail(paramEnum(fmt.Sprintf("subscribed_fields[%d]", i), f, pageFields))
				return
			}
			if needsMessaging(f) && !t.hasScope(ScopePagesMessaging) {
				rq.fail(gErr(200, 0, fmt.Sprintf("(#200) To subscribe to the %s field, one of these permissions is needed: pages_messaging", f)))
				return
			}
		}
		if _, ok := p.subs[t.appID]; !ok {
			p.subOrder = append(p.subOrder, t.appID)
		}
		p.subs[t.appID] = uniq(fields)
		rq.ok(map[string]bool{"success": true})
	case http.MethodDelete:
		if _, ok := p.subs[t.appID]; ok {
			delete(p.subs, t.appID)
			p.subOrder = slices.DeleteFunc(p.subOrder, func(id string) bool { return id == t.appID })
		}
		rq.ok(map[string]bool{"success": true})
	default:
		rq.fail(unsupported(rq.r.Method, pageID))
	}
}

// SubscribePage subscribes an app to a page's webhook fields, as POST
// /{page-id}/subscribed_apps does, without a token (for tests that act as
// another app, e.g. the external bot).
func (s *Server) SubscribePage(pageID, appID string, fields ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.pageLocked(pageID)
	if err != nil {
		return err
	}
	if s.apps[appID] == nil {
		return &adminError{404, fmt.Sprintf("emulator: no app %q", appID)}
	}
	for _, f := range fields {
		if !slices.Contains(pageFields, f) {
			return &adminError{400, fmt.Sprintf("emulator: unknown field %q", f)}
		}
	}
	if _, ok := p.subs[appID]; !ok {
		p.subOrder = append(p.subOrder, appID)
	}
	p.subs[appID] = uniq(fields)
	return nil
}

// SubscribeApp sets an app's webhook subscription (object=page) as POST
// /{app-id}/subscriptions does, verification handshake included.
func (s *Server) SubscribeApp(ctx context.Context, appID, callbackURL, verifyToken string, fields ...string) error {
	s.mu.Lock()
	a := s.apps[appID]
	s.mu.Unlock()
	if a == nil {
		return &adminError{404, fmt.Sprintf("emulator: no app %q", appID)}
	}
	if err := s.checkCallbackURL(callbackURL); err != nil {
		return err
	}
	for _, f := range fields {
		if !slices.Contains(pageFields, f) {
			return &adminError{400, fmt.Sprintf("emulator: unknown field %q", f)}
		}
	}
	if err := s.verifyCallback(ctx, callbackURL, verifyToken); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a.sub = &appSub{callbackURL: callbackURL, verifyToken: verifyToken, version: defaultVersion, fields: uniq(fields)}
	return nil
}

// TrustCallbackCertificate makes deliveries and verification requests
// accept https receivers whose certificate chains to cert (e.g. an
// httptest TLS server's), besides the system roots.
func (s *Server) TrustCallbackCertificate(cert *x509.Certificate) {
	s.deliv.trust(cert)
}

func newTransport(roots *x509.CertPool) *http.Transport {
	return &http.Transport{Proxy: nil, MaxIdleConns: 256, MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * 1e9,
		TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}
}

// uniq returns the values in their first order without repeats.
func uniq(vs []string) []string {
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}
