package proactor

import (
	"bufio"
	"testing"
	"time"
)

// A loop spins only within WithBusyPoll's time after its last completion:
// never when the option is off, never when idle.
func TestBusyPollSpinWindow(t *testing.T) {
	l := &loop{now: int64(10 * time.Second)}
	if l.spin() {
		t.Fatal("spins with busy polling off")
	}
	l.busyPoll = int64(50 * time.Microsecond)
	if l.spin() {
		t.Fatal("spins with no completion ever delivered")
	}
	l.lastActive = l.now - int64(10*time.Microsecond)
	if !l.spin() {
		t.Fatal("does not spin 10µs after a completion")
	}
	l.lastActive = l.now - int64(50*time.Microsecond)
	if l.spin() {
		t.Fatal("spins once the window has passed")
	}
}

// An echo server with busy polling on answers, and its loop goes back to
// sleep (the sleeping flag set) once traffic stops.
func TestBusyPollEcho(t *testing.T) {
	e, err := NewEngine(WithLoops(1), WithBusyPoll(200*time.Microsecond))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	srv, err := NewServer(busyEcho{}, WithEngine(e))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	addr, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := dialN(t, addr.String(), 1)[0]
	r := bufio.NewReader(c)
	for range 100 {
		if _, err := c.Write([]byte("ping\n")); err != nil {
			t.Fatal(err)
		}
		if line, err := r.ReadString('\n'); err != nil || line != "ping\n" {
			t.Fatalf("read %q, %v", line, err)
		}
	}
	l := e.loops[0]
	deadline := time.Now().Add(10 * time.Second)
	for !l.sleeping.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the loop still spins 10s after the last request")
		}
		time.Sleep(time.Millisecond)
	}
}

type busyEcho struct{ BaseHandler }

func (busyEcho) OnData(c *Conn, p []byte) { c.Write(p) }
