// Package itch decodes and encodes Nasdaq TotalView-ITCH 5.0 messages.
//
// Every message type of the ITCH 5.0 specification is supported. A message
// is one MoldUDP64 message block payload: a type byte followed by the common
// header (stock locate, tracking number, 48-bit timestamp) and the type's
// fixed-length body. All integers are big-endian. Price(4) fields are uint32
// with 4 implied decimals; Price(8) fields (MWCB decline levels only) are
// uint64 with 8 implied decimals. Alpha fields are kept as the raw
// space-padded ASCII bytes in fixed-size arrays, so decoding never allocates.
//
// Decoding is structural only: field values (side codes, event codes, ...)
// are passed through unvalidated; interpreting them is the consumer's job.
//
// A Message is a reusable decode target: Decode overwrites the header and
// exactly one per-type body, selected by the type byte, and leaves the other
// bodies untouched (stale). Append encodes the header and the selected body.
package itch

import (
	"errors"
	"strings"
)

// Message type codes of ITCH 5.0.
const (
	TypeSystemEvent               byte = 'S'
	TypeStockDirectory            byte = 'R'
	TypeStockTradingAction        byte = 'H'
	TypeRegSHO                    byte = 'Y'
	TypeMarketParticipantPosition byte = 'L'
	TypeMWCBDecline               byte = 'V'
	TypeMWCBStatus                byte = 'W'
	TypeIPOQuotingPeriod          byte = 'K'
	TypeLULDAuctionCollar         byte = 'J'
	TypeOperationalHalt           byte = 'h'
	TypeAddOrder                  byte = 'A'
	TypeAddOrderMPID              byte = 'F'
	TypeOrderExecuted             byte = 'E'
	TypeOrderExecutedWithPrice    byte = 'C'
	TypeOrderCancel               byte = 'X'
	TypeOrderDelete               byte = 'D'
	TypeOrderReplace              byte = 'U'
	TypeTrade                     byte = 'P'
	TypeCrossTrade                byte = 'Q'
	TypeBrokenTrade               byte = 'B'
	TypeNOII                      byte = 'I'
	TypeRPII                      byte = 'N'
	TypeDLCRPriceDiscovery        byte = 'O'
)

// HeaderLen is the length in bytes of the part common to every message:
// Type(1) StockLocate(2) TrackingNumber(2) Timestamp(6).
const HeaderLen = 11

// MessageLenMax is the length in bytes of the longest ITCH 5.0 message (NOII).
const MessageLenMax = 50

// TimestampMax is the largest timestamp a 6-byte field can carry.
const TimestampMax = 1<<48 - 1

// Types lists every ITCH 5.0 message type, in specification order.
var Types = [...]byte{
	TypeSystemEvent, TypeStockDirectory, TypeStockTradingAction, TypeRegSHO,
	TypeMarketParticipantPosition, TypeMWCBDecline, TypeMWCBStatus,
	TypeIPOQuotingPeriod, TypeLULDAuctionCollar, TypeOperationalHalt,
	TypeAddOrder, TypeAddOrderMPID, TypeOrderExecuted, TypeOrderExecutedWithPrice,
	TypeOrderCancel, TypeOrderDelete, TypeOrderReplace, TypeTrade,
	TypeCrossTrade, TypeBrokenTrade, TypeNOII, TypeRPII, TypeDLCRPriceDiscovery,
}

