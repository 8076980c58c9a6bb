// Package status serves a live status page of a proactor server: at "/" an
// HTML page that reads "/stats.json" every second and shows the open
// connections, the accepted, refused and closed ones by reason, the bytes
// per second each way, each event loop's share, the bytes queued for
// writing, and the latency histograms of a Prometheus registry if it has
// any. The page and its script are embedded in the binary: it loads nothing
// from elsewhere, so it works on a machine without Internet access.
//
//	mux.Handle("/", status.Handler(srv, status.WithName("echo"), status.WithGatherer(reg)))
//
// `proactor serve --metrics ADDR` serves it beside /metrics.
package status

import (
	"embed"
	"encoding/json"
	"io/fs"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/seed487d475b/proactor"
)

//go:embed page
var page embed.FS

// Option configures a Handler.
type Option func(*config)

type config struct {
	name     string
	gatherer prometheus.Gatherer
}

// WithName sets the server's name shown on the page. Default: "proactor".
func WithName(name string) Option { return func(c *config) { c.name = name } }

// WithGatherer shows the histograms g gathers (their families of type
// histogram; the rest are on /metrics already). Default: none.
func WithGatherer(g prometheus.Gatherer) Option { return func(c *config) { c.gatherer = g } }

// Snapshot is the body of /stats.json: one reading of the server's
// counters. The page computes rates from two consecutive readings.
type Snapshot struct {
	Name       string               `json:"name"`
	Engine     string               `json:"engine"`
	Time       time.Time            `json:"time"`
	Paused     bool                 `json:"paused"`
	Stats      proactor.Stats       `json:"stats"`
	Loops      []proactor.LoopStats `json:"loops"`
	Histograms []Histogram          `json:"histograms,omitempty"`
}

// Histogram is one histogram of the registry, labels included in its name,
// with per-bucket (not cumulative) counts.
type Histogram struct {
	Name    string   `json:"name"`
	Help    string   `json:"help"`
	Count   uint64   `json:"count"`
	Sum     float64  `json:"sum"`
	Buckets []Bucket `json:"buckets"`
}

// Bucket counts the observations above the previous bucket's bound and at
// most LE; the last bucket's LE is +Inf, written as null in JSON.
type Bucket struct {
	LE    *float64 `json:"le"`
	Count uint64   `json:"count"`
}

// Handler returns the status page of srv: "/" (and "/index.html") the page,
// "/status.js" its script, "/stats.json" a Snapshot. A reading costs a
// Stats and a LoopStats, which walk no connection. Safe for concurrent use.
func Handler(srv *proactor.Server, opts ...Option) http.Handler {
	cfg := config{name: "proactor"}
	for _, o := range opts {
		o(&cfg)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stats.json", func(w http.ResponseWriter, r *http.Request) {
		snap := Snapshot{
			Name:   cfg.name,
			Engine: srv.Engine().Name(),
			Time:   time.Now(),
			Paused: srv.Paused(),
			Stats:  srv.Stats(),
			Loops:  srv.LoopStats(),
		}
		if cfg.gatherer != nil {
			families, err := cfg.gatherer.Gather()
			if err != nil && len(families) == 0 {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			snap.Histograms = histograms(families)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(snap)
	})
	files := http.FileServerFS(pageFS())
	mux.Handle("GET /", files)
	return mux
}

// histograms converts the histogram families to per-bucket counts.
func histograms(families []*dto.MetricFamily) []Histogram {
	var out []Histogram
	for _, f := range families {
		if f.GetType() != dto.MetricType_HISTOGRAM {
			continue
		}
		for _, m := range f.GetMetric() {
			h := m.GetHistogram()
			hist := Histogram{Name: f.GetName() + labels(m.GetLabel()), Help: f.GetHelp(),
				Count: h.GetSampleCount(), Sum: h.GetSampleSum()}
			var below uint64
			for _, b := range h.GetBucket() {
				le := b.GetUpperBound()
				hist.Buckets = append(hist.Buckets, Bucket{LE: &le, Count: b.GetCumulativeCount() - below})
				below = b.GetCumulativeCount()
			}
			// The +Inf bucket is implicit in Prometheus' data model.
			if n := len(hist.Buckets); n == 0 || !math.IsInf(*hist.Buckets[n-1].LE, 1) {
				hist.Buckets = append(hist.Buckets, Bucket{Count: hist.Count - below})
			} else {
				hist.Buckets[n-1].LE = nil // JSON has no +Inf
			}
			out = append(out, hist)
		}
	}
	return out
}

// labels writes a metric's labels as Prometheus does: {a="x",b="y"}.
func labels(ls []*dto.LabelPair) string {
	if len(ls) == 0 {
		return ""
	}
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = l.GetName() + `="` + l.GetValue() + `"`
	}
	slices.Sort(parts)
	return "{" + strings.Join(parts, ",") + "}"
}

// pageFS is the embedded page with "page/" taken off its paths.
func pageFS() fs.FS {
	sub, err := fs.Sub(page, "page")
	if err != nil {
		panic(err) // "page" is a valid path, so Sub cannot fail
	}
	return sub
}
