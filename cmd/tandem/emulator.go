package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"

	googleemu "github.com/tandem-crm/tandem/internal/emulator/google"
	messengeremu "github.com/tandem-crm/tandem/internal/emulator/messenger"
	telegramemu "github.com/tandem-crm/tandem/internal/emulator/telegram"
	"github.com/tandem-crm/tandem/internal/oauth"
)

const emulatorUsage = `Usage:
  tandem emulator google [--addr 127.0.0.1:8085] [--tandem-url http://127.0.0.1:8080]
                         [--client-id ID] [--client-secret S] [--redirect URL]...
                         [--seed N] [--auto-approve EMAIL] [--allow-http-push]
                         [--quota-critical-reads 90] [--quota-critical-writes 60]
                         [--quota-writes 30] [--quota-group-reads 90] [--quota-calendar 0]

google   run a loopback emulator of Google's People API, Calendar API and
         OAuth endpoints with demo users (alice@example.com, bob@example.com),
         each with a few contacts and events, and print the settings to
         enter in Tandem. --tandem-url is Tandem's address as you open it in
         the browser: it becomes SiteUrl, and <SiteUrl>/oauth/google/callback
         the redirect URI the emulator accepts. Runs until interrupted; data
         lives in memory.

         Google's per-user, per-minute People quotas are enforced, with its
         429 and Retry-After, in quota units (a batch create or update costs
         6 critical writes and 6 critical reads, a single one 1 + 1); 0 turns
         a quota off. GET/PUT <emulator>/emulator/quotas reads and changes
         them while it runs; GET <emulator>/emulator/quotas/floor gives the
         least time the quotas allow for the calls made so far.

  tandem emulator telegram [--addr 127.0.0.1:8086] [--bot-token TOKEN]
                           [--bot-username tandem_demo_bot] [--seed N]
                           [--https-webhooks-only] [--no-rate-limits]
                           [--webhook-retries 5]

telegram run a loopback emulator of the Telegram Bot API with one bot and
         print its token and API address. Customers are played through the
         emulator's own API (POST <emulator>/emulator/bots/<token>/messages
         and the rest, listed in internal/emulator/telegram's documentation):
         they write, send photos and documents, block the bot, and read
         what the bot answered. Webhooks may point at any http or https
         address, loopback included (Telegram takes public https on ports
         443, 80, 88 and 8443 only: --https-webhooks-only). Telegram's flood
         limits are on (1 message a second per chat, 30 a second per bot);
         --no-rate-limits turns them off. Runs until interrupted; data
         lives in memory.

  tandem emulator messenger [--addr 127.0.0.1:8087] [--tandem-url http://127.0.0.1:8080]
                            [--app-id ID] [--app-secret S] [--redirect URL]... [--human-agent]
                            [--auto-approve] [--send-rate 300] [--seed N]

messenger  run a loopback emulator of Facebook Login and the Messenger
         Platform (Graph API, webhooks, Send API, handover protocol) with an
         app, a user who manages the page "Demo Shop" and two customers, and
         print what to enter in Tandem. <SiteUrl>/oauth/facebook/callback is
         the accepted redirect URI. Customers write, and an external bot
         acts, through the control API under <emulator>/emulator/ (see the
         printed examples; every endpoint is in the package documentation).
         Webhooks may call back over http to this machine. Runs until
         interrupted; data lives in memory.
`

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func emulatorCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, emulatorUsage)
		return errors.New("emulator: expected the emulator's name: google, telegram or messenger")
	}
	switch args[0] {
	case "google":
		return emulatorGoogle(ctx, args[1:], stdout, stderr)
	case "telegram":
		return emulatorTelegram(ctx, args[1:], stdout, stderr)
	case "messenger":
		return emulatorMessenger(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, emulatorUsage)
		return nil
	default:
		fmt.Fprint(stderr, emulatorUsage)
		return fmt.Errorf("emulator: unknown emulator %q (known: google, telegram, messenger)", args[0])
	}
}

