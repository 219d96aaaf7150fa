package demo

import (
	"fmt"
	"strings"

	"github.com/tandem-crm/tandem/internal/emulator/google"
	"github.com/tandem-crm/tandem/internal/reconcile"
)

// printSummary tells where the demo runs, how to sign in, what the first
// sync did and what to try.
func (d *demo) printSummary(first firstSync) {
	w, in := d.o.Out, d.info
	var users []string
	for _, u := range google.DemoUsers {
		users = append(users, u.Email)
	}
	data := "removed when the demo stops"
	if d.o.Keep {
		data = "kept after the demo stops (--keep)"
	}
	account := in.URL + "/profile/accounts/" + in.ConnectionID
	fmt.Fprintf(w, `
Tandem demo is running.

  Open      %s
  Sign in   %s
  Password  %s
  Google    emulator at %s with the accounts %s
  Data      %s (%s)

Your Google account %s is connected and syncs both ways. First sync:
  Contacts  tag “%s” in Tandem ⇄ group “%s” in Google: %s
  Calendar  calendar %s from %s: %s

Things to try:
  1. Contacts: Erin Eckert came from the “%s” group in Google; Nina Novak and Oleg Orlov,
     tagged “%s” in Tandem, went to it. Edit Nina, then press “Run sync now” on
     %s
     Her card's “Sync history” shows what went where.
  2. Tag Paula Perez “%s”, press “Preview” on the same page to see what a run would do,
     then run it: she joins the group in Google.
  3. Calendar (%s/calendar): your meetings next to the Google events, the weekly series
     on both sides. Move “Kick-off with Northwind” and run sync again.
`, in.URL, in.Email, in.Password, in.GoogleURL, strings.Join(users, " and "), in.DataDir, data,
		in.GoogleAccount, tagName, groupName, statsLine(first.Contacts), d.calendar, d.syncFrom, statsLine(first.Calendar),
		groupName, tagName, account, tagName, in.URL)
	n := 4
	if d.o.Input != nil {
		fmt.Fprintf(w, "  %d. Press Enter here: Alice changes something in Google (moves an event, edits a\n"+
			"     contact, adds one to the group, …). “Run sync now” brings it into Tandem.\n", n)
		n++
	}
	fmt.Fprintf(w, `  %d. Add a second Google account under Profile → External accounts: the emulator's
     consent page offers bob@example.com.
  %d. Russian: the user menu (top right) → Language → Русский, or Profile.

Automatic runs every %d minutes; Administration → Jobs lists them. Press Ctrl-C to stop.
`, n, n+1, syncPeriod)
}

// statsLine says what a run did, in the words of the two sides.
func statsLine(s reconcile.Stats) string {
	var parts []string
	for _, p := range []struct {
		n    int
		what string
	}{
		{s.Pulled, "read from Google"},
		{s.LocalCreated, "created in Tandem"},
		{s.LocalUpdated, "updated in Tandem"},
		{s.LocalRemoved, "removed in Tandem"},
		{s.RemoteCreated, "created in Google"},
		{s.RemoteUpdated, "updated in Google"},
		{s.RemoteRemoved, "removed in Google"},
		{s.Conflicts, "conflicts"},
		{s.Skipped, "skipped"},
	} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.what))
		}
	}
	if len(parts) == 0 {
		return "nothing to do"
	}
	return strings.Join(parts, ", ")
}
