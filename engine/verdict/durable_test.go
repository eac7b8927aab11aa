package verdict

import (
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/engine"
	"github.com/ballast-risk/ballast/engine/account"
	"github.com/ballast-risk/ballast/engine/attest"
	"github.com/ballast-risk/ballast/engine/enginetest"
	"github.com/ballast-risk/ballast/engine/journal"
	"github.com/ballast-risk/ballast/engine/sbe"
	"github.com/ballast-risk/ballast/engine/vol"
)

// durableFixture is the test book with an attestation verifier, its service
// and journal, re-openable over the same directory as after a restart.
type durableFixture struct {
	t    *testing.T
	dir  string
	priv ed25519.PrivateKey
	pub  ed25519.PublicKey
	eng  *engine.Engine
	j    *journal.Journal
	svc  *EngineService
}

func newDurable(t *testing.T) *durableFixture {
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	pub := priv.Public().(ed25519.PublicKey)
	f := &durableFixture{t: t, dir: filepath.Join(t.TempDir(), "wal"), priv: priv, pub: pub}
	f.open()
	return f
}

// open builds a fresh engine and service over the directory, restoring it.
func (f *durableFixture) open() RestoreInfo {
	f.t.Helper()
	f.eng = enginetest.EngineWith(f.t, func(c *engine.Config) {
		v, err := attest.NewVerifier(attest.Config{Keys: map[string]ed25519.PublicKey{"custodian-a": f.pub},
			Now: func() time.Time { return enginetest.AsOf }, ValidityMax: 30 * 24 * time.Hour})
		if err != nil {
			f.t.Fatal(err)
		}
		c.Verifier = v
	})
	f.j = openJournal(f.t, f.dir)
	svc, err := NewEngineService(f.eng, f.j, 64)
	if err != nil {
		f.t.Fatal(err)
	}
	f.svc = svc
	info, err := svc.Restore()
	if err != nil {
		f.t.Fatal(err)
	}
	return info
}

// restart closes the journal (as a crash would leave it: no snapshot) and
// opens everything again.
func (f *durableFixture) restart() RestoreInfo {
	f.t.Helper()
	if err := f.j.Close(); err != nil {
		f.t.Fatal(err)
	}
	return f.open()
}

func (f *durableFixture) statement(acct uint64, value int64, nonce uint64, issued time.Duration) attest.Signed {
	return attest.Sign(f.priv, attest.Statement{Account: acct, Value: value, Asset: "T-bills",
		IssuedAt: enginetest.AsOf.Add(issued), ValidUntil: enginetest.AsOf.Add(issued + 48*time.Hour),
		Nonce: nonce, Attestor: "custodian-a"})
}

// mutate applies n random changes of every kind and returns them counted.
func (f *durableFixture) mutate(rng *rand.Rand, n int, execBase uint64) (fills, collaterals, attests int) {
	f.t.Helper()
	ctx := context.Background()
	accts := []uint64{1001, 1002, 2001, 2002, 3001}
	for i := 0; i < n; i++ {
		a := accts[rng.IntN(len(accts))]
		switch rng.IntN(5) {
		case 0:
			tier := account.Cash
			if rng.IntN(2) == 0 {
				tier = account.CreditLine
			}
			if err := f.svc.SetCollateral(ctx, a, tier, float64(rng.IntN(1_000_000))+0.25); err != nil {
				f.t.Fatal(err)
			}
			collaterals++
		case 1:
			if _, err := f.svc.Attest(ctx, f.statement(a, int64(rng.IntN(1e9)), execBase+uint64(i), time.Duration(execBase/10+uint64(i))*time.Second-2*time.Hour)); err != nil {
				f.t.Fatal(err)
			}
			attests++
		default:
			side := sbe.SideBuy
			if rng.IntN(2) == 0 {
				side = sbe.SideSell
			}
			fl := sbe.Fill{Account: a, Instrument: uint32(1 + rng.IntN(3)), Side: side, Qty: int64(1 + rng.IntN(20)),
				Price: int64(90+rng.IntN(20)) * 10000, ExecID: execBase + uint64(i)}
			if c := f.svc.Fill(ctx, &fl); c != sbe.ErrorCodeNone {
				f.t.Fatalf("fill %+v: %v", fl, c)
			}
			fills++
		}
	}
	return
}

func sameState(t *testing.T, got, want []engine.AccountState) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		for i := range want {
			if i < len(got) && !reflect.DeepEqual(got[i], want[i]) {
				t.Fatalf("account %d restored as\n%+v\nwant\n%+v", want[i].ID, got[i], want[i])
			}
		}
		t.Fatalf("restored %d accounts, want %d", len(got), len(want))
	}
}

