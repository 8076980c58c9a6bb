package proactor_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/internal/conformance"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestConformance runs the behaviour suite against every engine this
// machine has.
func TestConformance(t *testing.T) { runConformance(t, conformance.Backend{}) }

// TestConformanceTLS runs the same suite over TLS against every engine: the
// servers and Clients of the cases speak TLS, and so do their peers.
func TestConformanceTLS(t *testing.T) {
	cfg, err := conformance.NewTLS()
	if err != nil {
		t.Fatal(err)
	}
	runConformance(t, conformance.Backend{TLS: cfg})
}

// TestConformanceUnix runs the suite over unix stream sockets against
// every engine: the cases' servers listen on, and their clients dial,
// unix sockets. The cases that need TCP are skipped.
func TestConformanceUnix(t *testing.T) { runConformance(t, conformance.Backend{Unix: true}) }

// TestConformancePooled runs the suite against every engine with
// WithConnPool: the servers' Conns are reused from connection to
// connection, and every behaviour holds as without the pool.
func TestConformancePooled(t *testing.T) {
	runConformance(t, conformance.Backend{ServerOptions: []proactor.Option{proactor.WithConnPool(16)}})
}

// runConformance runs the suite against every engine, as b with the
// engine's name and option.
func runConformance(t *testing.T, b conformance.Backend) {
	engines := proactor.Engines()
	if len(engines) == 0 {
		t.Fatal("no engine available")
	}
	for _, name := range engines {
		t.Run(name, func(t *testing.T) {
			b := b
			b.Name, b.Options = name, []proactor.Option{proactor.WithEngineName(name)}
			conformance.Run(t, b)
		})
	}
}
