package main

import (
	"os"
	"path/filepath"
	"testing"
)

// The engine's test book, for runs without the demo universe.
const (
	childEnv     = "BALLASTD_TEST_CHILD"
	testMaster   = "../../engine/testdata/master.json"
	testAccounts = "../../engine/testdata/accounts.json"
)

// TestMain moves the appliance's default listeners to free ports and its
// default data and shared-memory directories to a temporary directory, so
// that tests never touch the real defaults (or each other's state: each
// run of the binary shares the one temporary data directory, which is what
// a restart test wants; tests that need a fresh state pass --data).
//
// With BALLASTD_TEST_CHILD=1 in its environment the test binary is
// ballastd itself (its arguments are ballastd's), so that tests can run the
// appliance as a separate process — to kill it with SIGKILL.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		main()
	}
	dir, err := os.MkdirTemp("", "ballastd-test-")
	if err != nil {
		panic(err)
	}
	defaultHTTPAddr, defaultSBEAddr = "127.0.0.1:0", "127.0.0.1:0"
	defaultDataDir = filepath.Join(dir, "data")
	defaultShmDir = filepath.Join(dir, "shm")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
