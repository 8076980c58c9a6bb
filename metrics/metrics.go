// Package metrics exports a proactor server's counters to Prometheus: a
// Collector that reads Server.Stats at each scrape, so the message path pays
// nothing for it (the counters are the per-loop atomics Stats sums anyway).
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(metrics.NewCollector(srv))
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// The metrics, under the namespace "proactor" unless WithNamespace says
// otherwise:
//
//	connections_accepted_total            opened (accepted, or dialed by a Client)
//	connections_rejected_total{reason}    refused: filter, denied, max_conns, per_ip
//	accept_errors_total                   failed accept calls (EMFILE, ...)
//	timeouts_total{kind}                  closed by a timeout: first_data, idle, read, write, connect
//	connections_active                    open now
//	connections_closed_total              closed (OnClose called)
//	connections_closed_error_total        of those, closed with a non-nil reason
//	panics_total, frame_errors_total, read_pauses_total, write_overflows_total
//	reads_total, read_bytes_total, writes_total, written_bytes_total
//	write_queue_bytes                     queued for writing, not yet sent
//	worker_jobs_queued, worker_jobs_running   the jobs of the workers pool given by
//	worker_jobs_completed_total               proactor.WithWorkerPool (0 without one)
//	worker_jobs_rejected_total
//	accepting_paused                      1 while Server.Pause is in effect
//	loops{engine}                         the engine's event loops
//	buffer_gets_total, buffer_hits_total  the engine's buffer pool: buffers asked for, and
//	                                      those served from its free lists (no allocation)
//	buffer_retained_bytes                 bytes the pool keeps in free buffers
//	connection_lifetime_seconds           histogram: how long closed connections were open
//	loop_lag_seconds                      histogram: from the poller's wait to OnData (sampled)
//	callback_duration_seconds             histogram: how long OnData ran (sampled)
//	build_info{version,revision,goversion}  1; proactor's module version, the binary's
//	                                      version control revision, the Go toolchain
//
// The sampled histograms time one OnData call in 64 on each loop, so their
// _count is a 64th of the calls (Server.Histograms). Names pair read with
// written, never received with sent.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/internal/buildinfo"
)

// Option configures a Collector.
type Option func(*config)

type config struct {
	namespace string
	labels    prometheus.Labels
}

// WithNamespace sets the metric names' prefix. Default: "proactor".
func WithNamespace(ns string) Option { return func(c *config) { c.namespace = ns } }

// WithConstLabels adds labels to every metric, to tell several servers in
// one process apart (say {"server": "echo"}). Default: none.
func WithConstLabels(l prometheus.Labels) Option { return func(c *config) { c.labels = l } }

// metric is one exported figure: how to read it from a snapshot.
type metric struct {
	desc  *prometheus.Desc
	typ   prometheus.ValueType
	value func(st *proactor.Stats) float64
	label string // the variable label's value, when desc has one
}

// Collector is a prometheus.Collector of one server. Safe for concurrent
// use, as Prometheus requires.
type Collector struct {
	srv     *proactor.Server
	metrics []metric
	paused  *prometheus.Desc
	loops   *prometheus.Desc
	pool    [3]*prometheus.Desc // gets, hits, retained bytes
	hists   [3]*prometheus.Desc // lifetime, loop lag, callback duration
	build   prometheus.Metric   // build_info: constant for the process
}

