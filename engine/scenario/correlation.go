package scenario

import (
	"errors"
	"fmt"
	"math"
)

// UnderlyingsMax bounds the number of underlyings of a correlation matrix, a
// scenario set and a generator.
const UnderlyingsMax = 512

// Numerical tolerances of the correlation checks and factorisation.
const (
	// SymmetryTolerance is the largest |m[i][j] − m[j][i]| accepted; the matrix is
	// then symmetrised by averaging.
	SymmetryTolerance = 1e-9
	// DiagonalTolerance is the largest |m[i][i] − 1| accepted; the diagonal is then
	// set to exactly 1. Off-diagonal entries may exceed 1 in magnitude by as much and
	// are clamped to [−1, 1].
	DiagonalTolerance = 1e-9
	// PivotTolerance: a Cholesky pivot (Schur complement diagonal) at or below it is
	// an exact zero; below −PivotTolerance the matrix is not positive semi-definite.
	PivotTolerance = 1e-12
	// ZeroColumnTolerance bounds the remaining off-diagonal entries of a zero-pivot
	// column. A positive semi-definite Schur complement S with S_jj ≤ PivotTolerance
	// and S_ii ≤ 1 has |S_ij| ≤ sqrt(PivotTolerance) = 1e-6, so a larger entry proves
	// the matrix is not PSD, and L·Lᵀ reproduces the matrix to within this bound.
	ZeroColumnTolerance = 1e-6
	// repairEigenFloor is the smallest eigenvalue kept by Repair before rescaling
	// to unit diagonal, so that the repaired matrix is positive definite.
	repairEigenFloor = 1e-10
	// jacobiSweepsMax bounds the cyclic Jacobi iteration; it converges
	// quadratically, in well under 20 sweeps for any n ≤ UnderlyingsMax in practice.
	jacobiSweepsMax = 64
)

// RepairPolicy selects what NewCorrelation does with a matrix that is not positive
// semi-definite.
type RepairPolicy uint8

const (
	// Reject returns a *NotPSDError carrying the smallest eigenvalue.
	Reject RepairPolicy = iota
	// Repair replaces the matrix by a nearby valid correlation matrix: eigenvalues are
	// clipped at a small positive floor, the matrix rebuilt and rescaled to unit
	// diagonal. The Report says so.
	Repair
)

// String names the policy.
func (p RepairPolicy) String() string {
	switch p {
	case Reject:
		return "reject"
	case Repair:
		return "repair"
	}
	return fmt.Sprintf("RepairPolicy(%d)", uint8(p))
}

// Errors of NewCorrelation.
var (
	// ErrInvalidCorrelation wraps every validation failure (shape, symmetry,
	// diagonal, range, non-finite entries, size).
	ErrInvalidCorrelation = errors.New("scenario: invalid correlation matrix")
	// ErrNotPSD is matched (errors.Is) by *NotPSDError.
	ErrNotPSD = errors.New("scenario: correlation matrix is not positive semi-definite")
	// ErrRepairFailed reports that the eigen-decomposition did not converge or the
	// repaired matrix still failed to factor; it is not expected for valid input.
	ErrRepairFailed = errors.New("scenario: correlation repair failed")
)

// NotPSDError is returned under Reject for a matrix that is not positive
// semi-definite.
type NotPSDError struct {
	MinEigenvalue float64 // smallest eigenvalue of the (symmetrised) input
}

// Error describes the failure with the smallest eigenvalue.
func (e *NotPSDError) Error() string {
	return fmt.Sprintf("scenario: correlation matrix is not positive semi-definite (smallest eigenvalue %.6g)", e.MinEigenvalue)
}

// Is matches ErrNotPSD.
func (e *NotPSDError) Is(target error) bool { return target == ErrNotPSD }

// Report says what NewCorrelation did.
type Report struct {
	Repaired bool // the input was not PSD and was repaired
	// MinEigenvalue is the smallest eigenvalue of the input; it is computed (by the
	// eigen-decomposition) only when the input failed to factor, and is 0 otherwise.
	MinEigenvalue float64
	// FrobeniusDistance is ‖repaired − input‖_F (0 when not repaired), with the
	// input symmetrised and its diagonal set to 1.
	FrobeniusDistance float64
	// Rank is the number of non-zero pivots of the factor L (n for a positive
	// definite matrix, less for a singular one).
	Rank int
	// Sweeps is the number of Jacobi sweeps used (0 when no eigen-decomposition ran).
	Sweeps int
}

