package metrics_test

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/seed487d475b/proactor/examples/echo"
	"github.com/seed487d475b/proactor/internal/servertest"
	"github.com/seed487d475b/proactor/metrics"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// denyAll refuses every connection in OnAccept.
type denyAll struct{ echo.Handler }

func (denyAll) OnAccept(netip.AddrPort) bool { return false }

// TestCollect: the scrape shows what a connection did, each figure under
// its name and labels. (Not the bytes written: they are counted once the
// write returns, which may be after the client has the echo.)
func TestCollect(t *testing.T) {
	srv, addr := servertest.Start(t, echo.Handler{})
	servertest.Echo(t, addr, "hello")
	srv.Pause()

	col := metrics.NewCollector(srv, metrics.WithConstLabels(prometheus.Labels{"server": "echo"}))
	want := fmt.Sprintf(`
# HELP proactor_connections_accepted_total Connections opened: accepted, or dialed by a Client.
# TYPE proactor_connections_accepted_total counter
proactor_connections_accepted_total{server="echo"} 1
# HELP proactor_connections_active Connections open now.
# TYPE proactor_connections_active gauge
proactor_connections_active{server="echo"} 1
# HELP proactor_read_bytes_total Bytes read.
# TYPE proactor_read_bytes_total counter
proactor_read_bytes_total{server="echo"} 5
# HELP proactor_accepting_paused 1 while accepting is paused (Server.Pause), else 0.
# TYPE proactor_accepting_paused gauge
proactor_accepting_paused{server="echo"} 1
# HELP proactor_loops The engine's event loops.
# TYPE proactor_loops gauge
proactor_loops{engine=%q,server="echo"} 1
`, srv.Engine().Name())
	if err := testutil.CollectAndCompare(col, strings.NewReader(want),
		"proactor_connections_accepted_total", "proactor_connections_active", "proactor_read_bytes_total",
		"proactor_accepting_paused", "proactor_loops"); err != nil {
		t.Fatal(err)
	}
	// 49 metrics: 28 single ones, 4 rejection reasons, 7 timeout kinds
	// and 7 TLS failure reasons under three names, and 3 histograms
	// (each one metric of _bucket, _sum and _count series).
	if n := testutil.CollectAndCount(col); n != 49 {
		t.Fatalf("%d metrics, want 49", n)
	}
	// The pool's figures are the engine's.
	b := srv.Engine().Buffers().Get(100)
	b.Release()
	b = srv.Engine().Buffers().Get(100)
	b.Release()
	ps := srv.Engine().Buffers().Stats()
	want = fmt.Sprintf(`
# HELP proactor_buffer_hits_total Buffers the engine's pool served from its free lists, without allocating.
# TYPE proactor_buffer_hits_total counter
proactor_buffer_hits_total{server="echo"} %d
`, ps.Hits)
	if ps.Hits == 0 {
		t.Fatal("a released buffer was not reused")
	}
	if err := testutil.CollectAndCompare(col, strings.NewReader(want), "proactor_buffer_hits_total"); err != nil {
		t.Fatal(err)
	}
	problems, err := testutil.CollectAndLint(col)
	if err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %+v", err, problems)
	}
}

// TestRejectedByReason: a refusal shows under its reason, the others at 0;
// the namespace option renames every metric.
func TestRejectedByReason(t *testing.T) {
	srv, addr := servertest.Start(t, denyAll{})
	// The refusal is counted before the reset goes out, which the client
	// sees at the dial already or at its first read.
	if c, err := net.Dial("tcp", addr); err == nil {
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Fatal("a refused connection read data")
		}
	}
	col := metrics.NewCollector(srv, metrics.WithNamespace("edge"))
	want := `
# HELP edge_connections_rejected_total Connections refused, by reason.
# TYPE edge_connections_rejected_total counter
edge_connections_rejected_total{reason="denied"} 0
edge_connections_rejected_total{reason="filter"} 1
edge_connections_rejected_total{reason="max_conns"} 0
edge_connections_rejected_total{reason="per_ip"} 0
`
	if err := testutil.CollectAndCompare(col, strings.NewReader(want), "edge_connections_rejected_total"); err != nil {
		t.Fatal(err)
	}
}

// TestRegistry: the collector registers, and a constant label that clashes
// with a variable one is an error at registration, not a panic at scrape.
func TestRegistry(t *testing.T) {
	srv, _ := servertest.Start(t, echo.Handler{})
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(metrics.NewCollector(srv)); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
	bad := metrics.NewCollector(srv, metrics.WithConstLabels(prometheus.Labels{"reason": "x"}))
	if err := prometheus.NewRegistry().Register(bad); err == nil {
		t.Fatal("a clashing label registered")
	}
}
