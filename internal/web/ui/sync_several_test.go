package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/crmsync"
	"github.com/tandem-crm/tandem/internal/provider"
	"github.com/tandem-crm/tandem/internal/provider/providertest"
	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/syncer"
	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

// TestSeveralCalendarsCard: on an account that syncs several calendars,
// the card offers a box per calendar and a home choice; saving two with
// one home makes a binding each, the home one exporting all; the card
// says which is home; the preview of an event moved between them shows
// one activity moving, with why; choosing another home moves the mark
// and nothing else; leaving one out unsubscribes it.
func TestSeveralCalendarsCard(t *testing.T) {
	ctx := context.Background()
	fake := providertest.New("fakedav",
		provider.Collection{ID: "cal-work", Name: "Work desk", Primary: true},
		provider.Collection{ID: "cal-home", Name: "Home desk"})
	fake.SetSeveral(true)
	s := tandemtest.Start(t, tandemtest.Options{Providers: []provider.Provider{fake}})
	conn := &store.Connection{UserID: s.Admin.UserID, Provider: fake.Name(), AccountEmail: tandemtest.AdminEmail}
	if err := s.App.Store.CreateConnection(ctx, conn, ""); err != nil {
		t.Fatal(err)
	}
	b := s.Browser(t, tandemtest.AdminEmail, tandemtest.AdminPassword)
	page := "/profile/accounts/" + conn.ID
	p := b.Get(t, page)
	for _, want := range []string{`name="calendar_ids" value="cal-work"`, `name="calendar_ids" value="cal-home"`,
		`name="calendar_id" value="cal-home"`, "Fake DAV calendars", "choose the home one"} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("the card lacks %q", want)
		}
	}
	from := time.Now().UTC().AddDate(0, 0, -7).Format("2006-01-02")
	form := func(home string, picks ...string) url.Values {
		return url.Values{"enabled": {"1"}, "calendar_id": {home}, "calendar_ids": picks, "sync_from": {from},
			"period_minutes": {"15"}, "import_as": {"meeting"}}
	}
	// A home calendar that does not sync is refused, and the form keeps
	// what was ticked.
	p = b.Post(t, page+"/calendar", form("cal-home", "cal-work"))
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "The home one must be among those that sync") {
		t.Fatalf("a home calendar left out: %d", p.Status)
	}
	p = b.Post(t, page+"/calendar", form("cal-home", "cal-work", "cal-home"))
	if !strings.Contains(p.Body, "Sync settings saved") {
		t.Fatalf("two calendars not saved: %d", p.Status)
	}
	exports := func() map[string]crmsync.ExportScope {
		t.Helper()
		bs, err := s.App.Store.ListBindings(ctx, conn.ID)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]crmsync.ExportScope{}
		for _, b := range bs {
			set, err := syncer.DecodeSettings(provider.Event, b.Policy)
			if err != nil {
				t.Fatal(err)
			}
			if es := set.(*syncer.EventSettings); es.Current && b.Enabled {
				out[b.Collection] = es.Export
			}
		}
		return out
	}
	if got := exports(); len(got) != 2 || got["cal-home"] != crmsync.ExportAll || got["cal-work"] != crmsync.ExportOwn {
		t.Fatalf("bindings %v, want the home calendar exporting all and the other its own", got)
	}
	p = b.Get(t, page)
	home := p.Body[strings.Index(p.Body, `data-picked="cal-home"`):]
	if !strings.Contains(p.Body, "Calendars that sync") || !strings.Contains(home[:strings.Index(home, "</li>")], "data-home") {
		t.Fatalf("the card does not say which calendar is home")
	}
	if !strings.Contains(p.Body, `name="calendar_id" value="cal-home" checked`) ||
		strings.Contains(p.Body, `name="calendar_id" value="cal-work" checked`) {
		t.Error("the home choice is not shown checked")
	}

	// An event moved on the server from one calendar to the other: the
	// preview shows it moving, once, as the run then does (and the
	// organizer the run sends back with it), no create, no delete.
	at := time.Now().UTC().Truncate(time.Hour).Add(48 * time.Hour)
	fake.Calendar("cal-work").Put("dentist", reconcile.Fields{reconcile.FieldTitle: "Dentist",
		reconcile.FieldStart: reconcile.FormatEventTime(at, false), reconcile.FieldEnd: reconcile.FormatEventTime(at.Add(time.Hour), false),
		reconcile.FieldTimeZone: "UTC"})
	if _, err := s.App.Sync.RunConnection(ctx, conn.ID); err != nil {
		t.Fatal(err)
	}
	fake.Calendar("cal-work").MoveTo("dentist", fake.Calendar("cal-home"))
	p = b.Post(t, page+"/preview", nil)
	card := p.Body[strings.Index(p.Body, `data-sync-card="event"`):]
	card = card[strings.Index(card, "What a sync would do"):]
	card = card[:strings.Index(card, "</ul>")]
	if n, m := strings.Count(card, "moved here from another calendar"), strings.Count(card, "moved to another calendar"); n != 1 || m != 1 ||
		strings.Contains(card, "</span> created") || strings.Contains(card, "</span> deleted") ||
		strings.Count(card, "<li>") != strings.Count(card, "<strong>Dentist</strong>") {
		t.Errorf("the preview of a move lists %q", card)
	}

	// Another home: the marks move, both still sync.
	b.Post(t, page+"/calendar", form("cal-work", "cal-work", "cal-home"))
	if got := exports(); len(got) != 2 || got["cal-work"] != crmsync.ExportAll || got["cal-home"] != crmsync.ExportOwn {
		t.Fatalf("after choosing another home: %v", got)
	}
	// Left out: unsubscribed.
	b.Post(t, page+"/calendar", form("cal-work", "cal-work"))
	if got := exports(); len(got) != 1 || got["cal-work"] != crmsync.ExportAll {
		t.Fatalf("after leaving one out: %v", got)
	}

	// In Russian too.
	s.Admin.JSON(t, "PATCH", "/api/v1/users/"+s.Admin.UserID, map[string]any{"language": "ru"}, http.StatusOK, nil)
	p = s.Browser(t, tandemtest.AdminEmail, tandemtest.AdminPassword).Get(t, page)
	if !strings.Contains(p.Body, "Основной") || !strings.Contains(p.Body, "Синхронизируемые календари") {
		t.Error("the card is not in Russian")
	}
}
