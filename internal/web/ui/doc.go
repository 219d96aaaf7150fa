// Package ui owns Tandem's server-rendered web interface: the page shell
// (layout, sidebar, top bar, flash messages), the shared template partials,
// the template functions, the design system (static/app.css) and the small
// amount of plain JavaScript (static/app.js), all embedded in the binary so
// the server works offline.
//
// # Pages
//
// A page is one file templates/<name>.html (subdirectories allowed: the page
// "admin/settings" is templates/admin/settings.html) that defines "title" and
// "content", and optionally "head" (extra <head> tags) and "topbar_actions"
// (buttons in the top bar). It is drawn inside templates/layout.html by
//
//	r.Render(w, http.StatusOK, "<name>", ui.PageData{...})
//
// With PageData.User set the full shell is drawn (sidebar, top bar, user
// menu); without it a bare centred one (sign-in, public error pages). In
// "content", "." is the PageData; the page's own view model is .Data.
//
// # Template functions
//
//	t "key" args…            translate (fmt args)
//	n "key" count args…      plural; the formatted count is the first fmt arg
//	date, dateLong, dateNumeric, dateFull, datetime, time, monthYear   time.Time or
//	                         *time.Time in the viewer's zone (PageData.Loc);
//	                         zero/nil print nothing
//	dateRange first last     the days first–last: "Nov 29 – Dec 5, 2026"
//	civildate                the date a time carries, unconverted (all-day)
//	inputDate, inputDateTime values for <input type=date|datetime-local>
//	number, month, weekday   locale number, month name, short weekday
//	asset "app.css"          /static/app.css?v=<content hash>
//	csrfField $.CSRF         hidden csrf_token input (also takes the PageData)
//	fieldError $ "field"     translated field error or ""
//	recurrence rule tz allDay  a recurrence rule in words, or "" (show the rule)
//	maxlen "contact" "given_name"   the crm limit of a field, for maxlength
//	dict, list, seq, add, sub, query, initials, tagClass, langs, options
//
// # Partials
//
//	{{template "form_field" dict "Page" $ "Name" "email" "Label" "key" …}}
//	{{template "form_errors" $}}
//	{{template "pagination" dict "Next" cursor "Query" $.Form "Target" "#rows"}}
//	{{template "empty_state" dict "Icon" "contacts" "Title" "key" "Text" "key" "ActionURL" "/x" "ActionLabel" "key"}}
//	{{template "tags" .Tags}}   items with Name, Kind, Color
//	{{template "icon" "name"}}  {{template "logo"}}
//
// # CSS vocabulary
//
// Layout: page-header page-title page-subtitle page-actions page-narrow
// breadcrumbs toolbar split section-title tabs/tab segmented stack stack-sm
// cluster spacer. Buttons: btn btn-primary btn-secondary btn-ghost btn-danger
// btn-danger-ghost btn-sm btn-lg btn-block btn-group icon-btn link-btn.
// Forms: form form-grid field-full fieldset field label input select textarea
// help field-error has-error check form-actions save-bar repeat repeat-row
// repeat-add select-fit (a select in a repeat-row as wide as its longest
// option).
// Tables: table-wrap table table-compact num col-check col-actions cell-main
// cell-title cell-sub row-actions hide-sm, tr[data-href]. Cards: card
// card-header card-title card-subtitle card-body card-footer card-grid props
// (dl) list. Badges and chips: badge badge-plain badge-{gray,info,success,
// warning,danger,accent} chip chips chip-remove tag-<color>, and domain
// states status-<activity status> priority-<p> response-<r> conn-<state>
// job-<state>. Also avatar avatar-sm avatar-lg, alert alert-{error,success,
// warning}, toast, menu menu-item dropdown, modal (a <dialog>) modal-sm
// modal-header modal-title modal-body modal-footer, empty-state, spinner,
// muted subtle small mono truncate nowrap visually-hidden kbd. The day and
// week calendar (calendar-week, cw-*) and the month (calendar-month, cm-*)
// are described in app.css.
//
// # JavaScript hooks
//
// data-confirm="message" on a button or link; data-dialog-open="id",
// data-dialog-close; data-autosubmit (+ data-autosubmit-target="#sel") on a
// GET form's input; data-load-more (pagination partial); data-repeat="emails"
// with data-repeat-list, data-repeat-row, template[data-repeat-template]
// ("__i__" is the row index), data-repeat-add, data-repeat-remove, and
// input[data-exclusive] for "one primary"; tr[data-href]; form[data-once];
// form[data-dirty-warn] (asks before leaving with unsaved changes);
// data-copy / data-copy-target (+ data-copied toast text); data-history-back;
// .cw-scroll[data-scroll-hour] (+ data-more-above / data-more-below, the
// titles of the marks counting events out of sight; static/calendar.js,
// which the calendar page loads); [data-sync-events] with
// [data-sync-progress="<kind>"] lines and [data-sync-card] sections (a sync
// run followed live: static/sync.js, loaded by a connection's page);
// [data-chat-panel] with data-chat-events (the operator panel's stream),
// data-chat-sound and data-chat-open, whose [data-chat-lists],
// [data-chat-history], [data-chat-summary] and [data-chat-main] are read
// again on each event, [data-deadline] (an offer's countdown), and
// form[data-chat-action-form] with [data-process] fields (static/chats.js,
// loaded by the chat pages).
// Same-origin fetches that change state send
// X-CSRF-Token from <meta name="csrf-token">. window.Tandem has toast,
// confirm and fetchPage.
package ui
