// Package daemon runs the real servers tests depend on (Dovecot, Postfix,
// Radicale, Xandikos) as child processes: each in its own process group,
// its output in a file, gone when the test binary dies, and known to be
// listening only once a socket of its own group is bound to the port —
// not merely when something answers there, which on a busy machine can be
// another test's server that took the port first.
package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Config describes a daemon to start in the foreground.
type Config struct {
	Name string
	Bin  string
	Args []string
	// Out receives the process's stdout and stderr; it is truncated, so
	// it holds only this run's output.
	Out string
	// DeathSignal is sent to the daemon if the test binary dies first;
	// SIGKILL when zero. Masters that take their children down on SIGTERM
	// should get SIGTERM.
	DeathSignal syscall.Signal
}

// Process is a running daemon.
type Process struct {
	name   string
	out    string
	cmd    *exec.Cmd
	exited chan struct{}
	err    error
}

// ErrExited is wrapped by WaitListening's error when the daemon exited
// before listening; the caller reads its logs to tell a port another
// process took first from a real failure.
var ErrExited = errors.New("exited before listening")

// Start starts the daemon.
func Start(c Config) (*Process, error) {
	out, err := os.Create(c.Out)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(c.Bin, c.Args...)
	cmd.Stdout, cmd.Stderr = out, out
	sig := c.DeathSignal
	if sig == 0 {
		sig = syscall.SIGKILL
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: sig}
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start %s: %w", c.Name, err)
	}
	p := &Process{name: c.Name, out: c.Out, cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		out.Close()
		close(p.exited)
	}()
	return p, nil
}

// PID is the daemon's process ID (also its process group's).
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Name is the name it was started under.
func (p *Process) Name() string { return p.name }

// Output is the tail of what the daemon printed.
func (p *Process) Output() string { return Tail(p.out) }

// Exited is closed once the daemon has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// WaitListening waits until the daemon's process group holds a listening
// socket on each loopback port, for at most timeout. If the daemon exits
// first the error wraps ErrExited.
func (p *Process) WaitListening(timeout time.Duration, ports ...int) error {
	deadline := time.Now().Add(timeout)
	for _, port := range ports {
		for {
			if p.listening(port) {
				break
			}
			select {
			case <-p.exited:
				return fmt.Errorf("%s (%v): %w on port %d", p.name, p.err, ErrExited, port)
			default:
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s not listening on %d after %v", p.name, port, timeout)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return nil
}

// listening reports whether port answers and, where /proc tells, whether
// the listener belongs to the daemon's group.
func (p *Process) listening(port int) bool {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	owned, err := groupListens(p.PID(), port)
	if err != nil {
		// No /proc to ask: take the answer for the daemon's.
		return true
	}
	return owned
}

// Kill ends the process group at once and waits for the daemon to go.
func (p *Process) Kill() {
	if p == nil {
		return
	}
	_ = syscall.Kill(-p.PID(), syscall.SIGKILL)
	<-p.exited
}

// Stop sends SIGTERM to the daemon (masters stop their children on it),
// waits up to grace, kills the group if it lingers, and then waits for
// every process of the group to be gone so no listener outlives the test.
func (p *Process) Stop(grace time.Duration) error {
	if p == nil {
		return nil
	}
	select {
	case <-p.exited:
		return nil
	default:
	}
	pid := p.PID()
	_ = syscall.Kill(pid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(grace):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-p.exited
		return fmt.Errorf("%s (pid %d) ignored SIGTERM for %v; killed", p.name, pid, grace)
	}
	// The master has exited; its children notice and leave on their own
	// within a second or so. Tell them at once, then wait for the group.
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	deadline := time.Now().Add(grace)
	for len(groupMembers(pid)) > 0 {
		if time.Now().After(deadline) {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			return fmt.Errorf("%s: processes of group %d outlived the master", p.name, pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// Tail is the last 3,000 bytes of a log file.
func Tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// FreePort is a loopback port nothing listened on a moment ago; a daemon
// may still lose it to another process, which WaitListening notices.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// groupMembers lists the live processes of group pgid. Zombies do not
// count: a master's children are reparented when it exits and wait there
// for whoever reaps orphans.
func groupMembers(pgid int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		if syscall.Kill(-pgid, 0) == nil {
			return []int{pgid}
		}
		return nil
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and parens.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) >= 3 && f[0] != "Z" && f[0] != "X" && f[2] == strconv.Itoa(pgid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// groupListens reports whether a process of group pgid holds a socket
// listening on port: the socket inodes /proc/net/tcp{,6} lists as
// listening there, matched against the group's open file descriptors.
func groupListens(pgid, port int) (bool, error) {
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return false, err
		}
		for _, ino := range listenInodes(b, port) {
			inodes[ino] = true
		}
	}
	if len(inodes) == 0 {
		return false, nil
	}
	for _, pid := range groupMembers(pgid) {
		dir := "/proc/" + strconv.Itoa(pid) + "/fd"
		fds, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			l, err := os.Readlink(dir + "/" + fd.Name())
			if err != nil {
				continue
			}
			if ino, ok := strings.CutPrefix(l, "socket:["); ok && inodes[strings.TrimSuffix(ino, "]")] {
				return true, nil
			}
		}
	}
	return false, nil
}

// listenInodes parses a /proc/net/tcp table for the inodes of sockets in
// state LISTEN (0A) on port.
func listenInodes(table []byte, port int) []string {
	want := fmt.Sprintf(":%04X", port)
	var out []string
	for _, line := range strings.Split(string(table), "\n")[1:] {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		f := strings.Fields(line)
		if len(f) < 10 || f[3] != "0A" || !strings.HasSuffix(f[1], want) {
			continue
		}
		out = append(out, f[9])
	}
	return out
}
