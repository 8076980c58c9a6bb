package proactor

import (
	"sync/atomic"

	"github.com/seed487d475b/proactor/workers"
)

// Stats is a snapshot of a server's counters.
type Stats struct {
	Accepted         uint64 `json:"accepted"`           // connections opened (OnOpen called): accepted, or dialed by a Client
	Rejected         uint64 `json:"rejected"`           // connections refused, for any of the reasons below
	RejectedFilter   uint64 `json:"rejected_filter"`    // refused by the handler's OnAccept
	RejectedDenied   uint64 `json:"rejected_denied"`    // refused by WithDeny or WithAllow
	RejectedMaxConns uint64 `json:"rejected_max_conns"` // refused by WithMaxConns
	RejectedPerIP    uint64 `json:"rejected_per_ip"`    // refused by WithMaxConnsPerIP
	AcceptErrors     uint64 `json:"accept_errors"`      // failed accept calls (EMFILE, ENFILE, ...)

	FirstDataTimeouts uint64 `json:"first_data_timeouts"` // connections closed by each timeout
	IdleTimeouts      uint64 `json:"idle_timeouts"`
	ReadTimeouts      uint64 `json:"read_timeouts"`
	WriteTimeouts     uint64 `json:"write_timeouts"`
	ConnectTimeouts   uint64 `json:"connect_timeouts"` // dials that timed out (Client)

	Active       int    `json:"active"`        // connections open now
	Closed       uint64 `json:"closed"`        // connections closed (OnClose called)
	ClosedByErr  uint64 `json:"closed_by_err"` // of Closed, those whose OnClose reason was not nil
	Panics       uint64 `json:"panics"`        // panics recovered in callbacks
	FrameErrors  uint64 `json:"frame_errors"`  // connections closed for ErrFrameTooLarge or ErrBadFrame
	ReadPauses   uint64 `json:"read_pauses"`   // times a connection stopped reading for backpressure
	Overflows    uint64 `json:"overflows"`     // connections aborted because a write would pass WithMaxWriteQueue
	Reads        uint64 `json:"reads"`         // reads completed with data
	BytesRead    uint64 `json:"bytes_read"`
	Writes       uint64 `json:"writes"` // write operations submitted (one writev or more each)
	BytesWritten uint64 `json:"bytes_written"`
	QueuedBytes  int64  `json:"queued_bytes"` // bytes queued for writing, not yet sent

	TLSHandshakes        uint64      `json:"tls_handshakes"`         // TLS handshakes completed
	TLSHandshakeTimeouts uint64      `json:"tls_handshake_timeouts"` // of TLSFailures, those that timed out (also in TLSFailures.Timeout)
	TLSFailures          TLSFailures `json:"tls_failures"`           // TLS handshakes failed, by reason
	TLSRecordErrors      uint64      `json:"tls_record_errors"`      // established TLS connections closed for a bad record

	// Workers are the jobs of the pool given by WithWorkerPool (zero
	// without one): queued, running, completed, rejected.
	Workers             workers.Stats `json:"workers"`
	ProxyHeaders        uint64        `json:"proxy_headers"`         // PROXY protocol headers read (WithProxyProtocol)
	ProxyHeaderErrors   uint64        `json:"proxy_header_errors"`   // connections closed for a malformed PROXY header, or ended before one
	ProxyHeaderTimeouts uint64        `json:"proxy_header_timeouts"` // connections closed without a PROXY header in time
}

// TLSFailures counts failed TLS handshakes by reason.
type TLSFailures struct {
	NotTLS      uint64 `json:"not_tls"`     // the first bytes were not a TLS record (garbage, plain HTTP)
	Certificate uint64 `json:"certificate"` // a certificate was refused, by us or by the peer
	Alert       uint64 `json:"alert"`       // the peer sent another alert (no shared version or cipher, ...)
	EOF         uint64 `json:"eof"`         // the peer closed during the handshake
	Timeout     uint64 `json:"timeout"`     // WithTLSHandshakeTimeout passed
	Busy        uint64 `json:"busy"`        // refused: WithTLSHandshakeLimit handshakes were running
	Other       uint64 `json:"other"`
}

// statShard holds one loop's share of a server's counters; only that loop
// adds to it, so the atomics never contend.
type statShard struct {
	accepted, acceptErrors      atomic.Uint64
	rejected                    [numRejects]atomic.Uint64
	timeouts                    [numTimeouts]atomic.Uint64
	closed, closedByErr, panics atomic.Uint64
	frameErrors, readPauses     atomic.Uint64
	overflows                   atomic.Uint64
	tlsHandshakes               atomic.Uint64
	tlsRecordErrors             atomic.Uint64
	tlsFailures                 [numTLSReasons]atomic.Uint64
	proxyHeaders, proxyErrors   atomic.Uint64
	// queued is the bytes queued on the loop's connections of this server,
	// kept beside each connection's own count so that a snapshot does not
	// walk every connection. Unlike the rest it is written by any goroutine
	// that writes (under the connection's lock) as well as by the loop.
	queued                            atomic.Int64
	reads, bytesRead, writes, bytesWr atomic.Uint64
	hist                              [numHists]histShard // the loop's share of Server.Histograms
	_                                 [64]byte            // keep shards on separate cache lines
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
	s.Overflows += sh.overflows.Load()
	s.Reads += sh.reads.Load()
	s.BytesRead += sh.bytesRead.Load()
	s.Writes += sh.writes.Load()
	s.BytesWritten += sh.bytesWr.Load()
	s.QueuedBytes += sh.queued.Load()
	s.TLSHandshakes += sh.tlsHandshakes.Load()
	s.TLSRecordErrors += sh.tlsRecordErrors.Load()
	s.TLSHandshakeTimeouts += sh.timeouts[HandshakeTimeout].Load()
	s.ProxyHeaders += sh.proxyHeaders.Load()
	s.ProxyHeaderErrors += sh.proxyErrors.Load()
	s.ProxyHeaderTimeouts += sh.timeouts[ProxyHeaderTimeout].Load()
	f := &s.TLSFailures
	for i, p := range []*uint64{&f.NotTLS, &f.Certificate, &f.Alert, &f.EOF, &f.Timeout, &f.Busy, &f.Other} {
		*p += sh.tlsFailures[i].Load()
	}
}
