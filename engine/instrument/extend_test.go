package instrument

import (
	"errors"
	"strings"
	"testing"
)

// splitDoc returns the master of baseDoc's first k instruments and the
// extension document of the rest.
func splitDoc(t testing.TB, k int) (*Master, []byte) {
	t.Helper()
	fm := baseDoc()
	rest := fm.Instruments[k:]
	fm.Instruments = fm.Instruments[:k]
	m, err := Parse(encode(t, fm), testNow)
	if err != nil {
		t.Fatal(err)
	}
	return m, extensionDoc(t, rest)
}

func extensionDoc(t testing.TB, fis []fileInstrument) []byte {
	t.Helper()
	var fe struct {
		Version     int              `json:"version"`
		Instruments []fileInstrument `json:"instruments"`
	}
	fe.Version, fe.Instruments = 1, fis
	return encode(t, fe)
}

// TestExtend: a master extended with the rest of a document equals the
// master parsed from the whole document, the instruments keep their
// indices, and the master that was extended is left as it was.
func TestExtend(t *testing.T) {
	full, err := Parse(encode(t, baseDoc()), testNow)
	if err != nil {
		t.Fatal(err)
	}
	for k := 1; k < len(full.Instruments); k++ {
		base, doc := splitDoc(t, k)
		ext, err := base.Extend(doc, testNow)
		if err != nil {
			t.Fatalf("k=%d: %v", k, err)
		}
		if !sameMaster(ext, full) {
			t.Fatalf("k=%d: extended master differs from the whole document's", k)
		}
		for i, in := range full.Instruments {
			if j, ok := ext.Index(in.ID); !ok || j != i {
				t.Fatalf("k=%d: instrument %d at %d, %v (want %d)", k, in.ID, j, ok, i)
			}
		}
		if len(base.Instruments) != k {
			t.Fatalf("k=%d: the extended master now has %d instruments", k, len(base.Instruments))
		}
		for _, in := range full.Instruments[k:] {
			if _, ok := base.Index(in.ID); ok {
				t.Fatalf("k=%d: instrument %d leaked into the extended master", k, in.ID)
			}
		}
		checkMaster(t, ext)
	}
}

// TestExtendFutureInSameDocument: a Black-76 option may name a future added
// by the same extension.
func TestExtendFutureInSameDocument(t *testing.T) {
	base, _ := splitDoc(t, 1)
	doc := extensionDoc(t, []fileInstrument{
		{ID: 10, Symbol: "AAPL 2027-06 F", Kind: "future", Underlying: "AAPL", Expiry: "2027-06-18T21:00:00Z", Multiplier: 100},
		{ID: 11, Symbol: "AAPL 2027-06 C200 F", Kind: "call", Model: "black76", Underlying: "AAPL", Future: 10, Strike: 200,
			Expiry: "2027-06-11T21:00:00Z", Multiplier: 100},
	})
	ext, err := base.Extend(doc, testNow)
	if err != nil {
		t.Fatal(err)
	}
	i, _ := ext.Index(11)
	f, _ := ext.Index(10)
	if ext.Instruments[i].Future != f {
		t.Fatalf("option's future at %d, want %d", ext.Instruments[i].Future, f)
	}
}

