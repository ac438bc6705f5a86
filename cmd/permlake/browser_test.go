package main

import (
	"context"
	"encoding/json"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// chromiumPath is the headless Chromium the report test drives: PERMLAKE_CHROMIUM (make test sets
// it, installing Debian's chromium when it is missing), else chromium on the PATH. Missing, the
// test fails: a browser check that skips proves nothing.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("PERMLAKE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium: set PERMLAKE_CHROMIUM or run make test, which installs Debian's chromium")
	return ""
}

// browserProbe runs in the page before the report's own script: it records script errors and
// console errors, then, once the page has laid out, measures every text and bar box of each
// chart and writes what it found into the page as JSON (read back from --dump-dom).
const browserProbe = `<script>
window.__permlakeErrors = [];
window.addEventListener("error", function (e) { window.__permlakeErrors.push(String(e.message)); });
(function () {
  var orig = console.error;
  console.error = function () { window.__permlakeErrors.push(Array.prototype.join.call(arguments, " ")); return orig.apply(console, arguments); };
})();
window.addEventListener("load", function () {
  var out = {width: window.innerWidth, errors: window.__permlakeErrors, charts: 0, texts: 0, overlaps: [], outside: [],
    evidence: (document.getElementById("evidence") || {}).textContent || "",
    firstFix: "", firstStep: ""};
  var hit = function (a, b) { return a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5; };
  var name = function (el) { return el.tagName + "." + (el.getAttribute("class") || "") + " " + (el.textContent || "").trim().slice(0, 50); };
  document.querySelectorAll("svg.chart").forEach(function (svg, c) {
    out.charts++;
    var box = svg.getBoundingClientRect();
    var texts = Array.prototype.slice.call(svg.querySelectorAll("text"));
    var bars = Array.prototype.slice.call(svg.querySelectorAll("rect"));
    out.texts += texts.length;
    texts.forEach(function (t, i) {
      var a = t.getBoundingClientRect();
      if (a.left < box.left - 0.5 || a.right > box.right + 0.5 || a.top < box.top - 0.5 || a.bottom > box.bottom + 0.5) {
        out.outside.push("chart " + c + ": " + name(t));
      }
      texts.slice(i + 1).forEach(function (u) {
        if (hit(a, u.getBoundingClientRect())) { out.overlaps.push("chart " + c + ": " + name(t) + " / " + name(u)); }
      });
      bars.forEach(function (r) {
        if (hit(a, r.getBoundingClientRect())) { out.overlaps.push("chart " + c + ": " + name(t) + " over a bar " + name(r)); }
      });
    });
  });
  var fix = document.querySelector(".fix");
  if (fix) {
    out.firstFix = (fix.querySelector("h3") || {}).textContent || "";
    var step = fix.querySelector("table td");
    out.firstStep = step ? step.textContent : "";
  }
  var pre = document.createElement("pre");
  pre.id = "permlake-probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>`

// browserResult is what browserProbe reports.
type browserResult struct {
	Width     int      `json:"width"`
	Errors    []string `json:"errors"`
	Charts    int      `json:"charts"`
	Texts     int      `json:"texts"`
	Overlaps  []string `json:"overlaps"`
	Outside   []string `json:"outside"`
	Evidence  string   `json:"evidence"`
	FirstFix  string   `json:"firstFix"`
	FirstStep string   `json:"firstStep"`
}

var probeOutput = regexp.MustCompile(`(?s)<pre id="permlake-probe">(.*?)</pre>`)

// checkReportInChromium renders the report in headless Chromium at 1400 and 800 pixels wide and
// checks: no script or console error, no chart text overlapping another text or a bar, none
// drawn outside its chart, the evidence window stated, the first identity to fix with a step. A
// full-page screenshot at each width is kept in artifacts.
func checkReportInChromium(t *testing.T, report, artifacts string) {
	t.Helper()
	bin := chromiumPath(t)
	page, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	probed := strings.Replace(string(page), "<head>", "<head>\n"+browserProbe, 1)
	if probed == string(page) {
		t.Fatal("report has no <head> to put the probe in")
	}
	dir := t.TempDir()
	probedPath := filepath.Join(dir, "probed.html")
	if err := os.WriteFile(probedPath, []byte(probed), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, width := range []int{1400, 800} {
		w := strconv.Itoa(width)
		out := chromium(t, bin, filepath.Join(dir, "profile-"+w), "--window-size="+w+",1000", "--dump-dom", "file://"+probedPath)
		m := probeOutput.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("at %d px: the probe wrote nothing; Chromium printed:\n%s", width, tail(out, 3000))
		}
		var r browserResult
		if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &r); err != nil {
			t.Fatalf("at %d px: probe output: %v\n%s", width, err, m[1])
		}
		if r.Width != width {
			t.Errorf("the page was laid out %d px wide, want %d", r.Width, width)
		}
		if len(r.Errors) > 0 {
			t.Errorf("at %d px: console or script errors: %q", width, r.Errors)
		}
		if r.Charts != 3 || r.Texts < 30 {
			t.Errorf("at %d px: %d charts with %d texts measured, want 3 charts of the demo's rows", width, r.Charts, r.Texts)
		}
		if len(r.Overlaps) > 0 {
			t.Errorf("at %d px: %d overlapping boxes in the charts: %q", width, len(r.Overlaps), r.Overlaps)
		}
		if len(r.Outside) > 0 {
			t.Errorf("at %d px: chart text drawn outside its chart: %q", width, r.Outside)
		}
		if !regexp.MustCompile(`Evidence: the trails recorded events from \d{4}-\d\d-\d\d \d\d:\d\d to \d{4}-\d\d-\d\d \d\d:\d\d UTC \([0-9.]+ days\)`).MatchString(r.Evidence) {
			t.Errorf("at %d px: the evidence window is not stated: %q", width, r.Evidence)
		}
		if !strings.HasPrefix(strings.TrimSpace(r.FirstFix), "1.") || !strings.Contains(r.FirstFix, "priority") || r.FirstStep == "" {
			t.Errorf("at %d px: no top remediation: first identity %q, first step %q", width, r.FirstFix, r.FirstStep)
		}
		shot := filepath.Join(artifacts, "report-"+w+".png")
		chromium(t, bin, filepath.Join(dir, "shot-"+w), "--window-size="+w+",6000", "--hide-scrollbars", "--screenshot="+shot, "file://"+report)
		if st, err := os.Stat(shot); err != nil || st.Size() == 0 {
			t.Errorf("no screenshot at %s: %v", shot, err)
		}
	}
}

// chromium runs headless Chromium with the flags this machine needs (no sandbox as root, no
// background networking: the network is closed) and returns its standard output.
func chromium(t *testing.T, bin, profile string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
		"--user-data-dir=" + profile, "--virtual-time-budget=5000"}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, tail(stderr.String(), 3000))
	}
	return string(out)
}

// artifactsDir is where tests keep what a person may want to look at afterwards (the report's
// screenshots): PERMLAKE_ARTIFACTS, else test-artifacts/ at the module's root (ignored by git).
func artifactsDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("PERMLAKE_ARTIFACTS"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "test-artifacts")
		}
		if filepath.Dir(d) == d {
			return filepath.Join(dir, "test-artifacts")
		}
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}