// lengths maps a type byte to its full message length; 0 = unknown type.
var lengths = [256]uint8{
	TypeSystemEvent:               12,
	TypeStockDirectory:            39,
	TypeStockTradingAction:        25,
	TypeRegSHO:                    20,
	TypeMarketParticipantPosition: 26,
	TypeMWCBDecline:               35,
	TypeMWCBStatus:                12,
	TypeIPOQuotingPeriod:          28,
	TypeLULDAuctionCollar:         35,
	TypeOperationalHalt:           21,
	TypeAddOrder:                  36,
	TypeAddOrderMPID:              40,
	TypeOrderExecuted:             31,
	TypeOrderExecutedWithPrice:    36,
	TypeOrderCancel:               23,
	TypeOrderDelete:               19,
	TypeOrderReplace:              35,
	TypeTrade:                     44,
	TypeCrossTrade:                40,
	TypeBrokenTrade:               19,
	TypeNOII:                      50,
	TypeRPII:                      20,
	TypeDLCRPriceDiscovery:        48,
}

// Length returns the full length in bytes (type byte included) of a message
// of type t, or 0 when t is not an ITCH 5.0 message type.
func Length(t byte) int { return int(lengths[t]) }

// TypeName returns the specification's name of message type t, or "" for an
// unknown type.
func TypeName(t byte) string {
	switch t {
	case TypeSystemEvent:
		return "System Event"
	case TypeStockDirectory:
		return "Stock Directory"
	case TypeStockTradingAction:
		return "Stock Trading Action"
	case TypeRegSHO:
		return "Reg SHO Restriction"
	case TypeMarketParticipantPosition:
		return "Market Participant Position"
	case TypeMWCBDecline:
		return "MWCB Decline Level"
	case TypeMWCBStatus:
		return "MWCB Status"
	case TypeIPOQuotingPeriod:
		return "IPO Quoting Period Update"
	case TypeLULDAuctionCollar:
		return "LULD Auction Collar"
	case TypeOperationalHalt:
		return "Operational Halt"
	case TypeAddOrder:
		return "Add Order"
	case TypeAddOrderMPID:
		return "Add Order MPID Attribution"
	case TypeOrderExecuted:
		return "Order Executed"
	case TypeOrderExecutedWithPrice:
		return "Order Executed With Price"
	case TypeOrderCancel:
		return "Order Cancel"
	case TypeOrderDelete:
		return "Order Delete"
	case TypeOrderReplace:
		return "Order Replace"
	case TypeTrade:
		return "Trade"
	case TypeCrossTrade:
		return "Cross Trade"
	case TypeBrokenTrade:
		return "Broken Trade"
	case TypeNOII:
		return "Net Order Imbalance Indicator"
	case TypeRPII:
		return "Retail Price Improvement Indicator"
	case TypeDLCRPriceDiscovery:
		return "Direct Listing with Capital Raise Price Discovery"
	}
	return ""
}

// Decoding errors. Decode returns them unwrapped (so the error path does not
// allocate either); callers test with errors.Is.
var (
	// ErrUnknownType reports a type byte that is not an ITCH 5.0 message type.
	ErrUnknownType = errors.New("itch: unknown message type")
	// ErrBadLength reports a message whose length differs from its type's
	// fixed length (or an empty message).
	ErrBadLength = errors.New("itch: bad message length")
)

// Header is the part common to every message.
type Header struct {
	// Type is the message type byte (one of the Type* constants).
	Type byte
	// StockLocate is the locate code of the security; 0 for market-wide messages.
	StockLocate uint16
	// TrackingNumber is Nasdaq's internal tracking number.
	TrackingNumber uint16
	// Timestamp is nanoseconds since midnight (48 bits on the wire).
	Timestamp uint64
}

// SystemEvent is the body of a System Event message ('S').
type SystemEvent struct {
	// EventCode: 'O' start of messages, 'S' start of system hours, 'Q' start
	// of market hours, 'M' end of market hours, 'E' end of system hours,
	// 'C' end of messages.
	EventCode byte
}

// StockDirectory is the body of a Stock Directory message ('R').
type StockDirectory struct {
	Stock               [8]byte // symbol, space padded
	MarketCategory      byte
	FinancialStatus     byte // Financial Status Indicator
	RoundLotSize        uint32
	RoundLotsOnly       byte
	IssueClassification byte
	IssueSubType        [2]byte
	Authenticity        byte
	ShortSaleThreshold  byte // Short Sale Threshold Indicator
	IPOFlag             byte
	LULDRefPriceTier    byte // LULD Reference Price Tier
	ETPFlag             byte
	ETPLeverageFactor   uint32
	InverseIndicator    byte
}

