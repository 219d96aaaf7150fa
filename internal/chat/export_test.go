package chat

// RouterRunning reports whether s's router has started, for tests that
// must go through it.
func RouterRunning(s *Service) bool { return s.router.running.Load() }
