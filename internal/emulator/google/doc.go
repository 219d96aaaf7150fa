// Package google is a loopback emulator of Google's People API v1, Calendar
// API v3 and OAuth 2.0 endpoints (ARCHITECTURE: emulator/google), built on
// net/http and encoding/json only. It speaks the real JSON, so the
// production connector — google.golang.org/api pointed at it with
// option.WithEndpoint, and golang.org/x/oauth2 — runs against it unchanged.
// It is used by tests, benchmarks and `tandem emulator google`; the wire
// facts it reproduces are those of shared/reference/apis.md §1, §2 and §3.1.
//
// # Endpoint contract
//
// Everything is served on one host. With base = the URL Start returns
// (e.g. "http://127.0.0.1:41234", no trailing slash):
//
//	People API      people.NewService(ctx, option.WithEndpoint(base+"/"), option.WithHTTPClient(c))
//	                → base/v1/people/me/connections, base/v1/people:createContact, base/v1/contactGroups, …
//	Calendar API    calendar.NewService(ctx, option.WithEndpoint(base+"/calendar/v3/"), option.WithHTTPClient(c))
//	                → base/calendar/v3/calendars/{calendarId}/events, …
//	Channels stop   base/calendar/v3/channels/stop (the calendar client's Channels.Stop)
//	OAuth           oauth2.Endpoint{AuthURL: base+"/o/oauth2/v2/auth", TokenURL: base+"/token"}
//	Revoke          POST base/revoke (form: token=…), as https://oauth2.googleapis.com/revoke
//	User info       GET base/oauth2/v3/userinfo (also base/v1/userinfo, as openidconnect's)
//	                → {"sub","name","email","email_verified"}; needs openid, email or profile
//	Token info      GET or POST base/tokeninfo?access_token=… (also base/oauth2/v3/tokeninfo), as
//	                https://oauth2.googleapis.com/tokeninfo → {"azp","aud","sub","scope","exp",
//	                "expires_in","email","email_verified"} (strings; email only with the email
//	                scope); unknown/expired/revoked → 400 invalid_token. Dovecot's oauth2
//	                passdb checks XOAUTH2 tokens (scope ScopeMail) here in the mail tests.
//
// These match Tandem's settings: GoogleApiUrl = base (People base/ and
// Calendar base/calendar/v3/), GoogleAuthUrl = base/o/oauth2/v2/auth,
// GoogleTokenUrl = base/token, GoogleUserInfoUrl = base/oauth2/v3/userinfo.
//
// # State
//
// State is in memory, per user (a Google account by e-mail, AddUser), and
// guarded by one mutex. Each user has a monotonic change counter: every
// write bumps it, and it drives etags, strictly increasing `updated`
// times, and sync tokens. Page and sync tokens are opaque, HMAC-signed
// cursors: a garbled token is recognised. Sync tokens carry the counter
// position and the user's token generation (ExpireSyncTokens bumps it).
// People sync tokens expire PeopleSyncTokenLifetime (7 days) after the full
// sync that began their chain; Calendar ones after
// CalendarSyncTokenLifetime (default never). Deleted contacts and events are
// kept as tombstones so incremental listings report them (People:
// metadata.deleted with resourceName/etag/metadata only; Calendar:
// status "cancelled" with id, and recurringEventId/originalStartTime for
// exceptions). Identifiers are derived from Options.Seed and a counter, so
// a scripted test sees the same ids on every run.
//
// # People
//
// connections.list (personFields required; pageSize 100 default, 1000 max;
// page tokens bound to the other parameters, mismatch → 400
// INVALID_ARGUMENT; requestSyncToken → nextSyncToken on the last page only;
// syncToken incremental with deletions; sortOrder without sync; expired or
// garbled sync token → 400 FAILED_PRECONDITION with ErrorInfo reason
// EXPIRED_SYNC_TOKEN), people.get, getBatchGet, createContact (member of
// myContacts; names/biographies/birthdays/genders singletons),
// updateContact (updatePersonFields required; etag required, as person.etag
// or metadata.sources[CONTACT].etag; a stale one → 400 FAILED_PRECONDITION
// reason failedPrecondition; masked fields replaced wholesale; memberships
// must keep a group), deleteContact, the batch create/update/delete
// methods (≤200 contacts, all or nothing: a batch update with a refused
// contact fails whole, and its error's BatchUpdateContactsErrorDetails maps
// each refused resource name to its status, code 9 for a stale etag — the
// @type name is ours, Google's is not documented), and contactGroups list (with syncToken) / get (maxMembers →
// memberResourceNames) / create (duplicate name → 409) / update / delete /
// members.modify (≤1000 names; notFoundResourceNames,
// canNotRemoveLastContactGroupResourceNames; of the system groups only
// myContacts and starred accept additions). Membership changes bump the
// contact's etag and show in incremental listings. Values get Google's
// per-value metadata (source, primary), formattedType and computed name
// forms; other fields round-trip as given.
//
// # Calendar
//
// calendarList.list/get, calendars.insert/get/delete, events.list
// (maxResults 250 default, 2500 cap; nextSyncToken on the last page only;
// showDeleted; syncToken with its forbidden companions → 400; expired or
// garbled token → 410 fullSyncRequired; singleEvents expands RRULE/RDATE/
// EXDATE series into instances {id}_{yyyyMMddTHHmmssZ} or {id}_{yyyyMMdd};
// timeMin/timeMax on end/start; orderBy startTime/updated; updatedMin;
// q, iCalUID, private/sharedExtendedProperty filters; SetEmptyPages makes
// empty pages that carry a nextPageToken), events.get (If-None-Match →
// 304), insert (client ids: base32hex, 5–1024; duplicate → 409), patch
// (objects merge, arrays replace), update (omitted fields cleared), delete
// (204; again → 410 deleted), If-Match on writes → 412 conditionNotMet,
// instances, exceptions (a write or delete on an instance id), and
// events.watch with push notifications: "sync" (message 1) at once, then
// "exists" after changes (debounced), with the documented X-Goog-* headers,
// retried on 500/502/503/504; channels.stop. As Google, events.watch takes
// only https addresses (else 400 push.webhookUrlNotHttps) and deliveries
// check the receiver's certificate: TrustPushCertificate adds a test
// server's, Options.AllowHTTPPush lets plain http receivers through.
//
// # OAuth
//
// AddClient registers clients with exact redirect URIs. The authorization
// endpoint shows a consent page (choose a seeded account, Allow / Cancel);
// SetAutoApprove(email) redirects straight back with a code (state echoed;
// PKCE S256/plain kept with the code). The token endpoint does
// authorization_code (redirect_uri, client secret, code_verifier, single
// use, expiry → invalid_grant) and refresh_token (no new refresh token, as
// Google; a revoked grant → 400 invalid_grant "Token has been expired or
// revoked."); bad client credentials → 401 invalid_client. A refresh token
// is issued with access_type=offline on the first consent or with
// prompt=consent. With include_granted_scopes=true the code (and its
// tokens) also cover the scopes the user granted the client before
// (incremental authorization); GrantedScopes(email) lists what a user has
// granted. API calls need a live Bearer token of the user with a
// fitting scope: otherwise 401 authError / 403 insufficientPermissions in
// each API's error style.
//
// # Faults and observability
//
// Faults() injects, by seeded probability or scripted one-shots (FailNext):
// 429 (People RESOURCE_EXHAUSTED, Calendar rateLimitExceeded) and 403
// rateLimitExceeded with Retry-After, 500 backendError, slow responses,
// dropped connections and forced sync-token expiry.
// SetPeoplePropagationDelay delays People changes in incremental results. RequestCounts, Calls,
// PushLog, People, Events and the other snapshots show what happened; the
// CreateContact / UpdateContact / InsertEvent / PatchEvent / … helpers edit
// data as a user in Google would, with the same etag and sync bookkeeping
// as API writes.
//
// # Quotas
//
// Per-user, per-minute quotas are on by default (DefaultQuotas, after
// apis.md §1.5): People critical reads 90, critical writes 60, writes
// (deletes, contact-group writes) 30 and contact-group reads 90 units a
// minute; Calendar's and the full-sync first-page quota are off. Each
// request costs units (QuotaCost, the published units): connections.list,
// people.get and getBatchGet 1 critical read; createContact and
// updateContact 1 critical read + 1 critical write; batchCreateContacts and
// batchUpdateContacts 6 + 6 whatever their size; deleteContact and every
// contact-group write 1 write, batchDeleteContacts 10; group reads 1. A
// quota counts the units of the requests it admitted in the last minute (a
// sliding window, on Options.Now, so tests step over it with their clock);
// a request that would go over is refused — People with 429
// RESOURCE_EXHAUSTED and ErrorInfo RATE_LIMIT_EXCEEDED naming the quota,
// Calendar with 403 userRateLimitExceeded — with Retry-After: the whole
// seconds until enough units leave the window. A refused request costs
// nothing. Options.Quotas, SetQuotas, `tandem emulator google
// --quota-…` and the emulator's own API change them (0 is off):
//
//	GET /emulator/quotas          the quotas in force (JSON, Quotas' field names)
//	PUT /emulator/quotas          set them; fields left out keep their value
//	GET /emulator/quotas/floor    {"floorSeconds":…} for ?method=count&…, or for
//	                              the calls made so far (Calls) without a query
//
// The same API also seeds and steers the emulator from another process
// (`tandem bench sync` does): users, auto-approval, contact groups, bulk
// contact creation and edits, counts and Calls; see AdminPrefix.
//
// The floor (Quotas.Floor, QuotaFloor) is the least time the quotas allow
// for a set of calls: in each quota the calls fill windows of a minute and
// the last window opens (windows−1) minutes after the first; the largest
// over the quotas. A 5,000-contact export in batches of 200 (25 batch
// creates, 150 critical writes) has a floor of 2 minutes under the
// defaults; one request per contact, 83 minutes. A benchmark reports its
// wall time over the floor.
//
// Listings cost O(page): persons and events are kept in the order of their
// change position (a slice appended on every change, stale entries skipped
// and compacted), so connections.list and events.list find a page's start
// by binary search (the first page of an incremental connections.list
// also counts its changes, for totalItems). Only the name orders of
// connections.list and the startTime order of events.list sort everything.
package google
