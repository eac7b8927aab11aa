package scenario

import "math"

// Wichura, "Algorithm AS 241: The Percentage Points of the Normal Distribution",
// Applied Statistics 37(3), 1988, PPND16 coefficients (accurate to about 1 part
// in 10^16). Polynomials are listed from the constant term up.
var (
	// Central region |u−0.5| ≤ 0.425, in r = 0.180625 − q².
	invNormA = [8]float64{
		3.3871328727963666080e0, 1.3314166789178437745e+2,
		1.9715909503065514427e+3, 1.3731693765509461125e+4,
		4.5921953931549871457e+4, 6.7265770927008700853e+4,
		3.3430575583588128105e+4, 2.5090809287301226727e+3,
	}
	invNormB = [8]float64{
		1.0, 4.2313330701600911252e+1,
		6.8718700749205790830e+2, 5.3941960214247511077e+3,
		2.1213794301586595867e+4, 3.9307895800092710610e+4,
		2.8729085735721942674e+4, 5.2264952788528545610e+3,
	}
	// Intermediate tail, r = sqrt(−ln p) ≤ 5, in r − 1.6.
	invNormC = [8]float64{
		1.42343711074968357734e0, 4.63033784615654529590e0,
		5.76949722146069140550e0, 3.64784832476320460504e0,
		1.27045825245236838258e0, 2.41780725177450611770e-1,
		2.27238449892691845833e-2, 7.74545014278341407640e-4,
	}
	invNormD = [8]float64{
		1.0, 2.05319162663775882187e0,
		1.67638483018380384940e0, 6.89767334985100004550e-1,
		1.48103976427480074590e-1, 1.51986665636164571966e-2,
		5.47593808499534494600e-4, 1.05075007164441684324e-9,
	}
	// Far tail, r > 5, in r − 5.
	invNormE = [8]float64{
		6.65790464350110377720e0, 5.46378491116411436990e0,
		1.78482653991729133580e0, 2.96560571828504891230e-1,
		2.65321895265761230930e-2, 1.24266094738807843860e-3,
		2.71155556874348757815e-5, 2.01033439929228813265e-7,
	}
	invNormF = [8]float64{
		1.0, 5.99832206555887937690e-1,
		1.36929880922735805310e-1, 1.48753612908506148525e-2,
		7.86869131145613259100e-4, 1.84631831751005468180e-5,
		1.42151175831644588870e-7, 2.04426310338993978564e-15,
	}
)

// poly7Pair evaluates P(r) and Q(r), the degree-7 polynomials with coefficients p
// and q (constant term first), by Horner's rule from the top coefficient down, each
// product rounded before the add (no fused multiply-add) so that every platform gets
// the same bits. The two independent chains are interleaved for instruction-level
// parallelism; the result is the same as evaluating them one after the other.
func poly7Pair(p, q *[8]float64, r float64) (float64, float64) {
	n, d := p[7], q[7]
	n, d = float64(n*r)+p[6], float64(d*r)+q[6]
	n, d = float64(n*r)+p[5], float64(d*r)+q[5]
	n, d = float64(n*r)+p[4], float64(d*r)+q[4]
	n, d = float64(n*r)+p[3], float64(d*r)+q[3]
	n, d = float64(n*r)+p[2], float64(d*r)+q[2]
	n, d = float64(n*r)+p[1], float64(d*r)+q[1]
	n, d = float64(n*r)+p[0], float64(d*r)+q[0]
	return n, d
}

// InvNorm is the standard normal quantile Φ⁻¹(u) by Wichura's AS241 (PPND16), with
// relative error about 1e-16 over (0, 1). With q = u − 0.5:
//
//	|q| ≤ 0.425: r = 0.180625 − q·q, z = (q·A(r))/B(r)
//	otherwise:   p = min(u, 1−u), r = sqrt(−ln p);
//	             r ≤ 5: z = C(r−1.6)/D(r−1.6), else z = E(r−5)/F(r−5);
//	             negated when q < 0.
//
// InvNorm(0) = −Inf, InvNorm(1) = +Inf; outside [0, 1] and for NaN it returns NaN.
func InvNorm(u float64) float64 {
	if !(u > 0 && u < 1) {
		switch {
		case u == 0:
			return math.Inf(-1)
		case u == 1:
			return math.Inf(1)
		}
		return math.NaN()
	}
	q := u - 0.5
	if math.Abs(q) <= 0.425 {
		r := 0.180625 - float64(q*q)
		a, b := poly7Pair(&invNormA, &invNormB, r)
		return float64(q*a) / b
	}
	p := u
	if q > 0 {
		p = 1 - u
	}
	r := math.Sqrt(-logRef(p))
	var z float64
	if r <= 5 {
		r -= 1.6
		c, d := poly7Pair(&invNormC, &invNormD, r)
		z = c / d
	} else {
		r -= 5
		e, f := poly7Pair(&invNormE, &invNormF, r)
		z = e / f
	}
	if q < 0 {
		return -z
	}
	return z
}
