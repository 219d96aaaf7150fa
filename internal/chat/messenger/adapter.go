package messenger

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/tandem-crm/tandem/internal/chat"
)

// Defaults of the Messenger settings.
const (
	DefaultGraphURL   = "https://graph.facebook.com"
	DefaultLoginURL   = "https://www.facebook.com"
	DefaultAPIVersion = "v21.0"
)

// Paths under SiteUrl: where Meta posts every page's events, and where
// Facebook Login comes back (registered as a Valid OAuth Redirect URI of
// the company's app).
const (
	HookPath     = "/hooks/messenger"
	CallbackPath = "/oauth/facebook/callback"
)

// PageInboxAppID is the Page Inbox (Meta Business Suite), a valid
// handover target.
const PageInboxAppID = "263902037430900"

// Messaging windows, after the customer's last message.
const (
	standardWindow   = 24 * time.Hour
	humanAgentWindow = 7 * 24 * time.Hour
)

// scopes are the permissions a page channel needs: listing the pages,
// subscribing the app to them, and messaging.
var scopes = []string{"pages_show_list", "pages_manage_metadata", "pages_messaging"}

// pageFields are the page webhook fields a channel subscribes to.
var pageFields = []string{"messages", "messaging_postbacks", "messaging_handovers", "standby", "message_echoes"}

// Errors of connecting pages.
var (
	// ErrNotConfigured: MessengerAppId or MessengerAppSecret is not set.
	ErrNotConfigured = errors.New("the Messenger app id and secret are not set")
	// ErrNoSiteURL: Meta needs a public address to post to.
	ErrNoSiteURL = errors.New("SiteUrl is not set")
	// ErrLogin: Facebook refused the login (a used or expired code).
	ErrLogin = errors.New("facebook login failed")
)

// Page is a Facebook page the signed-in user manages.
type Page struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Category    string `json:"category,omitempty"`
	AccessToken string `json:"access_token"`
	// BotAppID is the app id of the page's external bot (the Primary
	// Receiver of the handover protocol), if it has one: completed chats
	// are passed back to it.
	BotAppID string `json:"bot_app_id,omitempty"`
}

// secrets are a channel's sealed values.
type secrets struct {
	PageToken string `json:"page_token"`
}

// config is a channel's plain settings.
type config struct {
	AppID    string `json:"app_id"`
	BotAppID string `json:"bot_app_id,omitempty"`
}

// Adapter is the Messenger channel kind.
type Adapter struct {
	svc  *chat.Service
	http *http.Client
	log  *slog.Logger
	// names caches customers' names from the User Profile API by page and
	// PSID: asked once per customer and process, not per message.
	names sync.Map
}

// New returns the adapter; svc receives what pages deliver.
func New(svc *chat.Service, log *slog.Logger) *Adapter {
	if log == nil {
		log = slog.Default()
	}
	return &Adapter{svc: svc, log: log, http: &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 16, IdleConnTimeout: 90 * time.Second}}}
}

// Kind implements chat.Adapter.
func (a *Adapter) Kind() chat.Kind { return chat.KindMessenger }

// app is the company's Meta app as the settings say.
type app struct {
	id, secret string
}

func (a *Adapter) app(ctx context.Context) (app, error) {
	p := app{id: a.svc.Setting(ctx, "MessengerAppId"), secret: a.svc.Setting(ctx, "MessengerAppSecret")}
	if p.id == "" || p.secret == "" {
		return p, ErrNotConfigured
	}
	return p, nil
}

// token is the app access token: "{app-id}|{app-secret}" is one Graph
// takes without a round trip.
func (p app) token() string { return p.id + "|" + p.secret }

// verifyToken is the webhook verification token. It is derived from the
// app secret rather than stored: every process computes the same one with
// nothing to keep in sync, it is as secret as the app secret, and a new
// app secret gives a new token (the subscription is renewed on the next
// connect or activation).
func (p app) verifyToken() string {
	m := hmac.New(sha256.New, []byte(p.secret))
	m.Write([]byte("tandem messenger webhook verify token"))
	return hex.EncodeToString(m.Sum(nil))
}

