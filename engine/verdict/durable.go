package verdict

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/ballast-risk/ballast/engine"
	"github.com/ballast-risk/ballast/engine/account"
	"github.com/ballast-risk/ballast/engine/attest"
	"github.com/ballast-risk/ballast/engine/instrument"
	"github.com/ballast-risk/ballast/engine/sbe"
	"github.com/ballast-risk/ballast/engine/vol"
)

// The durable state.
//
// Every change that must survive a crash — a fill, a collateral change, an
// accepted attestation — is appended to the journal (and fsynced, group
// commit) before it is applied and acknowledged. Snapshot writes the whole
// mutable state as of one journal sequence number, after which the journal
// drops the records it covers; Restore, at start-up, loads the latest
// snapshot and replays the records after it.
//
// Journal records identify themselves by an 8-byte little-endian header
// like SBE's: blockLength u16, templateId u16, schemaId u16, version u16.
// Fill records are the wire's SBE Fill message (schema 0xBA11, template 30,
// reqId zeroed). The other records use the journal schema 0xBA12:
//
//	template 1, collateral, block 24: account u64, tier u8 (0 cash,
//	  2 credit line), pad [7], amount f64 (currency units, IEEE-754 bits)
//	template 2, attestation, block n ≤ AttestRecordBytesMax-8: the
//	  accepted statement as JSON (attest.Statement's field names)
//	template 3, volatility surface, block n ≤ VolRecordBytesMax-8: the
//	  surface an operator set at run time, as an engine/vol document
//	  naming the underlying by its master symbol
//	template 4, listing, block n ≤ ListingRecordBytesMax-8: instruments
//	  listed at run time, as the instrument master extension document
//	  that was accepted (instrument.Master.Extend)

// Journal record schema.
const (
	// JournalSchemaID identifies the journal's own record kinds.
	JournalSchemaID = 0xBA12
	// JournalSchemaVersion is their version.
	JournalSchemaVersion = 1
	// CollateralRecordBytes is the size of a collateral record.
	CollateralRecordBytes = sbe.HeaderBytes + 24
	// AttestRecordBytesMax bounds an attestation record.
	AttestRecordBytesMax = 2048
	// VolRecordBytesMax bounds a volatility surface record (a 64-slice
	// surface takes about 9 KB).
	VolRecordBytesMax = 32 << 10
	// ListingRecordBytesMax bounds a listing record, and so one listing
	// document: about 400 instruments (the journal's default record bound
	// is 64 KiB; list more in several documents).
	ListingRecordBytesMax = 60 << 10
	// SnapshotFormat names the snapshot's JSON format.
	SnapshotFormat = "ballast-state/1"
)

const (
	templateCollateral  = 1
	templateAttestation = 2
	templateVol         = 3
	templateListing     = 4
)

// Errors of the durable state.
var (
	// ErrRecord reports a journal record this version cannot interpret
	// (damaged, or written by a newer version): start-up stops rather than
	// skip a change that was acknowledged.
	ErrRecord = errors.New("verdict: unknown or malformed journal record")
	// ErrSnapshot reports a snapshot that cannot be restored.
	ErrSnapshot = errors.New("verdict: bad snapshot")
	// ErrDurability reports a change that could not be made durable (the
	// journal failed); nothing was applied.
	ErrDurability = errors.New("verdict: change not durable")
)

func putHeader(b []byte, block int, template uint16) {
	binary.LittleEndian.PutUint16(b[0:], uint16(block))
	binary.LittleEndian.PutUint16(b[2:], template)
	binary.LittleEndian.PutUint16(b[4:], JournalSchemaID)
	binary.LittleEndian.PutUint16(b[6:], JournalSchemaVersion)
}

// EncodeCollateralRecord appends a collateral record to dst.
func EncodeCollateralRecord(dst []byte, acct uint64, tier account.Tier, amount float64) []byte {
	var b [CollateralRecordBytes]byte
	putHeader(b[:], 24, templateCollateral)
	binary.LittleEndian.PutUint64(b[8:], acct)
	b[16] = byte(tier)
	binary.LittleEndian.PutUint64(b[24:], math.Float64bits(amount))
	return append(dst, b[:]...)
}

