package fxp

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/ballast-risk/ballast/accel/internal/gen/tables"
)

// The generated files on disk must be exactly what the generator writes
// now: accel/fxp/tables_gen.go, every hdl/mem/*.memh (and no stray one) and
// hdl/rtl/ballast_tables_pkg.sv. Regenerate with `go generate ./accel/...`.
func TestGeneratedFilesUpToDate(t *testing.T) {
	files, err := tables.Files()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join("..", "..")
	want := map[string]bool{}
	for _, f := range files {
		want[filepath.ToSlash(f.Path)] = true
		got, err := os.ReadFile(filepath.Join(root, f.Path))
		if err != nil {
			t.Errorf("%s: %v (run `go generate ./accel/...`)", f.Path, err)
			continue
		}
		if !bytes.Equal(got, f.Data) {
			t.Errorf("%s is stale: run `go generate ./accel/...`", f.Path)
		}
	}
	mems, _ := filepath.Glob(filepath.Join(root, tables.MemDir, "*.memh"))
	for _, m := range mems {
		rel, _ := filepath.Rel(root, m)
		if !want[filepath.ToSlash(rel)] {
			t.Errorf("%s is not generated any more: remove it", rel)
		}
	}
	tabs, err := tables.Tables()
	if err != nil {
		t.Fatal(err)
	}
	if h := tables.Hash(tabs); h != TablesHash {
		t.Errorf("TablesHash %#08x, generator %#08x", TablesHash, h)
	}
}
