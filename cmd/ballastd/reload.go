package main

// SIGHUP reloads (issue 6). The command line is parsed again, over the
// same --config file read afresh, so the flags given still win; the result
// is validated whole. What can change safely in a running appliance is
// applied: the token set (new logins and requests use it; sessions already
// logged in keep their role), the attestor allow-list (the file named by
// risk.attestors, read again; the replay tables are kept), the log level
// and the statistics, epoch and snapshot periods. Every other setting
// (addresses, the data directory, the universe, the accelerator…) is fixed
// for the life of the process: a change there is logged as needing a
// restart and ignored. A reload that fails validation changes nothing.

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ballast-risk/ballast/engine/attest"
)

// period is a loop's period that a reload may change: the loop resets its
// ticker to get() when changed fires.
type period struct {
	ns atomic.Int64
	// changed has room for one notification; set never blocks.
	changed chan struct{}
}

func newPeriod(d time.Duration) *period {
	p := &period{changed: make(chan struct{}, 1)}
	p.ns.Store(int64(d))
	return p
}

func (p *period) get() time.Duration { return time.Duration(p.ns.Load()) }

func (p *period) set(d time.Duration) {
	p.ns.Store(int64(d))
	select {
	case p.changed <- struct{}{}:
	default: // a notification is already pending; it reads the new value
	}
}

// reloadableKeys are the settings a reload applies (besides the tokens and
// the attestor allow-list's content).
var reloadableKeys = map[string]bool{
	"log.level": true, "log.stats_every": true, "risk.epoch_every": true, "data.snapshot_every": true,
}

// errDemoTokens refuses a reload that would drop every configured token:
// the demo tokens are made only at start-up.
var errDemoTokens = errors.New("no tokens configured: the demo tokens are made only at start-up (restart to use them)")

// reloader applies reloads to a running daemon.
type reloader struct {
	mu    sync.Mutex // one reload at a time
	cur   options    // the configuration in force
	level *slog.LevelVar
	d     *daemon
	log   *slog.Logger
}

func newReloader(o options, level *slog.LevelVar, d *daemon, log *slog.Logger) *reloader {
	return &reloader{cur: o, level: level, d: d, log: log}
}

// serveReloads reloads r on every signal from hup until the returned
// function is called (it waits for a reload in progress).
func serveReloads(hup <-chan os.Signal, r *reloader) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			case <-hup:
				_, _, _ = r.reload()
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// reload reads the configuration again and applies what it safely can. It
// logs one line and returns the changes applied and the settings that
// changed but need a restart; on an error nothing changed.
func (r *reloader) reload() (changed, restart []string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	file := r.cur.configFile
	if file == "" {
		file = "none"
	}
	changed, restart, err = r.apply()
	if err != nil {
		r.log.Error("configuration reload failed: nothing changed", "file", file, "err", err)
		return nil, nil, err
	}
	// The lines below are logged at the lower of the old and new levels,
	// so that the reload that changes the level is seen either way.
	r.level.Set(min(r.level.Level(), r.cur.logLevel))
	defer r.level.Set(r.cur.logLevel)
	if len(restart) > 0 {
		r.log.Warn("configuration change needs a restart: ignored", "file", file, "keys", strings.Join(restart, ", "))
	}
	summary := "nothing"
	if len(changed) > 0 {
		summary = strings.Join(changed, "; ")
	}
	r.log.Info("configuration reloaded", "file", file, "changed", summary)
	return changed, restart, nil
}

