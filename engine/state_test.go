package engine

import (
	"context"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/engine/account"
	"github.com/ballast-risk/ballast/engine/attest"
	"github.com/ballast-risk/ballast/engine/vol"
)

// TestStateRoundTrip: the exported state imported into a fresh engine gives
// the same state and the same live risk.
func TestStateRoundTrip(t *testing.T) {
	f := newFixture(t, nil)
	if _, err := f.e.RunEpoch(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := f.e.ApplyFill(Fill{Account: 1001, Instrument: 1, Side: Buy, Qty: 7, Price: 101.5}); err != nil {
		t.Fatal(err)
	}
	if err := f.e.SetCollateral(2001, account.CreditLine, 12345.5); err != nil {
		t.Fatal(err)
	}
	stmt := attest.Statement{Account: 1002, Value: 3_000_000, IssuedAt: asOf.Add(-time.Hour), ValidUntil: asOf.Add(time.Hour),
		Nonce: 1, Attestor: "custodian-a"}
	if _, err := f.e.Attest(attest.Sign(f.priv, stmt)); err != nil {
		t.Fatal(err)
	}
	want := f.e.ExportState()

	g := newFixture(t, nil)
	if _, err := g.e.RunEpoch(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := g.e.ImportState(want); err != nil {
		t.Fatal(err)
	}
	if got := g.e.ExportState(); !reflect.DeepEqual(got, want) {
		t.Fatalf("imported\n%+v\nwant\n%+v", got, want)
	}
	for _, id := range []uint64{1001, 1002, 2001} {
		a, _ := f.e.Status(id)
		b, _ := g.e.Status(id)
		if a.Equity != b.Equity || a.Requirement.IM != b.Requirement.IM || a.State != b.State {
			t.Errorf("account %d: status %+v after import, want %+v", id, b, a)
		}
	}
}

// TestImportStateRefusesBadState: any invalid entry refuses the whole
// import and changes nothing.
func TestImportStateRefusesBadState(t *testing.T) {
	f := newFixture(t, nil)
	base := f.e.ExportState()
	bad := map[string]func([]AccountState) []AccountState{
		"unknown account": func(s []AccountState) []AccountState { s[1].ID = 999; return s },
		"unknown instrument": func(s []AccountState) []AccountState {
			s[0].Positions = append(s[0].Positions, account.Position{Instrument: 9999, Qty: 1, Price: 1})
			return s
		},
		"zero quantity": func(s []AccountState) []AccountState {
			s[0].Positions = []account.Position{{Instrument: 1, Qty: 0, Price: 1}}
			return s
		},
		"NaN price": func(s []AccountState) []AccountState {
			s[0].Positions = []account.Position{{Instrument: 1, Qty: 1, Price: math.NaN()}}
			return s
		},
		"unsorted": func(s []AccountState) []AccountState {
			s[0].Positions = []account.Position{{Instrument: 2, Qty: 1, Price: 1}, {Instrument: 1, Qty: 1, Price: 1}}
			return s
		},
		"negative credit line": func(s []AccountState) []AccountState { s[2].CreditLine = -1; return s },
		"foreign attestation": func(s []AccountState) []AccountState {
			s[0].Attestations = []attest.Statement{{Account: s[1].ID, Attestor: "x"}}
			return s
		},
	}
	for name, mod := range bad {
		st := mod(f.e.ExportState())
		st[0].Cash = 1e9 // a valid change that must not be applied either
		if err := f.e.ImportState(st); err == nil {
			t.Errorf("%s: accepted", name)
		} else if !errors.Is(err, ErrUnknownAccount) && !errors.Is(err, ErrUnknownInstrument) && !errors.Is(err, account.ErrInvalid) {
			t.Errorf("%s: error %v", name, err)
		}
		if got := f.e.ExportState(); !reflect.DeepEqual(got, base) {
			t.Fatalf("%s: state changed by a refused import", name)
		}
	}
}

// TestVolExportImport: only surfaces set at run time are exported; a
// document comes back to the same surface on a fresh engine; a document
// that does not parse or names no underlying changes nothing.
func TestVolExportImport(t *testing.T) {
	e := newFixture(t, nil).e
	if docs, err := e.ExportVols(); err != nil || len(docs) != 0 {
		t.Fatalf("fresh engine exports %d surfaces (%v)", len(docs), err)
	}
	s, err := vol.Flat(0.42)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SetVol(1, s); err != nil {
		t.Fatal(err)
	}
	docs, err := e.ExportVols()
	if err != nil || len(docs) != 1 {
		t.Fatalf("export: %d surfaces (%v)", len(docs), err)
	}
	f := newFixture(t, nil).e
	before := f.Vol(0)
	if err := f.ImportVol(docs[0]); err != nil {
		t.Fatal(err)
	}
	if f.Vol(1).Vol(0, 1) != 0.42 || f.Vol(0) != before {
		t.Fatalf("imported: underlying 1 vol %v, underlying 0 changed %v", f.Vol(1).Vol(0, 1), f.Vol(0) != before)
	}
	if got, _ := f.ExportVols(); !reflect.DeepEqual(got, docs) {
		t.Fatalf("re-export %s, want %s", got, docs)
	}
	if err := f.ImportVol([]byte(`{"underlying":"NOPE","flat":0.3}`)); !errors.Is(err, ErrConfig) {
		t.Errorf("unknown underlying: %v", err)
	}
	if err := f.ImportVol([]byte(`{"underlying":"X","flat":-1}`)); !errors.Is(err, vol.ErrInvalid) {
		t.Errorf("bad surface: %v", err)
	}
	if f.Vol(1).Vol(0, 1) != 0.42 {
		t.Error("a refused document changed a surface")
	}
}
