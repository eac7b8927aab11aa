package scenario

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// reconstructError returns max |(L·Lᵀ)_ij − m_ij| and checks L is lower-triangular.
func reconstructError(t *testing.T, c *Correlation, m []float64) float64 {
	t.Helper()
	n := c.N()
	l := c.L()
	var worst float64
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			if j > i && l[i*n+j] != 0 {
				t.Fatalf("L(%d,%d) = %g above the diagonal", i, j, l[i*n+j])
			}
			var s float64
			for k := 0; k <= min(i, j); k++ {
				s += l[i*n+k] * l[j*n+k]
			}
			worst = math.Max(worst, math.Abs(s-m[i*n+j]))
		}
	}
	return worst
}

// equicorrelation returns the n×n matrix with ρ off the diagonal: eigenvalues
// 1+(n−1)ρ (once) and 1−ρ (n−1 times), so it is PSD iff ρ ≥ −1/(n−1).
func equicorrelation(n int, rho float64) []float64 {
	m := make([]float64, n*n)
	for i := range m {
		m[i] = rho
	}
	for i := 0; i < n; i++ {
		m[i*n+i] = 1
	}
	return m
}

func TestCorrelationFactorReproduces(t *testing.T) {
	m := []float64{
		1, 0.6, -0.3, 0.2,
		0.6, 1, 0.1, 0.4,
		-0.3, 0.1, 1, -0.5,
		0.2, 0.4, -0.5, 1,
	}
	c, rep, err := NewCorrelation(4, m, Reject)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Repaired || rep.Rank != 4 {
		t.Errorf("report %+v, want not repaired, rank 4", rep)
	}
	if e := reconstructError(t, c, m); e > 1e-15 {
		t.Errorf("L·Lᵀ off by %g", e)
	}
	for i := 0; i < 4; i++ {
		for j := 0; j < 4; j++ {
			if c.At(i, j) != m[i*4+j] {
				t.Errorf("At(%d,%d) = %g, want %g", i, j, c.At(i, j), m[i*4+j])
			}
		}
	}
	// L() is a copy.
	c.L()[0] = 42
	if c.L()[0] != 1 {
		t.Error("L() exposes internal storage")
	}
	// A larger, well-conditioned matrix.
	n := 60
	big := equicorrelation(n, 0.35)
	c, _, err = NewCorrelation(n, big, Reject)
	if err != nil {
		t.Fatal(err)
	}
	if e := reconstructError(t, c, big); e > 1e-14 {
		t.Errorf("60×60: L·Lᵀ off by %g", e)
	}
}

func TestCorrelationSingularPSD(t *testing.T) {
	// Underlyings 0 and 1 identical, 2 the negative of 0, 3 independent: rank 2.
	m := []float64{
		1, 1, -1, 0,
		1, 1, -1, 0,
		-1, -1, 1, 0,
		0, 0, 0, 1,
	}
	c, rep, err := NewCorrelation(4, m, Reject)
	if err != nil {
		t.Fatalf("singular PSD matrix rejected: %v", err)
	}
	if rep.Repaired || rep.Rank != 2 {
		t.Errorf("report %+v, want not repaired, rank 2", rep)
	}
	if e := reconstructError(t, c, m); e > 1e-15 {
		t.Errorf("L·Lᵀ off by %g", e)
	}
	// Perfect correlation ρ = 1 throughout: rank 1.
	ones := equicorrelation(5, 1)
	c, rep, err = NewCorrelation(5, ones, Reject)
	if err != nil || rep.Rank != 1 {
		t.Fatalf("all-ones: rank %d, err %v", rep.Rank, err)
	}
	if e := reconstructError(t, c, ones); e > 1e-15 {
		t.Errorf("all-ones: L·Lᵀ off by %g", e)
	}
	// On the PSD boundary: ρ = −1/(n−1) is singular (eigenvalue 0), accepted.
	edge := equicorrelation(3, -0.5)
	c, rep, err = NewCorrelation(3, edge, Reject)
	if err != nil || rep.Rank != 2 {
		t.Fatalf("boundary equicorrelation: rank %d, err %v", rep.Rank, err)
	}
	if e := reconstructError(t, c, edge); e > 1e-15 {
		t.Errorf("boundary: L·Lᵀ off by %g", e)
	}
}

