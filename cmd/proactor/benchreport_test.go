package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seed487d475b/proactor/examples/echo"
	"github.com/seed487d475b/proactor/internal/loadgen"
	"github.com/seed487d475b/proactor/internal/servertest"
)

// benchInProcess runs `proactor bench args` in the test's process and
// returns its stdout and stderr.
func benchInProcess(t *testing.T, wantStatus int, args ...string) (string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	if got := runBench(args, &out, &errOut); got != wantStatus {
		t.Fatalf("bench %s: exit status %d, want %d; stderr:\n%s", strings.Join(args, " "), got, wantStatus, &errOut)
	}
	return out.String(), errOut.String()
}

// TestBenchReport runs a paced load with --json, --hdr and --report, then
// reads the HTML back as XML: the throughput plot has a point per
// per-second sample of the JSON, the latency plot one per line of the HDR
// file, each where its value puts it on the plot's axes.
func TestBenchReport(t *testing.T) {
	_, addr := servertest.Start(t, echo.Handler{})
	dir := t.TempDir()
	hdrPath, htmlPath := filepath.Join(dir, "lat.hdr"), filepath.Join(dir, "report.html")
	out, _ := benchInProcess(t, exitOK, "--json", "--rate", "2000", "--conns", "4", "--depth", "2",
		"--warmup", "1s", "--duration", "2500ms", "--progress", "0", "--hdr", hdrPath, "--report", htmlPath, addr)
	var reps []benchReport
	if err := json.Unmarshal([]byte(out), &reps); err != nil || len(reps) != 1 {
		t.Fatalf("%v:\n%s", err, out)
	}
	rep := reps[0]
	if rep.RateTarget != 2000 || rep.Rate < 1000 || rep.Rate > 2100 || rep.LagP99us <= 0 || rep.LagP99us > rep.MaxUs {
		t.Fatalf("paced at %v: %v msg/s measured, send lag p99 %vµs of a max latency of %vµs", rep.RateTarget, rep.Rate, rep.LagP99us, rep.MaxUs)
	}
	// Samples: a second each, and the last half second of the measure.
	var measured int64
	for _, s := range rep.PerSecond {
		if s.Measured {
			measured += s.Ops
		}
	}
	if n := len(rep.PerSecond); n != 4 || rep.PerSecond[0].Measured || measured != rep.Ops {
		t.Fatalf("samples %+v: want 1 of the warm-up, 3 measured adding up to the %d measured", rep.PerSecond, rep.Ops)
	}

	hdr := readHDRFile(t, hdrPath)
	if last := hdr[len(hdr)-1]; last.percentile != 1 || math.Abs(last.us-rep.MaxUs) > 0.01 {
		t.Fatalf("HDR file ends at %+v; the run's max is %vµs", last, rep.MaxUs)
	}

	doc := readXML(t, htmlPath)
	figs := doc.find("figure")
	if len(figs) != 2 || figs[0].attr("class") != "latency" || figs[1].attr("class") != "throughput" {
		t.Fatalf("%d figures, want the latency's and the throughput's", len(figs))
	}
	// Latency: x is log₁₀ 1/(1-p), 100% at the right edge; y is ms.
	lat := figs[0]
	var px, py []float64
	var xs, ys []float64
	dots := lat.find("circle")
	if len(dots) != len(hdr) {
		t.Fatalf("%d points on the latency plot, %d lines in the HDR file", len(dots), len(hdr))
	}
	right := 0.0
	for i, d := range dots {
		cx, cy := d.num(t, "cx"), d.num(t, "cy")
		right = math.Max(right, cx)
		// The file prints percentiles to 6 decimals: past 99.9% too few
		// to place a point on the log scale to a tenth of a unit.
		if hdr[i].percentile <= 0.999 {
			px, xs = append(px, cx), append(xs, math.Log10(1/(1-hdr[i].percentile)))
		}
		py, ys = append(py, cy), append(ys, hdr[i].us/1e3)
	}
	xmap := axis(t, lat, "x-ticks", "x", func(s string) float64 {
		p, _ := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
		return math.Log10(1 / (1 - p/100))
	})
	checkPoints(t, "latency x", xmap, xs, px)
	checkPoints(t, "latency y", axis(t, lat, "y-ticks", "y", parseFloat), ys, py)
	if d := dots[len(dots)-1]; d.num(t, "cx") != right {
		t.Fatalf("100%% plotted at x %v, not at the right edge %v", d.num(t, "cx"), right)
	}
	checkLine(t, lat, dots)

	// Throughput: x is seconds from the start, y the sample's rate.
	tp := figs[1]
	dots = tp.find("circle")
	if len(dots) != len(rep.PerSecond) {
		t.Fatalf("%d points on the throughput plot, %d samples", len(dots), len(rep.PerSecond))
	}
	px, py, xs, ys = nil, nil, nil, nil
	for i, d := range dots {
		s := rep.PerSecond[i]
		px, xs = append(px, d.num(t, "cx")), append(xs, s.At)
		py, ys = append(py, d.num(t, "cy")), append(ys, s.Rate())
		if (d.attr("class") == "warm") == s.Measured {
			t.Fatalf("point %d of class %q for sample %+v", i, d.attr("class"), s)
		}
	}
	ymap := axis(t, tp, "y-ticks", "y", parseFloat)
	checkPoints(t, "throughput x", axis(t, tp, "x-ticks", "x", parseFloat), xs, px)
	checkPoints(t, "throughput y", ymap, ys, py)
	checkLine(t, tp, dots)
	if lv := tp.find("line"); !hasClass(lv, "level", ymap(2000)) {
		t.Fatalf("no dashed level at the 2000/s pace (y %v)", ymap(2000))
	}
	if page := doc.text(); !strings.Contains(page, addr) || !strings.Contains(page, "2.0k msg/s, latency from when each was due") {
		t.Fatalf("the parameters lack the address or the pace:\n%s", page)
	}
}

