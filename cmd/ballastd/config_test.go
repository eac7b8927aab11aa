package main

import (
	"bytes"
	"context"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

const exampleConfig = "../../docs/ballastd.example.toml"

// writeConfig writes a configuration file named name in a fresh directory
// and returns its path.
func writeConfig(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestExampleConfigIsDefaults keeps docs/ballastd.example.toml true: it
// decodes (unknown keys refused) to exactly the built-in defaults, and it
// spells out every key.
func TestExampleConfigIsDefaults(t *testing.T) {
	var got config
	md, err := loadConfigFile(exampleConfig, &got)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, shippedDefaults) {
		t.Errorf("the example is not the defaults:\n got  %+v\n want %+v", got, shippedDefaults)
	}
	for _, v := range shippedDefaults.values() {
		if !md.IsDefined(strings.Split(v.key, ".")...) {
			t.Errorf("the example lacks key %s", v.key)
		}
	}
	// And it starts ballastd's configuration as it stands.
	if _, err := parseArgs([]string{"--config=" + exampleConfig}, &bytes.Buffer{}); err != nil {
		t.Errorf("the example does not validate: %v", err)
	}
}

// TestConfigKeysAndFlags checks that every flag has a file key, every key
// a flag, and that docs/ballastd.md names them all.
func TestConfigKeysAndFlags(t *testing.T) {
	var c config
	var toks tokenArgs
	var meta metaFlags
	fs := newFlags(&c, &toks, &meta)
	flags := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) { flags[f.Name] = true })
	keys := map[string]bool{"token": true}
	for _, v := range shippedDefaults.values() {
		keys[v.key] = true
	}
	seenKeys := map[string]bool{}
	for _, f := range configFlags {
		if !flags[f.flag] {
			t.Errorf("configFlags names flag --%s, which does not exist", f.flag)
		}
		if !keys[f.key] {
			t.Errorf("configFlags names key %s, which does not exist", f.key)
		}
		delete(flags, f.flag)
		seenKeys[f.key] = true
	}
	delete(flags, "config")
	delete(flags, "print-config")
	for f := range flags {
		t.Errorf("flag --%s has no configuration key", f)
	}
	for k := range keys {
		if !seenKeys[k] {
			t.Errorf("key %s has no flag", k)
		}
	}
	doc, err := os.ReadFile("../../docs/ballastd.md")
	if err != nil {
		t.Fatal(err)
	}
	fs.VisitAll(func(f *flag.Flag) {
		if !bytes.Contains(doc, []byte("--"+f.Name)) {
			t.Errorf("docs/ballastd.md does not mention --%s", f.Name)
		}
	})
	for k := range keys {
		if !bytes.Contains(doc, []byte("`"+k+"`")) {
			t.Errorf("docs/ballastd.md does not mention `%s`", k)
		}
	}
}

