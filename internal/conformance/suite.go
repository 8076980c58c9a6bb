// Package conformance is the behaviour suite every proactor engine must
// pass. Run is called once per engine the machine has (see the root
// package's TestConformance); each case runs against a fresh server on
// 127.0.0.1:0 and checks afterwards that no goroutine and no descriptor was
// leaked.
package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/seed487d475b/proactor"
)

// Backend is an engine under test.
type Backend struct {
	Name    string
	Options []proactor.Option // select the engine; given to engines, servers and clients
	// ServerOptions are given to the cases' servers only (server-wide
	// options such as WithConnPool, which a Client or an engine refuses).
	ServerOptions []proactor.Option
	TLS           *TLS // if set, every case runs over TLS
	// Unix makes the cases' servers listen on, and their clients dial,
	// unix stream sockets; cases that need TCP (resets, socket options,
	// IP addresses) are skipped.
	Unix bool
}

type testCase struct {
	name string
	run  func(t *testing.T, b Backend)
}

// tcpOnly names the cases that need TCP: a reset, a TCP option, an IP
// address, TCP's own errors.
var tcpOnly = map[string]bool{
	"PeerReset": true, "ReusePort": true, "SocketOptions": true, "MaxConnsPerIP": true,
	"AllowDeny": true, "AcceptFilter": true, "DeferAccept": true, "DeferAcceptBound": true,
	"StalledPeer": true, "DialErrors": true, "LocalAddr": true,
}

// Run runs every case against b.
func Run(t *testing.T, b Backend) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if b.Unix && tcpOnly[tc.name] {
				t.Skip("needs TCP")
			}
			checkLeaks(t)
			tc.run(t, b)
		})
	}
}