// Correlation is a validated correlation matrix and its lower-triangular factor L
// with L·Lᵀ = the matrix (to within ZeroColumnTolerance for singular matrices, to
// rounding otherwise). It is immutable and safe for concurrent use.
type Correlation struct {
	n int
	m []float64 // n×n row-major, symmetric, unit diagonal (repaired if Repaired)
	l []float64 // n×n row-major, zero above the diagonal
}

// N is the number of underlyings.
func (c *Correlation) N() int { return c.n }

// At returns the (i, j) entry of the (possibly repaired) correlation matrix.
func (c *Correlation) At(i, j int) float64 { return c.m[i*c.n+j] }

// Matrix returns a copy of the (possibly repaired) n×n row-major matrix.
func (c *Correlation) Matrix() []float64 { return append([]float64(nil), c.m...) }

// L returns a copy of the n×n row-major lower-triangular factor (zeros above the
// diagonal), the layout the accelerator loads.
func (c *Correlation) L() []float64 { return append([]float64(nil), c.l...) }

// lRow returns row u of L up to and including the diagonal (internal, no copy).
func (c *Correlation) lRow(u int) []float64 { return c.l[u*c.n : u*c.n+u+1] }

// Identity returns the n×n identity correlation (independent underlyings).
func Identity(n int) (*Correlation, error) {
	if n < 1 || n > UnderlyingsMax {
		return nil, fmt.Errorf("%w: %d underlyings, want 1..%d", ErrInvalidCorrelation, n, UnderlyingsMax)
	}
	m := make([]float64, n*n)
	for i := 0; i < n; i++ {
		m[i*n+i] = 1
	}
	return &Correlation{n: n, m: m, l: append([]float64(nil), m...)}, nil
}

// NewCorrelation validates the n×n row-major correlation matrix m (square, finite,
// symmetric within SymmetryTolerance, unit diagonal within DiagonalTolerance,
// |ρ| ≤ 1, n ≤ UnderlyingsMax) and factors it. A positive semi-definite matrix,
// singular ones included, is accepted as is. Otherwise policy Reject returns a
// *NotPSDError (errors.Is ErrNotPSD) with the smallest eigenvalue, and policy Repair
// returns a nearby valid matrix and a Report saying it was repaired, with the
// smallest eigenvalue before and the Frobenius distance moved. m is not modified.
//
// Cost: the factorisation is O(n³/3) (about 20 ms for n = 512); a matrix that fails
// to factor also costs a Jacobi eigen-decomposition, O(n³) per sweep (about 1.2 s
// for n = 512 on one core), so build correlations when the configuration changes,
// not per epoch.
func NewCorrelation(n int, m []float64, policy RepairPolicy) (*Correlation, Report, error) {
	var rep Report
	if n < 1 || n > UnderlyingsMax {
		return nil, rep, fmt.Errorf("%w: %d underlyings, want 1..%d", ErrInvalidCorrelation, n, UnderlyingsMax)
	}
	if len(m) != n*n {
		return nil, rep, fmt.Errorf("%w: %d entries for a %d×%d matrix", ErrInvalidCorrelation, len(m), n, n)
	}
	if policy != Reject && policy != Repair {
		return nil, rep, fmt.Errorf("%w: unknown repair policy %d", ErrInvalidCorrelation, uint8(policy))
	}
	a, err := validateCorrelation(n, m)
	if err != nil {
		return nil, rep, err
	}
	l := make([]float64, n*n)
	if rank, ok := choleskySemidefinite(n, a, l); ok {
		rep.Rank = rank
		return &Correlation{n: n, m: a, l: l}, rep, nil
	}
	w, v, sweeps, ok := symEigen(n, a)
	rep.Sweeps = sweeps
	if !ok {
		return nil, rep, fmt.Errorf("%w: Jacobi eigen-decomposition did not converge in %d sweeps", ErrRepairFailed, jacobiSweepsMax)
	}
	minEig := w[0]
	for _, x := range w[1:] {
		minEig = math.Min(minEig, x)
	}
	rep.MinEigenvalue = minEig
	if policy == Reject {
		return nil, rep, &NotPSDError{MinEigenvalue: minEig}
	}
	r := clipToCorrelation(n, w, v)
	rank, ok := choleskySemidefinite(n, r, l)
	if !ok {
		return nil, rep, fmt.Errorf("%w: repaired matrix did not factor", ErrRepairFailed)
	}
	var d2 float64
	for i := range r {
		d := r[i] - a[i]
		d2 += float64(d * d)
	}
	rep.Repaired = true
	rep.FrobeniusDistance = math.Sqrt(d2)
	rep.Rank = rank
	return &Correlation{n: n, m: r, l: l}, rep, nil
}

