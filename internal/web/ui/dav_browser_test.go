package ui_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tandem-crm/tandem/internal/testenv/davserver"
	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

// TestBrowserDAVAccount drives a CalDAV/CardDAV account in Chromium
// against a real Radicale: the user adds it from External accounts (a
// wrong password is refused with the reason, the address kept), picks
// the address book and the tag on the account page, runs sync now, and
// finds the address book's contact among her contacts, while her tagged
// contact is in the address book.
func TestBrowserDAVAccount(t *testing.T) {
	ctx := context.Background()
	srv := davserver.Start(t, davserver.Radicale)
	book, err := srv.CreateAddressBook(ctx, "contacts", "Family")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.CreateCalendar(ctx, "work", "Work", "VEVENT", "VTODO"); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Put(ctx, book+"carl.vcf", "text/vcard", []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:carl\r\n"+
		"FN:Carl Remote\r\nN:Remote;Carl;;;\r\nEMAIL:carl@remote.example\r\nEND:VCARD\r\n")); err != nil {
		t.Fatal(err)
	}
	s := tandemtest.Start(t, tandemtest.Options{})
	s.Admin.JSON(t, "POST", "/api/v1/users", map[string]any{"email": "dana@example.com", "name": "Dana", "password": "user-password-1",
		"time_zone": "UTC", "language": "en", "role_ids": []string{}}, http.StatusCreated, nil)
	dana := s.Login(t, "dana@example.com", "user-password-1")
	var tag struct{ ID string }
	dana.JSON(t, "POST", "/api/v1/tags", map[string]any{"name": "Family"}, http.StatusCreated, &tag)
	dana.JSON(t, "POST", "/api/v1/contacts", map[string]any{"name": "Ann Local", "tags": []string{tag.ID}}, http.StatusCreated, nil)

	chrome := newChrome(t, 120*time.Second)
	step := stepper(t, chrome)
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(chrome, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(v)
	}
	step("sign in", signIn(s.URL, "dana@example.com", "user-password-1")...)
	step("open the add form from External accounts",
		chromedp.Navigate(s.URL+"/profile/accounts"),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/profile/connect/dav"]`)),
		chromedp.Click(chromedp.CSS(`a[href="/profile/connect/dav"]`)),
		chromedp.WaitVisible(chromedp.ID("f-url")),
	)
	step("a wrong password is refused",
		chromedp.SendKeys(chromedp.ID("f-url"), srv.URL()),
		chromedp.SendKeys(chromedp.ID("f-username"), srv.User()),
		chromedp.SendKeys(chromedp.ID("f-password"), "not-my-password"),
		chromedp.Click(chromedp.CSS(`form[data-connect-password] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#f-password-error`)),
	)
	if got := text(`#f-password-error`); !strings.Contains(got, "refused the user name or password") {
		t.Errorf("wrong password message %q", got)
	}
	kept, err := chromedp.Run(chrome, chromedp.Value(chromedp.ID("f-url")))
	if err != nil || kept != srv.URL() {
		t.Errorf("the address was not kept: %q %v", kept, err)
	}
	step("the right password connects",
		chromedp.SendKeys(chromedp.ID("f-password"), srv.Password()),
		chromedp.Click(chromedp.CSS(`form[data-connect-password] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("sync-addressbook")),
	)
	if got := text(".toast-success"); !strings.Contains(got, "Account connected") {
		t.Errorf("connected toast %q", got)
	}
	step("pick the address book and the tag, enable, save",
		chromedp.Evaluate[chromedp.Void](`(() => {
			const pick = (id, text) => { const s = document.getElementById(id);
				const o = [...s.options].find((o) => o.text.trim().replace(" ★", "") === text);
				if (!o) throw new Error("no " + text + " in " + id + ": " + [...s.options].map((o) => o.text).join(", "));
				s.value = o.value; };
			pick("sync-addressbook", "Family"); pick("sync-tag", "Family");
			const card = document.querySelector('[data-sync-card="contact"]');
			card.querySelector('input[name="enabled"]').checked = true;
			card.querySelector('form.form').submit(); })()`),
		chromedp.WaitVisible(chromedp.CSS(`.toast-success`)),
	)
	step("run sync now",
		chromedp.Click(chromedp.CSS(`[data-sync-card="contact"] form[action$="/sync"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`.toast-success`)),
	)
	// The run is a job: the contact list shows its result when it ends.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var page struct{ Items []struct{ Name string } }
		dana.JSON(t, "GET", "/api/v1/contacts?q=carl", nil, http.StatusOK, &page)
		if len(page.Items) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the address book's contact never arrived")
		}
		time.Sleep(100 * time.Millisecond)
	}
	step("the contact is in the list",
		chromedp.Navigate(s.URL+"/contacts?q=carl"),
		chromedp.WaitVisible(chromedp.CSS(`table`)),
	)
	if got := text(`table tbody`); !strings.Contains(got, "Carl Remote") {
		t.Errorf("contacts page %q", got)
	}
	step("the account page shows the last run",
		chromedp.Navigate(s.URL+"/profile/accounts"),
		chromedp.WaitVisible(chromedp.CSS(`.card .list`)),
	)
	if got := text(`.card .list`); !strings.Contains(got, "CalDAV") || strings.Contains(got, "Never") {
		t.Errorf("accounts list %q", got)
	}
}
