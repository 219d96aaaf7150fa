package ui_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/chat"
	"github.com/tandem-crm/tandem/internal/chat/messenger"
	fbemu "github.com/tandem-crm/tandem/internal/emulator/messenger"
	tgemu "github.com/tandem-crm/tandem/internal/emulator/telegram"
	"github.com/tandem-crm/tandem/internal/i18n"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

func chatQueues(t *testing.T, s *tandemtest.Server, names ...string) []*store.ChatQueue {
	t.Helper()
	var out []*store.ChatQueue
	for _, n := range names {
		q := &store.ChatQueue{Name: n, Routing: string(chat.RoutingAll), Members: []store.ChatQueueMember{{Kind: "user", ID: s.Admin.UserID}}}
		if err := s.App.Store.SaveChatQueue(context.Background(), q); err != nil {
			t.Fatal(err)
		}
		out = append(out, q)
	}
	return out
}

func TestTelegramAddForm(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	emu := tgemu.New(tgemu.Options{AllowInsecureWebhooks: true, Seed: 1})
	base, err := emu.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	bot, err := emu.CreateBot(tgemu.BotInfo{Username: "shop_bot", FirstName: "Shop"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.App.Settings.Put(ctx, "TelegramApiUrl", base, ""); err != nil {
		t.Fatal(err)
	}
	qs := chatQueues(t, s, "Sales", "Support")
	for _, l := range []i18n.Lang{i18n.En, i18n.Ru} {
		b := adminBrowser(t, s)
		b.Post(t, "/language", url.Values{"lang": {l.String()}, "next": {"/admin"}})
		p := b.Get(t, "/admin/chat/channels/new/telegram")
		wantStatus(t, l.String()+" form", p, http.StatusOK)
		noChatKeys(t, l.String()+" form", p.Body)
		mustHave(t, l.String()+" form", p.Body, tr(l, "chat.telegram.field.token"), `type="password"`, "Support")

		p = b.Post(t, "/admin/chat/channels/new/telegram", url.Values{"token": {"1:bad-token"}, "queue_id": {qs[1].ID}})
		wantStatus(t, l.String()+" bad token", p, http.StatusUnprocessableEntity)
		noChatKeys(t, l.String()+" bad token", p.Body)
		mustHave(t, l.String()+" bad token", p.Body, tr(l, "chat.telegram.bad_token"), `<option value="`+qs[1].ID+`" selected>`)
		mustLack(t, l.String()+" bad token", p.Body, "1:bad-token")
	}
	b := adminBrowser(t, s)
	b.Post(t, "/language", url.Values{"lang": {"en"}, "next": {"/admin"}}) // the language is the user's
	p := b.Post(t, "/admin/chat/channels/new/telegram", url.Values{"token": {bot.Token}, "queue_id": {qs[0].ID}})
	if chs, _ := s.App.Chat.Channels(ctx, chat.KindTelegram); len(chs) != 1 || chs[0].QueueID != qs[0].ID {
		t.Fatalf("after connecting (%d at %s): %+v", p.Status, p.URL, chs)
	}
	p = b.Post(t, "/admin/chat/channels/new/telegram", url.Values{"token": {bot.Token}, "queue_id": {qs[0].ID}})
	wantStatus(t, "same bot", p, http.StatusUnprocessableEntity)
	mustHave(t, "same bot", p.Body, tr(i18n.En, "chat.telegram.duplicate"))
}

var pickField = regexp.MustCompile(`name="pick" value="([^"]+)"`)

func TestMessengerConnectPages(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	emu := fbemu.New(fbemu.Options{AllowHTTPCallbacks: true, Seed: 3})
	base, err := emu.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	fbApp, err := emu.AddApp(fbemu.AppConfig{Name: "Tandem", RedirectURIs: []string{s.URL + messenger.CallbackPath}})
	if err != nil {
		t.Fatal(err)
	}
	user, _ := emu.AddUser("", "Paula")
	shop, _ := emu.AddPage(fbemu.PageConfig{Name: "Corner Shop", Admins: []string{user}})
	if _, err := emu.AddPage(fbemu.PageConfig{Name: "Other Page", Admins: []string{user}}); err != nil {
		t.Fatal(err)
	}
	if err := emu.SetAutoApprove(user); err != nil {
		t.Fatal(err)
	}
	qs := chatQueues(t, s, "Support")
	b := adminBrowser(t, s)
	p := b.Get(t, "/admin/chat/channels/new/messenger")
	wantStatus(t, "not configured", p, http.StatusOK)
	mustHave(t, "not configured", p.Body, tr(i18n.En, "chat.messenger.not_configured"))
	for k, v := range map[string]string{"SiteUrl": s.URL, "MessengerAppId": fbApp.ID, "MessengerAppSecret": fbApp.Secret,
		"MessengerGraphUrl": base, "MessengerLoginUrl": base} {
		if err := s.App.Settings.Put(ctx, k, v, ""); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range []i18n.Lang{i18n.En, i18n.Ru} {
		b := adminBrowser(t, s)
		b.Post(t, "/language", url.Values{"lang": {l.String()}, "next": {"/admin"}})
		p = b.Get(t, "/admin/chat/channels/new/messenger")
		noChatKeys(t, l.String()+" start", p.Body)
		mustHave(t, l.String()+" start", p.Body, tr(l, "chat.messenger.connect"), s.URL+messenger.CallbackPath)
	}
	b.Post(t, "/language", url.Values{"lang": {"en"}, "next": {"/admin"}}) // the language is the user's
	// Facebook Login through the browser: the emulator approves and
	// comes back with the pages to pick from.
	p = b.Get(t, "/admin/chat/channels/new/messenger/login")
	wantStatus(t, "pick", p, http.StatusOK)
	noChatKeys(t, "pick", p.Body)
	mustHave(t, "pick", p.Body, "Corner Shop", "Other Page", tr(i18n.En, "chat.messenger.pages_title"))
	m := pickField.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatal("no sealed pick on the page")
	}
	mustLack(t, "pick", p.Body, "access_token")
	pick := html.UnescapeString(m[1])
	// Nothing picked: the form comes back.
	p = b.Post(t, "/admin/chat/channels/new/messenger", url.Values{"pick": {pick}, "queue_id": {qs[0].ID}})
	wantStatus(t, "none picked", p, http.StatusUnprocessableEntity)
	noChatKeys(t, "none picked", p.Body)
	mustHave(t, "none picked", p.Body, tr(i18n.En, "chat.messenger.pick_one"))
	b.Post(t, "/admin/chat/channels/new/messenger", url.Values{"pick": {pick}, "queue_id": {qs[0].ID}, "page": {shop}})
	chs, err := s.App.Chat.Channels(ctx, chat.KindMessenger)
	if err != nil || len(chs) != 1 || chs[0].Name != "Corner Shop" || chs[0].ExternalID != shop {
		t.Fatalf("channels %+v %v", chs, err)
	}
	// A tampered pick, or a login coming back without our state, is refused.
	p = b.Post(t, "/admin/chat/channels/new/messenger", url.Values{"pick": {pick + "x"}, "queue_id": {qs[0].ID}, "page": {shop}})
	mustHave(t, "tampered", p.Body, tr(i18n.En, "chat.messenger.pick_expired"))
	p = b.Get(t, messenger.CallbackPath+"?code=abc&state=forged")
	wantStatus(t, "forged state", p, http.StatusBadRequest)
}
