// Command gen generates engine/sbe/messages_gen.go from the FIX SBE 1.0 XML
// schema engine/sbe/ballast-sbe.xml, the single source of truth of Ballast's
// binary verdict protocol (DESIGN §5.2): the schema constants, the message
// header codec, the enum types and a zero-allocation codec per message.
//
// Run it from the repository root with `go run ./engine/sbe/internal/gen`
// (or `go generate ./engine/sbe/`). With -check it writes nothing and exits 1
// when the file on disk differs from what it would write, naming the file.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

// Paths relative to the repository root.
const (
	schemaPath = "engine/sbe/ballast-sbe.xml"
	outputPath = "engine/sbe/messages_gen.go"
)

func main() {
	root := flag.String("root", ".", "repository root")
	check := flag.Bool("check", false, "write nothing; exit 1 if the generated file is stale")
	flag.Parse()
	if err := run(*root, *check); err != nil {
		fmt.Fprintln(os.Stderr, "sbe gen:", err)
		if errors.Is(err, errStale) {
			os.Exit(1)
		}
		os.Exit(2)
	}
}

var errStale = errors.New("stale")

func run(root string, check bool) error {
	src, err := os.ReadFile(filepath.Join(root, schemaPath))
	if err != nil {
		return err
	}
	out, err := Generate(src)
	if err != nil {
		return fmt.Errorf("%s: %w", schemaPath, err)
	}
	p := filepath.Join(root, outputPath)
	old, err := os.ReadFile(p)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if bytes.Equal(old, out) {
		return nil
	}
	if check {
		return fmt.Errorf("%s is %w: run `go run ./engine/sbe/internal/gen`", outputPath, errStale)
	}
	if err := os.WriteFile(p, out, 0o644); err != nil {
		return err
	}
	fmt.Printf("sbe gen: wrote %s\n", outputPath)
	return nil
}
