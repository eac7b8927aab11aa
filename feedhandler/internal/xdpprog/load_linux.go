//go:build linux

package xdpprog

import (
	"errors"
	"fmt"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"
)

// Sentinel errors.
var (
	// ErrUnsupported reports that the kernel refuses to load or attach the
	// program (no BPF, missing privileges, no XDP support in the driver for
	// the requested mode). The wrapped error carries the errno.
	ErrUnsupported = errors.New("xdpprog: XDP unsupported")
	// ErrClosed reports use of a closed Program.
	ErrClosed = errors.New("xdpprog: program closed")
	// ErrAttached reports a second Attach without a Detach.
	ErrAttached = errors.New("xdpprog: already attached")
)

// AttachMode selects where the XDP program runs.
type AttachMode uint8

// Attach modes.
const (
	// AttachAuto tries driver mode and falls back to generic mode.
	AttachAuto AttachMode = iota
	// AttachDriver runs the program in the driver's receive path (native
	// XDP); the driver must support it.
	AttachDriver
	// AttachGeneric runs the program on the skb after the driver (SKB
	// mode); works on every interface, at a higher cost per packet.
	AttachGeneric
)

// String returns the mode's name.
func (m AttachMode) String() string {
	switch m {
	case AttachAuto:
		return "auto"
	case AttachDriver:
		return "driver"
	case AttachGeneric:
		return "generic"
	}
	return fmt.Sprintf("AttachMode(%d)", uint8(m))
}

// Counters are the program's packet counters, summed over CPUs.
type Counters struct {
	// Redirected counts packets sent to an AF_XDP socket.
	Redirected uint64
	// NoSocket counts feed packets passed to the stack because no socket
	// was registered for the rx queue they arrived on.
	NoSocket uint64
	// Passed counts packets that were not the feed.
	Passed uint64
}

// Program is the loaded XDP program and its maps. The map methods
// (SetPort, Port, Register, Unregister, Counters, Test) may run
// concurrently with each other; Attach, Detach and Close may not run
// concurrently with anything.
type Program struct {
	coll     *ebpf.Collection
	prog     *ebpf.Program
	xsks     *ebpf.Map
	config   *ebpf.Map
	counters *ebpf.Map
	link     link.Link
	mode     AttachMode // the mode attached in, when link != nil
}

var memlockOnce sync.Once

// Spec returns the collection spec of the program and its maps.
func Spec() *ebpf.CollectionSpec {
	return &ebpf.CollectionSpec{
		Maps: map[string]*ebpf.MapSpec{
			XSKMapName: {Name: XSKMapName, Type: ebpf.XSKMap, KeySize: 4, ValueSize: 4, MaxEntries: QueuesMax},
			ConfigMap:  {Name: ConfigMap, Type: ebpf.Array, KeySize: 4, ValueSize: 4, MaxEntries: 1},
			CountersMap: {Name: CountersMap, Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 8,
				MaxEntries: countersLen},
		},
		Programs: map[string]*ebpf.ProgramSpec{
			ProgramName: {
				Name:         ProgramName,
				Type:         ebpf.XDP,
				License:      "Dual MIT/GPL",
				Instructions: Instructions(),
			},
		},
	}
}

// Load loads the program and its maps into the kernel with the feed port
// set to port (0: redirect nothing). It does not attach the program.
func Load(port uint16) (*Program, error) {
	// Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK; later ones
	// use memory cgroups and this is a no-op.
	memlockOnce.Do(func() { _ = rlimit.RemoveMemlock() })
	coll, err := ebpf.NewCollection(Spec())
	if err != nil {
		return nil, loadErr("load XDP program", err)
	}
	p := &Program{
		coll:     coll,
		prog:     coll.Programs[ProgramName],
		xsks:     coll.Maps[XSKMapName],
		config:   coll.Maps[ConfigMap],
		counters: coll.Maps[CountersMap],
	}
	if err := p.SetPort(port); err != nil {
		coll.Close()
		return nil, err
	}
	return p, nil
}

// loadErr wraps err, adding ErrUnsupported when the kernel refused BPF
// itself rather than the program.
func loadErr(op string, err error) error {
	var verr *ebpf.VerifierError
	switch {
	case errors.As(err, &verr):
		// The verifier log tail names the offending instruction.
		return fmt.Errorf("xdpprog: %s: %w", op, err)
	case errors.Is(err, ebpf.ErrNotSupported), errors.Is(err, unix.EPERM),
		errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EACCES), errors.Is(err, unix.EOPNOTSUPP):
		return fmt.Errorf("xdpprog: %s: %w: %w", op, ErrUnsupported, err)
	}
	return fmt.Errorf("xdpprog: %s: %w", op, err)
}

// BPF returns the underlying program, for BPF_PROG_TEST_RUN and
// introspection. It stays owned by p.
func (p *Program) BPF() *ebpf.Program { return p.prog }

// Test runs the program once on frame with BPF_PROG_TEST_RUN (rx queue 0)
// and returns its verdict. Nothing is redirected for real.
func (p *Program) Test(frame []byte) (Action, error) {
	if p.coll == nil {
		return 0, ErrClosed
	}
	ret, err := p.prog.Run(&ebpf.RunOptions{Data: frame})
	if err != nil {
		return 0, loadErr("BPF_PROG_TEST_RUN", err)
	}
	return Action(ret), nil
}

