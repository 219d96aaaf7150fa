package google

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"google.golang.org/api/people/v1"

	"github.com/tandem-crm/tandem/internal/reconcile"
)

// Batch sizes of the People API (apis.md §1.3, §1.4).
const (
	maxBatchContacts = 200  // batchCreateContacts, batchUpdateContacts, getBatchGet
	maxModifyNames   = 1000 // contactGroups.members.modify
)

// MaxBatch implements reconcile.BatchWriter: what batchCreateContacts and
// batchUpdateContacts take. DeleteMany takes any number and sends 1,000
// removals per request.
func (c *Contacts) MaxBatch() int { return maxBatchContacts }

// CreateMany implements reconcile.BatchWriter with people:batchCreateContacts,
// 200 contacts a request, each joining the group in its own body. A batch
// Google refuses whole (one invalid contact fails them all) is sent again
// one contact at a time, so only the invalid one fails.
func (c *Contacts) CreateMany(ctx context.Context, creates []reconcile.NewItem) ([]reconcile.Result, error) {
	results := make([]reconcile.Result, len(creates))
	for lo := 0; lo < len(creates); lo += maxBatchContacts {
		chunk := creates[lo:min(lo+maxBatchContacts, len(creates))]
		if err := c.createChunk(ctx, chunk, results[lo:]); err != nil {
			return nil, err
		}
	}
	return results, nil
}

func (c *Contacts) newPerson(f reconcile.Fields, marker string) *people.Person {
	p := &people.Person{Memberships: []*people.Membership{{ContactGroupMembership: &people.ContactGroupMembership{
		ContactGroupResourceName: c.group}}}}
	applyFields(p, f, marker)
	return p
}

func (c *Contacts) createChunk(ctx context.Context, chunk []reconcile.NewItem, results []reconcile.Result) error {
	req := &people.BatchCreateContactsRequest{ReadMask: personFields}
	for _, it := range chunk {
		req.Contacts = append(req.Contacts, &people.ContactToCreate{ContactPerson: c.newPerson(it.Fields, it.Marker)})
	}
	resp, err := c.svc.People.BatchCreateContacts(req).Context(ctx).Do()
	if err != nil {
		if !refusedItems(err) {
			return fmt.Errorf("create contacts: %w", err)
		}
		for i, it := range chunk {
			results[i].Item, results[i].Err = c.Create(ctx, it.Fields, it.Marker)
			if results[i].Err != nil && !refusedItems(results[i].Err) {
				return results[i].Err
			}
		}
		return nil
	}
	// Answers come in the order of the request; the marker, unique to
	// each create, checks it.
	if len(resp.CreatedPeople) != len(chunk) {
		return fmt.Errorf("create contacts: %d answers for %d contacts", len(resp.CreatedPeople), len(chunk))
	}
	for i, pr := range resp.CreatedPeople {
		if err := personResponseErr(pr); err != nil {
			results[i].Err = &reconcile.ItemError{Err: fmt.Errorf("create contact: %w", err)}
			continue
		}
		it := c.item(pr.Person)
		if it.Marker != chunk[i].Marker {
			return fmt.Errorf("create contacts: answer %d carries marker %q, want %q", i, it.Marker, chunk[i].Marker)
		}
		results[i].Item = it
	}
	return nil
}

// UpdateMany implements reconcile.BatchWriter with people:batchUpdateContacts,
// 200 contacts a request. The organizations Tandem keeps (see Update) of
// persons the connector has not seen at the given etag are read with
// people:batchGet, one read per batch; an etag that moved on there fails
// its item with ErrPrecondition. Google refuses a batch update whole when
// one contact fails (a stale etag: someone edited it since); its error
// names the failed contacts, which get their error while the others are
// sent again.
func (c *Contacts) UpdateMany(ctx context.Context, updates []reconcile.Change) ([]reconcile.Result, error) {
	results := make([]reconcile.Result, len(updates))
	for lo := 0; lo < len(updates); lo += maxBatchContacts {
		hi := min(lo+maxBatchContacts, len(updates))
		if err := c.updateChunk(ctx, updates[lo:hi], results[lo:hi]); err != nil {
			return nil, err
		}
	}
	return results, nil
}