// NewCollector returns a Collector of srv's counters.
func NewCollector(srv *proactor.Server, opts ...Option) *Collector {
	cfg := config{namespace: "proactor"}
	for _, o := range opts {
		o(&cfg)
	}
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(cfg.namespace, "", name), help, labels, cfg.labels)
	}
	c := &Collector{
		srv:    srv,
		paused: desc("accepting_paused", "1 while accepting is paused (Server.Pause), else 0."),
		loops:  desc("loops", "The engine's event loops.", "engine"),
		pool: [3]*prometheus.Desc{
			desc("buffer_gets_total", "Buffers asked of the engine's pool."),
			desc("buffer_hits_total", "Buffers the engine's pool served from its free lists, without allocating."),
			desc("buffer_retained_bytes", "Bytes the engine's pool keeps in free buffers."),
		},
		hists: [3]*prometheus.Desc{
			desc("connection_lifetime_seconds", "How long connections were open, from accept (a Client's: from OnOpen) to close."),
			desc("loop_lag_seconds", "How long input waited on its loop, from the end of the poller's wait to OnData; one OnData call in 64 sampled."),
			desc("callback_duration_seconds", "How long OnData calls ran; one call in 64 sampled."),
		},
	}
	bi := buildinfo.Read()
	c.build = constMetric(desc("build_info", "Always 1; the labels say what the binary was built from.", "version", "revision", "goversion"),
		prometheus.GaugeValue, 1, bi.Version, bi.Revision, bi.GoVersion)
	counter := func(d *prometheus.Desc, label string, v func(*proactor.Stats) uint64) {
		c.metrics = append(c.metrics, metric{desc: d, typ: prometheus.CounterValue, label: label,
			value: func(st *proactor.Stats) float64 { return float64(v(st)) }})
	}
	gauge := func(d *prometheus.Desc, v func(*proactor.Stats) float64) {
		c.metrics = append(c.metrics, metric{desc: d, typ: prometheus.GaugeValue, value: v})
	}
	counter(desc("connections_accepted_total", "Connections opened: accepted, or dialed by a Client."), "",
		func(st *proactor.Stats) uint64 { return st.Accepted })
	rejected := desc("connections_rejected_total", "Connections refused, by reason.", "reason")
	counter(rejected, "filter", func(st *proactor.Stats) uint64 { return st.RejectedFilter })
	counter(rejected, "denied", func(st *proactor.Stats) uint64 { return st.RejectedDenied })
	counter(rejected, "max_conns", func(st *proactor.Stats) uint64 { return st.RejectedMaxConns })
	counter(rejected, "per_ip", func(st *proactor.Stats) uint64 { return st.RejectedPerIP })
	counter(desc("accept_errors_total", "Failed accept calls (EMFILE, ENFILE, ...)."), "",
		func(st *proactor.Stats) uint64 { return st.AcceptErrors })
	timeouts := desc("timeouts_total", "Connections closed by a timeout, and dials that timed out, by kind.", "kind")
	counter(timeouts, "first_data", func(st *proactor.Stats) uint64 { return st.FirstDataTimeouts })
	counter(timeouts, "idle", func(st *proactor.Stats) uint64 { return st.IdleTimeouts })
	counter(timeouts, "read", func(st *proactor.Stats) uint64 { return st.ReadTimeouts })
	counter(timeouts, "write", func(st *proactor.Stats) uint64 { return st.WriteTimeouts })
	counter(timeouts, "connect", func(st *proactor.Stats) uint64 { return st.ConnectTimeouts })
	counter(timeouts, "tls_handshake", func(st *proactor.Stats) uint64 { return st.TLSHandshakeTimeouts })
	counter(timeouts, "proxy_header", func(st *proactor.Stats) uint64 { return st.ProxyHeaderTimeouts })
	counter(desc("proxy_headers_total", "PROXY protocol headers read."), "",
		func(st *proactor.Stats) uint64 { return st.ProxyHeaders })
	counter(desc("proxy_header_errors_total", "Connections closed for a malformed PROXY protocol header, or ended before one."), "",
		func(st *proactor.Stats) uint64 { return st.ProxyHeaderErrors })
	counter(desc("tls_handshakes_total", "TLS handshakes completed."), "",
		func(st *proactor.Stats) uint64 { return st.TLSHandshakes })
	tlsFailed := desc("tls_handshake_failures_total", "TLS handshakes failed, by reason.", "reason")
	counter(tlsFailed, "not_tls", func(st *proactor.Stats) uint64 { return st.TLSFailures.NotTLS })
	counter(tlsFailed, "certificate", func(st *proactor.Stats) uint64 { return st.TLSFailures.Certificate })
	counter(tlsFailed, "alert", func(st *proactor.Stats) uint64 { return st.TLSFailures.Alert })
	counter(tlsFailed, "eof", func(st *proactor.Stats) uint64 { return st.TLSFailures.EOF })
	counter(tlsFailed, "timeout", func(st *proactor.Stats) uint64 { return st.TLSFailures.Timeout })
	counter(tlsFailed, "busy", func(st *proactor.Stats) uint64 { return st.TLSFailures.Busy })
	counter(tlsFailed, "other", func(st *proactor.Stats) uint64 { return st.TLSFailures.Other })
	counter(desc("tls_record_errors_total", "Established TLS connections closed for a bad record."), "",
		func(st *proactor.Stats) uint64 { return st.TLSRecordErrors })
	gauge(desc("connections_active", "Connections open now."),
		func(st *proactor.Stats) float64 { return float64(st.Active) })
	counter(desc("connections_closed_total", "Connections closed (OnClose called)."), "",
		func(st *proactor.Stats) uint64 { return st.Closed })
	counter(desc("connections_closed_error_total", "Connections closed with a non-nil reason."), "",
		func(st *proactor.Stats) uint64 { return st.ClosedByErr })
	counter(desc("panics_total", "Panics recovered in callbacks."), "",
		func(st *proactor.Stats) uint64 { return st.Panics })
	counter(desc("frame_errors_total", "Connections closed for an oversize or malformed frame."), "",
		func(st *proactor.Stats) uint64 { return st.FrameErrors })
	counter(desc("read_pauses_total", "Times a connection stopped reading for backpressure."), "",
		func(st *proactor.Stats) uint64 { return st.ReadPauses })
	counter(desc("write_overflows_total", "Connections aborted because a write would pass the write queue's cap."), "",
		func(st *proactor.Stats) uint64 { return st.Overflows })
	counter(desc("reads_total", "Reads completed with data."), "",
		func(st *proactor.Stats) uint64 { return st.Reads })
	counter(desc("read_bytes_total", "Bytes read."), "",
		func(st *proactor.Stats) uint64 { return st.BytesRead })
	counter(desc("writes_total", "Write operations submitted."), "",
		func(st *proactor.Stats) uint64 { return st.Writes })
	counter(desc("written_bytes_total", "Bytes written."), "",
		func(st *proactor.Stats) uint64 { return st.BytesWritten })
	gauge(desc("write_queue_bytes", "Bytes queued for writing, not yet sent."),
		func(st *proactor.Stats) float64 { return float64(st.QueuedBytes) })
	gauge(desc("worker_jobs_queued", "Jobs waiting in the workers pool (WithWorkerPool)."),
		func(st *proactor.Stats) float64 { return float64(st.Workers.Queued) })
	gauge(desc("worker_jobs_running", "Jobs running in the workers pool."),
		func(st *proactor.Stats) float64 { return float64(st.Workers.Running) })
	counter(desc("worker_jobs_completed_total", "Jobs the workers pool finished."), "",
		func(st *proactor.Stats) uint64 { return st.Workers.Completed })
	counter(desc("worker_jobs_rejected_total", "Jobs the workers pool refused: its queue was full."), "",
		func(st *proactor.Stats) uint64 { return st.Workers.Rejected })
	return c
}

