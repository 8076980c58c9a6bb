//go:build linux

package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/seed487d475b/proactor/internal/driver"
	"github.com/seed487d475b/proactor/internal/sock"
)

// client is one load socket: inflight datagrams out at a time, each
// carrying the client's id and a sequence number.
type client struct {
	fd          int
	id          uint32
	seq         uint32
	since       uint32 // the first sequence number of the current window
	outstanding int
	lastRecv    time.Time
}

// lossTimeout is how long a client waits for a missing echo before it
// gives up on its window (counted: a datagram dropped, or a stall of the
// machine longer than this) and sends a new one; echoes of the old window
// that come later count as echoes but are not replaced, so what is in
// flight stays the window.
const lossTimeout = 200 * time.Millisecond

// selfCPU is the user and system time this process has used.
func selfCPU() time.Duration {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runLoad drives the echo at --addr from one thread: an epoll set over the
// client sockets, recvmmsg and sendmmsg batches. It prints "window-start"
// after the warm-up and "window-end ECHOES LOST CPU-NS" after the window
// (CPU-NS: its own CPU time in the window), and exits.
func runLoad(args []string) int {
	fs := flag.NewFlagSet("udpbench load", flag.ExitOnError)
	addrS := fs.String("addr", "", "the server")
	warmup := fs.Duration("warmup", 500*time.Millisecond, "")
	duration := fs.Duration("duration", 3*time.Second, "")
	nclients := fs.Int("clients", 16, "")
	inflight := fs.Int("inflight", 8, "")
	size := fs.Int("size", 64, "")
	fs.Parse(args)
	addr, err := netip.ParseAddrPort(*addrS)
	if err == nil && *size < 8 {
		err = fmt.Errorf("--size %d: at least 8", *size)
	}
	if err == nil {
		err = load(addr, *warmup, *duration, *nclients, *inflight, *size)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "udpbench load:", err)
		return 1
	}
	return 0
}

func load(addr netip.AddrPort, warmup, duration time.Duration, nclients, inflight, size int) error {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return err
	}
	defer unix.Close(epfd)
	clients := make([]*client, nclients)
	for i := range clients {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			return err
		}
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 1<<20)
		if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(i)}); err != nil {
			return err
		}
		clients[i] = &client{fd: fd, id: uint32(i)}
	}
	rx, tx := sock.NewMmsg(size+1), sock.NewMmsg(0)
	payload := make([]byte, driver.PacketBatch*size)
	ds := make([]driver.Datagram, 0, driver.PacketBatch)
	// send sends k new datagrams from c.
	send := func(c *client, k int) error {
		for k > 0 {
			n := min(k, driver.PacketBatch)
			ds = ds[:0]
			for j := range n {
				b := payload[j*size : (j+1)*size]
				binary.LittleEndian.PutUint32(b, c.id)
				binary.LittleEndian.PutUint32(b[4:], c.seq)
				c.seq++
				ds = append(ds, driver.Datagram{Data: b, Addr: addr})
			}
			sent, err := tx.Send(c.fd, unix.AF_INET, ds)
			if err != nil && err != unix.EAGAIN {
				return fmt.Errorf("sendmmsg: %w", err)
			}
			c.outstanding += sent // one the socket would not take is lost
			k -= n
		}
		return nil
	}
	start := time.Now()
	for _, c := range clients {
		c.lastRecv = start
		if err := send(c, inflight); err != nil {
			return err
		}
	}
	windowStart, windowEnd := start.Add(warmup), start.Add(warmup+duration)
	var echoes, lost int64
	var cpu0 time.Duration
	inWindow := false
	events := make([]unix.EpollEvent, nclients)
	for {
		now := time.Now()
		if !inWindow && now.After(windowStart) {
			inWindow = true
			echoes, lost = 0, 0
			cpu0 = selfCPU()
			fmt.Println("window-start")
		}
		if now.After(windowEnd) {
			fmt.Printf("window-end %d %d %d\n", echoes, lost, selfCPU()-cpu0)
			return nil
		}
		n, err := unix.EpollWait(epfd, events, 50)
		if err != nil && err != unix.EINTR {
			return err
		}
		now = time.Now()
		for _, ev := range events[:max(n, 0)] {
			c := clients[ev.Fd]
			got, err := rx.Recv(c.fd)
			if err == unix.EAGAIN {
				continue
			}
			if err != nil {
				return fmt.Errorf("recvmmsg: %w", err)
			}
			fresh := 0
			for _, d := range got {
				if d.Size != size || binary.LittleEndian.Uint32(d.Data) != c.id {
					return fmt.Errorf("client %d: wrong echo of %d bytes (id %d)", c.id, d.Size, binary.LittleEndian.Uint32(d.Data))
				}
				// An echo of a window given up on is counted but not
				// replaced: the new window is already out.
				if binary.LittleEndian.Uint32(d.Data[4:])-c.since < 1<<31 {
					fresh++
				}
			}
			echoes += int64(len(got))
			c.outstanding = max(c.outstanding-fresh, 0)
			c.lastRecv = now
			if err := send(c, fresh); err != nil {
				return err
			}
		}
		for _, c := range clients {
			if now.Sub(c.lastRecv) > lossTimeout {
				lost += int64(c.outstanding)
				c.outstanding = 0
				c.since = c.seq
				c.lastRecv = now
				if err := send(c, inflight); err != nil {
					return err
				}
			}
		}
	}
}
