package pricing

import (
	"errors"
	"fmt"
	"math"
)

// Model selects the pricing formula.
type Model uint8

// Models.
const (
	// ModelBSM is Black–Scholes–Merton on a spot price with a continuous
	// dividend (or carry) yield Q.
	ModelBSM Model = iota + 1
	// ModelBlack76 is Black's 1976 model on a futures or forward price F.
	ModelBlack76
)

// String returns the model's wire name: "bs" or "black76".
func (m Model) String() string {
	switch m {
	case ModelBSM:
		return "bs"
	case ModelBlack76:
		return "black76"
	}
	return fmt.Sprintf("Model(%d)", uint8(m))
}

// ParseModel parses a model's wire name ("bs" or "black76").
func ParseModel(s string) (Model, error) {
	switch s {
	case "bs":
		return ModelBSM, nil
	case "black76":
		return ModelBlack76, nil
	}
	return 0, &InputError{Field: "model", Reason: fmt.Sprintf("unknown model %q (want \"bs\" or \"black76\")", s)}
}

// Kind is the option's right.
type Kind uint8

// Kinds.
const (
	Call Kind = iota + 1
	Put
)

// String returns the kind's wire name: "call" or "put".
func (k Kind) String() string {
	switch k {
	case Call:
		return "call"
	case Put:
		return "put"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// ParseKind parses a kind's wire name ("call" or "put").
func ParseKind(s string) (Kind, error) {
	switch s {
	case "call":
		return Call, nil
	case "put":
		return Put, nil
	}
	return 0, &InputError{Field: "type", Reason: fmt.Sprintf("unknown option type %q (want \"call\" or \"put\")", s)}
}

// Inputs describe one European option.
type Inputs struct {
	Model Model
	Kind  Kind
	// S is the spot price (ModelBSM) or the futures price F (ModelBlack76);
	// positive and finite.
	S float64
	// K is the strike; positive and finite.
	K float64
	// T is the time to expiry in years; ≥ 0 and finite.
	T float64
	// R is the continuously compounded risk-free rate per year; finite.
	R float64
	// Q is the continuous dividend (carry) yield per year, ModelBSM only
	// (ignored by ModelBlack76); finite.
	Q float64
	// Sigma is the volatility per √year; ≥ 0 and finite.
	Sigma float64
}

// Greeks are an option's value and sensitivities, in the units of the
// package documentation.
type Greeks struct {
	Price float64 // value, in the currency of S and K
	Delta float64 // ∂V/∂S (∂V/∂F under Black-76)
	Gamma float64 // ∂²V/∂S²
	Vega  float64 // ∂V/∂σ, per 1.00 of volatility
	Theta float64 // ∂V/∂t = −∂V/∂T, per year of calendar time
	Rho   float64 // ∂V/∂r, per 1.00 of rate
	Vanna float64 // ∂²V/∂S∂σ
	Volga float64 // ∂²V/∂σ²
}

// Errors. Every error returned by this package wraps one of these; test
// with errors.Is.
var (
	// ErrInvalid: an input is out of its domain (see InputError).
	ErrInvalid = errors.New("pricing: invalid input")
	// ErrRange: the inputs are valid but a result does not fit a float64
	// (for example the gamma of an at-the-money option on S = 1e-300
	// with a tiny total volatility).
	ErrRange = errors.New("pricing: result out of float64 range")
	// ErrNoImpliedVol: no volatility reproduces the price (see ImpliedVol).
	ErrNoImpliedVol = errors.New("pricing: no implied volatility")
)

// InputError names the input that is out of its domain. It wraps
// ErrInvalid.
type InputError struct {
	Field  string  // the Inputs field or wire name: "S", "K", "T", "r", "q", "sigma", "model", "type", "price"
	Value  float64 // the offending value (0 for model and type)
	Reason string
}

func (e *InputError) Error() string {
	if e.Field == "model" || e.Field == "type" {
		return "pricing: " + e.Reason
	}
	return fmt.Sprintf("pricing: invalid %s = %g: %s", e.Field, e.Value, e.Reason)
}

// Unwrap returns ErrInvalid.
func (e *InputError) Unwrap() error { return ErrInvalid }

// validate checks every field.
func (in *Inputs) validate() error {
	if valid(in.Model, in.Kind, in.S, in.K, in.T, in.R, in.Q, in.Sigma) {
		return nil
	}
	return explain(*in)
}

// valid reports whether the inputs are in their domains. It takes values,
// not a pointer, so that callers holding Inputs in registers test them
// there (it inlines).
func valid(m Model, k Kind, S, K, T, R, Q, sigma float64) bool {
	return uint8(m-1) < 2 && uint8(k-1) < 2 &&
		S > 0 && S <= math.MaxFloat64 &&
		K > 0 && K <= math.MaxFloat64 &&
		T >= 0 && T <= math.MaxFloat64 &&
		sigma >= 0 && sigma <= math.MaxFloat64 &&
		R-R == 0 && Q-Q == 0
}

// explain returns the InputError for the first bad field of invalid inputs.
func explain(in Inputs) error {
	switch {
	case in.Model != ModelBSM && in.Model != ModelBlack76:
		return &InputError{Field: "model", Reason: fmt.Sprintf("unknown model %d", in.Model)}
	case in.Kind != Call && in.Kind != Put:
		return &InputError{Field: "type", Reason: fmt.Sprintf("unknown option type %d", in.Kind)}
	}
	name := "S"
	if in.Model == ModelBlack76 {
		name = "F"
	}
	for _, f := range []struct {
		name string
		v    float64
		ok   bool
		why  string
	}{
		{name, in.S, in.S > 0, "must be positive"},
		{"K", in.K, in.K > 0, "must be positive"},
		{"T", in.T, in.T >= 0, "must be non-negative"},
		{"sigma", in.Sigma, in.Sigma >= 0, "must be non-negative"},
		{"r", in.R, true, ""},
		{"q", in.Q, true, ""},
	} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			return &InputError{Field: f.name, Value: f.v, Reason: "must be finite"}
		}
		if !f.ok {
			return &InputError{Field: f.name, Value: f.v, Reason: f.why}
		}
	}
	panic("pricing: explain called on valid inputs")
}

