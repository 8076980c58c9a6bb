package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed487d475b/proactor/internal/loadgen"
)

// scenarioSize is the request size of the correct clients on each server.
var scenarioSize = map[string]int{"echo": 1024, "packet": 128, "line": 128}

// correctLoad is the checked load on one server: streams with messages in
// flight for the whole run, and on echo churn workers (connect, one
// message, close) as well. Every reply is checked byte for byte by
// loadgen.
type correctLoad struct {
	streams, churn *loadgen.Run
	conns          []net.Conn
	failed         atomic.Int64 // streams that ended with an error
	waits          []func()
}

// startCorrect opens the streams (before any fault starts, so a flood
// never refuses them) and starts them and the churn workers.
func startCorrect(ctx context.Context, srv *serverProc, streams, depth, churn int) (*correctLoad, error) {
	sc, err := loadgen.NewScenario(srv.name, scenarioSize[srv.name])
	if err != nil {
		return nil, err
	}
	l := &correctLoad{}
	if l.streams, err = loadgen.New(ctx, srv.addr, sc, depth); err != nil {
		return nil, err
	}
	l.streams.Measure()
	if l.conns, err = l.streams.DialAll(streams, nil); err != nil {
		return nil, fmt.Errorf("%s: open the streams: %w", srv.name, err)
	}
	// Each stream on its own: one that fails is counted, and the others
	// go on (loadgen's Start would stop them all).
	var wg sync.WaitGroup
	for i, c := range l.conns {
		wg.Go(func() {
			if err := l.streams.Stream(c, uint32(i)); err != nil {
				l.failed.Add(1)
				l.streams.Fail(err)
			}
		})
	}
	l.waits = append(l.waits, wg.Wait)
	if churn > 0 {
		if l.churn, err = loadgen.New(ctx, srv.addr, sc, 1); err != nil {
			return nil, err
		}
		l.churn.Measure()
		l.waits = append(l.waits, l.churn.Start(nil, churn))
	}
	return l, nil
}

// stop ends the load: the streams wait for every reply in flight, for at
// most grace; a reply still missing then is an error (lost bytes).
func (l *correctLoad) stop(grace time.Duration) {
	l.streams.Stop()
	if l.churn != nil {
		l.churn.Stop()
	}
	done := make(chan struct{})
	go func() {
		for _, w := range l.waits {
			w()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(grace):
		l.streams.Fail(fmt.Errorf("replies still missing %v after the load stopped", grace))
		for _, c := range l.conns {
			c.SetDeadline(time.Now()) // unblocks the streams' reads
		}
		<-done
	}
	loadgen.CloseAll(l.conns)
}

// loadResult is what the correct clients saw.
type loadResult struct {
	replies int64 // replies checked (each churn cycle checks one)
	errors  int64 // failed streams and churn cycles
	err     error // the first error
}

func (l *correctLoad) result() loadResult {
	r := loadResult{replies: l.streams.Done()}
	var errs []error
	r.errors = l.failed.Load()
	if err := l.streams.Err(); err != nil {
		r.errors = max(r.errors, 1) // also a stop that timed out
		errs = append(errs, err)
	}
	if l.churn != nil {
		r.replies += l.churn.Done()
		r.errors += l.churn.Failed()
		if err := l.churn.Err(); err != nil {
			errs = append(errs, fmt.Errorf("churn: %w", err))
		}
	}
	if len(errs) > 0 {
		r.err = errors.Join(errs...)
	}
	return r
}