// TestRestoreFromLog: fills, collateral changes and attestations all come
// back from the log alone, exactly.
func TestRestoreFromLog(t *testing.T) {
	f := newDurable(t)
	fills, colls, atts := f.mutate(rand.New(rand.NewPCG(3, 4)), 120, 10_000)
	want := f.eng.ExportState()
	info := f.restart()
	if info.HasSnapshot || info.Fills != fills || info.Collaterals != colls || info.Attestations != atts || info.Refused != 0 {
		t.Fatalf("restore %+v, want %d fills %d collaterals %d attestations", info, fills, colls, atts)
	}
	sameState(t, f.eng.ExportState(), want)
}

// TestRestoreFromSnapshotAndLog: a snapshot mid-stream, more changes, a
// crash: the snapshot plus the records after it give the same state, and a
// second snapshot with nothing new writes nothing.
func TestRestoreFromSnapshotAndLog(t *testing.T) {
	f := newDurable(t)
	rng := rand.New(rand.NewPCG(5, 6))
	f.mutate(rng, 80, 20_000)
	si, err := f.svc.Snapshot()
	if err != nil || !si.Written || si.Seq != f.j.LastSeq() {
		t.Fatalf("snapshot %+v %v (last seq %d)", si, err, f.j.LastSeq())
	}
	if si2, err := f.svc.Snapshot(); err != nil || si2.Written {
		t.Fatalf("second snapshot with no change: %+v %v", si2, err)
	}
	fills, colls, atts := f.mutate(rng, 40, 30_000)
	want := f.eng.ExportState()
	info := f.restart()
	if !info.HasSnapshot || info.SnapshotSeq != si.Seq || info.Accounts != len(want) ||
		info.Fills != fills || info.Collaterals != colls || info.Attestations != atts {
		t.Fatalf("restore %+v, want snapshot %d then %d/%d/%d", info, si.Seq, fills, colls, atts)
	}
	sameState(t, f.eng.ExportState(), want)
}

// TestDuplicatesSurviveRestart: a fill's execId and an attestation's nonce
// are still refused after a restart, whether they come back from the log
// or from a snapshot.
func TestDuplicatesSurviveRestart(t *testing.T) {
	for _, snap := range []bool{false, true} {
		f := newDurable(t)
		ctx := context.Background()
		fl := sbe.Fill{Account: 1001, Instrument: 1, Side: sbe.SideBuy, Qty: 3, Price: 100 * 10000, ExecID: 42}
		if c := f.svc.Fill(ctx, &fl); c != sbe.ErrorCodeNone {
			t.Fatal(c)
		}
		sg := f.statement(2001, 5_000_000_000, 7, -time.Hour)
		if _, err := f.svc.Attest(ctx, sg); err != nil {
			t.Fatal(err)
		}
		if snap {
			if _, err := f.svc.Snapshot(); err != nil {
				t.Fatal(err)
			}
		}
		f.restart()
		if c := f.svc.Fill(ctx, &fl); c != sbe.ErrorCodeDuplicateFill {
			t.Errorf("snapshot %v: duplicate fill after restart: %v", snap, c)
		}
		if _, err := f.svc.Attest(ctx, sg); !isRejection(err, attest.Replay) {
			t.Errorf("snapshot %v: replayed attestation after restart: %v", snap, err)
		}
		st, _ := f.eng.Status(2001)
		if st.Collateral[account.Verified] != 500_000 {
			t.Errorf("snapshot %v: verified collateral %v after restart", snap, st.Collateral[account.Verified])
		}
	}
}

func isRejection(err error, r attest.Reason) bool {
	got, ok := attest.ReasonOf(err)
	return ok && got == r
}

// TestRefusedChangesNotJournalled: invalid collateral and rejected
// attestations write nothing.
func TestRefusedChangesNotJournalled(t *testing.T) {
	f := newDurable(t)
	ctx := context.Background()
	if err := f.svc.SetCollateral(ctx, 1001, account.Verified, 5); !errors.Is(err, account.ErrInvalid) {
		t.Fatal(err)
	}
	if err := f.svc.SetCollateral(ctx, 9999, account.Cash, 5); !errors.Is(err, engine.ErrUnknownAccount) {
		t.Fatal(err)
	}
	bad := f.statement(1001, 1, 1, 0)
	bad.Value++
	if _, err := f.svc.Attest(ctx, bad); !isRejection(err, attest.BadSignature) {
		t.Fatal(err)
	}
	if _, err := f.svc.Attest(ctx, f.statement(9999, 1, 2, 0)); !errors.Is(err, engine.ErrUnknownAccount) {
		t.Fatal(err)
	}
	if n := f.j.LastSeq(); n != 0 {
		t.Fatalf("refused changes journalled: last seq %d", n)
	}
}

