//go:build !linux

package journal

import (
	"fmt"
	"os"
)

// lockDir opens the lock file. Off Linux no advisory lock is taken: Ballast
// runs on Linux, and this build exists for development machines only.
func lockDir(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	return f, nil
}
