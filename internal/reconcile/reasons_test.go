package reconcile

import (
	"strings"
	"testing"

	"github.com/tandem-crm/tandem/internal/i18n"
	"github.com/tandem-crm/tandem/internal/store"
)

func TestDescribeReason(t *testing.T) {
	tests := []struct {
		entity, reason string
		en, ru         string
	}{
		{store.EntityContact, ReasonCreatedLocally, "created in Tandem", "создано в Tandem"},
		{store.EntityContact, ReasonRemovedRemotely, "removed in the connected account", "удалено в подключённом аккаунте"},
		{store.EntityContact, Conflict([]string{FieldFamilyName, FieldGivenName}),
			"changed on both sides; the later change wins (Last name, First name)",
			"изменено с обеих сторон; сохранено более позднее изменение (Фамилия, Имя)"},
		{store.EntityActivity, OrganizerReplaced("bob@example.com"),
			"the organizer (bob@example.com) has no calendar sync; the user who ran the sync becomes the organizer",
			"у организатора (bob@example.com) нет синхронизации календаря; организатором становится пользователь, запустивший синхронизацию"},
		{store.EntityActivity, joinReasons([]string{RuleActualStart, RuleActualEnd}),
			"the actual start of a task in progress, ready for review or completed is kept; the actual end of a completed task is kept",
			"фактическое начало задачи в работе, на проверке или выполненной сохраняется; фактическое окончание выполненной задачи сохраняется"},
		// Rows written before reasons were codes read the same.
		{store.EntityContact, "created in Tandem", "created in Tandem", "создано в Tandem"},
		{store.EntityContact, "removed remotely", "removed in the connected account", "удалено в подключённом аккаунте"},
		{store.EntityContact, "changed on both sides; the later change wins (job_title,notes)",
			"changed on both sides; the later change wins (Job title, Notes)",
			"изменено с обеих сторон; сохранено более позднее изменение (Должность, Заметки)"},
		{store.EntityActivity, "the organizer (ann@example.com) has no calendar sync; the user who ran the sync becomes the organizer",
			"the organizer (ann@example.com) has no calendar sync; the user who ran the sync becomes the organizer",
			"у организатора (ann@example.com) нет синхронизации календаря; организатором становится пользователь, запустивший синхронизацию"},
		{store.EntityActivity, "the user may not edit this activity in Tandem; the actual end of a completed task is kept",
			"the user may not edit this activity in Tandem; the actual end of a completed task is kept",
			"пользователь не может изменять эту активность в Tandem; фактическое окончание выполненной задачи сохраняется"},
		// Text it does not know stays as it is.
		{store.EntityContact, "something else happened", "something else happened", "something else happened"},
		{store.EntityContact, "", "", ""},
	}
	for in, want := range map[string]string{"changed in Tandem": ReasonChangedLocally, ReasonChangedLocally: ReasonChangedLocally,
		"changed on both sides; the later change wins (title)": "conflict:title", "other text": "other text"} {
		if got := ReasonCode(in); got != want {
			t.Errorf("ReasonCode(%q) = %q, want %q", in, got, want)
		}
	}
	for _, tt := range tests {
		for _, c := range []struct {
			l    i18n.Lang
			want string
		}{{i18n.En, tt.en}, {i18n.Ru, tt.ru}} {
			if got := DescribeReason(c.l, tt.entity, tt.reason); got != c.want {
				t.Errorf("%s %q: %q, want %q", c.l, tt.reason, got, c.want)
			}
		}
	}
}

// Every reason the engine writes and every synced field has words in both
// languages.
func TestReasonsAndFieldsTranslated(t *testing.T) {
	codes := []string{ReasonCreatedRemotely, ReasonCreatedLocally, ReasonChangedRemotely, ReasonChangedLocally,
		ReasonConflict, ReasonRemovedRemotely, ReasonGoneRemotely, ReasonDeletedLocally, ReasonOutOfScope,
		ReasonFoundByMarker, ReasonChangedDuringWrite, ReasonUnsubscribed, ReasonUnsubscribedTasks, ReasonToHome, ReasonOrganizerReplaced,
		RuleActualStart, RuleActualEnd, RuleNoEdit}
	for _, l := range i18n.Supported() {
		for _, c := range codes {
			if !l.Has("sync.reason." + c) {
				t.Errorf("%s: no words for reason %q", l, c)
			}
		}
		for entity, fields := range map[string][]string{store.EntityContact: append([]string{FieldPhoto, FieldCategories}, ContactFieldNames...), store.EntityActivity: EventFieldNames,
			store.EntityActivity + " (task)": TaskFieldNames} {
			entity, _, _ = strings.Cut(entity, " ")
			for _, f := range fields {
				if got := FieldLabel(l, entity, f); got == f || got == "" {
					t.Errorf("%s: %s field %q has no label", l, entity, f)
				}
			}
		}
	}
}