// apply is reload's work: validate everything, then swap.
func (r *reloader) apply() (changed, restart []string, err error) {
	next, err := parseArgs(r.cur.args, io.Discard)
	if err != nil {
		return nil, nil, err
	}
	a := r.d.app
	cur := &r.cur

	// The settings fixed for the life of the process.
	nextValues := next.cfg.values()
	for i, v := range cur.cfg.values() {
		nv := nextValues[i]
		if v.key != nv.key {
			panic("ballastd: configuration keys out of order")
		}
		if reloadableKeys[v.key] || v.key == "risk.attestors" || v.value == nv.value {
			continue
		}
		restart = append(restart, fmt.Sprintf("%s (running %v, configured %v)", v.key, v.value, nv.value))
	}

	// The attestor allow-list: its content is reloadable; turning
	// attestations on or off is not (the engine's verifier is made at
	// start-up).
	var keys map[string]ed25519.PublicKey
	attestors := cur.app.attestorsFile
	switch {
	case (cur.app.attestorsFile == "") != (next.app.attestorsFile == ""):
		restart = append(restart, fmt.Sprintf("risk.attestors (running %q, configured %q)",
			cur.app.attestorsFile, next.app.attestorsFile))
	case next.app.attestorsFile != "":
		attestors = next.app.attestorsFile
		if keys, err = readAllowList(attestors); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", next.src.name("attestors"), err)
		}
	}

	// The token set.
	tokens := next.app.tokens
	if len(tokens) == 0 {
		if len(cur.app.tokens) > 0 {
			return nil, nil, errDemoTokens
		}
		tokens = a.tokens // the demo tokens stay
	}
	added, removed := tokenRoles(a.tokens, tokens)

	// Apply: the steps that can fail first, each undone if a later one
	// fails.
	v := a.eng.Config().Verifier
	keysChanged := keys != nil && v != nil && !sameKeys(a.attestKeys, keys)
	if keysChanged {
		if err := v.SetKeys(keys); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", next.src.name("attestors"), err)
		}
	}
	if len(added)+len(removed) > 0 {
		if err := a.setTokens(tokens); err != nil {
			if keysChanged {
				_ = v.SetKeys(a.attestKeys)
			}
			return nil, nil, fmt.Errorf("%s: %w", next.src.name("token"), err)
		}
		changed = append(changed, fmt.Sprintf("token (%d in force, %s)", len(tokens), diffList(added, removed)))
		a.tokens = tokens
		if len(cur.app.tokens) == 0 && len(next.app.tokens) > 0 {
			changed = append(changed, "demo tokens withdrawn")
		}
		cur.app.tokens, cur.cfg.Tokens = next.app.tokens, next.cfg.Tokens
	}
	if keysChanged {
		ka, kr := keyDiff(a.attestKeys, keys)
		changed = append(changed, fmt.Sprintf("risk.attestors (%d attestors, %s)", len(keys), diffList(ka, kr)))
		a.attestKeys = keys
	}
	if attestors != cur.app.attestorsFile {
		changed = append(changed, fmt.Sprintf("risk.attestors file %s → %s", cur.app.attestorsFile, attestors))
		cur.app.attestorsFile, cur.cfg.Risk.Attestors = attestors, attestors
	}

	// The infallible ones.
	if next.cfg.Log.Level != cur.cfg.Log.Level {
		changed = append(changed, fmt.Sprintf("log.level %s → %s", cur.cfg.Log.Level, next.cfg.Log.Level))
		cur.cfg.Log.Level, cur.logLevel = next.cfg.Log.Level, next.logLevel
	}
	for _, p := range []struct {
		key       string
		cur, next *duration
		to        *period
	}{
		{"log.stats_every", &cur.cfg.Log.StatsEvery, &next.cfg.Log.StatsEvery, r.d.stats},
		{"risk.epoch_every", &cur.cfg.Risk.EpochEvery, &next.cfg.Risk.EpochEvery, a.epochEvery},
		{"data.snapshot_every", &cur.cfg.Data.SnapshotEvery, &next.cfg.Data.SnapshotEvery, a.snapshotEvery},
	} {
		if *p.cur != *p.next {
			p.to.set(time.Duration(*p.next))
			changed = append(changed, fmt.Sprintf("%s %v → %v", p.key, time.Duration(*p.cur), time.Duration(*p.next)))
			*p.cur = *p.next
		}
	}
	cur.statsEvery = time.Duration(cur.cfg.Log.StatsEvery)
	cur.app.epochEvery = time.Duration(cur.cfg.Risk.EpochEvery)
	cur.app.snapshotEvery = time.Duration(cur.cfg.Data.SnapshotEvery)
	return changed, restart, nil
}

// setTokens gives the verdict servers the token set tokens, both or
// neither.
func (a *appliance) setTokens(tokens tokenFlags) error {
	if a.sbeSrv != nil {
		if err := a.sbeSrv.SetTokens(tokens); err != nil {
			return err
		}
	}
	if a.httpSrv != nil {
		if err := a.httpSrv.SetTokens(tokens); err != nil {
			if a.sbeSrv != nil {
				_ = a.sbeSrv.SetTokens(a.tokens)
			}
			return err
		}
	}
	return nil
}

// readAllowList reads and parses an attestor allow-list file.
func readAllowList(path string) (map[string]ed25519.PublicKey, error) {
	data, err := readBounded(path, configFileBytesMax)
	if err != nil {
		return nil, err
	}
	return attest.ParseAllowList(data)
}

// sameKeys reports whether two allow-lists are equal.
func sameKeys(a, b map[string]ed25519.PublicKey) bool {
	if len(a) != len(b) {
		return false
	}
	for id, k := range a {
		if bk, ok := b[id]; !ok || !k.Equal(bk) {
			return false
		}
	}
	return true
}

// keyDiff returns the attestor ids added (or whose key changed) and
// removed, sorted.
func keyDiff(old, next map[string]ed25519.PublicKey) (added, removed []string) {
	for id, k := range next {
		if ok, present := old[id]; !present || !ok.Equal(k) {
			added = append(added, id)
		}
	}
	for id := range old {
		if _, present := next[id]; !present {
			removed = append(removed, id)
		}
	}
	sort.Strings(added)
	sort.Strings(removed)
	return added, removed
}

// diffList renders added and removed names: "+a +b -c".
func diffList(added, removed []string) string {
	parts := make([]string, 0, len(added)+len(removed))
	for _, s := range added {
		parts = append(parts, "+"+s)
	}
	for _, s := range removed {
		parts = append(parts, "-"+s)
	}
	return strings.Join(parts, " ")
}
