package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/cpuid/v2"
	"golang.org/x/sys/unix"
)

// Meta is what every figure records: how it was made and where.
type Meta struct {
	// Command is the command line that produced the report.
	Command string `json:"command"`
	// Commit is the source revision (git rev-parse --short HEAD, "+dirty"
	// when the working tree differs from it).
	Commit string `json:"commit"`
	// Date is when the run started (UTC).
	Date time.Time `json:"date"`
	// Machine describes the host.
	Machine Machine `json:"machine"`
}

// Machine describes the host the figures were measured on.
type Machine struct {
	Hostname   string `json:"hostname"`
	Uname      string `json:"uname"`
	OS         string `json:"os"`
	Arch       string `json:"arch"`
	Cores      int    `json:"cores"` // logical CPUs the OS offers
	GOMAXPROCS int    `json:"gomaxprocs"`
	GoVersion  string `json:"go_version"`
	CPU        CPU    `json:"cpu"`
}

// CPU is the processor as cpuid reports it.
type CPU struct {
	Model          string   `json:"model"`
	Vendor         string   `json:"vendor"`
	Family         int      `json:"family"`
	ModelNumber    int      `json:"model_number"`
	PhysicalCores  int      `json:"physical_cores"`
	LogicalCores   int      `json:"logical_cores"`
	ThreadsPerCore int      `json:"threads_per_core"`
	HzNominal      int64    `json:"hz_nominal,omitempty"`
	L1DBytes       int      `json:"l1d_bytes"`
	L2Bytes        int      `json:"l2_bytes"`
	L3Bytes        int      `json:"l3_bytes"`
	Features       []string `json:"features"`
}

// Summary is the machine in one line.
func (m Machine) Summary() string {
	return m.CPU.Model + ", " + itoa(m.Cores) + " cores (GOMAXPROCS " + itoa(m.GOMAXPROCS) + "), " + m.Uname + ", " + m.GoVersion
}

// FeatureLine lists the CPU features, space-separated.
func (m Machine) FeatureLine() string { return strings.Join(m.CPU.Features, " ") }

// thisMachine describes the running host.
func thisMachine() Machine {
	m := Machine{OS: runtime.GOOS, Arch: runtime.GOARCH, Cores: runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version()}
	m.Hostname, _ = os.Hostname()
	var u unix.Utsname
	if err := unix.Uname(&u); err == nil {
		m.Uname = unix.ByteSliceToString(u.Sysname[:]) + " " + unix.ByteSliceToString(u.Release[:]) + " " + unix.ByteSliceToString(u.Machine[:])
	} else {
		m.Uname = runtime.GOOS + " " + runtime.GOARCH
	}
	c := cpuid.CPU
	m.CPU = CPU{Model: strings.TrimSpace(c.BrandName), Vendor: c.VendorString, Family: c.Family, ModelNumber: c.Model,
		PhysicalCores: c.PhysicalCores, LogicalCores: c.LogicalCores, ThreadsPerCore: c.ThreadsPerCore,
		HzNominal: c.Hz, L1DBytes: c.Cache.L1D, L2Bytes: c.Cache.L2, L3Bytes: c.Cache.L3, Features: c.FeatureSet()}
	if m.CPU.Model == "" {
		m.CPU.Model = "unknown CPU"
	}
	return m
}

// gitCommit returns the short commit of the working tree at dir, with
// "+dirty" when tracked files differ from it, or "unknown" outside a
// repository. It only reads.
func gitCommit(ctx context.Context, dir string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", "rev-parse", "--short", "HEAD")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "unknown"
	}
	commit := string(bytes.TrimSpace(out))
	diff := exec.CommandContext(ctx, "git", "diff", "--quiet", "HEAD")
	diff.Dir = dir
	if err := diff.Run(); err != nil {
		commit += "+dirty"
	}
	return commit
}

// repoRoot walks up from dir to the directory holding go.mod.
func repoRoot(dir string) (string, bool) {
	for {
		if st, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil && !st.IsDir() {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
