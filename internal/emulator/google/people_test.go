package google

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"google.golang.org/api/people/v1"
)

const pf = "names,emailAddresses,phoneNumbers,memberships,metadata,clientData"

func listAll(t *testing.T, svc *people.Service, syncToken string, pageSize int64) (conns []*people.Person, pages []*people.ListConnectionsResponse) {
	t.Helper()
	tok := ""
	for {
		call := svc.People.Connections.List("people/me").PersonFields(pf).PageSize(pageSize).RequestSyncToken(true)
		if syncToken != "" {
			call = call.SyncToken(syncToken)
		}
		if tok != "" {
			call = call.PageToken(tok)
		}
		resp, err := call.Do()
		if err != nil {
			t.Fatalf("connections.list: %v", err)
		}
		pages = append(pages, resp)
		conns = append(conns, resp.Connections...)
		if resp.NextPageToken == "" {
			return conns, pages
		}
		tok = resp.NextPageToken
	}
}

func TestPeopleFullSyncPagingAndIncremental(t *testing.T) {
	e := newEnv(t)
	svc := e.people(alice)
	var created []*people.Person
	for i := 0; i < 5; i++ {
		p, err := svc.People.CreateContact(mkPerson(fmt.Sprintf("G%d", i), "Fam", fmt.Sprintf("p%d@x.example", i))).PersonFields(pf).Do()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(p.ResourceName, "people/c") || p.Etag == "" {
			t.Fatalf("created %+v", p)
		}
		created = append(created, p)
	}
	// bob's contacts are not alice's
	if _, err := e.people(bob).People.CreateContact(mkPerson("Other", "User", "")).Do(); err != nil {
		t.Fatal(err)
	}

	conns, pages := listAll(t, svc, "", 2)
	if len(conns) != 5 || len(pages) != 3 {
		t.Fatalf("full sync: %d contacts in %d pages, want 5 in 3", len(conns), len(pages))
	}
	for i, pg := range pages {
		last := i == len(pages)-1
		if (pg.NextSyncToken != "") != last || (pg.NextPageToken != "") == last {
			t.Fatalf("page %d: nextSyncToken %q nextPageToken %q", i, pg.NextSyncToken, pg.NextPageToken)
		}
		if pg.TotalItems != 5 {
			t.Fatalf("totalItems %d", pg.TotalItems)
		}
	}
	for i, c := range conns { // LAST_MODIFIED_ASCENDING
		if c.ResourceName != created[i].ResourceName {
			t.Fatalf("order: %d is %s", i, c.ResourceName)
		}
		if c.Metadata == nil || len(c.Metadata.Sources) != 1 || c.Metadata.Sources[0].Type != "CONTACT" || c.Metadata.Sources[0].Etag == "" {
			t.Fatalf("metadata %+v", c.Metadata)
		}
		if c.Names[0].DisplayName != c.Names[0].GivenName+" Fam" || !c.Names[0].Metadata.Primary {
			t.Fatalf("name %+v", c.Names[0])
		}
		if len(c.Memberships) != 1 || c.Memberships[0].ContactGroupMembership.ContactGroupResourceName != "contactGroups/myContacts" {
			t.Fatalf("memberships %+v", c.Memberships)
		}
	}
	token := pages[len(pages)-1].NextSyncToken

	// Without requestSyncToken no token is handed out.
	resp, err := svc.People.Connections.List("people/me").PersonFields(pf).Do()
	if err != nil || resp.NextSyncToken != "" || len(resp.Connections) != 5 {
		t.Fatalf("no requestSyncToken: %v %q %d", err, resp.NextSyncToken, len(resp.Connections))
	}

	// Nothing changed: an empty incremental page with a new token.
	inc, pages := listAll(t, svc, token, 100)
	if len(inc) != 0 || pages[0].NextSyncToken == "" {
		t.Fatalf("empty incremental: %d, token %q", len(inc), pages[0].NextSyncToken)
	}

	// An API update, an API delete, and a user edit in Google.
	upd := created[1]
	upd.Names = []*people.Name{{GivenName: "Changed", FamilyName: "Fam"}}
	if _, err := svc.People.UpdateContact(upd.ResourceName, upd).UpdatePersonFields("names").Do(); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.People.DeleteContact(created[3].ResourceName).Do(); err != nil {
		t.Fatal(err)
	}
	rn, err := e.srv.CreateContact(alice, mkPerson("New", "Person", "new@x.example"))
	if err != nil {
		t.Fatal(err)
	}
	inc, pages = listAll(t, svc, token, 1) // incremental, paged
	if len(inc) != 3 || len(pages) != 3 {
		t.Fatalf("incremental: %d changes in %d pages", len(inc), len(pages))
	}
	if inc[0].ResourceName != created[1].ResourceName || inc[0].Names[0].GivenName != "Changed" {
		t.Fatalf("update: %+v", inc[0])
	}
	del := inc[1]
	if del.ResourceName != created[3].ResourceName || del.Metadata == nil || !del.Metadata.Deleted || del.Etag == "" ||
		len(del.Names) != 0 || len(del.EmailAddresses) != 0 {
		t.Fatalf("deletion: %+v %+v", del, del.Metadata)
	}
	if inc[2].ResourceName != rn {
		t.Fatalf("user create: %s", inc[2].ResourceName)
	}
	token2 := pages[len(pages)-1].NextSyncToken
	if token2 == "" || token2 == token {
		t.Fatal("no new sync token")
	}
	// A full sync no longer lists the deleted contact.
	conns, _ = listAll(t, svc, "", 100)
	if len(conns) != 5 {
		t.Fatalf("after delete: %d", len(conns))
	}
	for _, c := range conns {
		if c.ResourceName == created[3].ResourceName {
			t.Fatal("deleted contact listed")
		}
	}
	if inc, _ := listAll(t, svc, token2, 100); len(inc) != 0 {
		t.Fatalf("second incremental: %d", len(inc))
	}
}

