package main

// The configuration (issue 6, DESIGN §5.4 --config FILE): one shape shared
// by the built-in defaults, the TOML file and the flags. The effective
// configuration is the defaults, overlaid by the keys the file defines,
// overlaid by the flags given on the command line; it is validated once,
// merged, and every error names the field as the user wrote it: --scenarios
// for a flag, FILE: risk.scenarios for a file key (with the line where the
// TOML decoder reports one).

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/ballast-risk/ballast/accel/vsim"
	"github.com/ballast-risk/ballast/engine/verdict"
	"github.com/ballast-risk/ballast/sim/itchgen"
	"github.com/ballast-risk/ballast/sim/udpsend"
)

// Configuration bounds.
const (
	// configFileBytesMax bounds the --config file.
	configFileBytesMax = 1 << 20
	// secretFileBytesMax bounds a token's secret_file.
	secretFileBytesMax = 4096
	// redacted replaces a secret in --print-config.
	redacted = "<redacted>"
	// busyPollMax bounds verdict.busy_poll (engine/verdict's own bound).
	busyPollMax = verdict.BusyPollMax
	// busyPollersMax bounds verdict.busy_pollers (engine/verdict's own
	// bound).
	busyPollersMax = verdict.BusyPollersMax
	// defaultBusyPollers is verdict.busy_pollers's default.
	defaultBusyPollers = 1
)

// config is ballastd's whole configuration. Its toml tags are the file's
// keys; every field also has a flag (configFlags).
type config struct {
	Demo     bool            `toml:"demo"`
	Duration duration        `toml:"duration"`
	Feed     feedSection     `toml:"feed"`
	Exchange exchangeSection `toml:"exchange"`
	Risk     riskSection     `toml:"risk"`
	Verdict  verdictSection  `toml:"verdict"`
	Data     dataSection     `toml:"data"`
	Log      logSection      `toml:"log"`
	Tokens   []tokenSection  `toml:"token"`
}

// feedSection is the [feed] table: where the market data arrives.
type feedSection struct {
	Listen    string `toml:"listen"`
	Rerequest string `toml:"rerequest"`
}

// exchangeSection is the [exchange] table: the simulated exchange (demo).
type exchangeSection struct {
	Symbols  int     `toml:"symbols"`
	MsgRate  float64 `toml:"msg_rate"`
	DropRate float64 `toml:"drop_rate"`
	// Seed is signed because TOML integers are: 0..math.MaxInt64.
	Seed int64 `toml:"seed"`
	// Events is a script of market events (sim/itchgen.ParseEvents).
	Events string `toml:"events"`
}

// riskSection is the [risk] table: the accelerator, the universe and the
// epochs.
type riskSection struct {
	Accel      string   `toml:"accel"`
	Scenarios  int      `toml:"scenarios"`
	EpochEvery duration `toml:"epoch_every"`
	Master     string   `toml:"master"`
	Accounts   string   `toml:"accounts"`
	Attestors  string   `toml:"attestors"`
}

// verdictSection is the [verdict] table: the verdict servers.
type verdictSection struct {
	SBE      string `toml:"sbe"`
	Shm      string `toml:"shm"`
	ShmSlots int    `toml:"shm_slots"`
	HTTP     string `toml:"http"`
	// BusyPoll and BusyPollers are the SBE/TCP readers' busy polling
	// (verdict.Config.BusyPoll, BusyPollers): 0 is off.
	BusyPoll    duration `toml:"busy_poll"`
	BusyPollers int      `toml:"busy_pollers"`
	// HTTPBusyPoll is the HTTP API's busy polling (httpapi.Config.BusyPoll,
	// with BusyPollers readers at most): 0 is off.
	HTTPBusyPoll duration `toml:"http_busy_poll"`
}

// dataSection is the [data] table: the durable state.
type dataSection struct {
	Dir           string   `toml:"dir"`
	SnapshotEvery duration `toml:"snapshot_every"`
}

// logSection is the [log] table.
type logSection struct {
	Format     string   `toml:"format"`
	Level      string   `toml:"level"`
	StatsEvery duration `toml:"stats_every"`
}

// tokenSection is one [[token]]: a role and its secret, given inline, in a
// file or in an environment variable (exactly one of the three).
type tokenSection struct {
	Role       string `toml:"role"`
	Secret     string `toml:"secret,omitempty"`
	SecretFile string `toml:"secret_file,omitempty"`
	SecretEnv  string `toml:"secret_env,omitempty"`
}

