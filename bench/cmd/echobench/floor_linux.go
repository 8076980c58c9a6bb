package main

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// startFloor is the reference for "what the kernel allows": the least a
// server can do per message with epoll and read/write. One thread, one
// level-triggered epoll set, one 64 KiB buffer; each readable connection is
// read once and the bytes written straight back. No framework, no
// callbacks, no queues, no timers, no allocation per message; the only
// extra is what correctness needs: a reply that does not fit in the socket
// waits on EPOLLOUT while that connection's reading stops. It is not a
// server anyone should ship (no limits, no timeouts, no API); its CPU per
// message is the floor the frameworks' figures are measured against.
func startFloor() (string, func(), error) {
	lfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return "", nil, err
	}
	fail := func(err error) (string, func(), error) {
		unix.Close(lfd)
		return "", nil, err
	}
	unix.SetsockoptInt(lfd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	if err := unix.Bind(lfd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return fail(err)
	}
	if err := unix.Listen(lfd, 4096); err != nil {
		return fail(err)
	}
	sa, err := unix.Getsockname(lfd)
	if err != nil {
		return fail(err)
	}
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return fail(err)
	}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, lfd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(lfd)}); err != nil {
		unix.Close(epfd)
		return fail(err)
	}
	go floorLoop(epfd, lfd)
	// Closing the listener is enough for a benchmark process that exits
	// next; the loop keeps running until then.
	return fmt.Sprintf("127.0.0.1:%d", sa.(*unix.SockaddrInet4).Port), func() { unix.Close(lfd) }, nil
}

func floorLoop(epfd, lfd int) {
	events := make([]unix.EpollEvent, 256)
	buf := make([]byte, 64<<10)
	pending := map[int][]byte{} // replies that did not fit, by descriptor
	for {
		n, err := unix.EpollWait(epfd, events, -1)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			return
		}
		for _, ev := range events[:n] {
			fd := int(ev.Fd)
			if fd == lfd {
				for range 64 {
					cfd, _, err := unix.Accept4(lfd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
					if err != nil {
						break
					}
					unix.SetsockoptInt(cfd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
					unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, cfd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(cfd)})
				}
				continue
			}
			if p, ok := pending[fd]; ok {
				if ev.Events&(unix.EPOLLOUT|unix.EPOLLERR|unix.EPOLLHUP) == 0 {
					continue
				}
				w, err := unix.Write(fd, p)
				switch {
				case err == unix.EAGAIN:
				case err != nil:
					delete(pending, fd)
					unix.Close(fd)
				case w < len(p):
					pending[fd] = p[w:]
				default:
					delete(pending, fd)
					unix.EpollCtl(epfd, unix.EPOLL_CTL_MOD, fd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(fd)})
				}
				continue
			}
			r, err := unix.Read(fd, buf)
			if r <= 0 {
				if err != unix.EAGAIN && err != unix.EINTR {
					unix.Close(fd) // EOF or error
				}
				continue
			}
			w, err := unix.Write(fd, buf[:r])
			if err == unix.EAGAIN {
				w, err = 0, nil
			}
			switch {
			case err != nil:
				unix.Close(fd)
			case w < r:
				pending[fd] = append([]byte(nil), buf[w:r]...)
				unix.EpollCtl(epfd, unix.EPOLL_CTL_MOD, fd, &unix.EpollEvent{Events: unix.EPOLLOUT, Fd: int32(fd)})
			}
		}
	}
}
