package feedhandler

import (
	"reflect"
	"testing"

	"github.com/ballast-risk/ballast/feedhandler/book"
	"github.com/ballast-risk/ballast/feedhandler/ring"
)

// TestFillTickWritesEveryField: a claimed slot still holds a tick from an
// earlier lap, so fillTick must overwrite every field of ring.Tick. The
// slot starts with every field at its largest value; a field that fillTick
// leaves alone (one added to Tick later, say) keeps it and fails the test.
func TestFillTickWritesEveryField(t *testing.T) {
	var slot ring.Tick
	v := reflect.ValueOf(&slot).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.Uint32, reflect.Uint64:
			f.SetUint(^uint64(0) >> (64 - 8*f.Type().Size()))
		case reflect.Int64:
			f.SetInt(-1)
		default:
			t.Fatalf("ring.Tick field %s of kind %s: teach this test (and fillTick) about it", v.Type().Field(i).Name, f.Kind())
		}
	}
	h := &Handler{recvNs: 77, stale: true}
	top := book.Top{Bid: 1000, BidSize: 5, Ask: 1100, AskSize: 7, Last: 1050, Halted: true}
	h.fillTick(&slot, 9, &top, 1234)
	want := ring.Tick{
		Instrument: 9, Flags: ring.FlagStale | ring.FlagHalted,
		Bid: 1000, Ask: 1100, BidSize: 5, AskSize: 7, Last: 1050,
		ExchangeNs: 1234, RecvNs: 77,
	}
	if slot != want {
		t.Fatalf("fillTick left\n%+v\nwant\n%+v", slot, want)
	}
}
