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
