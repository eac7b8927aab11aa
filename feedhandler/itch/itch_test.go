package itch

import (
	"errors"
	randv1 "math/rand"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"testing/quick"
)

// bodyField names the Message field that holds each type's body.
var bodyField = map[byte]string{
	TypeSystemEvent:               "SystemEvent",
	TypeStockDirectory:            "StockDirectory",
	TypeStockTradingAction:        "StockTradingAction",
	TypeRegSHO:                    "RegSHO",
	TypeMarketParticipantPosition: "MarketParticipantPosition",
	TypeMWCBDecline:               "MWCBDecline",
	TypeMWCBStatus:                "MWCBStatus",
	TypeIPOQuotingPeriod:          "IPOQuotingPeriod",
	TypeLULDAuctionCollar:         "LULDAuctionCollar",
	TypeOperationalHalt:           "OperationalHalt",
	TypeAddOrder:                  "AddOrder",
	TypeAddOrderMPID:              "AddOrder",
	TypeOrderExecuted:             "OrderExecuted",
	TypeOrderExecutedWithPrice:    "OrderExecutedWithPrice",
	TypeOrderCancel:               "OrderCancel",
	TypeOrderDelete:               "OrderDelete",
	TypeOrderReplace:              "OrderReplace",
	TypeTrade:                     "Trade",
	TypeCrossTrade:                "CrossTrade",
	TypeBrokenTrade:               "BrokenTrade",
	TypeNOII:                      "NOII",
	TypeRPII:                      "RPII",
	TypeDLCRPriceDiscovery:        "DLCRPriceDiscovery",
}

// body returns the body of m selected by type t.
func body(m *Message, t byte) reflect.Value {
	return reflect.ValueOf(m).Elem().FieldByName(bodyField[t])
}

// randomMessage returns a message of type t with every field random.
func randomMessage(t byte, r *rand.Rand, qr *quickRand) Message {
	var m Message
	m.Type = t
	m.StockLocate = uint16(r.Uint32())
	m.TrackingNumber = uint16(r.Uint32())
	m.Timestamp = r.Uint64() & TimestampMax
	v, ok := quick.Value(body(&m, t).Type(), qr.r)
	if !ok {
		panic("quick.Value failed")
	}
	body(&m, t).Set(v)
	if t == TypeAddOrder {
		m.AddOrder.Attribution = [4]byte{}
	}
	return m
}

// garbage fills every body of m with random values, so tests can see that
// Decode leaves unselected bodies alone and overwrites the selected one.
func garbage(qr *quickRand) Message {
	v, ok := quick.Value(reflect.TypeFor[Message](), qr.r)
	if !ok {
		panic("quick.Value failed")
	}
	return v.Interface().(Message)
}

func TestRoundTripEncodeDecode(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	qr := newQuickRand(3)
	for _, ty := range Types {
		for i := 0; i < 200; i++ {
			want := randomMessage(ty, r, qr)
			raw := want.Append(nil)
			if len(raw) != Length(ty) {
				t.Fatalf("%q: Append wrote %d bytes, want %d", ty, len(raw), Length(ty))
			}
			got := garbage(qr)
			stale := got
			if err := got.Decode(raw); err != nil {
				t.Fatalf("%q: Decode: %v", ty, err)
			}
			if got.Header != want.Header {
				t.Fatalf("%q: header %+v, want %+v", ty, got.Header, want.Header)
			}
			if !reflect.DeepEqual(body(&got, ty).Interface(), body(&want, ty).Interface()) {
				t.Fatalf("%q: body %+v, want %+v", ty, body(&got, ty), body(&want, ty))
			}
			// Every other body is untouched.
			for _, other := range Types {
				if bodyField[other] == bodyField[ty] {
					continue
				}
				if !reflect.DeepEqual(body(&got, other).Interface(), body(&stale, other).Interface()) {
					t.Fatalf("%q: Decode changed the %s body", ty, bodyField[other])
				}
			}
		}
	}
}

func TestRoundTripDecodeEncode(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 5))
	var m Message
	buf := make([]byte, MessageLenMax)
	for _, ty := range Types {
		for i := 0; i < 500; i++ {
			raw := buf[:Length(ty)]
			for j := range raw {
				raw[j] = byte(r.Uint32())
			}
			raw[0] = ty
			if err := m.Decode(raw); err != nil {
				t.Fatalf("%q: Decode: %v", ty, err)
			}
			if got := m.Append(nil); string(got) != string(raw) {
				t.Fatalf("%q: re-encoding differs\n got % x\nwant % x", ty, got, raw)
			}
		}
	}
}

func TestDecodeBadLength(t *testing.T) {
	var m Message
	if err := m.Decode(nil); !errors.Is(err, ErrBadLength) {
		t.Errorf("Decode(nil) = %v, want ErrBadLength", err)
	}
	if err := m.Decode([]byte{}); !errors.Is(err, ErrBadLength) {
		t.Errorf("Decode(empty) = %v, want ErrBadLength", err)
	}
	buf := make([]byte, MessageLenMax+8)
	for _, ty := range Types {
		n := Length(ty)
		for l := 1; l <= len(buf); l++ {
			if l == n {
				continue
			}
			buf[0] = ty
			before := m
			err := m.Decode(buf[:l])
			if !errors.Is(err, ErrBadLength) {
				t.Fatalf("%q len %d: err %v, want ErrBadLength", ty, l, err)
			}
			if m != before {
				t.Fatalf("%q len %d: failed Decode modified the message", ty, l)
			}
			if _, err := DecodeHeader(buf[:l]); !errors.Is(err, ErrBadLength) {
				t.Fatalf("%q len %d: DecodeHeader err %v, want ErrBadLength", ty, l, err)
			}
		}
	}
}

