package stdnet

import (
	"syscall"

	"github.com/seed487d475b/proactor/internal/driver"
	"github.com/seed487d475b/proactor/internal/sock"
)

// Unsent returns how many bytes of t's output the kernel has not sent
// yet (driver.Unsender). A write of this engine completes once its bytes
// are in the kernel, as the others' do.
func (p *poller) Unsent(t driver.Token) int {
	c := p.conn(t)
	if c == nil || c.conn == nil {
		return 0
	}
	sc, ok := c.conn.(syscall.Conn)
	if !ok {
		return 0
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0
	}
	n := 0
	rc.Control(func(fd uintptr) { n = sock.Unsent(int(fd)) })
	return n
}
