package loadgen_test

import (
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/examples/echo"
	"github.com/seed487d475b/proactor/examples/line"
	"github.com/seed487d475b/proactor/examples/packet"
	"github.com/seed487d475b/proactor/internal/loadgen"
	"github.com/seed487d475b/proactor/internal/servertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// servers are the example servers each scenario speaks to.
var servers = map[string]func(t *testing.T) string{
	"echo": func(t *testing.T) string { _, a := servertest.Start(t, echo.Handler{}); return a },
	"packet": func(t *testing.T) string {
		_, a := servertest.Start(t, packet.Handler{}, packet.Options()...)
		return a
	},
	"line": func(t *testing.T) string { _, a := servertest.Start(t, line.Handler{}, line.Options()...); return a },
}

// TestScenarios runs each scenario against its server, as streams with
// several messages in flight (as fast as they come back, and paced) and as
// churn, at the smallest and largest sizes it takes: every reply checks.
func TestScenarios(t *testing.T) {
	tests := []struct {
		scenario string
		sizes    []int
	}{
		{scenario: "echo", sizes: []int{8, 64, 20000}},
		{scenario: "packet", sizes: []int{9, 255}},
		{scenario: "line", sizes: []int{23, 1026}},
	}
	for _, tt := range tests {
		addr := servers[tt.scenario](t)
		for _, size := range tt.sizes {
			sc, err := loadgen.NewScenario(tt.scenario, size)
			if err != nil {
				t.Fatal(err)
			}
			t.Run(tt.scenario+"/stream", func(t *testing.T) { runStream(t, newRun(t, addr, sc, 4)) })
			t.Run(tt.scenario+"/paced", func(t *testing.T) {
				r := newRun(t, addr, sc, 4)
				r.SetRate(5000)
				runStream(t, r)
			})
			t.Run(tt.scenario+"/churn", func(t *testing.T) { runChurn(t, addr, sc) })
		}
	}
}

// newRun prepares a run of sc against addr, depth in flight.
func newRun(t *testing.T, addr string, sc *loadgen.Scenario, depth int) *loadgen.Run {
	t.Helper()
	r, err := loadgen.New(t.Context(), addr, sc, depth)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// echo64 is the echo scenario with 64-byte messages.
func echo64(t *testing.T) *loadgen.Scenario {
	t.Helper()
	sc, err := loadgen.NewScenario("echo", 64)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// streams dials n connections for r and starts a stream on each; they are
// closed when the test ends.
func streams(t *testing.T, r *loadgen.Run, n int) (wait func()) {
	t.Helper()
	conns, err := r.DialAll(n, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { loadgen.CloseAll(conns) })
	return r.Start(conns, 0)
}

// runStream runs r on 3 streams for 200 replies, which must all check and
// be measured.
func runStream(t *testing.T, r *loadgen.Run) {
	t.Helper()
	wait := streams(t, r, 3)
	r.Measure()
	waitDone(t, r, 200)
	r.Stop()
	wait()
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if r.Quantile(50) <= 0 || r.Max() < r.Quantile(99) {
		t.Fatalf("latencies: p50 %v, p99 %v, max %v", r.Quantile(50), r.Quantile(99), r.Max())
	}
}

func runChurn(t *testing.T, addr string, sc *loadgen.Scenario) {
	r := newRun(t, addr, sc, 1)
	wait := r.Start(nil, 2)
	r.Measure()
	waitDone(t, r, 20)
	r.Stop()
	wait()
	if err := r.Err(); err != nil || r.Failed() > 0 {
		t.Fatalf("%d failed cycles, first: %v", r.Failed(), err)
	}
}

// waitDone waits until the run has completed n more operations than when
// it is called, or fails. Called after Measure, all but the replies a
// stream had already read when Measure came (one batch per connection) are
// measured; counting from zero instead, a fast run could reach n before
// Measure and record no latency at all.
func waitDone(t *testing.T, r *loadgen.Run, n int64) {
	t.Helper()
	n += r.Done()
	deadline := time.Now().Add(10 * time.Second)
	for r.Done() < n {
		if r.Err() != nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d operations after 10s, want %d", r.Done(), n)
		}
		time.Sleep(time.Millisecond) // polling a counter: nothing to wait on
	}
}

// corrupt echoes every read with its first byte changed.
type corrupt struct {
	proactor.BaseHandler
}

func (corrupt) OnData(c *proactor.Conn, data []byte) {
	b := append([]byte(nil), data...)
	b[0] ^= 1
	c.Write(b)
}

// twice answers every read twice.
type twice struct {
	proactor.BaseHandler
}

func (twice) OnData(c *proactor.Conn, data []byte) {
	c.Write(data)
	c.Write(data)
}

// TestExtraReplies: a server that answers twice fails the check, in churn
// and when a stream stops.
func TestExtraReplies(t *testing.T) {
	_, addr := servertest.Start(t, twice{})
	r := newRun(t, addr, echo64(t), 1)
	r.Start(nil, 1)() // churn: the run stops itself on the mismatch
	if err := r.Err(); !errors.Is(err, loadgen.ErrMismatch) {
		t.Fatalf("churn ended with %v; want ErrMismatch", err)
	}
	r = newRun(t, addr, echo64(t), 1)
	wait := streams(t, r, 1)
	r.Stop() // the first reply ends the stream; its twin must be noticed
	wait()
	if err := r.Err(); !errors.Is(err, loadgen.ErrMismatch) {
		t.Fatalf("stream ended with %v; want ErrMismatch", err)
	}
}

// TestInFlightBound: more bytes in flight per connection than the buffers
// between the two sides hold is refused up front.
func TestInFlightBound(t *testing.T) {
	sc, err := loadgen.NewScenario("echo", 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := loadgen.New(t.Context(), "127.0.0.1:1", sc, 16); err != nil {
		t.Fatalf("1 MiB in flight refused: %v", err)
	}
	if _, err := loadgen.New(t.Context(), "127.0.0.1:1", sc, 17); err == nil {
		t.Fatal("over 1 MiB in flight accepted")
	}
}

// TestMismatch: a changed byte voids the run with a MismatchError (the
// server flips the first byte it reads).
func TestMismatch(t *testing.T) {
	_, addr := servertest.Start(t, corrupt{})
	r := newRun(t, addr, echo64(t), 2)
	streams(t, r, 1)()
	var me *loadgen.MismatchError
	if err := r.Err(); !errors.Is(err, loadgen.ErrMismatch) || !errors.As(err, &me) {
		t.Fatalf("run ended with %v; want a MismatchError", err)
	}
	if me.Offset != 0 || me.Expected[0]^me.Received[0] != 1 {
		t.Fatalf("%+v: want byte 0 to differ in its low bit", me)
	}
}

// TestCheck: the check passes the right reply and catches one from
// another connection, for another message, or with any byte changed.
func TestCheck(t *testing.T) {
	for _, name := range loadgen.Scenarios {
		for _, size := range []int{100, 255} {
			sc, err := loadgen.NewScenario(name, size)
			if err != nil {
				t.Fatal(err)
			}
			for _, seq := range []uint32{3, 1000} {
				req := sc.AppendRequest(nil, 7, seq)
				if len(req) != sc.Size() {
					t.Fatalf("%s: request of %d bytes, want %d", name, len(req), sc.Size())
				}
				m := replyTo(name, req)
				if err := sc.Check(m, 7, seq); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if err := sc.Check(m, 8, seq); !errors.Is(err, loadgen.ErrMismatch) {
					t.Errorf("%s: another connection's reply passed (%v)", name, err)
				}
				if err := sc.Check(m, 7, seq+1); !errors.Is(err, loadgen.ErrMismatch) {
					t.Errorf("%s: another message's reply passed (%v)", name, err)
				}
				for _, i := range []int{0, 5, 8, 9, len(m) / 2, len(m) - 2, len(m) - 1} {
					m[i] ^= 0x40
					if err := sc.Check(m, 7, seq); !errors.Is(err, loadgen.ErrMismatch) {
						t.Errorf("%s: byte %d of %d changed, passed (%v)", name, i, len(m), err)
					}
					m[i] ^= 0x40
				}
			}
		}
	}
	for _, bad := range []struct {
		name string
		size int
	}{{"echo", 7}, {"packet", 256}, {"line", 22}, {"line", 1027}, {"nosuch", 64}} {
		if _, err := loadgen.NewScenario(bad.name, bad.size); err == nil {
			t.Errorf("NewScenario(%q, %d) succeeded", bad.name, bad.size)
		}
	}
}

// replyTo is what the scenario's server answers to req.
func replyTo(scenario string, req []byte) []byte {
	if scenario == "line" {
		return append([]byte("+OK "), req[len("ECHO "):]...)
	}
	return req
}
