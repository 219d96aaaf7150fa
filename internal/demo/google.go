package demo

import (
	"errors"
	"fmt"
	"time"

	"github.com/tandem-crm/tandem/internal/emulator/google"
)

// The Google side of the demo: the emulator's seeded accounts, plus what
// the demo account does in Google before and during the demo.

// prepareGoogle has the demo account put one of its contacts into the
// group Tandem syncs, so the first sync brings a contact into Tandem.
func prepareGoogle(emu *google.Server) error {
	grp, err := emu.CreateContactGroup(GoogleAccount, groupName)
	if err != nil {
		return err
	}
	erin, err := personNamed(emu, "Erin")
	if err != nil {
		return err
	}
	return emu.ModifyGroupMembers(GoogleAccount, grp, []string{erin}, nil)
}

// change is a scripted change in Google, made as the demo account would
// in Google Contacts or Calendar.
type change struct {
	what string // "Alice moved …", completing "In Google, "
	do   func(*google.Server) error
}

// googleChanges are the changes the demo makes in Google, one per Enter.
func googleChanges(now time.Time) []change {
	return []change{
		{"Alice moved “Call with Carla Castillo” one hour later", func(emu *google.Server) error {
			id, ev, err := eventTitled(emu, "Call with Carla Castillo")
			if err != nil {
				return err
			}
			patch := map[string]any{}
			for _, k := range []string{"start", "end"} {
				when, _ := ev[k].(map[string]any)
				t, err := time.Parse(time.RFC3339, fmt.Sprint(when["dateTime"]))
				if err != nil {
					return fmt.Errorf("event %s: %w", k, err)
				}
				patch[k] = map[string]any{"dateTime": t.Add(time.Hour).Format(time.RFC3339), "timeZone": when["timeZone"]}
			}
			return emu.PatchEvent(GoogleAccount, "primary", id, patch)
		}},
		{"Alice changed Nina Novak's phone number", func(emu *google.Server) error {
			rn, err := personNamed(emu, "Nina")
			if err != nil {
				return err
			}
			return emu.UpdateContact(GoogleAccount, rn, map[string]any{
				"phoneNumbers": []any{map[string]any{"value": "+49 30 5550 199", "type": "work"}}}, "phoneNumbers")
		}},
		{"Alice added Dmitri Dorn to her “" + groupName + "” contact group", func(emu *google.Server) error {
			grp, err := groupNamed(emu, groupName)
			if err != nil {
				return err
			}
			rn, err := personNamed(emu, "Dmitri")
			if err != nil {
				return err
			}
			return emu.ModifyGroupMembers(GoogleAccount, grp, []string{rn}, nil)
		}},
		{"Alice put “Lunch with Dmitri Dorn” in her calendar the day after tomorrow", func(emu *google.Server) error {
			loc, err := time.LoadLocation(zone)
			if err != nil {
				return err
			}
			n := now.In(loc)
			start := time.Date(n.Year(), n.Month(), n.Day()+2, 12, 30, 0, 0, loc)
			_, err = emu.InsertEvent(GoogleAccount, "primary", map[string]any{"summary": "Lunch with Dmitri Dorn",
				"location": "Café Einstein",
				"start":    map[string]any{"dateTime": start.Format(time.RFC3339), "timeZone": zone},
				"end":      map[string]any{"dateTime": start.Add(time.Hour).Format(time.RFC3339), "timeZone": zone}})
			return err
		}},
		{"Alice cancelled next week's “Team sync” (one occurrence of a weekly series)", func(emu *google.Server) error {
			id, ev, err := eventTitled(emu, "Team sync")
			if err != nil {
				return err
			}
			when, _ := ev["start"].(map[string]any)
			first, err := time.Parse(time.RFC3339, fmt.Sprint(when["dateTime"]))
			if err != nil {
				return fmt.Errorf("event start: %w", err)
			}
			loc, err := time.LoadLocation(zone)
			if err != nil {
				return err
			}
			// The seeded series starts a week ago: its third occurrence
			// is next week's, at the same wall-clock time in Berlin.
			third := first.In(loc).AddDate(0, 0, 14)
			return emu.DeleteEvent(GoogleAccount, "primary", id+"_"+third.UTC().Format("20060102T150405Z"))
		}},
	}
}

// personNamed returns the resource name of the demo account's contact with
// that given name.
func personNamed(emu *google.Server, given string) (string, error) {
	for _, p := range emu.People(GoogleAccount) {
		names, _ := p["names"].([]any)
		for _, n := range names {
			if m, _ := n.(map[string]any); m["givenName"] == given {
				return fmt.Sprint(p["resourceName"]), nil
			}
		}
	}
	return "", fmt.Errorf("no contact named %s in Google", given)
}

func groupNamed(emu *google.Server, name string) (string, error) {
	for _, g := range emu.ContactGroups(GoogleAccount) {
		if g["name"] == name {
			return fmt.Sprint(g["resourceName"]), nil
		}
	}
	return "", fmt.Errorf("no contact group %q in Google", name)
}

// eventTitled returns the demo account's event with that title.
func eventTitled(emu *google.Server, summary string) (string, map[string]any, error) {
	for _, e := range emu.Events(GoogleAccount, "primary") {
		if e["summary"] == summary && e["recurringEventId"] == nil {
			return fmt.Sprint(e["id"]), e, nil
		}
	}
	return "", nil, errors.New("no event “" + summary + "” in Google")
}
