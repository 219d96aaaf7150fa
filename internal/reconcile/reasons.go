package reconcile

import (
	"regexp"
	"strings"

	"github.com/tandem-crm/tandem/internal/i18n"
	"github.com/tandem-crm/tandem/internal/store"
)

// Why the journal says a run did something. A reason is a stable code, not
// prose, so that each reader shows it in their own language (catalogue key
// "sync.reason.<code>"); a code may carry a detail after a colon (the
// fields changed on both sides, a previous organizer), and several reasons
// are joined by ";". DescribeReason puts one in words.
const (
	ReasonCreatedRemotely = "created_remotely"
	ReasonCreatedLocally  = "created_locally"
	ReasonChangedRemotely = "changed_remotely"
	ReasonChangedLocally  = "changed_locally"
	// ReasonConflict: changed on both sides, the later change wins; the
	// detail is the fields, comma-separated (Conflict builds it).
	ReasonConflict        = "conflict"
	ReasonRemovedRemotely = "removed_remotely"
	// ReasonGoneRemotely: missing from a full listing, and confirmed gone.
	ReasonGoneRemotely   = "gone_remotely"
	ReasonDeletedLocally = "deleted_locally"
	// ReasonOutOfScope: the record still exists in Tandem but left the
	// binding's scope (untagged, hidden from the calendar…).
	ReasonOutOfScope = "out_of_scope"
	// ReasonFoundByMarker: a create that a crash interrupted was found on
	// the remote side by its marker and linked.
	ReasonFoundByMarker = "found_by_marker"
	// ReasonChangedDuringWrite: the remote item changed while we wrote it;
	// the changes were merged again.
	ReasonChangedDuringWrite = "changed_during_write"
	// ReasonUnsubscribed: the binding's calendar was replaced or dropped.
	ReasonUnsubscribed = "unsubscribed"
	// ReasonUnsubscribedTasks: the binding's task list was replaced.
	ReasonUnsubscribedTasks = "unsubscribed_tasks"
	// ReasonUnsubscribedContacts: the binding's address book was replaced.
	ReasonUnsubscribedContacts = "unsubscribed_contacts"
	// ReasonToHome: with ReasonUnsubscribed or ReasonUnsubscribedTasks,
	// the record goes to the account's home calendar or task list at its
	// next run.
	ReasonToHome = "to_home"
	// ReasonCopyRemoved: the item was a copy Tandem made in the home
	// calendar or task list while the record's own one was left out;
	// that one syncs again and holds the record, so the copy goes.
	ReasonCopyRemoved = "copy_removed"
	// ReasonResubscribed: a calendar or task list left out is ticked
	// again and takes back the records it handed to the home one.
	ReasonResubscribed = "resubscribed"
	// ReasonBackRemotely: the item came back into the collection, so the
	// record is put back in scope (re-tagged, shown in the calendar).
	ReasonBackRemotely = "back_remotely"
	// ReasonBackRemotelyRecordDeleted: the item came back, but the record
	// it was synced with was deleted in Tandem meanwhile: a new record.
	ReasonBackRemotelyRecordDeleted = "back_remotely_record_deleted"
	// ReasonBackLocally: the record came back in scope, so its item is put
	// back into the collection.
	ReasonBackLocally = "back_locally"
	// ReasonBackLocallyRemoteGone: the record came back in scope, but its
	// item is gone for good: a new one is created.
	ReasonBackLocallyRemoteGone = "back_locally_remote_gone"
	// ReasonOrganizerReplaced: the detail is the previous organizer's email
	// (OrganizerReplaced builds it).
	ReasonOrganizerReplaced = "organizer_replaced"
	// ReasonUnreadable: the remote item could not be read and was
	// skipped; the detail is what was wrong with it (Unreadable builds it).
	ReasonUnreadable = "unreadable"
	// ReasonAdopted: a new remote item stands for a record already here
	// (a resubscribe), which it is linked to instead of a new one.
	ReasonAdopted = "adopted"
	// ReasonMovedHere: the item came from another collection of the
	// account (moved between calendars on the server): the record it
	// was synced with there is linked to it here.
	ReasonMovedHere = "moved_here"
	// ReasonMovedAway: the item left this collection for another one of
	// the account; the record stays, synced with it there.
	ReasonMovedAway = "moved_away"
)

// Unreadable is the reason of a remote item skipped because it could not
// be read.
func Unreadable(problem string) string {
	problem = strings.ReplaceAll(strings.ReplaceAll(problem, ";", ","), "\n", " ")
	if len(problem) > 300 {
		problem = problem[:300]
	}
	return ReasonUnreadable + ":" + problem
}

// Conflict is the reason of a change made on both sides.
func Conflict(fields []string) string { return ReasonConflict + ":" + strings.Join(fields, ",") }

// OrganizerReplaced is the reason of the organizer rule applied to an
// activity whose organizer was prev.
func OrganizerReplaced(prev string) string { return ReasonOrganizerReplaced + ":" + prev }

// joinReasons joins reasons into one journal reason.
func joinReasons(rs []string) string { return strings.Join(rs, ";") }

