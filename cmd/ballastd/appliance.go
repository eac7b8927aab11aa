package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/engine"
	"github.com/ballast-risk/ballast/engine/account"
	"github.com/ballast-risk/ballast/engine/attest"
	"github.com/ballast-risk/ballast/engine/dashboard"
	"github.com/ballast-risk/ballast/engine/httpapi"
	"github.com/ballast-risk/ballast/engine/instrument"
	"github.com/ballast-risk/ballast/engine/journal"
	"github.com/ballast-risk/ballast/engine/sbe"
	"github.com/ballast-risk/ballast/engine/verdict"
	"github.com/ballast-risk/ballast/sim/itchgen"
	"github.com/ballast-risk/ballast/sim/portfolio"
)

// Appliance defaults and bounds.
// The listeners' and the data's defaults (variables so that the tests can
// move them to free ports and temporary directories).
var (
	defaultHTTPAddr = "127.0.0.1:8080"
	defaultSBEAddr  = "127.0.0.1:9070"
	defaultShmDir   = "/dev/shm/ballast"
	defaultDataDir  = "ballast-data"
)

const (
	// defaultShmSlots is the number of shared-memory sessions offered.
	defaultShmSlots = 4
	// defaultEpochEvery is the risk epoch period.
	defaultEpochEvery = 2 * time.Second
	epochEveryMin     = 50 * time.Millisecond
	epochEveryMax     = time.Hour
	// defaultSnapshotEvery is the durable snapshot period.
	defaultSnapshotEvery = time.Minute
	snapshotEveryMin     = time.Second
	snapshotEveryMax     = 24 * time.Hour
	// vsimScenariosDefault is --scenarios's default with --accel=vsim.
	vsimScenariosDefault = 1000
	// scenariosMax bounds --scenarios.
	scenariosMax = 1 << 20
	// feedLiveWindow is how recent the latest tick must be for /readyz.
	feedLiveWindow = 5 * time.Second
	// epochDrainTimeout bounds the wait for the epoch in flight at
	// shutdown.
	epochDrainTimeout = 10 * time.Second
	// shutdownTimeout bounds the servers' drain at shutdown.
	shutdownTimeout = 5 * time.Second
	// noticesLoggedMax bounds the notices logged per sweep (the rest are
	// counted in one line).
	noticesLoggedMax = 8
	// tokenSecretBytesMax is the SBE Login token field's size.
	tokenSecretBytesMax = 64
	// tokensMax bounds --token.
	tokensMax = 1024
	// demoTokenPrefix prefixes the demo universe's tokens.
	demoTokenPrefix = "demo-"
)

// tokenFlags collects repeatable --token ROLE=SECRET flags as
// secret → role.
type tokenFlags map[string]string

func (t tokenFlags) String() string { return fmt.Sprintf("%d tokens", len(t)) }

func (t tokenFlags) Set(v string) error {
	role, secret, ok := strings.Cut(v, "=")
	if !ok || secret == "" {
		return fmt.Errorf("%q: want ROLE=SECRET", v)
	}
	if err := checkRole(role); err != nil {
		return err
	}
	if len(secret) > tokenSecretBytesMax || strings.IndexByte(secret, 0) >= 0 {
		return fmt.Errorf("secret of role %s: at most %d bytes, no NUL", role, tokenSecretBytesMax)
	}
	if _, dup := t[secret]; dup {
		return fmt.Errorf("the secret of role %s is already given to another role", role)
	}
	if len(t) >= tokensMax {
		return fmt.Errorf("more than %d tokens", tokensMax)
	}
	t[secret] = role
	return nil
}

func checkRole(role string) error {
	switch {
	case role == httpapi.RoleAdmin, role == httpapi.RoleOps:
		return nil
	case strings.HasPrefix(role, httpapi.RoleFirmPrefix):
		if err := account.CheckFirm(strings.TrimPrefix(role, httpapi.RoleFirmPrefix)); err != nil {
			return fmt.Errorf("role %q: %v", role, err)
		}
		return nil
	}
	return fmt.Errorf("role %q: want admin, ops or firm:<id>", role)
}