func TestDecodeUnknownType(t *testing.T) {
	var m Message
	buf := make([]byte, MessageLenMax)
	for tb := 0; tb < 256; tb++ {
		if Length(byte(tb)) != 0 {
			continue
		}
		for _, l := range []int{1, 12, 19, 36, MessageLenMax} {
			buf[0] = byte(tb)
			if err := m.Decode(buf[:l]); !errors.Is(err, ErrUnknownType) {
				t.Fatalf("type %q len %d: err %v, want ErrUnknownType", byte(tb), l, err)
			}
			if _, err := DecodeHeader(buf[:l]); !errors.Is(err, ErrUnknownType) {
				t.Fatalf("type %q len %d: DecodeHeader err %v, want ErrUnknownType", byte(tb), l, err)
			}
		}
	}
}

func TestDecodeAllocs(t *testing.T) {
	var m Message
	for _, c := range knownCases {
		raw := []byte(c.raw)
		if n := testing.AllocsPerRun(100, func() {
			if err := m.Decode(raw); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("%s: Decode allocates %.1f times", c.name, n)
		}
	}
	bad := []byte{'Z', 0, 0}
	short := []byte{'A', 0, 0}
	if n := testing.AllocsPerRun(100, func() {
		_ = m.Decode(bad)
		_ = m.Decode(short)
		_ = m.Decode(nil)
	}); n != 0 {
		t.Errorf("failing Decode allocates %.1f times", n)
	}
}

func TestAppendAllocs(t *testing.T) {
	dst := make([]byte, 0, 1024)
	var m Message
	if err := m.Decode([]byte(knownCases[0].raw)); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() {
		dst = m.Append(dst[:0])
	}); n != 0 {
		t.Errorf("Append with capacity allocates %.1f times", n)
	}
}

func TestAppendPanics(t *testing.T) {
	expectPanic := func(name string, m Message) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s: Append did not panic", name)
			}
		}()
		m.Append(nil)
	}
	expectPanic("unknown type", Message{Header: Header{Type: 'Z'}})
	expectPanic("zero type", Message{})
	expectPanic("timestamp", Message{Header: Header{Type: TypeOrderDelete, Timestamp: 1 << 48}})
}

func TestAddOrderClearsAttribution(t *testing.T) {
	var m Message
	if err := m.Decode([]byte(knownCases[11].raw)); err != nil || m.Type != TypeAddOrderMPID {
		t.Fatalf("setup: %v %q", err, m.Type)
	}
	if err := m.Decode([]byte(knownCases[10].raw)); err != nil || m.Type != TypeAddOrder {
		t.Fatalf("setup: %v %q", err, m.Type)
	}
	if m.AddOrder.Attribution != ([4]byte{}) {
		t.Errorf("'A' kept a stale attribution %q", m.AddOrder.Attribution)
	}
}

func TestPeek(t *testing.T) {
	if PeekType(nil) != 0 || PeekType([]byte("A")) != 'A' {
		t.Error("PeekType")
	}
	if _, ok := PeekLocate([]byte("A\x01")); ok {
		t.Error("PeekLocate accepted 2 bytes")
	}
	if l, ok := PeekLocate([]byte("A\x01\x02")); !ok || l != 0x0102 {
		t.Errorf("PeekLocate = %d %v", l, ok)
	}
	if ts := Timestamp48([]byte{1, 2, 3, 4, 5, 6, 7}); ts != 0x010203040506 {
		t.Errorf("Timestamp48 = %#x", ts)
	}
}

func TestSymbol(t *testing.T) {
	cases := []struct {
		in   string
		want string
	}{
		{"AAPL", "AAPL"}, {"", ""}, {"ABCDEFGH", "ABCDEFGH"}, {"ABCDEFGHIJ", "ABCDEFGH"},
		{"BRK A", "BRK A"},
	}
	for _, c := range cases {
		s := StockFromString(c.in)
		if got := Symbol(s); got != c.want {
			t.Errorf("Symbol(StockFromString(%q)) = %q, want %q", c.in, got, c.want)
		}
		if n := len(strings.TrimRight(string(s[:]), " ")); n != len(c.want) {
			t.Errorf("StockFromString(%q) = %q not space padded", c.in, s)
		}
	}
	if got := Symbol([8]byte{'A', 'B', 0, 0, 0, 0, 0, 0}); got != "AB" {
		t.Errorf("Symbol of NUL padded = %q", got)
	}
}

// quickRand is the seeded math/rand (v1) source that testing/quick needs.
type quickRand struct{ r *randv1.Rand }

func newQuickRand(seed int64) *quickRand { return &quickRand{r: randv1.New(randv1.NewSource(seed))} }
