package ui

import (
	"testing"

	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/i18n"
	"github.com/tandem-crm/tandem/internal/store"
)

// The case pages build these keys from values; each must exist in every
// language, plural forms included.
func TestCaseKeysInCatalogue(t *testing.T) {
	var keys []string
	for _, s := range crm.CaseStatuses {
		keys = append(keys, "case.status."+string(s))
	}
	for _, p := range crm.CasePriorities {
		keys = append(keys, "case.priority."+string(p))
	}
	for _, s := range store.CaseSorts {
		keys = append(keys, "case.sort."+string(s))
	}
	for _, l := range i18n.Supported() {
		for _, k := range keys {
			if !l.Has(k) {
				t.Errorf("%s lacks %q", l, k)
			}
		}
		if !l.IsPlural("count.cases") {
			t.Errorf("%s: count.cases is not a plural", l)
		}
	}
	for n, want := range map[int]string{1: "1 обращение", 3: "3 обращения", 5: "5 обращений", 11: "11 обращений", 21: "21 обращение", 22: "22 обращения"} {
		if got := i18n.Ru.N("count.cases", n); got != want {
			t.Errorf("ru %d: %q, want %q", n, got, want)
		}
	}
	if got := i18n.En.N("count.cases", 1); got != "1 case" {
		t.Errorf("en 1: %q", got)
	}
}