// legacyReasons are the English notes the journal held before reasons
// became codes, so that old rows read in every language too.
var legacyReasons = map[string]string{
	"created remotely":                              ReasonCreatedRemotely,
	"created in Tandem":                             ReasonCreatedLocally,
	"changed remotely":                              ReasonChangedRemotely,
	"changed in Tandem":                             ReasonChangedLocally,
	"removed remotely":                              ReasonRemovedRemotely,
	"not in the remote collection any more":         ReasonGoneRemotely,
	"deleted in Tandem":                             ReasonDeletedLocally,
	"no longer in scope in Tandem":                  ReasonOutOfScope,
	"found by marker after an interrupted create":   ReasonFoundByMarker,
	"changed remotely during our write; re-merged":  ReasonChangedDuringWrite,
	"unsubscribed from the calendar":                ReasonUnsubscribed,
	"the actual end of a completed task is kept":    RuleActualEnd,
	"the user may not edit this activity in Tandem": RuleNoEdit,
	"the actual start of a task in progress, ready for review or completed is kept": RuleActualStart,
}

var (
	legacyConflict  = regexp.MustCompile(`^changed on both sides; the later change wins \(([^)]*)\)$`)
	legacyOrganizer = regexp.MustCompile(`^the organizer \((.*)\) has no calendar sync; the user who ran the sync becomes the organizer$`)
)

// reasonCodes splits a journal reason into codes, reading the old English
// notes as the codes they meant; text it does not know is kept as it is.
func reasonCodes(reason string) []string {
	if m := legacyConflict.FindStringSubmatch(reason); m != nil {
		return []string{Conflict(strings.Split(m[1], ","))}
	}
	if m := legacyOrganizer.FindStringSubmatch(reason); m != nil {
		return []string{OrganizerReplaced(m[1])}
	}
	if code, ok := legacyReasons[reason]; ok {
		return []string{code}
	}
	var out []string
	for _, part := range strings.Split(reason, ";") {
		part = strings.TrimSpace(part)
		if code, ok := legacyReasons[part]; ok {
			part = code // old locked-field rules, joined by "; "
		}
		if part != "" {
			out = append(out, part)
		}
	}
	return out
}

// ReasonCode is a journal reason in its code form, with an old English
// note read as the code it meant.
func ReasonCode(reason string) string { return joinReasons(reasonCodes(reason)) }

// DescribeReason puts a journal reason of a record of entity (a store
// entity: contact, activity) in words; field names in it show as the
// labels the forms use. A reason it does not know shows as it is.
func DescribeReason(l i18n.Lang, entity, reason string) string {
	var out []string
	for _, r := range reasonCodes(reason) {
		code, detail, hasDetail := strings.Cut(r, ":")
		key := "sync.reason." + code
		if !l.Has(key) {
			out = append(out, r)
			continue
		}
		switch {
		case code == ReasonConflict:
			var labels []string
			for _, f := range strings.Split(detail, ",") {
				if f != "" {
					labels = append(labels, FieldLabel(l, entity, f))
				}
			}
			out = append(out, l.T(key, strings.Join(labels, ", ")))
		case hasDetail:
			out = append(out, l.T(key, detail))
		default:
			out = append(out, l.T(key))
		}
	}
	return strings.Join(out, "; ")
}

// fieldLabels are the catalogue keys of the form labels of the fields
// records sync by.
var fieldLabels = map[string]map[string]string{
	store.EntityContact: {
		FieldGivenName: "contact.field.given_name", FieldMiddleName: "contact.field.middle_name",
		FieldFamilyName: "contact.field.family_name", FieldName: "contact.field.name",
		FieldJobTitle: "contact.field.job_title", FieldEmails: "contact.field.emails",
		FieldPhones: "contact.field.phones", FieldNotes: "contact.field.notes",
		FieldBirthday: "contact.field.birthday", FieldAddresses: "contact.field.addresses",
		FieldCompany: "contact.field.company", FieldPhoto: "contact.field.photo", FieldCategories: "contact.field.tags",
	},
	store.EntityActivity: {
		FieldTitle: "activity.field.title", FieldDescription: "activity.field.description",
		FieldLocation: "activity.field.location", FieldStart: "activity.field.start", FieldEnd: "activity.field.end",
		FieldAllDay: "activity.field.all_day", FieldTimeZone: "activity.field.time_zone",
		FieldRRule: "activity.field.recurrence", FieldRDates: "activity.field.extra_dates", FieldExDates: "activity.field.exceptions",
		FieldOverrides: "activity.field.overrides", FieldAttendees: "activity.field.participants",
		FieldOrganizer: "activity.field.organizer", FieldTandemID: "sync.field.tandem_id",
		// A task's fields, as the activity form labels them.
		FieldDue: "activity.field.end", FieldTaskStatus: "activity.field.status",
		FieldPriority: "activity.field.priority", FieldCompleted: "activity.field.actual_end",
	},
}

// FieldLabel is the label of a synced field as the record's form shows it;
// a field without one shows its name.
func FieldLabel(l i18n.Lang, entity, field string) string {
	if key, ok := fieldLabels[entity][field]; ok {
		return l.T(key)
	}
	return field
}

// Reasons a remote change is reverted (SPEC §4, calendar profile rules):
// journal reason codes, like those in reasons.go.
const (
	RuleActualStart = "kept_actual_start" // a started task keeps its actual start
	RuleActualEnd   = "kept_actual_end"   // a completed task keeps its actual end
	RuleNoEdit      = "no_edit_right"     // the user may not edit the activity in Tandem
)

// locked names the fields a calendar may not change: every field of an
// activity the user may only read, the start of a task that has started
