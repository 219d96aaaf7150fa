package ui_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// A case made from the contact card starts on the contact and its account,
// shows on both cards and links back to them.
func TestCaseFromContactCard(t *testing.T) {
	e := startCRM(t)
	b, admin := e.admin, e.s.Admin.UserID
	aid := crmCreate(t, e.s.Admin, "/api/v1/accounts", map[string]any{"name": "ООО «Ромашка»"})
	cid := crmCreate(t, e.s.Admin, "/api/v1/contacts", map[string]any{"name": "Ольга Кузнецова", "account_id": aid})

	p := b.Get(t, "/contacts/"+cid)
	crmStatus(t, p, http.StatusOK)
	crmHas(t, p, `id="contact-cases"`, "No cases yet.", `href="/cases/new?contact_id=`+cid+`"`)
	crmLacks(t, p, "Show all cases")
	p = b.Get(t, "/accounts/"+aid)
	crmHas(t, p, `id="account-cases"`, `href="/cases/new?account_id=`+aid+`"`)

	// The new-case link presets the contact and the contact's account.
	p = b.Get(t, "/cases/new?contact_id="+cid)
	crmStatus(t, p, http.StatusOK)
	crmHas(t, p, `<option value="`+cid+`" selected>Ольга Кузнецова</option>`, `<option value="`+aid+`" selected>ООО «Ромашка»</option>`,
		`<option value="new" selected>New</option>`, `<option value="normal" selected>Normal</option>`)
	crmLacks(t, p, `name="source_chat_id"`)
	crmNoRawKeys(t, p.Body)

	p = b.Post(t, "/cases", url.Values{"subject": {"Счёт не пришёл"}, "description": {"Строка 1\nСтрока 2"}, "status": {"new"},
		"priority": {"urgent"}, "contact_id": {cid}, "account_id": {aid}, "owner_id": {admin}})
	crmStatus(t, p, http.StatusOK)
	kid := crmRecordID(t, p, "/cases/")
	crmHas(t, p, "Case CS-000001 created.", "Счёт не пришёл", "CS-000001", `href="/contacts/`+cid+`"`,
		`href="/accounts/`+aid+`"`, "Urgent", "Строка 1\nСтрока 2", `action="/cases/`+kid+`/access"`)
	crmLacks(t, p, "/chats/", "Source chat")
	crmNoRawKeys(t, p.Body)

	for _, path := range []string{"/contacts/" + cid, "/accounts/" + aid} {
		p = b.Get(t, path)
		crmHas(t, p, `href="/cases/`+kid+`"`, "Счёт не пришёл", "1 case", `class="badge status-new"`)
		crmLacks(t, p, "No cases yet.")
	}

	// Deleting the contact keeps the case, unlinked.
	crmStatus(t, b.Post(t, "/contacts/"+cid+"/delete", nil), http.StatusOK)
	p = b.Get(t, "/cases/"+kid)
	crmStatus(t, p, http.StatusOK)
	crmLacks(t, p, `href="/contacts/`+cid+`"`)
	crmHas(t, p, `href="/accounts/`+aid+`"`)
}

// A case from a chat links to the chat; its source survives edits made in
// the form, which has no input for it.
func TestCaseSourceChatLink(t *testing.T) {
	e := startCRM(t)
	b := e.admin
	p := b.Get(t, "/cases/new?source_chat_id=chat-77")
	crmHas(t, p, `<input type="hidden" name="source_chat_id" value="chat-77">`, "This case comes from a chat.")
	p = b.Post(t, "/cases", url.Values{"subject": {"From chat"}, "status": {"new"}, "priority": {"normal"},
		"source_chat_id": {"chat-77"}, "owner_id": {e.s.Admin.UserID}})
	kid := crmRecordID(t, p, "/cases/")
	crmHas(t, p, `href="/chats/chat-77"`, "Open the chat")

	p = b.Get(t, "/cases/"+kid+"/edit")
	crmLacks(t, p, `name="source_chat_id"`)
	p = b.Post(t, "/cases/"+kid, url.Values{"version": {"1"}, "subject": {"From chat, edited"}, "status": {"resolved"},
		"priority": {"normal"}, "source_chat_id": {"chat-other"}, "owner_id": {e.s.Admin.UserID}})
	crmStatus(t, p, http.StatusOK)
	crmHas(t, p, "From chat, edited", `href="/chats/chat-77"`, "Resolved", "Closed")
	crmLacks(t, p, "chat-other")
	p = b.Get(t, "/cases?chat=chat-77")
	crmHas(t, p, "From chat, edited")
}