// sTotalMin is the smallest total volatility σ√T priced by the diffusion
// formulas; below it (σ = 0, T = 0, or σ√T underflowing towards the
// subnormals) the option is priced by its σ→0 limit, the discounted
// intrinsic value of the forward. It keeps 1/(σ√T) finite.
const sTotalMin = 1e-300

// dClamp bounds |d1|, |d2| where they multiply a density: beyond it φ is
// exactly 0 in float64, and the clamp keeps d1·d2 finite.
const dClamp = 1e6

// Price returns the option's value.
func Price(in Inputs) (float64, error) {
	if !valid(in.Model, in.Kind, in.S, in.K, in.T, in.R, in.Q, in.Sigma) {
		return 0, explain(in)
	}
	v := evaluate(in, false).Price
	if v-v != 0 {
		return 0, ErrRange
	}
	return v, nil
}

// Compute returns the option's value and all its Greeks. It does not
// allocate. ComputeBatch returns the same numbers for many options at
// about half the cost per option.
func Compute(in Inputs) (Greeks, error) {
	// in stays in registers: no address is taken on this path.
	if !valid(in.Model, in.Kind, in.S, in.K, in.T, in.R, in.Q, in.Sigma) {
		return Greeks{}, explain(in)
	}
	g := evaluate(in, true)
	// x−x is 0 for finite x and NaN for ±Inf and NaN.
	if (g.Price-g.Price)+(g.Delta-g.Delta)+(g.Gamma-g.Gamma)+(g.Vega-g.Vega)+
		(g.Theta-g.Theta)+(g.Rho-g.Rho)+(g.Vanna-g.Vanna)+(g.Volga-g.Volga) != 0 {
		return Greeks{}, ErrRange
	}
	return g, nil
}

// lnRatio returns ln(a/b) for positive finite a, b, without overflow.
func lnRatio(a, b float64) float64 {
	q := a / b
	if q >= minNormal && q <= math.MaxFloat64 {
		return logFast(q)
	}
	return logFast(a) - logFast(b)
}