func (a *Adapter) graph(ctx context.Context) *graph {
	base := strings.TrimRight(a.svc.Setting(ctx, "MessengerGraphUrl"), "/")
	if base == "" {
		base = DefaultGraphURL
	}
	return &graph{base: base, version: a.version(ctx), http: a.http}
}

func (a *Adapter) version(ctx context.Context) string {
	if v := a.svc.Setting(ctx, "MessengerApiVersion"); v != "" {
		return v
	}
	return DefaultAPIVersion
}

// RedirectURI is where Facebook Login comes back ("" without SiteUrl).
func (a *Adapter) RedirectURI(ctx context.Context) string {
	site := a.svc.SiteURL(ctx)
	if site == "" {
		return ""
	}
	return site + CallbackPath
}

// Begin returns the Facebook Login dialog's address for state (which the
// caller binds to the admin's session and checks on the way back).
func (a *Adapter) Begin(ctx context.Context, state string) (string, error) {
	p, err := a.app(ctx)
	if err != nil {
		return "", err
	}
	redirect := a.RedirectURI(ctx)
	if redirect == "" {
		return "", ErrNoSiteURL
	}
	base := strings.TrimRight(a.svc.Setting(ctx, "MessengerLoginUrl"), "/")
	if base == "" {
		base = DefaultLoginURL
	}
	q := url.Values{"client_id": {p.id}, "redirect_uri": {redirect}, "state": {state},
		"scope": {strings.Join(scopes, ",")}, "response_type": {"code"}}
	return base + "/" + a.version(ctx) + "/dialog/oauth?" + q.Encode(), nil
}

// Complete exchanges the login's code for a user token, makes it
// long-lived (so the pages' tokens do not expire) and lists the pages the
// user granted, each with its page token.
func (a *Adapter) Complete(ctx context.Context, code string) ([]Page, string, error) {
	p, err := a.app(ctx)
	if err != nil {
		return nil, "", err
	}
	g := a.graph(ctx)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err = g.do(ctx, http.MethodGet, "oauth/access_token", "", url.Values{"client_id": {p.id}, "client_secret": {p.secret},
		"redirect_uri": {a.RedirectURI(ctx)}, "code": {code}}, nil, &tok)
	if err != nil {
		return nil, "", loginErr(err)
	}
	var long struct {
		AccessToken string `json:"access_token"`
	}
	err = g.do(ctx, http.MethodGet, "oauth/access_token", "", url.Values{"grant_type": {"fb_exchange_token"}, "client_id": {p.id},
		"client_secret": {p.secret}, "fb_exchange_token": {tok.AccessToken}}, nil, &long)
	if err != nil {
		return nil, "", loginErr(err)
	}
	var pages []Page
	q := url.Values{"fields": {"id,name,category,access_token"}, "limit": {"100"}}
	for range 20 { // at most 2000 pages
		var res struct {
			Data   []Page `json:"data"`
			Paging struct {
				Cursors struct {
					After string `json:"after"`
				} `json:"cursors"`
				Next string `json:"next"`
			} `json:"paging"`
		}
		if err := g.do(ctx, http.MethodGet, "me/accounts", long.AccessToken, q, nil, &res); err != nil {
			return nil, "", fmt.Errorf("list pages: %w", err)
		}
		pages = append(pages, res.Data...)
		if res.Paging.Next == "" || res.Paging.Cursors.After == "" {
			break
		}
		q.Set("after", res.Paging.Cursors.After)
	}
	return pages, long.AccessToken, nil
}

func loginErr(err error) error {
	var ge *GraphError
	if errors.As(err, &ge) && !ge.Transient {
		return fmt.Errorf("%w: %s", ErrLogin, ge.Message)
	}
	return fmt.Errorf("facebook token exchange: %w", err)
}

