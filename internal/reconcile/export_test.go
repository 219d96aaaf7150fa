package reconcile

import "context"

// SetHook sets one engine's test hook (see SetTestHook).
func SetHook(e *Engine, fn func(ctx context.Context, point string) error) { e.hookFn = fn }