func emulatorGoogle(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tandem emulator google", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), emulatorUsage, "\nFlags:\n")
		fs.PrintDefaults()
	}
	addr := fs.String("addr", "127.0.0.1:8085", "listen address")
	tandemURL := fs.String("tandem-url", "http://127.0.0.1:8080", "Tandem's address as opened in the browser: printed as SiteUrl, and its callback is the accepted redirect URI")
	clientID := fs.String("client-id", "tandem-emulator", "OAuth client id to accept")
	clientSecret := fs.String("client-secret", "tandem-emulator-secret", "OAuth client secret to accept")
	var redirects stringList
	fs.Var(&redirects, "redirect", "a further accepted OAuth redirect URI (repeatable)")
	seed := fs.Int64("seed", 1, "seed for identifiers, tokens and random faults")
	autoApprove := fs.String("auto-approve", "", "approve every authorization as this user, without the consent page")
	allowHTTPPush := fs.Bool("allow-http-push", false, "accept http push addresses in events.watch (Google takes https only)")
	q := googleemu.DefaultQuotas()
	fs.IntVar(&q.PeopleCriticalReads, "quota-critical-reads", q.PeopleCriticalReads, "People critical reads (contact reads) per minute per user, in quota units; 0 = off")
	fs.IntVar(&q.PeopleCriticalWrites, "quota-critical-writes", q.PeopleCriticalWrites, "People critical writes (contact creates and updates) per minute per user; 0 = off")
	fs.IntVar(&q.PeopleWrites, "quota-writes", q.PeopleWrites, "People writes (contact deletes, contact-group writes) per minute per user; 0 = off")
	fs.IntVar(&q.PeopleGroupReads, "quota-group-reads", q.PeopleGroupReads, "People contact-group reads per minute per user; 0 = off")
	fs.IntVar(&q.Calendar, "quota-calendar", q.Calendar, "Calendar requests per minute per user; 0 = off")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if q.PeopleCriticalReads < 0 || q.PeopleCriticalWrites < 0 || q.PeopleWrites < 0 || q.PeopleGroupReads < 0 || q.Calendar < 0 {
		return errors.New("emulator google: quotas cannot be negative (0 turns one off)")
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("emulator google: unexpected argument %q", fs.Arg(0))
	}
	site, err := siteURL(*tandemURL)
	if err != nil {
		return fmt.Errorf("emulator google: --tandem-url: %w", err)
	}
	// Tandem sends <SiteUrl>/oauth/google/callback, and Google (so the
	// emulator) accepts only redirect URIs registered exactly.
	redirect := site + oauth.GoogleCallbackPath
	srv := googleemu.New(googleemu.Options{
		Addr:          *addr,
		Seed:          *seed,
		AllowHTTPPush: *allowHTTPPush,
		Quotas:        &q,
		Logf:          func(format string, a ...any) { fmt.Fprintf(stderr, "emulator: "+format+"\n", a...) },
	})
	srv.AddClient(*clientID, *clientSecret, append([]string{redirect}, redirects...)...)
	if err := srv.SeedDemo(); err != nil {
		return fmt.Errorf("emulator google: seeding: %w", err)
	}
	if *autoApprove != "" {
		srv.SetAutoApprove(*autoApprove)
	}
	base, err := srv.Start()
	if err != nil {
		return fmt.Errorf("emulator google: %w", err)
	}
	defer srv.Close()
	printEmulatorSettings(stdout, base, site, redirect, *clientID, *clientSecret, srv.Users())
	<-ctx.Done()
	return nil
}

