package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/seed487d475b/proactor/internal/loadgen"
)

type loadKind int

const (
	streamLoad loadKind = iota // connections × size × messages in flight, for a fixed time
	churnLoad                  // workers each looping: connect, one message, close
	idleLoad                   // connections opened, one round trip each, then held
)

// loadSpec is one load. For churn, conns is the number of concurrent
// workers; for idle, the number of connections held.
type loadSpec struct {
	kind     loadKind
	conns    int
	size     int
	inflight int
}

func (l loadSpec) name() string {
	switch l.kind {
	case churnLoad:
		return fmt.Sprintf("churn %d×%s", l.conns, sizeName(l.size))
	case idleLoad:
		return fmt.Sprintf("idle %d", l.conns)
	}
	return fmt.Sprintf("%d×%s×%d", l.conns, sizeName(l.size), l.inflight)
}

// unit is what one operation of the load is.
func (l loadSpec) unit() string {
	if l.kind == streamLoad {
		return "msg"
	}
	return "conn"
}

func sizeName(n int) string {
	if n >= 1024 && n%1024 == 0 {
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

// matchLoad reports whether a --loads entry names l; "x" may stand for "×".
func matchLoad(l loadSpec, want string) bool {
	return strings.EqualFold(strings.ReplaceAll(want, "x", "×"), l.name()) ||
		strings.EqualFold(want, l.name()) ||
		strings.EqualFold(want, strings.Fields(l.name())[0]) // "churn", "idle"
}

var (
	fullLoads = []loadSpec{
		{streamLoad, 100, 64, 1},
		{streamLoad, 1000, 64, 1},
		{streamLoad, 100, 64, 16},
		{streamLoad, 10, 16 << 10, 4},
		{streamLoad, 10000, 64, 1}, // issue 14's p99.9 target is at 10,000 connections
		{churnLoad, 16, 64, 1},
		{idleLoad, 10000, 64, 1},
	}
	quickLoads = []loadSpec{
		{streamLoad, 20, 64, 1},
		{streamLoad, 100, 64, 1},
		{streamLoad, 20, 64, 16},
		{streamLoad, 4, 16 << 10, 4},
		{streamLoad, 1000, 64, 1},
		{churnLoad, 8, 64, 1},
		{idleLoad, 500, 64, 1},
	}
)

// newLoadRun prepares spec against addr: echo messages, each carrying its
// connection and sequence number, every echoed byte checked (loadgen),
// over TLS with withTLS.
func newLoadRun(spec loadSpec, addr string, withTLS bool) (*loadgen.Run, error) {
	sc, err := loadgen.NewScenario("echo", spec.size)
	if err != nil {
		return nil, err
	}
	r, err := loadgen.New(context.Background(), addr, sc, spec.inflight)
	if err == nil && withTLS {
		r.UseTLS(clientTLS())
	}
	return r, err
}