// validateCorrelation checks m and returns its symmetrised, unit-diagonal, clamped copy.
func validateCorrelation(n int, m []float64) ([]float64, error) {
	a := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			x := m[i*n+j]
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, fmt.Errorf("%w: entry (%d,%d) is %v", ErrInvalidCorrelation, i, j, x)
			}
		}
	}
	for i := 0; i < n; i++ {
		if d := m[i*n+i]; math.Abs(d-1) > DiagonalTolerance {
			return nil, fmt.Errorf("%w: diagonal entry (%d,%d) is %g, want 1", ErrInvalidCorrelation, i, i, d)
		}
		a[i*n+i] = 1
		for j := 0; j < i; j++ {
			x, y := m[i*n+j], m[j*n+i]
			if math.Abs(x-y) > SymmetryTolerance {
				return nil, fmt.Errorf("%w: not symmetric: (%d,%d) = %g but (%d,%d) = %g", ErrInvalidCorrelation, i, j, x, j, i, y)
			}
			s := 0.5 * (x + y)
			if math.Abs(s) > 1+DiagonalTolerance {
				return nil, fmt.Errorf("%w: entry (%d,%d) = %g is outside [-1, 1]", ErrInvalidCorrelation, i, j, s)
			}
			s = math.Max(-1, math.Min(1, s))
			a[i*n+j], a[j*n+i] = s, s
		}
	}
	return a, nil
}

// Every product below is rounded before it is added (float64 conversions), so that
// L and a repaired matrix have the same bits on every platform (see the package doc).

// choleskySemidefinite writes into l (n×n, overwritten entirely) the lower factor of
// the symmetric matrix a, treating pivots in [−PivotTolerance, PivotTolerance] as
// zero. It returns the number of non-zero pivots, and false when a is not positive
// semi-definite (a pivot below −PivotTolerance, or a zero-pivot column whose Schur
// complement entries exceed ZeroColumnTolerance).
func choleskySemidefinite(n int, a, l []float64) (int, bool) {
	clear(l)
	rank := 0
	for j := 0; j < n; j++ {
		lj := l[j*n : j*n+j]
		d := a[j*n+j]
		for _, x := range lj {
			d -= float64(x * x)
		}
		if d < -PivotTolerance {
			return rank, false
		}
		if d <= PivotTolerance {
			// Zero pivot: the Schur complement's column j must vanish.
			for i := j + 1; i < n; i++ {
				li := l[i*n : i*n+j]
				s := a[i*n+j]
				for k, x := range lj {
					s -= float64(li[k] * x)
				}
				if math.Abs(s) > ZeroColumnTolerance {
					return rank, false
				}
			}
			continue
		}
		rank++
		piv := math.Sqrt(d)
		l[j*n+j] = piv
		for i := j + 1; i < n; i++ {
			li := l[i*n : i*n+j]
			s := a[i*n+j]
			for k, x := range lj {
				s -= float64(li[k] * x)
			}
			l[i*n+j] = s / piv
		}
	}
	return rank, true
}

// symEigen is the cyclic Jacobi eigen-decomposition of the symmetric n×n matrix a
// (not modified): eigenvalues w (unordered) and eigenvectors as the columns of the
// n×n row-major v, a = v·diag(w)·vᵀ. It reports the sweeps used and whether the
// off-diagonal mass fell below 1e-30 of the Frobenius norm squared. Rotations update
// rows p and q of the symmetric working matrix and mirror them into the columns; the
// eigenvectors are accumulated as rows (contiguous) and transposed at the end.
func symEigen(n int, a []float64) (w, v []float64, sweeps int, ok bool) {
	s := append([]float64(nil), a...)
	vt := make([]float64, n*n) // row i = eigenvector i
	for i := 0; i < n; i++ {
		vt[i*n+i] = 1
	}
	var norm2 float64
	for _, x := range s {
		norm2 += float64(x * x)
	}
	for sweeps = 0; sweeps < jacobiSweepsMax; sweeps++ {
		var off float64
		for p := 0; p < n; p++ {
			for _, x := range s[p*n+p+1 : p*n+n] {
				off += float64(x * x)
			}
		}
		if off <= 1e-30*norm2 {
			ok = true
			break
		}
		for p := 0; p < n-1; p++ {
			for q := p + 1; q < n; q++ {
				apq := s[p*n+q]
				if apq == 0 {
					continue
				}
				app, aqq := s[p*n+p], s[q*n+q]
				theta := (aqq - app) / (2 * apq)
				var t float64
				if math.Abs(theta) > 1e150 {
					t = 0.5 / theta
				} else {
					t = 1 / (math.Abs(theta) + math.Sqrt(float64(theta*theta)+1))
					if theta < 0 {
						t = -t
					}
				}
				c := 1 / math.Sqrt(float64(t*t)+1)
				sn := t * c
				// A ← Jᵀ·A·J: rows p, q (and, by symmetry, columns p, q) rotate;
				// the 2×2 block becomes diagonal.
				rp, rq := s[p*n:p*n+n], s[q*n:q*n+n]
				for k := 0; k < n; k++ {
					if k == p || k == q {
						continue
					}
					kp, kq := rp[k], rq[k]
					np := float64(c*kp) - float64(sn*kq)
					nq := float64(sn*kp) + float64(c*kq)
					rp[k], rq[k] = np, nq
					s[k*n+p], s[k*n+q] = np, nq
				}
				rp[p] = app - float64(t*apq)
				rq[q] = aqq + float64(t*apq)
				rp[q], rq[p] = 0, 0
				// V ← V·J, as rows of vt.
				vp, vq := vt[p*n:p*n+n], vt[q*n:q*n+n]
				for k := 0; k < n; k++ {
					x, y := vp[k], vq[k]
					vp[k] = float64(c*x) - float64(sn*y)
					vq[k] = float64(sn*x) + float64(c*y)
				}
			}
		}
	}
	w = make([]float64, n)
	v = make([]float64, n*n)
	for i := 0; i < n; i++ {
		w[i] = s[i*n+i]
		for k := 0; k < n; k++ {
			v[k*n+i] = vt[i*n+k]
		}
	}
	return w, v, sweeps, ok
}