// StockTradingAction is the body of a Stock Trading Action message ('H').
type StockTradingAction struct {
	Stock [8]byte
	// TradingState: 'H' halted, 'P' paused, 'Q' quotation only, 'T' trading.
	TradingState byte
	Reserved     byte
	Reason       [4]byte
}

// RegSHO is the body of a Reg SHO Short Sale Price Test Restricted
// Indicator message ('Y').
type RegSHO struct {
	Stock [8]byte
	// RegSHOAction: '0' no test, '1' restriction in effect (intraday drop),
	// '2' restriction remains in effect.
	RegSHOAction byte
}

// MarketParticipantPosition is the body of a Market Participant Position
// message ('L').
type MarketParticipantPosition struct {
	MPID                   [4]byte
	Stock                  [8]byte
	PrimaryMarketMaker     byte
	MarketMakerMode        byte
	MarketParticipantState byte
}

// MWCBDecline is the body of a Market-Wide Circuit Breaker Decline Level
// message ('V'). Levels are Price(8): 8 implied decimals.
type MWCBDecline struct {
	Level1, Level2, Level3 uint64
}

// MWCBStatus is the body of a Market-Wide Circuit Breaker Status message ('W').
type MWCBStatus struct {
	// BreachedLevel: '1', '2' or '3'.
	BreachedLevel byte
}

// IPOQuotingPeriod is the body of an IPO Quoting Period Update message ('K').
type IPOQuotingPeriod struct {
	Stock [8]byte
	// IPOQuotationReleaseTime is seconds since midnight.
	IPOQuotationReleaseTime uint32
	// IPOQuotationReleaseQualifier: 'A' anticipated, 'C' cancelled/postponed.
	IPOQuotationReleaseQualifier byte
	IPOPrice                     uint32
}

// LULDAuctionCollar is the body of a Limit Up-Limit Down Auction Collar
// message ('J').
type LULDAuctionCollar struct {
	Stock                       [8]byte
	AuctionCollarReferencePrice uint32
	UpperAuctionCollarPrice     uint32
	LowerAuctionCollarPrice     uint32
	AuctionCollarExtension      uint32
}

// OperationalHalt is the body of an Operational Halt message ('h').
type OperationalHalt struct {
	Stock [8]byte
	// MarketCode: 'Q' Nasdaq, 'B' BX, 'X' PSX.
	MarketCode byte
	// OperationalHaltAction: 'H' halted, 'T' resumed.
	OperationalHaltAction byte
}

// AddOrder is the body of an Add Order message ('A') and of an Add Order
// with MPID Attribution message ('F').
type AddOrder struct {
	OrderRef uint64
	// Side is the Buy/Sell Indicator: 'B' or 'S'.
	Side   byte
	Shares uint32
	Stock  [8]byte
	Price  uint32
	// Attribution is the MPID of an 'F' message; Decode zeroes it for 'A'
	// and Append writes it only for 'F'.
	Attribution [4]byte
}

// OrderExecuted is the body of an Order Executed message ('E').
type OrderExecuted struct {
	OrderRef    uint64
	Shares      uint32 // Executed Shares
	MatchNumber uint64
}

// OrderExecutedWithPrice is the body of an Order Executed With Price
// message ('C').
type OrderExecutedWithPrice struct {
	OrderRef    uint64
	Shares      uint32 // Executed Shares
	MatchNumber uint64
	// Printable: 'Y' or 'N'.
	Printable byte
	Price     uint32 // Execution Price
}

// OrderCancel is the body of an Order Cancel message ('X').
type OrderCancel struct {
	OrderRef uint64
	Shares   uint32 // Cancelled Shares
}

