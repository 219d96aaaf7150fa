package ui_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tandem-crm/tandem/internal/i18n"
)

// TestTagsPageSaysItOnce: the page's description shows once, with no tags
// and with some, in both languages.
func TestTagsPageSaysItOnce(t *testing.T) {
	e := startCRM(t)
	for _, l := range []i18n.Lang{i18n.En, i18n.Ru} {
		b, _ := e.newUser(t, "tags-"+l.String()+"@example.com", l.String(), "UTC")
		text := tr(l, "tag.text")
		for _, withTag := range []bool{false, true} {
			if withTag {
				crmStatus(t, b.Post(t, "/tags", url.Values{"name": {"Mine"}, "kind": {"personal"}, "color": {"red"}}), http.StatusOK)
			}
			p := b.Get(t, "/tags")
			if n := strings.Count(p.Body, text); n != 1 {
				t.Errorf("%s, tags %v: the description shows %d times", l, withTag, n)
			}
			if !withTag {
				crmHas(t, p, tr(l, "tag.empty_text"))
			}
			crmNoRawKeys(t, p.Body)
		}
	}
}