// siteURL checks Tandem's address and drops a trailing slash, as Tandem
// does with SiteUrl.
func siteURL(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("want an address like http://127.0.0.1:8080, got %q", raw)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

func printEmulatorSettings(w io.Writer, base, site, redirect, clientID, clientSecret string, users []string) {
	fmt.Fprintf(w, "Google emulator listening on %s\n", base)
	fmt.Fprintf(w, "Users: %s (choose one on the consent page)\n\n", strings.Join(users, ", "))
	fmt.Fprintf(w, "Settings to enter in Tandem (Administration, Settings):\n")
	section := func(name string, kvs ...[2]string) {
		fmt.Fprintf(w, "  %s\n", name)
		for _, kv := range kvs {
			fmt.Fprintf(w, "    %-20s %s\n", kv[0], kv[1])
		}
	}
	section("General",
		[2]string{"SiteUrl", site},
		[2]string{"CalendarIntegration", "google"})
	section("Google",
		[2]string{"UseSharedGoogleApp", "off"},
		[2]string{"GoogleClientId", clientID},
		[2]string{"GoogleClientSecret", clientSecret},
		[2]string{"GoogleApiUrl", base},
		[2]string{"GoogleAuthUrl", base + "/o/oauth2/v2/auth"},
		[2]string{"GoogleTokenUrl", base + "/token"},
		[2]string{"GoogleUserInfoUrl", base + "/oauth2/v3/userinfo"})
	fmt.Fprintf(w, "\nRedirect URI the emulator accepts: %s\n", redirect)
	fmt.Fprintf(w, "Open Tandem at %s, the SiteUrl: the sign-in cookie belongs to that host. For Tandem on\n", site)
	fmt.Fprintf(w, "another address or port, restart the emulator with --tandem-url.\n")
	if strings.HasPrefix(site, "http:") {
		fmt.Fprintf(w, "Calendar push stays off with an http SiteUrl (Google pushes only to https); calendars are polled.\n")
	}
	fmt.Fprintf(w, "\nPeople API: %s/   Calendar API: %s/calendar/v3/\nPress Ctrl-C to stop.\n", base, base)
}

func emulatorTelegram(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tandem emulator telegram", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), emulatorUsage, "\nFlags:\n")
		fs.PrintDefaults()
	}
	addr := fs.String("addr", "127.0.0.1:8086", "listen address")
	token := fs.String("bot-token", "", "the bot's token, <id>:<35 characters of A-Z a-z 0-9 _ -> (default: made from --seed)")
	username := fs.String("bot-username", "tandem_demo_bot", "the bot's username (ends in \"bot\")")
	seed := fs.Int64("seed", 1, "seed for tokens, identifiers and file ids")
	httpsOnly := fs.Bool("https-webhooks-only", false, "refuse webhook URLs Telegram refuses: not https, other ports than 443/80/88/8443, reserved addresses such as 127.0.0.1")
	noLimits := fs.Bool("no-rate-limits", false, "turn Telegram's flood limits off (429 Too Many Requests)")
	retries := fs.Int("webhook-retries", 5, "retries of a failed webhook delivery before the update is dropped")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("emulator telegram: unexpected argument %q", fs.Arg(0))
	}
	if *retries < 0 {
		return errors.New("emulator telegram: --webhook-retries cannot be negative")
	}
	opts := telegramemu.Options{
		Addr:                  *addr,
		Seed:                  *seed,
		AllowInsecureWebhooks: !*httpsOnly,
		WebhookRetries:        *retries,
		Logf:                  func(format string, a ...any) { fmt.Fprintf(stderr, "emulator: "+format+"\n", a...) },
	}
	if *retries == 0 {
		opts.WebhookRetries = -1 // Options' 0 means the default
	}
	if *noLimits {
		opts.RateLimits = &telegramemu.RateLimits{}
	}
	srv := telegramemu.New(opts)
	bot, err := srv.CreateBot(telegramemu.BotInfo{Token: *token, Username: *username, FirstName: "Tandem Demo"})
	if err != nil {
		return fmt.Errorf("emulator telegram: %w", err)
	}
	base, err := srv.Start(ctx)
	if err != nil {
		return fmt.Errorf("emulator telegram: %w", err)
	}
	defer srv.Close()
	fmt.Fprintf(stdout, "Telegram Bot API emulator listening on %s\n\n", base)
	fmt.Fprintf(stdout, "Bot:           @%s (id %d)\n", bot.Username, bot.ID)
	fmt.Fprintf(stdout, "Token:         %s\n", bot.Token)
	fmt.Fprintf(stdout, "API base URL:  %s   (calls go to <base>/bot<token>/<method>, as to https://api.telegram.org)\n\n", base)
	fmt.Fprintf(stdout, "A customer writes to the bot:\n  curl -s %s%sbots/%s/messages -d '{\"from\":{\"id\":1001,\"first_name\":\"Ann\"},\"text\":\"Hello\"}'\n", base, telegramemu.ControlPrefix, bot.Token)
	fmt.Fprintf(stdout, "What the bot answered her:\n  curl -s %s%sbots/%s/chats/1001/sent\n", base, telegramemu.ControlPrefix, bot.Token)
	fmt.Fprintf(stdout, "\nPress Ctrl-C to stop.\n")
	<-ctx.Done()
	return nil
}

// messengerCallbackPath is where the emulator expects Facebook Login to send
// the browser back, appended to SiteUrl, after the Google provider's
// pattern (/oauth/<provider>/callback).
const messengerCallbackPath = "/oauth/facebook/callback"

