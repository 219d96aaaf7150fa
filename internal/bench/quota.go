package bench

import (
	"fmt"
	"math"
	"time"
)

// fallbackQuotas are the quotas of the quota run when the emulator starts
// with none on (an emulator from before quotas were on by default): the
// per-minute-per-user ceilings seen in the wild for the People API
// (shared/reference/apis.md §1.5: critical reads 60–90, critical writes
// 30–60, contact-group reads 90, other writes 30).
var fallbackQuotas = Quotas{PeopleCriticalReads: 90, PeopleCriticalWrites: 60, PeopleWrites: 30, PeopleGroupReads: 90}

// Google's cost of each way to create contacts, in quota units per call
// (apis.md §1.5): people.createContact is 1 critical read + 1 critical
// write for one contact; people.batchCreateContacts is 6 + 6 for up to 200.
const (
	batchCreateMax         = 200
	batchCreateUnits       = 6
	singleCreateUnits      = 1
	quotaWindow            = time.Minute
	quotaFloorModelSummary = "per-user sliding one-minute window per metric; createContact = 1 critical read + 1 critical write per contact, " +
		"batchCreateContacts = 6 critical reads + 6 critical writes per call of ≤200 contacts; the faster plan counts; setup calls (group, first listing) not counted"
)

// quotaFloor is the least time the quotas q allow for creating n contacts
// in Google: with a sliding one-minute window per metric, a limit of L
// units a minute and u units a call, k = ⌊L/u⌋ calls fit in any minute, so
// call i (from 0) can start no sooner than ⌊i/k⌋ minutes after the first.
// The floor is the start of the last call under the faster of the two
// plans (one contact a call, or 200 a batch), the calls themselves taking
// no time; a plan a quota rules out (k = 0) does not count. It returns 0
// with no limit on either metric, and an error when no plan fits.
func quotaFloor(n int, q Quotas) (time.Duration, error) {
	if n <= 0 {
		return 0, nil
	}
	best := time.Duration(math.MaxInt64)
	for _, plan := range []struct{ perCall, units int }{{1, singleCreateUnits}, {batchCreateMax, batchCreateUnits}} {
		calls := (n + plan.perCall - 1) / plan.perCall
		k := math.MaxInt
		for _, limit := range []int{q.PeopleCriticalReads, q.PeopleCriticalWrites} {
			if limit > 0 {
				k = min(k, limit/plan.units)
			}
		}
		if k == 0 {
			continue
		}
		best = min(best, time.Duration((calls-1)/k)*quotaWindow)
	}
	if best == time.Duration(math.MaxInt64) {
		return 0, fmt.Errorf("quotas %+v allow no contact creation", q)
	}
	return best, nil
}