// The list filters, sorts and pages like the other lists, and keeps its
// filters on the next page.
func TestCaseList(t *testing.T) {
	e := startCRM(t)
	b := e.admin
	p := b.Get(t, "/cases")
	crmStatus(t, p, http.StatusOK)
	crmHas(t, p, "No cases yet", `href="/cases/new"`, `aria-current="page"`)
	crmNoRawKeys(t, p.Body)

	// 63 cases: every tenth (CS-000001, CS-000011, …) closed, the next one
	// of high priority.
	for i := range 63 {
		body := map[string]any{"subject": fmt.Sprintf("Вопрос %02d", i)}
		switch {
		case i%10 == 0:
			body["status"] = "closed"
		case i%10 == 1:
			body["priority"] = "high"
		}
		crmCreate(t, e.s.Admin, "/api/v1/cases", body)
	}
	// Newest first by default, 50 to a page.
	p = b.Get(t, "/cases")
	crmHas(t, p, "CS-000063", "CS-000014", "Load more", `data-load-more-target="#case-rows"`)
	crmLacks(t, p, "CS-000013")
	next := regexp.MustCompile(`href="(\?cursor=[^"]+)" rel="next"`).FindStringSubmatch(p.Body)
	if next == nil {
		t.Fatal("no next link")
	}
	p = b.Get(t, "/cases"+html.UnescapeString(next[1]))
	crmHas(t, p, "CS-000013", "CS-000001")
	crmLacks(t, p, "CS-000014", "Load more")

	// Filters and orders; the next page keeps them. 56 cases are open.
	p = b.Get(t, "/cases?status=open&sort=oldest")
	crmHas(t, p, `<option value="open" selected>Open</option>`, `<option value="oldest" selected>Oldest first</option>`,
		"CS-000002<", "CS-000056<", "Clear")
	crmLacks(t, p, "CS-000001<", "CS-000011<", "CS-000057<")
	next = regexp.MustCompile(`href="(\?[^"]*cursor=[^"]+)" rel="next"`).FindStringSubmatch(p.Body)
	if next == nil || !strings.Contains(html.UnescapeString(next[1]), "status=open") {
		t.Fatalf("next link %v drops the filter", next)
	}
	p = b.Get(t, "/cases"+html.UnescapeString(next[1]))
	crmHas(t, p, "CS-000057<", "CS-000063<")
	crmLacks(t, p, "CS-000056<", "CS-000061<")
	p = b.Get(t, "/cases?priority=high")
	crmHas(t, p, "CS-000002", "CS-000062")
	crmLacks(t, p, "CS-000003<", "Load more")
	p = b.Get(t, "/cases?q="+url.QueryEscape("ВОПРОС 07"))
	crmHas(t, p, "Вопрос 07")
	crmLacks(t, p, "Вопрос 08")
	p = b.Get(t, "/cases?q=cs-000009")
	crmHas(t, p, "Вопрос 08") // the ninth case
	p = b.Get(t, "/cases?q=zzz")
	crmHas(t, p, "No case matches “zzz”.")
	p = b.Get(t, "/cases?owner=me&status=resolved")
	crmHas(t, p, "No case matches these filters.")
	for _, bad := range []string{"status=reopened", "priority=asap", "sort=priority", "cursor=%21%21"} {
		crmStatus(t, b.Get(t, "/cases?"+bad), http.StatusBadRequest)
	}
}