// applianceConfig is the verdict side of the options.
type applianceConfig struct {
	dataDir       string
	httpAddr      string // "" disables the HTTP API
	sbeAddr       string // "" disables SBE over TCP
	shmDir        string // "" disables SBE over shared memory
	shmSlots      int
	tokens        tokenFlags
	masterFile    string // with accountsFile: the universe (else the demo universe)
	accountsFile  string
	attestorsFile string // the attestation allow-list ("" refuses attestations)
	scenarios     int
	epochEvery    time.Duration
	snapshotEvery time.Duration
	// busyPoll and busyPollers are the SBE/TCP readers' busy polling
	// (verdict.Config.BusyPoll, BusyPollers; busyPoll 0: off).
	busyPoll    time.Duration
	busyPollers int
	// httpBusyPoll is the HTTP API's (httpapi.Config.BusyPoll, with
	// busyPollers readers at most; 0: off).
	httpBusyPoll time.Duration
}

// appliance is the risk engine with its durable state and verdict servers.
type appliance struct {
	cfg applianceConfig
	log *slog.Logger
	eng *engine.Engine
	j   *journal.Journal
	svc *verdict.EngineService
	// hsvc is the HTTP API's service (also the market events' way to the
	// vol surfaces).
	hsvc     *httpapi.EngineService
	sbeSrv   *verdict.Server // nil when SBE is off on both transports
	httpSrv  *httpapi.Server // nil when the HTTP API is off
	sbeLn    net.Listener
	httpLn   net.Listener
	universe string // "demo" or the files
	demo     []demoToken
	// tokens is the token set in force and attestKeys the attestor
	// allow-list (nil without --attestors); epochEvery and snapshotEvery
	// the loops' periods: what a reload (reload.go) changes.
	tokens        tokenFlags
	attestKeys    map[string]ed25519.PublicKey
	epochEvery    *period
	snapshotEvery *period
	// epochSoon asks the epoch loop for its next epoch now rather than at
	// the next tick (requestEpoch); it holds at most one request.
	epochSoon chan struct{}
	metrics   applianceMetrics

	// feedLive reports whether the feed is live, for /readyz.
	feedLive func() (bool, string)
	// extraMetrics appends the daemon's metric families to /metrics.
	extraMetrics func(w *bufio.Writer)
	// epochs is the dashboard's epoch timeline; dashFeed and dashAccel
	// give it the daemon's feed and accelerator (nil: none).
	epochs    *dashboard.EpochTimeline
	dashFeed  func() (dashboard.Feed, bool)
	dashAccel func() (dashboard.Accelerator, bool)

	stop chan struct{}
	wg   sync.WaitGroup
}

// demoToken is one generated demo credential.
type demoToken struct{ role, secret string }

// applianceMetrics counts what the appliance's loops do.
type applianceMetrics struct {
	epochs, epochFailures atomic.Uint64
	lastEpochNs           atomic.Int64
	notices               atomic.Uint64
	snapshots             atomic.Uint64
	epochHist             epochHistograms
}

// openAppliance loads the universe, builds the engine on backend, opens
// and restores the durable state and binds the verdict listeners (serving
// starts with start).
func openAppliance(cfg applianceConfig, demo bool, backend accel.Backend, log *slog.Logger) (*appliance, error) {
	a := &appliance{cfg: cfg, log: log, stop: make(chan struct{}), epochSoon: make(chan struct{}, 1),
		epochEvery: newPeriod(cfg.epochEvery), snapshotEvery: newPeriod(cfg.snapshotEvery)}
	if err := a.open(demo, backend); err != nil {
		a.closeListeners()
		if a.j != nil {
			a.j.Close()
		}
		return nil, err
	}
	return a, nil
}

