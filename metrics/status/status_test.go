package status_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/examples/echo"
	"github.com/seed487d475b/proactor/internal/servertest"
	"github.com/seed487d475b/proactor/metrics/status"
)

func get(t *testing.T, url string) (string, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s, %v", url, resp.Status, err)
	}
	return string(body), resp.Header
}

// TestSnapshot: stats.json carries the server's counters, one entry per
// loop, and the registry's histograms with per-bucket counts; the page and
// its assets are served and refer to nothing outside the binary.
func TestSnapshot(t *testing.T) {
	srv, addr := servertest.Start(t, echo.Handler{}, proactor.WithLoops(2))
	c := servertest.Echo(t, addr, "hello")
	defer c.Close()

	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lag_seconds", Help: "A test.", Buckets: []float64{0.001, 0.01}}, []string{"op"})
	for _, v := range []float64{0.0005, 0.005, 0.007, 3} {
		h.WithLabelValues("read").Observe(v)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(h, prometheus.NewCounter(prometheus.CounterOpts{Name: "not_a_histogram", Help: "A test."}))
	web := httptest.NewServer(status.Handler(srv, status.WithName("echo"), status.WithGatherer(reg)))
	defer web.Close()

	body, hdr := get(t, web.URL+"/stats.json")
	if ct := hdr.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var snap status.Snapshot
	if err := json.Unmarshal([]byte(body), &snap); err != nil {
		t.Fatalf("%v in %s", err, body)
	}
	if snap.Name != "echo" || snap.Engine != srv.Engine().Name() || snap.Stats.Active != 1 || snap.Stats.BytesRead != 5 || len(snap.Loops) != 2 {
		t.Errorf("snapshot %+v", snap)
	}
	if len(snap.Histograms) != 1 {
		t.Fatalf("histograms %+v, want lag_seconds alone", snap.Histograms)
	}
	hist := snap.Histograms[0]
	if hist.Name != `lag_seconds{op="read"}` || hist.Count != 4 || len(hist.Buckets) != 3 {
		t.Fatalf("histogram %+v", hist)
	}
	for i, want := range []uint64{1, 2, 1} { // ≤1ms, ≤10ms, +Inf
		if hist.Buckets[i].Count != want {
			t.Errorf("bucket %d: %d, want %d", i, hist.Buckets[i].Count, want)
		}
	}
	if le := hist.Buckets[2].LE; le != nil {
		t.Errorf("the last bucket's bound is %v, want null for +Inf", *le)
	}

	page, _ := get(t, web.URL+"/")
	if !strings.Contains(page, `<script src="status.js">`) {
		t.Fatalf("/ is not the page:\n%s", page)
	}
	// Nothing from a CDN: no absolute URL but the SVG namespace, which
	// is a name, not a fetch.
	url := regexp.MustCompile(`[a-z]+://[^"'\s)]*|url\(|@import`)
	for _, asset := range []string{"/", "/status.js", "/status.css"} {
		text, _ := get(t, web.URL+asset)
		for _, m := range url.FindAllString(text, -1) {
			if m != "http://www.w3.org/2000/svg" {
				t.Errorf("%s refers outside: %q", asset, m)
			}
		}
	}
}