func parseFloat(s string) float64 {
	v, _ := strconv.ParseFloat(s, 64)
	return v
}

// axis reads the tick labels of an axis (the g of class class, labels
// placed at coord), checks that they sit on one straight scale, and returns
// it: value to position.
func axis(t *testing.T, fig *xmlNode, class, coord string, parse func(string) float64) func(float64) float64 {
	t.Helper()
	var ticks []*xmlNode
	for _, g := range fig.find("g") {
		if g.attr("class") == class {
			ticks = g.find("text")
		}
	}
	if len(ticks) < 3 {
		t.Fatalf("%s: %d tick labels", class, len(ticks))
	}
	first, last := ticks[0], ticks[len(ticks)-1]
	v0, v1 := parse(first.text()), parse(last.text())
	b := (last.num(t, coord) - first.num(t, coord)) / (v1 - v0)
	at := func(v float64) float64 { return first.num(t, coord) + b*(v-v0) }
	for _, tk := range ticks {
		if want := at(parse(tk.text())); math.Abs(tk.num(t, coord)-want) > 0.05 {
			t.Fatalf("%s: label %q at %v, want %v", class, tk.text(), tk.num(t, coord), want)
		}
	}
	return at
}

// checkPoints checks that each value v[i] is plotted at p[i], where the
// axis puts it.
func checkPoints(t *testing.T, what string, at func(float64) float64, v, p []float64) {
	t.Helper()
	for i := range v {
		if math.Abs(at(v[i])-p[i]) > 0.1 {
			t.Fatalf("%s: value %v plotted at %v, want %v", what, v[i], p[i], at(v[i]))
		}
	}
}

// checkLine checks that the polyline runs through the points, in order.
func checkLine(t *testing.T, fig *xmlNode, dots []*xmlNode) {
	t.Helper()
	lines := fig.find("polyline")
	if len(lines) != 1 {
		t.Fatalf("%d polylines", len(lines))
	}
	pts := strings.Fields(lines[0].attr("points"))
	if len(pts) != len(dots) {
		t.Fatalf("polyline of %d points, %d dots", len(pts), len(dots))
	}
	for i, pt := range pts {
		if want := dots[i].attr("cx") + "," + dots[i].attr("cy"); pt != want {
			t.Fatalf("polyline point %d %s, dot at %s", i, pt, want)
		}
	}
}

func hasClass(lines []*xmlNode, class string, y float64) bool {
	for _, l := range lines {
		if l.attr("class") == class && math.Abs(parseFloat(l.attr("y1"))-y) < 0.05 {
			return true
		}
	}
	return false
}

type hdrLine struct{ us, percentile float64 }

// readHDRFile reads the value and percentile columns of a percentile
// distribution.
func readHDRFile(t *testing.T, path string) []hdrLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []hdrLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 4 || fields[0] == "Value" || strings.HasPrefix(fields[0], "#") {
			continue
		}
		lines = append(lines, hdrLine{us: parseFloat(fields[0]), percentile: parseFloat(fields[1])})
	}
	if len(lines) < 10 || !strings.Contains(readFile(t, path), "#[Max") {
		t.Fatalf("%s: %d value lines, or no footer", path, len(lines))
	}
	return lines
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// xmlNode is an element of a document read as XML.
type xmlNode struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Nodes   []*xmlNode `xml:",any"`
	Text    string     `xml:",chardata"`
}

