package reconcile

import "context"

// SetHook sets one engine's test hook (see SetTestHook).
func SetHook(e *Engine, fn func(ctx context.Context, point string) error) { e.hookFn = fn }

// WithPayloads is withPayloads.
func WithPayloads(base, local Fields) Fields { return withPayloads(base, local) }

// BaseOf is a record as a link's base keeps it.
func BaseOf(f Fields) Fields { return decodeFields(encodeFields(f)) }
