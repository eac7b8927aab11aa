package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"

	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/accel/cpu"
	"github.com/ballast-risk/ballast/engine/kernel"
	"github.com/ballast-risk/ballast/engine/riskfile"
	"github.com/ballast-risk/ballast/internal/jsonfile"
)

// riskOutput is DESIGN §5.1's `ballastctl risk` object.
type riskOutput struct {
	VaR       float64 `json:"var"`
	ES        float64 `json:"es"`
	MeanLoss  float64 `json:"mean_loss"`
	Scenarios int     `json:"scenarios"`
	Seed      uint64  `json:"seed"`
	Alpha     float64 `json:"alpha"`
	Backend   string  `json:"backend"`
	EpochHash string  `json:"epoch_hash"`
}

// backendFor resolves --accel: "reference" is the float64 engine, "cpu" the
// fixed-point kernel on every core. "vsim" and "fpga" are refused until the
// kernel's RTL units (SCENGEN, REVAL, AGGTAIL, GREEKS) exist: today the
// device answers only its self-test opcodes.
func backendFor(name string, stderr io.Writer) (accel.Backend, error) {
	switch name {
	case "reference":
		return &kernel.Reference{}, nil
	case "cpu":
		return &cpu.Backend{}, nil
	case "vsim", "fpga":
		return nil, fmt.Errorf("%w: %s: the RTL does not implement the risk kernel's opcodes yet (use --accel cpu or reference)", accel.ErrUnavailable, name)
	}
	return nil, fmt.Errorf("unknown backend %q (want reference, cpu, vsim or fpga)", name)
}

func runRisk(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("risk", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("file", "", "market-and-portfolio JSON `FILE` (DESIGN §5.1)")
	n := fs.Int("scenarios", 10000, "Monte Carlo scenario `count`")
	seed := fs.Uint64("seed", 1, "scenario `seed`")
	alpha := fs.Float64("alpha", 0.99, "confidence level of VaR and ES, in (0, 1)")
	backend := fs.String("accel", "reference", "backend: reference|cpu|vsim|fpga")
	repair := fs.Bool("repair", false, "repair a correlation matrix that is not positive semi-definite instead of refusing it")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ballastctl risk --file FILE --scenarios N --seed K --alpha A [--accel reference|cpu|vsim|fpga]")
		fmt.Fprintln(stderr, "\nMonte Carlo VaR and ES of one portfolio by full revaluation (DESIGN §5.1).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if *file == "" || fs.NArg() != 0 || *n < 1 || *n > accel.ScenariosMax || !(*alpha > 0 && *alpha < 1) {
		fs.Usage()
		return exitUsage
	}
	b, err := backendFor(*backend, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "ballastctl risk: %v\n", err)
		return exitFail
	}
	data, err := jsonfile.Read(*file, riskfile.FileBytesMax)
	if err != nil {
		fmt.Fprintf(stderr, "ballastctl risk: %v\n", err)
		return exitFail
	}
	f, err := riskfile.Parse(data)
	if err != nil {
		fmt.Fprintf(stderr, "ballastctl risk: %s: %v\n", *file, err)
		return exitFail
	}
	job, rep, err := f.Job(*n, *seed, *alpha, *repair)
	if err != nil {
		fmt.Fprintf(stderr, "ballastctl risk: %s: %v\n", *file, err)
		return exitFail
	}
	if rep.Repaired {
		fmt.Fprintf(stderr, "ballastctl risk: correlation matrix repaired: smallest eigenvalue was %.6g; moved %.6g (Frobenius)\n", rep.MinEigenvalue, rep.FrobeniusDistance)
	}
	var res accel.RiskResult
	if err := b.Risk(context.Background(), job, &res); err != nil {
		fmt.Fprintf(stderr, "ballastctl risk: %v\n", err)
		return exitFail
	}
	h := job.Hash()
	out := riskOutput{
		VaR: res.VaR[0], ES: res.ES[0], MeanLoss: res.MeanLoss[0], Scenarios: res.Scenarios,
		Seed: *seed, Alpha: *alpha, Backend: res.Backend, EpochHash: hex.EncodeToString(h[:]),
	}
	if math.IsNaN(out.VaR) || math.IsNaN(out.ES) {
		fmt.Fprintln(stderr, "ballastctl risk: the loss vector is not finite")
		return exitFail
	}
	enc := json.NewEncoder(stdout)
	if err := enc.Encode(out); err != nil {
		fmt.Fprintf(stderr, "ballastctl risk: %v\n", err)
		return exitFail
	}
	return exitOK
}
