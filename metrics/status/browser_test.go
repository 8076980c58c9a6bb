package status_test

import (
	"context"
	"io"
	"net"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/examples/echo"
	"github.com/seed487d475b/proactor/internal/servertest"
	"github.com/seed487d475b/proactor/metrics"
	"github.com/seed487d475b/proactor/metrics/status"
)

// TestPageInBrowser loads the page in a real headless Chromium, puts an
// echo load on the server, and waits for the page to show it: the open
// connections, the bytes per second, every loop busy, and the load's
// round-trip latencies as a histogram; then, the load gone, the closes.
// With STATUS_SCREENSHOT=FILE it saves a PNG of the page under load (the
// README's docs/status-page.png).
func TestPageInBrowser(t *testing.T) {
	chromium := servertest.Tool(t, "chromium")
	const conns, loops, size = 6, 2, 1024

	srv, addr := servertest.Start(t, echo.Handler{}, proactor.WithLoops(loops))
	latency := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "echo_round_trip_seconds",
		Help:    "The test load's round trips, write to whole echo.",
		Buckets: prometheus.ExponentialBuckets(10e-6, 2, 14),
	})
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewCollector(srv), latency)
	web := httptest.NewServer(status.Handler(srv, status.WithName("echo"), status.WithGatherer(reg)))
	defer web.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox, // CI runs as root, where Chromium's sandbox refuses to start
		chromedp.DisableGPU,
		chromedp.WindowSize(1200, 1000),
	)...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()

	// waitFor polls the page (in the page, on each animation frame) until
	// the expression is true.
	waitFor := func(what, expr string) {
		t.Helper()
		if _, err := chromedp.Run(bctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(time.Minute))); err != nil {
			state, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.body.innerText`))
			t.Fatalf("page never showed %s (%s): %v; the page reads:\n%s", what, expr, err, state)
		}
	}
	text := func(k string) string {
		return `document.querySelector('[data-k="` + k + `"]').textContent`
	}

	if err := chromedp.Do(bctx, chromedp.Navigate(web.URL)); err != nil {
		t.Fatal(err)
	}
	waitFor("a first reading", `document.querySelector("#state").textContent === "serving" && `+text("active")+` === "0"`)

	// The load: each connection echoes size bytes at a time until the
	// page has seen it, bounded by the test's context.
	lctx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			defer c.Close()
			msg, got := make([]byte, size), make([]byte, size)
			for lctx.Err() == nil {
				c.SetDeadline(time.Now().Add(10 * time.Second))
				start := time.Now()
				if _, err := c.Write(msg); err != nil {
					t.Error(err)
					return
				}
				if _, err := io.ReadFull(c, got); err != nil {
					t.Error(err)
					return
				}
				latency.Observe(time.Since(start).Seconds())
			}
		})
	}
	defer wg.Wait()
	defer stopLoad()

	waitFor("the load", text("active")+` === "6" && `+text("accepted")+` === "6" && `+
		`/[KMG]iB\/s$/.test(`+text("in-rate")+`) && /[KMG]iB\/s$/.test(`+text("out-rate")+`)`)
	waitFor("both loops busy", `[...document.querySelectorAll("#loops tbody tr")].length === 2 && `+
		`[...document.querySelectorAll("#loops tbody tr")].every(r => r.children[1].textContent !== "0" && /[KMG]iB$/.test(r.children[4].textContent))`)
	// The load's histogram among the server's own (lifetime, loop lag,
	// callback duration): its panel, 14 buckets and +Inf, observed.
	waitFor("the latency histogram", `[...document.querySelectorAll("#histograms .hist")].some(p => `+
		`p.querySelector("h2").textContent === "echo_round_trip_seconds" && p.querySelectorAll("rect").length === 15 && `+
		`/observed · mean/.test(p.querySelector(".sub").textContent))`)
	waitFor("the byte-rate plot", `document.querySelector("#spark polyline.in").getAttribute("points").split(" ").length >= 2`)

	if file := os.Getenv("STATUS_SCREENSHOT"); file != "" {
		// Half a minute of the plot, for a picture worth showing.
		waitFor("30 s of the plot", `document.querySelector("#spark polyline.in").getAttribute("points").split(" ").length >= 30`)
		png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	stopLoad()
	wg.Wait()
	waitFor("the closes", text("active")+` === "0" && `+text("closed")+` === "6" && `+
		`[...document.querySelectorAll("#closed tr")].some(r => r.children[0].textContent === "cleanly" && r.children[1].textContent === "6")`)
}
