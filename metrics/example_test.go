package metrics_test

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/examples/echo"
	"github.com/seed487d475b/proactor/metrics"
)

// A server's counters in a Prometheus registry; serve it with
// promhttp.HandlerFor(reg, promhttp.HandlerOpts{}) as `proactor serve
// --metrics ADDR` does.
func Example() {
	srv, err := proactor.NewServer(echo.Handler{}, proactor.WithLoops(1))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewCollector(srv, metrics.WithConstLabels(prometheus.Labels{"server": "echo"})))

	families, err := reg.Gather()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range families {
		if f.GetName() == "proactor_loops" {
			fmt.Println(f.GetName(), f.GetMetric()[0].GetGauge().GetValue())
		}
	}
	// Output:
	// proactor_loops 1
}
