package main

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/dustin/go-humanize"
)

// hdrTicks is the percentile distribution's resolution: ticks per half
// distance to 100%, HdrHistogram's usual 5.
const hdrTicks = 5

// writeHDR writes latencies (nanoseconds) to path in HdrHistogram's
// percentile distribution text format, what its plotter reads, in
// microseconds: its three decimals would round a loopback's tens of
// microseconds to a few percent in milliseconds.
func writeHDR(path string, h *hdrhistogram.Histogram) error {
	var b bytes.Buffer
	if _, err := h.PercentilesPrint(&b, hdrTicks, 1e3); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// sizedPath is the file of one size's run when a run has several sizes:
// lat.hdr becomes lat-64.hdr.
func sizedPath(path string, size int, several bool) string {
	if !several {
		return path
	}
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + "-" + strconv.Itoa(size) + ext
}

//go:embed benchreport.html
var reportHTML string

var reportTemplate = template.Must(template.New("report").
	Funcs(template.FuncMap{"sub": func(a, b float64) float64 { return a - b }}).Parse(reportHTML))

// reportPage is the HTML report of a bench command: one section per size.
type reportPage struct {
	When    string
	Command string
	Runs    []reportRun
}

type reportRun struct {
	Title      string
	Params     [][2]string
	Summary    [][2]string
	Failed     bool
	Latency    *svgPlot // nil: no latency recorded
	Throughput *svgPlot // nil: no sample
}

// writeReport writes the HTML report of reps, the runs of `proactor bench
// args`, to path.
func writeReport(path string, args []string, cfg benchConfig, reps []benchReport) error {
	page := reportPage{When: time.Now().UTC().Format("2006-01-02 15:04:05 MST"),
		Command: strings.TrimSpace("proactor bench " + strings.Join(args, " "))}
	for _, r := range reps {
		page.Runs = append(page.Runs, newReportRun(cfg, r))
	}
	var b bytes.Buffer
	if err := reportTemplate.Execute(&b, page); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

func newReportRun(cfg benchConfig, r benchReport) reportRun {
	run := reportRun{Title: fmt.Sprintf("%s, %s", r.Scenario, humanize.IBytes(uint64(r.Size)))}
	mode := fmt.Sprintf("%d connections × %d in flight", r.Conns, r.Depth)
	if r.Mode == "churn" {
		mode = fmt.Sprintf("churn: %d workers, each connecting, sending one message and closing", r.Conns)
	}
	pace := "none: as fast as the replies come"
	if r.RateTarget > 0 {
		pace = fmt.Sprintf("%s %s/s, latency from when each was due", si(r.RateTarget), r.Unit)
	}
	run.Params = [][2]string{
		{"scenario", r.Scenario}, {"server", r.Addr}, {"TLS", strconv.FormatBool(r.TLS)},
		{"size", fmt.Sprintf("%s (%d bytes)", humanize.IBytes(uint64(r.Size)), r.Size)},
		{"load", mode}, {"rate", pace},
		{"warm-up", cfg.Warmup.String()}, {"duration", cfg.Duration.String()},
	}
	measured := fmt.Sprintf("%.2fs", r.Seconds)
	if r.Interrupted {
		measured += " (interrupted)"
	}
	d := func(us float64) string { return time.Duration(us * 1e3).Round(time.Microsecond).String() }
	run.Summary = [][2]string{
		{"measured", measured}, {"completed", fmt.Sprintf("%d %s", r.Ops, r.Unit)},
		{"throughput", fmt.Sprintf("%s %s/s", si(r.Rate), r.Unit)},
		{"latency", fmt.Sprintf("p50 %s, p90 %s, p99 %s, p99.9 %s, max %s", d(r.P50us), d(r.P90us), d(r.P99us), d(r.P999us), d(r.MaxUs))},
		{"result", "every reply verified, byte for byte"},
	}
	if r.RateTarget > 0 {
		lag := [2]string{"send lag", fmt.Sprintf("p50 %s, p99 %s: how late the requests went out, part of their latency (the generator's share)", d(r.LagP50us), d(r.LagP99us))}
		run.Summary = slices.Insert(run.Summary, 4, lag)
	}
	if r.Error != "" {
		run.Failed, run.Summary[len(run.Summary)-1][1] = true, "FAILED: "+r.Error
	}
	if r.Failed > 0 {
		run.Summary = append(run.Summary, [2]string{"failed cycles", strconv.FormatInt(r.Failed, 10)})
	}
	if r.hist != nil && r.hist.TotalCount() > 0 {
		run.Latency = latencyPlot(r.hist)
	}
	if len(r.PerSecond) > 0 {
		run.Throughput = throughputPlot(r.PerSecond, r.RateTarget, r.Unit)
	}
	return run
}

// The plots' geometry, in SVG user units.
const (
	plotW, plotH                                   = 720, 360
	plotLeft, plotRight, plotTop, plotBottomMargin = 70, 40, 30, 50
)

// svgPlot is a chart drawn by the template: axes with ticks, shaded bands,
// a dashed level, and a series of points joined by a line, each point
// with its value as a tooltip.
type svgPlot struct {
	Title, XLabel, YLabel string
	W, H                  int
	Left, Top, Right, Bot float64 // the plot area
	XTicks, YTicks        []svgTick
	Bands                 []svgBand
	Levels                []svgLevel
	Line                  string // polyline points
	Dots                  []svgDot
}

type svgTick struct {
	Pos   float64
	Label string
}

type svgBand struct {
	X0, X1 float64
	Label  string
}

type svgLevel struct {
	Y     float64
	Label string
}

type svgDot struct {
	X, Y  float64
	Class string
	Title string
}

func newPlot(title, xlabel, ylabel string) *svgPlot {
	return &svgPlot{Title: title, XLabel: xlabel, YLabel: ylabel, W: plotW, H: plotH,
		Left: plotLeft, Top: plotTop, Right: plotW - plotRight, Bot: plotH - plotBottomMargin}
}

// x and y map data to the plot area, linearly from [0, max], to a
// hundredth of a unit.
func (p *svgPlot) x(v, max float64) float64 { return round2(p.Left + v/max*(p.Right-p.Left)) }
func (p *svgPlot) y(v, max float64) float64 { return round2(p.Bot - v/max*(p.Bot-p.Top)) }

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// yAxis sets ticks from 0 to a round max at or above top; it returns max.
func (p *svgPlot) yAxis(top float64) float64 {
	step, max := niceScale(top)
	for i := 0; float64(i)*step <= max*(1+1e-9); i++ {
		v := float64(i) * step
		p.YTicks = append(p.YTicks, svgTick{Pos: p.y(v, max), Label: tickLabel(v, step)})
	}
	return max
}

func (p *svgPlot) add(x, y float64, class, title string) {
	p.Line += fmt.Sprintf("%v,%v ", x, y)
	p.Dots = append(p.Dots, svgDot{X: x, Y: y, Class: class, Title: title})
}

// niceScale returns a step of 1, 2 or 5 × 10ⁿ giving at most 6 intervals
// up to top, and the multiple of it at or above top.
func niceScale(top float64) (step, max float64) {
	if !(top > 0) {
		top = 1
	}
	step = math.Pow(10, math.Floor(math.Log10(top/6)))
	for _, m := range []float64{1, 2, 5, 10} {
		if top/(step*m) <= 6 {
			step *= m
			break
		}
	}
	return step, math.Ceil(top/step-1e-9) * step
}

// tickLabel prints v with the decimals the step needs.
func tickLabel(v, step float64) string {
	return strconv.FormatFloat(v, 'f', max(0, int(-math.Floor(math.Log10(step)+1e-9))), 64)
}

// latencyPlot is the latency by percentile, as HdrHistogram plots it: the
// x axis runs as log₁₀ 1/(1-p), a decade per nine (90%, 99%, 99.9%...),
// through the same points as the --hdr export; 100% sits at the right
// edge.
func latencyPlot(h *hdrhistogram.Histogram) *svgPlot {
	p := newPlot("Latency by percentile", "percentile", "latency (ms)")
	dist := h.CumulativeDistributionWithTicks(hdrTicks)
	decades := 2.0
	for _, b := range dist {
		if b.Quantile < 100 {
			decades = math.Max(decades, math.Ceil(math.Log10(1/(1-b.Quantile/100))-1e-9))
		}
	}
	decades = math.Min(decades, 7)
	for d := 0.0; d <= decades; d++ {
		label := "0%"
		if d > 0 {
			label = strconv.FormatFloat(100-100*math.Pow(10, -d), 'f', -1, 64) + "%"
		}
		p.XTicks = append(p.XTicks, svgTick{Pos: p.x(d, decades), Label: label})
	}
	ymax := p.yAxis(float64(h.Max()) / 1e6)
	for _, b := range dist {
		x := decades
		if b.Quantile < 100 {
			x = math.Min(decades, math.Log10(1/(1-b.Quantile/100)))
		}
		ms := float64(b.ValueAt) / 1e6
		p.add(p.x(x, decades), p.y(ms, ymax), "", fmt.Sprintf("%s%%: %.3f ms", strconv.FormatFloat(b.Quantile, 'f', -1, 64), ms))
	}
	return p
}

// throughputPlot is the operations a second over the run, a point per
// sample at its end, the warm-up shaded and the pace, if any, a dashed
// level.
func throughputPlot(samples []benchSample, target float64, unit string) *svgPlot {
	p := newPlot("Throughput over time", "seconds from the start", unit+"/s")
	end := samples[len(samples)-1].At
	top := target
	for _, s := range samples {
		top = math.Max(top, s.Rate())
	}
	xstep, xmax := niceScale(end)
	for i := 0; float64(i)*xstep <= xmax*(1+1e-9); i++ {
		v := float64(i) * xstep
		p.XTicks = append(p.XTicks, svgTick{Pos: p.x(v, xmax), Label: tickLabel(v, xstep)})
	}
	ymax := p.yAxis(top)
	warm := 0.0
	for _, s := range samples {
		class, what := "measured", "measured"
		if !s.Measured {
			class, what, warm = "warm", "warm-up", s.At
		}
		p.add(p.x(s.At, xmax), p.y(s.Rate(), ymax), class, fmt.Sprintf("%.2f s: %.0f %s/s (%d in %.3f s, %s)", s.At, s.Rate(), unit, s.Ops, s.Seconds, what))
	}
	if warm > 0 {
		p.Bands = append(p.Bands, svgBand{X0: p.Left, X1: p.x(warm, xmax), Label: "warm-up"})
	}
	if target > 0 {
		p.Levels = append(p.Levels, svgLevel{Y: p.y(target, ymax), Label: "paced at " + si(target) + "/s"})
	}
	return p
}