// TestConfigPrecedence: built-in defaults < file < flags given.
func TestConfigPrecedence(t *testing.T) {
	path := writeConfig(t, "ballastd.toml", `
[risk]
scenarios = 100
epoch_every = "1s"

[log]
level = "debug"
format = "json"

[[token]]
role = "admin"
secret = "file-admin"
`)
	o, err := parseArgs([]string{"--config", path, "--scenarios=200", "--log-format=text"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case o.app.scenarios != 200:
		t.Errorf("scenarios %d: the flag must win over the file", o.app.scenarios)
	case o.app.epochEvery != time.Second:
		t.Errorf("epoch every %v: the file must win over the default", o.app.epochEvery)
	case o.logLevel != slog.LevelDebug || o.logFormat != "text":
		t.Errorf("log level %v format %q", o.logLevel, o.logFormat)
	case o.app.snapshotEvery != defaultSnapshotEvery || o.symbols != shippedDefaults.Exchange.Symbols:
		t.Errorf("keys the file leaves out must keep their defaults: %v %d", o.app.snapshotEvery, o.symbols)
	case !reflect.DeepEqual(o.app.tokens, tokenFlags{"file-admin": "admin"}):
		t.Errorf("tokens %v", o.app.tokens)
	case o.configFile != path:
		t.Errorf("config file %q", o.configFile)
	}
	// Tokens given as flags replace the file's.
	o, err = parseArgs([]string{"--config", path, "--token=ops=flag-ops"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(o.app.tokens, tokenFlags{"flag-ops": "ops"}) {
		t.Errorf("tokens %v: the flags must replace the file's", o.app.tokens)
	}
	// Validation happens once, on the merged result: an invalid file value
	// overridden by a flag is no error.
	bad := writeConfig(t, "bad.toml", "[risk]\nscenarios = -5\n")
	if o, err := parseArgs([]string{"--config", bad, "--scenarios=5"}, &bytes.Buffer{}); err != nil || o.app.scenarios != 5 {
		t.Errorf("overridden invalid value: scenarios %d, err %v", o.app.scenarios, err)
	}
}

// TestConfigErrors checks that every error names the setting as the user
// wrote it, with the file's name (and line, where the decoder gives one).
func TestConfigErrors(t *testing.T) {
	t.Setenv("BALLASTD_TEST_EMPTY", "")
	missing := filepath.Join(t.TempDir(), "missing")
	for _, tc := range []struct {
		name string
		file string // the file's text ("": no file)
		args []string
		want []string // substrings of the error; FILE stands for the path
	}{
		{"unknown key", "[risk]\nscenarioz = 5\n", nil, []string{"FILE: unknown key risk.scenarioz"}},
		{"unknown table", "[riks]\nscenarios = 5\n", nil, []string{"unknown key riks"}},
		{"unknown token key", "[[token]]\nrole = \"ops\"\nsecrte = \"x\"\n", nil, []string{"unknown key token.secrte"}},
		{"wrong type", "\n[risk]\nscenarios = \"many\"\n", nil, []string{"FILE:3: risk.scenarios", "incompatible types"}},
		{"duration as integer", "[risk]\nepoch_every = 5\n", nil, []string{"FILE:2: risk.epoch_every", "duration"}},
		{"bad duration", "[data]\nsnapshot_every = \"soon\"\n", nil, []string{"FILE:2: data.snapshot_every"}},
		{"syntax", "demo = \n", nil, []string{"FILE:1"}},
		{"out of range", "[risk]\nscenarios = 99999999\n", nil, []string{"FILE: risk.scenarios: 99999999 outside"}},
		{"out of range flag", "[risk]\nscenarios = 5\n", []string{"--scenarios=-1"}, []string{"--scenarios: -1 outside"}},
		{"epoch period", "[risk]\nepoch_every = \"1ms\"\n", nil, []string{"FILE: risk.epoch_every: 1ms outside"}},
		{"log level", "[log]\nlevel = \"loud\"\n", nil, []string{"FILE: log.level", "debug, info, warn or error"}},
		{"log level flag", "", []string{"--log-level=trace"}, []string{"--log-level"}},
		{"accel", "[risk]\naccel = \"gpu\"\n", nil, []string{"FILE: risk.accel"}},
		{"seed", "[exchange]\nseed = -1\n", nil, []string{"FILE: exchange.seed: -1 outside"}},
		{"symbols", "[exchange]\nsymbols = 0\n", nil, []string{"FILE: exchange.symbols"}},
		{"no data dir", "[data]\ndir = \"\"\n", nil, []string{"FILE: data.dir"}},
		{"master alone", "[risk]\nmaster = \"m.json\"\n", nil, []string{"FILE: risk.master and --accounts go together"}},
		{"demo off", "demo = false\n", nil, []string{"FILE: demo=false needs risk.master and risk.accounts"}},
		{"exchange key without demo", "demo = false\n[risk]\nmaster = \"m\"\naccounts = \"a\"\n[exchange]\nmsg_rate = 5.0\n", nil,
			[]string{"FILE: exchange.msg_rate: applies only to the simulated exchange (demo)"}},
		{"rerequest with demo", "[feed]\nrerequest = \"127.0.0.1:9\"\n", nil, []string{"FILE: feed.rerequest: applies only with demo=false"}},
		{"feed", "[feed]\nlisten = \"nonsense\"\n", nil, []string{"FILE: feed.listen"}},
		{"token role", "[[token]]\nrole = \"root\"\nsecret = \"s\"\n", nil, []string{"FILE: token[1].role"}},
		{"token two secrets", "[[token]]\nrole = \"ops\"\nsecret = \"s\"\nsecret_env = \"X\"\n", nil, []string{"FILE: token[1] (role ops): give exactly one"}},
		{"token no secret", "[[token]]\nrole = \"ops\"\nsecret = \"a\"\n[[token]]\nrole = \"admin\"\n", nil, []string{"FILE: token[2] (role admin)"}},
		{"token env unset", "[[token]]\nrole = \"ops\"\nsecret_env = \"BALLASTD_TEST_NO_SUCH_VAR\"\n", nil,
			[]string{"FILE: token[1].secret_env: $BALLASTD_TEST_NO_SUCH_VAR is not set"}},
		{"token env empty", "[[token]]\nrole = \"ops\"\nsecret_env = \"BALLASTD_TEST_EMPTY\"\n", nil, []string{"FILE: token[1].secret_env (role ops)"}},
		{"token file missing", "[[token]]\nrole = \"ops\"\nsecret_file = \"" + missing + "\"\n", nil, []string{"FILE: token[1].secret_file"}},
		{"token long", "[[token]]\nrole = \"ops\"\nsecret = \"" + strings.Repeat("x", 65) + "\"\n", nil, []string{"FILE: token[1].secret (role ops): a secret is 1 to 64 bytes"}},
		{"token duplicate", "[[token]]\nrole = \"ops\"\nsecret = \"same\"\n[[token]]\nrole = \"admin\"\nsecret = \"same\"\n", nil,
			[]string{"FILE: token[2].secret (role admin): the same secret is already given to role ops"}},
		{"token flag", "", []string{"--token=ops=a", "--token=nobody=b"}, []string{"--token #2.role"}},
		{"token flag syntax", "", []string{"--token=opsonly"}, []string{"-token", "ROLE=SECRET"}},
		{"missing file", "", []string{"--config=" + missing}, []string{"--config", "missing"}},
		{"busy poll", "[verdict]\nbusy_poll = \"11ms\"\n", nil, []string{"FILE: verdict.busy_poll: 11ms outside 0s..10ms"}},
		{"busy poll negative flag", "", []string{"--busy-poll=-1us"}, []string{"--busy-poll: -1µs outside 0s..10ms"}},
		{"busy pollers", "[verdict]\nbusy_pollers = 65\n", nil, []string{"FILE: verdict.busy_pollers: 65 outside 1..64"}},
		{"busy pollers flag", "[verdict]\nbusy_pollers = 2\n", []string{"--busy-pollers=0"}, []string{"--busy-pollers: 0 outside 1..64"}},
		{"http busy poll", "[verdict]\nhttp_busy_poll = \"10ms1ns\"\n", nil, []string{"FILE: verdict.http_busy_poll: 10.000001ms outside 0s..10ms"}},
		{"http busy poll negative flag", "", []string{"--http-busy-poll=-1ms"}, []string{"--http-busy-poll: -1ms outside 0s..10ms"}},
		{"busy poll as integer", "[verdict]\nbusy_poll = 5\n", nil, []string{"FILE:2: verdict.busy_poll", "duration"}},
	} {
		args := tc.args
		path := ""
		if tc.file != "" {
			path = writeConfig(t, "ballastd.toml", tc.file)
			args = append([]string{"--config", path}, args...)
		}
		var stdout, stderr bytes.Buffer
		if c := run(context.Background(), args, &stdout, &stderr); c != exitUsage {
			t.Errorf("%s: exit %d, want %d; stderr %q", tc.name, c, exitUsage, stderr.String())
			continue
		}
		for _, w := range tc.want {
			w = strings.ReplaceAll(w, "FILE", path)
			if !strings.Contains(stderr.String(), w) {
				t.Errorf("%s: stderr %q does not mention %q", tc.name, stderr.String(), w)
			}
		}
		if strings.Contains(stderr.String(), "same\"") || strings.Contains(stderr.String(), "=b") {
			t.Errorf("%s: an error shows a secret: %q", tc.name, stderr.String())
		}
	}
}

// TestBusyPollConfig: verdict.busy_poll and verdict.busy_pollers reach the
// appliance from the defaults (off, one poller), the file and the flags,
// bounds included.
func TestBusyPollConfig(t *testing.T) {
	o, err := parseArgs(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o.app.busyPoll != 0 || o.app.busyPollers != 1 || o.app.httpBusyPoll != 0 {
		t.Errorf("defaults: busy poll %v, pollers %d, http %v; want off, 1, off", o.app.busyPoll, o.app.busyPollers, o.app.httpBusyPoll)
	}
	path := writeConfig(t, "ballastd.toml", "[verdict]\nbusy_poll = \"10ms\"\nbusy_pollers = 64\nhttp_busy_poll = \"10ms\"\n")
	if o, err = parseArgs([]string{"--config", path}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if o.app.busyPoll != busyPollMax || o.app.busyPollers != busyPollersMax || o.app.httpBusyPoll != busyPollMax {
		t.Errorf("file at the bounds: busy poll %v, pollers %d", o.app.busyPoll, o.app.busyPollers)
	}
	if o, err = parseArgs([]string{"--config", path, "--busy-poll=250us", "--busy-pollers=3", "--http-busy-poll=300us"}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if o.app.busyPoll != 250*time.Microsecond || o.app.busyPollers != 3 || o.app.httpBusyPoll != 300*time.Microsecond {
		t.Errorf("flags over the file: busy poll %v, pollers %d", o.app.busyPoll, o.app.busyPollers)
	}
}

// TestTokenSecretSources reads secrets inline, from a file (one trailing
// newline dropped) and from the environment.
func TestTokenSecretSources(t *testing.T) {
	dir := t.TempDir()
	sf := filepath.Join(dir, "ops.token")
	if err := os.WriteFile(sf, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("BALLASTD_TEST_TOKEN", "from-env")
	path := writeConfig(t, "ballastd.toml", `
[[token]]
role = "admin"
secret = "inline"
[[token]]
role = "ops"
secret_file = "`+sf+`"
[[token]]
role = "firm:acme"
secret_env = "BALLASTD_TEST_TOKEN"
`)
	o, err := parseArgs([]string{"--config=" + path}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	want := tokenFlags{"inline": "admin", "from-file": "ops", "from-env": "firm:acme"}
	if !reflect.DeepEqual(o.app.tokens, want) {
		t.Errorf("tokens %v, want %v", o.app.tokens, want)
	}
}

// TestPrintConfig prints the merged configuration: it is TOML that reads
// back to the same configuration, with the inline secrets redacted.
func TestPrintConfig(t *testing.T) {
	path := writeConfig(t, "ballastd.toml", `
[risk]
scenarios = 1000
[log]
level = "warn"
[[token]]
role = "admin"
secret = "top-secret-inline"
[[token]]
role = "ops"
secret_env = "BALLASTD_TEST_OPS"
`)
	t.Setenv("BALLASTD_TEST_OPS", "top-secret-env")
	var stdout, stderr bytes.Buffer
	if c := run(context.Background(), []string{"--config", path, "--print-config", "--epoch-every=3s"}, &stdout, &stderr); c != exitOK {
		t.Fatalf("exit %d: %s", c, stderr.String())
	}
	out := stdout.String()
	if strings.Contains(out, "top-secret") {
		t.Fatalf("a secret is printed:\n%s", out)
	}
	var got config
	md, err := toml.Decode(out, &got)
	if err != nil || len(md.Undecoded()) > 0 {
		t.Fatalf("output is not a configuration (%v, undecoded %v):\n%s", err, md.Undecoded(), out)
	}
	want := defaultConfig()
	want.Risk.Scenarios, want.Log.Level, want.Risk.EpochEvery = 1000, "warn", duration(3*time.Second)
	want.Tokens = []tokenSection{{Role: "admin", Secret: redacted}, {Role: "ops", SecretEnv: "BALLASTD_TEST_OPS"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("printed\n%+v\nwant\n%+v", got, want)
	}
	// An invalid configuration is not printed.
	stdout.Reset()
	if c := run(context.Background(), []string{"--print-config", "--scenarios=-1"}, &stdout, &stderr); c != exitUsage || stdout.Len() > 0 {
		t.Errorf("invalid: exit %d, stdout %q", c, stdout.String())
	}
}

// TestLogLevel checks that --log-level filters the log.
func TestLogLevel(t *testing.T) {
	for _, tc := range []struct {
		level string
		want  slog.Level
	}{{"debug", slog.LevelDebug}, {"info", slog.LevelInfo}, {"warn", slog.LevelWarn}, {"error", slog.LevelError}} {
		o, err := parseArgs([]string{"--log-level", tc.level}, &bytes.Buffer{})
		if err != nil || o.logLevel != tc.want {
			t.Errorf("%s: level %v, err %v", tc.level, o.logLevel, err)
		}
	}
	var buf bytes.Buffer
	v := new(slog.LevelVar)
	v.Set(slog.LevelWarn)
	log := newLogger(&buf, "json", v)
	log.Info("hidden")
	log.Warn("shown")
	v.Set(slog.LevelDebug)
	log.Debug("now shown")
	if s := buf.String(); strings.Contains(s, "hidden") || !strings.Contains(s, `"shown"`) || !strings.Contains(s, "now shown") {
		t.Errorf("log %q", s)
	}
}

// FuzzConfigFile decodes arbitrary files: never a panic, and a file that
// decodes prints (--print-config) as TOML that decodes back to the same
// configuration, inline secrets redacted.
func FuzzConfigFile(f *testing.F) {
	example, err := os.ReadFile(exampleConfig)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	f.Add([]byte("[risk]\nscenarios = 5\nepoch_every = \"1s\"\n[[token]]\nrole = \"ops\"\nsecret = \"s\"\n"))
	f.Add([]byte("demo = false\n[feed]\nrerequest = \"127.0.0.1:9\"\n"))
	f.Add([]byte("[log]\nlevel = 3\n"))
	f.Add([]byte("x = [\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > configFileBytesMax {
			return
		}
		c := defaultConfig()
		if _, err := decodeConfig("f.toml", data, &c); err != nil {
			return
		}
		if c.Exchange.MsgRate != c.Exchange.MsgRate || c.Exchange.DropRate != c.Exchange.DropRate {
			return // NaN is never equal to itself; validation refuses it
		}
		var out bytes.Buffer
		if err := printConfig(&out, c, "f.toml"); err != nil {
			t.Fatalf("print: %v", err)
		}
		back := defaultConfig()
		if _, err := decodeConfig("printed.toml", out.Bytes(), &back); err != nil {
			t.Fatalf("printed configuration does not decode: %v\n%s", err, out.String())
		}
		want := c
		want.Tokens = append([]tokenSection(nil), c.Tokens...)
		for i := range want.Tokens {
			if want.Tokens[i].Secret != "" {
				want.Tokens[i].Secret = redacted
			}
		}
		if len(want.Tokens) == 0 {
			want.Tokens, back.Tokens = nil, nil
		}
		if !reflect.DeepEqual(back, want) {
			t.Fatalf("round trip:\n got  %+v\n want %+v", back, want)
		}
	})
}
