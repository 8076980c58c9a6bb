// Package proxy is a TCP relay built on one proactor Engine: a Server
// accepts clients (on as many listeners as you like) and, for each, a Client
// on the same engine dials the backend; the two connections are then joined.
// No goroutine per connection, and the loops that accept also connect out.
//
// It shows the pieces working together: PauseRead until the backend answers,
// writes across connections (goroutine-safe), backpressure from one side to
// the other (Writable and OnWritable), and half-close passed through.
package proxy

import (
	"context"

	"github.com/seed487d475b/proactor"
)

// peer links each side of a relayed pair to the other.
var peer = proactor.NewKey[*proactor.Conn]("proxy peer")

// relay moves bytes from a connection to its peer; both sides use it.
type relay struct{ proactor.BaseHandler }

// OnData forwards; when the peer's queue passes its high watermark this side
// stops reading until the peer drains (OnWritable below).
func (relay) OnData(c *proactor.Conn, p []byte) {
	other, ok := peer.Get(c)
	if !ok {
		return
	}
	if _, err := other.Write(p); err != nil {
		// The other side is closing or overflowed: what it cannot take
		// would be a hole in the relayed stream, so both sides end.
		c.Abort()
		other.Abort()
		return
	}
	if !other.Writable() {
		c.PauseRead()
	}
}

// OnWritable resumes the side that feeds this one.
func (relay) OnWritable(c *proactor.Conn) {
	if other, ok := peer.Get(c); ok {
		other.ResumeRead()
	}
}

// OnPeerClosed passes the FIN through: a half-close stays a half-close.
func (relay) OnPeerClosed(c *proactor.Conn) {
	if other, ok := peer.Get(c); ok {
		other.CloseWrite()
	} else {
		c.Close()
	}
}

// OnClose ends the pair: after a clean end gracefully, else at once.
func (relay) OnClose(c *proactor.Conn, err error) {
	other, ok := peer.Get(c)
	if !ok {
		return
	}
	if err != nil {
		other.Abort()
	} else {
		other.Close()
	}
}

// Proxy is the front side's handler.
type Proxy struct {
	relay
	client  *proactor.Client
	backend string
}

// Options are the options the front Server needs: the relay pauses the
// other side itself, so the automatic read pause is off.
func Options() []proactor.Option { return []proactor.Option{proactor.WithReadPause(false)} }

// New returns a proxy to backend whose outgoing connections run on eng.
func New(eng *proactor.Engine, backend string) (*Proxy, error) {
	cl, err := proactor.NewClient(relay{}, proactor.WithEngine(eng), proactor.WithReadPause(false))
	if err != nil {
		return nil, err
	}
	return &Proxy{client: cl, backend: backend}, nil
}

// OnOpen holds the client's bytes until the backend is connected. Dial
// waits for a loop, so it runs in a goroutine, never in a callback.
func (p *Proxy) OnOpen(front *proactor.Conn) {
	front.PauseRead()
	go func() {
		back, err := p.client.Dial(context.Background(), "tcp", p.backend)
		if err != nil {
			front.Abort()
			return
		}
		peer.Set(back, front)
		peer.Set(front, back)
		front.ResumeRead()
	}()
}

// Close closes the proxy's outgoing side; close the Server first.
func (p *Proxy) Close() error { return p.client.Close() }
