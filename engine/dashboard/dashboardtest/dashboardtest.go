// Package dashboardtest loads the live dashboard (engine/dashboard) in
// headless Chromium for tests: it finds the browser (failing instead of
// skipping where CI requires it), runs one page load with a virtual time
// budget, returns the DOM the page built and checks its screenshot.
//
// It is test support: only _test.go files import it.
package dashboardtest

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Screenshot geometry (the window size of every run).
const (
	ShotWidth  = 1400
	ShotHeight = 1000
)

// DefaultTimeout bounds one Chromium run in real time when Options.Timeout
// is 0.
const DefaultTimeout = 20 * time.Second

// RequireEnv is the environment variable that, set to 1, makes a missing
// Chromium a test failure instead of a skip (.ci/run sets it; so does any
// non-empty CI).
const RequireEnv = "BALLAST_REQUIRE_CHROMIUM"

// stderrLinesMax bounds the Chromium output quoted in a failure.
const stderrLinesMax = 20

// Chromium returns the path of Debian's chromium. Without it the test
// fails where CI is set or RequireEnv is 1, and is skipped elsewhere.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "headless Chromium not found (Debian package chromium; scripts/deps.sh installs it)"
	if os.Getenv("CI") != "" || os.Getenv(RequireEnv) == "1" {
		t.Fatal(msg + ": required in CI")
	}
	t.Skip(msg)
	return ""
}

// Options are one page load's settings.
type Options struct {
	// Shot, when not empty, is where the screenshot (PNG, ShotWidth ×
	// ShotHeight) is written.
	Shot string
	// BudgetMs is the virtual time budget: the page's clock runs this
	// many milliseconds (standing still while a fetch is pending) before
	// the DOM is dumped.
	BudgetMs int
	// Timeout bounds the run in real time (0: DefaultTimeout).
	Timeout time.Duration
}

// Run loads url in headless Chromium bin and returns the DOM after the
// virtual time budget; a failed run fails the test. Call it from the test's
// goroutine (Load, from any goroutine).
func Run(t testing.TB, bin, url string, o Options) string {
	t.Helper()
	dom, err := Load(context.Background(), bin, url, t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	return dom
}

// Load is Run returning its error, for a goroutine other than the test's:
// profile is an empty directory for Chromium's profile (the test's
// TempDir); cancelling ctx kills Chromium.
func Load(ctx context.Context, bin, url, profile string, o Options) (string, error) {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	args := []string{"--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		fmt.Sprintf("--window-size=%d,%d", ShotWidth, ShotHeight), "--user-data-dir=" + profile,
		"--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--force-device-scale-factor=1",
		fmt.Sprintf("--virtual-time-budget=%d", o.BudgetMs), "--dump-dom"}
	if o.Shot != "" {
		args = append(args, "--screenshot="+o.Shot)
	}
	cmd := exec.CommandContext(ctx, bin, append(args, url)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		shot := "no screenshot asked"
		if o.Shot != "" {
			shot = "no screenshot written"
			if fi, serr := os.Stat(o.Shot); serr == nil {
				shot = fmt.Sprintf("screenshot of %d bytes written", fi.Size())
			}
		}
		return "", fmt.Errorf("chromium (%v, limit %v): %w; %d bytes of DOM dumped, %s\nstderr:\n%s",
			time.Since(start).Round(time.Millisecond), o.Timeout, err, stdout.Len(), shot,
			lastLines(stderr.String(), stderrLinesMax))
	}
	return stdout.String(), nil
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// Text returns the text of the element with the given id in a dumped DOM
// (the text before its first child element); it fails the test when there
// is no such element.
func Text(t testing.TB, dom, id string) string {
	t.Helper()
	m := regexp.MustCompile(`id="` + regexp.QuoteMeta(id) + `"[^>]*>([^<]*)<`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("no element #%s in the DOM", id)
	}
	return m[1]
}

// noticeRowRE matches a margin notice row of the page.
var noticeRowRE = regexp.MustCompile(`<li class="[^"]*" data-account="(\d+)" data-state="([A-Z_]+)"`)

// Notice is one margin notice row of the page.
type Notice struct {
	Account string
	State   string
}

// Notices returns the page's margin notice rows, newest first, as shown.
func Notices(dom string) []Notice {
	var out []Notice
	for _, m := range noticeRowRE.FindAllStringSubmatch(dom, -1) {
		out = append(out, Notice{Account: m[1], State: m[2]})
	}
	return out
}

// coloursMin is the fewest distinct colours a rendered page shows (a blank
// or error page has a handful).
const coloursMin = 20

// CheckPNG checks that path is a ShotWidth × ShotHeight PNG of a rendered
// page, not a blank one.
func CheckPNG(t testing.TB, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != ShotWidth || b.Dy() != ShotHeight {
		t.Fatalf("screenshot is %dx%d, want %dx%d", b.Dx(), b.Dy(), ShotWidth, ShotHeight)
	}
	colours := map[uint32]struct{}{}
	for y := 0; y < ShotHeight; y += 7 {
		for x := 0; x < ShotWidth; x += 7 {
			r, g, b, _ := img.At(x, y).RGBA()
			colours[r>>8<<16|g>>8<<8|b>>8] = struct{}{}
		}
	}
	if len(colours) < coloursMin {
		t.Fatalf("screenshot has %d colours: blank page?", len(colours))
	}
}