func TestCorrelationRejectsNonPSD(t *testing.T) {
	// Eigenvalues 1 + 2ρ = 0.7 − 1 ... with ρ = −0.6: 1+2(−0.6) = −0.2.
	m := equicorrelation(3, -0.6)
	_, rep, err := NewCorrelation(3, m, Reject)
	var npsd *NotPSDError
	if !errors.As(err, &npsd) || !errors.Is(err, ErrNotPSD) {
		t.Fatalf("err = %v, want *NotPSDError", err)
	}
	if math.Abs(npsd.MinEigenvalue-(-0.2)) > 1e-12 || math.Abs(rep.MinEigenvalue-(-0.2)) > 1e-12 {
		t.Errorf("smallest eigenvalue %g (report %g), want -0.2", npsd.MinEigenvalue, rep.MinEigenvalue)
	}
	if want := "smallest eigenvalue -0.2"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
	// A classic inconsistent triple: a~b, b~c strongly, a~c strongly negative.
	tri := []float64{1, 0.9, -0.9, 0.9, 1, 0.9, -0.9, 0.9, 1}
	if _, _, err := NewCorrelation(3, tri, Reject); !errors.Is(err, ErrNotPSD) {
		t.Errorf("inconsistent triple: err = %v", err)
	}
}

func TestCorrelationRepair(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int
		m    []float64
	}{
		{"equicorrelation", 3, equicorrelation(3, -0.6)},
		{"triple", 3, []float64{1, 0.9, -0.9, 0.9, 1, 0.9, -0.9, 0.9, 1}},
		{"large", 40, equicorrelation(40, -0.05)},
	} {
		c, rep, err := NewCorrelation(tc.n, tc.m, Repair)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !rep.Repaired || rep.MinEigenvalue >= 0 || rep.FrobeniusDistance <= 0 || rep.Sweeps == 0 {
			t.Errorf("%s: report %+v", tc.name, rep)
		}
		n := tc.n
		r := c.Matrix()
		// A valid correlation matrix: symmetric, unit diagonal, entries in [−1, 1].
		var d2 float64
		for i := 0; i < n; i++ {
			if r[i*n+i] != 1 {
				t.Errorf("%s: diagonal %d = %g", tc.name, i, r[i*n+i])
			}
			for j := 0; j < n; j++ {
				if r[i*n+j] != r[j*n+i] || math.Abs(r[i*n+j]) > 1 {
					t.Errorf("%s: entry (%d,%d) = %g", tc.name, i, j, r[i*n+j])
				}
				d := r[i*n+j] - tc.m[i*n+j]
				d2 += d * d
			}
		}
		if math.Abs(math.Sqrt(d2)-rep.FrobeniusDistance) > 1e-12 {
			t.Errorf("%s: reported distance %g, measured %g", tc.name, rep.FrobeniusDistance, math.Sqrt(d2))
		}
		// PSD: it factors exactly, and its own eigenvalues are ≥ 0.
		if e := reconstructError(t, c, r); e > 1e-13 {
			t.Errorf("%s: L·Lᵀ off by %g", tc.name, e)
		}
		w, _, _, ok := symEigen(n, r)
		if !ok {
			t.Fatalf("%s: eigen did not converge", tc.name)
		}
		for _, x := range w {
			if x < -1e-12 {
				t.Errorf("%s: repaired matrix has eigenvalue %g", tc.name, x)
			}
		}
		// Close: clipping moves the matrix by the norm of the negative eigenvalues
		// (the nearest PSD matrix); the rescaling to unit diagonal at most doubles it.
		var neg2 float64
		for _, x := range mustEigen(t, n, tc.m) {
			if x < 0 {
				neg2 += x * x
			}
		}
		if bound := 2*math.Sqrt(neg2) + 1e-9; rep.FrobeniusDistance > bound {
			t.Errorf("%s: moved %g, want ≤ %g", tc.name, rep.FrobeniusDistance, bound)
		}
	}
}

