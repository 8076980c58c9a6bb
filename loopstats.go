package proactor

// LoopStats is one event loop's share of a server's counters: how the
// connections and the bytes spread over the loops, for a status page or a
// check of the load balance. Rates come from two snapshots.
type LoopStats struct {
	Loop         int    `json:"loop"`          // the loop's index, 0 to Engine().Loops()-1
	Active       int    `json:"active"`        // the server's connections open on this loop (OnOpen called, OnClose not yet)
	Accepted     uint64 `json:"accepted"`      // connections opened on this loop
	Closed       uint64 `json:"closed"`        // connections closed on this loop
	Reads        uint64 `json:"reads"`         // reads completed with data
	BytesRead    uint64 `json:"bytes_read"`    // bytes read
	Writes       uint64 `json:"writes"`        // write operations submitted
	BytesWritten uint64 `json:"bytes_written"` // bytes written
	QueuedBytes  int64  `json:"queued_bytes"`  // bytes queued for writing on this loop's connections, not yet sent
}

// LoopStats returns a snapshot of the server's counters per event loop, in
// the loops' order. It reads the per-loop counters the loops keep anyway and
// walks no connection, so it is cheap enough to call every second; it is
// safe to call from any goroutine. Each loop's figures are read one after
// the other, not at one instant, so their sum may differ slightly from a
// Stats taken at the same time.
func (s *Server) LoopStats() []LoopStats {
	out := make([]LoopStats, len(s.stats))
	for i := range s.stats {
		sh := &s.stats[i]
		// Closed first: a connection that opens and closes between the
		// two loads then counts in neither, never as -1 open.
		closed := sh.closed.Load()
		accepted := sh.accepted.Load()
		out[i] = LoopStats{
			Loop:         i,
			Active:       int(accepted - closed),
			Accepted:     accepted,
			Closed:       closed,
			Reads:        sh.reads.Load(),
			BytesRead:    sh.bytesRead.Load(),
			Writes:       sh.writes.Load(),
			BytesWritten: sh.bytesWr.Load(),
			QueuedBytes:  sh.queued.Load(),
		}
	}
	return out
}
