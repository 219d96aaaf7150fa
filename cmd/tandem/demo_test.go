package main

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/tandem-crm/tandem/internal/app"
)

// TestDemoCommand checks the demo verb's wiring; internal/demo tests the demo.
func TestDemoCommand(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	t.Setenv("TMPDIR", t.TempDir())
	t.Setenv("TANDEM_DATA", t.TempDir())
	t.Setenv("TANDEM_LOG_LEVEL", "error")
	tests := []struct {
		name    string
		args    []string
		wantErr error // nil: success
		errText string
		stderr  string
	}{
		{"help", []string{"demo", "--help"}, nil, "", "--emulator-addr"},
		{"taken port", []string{"demo", "--addr", taken.Addr().String()}, app.ErrAddrInUse, "choose another address with --addr", ""},
		{"serve on a taken port", []string{"serve", "--addr", taken.Addr().String()}, app.ErrAddrInUse, "choose another address with --addr", ""},
		{"stray argument", []string{"demo", "now"}, errAny, `unexpected argument "now"`, "Usage:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(tt.args, &out, &errb)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("run %v: %v", tt.args, err)
			case tt.wantErr == errAny && err == nil, tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Fatalf("run %v: %v, want %v", tt.args, err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), tt.errText) {
				t.Errorf("error %q does not say %q", err, tt.errText)
			}
			if !strings.Contains(errb.String(), tt.stderr) {
				t.Errorf("stderr %q does not contain %q", errb.String(), tt.stderr)
			}
		})
	}
	var out, errb bytes.Buffer
	if err := run([]string{"help"}, &out, &errb); err != nil || !strings.Contains(out.String(), "tandem demo") {
		t.Errorf("the usage does not list demo: %v %q", err, out.String())
	}
}

// errAny stands for any error in a table.
var errAny = errors.New("any error")