// EncodeAttestRecord appends an attestation record of s to dst.
func EncodeAttestRecord(dst []byte, s attest.Statement) ([]byte, error) {
	js, err := json.Marshal(s)
	if err != nil {
		return dst, err
	}
	if sbe.HeaderBytes+len(js) > AttestRecordBytesMax {
		return dst, fmt.Errorf("%w: attestation record of %d bytes", ErrRecord, sbe.HeaderBytes+len(js))
	}
	var h [sbe.HeaderBytes]byte
	putHeader(h[:], len(js), templateAttestation)
	return append(append(dst, h[:]...), js...), nil
}

// record is one decoded journal record.
type record struct {
	kind   int // templateCollateral, templateAttestation, templateVol, or 0 for a fill
	fill   sbe.Fill
	acct   uint64
	tier   account.Tier
	amount float64
	stmt   attest.Statement
	vol    []byte // templateVol: the surface document
	doc    []byte // templateListing: the extension document
}

func decodeRecord(rec []byte) (record, error) {
	if f, err := DecodeFillRecord(rec); err == nil {
		return record{fill: f}, nil
	}
	if len(rec) < sbe.HeaderBytes {
		return record{}, fmt.Errorf("%w: %d bytes", ErrRecord, len(rec))
	}
	block := int(binary.LittleEndian.Uint16(rec[0:]))
	tmpl := binary.LittleEndian.Uint16(rec[2:])
	schema := binary.LittleEndian.Uint16(rec[4:])
	version := binary.LittleEndian.Uint16(rec[6:])
	if schema != JournalSchemaID || version != JournalSchemaVersion || block != len(rec)-sbe.HeaderBytes {
		return record{}, fmt.Errorf("%w: schema %#x version %d template %d block %d of %d bytes", ErrRecord, schema, version, tmpl, block, len(rec))
	}
	body := rec[sbe.HeaderBytes:]
	switch tmpl {
	case templateCollateral:
		if len(body) != 24 {
			return record{}, fmt.Errorf("%w: collateral block %d", ErrRecord, len(body))
		}
		return record{kind: templateCollateral, acct: binary.LittleEndian.Uint64(body),
			tier: account.Tier(body[8]), amount: math.Float64frombits(binary.LittleEndian.Uint64(body[16:]))}, nil
	case templateAttestation:
		r := record{kind: templateAttestation}
		if err := json.Unmarshal(body, &r.stmt); err != nil {
			return record{}, fmt.Errorf("%w: attestation: %v", ErrRecord, err)
		}
		return r, nil
	case templateVol:
		if len(body) == 0 {
			return record{}, fmt.Errorf("%w: empty volatility record", ErrRecord)
		}
		return record{kind: templateVol, vol: body}, nil
	case templateListing:
		if len(body) == 0 {
			return record{}, fmt.Errorf("%w: empty listing record", ErrRecord)
		}
		return record{kind: templateListing, doc: body}, nil
	}
	return record{}, fmt.Errorf("%w: template %d", ErrRecord, tmpl)
}

// SetCollateral journals a collateral change and then applies it; an
// invalid change is refused (engine errors) before anything is written.
func (s *EngineService) SetCollateral(ctx context.Context, acct uint64, tier account.Tier, amount float64) error {
	if err := s.eng.CheckCollateral(acct, tier, amount); err != nil {
		return err
	}
	s.stateMu.RLock()
	defer s.stateMu.RUnlock()
	am := s.accountLock(acct)
	am.Lock()
	defer am.Unlock()
	var rec [CollateralRecordBytes]byte
	if _, err := s.journal.Append(ctx, EncodeCollateralRecord(rec[:0], acct, tier, amount)); err != nil {
		return fmt.Errorf("%w: %v", ErrDurability, err)
	}
	return s.eng.SetCollateral(acct, tier, amount)
}

