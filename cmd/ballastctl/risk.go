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
	"slices"
	"strings"
	"time"

	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/accel/cpu"
	"github.com/ballast-risk/ballast/accel/device"
	"github.com/ballast-risk/ballast/accel/driver"
	"github.com/ballast-risk/ballast/accel/driver/devmodel"
	"github.com/ballast-risk/ballast/accel/fpga"
	ajob "github.com/ballast-risk/ballast/accel/job"
	"github.com/ballast-risk/ballast/accel/vsim"
	"github.com/ballast-risk/ballast/engine/jsonfile"
	"github.com/ballast-risk/ballast/engine/kernel"
	"github.com/ballast-risk/ballast/engine/riskfile"
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

// Device backends' bounds.
const (
	// memSlackBytes is the memory a device backend gets beyond the batch's
	// buffers: the descriptor and completion rings, page rounding.
	memSlackBytes = 1 << 20
	// vsimJobTimeout bounds one batch under co-simulation (the RTL runs at
	// a few million cycles per second).
	vsimJobTimeout = 10 * time.Minute
	// vsimStartTimeout bounds the simulator's start.
	vsimStartTimeout = time.Minute
)

// backendNames are the values of --accel.
var backendNames = []string{"reference", "cpu", "model", "vsim", "fpga"}

// backendFor resolves --accel for job: "reference" is the float64 engine,
// "cpu" the fixed-point kernel on every core, "model" the device path
// (driver, rings, DMA buffers) over the Go device model, "vsim" the RTL
// under Verilator (started for this run) and "fpga" the card. The device
// backends' memory is sized for the job. The returned function releases
// the backend; a device that is absent, or that cannot run the job, is an
// error wrapping accel.ErrUnavailable that says why.
func backendFor(ctx context.Context, name string, job *accel.RiskJob) (accel.Backend, func() error, error) {
	none := func() error { return nil }
	switch name {
	case "reference":
		return &kernel.Reference{}, none, nil
	case "cpu":
		return &cpu.Backend{}, none, nil
	}
	p, err := ajob.NewPlan(job)
	if err != nil {
		return nil, nil, err
	}
	mem := (device.ArenaBytesFor(p) + memSlackBytes + 4095) &^ 4095
	switch name {
	case "model":
		if mem > devmodel.MemoryBytesMax {
			return nil, nil, fmt.Errorf("%w: model: the batch needs %d bytes of device memory, the model has at most %d", accel.ErrUnavailable, mem, devmodel.MemoryBytesMax)
		}
		b, _, closer, err := device.OpenModel(driver.Config{}, devmodel.WithMemory(mem, devmodel.DefaultIOVA))
		return b, closer, err
	case "vsim":
		sctx, cancel := context.WithTimeout(ctx, vsimStartTimeout)
		defer cancel()
		return device.OpenVsim(sctx, vsim.Config{MemBytes: max(mem, vsim.DefaultMemBytes)}, driver.Config{JobTimeout: vsimJobTimeout})
	case "fpga":
		if mem > fpga.MemBytesMax {
			return nil, nil, fmt.Errorf("%w: fpga: the batch needs %d bytes of DMA memory, at most %d", accel.ErrUnavailable, mem, fpga.MemBytesMax)
		}
		return device.OpenFPGA(fpga.Config{MemBytes: max(mem, fpga.DefaultMemBytes)}, driver.Config{})
	}
	return nil, nil, fmt.Errorf("unknown backend %q (want %s)", name, strings.Join(backendNames, ", "))
}

func runRisk(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("risk", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("file", "", "market-and-portfolio JSON `FILE` (DESIGN §5.1)")
	n := fs.Int("scenarios", 10000, "Monte Carlo scenario `count`")
	seed := fs.Uint64("seed", 1, "scenario `seed`")
	alpha := fs.Float64("alpha", 0.99, "confidence level of VaR and ES, in (0, 1)")
	backend := fs.String("accel", "reference", "backend: reference|cpu|model|vsim|fpga")
	repair := fs.Bool("repair", false, "repair a correlation matrix that is not positive semi-definite instead of refusing it")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ballastctl risk --file FILE --scenarios N --seed K --alpha A [--accel reference|cpu|model|vsim|fpga]")
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
	if !slices.Contains(backendNames, *backend) {
		fmt.Fprintf(stderr, "ballastctl risk: unknown backend %q (want %s)\n", *backend, strings.Join(backendNames, ", "))
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
	ctx := context.Background()
	b, closer, err := backendFor(ctx, *backend, job)
	if err != nil {
		fmt.Fprintf(stderr, "ballastctl risk: %v\n", err)
		return exitFail
	}
	var res accel.RiskResult
	err = b.Risk(ctx, job, &res)
	if cerr := closer(); cerr != nil {
		fmt.Fprintf(stderr, "ballastctl risk: closing %s: %v\n", *backend, cerr)
	}
	if err != nil {
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
