package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/engine/attest"
	"github.com/ballast-risk/ballast/engine/sbe"
)

// reloadChild is ballastd as a child process started with a --config file.
type reloadChild struct {
	*child
	t *testing.T
}

// startConfigChild runs ballastd with args and waits for its SBE and HTTP
// listeners (the log must be JSON).
func startConfigChild(t *testing.T, args ...string) *reloadChild {
	t.Helper()
	return &reloadChild{child: spawnChild(t, args), t: t}
}

// lines returns the JSON log lines with message msg.
func (c *reloadChild) lines(msg string) []map[string]any {
	var out []map[string]any
	for _, l := range strings.Split(c.logText(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// waitLines waits until the log holds n lines with message msg and
// returns the n-th.
func (c *reloadChild) waitLines(msg string, n int) map[string]any {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if ls := c.lines(msg); len(ls) >= n {
			return ls[n-1]
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("no %d lines %q; log:\n%s", n, msg, c.logText())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// hup sends SIGHUP and waits for the reload's outcome line (the n-th of
// its kind): reloaded, or failed when fail.
func (c *reloadChild) hup(n int, fail bool) map[string]any {
	c.t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		c.t.Fatal(err)
	}
	if fail {
		return c.waitLines("configuration reload failed: nothing changed", n)
	}
	return c.waitLines("configuration reloaded", n)
}

// sbeLogin logs in over SBE and returns the connection and whether it was
// accepted.
func (c *reloadChild) sbeLogin(token string) (net.Conn, bool) {
	c.t.Helper()
	nc, err := net.DialTimeout("tcp", c.sbeAddr, 5*time.Second)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { nc.Close() })
	var lg sbe.Login
	copy(lg.Token[:], token)
	if _, err := nc.Write(lg.AppendFrame(nil)); err != nil {
		c.t.Fatal(err)
	}
	f := readSBE(c.t, nc)
	if f.Header.TemplateID != sbe.LoginAckTemplateID {
		c.t.Fatalf("login answered with template %d", f.Header.TemplateID)
	}
	var ack sbe.LoginAck
	if err := ack.DecodeBlock(f.Block); err != nil {
		c.t.Fatal(err)
	}
	return nc, ack.Status == sbe.LoginStatusOK
}

// noticesSkippedMax bounds the margin notices skipped while waiting for a
// session's answer.
const noticesSkippedMax = 1024

// readSBE reads one frame from nc.
func readSBE(t *testing.T, nc net.Conn) sbe.Frame {
	t.Helper()
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, sbe.MessageFrameBytesMax)
	f, err := sbe.ReadFrame(nc, buf, len(buf))
	if err != nil {
		t.Fatalf("read frame: %v", err)
	}
	return f
}

// httpDo sends an HTTP request with a bearer token and returns the status
// and body.
func (c *reloadChild) httpDo(method, path, token, body string) (int, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.httpAddr+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b
}

// allowList writes an attestor allow-list of the given ids to path.
func allowList(t *testing.T, path string, ids ...string) {
	t.Helper()
	var entries []attest.AllowListEntry
	for _, id := range ids {
		entries = append(entries, attest.AllowListEntry{ID: id,
			PublicKey: base64.StdEncoding.EncodeToString(attestorKey(id).Public().(ed25519.PublicKey))})
	}
	data, _ := json.Marshal(entries)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func attestorKey(id string) ed25519.PrivateKey {
	seed := make([]byte, ed25519.SeedSize)
	copy(seed, id)
	return ed25519.NewKeyFromSeed(seed)
}

// TestSIGHUPReload is the reload contract end to end, on ballastd as its
// own process: a SIGHUP after an edit of the --config file swaps the token
// set (the new token logs in over SBE and HTTP, the removed one is refused,
// a session logged in before keeps working), reloads the attestor
// allow-list, the statistics period and the log level, reports a changed
// address as needing a restart, keeps a flag given on the command line
// winning over the file, and an invalid edit changes nothing.
func TestSIGHUPReload(t *testing.T) {
	dir := t.TempDir()
	opsFile := filepath.Join(dir, "ops.token")
	if err := os.WriteFile(opsFile, []byte("ops-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	attestors := filepath.Join(dir, "attestors.json")
	allowList(t, attestors, "custodian-a")
	conf := filepath.Join(dir, "ballastd.toml")
	// edit is one version of the file.
	type edit struct {
		http, statsEvery, level, epochEvery, snapshotEvery, busyPoll string
		tokens                                                       []string // ROLE=SECRET
	}
	write := func(e edit) {
		t.Helper()
		var b strings.Builder
		fmt.Fprintf(&b, "[verdict]\nsbe = \"127.0.0.1:0\"\nhttp = %q\nshm = \"\"\nbusy_poll = %q\n", e.http, e.busyPoll)
		fmt.Fprintf(&b, "[data]\ndir = %q\nsnapshot_every = %q\n", filepath.Join(dir, "data"), e.snapshotEvery)
		fmt.Fprintf(&b, "[risk]\nscenarios = 2000\nepoch_every = %q\nattestors = %q\n", e.epochEvery, attestors)
		fmt.Fprintf(&b, "[exchange]\nmsg_rate = 5000.0\n")
		// format "text" is overridden by --log-format=json on the command
		// line, at start-up and on every reload.
		fmt.Fprintf(&b, "[log]\nformat = \"text\"\nstats_every = %q\nlevel = %q\n", e.statsEvery, e.level)
		fmt.Fprintf(&b, "[[token]]\nrole = \"ops\"\nsecret_file = %q\n", opsFile)
		for _, tok := range e.tokens {
			role, secret, _ := strings.Cut(tok, "=")
			fmt.Fprintf(&b, "[[token]]\nrole = %q\nsecret = %q\n", role, secret)
		}
		if err := os.WriteFile(conf, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// The periods start long: one epoch at start-up, no statistics line, no
	// periodic snapshot.
	cur := edit{http: "127.0.0.1:0", statsEvery: "1h", level: "info", epochEvery: "1h", snapshotEvery: "1h", busyPoll: "0s",
		tokens: []string{"admin=old-admin"}}
	write(cur)
	c := startConfigChild(t, "--config="+conf, "--log-format=json")

	before, ok := c.sbeLogin("old-admin")
	if !ok {
		t.Fatalf("old token refused before the reload; log:\n%s", c.logText())
	}
	code, body := c.httpDo("GET", "/v1/accounts", "old-admin", "")
	if code != 200 {
		t.Fatalf("GET /v1/accounts: %d %s", code, body)
	}
	var accts struct {
		Accounts []struct {
			ID uint64 `json:"id"`
		} `json:"accounts"`
	}
	if err := json.Unmarshal(body, &accts); err != nil || len(accts.Accounts) == 0 {
		t.Fatalf("accounts %s: %v", body, err)
	}
	acct := accts.Accounts[0].ID
	attestation := func(nonce uint64) string {
		now := time.Now().UTC().Truncate(time.Second)
		sg := attest.Sign(attestorKey("custodian-b"), attest.Statement{Account: acct, Value: 10_000, Asset: "bonds",
			IssuedAt: now.Add(-time.Minute), ValidUntil: now.Add(time.Hour), Nonce: nonce, Attestor: "custodian-b"})
		b, err := json.Marshal(sg)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if code, body := c.httpDo("POST", "/v1/attestations", "old-admin", attestation(1)); code != 422 ||
		!bytes.Contains(body, []byte("unknown attestor")) {
		t.Fatalf("attestor not yet allowed: %d %s", code, body)
	}

	// The edit: admin's secret replaced and a firm token added, an
	// attestor added, the statistics period shortened, and the HTTP
	// address and the busy polling changed (which need a restart).
	if n := epochsTotal(t, c); n > 1 {
		t.Fatalf("%d epochs before the reload, want at most 1 (period 1h)", n)
	}
	firm := firstFirm(t, c, "old-admin")
	cur = edit{http: "127.0.0.1:1", statsEvery: "50ms", level: "info", epochEvery: "50ms", snapshotEvery: "1s", busyPoll: "1ms",
		tokens: []string{"admin=new-admin", "firm:" + firm + "=firm-secret"}}
	write(cur)
	allowList(t, attestors, "custodian-a", "custodian-b")
	line := c.hup(1, false)
	changed, _ := line["changed"].(string)
	for _, w := range []string{"token (3 in force, +admin +firm:", "-admin", "risk.attestors (2 attestors, +custodian-b)",
		"log.stats_every 1h0m0s → 50ms", "risk.epoch_every 1h0m0s → 50ms", "data.snapshot_every 1h0m0s → 1s"} {
		if !strings.Contains(changed, w) {
			t.Errorf("reload line %q lacks %q", changed, w)
		}
	}
	if strings.Contains(changed, "secret") || strings.Contains(changed, "log.format") {
		t.Errorf("reload line %q", changed)
	}
	warn := c.waitLines("configuration change needs a restart: ignored", 1)
	if keys, _ := warn["keys"].(string); !strings.Contains(keys, "verdict.http") || strings.Contains(keys, "log.format") ||
		!strings.Contains(keys, "verdict.busy_poll (running 0s, configured 1ms)") {
		t.Errorf("needs-restart keys %q", keys)
	}

	if _, ok := c.sbeLogin("new-admin"); !ok {
		t.Error("new token refused over SBE")
	}
	if _, ok := c.sbeLogin("old-admin"); ok {
		t.Error("removed token accepted over SBE")
	}
	if code, body := c.httpDo("GET", "/v1/accounts", "new-admin", ""); code != 200 {
		t.Errorf("new token over HTTP: %d %s", code, body)
	}
	if code, _ := c.httpDo("GET", "/v1/accounts", "old-admin", ""); code != 401 {
		t.Errorf("removed token over HTTP: %d, want 401", code)
	}
	if code, _ := c.httpDo("GET", "/metrics", "ops-secret", ""); code != 200 {
		t.Errorf("ops token (secret_file) over HTTP: %d", code)
	}
	if code, body := c.httpDo("GET", "/v1/accounts", "firm-secret", ""); code != 200 {
		t.Errorf("added firm token over HTTP: %d %s", code, body)
	}
	// The session logged in with the removed token keeps its role.
	q := sbe.AccountQuery{ReqID: 7, Account: acct}
	if _, err := before.Write(q.AppendFrame(nil)); err != nil {
		t.Fatal(err)
	}
	// (The session also receives the margin notices of the epochs, now
	// every 50ms: skip them.)
	f := readSBE(t, before)
	for skipped := 0; f.Header.TemplateID == sbe.MarginNoticeTemplateID && skipped < noticesSkippedMax; skipped++ {
		f = readSBE(t, before)
	}
	if f.Header.TemplateID != sbe.AccountStatusTemplateID {
		t.Errorf("session from before the reload: template %d, want AccountStatus", f.Header.TemplateID)
	}
	if code, body := c.httpDo("POST", "/v1/attestations", "new-admin", attestation(2)); code != 201 {
		t.Errorf("attestor added by the reload: %d %s", code, body)
	}
	// The statistics line now comes every 50ms, the epochs every 50ms, and
	// the state changed by the attestation is snapshotted within 1s.
	c.waitLines("feed", 3)
	deadline := time.Now().Add(10 * time.Second)
	for epochsTotal(t, c) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("epochs still not running every 50ms; log:\n%s", c.logText())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if snap := c.waitLines("snapshot written", 1); snap["why"] != "periodic" {
		t.Errorf("snapshot line %v", snap)
	}

	// An invalid edit (a bad level, beside a new token) changes nothing.
	bad := cur
	bad.level, bad.tokens = "loud", []string{"admin=new-admin", "admin=third-admin"}
	write(bad)
	fail := c.hup(1, true)
	if e, _ := fail["err"].(string); !strings.Contains(e, conf+": log.level") {
		t.Errorf("reload error %q does not name %s: log.level", e, conf)
	}
	if _, ok := c.sbeLogin("third-admin"); ok {
		t.Error("a token of a refused reload logs in")
	}
	if _, ok := c.sbeLogin("new-admin"); !ok {
		t.Error("a refused reload changed the tokens")
	}
	// A bad token file is refused too.
	if err := os.WriteFile(opsFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	write(cur)
	c.hup(2, true)
	if code, _ := c.httpDo("GET", "/metrics", "ops-secret", ""); code != 200 {
		t.Errorf("ops token after a refused reload: %d", code)
	}
	if err := os.WriteFile(opsFile, []byte("ops-secret"), 0o600); err != nil {
		t.Fatal(err)
	}

	// Raising the level to warn: the reload line is still logged, then the
	// statistics lines (info) stop.
	cur.level = "warn"
	write(cur)
	line = c.hup(2, false)
	if changed, _ := line["changed"].(string); !strings.Contains(changed, "log.level info → warn") {
		t.Errorf("reload line %q", changed)
	}
	time.Sleep(100 * time.Millisecond) // past a line racing the switch
	n := len(c.lines("feed"))
	time.Sleep(300 * time.Millisecond)
	if m := len(c.lines("feed")); m != n {
		t.Errorf("%d statistics lines at level warn", m-n)
	}

	// SIGTERM still shuts down cleanly.
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.exited:
	case <-time.After(15 * time.Second):
		t.Fatalf("ballastd did not stop; log:\n%s", c.logText())
	}
	if code := c.cmd.ProcessState.ExitCode(); code != exitOK {
		t.Errorf("exit %d; log:\n%s", code, c.logText())
	}
}

// epochsTotal reads ballast_epochs_total from /metrics.
func epochsTotal(t *testing.T, c *reloadChild) int {
	t.Helper()
	code, body := c.httpDo("GET", "/metrics", "ops-secret", "")
	if code != 200 {
		t.Fatalf("GET /metrics: %d", code)
	}
	for _, l := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(l, "ballast_epochs_total "); ok {
			var n int
			if _, err := fmt.Sscan(v, &n); err != nil {
				t.Fatalf("metric line %q: %v", l, err)
			}
			return n
		}
	}
	t.Fatalf("no ballast_epochs_total in /metrics:\n%s", body)
	return 0
}

// firstFirm returns the firm of the universe's first account.
func firstFirm(t *testing.T, c *reloadChild, token string) string {
	t.Helper()
	code, body := c.httpDo("GET", "/v1/accounts", token, "")
	if code != 200 {
		t.Fatalf("GET /v1/accounts: %d %s", code, body)
	}
	var accts struct {
		Accounts []struct {
			Firm string `json:"firm"`
		} `json:"accounts"`
	}
	if err := json.Unmarshal(body, &accts); err != nil || len(accts.Accounts) == 0 {
		t.Fatalf("accounts %s: %v", body, err)
	}
	return accts.Accounts[0].Firm
}

// TestSIGHUPDemoTokens: started without tokens (demo tokens), a reload
// that configures tokens withdraws the demo ones; one that removes every
// token again is refused (the demo tokens are made only at start-up); and
// switching attestations on needs a restart.
func TestSIGHUPDemoTokens(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "ballastd.toml")
	base := fmt.Sprintf("[verdict]\nsbe = \"127.0.0.1:0\"\nhttp = \"127.0.0.1:0\"\nshm = \"\"\n[data]\ndir = %q\n"+
		"[risk]\nscenarios = 2000\n[log]\nformat = \"json\"\nstats_every = \"1h\"\n", filepath.Join(dir, "data"))
	if err := os.WriteFile(conf, []byte(base), 0o600); err != nil {
		t.Fatal(err)
	}
	c := startConfigChild(t, "--config="+conf)
	if _, ok := c.sbeLogin(demoTokenPrefix + "admin"); !ok {
		t.Fatal("demo token refused")
	}
	// Nothing changed: nothing reloaded.
	if changed, _ := c.hup(1, false)["changed"].(string); changed != "nothing" {
		t.Errorf("changed %q, want nothing", changed)
	}

	attestors := filepath.Join(dir, "attestors.json")
	allowList(t, attestors, "custodian-a")
	withToken := base + "[[token]]\nrole = \"admin\"\nsecret = \"real-admin\"\n"
	withToken = strings.Replace(withToken, "[risk]\n", fmt.Sprintf("[risk]\nattestors = %q\n", attestors), 1)
	if err := os.WriteFile(conf, []byte(withToken), 0o600); err != nil {
		t.Fatal(err)
	}
	changed, _ := c.hup(2, false)["changed"].(string)
	if !strings.Contains(changed, "demo tokens withdrawn") || !strings.Contains(changed, "token (1 in force, +admin") {
		t.Errorf("changed %q", changed)
	}
	warn := c.waitLines("configuration change needs a restart: ignored", 1)
	if keys, _ := warn["keys"].(string); !strings.Contains(keys, "risk.attestors") {
		t.Errorf("needs-restart keys %q", keys)
	}
	if _, ok := c.sbeLogin("real-admin"); !ok {
		t.Error("configured token refused")
	}
	if _, ok := c.sbeLogin(demoTokenPrefix + "admin"); ok {
		t.Error("demo token still accepted")
	}

	if err := os.WriteFile(conf, []byte(base), 0o600); err != nil {
		t.Fatal(err)
	}
	fail := c.hup(1, true)
	if e, _ := fail["err"].(string); !strings.Contains(e, "demo tokens are made only at start-up") {
		t.Errorf("err %q", e)
	}
	if _, ok := c.sbeLogin("real-admin"); !ok {
		t.Error("a refused reload removed the tokens")
	}
}

// TestPeriod: set never blocks, and a pending notification carries the
// latest value.
func TestPeriod(t *testing.T) {
	p := newPeriod(time.Second)
	if p.get() != time.Second {
		t.Fatalf("get %v", p.get())
	}
	p.set(2 * time.Second)
	p.set(3 * time.Second) // coalesced with the pending notification
	select {
	case <-p.changed:
	default:
		t.Fatal("no notification")
	}
	if p.get() != 3*time.Second {
		t.Errorf("get %v after two sets, want 3s", p.get())
	}
	select {
	case <-p.changed:
		t.Error("two notifications for two sets in a row")
	default:
	}
}

func TestTokenAndKeyDiffs(t *testing.T) {
	added, removed := tokenRoles(tokenFlags{"a": "admin", "b": "ops", "c": "firm:x"},
		tokenFlags{"a": "admin", "b": "firm:y", "d": "firm:x"})
	if got := diffList(added, removed); got != "+firm:x +firm:y -firm:x -ops" {
		t.Errorf("token diff %q", got)
	}
	k1, k2 := attestorKey("k1").Public().(ed25519.PublicKey), attestorKey("k2").Public().(ed25519.PublicKey)
	old := map[string]ed25519.PublicKey{"a": k1, "b": k1}
	next := map[string]ed25519.PublicKey{"a": k2, "c": k1}
	ka, kr := keyDiff(old, next)
	if got := diffList(ka, kr); got != "+a +c -b" {
		t.Errorf("key diff %q", got)
	}
	if sameKeys(old, next) || !sameKeys(old, map[string]ed25519.PublicKey{"a": k1, "b": k1}) {
		t.Error("sameKeys")
	}
}
