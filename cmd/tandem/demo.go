package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/tandem-crm/tandem/internal/demo"
)

const demoUsage = `Usage:
  tandem demo [--addr 127.0.0.1:8080] [--emulator-addr 127.0.0.1:0] [--keep]

Starts Tandem on a temporary data folder next to a loopback Google emulator
with demo accounts, contacts and events on both sides, connects a Google
account with contact and calendar sync, runs the first sync and prints the
address, the sign-in and what to try. Ctrl-C stops it and removes the data
folder (unless --keep). TANDEM_ADMIN_EMAIL and TANDEM_ADMIN_PASSWORD choose
the sign-in.
`

func demoCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tandem demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, demoUsage, "\nFlags:\n")
		fs.PrintDefaults()
	}
	o := demo.Options{Out: stdout, Input: os.Stdin,
		AdminEmail: os.Getenv("TANDEM_ADMIN_EMAIL"), AdminPassword: os.Getenv("TANDEM_ADMIN_PASSWORD")}
	fs.StringVar(&o.Addr, "addr", "127.0.0.1:8080", "Tandem's listen address")
	fs.StringVar(&o.EmulatorAddr, "emulator-addr", "127.0.0.1:0", "the Google emulator's listen address (port 0: any free one)")
	fs.BoolVar(&o.Keep, "keep", false, "keep the data folder when the demo stops")
	logLevel := fs.String("log-level", "warn", "server log level: debug, info, warn, error")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil // asked for the usage, which Parse printed
	} else if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("demo: unexpected argument %q", fs.Arg(0))
	}
	o.Log = newLogger(*logLevel, stderr)
	slog.SetDefault(o.Log) // the job queue's migrations log to the default logger
	return demo.Run(ctx, o)
}
