// Package drivertest holds what the engines' own tests share: a Sink that
// records completions and a bounded poll loop. Test code only.
package drivertest

import (
	"testing"
	"time"

	"github.com/seed487d475b/proactor/internal/driver"
)

// Sink records the completions a poller delivers. AcceptFailed fails loudly:
// no engine test expects one.
type Sink struct {
	Accepts []driver.Sock
	Reads   map[driver.Token][]byte
	Ends    map[driver.Token]error // EOF or a read error
	Written map[driver.Token]int
	Hangups map[driver.Token]error
	OnRead  func(t driver.Token, p []byte) // optional, after recording
}

// NewSink returns an empty Sink.
func NewSink() *Sink {
	return &Sink{Reads: map[driver.Token][]byte{}, Ends: map[driver.Token]error{},
		Written: map[driver.Token]int{}, Hangups: map[driver.Token]error{}}
}

func (s *Sink) Awake()                                     {}
func (s *Sink) Connected(driver.Token, driver.Sock, error) {}
func (s *Sink) Accepted(_ driver.Token, so driver.Sock)    { s.Accepts = append(s.Accepts, so) }
func (s *Sink) AcceptFailed(_ driver.Token, err error)     { panic(err) }
func (s *Sink) Wrote(t driver.Token, n int, err error)     { s.Written[t] += n }
func (s *Sink) Hangup(t driver.Token, err error)           { s.Hangups[t] = err }

func (s *Sink) Read(t driver.Token, p []byte, err error) {
	if err != nil {
		s.Ends[t] = err
		return
	}
	s.Reads[t] = append(s.Reads[t], p...)
	if s.OnRead != nil {
		s.OnRead(t, p)
	}
}

// PollUntil polls until cond holds, failing the test after ten seconds.
func PollUntil(t *testing.T, p driver.Poller, s driver.Sink, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out polling")
		}
		if err := p.Poll(100*time.Millisecond, s); err != nil {
			t.Fatal(err)
		}
	}
}
