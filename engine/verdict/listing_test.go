package verdict

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ballast-risk/ballast/engine/enginetest"
	"github.com/ballast-risk/ballast/engine/instrument"
	"github.com/ballast-risk/ballast/engine/sbe"
)

// TestListingsSurviveRestart: instruments listed at run time, and the fills
// booked on them, come back after a restart from the log and from a
// snapshot (which lists them before it loads the accounts that hold them).
func TestListingsSurviveRestart(t *testing.T) {
	ctx := context.Background()
	f := newDurable(t)
	m, from, err := f.svc.ListInstruments(ctx, []byte(enginetest.Listing))
	if err != nil {
		t.Fatal(err)
	}
	if i, ok := m.Index(100); !ok || i != from || f.eng.Master() != m {
		t.Fatal("listing not applied")
	}
	fl := sbe.Fill{Account: 1001, Instrument: 100, Side: sbe.SideBuy, Qty: 7, Price: 45000, ExecID: 9001}
	if c := f.svc.Fill(ctx, &fl); c != sbe.ErrorCodeNone {
		t.Fatalf("fill on the listed instrument: %v", c)
	}
	want := f.eng.ExportState()
	check := func(how string) {
		t.Helper()
		if _, ok := f.eng.Master().Index(100); !ok {
			t.Fatalf("%s: instrument 100 not listed", how)
		}
		sameState(t, f.eng.ExportState(), want)
	}
	if info := f.restart(); info.ListingRecords != 1 || info.Fills != 1 || info.Refused != 0 {
		t.Fatalf("restore from the log: %+v", info)
	}
	check("from the log")
	if _, err := f.svc.Snapshot(); err != nil {
		t.Fatal(err)
	}
	if info := f.restart(); !info.HasSnapshot || info.Listings != 1 || info.ListingRecords != 0 {
		t.Fatalf("restore from the snapshot: %+v", info)
	}
	check("from the snapshot")

	// Refusals write nothing: a listed id again, a bad document, a
	// document over the record bound.
	seq := f.j.LastSeq()
	for _, c := range []struct {
		doc  string
		want error
	}{
		{enginetest.Listing, instrument.ErrInvalid},
		{`{"version":1,"instruments":[]}`, instrument.ErrInvalid},
		{enginetest.ManyListing(500), ErrRecordSize},
	} {
		if _, _, err := f.svc.ListInstruments(ctx, []byte(c.doc)); !errors.Is(err, c.want) {
			t.Fatalf("listing %.40q: %v, want %v", c.doc, err, c.want)
		}
	}
	if f.j.LastSeq() != seq {
		t.Fatal("a refused listing was journalled")
	}
}

// TestListingRecordConflict: a journalled listing that the master can
// neither take nor already holds (the master file changed under it) stops
// the restore: the fills on its instruments must not be dropped silently.
func TestListingRecordConflict(t *testing.T) {
	ctx := context.Background()
	f := newDurable(t)
	clash := strings.Replace(enginetest.Listing, `"id":100`, `"id":3`, 1) // id 3 is the book's C105
	rec, err := EncodeListingRecord(nil, []byte(clash))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.j.Append(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := f.j.Close(); err != nil {
		t.Fatal(err)
	}
	j := openJournal(t, f.dir)
	defer j.Close()
	svc, err := NewEngineService(enginetest.Engine(t), j, 64)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Restore(); !errors.Is(err, ErrRecord) {
		t.Fatalf("restore over a conflicting listing: %v, want ErrRecord", err)
	}
}

func TestListingRecordBounds(t *testing.T) {
	if _, err := EncodeListingRecord(nil, nil); !errors.Is(err, ErrRecordSize) {
		t.Errorf("empty: %v", err)
	}
	rec, err := EncodeListingRecord(nil, []byte(enginetest.Listing))
	if err != nil {
		t.Fatal(err)
	}
	r, err := decodeRecord(rec)
	if err != nil || r.kind != templateListing || string(r.doc) != enginetest.Listing {
		t.Fatalf("round trip: %+v %v", r, err)
	}
}