// ConnectPage makes a page a channel named after it, routed to queueID,
// its customers' contacts owned by ownerID; creating the channel
// activates it (the app's webhook and the page's subscription).
// store.ErrDuplicate when the page is a channel already.
func (a *Adapter) ConnectPage(ctx context.Context, page Page, queueID, ownerID string) (*chat.Channel, error) {
	p, err := a.app(ctx)
	if err != nil {
		return nil, err
	}
	if page.ID == "" || page.AccessToken == "" {
		return nil, errors.New("page without an id or token")
	}
	name := page.Name
	if name == "" {
		name = page.ID
	}
	return a.svc.CreateChannel(ctx, chat.NewChannel{Kind: chat.KindMessenger, ExternalID: page.ID, Name: name,
		QueueID: queueID, ContactOwnerID: ownerID, Config: config{AppID: p.id, BotAppID: page.BotAppID},
		Secret: secrets{PageToken: page.AccessToken}})
}

func open(ch *chat.Channel) (secrets, config, error) {
	var sec secrets
	var cfg config
	if err := json.Unmarshal(ch.Secret, &sec); err != nil || sec.PageToken == "" {
		return sec, cfg, fmt.Errorf("messenger channel %s has no page token", ch.ID)
	}
	if len(ch.Config) > 0 {
		if err := json.Unmarshal(ch.Config, &cfg); err != nil {
			return sec, cfg, fmt.Errorf("messenger channel %s config: %w", ch.ID, err)
		}
	}
	return sec, cfg, nil
}

// subscribeApp makes sure the app's page webhook points at this Tandem:
// Meta verifies the callback (GET /hooks/messenger) before answering.
func (a *Adapter) subscribeApp(ctx context.Context, g *graph, p app) error {
	site := a.svc.SiteURL(ctx)
	if site == "" {
		return ErrNoSiteURL
	}
	body := map[string]any{"object": "page", "callback_url": site + HookPath, "verify_token": p.verifyToken(),
		"fields": strings.Join(pageFields, ","), "include_values": true}
	if err := g.do(ctx, http.MethodPost, p.id+"/subscriptions", p.token(), nil, body, nil); err != nil {
		return fmt.Errorf("subscribe the app's webhook: %w", err)
	}
	return nil
}

// Activate subscribes the app's webhook and the app to the page.
func (a *Adapter) Activate(ctx context.Context, ch *chat.Channel) error {
	p, err := a.app(ctx)
	if err != nil {
		return err
	}
	sec, _, err := open(ch)
	if err != nil {
		return err
	}
	g := a.graph(ctx)
	if err := a.subscribeApp(ctx, g, p); err != nil {
		return err
	}
	err = g.do(ctx, http.MethodPost, ch.ExternalID+"/subscribed_apps", sec.PageToken,
		url.Values{"subscribed_fields": {strings.Join(pageFields, ",")}}, nil, nil)
	if err != nil {
		return fmt.Errorf("subscribe the app to the page: %w", err)
	}
	return nil
}

// Deactivate unsubscribes the app from the page: Meta stops delivering its
// events (the app's webhook stays for the other pages).
func (a *Adapter) Deactivate(ctx context.Context, ch *chat.Channel) error {
	sec, _, err := open(ch)
	if err != nil {
		return err
	}
	if err := a.graph(ctx).do(ctx, http.MethodDelete, ch.ExternalID+"/subscribed_apps", sec.PageToken, nil, nil, nil); err != nil {
		return fmt.Errorf("unsubscribe the app from the page: %w", err)
	}
	return nil
}

type recipient struct {
	ID string `json:"id"`
}

