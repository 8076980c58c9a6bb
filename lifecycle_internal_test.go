package proactor

import (
	"strings"
	"testing"
)

// TestLifeTable drives the lifecycle's transitions without a socket: each
// case is a sequence of events from a new connection, and what the state
// machine is asked to do at each drain.
func TestLifeTable(t *testing.T) {
	type ev = string // close, closewrite, shutread, fin, drained, drained-err, drained-owed
	cases := []struct {
		name   string
		events []ev
		steps  string // the steps of the drained events, in order
		rx     inState
		tx     outState
	}{
		{"open, drained: nothing", []ev{"drained"}, "none", inOpen, outOpen},
		{"peer FIN only", []ev{"fin", "drained"}, "none", inEnded, outOpen},
		{"CloseWrite: FIN, half-closed", []ev{"closewrite", "drained"}, "fin", inOpen, outShut},
		{"CloseWrite after the peer's FIN: FIN and end", []ev{"fin", "closewrite", "drained"}, "fin+end", inEnded, outShut},
		{"CloseWrite, FIN owed to TLS: FIN, no end yet", []ev{"fin", "closewrite", "drained-owed"}, "fin", inEnded, outShut},
		{"half-closed, then the peer's FIN acted on: end", []ev{"closewrite", "drained", "fin", "drained"}, "fin end", inEnded, outShut},
		{"Close: FIN, then linger", []ev{"close", "drained"}, "fin+linger", inDraining, outLinger},
		{"lingering, drained again: still linger", []ev{"close", "drained", "drained"}, "fin+linger linger", inDraining, outLinger},
		{"lingering, the peer's FIN: end", []ev{"close", "drained", "fin", "drained"}, "fin+linger end", inEnded, outLinger},
		{"Close after the peer's FIN: end without FIN", []ev{"fin", "close", "drained"}, "end", inEnded, outClosing},
		{"Close with a reason: end without FIN", []ev{"close", "drained-err"}, "end", inDraining, outClosing},
		{"Close after CloseWrite's FIN: linger, no second FIN", []ev{"closewrite", "drained", "close", "drained"}, "fin linger", inDraining, outLinger},
		{"Close while the FIN is owed: Close wins", []ev{"closewrite", "close", "drained"}, "fin+linger", inDraining, outLinger},
		{"CloseWrite after Close changes nothing", []ev{"close", "closewrite", "drained"}, "fin+linger", inDraining, outLinger},
		{"CloseRead: input shut, output open", []ev{"shutread", "drained"}, "none", inShut, outOpen},
		{"CloseRead then Close: draining", []ev{"shutread", "close"}, "", inDraining, outClosing},
		{"CloseRead after the peer's FIN stays ended", []ev{"fin", "shutread"}, "", inEnded, outOpen},
		{"Close after the peer's FIN stays ended", []ev{"fin", "close"}, "", inEnded, outClosing},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var s life
			var steps []string
			for _, e := range tc.events {
				switch e {
				case "close":
					s.onClose()
				case "closewrite":
					s.onCloseWrite()
				case "shutread":
					s.onShutRead()
				case "fin":
					s.onPeerFIN()
				case "drained":
					steps = append(steps, s.onDrained(false, true).String())
				case "drained-err":
					steps = append(steps, s.onDrained(true, true).String())
				case "drained-owed":
					steps = append(steps, s.onDrained(false, false).String())
				default:
					t.Fatalf("unknown event %q", e)
				}
			}
			if got := strings.Join(steps, " "); got != tc.steps {
				t.Errorf("steps %q, want %q", got, tc.steps)
			}
			if s.rx != tc.rx || s.tx != tc.tx {
				t.Errorf("ended in %v/%v, want %v/%v", s.rx, s.tx, tc.rx, tc.tx)
			}
		})
	}
}

// TestLifePredicates: what the rest of the state machine asks of the
// lifecycle, in every pair of states.
func TestLifePredicates(t *testing.T) {
	for tx := outOpen; tx <= outLinger; tx++ {
		for rx := inOpen; rx <= inEnded; rx++ {
			s := life{rx: rx, tx: tx}
			if got, want := s.closing(), tx == outClosing || tx == outLinger; got != want {
				t.Errorf("%v/%v closing %v, want %v", rx, tx, got, want)
			}
			if got, want := s.finSent(), tx == outShut || tx == outLinger; got != want {
				t.Errorf("%v/%v finSent %v, want %v", rx, tx, got, want)
			}
			if got, want := s.ended(), rx == inEnded; got != want {
				t.Errorf("%v/%v ended %v, want %v", rx, tx, got, want)
			}
		}
	}
}
