package daemon

import (
	"errors"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func TestListenInodes(t *testing.T) {
	table := []byte(`  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:8A97 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1111 1 0000000000000000 100 0 0 10 0
   1: 0100007F:8A97 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 2222 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3333 1 0000000000000000 100 0 0 10 0
`)
	got := listenInodes(table, 0x8A97)
	if len(got) != 1 || got[0] != "1111" {
		t.Fatalf("listenInodes = %v, want [1111] (only the LISTEN socket on the port)", got)
	}
}

// A port someone else listens on is not taken for the daemon's: the
// daemon here never listens, so waiting must fail rather than return at
// the first answer.
func TestWaitListeningIgnoresOtherListeners(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	p, err := Start(Config{Name: "sleep", Bin: "/bin/sleep", Args: []string{"30"}, Out: filepath.Join(t.TempDir(), "out")})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	if err := p.WaitListening(300*time.Millisecond, port); err == nil {
		t.Fatal("WaitListening took another process's listener for the daemon's")
	}
}

func TestWaitListeningOwnAndExit(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p, err := Start(Config{Name: "http", Bin: py, Args: []string{"-m", "http.server", "-b", "127.0.0.1", "-d", dir, strconv.Itoa(port)}, Out: filepath.Join(dir, "out")})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.WaitListening(30*time.Second, port); err != nil {
		t.Fatalf("own listener not seen: %v", err)
	}
	// A second server on the same port fails to bind and exits.
	q, err := Start(Config{Name: "http2", Bin: py, Args: []string{"-m", "http.server", "-b", "127.0.0.1", "-d", dir, strconv.Itoa(port)}, Out: filepath.Join(dir, "out2")})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.WaitListening(30*time.Second, port); !errors.Is(err, ErrExited) {
		t.Fatalf("second server: err = %v, want ErrExited", err)
	}
	if err := p.Stop(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
		c.Close()
		t.Fatal("still listening after Stop")
	}
}