// Attest verifies a signed attestation, journals the accepted statement and
// then applies it. A refusal is an *attest.Rejection or an engine error; a
// statement that cannot be journalled is forgotten by the verifier (so it
// may be submitted again) and reported as ErrDurability.
func (s *EngineService) Attest(ctx context.Context, sg attest.Signed) (attest.Statement, error) {
	s.stateMu.RLock()
	defer s.stateMu.RUnlock()
	// One attestation at a time: the newer-statement check and the apply
	// must not interleave with another statement of the same attestor.
	s.attestMu.Lock()
	defer s.attestMu.Unlock()
	stmt, err := s.eng.VerifyAttestation(sg)
	if err != nil {
		return attest.Statement{}, err
	}
	rec, err := EncodeAttestRecord(nil, stmt)
	if err == nil {
		_, err = s.journal.Append(ctx, rec)
	}
	if err != nil {
		s.eng.Config().Verifier.Forget(stmt)
		return attest.Statement{}, fmt.Errorf("%w: %v", ErrDurability, err)
	}
	if err := s.eng.RestoreAttestation(stmt); err != nil {
		return attest.Statement{}, err // serialised by attestMu: unreachable
	}
	return stmt, nil
}

// EncodeVolRecord appends a volatility surface record of doc (an engine/vol
// document, engine.VolDocument) to dst.
func EncodeVolRecord(dst, doc []byte) ([]byte, error) {
	if len(doc) == 0 || sbe.HeaderBytes+len(doc) > VolRecordBytesMax {
		return dst, fmt.Errorf("%w: volatility record of %d bytes", ErrRecord, sbe.HeaderBytes+len(doc))
	}
	var h [sbe.HeaderBytes]byte
	putHeader(h[:], len(doc), templateVol)
	return append(append(dst, h[:]...), doc...), nil
}

// SetVol journals underlying u's new volatility surface and then applies it
// (engine.Engine.SetVol): an operator's override outlives a restart like
// every other acknowledged change. A surface whose document exceeds the
// record bound is refused (ErrRecord) before anything is written; a journal
// failure is ErrDurability, and nothing is applied.
func (s *EngineService) SetVol(ctx context.Context, u int, sur *vol.Surface) error {
	doc, err := s.eng.VolDocument(u, sur)
	if err != nil {
		return err
	}
	rec, err := EncodeVolRecord(nil, doc)
	if err != nil {
		return err
	}
	s.stateMu.RLock()
	defer s.stateMu.RUnlock()
	if _, err := s.journal.Append(ctx, rec); err != nil {
		return fmt.Errorf("%w: %v", ErrDurability, err)
	}
	return s.eng.SetVol(u, sur)
}

// EncodeListingRecord appends a listing record of doc (an instrument
// master extension document) to dst.
func EncodeListingRecord(dst, doc []byte) ([]byte, error) {
	if len(doc) == 0 || sbe.HeaderBytes+len(doc) > ListingRecordBytesMax {
		return dst, fmt.Errorf("%w: listing record of %d bytes (at most %d: list fewer instruments at a time)",
			ErrRecordSize, sbe.HeaderBytes+len(doc), ListingRecordBytesMax)
	}
	var h [sbe.HeaderBytes]byte
	putHeader(h[:], len(doc), templateListing)
	return append(append(dst, h[:]...), doc...), nil
}

// ErrRecordSize reports a change too large for one journal record.
var ErrRecordSize = errors.New("verdict: change too large for one journal record")