// duration is a time.Duration written in the file as a Go duration string
// ("2s", "1m30s").
type duration time.Duration

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q: want a duration such as \"2s\" or \"1m30s\"", b)
	}
	*d = duration(v)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// defaultConfig returns the built-in defaults.
func defaultConfig() config {
	return config{
		Demo:     true,
		Feed:     feedSection{Listen: "127.0.0.1:0"},
		Exchange: exchangeSection{Symbols: itchgen.DefaultSymbolCount, MsgRate: defaultMsgRate, Seed: 1},
		Risk:     riskSection{Accel: accelCPU, EpochEvery: duration(defaultEpochEvery)},
		Verdict:  verdictSection{SBE: defaultSBEAddr, Shm: defaultShmDir, ShmSlots: defaultShmSlots, HTTP: defaultHTTPAddr, BusyPollers: defaultBusyPollers},
		Data:     dataSection{Dir: defaultDataDir, SnapshotEvery: duration(defaultSnapshotEvery)},
		Log:      logSection{Format: "text", Level: "info", StatsEvery: duration(defaultStatsEvery)},
	}
}

// shippedDefaults are the defaults as built (package initialisation runs
// before any test moves the listeners and directories): what
// docs/ballastd.example.toml documents.
var shippedDefaults = defaultConfig()

// configFlags maps each flag to its file key (the token flag to the
// [[token]] array).
var configFlags = []struct{ flag, key string }{
	{"demo", "demo"},
	{"duration", "duration"},
	{"feed", "feed.listen"},
	{"rerequest", "feed.rerequest"},
	{"symbols", "exchange.symbols"},
	{"msg-rate", "exchange.msg_rate"},
	{"drop-rate", "exchange.drop_rate"},
	{"seed", "exchange.seed"},
	{"events", "exchange.events"},
	{"accel", "risk.accel"},
	{"scenarios", "risk.scenarios"},
	{"epoch-every", "risk.epoch_every"},
	{"master", "risk.master"},
	{"accounts", "risk.accounts"},
	{"attestors", "risk.attestors"},
	{"sbe", "verdict.sbe"},
	{"shm", "verdict.shm"},
	{"shm-slots", "verdict.shm_slots"},
	{"http", "verdict.http"},
	{"busy-poll", "verdict.busy_poll"},
	{"busy-pollers", "verdict.busy_pollers"},
	{"http-busy-poll", "verdict.http_busy_poll"},
	{"data", "data.dir"},
	{"snapshot-every", "data.snapshot_every"},
	{"log-format", "log.format"},
	{"log-level", "log.level"},
	{"stats-every", "log.stats_every"},
	{"token", "token"},
}

// keyOf returns flag's file key.
func keyOf(flag string) string {
	for _, f := range configFlags {
		if f.flag == flag {
			return f.key
		}
	}
	panic("ballastd: flag without a configuration key: " + flag)
}

// sources records where each setting came from, to name it in errors.
type sources struct {
	file  string          // the --config file; "" without one
	md    toml.MetaData   // the file's keys
	flags map[string]bool // the flags given on the command line
}

// fromFile reports whether the file defines flag's key (and no flag
// overrides it).
func (s *sources) fromFile(flag string) bool {
	return s.file != "" && !s.flags[flag] && s.md.IsDefined(strings.Split(keyOf(flag), ".")...)
}

// ignored reports whether flag's setting, which has no effect, was given
// on the command line, or in the file with a value other than the default
// (differs).
func (s *sources) ignored(flag string, differs bool) bool {
	return s.flags[flag] || (s.fromFile(flag) && differs)
}

// name names flag's setting as the user wrote it: "FILE: risk.scenarios"
// when it came from the file, else "--scenarios".
func (s *sources) name(flag string) string {
	if s.fromFile(flag) {
		return s.file + ": " + keyOf(flag)
	}
	return "--" + flag
}

// ref names flag's setting inside a message: "--scenarios" when it was
// given as a flag or there is no file, else "risk.scenarios".
func (s *sources) ref(flag string) string {
	if s.file != "" && !s.flags[flag] {
		return keyOf(flag)
	}
	return "--" + flag
}

// errf returns an error about flag's setting, named as the user wrote it.
func (s *sources) errf(flag, format string, args ...any) error {
	return fmt.Errorf("%s: %s", s.name(flag), fmt.Sprintf(format, args...))
}

