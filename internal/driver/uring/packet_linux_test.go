package uring

import (
	"fmt"
	"net"
	"testing"

	"github.com/seed487d475b/proactor/internal/driver"
	"github.com/seed487d475b/proactor/internal/driver/drivertest"
)

// packetSink records datagrams as the loop would see them.
type packetSink struct {
	got     []driver.Datagram // copies
	batches int
	errs    []error
}

func (s *packetSink) Datagrams(_ driver.Token, ds []driver.Datagram) {
	s.batches++
	for _, d := range ds {
		s.got = append(s.got, driver.Datagram{Data: append([]byte(nil), d.Data...), Addr: d.Addr, Size: d.Size})
	}
}

func (s *packetSink) ReceiveFailed(_ driver.Token, err error) { s.errs = append(s.errs, err) }

// TestPacketReceive covers both receive paths: multishot recvmsg from a
// buffer ring, and the single-shot fallback for kernels without it. A
// burst larger than the ring (which runs dry and is re-armed), an
// oversize datagram reported with its length, a send, and a close with
// the receive in flight whose ring is freed at its last completion.
func TestPacketReceive(t *testing.T) {
	for _, single := range []bool{false, true} {
		t.Run(fmt.Sprintf("single=%v", single), func(t *testing.T) {
			p := newTestPoller(t, options{singleRecvmsg: single})
			pc, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer pc.Close()
			addr := pc.LocalAddr().(*net.UDPAddr).AddrPort()
			ps := &packetSink{}
			tok := driver.MakeToken(0, 1)
			if err := p.ListenPacket(tok, pc, ps, 256); err != nil {
				t.Fatal(err)
			}
			c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			from := c.LocalAddr().(*net.UDPAddr).AddrPort()
			s := drivertest.NewSink()
			drivertest.PollUntil(t, p, s, func() bool { return true }) // arms the receive
			const n = pktRingCount + 36
			for i := range n {
				c.WriteToUDPAddrPort(fmt.Appendf(nil, "%03d", i), addr)
			}
			c.WriteToUDPAddrPort(make([]byte, 1000), addr)
			drivertest.PollUntil(t, p, s, func() bool { return len(ps.got) == n+1 })
			for i, d := range ps.got[:n] {
				if string(d.Data) != fmt.Sprintf("%03d", i) || d.Addr != from || d.Size != 3 {
					t.Fatalf("datagram %d: %q from %v size %d", i, d.Data, d.Addr, d.Size)
				}
			}
			if last := ps.got[n]; len(last.Data) != 256 || last.Size != 1000 {
				t.Fatalf("oversize datagram: %d bytes held, size %d", len(last.Data), last.Size)
			}
			if !single && ps.batches >= n {
				t.Fatalf("%d datagrams in %d batches: not batched", n, ps.batches)
			}
			if k, err := p.SendTo(tok, []driver.Datagram{{Data: []byte("reply"), Addr: from}}); k != 1 || err != nil {
				t.Fatalf("SendTo: %d, %v", k, err)
			}
			buf := make([]byte, 64)
			if k, _, err := c.ReadFromUDPAddrPort(buf); err != nil || string(buf[:k]) != "reply" {
				t.Fatalf("reply %q, %v", buf[:k], err)
			}
			if err := p.ClosePacket(tok); err != nil {
				t.Fatal(err)
			}
			drivertest.PollUntil(t, p, s, func() bool { return len(p.pktOrphans) == 0 && len(p.pktDead) == 0 })
			if !single && len(p.pktGroups) != 1 {
				t.Fatalf("buffer group not given back: %v", p.pktGroups)
			}
			if len(ps.errs) != 0 {
				t.Fatal(ps.errs)
			}
		})
	}
}
