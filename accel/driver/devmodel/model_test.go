package devmodel

import (
	"errors"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/accel/internal/regs"
)

func mustRead(t *testing.T, m *Model, off uint32) uint32 {
	t.Helper()
	v, err := m.Read32(off)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustWrite(t *testing.T, m *Model, off, v uint32) {
	t.Helper()
	if err := m.Write32(off, v); err != nil {
		t.Fatal(err)
	}
}

func TestRegisterSemantics(t *testing.T) {
	m, err := New(WithTablesHash(0xCAFE), WithLanes(16))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for off, want := range map[uint32]uint32{
		regs.RegIDBlkID: 0xB0010001, regs.RegIDBlkNext: 0x100, regs.RegIDMagic: 0x424C5354, regs.RegIDABI: 0x10001,
		regs.RegIDTablesHash: 0xCAFE, regs.RegIDLanes: 16, regs.RegIDClkMHz: 250, regs.RegCtrlBlkNext: 0x200,
		regs.RegQueueBlkNext: 0, regs.RegStatus: regs.StatusIdle, regs.RegIDCaps: 3,
		regs.RegIDAggColsMax: 0, regs.RegIDScengenUMax: 0,
	} {
		if got := mustRead(t, m, off); got != want {
			t.Errorf("register %#x = %#x, want %#x", off, got, want)
		}
	}
	// Read-only registers ignore writes.
	mustWrite(t, m, regs.RegIDMagic, 0)
	if mustRead(t, m, regs.RegIDMagic) != regs.IDMagicValue {
		t.Error("ID_MAGIC took a write")
	}
	// Ring registers are writable only while disabled.
	mustWrite(t, m, regs.RegDQSizeLog2, 3)
	mustWrite(t, m, regs.RegDQSizeLog2, 13) // out of range: ignored
	mustWrite(t, m, regs.RegCtrl, regs.CtrlEnable)
	mustWrite(t, m, regs.RegDQSizeLog2, 5)
	if v := mustRead(t, m, regs.RegDQSizeLog2); v != 3 {
		t.Errorf("DQ_SIZE_LOG2 = %d, want 3", v)
	}
	// RW1C: writing 1 clears only that bit.
	m.mu.Lock()
	m.r.errBits, m.r.irqStatus = 0b1010, 0b11
	m.mu.Unlock()
	mustWrite(t, m, regs.RegError, 0b0010)
	mustWrite(t, m, regs.RegIRQStatus, regs.IRQStatusCpl)
	if e, i := mustRead(t, m, regs.RegError), mustRead(t, m, regs.RegIRQStatus); e != 0b1000 || i != regs.IRQStatusErr {
		t.Errorf("after RW1C: ERROR %#b IRQ_STATUS %#b", e, i)
	}
	// RESET self-clears and returns the queue to zero, keeping SCRATCH.
	mustWrite(t, m, regs.RegIDScratch, 0x5555)
	mustWrite(t, m, regs.RegCtrl, regs.CtrlReset)
	for i := 0; mustRead(t, m, regs.RegStatus)&regs.StatusResetting != 0; i++ {
		if i > 10000 {
			t.Fatal("RESETTING never cleared")
		}
		time.Sleep(10 * time.Microsecond)
	}
	if c, e, q, s := mustRead(t, m, regs.RegCtrl), mustRead(t, m, regs.RegError), mustRead(t, m, regs.RegDQSizeLog2), mustRead(t, m, regs.RegIDScratch); c != 0 || e != 0 || q != 0 || s != 0x5555 {
		t.Errorf("after reset: CTRL %#x ERROR %#x DQ_SIZE_LOG2 %d SCRATCH %#x", c, e, q, s)
	}
	// Accesses outside the BAR or misaligned are bus errors.
	if _, err := m.Read32(regs.BARBytes); !errors.Is(err, ErrBus) {
		t.Errorf("read past the BAR: %v", err)
	}
	if err := m.Write32(2, 0); !errors.Is(err, ErrBus) {
		t.Errorf("misaligned write: %v", err)
	}
	// Cycle counter runs.
	a := mustRead(t, m, regs.RegIDCyclesLo)
	time.Sleep(time.Millisecond)
	if b := mustRead(t, m, regs.RegIDCyclesLo); b == a {
		t.Error("ID_CYCLES does not advance")
	}
}

func TestOptionsValidate(t *testing.T) {
	for name, o := range map[string]Option{
		"zero memory":      WithMemory(0, DefaultIOVA),
		"unaligned memory": WithMemory(5000, DefaultIOVA),
		"zero IOVA":        WithMemory(4096, 0),
		"nil handler":      Handle(regs.OpGreeks, nil),
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}