// OrderDelete is the body of an Order Delete message ('D').
type OrderDelete struct {
	OrderRef uint64
}

// OrderReplace is the body of an Order Replace message ('U').
type OrderReplace struct {
	OrigOrderRef, NewOrderRef uint64
	Shares                    uint32
	Price                     uint32
}

// Trade is the body of a (non-cross) Trade message ('P').
type Trade struct {
	OrderRef    uint64
	Side        byte
	Shares      uint32
	Stock       [8]byte
	Price       uint32
	MatchNumber uint64
}

// CrossTrade is the body of a Cross Trade message ('Q').
type CrossTrade struct {
	Shares      uint64
	Stock       [8]byte
	CrossPrice  uint32
	MatchNumber uint64
	// CrossType: 'O' opening, 'C' closing, 'H' IPO/halted, 'I' intraday.
	CrossType byte
}

// BrokenTrade is the body of a Broken Trade / Order Execution message ('B').
type BrokenTrade struct {
	MatchNumber uint64
}

// NOII is the body of a Net Order Imbalance Indicator message ('I').
type NOII struct {
	PairedShares            uint64
	ImbalanceShares         uint64
	ImbalanceDirection      byte
	Stock                   [8]byte
	FarPrice                uint32
	NearPrice               uint32
	CurrentReferencePrice   uint32
	CrossType               byte
	PriceVariationIndicator byte
}

// RPII is the body of a Retail Price Improvement Indicator message ('N').
type RPII struct {
	Stock [8]byte
	// InterestFlag: 'B' buy side, 'S' sell side, 'A' both, 'N' none.
	InterestFlag byte
}

// DLCRPriceDiscovery is the body of a Direct Listing with Capital Raise
// Price Discovery message ('O'). Prices are Price(4).
type DLCRPriceDiscovery struct {
	Stock                 [8]byte
	OpenEligibilityStatus byte
	MinimumAllowablePrice uint32
	MaximumAllowablePrice uint32
	NearExecutionPrice    uint32
	// NearExecutionTime is an 8-byte integer, in the specification's units.
	NearExecutionTime     uint64
	LowerPriceRangeCollar uint32
	UpperPriceRangeCollar uint32
}

// Message is a reusable decode target and encode source. Header.Type selects
// which one of the per-type bodies is meaningful; the others hold stale
// values from earlier decodes. AddOrder serves both 'A' and 'F'.
type Message struct {
	Header
	SystemEvent               SystemEvent
	StockDirectory            StockDirectory
	StockTradingAction        StockTradingAction
	RegSHO                    RegSHO
	MarketParticipantPosition MarketParticipantPosition
	MWCBDecline               MWCBDecline
	MWCBStatus                MWCBStatus
	IPOQuotingPeriod          IPOQuotingPeriod
	LULDAuctionCollar         LULDAuctionCollar
	OperationalHalt           OperationalHalt
	AddOrder                  AddOrder
	OrderExecuted             OrderExecuted
	OrderExecutedWithPrice    OrderExecutedWithPrice
	OrderCancel               OrderCancel
	OrderDelete               OrderDelete
	OrderReplace              OrderReplace
	Trade                     Trade
	CrossTrade                CrossTrade
	BrokenTrade               BrokenTrade
	NOII                      NOII
	RPII                      RPII
	DLCRPriceDiscovery        DLCRPriceDiscovery
}

// Symbol returns s with trailing spaces (and NULs) trimmed. It allocates;
// keep it off the hot path.
func Symbol(s [8]byte) string {
	return strings.TrimRight(string(s[:]), " \x00")
}

// StockFromString returns s as a space-padded 8-byte alpha field. Bytes
// beyond the eighth are dropped.
func StockFromString(s string) [8]byte {
	st := [8]byte{' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '}
	copy(st[:], s)
	return st
}
