package oauth2

import "runtime"

func runtimeGosched() { runtime.Gosched() }

// waiting reports whether a fetch is in flight.
func (s *Source) waiting() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.flight != nil {
		return 1
	}
	return 0
}
