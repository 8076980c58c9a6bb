package proactor

import (
	"net/netip"
	"runtime/debug"
	"sync"
)

// Why an accepted socket was refused before it became a connection.
type rejectReason uint8

const (
	rejectFilter rejectReason = iota
	rejectDenied
	rejectMaxConns
	rejectPerIP
	numRejects
)

// admission counts what WithMaxConns and WithMaxConnsPerIP limit. A socket
// is admitted before any per-connection state exists and released exactly
// once: when its connection finishes, or when it is dropped on the way.
type admission struct {
	mu    sync.Mutex
	total int
	perIP map[netip.Addr]int
}

// allowed applies the allow and deny lists of a listener's config.
func (c *config) allowed(a netip.Addr) bool {
	if !a.IsValid() {
		return true // a unix peer: its socket file's mode is the rule
	}
	a = a.Unmap()
	for _, p := range c.deny {
		if p.Contains(a) {
			return false
		}
	}
	if len(c.allow) == 0 {
		return true
	}
	for _, p := range c.allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// admit checks the listener's lists (in cfg), the accept filter and the
// server's limits, and counts the socket in if all agree. loop is the
// loop it runs on.
func (s *Server) admit(cfg *config, loop int, peer netip.AddrPort) (rejectReason, bool) {
	if !cfg.allowed(peer.Addr()) {
		return rejectDenied, false
	}
	if s.filter != nil && !s.callFilter(loop, peer) {
		return rejectFilter, false
	}
	maxConns, maxPerIP := s.cfg.maxConns, s.cfg.maxPerIP
	if maxConns <= 0 && maxPerIP <= 0 {
		return 0, true
	}
	a := peer.Addr().Unmap()
	s.adm.mu.Lock()
	defer s.adm.mu.Unlock()
	if maxConns > 0 && s.adm.total >= maxConns {
		return rejectMaxConns, false
	}
	if maxPerIP > 0 && a.IsValid() { // a unix peer has no IP to count
		if s.adm.perIP == nil {
			s.adm.perIP = make(map[netip.Addr]int)
		}
		if s.adm.perIP[a] >= maxPerIP {
			return rejectPerIP, false
		}
		s.adm.perIP[a]++
	}
	s.adm.total++
	return 0, true
}

// callFilter runs OnAccept; a panic in it refuses the connection and is
// logged and counted like any callback's.
func (s *Server) callFilter(loop int, peer netip.AddrPort) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			s.stats[loop].panics.Add(1)
			s.log.Error("proactor: panic in callback", "callback", "OnAccept", "remote", peer,
				"panic", v, "stack", string(debug.Stack()))
			ok = false
		}
	}()
	return s.filter.OnAccept(peer)
}

// unadmit releases what admit counted for peer.
func (s *Server) unadmit(peer netip.AddrPort) {
	if s.cfg.maxConns <= 0 && s.cfg.maxPerIP <= 0 {
		return
	}
	a := peer.Addr().Unmap()
	s.adm.mu.Lock()
	defer s.adm.mu.Unlock()
	s.adm.total--
	if s.cfg.maxPerIP > 0 && a.IsValid() {
		if n := s.adm.perIP[a] - 1; n > 0 {
			s.adm.perIP[a] = n
		} else {
			delete(s.adm.perIP, a)
		}
	}
}