func TestPeopleParameterRules(t *testing.T) {
	e := newEnv(t)
	svc := e.people(alice)
	for i := 0; i < 3; i++ {
		if _, err := e.srv.CreateContact(alice, mkPerson(fmt.Sprint("N", i), "X", "")); err != nil {
			t.Fatal(err)
		}
	}
	// personFields is required.
	_, err := svc.People.Connections.List("people/me").Do()
	ge := apiErr(t, err, 400)
	if bodyStatus(t, ge) != "INVALID_ARGUMENT" {
		t.Fatalf("status %s", ge.Body)
	}
	_, err = svc.People.Connections.List("people/me").PersonFields("names,bogus").Do()
	apiErr(t, err, 400)
	_, err = svc.People.Connections.List("people/c1").PersonFields("names").Do()
	apiErr(t, err, 400)
	_, err = svc.People.Connections.List("people/me").PersonFields("names").PageSize(1001).Do()
	apiErr(t, err, 400)

	first, err := svc.People.Connections.List("people/me").PersonFields("names").PageSize(1).RequestSyncToken(true).Do()
	if err != nil || first.NextPageToken == "" {
		t.Fatal(err, first)
	}
	// page token with a different parameter → 400 INVALID_ARGUMENT
	for name, call := range map[string]*people.PeopleConnectionsListCall{
		"personFields":     svc.People.Connections.List("people/me").PersonFields("names,emailAddresses").PageSize(1).RequestSyncToken(true),
		"pageSize":         svc.People.Connections.List("people/me").PersonFields("names").PageSize(2).RequestSyncToken(true),
		"requestSyncToken": svc.People.Connections.List("people/me").PersonFields("names").PageSize(1),
	} {
		_, err := call.PageToken(first.NextPageToken).Do()
		ge := apiErr(t, err, 400)
		if bodyStatus(t, ge) != "INVALID_ARGUMENT" {
			t.Fatalf("%s: %s", name, ge.Body)
		}
	}
	// The same parameters go on.
	if _, err := svc.People.Connections.List("people/me").PersonFields("names").PageSize(1).RequestSyncToken(true).PageToken(first.NextPageToken).Do(); err != nil {
		t.Fatal(err)
	}
	// A sync token with other personFields → 400 INVALID_ARGUMENT.
	conns, pages := listAll(t, svc, "", 10)
	_ = conns
	tok := pages[len(pages)-1].NextSyncToken
	_, err = svc.People.Connections.List("people/me").PersonFields("names").SyncToken(tok).Do()
	ge = apiErr(t, err, 400)
	if bodyStatus(t, ge) != "INVALID_ARGUMENT" || detailReason(ge) == "EXPIRED_SYNC_TOKEN" {
		t.Fatalf("sync mismatch: %s", ge.Body)
	}
	// sortOrder
	if _, err := svc.People.Connections.List("people/me").PersonFields("names").SortOrder("NOPE").Do(); err == nil {
		t.Fatal("bad sortOrder accepted")
	}
	resp, err := svc.People.Connections.List("people/me").PersonFields("names").SortOrder("LAST_MODIFIED_DESCENDING").Do()
	if err != nil || resp.Connections[0].Names[0].GivenName != "N2" {
		t.Fatal(err)
	}
}

