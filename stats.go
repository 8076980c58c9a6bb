package proactor

import "sync/atomic"

// Stats is a snapshot of a server's counters.
type Stats struct {
	Accepted         uint64 // connections opened (OnOpen called): accepted, or dialed by a Client
	Rejected         uint64 // connections refused, for any of the reasons below
	RejectedFilter   uint64 // refused by the handler's OnAccept
	RejectedDenied   uint64 // refused by WithDeny or WithAllow
	RejectedMaxConns uint64 // refused by WithMaxConns
	RejectedPerIP    uint64 // refused by WithMaxConnsPerIP
	AcceptErrors     uint64 // failed accept calls (EMFILE, ENFILE, ...)

	FirstDataTimeouts uint64 // connections closed by each timeout
	IdleTimeouts      uint64
	ReadTimeouts      uint64
	WriteTimeouts     uint64
	ConnectTimeouts   uint64 // dials that timed out (Client)

	Active       int    // connections open now
	Closed       uint64 // connections closed (OnClose called)
	ClosedByErr  uint64 // of Closed, those whose OnClose reason was not nil
	Panics       uint64 // panics recovered in callbacks
	FrameErrors  uint64 // connections closed for ErrFrameTooLarge or ErrBadFrame
	ReadPauses   uint64 // times a connection stopped reading for backpressure
	Reads        uint64 // reads completed with data
	BytesRead    uint64
	Writes       uint64 // write operations submitted (one writev or more each)
	BytesWritten uint64
	QueuedBytes  int64 // bytes queued for writing, not yet sent
}

// statShard holds one loop's share of a server's counters; only that loop
// adds to it, so the atomics never contend.
type statShard struct {
	accepted, acceptErrors            atomic.Uint64
	rejected                          [numRejects]atomic.Uint64
	timeouts                          [numTimeouts]atomic.Uint64
	closed, closedByErr, panics       atomic.Uint64
	frameErrors, readPauses           atomic.Uint64
	reads, bytesRead, writes, bytesWr atomic.Uint64
	_                                 [64]byte // keep shards on separate cache lines
}

func (s *Stats) add(sh *statShard) {
	s.Accepted += sh.accepted.Load()
	s.RejectedFilter += sh.rejected[rejectFilter].Load()
	s.RejectedDenied += sh.rejected[rejectDenied].Load()
	s.RejectedMaxConns += sh.rejected[rejectMaxConns].Load()
	s.RejectedPerIP += sh.rejected[rejectPerIP].Load()
	s.Rejected = s.RejectedFilter + s.RejectedDenied + s.RejectedMaxConns + s.RejectedPerIP
	s.FirstDataTimeouts += sh.timeouts[FirstDataTimeout].Load()
	s.IdleTimeouts += sh.timeouts[IdleTimeout].Load()
	s.ReadTimeouts += sh.timeouts[ReadTimeout].Load()
	s.WriteTimeouts += sh.timeouts[WriteTimeout].Load()
	s.ConnectTimeouts += sh.timeouts[ConnectTimeout].Load()
	s.AcceptErrors += sh.acceptErrors.Load()
	s.Closed += sh.closed.Load()
	s.ClosedByErr += sh.closedByErr.Load()
	s.Panics += sh.panics.Load()
	s.FrameErrors += sh.frameErrors.Load()
	s.ReadPauses += sh.readPauses.Load()
	s.Reads += sh.reads.Load()
	s.BytesRead += sh.bytesRead.Load()
	s.Writes += sh.writes.Load()
	s.BytesWritten += sh.bytesWr.Load()
}
