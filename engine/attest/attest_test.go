package attest

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func key(id string) ed25519.PrivateKey {
	seed := make([]byte, ed25519.SeedSize)
	copy(seed, id)
	return ed25519.NewKeyFromSeed(seed)
}

// fakeClock is a settable clock safe for concurrent use.
type fakeClock struct{ ns atomic.Int64 }

func newClock(t time.Time) *fakeClock {
	c := &fakeClock{}
	c.set(t)
	return c
}
func (c *fakeClock) set(t time.Time)     { c.ns.Store(t.UnixNano()) }
func (c *fakeClock) now() time.Time      { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) add(d time.Duration) { c.ns.Add(int64(d)) }

func statement(nonce uint64) Statement {
	return Statement{
		Account:    1001,
		Value:      250_000_000,
		Asset:      "T-bills",
		IssuedAt:   t0,
		ValidUntil: t0.Add(24 * time.Hour),
		Nonce:      nonce,
		Attestor:   "custodian-a",
	}
}

func verifier(t testing.TB, clk *fakeClock, noncesMax int) *Verifier {
	t.Helper()
	v, err := NewVerifier(Config{
		Keys: map[string]ed25519.PublicKey{
			"custodian-a": key("custodian-a").Public().(ed25519.PublicKey),
			"bank-b":      key("bank-b").Public().(ed25519.PublicKey),
		},
		Now:         clk.now,
		ValidityMax: 7 * 24 * time.Hour,
		ClockSkew:   time.Minute,
		NoncesMax:   noncesMax,
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func wantReason(t *testing.T, err error, want Reason) {
	t.Helper()
	got, ok := ReasonOf(err)
	if !ok || got != want {
		t.Fatalf("error %v: reason %v, want %v", err, got, want)
	}
}

func TestSigningBytesLayout(t *testing.T) {
	s := statement(7)
	b := s.SigningBytes(nil)
	if !bytes.HasPrefix(b, []byte("ballast-attestation-v1\x00")) {
		t.Fatalf("no context prefix: %q", b[:23])
	}
	le := binary.LittleEndian
	if le.Uint64(b[23:]) != 1001 || int64(le.Uint64(b[31:])) != 250_000_000 ||
		int64(le.Uint64(b[39:])) != t0.UnixNano() || int64(le.Uint64(b[47:])) != t0.Add(24*time.Hour).UnixNano() ||
		le.Uint64(b[55:]) != 7 {
		t.Fatalf("fixed fields wrong: %x", b)
	}
	if b[63] != 11 || string(b[64:75]) != "custodian-a" || b[75] != 7 || string(b[76:]) != "T-bills" {
		t.Fatalf("strings wrong: %q", b[63:])
	}
	if len(b) > SigningBytesMax {
		t.Fatal("longer than SigningBytesMax")
	}
	// The zone does not change the encoding.
	s2 := s
	s2.IssuedAt = s.IssuedAt.In(time.FixedZone("x", 3600))
	if !bytes.Equal(s2.SigningBytes(nil), b) {
		t.Fatal("time zone changes the signed bytes")
	}
	// Appends to dst.
	if got := s.SigningBytes([]byte("xy")); !bytes.Equal(got[2:], b) || string(got[:2]) != "xy" {
		t.Fatal("does not append")
	}
}

func TestVerifyAccepts(t *testing.T) {
	clk := newClock(t0.Add(time.Hour))
	v := verifier(t, clk, 0)
	signed := Sign(key("custodian-a"), statement(1))
	got, err := v.Verify(signed)
	if err != nil {
		t.Fatal(err)
	}
	if got != signed.Statement {
		t.Fatalf("statement changed: %+v", got)
	}
	if got.ExpiredAt(t0.Add(time.Hour)) || !got.ExpiredAt(t0.Add(24*time.Hour)) {
		t.Fatal("ExpiredAt wrong")
	}
	if v.Nonces("custodian-a") != 1 || v.Nonces("bank-b") != 0 {
		t.Fatal("nonce count")
	}
}

func TestRejections(t *testing.T) {
	clk := newClock(t0.Add(time.Hour))
	v := verifier(t, clk, 0)
	priv := key("custodian-a")

	s := Sign(priv, statement(2))
	s.Signature[5] ^= 1
	_, err := v.Verify(s)
	wantReason(t, err, BadSignature)

	st := statement(3)
	st.Attestor = "stranger"
	_, err = v.Verify(Sign(key("stranger"), st))
	wantReason(t, err, UnknownAttestor)

	st = statement(4)
	st.Attestor = "bank-b" // signed by the wrong key
	_, err = v.Verify(Sign(priv, st))
	wantReason(t, err, BadSignature)

	st = statement(5)
	st.IssuedAt, st.ValidUntil = t0.Add(-2*time.Hour), t0.Add(time.Hour) // until == now
	_, err = v.Verify(Sign(priv, st))
	wantReason(t, err, Expired)

	st = statement(6)
	st.IssuedAt, st.ValidUntil = t0.Add(time.Hour+2*time.Minute), t0.Add(3*time.Hour)
	_, err = v.Verify(Sign(priv, st))
	wantReason(t, err, NotYetValid)
	st.IssuedAt = t0.Add(time.Hour + 30*time.Second) // within the skew
	if _, err = v.Verify(Sign(priv, st)); err != nil {
		t.Fatalf("within skew: %v", err)
	}

	st = statement(7)
	st.ValidUntil = st.IssuedAt.Add(7*24*time.Hour + 1)
	_, err = v.Verify(Sign(priv, st))
	wantReason(t, err, TooLong)

	for _, mut := range []func(*Statement){
		func(s *Statement) { s.Value = -1 },
		func(s *Statement) { s.Attestor = "" },
		func(s *Statement) { s.Attestor = "bad id" },
		func(s *Statement) { s.Attestor = strings.Repeat("a", AttestorBytesMax+1) },
		func(s *Statement) { s.Asset = strings.Repeat("a", AssetBytesMax+1) },
		func(s *Statement) { s.Asset = "bad\nasset" },
		func(s *Statement) { s.Asset = "\xff" },
		func(s *Statement) { s.ValidUntil = s.IssuedAt },
		func(s *Statement) { s.IssuedAt = time.Time{} },
		func(s *Statement) { s.ValidUntil = time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC) },
	} {
		st := statement(8)
		mut(&st)
		_, err = v.Verify(Sign(priv, st))
		wantReason(t, err, Malformed)
	}

	ok := Sign(priv, statement(9))
	if _, err := v.Verify(ok); err != nil {
		t.Fatal(err)
	}
	_, err = v.Verify(ok)
	wantReason(t, err, Replay)
	if !strings.Contains(err.Error(), "attestation rejected: replay") {
		t.Fatalf("message %q", err)
	}
}

func TestReasonStrings(t *testing.T) {
	want := map[Reason]string{
		BadSignature: "bad signature", UnknownAttestor: "unknown attestor", Expired: "expired",
		NotYetValid: "not yet valid", Replay: "replay", Malformed: "malformed",
		TooLong: "validity too long", NonceTableFull: "nonce table full", 0: "reason(0)", 200: "reason(200)",
	}
	for r, s := range want {
		if r.String() != s {
			t.Errorf("%d: %q want %q", r, r.String(), s)
		}
	}
	if (&Rejection{Reason: Expired}).Error() != "attestation rejected: expired" {
		t.Error("Error without detail")
	}
	if _, ok := ReasonOf(fmt.Errorf("wrapped: %w", &Rejection{Reason: Replay})); !ok {
		t.Error("ReasonOf through a wrap")
	}
	if _, ok := ReasonOf(fmt.Errorf("plain")); ok {
		t.Error("ReasonOf on a plain error")
	}
}

// TestTamper flips every bit of the signed encoding, one at a time, by
// changing the statement field it belongs to: no tampered statement
// verifies.
func TestTamper(t *testing.T) {
	clk := newClock(t0.Add(time.Hour))
	v := verifier(t, clk, 0)
	orig := Sign(key("custodian-a"), statement(10))
	mutations := map[string]func(*Statement){
		"account":     func(s *Statement) { s.Account++ },
		"value":       func(s *Statement) { s.Value++ },
		"asset":       func(s *Statement) { s.Asset = "T-bill" },
		"asset-empty": func(s *Statement) { s.Asset = "" },
		"issued_at":   func(s *Statement) { s.IssuedAt = s.IssuedAt.Add(-time.Nanosecond) },
		"valid_until": func(s *Statement) { s.ValidUntil = s.ValidUntil.Add(time.Nanosecond) },
		"nonce":       func(s *Statement) { s.Nonce++ },
		"attestor":    func(s *Statement) { s.Attestor = "bank-b" },
	}
	for name, mut := range mutations {
		s := orig
		mut(&s.Statement)
		_, err := v.Verify(s)
		if r, _ := ReasonOf(err); r != BadSignature {
			t.Errorf("tampered %s: %v, want bad signature", name, err)
		}
	}
	// Every single-bit change of the signed bytes breaks the signature.
	pub := key("custodian-a").Public().(ed25519.PublicKey)
	msg := orig.SigningBytes(nil)
	for i := range len(msg) * 8 {
		m := bytes.Clone(msg)
		m[i/8] ^= 1 << (i % 8)
		if ed25519.Verify(pub, m, orig.Signature[:]) {
			t.Fatalf("bit %d flip verifies", i)
		}
	}
	for i := range len(orig.Signature) * 8 {
		s := orig
		s.Signature[i/8] ^= 1 << (i % 8)
		if _, err := v.Verify(s); err == nil {
			t.Fatalf("signature bit %d flip verifies", i)
		}
	}
	if _, err := v.Verify(orig); err != nil {
		t.Fatalf("original after tampering attempts: %v", err)
	}
}

// TestReplayAfterPruning: a full table prunes expired nonces; a replay of
// a pruned statement is rejected as Expired, a live one as Replay, and a
// table full of live nonces fails closed.
func TestReplayAfterPruning(t *testing.T) {
	clk := newClock(t0)
	v := verifier(t, clk, 3)
	priv := key("custodian-a")
	short := func(n uint64, d time.Duration) Signed {
		st := statement(n)
		st.ValidUntil = st.IssuedAt.Add(d)
		return Sign(priv, st)
	}
	a, b, c := short(1, time.Minute), short(2, time.Hour), short(3, time.Hour)
	for _, s := range []Signed{a, b, c} {
		if _, err := v.Verify(s); err != nil {
			t.Fatal(err)
		}
	}
	_, err := v.Verify(short(4, time.Hour))
	wantReason(t, err, NonceTableFull)

	clk.add(2 * time.Minute) // a expired
	if _, err := v.Verify(short(4, time.Hour)); err != nil {
		t.Fatalf("after expiry, prune should make room: %v", err)
	}
	if v.Nonces("custodian-a") != 3 {
		t.Fatalf("nonces %d, want 3 (a pruned)", v.Nonces("custodian-a"))
	}
	_, err = v.Verify(a) // pruned, and expired
	wantReason(t, err, Expired)
	_, err = v.Verify(b) // still recorded and valid
	wantReason(t, err, Replay)

	// The clock going backwards does not revive the pruned statement.
	clk.add(-time.Hour)
	_, err = v.Verify(a)
	wantReason(t, err, Expired)
	clk.add(time.Hour)

	// A different statement reusing the expired nonce 1 is accepted once
	// there is room; while valid, its nonce is protected again.
	clk.add(2 * time.Hour) // b, c, 4 expired
	reuse := short(1, 3*time.Hour)
	reuse.Statement.IssuedAt = t0.Add(2 * time.Hour)
	reuse = Sign(priv, reuse.Statement)
	if _, err := v.Verify(reuse); err != nil {
		t.Fatal(err)
	}
	_, err = v.Verify(reuse)
	wantReason(t, err, Replay)
	// Other attestors have their own tables.
	st := statement(1)
	st.Attestor = "bank-b"
	st.IssuedAt = t0.Add(2 * time.Hour)
	st.ValidUntil = st.IssuedAt.Add(time.Hour)
	if _, err := v.Verify(Sign(key("bank-b"), st)); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentVerify: many goroutines submit the same statements; each
// is accepted exactly once (run under -race).
func TestConcurrentVerify(t *testing.T) {
	clk := newClock(t0.Add(time.Hour))
	v := verifier(t, clk, 0)
	const statements = 32
	signed := make([]Signed, statements)
	for i := range signed {
		signed[i] = Sign(key("custodian-a"), statement(uint64(100+i)))
	}
	var accepted, replays atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for _, s := range signed {
				_, err := v.Verify(s)
				switch r, _ := ReasonOf(err); {
				case err == nil:
					accepted.Add(1)
				case r == Replay:
					replays.Add(1)
				default:
					t.Errorf("unexpected %v", err)
				}
				clk.add(time.Millisecond)
			}
		})
	}
	wg.Wait()
	if accepted.Load() != statements || replays.Load() != 7*statements {
		t.Fatalf("accepted %d replays %d", accepted.Load(), replays.Load())
	}
}