func TestPeopleSortOrderByName(t *testing.T) {
	e := newEnv(t)
	for _, n := range [][2]string{{"Zoe", "Adams"}, {"Adam", "Young"}, {"Mia", "Baker"}} {
		if _, err := e.srv.CreateContact(alice, mkPerson(n[0], n[1], "")); err != nil {
			t.Fatal(err)
		}
	}
	svc := e.people(alice)
	for order, want := range map[string]string{"FIRST_NAME_ASCENDING": "Adam,Mia,Zoe", "LAST_NAME_ASCENDING": "Zoe,Mia,Adam"} {
		var got []string
		tok := ""
		for {
			resp, err := svc.People.Connections.List("people/me").PersonFields("names").SortOrder(order).PageSize(2).PageToken(tok).Do()
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range resp.Connections {
				got = append(got, c.Names[0].GivenName)
			}
			if tok = resp.NextPageToken; tok == "" {
				break
			}
		}
		if strings.Join(got, ",") != want {
			t.Fatalf("%s: %v", order, got)
		}
	}
}

func TestPeopleExpiredSyncToken(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.AccessTokenLifetime = 30 * 24 * time.Hour })
	svc := e.people(alice)
	if _, err := e.srv.CreateContact(alice, mkPerson("A", "B", "")); err != nil {
		t.Fatal(err)
	}
	fresh := func() string {
		_, pages := listAll(t, svc, "", 100)
		return pages[len(pages)-1].NextSyncToken
	}
	check := func(name string, err error) {
		t.Helper()
		ge := apiErr(t, err, 400)
		if detailReason(ge) != "EXPIRED_SYNC_TOKEN" || bodyStatus(t, ge) != "FAILED_PRECONDITION" ||
			!strings.Contains(ge.Message, "Sync token is expired") {
			t.Fatalf("%s: %s", name, ge.Body)
		}
		d := ge.Details[0].(map[string]any)
		if d["domain"] != "people.googleapis.com" {
			t.Fatalf("%s: details %v", name, d)
		}
	}
	list := func(tok string) error {
		_, err := svc.People.Connections.List("people/me").PersonFields(pf).RequestSyncToken(true).SyncToken(tok).Do()
		return err
	}

	tok := fresh()
	if err := list(tok); err != nil {
		t.Fatal(err)
	}
	e.srv.ExpireSyncTokens(alice)
	check("ExpireSyncTokens", list(tok))

	tok = fresh()
	check("garbled", list(tok[:len(tok)-3]+"abc"))

	// bob's token is not alice's
	_, bp := listAll(t, e.people(bob), "", 10)
	check("other user", list(bp[len(bp)-1].NextSyncToken))

	// Tokens expire 7 days after the full sync that began their chain,
	// even when incremental syncs renewed them.
	tok = fresh()
	e.clock.Advance(4 * 24 * time.Hour)
	_, pages := listAll(t, svc, tok, 100)
	tok2 := pages[len(pages)-1].NextSyncToken
	e.clock.Advance(3*24*time.Hour + time.Minute)
	check("lifetime", list(tok2))

	// The forced-expiry fault hits only a request with a sync token.
	tok = fresh()
	e.srv.Faults().FailNext(1, FaultExpireSyncToken)
	if _, err := svc.People.Connections.List("people/me").PersonFields(pf).Do(); err != nil {
		t.Fatal(err)
	}
	check("fault", list(tok))
	if e.srv.Faults().Pending() != 0 {
		t.Fatal("fault not consumed")
	}
	check("fault leaves tokens expired", list(tok))
}