// open is openAppliance's work; the caller releases what it acquired when
// it fails.
func (a *appliance) open(demo bool, backend accel.Backend) (err error) {
	cfg, log := a.cfg, a.log
	m, set, err := a.loadUniverse(demo)
	if err != nil {
		return err
	}
	ecfg := engine.DefaultConfig(backend)
	if cfg.scenarios > 0 {
		ecfg.Scenarios = cfg.scenarios
	}
	if cfg.attestorsFile != "" {
		data, err := os.ReadFile(cfg.attestorsFile)
		if err != nil {
			return fmt.Errorf("--attestors: %w", err)
		}
		keys, err := attest.ParseAllowList(data)
		if err != nil {
			return fmt.Errorf("--attestors %s: %w", cfg.attestorsFile, err)
		}
		a.attestKeys = keys
		if ecfg.Verifier, err = attest.NewVerifier(attest.Config{Keys: keys, Now: time.Now,
			ValidityMax: 31 * 24 * time.Hour, ClockSkew: time.Minute}); err != nil {
			return fmt.Errorf("--attestors: %w", err)
		}
	}
	if a.eng, err = engine.New(ecfg, m, set); err != nil {
		return fmt.Errorf("engine: %w", err)
	}

	jdir := filepath.Join(cfg.dataDir, "journal")
	if err := os.MkdirAll(jdir, 0o700); err != nil {
		return fmt.Errorf("--data: %w", err)
	}
	var rec journal.RecoveryInfo
	if a.j, rec, err = journal.Open(jdir, journal.Options{Logger: log}); err != nil {
		return fmt.Errorf("journal %s: %w", jdir, err)
	}
	if a.svc, err = verdict.NewEngineService(a.eng, a.j, 0); err != nil {
		return err
	}
	if a.hsvc, err = httpapi.NewEngineService(a.eng, a.svc); err != nil {
		return err
	}
	t0 := time.Now()
	ri, err := a.svc.Restore()
	if err != nil {
		return fmt.Errorf("restoring %s: %w", jdir, err)
	}
	log.Info("durable state restored", "dir", jdir, "snapshot", ri.HasSnapshot, "snapshot_seq", ri.SnapshotSeq,
		"accounts", ri.Accounts, "fills", ri.Fills, "collateral_changes", ri.Collaterals,
		"attestations", ri.Attestations, "vol_surfaces", ri.Vols+ri.VolRecords,
		"listings", ri.Listings+ri.ListingRecords, "refused", ri.Refused, "last_seq", a.j.LastSeq(),
		"truncated_bytes", rec.TruncatedBytes, "took", time.Since(t0).Round(time.Microsecond))

	tokens := cfg.tokens
	if len(tokens) == 0 {
		tokens = a.demoTokens(set)
	}
	a.tokens = tokens
	return a.listen(tokens)
}

// loadUniverse reads --master and --accounts, or generates the demo
// universe (sim/portfolio's Demo preset, valued today).
func (a *appliance) loadUniverse(demo bool) (*instrument.Master, *account.Set, error) {
	if a.cfg.masterFile != "" {
		m, err := instrument.Load(a.cfg.masterFile, time.Now())
		if err != nil {
			return nil, nil, fmt.Errorf("--master %s: %w", a.cfg.masterFile, err)
		}
		set, err := account.Load(a.cfg.accountsFile, m)
		if err != nil {
			return nil, nil, fmt.Errorf("--accounts %s: %w", a.cfg.accountsFile, err)
		}
		a.universe = a.cfg.masterFile + " + " + a.cfg.accountsFile
		return m, set, nil
	}
	if !demo {
		return nil, nil, errors.New("--master and --accounts are required with --demo=false")
	}
	pc := portfolio.Demo()
	pc.AsOf = time.Now().UTC().Truncate(24 * time.Hour)
	u, err := portfolio.Generate(pc)
	if err != nil {
		return nil, nil, fmt.Errorf("demo universe: %w", err)
	}
	a.universe = "demo"
	return u.Master, u.Accounts, nil
}

