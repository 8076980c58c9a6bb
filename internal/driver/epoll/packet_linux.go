package epoll

import (
	"net"

	"golang.org/x/sys/unix"

	"github.com/seed487d475b/proactor/internal/driver"
	"github.com/seed487d475b/proactor/internal/sock"
)

// Datagram sockets carry pktFlag in epoll_data's slot. Each readiness
// event brings one recvmmsg of up to driver.PacketBatch datagrams, the
// datagram counterpart of one read per event, so a busy socket cannot
// starve the loop's other sockets.
const pktFlag = 1 << 29

type pktSlot struct {
	fd     int
	family int
	gen    uint32
	sink   driver.PacketSink
	rx     *sock.Mmsg // this socket's receive buffers
}

func (p *poller) packet(t driver.Token) *pktSlot {
	if i := int(t.Slot()); i < len(p.pkts) {
		if s := &p.pkts[i]; s.fd >= 0 && s.gen == t.Gen() {
			return s
		}
	}
	return nil
}

func (p *poller) ListenPacket(t driver.Token, pc net.PacketConn, s driver.PacketSink, size int) error {
	fd, family, err := sock.DupPacket(pc)
	if err != nil {
		return err
	}
	// The duplicate is the socket from here on. pc's descriptor stays in
	// Go's network poller, which every datagram would wake for nothing.
	pc.Close()
	for int(t.Slot()) >= len(p.pkts) {
		p.pkts = append(p.pkts, pktSlot{fd: -1})
	}
	if err := p.ctl(unix.EPOLL_CTL_ADD, fd, unix.EPOLLIN, t.Slot()|pktFlag, int32(t.Gen())); err != nil {
		unix.Close(fd)
		return err
	}
	p.pkts[t.Slot()] = pktSlot{fd: fd, family: family, gen: t.Gen(), sink: s, rx: sock.NewMmsg(size)}
	return nil
}

func (p *poller) SendTo(t driver.Token, ds []driver.Datagram) (int, error) {
	s := p.packet(t)
	if s == nil {
		return 0, net.ErrClosed
	}
	if p.tx == nil {
		p.tx = sock.NewMmsg(0)
	}
	n, err := p.tx.Send(s.fd, s.family, ds)
	return n, sock.Wrap("sendmmsg", err)
}

func (p *poller) ClosePacket(t driver.Token) error {
	s := p.packet(t)
	if s == nil {
		return net.ErrClosed
	}
	unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, s.fd, nil)
	err := unix.Close(s.fd)
	*s = pktSlot{fd: -1, gen: s.gen}
	return sock.Wrap("close", err)
}

// receive delivers one batch of what waits on a ready datagram socket.
func (p *poller) receive(t driver.Token) {
	s := p.packet(t)
	if s == nil {
		return
	}
	ds, err := s.rx.Recv(s.fd)
	switch {
	case err == nil:
		s.sink.Datagrams(t, ds)
	case err == unix.EAGAIN:
	default:
		s.sink.ReceiveFailed(t, sock.Wrap("recvmmsg", err))
	}
}

// releasePackets closes the datagram sockets left when the poller goes.
func (p *poller) releasePackets() {
	for i := range p.pkts {
		if s := &p.pkts[i]; s.fd >= 0 {
			unix.Close(s.fd)
			s.fd = -1
		}
	}
}
