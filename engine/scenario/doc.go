// Package scenario generates the market scenarios that Ballast revalues portfolios
// under: correlated Monte Carlo log-returns (Gaussian or multivariate Student-t, with
// optional volatility shocks), historical scenarios read from a file of returns, and a
// SPAN-like stress grid (DESIGN §1, §3, §4, §5.1).
//
// This package is the float64 reference: the readable specification that the
// accelerator's fixed-point kernel (accel/, hdl/) reproduces and is bounded against.
// Everything below is part of that contract; changing any of it changes every
// scenario of every epoch.
//
// # Random numbers: Philox4x32-10
//
// [Philox4x32] is Philox4x32-10 of Salmon, Moraes, Dror and Shaw, "Parallel Random
// Numbers: As Easy as 1, 2, 3" (SC11), as in Random123: 10 rounds, multipliers
// M0 = 0xD2511F53, M1 = 0xCD9E8D57, Weyl key increments W0 = 0x9E3779B9,
// W1 = 0xBB67AE85. One round maps counter (c0, c1, c2, c3) under key (k0, k1) to
//
//	(hi(M1·c2) ^ c1 ^ k0,  lo(M1·c2),  hi(M0·c0) ^ c3 ^ k1,  lo(M0·c0))
//
// where hi/lo are the upper/lower 32 bits of the 64-bit product; the key is bumped
// by (W0, W1) (mod 2^32) between rounds, 9 times in all.
//
// Counter layout. Every random word of an epoch is addressed, never drawn from a
// sequential state, so any scenario can be regenerated alone and in parallel:
//
//	key[0], key[1] = low, high 32 bits of the epoch seed (uint64)
//	ctr[0]         = block b within the stream; block b yields the stream's
//	                 normals 4b, 4b+1, 4b+2, 4b+3 from output words 0..3
//	ctr[1]         = stream id: StreamMarket (0), StreamChiSquare (1), StreamVolShock (2)
//	ctr[2], ctr[3] = low, high 32 bits of the scenario index (uint64)
//
// Uniforms. One 32-bit output word x maps to u = (x + 0.5)·2^-32 ([Uniform]), exact in
// float64, in [2^-33, 1−2^-33]: never 0, never 1, never exactly 1/2, and symmetric
// (Uniform(x) = 1 − Uniform(2^32−1−x)).
//
// Normals. A normal is InvNorm(u) ([InvNorm]): Wichura's AS241 (PPND16) rational
// approximation, relative accuracy about 1e-16, evaluated in the exact operation order
// of invnorm.go. Uniform's range keeps it in the central and intermediate
// approximations (the far-tail one starts below u = e^-25), so normals lie in
// ±6.337957754553789 (InvNorm(2^-33)). Normal k of stream s in scenario i is
// InvNorm(Uniform(Philox4x32({k/4, s, lo(i), hi(i)}, key)[k%4])).
//
// Determinism. Every product is rounded before it is added (an explicit float64
// conversion, so the compiler may not fuse a multiply-add), every sum runs in
// increasing index order, and the logarithm (in InvNorm) and exponential (in the vol
// multiplier) are this package's portable fdlibm implementations rather than the
// standard library's, whose amd64 versions are assembly that depends on the CPU's
// FMA support. math.Sqrt is correctly rounded everywhere. So the same seed and
// inputs give the same bits on every platform, worker count and scenario order.
//
// # Monte Carlo scenarios
//
// For U underlyings with annualised vols σ_u, horizon h years, lower-triangular
// Cholesky factor L of the correlation matrix (identity when none is given), scenario
// i is computed as follows (each term rounded as written: products before sums).
//
//  1. z_u = normal u of StreamMarket, u = 0..U−1.
//  2. ẑ_u = Σ_{k=0..u} L[u][k]·z_k (ẑ = z without a correlation matrix).
//  3. Student-t (ν = StudentTDoF > 0): W = Σ_{k=0..ν−1} g_k², g_k = normal k of
//     StreamChiSquare (one W per scenario, shared by all underlyings);
//     s = sqrt((ν−2)/W). Gaussian: s = 1. s·ẑ is multivariate t with ν degrees of
//     freedom rescaled to unit variance.
//  4. x_u = μ_u + v_u·(s·ẑ_u) with μ_u = −0.5·σ_u·σ_u·h (left to right) and
//     v_u = σ_u·sqrt(h): the log-return over the horizon, drift chosen so that
//     E[exp(x_u)] = 1 in the Gaussian case (DESIGN §5.1: x ~ N(−σ²h/2, σ²h)).
//  5. Vol shocks (η = VolOfVol > 0): ε_u = normal u of StreamVolShock,
//     z_v = ρ_sv·ẑ_u + sqrt(1−ρ_sv²)·ε_u (ẑ_u the Gaussian correlated normal, before
//     the Student-t mixing, so z_v is exactly standard normal), and
//     volMul_u = exp(a·z_v + b) with a = η·sqrt(h), b = −0.5·η·η·h, so E[volMul] = 1.
//     The scenario's vol for underlying u is σ_u·volMul_u. Without vol shocks
//     volMul_u = 1.
//
// # Correlation
//
// [NewCorrelation] validates a correlation matrix and factors it as L·Lᵀ with a
// semi-definite Cholesky factorisation: a pivot below PivotTolerance is taken as an
// exact zero (the column of L is zero), which handles singular but positive
// semi-definite matrices such as two identical underlyings. A matrix that is not
// positive semi-definite is rejected with its smallest eigenvalue ([NotPSDError]) or,
// under [Repair], replaced by a nearby valid correlation matrix (eigenvalue clipping
// and rescaling to unit diagonal, from a cyclic Jacobi eigen-decomposition).
//
// # Historical scenarios
//
// [ParseHistorical] reads a CSV file of log-returns over the risk horizon; see its
// documentation for the format and bounds. [Combine] concatenates Monte Carlo and
// historical sets over the same underlyings.
//
// # Stress grid
//
// [StressGrid] is a SPAN-like 16-point grid per underlying (price moves × vol moves
// plus two extreme moves). The engine takes, per underlying, the worst weighted loss
// over the points and sums across underlyings with no diversification credit — the
// SPAN scan-risk convention ([StressGrid.ScanRisk]).
package scenario
