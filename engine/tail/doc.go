// Package tail computes Value at Risk and Expected Shortfall from scenario
// loss vectors, exactly as DESIGN §5.1 defines them, both in full (Compute)
// and incrementally for pre-trade checks (PostTrade, PostTradeMulti).
//
// # Definitions
//
// For N scenario losses and a confidence α, k = ceil(N·(1−α)) (see K for
// how the product is rounded), clamped to [1, N]. With the losses sorted in
// descending order, VaR_α is the k-th largest loss and ES_α the mean of the
// k largest: the exact real sum of those k values, rounded once to the
// nearest float64 (ties to even; ±Inf beyond the range), divided by k (one
// correctly rounded division). Equal values are interchangeable, so both
// depend only on the multiset of the k largest, never on the order in which
// they are visited: no code path has to sort them, and every path (Compute,
// PostTrade, Account.Result) gives the same bits. The sum is also more
// accurate than a running float64 sum, whose error grows with k. A zero VaR
// is reported as +0 (the k-th largest of a vector holding both −0 and +0 is
// otherwise ambiguous), and an exact zero sum as +0. Infinities (Compute
// accepts them) give the IEEE result: ±Inf, or NaN with both signs among
// the k largest. Mean returns the mean loss.
//
// The sum is computed by a fixed-point long accumulator (exactsum.go):
// every finite float64 is an integer multiple of 2^-1074, so the sum is an
// integer held in 32-bit digits with lazy carries, exact for any values;
// values of similar magnitude are summed as integers in a register and
// flushed once per run, so the cost is about that of a float64 sum with a
// conversion per value.
//
// The margin model uses two confidences at once (ES at 97.5 %, VaR at 99 %),
// so a Spec carries both ranks, KES and KVaR; all work is done on the
// Kmax = max(KES, KVaR) largest values.
//
// # Incremental pre-trade kernel
//
// An order of q units of an instrument with per-unit scenario losses P
// moves an account's loss vector L to post[s] = L[s] + float64(q·P[s])
// (postLoss; the explicit conversion forbids FMA fusion, so every code path
// and the brute-force reference round identically). PostTrade returns
// exactly Compute(post), materialising post only when it has to (step 4):
//
//  1. An Account keeps the indices of its D = min(N, 4·Kmax+64) largest
//     pre-trade losses in descending order of L (the pre-trade tail and a
//     margin below it) and their losses. An Instrument keeps the maximum
//     and minimum of P.
//  2. post is evaluated at the first Kmax prefix scenarios; their minimum t
//     is a lower bound of the post-trade Kmax-th largest loss (Kmax actual
//     values are ≥ t), so every value of the post-trade top Kmax is ≥ t and
//     only scenarios with post[s] ≥ t need to be considered.
//  3. If L_{D−1} + U ≥ t, where U = float64(q·maxP) for q ≥ 0 and
//     float64(q·minP) for q < 0, the prefix cannot bound the scenarios
//     outside it, and step 4 follows at once. Otherwise the scan continues
//     down the prefix and stops at the first j with L_j + U < t (at the
//     latest at D−1): no later scenario can reach t. L_j + U does not
//     increase with j, so that j is found by a search over the stored
//     losses, which are usually cold in cache: the last one is tested
//     first (it alone decides step 4), then the search moves forward from
//     Kmax one cache line at a time, then by doubling steps, and ends with
//     a binary search inside the last step; nearby sequential lines are
//     served by the hardware prefetcher, where a plain binary search pays a
//     chain of dependent misses. post is evaluated at the prefix scenarios
//     by a gather kernel (engine/internal/vec: it prefetches every P[s]
//     first, so that the cache misses of P overlap). The candidates are
//     then finished without sorting (see Selection below).
//  4. Full pass: post is materialised by one vectorised streaming pass
//     (engine/internal/vec, AVX where the CPU has it, bit-identical with
//     the Go expression), a threshold is guessed from a strided sample of
//     it and kept if at least Kmax values reach it (otherwise t is used),
//     the values at or above it are collected by a vectorised filter, and
//     finished as Compute's are. On the workloads this was tuned on the
//     account and instrument vectors are cold in cache, and a streaming
//     pass reads them faster than walking the prefix first and then the
//     blocks it did not bound.
//
// The bounds are rigorous without any slack: round-to-nearest is a
// non-decreasing function of the exact result, x ↦ q·x is non-decreasing for
// q ≥ 0 and non-increasing for q ≤ 0, and addition is non-decreasing in both
// operands. Hence P[s] ≤ maxP implies float64(q·P[s]) ≤ float64(q·maxP) for
// q ≥ 0 (symmetrically with minP for q < 0), and L[s] ≤ L_j together with
// that gives L[s] + float64(q·P[s]) ≤ L_j + U in floating point. Several
// legs chain the same argument leg by leg. The argument needs the absence
// of NaN: account and instrument losses are validated finite and bounded by
// ValueAbsMax, quantities by QuantityAbsMax and legs by LegsMax, so no sum
// can overflow to an infinity either.
//
// # Selection
//
// Compute, PostTrade and Account.ResetWith end the same way (finish): an
// unordered set of candidates holding the Kmax largest values gives VaR
// and ES without a sort. When the candidates exceed KES by at most a few
// values, as on the prefix path, those smallest few are found by an
// insertion buffer and subtracted exactly from the exact sum of all;
// otherwise v, the KES-th largest, is selected and the sum is
// Σ_{x > v} x + (KES − #{x > v})·v. The KVaR-th largest is selected too.
// Selection (kthLargest) brackets the target's expected rank between two
// pivots from a small sample, or, when the sample shows the values nearly
// sorted, from the positions around the rank, and copies the bracket with
// a branch-free pass: a few short passes, where a quickselect mispredicts
// about every other comparison on disordered values.
//
// # Indexing
//
// Account.Reset runs once per account and risk epoch. It validates the
// vector and collects the scenarios at or above a threshold guessed from a
// strided sample in one branch-free pass, then sorts only those
// candidates, by a bucket sort on integer keys that order like the losses,
// and only as far as the prefix reaches (the prefix must be in order for
// the bounds of step 3). Its pre-trade Result comes from the same finish
// as Compute's, so Result equals Compute of the vector bit for bit.
//
// All hot paths are free of allocations given a Scratch sized for the
// scenario count; a Scratch, an Account being Reset and an Instrument being
// Reset are not safe for concurrent use, while built Accounts and
// Instruments are read-only in PostTrade and may be shared by goroutines.
package tail
