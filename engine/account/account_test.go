package account

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/engine/instrument"
)

var testNow = time.Date(2026, 11, 20, 21, 0, 0, 0, time.UTC)

// testMaster loads testdata/master.json: ids 1, 2, 3, 4 and 4,000,000,000.
func testMaster(t testing.TB) *instrument.Master {
	t.Helper()
	m, err := instrument.Load(filepath.Join("testdata", "master.json"), testNow)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// baseSet is a small valid accounts document; each call returns a fresh
// copy.
func baseSet() fileSet {
	return fileSet{Version: 1, Accounts: []fileAccount{
		{ID: 10, Firm: "acme", Cash: 1e6, CreditLine: 5e5, Credit: fileCredit{PD: 0.02, LGD: 0.6, Limit: 2e6},
			Positions: []filePosition{{Instrument: 3, Qty: -20, Price: 11.85}, {Instrument: 1, Qty: 100, Price: 190}}},
		{ID: 11, Firm: "beta", Cash: 0, Positions: []filePosition{}},
	}}
}

func encode(t testing.TB, fs fileSet) []byte {
	t.Helper()
	b, err := json.Marshal(fs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseErrors(t *testing.T) {
	m := testMaster(t)
	cases := []struct {
		name string
		mod  func(fs *fileSet)
		want []string
	}{
		{"version", func(fs *fileSet) { fs.Version = 0 }, []string{"version 0"}},
		{"id zero", func(fs *fileSet) { fs.Accounts[1].ID = 0 }, []string{"accounts[1] (id 0)", "id 0"}},
		{"firm empty", func(fs *fileSet) { fs.Accounts[1].Firm = "" }, []string{"accounts[1] (id 11)", `firm ""`}},
		{"firm long", func(fs *fileSet) { fs.Accounts[0].Firm = strings.Repeat("f", FirmBytesMax+1) }, []string{"accounts[0] (id 10)", "firm", "1..64 bytes"}},
		{"firm space", func(fs *fileSet) { fs.Accounts[0].Firm = "acme corp" }, []string{"accounts[0] (id 10)", `firm "acme corp"`, "only letters"}},
		{"firm slash", func(fs *fileSet) { fs.Accounts[0].Firm = "acme/eu" }, []string{"accounts[0] (id 10)", "only letters"}},
		{"cash huge", func(fs *fileSet) { fs.Accounts[0].Cash = 2e14 }, []string{"accounts[0] (id 10)", "cash 2e+14 out of range"}},
		{"cash very negative", func(fs *fileSet) { fs.Accounts[0].Cash = -2e14 }, []string{"accounts[0] (id 10)", "cash -2e+14"}},
		{"credit line negative", func(fs *fileSet) { fs.Accounts[0].CreditLine = -1 }, []string{"accounts[0] (id 10)", "credit_line -1 out of range"}},
		{"credit line huge", func(fs *fileSet) { fs.Accounts[0].CreditLine = 1e15 }, []string{"accounts[0] (id 10)", "credit_line 1e+15"}},
		{"pd negative", func(fs *fileSet) { fs.Accounts[0].Credit.PD = -0.1 }, []string{"accounts[0] (id 10)", "credit.pd -0.1"}},
		{"pd over one", func(fs *fileSet) { fs.Accounts[0].Credit.PD = 1.01 }, []string{"accounts[0] (id 10)", "credit.pd 1.01"}},
		{"lgd", func(fs *fileSet) { fs.Accounts[0].Credit.LGD = 2 }, []string{"accounts[0] (id 10)", "credit.lgd 2"}},
		{"limit negative", func(fs *fileSet) { fs.Accounts[0].Credit.Limit = -5 }, []string{"accounts[0] (id 10)", "credit.limit -5"}},
		{"limit huge", func(fs *fileSet) { fs.Accounts[0].Credit.Limit = 1e15 }, []string{"accounts[0] (id 10)", "credit.limit 1e+15"}},
		{"too many positions", func(fs *fileSet) {
			fs.Accounts[1].Positions = make([]filePosition, PositionsMax+1)
		}, []string{"accounts[1] (id 11)", "4097 positions"}},
		{"instrument zero", func(fs *fileSet) { fs.Accounts[0].Positions[1].Instrument = 0 }, []string{"accounts[0] (id 10)", "positions[1]: instrument 0"}},
		{"instrument too big", func(fs *fileSet) { fs.Accounts[0].Positions[1].Instrument = 1 << 32 }, []string{"accounts[0] (id 10)", "positions[1]: instrument 4294967296"}},
		{"instrument unknown", func(fs *fileSet) { fs.Accounts[0].Positions[0].Instrument = 5 }, []string{"accounts[0] (id 10)", "positions[0]: instrument 5 not in the master"}},
		{"qty zero", func(fs *fileSet) { fs.Accounts[0].Positions[0].Qty = 0 }, []string{"accounts[0] (id 10)", "positions[0]: qty 0"}},
		{"qty huge", func(fs *fileSet) { fs.Accounts[0].Positions[0].Qty = QtyMax + 1 }, []string{"accounts[0] (id 10)", "positions[0]: qty 1099511627777"}},
		{"qty huge short", func(fs *fileSet) { fs.Accounts[0].Positions[0].Qty = -QtyMax - 1 }, []string{"accounts[0] (id 10)", "positions[0]: qty -1099511627777"}},
		{"price negative", func(fs *fileSet) { fs.Accounts[0].Positions[1].Price = -0.01 }, []string{"accounts[0] (id 10)", "positions[1]: price -0.01"}},
		{"price huge", func(fs *fileSet) { fs.Accounts[0].Positions[1].Price = 1e15 }, []string{"accounts[0] (id 10)", "positions[1]: price 1e+15"}},
		{"held twice", func(fs *fileSet) { fs.Accounts[0].Positions[1].Instrument = 3 }, []string{"accounts[0] (id 10)", "instrument 3 held twice"}},
		{"duplicate account", func(fs *fileSet) { fs.Accounts[1].ID = 10 }, []string{"duplicate account id 10"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := baseSet()
			c.mod(&fs)
			s, err := Parse(encode(t, fs), m)
			if err == nil {
				t.Fatalf("accepted: %+v", s)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v is not ErrInvalid", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestParseSyntaxErrors(t *testing.T) {
	m := testMaster(t)
	good := string(encode(t, baseSet()))
	cases := []struct{ name, doc, want string }{
		{"empty", "", "EOF"},
		{"garbage", "}", "invalid character"},
		{"unknown field", strings.Replace(good, `"id":10,`, `"id":10,"verified":5,`, 1), `unknown field "verified"`},
		{"trailing data", good + "[]", "trailing data"},
		{"qty fraction", strings.Replace(good, `"qty":-20`, `"qty":-20.5`, 1), "cannot unmarshal number -20.5"},
		{"id negative", strings.Replace(good, `"id":10,`, `"id":-10,`, 1), "cannot unmarshal number -10"},
		{"cash string", strings.Replace(good, `"cash":1000000`, `"cash":"1000000"`, 1), "cannot unmarshal string"},
	}
	for _, c := range cases {
		_, err := Parse([]byte(c.doc), m)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want ErrInvalid containing %q", c.name, err, c.want)
		}
	}
}

func TestParseGood(t *testing.T) {
	m := testMaster(t)
	s, err := Load(filepath.Join("testdata", "accounts.json"), m)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Accounts) != 3 {
		t.Fatalf("%d accounts", len(s.Accounts))
	}
	// Sorted by id, positions by instrument.
	if s.Accounts[0].ID != 77 || s.Accounts[1].ID != 1001 || s.Accounts[2].ID != 1002 {
		t.Errorf("ids %d %d %d, want sorted", s.Accounts[0].ID, s.Accounts[1].ID, s.Accounts[2].ID)
	}
	a := s.Accounts[2]
	want := &Account{ID: 1002, Firm: "acme", Collateral: [TiersCount]float64{Cash: 2.5e6, CreditLine: 1e6},
		Credit:    Credit{PD: 0.02, LGD: 0.6, Limit: 5e6},
		Positions: []Position{{Instrument: 1, Qty: 1500, Price: 188.1}, {Instrument: 3, Qty: -20, Price: 11.85}}}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("account 1002:\n got %+v\nwant %+v", a, want)
	}
	if b := s.Accounts[1]; b.Collateral[Cash] != -1250.5 || len(b.Positions) != 0 || b.Credit != (Credit{}) {
		t.Errorf("account 1001: %+v (negative cash is allowed)", b)
	}
	if c := s.Accounts[0]; c.Positions[0].Instrument != 2 || c.Positions[0].Qty != -QtyMax || c.Positions[1].Instrument != 4_000_000_000 {
		t.Errorf("account 77: %+v", c.Positions)
	}
	gz, err := Load(filepath.Join("testdata", "accounts.json.gz"), m)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gz, s) {
		t.Error("gzip and plain loads differ")
	}
	if _, err := Load(filepath.Join(t.TempDir(), "none.json.gz"), m); !errors.Is(err, ErrInvalid) {
		t.Errorf("missing file: %v", err)
	}
	// Every position must name an instrument of the master it is parsed
	// against.
	other, err := instrument.Parse([]byte(`{"version":1,"rate":0,"underlyings":[{"symbol":"A","spot":1,"vol":{"flat":0.1}}],`+
		`"instruments":[{"id":1,"symbol":"A","kind":"spot","underlying":"A"}]}`), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Load(filepath.Join("testdata", "accounts.json"), other); err == nil || !strings.Contains(err.Error(), "not in the master") {
		t.Errorf("load against another master: %v", err)
	}
}

func TestSetLookups(t *testing.T) {
	m := testMaster(t)
	s, err := Load(filepath.Join("testdata", "accounts.json.gz"), m)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range s.Accounts {
		got, ok := s.Get(a.ID)
		if !ok || got != a {
			t.Errorf("Get(%d) = %p, %v", a.ID, got, ok)
		}
		if j, ok := s.Index(a.ID); !ok || j != i {
			t.Errorf("Index(%d) = %d, %v", a.ID, j, ok)
		}
	}
	for _, id := range []uint64{0, 78, 1003, math.MaxUint64} {
		if a, ok := s.Get(id); ok || a != nil {
			t.Errorf("Get(%d) found %v", id, a)
		}
		if _, ok := s.Index(id); ok {
			t.Errorf("Index(%d) found", id)
		}
	}
	a, _ := s.Get(1002)
	if p := a.Position(3); p.Qty != -20 || p.Price != 11.85 {
		t.Errorf("Position(3) = %+v", p)
	}
	if p := a.Position(2); p != (Position{Instrument: 2}) {
		t.Errorf("Position(2) = %+v, want the zero position", p)
	}
	// NewSet copies the slice, sorts it and refuses duplicates and too many.
	in := []*Account{{ID: 3}, {ID: 1}, {ID: 2}}
	ns, err := NewSet(in)
	if err != nil {
		t.Fatal(err)
	}
	if in[0].ID != 3 || ns.Accounts[0].ID != 1 || ns.Accounts[2].ID != 3 {
		t.Error("NewSet sorted its argument or failed to sort its own copy")
	}
	if _, err := NewSet([]*Account{{ID: 1}, {ID: 1}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("duplicate ids: %v", err)
	}
	if _, err := NewSet(make([]*Account, AccountsMax+1)); !errors.Is(err, ErrInvalid) {
		t.Errorf("too many accounts: %v", err)
	}
	if es, err := NewSet(nil); err != nil || len(es.Accounts) != 0 {
		t.Errorf("empty set: %v", err)
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	m := testMaster(t)
	s, err := Load(filepath.Join("testdata", "accounts.json"), m)
	if err != nil {
		t.Fatal(err)
	}
	data, err := Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse(data, m)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s, again) {
		t.Errorf("round trip changed the set:\n%s", data)
	}
	data2, err := Marshal(again)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != string(data2) {
		t.Error("Marshal is not stable")
	}
	// Verified collateral comes only from attestations: not written.
	s.Accounts[0].Collateral[Verified] = 123
	data3, _ := Marshal(s)
	if string(data3) != string(data) {
		t.Error("Marshal wrote the Verified tier")
	}
	// An account without positions writes an empty list, not null.
	if !strings.Contains(string(data), `"id":1001,"firm":"acme","cash":-1250.5,"credit_line":0,`) ||
		!strings.Contains(string(data), `"positions":[]`) {
		t.Errorf("unexpected encoding: %s", data)
	}
}

func TestApplyFill(t *testing.T) {
	type step struct {
		id          instrument.ID
		qty         int64
		price, mult float64
		realised    float64
		wantQty     int64   // position after the fill
		wantPrice   float64 // its average entry after the fill
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"open long", []step{{5, 10, 100, 1, 0, 10, 100}}},
		{"open short", []step{{5, -4, 2.5, 100, 0, -4, 2.5}}},
		{"add averages", []step{{5, 10, 100, 1, 0, 10, 100}, {5, 30, 104, 1, 0, 40, 103}}},
		{"add to short averages", []step{{5, -10, 10, 100, 0, -10, 10}, {5, -10, 12, 100, 0, -20, 11}}},
		{"partial close long", []step{{5, 10, 100, 1, 0, 10, 100}, {5, -4, 110, 1, 40, 6, 100}}},
		{"partial close short with multiplier", []step{{5, -10, 10, 100, 0, -10, 10}, {5, 3, 8, 100, 600, -7, 10}}},
		{"losing close", []step{{5, 10, 100, 50, 0, 10, 100}, {5, -10, 90, 50, -5000, 0, 0}}},
		{"full close", []step{{5, -2, 1, 100, 0, -2, 1}, {5, 2, 1.5, 100, -100, 0, 0}}},
		{"flip long to short", []step{{5, 10, 100, 1, 0, 10, 100}, {5, -15, 120, 1, 200, -5, 120}}},
		{"flip short to long", []step{{5, -10, 10, 100, 0, -10, 10}, {5, 25, 9, 100, 1000, 15, 9}}},
		{"reopen after close", []step{{5, 1, 10, 1, 0, 1, 10}, {5, -1, 11, 1, 1, 0, 0}, {5, 3, 20, 1, 0, 3, 20}}},
		{"zero price", []step{{5, 1, 0, 1, 0, 1, 0}, {5, -1, 5, 1, 5, 0, 0}}},
		{"at the bound", []step{{5, QtyMax, 1, 1, 0, QtyMax, 1}, {5, -QtyMax, 2, 1, QtyMax, 0, 0}, {5, -QtyMax, 3, 1, 0, -QtyMax, 3}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := &Account{ID: 1, Collateral: [TiersCount]float64{Cash: 1000, Verified: 7, CreditLine: 9}}
			cash := 1000.0
			for i, s := range c.steps {
				r, err := a.ApplyFill(s.id, s.qty, s.price, s.mult)
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				cash += s.realised
				if math.Abs(r-s.realised) > 1e-9 || math.Abs(a.Collateral[Cash]-cash) > 1e-9 {
					t.Errorf("step %d: realised %v, cash %v; want %v, %v", i, r, a.Collateral[Cash], s.realised, cash)
				}
				p := a.Position(s.id)
				if p.Qty != s.wantQty || math.Abs(p.Price-s.wantPrice) > 1e-9 {
					t.Errorf("step %d: position %+v, want qty %d at %v", i, p, s.wantQty, s.wantPrice)
				}
				if s.wantQty == 0 && len(a.Positions) != 0 {
					t.Errorf("step %d: a closed position is kept: %+v", i, a.Positions)
				}
			}
			if a.Collateral[Verified] != 7 || a.Collateral[CreditLine] != 9 {
				t.Error("a fill touched a tier other than cash")
			}
		})
	}
}

func TestApplyFillOrderAndBounds(t *testing.T) {
	a := &Account{ID: 9}
	for _, id := range []instrument.ID{50, 10, 30, 20, 40} {
		if _, err := a.ApplyFill(id, 1, 1, 1); err != nil {
			t.Fatal(err)
		}
	}
	for i, p := range a.Positions {
		if p.Instrument != instrument.ID(10*(i+1)) {
			t.Fatalf("positions not sorted: %+v", a.Positions)
		}
	}
	if _, err := a.ApplyFill(30, -1, 1, 1); err != nil {
		t.Fatal(err)
	}
	if len(a.Positions) != 4 || a.Positions[2].Instrument != 40 {
		t.Errorf("closing the middle position: %+v", a.Positions)
	}

	before := a.Clone()
	bad := []struct {
		name  string
		id    instrument.ID
		qty   int64
		price float64
		want  string
	}{
		{"zero qty", 10, 0, 1, "fill quantity 0"},
		{"qty over bound", 10, QtyMax + 1, 1, "fill quantity"},
		{"qty under bound", 10, -QtyMax - 1, 1, "fill quantity"},
		{"negative price", 10, 1, -1, "fill price -1"},
		{"NaN price", 10, 1, math.NaN(), "fill price NaN"},
		{"infinite price", 10, 1, math.Inf(1), "fill price +Inf"},
		{"price over bound", 10, 1, MoneyMax * 2, "fill price"},
		{"position over bound", 10, QtyMax, 1, "would pass"},
		{"zero multiplier", 10, 1, 1, "contract multiplier 0"},
		{"NaN multiplier", 10, 1, 1, "contract multiplier NaN"},
		{"negative multiplier", 10, 1, 1, "contract multiplier -100"},
		{"huge multiplier", 10, 1, 1, "contract multiplier 1e+10"},
	}
	mults := map[string]float64{"zero multiplier": 0, "NaN multiplier": math.NaN(), "negative multiplier": -100, "huge multiplier": 1e10}
	for _, b := range bad {
		mult, ok := mults[b.name]
		if !ok {
			mult = 1
		}
		r, err := a.ApplyFill(b.id, b.qty, b.price, mult)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), b.want) || r != 0 {
			t.Errorf("%s: %v, %v; want ErrInvalid naming %q", b.name, r, err, b.want)
		}
	}
	if !reflect.DeepEqual(a, before) {
		t.Errorf("refused fills changed the account:\n got %+v\nwant %+v", a, before)
	}

	// PositionsMax distinct instruments; one more is refused, but trading
	// a held one is not.
	full := &Account{ID: 10}
	for i := 1; i <= PositionsMax; i++ {
		if _, err := full.ApplyFill(instrument.ID(i), 1, 1, 1); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := full.ApplyFill(PositionsMax+1, 1, 1, 1); !errors.Is(err, ErrInvalid) {
		t.Errorf("position %d: %v", PositionsMax+1, err)
	}
	if len(full.Positions) != PositionsMax {
		t.Errorf("%d positions after a refused fill", len(full.Positions))
	}
	if _, err := full.ApplyFill(7, 5, 1, 1); err != nil {
		t.Errorf("adding to a held instrument at the bound: %v", err)
	}
}

func TestApplyFillAllocs(t *testing.T) {
	a := &Account{ID: 1, Positions: make([]Position, 0, 8)}
	if _, err := a.ApplyFill(1, 1, 1, 1); err != nil {
		t.Fatal(err)
	}
	n := testing.AllocsPerRun(100, func() {
		_, _ = a.ApplyFill(1, 2, 10, 1)
		_, _ = a.ApplyFill(1, -2, 11, 1)
	})
	if n != 0 {
		t.Errorf("ApplyFill on a held instrument allocates %v times", n)
	}
}

func TestClone(t *testing.T) {
	a := &Account{ID: 1, Firm: "f", Positions: []Position{{Instrument: 1, Qty: 1, Price: 1}}}
	c := a.Clone()
	c.Positions[0].Qty = 99
	c.Collateral[Cash] = 5
	if a.Positions[0].Qty != 1 || a.Collateral[Cash] != 0 {
		t.Error("Clone shares state with the original")
	}
}

func TestTiersFirmsCredit(t *testing.T) {
	for tier := Tier(0); tier < TiersCount; tier++ {
		got, err := ParseTier(tier.String())
		if err != nil || got != tier {
			t.Errorf("ParseTier(%q) = %v, %v", tier.String(), got, err)
		}
	}
	if _, err := ParseTier("gold"); !errors.Is(err, ErrInvalid) {
		t.Error("ParseTier accepted gold")
	}
	if TiersCount.String() != "tier(3)" {
		t.Errorf("%s", TiersCount)
	}
	for _, f := range []string{"a", "ACME", "acme-eu_2.x", strings.Repeat("z", FirmBytesMax)} {
		if err := CheckFirm(f); err != nil {
			t.Errorf("CheckFirm(%q): %v", f, err)
		}
	}
	for _, f := range []string{"", " ", "a b", "é", "a\x00", strings.Repeat("z", FirmBytesMax+1)} {
		if err := CheckFirm(f); err == nil {
			t.Errorf("CheckFirm(%q) accepted", f)
		}
	}
	if err := (Credit{PD: math.NaN()}).Check(); err == nil {
		t.Error("NaN PD accepted")
	}
	if err := (Credit{PD: 1, LGD: 1, Limit: MoneyMax}).Check(); err != nil {
		t.Errorf("bounds: %v", err)
	}
}

// checkSet verifies the invariants a parsed set promises.
func checkSet(t *testing.T, s *Set, m *instrument.Master) {
	for i, a := range s.Accounts {
		if i > 0 && s.Accounts[i-1].ID >= a.ID {
			t.Fatalf("accounts not sorted by id")
		}
		if a.ID == 0 || CheckFirm(a.Firm) != nil || a.Credit.Check() != nil || a.Collateral[CreditLine] < 0 {
			t.Fatalf("account %+v breaks the rules", a)
		}
		for j, p := range a.Positions {
			if p.Qty == 0 || (j > 0 && a.Positions[j-1].Instrument >= p.Instrument) {
				t.Fatalf("account %d: positions %+v", a.ID, a.Positions)
			}
			if _, ok := m.Index(p.Instrument); !ok {
				t.Fatalf("account %d: unknown instrument %d", a.ID, p.Instrument)
			}
		}
	}
}

func FuzzParseAccounts(f *testing.F) {
	m := testMaster(f)
	for _, name := range []string{"accounts.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(encode(f, baseSet()))
	f.Add([]byte(`{"version":1,"accounts":[]}`))
	f.Add([]byte(`{"version":1,"accounts":[{"id":1,"firm":"x","positions":[{"instrument":1,"qty":1,"price":1},{"instrument":1,"qty":2,"price":1}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data, m)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			return
		}
		checkSet(t, s, m)
		out, err := Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		again, err := Parse(out, m)
		if err != nil {
			t.Fatalf("accepted set does not re-validate: %v", err)
		}
		if !reflect.DeepEqual(s, again) {
			t.Fatal("round trip changed the set")
		}
	})
}

func BenchmarkApplyFill(b *testing.B) {
	a := &Account{ID: 1}
	for i := 1; i <= 20; i++ {
		if _, err := a.ApplyFill(instrument.ID(i*10), 100, 50, 1); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		q := int64(1)
		if i&1 == 1 {
			q = -1
		}
		_, _ = a.ApplyFill(instrument.ID(10*(1+i%20)), q, 50.5, 100)
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "fills/s")
}

func BenchmarkParseAccounts(b *testing.B) {
	m := testMaster(b)
	fs := fileSet{Version: 1}
	ids := []uint64{1, 2, 3, 4, 4_000_000_000}
	for i := 0; i < 1000; i++ {
		fa := fileAccount{ID: uint64(i + 1), Firm: "firm", Cash: 1e6, Credit: fileCredit{PD: 0.01, LGD: 0.5}}
		for j, id := range ids {
			fa.Positions = append(fa.Positions, filePosition{Instrument: id, Qty: int64(j + 1), Price: 10})
		}
		fs.Accounts = append(fs.Accounts, fa)
	}
	data := encode(b, fs)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data, m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(fs.Accounts))*float64(b.N)/b.Elapsed().Seconds(), "accounts/s")
}
