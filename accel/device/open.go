package device

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/accel/driver"
	"github.com/ballast-risk/ballast/accel/driver/devmodel"
	"github.com/ballast-risk/ballast/accel/fpga"
	"github.com/ballast-risk/ballast/accel/fxp"
	"github.com/ballast-risk/ballast/accel/vsim"
)

// driverConfig defaults the function-tables check to this build's tables
// (fxp.TablesHash): a device with other tables would give other numbers.
func driverConfig(c driver.Config) driver.Config {
	if c.TablesHash == 0 {
		c.TablesHash = fxp.TablesHash
	}
	return c
}

func options(c driver.Config) []Option {
	if c.ArenaBytes > 0 {
		return []Option{WithArenaBytes(c.ArenaBytes)}
	}
	return nil
}

// OpenVsim starts the Verilator simulator (vsim.Start with vcfg) and opens
// the driver over it (dcfg; TablesHash 0 means fxp.TablesHash). A missing
// or broken harness binary is vsim's availability error (wrapping
// accel.ErrUnavailable, saying how to build it); a simulator that does not
// start wraps accel.ErrUnavailable too. The returned function closes the
// driver, then stops the simulator.
func OpenVsim(ctx context.Context, vcfg vsim.Config, dcfg driver.Config) (*Backend, func() error, error) {
	if err := vsim.AvailableBinary(vcfg.Binary); err != nil {
		return nil, nil, err
	}
	sim, err := vsim.Start(ctx, vcfg)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: device vsim: start the simulator: %w", accel.ErrUnavailable, err)
	}
	dev, err := driver.Open(sim.Bar(), sim.Memory(), driverConfig(dcfg))
	if err != nil {
		return nil, nil, errors.Join(fmt.Errorf("device vsim: open the driver: %w", err), sim.Close())
	}
	closer := func() error { return errors.Join(dev.Close(), sim.Close()) }
	b := New(NameVsim, dev, options(dcfg)...)
	b.sim = sim
	b.revive = func() error {
		if sim.Err() == nil {
			return nil
		}
		rctx, cancel := context.WithTimeout(context.Background(), vsimRestartTimeout)
		defer cancel()
		if err := sim.Restart(rctx); err != nil {
			return fmt.Errorf("device vsim: restart the simulator: %w", err)
		}
		return nil
	}
	return b, closer, nil
}

// vsimRestartTimeout bounds a simulator restart in Reset.
const vsimRestartTimeout = 30 * time.Second

// OpenFPGA opens the card (fpga.Open with fcfg) and the driver over it
// (dcfg; TablesHash 0 means fxp.TablesHash; the card's interrupt is used
// when it has one and dcfg.WaitIRQ is nil). An absent or unusable card is
// fpga's *fpga.UnavailableError (wrapping accel.ErrUnavailable) listing
// every reason. The returned function closes the driver, then the card.
func OpenFPGA(fcfg fpga.Config, dcfg driver.Config) (*Backend, func() error, error) {
	card, err := fpga.Open(fcfg)
	if err != nil {
		if errors.Is(err, accel.ErrUnavailable) {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("%w: device fpga: %w", accel.ErrUnavailable, err)
	}
	dcfg = driverConfig(dcfg)
	if dcfg.WaitIRQ == nil {
		// A done context makes WaitIRQ answer at once: ErrNoIRQ without an
		// interrupt, the context's error with one.
		probe, cancel := context.WithCancel(context.Background())
		cancel()
		if !errors.Is(card.WaitIRQ(probe), fpga.ErrNoIRQ) {
			dcfg.WaitIRQ = card.WaitIRQ
		}
	}
	dev, err := driver.Open(card.Bar(), card.Memory(), dcfg)
	if err != nil {
		return nil, nil, errors.Join(fmt.Errorf("device fpga: open the driver: %w", err), card.Close())
	}
	closer := func() error { return errors.Join(dev.Close(), card.Close()) }
	return New(NameFPGA, dev, options(dcfg)...), closer, nil
}

// OpenModel starts a Go device model with the risk kernel
// (devmodel.WithRiskKernel, this build's tables hash, then opts) and opens
// the driver over it (dcfg; TablesHash 0 means fxp.TablesHash). The model
// is returned for tests (fault injection, stalls). The returned function
// closes the driver, then the model.
func OpenModel(dcfg driver.Config, opts ...devmodel.Option) (*Backend, *devmodel.Model, func() error, error) {
	all := append([]devmodel.Option{devmodel.WithRiskKernel(), devmodel.WithTablesHash(fxp.TablesHash)}, opts...)
	m, err := devmodel.New(all...)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("device model: %w", err)
	}
	dev, err := driver.Open(m, m, driverConfig(dcfg))
	if err != nil {
		return nil, nil, nil, errors.Join(fmt.Errorf("device model: open the driver: %w", err), m.Close())
	}
	closer := func() error { return errors.Join(dev.Close(), m.Close()) }
	return New(NameModel, dev, options(dcfg)...), m, closer, nil
}