// readXML parses the file strictly as XML: the report is XHTML as well as
// HTML.
func readXML(t *testing.T, path string) *xmlNode {
	t.Helper()
	var n xmlNode
	d := xml.NewDecoder(strings.NewReader(readFile(t, path)))
	d.Strict = true
	if err := d.Decode(&n); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &n
}

func (n *xmlNode) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func (n *xmlNode) num(t *testing.T, name string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(n.attr(name), 64)
	if err != nil {
		t.Fatalf("<%s %s=%q>: %v", n.XMLName.Local, name, n.attr(name), err)
	}
	return v
}

// find returns the elements named name under n, in document order.
func (n *xmlNode) find(name string) []*xmlNode {
	var out []*xmlNode
	for _, c := range n.Nodes {
		if c.XMLName.Local == name {
			out = append(out, c)
		}
		out = append(out, c.find(name)...)
	}
	return out
}

// text returns the text of n and everything under it.
func (n *xmlNode) text() string {
	s := n.Text
	for _, c := range n.Nodes {
		s += c.text()
	}
	return strings.TrimSpace(s)
}

// flipServer echoes the 64-byte messages of one connection, with byte 9
// of message 100 changed.
func flipServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		m := make([]byte, 64)
		for i := 0; ; i++ {
			if _, err := io.ReadFull(c, m); err != nil {
				return
			}
			if i == 100 {
				m[9] ^= 0xff
			}
			if _, err := c.Write(m); err != nil {
				return
			}
		}
	}()
	return ln.Addr().String()
}

// TestBenchMismatch: a wrong byte fails the run with the error printed
// once, on stderr: where the reply differs, the bytes expected against
// those received; the report says FAILED, and the report files are still
// written with what was measured.
func TestBenchMismatch(t *testing.T) {
	addr := flipServer(t)
	htmlPath := filepath.Join(t.TempDir(), "report.html")
	start := time.Now()
	out, errOut := benchInProcess(t, exitError, "--conns", "1", "--warmup", "0s", "--duration", "20s",
		"--progress", "0", "--report", htmlPath, addr)
	sc, err := loadgen.NewScenario("echo", 64)
	if err != nil {
		t.Fatal(err)
	}
	exp := sc.AppendRequest(nil, 0, 100)[9:25]
	got := append([]byte{exp[0] ^ 0xff}, exp[1:]...)
	want := fmt.Sprintf("conn 0 message 100: reply differs at byte 9 of 64: expected [% x]..., received [% x]...\n", exp, got)
	if strings.Count(errOut, "reply differs") != 1 || !strings.Contains(errOut, want) {
		t.Fatalf("stderr, want %q once:\n%s", want, errOut)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the failed run took %v: it should end with the failure, not after --duration", took)
	}
	if !strings.Contains(out, "FAILED") || strings.Contains(out, "reply differs") {
		t.Fatalf("stdout, want FAILED without the error:\n%s", out)
	}
	if page := readXML(t, htmlPath).text(); !strings.Contains(page, "FAILED: "+strings.TrimSpace(strings.TrimPrefix(errOut, "proactor: bench: "))) {
		t.Fatalf("the report lacks the error:\n%s", page)
	}
}

// TestBenchNoStart: a run whose dials fail prints no report, its error
// once on stderr, and writes no file; with --json the list still has it,
// error and all, for a program to read.
func TestBenchNoStart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	htmlPath := filepath.Join(t.TempDir(), "report.html")
	out, errOut := benchInProcess(t, exitError, "--conns", "1", "--report", htmlPath, closed)
	if out != "" || strings.Count(errOut, "connection refused") != 1 {
		t.Fatalf("stdout:\n%s\nstderr:\n%s", out, errOut)
	}
	if _, err := os.Stat(htmlPath); err == nil {
		t.Fatal("a report was written for a run that never started")
	}
	out, errOut = benchInProcess(t, exitError, "--json", "--conns", "1", closed)
	var reps []benchReport
	if err := json.Unmarshal([]byte(out), &reps); err != nil || len(reps) != 1 || !strings.Contains(reps[0].Error, "connection refused") ||
		strings.Count(errOut, "connection refused") != 1 {
		t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
}
