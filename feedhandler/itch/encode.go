package itch

import (
	"fmt"
	"slices"
)

// Len returns the encoded length of m (Length(m.Type)); 0 for an unknown type.
func (m *Message) Len() int { return int(lengths[m.Type]) }

// putTimestamp48 writes the low 48 bits of ts big-endian into b[0:6].
func putTimestamp48(b []byte, ts uint64) {
	_ = b[5]
	b[0] = byte(ts >> 40)
	b[1] = byte(ts >> 32)
	b[2] = byte(ts >> 24)
	b[3] = byte(ts >> 16)
	b[4] = byte(ts >> 8)
	b[5] = byte(ts)
}

// Append appends the wire encoding of m.Header and the body selected by
// m.Type to dst and returns the extended slice. It allocates only when dst
// lacks capacity. An unknown m.Type or a Timestamp above TimestampMax is a
// programming error and panics.
func (m *Message) Append(dst []byte) []byte {
	t := m.Type
	n := int(lengths[t])
	if n == 0 {
		panic(fmt.Sprintf("itch: Append of unknown message type %q", t))
	}
	if m.Timestamp > TimestampMax {
		panic(fmt.Sprintf("itch: Append of timestamp %d beyond 48 bits", m.Timestamp))
	}
	dst = slices.Grow(dst, n)
	l := len(dst)
	dst = dst[:l+n]
	b := dst[l : l+n : l+n]
	_ = b[11]
	b[0] = t
	be.PutUint16(b[1:3], m.StockLocate)
	be.PutUint16(b[3:5], m.TrackingNumber)
	putTimestamp48(b[5:11], m.Timestamp)

	switch t {
	case TypeAddOrder, TypeAddOrderMPID:
		_ = b[35]
		a := &m.AddOrder
		be.PutUint64(b[11:19], a.OrderRef)
		b[19] = a.Side
		be.PutUint32(b[20:24], a.Shares)
		copy(b[24:32], a.Stock[:])
		be.PutUint32(b[32:36], a.Price)
		if t == TypeAddOrderMPID {
			copy(b[36:40], a.Attribution[:])
		}
	case TypeOrderDelete:
		be.PutUint64(b[11:19], m.OrderDelete.OrderRef)
	case TypeOrderCancel:
		x := &m.OrderCancel
		be.PutUint64(b[11:19], x.OrderRef)
		be.PutUint32(b[19:23], x.Shares)
	case TypeOrderExecuted:
		e := &m.OrderExecuted
		be.PutUint64(b[11:19], e.OrderRef)
		be.PutUint32(b[19:23], e.Shares)
		be.PutUint64(b[23:31], e.MatchNumber)
	case TypeOrderReplace:
		u := &m.OrderReplace
		be.PutUint64(b[11:19], u.OrigOrderRef)
		be.PutUint64(b[19:27], u.NewOrderRef)
		be.PutUint32(b[27:31], u.Shares)
		be.PutUint32(b[31:35], u.Price)
	case TypeOrderExecutedWithPrice:
		c := &m.OrderExecutedWithPrice
		be.PutUint64(b[11:19], c.OrderRef)
		be.PutUint32(b[19:23], c.Shares)
		be.PutUint64(b[23:31], c.MatchNumber)
		b[31] = c.Printable
		be.PutUint32(b[32:36], c.Price)
	case TypeTrade:
		p := &m.Trade
		be.PutUint64(b[11:19], p.OrderRef)
		b[19] = p.Side
		be.PutUint32(b[20:24], p.Shares)
		copy(b[24:32], p.Stock[:])
		be.PutUint32(b[32:36], p.Price)
		be.PutUint64(b[36:44], p.MatchNumber)
	case TypeCrossTrade:
		q := &m.CrossTrade
		be.PutUint64(b[11:19], q.Shares)
		copy(b[19:27], q.Stock[:])
		be.PutUint32(b[27:31], q.CrossPrice)
		be.PutUint64(b[31:39], q.MatchNumber)
		b[39] = q.CrossType
	case TypeBrokenTrade:
		be.PutUint64(b[11:19], m.BrokenTrade.MatchNumber)
	case TypeNOII:
		i := &m.NOII
		be.PutUint64(b[11:19], i.PairedShares)
		be.PutUint64(b[19:27], i.ImbalanceShares)
		b[27] = i.ImbalanceDirection
		copy(b[28:36], i.Stock[:])
		be.PutUint32(b[36:40], i.FarPrice)
		be.PutUint32(b[40:44], i.NearPrice)
		be.PutUint32(b[44:48], i.CurrentReferencePrice)
		b[48] = i.CrossType
		b[49] = i.PriceVariationIndicator
	case TypeSystemEvent:
		b[11] = m.SystemEvent.EventCode
	case TypeStockDirectory:
		r := &m.StockDirectory
		copy(b[11:19], r.Stock[:])
		b[19] = r.MarketCategory
		b[20] = r.FinancialStatus
		be.PutUint32(b[21:25], r.RoundLotSize)
		b[25] = r.RoundLotsOnly
		b[26] = r.IssueClassification
		copy(b[27:29], r.IssueSubType[:])
		b[29] = r.Authenticity
		b[30] = r.ShortSaleThreshold
		b[31] = r.IPOFlag
		b[32] = r.LULDRefPriceTier
		b[33] = r.ETPFlag
		be.PutUint32(b[34:38], r.ETPLeverageFactor)
		b[38] = r.InverseIndicator
	case TypeStockTradingAction:
		h := &m.StockTradingAction
		copy(b[11:19], h.Stock[:])
		b[19] = h.TradingState
		b[20] = h.Reserved
		copy(b[21:25], h.Reason[:])
	case TypeRegSHO:
		y := &m.RegSHO
		copy(b[11:19], y.Stock[:])
		b[19] = y.RegSHOAction
	case TypeMarketParticipantPosition:
		l := &m.MarketParticipantPosition
		copy(b[11:15], l.MPID[:])
		copy(b[15:23], l.Stock[:])
		b[23] = l.PrimaryMarketMaker
		b[24] = l.MarketMakerMode
		b[25] = l.MarketParticipantState
	case TypeMWCBDecline:
		v := &m.MWCBDecline
		be.PutUint64(b[11:19], v.Level1)
		be.PutUint64(b[19:27], v.Level2)
		be.PutUint64(b[27:35], v.Level3)
	case TypeMWCBStatus:
		b[11] = m.MWCBStatus.BreachedLevel
	case TypeIPOQuotingPeriod:
		k := &m.IPOQuotingPeriod
		copy(b[11:19], k.Stock[:])
		be.PutUint32(b[19:23], k.IPOQuotationReleaseTime)
		b[23] = k.IPOQuotationReleaseQualifier
		be.PutUint32(b[24:28], k.IPOPrice)
	case TypeLULDAuctionCollar:
		j := &m.LULDAuctionCollar
		copy(b[11:19], j.Stock[:])
		be.PutUint32(b[19:23], j.AuctionCollarReferencePrice)
		be.PutUint32(b[23:27], j.UpperAuctionCollarPrice)
		be.PutUint32(b[27:31], j.LowerAuctionCollarPrice)
		be.PutUint32(b[31:35], j.AuctionCollarExtension)
	case TypeOperationalHalt:
		h := &m.OperationalHalt
		copy(b[11:19], h.Stock[:])
		b[19] = h.MarketCode
		b[20] = h.OperationalHaltAction
	case TypeRPII:
		r := &m.RPII
		copy(b[11:19], r.Stock[:])
		b[19] = r.InterestFlag
	case TypeDLCRPriceDiscovery:
		o := &m.DLCRPriceDiscovery
		copy(b[11:19], o.Stock[:])
		b[19] = o.OpenEligibilityStatus
		be.PutUint32(b[20:24], o.MinimumAllowablePrice)
		be.PutUint32(b[24:28], o.MaximumAllowablePrice)
		be.PutUint32(b[28:32], o.NearExecutionPrice)
		be.PutUint64(b[32:40], o.NearExecutionTime)
		be.PutUint32(b[40:44], o.LowerPriceRangeCollar)
		be.PutUint32(b[44:48], o.UpperPriceRangeCollar)
	default:
		panic(fmt.Sprintf("itch: length table and encoder disagree on type %q", t))
	}
	return dst
}
