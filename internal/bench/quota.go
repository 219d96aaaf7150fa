package bench

import (
	"fmt"
	"time"

	"github.com/tandem-crm/tandem/internal/emulator/google"
)

// batchCreateMax is how many contacts one people.batchCreateContacts call
// creates at most.
const batchCreateMax = 200

const quotaFloorModel = "the emulator's quota model (google.Quotas.Floor: per-user sliding one-minute window per quota, in Google's published units: " +
	"createContact = 1 critical read + 1 critical write, batchCreateContacts = 6 + 6 for ≤200 contacts); " +
	"floor_s is the faster of one contact a call and 200 a call, setup calls not counted; floor_of_calls_s is the floor of the calls the run made"

// quotaFloor is the least time the quotas q allow for creating n contacts
// in Google: the faster of the two plans, one contact a call
// (people.createContact) or 200 a call (people.batchCreateContacts), by
// the emulator's own model. A plan the quotas rule out (a call costing
// more than a minute's units) does not count; with none left it is an
// error.
func quotaFloor(n int, q google.Quotas) (time.Duration, error) {
	if n <= 0 {
		return 0, nil
	}
	best, found := time.Duration(0), false
	for _, calls := range []map[string]int{
		{"people.createContact": n},
		{"people.batchCreateContacts": (n + batchCreateMax - 1) / batchCreateMax},
	} {
		f, err := q.Floor(calls)
		if err != nil {
			continue
		}
		if !found || f < best {
			best, found = f, true
		}
	}
	if !found {
		return 0, fmt.Errorf("quotas %+v allow no contact creation", q)
	}
	return best, nil
}