func TestPeopleCreateUpdateRules(t *testing.T) {
	e := newEnv(t)
	svc := e.people(alice)
	p := mkPerson("Ann", "Lee", "ann@x.example")
	p.EmailAddresses = append(p.EmailAddresses, &people.EmailAddress{Value: "ann2@x.example", Type: "home"})
	p.PhoneNumbers = []*people.PhoneNumber{{Value: "+1 555 0100", Type: "mobile"}}
	p.Organizations = []*people.Organization{{Name: "Acme", Title: "CEO"}}
	p.Biographies = []*people.Biography{{Value: "Met at fair"}}
	p.ClientData = []*people.ClientData{{Key: "tandem", Value: "contact-17"}}
	p.ExternalIds = []*people.ExternalId{{Value: "17", Type: "account"}}
	p.UserDefined = []*people.UserDefined{{Key: "tier", Value: "gold"}}
	p.Addresses = []*people.Address{{City: "Berlin", Type: "work"}}
	got, err := svc.People.CreateContact(p).Do() // no personFields: all fields
	if err != nil {
		t.Fatal(err)
	}
	if len(got.EmailAddresses) != 2 || !got.EmailAddresses[0].Metadata.Primary || got.EmailAddresses[1].Metadata.Primary ||
		got.EmailAddresses[0].FormattedType != "Work" || got.PhoneNumbers[0].Value != "+1 555 0100" ||
		got.Organizations[0].Title != "CEO" || got.Biographies[0].ContentType != "TEXT_PLAIN" ||
		got.ClientData[0].Value != "contact-17" || got.ExternalIds[0].Value != "17" || got.UserDefined[0].Value != "gold" ||
		got.Addresses[0].City != "Berlin" {
		t.Fatalf("round trip: %+v", got)
	}

	// singletons
	two := mkPerson("A", "B", "")
	two.Names = append(two.Names, &people.Name{GivenName: "C"})
	_, err = svc.People.CreateContact(two).Do()
	apiErr(t, err, 400)
	_, err = svc.People.CreateContact(&people.Person{Biographies: []*people.Biography{{Value: "a"}, {Value: "b"}}}).Do()
	apiErr(t, err, 400)

	// updatePersonFields is required
	_, err = svc.People.UpdateContact(got.ResourceName, got).Do()
	apiErr(t, err, 400)
	_, err = svc.People.UpdateContact(got.ResourceName, got).UpdatePersonFields("photos").Do()
	apiErr(t, err, 400)
	// etag is required
	noEtag := &people.Person{Names: []*people.Name{{GivenName: "X"}}}
	_, err = svc.People.UpdateContact(got.ResourceName, noEtag).UpdatePersonFields("names").Do()
	ge := apiErr(t, err, 400)
	if !strings.Contains(ge.Message, "person.etag") {
		t.Fatalf("no-etag message: %s", ge.Message)
	}

	// masked fields are replaced wholesale; others stay
	upd := &people.Person{Etag: got.Etag, EmailAddresses: []*people.EmailAddress{{Value: "only@x.example"}}}
	up1, err := svc.People.UpdateContact(got.ResourceName, upd).UpdatePersonFields("emailAddresses,biographies").PersonFields("emailAddresses,biographies,organizations").Do()
	if err != nil {
		t.Fatal(err)
	}
	if len(up1.EmailAddresses) != 1 || up1.EmailAddresses[0].Value != "only@x.example" || len(up1.Biographies) != 0 ||
		up1.Organizations[0].Name != "Acme" || len(up1.Names) != 0 || up1.Etag == got.Etag {
		t.Fatalf("after update: %+v", up1)
	}

	// stale etag → 400 failedPrecondition (not 412)
	_, err = svc.People.UpdateContact(got.ResourceName, &people.Person{Etag: got.Etag, Names: got.Names}).UpdatePersonFields("names").Do()
	ge = apiErr(t, err, 400)
	if reason(ge) != "failedPrecondition" || bodyStatus(t, ge) != "FAILED_PRECONDITION" {
		t.Fatalf("stale etag: %s", ge.Body)
	}
	// the source etag is accepted too; sequential updates use the returned etag
	full, err := svc.People.Get(got.ResourceName).PersonFields("metadata,names").Do()
	if err != nil {
		t.Fatal(err)
	}
	byMeta := &people.Person{Metadata: &people.PersonMetadata{Sources: []*people.Source{{Type: "CONTACT", Id: full.Metadata.Sources[0].Id, Etag: full.Metadata.Sources[0].Etag}}},
		Names: []*people.Name{{GivenName: "Anne", FamilyName: "Lee"}}}
	up2, err := svc.People.UpdateContact(got.ResourceName, byMeta).UpdatePersonFields("names").Do()
	if err != nil {
		t.Fatal(err)
	}
	if up2.Names[0].DisplayName != "Anne Lee" || up2.Names[0].DisplayNameLastFirst != "Lee, Anne" {
		t.Fatalf("names: %+v", up2.Names[0])
	}
	up2.Names[0].GivenName = "Annie"
	if _, err := svc.People.UpdateContact(got.ResourceName, up2).UpdatePersonFields("names").Do(); err != nil {
		t.Fatal(err)
	}

	// get / delete / 404s
	if _, err := svc.People.Get(got.ResourceName).Do(); err == nil {
		t.Fatal("get without personFields")
	}
	me, err := svc.People.Get("people/me").PersonFields("names,emailAddresses").Do()
	if err != nil || me.EmailAddresses[0].Value != alice {
		t.Fatal(err, me)
	}
	if _, err := svc.People.DeleteContact(got.ResourceName).Do(); err != nil {
		t.Fatal(err)
	}
	_, err = svc.People.DeleteContact(got.ResourceName).Do()
	apiErr(t, err, 404)
	_, err = svc.People.Get(got.ResourceName).PersonFields("names").Do()
	apiErr(t, err, 404)
	_, err = svc.People.UpdateContact(got.ResourceName, up2).UpdatePersonFields("names").Do()
	apiErr(t, err, 404)

	// unknown JSON field
	st, _, body := e.rawDo("POST", "/v1/people:createContact", e.srv.MintAccessToken(alice), `{"nmes":[]}`)
	if st != 400 || !strings.Contains(body, "INVALID_ARGUMENT") {
		t.Fatalf("unknown field: %d %s", st, body)
	}
}

