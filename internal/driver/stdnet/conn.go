package stdnet

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"

	"github.com/seed487d475b/proactor/internal/driver"
)

// connState is one connection. The loop goroutine owns gen and iov; mu
// guards what the reader goroutine shares with the loop.
type connState struct {
	gen  uint32
	conn net.Conn
	iov  net.Buffers // the pending write, owned by its goroutine until Wrote

	delivered chan struct{} // the loop is done with the last read's bytes
	done      chan struct{} // closed by Close: the goroutines quit
	reading   gate
	cancel    func() // while connecting: cancels the dial
}

func (p *poller) conn(t driver.Token) *connState {
	if i := int(t.Slot()); i < len(p.conns) {
		if c := p.conns[i]; c != nil && c.gen == t.Gen() {
			return c
		}
	}
	return nil
}

func (p *poller) Attach(t driver.Token, s driver.Sock) error {
	for int(t.Slot()) >= len(p.conns) {
		p.conns = append(p.conns, nil)
	}
	c := &connState{
		gen:       t.Gen(),
		conn:      s.Conn,
		delivered: make(chan struct{}, 1),
		done:      make(chan struct{}),
		reading:   newGate(),
	}
	p.conns[t.Slot()] = c
	go p.readLoop(t, c)
	return nil
}

// Discard resets a socket that never became a connection, so that a
// refused client fails fast.
// Connect dials in a goroutine; Close while it runs cancels the dial.
func (p *poller) Connect(t driver.Token, addr netip.AddrPort, o driver.SockOptions) error {
	for int(t.Slot()) >= len(p.conns) {
		p.conns = append(p.conns, nil)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &connState{
		gen:       t.Gen(),
		delivered: make(chan struct{}, 1),
		done:      make(chan struct{}),
		reading:   newGate(),
		cancel:    cancel,
	}
	p.conns[t.Slot()] = c
	go func() {
		d := net.Dialer{KeepAlive: -1} // setOptions decides
		if o.Local.IsValid() {
			d.LocalAddr = net.TCPAddrFromAddrPort(o.Local)
		}
		nc, err := d.DialContext(ctx, "tcp", addr.String())
		cancel()
		if err != nil {
			p.post(completion{kind: kConnected, tok: t, conn: c, err: unwrapOp(err)})
			return
		}
		setOptions(nc, o)
		p.post(completion{kind: kConnected, tok: t, conn: c, sock: sockOf(nc)})
	}()
	return nil
}

func (p *poller) Discard(s driver.Sock) {
	if tc, ok := s.Conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	s.Conn.Close()
}

// release tells the reader that the loop has delivered its bytes.
func (c *connState) release() {
	select {
	case c.delivered <- struct{}{}:
	default:
	}
}

func (p *poller) readLoop(t driver.Token, c *connState) {
	buf := make([]byte, p.bufSize)
	for {
		if on, resume := c.reading.state(); !on {
			select {
			case <-resume:
				continue
			case <-c.done:
				return
			}
		}
		n, err := c.conn.Read(buf)
		if n > 0 {
			p.post(completion{kind: kRead, tok: t, data: buf[:n], conn: c})
			select {
			case <-c.delivered:
			case <-c.done:
				return
			}
		}
		if err == nil {
			continue
		}
		select {
		case <-c.done:
			return // closed by the loop: nothing to report
		default:
		}
		if isTimeout(err) {
			continue // SetReading(false) interrupted the read
		}
		if err != io.EOF {
			err = unwrapOp(err)
		}
		p.post(completion{kind: kRead, tok: t, err: err, conn: c})
		return
	}
}

// unwrapOp strips net.OpError so the error reads like the epoll engine's: an
// *os.SyscallError (which errors.Is matches against the errno).
func unwrapOp(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}

func (p *poller) SetReading(t driver.Token, on bool) error {
	c := p.conn(t)
	if c == nil {
		return net.ErrClosed
	}
	return c.reading.set(on, c.conn.SetReadDeadline)
}

// Write never completes inline: net.Conn.Write blocks, so a goroutine does
// it and reports through Wrote.
func (p *poller) Write(t driver.Token, iov [][]byte) (int, bool, error) {
	c := p.conn(t)
	if c == nil {
		return 0, false, net.ErrClosed
	}
	c.iov = append(c.iov[:0], iov...) // the caller reuses its slice
	bufs := c.iov
	go func() {
		n, err := bufs.WriteTo(c.conn)
		if err != nil {
			err = unwrapOp(err)
		}
		p.post(completion{kind: kWrote, tok: t, n: int(n), err: err})
	}()
	return 0, true, nil
}

// SendFile copies in a goroutine; for a TCP connection Go's net package uses
// sendfile(2) itself where the platform has it.
func (p *poller) SendFile(t driver.Token, f *os.File, off int64, n int) (int, bool, error) {
	c := p.conn(t)
	if c == nil {
		return 0, false, net.ErrClosed
	}
	go func() {
		var sent int64
		_, err := f.Seek(off, io.SeekStart)
		if err == nil {
			sent, err = io.Copy(c.conn, &io.LimitedReader{R: f, N: int64(n)})
			if err == nil && sent < int64(n) {
				err = io.ErrUnexpectedEOF
			}
		}
		p.post(completion{kind: kWrote, tok: t, n: int(sent), err: unwrapOp(err)})
	}()
	return 0, true, nil
}

func (p *poller) Shutdown(t driver.Token) error {
	c := p.conn(t)
	if c == nil {
		return net.ErrClosed
	}
	if cw, ok := c.conn.(interface{ CloseWrite() error }); ok {
		return unwrapOp(cw.CloseWrite())
	}
	return errors.ErrUnsupported
}

func (p *poller) Close(t driver.Token, abort bool) error {
	c := p.conn(t)
	if c == nil {
		return net.ErrClosed
	}
	p.conns[t.Slot()] = nil
	close(c.done)
	if c.conn == nil { // still connecting
		c.cancel()
		return nil
	}
	if tc, ok := c.conn.(*net.TCPConn); ok && abort {
		tc.SetLinger(0)
	}
	return unwrapOp(c.conn.Close())
}

func (p *poller) Release() error {
	for i, c := range p.conns {
		if c != nil {
			p.Close(driver.MakeToken(uint32(i), c.gen), true)
		}
	}
	for i, l := range p.lns {
		if l != nil {
			p.Unlisten(driver.MakeToken(uint32(i), l.gen))
		}
	}
	p.releasePackets()
	// Readers waiting for delivery have quit on done; sockets accepted but
	// not delivered would be left open, so they are closed here, and post
	// closes any that arrive later.
	p.mu.Lock()
	p.released = true
	q := p.q
	p.q = nil
	p.mu.Unlock()
	for _, c := range q {
		if c.sock.Conn != nil {
			c.sock.Conn.Close()
		}
	}
	return nil
}