func TestNewVerifierErrors(t *testing.T) {
	pub := key("a").Public().(ed25519.PublicKey)
	now := time.Now
	for name, cfg := range map[string]Config{
		"no clock":     {ValidityMax: time.Hour},
		"no validity":  {Now: now},
		"neg skew":     {Now: now, ValidityMax: time.Hour, ClockSkew: -1},
		"big skew":     {Now: now, ValidityMax: time.Hour, ClockSkew: 2 * time.Hour},
		"big nonces":   {Now: now, ValidityMax: time.Hour, NoncesMax: NoncesMaxLimit + 1},
		"neg nonces":   {Now: now, ValidityMax: time.Hour, NoncesMax: -1},
		"bad id":       {Now: now, ValidityMax: time.Hour, Keys: map[string]ed25519.PublicKey{"a b": pub}},
		"short key":    {Now: now, ValidityMax: time.Hour, Keys: map[string]ed25519.PublicKey{"a": pub[:31]}},
		"too many ids": {Now: now, ValidityMax: time.Hour, Keys: manyKeys(AttestorsMax+1, pub)},
	} {
		if _, err := NewVerifier(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// The key map is copied.
	keys := map[string]ed25519.PublicKey{"a": bytes.Clone(pub)}
	v, err := NewVerifier(Config{Now: now, ValidityMax: time.Hour, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	keys["a"][0] ^= 1
	if !bytes.Equal(v.keys["a"], pub) {
		t.Fatal("verifier shares the caller's key bytes")
	}
}

func manyKeys(n int, pub ed25519.PublicKey) map[string]ed25519.PublicKey {
	m := make(map[string]ed25519.PublicKey, n)
	for i := range n {
		m[fmt.Sprintf("k%d", i)] = pub
	}
	return m
}

func TestJSONRoundTrip(t *testing.T) {
	s := Sign(key("custodian-a"), statement(7))
	s.IssuedAt = s.IssuedAt.Add(123456789)
	s = Sign(key("custodian-a"), s.Statement)
	data, err := s.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"account":1001,"value":250000000,"asset":"T-bills","issued_at":"2026-03-01T12:00:00.123456789Z",` +
		`"valid_until":"2026-03-02T12:00:00Z","nonce":7,"attestor":"custodian-a","signature":"` +
		base64.StdEncoding.EncodeToString(s.Signature[:]) + `"}`
	if string(data) != want {
		t.Fatalf("wire form\n%s\nwant\n%s", data, want)
	}
	got, err := ParseJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	if !got.IssuedAt.Equal(s.IssuedAt) || !bytes.Equal(got.SigningBytes(nil), s.SigningBytes(nil)) || got.Signature != s.Signature {
		t.Fatalf("round trip changed the statement: %+v", got)
	}
	clk := newClock(t0.Add(time.Hour))
	if _, err := verifier(t, clk, 0).Verify(got); err != nil {
		t.Fatalf("parsed statement does not verify: %v", err)
	}
	var u Signed
	if err := u.UnmarshalJSON(data); err != nil || u.Signature != s.Signature {
		t.Fatalf("UnmarshalJSON: %v", err)
	}
	if err := u.UnmarshalJSON([]byte("{}")); err == nil {
		t.Fatal("UnmarshalJSON accepted {}")
	}
	// Offsets are accepted and mean the same instant; asset is optional.
	alt := strings.Replace(string(data), "2026-03-02T12:00:00Z", "2026-03-02T13:00:00+01:00", 1)
	alt = strings.Replace(alt, `"asset":"T-bills",`, ``, 1)
	p, err := ParseJSON([]byte(alt))
	if err != nil || !p.ValidUntil.Equal(s.ValidUntil) || p.Asset != "" {
		t.Fatalf("offset form: %+v %v", p, err)
	}
}

func TestParseJSONErrors(t *testing.T) {
	s := Sign(key("custodian-a"), statement(7))
	good, _ := s.MarshalJSON()
	sig := base64.StdEncoding.EncodeToString(s.Signature[:])
	edit := func(old, new string) string {
		if !strings.Contains(string(good), old) {
			t.Fatalf("fixture lacks %q", old)
		}
		return strings.Replace(string(good), old, new, 1)
	}
	cases := map[string]string{
		"empty":          ``,
		"array":          `[]`,
		"not json":       `{"account":`,
		"trailing":       string(good) + `{}`,
		"trailing junk":  string(good) + `x`,
		"unknown":        edit(`"nonce":7`, `"nonce":7,"extra":1`),
		"repeated":       edit(`"nonce":7`, `"nonce":7,"nonce":8`),
		"missing nonce":  edit(`"nonce":7,`, ``),
		"missing sig":    edit(`,"signature":"`+sig+`"`, ``),
		"null account":   edit(`"account":1001`, `"account":null`),
		"neg account":    edit(`"account":1001`, `"account":-1`),
		"float account":  edit(`"account":1001`, `"account":1.5`),
		"huge account":   edit(`"account":1001`, `"account":18446744073709551616`),
		"string value":   edit(`"value":250000000`, `"value":"250000000"`),
		"negative value": edit(`"value":250000000`, `"value":-5`),
		"bad time":       edit(`"2026-03-01T12:00:00Z"`, `"2026-03-01 12:00:00"`),
		"no zone":        edit(`"2026-03-01T12:00:00Z"`, `"2026-03-01T12:00:00"`),
		"reversed times": edit(`"2026-03-01T12:00:00Z"`, `"2026-03-05T12:00:00Z"`),
		"sig not b64":    edit(sig, "!!!!"),
		"sig short":      edit(sig, base64.StdEncoding.EncodeToString(make([]byte, 63))),
		"sig url b64":    edit(sig, base64.RawURLEncoding.EncodeToString(s.Signature[:])),
		"bad attestor":   edit(`"custodian-a"`, `"custodian a"`),
		"attestor num":   edit(`"custodian-a"`, `5`),
		"asset control":  edit(`"T-bills"`, `"T\u0000bills"`),
		"too big":        `{"asset":"` + strings.Repeat("a", BodyBytesMax) + `"}`,
	}
	for name, body := range cases {
		_, err := ParseJSON([]byte(body))
		if r, ok := ReasonOf(err); !ok || r != Malformed {
			t.Errorf("%s: error %v, want malformed", name, err)
		}
	}
}

func TestParseAllowList(t *testing.T) {
	pub := key("custodian-a").Public().(ed25519.PublicKey)
	b64 := base64.StdEncoding.EncodeToString(pub)
	keys, err := ParseAllowList([]byte(`[{"id":"custodian-a","public_key":"` + b64 + `"},{"id":"bank-b","public_key":"` + b64 + `"}]`))
	if err != nil || len(keys) != 2 || !bytes.Equal(keys["custodian-a"], pub) {
		t.Fatalf("keys %v, err %v", keys, err)
	}
	if keys, err := ParseAllowList([]byte(`[]`)); err != nil || len(keys) != 0 {
		t.Fatalf("empty list: %v %v", keys, err)
	}
	big := "[" + strings.Repeat(`{"id":"x","public_key":"`+b64+`"},`, AttestorsMax) + `{"id":"y","public_key":"` + b64 + `"}]`
	for name, body := range map[string]string{
		"empty":      ``,
		"object":     `{}`,
		"null":       `null`,
		"null entry": `[null]`,
		"unknown":    `[{"id":"a","public_key":"` + b64 + `","x":1}]`,
		"no key":     `[{"id":"a"}]`,
		"no id":      `[{"public_key":"` + b64 + `"}]`,
		"bad id":     `[{"id":"a b","public_key":"` + b64 + `"}]`,
		"dup id":     `[{"id":"a","public_key":"` + b64 + `"},{"id":"a","public_key":"` + b64 + `"}]`,
		"short key":  `[{"id":"a","public_key":"` + base64.StdEncoding.EncodeToString(pub[:31]) + `"}]`,
		"not b64":    `[{"id":"a","public_key":"@@@@"}]`,
		"trailing":   `[] []`,
		"too many":   big,
		"too big":    `["` + strings.Repeat("a", AllowListBytesMax) + `"]`,
	} {
		if _, err := ParseAllowList([]byte(body)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestNoncesExportRestore: the replay table carried to a fresh verifier
// (as across a restart) still refuses the replays; expired entries are
// neither exported nor restored; Forget lets an abandoned statement in
// again; a full table refuses a restored entry as Verify would.
func TestNoncesExportRestore(t *testing.T) {
	clk := newClock(t0)
	v := verifier(t, clk, 3)
	priv := key("custodian-a")
	short := statement(1)
	short.ValidUntil = t0.Add(time.Minute)
	signed := []Signed{Sign(priv, short), Sign(priv, statement(2)), Sign(key("bank-b"), Statement{Account: 7, Value: 1,
		IssuedAt: t0, ValidUntil: t0.Add(time.Hour), Nonce: 2, Attestor: "bank-b"})}
	for _, s := range signed {
		if _, err := v.Verify(s); err != nil {
			t.Fatal(err)
		}
	}
	clk.add(2 * time.Minute) // nonce 1 expired
	got := v.ExportNonces()
	want := []Nonce{{Attestor: "bank-b", Nonce: 2, ValidUntil: t0.Add(time.Hour).UnixNano()},
		{Attestor: "custodian-a", Nonce: 2, ValidUntil: t0.Add(24 * time.Hour).UnixNano()}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("exported %+v, want %+v", got, want)
	}
	w := verifier(t, clk, 3)
	for _, n := range append(got, Nonce{Attestor: "custodian-a", Nonce: 9, ValidUntil: t0.UnixNano()}) {
		if err := w.RestoreNonce(n); err != nil {
			t.Fatal(err)
		}
	}
	if w.Nonces("custodian-a") != 1 {
		t.Fatalf("restored %d custodian-a nonces, want 1 (the expired one dropped)", w.Nonces("custodian-a"))
	}
	_, err := w.Verify(signed[1])
	wantReason(t, err, Replay)
	_, err = w.Verify(signed[2])
	wantReason(t, err, Replay)

	// Forget: the statement may be submitted again.
	s3 := Sign(priv, statement(3))
	if _, err := w.Verify(s3); err != nil {
		t.Fatal(err)
	}
	w.Forget(s3.Statement)
	if _, err := w.Verify(s3); err != nil {
		t.Fatalf("after Forget: %v", err)
	}
	// Full table (nonces 2, 3 and one more): a fourth live entry is refused.
	if err := w.RestoreNonce(Nonce{Attestor: "custodian-a", Nonce: 4, ValidUntil: t0.Add(time.Hour).UnixNano()}); err != nil {
		t.Fatal(err)
	}
	err = w.RestoreNonce(Nonce{Attestor: "custodian-a", Nonce: 5, ValidUntil: t0.Add(time.Hour).UnixNano()})
	wantReason(t, err, NonceTableFull)
}