// demoTokens makes the demo credentials used when no --token is given:
// demo-admin, demo-ops and demo-<firm> for every firm.
func (a *appliance) demoTokens(set *account.Set) tokenFlags {
	t := tokenFlags{}
	add := func(role, secret string) {
		t[secret] = role
		a.demo = append(a.demo, demoToken{role: role, secret: secret})
	}
	add(httpapi.RoleAdmin, demoTokenPrefix+"admin")
	add(httpapi.RoleOps, demoTokenPrefix+"ops")
	firms := map[string]bool{}
	for _, ac := range set.Accounts {
		firms[ac.Firm] = true
	}
	names := make([]string, 0, len(firms))
	for f := range firms {
		names = append(names, f)
	}
	sort.Strings(names)
	for _, f := range names {
		if len(demoTokenPrefix)+len(f) <= tokenSecretBytesMax {
			add(httpapi.RoleFirmPrefix+f, demoTokenPrefix+f)
		}
	}
	return t
}

// fanout is the verdict server's Service: the durable engine service whose
// Sweep also publishes each state change on the HTTP stream and counts it,
// so that one sweep feeds every transport (a sweep reports a change once).
type fanout struct {
	*verdict.EngineService
	a *appliance
}

// Sweep implements verdict.Service.
func (f fanout) Sweep() []sbe.MarginNotice {
	ns := f.a.sweep()
	if len(ns) == 0 {
		return nil
	}
	out := make([]sbe.MarginNotice, len(ns))
	for i := range ns {
		out[i] = verdict.WireNotice(&ns[i])
	}
	return out
}

// sweep runs the engine's sweep, publishes and logs the changes.
func (a *appliance) sweep() []engine.Notice {
	ns := a.eng.Sweep()
	if len(ns) == 0 {
		return nil
	}
	a.metrics.notices.Add(uint64(len(ns)))
	if a.httpSrv != nil {
		a.httpSrv.Publish(ns...)
	}
	for i := range ns {
		if i == noticesLoggedMax {
			a.log.Info("margin notices", "more", len(ns)-i)
			break
		}
		n := &ns[i]
		a.log.Info("margin notice", "account", n.Account, "firm", n.Firm, "from", n.From.String(), "to", n.To.String(),
			"epoch", n.Epoch, "equity", n.Equity, "im", n.IM, "mm", n.MM)
	}
	return ns
}

// listen binds the verdict listeners.
func (a *appliance) listen(tokens tokenFlags) error {
	if a.cfg.sbeAddr != "" || a.cfg.shmDir != "" {
		srv, err := verdict.NewServer(verdict.Config{Tokens: tokens, BusyPoll: a.cfg.busyPoll,
			BusyPollers: a.cfg.busyPollers}, fanout{a.svc, a})
		if err != nil {
			return err
		}
		a.sbeSrv = srv
	}
	if a.cfg.sbeAddr != "" {
		ln, err := net.Listen("tcp", a.cfg.sbeAddr)
		if err != nil {
			return fmt.Errorf("--sbe: %w", err)
		}
		a.sbeLn = ln
	}
	if a.cfg.httpAddr != "" {
		var err error
		if a.epochs, err = dashboard.NewEpochTimeline(dashboard.EpochsMax); err != nil {
			return err
		}
		pcfg := dashboard.ProviderConfig{Accounts: a.eng, Epochs: a.epochs,
			Feed: func() (dashboard.Feed, bool) {
				if a.dashFeed == nil {
					return dashboard.Feed{}, false
				}
				return a.dashFeed()
			},
			Accelerator: func() (dashboard.Accelerator, bool) {
				if a.dashAccel == nil {
					return dashboard.Accelerator{}, false
				}
				return a.dashAccel()
			}}
		if a.sbeSrv != nil {
			// The matching engines' checks, beside the HTTP what-if
			// histogram the HTTP server fills in.
			pcfg.SBECheckLatency = a.sbeCheckLatency
		}
		prov, err := dashboard.NewProvider(pcfg)
		if err != nil {
			return err
		}
		hcfg := httpapi.Config{Tokens: tokens, Ready: a.ready, Collector: httpapi.CollectorFunc(a.writeMetrics),
			Dashboard: prov.Summary, BusyPoll: a.cfg.httpBusyPoll, BusyPollers: a.cfg.busyPollers}
		if a.sbeSrv == nil {
			// No SBE server polls the sweep: the HTTP server does.
			hcfg.Sweep, hcfg.SweepInterval = a.sweep, verdict.DefaultNoticeInterval
		}
		if a.httpSrv, err = httpapi.New(hcfg, listingService{a.hsvc, a}); err != nil {
			return err
		}
		ln, err := net.Listen("tcp", a.cfg.httpAddr)
		if err != nil {
			return fmt.Errorf("--http: %w", err)
		}
		a.httpLn = ln
	}
	return nil
}