// ListInstruments journals the extension document doc and then lists its
// instruments (engine.Engine.ExtendMasterAfter validates it, lets this
// journal it, and only then swaps the master); they outlive a restart like
// every other acknowledged change. An invalid document (an error wrapping
// instrument.ErrInvalid) or one over ListingRecordBytesMax (ErrRecordSize)
// is refused before anything is written; a journal failure is
// ErrDurability, and nothing is listed. It returns the new master and the
// index in it of the first instrument listed.
func (s *EngineService) ListInstruments(ctx context.Context, doc []byte) (*instrument.Master, int, error) {
	s.stateMu.RLock()
	defer s.stateMu.RUnlock()
	from := 0
	m, err := s.eng.ExtendMasterAfter(doc, func() error {
		rec, err := EncodeListingRecord(nil, doc)
		if err != nil {
			return err
		}
		if _, err := s.journal.Append(ctx, rec); err != nil {
			return fmt.Errorf("%w: %v", ErrDurability, err)
		}
		from = len(s.eng.Master().Instruments) // listings are held back: the master before the swap
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return m, from, nil
}

// snapshotDoc is a snapshot's content.
type snapshotDoc struct {
	Format   string                `json:"format"`
	Seq      uint64                `json:"seq"`
	Taken    time.Time             `json:"taken"`
	Accounts []engine.AccountState `json:"accounts"`
	Nonces   []attest.Nonce        `json:"nonces"`
	// ExecIDs is the duplicate-fill window, oldest first.
	ExecIDs []uint64 `json:"exec_ids"`
	// Vols are the volatility surfaces set at run time, one engine/vol
	// document each (absent from snapshots written before they were
	// kept).
	Vols []json.RawMessage `json:"vols,omitempty"`
	// Listings are the instrument master extension documents applied at
	// run time, in order; a restore lists them before it loads the
	// accounts, which may hold their instruments.
	Listings []json.RawMessage `json:"listings,omitempty"`
}

// SnapshotInfo describes a snapshot written.
type SnapshotInfo struct {
	// Seq is the last journal record the snapshot covers; Written is false
	// when nothing changed since the previous snapshot.
	Seq     uint64
	Written bool
	Bytes   int
	// Paused is how long changes were held to take a consistent cut.
	Paused time.Duration
}

// Snapshot writes the state as of the journal's last record and lets the
// journal drop the records it covers. Changes are held only while the state
// is copied (not while it is encoded and written).
func (s *EngineService) Snapshot() (SnapshotInfo, error) {
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	t0 := time.Now()
	s.stateMu.Lock()
	seq := s.journal.LastSeq()
	if s.snapSeqValid && seq == s.snapSeq {
		s.stateMu.Unlock()
		return SnapshotInfo{Seq: seq}, nil
	}
	doc := snapshotDoc{Format: SnapshotFormat, Seq: seq, Taken: t0.UTC(), Accounts: s.eng.ExportState()}
	vols, err := s.eng.ExportVols()
	if err != nil {
		s.stateMu.Unlock()
		return SnapshotInfo{}, fmt.Errorf("verdict: snapshot: %w", err)
	}
	for _, v := range vols {
		doc.Vols = append(doc.Vols, v)
	}
	for _, l := range s.eng.Listings() {
		doc.Listings = append(doc.Listings, l)
	}
	if v := s.eng.Config().Verifier; v != nil {
		doc.Nonces = v.ExportNonces()
	}
	s.execMu.Lock()
	doc.ExecIDs = make([]uint64, 0, len(s.ring))
	if len(s.ring) == s.execIDsMax {
		doc.ExecIDs = append(doc.ExecIDs, s.ring[s.ringNext:]...)
		doc.ExecIDs = append(doc.ExecIDs, s.ring[:s.ringNext]...)
	} else {
		doc.ExecIDs = append(doc.ExecIDs, s.ring...)
	}
	s.execMu.Unlock()
	s.stateMu.Unlock()
	paused := time.Since(t0)

	if seq == 0 {
		return SnapshotInfo{Paused: paused}, nil // an empty journal: nothing to cover
	}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(&doc); err != nil {
		return SnapshotInfo{}, fmt.Errorf("verdict: snapshot: %w", err)
	}
	n := buf.Len()
	if err := s.journal.WriteSnapshot(seq, &buf); err != nil {
		return SnapshotInfo{}, err
	}
	s.snapSeq, s.snapSeqValid = seq, true
	return SnapshotInfo{Seq: seq, Written: true, Bytes: n, Paused: paused}, nil
}

// RestoreInfo reports what Restore applied.
type RestoreInfo struct {
	// SnapshotSeq is the snapshot loaded (when HasSnapshot).
	SnapshotSeq uint64
	HasSnapshot bool
	// Accounts is the number of account states the snapshot restored.
	Accounts int
	// Vols is the number of volatility surfaces the snapshot restored,
	// Listings the number of listing documents.
	Vols, Listings int
	// Fills, Collaterals, Attestations, VolRecords and ListingRecords count
	// the records replayed after the snapshot; Refused counts those the
	// engine refused again (as it did when they were first received, e.g.
	// a fill that would overflow a position).
	Fills, Collaterals, Attestations, VolRecords, ListingRecords, Refused int
	// LastSeq is the last record replayed.
	LastSeq uint64
}

// Restore loads the journal's latest snapshot and replays the records after
// it. Call it once, after NewEngineService and before serving. A record or
// snapshot this version cannot interpret stops it with ErrRecord or
// ErrSnapshot: nothing acknowledged is ever skipped silently.
func (s *EngineService) Restore() (RestoreInfo, error) {
	var info RestoreInfo
	seq, data, ok, err := s.journal.LatestSnapshot()
	if err != nil {
		return info, err
	}
	from := uint64(0)
	if ok {
		var doc snapshotDoc
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&doc); err != nil {
			return info, fmt.Errorf("%w: %v", ErrSnapshot, err)
		}
		if doc.Format != SnapshotFormat || doc.Seq != seq {
			return info, fmt.Errorf("%w: format %q seq %d in the snapshot of record %d", ErrSnapshot, doc.Format, doc.Seq, seq)
		}
		// Listings first: the accounts may hold their instruments.
		for i, l := range doc.Listings {
			if _, err := s.eng.RestoreListing(l); err != nil {
				return info, fmt.Errorf("%w: listing %d: %v", ErrSnapshot, i, err)
			}
		}
		info.Listings = len(doc.Listings)
		if err := s.eng.ImportState(doc.Accounts); err != nil {
			return info, fmt.Errorf("%w: %v", ErrSnapshot, err)
		}
		if v := s.eng.Config().Verifier; v != nil {
			for _, n := range doc.Nonces {
				if err := v.RestoreNonce(n); err != nil {
					return info, fmt.Errorf("%w: %v", ErrSnapshot, err)
				}
			}
		}
		for _, id := range doc.ExecIDs {
			s.remember(id)
		}
		for _, v := range doc.Vols {
			if err := s.eng.ImportVol(v); err != nil {
				return info, fmt.Errorf("%w: %v", ErrSnapshot, err)
			}
		}
		info.Vols = len(doc.Vols)
		info.SnapshotSeq, info.HasSnapshot, info.Accounts = seq, true, len(doc.Accounts)
		s.snapSeq, s.snapSeqValid = seq, true
		from = seq + 1
	}
	err = s.journal.Replay(from, func(seq uint64, rec []byte) error {
		r, err := decodeRecord(rec)
		if err != nil {
			return fmt.Errorf("record %d: %w", seq, err)
		}
		info.LastSeq = seq
		switch r.kind {
		case templateCollateral:
			info.Collaterals++
			if err := s.eng.SetCollateral(r.acct, r.tier, r.amount); err != nil {
				info.Refused++
			}
		case templateAttestation:
			info.Attestations++
			if v := s.eng.Config().Verifier; v != nil {
				if err := v.RestoreNonce(attest.Nonce{Attestor: r.stmt.Attestor, Nonce: r.stmt.Nonce,
					ValidUntil: r.stmt.ValidUntil.UnixNano()}); err != nil {
					return fmt.Errorf("record %d: %w", seq, err)
				}
			}
			if err := s.eng.RestoreAttestation(r.stmt); err != nil {
				info.Refused++
			}
		case templateVol:
			info.VolRecords++
			if err := s.eng.ImportVol(r.vol); err != nil {
				if errors.Is(err, vol.ErrInvalid) {
					return fmt.Errorf("record %d: %w: %v", seq, ErrRecord, err)
				}
				info.Refused++ // an underlying the master no longer has
			}
		case templateListing:
			info.ListingRecords++
			// A listing was valid when it was acknowledged, and later
			// fills may book its instruments: one the master can neither
			// take nor already holds (a changed master file) stops the
			// restore rather than drop it.
			if _, err := s.eng.RestoreListing(r.doc); err != nil {
				return fmt.Errorf("record %d: %w: listing: %v", seq, ErrRecord, err)
			}
		default:
			info.Fills++
			applied, err := s.replayFill(&r.fill)
			if err != nil {
				return fmt.Errorf("record %d: %w", seq, err)
			}
			if !applied {
				info.Refused++
			}
		}
		return nil
	})
	return info, err
}