// tokenArgs collects repeatable --token ROLE=SECRET flags.
type tokenArgs []tokenSection

func (t *tokenArgs) String() string { return fmt.Sprintf("%d tokens", len(*t)) }

func (t *tokenArgs) Set(v string) error {
	role, secret, ok := strings.Cut(v, "=")
	if !ok || role == "" || secret == "" {
		return errors.New("want ROLE=SECRET")
	}
	if len(*t) >= tokensMax {
		return fmt.Errorf("more than %d tokens", tokensMax)
	}
	*t = append(*t, tokenSection{Role: role, Secret: secret})
	return nil
}

// metaFlags are the flags that are not configuration: the file itself and
// --print-config.
type metaFlags struct {
	config      string
	printConfig bool
}

const synopsis = `Usage: ballastd [flags]

Runs the Ballast risk appliance: MoldUDP64/ITCH 5.0 market data over UDP
into the feed handler's order books, ticks through the ring into the risk
engine, risk epochs on the chosen accelerator, and the verdict servers (SBE
over TCP and shared memory, HTTP). With --demo (the default) an in-process
simulated exchange sends the feed over loopback and answers retransmission
requests.

Settings come from the built-in defaults, then the --config file (TOML; see
docs/ballastd.example.toml), then the flags given. SIGHUP reloads the tokens,
the attestor allow-list, the log level and the periods from the same file.
--print-config prints the effective configuration and exits.

Flags:
`