// evaluate fills g.Price and, when all, every Greek, for validated inputs.
//
// With the forward F (= S·e^{(r−q)T} under BSM), df = e^{−rT},
// A = df·F (the discounted forward; S·e^{−qT} under BSM), Kd = df·K,
// x = ln(F/K), s = σ√T, d1 = x/s + s/2 and d2 = d1 − s:
//
//	call = A·N(d1) − Kd·N(d2),  put = Kd·N(−d2) − A·N(−d1).
//
// Every N is written as N(d) = H(d) − sgn(d)·φ(d)·M(|d|) with the Mills
// ratio M, and since A·φ(d1) = Kd·φ(d2) =: B, the four terms A·N(±d1) and
// Kd·N(±d2) need one exponential (taken for whichever of d1, d2 is
// smaller in magnitude, so B underflows only when it is negligible).
// Tails are therefore exact to a few ulps; the remaining cancellation,
// B·(M(|d1|) − M(|d2|)) for far out-of-the-money options with a small
// total volatility, costs about log10(|d|/s) digits.
func evaluate(in Inputs, all bool) Greeks {
	T, K, S := in.T, in.K, in.S
	df := 1.0
	if in.R != 0 {
		df = expFast(-in.R * T)
	}
	x := lnRatio(S, K)
	dS := df     // ∂A/∂S: e^{−qT} under BSM, e^{−rT} under Black-76
	carry := 0.0 // b = r − q under BSM, 0 under Black-76
	if in.Model == ModelBSM {
		carry = in.R - in.Q
		x += float64(carry * T)
		dS = 1
		if in.Q != 0 {
			dS = expFast(-in.Q * T)
		}
	}
	A := float64(S * dS)
	Kd := float64(K * df)
	sqrtT := math.Sqrt(T)
	s := float64(in.Sigma * sqrtT)
	call := in.Kind == Call
	if !(s >= sTotalMin) {
		return evaluateLimit(in, all, x, A, Kd, dS, carry, sqrtT)
	}
	invs := 1 / s
	d1 := mulAdd(x, invs, float64(0.5*s))
	d2 := d1 - s
	var B float64
	if x <= 0 { // |d1| ≤ |d2|
		B = A * (invSqrt2Pi * expFast(-0.5*d1*d1))
	} else {
		B = Kd * (invSqrt2Pi * expFast(-0.5*d2*d2))
	}
	m1, m2 := mills2(math.Abs(d1), math.Abs(d2))
	bm1, bm2 := float64(B*m1), float64(B*m2)
	// aUp = A·N(d1), aDn = A·N(−d1), kUp = Kd·N(d2), kDn = Kd·N(−d2).
	var aUp, aDn, kUp, kDn float64
	if d1 > 0 {
		aUp, aDn = A-bm1, bm1
	} else {
		aUp, aDn = bm1, A-bm1
	}
	if d2 > 0 {
		kUp, kDn = Kd-bm2, bm2
	} else {
		kUp, kDn = bm2, Kd-bm2
	}
	var v, aN, kN float64 // aN = ±A·N(±d1) = S·delta, kN = ±Kd·N(±d2)
	if call {
		v, aN, kN = aUp-kUp, aUp, kUp
	} else {
		v, aN, kN = kDn-aDn, -aDn, -kDn
	}
	v = max(v, 0) // M is monotone only to an ulp
	if !all {
		return Greeks{Price: v}
	}
	invS := 1 / S
	d1c := max(-dClamp, min(d1, dClamp))
	d2c := max(-dClamp, min(d2, dClamp))
	bS := B * invS // = ∂A/∂S·φ(d1)
	vega := B * sqrtT
	sigma := in.Sigma
	rho := -T * v
	if in.Model == ModelBSM {
		rho = T * kN
	}
	invSigma := invs * sqrtT
	return Greeks{
		Price: v,
		Delta: aN * invS,
		Gamma: bS * invS * invs,
		Vega:  vega,
		Theta: float64(in.R*v) - float64(carry*aN) - float64(0.5*B*sigma*sigma*invs),
		Rho:   rho,
		Vanna: -bS * d2c * invSigma,
		Volga: vega * (d1c * d2c) * invSigma,
	}
}

// evaluateLimit prices at total volatility σ√T = 0 (σ = 0 or T = 0): the
// σ→0+ limit, the discounted intrinsic value of the forward. See the
// package documentation for the Greeks' conventions.
func evaluateLimit(in Inputs, all bool, x, A, Kd, dS, carry, sqrtT float64) (g Greeks) {
	h := 0.5 // N(d1) = N(d2) in the limit: 1 in the money, 0 out, ½ at the forward
	switch {
	case x > 0:
		h = 1
	case x < 0:
		h = 0
	}
	var v, aN, kN float64
	if in.Kind == Call {
		aN, kN = h*A, h*Kd
		if h == 1 {
			v = max(A-Kd, 0)
		}
	} else {
		aN, kN = -(1-h)*A, -(1-h)*Kd
		if h == 0 {
			v = max(Kd-A, 0)
		}
	}
	g.Price = v
	if !all {
		return g
	}
	g.Delta = h * dS
	if in.Kind == Put {
		g.Delta = -(1 - h) * dS
	}
	g.Gamma, g.Vanna, g.Volga = 0, 0, 0
	g.Vega = 0
	if h == 0.5 {
		// At the forward, V ≈ A·σ√T/√(2π) for small σ√T: vega and vanna
		// have finite limits (zero when T = 0); gamma diverges and is
		// reported as 0.
		g.Vega = A * invSqrt2Pi * sqrtT
		g.Vanna = dS * invSqrt2Pi * sqrtT * 0.5
	}
	g.Theta = float64(in.R*v) - float64(carry*aN)
	if in.Model == ModelBSM {
		g.Rho = in.T * kN
	} else {
		g.Rho = -in.T * v
	}
	return g
}