// Describe sends the descriptors of every metric.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for i, m := range c.metrics {
		if i == 0 || m.desc != c.metrics[i-1].desc {
			ch <- m.desc
		}
	}
	ch <- c.paused
	ch <- c.loops
	for _, d := range c.pool {
		ch <- d
	}
	for _, d := range c.hists {
		ch <- d
	}
	ch <- c.build.Desc()
}

// Collect takes one Stats snapshot and sends every metric from it.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	st := c.srv.Stats()
	for _, m := range c.metrics {
		var labels []string
		if m.label != "" {
			labels = []string{m.label}
		}
		ch <- constMetric(m.desc, m.typ, m.value(&st), labels...)
	}
	paused := 0.0
	if c.srv.Paused() {
		paused = 1
	}
	ch <- constMetric(c.paused, prometheus.GaugeValue, paused)
	eng := c.srv.Engine()
	ch <- constMetric(c.loops, prometheus.GaugeValue, float64(eng.Loops()), eng.Name())
	ps := eng.Buffers().Stats()
	ch <- constMetric(c.pool[0], prometheus.CounterValue, float64(ps.Gets))
	ch <- constMetric(c.pool[1], prometheus.CounterValue, float64(ps.Hits))
	ch <- constMetric(c.pool[2], prometheus.GaugeValue, float64(ps.Retained))
	hs := c.srv.Histograms()
	for i, h := range []proactor.Histogram{hs.ConnLifetime, hs.LoopLag, hs.Callback} {
		ch <- histogram(c.hists[i], h)
	}
	ch <- c.build
}

// histogram turns a snapshot into Prometheus' cumulative buckets, in
// seconds.
func histogram(d *prometheus.Desc, h proactor.Histogram) prometheus.Metric {
	buckets := make(map[float64]uint64, len(h.Bounds))
	var below uint64
	for i, b := range h.Bounds {
		below += h.Counts[i]
		buckets[b.Seconds()] = below
	}
	m, err := prometheus.NewConstHistogram(d, h.Count, h.Sum.Seconds(), buckets)
	if err != nil {
		return prometheus.NewInvalidMetric(d, err)
	}
	return m
}

// constMetric makes a metric, or one that reports the error to the scrape
// (a constant label that clashes with a variable one, say) instead of a
// panic.
func constMetric(d *prometheus.Desc, typ prometheus.ValueType, v float64, labels ...string) prometheus.Metric {
	m, err := prometheus.NewConstMetric(d, typ, v, labels...)
	if err != nil {
		return prometheus.NewInvalidMetric(d, err)
	}
	return m
}
