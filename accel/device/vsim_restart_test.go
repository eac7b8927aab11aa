package device

import (
	"context"
	"syscall"
	"testing"
	"time"
)

// TestVsimResetRestartsDeadSimulator kills the simulator process: the
// device fails, and Reset (what accel/failover calls before a retry)
// restarts the simulator and re-programs the driver, after which the
// device works again.
func TestVsimResetRestartsDeadSimulator(t *testing.T) {
	b := openVsim(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if got, err := b.Device().SelfTestCopy(ctx, []byte("before")); err != nil || string(got) != "before" {
		t.Fatalf("self-test before the kill: %q, %v", got, err)
	}
	pid := b.Sim().PID()
	if pid <= 0 {
		t.Fatalf("simulator pid %d", pid)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// The device fails once the simulator is seen dead.
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := b.Device().SelfTestCopy(ctx, []byte("while dead"))
		if err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the device still answers after its simulator was killed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := b.Reset(); err != nil {
		t.Fatalf("reset after the kill: %v", err)
	}
	if npid := b.Sim().PID(); npid == pid || npid <= 0 {
		t.Fatalf("simulator pid %d after the restart (was %d)", npid, pid)
	}
	if got, err := b.Device().SelfTestCopy(ctx, []byte("after")); err != nil || string(got) != "after" {
		t.Fatalf("self-test after the restart: %q, %v", got, err)
	}
	// A Reset of a live simulator does not restart it.
	pid = b.Sim().PID()
	if err := b.Reset(); err != nil || b.Sim().PID() != pid {
		t.Fatalf("reset of a live simulator: %v, pid %d → %d", err, pid, b.Sim().PID())
	}
}