func TestPeopleGroupsAndMemberships(t *testing.T) {
	e := newEnv(t)
	svc := e.people(alice)
	g, err := svc.ContactGroups.Create(&people.CreateContactGroupRequest{ContactGroup: &people.ContactGroup{Name: "Tandem"}}).Do()
	if err != nil {
		t.Fatal(err)
	}
	if g.GroupType != "USER_CONTACT_GROUP" || !strings.HasPrefix(g.ResourceName, "contactGroups/") {
		t.Fatalf("group %+v", g)
	}
	_, err = svc.ContactGroups.Create(&people.CreateContactGroupRequest{ContactGroup: &people.ContactGroup{Name: "Tandem"}}).Do()
	apiErr(t, err, 409)

	a, err := svc.People.CreateContact(mkPerson("A", "A", "")).PersonFields("memberships").Do()
	if err != nil {
		t.Fatal(err)
	}
	withGroup := mkPerson("B", "B", "")
	withGroup.Memberships = []*people.Membership{{ContactGroupMembership: &people.ContactGroupMembership{ContactGroupResourceName: g.ResourceName}}}
	b, err := svc.People.CreateContact(withGroup).PersonFields("memberships").Do()
	if err != nil {
		t.Fatal(err)
	}
	var bg []string
	for _, m := range b.Memberships {
		bg = append(bg, m.ContactGroupMembership.ContactGroupResourceName)
	}
	sort.Strings(bg)
	if len(bg) != 2 || bg[1] != "contactGroups/myContacts" {
		t.Fatalf("b memberships %v", bg)
	}

	_, pages := listAll(t, svc, "", 100)
	tok := pages[len(pages)-1].NextSyncToken

	// members.modify: add a, unknown name reported, etag bumps
	resp, err := svc.ContactGroups.Members.Modify(g.ResourceName, &people.ModifyContactGroupMembersRequest{
		ResourceNamesToAdd: []string{a.ResourceName, "people/c999"}}).Do()
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.NotFoundResourceNames) != 1 || resp.NotFoundResourceNames[0] != "people/c999" {
		t.Fatalf("modify resp %+v", resp)
	}
	a2, _ := svc.People.Get(a.ResourceName).PersonFields("memberships").Do()
	if a2.Etag == a.Etag || len(a2.Memberships) != 2 {
		t.Fatalf("a after add: %+v", a2)
	}
	inc, _ := listAll(t, svc, tok, 100)
	if len(inc) != 1 || inc[0].ResourceName != a.ResourceName {
		t.Fatalf("incremental after modify: %d", len(inc))
	}

	got, err := svc.ContactGroups.Get(g.ResourceName).MaxMembers(10).Do()
	if err != nil {
		t.Fatal(err)
	}
	if got.MemberCount != 2 || len(got.MemberResourceNames) != 2 || got.MemberResourceNames[0] != a.ResourceName {
		t.Fatalf("group get %+v", got)
	}
	nm, _ := svc.ContactGroups.Get(g.ResourceName).Do()
	if len(nm.MemberResourceNames) != 0 {
		t.Fatal("members without maxMembers")
	}

	// a contact keeps at least one group
	solo, _ := svc.People.CreateContact(mkPerson("S", "S", "")).Do()
	resp, err = svc.ContactGroups.Members.Modify("contactGroups/myContacts", &people.ModifyContactGroupMembersRequest{
		ResourceNamesToRemove: []string{solo.ResourceName}}).Do()
	if err != nil || len(resp.CanNotRemoveLastContactGroupResourceNames) != 1 {
		t.Fatalf("remove last: %v %+v", err, resp)
	}
	// system groups: only myContacts and starred accept additions
	_, err = svc.ContactGroups.Members.Modify("contactGroups/friends", &people.ModifyContactGroupMembersRequest{ResourceNamesToAdd: []string{solo.ResourceName}}).Do()
	apiErr(t, err, 400)
	if _, err := svc.ContactGroups.Members.Modify("contactGroups/starred", &people.ModifyContactGroupMembersRequest{ResourceNamesToAdd: []string{solo.ResourceName}}).Do(); err != nil {
		t.Fatal(err)
	}
	many := make([]string, 1001)
	for i := range many {
		many[i] = fmt.Sprintf("people/c%d", i)
	}
	_, err = svc.ContactGroups.Members.Modify(g.ResourceName, &people.ModifyContactGroupMembersRequest{ResourceNamesToAdd: many}).Do()
	apiErr(t, err, 400)

	// updateContact memberships: replaced whole; none → 400
	a2.Memberships = []*people.Membership{{ContactGroupMembership: &people.ContactGroupMembership{ContactGroupId: "myContacts"}}}
	_, err = svc.People.UpdateContact(a.ResourceName, a2).UpdatePersonFields("memberships").Do()
	apiErr(t, err, 400)
	a2.Memberships = []*people.Membership{{ContactGroupMembership: &people.ContactGroupMembership{ContactGroupResourceName: g.ResourceName}}}
	a3, err := svc.People.UpdateContact(a.ResourceName, a2).UpdatePersonFields("memberships").PersonFields("memberships").Do()
	if err != nil || len(a3.Memberships) != 1 {
		t.Fatalf("membership replace: %v %+v", err, a3)
	}

	// list groups with a sync token, rename, list again
	gl, err := svc.ContactGroups.List().Do()
	if err != nil || gl.NextSyncToken == "" {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, x := range gl.ContactGroups {
		names[x.ResourceName] = x.GroupType
	}
	if names["contactGroups/myContacts"] != "SYSTEM_CONTACT_GROUP" || names[g.ResourceName] != "USER_CONTACT_GROUP" {
		t.Fatalf("groups %v", names)
	}
	cur, _ := svc.ContactGroups.Get(g.ResourceName).Do()
	cur.Name = "Tandem CRM"
	if _, err := svc.ContactGroups.Update(g.ResourceName, &people.UpdateContactGroupRequest{ContactGroup: cur}).Do(); err != nil {
		t.Fatal(err)
	}
	gl2, err := svc.ContactGroups.List().SyncToken(gl.NextSyncToken).Do()
	if err != nil || len(gl2.ContactGroups) != 1 || gl2.ContactGroups[0].Name != "Tandem CRM" {
		t.Fatalf("group sync: %v %+v", err, gl2)
	}

	// deleting the group takes the membership off its contacts
	_, pages = listAll(t, svc, "", 100)
	tok = pages[len(pages)-1].NextSyncToken
	if _, err := svc.ContactGroups.Delete(g.ResourceName).Do(); err != nil {
		t.Fatal(err)
	}
	_, err = svc.ContactGroups.Delete("contactGroups/myContacts").Do()
	apiErr(t, err, 400)
	inc, _ = listAll(t, svc, tok, 100)
	if len(inc) != 2 { // a and b lost the group
		t.Fatalf("after group delete: %d", len(inc))
	}
	gl3, _ := svc.ContactGroups.List().SyncToken(gl2.NextSyncToken).Do()
	if len(gl3.ContactGroups) == 0 || !gl3.ContactGroups[len(gl3.ContactGroups)-1].Metadata.Deleted {
		t.Fatalf("group tombstone: %+v", gl3.ContactGroups)
	}
}