func mustEigen(t *testing.T, n int, m []float64) []float64 {
	t.Helper()
	w, v, _, ok := symEigen(n, m)
	if !ok {
		t.Fatal("eigen did not converge")
	}
	// v·diag(w)·vᵀ reproduces m, and v is orthogonal.
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			var s, o float64
			for k := 0; k < n; k++ {
				s += v[i*n+k] * w[k] * v[j*n+k]
				o += v[k*n+i] * v[k*n+j]
			}
			if math.Abs(s-m[i*n+j]) > 1e-12 {
				t.Fatalf("eigen reconstruction (%d,%d) off by %g", i, j, s-m[i*n+j])
			}
			if want := float64(b2i(i == j)); math.Abs(o-want) > 1e-12 {
				t.Fatalf("eigenvectors not orthonormal at (%d,%d): %g", i, j, o)
			}
		}
	}
	return w
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestCorrelationValidation(t *testing.T) {
	good := []float64{1, 0.5, 0.5, 1}
	cases := []struct {
		name string
		n    int
		m    []float64
	}{
		{"zero size", 0, nil},
		{"too many", UnderlyingsMax + 1, nil},
		{"wrong length", 2, []float64{1, 0.5, 0.5}},
		{"asymmetric", 2, []float64{1, 0.5, 0.4, 1}},
		{"diagonal", 2, []float64{0.9, 0.5, 0.5, 1}},
		{"out of range", 2, []float64{1, 1.2, 1.2, 1}},
		{"NaN", 2, []float64{1, math.NaN(), math.NaN(), 1}},
		{"Inf", 2, []float64{1, math.Inf(1), math.Inf(1), 1}},
	}
	for _, c := range cases {
		if _, _, err := NewCorrelation(c.n, c.m, Repair); !errors.Is(err, ErrInvalidCorrelation) {
			t.Errorf("%s: err = %v, want ErrInvalidCorrelation", c.name, err)
		}
	}
	if _, _, err := NewCorrelation(2, good, RepairPolicy(9)); !errors.Is(err, ErrInvalidCorrelation) {
		t.Errorf("bad policy: err = %v", err)
	}
	// Within tolerance: symmetrised, diagonal snapped to 1, clamped to ±1.
	c, _, err := NewCorrelation(2, []float64{1 + 1e-12, 0.5 + 1e-12, 0.5, 1}, Reject)
	if err != nil {
		t.Fatal(err)
	}
	if c.At(0, 0) != 1 || c.At(0, 1) != c.At(1, 0) {
		t.Errorf("not normalised: %v", c.Matrix())
	}
	// The input is not modified.
	in := []float64{1, -0.9, -0.9, 1 - 1e-12}
	if _, _, err := NewCorrelation(2, in, Repair); err != nil || in[3] != 1-1e-12 {
		t.Errorf("input modified or rejected: %v %v", in, err)
	}
}

func TestIdentity(t *testing.T) {
	c, err := Identity(3)
	if err != nil {
		t.Fatal(err)
	}
	if e := reconstructError(t, c, equicorrelation(3, 0)); e != 0 {
		t.Errorf("identity off by %g", e)
	}
	if _, err := Identity(0); err == nil {
		t.Error("Identity(0) accepted")
	}
}

func BenchmarkNewCorrelation100(b *testing.B) {
	m := equicorrelation(100, 0.3)
	for b.Loop() {
		if _, _, err := NewCorrelation(100, m, Reject); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewCorrelationRepair100(b *testing.B) {
	m := equicorrelation(100, -0.02)
	for b.Loop() {
		if _, _, err := NewCorrelation(100, m, Repair); err != nil {
			b.Fatal(err)
		}
	}
}

func TestCorrelationFromFactor(t *testing.T) {
	m := []float64{1, 0.6, 0.3, 0.6, 1, 0.2, 0.3, 0.2, 1}
	c, _, err := NewCorrelation(3, m, Reject)
	if err != nil {
		t.Fatal(err)
	}
	d, err := CorrelationFromFactor(3, c.L())
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range d.L() {
		if x != c.L()[i] {
			t.Fatal("the factor was not adopted as is")
		}
	}
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			if math.Abs(d.At(i, j)-m[i*3+j]) > 1e-12 {
				t.Fatalf("rebuilt matrix [%d][%d] = %v", i, j, d.At(i, j))
			}
		}
	}
	for name, l := range map[string][]float64{
		"upper entry": {1, 0.1, 0, 1},
		"row length":  {1, 0, 0.5, 0.5},
		"NaN":         {1, 0, math.NaN(), 1},
		"shape":       {1, 0, 1},
	} {
		if _, err := CorrelationFromFactor(2, l); !errors.Is(err, ErrInvalidCorrelation) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
