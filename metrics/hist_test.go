package metrics_test

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/examples/echo"
	"github.com/seed487d475b/proactor/internal/buildinfo"
	"github.com/seed487d475b/proactor/internal/servertest"
	"github.com/seed487d475b/proactor/metrics"
)

// scrape serves col as Prometheus' text format and returns each sample's
// value by its name and labels as written, e.g.
// `proactor_loop_lag_seconds_bucket{le="+Inf"}`.
func scrape(t *testing.T, col prometheus.Collector) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(col)
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape: %d %s", rec.Code, rec.Body)
	}
	samples := map[string]float64{}
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("sample %q: %v", line, err)
		}
		samples[line[:i]] = v
	}
	return samples
}

// TestHistograms: on every engine, the three histograms come out as
// _bucket, _sum and _count series with cumulative buckets; 64 echoes make
// one sampled OnData call, a closed connection one lifetime.
func TestHistograms(t *testing.T) {
	for _, engine := range proactor.Engines() {
		t.Run(engine, func(t *testing.T) {
			srv, addr := servertest.Start(t, echo.Handler{}, proactor.WithEngineName(engine))
			for i := range 64 {
				c := servertest.Echo(t, addr, fmt.Sprint(i)) // each read one OnData
				if i == 0 {
					c.Close()
				}
			}
			// The first connection's lifetime is counted as it closes; no
			// event says when that is, so the counters are asked.
			for deadline := time.Now().Add(10 * time.Second); srv.Stats().Closed == 0; time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the closed connection was never counted")
				}
			}
			s := scrape(t, metrics.NewCollector(srv))
			for name, count := range map[string]float64{
				"proactor_connection_lifetime_seconds": 1,
				"proactor_loop_lag_seconds":            1,
				"proactor_callback_duration_seconds":   1,
			} {
				if got := s[name+"_count"]; got != count {
					t.Errorf("%s_count = %v; want %v", name, got, count)
				}
				if got := s[name+`_bucket{le="+Inf"}`]; got != count {
					t.Errorf("%s +Inf bucket = %v; want %v", name, got, count)
				}
				if sum, ok := s[name+"_sum"]; !ok || sum < 0 {
					t.Errorf("%s_sum = %v, %v", name, sum, ok)
				}
				n := 0
				for k, v := range s {
					if strings.HasPrefix(k, name+"_bucket{") {
						n++
						if v > count {
							t.Errorf("%s = %v, above the count", k, v)
						}
					}
				}
				if n < 10 {
					t.Errorf("%s: %d buckets", name, n)
				}
			}
			// Cumulative: the 1s bucket of the loop lag holds all the 1ms one does.
			if s[`proactor_loop_lag_seconds_bucket{le="1"}`] < s[`proactor_loop_lag_seconds_bucket{le="0.001"}`] {
				t.Error("buckets not cumulative")
			}
		})
	}
}

// TestBuildInfo: one series, 1, labelled with what internal/buildinfo reads.
func TestBuildInfo(t *testing.T) {
	srv, _ := servertest.Start(t, echo.Handler{})
	bi := buildinfo.Read()
	s := scrape(t, metrics.NewCollector(srv))
	key := fmt.Sprintf(`proactor_build_info{goversion=%q,revision=%q,version=%q}`, bi.GoVersion, bi.Revision, bi.Version)
	if v, ok := s[key]; !ok || v != 1 {
		t.Fatalf("%s = %v, %v; scrape: %v", key, v, ok, s)
	}
}

// TestNamePairs: every metric name speaks of reading and writing, never of
// receiving and sending or of in and out, so that pairs line up on a
// dashboard.
func TestNamePairs(t *testing.T) {
	srv, _ := servertest.Start(t, echo.Handler{})
	ch := make(chan *prometheus.Desc, 100)
	metrics.NewCollector(srv).Describe(ch)
	close(ch)
	n := 0
	for d := range ch {
		n++
		name, _, _ := strings.Cut(strings.TrimPrefix(d.String(), `Desc{fqName: "`), `"`)
		for _, w := range []string{"receive", "recv", "sent", "send", "_in_", "_out_", "_rx", "_tx", "bytes_in", "bytes_out"} {
			if strings.Contains(name, w) {
				t.Errorf("%s: %q is not the read/written vocabulary", name, w)
			}
		}
	}
	if n < 20 {
		t.Fatalf("only %d descriptors", n)
	}
}
