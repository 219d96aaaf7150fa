//go:build !linux

package bench

import "os/exec"

// setParentDeathSignal does nothing where the kernel has no parent-death
// signal: the benchmark stops the emulator itself.
func setParentDeathSignal(*exec.Cmd) {}

// cpuSeconds is not measured here.
func cpuSeconds() float64 { return 0 }
