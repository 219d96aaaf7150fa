package messenger

import (
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"
)

// Handover operations (POST /me/<op>).
const (
	OpPass    = "pass_thread_control"
	OpTake    = "take_thread_control"
	OpRequest = "request_thread_control"
	OpRelease = "release_thread_control"
)

func isHandoverOp(e string) bool {
	return e == OpPass || e == OpTake || e == OpRequest || e == OpRelease
}

func notOwnerErr() *GraphError {
	return gErr(100, 2534037, "(#100) The action is invalid since it's not the thread owner.")
}

// SetHandover sets a page's handover roles: the Primary Receiver app
// (typically an external bot; "" for none) and the Secondary Receivers
// (e.g. Tandem's app; the Page Inbox may be one). Apps whose role changes
// and that subscribed to messaging_handovers get an app_roles event.
func (s *Server) SetHandover(pageID, primary string, secondary ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.pageLocked(pageID)
	if err != nil {
		return err
	}
	for _, id := range append([]string{primary}, secondary...) {
		if id != "" && id != PageInboxAppID && s.apps[id] == nil {
			return &adminError{404, fmt.Sprintf("emulator: no app %q", id)}
		}
	}
	if primary != "" && slices.Contains(secondary, primary) {
		return &adminError{400, "emulator: the primary receiver cannot also be a secondary one"}
	}
	role := func(id string) string {
		switch {
		case id == p.primary:
			return "primary_receiver"
		case slices.Contains(p.secondary, id):
			return "secondary_receiver"
		}
		return ""
	}
	before := map[string]string{}
	for _, id := range s.appOrder {
		before[id] = role(id)
	}
	p.primary = primary
	p.secondary = slices.Clone(secondary)
	now := s.nowLocked()
	for _, id := range s.appOrder {
		if r := role(id); r != "" && r != before[id] {
			s.notifyAppLocked(p, "", id, &mItem{Recipient: idRef{p.id}, Timestamp: ms(now),
				AppRoles: map[string][]string{id: {r}}})
		}
	}
	return nil
}

// ThreadOwner returns the app that controls a customer's thread, "" while
// the thread is idle.
func (s *Server) ThreadOwner(pageID, psid string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, c, err := s.customerLocked(pageID, psid)
	if err != nil {
		return "", err
	}
	return s.ownerLocked(c, s.nowLocked()), nil
}

// PassThreadControl passes a thread from appID to targetAppID as
// pass_thread_control does ("" target: to the Primary Receiver).
func (s *Server) PassThreadControl(pageID, appID, psid, targetAppID, metadata string) error {
	return s.handover(pageID, appID, OpPass, psid, targetAppID, metadata)
}

// TakeThreadControl takes a thread for appID as take_thread_control does.
func (s *Server) TakeThreadControl(pageID, appID, psid, metadata string) error {
	return s.handover(pageID, appID, OpTake, psid, "", metadata)
}

// RequestThreadControl asks the thread owner for control as
// request_thread_control does.
func (s *Server) RequestThreadControl(pageID, appID, psid, metadata string) error {
	return s.handover(pageID, appID, OpRequest, psid, "", metadata)
}

// ReleaseThreadControl makes the thread idle as release_thread_control
// does.
func (s *Server) ReleaseThreadControl(pageID, appID, psid string) error {
	return s.handover(pageID, appID, OpRelease, psid, "", "")
}