// newFlags returns the flag set bound to c, with c's values as the
// defaults, the --token flags collected in toks.
func newFlags(c *config, toks *tokenArgs, meta *metaFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("ballastd", flag.ContinueOnError)
	fs.StringVar(&meta.config, "config", "", "TOML configuration file (see docs/ballastd.example.toml); flags given override it")
	fs.BoolVar(&meta.printConfig, "print-config", false, "print the effective configuration as TOML (secrets redacted) and exit")
	dur := func(p *duration, name, usage string) {
		fs.DurationVar((*time.Duration)(p), name, time.Duration(*p), usage)
	}
	fs.BoolVar(&c.Demo, "demo", c.Demo, "run the simulated exchange in-process and feed it to the feed handler")
	dur(&c.Duration, "duration", "stop after this long, as on SIGTERM (0: run until a signal)")
	fs.StringVar(&c.Feed.Listen, "feed", c.Feed.Listen, "IPv4 address:port the feed handler listens on (port 0: any free port)")
	fs.StringVar(&c.Feed.Rerequest, "rerequest", c.Feed.Rerequest, "with --demo=false: the exchange's MoldUDP64 re-request server, address:port (none: gaps are reported lost)")
	fs.IntVar(&c.Exchange.Symbols, "symbols", c.Exchange.Symbols, "simulated exchange: number of symbols")
	fs.Float64Var(&c.Exchange.MsgRate, "msg-rate", c.Exchange.MsgRate, "simulated exchange: ITCH messages per second (0: as fast as possible)")
	fs.Float64Var(&c.Exchange.DropRate, "drop-rate", c.Exchange.DropRate, "simulated exchange: probability that a data packet is deliberately lost, to exercise gap recovery")
	fs.Int64Var(&c.Exchange.Seed, "seed", c.Exchange.Seed, "simulated exchange: seed of the session and of the drops (0 to 2^63-1)")
	fs.StringVar(&c.Exchange.Events, "events", c.Exchange.Events, "simulated exchange: script of market events, e.g. 'crash@30s:-25%; volspike@60s:x3:30s; outage@90s:10s' (docs/simulator.md)")
	fs.StringVar(&c.Risk.Accel, "accel", c.Risk.Accel, "risk backend: cpu, vsim (Verilator simulation; binary $"+vsim.EnvBinary+
		" or hdl/build/ballast-vsim) or fpga (the card); a device falls back to cpu when it fails")
	fs.IntVar(&c.Risk.Scenarios, "scenarios", c.Risk.Scenarios, "Monte Carlo scenarios per risk epoch (0: the engine's default, 10,000; 1,000 with --accel=vsim, whose simulated RTL is slow)")
	dur(&c.Risk.EpochEvery, "epoch-every", "risk epoch period (reloadable)")
	fs.StringVar(&c.Risk.Master, "master", c.Risk.Master, "instrument master file (with --accounts; default with --demo: the generated demo universe)")
	fs.StringVar(&c.Risk.Accounts, "accounts", c.Risk.Accounts, "accounts file (with --master)")
	fs.StringVar(&c.Risk.Attestors, "attestors", c.Risk.Attestors, "attestation allow-list file (JSON; none: attestations are refused; its content is reloadable)")
	fs.StringVar(&c.Verdict.SBE, "sbe", c.Verdict.SBE, "binary verdict protocol (SBE over TCP) address (empty: off)")
	fs.StringVar(&c.Verdict.Shm, "shm", c.Verdict.Shm, "directory of the shared-memory verdict sessions (empty: off)")
	fs.IntVar(&c.Verdict.ShmSlots, "shm-slots", c.Verdict.ShmSlots, "shared-memory verdict sessions offered (one client each)")
	fs.StringVar(&c.Verdict.HTTP, "http", c.Verdict.HTTP, "HTTP API and dashboard address (empty: off)")
	dur(&c.Verdict.BusyPoll, "busy-poll", "SBE over TCP: how long a connection's reader tries its socket without waiting before it parks, 0 (off) to 10ms; "+
		"cuts a request's wake-up, burns up to --busy-pollers cores while connections are busy")
	fs.IntVar(&c.Verdict.BusyPollers, "busy-pollers", c.Verdict.BusyPollers, "SBE over TCP and HTTP: readers that may busy-poll at once on each, 1 to 64 (with --busy-poll, --http-busy-poll)")
	dur(&c.Verdict.HTTPBusyPoll, "http-busy-poll", "HTTP API: how long a keep-alive connection's reader tries its socket without waiting before it parks, 0 (off) to 10ms; "+
		"cuts a request's wake-up, burns up to --busy-pollers cores while connections are busy")
	fs.StringVar(&c.Data.Dir, "data", c.Data.Dir, "directory of the durable state (journal and snapshots), created when missing")
	dur(&c.Data.SnapshotEvery, "snapshot-every", "durable snapshot period (reloadable)")
	fs.StringVar(&c.Log.Format, "log-format", c.Log.Format, "log format: text or json")
	fs.StringVar(&c.Log.Level, "log-level", c.Log.Level, "log level: debug, info, warn or error (reloadable)")
	dur(&c.Log.StatsEvery, "stats-every", "interval of the statistics log line (reloadable)")
	fs.Var(toks, "token", "ROLE=SECRET bearer token, repeatable, replacing the file's [[token]] tables; ROLE is admin, ops or firm:<id> (none at all: demo tokens are made and printed)")
	for _, cf := range configFlags {
		f := fs.Lookup(cf.flag)
		if f == nil {
			panic("ballastd: configuration key without a flag: " + cf.key)
		}
		f.Usage += " [config: " + cf.key + "]"
	}
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// errHelp reports that the usage was printed on request.
var errHelp = errors.New("help requested")

// parseArgs parses args (and the --config file they name), merges and
// validates the result; -h prints the usage to stdout and returns errHelp.
func parseArgs(args []string, stdout io.Writer) (options, error) {
	// First pass, over the defaults: syntax, -h and --config.
	var meta metaFlags
	var toks tokenArgs
	def := defaultConfig()
	fs := newFlags(&def, &toks, &meta)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return options{}, errHelp
		}
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	src := sources{file: meta.config, flags: map[string]bool{}}
	fs.Visit(func(f *flag.Flag) { src.flags[f.Name] = true })

	c := defaultConfig()
	if meta.config != "" {
		md, err := loadConfigFile(meta.config, &c)
		if err != nil {
			return options{}, err
		}
		src.md = md
	}
	// Second pass, over the file's values: the flags given win.
	var meta2 metaFlags
	toks = nil
	fs = newFlags(&c, &toks, &meta2)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if len(toks) > 0 {
		c.Tokens = toks
	}
	o, err := c.options(&src)
	if err != nil {
		return options{}, err
	}
	o.configFile, o.printConfig, o.src = meta.config, meta.printConfig, src
	o.args = append([]string(nil), args...)
	return o, nil
}

// loadConfigFile decodes the TOML file path over c (keys it does not
// define keep c's values) and refuses keys that are not configuration.
func loadConfigFile(path string, c *config) (toml.MetaData, error) {
	data, err := readBounded(path, configFileBytesMax)
	if err != nil {
		return toml.MetaData{}, fmt.Errorf("--config: %w", err)
	}
	return decodeConfig(path, data, c)
}

