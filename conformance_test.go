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
func TestConformance(t *testing.T) {
	engines := proactor.Engines()
	if len(engines) == 0 {
		t.Fatal("no engine available")
	}
	for _, name := range engines {
		t.Run(name, func(t *testing.T) {
			conformance.Run(t, conformance.Backend{
				Name:    name,
				Options: []proactor.Option{proactor.WithEngineName(name)},
			})
		})
	}
}

// TestConformanceTLS runs the same suite over TLS against every engine: the
// servers and Clients of the cases speak TLS, and so do their peers.
func TestConformanceTLS(t *testing.T) {
	cfg, err := conformance.NewTLS()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range proactor.Engines() {
		t.Run(name, func(t *testing.T) {
			conformance.Run(t, conformance.Backend{
				Name:    name,
				Options: []proactor.Option{proactor.WithEngineName(name)},
				TLS:     cfg,
			})
		})
	}
}
