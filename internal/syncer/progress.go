package syncer

import (
	"context"
	"sync"
	"time"

	"github.com/tandem-crm/tandem/internal/reconcile"
)

// DefaultProgressEvery is how often at most a run writes its running counts
// to its binding, where live views in any process read them.
const DefaultProgressEvery = 500 * time.Millisecond

// SetProgress reports the running counts of every run to fn (the CLI's
// progress bar), besides the binding's row.
func (s *Service) SetProgress(fn func(bindingID string, st reconcile.Stats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onProgress = fn
}

// progress is the engine's Progress callback. Counts of a run under way
// (not a preview's) go to its binding's row through the run's writer.
func (s *Service) progress(bindingID string, st reconcile.Stats) {
	s.mu.Lock()
	fn, pw := s.onProgress, s.running[bindingID]
	s.mu.Unlock()
	if fn != nil {
		fn(bindingID, st)
	}
	if pw != nil {
		pw.update(st)
	}
}

// startProgress marks a binding's run as under way and writes its counts
// until the returned stop, which must come before the run is finished
// (store.FinishRun).
func (s *Service) startProgress(ctx context.Context, bindingID string) (stop func()) {
	if err := s.Store.StartRun(ctx, bindingID); err != nil {
		s.Log.WarnContext(ctx, "sync progress", "binding", bindingID, "err", err)
	}
	every := s.ProgressEvery
	if every <= 0 {
		every = DefaultProgressEvery
	}
	pw := &progressWriter{every: every, save: func(st reconcile.Stats) {
		if err := s.Store.SaveRunProgress(context.WithoutCancel(ctx), bindingID, st.JSON()); err != nil {
			s.Log.WarnContext(ctx, "sync progress", "binding", bindingID, "err", err)
		}
	}}
	s.mu.Lock()
	s.running[bindingID] = pw
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		delete(s.running, bindingID)
		s.mu.Unlock()
		pw.stop()
	}
}

// progressWriter saves a run's counts at most once per every: the first at
// once, later ones when the period is over, so the newest counts are saved
// also when the run then waits (on a slow request, say).
type progressWriter struct {
	every time.Duration
	save  func(reconcile.Stats)

	mu      sync.Mutex
	last    time.Time
	pending *reconcile.Stats
	timer   *time.Timer
	stopped bool
}

func (p *progressWriter) update(st reconcile.Stats) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	if wait := p.every - time.Since(p.last); wait > 0 {
		p.pending = &st
		if p.timer == nil {
			p.timer = time.AfterFunc(wait, p.flush)
		}
		return
	}
	p.last = time.Now()
	p.save(st)
}

func (p *progressWriter) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.timer = nil
	if p.stopped || p.pending == nil {
		return
	}
	st := *p.pending
	p.pending, p.last = nil, time.Now()
	p.save(st)
}

// stop ends the writes; one under way is waited for.
func (p *progressWriter) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = true
	if p.timer != nil {
		p.timer.Stop()
	}
}