// decodeConfig decodes the TOML text data of the file path over c.
func decodeConfig(path string, data []byte, c *config) (toml.MetaData, error) {
	md, err := toml.Decode(string(data), c)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			where := fmt.Sprintf("%s:%d", path, pe.Position.Line)
			if pe.LastKey != "" {
				where += ": " + pe.LastKey
			}
			return md, fmt.Errorf("%s: %s", where, pe.Message)
		}
		msg := strings.TrimPrefix(err.Error(), "toml: ")
		if m := decodeErrRE.FindStringSubmatch(msg); m != nil {
			return md, fmt.Errorf("%s:%s: %s: %s", path, m[1], m[2], m[3])
		}
		return md, fmt.Errorf("%s: %s", path, msg)
	}
	if un := md.Undecoded(); len(un) > 0 {
		keys := make([]string, len(un))
		for i, k := range un {
			keys[i] = k.String()
		}
		return md, fmt.Errorf("%s: unknown key %s", path, strings.Join(keys, ", "))
	}
	return md, nil
}

// decodeErrRE matches the TOML decoder's type errors, "line N (last key
// "K"): message", to rewrite them as "FILE:N: K: message".
var decodeErrRE = regexp.MustCompile(`^line (\d+) \(last key "([^"]*)"\): (.*)$`)

// readBounded reads the file path, refusing one over limitBytes.
func readBounded(path string, limitBytes int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limitBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limitBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, limitBytes)
	}
	return data, nil
}

// parseLevel parses a log level name.
func parseLevel(s string) (slog.Level, bool) {
	switch s {
	case "debug":
		return slog.LevelDebug, true
	case "info":
		return slog.LevelInfo, true
	case "warn":
		return slog.LevelWarn, true
	case "error":
		return slog.LevelError, true
	}
	return 0, false
}