// TestRestoreRefusesUnknownRecords: a record of an unknown kind or a
// damaged snapshot stops the restore instead of being skipped.
func TestRestoreRefusesUnknownRecords(t *testing.T) {
	f := newDurable(t)
	rec := EncodeCollateralRecord(nil, 1001, account.Cash, 1)
	rec[2] = 9 // unknown template
	if _, err := f.j.Append(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	f.j.Close()
	f.j = openJournal(t, f.dir)
	svc, err := NewEngineService(enginetest.Engine(t), f.j, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Restore(); !errors.Is(err, ErrRecord) {
		t.Fatalf("unknown record: %v", err)
	}
	f.j.Close()

	g := newDurable(t)
	g.mutate(rand.New(rand.NewPCG(7, 8)), 5, 1)
	if _, err := g.svc.Snapshot(); err != nil {
		t.Fatal(err)
	}
	g.j.Close()
	// A snapshot whose content no longer fits the configuration (an
	// account removed): its data is CRC-valid, so rewrite it through the
	// journal with a foreign account.
	j := openJournal(t, g.dir)
	seq, data, ok, err := j.LatestSnapshot()
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	data = []byte(replaceFirst(string(data), `"id":1001`, `"id":777`))
	if err := j.WriteSnapshot(seq, byteWriterTo(data)); err != nil {
		t.Fatal(err)
	}
	svc, err = NewEngineService(enginetest.Engine(t), j, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Restore(); !errors.Is(err, ErrSnapshot) {
		t.Fatalf("foreign snapshot: %v", err)
	}
	j.Close()
}

type byteWriterTo []byte

func (b byteWriterTo) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(b)
	return int64(n), err
}

func replaceFirst(s, old, new string) string {
	for i := 0; i+len(old) <= len(s); i++ {
		if s[i:i+len(old)] == old {
			return s[:i] + new + s[i+len(old):]
		}
	}
	return s
}

// TestSnapshotDuringChanges: snapshots taken while writers change the
// state concurrently are consistent cuts: restoring the last one plus the
// log gives exactly the final state.
func TestSnapshotDuringChanges(t *testing.T) {
	f := newDurable(t)
	ctx := context.Background()
	const writers, each = 4, 60
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				fl := sbe.Fill{Account: []uint64{1001, 2001, 3001}[i%3], Instrument: uint32(1 + i%3), Side: sbe.Side(1 + (i+w)%2),
					Qty: int64(1 + i%7), Price: int64(95+i%10) * 10000, ExecID: uint64(w*1000 + i + 1)}
				if c := f.svc.Fill(ctx, &fl); c != sbe.ErrorCodeNone {
					t.Errorf("fill: %v", c)
					return
				}
				if i%10 == 0 {
					if err := f.svc.SetCollateral(ctx, 1002, account.Cash, float64(w*1000+i)); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}(w)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	snaps := 0
	for loop := true; loop; {
		select {
		case <-done:
			loop = false
		default:
			if si, err := f.svc.Snapshot(); err != nil {
				t.Fatal(err)
			} else if si.Written {
				snaps++
			}
			time.Sleep(time.Millisecond)
		}
	}
	want := f.eng.ExportState()
	f.restart()
	sameState(t, f.eng.ExportState(), want)
	t.Logf("%d snapshots during %d fills", snaps, writers*each)
}

// TestOpenDirMissing documents that a fresh directory restores nothing.
func TestOpenDirMissing(t *testing.T) {
	f := newDurable(t)
	info := f.restart()
	if info.HasSnapshot || info.Fills+info.Collaterals+info.Attestations != 0 {
		t.Fatalf("fresh directory restored %+v", info)
	}
	if _, err := os.Stat(f.dir); err != nil {
		t.Fatal(err)
	}
}

// TestVolOverridesSurviveRestart: a volatility surface set at run time is
// journalled before it applies, comes back from the log after a crash and
// from a snapshot after one is taken, and a corrupt surface record stops
// the restore instead of being skipped.
func TestVolOverridesSurviveRestart(t *testing.T) {
	ctx := context.Background()
	f := newDurable(t)
	m := f.eng.Master()
	if len(m.Underlyings) < 2 {
		t.Fatal("the test book needs two underlyings")
	}
	flat, err := vol.Flat(0.55)
	if err != nil {
		t.Fatal(err)
	}
	smile, err := vol.NewSurface([]vol.Slice{{T: 0.25, A: 0.02, B: 0.1, Rho: -0.4, M: 0.01, Sigma: 0.2},
		{T: 1, A: 0.06, B: 0.12, Rho: -0.35, M: 0.02, Sigma: 0.25}})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.SetVol(ctx, 0, flat); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.SetVol(ctx, 1, smile); err != nil {
		t.Fatal(err)
	}
	want, err := f.eng.ExportVols()
	if err != nil || len(want) != 2 {
		t.Fatalf("export: %d surfaces, %v", len(want), err)
	}
	same := func(how string) {
		t.Helper()
		got, err := f.eng.ExportVols()
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: surfaces\n%s\nwant\n%s (%v)", how, got, want, err)
		}
		if v := f.eng.Vol(0).Vol(0, 0.5); v != 0.55 {
			t.Fatalf("%s: underlying 0 vol %v, want 0.55", how, v)
		}
	}
	if info := f.restart(); info.VolRecords != 2 || info.Refused != 0 {
		t.Fatalf("restore from the log: %+v", info)
	}
	same("from the log")
	if _, err := f.svc.Snapshot(); err != nil {
		t.Fatal(err)
	}
	if info := f.restart(); !info.HasSnapshot || info.Vols != 2 || info.VolRecords != 0 {
		t.Fatalf("restore from the snapshot: %+v", info)
	}
	same("from the snapshot")

	// A surface record that does not parse is a damaged journal.
	bad, err := EncodeVolRecord(nil, []byte(`{"underlying":"`+m.Underlyings[0].Symbol+`","flat":-1}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.j.Append(ctx, bad); err != nil {
		t.Fatal(err)
	}
	if err := f.j.Close(); err != nil {
		t.Fatal(err)
	}
	eng := enginetest.Engine(t)
	j := openJournal(t, f.dir)
	defer j.Close()
	svc, err := NewEngineService(eng, j, 64)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Restore(); !errors.Is(err, ErrRecord) {
		t.Fatalf("restore over a bad surface record: %v, want ErrRecord", err)
	}
}

// TestVolRecordBounds: EncodeVolRecord refuses an empty or oversized
// document.
func TestVolRecordBounds(t *testing.T) {
	if _, err := EncodeVolRecord(nil, nil); !errors.Is(err, ErrRecord) {
		t.Errorf("empty: %v", err)
	}
	if _, err := EncodeVolRecord(nil, make([]byte, VolRecordBytesMax)); !errors.Is(err, ErrRecord) {
		t.Errorf("oversized: %v", err)
	}
	rec, err := EncodeVolRecord(nil, []byte(`{"underlying":"X","flat":0.2}`))
	if err != nil {
		t.Fatal(err)
	}
	r, err := decodeRecord(rec)
	if err != nil || r.kind != templateVol || string(r.vol) != `{"underlying":"X","flat":0.2}` {
		t.Fatalf("round trip: %+v %v", r, err)
	}
}

// TestConcurrentChangesReplayBitForBit: writers racing fills and collateral
// changes on the same account (each fill moves the account's cash and its
// position's average price, in floating point, so the order matters) leave
// a state that a restore from the log alone rebuilds bit for bit: changes
// to one account are applied in the order they were journalled.
func TestConcurrentChangesReplayBitForBit(t *testing.T) {
	f := newDurable(t)
	ctx := context.Background()
	const writers, each = 8, 40
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				fl := sbe.Fill{Account: 1001, Instrument: uint32(1 + i%2), Side: sbe.Side(1 + (i+w)%2),
					Qty: int64(1 + (i*7+w)%13), Price: int64(9_500+((i*31+w*17)%1_000))*100 + int64(w), ExecID: uint64(w*1000 + i + 1)}
				if c := f.svc.Fill(ctx, &fl); c != sbe.ErrorCodeNone {
					t.Errorf("fill: %v", c)
					return
				}
				if i%8 == w%8 {
					if err := f.svc.SetCollateral(ctx, 1001, account.Cash, float64(1_000_000+w*1000+i)+0.1); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	want := f.eng.ExportState()
	f.restart()
	sameState(t, f.eng.ExportState(), want)
}