// Send implements chat.Adapter with the Send API: RESPONSE inside the
// 24-hour window, the HUMAN_AGENT tag (operators' replies are human ones)
// up to 7 days, refused here after that.
func (a *Adapter) Send(ctx context.Context, ch *chat.Channel, address string, out chat.Outgoing) (string, error) {
	sec, _, err := open(ch)
	if err != nil {
		return "", &chat.SendError{Code: "failed", Err: err}
	}
	body := map[string]any{"recipient": recipient{ID: address}, "messaging_type": "RESPONSE",
		"message": map[string]string{"text": out.Text}}
	if !out.LastInbound.IsZero() {
		switch since := a.svc.Now().Sub(out.LastInbound); {
		case since > humanAgentWindow:
			return "", &chat.SendError{Code: "window_closed", Err: fmt.Errorf("the customer last wrote %s ago", since.Round(time.Hour))}
		case since > standardWindow:
			body["messaging_type"] = "MESSAGE_TAG"
			body["tag"] = "HUMAN_AGENT"
		}
	}
	var res struct {
		MessageID string `json:"message_id"`
	}
	if err := a.graph(ctx).do(ctx, http.MethodPost, "me/messages", sec.PageToken, nil, body, &res); err != nil {
		se := sendError(err)
		if ge := (*GraphError)(nil); errors.As(err, &ge) && ge.Code == 190 {
			a.svc.MarkBroken(ctx, ch.ID, fmt.Errorf("facebook refuses the page token (reconnect the page): %s", ge.Message))
		}
		return "", se
	}
	return res.MessageID, nil
}

// customerName asks the User Profile API for a customer's name, once per
// process; "" when Facebook does not tell (no permission, an error): the
// message is not held back for it.
func (a *Adapter) customerName(ctx context.Context, ch *chat.Channel, psid string) string {
	key := ch.ExternalID + "/" + psid
	if v, ok := a.names.Load(key); ok {
		return v.(string)
	}
	sec, _, err := open(ch)
	if err != nil {
		return ""
	}
	var p struct {
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := a.graph(ctx).do(ctx, http.MethodGet, url.PathEscape(psid), sec.PageToken,
		url.Values{"fields": {"first_name,last_name"}}, nil, &p); err != nil {
		a.log.InfoContext(ctx, "messenger: customer profile not available", "page", ch.ExternalID, "err", err)
		return ""
	}
	name := strings.TrimSpace(p.FirstName + " " + p.LastName)
	a.names.Store(key, name)
	return name
}

// sendError names a Send API refusal for the operator.
func sendError(err error) *chat.SendError {
	var ge *GraphError
	if !errors.As(err, &ge) {
		return &chat.SendError{Code: "failed", Temporary: true, Err: err}
	}
	switch {
	case ge.Code == 10 && ge.Subcode == 2018278:
		return &chat.SendError{Code: "window_closed", Err: err}
	case ge.Code == 10 && ge.Subcode == 2018300:
		return &chat.SendError{Code: "thread_owned", Err: err}
	case ge.Code == 613 || ge.Code == 4 || ge.Code == 32 || ge.Code == 17:
		return &chat.SendError{Code: "rate_limited", Temporary: true, Err: err}
	case ge.Code == 551 || ge.Subcode == 1545041:
		return &chat.SendError{Code: "blocked", Err: err}
	case ge.Code == 100 && ge.Subcode == 2018001:
		return &chat.SendError{Code: "not_found", Err: err}
	}
	return &chat.SendError{Code: "failed", Temporary: ge.Transient || ge.Code == 1200 || ge.Code == 2, Err: err}
}

// Release implements chat.Releaser: a completed chat's thread goes back to
// the page's bot when the channel has one; without a bot Tandem keeps
// nothing to hand back (the thread idles and lapses on its own).
func (a *Adapter) Release(ctx context.Context, ch *chat.Channel, address string) error {
	sec, cfg, err := open(ch)
	if err != nil {
		return err
	}
	if cfg.BotAppID == "" {
		return nil
	}
	body := map[string]any{"recipient": recipient{ID: address}, "target_app_id": cfg.BotAppID, "metadata": "tandem: chat completed"}
	if err := a.graph(ctx).do(ctx, http.MethodPost, "me/pass_thread_control", sec.PageToken, nil, body, nil); err != nil {
		return fmt.Errorf("pass the thread to the bot: %w", err)
	}
	return nil
}