// SetPort changes the UDP destination port the loaded program redirects;
// 0 redirects nothing. Packets see the new port at once.
func (p *Program) SetPort(port uint16) error {
	if p.coll == nil {
		return ErrClosed
	}
	if err := p.config.Update(uint32(0), uint32(port), ebpf.UpdateAny); err != nil {
		return fmt.Errorf("xdpprog: set port %d: %w", port, err)
	}
	return nil
}

// Port returns the UDP destination port the program redirects.
func (p *Program) Port() (uint16, error) {
	if p.coll == nil {
		return 0, ErrClosed
	}
	var v uint32
	if err := p.config.Lookup(uint32(0), &v); err != nil {
		return 0, fmt.Errorf("xdpprog: read port: %w", err)
	}
	return uint16(v), nil
}

// Register steers feed packets arriving on rx queue queueID to the AF_XDP
// socket fd, replacing any previous socket for that queue.
func (p *Program) Register(queueID, fd int) error {
	if p.coll == nil {
		return ErrClosed
	}
	if queueID < 0 || queueID >= QueuesMax {
		return fmt.Errorf("xdpprog: queue %d outside [0, %d)", queueID, QueuesMax)
	}
	if err := p.xsks.Update(uint32(queueID), uint32(fd), ebpf.UpdateAny); err != nil {
		return fmt.Errorf("xdpprog: register AF_XDP socket %d for queue %d: %w", fd, queueID, err)
	}
	return nil
}

// Unregister removes the socket for rx queue queueID; its feed packets go
// to the kernel stack again.
func (p *Program) Unregister(queueID int) error {
	if p.coll == nil {
		return ErrClosed
	}
	if queueID < 0 || queueID >= QueuesMax {
		return fmt.Errorf("xdpprog: queue %d outside [0, %d)", queueID, QueuesMax)
	}
	if err := p.xsks.Delete(uint32(queueID)); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return fmt.Errorf("xdpprog: unregister queue %d: %w", queueID, err)
	}
	return nil
}

// Attach attaches the program to the interface with a BPF link, which the
// kernel removes if the process dies. AttachAuto tries driver mode first and
// falls back to generic mode; the mode used is returned. An interface that
// already runs an XDP program is refused (EBUSY), never replaced.
func (p *Program) Attach(ifindex int, mode AttachMode) (AttachMode, error) {
	if p.coll == nil {
		return 0, ErrClosed
	}
	if p.link != nil {
		return 0, ErrAttached
	}
	if ifindex <= 0 {
		return 0, fmt.Errorf("xdpprog: attach: bad ifindex %d", ifindex)
	}
	switch mode {
	case AttachDriver, AttachGeneric:
		if err := p.attach(ifindex, mode); err != nil {
			return 0, err
		}
	case AttachAuto:
		errDrv := p.attach(ifindex, AttachDriver)
		if errDrv == nil {
			break
		}
		if errors.Is(errDrv, unix.EBUSY) || errors.Is(errDrv, unix.EEXIST) {
			return 0, errDrv
		}
		if errGen := p.attach(ifindex, AttachGeneric); errGen != nil {
			return 0, fmt.Errorf("%w; then %w", errDrv, errGen)
		}
	default:
		return 0, fmt.Errorf("xdpprog: attach: unknown mode %d", mode)
	}
	return p.mode, nil
}

func (p *Program) attach(ifindex int, mode AttachMode) error {
	flags := link.XDPDriverMode
	if mode == AttachGeneric {
		flags = link.XDPGenericMode
	}
	l, err := link.AttachXDP(link.XDPOptions{Program: p.prog, Interface: ifindex, Flags: flags})
	if err != nil {
		return loadErr(fmt.Sprintf("attach to ifindex %d in %s mode", ifindex, mode), err)
	}
	p.link, p.mode = l, mode
	return nil
}

// Attached reports whether the program is attached, and in which mode.
func (p *Program) Attached() (AttachMode, bool) { return p.mode, p.link != nil }

// Detach removes the program from its interface; detaching a program that
// is not attached does nothing.
func (p *Program) Detach() error {
	if p.link == nil {
		return nil
	}
	err := p.link.Close()
	p.link = nil
	if err != nil {
		return fmt.Errorf("xdpprog: detach: %w", err)
	}
	return nil
}

// Counters returns the packet counters summed over CPUs.
func (p *Program) Counters() (Counters, error) {
	if p.coll == nil {
		return Counters{}, ErrClosed
	}
	var sums [countersLen]uint64
	var perCPU []uint64
	for i := range sums {
		if err := p.counters.Lookup(uint32(i), &perCPU); err != nil {
			return Counters{}, fmt.Errorf("xdpprog: read counter %d: %w", i, err)
		}
		for _, v := range perCPU {
			sums[i] += v
		}
	}
	return Counters{
		Redirected: sums[counterRedirected],
		NoSocket:   sums[counterNoSocket],
		Passed:     sums[counterPassed],
	}, nil
}

// Close detaches the program and releases it and its maps. Closing twice
// returns ErrClosed.
func (p *Program) Close() error {
	if p.coll == nil {
		return ErrClosed
	}
	err := p.Detach()
	p.coll.Close()
	p.coll, p.prog, p.xsks, p.config, p.counters = nil, nil, nil, nil, nil
	return err
}