// clipToCorrelation rebuilds v·diag(max(w, floor))·vᵀ and rescales it to unit
// diagonal, returning a symmetric correlation matrix.
func clipToCorrelation(n int, w, v []float64) []float64 {
	lam := make([]float64, n)
	for i, x := range w {
		lam[i] = math.Max(x, repairEigenFloor)
	}
	b := make([]float64, n*n)
	for i := 0; i < n; i++ {
		vi := v[i*n : i*n+n]
		for j := 0; j <= i; j++ {
			vj := v[j*n : j*n+n]
			var s float64
			for k := 0; k < n; k++ {
				s += float64(vi[k] * lam[k] * vj[k])
			}
			b[i*n+j], b[j*n+i] = s, s
		}
	}
	inv := make([]float64, n)
	for i := 0; i < n; i++ {
		inv[i] = 1 / math.Sqrt(b[i*n+i])
	}
	for i := 0; i < n; i++ {
		for j := 0; j < i; j++ {
			x := math.Max(-1, math.Min(1, b[i*n+j]*inv[i]*inv[j]))
			b[i*n+j], b[j*n+i] = x, x
		}
		b[i*n+i] = 1
	}
	return b
}

// FactorRowTolerance bounds how far a row of a given factor may be from unit
// length (a correlation matrix has a unit diagonal).
const FactorRowTolerance = 1e-9

// CorrelationFromFactor adopts an n×n row-major lower-triangular factor L —
// as carried by an accelerator job — without refactoring it, so that the
// scenarios use exactly that L. L must be finite, zero above the diagonal,
// and each row of unit length within FactorRowTolerance, or a zero row (a
// degenerate factor of a singular matrix still has unit rows). The matrix
// L·Lᵀ is rebuilt for At and Matrix.
func CorrelationFromFactor(n int, l []float64) (*Correlation, error) {
	if n < 1 || n > UnderlyingsMax {
		return nil, fmt.Errorf("%w: %d underlyings, want 1..%d", ErrInvalidCorrelation, n, UnderlyingsMax)
	}
	if len(l) != n*n {
		return nil, fmt.Errorf("%w: factor has %d entries for %d×%d", ErrInvalidCorrelation, len(l), n, n)
	}
	for i := 0; i < n; i++ {
		var norm float64
		for j := 0; j < n; j++ {
			x := l[i*n+j]
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, fmt.Errorf("%w: factor entry [%d][%d] is not finite", ErrInvalidCorrelation, i, j)
			}
			if j > i && x != 0 {
				return nil, fmt.Errorf("%w: factor entry [%d][%d] above the diagonal is %v", ErrInvalidCorrelation, i, j, x)
			}
			norm += float64(x * x)
		}
		if math.Abs(norm-1) > FactorRowTolerance {
			return nil, fmt.Errorf("%w: factor row %d has squared length %v, want 1", ErrInvalidCorrelation, i, norm)
		}
	}
	m := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j <= i; j++ {
			var s float64
			for k := 0; k <= j; k++ {
				s += float64(l[i*n+k] * l[j*n+k])
			}
			m[i*n+j], m[j*n+i] = s, s
		}
	}
	return &Correlation{n: n, m: m, l: append([]float64(nil), l...)}, nil
}
