package loadgen_test

import (
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed487d475b/proactor/examples/echo"
	"github.com/seed487d475b/proactor/internal/loadgen"
	"github.com/seed487d475b/proactor/internal/servertest"
)

// TestRate: a paced run completes no more requests than were due (rate ×
// time, plus the first of each worker), whatever the server could take,
// and not far fewer; streams and churn alike.
func TestRate(t *testing.T) {
	_, addr := servertest.Start(t, echo.Handler{})
	const rate = 2000.0
	for _, churn := range []bool{false, true} {
		name, workers, perSec := "stream", 4, rate
		if churn {
			name, workers, perSec = "churn", 2, rate/10 // a dial each: keep it light
		}
		t.Run(name, func(t *testing.T) {
			r := newRun(t, addr, echo64(t), 4)
			if churn {
				r = newRun(t, addr, echo64(t), 1)
			}
			r.SetRate(perSec)
			var conns []net.Conn
			if !churn {
				var err error
				if conns, err = r.DialAll(workers, nil); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { loadgen.CloseAll(conns) })
			}
			begin := time.Now()
			wait := r.Start(conns, workers)
			r.Measure()
			time.Sleep(time.Second) // the measured span, not a synchronisation
			r.Stop()
			ran := time.Since(begin)
			wait()
			if err := r.Err(); err != nil {
				t.Fatal(err)
			}
			done, want := float64(r.Done()), perSec*ran.Seconds()
			if done > want+float64(workers) || done < want/2 {
				t.Fatalf("%v requests in %v at %v/s: want about %v", done, ran, perSec, want)
			}
			t.Logf("%v requests in %v at %v/s (%.0f%%)", done, ran.Round(time.Millisecond), perSec, 100*done/want)
		})
	}
}

// stallingEcho is a plain echo of 64-byte messages, on a goroutine per
// connection, that stalls once for stall before answering message stallAt
// of its first connection.
func stallingEcho(t *testing.T, stallAt int, stall time.Duration) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for first := true; ; first = false {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				m := make([]byte, 64)
				for i := 0; ; i++ {
					if _, err := io.ReadFull(c, m); err != nil {
						return
					}
					if first && i == stallAt {
						time.Sleep(stall) // the stall under test
					}
					if _, err := c.Write(m); err != nil {
						return
					}
				}
			})
		}
	})
	return ln.Addr().String()
}

// TestCoordinatedOmission: a server stalls 300ms once. Paced at 1000/s,
// the 300 requests due during the stall each count the wait they were
// made to do (latencies spread from 300ms down to 0: about 150 over
// 150ms); the closed loop, which sent nothing meanwhile, records the stall
// once.
func TestCoordinatedOmission(t *testing.T) {
	const stall = 300 * time.Millisecond
	for _, paced := range []bool{true, false} {
		addr := stallingEcho(t, 200, stall)
		r := newRun(t, addr, echo64(t), 1)
		if paced {
			r.SetRate(1000)
		}
		wait := streams(t, r, 1)
		r.Measure()
		waitDone(t, r, 700)
		r.Stop()
		wait()
		if err := r.Err(); err != nil {
			t.Fatal(err)
		}
		n := slow(r, stall/2)
		t.Logf("paced %v: %d of %d latencies over %v, max %v, send lag p50 %v p99 %v", paced, n, r.Histogram().TotalCount(), stall/2, r.Max(), r.SendLag(50), r.SendLag(99))
		switch {
		case r.Max() < stall:
			t.Fatalf("paced %v: max %v, under the %v stall", paced, r.Max(), stall)
		case paced && n < 50:
			t.Fatalf("paced: %d latencies over %v, want about 150: the stall is not charged to the requests it delayed", n, stall/2)
		case !paced && n > 10:
			t.Fatalf("closed loop: %d latencies over %v, want 1", n, stall/2)
		case paced && r.SendLag(90) > stall/3:
			// The requests held back by the stall waited for the window,
			// not for the generator.
			t.Fatalf("paced: send lag p90 %v: the wait for the window counted as the generator's", r.SendLag(90))
		}
	}
}

// slow counts the latencies recorded over d.
func slow(r *loadgen.Run, d time.Duration) int64 {
	h := r.Histogram()
	var n int64
	for _, b := range h.Distribution() {
		if b.From > int64(d) {
			n += b.Count
		}
	}
	return n
}

// TestMismatchError: a changed byte reports where, and the bytes expected
// against those received, as hex, or as text for a text scenario.
func TestMismatchError(t *testing.T) {
	tests := []struct {
		scenario string
		at       int
		want     string
	}{
		{scenario: "echo", at: 0, want: "reply differs at byte 0 of 64: expected [07 00 00 00 03 00 00 00"},
		{scenario: "echo", at: 60, want: "at byte 60 of 64: expected ["},
		{scenario: "line", at: 10, want: `at byte 10 of 63: expected "00030000000`},
	}
	for _, tt := range tests {
		sc, err := loadgen.NewScenario(tt.scenario, 64)
		if err != nil {
			t.Fatal(err)
		}
		m := replyTo(tt.scenario, sc.AppendRequest(nil, 7, 3))
		exp := append([]byte(nil), m...)
		m[tt.at] ^= 0x01
		err = sc.Check(m, 7, 3)
		var me *loadgen.MismatchError
		if !errors.As(err, &me) || !errors.Is(err, loadgen.ErrMismatch) {
			t.Fatalf("%s: %v (%T), want a *MismatchError", tt.scenario, err, err)
		}
		end := min(len(m), tt.at+16)
		if me.Conn != 7 || me.Message != 3 || me.Offset != tt.at || me.Size != len(m) ||
			string(me.Expected) != string(exp[tt.at:end]) || string(me.Received) != string(m[tt.at:end]) {
			t.Fatalf("%s: %+v", tt.scenario, me)
		}
		if msg := err.Error(); !strings.Contains(msg, tt.want) || !strings.HasPrefix(msg, "conn 7 message 3: ") {
			t.Fatalf("%s: %q lacks %q", tt.scenario, msg, tt.want)
		}
	}
}
