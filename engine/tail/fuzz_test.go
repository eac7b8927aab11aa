package tail

import (
	"encoding/binary"
	"math"
	"testing"
)

// decodeCase turns fuzz bytes into an account vector, an instrument vector,
// a spec and a quantity. Values are small integers (many ties and zeros)
// times a scale; missing bytes read as zero.
func decodeCase(data []byte) (l, p []float64, spec Spec, q float64) {
	at := func(i int) byte {
		if i < len(data) {
			return data[i]
		}
		return 0
	}
	n := 1 + int(binary.LittleEndian.Uint16([]byte{at(0), at(1)}))%400
	spec = Spec{KVaR: 1 + int(at(2))%n, KES: 1 + int(at(3))%n}
	qm := float64(int16(binary.LittleEndian.Uint16([]byte{at(5), at(6)})))
	switch at(4) % 6 {
	case 0:
		q = 0
	case 1:
		q = math.Copysign(0, -1)
	case 2:
		q = qm
	case 3:
		q = qm / 64
	case 4:
		q = qm * 1e9
	default:
		q = -QuantityAbsMax
	}
	scale := [...]float64{1, 0.001, 1e6, 0.1}[at(7)%4]
	l = make([]float64, n)
	p = make([]float64, n)
	for s := range n {
		l[s] = float64(int8(at(8+2*s))) * scale
		p[s] = float64(int8(at(9+2*s))) / 4
	}
	return l, p, spec, q
}

func FuzzPostTrade(f *testing.F) {
	f.Add([]byte{10, 0, 2, 3, 2, 5, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{200, 1, 5, 9, 4, 0xff, 0x7f, 2, 0x80, 0x7f, 0x7f, 0x80})
	f.Add([]byte{44, 1, 1, 1, 3, 0x01, 0x80, 1, 9, 9, 9, 9, 9, 9})
	sc := &Scratch{}
	f.Fuzz(func(t *testing.T, data []byte) {
		l, p, spec, q := decodeCase(data)
		a, err := NewAccount(l, spec)
		if err != nil {
			t.Fatal(err)
		}
		in, err := NewInstrument(p)
		if err != nil {
			t.Fatal(err)
		}
		rev := make([]float64, len(p))
		for i := range p {
			rev[len(p)-1-i] = -p[i]
		}
		in2, err := NewInstrument(rev)
		if err != nil {
			t.Fatal(err)
		}
		one := []Leg{{in, q}}
		want := brute(materialise(l, one), spec)
		if got := PostTrade(a, in, q, sc); !sameBits(got, want) {
			t.Fatalf("PostTrade n=%d %+v q=%v: got %+v want %+v", len(l), spec, q, got, want)
		}
		if got := Compute(materialise(l, one), spec, sc); !sameBits(got, want) {
			t.Fatalf("Compute: got %+v want %+v", got, want)
		}
		two := []Leg{{in, q}, {in2, -q / 3}}
		if got, want := PostTradeMulti(a, two, sc), brute(materialise(l, two), spec); !sameBits(got, want) {
			t.Fatalf("PostTradeMulti: got %+v want %+v", got, want)
		}
	})
}