// sbeCheckLatency returns the verdict server's check service-time
// histogram (both SBE transports) for the dashboard.
func (a *appliance) sbeCheckLatency() (boundsNs []int64, counts []uint64) {
	st := a.sbeSrv.Stats()
	return append([]int64(nil), verdict.CheckBucketsNs[:]...), st.CheckCounts[:]
}

// ready reports whether the feed is live (the HTTP server adds the epoch).
func (a *appliance) ready() (bool, string) {
	if a.feedLive == nil {
		return true, ""
	}
	return a.feedLive()
}

func (a *appliance) closeListeners() {
	if a.sbeLn != nil {
		a.sbeLn.Close()
	}
	if a.httpLn != nil {
		a.httpLn.Close()
	}
}

// start serves the listeners and runs the epoch and snapshot loops; errc
// receives a server's failure.
func (a *appliance) start(errc chan<- error) error {
	serve := func(name string, f func() error) {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			if err := f(); err != nil && !errors.Is(err, verdict.ErrServerClosed) && !errors.Is(err, httpapi.ErrClosed) {
				select {
				case errc <- fmt.Errorf("%s: %w", name, err):
				default:
				}
			}
		}()
	}
	if a.sbeLn != nil {
		serve("sbe server", func() error { return a.sbeSrv.Serve(a.sbeLn) })
	}
	if a.cfg.shmDir != "" {
		if err := a.startShm(serve); err != nil {
			return err
		}
	}
	if a.httpLn != nil {
		serve("http server", func() error { return a.httpSrv.Serve(a.httpLn) })
	}
	a.wg.Add(2)
	go a.epochLoop()
	go a.snapshotLoop()
	a.logListening()
	return nil
}

// logListening prints where everything listens, and the demo tokens.
func (a *appliance) logListening() {
	accts := a.eng.Accounts()
	firms := map[string]struct{}{}
	for _, ac := range accts {
		firms[ac.Firm] = struct{}{}
	}
	m := a.eng.Master()
	a.log.Info("risk engine ready", "universe", a.universe, "underlyings", len(m.Underlyings),
		"instruments", len(m.Instruments), "accounts", len(accts), "firms", len(firms),
		"scenarios", a.eng.Config().Scenarios, "backend", a.eng.Config().Backend.Name(), "data", a.cfg.dataDir)
	if a.sbeLn != nil {
		attrs := []any{"addr", a.sbeLn.Addr().String(), "busy_poll", a.cfg.busyPoll}
		if a.cfg.busyPoll > 0 {
			attrs = append(attrs, "busy_pollers", a.cfg.busyPollers)
		}
		a.log.Info("verdict server listening (SBE over TCP)", attrs...)
	}
	if a.cfg.shmDir != "" {
		a.log.Info("verdict server listening (SBE over shared memory)", "dir", a.cfg.shmDir, "slots", a.cfg.shmSlots)
	}
	if a.httpLn != nil {
		dash := "http://" + a.httpLn.Addr().String() + "/"
		if len(a.demo) > 0 {
			dash += "#token=" + demoTokenPrefix + "ops"
		}
		attrs := []any{"url", "http://" + a.httpLn.Addr().String(), "dashboard", dash}
		if a.cfg.httpBusyPoll > 0 {
			attrs = append(attrs, "busy_poll", a.cfg.httpBusyPoll, "busy_pollers", a.cfg.busyPollers)
		}
		a.log.Info("HTTP API listening", attrs...)
	}
	if len(a.demo) > 0 {
		firms := 0
		example := ""
		for _, d := range a.demo {
			if strings.HasPrefix(d.role, httpapi.RoleFirmPrefix) {
				if firms == 0 {
					example = d.role + "=" + d.secret
				}
				firms++
			}
		}
		a.log.Warn("no --token given: demo tokens (loopback demos only)", "admin", demoTokenPrefix+"admin",
			"ops", demoTokenPrefix+"ops", "firms", fmt.Sprintf("%d, e.g. %s (demo-<firm>)", firms, example))
	}
}