// A Russian user sees the case pages in Russian, with Russian plurals.
func TestCasePagesRussian(t *testing.T) {
	e := startCRM(t)
	ru, api := e.newUser(t, "ru@example.com", "ru", "Europe/Moscow")
	cid := crmCreate(t, api, "/api/v1/contacts", map[string]any{"name": "Пётр"})
	for i := range 5 {
		crmCreate(t, api, "/api/v1/cases", map[string]any{"subject": fmt.Sprintf("Тема %d", i), "contact_id": cid,
			"status": "waiting"})
	}
	p := ru.Get(t, "/cases")
	crmStatus(t, p, http.StatusOK)
	crmHas(t, p, "Обращения", "Новое обращение", "Ожидает ответа", "Обычный", "Любой статус", "Сначала новые",
		"Номер или тема…")
	crmNoRawKeys(t, p.Body)
	p = ru.Get(t, "/contacts/"+cid)
	crmHas(t, p, "5 обращений", "Новое обращение")
	p = ru.Get(t, "/cases/new")
	crmHas(t, p, "Тема", "Приоритет", "Ответственный", "Срочный")
	crmNoRawKeys(t, p.Body)
	p = ru.Post(t, "/cases", url.Values{"subject": {""}, "description": {"Сохранить"}, "status": {"new"}, "priority": {"normal"}})
	crmStatus(t, p, http.StatusUnprocessableEntity)
	crmHas(t, p, ">Сохранить</textarea>", "Обязательное поле")
}

// Someone without access does not find a case; with read access they see
// it without the contact kept from them.
func TestCaseAccessPages(t *testing.T) {
	e := startCRM(t)
	bob, _ := e.newUser(t, "bob@example.com", "en", "UTC")
	cid := crmCreate(t, e.s.Admin, "/api/v1/contacts", map[string]any{"name": "Secret Contact"})
	kid := crmCreate(t, e.s.Admin, "/api/v1/cases", map[string]any{"subject": "Private case", "contact_id": cid})
	crmStatus(t, bob.Get(t, "/cases/"+kid), http.StatusNotFound)
	crmStatus(t, bob.Get(t, "/cases/"+kid+"/edit"), http.StatusNotFound)
	crmLacks(t, bob.Get(t, "/cases"), "Private case")

	team := e.s.NewRole(t, "Team")
	var bobID string
	var users struct{ Items []struct{ ID, Email string } }
	e.s.Admin.JSON(t, "GET", "/api/v1/users", nil, http.StatusOK, &users)
	for _, u := range users.Items {
		if u.Email == "bob@example.com" {
			bobID = u.ID
		}
	}
	e.s.Admin.JSON(t, "PATCH", "/api/v1/users/"+bobID, map[string]any{"role_ids": []string{team}}, http.StatusOK, nil)
	crmStatus(t, e.admin.Post(t, "/cases/"+kid+"/access", url.Values{"role_id": {team}, "level": {"edit"}}), http.StatusOK)
	p := bob.Get(t, "/cases/"+kid)
	crmStatus(t, p, http.StatusOK)
	crmHas(t, p, "Private case", "Not visible to you")
	crmLacks(t, p, "Secret Contact", `href="/contacts/`+cid+`"`)
	// Bob edits it; the contact he cannot see stays on the case.
	p = bob.Get(t, "/cases/"+kid+"/edit")
	crmHas(t, p, `<option value="`+cid+`" selected>Not visible to you</option>`)
	p = bob.Post(t, "/cases/"+kid, url.Values{"version": {"2"}, "subject": {"Edited by Bob"}, "status": {"in_progress"},
		"priority": {"normal"}, "contact_id": {cid}, "owner_id": {e.s.Admin.UserID}})
	crmStatus(t, p, http.StatusOK)
	crmHas(t, e.admin.Get(t, "/cases/"+kid), "Edited by Bob", "Secret Contact")
}
