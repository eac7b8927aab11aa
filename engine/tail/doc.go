// Package tail computes Value at Risk and Expected Shortfall from scenario
// loss vectors, exactly as DESIGN §5.1 defines them, both in full (Compute)
// and incrementally for pre-trade checks (PostTrade, PostTradeMulti).
//
// # Definitions
//
// For N scenario losses and a confidence α, k = ceil(N·(1−α)) (see K for
// how the product is rounded), clamped to [1, N]. With the losses sorted in
// descending order, VaR_α is the k-th largest loss and ES_α the mean of the
// k largest: their sum, accumulated from the largest down starting from +0,
// divided by k. The summation order is fixed, so results are reproducible
// bit for bit; equal values are interchangeable, so the order among ties
// does not matter. A zero VaR is reported as +0 (the k-th largest of a
// vector holding both −0 and +0 is otherwise ambiguous); the ES sum starts
// from +0 and can therefore never be −0. Mean returns the mean loss.
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
// exactly Compute(post) without materialising post:
//
//  1. An Account keeps the indices of its D = min(N, 4·Kmax+64) largest
//     pre-trade losses in descending order of L (the pre-trade tail and a
//     margin below it), their losses, a bitmap of that prefix and, per block
//     of 64 scenarios, an upper bound of the losses outside the prefix. An
//     Instrument keeps the maximum and minimum of P globally and per block.
//  2. post is evaluated at the first Kmax prefix scenarios; their minimum t
//     is a lower bound of the post-trade Kmax-th largest loss (Kmax actual
//     values are ≥ t), so every value of the post-trade top Kmax is ≥ t and
//     only scenarios with post[s] ≥ t need to be considered.
//  3. The scan continues down the prefix and stops at the first j with
//     L_j + U < t, where U = float64(q·maxP) for q ≥ 0 and float64(q·minP)
//     for q < 0: no later scenario can reach t.
//  4. If the prefix is exhausted, the blocks whose bound
//     maxLrest_b + float64(q·maxP_b) (or minP_b) is ≥ t are scanned for
//     scenarios outside the prefix with post[s] ≥ t.
//  5. The candidates, which arrive nearly sorted for orders that are small
//     against the portfolio, are sorted by an insertion sort with a move
//     budget (a general sort when the budget runs out, after a selection of
//     the top Kmax when there are many).
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
// # Indexing
//
// Account.Reset runs once per account and risk epoch. It validates the
// vector and collects the scenarios at or above a threshold guessed from a
// strided sample in one branch-free pass, then sorts only those
// candidates, by a bucket sort on integer keys that order like the losses,
// and only as far as the prefix reaches. The per-block
// bound is the largest candidate outside the prefix or the threshold,
// whichever is larger: every loss below the threshold is outside. Compute
// finishes its candidates with the same sort.
//
// All hot paths are free of allocations given a Scratch sized for the
// scenario count; a Scratch, an Account being Reset and an Instrument being
// Reset are not safe for concurrent use, while built Accounts and
// Instruments are read-only in PostTrade and may be shared by goroutines.
package tail