// options validates the merged configuration c and returns the options it
// makes; src names the settings in the errors.
func (c *config) options(src *sources) (options, error) {
	o := options{
		demo: c.Demo, feed: c.Feed.Listen, rerequest: c.Feed.Rerequest, symbols: c.Exchange.Symbols,
		msgRate: c.Exchange.MsgRate, dropRate: c.Exchange.DropRate, seed: uint64(c.Exchange.Seed),
		statsEvery: time.Duration(c.Log.StatsEvery), duration: time.Duration(c.Duration), logFormat: c.Log.Format,
		accel: accelConfig{kind: c.Risk.Accel},
		app: applianceConfig{dataDir: c.Data.Dir, httpAddr: c.Verdict.HTTP, sbeAddr: c.Verdict.SBE,
			shmDir: c.Verdict.Shm, shmSlots: c.Verdict.ShmSlots, masterFile: c.Risk.Master,
			accountsFile: c.Risk.Accounts, attestorsFile: c.Risk.Attestors, scenarios: c.Risk.Scenarios,
			epochEvery: time.Duration(c.Risk.EpochEvery), snapshotEvery: time.Duration(c.Data.SnapshotEvery),
			busyPoll: time.Duration(c.Verdict.BusyPoll), busyPollers: c.Verdict.BusyPollers,
			httpBusyPoll: time.Duration(c.Verdict.HTTPBusyPoll)},
		cfg: *c,
	}
	var err error
	if o.feedAddr, err = resolveIPv4(o.feed); err != nil {
		return o, src.errf("feed", "%v", err)
	}
	if o.feedAddr.Addr().IsMulticast() {
		return o, src.errf("feed", "%s: a unicast address is required", o.feed)
	}
	// A setting without effect in this mode is an error when it was given
	// as a flag, or set in the file to something other than its default
	// (a complete file may well spell out the defaults).
	def := defaultConfig()
	if o.demo {
		if src.ignored("rerequest", c.Feed.Rerequest != def.Feed.Rerequest) {
			return o, src.errf("rerequest", "applies only with %s=false", src.ref("demo"))
		}
	} else {
		for _, f := range []struct {
			name    string
			differs bool
		}{
			{"symbols", c.Exchange.Symbols != def.Exchange.Symbols},
			{"msg-rate", c.Exchange.MsgRate != def.Exchange.MsgRate},
			{"drop-rate", c.Exchange.DropRate != def.Exchange.DropRate},
			{"seed", c.Exchange.Seed != def.Exchange.Seed},
			{"events", c.Exchange.Events != def.Exchange.Events},
		} {
			if src.ignored(f.name, f.differs) {
				return o, src.errf(f.name, "applies only to the simulated exchange (%s)", src.ref("demo"))
			}
		}
		if o.rerequest != "" {
			if o.rerequestAddr, err = resolveIPv4(o.rerequest); err != nil {
				return o, src.errf("rerequest", "%v", err)
			}
			if o.rerequestAddr.Port() == 0 {
				return o, src.errf("rerequest", "%s: a port is required", o.rerequest)
			}
		}
	}
	if o.app.scenarios == 0 && o.accel.kind == accelVsim {
		// The simulated RTL runs about 2 s per 1,000-scenario demo epoch:
		// the engine's default would make every epoch 20 s long.
		o.app.scenarios = vsimScenariosDefault
	}
	if o.events, err = itchgen.ParseEvents(c.Exchange.Events); err != nil {
		return o, src.errf("events", "%v", err)
	}
	level, levelOK := parseLevel(c.Log.Level)
	o.logLevel = level
	switch {
	case o.symbols < 1 || o.symbols > itchgen.SymbolsMax:
		return o, src.errf("symbols", "%d outside 1..%d", o.symbols, itchgen.SymbolsMax)
	case !(o.msgRate >= 0 && o.msgRate <= udpsend.RateMax):
		return o, src.errf("msg-rate", "%v outside 0..%g", o.msgRate, float64(udpsend.RateMax))
	case !(o.dropRate >= 0 && o.dropRate <= dropRateMax):
		return o, src.errf("drop-rate", "%v outside 0..%g", o.dropRate, dropRateMax)
	case c.Exchange.Seed < 0:
		return o, src.errf("seed", "%d outside 0..%d", c.Exchange.Seed, int64(math.MaxInt64))
	case o.statsEvery < statsEveryMin || o.statsEvery > statsEveryMax:
		return o, src.errf("stats-every", "%v outside %v..%v", o.statsEvery, statsEveryMin, statsEveryMax)
	case o.duration < 0:
		return o, src.errf("duration", "%v is negative", o.duration)
	case o.logFormat != "text" && o.logFormat != "json":
		return o, src.errf("log-format", "%q: want text or json", o.logFormat)
	case !levelOK:
		return o, src.errf("log-level", "%q: want debug, info, warn or error", c.Log.Level)
	case !validAccel(o.accel.kind):
		return o, src.errf("accel", "%q: want cpu, vsim or fpga", o.accel.kind)
	case o.app.dataDir == "":
		return o, src.errf("data", "a directory is required")
	case (o.app.masterFile == "") != (o.app.accountsFile == ""):
		return o, fmt.Errorf("%s and %s go together", src.name("master"), src.name("accounts"))
	case !o.demo && o.app.masterFile == "":
		return o, fmt.Errorf("%s=false needs %s and %s", src.name("demo"), src.ref("master"), src.ref("accounts"))
	case o.app.shmSlots < 1 || o.app.shmSlots > shmSlotsMax:
		return o, src.errf("shm-slots", "%d outside 1..%d", o.app.shmSlots, shmSlotsMax)
	case o.app.busyPoll < 0 || o.app.busyPoll > busyPollMax:
		return o, src.errf("busy-poll", "%v outside 0s..%v", o.app.busyPoll, busyPollMax)
	case o.app.httpBusyPoll < 0 || o.app.httpBusyPoll > busyPollMax:
		return o, src.errf("http-busy-poll", "%v outside 0s..%v", o.app.httpBusyPoll, busyPollMax)
	case o.app.busyPollers < 1 || o.app.busyPollers > busyPollersMax:
		return o, src.errf("busy-pollers", "%d outside 1..%d", o.app.busyPollers, busyPollersMax)
	case o.app.scenarios < 0 || o.app.scenarios > scenariosMax:
		return o, src.errf("scenarios", "%d outside 0..%d", o.app.scenarios, scenariosMax)
	case o.app.epochEvery < epochEveryMin || o.app.epochEvery > epochEveryMax:
		return o, src.errf("epoch-every", "%v outside %v..%v", o.app.epochEvery, epochEveryMin, epochEveryMax)
	case o.app.snapshotEvery < snapshotEveryMin || o.app.snapshotEvery > snapshotEveryMax:
		return o, src.errf("snapshot-every", "%v outside %v..%v", o.app.snapshotEvery, snapshotEveryMin, snapshotEveryMax)
	}
	if o.app.tokens, err = c.resolveTokens(src); err != nil {
		return o, err
	}
	return o, nil
}

