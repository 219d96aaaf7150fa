package ui_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	davc "github.com/tandem-crm/tandem/internal/connector/dav"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/testenv/davserver"
	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

// davBrowser is Dana signed in to Tandem in Chromium, with an account on
// a real Radicale to add from External accounts.
type davBrowser struct {
	t      *testing.T
	ctx    context.Context
	srv    *davserver.Server
	s      *tandemtest.Server
	dana   *tandemtest.Client
	chrome context.Context
	step   func(what string, actions ...chromedp.Action[chromedp.Void])
}

// startDAVBrowser starts Radicale, Tandem with Dana, and Chromium signed
// in as her. seed fills the server before Tandem starts.
func startDAVBrowser(t *testing.T, seed func(ctx context.Context, srv *davserver.Server) error) *davBrowser {
	t.Helper()
	d := &davBrowser{t: t, ctx: context.Background(), srv: davserver.Start(t, davserver.Radicale)}
	if err := seed(d.ctx, d.srv); err != nil {
		t.Fatal(err)
	}
	d.s = tandemtest.Start(t, tandemtest.Options{})
	d.s.Admin.JSON(t, "POST", "/api/v1/users", map[string]any{"email": "dana@example.com", "name": "Dana", "password": "user-password-1",
		"time_zone": "UTC", "language": "en", "role_ids": []string{}}, http.StatusCreated, nil)
	d.dana = d.s.Login(t, "dana@example.com", "user-password-1")
	d.chrome = newChrome(t, 120*time.Second)
	d.step = stepper(t, d.chrome)
	d.step("sign in", signIn(d.s.URL, "dana@example.com", "user-password-1")...)
	return d
}