// epochLoop runs a risk epoch now and then every --epoch-every.
func (a *appliance) epochLoop() {
	defer a.wg.Done()
	// Shutdown lets the epoch in flight finish (it is bounded work) for
	// up to epochDrainTimeout, then cancels it.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-a.stop
		select {
		case <-ctx.Done():
		case <-time.After(epochDrainTimeout):
			a.log.Warn("risk epoch still running at shutdown: cancelled", "after", epochDrainTimeout)
			cancel()
		}
	}()
	t := time.NewTicker(a.epochEvery.get())
	defer t.Stop()
	for {
		ep, err := a.eng.RunEpoch(ctx)
		switch {
		case err != nil && ctx.Err() != nil:
			return
		case err != nil:
			a.metrics.epochFailures.Add(1)
			a.log.Error("risk epoch failed", "err", err)
		default:
			n := a.metrics.epochs.Add(1)
			a.metrics.lastEpochNs.Store(int64(ep.Duration))
			a.metrics.epochHist.record(ep.Backend, ep.Duration)
			if a.epochs != nil {
				a.epochs.Record(ep.ID, ep.Backend, ep.Started, ep.Duration, ep.Scenarios)
			}
			if n == 1 {
				a.log.Info("first risk epoch published", "epoch", ep.ID, "backend", ep.Backend,
					"scenarios", ep.Scenarios, "took", ep.Duration.Round(time.Microsecond))
			}
		}
		if !a.waitEpoch(t) {
			return
		}
	}
}

// waitEpoch waits for the epoch ticker t, resetting it when a reload
// changes the period, or for a request for an epoch now (which restarts
// the period); false at shutdown.
func (a *appliance) waitEpoch(t *time.Ticker) bool {
	for {
		select {
		case <-a.stop:
			return false
		case <-a.epochEvery.changed:
			t.Reset(a.epochEvery.get())
		case <-a.epochSoon:
			t.Reset(a.epochEvery.get())
			return true
		case <-t.C:
			return true
		}
	}
}

// requestEpoch asks the epoch loop to run its next epoch at once instead of
// at the next tick. It never blocks: requests made while one is pending
// merge into it, and one made while an epoch runs starts the next right
// after it (the running epoch's snapshot may predate what asked).
func (a *appliance) requestEpoch() {
	select {
	case a.epochSoon <- struct{}{}:
	default:
	}
}

// listingService is the HTTP API's service, except that a listing that
// succeeded asks for the next risk epoch at once: its new series are
// refused with NO_RISK_EPOCH until an epoch prices them, and --epoch-every
// may be long.
type listingService struct {
	*httpapi.EngineService
	a *appliance
}