// tokenName names the i-th token as the user wrote it: "FILE: token[2]"
// (1-based, in file order) or "--token #2".
func (s *sources) tokenName(i int) string {
	if s.fromFile("token") {
		return fmt.Sprintf("%s: token[%d]", s.file, i+1)
	}
	return fmt.Sprintf("--token #%d", i+1)
}

// resolveTokens validates the tokens and reads their secrets (inline, from
// secret_file or from secret_env) into a secret → role map. Errors never
// show a secret.
func (c *config) resolveTokens(src *sources) (tokenFlags, error) {
	if len(c.Tokens) > tokensMax {
		return nil, fmt.Errorf("%s: %d tokens, at most %d", src.name("token"), len(c.Tokens), tokensMax)
	}
	out := tokenFlags{}
	for i, t := range c.Tokens {
		name := src.tokenName(i)
		if err := checkRole(t.Role); err != nil {
			return nil, fmt.Errorf("%s.role: %v", name, err)
		}
		n := 0
		for _, s := range []string{t.Secret, t.SecretFile, t.SecretEnv} {
			if s != "" {
				n++
			}
		}
		if n != 1 {
			return nil, fmt.Errorf("%s (role %s): give exactly one of secret, secret_file and secret_env", name, t.Role)
		}
		secret, field := t.Secret, "secret"
		switch {
		case t.SecretFile != "":
			field = "secret_file"
			data, err := readBounded(t.SecretFile, secretFileBytesMax)
			if err != nil {
				return nil, fmt.Errorf("%s.secret_file: %w", name, err)
			}
			secret = strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
		case t.SecretEnv != "":
			field = "secret_env"
			v, ok := os.LookupEnv(t.SecretEnv)
			if !ok {
				return nil, fmt.Errorf("%s.secret_env: $%s is not set", name, t.SecretEnv)
			}
			secret = v
		}
		if secret == "" || len(secret) > tokenSecretBytesMax || strings.IndexByte(secret, 0) >= 0 {
			return nil, fmt.Errorf("%s.%s (role %s): a secret is 1 to %d bytes, no NUL", name, field, t.Role, tokenSecretBytesMax)
		}
		if prev, dup := out[secret]; dup {
			return nil, fmt.Errorf("%s.%s (role %s): the same secret is already given to role %s", name, field, t.Role, prev)
		}
		out[secret] = t.Role
	}
	return out, nil
}

// printConfig writes c as TOML, inline secrets redacted.
func printConfig(w io.Writer, c config, file string) error {
	c.Tokens = append([]tokenSection(nil), c.Tokens...)
	for i := range c.Tokens {
		if c.Tokens[i].Secret != "" {
			c.Tokens[i].Secret = redacted
		}
	}
	from := "built-in defaults < flags"
	if file != "" {
		from = "built-in defaults < " + file + " < flags"
	}
	if _, err := fmt.Fprintf(w, "# ballastd effective configuration (%s); inline secrets redacted.\n\n", from); err != nil {
		return err
	}
	return toml.NewEncoder(w).Encode(c)
}

// configValue is one leaf setting of a config: its file key and value.
type configValue struct {
	key   string
	value any
}

// values lists c's leaf settings (the tokens excepted) in struct order.
func (c *config) values() []configValue {
	var out []configValue
	var walk func(prefix string, v reflect.Value)
	walk = func(prefix string, v reflect.Value) {
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			key, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
			if key == "token" {
				continue
			}
			if prefix != "" {
				key = prefix + "." + key
			}
			if f.Type.Kind() == reflect.Struct {
				walk(key, v.Field(i))
				continue
			}
			val := v.Field(i).Interface()
			if d, ok := val.(duration); ok {
				val = time.Duration(d)
			}
			out = append(out, configValue{key: key, value: val})
		}
	}
	walk("", reflect.ValueOf(*c))
	return out
}

// tokenRoles returns the sorted multiset difference of two token maps'
// roles by secret: the roles whose secret was added, and removed.
func tokenRoles(old, next tokenFlags) (added, removed []string) {
	for s, r := range next {
		if or, ok := old[s]; !ok || or != r {
			added = append(added, r)
		}
	}
	for s, r := range old {
		if nr, ok := next[s]; !ok || nr != r {
			removed = append(removed, r)
		}
	}
	sort.Strings(added)
	sort.Strings(removed)
	return added, removed
}
