package itch

import (
	"encoding/binary"
	"errors"
)

var be = binary.BigEndian

// errTableMismatch is the invariant failure of a type present in the length
// table but missing from the decoder's switch.
var errTableMismatch = errors.New("itch: length table and decoder disagree")

// timestampMask keeps the low 48 bits of a word.
const timestampMask = 1<<48 - 1

// PeekType returns the type byte of message b, or 0 when b is empty.
func PeekType(b []byte) byte {
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// PeekLocate returns the stock locate of message b and whether b is long
// enough to hold one. It does not check the type or length.
func PeekLocate(b []byte) (uint16, bool) {
	if len(b) < 3 {
		return 0, false
	}
	return be.Uint16(b[1:3]), true
}

// Timestamp48 decodes a 6-byte big-endian timestamp from b[0:6].
func Timestamp48(b []byte) uint64 {
	_ = b[5]
	return uint64(b[0])<<40 | uint64(b[1])<<32 | uint64(b[2])<<24 |
		uint64(b[3])<<16 | uint64(b[4])<<8 | uint64(b[5])
}

// DecodeHeader decodes the common header of message b after the same type
// and length checks as Decode.
func DecodeHeader(b []byte) (Header, error) {
	if len(b) == 0 {
		return Header{}, ErrBadLength
	}
	n := int(lengths[b[0]])
	if n == 0 {
		return Header{}, ErrUnknownType
	}
	if len(b) != n {
		return Header{}, ErrBadLength
	}
	w := be.Uint64(b[3:11])
	return Header{
		Type:           b[0],
		StockLocate:    be.Uint16(b[1:3]),
		TrackingNumber: uint16(w >> 48),
		Timestamp:      w & timestampMask,
	}, nil
}

// Decode decodes the single message b (exactly one MoldUDP64 message block
// payload) into m. It fills m.Header and the body selected by the type byte;
// other bodies keep their values. It returns ErrUnknownType for an unknown
// type byte and ErrBadLength when len(b) != Length(b[0]); m is then
// unchanged. Decode never allocates and never retains b.
func (m *Message) Decode(b []byte) error {
	if len(b) == 0 {
		return ErrBadLength
	}
	t := b[0]
	n := int(lengths[t])
	if n == 0 {
		return ErrUnknownType
	}
	if len(b) != n {
		return ErrBadLength
	}
	// Every message is at least 12 bytes, so b[3:11] is in range: one
	// 8-byte load yields the tracking number and the 48-bit timestamp.
	w := be.Uint64(b[3:11])
	m.Type = t
	m.StockLocate = be.Uint16(b[1:3])
	m.TrackingNumber = uint16(w >> 48)
	m.Timestamp = w & timestampMask

	// Order Delete, a third of a session's messages and the shortest body,
	// is tested before the jump table: a compare on t resolves sooner than
	// the table's indirect jump, so its mispredictions cost less.
	if t == TypeOrderDelete {
		_ = b[18]
		m.OrderDelete.OrderRef = be.Uint64(b[11:19])
		return nil
	}
	switch t {
	case TypeAddOrder, TypeAddOrderMPID:
		_ = b[35]
		a := &m.AddOrder
		a.OrderRef = be.Uint64(b[11:19])
		a.Side = b[19]
		a.Shares = be.Uint32(b[20:24])
		a.Stock = [8]byte(b[24:32])
		a.Price = be.Uint32(b[32:36])
		if t == TypeAddOrderMPID {
			a.Attribution = [4]byte(b[36:40])
		} else {
			a.Attribution = [4]byte{}
		}
	case TypeOrderCancel:
		_ = b[22]
		x := &m.OrderCancel
		x.OrderRef = be.Uint64(b[11:19])
		x.Shares = be.Uint32(b[19:23])
	case TypeOrderExecuted:
		_ = b[30]
		e := &m.OrderExecuted
		e.OrderRef = be.Uint64(b[11:19])
		e.Shares = be.Uint32(b[19:23])
		e.MatchNumber = be.Uint64(b[23:31])
	case TypeOrderReplace:
		_ = b[34]
		u := &m.OrderReplace
		u.OrigOrderRef = be.Uint64(b[11:19])
		u.NewOrderRef = be.Uint64(b[19:27])
		u.Shares = be.Uint32(b[27:31])
		u.Price = be.Uint32(b[31:35])
	case TypeOrderExecutedWithPrice:
		_ = b[35]
		c := &m.OrderExecutedWithPrice
		c.OrderRef = be.Uint64(b[11:19])
		c.Shares = be.Uint32(b[19:23])
		c.MatchNumber = be.Uint64(b[23:31])
		c.Printable = b[31]
		c.Price = be.Uint32(b[32:36])
	case TypeTrade:
		_ = b[43]
		p := &m.Trade
		p.OrderRef = be.Uint64(b[11:19])
		p.Side = b[19]
		p.Shares = be.Uint32(b[20:24])
		p.Stock = [8]byte(b[24:32])
		p.Price = be.Uint32(b[32:36])
		p.MatchNumber = be.Uint64(b[36:44])
	case TypeCrossTrade:
		_ = b[39]
		q := &m.CrossTrade
		q.Shares = be.Uint64(b[11:19])
		q.Stock = [8]byte(b[19:27])
		q.CrossPrice = be.Uint32(b[27:31])
		q.MatchNumber = be.Uint64(b[31:39])
		q.CrossType = b[39]
	case TypeBrokenTrade:
		_ = b[18]
		m.BrokenTrade.MatchNumber = be.Uint64(b[11:19])
	case TypeNOII:
		_ = b[49]
		i := &m.NOII
		i.PairedShares = be.Uint64(b[11:19])
		i.ImbalanceShares = be.Uint64(b[19:27])
		i.ImbalanceDirection = b[27]
		i.Stock = [8]byte(b[28:36])
		i.FarPrice = be.Uint32(b[36:40])
		i.NearPrice = be.Uint32(b[40:44])
		i.CurrentReferencePrice = be.Uint32(b[44:48])
		i.CrossType = b[48]
		i.PriceVariationIndicator = b[49]
	case TypeSystemEvent:
		_ = b[11]
		m.SystemEvent.EventCode = b[11]
	case TypeStockDirectory:
		_ = b[38]
		r := &m.StockDirectory
		r.Stock = [8]byte(b[11:19])
		r.MarketCategory = b[19]
		r.FinancialStatus = b[20]
		r.RoundLotSize = be.Uint32(b[21:25])
		r.RoundLotsOnly = b[25]
		r.IssueClassification = b[26]
		r.IssueSubType = [2]byte(b[27:29])
		r.Authenticity = b[29]
		r.ShortSaleThreshold = b[30]
		r.IPOFlag = b[31]
		r.LULDRefPriceTier = b[32]
		r.ETPFlag = b[33]
		r.ETPLeverageFactor = be.Uint32(b[34:38])
		r.InverseIndicator = b[38]
	case TypeStockTradingAction:
		_ = b[24]
		h := &m.StockTradingAction
		h.Stock = [8]byte(b[11:19])
		h.TradingState = b[19]
		h.Reserved = b[20]
		h.Reason = [4]byte(b[21:25])
	case TypeRegSHO:
		_ = b[19]
		y := &m.RegSHO
		y.Stock = [8]byte(b[11:19])
		y.RegSHOAction = b[19]
	case TypeMarketParticipantPosition:
		_ = b[25]
		l := &m.MarketParticipantPosition
		l.MPID = [4]byte(b[11:15])
		l.Stock = [8]byte(b[15:23])
		l.PrimaryMarketMaker = b[23]
		l.MarketMakerMode = b[24]
		l.MarketParticipantState = b[25]
	case TypeMWCBDecline:
		_ = b[34]
		v := &m.MWCBDecline
		v.Level1 = be.Uint64(b[11:19])
		v.Level2 = be.Uint64(b[19:27])
		v.Level3 = be.Uint64(b[27:35])
	case TypeMWCBStatus:
		_ = b[11]
		m.MWCBStatus.BreachedLevel = b[11]
	case TypeIPOQuotingPeriod:
		_ = b[27]
		k := &m.IPOQuotingPeriod
		k.Stock = [8]byte(b[11:19])
		k.IPOQuotationReleaseTime = be.Uint32(b[19:23])
		k.IPOQuotationReleaseQualifier = b[23]
		k.IPOPrice = be.Uint32(b[24:28])
	case TypeLULDAuctionCollar:
		_ = b[34]
		j := &m.LULDAuctionCollar
		j.Stock = [8]byte(b[11:19])
		j.AuctionCollarReferencePrice = be.Uint32(b[19:23])
		j.UpperAuctionCollarPrice = be.Uint32(b[23:27])
		j.LowerAuctionCollarPrice = be.Uint32(b[27:31])
		j.AuctionCollarExtension = be.Uint32(b[31:35])
	case TypeOperationalHalt:
		_ = b[20]
		h := &m.OperationalHalt
		h.Stock = [8]byte(b[11:19])
		h.MarketCode = b[19]
		h.OperationalHaltAction = b[20]
	case TypeRPII:
		_ = b[19]
		n := &m.RPII
		n.Stock = [8]byte(b[11:19])
		n.InterestFlag = b[19]
	case TypeDLCRPriceDiscovery:
		_ = b[47]
		o := &m.DLCRPriceDiscovery
		o.Stock = [8]byte(b[11:19])
		o.OpenEligibilityStatus = b[19]
		o.MinimumAllowablePrice = be.Uint32(b[20:24])
		o.MaximumAllowablePrice = be.Uint32(b[24:28])
		o.NearExecutionPrice = be.Uint32(b[28:32])
		o.NearExecutionTime = be.Uint64(b[32:40])
		o.LowerPriceRangeCollar = be.Uint32(b[40:44])
		o.UpperPriceRangeCollar = be.Uint32(b[44:48])
	default:
		// lengths[] lists the types of this switch and Order Delete.
		panic(errTableMismatch)
	}
	return nil
}
