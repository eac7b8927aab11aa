package vsim

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/ballast-risk/ballast/accel"
)

// EnvBinary names the environment variable that overrides the harness path.
const EnvBinary = "BALLAST_VSIM"

// modulePath identifies the repository's go.mod when looking for its root.
const modulePath = "github.com/ballast-risk/ballast"

// binaryRel is the harness's path under the module root.
const binaryRel = "hdl/build/ballast-vsim"

// versionPrefix starts the harness's --version line.
const versionPrefix = "ballast-vsim "

// probeTimeout bounds `ballast-vsim --version`.
const probeTimeout = 10 * time.Second

// DefaultBinary is where the harness is looked for when Config.Binary is
// empty: $BALLAST_VSIM, else hdl/build/ballast-vsim under the module root
// found upwards from the working directory or from this executable.
func DefaultBinary() (string, error) { return resolveBinary("") }

func resolveBinary(bin string) (string, error) {
	if bin != "" {
		return bin, nil
	}
	if p := os.Getenv(EnvBinary); p != "" {
		return p, nil
	}
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		starts = append(starts, filepath.Dir(exe))
	}
	for _, dir := range starts {
		if root, ok := moduleRoot(dir); ok {
			return filepath.Join(root, filepath.FromSlash(binaryRel)), nil
		}
	}
	return "", fmt.Errorf("%w: vsim: no simulator binary: %s is unset and no %s checkout (go.mod) above %s; "+
		"build the harness with `make hdl` in the repository and set %s to its %s",
		accel.ErrUnavailable, EnvBinary, modulePath, strings.Join(starts, " or "), EnvBinary, binaryRel)
}

// moduleRoot walks up from dir to the directory whose go.mod declares
// modulePath.
func moduleRoot(dir string) (string, bool) {
	for {
		if f, err := os.Open(filepath.Join(dir, "go.mod")); err == nil {
			sc := bufio.NewScanner(f)
			found := false
			for sc.Scan() {
				if fields := strings.Fields(sc.Text()); len(fields) == 2 && fields[0] == "module" {
					found = fields[1] == modulePath
					break
				}
			}
			f.Close()
			if found {
				return dir, true
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// checkBinary checks that bin is an executable regular file.
func checkBinary(bin string) error {
	st, err := os.Stat(bin)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("%w: vsim: simulator binary %s does not exist; build it with `make hdl` "+
			"(needs verilator 5 and a C++17 compiler) or point %s at one", accel.ErrUnavailable, bin, EnvBinary)
	case err != nil:
		return fmt.Errorf("%w: vsim: simulator binary: %w", accel.ErrUnavailable, err)
	case !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0:
		return fmt.Errorf("%w: vsim: %s is not an executable file; rebuild it with `make hdl`", accel.ErrUnavailable, bin)
	}
	return nil
}

// Available reports whether the vsim backend can run here: nil when the
// harness binary (DefaultBinary) exists and answers --version, else an
// error wrapping accel.ErrUnavailable that says what is missing and how to
// build it.
func Available() error { return AvailableBinary("") }

// AvailableBinary is Available for a given harness path ("": DefaultBinary).
func AvailableBinary(bin string) error {
	bin, err := resolveBinary(bin)
	if err != nil {
		return err
	}
	if err := checkBinary(bin); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--version").CombinedOutput()
	if err != nil || !bytes.HasPrefix(out, []byte(versionPrefix)) {
		first, _, _ := strings.Cut(string(out), "\n")
		return fmt.Errorf("%w: vsim: %s --version failed (%v, output %q); rebuild it with `make hdl`",
			accel.ErrUnavailable, bin, err, first)
	}
	return nil
}