func TestExtendErrors(t *testing.T) {
	base, _ := splitDoc(t, 3) // ids 1, 2, 3
	call := func(id uint64, sym string) fileInstrument {
		return fileInstrument{ID: id, Symbol: sym, Kind: "call", Underlying: "AAPL", Strike: 200, Expiry: "2027-03-19T21:00:00Z", Multiplier: 100}
	}
	for _, c := range []struct {
		name, doc, want string
	}{
		{"id in the master", string(extensionDoc(t, []fileInstrument{call(2, "NEW")})), "duplicate id 2"},
		{"symbol in the master", string(extensionDoc(t, []fileInstrument{call(9, "AAPL 2027-03 C190")})), "duplicate symbol"},
		{"id twice", string(extensionDoc(t, []fileInstrument{call(9, "A"), call(9, "B")})), "duplicate id 9"},
		{"unknown underlying", `{"version":1,"instruments":[{"id":9,"symbol":"X","kind":"spot","underlying":"TSLA"}]}`, `underlying "TSLA" not in the master`},
		{"unknown future", `{"version":1,"instruments":[{"id":9,"symbol":"X","kind":"put","model":"black76","underlying":"AAPL","future":77,"strike":1,"expiry":"2027-01-01T00:00:00Z"}]}`, "future 77 not in the master"},
		{"future is an option", `{"version":1,"instruments":[{"id":9,"symbol":"X","kind":"put","model":"black76","underlying":"AAPL","future":3,"strike":1,"expiry":"2027-01-01T00:00:00Z"}]}`, "not a future"},
		{"bad instrument", `{"version":1,"instruments":[{"id":9,"symbol":"X","kind":"call","underlying":"AAPL","strike":-1,"expiry":"2027-01-01T00:00:00Z"}]}`, "strike"},
		{"version", `{"version":2,"instruments":[{"id":9,"symbol":"X","kind":"spot","underlying":"AAPL"}]}`, "version 2"},
		{"empty", `{"version":1,"instruments":[]}`, "0 instruments to add"},
		{"unknown field", `{"version":1,"underlyings":[],"instruments":[{"id":9,"symbol":"X","kind":"spot","underlying":"AAPL"}]}`, "unknown field"},
		{"trailing data", `{"version":1,"instruments":[{"id":9,"symbol":"X","kind":"spot","underlying":"AAPL"}]} {}`, "trailing data"},
		{"not json", `[`, "unexpected EOF"},
		{"too large", strings.Repeat(" ", ExtensionBytesMax+1), "over the"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ext, err := base.Extend([]byte(c.doc), testNow)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Extend = %v, %v; want ErrInvalid with %q", ext, err, c.want)
			}
			if len(base.Instruments) != 3 || len(base.byID) != 3 {
				t.Fatalf("a failed extension changed the master: %d instruments", len(base.Instruments))
			}
		})
	}
}

func FuzzExtendMaster(f *testing.F) {
	_, doc := splitDoc(f, 2)
	f.Add(doc)
	f.Add([]byte(`{"version":1,"instruments":[{"id":9,"symbol":"X","kind":"spot","underlying":"MSFT"}]}`))
	f.Add([]byte(`{"version":1,"instruments":[{"id":1,"symbol":"X","kind":"spot","underlying":"MSFT"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		base, _ := splitDoc(t, 2)
		ext, err := base.Extend(data, testNow)
		if len(base.Instruments) != 2 || len(base.byID) != 2 {
			t.Fatal("Extend changed the master it extends")
		}
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			return
		}
		checkMaster(t, ext)
		for i, in := range base.Instruments {
			if j, ok := ext.Index(in.ID); !ok || j != i || ext.Instruments[i].Symbol != in.Symbol {
				t.Fatalf("instrument %d moved or changed", in.ID)
			}
		}
		// The extended master is a valid master on its own.
		again, err := Parse(encode(t, toFile(ext)), testNow)
		if err != nil || !sameMaster(ext, again) {
			t.Fatalf("extended master does not round-trip: %v", err)
		}
	})
}

// TestCovers: a listing is covered by a master that already holds the same
// instruments (a master file that has taken it in), and only then.
func TestCovers(t *testing.T) {
	full, err := Parse(encode(t, baseDoc()), testNow)
	if err != nil {
		t.Fatal(err)
	}
	base, doc := splitDoc(t, 2) // the listing holds ids 3, 4 (Black-76 on 2), 5
	for _, c := range []struct {
		name string
		m    *Master
		want bool
	}{{"the whole master", full, true}, {"the master it extends", base, false}} {
		got, err := c.m.Covers(doc, testNow)
		if err != nil || got != c.want {
			t.Fatalf("%s: Covers = %v, %v; want %v", c.name, got, err, c.want)
		}
	}
	// Same ids, another definition: not covered.
	fm := baseDoc()
	fm.Instruments[3].Strike = 181
	other, err := Parse(encode(t, fm), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := other.Covers(doc, testNow); err != nil || got {
		t.Fatalf("a master with another strike covers the listing: %v, %v", got, err)
	}
	if _, err := full.Covers([]byte(`{"version":3}`), testNow); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Covers of a bad document: %v", err)
	}
}
