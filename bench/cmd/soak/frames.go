package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/seed487d475b/proactor/examples/line"
)

// packetFrame is a packet of the packet server: a 1-byte header holding
// the total length, then payload (1 to 254 bytes).
func packetFrame(payload []byte) []byte {
	return append([]byte{byte(len(payload) + 1)}, payload...)
}

// exchange writes req and checks that exactly want comes back.
func exchange(c *net.TCPConn, req, want []byte) error {
	if _, err := c.Write(req); err != nil {
		return err
	}
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil {
		return fmt.Errorf("reading %q: %w", want, err)
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("got %q, want %q: %w", got, want, errMismatch)
	}
	return nil
}

// exchangeFailed counts an exchange that should have succeeded: a reply
// late on a loaded machine is shown but not the server's fault; a wrong
// reply or a connection closed under a good request is.
// On a server with a connection cap, the first request of a connection
// may also find it refused: the std engine accepts before it counts, so
// its refusals come as a reset after the dial succeeded.
func exchangeFailed(st *faultStats, cfg faultConfig, first bool, what string, err error) {
	switch {
	case isTimeout(err):
		st.late()
	case first && cfg.capped && serverClosed(err):
		st.closedAfter(0)
	default:
		st.fail(fmt.Errorf("%s: %w", what, err))
	}
}

// garbageClient (packet) sends a few good packets, checks their echoes,
// then a header of 0 or 1 (a protocol error) and perhaps more bytes: the
// server must close the connection without a byte more, within slack.
func garbageClient(ctx context.Context, st *faultStats, addr string, cfg faultConfig, rng *rand.Rand) {
	c := connect(ctx, st, addr, 0)
	if c == nil {
		return
	}
	defer pause(ctx, 5*time.Millisecond)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	for i := range rng.IntN(4) {
		p := packetFrame(randBytes(rng, 1+rng.IntN(254)))
		if err := exchange(c, p, p); err != nil {
			exchangeFailed(st, cfg, i == 0, "bad header client, a good packet before the bad one", err)
			return
		}
		st.checked.Add(int64(len(p)))
	}
	junk := append([]byte{byte(rng.IntN(2))}, randBytes(rng, rng.IntN(64))...)
	t0 := time.Now()
	if _, err := c.Write(junk); err != nil {
		st.closedAfter(time.Since(t0))
		return
	}
	awaitClose(st, c, t0, "bad packet header", cfg.slack, cfg.slack)
}

// lineGarbageClient (line) checks one good command, sends a line of binary
// junk (answered "-ERR unknown command", the connection going on), then a
// line over the server's limit: answered "-ERR line too long", then closed.
func lineGarbageClient(ctx context.Context, st *faultStats, addr string, cfg faultConfig, rng *rand.Rand) {
	c := connect(ctx, st, addr, 0)
	if c == nil {
		return
	}
	defer pause(ctx, 5*time.Millisecond)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	word := "g" + strconv.FormatUint(rng.Uint64(), 36)
	steps := []struct{ req, want string }{
		{"", cfg.greeting},
		{"ECHO " + word + "\r\n", "+OK " + word + "\r\n"},
		{"\xff" + string(lineJunk(rng, rng.IntN(200))) + "\r\n", "-ERR unknown command\r\n"},
		{string(bytes.Repeat([]byte("x"), 1500)), "-ERR line too long\r\n"},
	}
	for i, s := range steps {
		if err := exchange(c, []byte(s.req), []byte(s.want)); err != nil {
			exchangeFailed(st, cfg, i == 0, fmt.Sprintf("bad lines client, %.20q", s.req), err)
			return
		}
		st.checked.Add(int64(len(s.want)))
	}
	awaitClose(st, c, time.Now(), "line over the limit", cfg.slack, cfg.slack)
}

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// lineJunk is n random bytes with neither CR nor LF.
func lineJunk(rng *rand.Rand, n int) []byte {
	b := randBytes(rng, n)
	for i, x := range b {
		if x == '\r' || x == '\n' {
			b[i] = 0
		}
	}
	return b
}

// partialClient (packet, line) starts a request and never finishes it (a
// slowloris): the server must close it within its read timeout (plus
// slack), without a byte.
func partialClient(ctx context.Context, st *faultStats, addr string, cfg faultConfig, start []byte) {
	c := connect(ctx, st, addr, 0)
	if c == nil {
		return
	}
	defer c.Close()
	if !greeted(st, cfg, c, "unfinished request") {
		return
	}
	t0 := time.Now()
	if _, err := c.Write(start); err != nil {
		st.closedAfter(time.Since(t0))
		return
	}
	awaitClose(st, c, t0, fmt.Sprintf("unfinished request %q", start), cfg.read, cfg.bound(cfg.read, 10*time.Second))
}

// floodBurst (line) opens n connections at once, each sending one command,
// and holds them all until every one is answered or refused, so that they
// are open together (past the server's --max-conns). An admitted one must
// greet and answer right; a refused one must close without a byte.
func floodBurst(ctx context.Context, st *faultStats, addr string, n int, burst int) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []*net.TCPConn
	for i := range n {
		wg.Go(func() {
			c := connect(ctx, st, addr, 0)
			if c == nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			word := fmt.Sprintf("flood-%d-%d", burst, i)
			err := exchange(c, []byte("ECHO "+word+"\r\n"), []byte(line.Greeting+"+OK "+word+"\r\n"))
			switch {
			case err == nil:
				st.expected.Add(1)
			case errors.Is(err, errMismatch):
				st.fail(fmt.Errorf("flood: %w", err))
			case serverClosed(err):
				st.closedAfter(0) // refused
			default:
				exchangeFailed(st, faultConfig{}, false, "flood", err)
			}
		})
	}
	wg.Wait()
	for _, c := range conns {
		c.Close()
	}
}