// text is the visible text of the first element sel matches.
func (d *davBrowser) text(sel string) string {
	d.t.Helper()
	v, err := chromedp.Run(d.chrome, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		d.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(v)
}

// openAddForm opens the CalDAV/CardDAV form from External accounts.
func (d *davBrowser) openAddForm() {
	d.t.Helper()
	d.step("open the add form from External accounts",
		chromedp.Navigate(d.s.URL+"/profile/accounts"),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/profile/connect/dav"]`)),
		chromedp.Click(chromedp.CSS(`a[href="/profile/connect/dav"]`)),
		chromedp.WaitVisible(chromedp.ID("f-url")),
	)
}

// submitAccount types into the add form's fields (an empty value leaves
// the field as it is) and sends it; then waits for sel.
func (d *davBrowser) submitAccount(what, url, user, password, sel string) {
	d.t.Helper()
	var acts []chromedp.Action[chromedp.Void]
	for id, v := range map[string]string{"f-url": url, "f-username": user, "f-password": password} {
		if v != "" {
			acts = append(acts, chromedp.SendKeys(chromedp.ID(id), v))
		}
	}
	acts = append(acts, chromedp.Click(chromedp.CSS(`form[data-connect-password] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(sel)))
	d.step(what, acts...)
}

// connect adds the account and ends on its page.
func (d *davBrowser) connect() {
	d.t.Helper()
	d.openAddForm()
	d.submitAccount("connect", d.srv.URL(), d.srv.User(), d.srv.Password(), "#sync-addressbook")
	if got := d.text(".toast-success"); !strings.Contains(got, "Account connected") {
		d.t.Errorf("connected toast %q", got)
	}
}

// runSync presses a card's "Run sync now" on a fresh load of the
// account page, and waits until the page that follows the run (the only
// one with its event stream) says the run finished.
func (d *davBrowser) runSync(card string) {
	d.t.Helper()
	path, err := chromedp.Run(d.chrome, chromedp.Evaluate[string](`location.pathname`))
	if err != nil {
		d.t.Fatal(err)
	}
	d.step("run sync now",
		chromedp.Navigate(d.s.URL+path),
		chromedp.WaitVisible(chromedp.CSS(`[data-sync-card="`+card+`"] form[action$="/sync"] button`)),
		chromedp.Click(chromedp.CSS(`[data-sync-card="`+card+`"] form[action$="/sync"] button`)),
		chromedp.WaitReady(chromedp.CSS(`[data-sync-events]`)),
		chromedp.Poll[chromedp.Void](`!location.search.includes("run=") &&
			[...document.querySelectorAll(".toast-success")].some((t) => t.textContent.includes("Sync finished."))`,
			chromedp.WithPollingTimeout(60*time.Second)),
	)
}

// TestBrowserDAVAccount drives a CalDAV/CardDAV account in Chromium
// against a real Radicale: the user adds it from External accounts (a
// wrong password is refused with the reason, the address kept), picks
// the address book and the tag on the account page, runs sync now, and
// finds the address book's contact among her contacts, while her tagged
// contact is in the address book.
func TestBrowserDAVAccount(t *testing.T) {
	d := startDAVBrowser(t, func(ctx context.Context, srv *davserver.Server) error {
		book, err := srv.CreateAddressBook(ctx, "contacts", "Family")
		if err != nil {
			return err
		}
		if _, err := srv.CreateCalendar(ctx, "work", "Work", "VEVENT", "VTODO"); err != nil {
			return err
		}
		_, err = srv.Put(ctx, book+"carl.vcf", "text/vcard", []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:carl\r\n"+
			"FN:Carl Remote\r\nN:Remote;Carl;;;\r\nEMAIL:carl@remote.example\r\nEND:VCARD\r\n"))
		return err
	})
	t, srv, dana := d.t, d.srv, d.dana
	var tag struct{ ID string }
	dana.JSON(t, "POST", "/api/v1/tags", map[string]any{"name": "Family"}, http.StatusCreated, &tag)
	dana.JSON(t, "POST", "/api/v1/contacts", map[string]any{"name": "Ann Local", "tags": []string{tag.ID}}, http.StatusCreated, nil)

	d.openAddForm()
	d.submitAccount("a wrong password is refused", srv.URL(), srv.User(), "not-my-password", "#f-password-error")
	if got := d.text(`#f-password-error`); !strings.Contains(got, "refused the user name or password") {
		t.Errorf("wrong password message %q", got)
	}
	kept, err := chromedp.Run(d.chrome, chromedp.Value(chromedp.ID("f-url")))
	if err != nil || kept != srv.URL() {
		t.Errorf("the address was not kept: %q %v", kept, err)
	}
	d.submitAccount("the right password connects", "", "", srv.Password(), "#sync-addressbook")
	if got := d.text(".toast-success"); !strings.Contains(got, "Account connected") {
		t.Errorf("connected toast %q", got)
	}
	d.step("pick the address book and the tag, enable, save",
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
	d.runSync("contact")
	var page struct{ Items []struct{ Name string } }
	dana.JSON(t, "GET", "/api/v1/contacts?q=carl", nil, http.StatusOK, &page)
	if len(page.Items) != 1 {
		t.Fatalf("the address book's contact did not arrive: %+v", page.Items)
	}
	d.step("the contact is in the list",
		chromedp.Navigate(d.s.URL+"/contacts?q=carl"),
		chromedp.WaitVisible(chromedp.CSS(`table`)),
	)
	if got := d.text(`table tbody`); !strings.Contains(got, "Carl Remote") {
		t.Errorf("contacts page %q", got)
	}
	d.step("the account page shows the last run",
		chromedp.Navigate(d.s.URL+"/profile/accounts"),
		chromedp.WaitVisible(chromedp.CSS(`.card .list`)),
	)
	if got := d.text(`.card .list`); !strings.Contains(got, "CalDAV") || strings.Contains(got, "Never") {
		t.Errorf("accounts list %q", got)
	}
}

// icsEvent is a one-hour event from another client.
func icsEvent(uid, title string, at time.Time) []byte {
	at = at.UTC()
	return []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Tandem tests//EN\r\nBEGIN:VEVENT\r\nUID:" + uid + "\r\n" +
		"DTSTAMP:" + at.Format("20060102T150405Z") + "\r\nDTSTART:" + at.Format("20060102T150405Z") + "\r\n" +
		"DTEND:" + at.Add(time.Hour).Format("20060102T150405Z") + "\r\nSUMMARY:" + title + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
}

// TestBrowserDAVCalendars: on a CalDAV account with two calendars, the
// user ticks both in the calendar card and picks the second as home,
// runs sync, and sees each calendar's run on the page, the second marked
// home; each calendar's event came in; a new activity then goes to the
// home calendar alone.
func TestBrowserDAVCalendars(t *testing.T) {
	start := time.Now().UTC().Truncate(time.Hour).Add(48 * time.Hour)
	var work, personal string
	d := startDAVBrowser(t, func(ctx context.Context, srv *davserver.Server) (err error) {
		if work, err = srv.CreateCalendar(ctx, "work", "Work", "VEVENT"); err != nil {
			return err
		}
		if personal, err = srv.CreateCalendar(ctx, "personal", "Personal", "VEVENT"); err != nil {
			return err
		}
		if _, err = srv.Put(ctx, work+"standup-1.ics", davc.ICalendarType, icsEvent("standup-1", "Standup", start)); err != nil {
			return err
		}
		_, err = srv.Put(ctx, personal+"dentist-1.ics", davc.ICalendarType, icsEvent("dentist-1", "Dentist", start.Add(3*time.Hour)))
		return err
	})
	d.connect()
	d.step("tick both calendars, the second one home, enable, save",
		chromedp.Evaluate[chromedp.Void](`(() => {
			const card = document.querySelector('[data-sync-card="event"]');
			const rows = [...card.querySelectorAll("[data-pick-several] li")];
			const row = (name) => { const r = rows.find((r) => r.textContent.includes(name));
				if (!r) throw new Error("no calendar " + name + ": " + rows.map((r) => r.textContent).join(" | "));
				return r; };
			for (const name of ["Work", "Personal"]) row(name).querySelector('input[name="calendar_ids"]').click();
			row("Personal").querySelector('input[name="calendar_id"]').click();
			card.querySelector('input[name="enabled"]').checked = true;
			card.querySelector('form.form button[type="submit"]').click(); })()`),
		chromedp.WaitVisible(chromedp.CSS(`[data-sync-card="event"] [data-picked]`)),
	)
	if got := d.text(".toast-success"); !strings.Contains(got, "Sync settings saved") {
		t.Errorf("saved toast %q", got)
	}
	d.runSync("event")

	// The page: both calendars with their run, the second one home.
	picked, err := chromedp.Run(d.chrome, chromedp.Evaluate[map[string]string](`Object.fromEntries(
		[...document.querySelectorAll('[data-sync-card="event"] [data-picked]')].map((li) =>
			[li.dataset.picked, (li.querySelector("[data-home]") ? "home " : "") + li.textContent.replace(/\s+/g, " ").trim()]))`))
	if err != nil {
		t.Fatal(err)
	}
	for coll, want := range map[string]string{work: "Work", personal: "home Personal"} {
		if got := picked[coll]; !strings.HasPrefix(got, want+" ") || !strings.Contains(got, "here: +1,") {
			t.Errorf("the card shows %q for %s, want %q with one event brought here", got, coll, want)
		}
	}
	if len(picked) != 2 {
		t.Errorf("the card lists %v", picked)
	}

	// Each calendar's event came in.
	titles := func() map[string]string {
		t.Helper()
		var acts struct{ Items []struct{ ID, Title string } }
		d.dana.JSON(t, "GET", "/api/v1/activities?limit=100", nil, http.StatusOK, &acts)
		out := map[string]string{}
		for _, a := range acts.Items {
			out[a.Title] = a.ID
		}
		return out
	}
	if got := titles(); len(got) != 2 || got["Standup"] == "" || got["Dentist"] == "" {
		t.Fatalf("activities after the run: %v", got)
	}

	// A new activity goes to the home calendar only.
	var planning struct{ ID string }
	d.dana.JSON(t, "POST", "/api/v1/activities", map[string]any{"type": "meeting", "title": "Planning", "show_in_calendar": true,
		"start": start.Add(6 * time.Hour).Format(time.RFC3339), "end": start.Add(7 * time.Hour).Format(time.RFC3339)},
		http.StatusCreated, &planning)
	d.runSync("event")
	dc, err := davc.New(davc.Config{URL: d.srv.URL(), Username: d.srv.User(), Password: d.srv.Password()})
	if err != nil {
		t.Fatal(err)
	}
	holds := func(coll, title string) bool {
		t.Helper()
		res, err := dc.SyncAll(d.ctx, coll, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		var hrefs []string
		for _, it := range res.Changed {
			hrefs = append(hrefs, it.Href)
		}
		objs, _, err := dc.MultiGet(d.ctx, davc.Calendar, coll, hrefs)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			if bytes.Contains(o.Data, []byte("SUMMARY:"+title+"\r\n")) {
				return true
			}
		}
		return false
	}
	if !holds(personal, "Planning") || holds(work, "Planning") {
		t.Errorf("the new activity is in Personal %v, in Work %v; want the home calendar alone",
			holds(personal, "Planning"), holds(work, "Planning"))
	}
	// The store agrees: the home calendar's binding links it, the other's
	// does not.
	conns, err := d.s.App.Store.ListConnections(d.ctx, d.dana.UserID)
	if err != nil || len(conns) != 1 {
		t.Fatalf("connections %v %v", conns, err)
	}
	bs, err := d.s.App.Store.ListBindings(d.ctx, conns[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		if b.Kind != "event" || (b.Collection != work && b.Collection != personal) {
			continue
		}
		l, err := d.s.App.Store.FindLink(d.ctx, b.ID, "local_id", planning.ID)
		switch {
		case b.Collection == personal && (err != nil || l.Pending):
			t.Errorf("the home calendar's link of the new activity: %+v %v", l, err)
		case b.Collection == work && !errors.Is(err, store.ErrNotFound):
			t.Errorf("the other calendar links the new activity: %+v %v", l, err)
		}
	}
}