func TestPeopleBatchAndPropagationDelay(t *testing.T) {
	e := newEnv(t)
	svc := e.people(alice)
	bc, err := svc.People.BatchCreateContacts(&people.BatchCreateContactsRequest{ReadMask: "names",
		Contacts: []*people.ContactToCreate{{ContactPerson: mkPerson("A", "1", "")}, {ContactPerson: mkPerson("B", "2", "")}}}).Do()
	if err != nil || len(bc.CreatedPeople) != 2 {
		t.Fatal(err, bc)
	}
	a := bc.CreatedPeople[0].Person
	a.Names[0].GivenName = "AA"
	bu, err := svc.People.BatchUpdateContacts(&people.BatchUpdateContactsRequest{UpdateMask: "names", ReadMask: "names",
		Contacts: map[string]people.Person{a.ResourceName: *a}}).Do()
	if err != nil || bu.UpdateResult[a.ResourceName].Person.Names[0].GivenName != "AA" {
		t.Fatal(err, bu)
	}
	bg, err := svc.People.GetBatchGet().ResourceNames(a.ResourceName, "people/c1").PersonFields("names").Do()
	if err != nil || bg.Responses[0].Person == nil || bg.Responses[1].HttpStatusCode != 404 {
		t.Fatal(err, bg)
	}

	_, pages := listAll(t, svc, "", 100)
	tok := pages[len(pages)-1].NextSyncToken
	e.srv.SetPeoplePropagationDelay(time.Minute)
	if _, err := svc.People.BatchDeleteContacts(&people.BatchDeleteContactsRequest{ResourceNames: []string{a.ResourceName}}).Do(); err != nil {
		t.Fatal(err)
	}
	inc, pages := listAll(t, svc, tok, 100)
	if len(inc) != 0 {
		t.Fatalf("change visible before the propagation delay: %d", len(inc))
	}
	tok = pages[0].NextSyncToken
	e.clock.Advance(2 * time.Minute)
	inc, _ = listAll(t, svc, tok, 100)
	if len(inc) != 1 || !inc[0].Metadata.Deleted {
		t.Fatalf("after the delay: %+v", inc)
	}
}
