// Command gen is Ballast's one generator for the accelerator's single
// sources of truth (issue 4, DESIGN §3): the fixed-point function tables
// (accel/internal/gen/tables) and the register map with the descriptor and
// completion formats (accel/internal/gen/regs). Each is emitted for Go, for
// the RTL ($readmemh images, SystemVerilog packages) and for the docs.
//
// Run it with `go generate ./accel/...` (see accel/generate.go). With -check
// it writes nothing and exits 1 when a file on disk differs from what it
// would write, naming the file: `make test` runs that.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ballast-risk/ballast/accel/internal/gen/regs"
	"github.com/ballast-risk/ballast/accel/internal/gen/tables"
)

// file is one generated file, its path relative to the repository root.
type file struct {
	path string
	data []byte
}

func collect() ([]file, error) {
	var out []file
	ts, err := tables.Files()
	if err != nil {
		return nil, fmt.Errorf("tables: %w", err)
	}
	for _, f := range ts {
		out = append(out, file{f.Path, f.Data})
	}
	rs, err := regs.Files()
	if err != nil {
		return nil, fmt.Errorf("registers: %w", err)
	}
	for _, f := range rs {
		out = append(out, file{f.Path, f.Data})
	}
	seen := make(map[string]bool, len(out))
	for _, f := range out {
		if seen[f.path] || filepath.IsAbs(f.path) || f.path != filepath.Clean(f.path) {
			return nil, fmt.Errorf("bad or duplicate output path %q", f.path)
		}
		seen[f.path] = true
	}
	return out, nil
}

func main() {
	root := flag.String("root", ".", "repository root")
	check := flag.Bool("check", false, "write nothing; exit 1 if any generated file is stale")
	flag.Parse()
	files, err := collect()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(2)
	}
	stale := 0
	for _, f := range files {
		p := filepath.Join(*root, f.path)
		old, err := os.ReadFile(p)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(2)
		}
		if bytes.Equal(old, f.data) {
			continue
		}
		if *check {
			fmt.Fprintf(os.Stderr, "gen: %s is stale: run `go generate ./accel/...`\n", f.path)
			stale++
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(2)
		}
		if err := os.WriteFile(p, f.data, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(2)
		}
		fmt.Printf("gen: wrote %s\n", f.path)
	}
	if stale > 0 {
		os.Exit(1)
	}
}
