//go:build !linux

package bench

import (
	"context"
	"errors"
)

// Dav needs Linux: Radicale and vdirsyncer run as child processes and
// memory and CPU are read from /proc.
func Dav(context.Context, DavOptions) (DavResult, error) {
	return DavResult{}, errors.New("the DAV benchmark runs on Linux only")
}
