package stdnet

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/seed487d475b/proactor/internal/driver"
)

// pktState is a datagram socket on the portable engine: a receiver
// goroutine reads into one of driver.PacketBatch buffers and posts each
// datagram as a completion; the loop hands the buffer back once it has
// delivered it, so the receiver runs at most a batch ahead of the loop.
type pktState struct {
	gen  uint32
	pc   net.PacketConn
	uc   *net.UDPConn // pc, when it is one: its calls allocate nothing
	sink driver.PacketSink
	size int
	bufs [driver.PacketBatch][]byte
	free chan int      // indices of buffers the loop has given back
	done chan struct{} // closed by ClosePacket or Release
	once sync.Once
}

func (ps *pktState) stop() { ps.once.Do(func() { close(ps.done) }) }

func (p *poller) packet(t driver.Token) *pktState {
	if i := int(t.Slot()); i < len(p.pkts) {
		if ps := p.pkts[i]; ps != nil && ps.gen == t.Gen() {
			return ps
		}
	}
	return nil
}

// ListenPacket starts the receiver on pc itself, which the caller closes
// after ClosePacket.
func (p *poller) ListenPacket(t driver.Token, pc net.PacketConn, s driver.PacketSink, size int) error {
	for int(t.Slot()) >= len(p.pkts) {
		p.pkts = append(p.pkts, nil)
	}
	ps := &pktState{gen: t.Gen(), pc: pc, sink: s, size: size,
		free: make(chan int, driver.PacketBatch), done: make(chan struct{})}
	ps.uc, _ = pc.(*net.UDPConn)
	for i := range ps.bufs {
		// One byte more than size: a datagram that fills it did not fit.
		ps.bufs[i] = make([]byte, size+1)
		ps.free <- i
	}
	p.pkts[t.Slot()] = ps
	go p.recvLoop(t, ps)
	return nil
}

func (p *poller) recvLoop(t driver.Token, ps *pktState) {
	for {
		var i int
		select {
		case i = <-ps.free:
		case <-ps.done:
			return
		}
		n, from, err := ps.readFrom(ps.bufs[i])
		if err != nil {
			select {
			case <-ps.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			ps.free <- i
			p.post(completion{kind: kRecvFailed, tok: t, pkt: ps, err: unwrapOp(err)})
			// Do not spin on a failing socket; the loop decides.
			time.Sleep(time.Millisecond)
			continue
		}
		d := ps.bufs[i][:min(n, ps.size)]
		p.post(completion{kind: kDatagram, tok: t, pkt: ps, data: d, n: n, idx: i,
			sock: driver.Sock{Peer: netip.AddrPortFrom(from.Addr().Unmap(), from.Port())}})
	}
}

func (ps *pktState) readFrom(b []byte) (int, netip.AddrPort, error) {
	if ps.uc != nil {
		return ps.uc.ReadFromUDPAddrPort(b)
	}
	n, a, err := ps.pc.ReadFrom(b)
	var from netip.AddrPort
	if ua, ok := a.(*net.UDPAddr); ok {
		from = ua.AddrPort()
	}
	return n, from, err
}

// deliverPacket hands one received datagram to the loop, or drops it when
// its socket has closed meanwhile.
func (p *poller) deliverPacket(c *completion) {
	ps := p.packet(c.tok)
	if ps != c.pkt {
		return
	}
	if c.kind == kRecvFailed {
		ps.sink.ReceiveFailed(c.tok, c.err)
		return
	}
	p.ds[0] = driver.Datagram{Data: c.data, Addr: c.sock.Peer, Size: c.n}
	ps.sink.Datagrams(c.tok, p.ds[:1])
	p.ds[0] = driver.Datagram{}
	ps.free <- c.idx
}

// SendTo writes each datagram with a blocking call: a UDP socket's buffer
// drains by itself (nothing waits on the peer), so the wait is short.
func (p *poller) SendTo(t driver.Token, ds []driver.Datagram) (int, error) {
	ps := p.packet(t)
	if ps == nil {
		return 0, net.ErrClosed
	}
	for i, d := range ds {
		var err error
		if ps.uc != nil {
			_, err = ps.uc.WriteToUDPAddrPort(d.Data, d.Addr)
		} else {
			_, err = ps.pc.WriteTo(d.Data, net.UDPAddrFromAddrPort(d.Addr))
		}
		if err != nil {
			return i, unwrapOp(err)
		}
	}
	return len(ds), nil
}

// ClosePacket stops the receiver: a deadline in the past interrupts its
// read. The caller closes the socket.
func (p *poller) ClosePacket(t driver.Token) error {
	ps := p.packet(t)
	if ps == nil {
		return net.ErrClosed
	}
	p.pkts[t.Slot()] = nil
	ps.stop()
	return unwrapOp(ps.pc.SetReadDeadline(time.Unix(1, 0)))
}

func (p *poller) releasePackets() {
	for i, ps := range p.pkts {
		if ps != nil {
			p.ClosePacket(driver.MakeToken(uint32(i), ps.gen))
		}
	}
}
