//go:build !linux

package bench

import (
	"context"
	"errors"
)

// Mail needs Linux: the benchmark's Dovecot runs as a child process
// (internal/testenv/mailserver) and memory is read from /proc.
func Mail(context.Context, MailOptions) (MailResult, error) {
	return MailResult{}, errors.New("the mail benchmark runs on Linux only")
}
