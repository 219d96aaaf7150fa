// Package telegram is a loopback emulator of the Telegram Bot API
// (ARCHITECTURE: emulator/telegram), built on net/http and encoding/json
// only. It speaks the real wire protocol, so Tandem's Telegram channel —
// a plain HTTP client pointed at a base URL — runs against it unchanged.
// It is used by tests, benchmarks and `tandem emulator telegram`; the wire
// facts it reproduces are those of shared/reference/apis.md §6, and where
// that is silent, the official Bot API server's (tdlib/telegram-bot-api:
// Client.cpp, WebhookActor.cpp, TQueue.cpp; TDLib's MessageEntity.cpp for
// parse modes), whose error texts it copies.
//
// # Endpoint contract
//
// Everything is served on one host. With base = the URL Start returns
// (e.g. "http://127.0.0.1:41234", no trailing slash):
//
//	Bot API        base/bot<token>/<method>           GET or POST; parameters in the query string
//	                                                  and/or a JSON, form-urlencoded or multipart body
//	File download  base/file/bot<token>/<file_path>   file_path from getFile
//	Control API    base/emulator/…                    JSON, no token (below)
//	Index          base/ and base/healthz
//
// Every Bot API answer is application/json: {"ok":true,"result":…} (plus
// "description" from setWebhook and deleteWebhook: "Webhook was set",
// "Webhook is already set", "Webhook was deleted", "Webhook is already
// deleted"), or {"ok":false,"error_code":N,"description":"…"} with
// "parameters":{"retry_after":N} or {"migrate_to_chat_id":N} where they
// apply, the HTTP status being error_code; 429s also carry Retry-After.
// Method names match in any case. Token checks are the real server's: a
// string that cannot be a token (no ':', a leading 0, a '/', over 80
// characters, or an id part that is not a number in 1…2⁵⁴) answers 401
// "Unauthorized: invalid token specified", a well-formed one of no bot
// 401 "Unauthorized", an empty one and an unknown method 404 "Not Found".
// Methods not listed here answer 404 as unknown ones do.
//
// # Methods
//
//	getMe            the bot's User plus can_join_groups, can_read_all_group_messages, …
//	getUpdates       offset, limit (1–100, default 100; clamped), timeout (0–50 s; clamped),
//	                 allowed_updates → [Update]
//	setWebhook       url, secret_token, max_connections (1–100, default 40; clamped),
//	                 allowed_updates, drop_pending_updates, ip_address, certificate (accepted,
//	                 shows as has_custom_certificate)
//	deleteWebhook    drop_pending_updates
//	getWebhookInfo   url, has_custom_certificate, pending_update_count, ip_address,
//	                 last_error_date, last_error_message, max_connections, allowed_updates
//	sendMessage      chat_id, text, parse_mode (HTML, MarkdownV2, Markdown), entities,
//	                 reply_parameters / reply_to_message_id, reply_markup (an inline keyboard is
//	                 echoed), other fields ignored → Message
//	sendPhoto        photo (multipart upload, "attach://name", or a photo's file_id), caption,
//	                 parse_mode, caption_entities → Message with photo sizes
//	sendDocument     document (the same three ways), caption, … → Message with document
//	sendChatAction   chat_id, action → true
//	getChat          chat_id → ChatFullInfo (id, type, names/title, accent_color_id,
//	                 max_reaction_count)
//	getFile          file_id → File with file_path (files over 20 MB: "file is too big")
//
// Refusals, with the real texts:
//
//	400 Bad Request: message text is empty          (also white space only, or empty after parsing)
//	400 Bad Request: message is too long            (over 4096 UTF-16 units after parsing; captions 1024:
//	                                                 "message caption is too long")
//	400 Bad Request: can't parse entities: …        (TDLib's words: Unsupported start tag "x" at byte
//	                                                 offset N; Can't find end tag corresponding to start
//	                                                 tag "b"; Unmatched end tag …; Character '.' is
//	                                                 reserved and must be escaped with the preceding '\';
//	                                                 Can't find end of the entity starting at …)
//	400 Bad Request: unsupported parse_mode
//	400 Bad Request: chat_id is empty / chat not found
//	400 Bad Request: message to be replied not found (unless allow_sending_without_reply)
//	400 Bad Request: group chat was upgraded to a supergroup chat   + parameters.migrate_to_chat_id
//	403 Forbidden: bot was blocked by the user
//	403 Forbidden: bot can't initiate conversation with a user      (met only in a group)
//	400 Bad Request: invalid file_id / wrong file identifier/HTTP URL specified / type of file
//	    mismatch / there is no photo in the request / IMAGE_PROCESS_FAILED
//	429 Too Many Requests: retry after N            + parameters.retry_after (RateLimits)
//	409 the getUpdates conflicts (below)
//
// Parsed text is trimmed of surrounding white space, entities moved along,
// as Telegram does. The emulator fetches no HTTP URLs: a photo or document
// given as one answers "failed to get HTTP URL content".
//
// # Updates
//
// Each bot has a queue after the official server's TQueue: update_id is
// sequential from a random start above 2,000,000 (seeded), and restarts
// at a random id after a week without updates. An update stays until it
// is confirmed, delivered or 24 hours old (Options.UpdateLifetime, on
// Options.Now). allowed_updates applies when an update is made — the
// types left out are not queued at all — and empty or unknown names mean
// the default (everything but chat_member, message_reaction and
// message_reaction_count).
//
// getUpdates: an offset ≤ 0 starts at the oldest pending update; a
// negative one counts from the end (-1 is the last); every update below
// the offset is confirmed (forgotten); an offset more than 10 past the
// last id is ignored — everything is returned and nothing forgotten, as
// TQueue does. An answer holds at most limit updates and 4 MB. With
// timeout > 0 and nothing to return the call waits (real time) and
// answers as soon as an update arrives, or [] at the timeout. A call that
// is going to wait ends the one already waiting with 409 "Conflict:
// terminated by other getUpdates request; make sure that only one bot
// instance is running" (a call that returns at once leaves it alone, as in
// the real server); setWebhook ends it with 409 "Conflict: terminated by
// setWebhook request"; while a webhook is set getUpdates answers 409
// "Conflict: can't use getUpdates method while webhook is active; use
// deleteWebhook to delete the webhook first". Not modelled: the real
// server's 3-second delay of repeated 409s and its stretching of short
// polls repeated with the same offset to 3 seconds.
//
// # Webhooks
//
// setWebhook refuses what Telegram refuses unless
// Options.AllowInsecureWebhooks is on: a non-https URL, a port other than
// 443, 80, 88 or 8443, an address that is IPv6-only or reserved
// (loopback, private, link-local, …; a host name is resolved) — "Bad
// Request: bad webhook: An HTTPS URL must be provided for webhook", "…:
// Webhook can be set up only on ports 80, 88, 443 or 8443", "…: IP address
// 127.0.0.1 is reserved", "…: Failed to resolve host: Name or service not
// known". Telegram only calls public https endpoints, and a test's
// receiver is a plain http server on a random loopback port, so tests and
// the standalone emulator turn the option on; off, a client sees the
// real refusals. Always checked: secret_token is 1–256 characters of
// A-Z a-z 0-9 _ - ("secret token contains unallowed characters", "secret
// token is too long"; empty means none), a URL must parse ("invalid
// webhook URL specified"), and one setWebhook with a URL a second
// (RateLimits.SetWebhook: 429 retry after 1 — step a fake clock between
// calls). Setting the same webhook again answers "Webhook is already set".
//
// Delivery follows WebhookActor: each update is POSTed alone as JSON,
// with X-Telegram-Bot-Api-Secret-Token when a secret was set, over
// keep-alive connections. Updates of one chat go one at a time and in
// update order — a failing one holds its chat's later updates back —
// while different chats go in parallel, ready ones in update order, at
// most max_connections requests in flight. (So one chat's throughput is
// one update per receiver round trip, as with Telegram.) A 2xx answer
// delivers the update; if its body is a method call ({"method":
// "sendMessage",…} as JSON or a form) the method runs, its result
// discarded (not the getters, setWebhook, deleteWebhook, close, logOut).
// Anything else — another status, a transport error, no answer within
// WebhookTimeout — is recorded as getWebhookInfo's last_error_date and
// last_error_message ("Wrong response from the webhook: 500 Internal
// Server Error", "Connection refused", "Read timeout expired", "Webhook
// connection closed") and retried after WebhookRetryBackoff, doubling up
// to WebhookMaxBackoff (a Retry-After of the answer wins), at most
// WebhookRetries times; then the update is dropped. Telegram retries for
// the update's whole 24 hours; the bound lets a test see the drop.
// pending_update_count counts updates not yet delivered, in flight
// included. WebhookLog lists the attempts.
//
// # Customers and chats
//
// The control side plays the people on Telegram. CreateBot makes a bot
// (token "<id>:<35 chars>" from the seed, or given). Write has a
// customer (User: id, first_name, last_name, username, language_code) write
// to the bot — text (a leading /command gets its bot_command entity), a
// photo (sizes scaled down at 90/320/800/1280 px, all serving the uploaded
// bytes; without data a JPEG is made), a document, a contact, optionally
// as a reply — in their private chat (chat id = user id) or in a group:
// each becomes a "message" update. Edit makes an "edited_message".
// CreateGroup makes a group (negative id) with the bot in it
// (my_chat_member and group_chat_created); in groups privacy mode holds
// unless the bot was created with CanReadAllGroupMessages: only commands,
// replies to the bot and @mentions reach it. UpgradeGroup turns a group
// into a supergroup ("-100…" id): the service messages carry
// migrate_to_chat_id / migrate_from_chat_id, and the old id answers 400
// with parameters.migrate_to_chat_id. Block has a customer block the bot
// (my_chat_member member → kicked; sends answer 403); a blocked customer
// who writes again unblocks it first. Message ids count per chat.
//
// Sent lists what the bot sent to a chat; WaitSent blocks (with a
// context) until it has sent n messages — tests never sleep. WaitPolling
// waits until a getUpdates of the bot is waiting.
//
// # Token used elsewhere
//
// Another program with the same token, as Tandem must detect it: a
// foreign poller (ForeignPoll once, or StartForeignPoller every interval)
// takes the pending updates and ends Tandem's waiting getUpdates with the
// 409 "terminated by other getUpdates request", then waits in its place —
// updates arriving meanwhile go to it; a foreign webhook
// (SetForeignWebhook) shows its URL in getWebhookInfo, makes getUpdates
// answer the 409 "webhook is active", and takes the updates (nothing is
// posted anywhere). Tandem's own setWebhook or deleteWebhook replaces it;
// StopForeign ends both; ForeignReceived counts what the other took.
//
// # Rate limits and faults
//
// RateLimits (Options.RateLimits, SetRateLimits; DefaultRateLimits: 1
// message a second per chat with bursts of 3, 20 a minute per group, 30 a
// second per bot with bursts of 30) are token buckets on Options.Now over
// the send methods; a send over one answers 429 "Too Many Requests: retry
// after N" (N = whole seconds until it would pass) and sends nothing.
// &RateLimits{} turns them all off, for benchmarks. Faults().FailNext
// (method, n, kind) makes the next n calls of a method (or of any, with
// "") fail: Fault500 (JSON "Internal Server Error"), Fault502 (nginx's
// HTML Bad Gateway page, not JSON, as Telegram's front answers when its
// backend is down), Fault429 (retry_after from SetRetryAfter, default 5),
// FaultDrop (the connection closes).
//
// # Control API
//
// JSON over HTTP under base/emulator/, for `tandem emulator telegram` and
// tests in another process; the Go methods named do the same in process.
// Errors answer 400 (bad request), 404 (unknown bot, user, chat or
// endpoint) or 408 (a wait ran out) with {"error":"…"}. Bodies use the
// Bot API's field names; file bytes are base64.
//
//	POST   /emulator/bots                         {"token"?,"id"?,"username"?,"first_name"?,
//	                                               "can_read_all_group_messages"?} → BotInfo   CreateBot
//	GET    /emulator/bots                         → [BotInfo]                                    Bots
//	POST   /emulator/users                        User → User                                    AddUser
//	POST   /emulator/bots/{token}/messages        {"from":User,"chat_id"?,"text"|"photo"|"document"|
//	                                               "contact","caption"?,"entities"?,
//	                                               "reply_to_message_id"?,"media_group_id"?}
//	                                               photo/document: {"data"(base64)?,"file_name"?,
//	                                               "mime_type"?,"width"?,"height"?} → Message     Write
//	POST   /emulator/bots/{token}/edits           {"chat_id","message_id","text"} → Message      Edit
//	POST   /emulator/bots/{token}/groups          {"title","members":[user id…]} → Chat          CreateGroup
//	POST   /emulator/bots/{token}/groups/{id}/upgrade                  → Chat (the supergroup)  UpgradeGroup
//	POST   /emulator/bots/{token}/users/{id}/block {"blocked":bool}                              Block
//	GET    /emulator/bots/{token}/chats/{id}/sent[?count=N&timeout_ms=T]
//	                                              → [Message]; with count, waits (default 10 s)
//	                                                until N were sent                           Sent, WaitSent
//	GET    /emulator/bots/{token}/updates         → [Update] pending                             Pending
//	GET    /emulator/bots/{token}/webhook         → WebhookInfo
//	GET    /emulator/bots/{token}/webhook-log     → [WebhookAttempt]                             WebhookLog
//	PUT    /emulator/bots/{token}/foreign         {"webhook_url"} or {"poll_interval_ms"}
//	                                              → {"received":n}          SetForeignWebhook, StartForeignPoller
//	POST   /emulator/bots/{token}/foreign/poll    → {"received":n}                               ForeignPoll
//	GET    /emulator/bots/{token}/foreign         → {"received":n}                               ForeignReceived
//	DELETE /emulator/bots/{token}/foreign         → {"received":n}                               StopForeign
//	POST   /emulator/faults                       {"method","count","kind":"500|502|429|drop",
//	                                               "retry_after"?} → {"pending":n}               Faults().FailNext
//	GET    /emulator/faults                       → {"pending":n,"injected":{"500":n,…}}
//	DELETE /emulator/faults                       clears the scripted faults                     Faults().Reset
//	GET    /emulator/rate-limits                  → RateLimits (JSON names: perChat, perChatBurst,
//	                                                perGroupPerMinute, global, globalBurst, setWebhook)
//	PUT    /emulator/rate-limits                  fields left out keep their value              SetRateLimits
//	GET    /emulator/calls                        → {"sendMessage":n,…}                          Calls
//
// # State and performance
//
// State is in memory under one mutex, held briefly: a webhook has a worker
// goroutine per bot that hands each ready chat's next update to a
// goroutine doing the POST, with one shared keep-alive http.Client (100
// idle connections per host). On a 2-CPU machine the webhook path carries
// about 4,600 messages a second to a receiver that answers at once
// (BenchmarkWebhookThroughput, 100 chats).
package telegram
