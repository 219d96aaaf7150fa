// Package messenger is a loopback emulator of Facebook Login and the
// Messenger Platform (ARCHITECTURE: emulator/messenger), built on net/http
// and encoding/json only: the Graph API calls a page channel makes (login,
// pages, webhook subscriptions, Send API, handover protocol), the webhook
// deliveries Meta makes, and a control API that plays the customers, the
// page admin and other apps (an external bot). The wire facts it
// reproduces are those of shared/reference/apis.md §7; where Meta's
// documentation gives no wording, the emulator's is marked below as its
// own.
//
// # Endpoint contract
//
// One server stands for both hosts. With base = the URL Start returns
// (e.g. "http://127.0.0.1:41234", no trailing slash), a client configured
// with Graph base = base and login base = base reaches:
//
//	Login dialog      GET  base/v{ver}/dialog/oauth?client_id&redirect_uri&state&scope&response_type=code
//	                       (as https://www.facebook.com/v{ver}/dialog/oauth)
//	Token             GET  base/v{ver}/oauth/access_token  (POST also)
//	Debug token       GET  base/v{ver}/debug_token?input_token=…
//	Me                GET  base/v{ver}/me[?fields=id,name]; /{page-id}, /{app-id} likewise
//	Pages             GET  base/v{ver}/me/accounts[?fields&limit&after]
//	Permissions       GET, DELETE base/v{ver}/me/permissions
//	App webhooks      GET, POST, DELETE base/v{ver}/{app-id}/subscriptions
//	Page webhooks     GET, POST, DELETE base/v{ver}/{page-id}/subscribed_apps
//	Send API          POST base/v{ver}/me/messages, base/v{ver}/{page-id}/messages
//	Handover          POST base/v{ver}/me/{pass,take,request,release}_thread_control
//	                  GET  base/v{ver}/me/thread_owner?recipient=PSID, base/v{ver}/me/secondary_receivers
//
// {ver} is any v<major>.<minor> (an unversioned path is served too).
// Parameters are read from the query string, a form body or a JSON body,
// nested ones (recipient, message) as JSON in the query or form as Graph
// takes them; the access token from access_token or an "Authorization:
// Bearer" header; appsecret_proof, when given, is checked. Answers carry
// Facebook-Api-Version.
//
// Errors have Graph's shape and statuses: {"error":{"message","type",
// "code","error_subcode","fbtrace_id"}}, HTTP 400 mostly (500 for the
// transient faults). Tokens: none → code 2500; unknown → 190 "Invalid
// OAuth access token - Cannot parse access token"; expired → 190/463
// "Error validating access token: Session has expired on …"; the app
// removed by the user (Revoke, DELETE /me/permissions) → 190/458; all with
// WWW-Authenticate: OAuth "Facebook Platform" "invalid_token" "…". A user
// token where a page token is needed → (#210); an app subscription call
// without the app token → (#15); unknown nodes or edges → 100/33
// GraphMethodException.
//
// # State
//
// In memory, under one mutex held for map work only (never across network
// calls). Apps (AddApp: id, secret, name, Human Agent permission, valid
// OAuth redirect URIs), users (AddUser) who manage pages (AddPage, with
// their admins), customers of a page (AddCustomer → PSID, per page).
// Identifiers come from Options.Seed: a scripted test sees the same ids on
// every run. Mids are "m_…" and never repeat. The clock is Options.Now
// (plus AdvanceClock, for the standalone emulator); nothing in the logic
// sleeps.
//
// # Facebook Login (manual flow)
//
// The dialog checks client_id ("Invalid App ID" page), redirect_uri
// against the app's registered URIs exactly ("URL blocked" page, no
// redirect), response_type (code only) and scope, comma-separated
// (unknown permissions → Facebook's "Invalid Scopes" page). It signs in
// the user set by SetSignedIn (default: the first user; ?emu_user=ID picks
// another) and shows a consent page: the requested permissions and the
// user's pages, each with a checkbox, and Allow / Cancel. Cancel
// redirects with error=access_denied&error_code=200&error_description=
// Permissions+error&error_reason=user_denied&state=…; Allow with code and
// state; both end in Facebook's "#_=_" fragment. Unticked permissions are
// declined (GET /me/permissions shows them), and the ticked pages replace
// the app's earlier page selection. Without HTML: SetAutoApprove(userID)
// (control: POST /emulator/auto-approve) allows every request at once with
// all the asked scopes and all the user's pages; SetAutoDeny cancels them.
//
// The token endpoint exchanges a code (client_id, redirect_uri identical to
// the dialog's, client_secret, code) for {"access_token","token_type":
// "bearer","expires_in"} (Options.UserTokenLifetime, 2 h). Codes are
// single-use (again → 100/36009 "This authorization code has been used.")
// and short-lived (Options.CodeLifetime 10 min → 100/36007); another
// redirect_uri → 100/36008; a bad secret → code 1 "Error validating client
// secret."; an unknown app → 101. grant_type=fb_exchange_token turns a user
// token into a long-lived one (60 days); grant_type=client_credentials
// gives an app token "{app-id}|…" (the literal "{app-id}|{app-secret}" is
// accepted as an app token too).
//
// /me/accounts lists the pages the user manages and granted the app, if
// the grant has pages_show_list (else "data" is empty: the emulator's
// reading), each with id, name, access_token (a page token: the same on
// every call for one user token; it never expires if the user token is
// long-lived, else with it), category, category_list and tasks; paging
// {"data":[…],"paging":{"cursors":{"before","after"},"next"}} with limit
// (25, ≤100) and after. A page token's permissions are its grant's.
// /debug_token answers {"data":{app_id, type USER|PAGE|APP, application,
// expires_at (0 = never), is_valid, scopes, granular_scopes, user_id,
// profile_id}}, or is_valid false with the error.
//
// # Webhooks
//
// POST /{app-id}/subscriptions (app token) with object=page, callback_url,
// verify_token and fields first performs Meta's verification: GET
// callback_url?hub.mode=subscribe&hub.challenge=N&hub.verify_token=T; only
// a 200 whose body is exactly N passes, else 400 (#2200) "Callback
// verification failed with the following errors: …" and no subscription.
// Fields add to those subscribed before; GET lists {"data":[{"object",
// "callback_url","active","fields":[{"name","version"}]}]}; DELETE removes
// the given fields or all. Callback URLs must be https
// (Options.AllowHTTPCallbacks lets http through) on loopback
// (Options.AllowRemoteCallbacks); TrustCallbackCertificate trusts a test
// server's certificate. Only object=page is implemented.
//
// POST /{page-id}/subscribed_apps?subscribed_fields=… (page token of that
// page; needs pages_manage_metadata, and pages_messaging for the
// messaging fields: "(#200) To subscribe to the messages field, one of
// these permissions is needed: pages_messaging") sets the app's fields on
// the page; GET lists every subscribed app with its subscribed_fields;
// DELETE unsubscribes the caller's app. As at Meta, an app gets an event
// only for a field subscribed both on the page and in its app
// subscription.
//
// # Deliveries
//
// Events are POSTed to each subscribed app's callback as {"object":"page",
// "entry":[{"id":PAGE,"time":ms,"messaging":[…]}]} (or "standby":[…]),
// with X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, body)> and
// the legacy X-Hub-Signature: sha1=<…>, over the exact bytes sent, which
// escape non-ASCII as \uXXXX (lowercase hex, surrogate pairs) and "/" as
// "\/" like Meta's (Sign computes the header). Fields and events:
//
//	messages             customer message {mid, text, attachments[{type,payload{url}}], quick_reply{payload}, reply_to{mid}}
//	messaging_postbacks  postback {title, payload, mid}
//	message_echoes       the page's sends: message {is_echo:true, app_id (number), metadata, mid, text|attachments};
//	                     sender is the page, recipient the PSID
//	message_deliveries   delivery {mids, watermark} after each send
//	message_reads        read {watermark} (CustomerReads)
//	messaging_handovers  pass_thread_control {previous_owner_app_id (null from idle), new_owner_app_id, metadata},
//	                     take_thread_control {previous_owner_app_id, new_owner_app_id, metadata},
//	                     request_thread_control {requested_owner_app_id, metadata}, app_roles {app id: [role]}
//	standby              the thread's events for an app that is not its owner, under entry[].standby[];
//	                     postbacks there carry no payload
//
// Each app has Options.DeliveryLanes (8) lanes of sequential POSTs over a
// keep-alive client; a thread's events (page and PSID) share a lane, so
// they arrive in order while threads go in parallel. A POST answered
// other than 2xx (or not at all within Options.DeliveryTimeout, 20 s) is
// retried Options.DeliveryRetries (5) times, backing off from
// Options.RetryBackoff (500 ms) doubling to 30 s, then given up.
// SetDeliverySettings batches (up to Batch events waiting in a lane in one
// POST; a thread's events always share a lane), duplicates every POST,
// delivers the waiting events of a lane newest first (OutOfOrder), or
// pauses; Deliveries, DeliveryStats and
// WaitDeliveries observe them.
//
// # Customers
//
// CustomerSays (text, attachments image|video|audio|file, reply_to,
// quick_reply; several messages of one call are queued together),
// CustomerPostback and CustomerReads play a customer; Received lists what
// the page sent them and NextReceived waits (ctx-bound) for message n;
// SenderActions lists typing_on / mark_seen.
//
// # Send API
//
// Page token with pages_messaging ((#200) otherwise); recipient.id a PSID
// of the page (else 100/2018001 "(#100) No matching user found");
// messaging_type RESPONSE, UPDATE or MESSAGE_TAG required ((#100) "The
// parameter messaging_type is required" / "Param messaging_type must be
// one of {…} - got …": the emulator's wording); MESSAGE_TAG needs tag;
// message.text ≤ 2000 characters, or one attachment {type image|audio|
// video|file|template, payload}; metadata ≤ 1000; quick_replies ≤ 13;
// sender_action (mark_seen, typing_on, typing_off) alone, without
// messaging_type ("message and state" together → 100/2018014). Success:
// {"recipient_id","message_id"} ({"recipient_id"} for a sender action).
//
// Windows count from the customer's last message or postback: within 24 h
// anything goes; after that only MESSAGE_TAG, and of the tags only
// HUMAN_AGENT, up to 7 days, and only for an app with the Human Agent
// permission (and the Page Inbox); otherwise 400 code 10 subcode 2018278
// "(#10) This message is sent outside of allowed window. Learn more about
// the new policy here: https://developers.facebook.com/docs/messenger-
// platform/policy-overview". HUMAN_AGENT without the permission inside the
// 24 hours → code 10 "(#10) Application does not have permission for this
// action" (the emulator's reading). CONFIRMED_EVENT_UPDATE,
// POST_PURCHASE_UPDATE and ACCOUNT_UPDATE are refused with code 100 from
// 2026-04-27 on the emulator's clock (Meta's deprecation), and unbounded
// before. Sender actions need the 24-hour window.
//
// A page may make Options.SendRateLimit (300) Send API calls per second
// on the emulator's clock; beyond, 400 "(#613) Calls to this api have
// exceeded the rate limit." A negative Options.SendRateLimit, or
// SetSendRateLimit(0), turns the limit off (benchmarks; `tandem emulator
// messenger --send-rate 0`). 300 a second is the emulator's default, not
// a figure from apis.md.
//
// # Handover protocol
//
// SetHandover(page, primary, secondary…) sets the Primary Receiver (e.g.
// an external bot app) and the Secondary Receivers (e.g. Tandem's app;
// PageInboxAppID 263902037430900 is always a valid target). A thread is
// idle (no owner) until someone takes it; when the customer writes to an
// idle thread the Primary Receiver, if any, gets control. Control lapses
// after Options.ThreadControlExpiry (24 h) without activity. The owner
// gets the thread's events under messaging[], the other subscribed apps
// under standby[]; in an idle thread every app gets them under
// messaging[] and any app may send. Sending while another app owns the
// thread → 400 code 10 subcode 2018300 "(#10) Message failed to send
// because another app is controlling this thread now."
//
// pass_thread_control {recipient, target_app_id, metadata}: by the owner
// (or anyone while idle); target_app_id is required of the Primary
// Receiver, a Secondary Receiver without one passes to the Primary; the
// target gets pass_thread_control. take_thread_control: any app takes an
// idle thread, only the Primary Receiver one that another app owns; the
// previous owner gets take_thread_control. request_thread_control: the
// owner (or, while idle, the Primary Receiver) gets
// request_thread_control. release_thread_control: the owner makes the
// thread idle. All answer {"success":true}. A non-owner passing or
// releasing → 100/2534037 "(#100) The action is invalid since it's not the
// thread owner."; an app outside the roles (when roles are set) → 10/2018171
// "(#10) Only available to Primary and Secondary Receivers."; an unknown
// target → 100/2018164 "(#100) Incorrect App ID.". GET /me/thread_owner
// answers {"data":[{"thread_owner":{"app_id"}}]} ({"data":[]} while
// idle). SendAs, PassThreadControl, TakeThreadControl, … do the same for
// an app without a token: a test plays the external bot.
//
// # Faults
//
// FailNext(path, n, kind) fails the next n calls of a Graph path (e.g.
// "messages", "me/accounts", "oauth/access_token") with FaultServerError
// (500, code 2), FaultTemporarySend (500, code 1200 subcode 2018024),
// FaultRateLimit (613), FaultAppRateLimit (code 4) or FaultDrop (closed
// connection).
//
// # Control API
//
// JSON over HTTP under base/emulator/ (AdminPrefix), no token. Errors are
// {"error":"…"} with 400 or 404, except Graph refusals of send and
// handover calls, which come in Graph's shape and status.
//
//	POST /emulator/apps               AppConfig {"id","secret","name","human_agent","redirect_uris"} → AppConfig
//	GET  /emulator/apps               → [AppConfig]
//	POST /emulator/users              {"id","name"} → {"id"}
//	POST /emulator/pages              {"id","name","category","admins":[user ids]} → {"id"}
//	POST /emulator/page-admins        {"page","user","tasks"}    AddPageAdmin (all tasks when none)
//	POST /emulator/signed-in          {"user"}                   SetSignedIn
//	POST /emulator/auto-approve       {"user"}                   SetAutoApprove ("" off)
//	POST /emulator/auto-deny          {"on"}                     SetAutoDeny
//	POST /emulator/revoke             {"user","app"}             Revoke
//	POST /emulator/expire-tokens                                 ExpireTokens
//	POST /emulator/page-token         {"app","user","page"} → {"access_token"}   PageToken
//	POST /emulator/customers          {"page","name"} → {"psid"}
//	POST /emulator/customers/messages {"page","psid","text","attachments","reply_to","quick_reply"}
//	                                  or {"page","psid","messages":[…]} → {"mids"}
//	POST /emulator/customers/postback {"page","psid","title","payload"} → {"mid"}
//	POST /emulator/customers/read     {"page","psid"}
//	GET  /emulator/customers/received?page&psid → {"messages":[Sent]}
//	GET  /emulator/customers/next?page&psid&index=N[&timeout=10s] → Sent (408 on timeout)
//	GET  /emulator/customers/actions?page&psid → {"actions"}
//	PUT  /emulator/handover           {"page","primary","secondary":[…]}
//	POST /emulator/handover/{op}      {"page","app","psid","target_app_id","metadata"}   op: pass_thread_control, …
//	GET  /emulator/thread-owner?page&psid → {"app_id"}
//	POST /emulator/send               {"page","app", Send API body…} → {"recipient_id","message_id"}   SendAs
//	POST /emulator/subscribe-page     {"page","app","fields"}    SubscribePage
//	POST /emulator/subscribe-app      {"app","callback_url","verify_token","fields"}   SubscribeApp
//	GET  /emulator/deliveries         → DeliverySettings {"batch","duplicate","out_of_order","paused"}
//	PUT  /emulator/deliveries         DeliverySettings
//	GET  /emulator/deliveries/log     → {"deliveries":[{app_id,url,attempt,events,status,error,at,body}]}
//	GET  /emulator/deliveries/stats   → {"delivered","failed","attempts","pending"}
//	POST /emulator/deliveries/wait[?timeout=10s] → stats once nothing is pending (408 otherwise)
//	POST /emulator/faults             {"path","n","kind":"500|1200|613|4|drop"};  DELETE /emulator/faults
//	PUT  /emulator/send-rate-limit    {"per_second"} (0 off)
//	POST /emulator/clock/advance      {"duration":"25h"} → {"now"}
//	GET  /emulator/requests           → {"METHOD /path": n}
package messenger
