// Command loadreport renders the JSON lines of `ballast-sim load --json`
// runs (one {"command", "result"} object per line) as a Markdown table of
// the verdict service's figures against the targets of issue 5.
//
//	go run ./bench/loadreport -in verdict.jsonl > verdict.md
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ballast-risk/ballast/bench/jitter"
	"github.com/ballast-risk/ballast/sim/loadgen"
)

// lineBytesMax bounds one JSON line.
const lineBytesMax = 1 << 20

type run struct {
	Command []string       `json:"command"`
	Result  loadgen.Result `json:"result"`
}

func main() {
	in := flag.String("in", "", "JSON lines of ballast-sim load --json (default stdin)")
	title := flag.String("title", "Verdict service under load", "heading")
	note := flag.String("note", "", "a line under the heading (how the runs were made)")
	flag.Parse()
	r := io.Reader(os.Stdin)
	if *in != "" {
		f, err := os.Open(*in)
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadreport:", err)
			os.Exit(1)
		}
		defer f.Close()
		r = f
	}
	runs, err := read(r)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadreport:", err)
		os.Exit(1)
	}
	write(os.Stdout, *title, *note, runs)
}

func read(r io.Reader) ([]run, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), lineBytesMax)
	var out []run
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var x run
		if err := json.Unmarshal([]byte(line), &x); err != nil {
			return nil, fmt.Errorf("line %d: %v", n, err)
		}
		out = append(out, x)
	}
	return out, sc.Err()
}

// target is the target for a run, "" when it has none.
func target(r *loadgen.Result) string {
	switch {
	case r.Mode == "open" && r.Transport == "tcp" && r.Rate >= 100_000:
		return "p99 ≤ 25 µs"
	case r.Mode == "open" && strings.HasPrefix(r.Transport, "shm"):
		return "p99 ≤ 3 µs"
	case r.Mode == "open" && r.Transport == "http":
		return "p99 ≤ 100 µs"
	case r.Mode == "max" && r.Transport == "tcp":
		return "≥ 300k/s"
	}
	return ""
}

func met(r *loadgen.Result) string {
	ok := false
	switch target(r) {
	case "":
		return ""
	case "p99 ≤ 25 µs":
		ok = r.Latency.P99 <= 25_000
	case "p99 ≤ 3 µs":
		ok = r.Latency.P99 <= 3_000
	case "p99 ≤ 100 µs":
		ok = r.Latency.P99 <= 100_000
	case "≥ 300k/s":
		ok = r.AchievedRate >= 300_000
	}
	if ok {
		return "met"
	}
	return "**missed**"
}

func write(w io.Writer, title, note string, runs []run) {
	fmt.Fprintf(w, "# %s\n\n", title)
	if note != "" {
		fmt.Fprintf(w, "%s\n\n", note)
	}
	if len(runs) > 0 {
		h := runs[0].Result.Host
		fmt.Fprintf(w, "Load generator host: %s, %d CPUs, GOMAXPROCS %d, %s.\n\n", h.CPU, h.NumCPU, h.GOMAXPROCS, h.GoVersion)
	}
	fmt.Fprintln(w, "| transport | mode | offered | achieved/s | p50 | p99 | p99.9 | max | sent late | lost+err+mismatch | target | |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|")
	for i := range runs {
		r := &runs[i].Result
		offered := fmt.Sprintf("%g/s", r.Rate)
		if r.Mode != "open" && r.Mode != "open-fills" {
			offered = fmt.Sprintf("%d conns × %d", r.Conns, r.InflightMax)
		}
		late := ""
		if r.Lag != nil {
			late = fmt.Sprintf("%d (max %s)", r.Lag.Late, jitter.Ns(r.Lag.MaxBehindNs))
		}
		fmt.Fprintf(w, "| %s | %s | %s | %.0f | %s | %s | %s | %s | %s | %d | %s | %s |\n", r.Transport, r.Mode, offered,
			r.AchievedRate, jitter.Ns(r.Latency.P50), jitter.Ns(r.Latency.P99), jitter.Ns(r.Latency.P999), jitter.Ns(r.Latency.Max), late,
			r.Lost+r.Errors+r.Mismatches, target(r), met(r))
	}
	fmt.Fprintln(w, "\nLatency is from the intended send time in open loop (`open`, `open-fills`: coordinated omission")
	fmt.Fprintln(w, "included), from the actual send in `max` and `fills` (closed loop); fills are timed to their durable Ack.")
	fmt.Fprintln(w, "\nCommands:")
	fmt.Fprintln(w)
	for _, x := range runs {
		fmt.Fprintf(w, "    %s\n", strings.Join(x.Command, " "))
	}
}
