package imap

import (
	"context"
	"errors"
	"fmt"
	"time"

	goimap "github.com/emersion/go-imap/v2"
)

// Idle watches folder for new, expunged or re-flagged messages on a
// connection of its own (IDLE watches only the selected folder and blocks
// its connection) and calls onChange, from one goroutine, once as soon as
// IDLE runs (so the caller loads whatever arrived before it was watching)
// and then after each change the server reports; several changes close
// together may give one call. It re-issues IDLE every WithIdleRestart (25 min by default) so
// servers and NATs do not drop the connection, and returns nil when ctx
// ends, or an error when the connection fails (reconnect and load what was
// missed). A server without IDLE gives ErrNoIdle at once: poll instead.
func (cl *Client) Idle(ctx context.Context, folder string, onChange func()) error {
	if !cl.caps.Has(goimap.CapIdle) && !cl.caps.Has(goimap.CapIMAP4rev2) {
		return ErrNoIdle
	}
	w, err := Dial(ctx, cl.ep, cl.auth, func(o *options) { *o = cl.opts })
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer w.Close()
	if _, err := w.Examine(ctx, folder); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}

	kick := make(chan struct{}, 1)
	notify := func() {
		select {
		case kick <- struct{}{}:
		default: // one pending call covers this change too
		}
	}
	w.notify.Store(&notify)
	calls := make(chan struct{})
	go func() {
		defer close(calls)
		for {
			select {
			case <-ctx.Done():
				return
			case <-kick:
				onChange()
			}
		}
	}()
	defer func() { <-calls }()

	first := true
	for {
		cmd, err := w.c.Idle()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return w.wrap("idle", err)
		}
		if first {
			first = false
			notify()
		}
		timer := time.NewTimer(cl.opts.idleRestart)
		var stopErr error
		select {
		case <-ctx.Done():
		case <-timer.C:
		case <-w.c.Closed():
			stopErr = errors.New("connection closed by the server")
		}
		timer.Stop()
		if stopErr != nil {
			if ctx.Err() != nil {
				return nil
			}
			return w.wrap("idle", fmt.Errorf("%w", stopErr))
		}
		if err := cmd.Close(); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return w.wrap("idle done", err)
		}
		waitErr := make(chan error, 1)
		go func() { waitErr <- cmd.Wait() }()
		select {
		case err := <-waitErr:
			if err != nil && ctx.Err() == nil {
				return w.wrap("idle", err)
			}
		case <-time.After(10 * time.Second):
			return w.wrap("idle", errors.New("no answer to DONE in 10 s"))
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}
