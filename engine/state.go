package engine

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/ballast-risk/ballast/engine/account"
	"github.com/ballast-risk/ballast/engine/attest"
)

// AccountState is the part of an account that changes at run time — what
// fills, collateral changes and attestations change — so that a durable
// snapshot of it, plus the log of changes after it, restores the engine.
type AccountState struct {
	// ID is the account.
	ID uint64 `json:"id"`
	// Cash and CreditLine are the balances of those tiers, currency units.
	Cash       float64 `json:"cash"`
	CreditLine float64 `json:"credit_line"`
	// Positions are sorted by instrument id, without zero quantities.
	Positions []account.Position `json:"positions"`
	// Attestations are the latest accepted statement of each attestor,
	// sorted by attestor (expired ones included: they make checks fail
	// closed until replaced).
	Attestations []attest.Statement `json:"attestations"`
}

// ExportState returns every account's state, in id order. Each account is
// read under its lock; callers that need one consistent cut across
// accounts must stop mutations while it runs.
func (e *Engine) ExportState() []AccountState {
	e.mu.RLock()
	order := append([]*acctState(nil), e.order...)
	e.mu.RUnlock()
	out := make([]AccountState, len(order))
	for i, st := range order {
		st.mu.Lock()
		s := AccountState{ID: st.acct.ID, Cash: st.acct.Collateral[account.Cash],
			CreditLine: st.acct.Collateral[account.CreditLine],
			Positions:  append([]account.Position(nil), st.acct.Positions...)}
		for _, a := range st.attest {
			s.Attestations = append(s.Attestations, a)
		}
		st.mu.Unlock()
		sort.Slice(s.Attestations, func(a, b int) bool { return s.Attestations[a].Attestor < s.Attestations[b].Attestor })
		out[i] = s
	}
	return out
}

// ImportState replaces the state of the accounts in states (accounts not
// listed keep theirs). It validates everything first — an unknown account
// or instrument, an unsorted or zero position, a bad quantity, price or
// balance, an attestation for another account — and changes nothing when
// anything is wrong.
func (e *Engine) ImportState(states []AccountState) error {
	sts := make([]*acctState, len(states))
	for i := range states {
		s := &states[i]
		st := e.state(s.ID)
		if st == nil {
			return fmt.Errorf("%w: state of account %d", ErrUnknownAccount, s.ID)
		}
		sts[i] = st
		if err := checkCollateral(account.Cash, s.Cash); err != nil {
			return fmt.Errorf("account %d: %w", s.ID, err)
		}
		if err := checkCollateral(account.CreditLine, s.CreditLine); err != nil {
			return fmt.Errorf("account %d: %w", s.ID, err)
		}
		for j, p := range s.Positions {
			if _, ok := e.Master().Index(p.Instrument); !ok {
				return fmt.Errorf("%w: account %d holds %d", ErrUnknownInstrument, s.ID, p.Instrument)
			}
			if p.Qty == 0 || p.Qty > account.QtyMax || p.Qty < -account.QtyMax ||
				math.IsNaN(p.Price) || math.IsInf(p.Price, 0) || p.Price < 0 || p.Price > account.MoneyMax {
				return fmt.Errorf("%w: account %d position in %d: qty %d, price %v", account.ErrInvalid, s.ID, p.Instrument, p.Qty, p.Price)
			}
			if j > 0 && s.Positions[j-1].Instrument >= p.Instrument {
				return fmt.Errorf("%w: account %d positions not sorted by instrument", account.ErrInvalid, s.ID)
			}
		}
		for _, a := range s.Attestations {
			if a.Account != s.ID {
				return fmt.Errorf("%w: account %d holds an attestation of account %d", account.ErrInvalid, s.ID, a.Account)
			}
		}
	}
	ep, cs := e.open()
	defer e.close(ep, cs)
	for i := range states {
		s, st := &states[i], sts[i]
		st.mu.Lock()
		st.acct.Collateral[account.Cash] = s.Cash
		st.acct.Collateral[account.CreditLine] = s.CreditLine
		st.acct.Positions = append([]account.Position(nil), s.Positions...)
		clear(st.attest)
		for _, a := range s.Attestations {
			st.attest[a.Attestor] = a
		}
		e.rebase(st, ep, cs.tail)
		st.mu.Unlock()
	}
	return nil
}

// checkCollateral validates a balance for SetCollateral's tiers.
func checkCollateral(tier account.Tier, amount float64) error {
	if tier != account.Cash && tier != account.CreditLine {
		return fmt.Errorf("%w: tier %s is set by attestations", account.ErrInvalid, tier)
	}
	if math.IsNaN(amount) || math.Abs(amount) > account.MoneyMax || (tier == account.CreditLine && amount < 0) {
		return fmt.Errorf("%w: amount %v", account.ErrInvalid, amount)
	}
	return nil
}

// CheckCollateral reports whether SetCollateral(id, tier, amount) would be
// accepted, without changing anything (to validate a change before it is
// journalled).
func (e *Engine) CheckCollateral(id uint64, tier account.Tier, amount float64) error {
	if e.state(id) == nil {
		return fmt.Errorf("%w: %d", ErrUnknownAccount, id)
	}
	return checkCollateral(tier, amount)
}

// VerifyAttestation verifies s as Attest does — signature, allow-list,
// validity, replay (recording the nonce), the account, and that the
// attestor has no newer statement for it — without applying it. Apply the
// returned statement with RestoreAttestation once it is durable; call
// Verifier.Forget if it is abandoned.
func (e *Engine) VerifyAttestation(s attest.Signed) (attest.Statement, error) {
	if e.cfg.Verifier == nil {
		return attest.Statement{}, ErrNoVerifier
	}
	st := e.state(s.Account)
	if st == nil {
		return attest.Statement{}, fmt.Errorf("%w: %d", ErrUnknownAccount, s.Account)
	}
	st.mu.Lock()
	old, had := st.attest[s.Attestor]
	st.mu.Unlock()
	if had && old.IssuedAt.After(s.IssuedAt) {
		return attest.Statement{}, newerStatement(s.Attestor, old.IssuedAt)
	}
	return e.cfg.Verifier.Verify(s)
}

func newerStatement(attestor string, issued time.Time) error {
	return fmt.Errorf("%w: attestor %s already has a newer statement (issued %s)", account.ErrInvalid, attestor, issued.Format(time.RFC3339))
}

// RestoreAttestation makes an already verified statement the account's
// verified collateral from its attestor, as Attest does after verifying:
// for a statement accepted by VerifyAttestation, or replayed from the
// durable log at start-up (the verifier's nonce is restored separately).
// A statement older than the attestor's current one is refused.
func (e *Engine) RestoreAttestation(s attest.Statement) error {
	st := e.state(s.Account)
	if st == nil {
		return fmt.Errorf("%w: %d", ErrUnknownAccount, s.Account)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if old, ok := st.attest[s.Attestor]; ok && old.IssuedAt.After(s.IssuedAt) {
		return newerStatement(s.Attestor, old.IssuedAt)
	}
	st.attest[s.Attestor] = s
	return nil
}