// checkLeaks registers, before anything else, a cleanup that runs after
// every other cleanup (servers closed, clients closed) and fails the test if
// goroutines or descriptors outlive it.
func checkLeaks(t *testing.T) {
	fds := openFDs()
	t.Cleanup(func() {
		if t.Failed() {
			return
		}
		goleak.VerifyNone(t, goleak.IgnoreCurrent())
		if fds < 0 {
			return // no /proc: the descriptor check is Linux-only
		}
		// Descriptor counts have no event to wait for; poll with a bound.
		deadline := time.Now().Add(5 * time.Second)
		for {
			n := openFDs()
			if n <= fds {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("descriptor leak: %d open before the case, %d after", fds, n)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

func openFDs() int {
	if runtime.GOOS != "linux" {
		return -1
	}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

// serve starts a server for h on 127.0.0.1:0 and closes it when the test ends.
func serve(t *testing.T, b Backend, h proactor.Handler, opts ...proactor.Option) (*proactor.Server, string) {
	t.Helper()
	all := append(append(append([]proactor.Option{}, b.Options...), b.serverOptions()...), opts...)
	srv, err := proactor.NewServer(h, all...)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	addr, err := srv.Listen(b.listenAddr(t))
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	return srv, addr.String()
}

// listenAddr is an address for Listen: 127.0.0.1:0, or a fresh unix
// socket path.
func (b Backend) listenAddr(t *testing.T) string {
	if !b.Unix {
		return "127.0.0.1:0"
	}
	dir, err := os.MkdirTemp("", "pc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return "unix:" + filepath.Join(dir, "s")
}

// reset reports whether err is what a peer sees of an abort: ECONNRESET;
// on a unix socket, which has no reset, the end of the stream (nil from
// readAll) too.
func (b Backend) reset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || b.Unix && err == nil
}

// refused reports whether err is a dial's failure to a server that is
// gone: ECONNREFUSED; on a unix socket, whose file the server removed,
// ENOENT too.
func (b Backend) refused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || b.Unix && errors.Is(err, syscall.ENOENT)
}

// network is what the backend's clients dial.
func (b Backend) network() string {
	if b.Unix {
		return "unix"
	}
	return "tcp"
}

// testTimeout bounds every blocking step of a case, so a bug fails the
// case instead of hanging the run.
const testTimeout = 20 * time.Second

func ctxTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// readAll reads until EOF or an error and returns what came and the error
// (nil for a clean EOF).
func readAll(c net.Conn) ([]byte, error) {
	var buf bytes.Buffer
	_, err := io.Copy(&buf, c)
	return buf.Bytes(), err
}

func expectEcho(t testing.TB, c net.Conn, msg []byte) {
	t.Helper()
	if err := echoOnce(c, msg); err != nil {
		t.Fatal(err)
	}
}

// echoOnce sends msg and reads its echo, or says what went wrong.
func echoOnce(c net.Conn, msg []byte) error {
	if _, err := c.Write(msg); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		return fmt.Errorf("read echo: %w", err)
	}
	if !bytes.Equal(got, msg) {
		return fmt.Errorf("echo mismatch: sent %q, got %q", msg, got)
	}
	return nil
}

// pattern returns n bytes that differ from one position to the next, so a
// lost, repeated or reordered byte shows.
func pattern(n int, seed byte) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*7+i/251) + seed
	}
	return p
}

// wait receives from ch or fails the test after testTimeout.
func wait[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(testTimeout):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// logBuffer is a goroutine-safe sink for a test's slog output.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// cases is every behaviour of the suite, in the order they run.
var cases = []testCase{
	{"Echo", testEcho},
	{"ManyConns", testManyConns},
	{"LargeSlowReader", testLargeSlowReader},
	{"FanOut", testFanOut},
	{"WriteFromGoroutine", testWriteFromGoroutine},
	{"FIFOConcurrentWriters", testFIFOConcurrentWriters},
	{"WriteBatching", testWriteBatching},
	{"CallbackOrder", testCallbackOrder},
	{"PeerReset", testPeerReset},
	{"HalfClose", testHalfClose},
	{"CloseWrite", testCloseWrite},
	{"GracefulClose", testGracefulClose},
	{"Abort", testAbort},
	{"Panic", testPanic},
	{"WriteAfterClose", testWriteAfterClose},
	{"PauseResume", testPauseResume},
	{"ReusePort", testReusePort},
	{"Do", testDo},
	{"ShutdownInFlight", testShutdownInFlight},
	{"ShutdownDeadline", testShutdownDeadline},
	{"ShutdownIdle", testShutdownIdle},
	{"ShutdownPeerSending", testShutdownPeerSending},
	{"CloseAborts", testCloseAborts},
	{"Registry", testRegistry},
	{"RegistryChurn", testRegistryChurn},
	{"Conns", testConns},
	{"Histograms", testHistograms},
	{"SharedEngine", testSharedEngine},
	{"Values", testValues},
	{"WriteBuffer", testWriteBuffer},
	{"SendFile", testSendFile},
	{"FirstDataTimeout", testFirstDataTimeout},
	{"IdleTimeout", testIdleTimeout},
	{"ReadTimeout", testReadTimeout},
	{"WriteTimeout", testWriteTimeout},
	{"WriteTimeoutProgress", testWriteTimeoutProgress},
	{"StalledPeer", testStalledPeer},
	{"MaxConns", testMaxConns},
	{"MaxConnsPerIP", testMaxConnsPerIP},
	{"AllowDeny", testAllowDeny},
	{"AcceptFilter", testAcceptFilter},
	{"Backpressure", testBackpressure},
	{"QueueFull", testQueueFull},
	{"NoHole", testNoHole},
	{"PauseRead", testPauseRead},
	{"PausedHangup", testPausedHangup},
	{"DeferAccept", testDeferAccept},
	{"DeferAcceptBound", testDeferAcceptBound},
	{"SocketOptions", testSocketOptions},
	{"FramedSplits", testFramedSplits},
	{"FrameErrors", testFrameErrors},
	{"DumpBadFrames", testDumpBadFrames},
	{"LargeFrame", testLargeFrame},
	{"FramedReadTimeout", testFramedReadTimeout},
	{"FramedPause", testFramedPause},
	{"Dial", testDial},
	{"DialErrors", testDialErrors},
	{"DialOneShot", testDialOneShot},
	{"LocalAddr", testLocalAddr},
	{"AcceptBatch", testAcceptBatch},
	{"ReceiveFile", testReceiveFile},
	{"ReceiveFileRaw", testReceiveFileRaw},
	{"Reconnect", testReconnect},
	{"Marks", testMarks},
	{"MarkIdle", testMarkIdle},
	{"MarkAbort", testMarkAbort},
	{"SendFileNotice", testSendFileNotice},
	{"TimerOrder", testTimerOrder},
	{"TimerStop", testTimerStop},
	{"TimerClose", testTimerClose},
	{"ServerTimer", testServerTimer},
	{"TimerPanic", testTimerPanic},
	{"CloseRead", testCloseRead},
	{"CloseReadPeerFIN", testCloseReadPeerFIN},
	{"CloseReadHeld", testCloseReadHeld},
	{"ClosingGoodbye", testClosingGoodbye},
	{"ClosingTakeOver", testClosingTakeOver},
	{"ClosingNotCalled", testClosingNotCalled},
	{"ClosingPanic", testClosingPanic},
}
