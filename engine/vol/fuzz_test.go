package vol

import (
	"math"
	"testing"
)

// FuzzParse: Parse never panics; what it accepts re-encodes to the same
// surface and yields finite, non-negative volatilities.
func FuzzParse(f *testing.F) {
	f.Add([]byte(docExample))
	f.Add([]byte(`{"underlying":"X","flat":0.25}`))
	f.Add([]byte(`{"underlying":"X","slices":[{"t":1,"a":0,"b":0.1,"rho":0,"m":0,"sigma":0.1}]}`))
	f.Add([]byte(`{"underlying":"X","slices":[{"t":0.5,"a":0,"b":0.1,"rho":0,"m":0,"sigma":0.1},{"t":0.25,"a":0.01,"b":0.1,"rho":0,"m":0,"sigma":0.1}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		u, srf, err := Parse(data)
		if err != nil {
			return
		}
		b, err := Encode(u, srf)
		if err != nil {
			t.Fatal(err)
		}
		u2, srf2, err := Parse(b)
		if err != nil || u2 != u || srf2.FlatVol() != srf.FlatVol() || len(srf2.Slices()) != len(srf.Slices()) {
			t.Fatalf("re-parse of %s: %v", b, err)
		}
		for _, k := range []float64{-10, -1, 0, 0.5, 10} {
			for _, tt := range []float64{0, 0.01, 0.5, 2, 50} {
				if v := srf.Vol(k, tt); math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
					t.Fatalf("Vol(%v, %v) = %v for %s", k, tt, v, data)
				}
			}
		}
	})
}
