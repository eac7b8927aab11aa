package attest

import (
	"bytes"
	"crypto/ed25519"
	"sync"
	"testing"
	"time"
)

func pubOf(id string) ed25519.PublicKey { return key(id).Public().(ed25519.PublicKey) }

// TestSetKeys replaces the allow-list: a removed attestor becomes unknown,
// an added one is accepted, the replay tables survive (a statement
// accepted before cannot be replayed after the attestor is removed and
// added back), an invalid list changes nothing, and the list is copied.
func TestSetKeys(t *testing.T) {
	clk := newClock(t0.Add(time.Hour))
	v := verifier(t, clk, 0)
	s1 := statement(1)
	if _, err := v.Verify(Sign(key("custodian-a"), s1)); err != nil {
		t.Fatal(err)
	}

	keys := map[string]ed25519.PublicKey{"bank-b": pubOf("bank-b"), "new-c": pubOf("new-c")}
	if err := v.SetKeys(keys); err != nil {
		t.Fatal(err)
	}
	_, err := v.Verify(Sign(key("custodian-a"), statement(2)))
	wantReason(t, err, UnknownAttestor)
	sc := statement(3)
	sc.Attestor = "new-c"
	if _, err := v.Verify(Sign(key("new-c"), sc)); err != nil {
		t.Fatalf("added attestor: %v", err)
	}
	// The caller's map and key bytes are copied.
	keys["new-c"][0] ^= 1
	delete(keys, "bank-b")
	sb := statement(4)
	sb.Attestor = "bank-b"
	if _, err := v.Verify(Sign(key("bank-b"), sb)); err != nil {
		t.Fatalf("kept attestor after the caller changed its map: %v", err)
	}
	if !bytes.Equal(v.keys["new-c"], pubOf("new-c")) {
		t.Fatal("verifier shares the caller's key bytes")
	}

	// Back in the list, custodian-a's earlier statement is still a replay.
	if err := v.SetKeys(map[string]ed25519.PublicKey{"custodian-a": pubOf("custodian-a")}); err != nil {
		t.Fatal(err)
	}
	_, err = v.Verify(Sign(key("custodian-a"), s1))
	wantReason(t, err, Replay)
	if v.Nonces("new-c") != 1 {
		t.Errorf("removed attestor's table: %d nonces, want 1 (kept)", v.Nonces("new-c"))
	}

	for name, bad := range map[string]map[string]ed25519.PublicKey{
		"short key":  {"custodian-a": pubOf("custodian-a"), "x": pubOf("x")[:31]},
		"bad id":     {"": pubOf("x")},
		"too many":   manyKeys(AttestorsMax+1, pubOf("x")),
		"id too big": {string(bytes.Repeat([]byte("k"), 1000)): pubOf("x")},
	} {
		if err := v.SetKeys(bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	s5 := statement(5)
	if _, err := v.Verify(Sign(key("custodian-a"), s5)); err != nil {
		t.Fatalf("a refused list changed the keys: %v", err)
	}
	// An empty list refuses every attestor.
	if err := v.SetKeys(nil); err != nil {
		t.Fatal(err)
	}
	_, err = v.Verify(Sign(key("custodian-a"), statement(6)))
	wantReason(t, err, UnknownAttestor)
}

// TestSetKeysConcurrent swaps the allow-list during verifications (run
// with -race).
func TestSetKeysConcurrent(t *testing.T) {
	clk := newClock(t0.Add(time.Hour))
	v := verifier(t, clk, 0)
	lists := []map[string]ed25519.PublicKey{
		{"custodian-a": pubOf("custodian-a")},
		{"custodian-a": pubOf("custodian-a"), "bank-b": pubOf("bank-b")},
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := v.SetKeys(lists[i%2]); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for n := range uint64(200) {
		if _, err := v.Verify(Sign(key("custodian-a"), statement(100+n))); err != nil {
			t.Fatalf("custodian-a is in every list: %v", err)
		}
	}
	close(stop)
	wg.Wait()
}

func BenchmarkSetKeys(b *testing.B) {
	v := verifier(b, newClock(t0), 0)
	keys := manyKeys(64, pubOf("x"))
	b.ReportAllocs()
	for b.Loop() {
		if err := v.SetKeys(keys); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reloads/s")
}
