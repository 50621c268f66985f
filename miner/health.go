package miner

import (
	"net/http"
	"time"
)

// handleHealth answers unauthenticated: load balancers and process
// supervisors probe it without keys. It reveals nothing a metagraph does not.
// The status is 200 while serving ("status" says ok or degraded, with the
// reason) and 503 once shutdown began, so traffic drains elsewhere.
func (s *Server) handleHealth(w http.ResponseWriter, _ *http.Request) {
	waiting, running := s.queue.depth()
	st := map[string]any{
		"status":         "ok",
		"model":          s.info.ID,
		"hotkey":         s.cfg.Signer.Address(),
		"uptime_seconds": int64(time.Since(s.started).Seconds()),
		"running":        running,
		"queued":         waiting,
		"concurrency":    s.cfg.Concurrency,
		"queue_size":     s.cfg.QueueSize,
	}
	if s.cfg.Health != nil {
		for k, v := range s.cfg.Health() {
			st[k] = v
		}
	}
	code := http.StatusOK
	if s.closing.Load() {
		st["status"] = "shutting_down"
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, st)
}
