/*
 * cfloor: the echo floor in C. One thread, one level-triggered epoll set,
 * one 64 KiB buffer; each readable connection is read once and the bytes
 * written straight back. A reply the socket does not take in full is kept
 * for that connection, which stops reading and waits on EPOLLOUT until it
 * is sent. No framework, no runtime: what a server must spend per message
 * with epoll, read and write, in the language the kernel is written in.
 *
 * It listens on 127.0.0.1:0, prints the address as its first line on
 * stdout, and exits on SIGTERM or SIGINT, or when stdin reaches EOF (the
 * benchmark that started it is gone). echobench embeds this file and
 * builds it with the system's C compiler (see cfloor.go).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUFSZ (64 << 10)
#define MAXEV 256

/* pending is a reply the socket did not take in full, per descriptor. */
struct pending {
	char *b;
	size_t off, len;
};

static struct pending *pend;
static int npend;
static volatile sig_atomic_t stop;

static void on_signal(int sig) { (void)sig; stop = 1; }

static struct pending *pending_of(int fd)
{
	if (fd >= npend) {
		int n = npend ? npend : 1024;
		while (n <= fd)
			n *= 2;
		pend = realloc(pend, n * sizeof *pend);
		if (!pend) {
			perror("realloc");
			exit(1);
		}
		memset(pend + npend, 0, (n - npend) * sizeof *pend);
		npend = n;
	}
	return &pend[fd];
}

static void drop(int ep, int fd)
{
	struct pending *p = pending_of(fd);
	epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
	close(fd);
	free(p->b);
	memset(p, 0, sizeof *p);
}

/* flush writes what is pending for fd; returns 1 when all is sent. */
static int flush(int fd, struct pending *p)
{
	while (p->off < p->len) {
		ssize_t n = write(fd, p->b + p->off, p->len - p->off);
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		p->off += n;
	}
	p->off = p->len = 0;
	return 1;
}

int main(void)
{
	static char buf[BUFSZ];
	struct epoll_event evs[MAXEV], ev;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t salen = sizeof sa;
	int one = 1;

	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0) {
		perror("socket");
		return 1;
	}
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 4096) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &salen) < 0) {
		perror("listen");
		return 1;
	}
	printf("127.0.0.1:%d\n", ntohs(sa.sin_port));
	fflush(stdout);

	int ep = epoll_create1(EPOLL_CLOEXEC);
	ev.events = EPOLLIN;
	ev.data.fd = lfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	ev.data.fd = 0; /* stdin: EOF when the benchmark is gone */
	epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);

	while (!stop) {
		int n = epoll_wait(ep, evs, MAXEV, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("epoll_wait");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == 0) {
				if (read(0, buf, sizeof buf) <= 0)
					stop = 1;
				continue;
			}
			if (fd == lfd) {
				for (int k = 0; k < 64; k++) {
					int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
					if (c < 0)
						break;
					setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
					ev.events = EPOLLIN;
					ev.data.fd = c;
					epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
				}
				continue;
			}
			struct pending *p = pending_of(fd);
			if (p->len) { /* waiting on EPOLLOUT */
				int r = flush(fd, p);
				if (r < 0) {
					drop(ep, fd);
				} else if (r == 1) {
					ev.events = EPOLLIN;
					ev.data.fd = fd;
					epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
				}
				continue;
			}
			ssize_t got = read(fd, buf, sizeof buf);
			if (got <= 0) {
				if (got < 0 && errno == EAGAIN)
					continue;
				drop(ep, fd);
				continue;
			}
			ssize_t sent = write(fd, buf, got);
			if (sent < 0 && errno != EAGAIN) {
				drop(ep, fd);
				continue;
			}
			if (sent < 0)
				sent = 0;
			if (sent < got) {
				p->b = realloc(p->b, got - sent);
				memcpy(p->b, buf + sent, got - sent);
				p->off = 0;
				p->len = got - sent;
				ev.events = EPOLLOUT;
				ev.data.fd = fd;
				epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
			}
		}
	}
	return 0;
}
