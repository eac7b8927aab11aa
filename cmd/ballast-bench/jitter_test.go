package main

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/bench/jitter"
)

// testJitter measures a short real run: the report's code paths see the
// package's real result shape.
func testJitter(t *testing.T) *JitterRun {
	t.Helper()
	c := jitterConfig{duration: 20 * time.Millisecond, spinners: jitterSpinners()}
	var fracs []float64
	runs, err := runJitter(context.Background(), c, func(f float64) { fracs = append(fracs, f) })
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != len(c.spinners) || len(fracs) != len(c.spinners) || fracs[len(fracs)-1] != 1 {
		t.Fatalf("%d runs, progress %v", len(runs), fracs)
	}
	return &JitterRun{Method: "jm", Runs: runs}
}

func TestJitterInReport(t *testing.T) {
	r := testReport()
	r.Jitter = testJitter(t)
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"jitter": {`) || !strings.Contains(buf.String(), `"floor_p99_ns":`) {
		t.Fatalf("report.json lacks the jitter:\n%s", buf.String())
	}
	got, err := ReadReport(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r) {
		t.Fatalf("round trip differs:\n got %+v\nwant %+v", got.Jitter, r.Jitter)
	}

	buf.Reset()
	if err := r.WriteMarkdown(&buf); err != nil {
		t.Fatal(err)
	}
	md := buf.String()
	sec := strings.Index(md, "\n## Platform jitter (the latency floor of this machine)\n")
	if sec < 0 || sec > strings.Index(md, "\n## "+r.Figures[0].Title) {
		t.Fatalf("no jitter section before the figures:\n%s", md)
	}
	one := r.Jitter.Runs[0].Combined
	for _, want := range []string{"any latency target whose p99 is below the floor cannot be met on this machine", "jm\n",
		"- one core: p99 floor **" + jitter.Ns(one.FloorP99Ns) + "**", "### 1 spinner(s), 20ms", "| gaps longer than |"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	if n := len(r.Jitter.Runs); n > 1 && !strings.Contains(md, "all "+itoa(r.Jitter.Runs[n-1].Spinners)+" cores at once: p99 floor") {
		t.Errorf("markdown lacks the all-cores floor:\n%s", md)
	}

	// A skipped stage says so; an old report without the jitter has no section.
	r.Jitter = &JitterRun{Skipped: []Skip{{What: "the jitter measurement", Reason: "--skip jitter"}}}
	buf.Reset()
	if err := r.WriteMarkdown(&buf); err != nil || !strings.Contains(buf.String(), "- skipped the jitter measurement: --skip jitter") {
		t.Fatalf("skipped: %v\n%s", err, buf.String())
	}
	r.Jitter = nil
	buf.Reset()
	if err := r.WriteMarkdown(&buf); err != nil || strings.Contains(buf.String(), "Platform jitter") {
		t.Fatalf("no jitter: %v", err)
	}
}

func TestJitterStagePlan(t *testing.T) {
	now := time.Date(2026, 11, 21, 23, 40, 5, 0, time.UTC)
	var errOut strings.Builder
	c, err := parseFlags([]string{"--quick"}, &errOut, now)
	if err != nil {
		t.Fatal(err)
	}
	if c.jitter.duration != 200*time.Millisecond || !reflect.DeepEqual(c.jitter.spinners, jitterSpinners()) {
		t.Fatalf("quick jitter %+v", c.jitter)
	}
	if est := c.estimates()[stageJitter]; est < time.Duration(len(c.jitter.spinners))*c.jitter.duration {
		t.Fatalf("estimate %v", est)
	}
	full, err := parseFlags(nil, &errOut, now)
	if err != nil || full.jitter.duration != 2*time.Second {
		t.Fatalf("full jitter %+v, %v", full.jitter, err)
	}
	if s := jitterSpinners(); s[0] != 1 || s[len(s)-1] != jitter.SpinnersLimit() {
		t.Fatalf("spinners %v", s)
	}

	// --skip jitter: the report says so and nothing is measured.
	c, err = parseFlags([]string{"--skip", "jitter,epoch,feed,t2v,load", "--dir", t.TempDir()}, &errOut, now)
	if err != nil {
		t.Fatal(err)
	}
	var progress strings.Builder
	r, err := execute(context.Background(), c, Meta{}, NewProgress(&progress, false, nil))
	if err != nil {
		t.Fatal(err)
	}
	if r.Jitter == nil || len(r.Jitter.Runs) != 0 || len(r.Jitter.Skipped) != 1 || r.Jitter.Skipped[0].Reason != "--skip jitter" {
		t.Fatalf("jitter %+v", r.Jitter)
	}
	if strings.Contains(progress.String(), "jitter") {
		t.Fatalf("progress %q", progress.String())
	}
}
