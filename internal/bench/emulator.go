package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tandem-crm/tandem/internal/emulator/google"
)

// emulatorProc is the Google emulator running as a process of its own
// (`tandem emulator google`), driven over HTTP through its admin API
// (google.AdminPrefix), so its CPU and memory are not the benchmark's.
type emulatorProc struct {
	cmd  *exec.Cmd
	base string
	hc   *http.Client
	done chan struct{} // closed when the process has ended
	err  error         // its exit status, once done
	logs *tailBuffer   // the end of its stderr, for error reports
}

// listening is the line `tandem emulator google` prints once it serves.
const listening = "Google emulator listening on "

// startEmulator runs argv (the emulator command, e.g. this executable
// with "emulator", "google") on a free loopback port, with the benchmark's
// OAuth client, and waits until it serves.
func startEmulator(ctx context.Context, argv []string) (*emulatorProc, error) {
	if len(argv) == 0 {
		return nil, errors.New("no emulator command")
	}
	args := append(append([]string(nil), argv[1:]...),
		"--addr", "127.0.0.1:0", "--tandem-url", GoogleSite,
		"--client-id", GoogleClientID, "--client-secret", GoogleClientSecret)
	cmd := exec.Command(argv[0], args...)
	cmd.Env = os.Environ()
	setParentDeathSignal(cmd)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	e := &emulatorProc{cmd: cmd, done: make(chan struct{}), logs: &tailBuffer{max: 8 << 10},
		hc: &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}}
	cmd.Stderr = e.logs
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start emulator %s: %w", argv[0], err)
	}
	go func() {
		e.err = cmd.Wait()
		close(e.done)
	}()
	base := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sent := false
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), listening); ok && !sent {
				base <- strings.TrimSpace(u)
				sent = true
			}
		}
		io.Copy(io.Discard, out)
	}()
	t := time.NewTimer(time.Minute)
	defer t.Stop()
	select {
	case e.base = <-base:
	case <-e.done:
		return nil, fmt.Errorf("emulator ended before serving: %v\n%s", e.err, e.logs.String())
	case <-t.C:
		e.stop()
		return nil, fmt.Errorf("emulator did not start within a minute\n%s", e.logs.String())
	case <-ctx.Done():
		e.stop()
		return nil, ctx.Err()
	}
	if _, err := url.Parse(e.base); err != nil || !strings.HasPrefix(e.base, "http://") {
		e.stop()
		return nil, fmt.Errorf("emulator printed a bad address %q", e.base)
	}
	return e, nil
}

// stop ends the process (SIGTERM, then SIGKILL after 5 s) and waits for it.
func (e *emulatorProc) stop() {
	select {
	case <-e.done:
		return
	default:
	}
	e.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	select {
	case <-e.done:
	case <-t.C:
		e.cmd.Process.Kill()
		<-e.done
	}
}

// peakRSSMB is the process's peak resident memory so far (VmHWM), in MB; 0
// when /proc is unavailable.
func (e *emulatorProc) peakRSSMB() float64 {
	return procRSSMB(fmt.Sprintf("/proc/%d/status", e.cmd.Process.Pid), "VmHWM")
}

// admin calls the emulator's admin API: in (if not nil) as the JSON body,
// the answer decoded into out (if not nil).
func (e *emulatorProc) admin(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.base+google.AdminPrefix+path, body)
	if err != nil {
		return err
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		return fmt.Errorf("emulator %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("emulator %s: %s: %s", path, resp.Status, bytes.TrimSpace(b))
	}
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("emulator %s: %w", path, err)
	}
	return nil
}

func (e *emulatorProc) addUser(ctx context.Context, email, name string) error {
	return e.admin(ctx, http.MethodPost, "users", map[string]string{"email": email, "name": name}, nil)
}

func (e *emulatorProc) autoApprove(ctx context.Context, email string) error {
	return e.admin(ctx, http.MethodPost, "auto-approve", map[string]string{"email": email}, nil)
}

func (e *emulatorProc) createGroup(ctx context.Context, email, name string) (string, error) {
	var out struct{ ResourceName string }
	err := e.admin(ctx, http.MethodPost, "groups", map[string]string{"user": email, "name": name}, &out)
	return out.ResourceName, err
}

// createContacts creates persons in email's account, in requests of at
// most 1,000.
func (e *emulatorProc) createContacts(ctx context.Context, email string, persons []map[string]any) error {
	const batch = 1000
	for first := 0; first < len(persons); first += batch {
		part := persons[first:min(first+batch, len(persons))]
		var out struct{ ResourceNames []string }
		if err := e.admin(ctx, http.MethodPost, "contacts", map[string]any{"user": email, "persons": part}, &out); err != nil {
			return err
		}
		if len(out.ResourceNames) != len(part) {
			return fmt.Errorf("emulator created %d contacts of %d", len(out.ResourceNames), len(part))
		}
	}
	return nil
}

// contactUpdate is one edit of the admin API's contacts:update.
type contactUpdate struct {
	ResourceName string         `json:"resourceName"`
	Person       map[string]any `json:"person"`
	Fields       []string       `json:"fields"`
}

func (e *emulatorProc) updateContacts(ctx context.Context, email string, ups []contactUpdate) error {
	return e.admin(ctx, http.MethodPost, "contacts:update", map[string]any{"user": email, "updates": ups}, nil)
}

// countContacts counts email's live contacts in group ("" for all).
func (e *emulatorProc) countContacts(ctx context.Context, email, group string) (int, error) {
	var out struct{ Count int }
	err := e.admin(ctx, http.MethodGet, "contacts:count?"+url.Values{"user": {email}, "group": {group}}.Encode(), nil, &out)
	return out.Count, err
}

// calls is how many requests reached each API method so far.
func (e *emulatorProc) calls(ctx context.Context) (map[string]int, error) {
	var calls map[string]int
	err := e.admin(ctx, http.MethodGet, "calls", nil, &calls)
	return calls, err
}

// peopleCalls is how many People API requests (people.* and
// contactGroups.*) the emulator has answered.
func (e *emulatorProc) peopleCalls(ctx context.Context) (int, error) {
	calls, err := e.calls(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for k, c := range calls {
		if strings.HasPrefix(k, "people.") || strings.HasPrefix(k, "contactGroups.") {
			n += c
		}
	}
	return n, nil
}

func (e *emulatorProc) quotas(ctx context.Context) (google.Quotas, error) {
	var q google.Quotas
	err := e.admin(ctx, http.MethodGet, "quotas", nil, &q)
	return q, err
}

// setQuotas sets every quota (PUT keeps the fields left out).
func (e *emulatorProc) setQuotas(ctx context.Context, q google.Quotas) error {
	return e.admin(ctx, http.MethodPut, "quotas", q, nil)
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append([]byte(nil), t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
