// Package pricing is Ballast's float64 reference for European options:
// Black–Scholes–Merton on a spot price with a continuous dividend yield,
// and Black-76 on a futures price. It is the readable specification that
// the accelerator's fixed-point kernels are measured against (DESIGN §3),
// and the CPU pricer behind `ballastctl price` (DESIGN §5.1).
//
// # Formulas
//
// With df = e^{−rT}, the forward F = S·e^{(r−q)T} (BSM) or the futures
// price F (Black-76), A = df·F (= S·e^{−qT} under BSM), Kd = df·K,
// s = σ√T, d1 = ln(F/K)/s + s/2 and d2 = d1 − s:
//
//	call = A·N(d1) − Kd·N(d2)
//	put  = Kd·N(−d2) − A·N(−d1)
//
// Black-76 is BSM with the carry b = r − q replaced by 0; Black-76 on
// F = S·e^{(r−q)T} gives the BSM price.
//
// # Units
//
//   - S, F, K and prices: one currency, any scale.
//   - T: years. r, q: continuously compounded, per year (0.05 = 5 %).
//     σ: per √year (0.2 = 20 %).
//   - Delta = ∂V/∂S; under Black-76 ∂V/∂F (futures delta, F held as the
//     variable; the BSM delta is e^{−qT}·N(d1) for calls).
//   - Gamma = ∂²V/∂S² (∂²V/∂F² under Black-76).
//   - Vega = ∂V/∂σ per 1.00 of volatility (divide by 100 for "per vol
//     point").
//   - Theta = ∂V/∂t per year of calendar time passing, i.e. −∂V/∂T with
//     everything else fixed (divide by 365 for "per day"); usually
//     negative for a long option.
//   - Rho = ∂V/∂r per 1.00 of rate (divide by 100 for "per 1 %"). Under
//     BSM the spot is held fixed (so the forward moves); under Black-76 the
//     futures price is held fixed, so Rho = −T·V.
//   - Vanna = ∂²V/∂S∂σ (= ∂Delta/∂σ), Volga = ∂²V/∂σ² (= ∂Vega/∂σ), in
//     the units above.
//
// # Limits and conventions
//
// Inputs must satisfy S > 0, K > 0, T ≥ 0, σ ≥ 0, all finite (r and q may
// be any finite number); anything else, and an unknown model or kind, is an
// *InputError wrapping ErrInvalid. Valid inputs never produce NaN or ±Inf:
// a result that does not fit a float64 is ErrRange instead.
//
// When σ√T = 0 (σ = 0 or T = 0; in practice σ√T < 1e-300) the option is
// priced by its σ→0 limit, the discounted intrinsic value of the forward,
// (A − Kd)+ for a call and (Kd − A)+ for a put. At T = 0 that is the
// intrinsic value (S − K)+ / (K − S)+. The Greeks are the one-sided limits
// σ√T → 0+: Delta is A/S·1{F > K} for a call and −A/S·1{F < K} for a put,
// with ½ of that exactly at the forward (F = K); Gamma, Vanna and Volga are
// 0; Vega is 0 except at the forward, where it is A·√T/√(2π) (and Vanna
// (A/S)·√T/(2√(2π))); Theta keeps only its carry terms,
// r·V − b·S·Delta, because the diffusion term −A·φ(d1)·σ/(2√T) vanishes
// away from the forward and diverges at it (reported without it); Rho is
// T·Kd·N(±d2) as usual (0 at T = 0). Gamma at the forward, which diverges,
// is reported as 0.
//
// # Accuracy
//
// The normal distribution is evaluated through the Mills ratio
// M(z) = N(−z)/φ(z) (generated tables, ~1 ulp; see internal/tablegen), so
// both tails keep their relative accuracy, each of A·N(±d1), Kd·N(±d2) is
// formed directly (an out-of-the-money option is never a parity difference
// of large numbers), and one exponential serves both densities
// (A·φ(d1) = Kd·φ(d2)). The remaining cancellation is in far
// out-of-the-money options with a small total volatility, where the price
// is B·(M(|d1|) − M(|d2|)) and loses about log10(|d|/s) digits.
// Exponentials and logarithms are series evaluations (≤ 2 ulp against the
// math package) written to be reproducible bit for bit on every platform.
//
// # Determinism
//
// Every result is reproducible bit for bit on every platform: the Go spec
// lets a compiler fuse x*y+z into one FMA (arm64 and GOAMD64=v3 do), so
// every product that feeds a sum is rounded explicitly, float64(x*y), and
// the batch paths evaluate exactly the scalar expressions. TestGoldenBits
// pins a hash of the results; run the tests with GOAMD64=v3 to check that
// nothing fuses. (The math package's Exp and Log, used only outside the
// fast functions' ranges — subnormal and overflowing results — are the
// one platform-dependent piece.)
//
// # Performance
//
// Compute (price and all Greeks) and Prepared.ValueAfterShock (the Monte
// Carlo revaluation: no logarithm, two exponentials) do not allocate. One
// option is a ~125-cycle dependency chain (S/K → log → d1 → exp → Greeks)
// that the processor cannot overlap with the next call's, so the batch
// forms, ComputeBatch and Prepared.ValuesAfterShocks, run each stage of
// the formula over a chunk of options or shocks before the next stage,
// with the exponential, logarithm and Mills ratio written out as loops
// (vecmath.go): the chains overlap and no stage pays a call per element.
// They return exactly the scalar functions' numbers. See bench_test.go.
package pricing

//go:generate go run ./internal/tablegen -o tables.go
