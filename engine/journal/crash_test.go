package journal

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Environment of the crash child process.
const (
	crashDirEnv   = "BALLAST_JOURNAL_CRASH_DIR"
	crashRoundEnv = "BALLAST_JOURNAL_CRASH_ROUND"
	crashWriters  = 8
	crashRecBytes = 64
	// crashAppendsMax bounds the child if the parent never kills it.
	crashAppendsMax = 200_000
)

// TestCrashChild is the child half of TestCrashSIGKILL: it appends from
// several goroutines and prints "seq round writer index" for every
// acknowledged record, until killed.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("crash child: run by TestCrashSIGKILL")
	}
	round, err := strconv.ParseUint(os.Getenv(crashRoundEnv), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	j, _, err := Open(dir, testOpts(nil))
	if err != nil {
		fmt.Fprintf(os.Stdout, "error %v\n", err)
		os.Exit(2)
	}
	fmt.Fprintln(os.Stdout, "ready")
	var outMu sync.Mutex
	var wg sync.WaitGroup
	for w := range crashWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := make([]byte, crashRecBytes)
			line := make([]byte, 0, 64)
			for i := range crashAppendsMax / crashWriters {
				binary.LittleEndian.PutUint64(rec[0:8], round)
				binary.LittleEndian.PutUint64(rec[8:16], uint64(w))
				binary.LittleEndian.PutUint64(rec[16:24], uint64(i))
				seq, err := j.Append(context.Background(), rec)
				if err != nil {
					fmt.Fprintf(os.Stdout, "error %v\n", err)
					os.Exit(2)
				}
				line = fmt.Appendf(line[:0], "%d %d %d %d\n", seq, round, w, i)
				outMu.Lock()
				_, _ = os.Stdout.Write(line) // unbuffered: the ack is out before the next append
				outMu.Unlock()
			}
		}()
	}
	wg.Wait()
	os.Exit(0)
}

type crashAck struct{ round, writer, index uint64 }

// TestCrashSIGKILL kills a child process mid-stream several times and
// checks after each kill that every acknowledged record survived, in order,
// and that nothing but records actually submitted is in the log.
func TestCrashSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	acked := map[uint64]crashAck{}
	killAfter := []int{1, 200, 1500}
	for round, after := range killAfter {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashRoundEnv+"="+strconv.Itoa(round))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		n := 0
		killed := false
		deadline := time.AfterFunc(20*time.Second, func() { _ = cmd.Process.Kill() })
		for sc.Scan() {
			line := sc.Text()
			if line == "ready" {
				continue
			}
			if strings.HasPrefix(line, "error") {
				t.Fatalf("round %d child: %s", round, line)
			}
			f := strings.Fields(line)
			if len(f) != 4 {
				continue // test framework chatter
			}
			var v [4]uint64
			for i := range f {
				if v[i], err = strconv.ParseUint(f[i], 10, 64); err != nil {
					t.Fatalf("round %d: bad line %q", round, line)
				}
			}
			if _, dup := acked[v[0]]; dup {
				t.Fatalf("seq %d acknowledged twice", v[0])
			}
			acked[v[0]] = crashAck{v[1], v[2], v[3]}
			n++
			if n == after && !killed {
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				killed = true
			}
		}
		deadline.Stop()
		err = cmd.Wait()
		if !killed {
			t.Fatalf("round %d: child exited before the kill (%d acks): %v", round, n, err)
		}
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: child not killed by SIGKILL: %v", round, err)
		}
		t.Logf("round %d: %d acks read (kill after %d)", round, n, after)
		verifyCrash(t, dir, acked, uint64(round))
	}
}

// verifyCrash reopens dir and checks the log against the acknowledgements.
func verifyCrash(t *testing.T, dir string, acked map[uint64]crashAck, lastRound uint64) {
	t.Helper()
	j, info, err := Open(dir, testOpts(nil))
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer j.Close()
	seen := map[uint64]bool{}
	// next[round][writer] is the next index that writer must have logged.
	next := map[[2]uint64]uint64{}
	err = j.Replay(0, func(seq uint64, rec []byte) error {
		if len(rec) != crashRecBytes {
			return fmt.Errorf("seq %d: %d bytes", seq, len(rec))
		}
		got := crashAck{binary.LittleEndian.Uint64(rec[0:8]), binary.LittleEndian.Uint64(rec[8:16]), binary.LittleEndian.Uint64(rec[16:24])}
		if got.round > lastRound || got.writer >= crashWriters {
			return fmt.Errorf("seq %d: record %+v was never written", seq, got)
		}
		k := [2]uint64{got.round, got.writer}
		if got.index != next[k] {
			return fmt.Errorf("seq %d: writer %d round %d index %d, want %d", seq, got.writer, got.round, got.index, next[k])
		}
		next[k]++
		if want, ok := acked[seq]; ok && want != got {
			return fmt.Errorf("seq %d acknowledged as %+v, logged as %+v", seq, want, got)
		}
		seen[seq] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for seq := range acked {
		if !seen[seq] {
			t.Fatalf("acknowledged seq %d lost (log ends at %d, recovery %+v)", seq, info.LastSeq, info)
		}
	}
	// Each writer has at most one unacknowledged append in flight, so at most
	// one record per writer per round may exceed its acknowledgements.
	ackCount := map[[2]uint64]uint64{}
	for _, a := range acked {
		ackCount[[2]uint64{a.round, a.writer}]++
	}
	for k, n := range next {
		if n > ackCount[k]+1 {
			t.Fatalf("round %d writer %d: %d records logged, %d acknowledged", k[0], k[1], n, ackCount[k])
		}
	}
}