func emulatorMessenger(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tandem emulator messenger", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), emulatorUsage, "\nFlags:\n")
		fs.PrintDefaults()
	}
	addr := fs.String("addr", "127.0.0.1:8087", "listen address")
	tandemURL := fs.String("tandem-url", "http://127.0.0.1:8080", "Tandem's address as opened in the browser: its /oauth/facebook/callback is the accepted redirect URI")
	appID := fs.String("app-id", "100000000000001", "the Meta app's id (numeric)")
	appSecret := fs.String("app-secret", "tandem-emulator-secret", "the Meta app's secret (signs the webhooks)")
	var redirects stringList
	fs.Var(&redirects, "redirect", "a further accepted OAuth redirect URI (repeatable)")
	humanAgent := fs.Bool("human-agent", false, "give the app the Human Agent permission (tag HUMAN_AGENT, 7-day window)")
	autoApprove := fs.Bool("auto-approve", false, "approve every login at once as the demo user, without the consent page")
	sendRate := fs.Int("send-rate", 300, "Send API calls a page may make per second before (#613); 0 = no limit")
	seed := fs.Int64("seed", 1, "seed for identifiers and tokens")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("emulator messenger: unexpected argument %q", fs.Arg(0))
	}
	if *sendRate < 0 {
		return errors.New("emulator messenger: --send-rate cannot be negative (0 turns the limit off)")
	}
	site, err := siteURL(*tandemURL)
	if err != nil {
		return fmt.Errorf("emulator messenger: --tandem-url: %w", err)
	}
	redirect := site + messengerCallbackPath
	rate := *sendRate
	if rate == 0 {
		rate = -1
	}
	srv := messengeremu.New(messengeremu.Options{
		Addr:               *addr,
		Seed:               *seed,
		SendRateLimit:      rate,
		AllowHTTPCallbacks: true,
		Logf:               func(format string, a ...any) { fmt.Fprintf(stderr, "emulator: "+format+"\n", a...) },
	})
	app, err := srv.AddApp(messengeremu.AppConfig{ID: *appID, Secret: *appSecret, Name: "Tandem", HumanAgent: *humanAgent,
		RedirectURIs: append([]string{redirect}, redirects...)})
	if err != nil {
		return fmt.Errorf("emulator messenger: %w", err)
	}
	demo, err := seedMessengerDemo(srv, *autoApprove)
	if err != nil {
		return fmt.Errorf("emulator messenger: seeding: %w", err)
	}
	base, err := srv.Start()
	if err != nil {
		return fmt.Errorf("emulator messenger: %w", err)
	}
	defer srv.Close()
	printMessengerSettings(stdout, base, site, redirect, app, demo)
	<-ctx.Done()
	return nil
}

type messengerDemo struct {
	userID, userName, pageID, pageName string
	customers                          [][2]string // PSID, name
}

func seedMessengerDemo(srv *messengeremu.Server, autoApprove bool) (messengerDemo, error) {
	d := messengerDemo{userName: "Anna Admin", pageName: "Demo Shop"}
	var err error
	if d.userID, err = srv.AddUser("", d.userName); err != nil {
		return d, err
	}
	if d.pageID, err = srv.AddPage(messengeremu.PageConfig{Name: d.pageName, Admins: []string{d.userID}}); err != nil {
		return d, err
	}
	for _, name := range []string{"Carla Customer", "Dmitri Dvořák"} {
		psid, err := srv.AddCustomer(d.pageID, name)
		if err != nil {
			return d, err
		}
		d.customers = append(d.customers, [2]string{psid, name})
	}
	if autoApprove {
		if err := srv.SetAutoApprove(d.userID); err != nil {
			return d, err
		}
	}
	return d, nil
}

func printMessengerSettings(w io.Writer, base, site, redirect string, app messengeremu.AppConfig, d messengerDemo) {
	fmt.Fprintf(w, "Messenger emulator listening on %s\n\n", base)
	fmt.Fprintf(w, "For Tandem (SiteUrl %s):\n", site)
	for _, kv := range [][2]string{
		{"App id", app.ID},
		{"App secret", app.Secret},
		{"Graph API base", base + " (for https://graph.facebook.com)"},
		{"Login dialog base", base + " (for https://www.facebook.com)"},
		{"Redirect URI", redirect},
	} {
		fmt.Fprintf(w, "  %-18s %s\n", kv[0], kv[1])
	}
	fmt.Fprintf(w, "\nFacebook user %s (%s) manages the page %s (%s).\n", d.userName, d.userID, d.pageName, d.pageID)
	fmt.Fprintf(w, "Customers of the page (PSIDs):\n")
	for _, c := range d.customers {
		fmt.Fprintf(w, "  %s  %s\n", c[0], c[1])
	}
	if len(d.customers) > 0 {
		fmt.Fprintf(w, "\nA customer writes:\n  curl -X POST %s%scustomers/messages -d '{\"page\":\"%s\",\"psid\":\"%s\",\"text\":\"Hello\"}'\n",
			base, messengeremu.AdminPrefix, d.pageID, d.customers[0][0])
		fmt.Fprintf(w, "What the customer received:\n  curl '%s%scustomers/received?page=%s&psid=%s'\n", base, messengeremu.AdminPrefix, d.pageID, d.customers[0][0])
	}
	fmt.Fprintf(w, "Step the clock over the 24-hour window:\n  curl -X POST %s%sclock/advance -d '{\"duration\":\"25h\"}'\n", base, messengeremu.AdminPrefix)
	fmt.Fprintf(w, "\nPress Ctrl-C to stop.\n")
}
