// Package demo runs `tandem demo`: Tandem on a throw-away SQLite folder
// next to the Google emulator, with demo data on both sides, the
// administrator's Google account connected and syncing, so a new user
// sees the product working with one command and no set-up.
//
// Everything the demo sets up goes through the product's own ways: the
// settings service for the system settings, the REST API for records and
// sync settings, the UI's OAuth flow (with the emulator approving as the
// demo account) for the connection, and the job queue for the first sync.
package demo

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/app"
	"github.com/tandem-crm/tandem/internal/config"
	"github.com/tandem-crm/tandem/internal/emulator/google"
)

// Options configure Run. The zero value runs on 127.0.0.1:8080.
type Options struct {
	Addr         string // Tandem's listen address; default 127.0.0.1:8080
	EmulatorAddr string // the Google emulator's; default 127.0.0.1:0 (any free port)
	Keep         bool   // keep the data folder on exit (its path is printed)

	// AdminEmail and AdminPassword sign in to the demo; the defaults are
	// the demo Google account's address and a generated password.
	AdminEmail, AdminPassword string

	Out   io.Writer    // the summary and what happens; default os.Stdout
	Log   *slog.Logger // the server's log; default discards
	Input io.Reader    // each line read makes the next change in Google (nil: none)
	Now   func() time.Time

	// Ready, if set, is called once the demo is up, with what was printed.
	Ready func(Info)
}

// Info is a running demo.
type Info struct {
	URL           string // Tandem's address
	Email         string // the administrator's sign-in
	Password      string
	DataDir       string
	GoogleURL     string         // the emulator's address
	Google        *google.Server // the emulator
	GoogleAccount string         // the connected Google account
	ConnectionID  string
}

// GoogleAccount is the emulator's demo account the administrator connects.
const GoogleAccount = "alice@example.com"

// OAuth client Tandem uses with the emulator.
const (
	clientID     = "tandem-demo.apps.googleusercontent.com"
	clientSecret = "tandem-demo-secret"
)

// Run starts the demo and keeps it running until ctx ends, then stops the
// server, the job workers and the emulator and removes the data folder
// (unless Keep). An interrupted demo returns nil.
func Run(ctx context.Context, o Options) (err error) {
	o.Addr = cmp.Or(o.Addr, "127.0.0.1:8080")
	o.EmulatorAddr = cmp.Or(o.EmulatorAddr, "127.0.0.1:0")
	o.AdminEmail = cmp.Or(o.AdminEmail, GoogleAccount)
	if o.AdminPassword == "" {
		o.AdminPassword = access.NewToken("")[:20]
	}
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	running := false
	defer func() {
		if !running && err != nil && ctx.Err() != nil {
			err = nil // Ctrl-C during the set-up: a clean stop
		}
	}()

	// The port first: a taken one is the likeliest failure, and the
	// emulator must know Tandem's address for its redirect URI.
	ln, err := app.Listen(o.Addr)
	if err != nil {
		return err
	}
	defer ln.Close() // Serve closes it; this covers a failed set-up
	site := siteURL(ln.Addr())

	dir, err := os.MkdirTemp("", "tandem-demo-")
	if err != nil {
		return fmt.Errorf("data folder: %w", err)
	}
	defer func() {
		if o.Keep {
			fmt.Fprintf(o.Out, "The demo's data is kept in %s\n", dir)
			return
		}
		if rerr := os.RemoveAll(dir); rerr != nil {
			err = errors.Join(err, fmt.Errorf("remove data folder: %w", rerr))
		}
	}()

	emu := google.New(google.Options{Addr: o.EmulatorAddr, Seed: 1,
		Logf: func(format string, args ...any) { o.Log.Debug("emulator: " + fmt.Sprintf(format, args...)) }})
	emu.AddClient(clientID, clientSecret, oauthCallback(site))
	if err := emu.SeedDemo(); err != nil {
		return fmt.Errorf("emulator: seed: %w", err)
	}
	if err := prepareGoogle(emu); err != nil {
		return fmt.Errorf("emulator: %w", err)
	}
	emuURL, err := emu.Start()
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("Google emulator: listen on %s: %w; choose another address with --emulator-addr", o.EmulatorAddr, app.ErrAddrInUse)
		}
		return fmt.Errorf("Google emulator: %w", err)
	}
	defer emu.Close()

	cfg := &config.Config{Addr: ln.Addr().String(), DataDir: dir, Workers: 2,
		AdminEmail: o.AdminEmail, AdminPassword: o.AdminPassword}
	a, err := app.Open(ctx, cfg, o.Log)
	if err != nil {
		return err
	}
	defer func() {
		// Stopping the queue waits for a run in flight, which may still
		// talk to the emulator: so before the emulator closes.
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), app.ShutdownTimeout)
		defer cancel()
		a.Close(stopCtx)
	}()
	if err := configure(ctx, a, site, emuURL); err != nil {
		return err
	}
	if err := a.EnsureAdmin(ctx, io.Discard); err != nil {
		return err
	}
	if err := a.OpenQueue(ctx, cfg.Workers); err != nil {
		return err
	}
	serveCtx, stopServing := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- a.Serve(serveCtx, ln) }()
	defer func() {
		stopServing()
		if serr := <-served; serr != nil {
			err = errors.Join(err, fmt.Errorf("stop server: %w", serr))
		}
	}()

	info := Info{URL: site, Email: o.AdminEmail, Password: o.AdminPassword, DataDir: dir, GoogleURL: emuURL,
		Google: emu, GoogleAccount: GoogleAccount}
	d := &demo{o: o, a: a, emu: emu, c: newClient(site), info: &info}
	first, err := d.setUp(ctx)
	if err != nil {
		return err
	}
	running = true
	d.printSummary(first)
	if o.Ready != nil {
		o.Ready(info)
	}
	return d.wait(ctx, served)
}

// wait runs until ctx ends, making the next scripted change in Google
// for each line of input.
func (d *demo) wait(ctx context.Context, served chan error) error {
	lines := make(chan struct{})
	if d.o.Input != nil {
		go func() {
			buf := make([]byte, 1)
			for {
				n, err := d.o.Input.Read(buf)
				if n == 1 && buf[0] == '\n' {
					select {
					case lines <- struct{}{}:
					case <-ctx.Done():
						return
					}
				}
				if err != nil {
					return
				}
			}
		}()
	}
	changes := googleChanges(d.o.Now())
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(d.o.Out, "\nStopping the demo…")
			return nil
		case err := <-served:
			served <- err // for the deferred stop
			return fmt.Errorf("server: %w", err)
		case <-lines:
			if len(changes) == 0 {
				fmt.Fprintln(d.o.Out, "Nothing more is scripted; change things in Tandem, or press Ctrl-C to stop.")
				continue
			}
			ch := changes[0]
			changes = changes[1:]
			if err := ch.do(d.emu); err != nil {
				fmt.Fprintf(d.o.Out, "Could not make the change in Google: %v\n", err)
				continue
			}
			fmt.Fprintf(d.o.Out, "In Google, %s.\n  Bring it into Tandem with “Run sync now” on %s/profile/accounts/%s\n",
				ch.what, d.info.URL, d.info.ConnectionID)
		}
	}
}

// siteURL is the address to open in a browser: a wildcard listen address
// is reached on loopback.
func siteURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}