// ListInstruments implements httpapi.InstrumentLister.
func (s listingService) ListInstruments(ctx context.Context, doc []byte) ([]httpapi.InstrumentInfo, error) {
	listed, err := s.EngineService.ListInstruments(ctx, doc)
	if err == nil {
		s.a.requestEpoch()
		s.a.log.Info("instruments listed: next risk epoch requested", "instruments", len(listed))
	}
	return listed, err
}

// snapshotLoop writes a durable snapshot every --snapshot-every when the
// state changed.
func (a *appliance) snapshotLoop() {
	defer a.wg.Done()
	t := time.NewTicker(a.snapshotEvery.get())
	defer t.Stop()
	for {
		select {
		case <-a.stop:
			return
		case <-a.snapshotEvery.changed:
			t.Reset(a.snapshotEvery.get())
			continue
		case <-t.C:
		}
		a.snapshot("periodic")
	}
}

func (a *appliance) snapshot(why string) {
	si, err := a.svc.Snapshot()
	if err != nil {
		a.log.Error("snapshot failed", "why", why, "err", err)
		return
	}
	if si.Written {
		a.metrics.snapshots.Add(1)
		a.log.Info("snapshot written", "why", why, "seq", si.Seq, "bytes", si.Bytes, "paused", si.Paused.Round(time.Microsecond))
	}
}

// shutdown stops taking requests (servers drain what they accepted), stops
// the loops, writes the final snapshot and closes the journal.
func (a *appliance) shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	var errs []error
	if a.httpSrv != nil {
		if err := a.httpSrv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("http server: %w", err))
		}
	}
	if a.sbeSrv != nil {
		if err := a.sbeSrv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("sbe server: %w", err))
		}
	}
	close(a.stop)
	a.wg.Wait()
	a.snapshot("shutdown")
	if err := a.j.Close(); err != nil {
		errs = append(errs, fmt.Errorf("journal: %w", err))
	}
	return errors.Join(errs...)
}

// abort releases what openAppliance acquired when start-up fails later.
func (a *appliance) abort() {
	a.closeListeners()
	a.j.Close()
}

// volEventTimeout bounds the wait for a scripted volatility spike's
// surfaces to be journalled.
const volEventTimeout = 5 * time.Second

// marketEvent is told each scripted market event of the demo exchange as it
// starts and ends, and logs it. A volatility spike also scales the affected
// underlyings' surfaces for its duration (the engine does not infer
// volatility from prices; an exchange would publish it), so the Monte
// Carlo of the next epochs sees it; prices move through the feed.
func (a *appliance) marketEvent(f itchgen.Fired) {
	ev := f.Event
	phase := "start"
	if f.End {
		phase = "end"
	}
	a.log.Info("market event", "event", ev.String(), "phase", phase)
	if ev.Kind != itchgen.EventVolSpike {
		return
	}
	scale := ev.Factor
	if f.End {
		scale = 1
	}
	syms := ev.Symbols
	if len(syms) == 0 {
		for _, u := range a.eng.Master().Underlyings {
			syms = append(syms, u.Symbol)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), volEventTimeout)
	defer cancel()
	applied := 0
	atmMin, atmMax := math.Inf(1), math.Inf(-1)
	for _, sym := range syms {
		vi, err := a.hsvc.SetVol(ctx, sym, httpapi.VolSpec{Scale: scale})
		if err != nil {
			if !errors.Is(err, httpapi.ErrUnknownUnderlying) {
				a.log.Warn("volatility spike not applied", "underlying", sym, "scale", scale, "err", err)
			}
			continue
		}
		applied++
		atmMin, atmMax = min(atmMin, vi.ATMVol), max(atmMax, vi.ATMVol)
	}
	if applied == 0 {
		a.log.Warn("volatility spike applied to no underlying", "event", ev.String(), "phase", phase)
		return
	}
	// The surfaces in force now (journalled): their 30-day ATM vols.
	a.log.Info("volatility surfaces scaled", "event", ev.String(), "phase", phase, "scale", scale,
		"underlyings", applied, "atm_vol_min", atmMin, "atm_vol_max", atmMax)
}
