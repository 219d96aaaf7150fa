package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	googleemu "github.com/tandem-crm/tandem/internal/emulator/google"
)

const emulatorUsage = `Usage:
  tandem emulator google [--addr 127.0.0.1:8085] [--client-id ID] [--client-secret S]
                         [--redirect URL]... [--seed N] [--auto-approve EMAIL]

google   run a loopback emulator of Google's People API, Calendar API and
         OAuth endpoints with demo users (alice@example.com, bob@example.com),
         each with a few contacts and events, and print the settings to
         enter in Tandem. Runs until interrupted; data lives in memory.
`

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func emulatorCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, emulatorUsage)
		return errors.New("emulator: expected the emulator's name: google")
	}
	switch args[0] {
	case "google":
		return emulatorGoogle(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, emulatorUsage)
		return nil
	default:
		fmt.Fprint(stderr, emulatorUsage)
		return fmt.Errorf("emulator: unknown emulator %q (known: google)", args[0])
	}
}

func emulatorGoogle(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tandem emulator google", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, emulatorUsage, "\nFlags:\n")
		fs.PrintDefaults()
	}
	addr := fs.String("addr", "127.0.0.1:8085", "listen address")
	clientID := fs.String("client-id", "tandem-emulator", "OAuth client id to accept")
	clientSecret := fs.String("client-secret", "tandem-emulator-secret", "OAuth client secret to accept")
	var redirects stringList
	fs.Var(&redirects, "redirect", "accepted OAuth redirect URI (repeatable; default Tandem's callback on 127.0.0.1:8080 and localhost:8080)")
	seed := fs.Int64("seed", 1, "seed for identifiers, tokens and random faults")
	autoApprove := fs.String("auto-approve", "", "approve every authorization as this user, without the consent page")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("emulator google: unexpected argument %q", fs.Arg(0))
	}
	if len(redirects) == 0 {
		redirects = stringList{"http://127.0.0.1:8080/oauth/google/callback", "http://localhost:8080/oauth/google/callback"}
	}
	srv := googleemu.New(googleemu.Options{
		Addr: *addr,
		Seed: *seed,
		Logf: func(format string, a ...any) { fmt.Fprintf(stderr, "emulator: "+format+"\n", a...) },
	})
	srv.AddClient(*clientID, *clientSecret, redirects...)
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
	fmt.Fprintf(stdout, "Google emulator listening on %s\n", base)
	fmt.Fprintf(stdout, "Users: %s (choose one on the consent page)\n\n", strings.Join(srv.Users(), ", "))
	fmt.Fprintf(stdout, "Settings to enter in Tandem (Administration, Google):\n")
	for _, kv := range [][2]string{
		{"UseSharedGoogleApp", "off"},
		{"CalendarIntegration", "google"},
		{"GoogleClientId", *clientID},
		{"GoogleClientSecret", *clientSecret},
		{"GoogleApiUrl", base},
		{"GoogleAuthUrl", base + "/o/oauth2/v2/auth"},
		{"GoogleTokenUrl", base + "/token"},
		{"GoogleUserInfoUrl", base + "/oauth2/v3/userinfo"},
	} {
		fmt.Fprintf(stdout, "  %-20s %s\n", kv[0], kv[1])
	}
	fmt.Fprintf(stdout, "\nAccepted redirect URIs (Tandem's SiteUrl + /oauth/google/callback; change with --redirect):\n")
	for _, r := range redirects {
		fmt.Fprintf(stdout, "  %s\n", r)
	}
	fmt.Fprintf(stdout, "\nPeople API: %s/   Calendar API: %s/calendar/v3/\nPress Ctrl-C to stop.\n", base, base)
	<-ctx.Done()
	return nil
}