func (c *Contacts) updateChunk(ctx context.Context, chunk []reconcile.Change, results []reconcile.Result) error {
	bodies := make([]*people.Person, len(chunk))
	var unknown []int
	for i, u := range chunk {
		if k, ok := c.keptAt(u.RemoteID, u.ETag); ok {
			bodies[i] = updatePerson(u.ETag, k, u.Fields)
		} else {
			unknown = append(unknown, i)
		}
	}
	if len(unknown) > 0 {
		names := make([]string, 0, len(unknown))
		for _, i := range unknown {
			if !slices.Contains(names, chunk[i].RemoteID) {
				names = append(names, chunk[i].RemoteID)
			}
		}
		resp, err := c.svc.People.GetBatchGet().ResourceNames(names...).PersonFields(keptFields).Context(ctx).Do()
		if err != nil {
			return fmt.Errorf("read contacts: %w", err)
		}
		found := map[string]*people.Person{}
		for _, pr := range resp.Responses {
			if personResponseErr(pr) == nil && pr.Person != nil {
				found[pr.RequestedResourceName] = pr.Person
			}
		}
		for _, i := range unknown {
			p, ok := found[chunk[i].RemoteID]
			switch {
			case !ok:
				results[i].Err = reconcile.ErrRemoteNotFound
			case p.Etag != chunk[i].ETag:
				results[i].Err = reconcile.ErrPrecondition
			default:
				bodies[i] = updatePerson(chunk[i].ETag, keptOf(p), chunk[i].Fields)
			}
		}
	}
	var pending []int
	for i := range chunk {
		if bodies[i] != nil {
			pending = append(pending, i)
		}
	}
	for len(pending) > 0 {
		// One write per contact a request: a contact named twice waits
		// for the next round.
		round, next := map[string]int{}, []int(nil)
		for _, i := range pending {
			if _, dup := round[chunk[i].RemoteID]; dup {
				next = append(next, i)
				continue
			}
			round[chunk[i].RemoteID] = i
		}
		failed, err := c.updateRound(ctx, chunk, bodies, round, results)
		if err != nil {
			return err
		}
		if failed == nil {
			pending = next
			continue
		}
		// Refused whole without saying which contact: one at a time.
		for _, i := range failed {
			results[i].Item, results[i].Err = c.update(ctx, chunk[i].RemoteID, bodies[i])
			if results[i].Err != nil && !itemErr(results[i].Err) {
				return results[i].Err
			}
		}
		pending = next
	}
	return nil
}

// updateRound sends one batch update of round (resource name → index) and
// fills results. Contacts Google names as failed get their error and the
// rest are sent again; failed lists the contacts of a batch refused
// without naming any.
func (c *Contacts) updateRound(ctx context.Context, chunk []reconcile.Change, bodies []*people.Person, round map[string]int, results []reconcile.Result) (failed []int, err error) {
	for len(round) > 0 {
		req := &people.BatchUpdateContactsRequest{Contacts: map[string]people.Person{}, UpdateMask: updateFields, ReadMask: personFields}
		for rn, i := range round {
			req.Contacts[rn] = *bodies[i]
		}
		resp, err := c.svc.People.BatchUpdateContacts(req).Context(ctx).Do()
		if err == nil {
			for rn, i := range round {
				pr, ok := resp.UpdateResult[rn]
				switch {
				case !ok || pr.Person == nil:
					results[i].Err = fmt.Errorf("update contacts: no answer for %s", rn)
				case personResponseErr(&pr) != nil:
					results[i].Err = c.statusErr(personResponseErr(&pr))
				default:
					results[i].Item = c.item(pr.Person)
				}
			}
			return nil, nil
		}
		if !refusedItems(err) {
			return nil, fmt.Errorf("update contacts: %w", err)
		}
		named := contactErrors(err)
		refused := 0
		for rn, st := range named {
			if i, ok := round[rn]; ok {
				results[i].Err = c.statusErr(st)
				delete(round, rn)
				refused++
			}
		}
		if refused == 0 {
			for _, i := range round {
				failed = append(failed, i)
			}
			slices.Sort(failed)
			return failed, nil
		}
	}
	return nil, nil
}

// DeleteMany implements reconcile.BatchWriter: the contacts leave the
// group through contactGroups/{id}/members:modify, 1,000 a request, and
// stay in Google (see Delete). Those whose only group was Tandem's join My
// Contacts first, batched the same way.
func (c *Contacts) DeleteMany(ctx context.Context, items []reconcile.Ref) ([]error, error) {
	errs := make([]error, len(items))
	for lo := 0; lo < len(items); lo += maxModifyNames {
		hi := min(lo+maxModifyNames, len(items))
		if err := c.leaveChunk(ctx, items[lo:hi], errs[lo:hi]); err != nil {
			return nil, err
		}
	}
	return errs, nil
}

