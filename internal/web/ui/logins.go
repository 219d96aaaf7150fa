package ui

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tandem-crm/tandem/internal/signin"
	"github.com/tandem-crm/tandem/internal/store"
)

// Administration → Sign-in failures: the failed sign-ins signin records,
// newest first, to filter by reason and email.

type loginFailuresView struct {
	Tabs    []sectionTab
	Reasons []sectionTab
	Reason  string
	Email   string
	Items   []store.LoginFailure
	Next    string

	// The policy, for the page's explanation.
	KeepDays, AddressFree, AccountFree, AddressMaxMinutes, AccountMaxMinutes int
}

func (u *UI) adminLoginFailures(w http.ResponseWriter, r *http.Request, c *Ctx) {
	q := r.URL.Query()
	v := loginFailuresView{Tabs: adminTabs("/admin/login-failures"), Reason: q.Get("reason"),
		Email:    strings.ToLower(strings.TrimSpace(q.Get("email"))),
		KeepDays: int(signin.Keep / (24 * time.Hour)), AddressFree: signin.AddressPolicy.Free, AccountFree: signin.AccountPolicy.Free,
		AddressMaxMinutes: int(signin.AddressPolicy.Max / time.Minute), AccountMaxMinutes: int(signin.AccountPolicy.Max / time.Minute)}
	if v.Reason != "" && !slices.Contains(signin.Reasons, signin.Reason(v.Reason)) {
		u.errorPage(w, r, c, http.StatusBadRequest)
		return
	}
	tabQuery := func(reason string) string {
		s, _ := query(q, "reason", reason, "cursor", "")
		return "/admin/login-failures" + s
	}
	v.Reasons = append(v.Reasons, sectionTab{Href: tabQuery(""), Label: "common.all", Current: v.Reason == ""})
	for _, reason := range signin.Reasons {
		v.Reasons = append(v.Reasons, sectionTab{Href: tabQuery(string(reason)),
			Label: "admin.login_failures.reason." + string(reason), Current: v.Reason == string(reason)})
	}
	items, next, err := u.st.ListLoginFailures(r.Context(), store.LoginFailureFilter{Email: v.Email, Reason: v.Reason,
		Page: store.Page{Cursor: q.Get("cursor")}})
	if errors.Is(err, store.ErrBadCursor) {
		u.errorPage(w, r, c, http.StatusBadRequest)
		return
	}
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	v.Items, v.Next = items, next
	u.render(w, http.StatusOK, "admin/login_failures", c.Page(w, r, "admin", v))
}