// handover applies a thread-control operation by appID:
//   - pass: the owner (or anyone while the thread is idle) gives control
//     to target; target gets pass_thread_control;
//   - take: any connected app takes an idle thread, only the Primary
//     Receiver one another app controls; the previous owner gets
//     take_thread_control;
//   - request: the owner (or, while idle, the Primary Receiver) gets
//     request_thread_control;
//   - release: the owner makes the thread idle.
func (s *Server) handover(pageID, appID, op, psid, target, metadata string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.pageLocked(pageID)
	if err != nil {
		return err
	}
	if appID != PageInboxAppID && s.apps[appID] == nil {
		return &adminError{404, fmt.Sprintf("emulator: no app %q", appID)}
	}
	if psid == "" {
		return paramRequired("recipient")
	}
	c := p.customers[psid]
	if c == nil {
		return noSuchPSID()
	}
	if !p.connected(appID) {
		return gErr(10, 2018171, "(#10) Only available to Primary and Secondary Receivers.")
	}
	if utf8.RuneCountInString(metadata) > 1000 {
		return gErr(100, 0, "(#100) Length of param metadata must be less than or equal to 1000")
	}
	now := s.nowLocked()
	owner := s.ownerLocked(c, now)
	item := func() *mItem {
		return &mItem{Sender: &idRef{psid}, Recipient: idRef{p.id}, Timestamp: ms(now)}
	}
	switch op {
	case OpPass:
		if owner != "" && owner != appID {
			return notOwnerErr()
		}
		if target == "" {
			if p.primary == "" || p.primary == appID {
				return paramRequired("target_app_id")
			}
			target = p.primary
		}
		if target != PageInboxAppID && (s.apps[target] == nil || !p.connected(target)) {
			return gErr(100, 2018164, "(#100) Incorrect App ID.")
		}
		c.owner, c.lastActivity = target, now
		if target == owner {
			return nil
		}
		it := item()
		it.Pass = &mHandover{NewOwner: target, Metadata: metadata}
		if owner != "" {
			prev := owner
			it.Pass.PreviousOwner = &prev
		}
		s.notifyAppLocked(p, psid, target, it)
	case OpTake:
		if owner == appID {
			c.lastActivity = now
			return nil
		}
		if owner != "" && appID != p.primary {
			return notOwnerErr()
		}
		c.owner, c.lastActivity = appID, now
		if owner != "" {
			prev := owner
			it := item()
			it.Take = &mHandover{PreviousOwner: &prev, NewOwner: appID, Metadata: metadata}
			s.notifyAppLocked(p, psid, owner, it)
		}
	case OpRequest:
		to := owner
		if to == "" {
			to = p.primary
		}
		if to != "" && to != appID {
			it := item()
			it.Request = &mRequest{RequestedOwner: appID, Metadata: metadata}
			s.notifyAppLocked(p, psid, to, it)
		}
	case OpRelease:
		if owner != appID {
			return notOwnerErr()
		}
		c.owner, c.lastActivity = "", now
	default:
		return errors.New("emulator: unknown handover operation " + op)
	}
	return nil
}

// handleHandover is POST /me/{pass,take,request,release}_thread_control.
func (s *Server) handleHandover(rq *request, node, op string) {
	t, err := s.auth(rq)
	if err != nil {
		rq.fail(err)
		return
	}
	if t.kind != tokPage || (node != "me" && node != t.pageID) {
		rq.fail(pageTokenRequired())
		return
	}
	var rcp Recipient
	if err := rq.object("recipient", &rcp); err != nil && !errors.Is(err, errMissing) {
		rq.fail(err)
		return
	}
	if err := s.handover(t.pageID, t.appID, op, rcp.ID, rq.get("target_app_id"), rq.get("metadata")); err != nil {
		rq.fail(err)
		return
	}
	rq.ok(map[string]bool{"success": true})
}

// handleThreadOwner is GET /me/thread_owner?recipient=PSID.
func (s *Server) handleThreadOwner(rq *request, node string) {
	t, err := s.auth(rq)
	if err != nil {
		rq.fail(err)
		return
	}
	if t.kind != tokPage || (node != "me" && node != t.pageID) {
		rq.fail(pageTokenRequired())
		return
	}
	psid := rq.get("recipient")
	if psid == "" {
		rq.fail(paramRequired("recipient"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.pages[t.pageID].customers[psid]
	if c == nil {
		rq.fail(noSuchPSID())
		return
	}
	data := []map[string]any{}
	if owner := s.ownerLocked(c, s.nowLocked()); owner != "" {
		data = append(data, map[string]any{"thread_owner": map[string]string{"app_id": owner}})
	}
	rq.ok(map[string]any{"data": data})
}

// handleSecondaryReceivers is GET /me/secondary_receivers: the Primary
// Receiver sees them all, a Secondary Receiver only itself.
func (s *Server) handleSecondaryReceivers(rq *request, node string) {
	t, err := s.auth(rq)
	if err != nil {
		rq.fail(err)
		return
	}
	if t.kind != tokPage || (node != "me" && node != t.pageID) {
		rq.fail(pageTokenRequired())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pages[t.pageID]
	var ids []string
	switch {
	case t.appID == p.primary:
		ids = p.secondary
	case slices.Contains(p.secondary, t.appID):
		ids = []string{t.appID}
	default:
		rq.fail(gErr(10, 2018171, "(#10) Only available to Primary and Secondary Receivers."))
		return
	}
	data := []map[string]string{}
	for _, id := range ids {
		name := "Page Inbox"
		if a := s.apps[id]; a != nil {
			name = a.name
		}
		data = append(data, map[string]string{"id": id, "name": name})
	}
	rq.ok(map[string]any{"data": data})
}