func (c *Contacts) leaveChunk(ctx context.Context, chunk []reconcile.Ref, errs []error) error {
	var names []string
	for _, r := range chunk {
		if !slices.Contains(names, r.RemoteID) {
			names = append(names, r.RemoteID)
		}
	}
	notFound, lastGroup, err := c.modifyMany(ctx, c.group, nil, names)
	if err != nil {
		return c.leaveFailed(err, errs)
	}
	if len(lastGroup) > 0 {
		// A Google contact keeps a group: these move to My Contacts.
		if _, _, err := c.modifyMany(ctx, myContacts, lastGroup, nil); err != nil {
			return c.leaveFailed(err, errs)
		}
		var nf []string
		if nf, lastGroup, err = c.modifyMany(ctx, c.group, nil, lastGroup); err != nil {
			return c.leaveFailed(err, errs)
		}
		notFound = append(notFound, nf...)
	}
	for i, r := range chunk {
		switch {
		case slices.Contains(notFound, r.RemoteID):
			errs[i] = reconcile.ErrRemoteNotFound
		case slices.Contains(lastGroup, r.RemoteID):
			errs[i] = &reconcile.ItemError{Err: fmt.Errorf("leave group: %s cannot leave its last contact group", r.RemoteID)}
		}
	}
	return nil
}

// leaveFailed answers a members:modify that failed: as Delete would for
// each item when Google's answer is about the items (the group is gone:
// not found), else the whole call fails.
func (c *Contacts) leaveFailed(err error, errs []error) error {
	mapped := c.mapErr("leave group", err)
	if !errors.Is(mapped, reconcile.ErrRemoteNotFound) {
		return mapped
	}
	for i := range errs {
		errs[i] = mapped
	}
	return nil
}

func (c *Contacts) modifyMany(ctx context.Context, group string, add, remove []string) (notFound, lastGroup []string, err error) {
	resp, err := c.svc.ContactGroups.Members.Modify(group, &people.ModifyContactGroupMembersRequest{
		ResourceNamesToAdd: add, ResourceNamesToRemove: remove}).Context(ctx).Do()
	if err != nil {
		return nil, nil, err
	}
	return resp.NotFoundResourceNames, resp.CanNotRemoveLastContactGroupResourceNames, nil
}

// refusedItems reports whether Google refused a request for what it
// carried (a 4xx other than a rate limit or auth), not for the call itself.
func refusedItems(err error) bool {
	ge := apiError(err)
	if ge == nil || RateLimited(err) {
		return false
	}
	switch ge.Code {
	case http.StatusBadRequest, http.StatusNotFound, http.StatusPreconditionFailed, http.StatusConflict:
		return true
	}
	return false
}

// itemErr reports whether a single write's error stands for its item only.
func itemErr(err error) bool {
	var ie *reconcile.ItemError
	return errors.Is(err, reconcile.ErrPrecondition) || errors.Is(err, reconcile.ErrRemoteNotFound) || errors.As(err, &ie) || refusedItems(err)
}

// personStatus is one contact's status in a batch answer.
type personStatus struct {
	code    int64 // google.rpc.Code
	message string
}

func (s *personStatus) Error() string { return fmt.Sprintf("%s (code %d)", s.message, s.code) }

func personResponseErr(pr *people.PersonResponse) *personStatus {
	if pr.Status != nil && pr.Status.Code != 0 {
		return &personStatus{pr.Status.Code, pr.Status.Message}
	}
	if pr.HttpStatusCode != 0 && pr.HttpStatusCode != http.StatusOK {
		return &personStatus{0, fmt.Sprintf("HTTP %d", pr.HttpStatusCode)}
	}
	return nil
}

// statusErr maps a contact's status to the engine's errors.
func (c *Contacts) statusErr(st *personStatus) error {
	switch st.code {
	case 9: // FAILED_PRECONDITION: the etag moved on
		return reconcile.ErrPrecondition
	case 5: // NOT_FOUND
		return reconcile.ErrRemoteNotFound
	}
	return &reconcile.ItemError{Err: fmt.Errorf("update contact: %w", st)}
}

// contactErrors reads the contacts a refused batch update names
// (BatchUpdateContactsErrorDetails.contactErrors: resource name → status).
func contactErrors(err error) map[string]*personStatus {
	ge := apiError(err)
	if ge == nil {
		return nil
	}
	out := map[string]*personStatus{}
	for _, d := range ge.Details {
		m, _ := d.(map[string]any)
		ce, _ := m["contactErrors"].(map[string]any)
		for rn, v := range ce {
			st, _ := v.(map[string]any)
			code, _ := st["code"].(float64)
			msg, _ := st["message"].(string)
			out[rn] = &personStatus{int64(code), msg}
		}
	}
	return out
}

var _ reconcile.BatchWriter = (*Contacts)(nil)
