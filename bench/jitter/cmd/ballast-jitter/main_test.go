package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"strconv"
	"strings"
	"testing"

	"github.com/ballast-risk/ballast/bench/jitter"
)

func TestRunTable(t *testing.T) {
	var out, errOut strings.Builder
	if err := run(context.Background(), []string{"--duration", "50ms"}, &out, &errOut); err != nil {
		t.Fatal(err, errOut.String())
	}
	for _, want := range []string{"Platform jitter: 1 spinner(s) × 50ms", "| gaps longer than | gaps/s | time lost |", "| 1.00 ms |", "| one core | **"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestRunJSON(t *testing.T) {
	var out, errOut strings.Builder
	n := min(2, jitter.SpinnersLimit())
	if err := run(context.Background(), []string{"--duration", "50ms", "--spinners", strconv.Itoa(n), "--json"}, &out, &errOut); err != nil {
		t.Fatal(err, errOut.String())
	}
	var r jitter.Result
	dec := json.NewDecoder(strings.NewReader(out.String()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatal(err)
	}
	if r.Spinners != n || len(r.PerSpinner) != n || r.Combined.ClockReads == 0 || r.DurationNs != 50e6 {
		t.Fatalf("result %+v", r)
	}
}

func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errOut strings.Builder
	err := run(ctx, []string{"--duration", "10m"}, &out, &errOut)
	if !errors.Is(err, context.Canceled) || !strings.Contains(out.String(), "| one core |") {
		t.Fatalf("err %v, output %q", err, out.String())
	}
}

func TestRunUsage(t *testing.T) {
	for _, args := range [][]string{{"--duration", "0s"}, {"--duration", "11m"}, {"--spinners", "0"}, {"--spinners", "100000"},
		{"--nope"}, {"extra"}, {"--duration", "soon"}} {
		var out, errOut strings.Builder
		if err := run(context.Background(), args, &out, &errOut); !errors.Is(err, errUsage) {
			t.Errorf("%v: %v", args, err)
		}
	}
	var out, errOut strings.Builder
	if err := run(context.Background(), []string{"-h"}, &out, &errOut); !errors.Is(err, flag.ErrHelp) || !strings.Contains(errOut.String(), "-spinners") {
		t.Errorf("-h: %v, %q", err, errOut.String())
	}
}
