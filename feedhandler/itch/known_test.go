package itch

import (
	"bytes"
	"testing"
)

// knownCase is a message written byte by byte from the ITCH 5.0
// specification's field offsets, with the values it must decode to.
type knownCase struct {
	name string
	raw  string
	want Message
}

func st(s string) [8]byte { return StockFromString(s) }

// Common header bytes: locate 42, tracking 1, timestamp 0x00002e4f5a6b.
const hdr42 = "\x00\x2a" + "\x00\x01" + "\x00\x00\x2e\x4f\x5a\x6b"

var h42 = func(t byte) Header {
	return Header{Type: t, StockLocate: 42, TrackingNumber: 1, Timestamp: 0x2e4f5a6b}
}

var knownCases = []knownCase{
	{
		name: "SystemEvent",
		raw: "S" +
			"\x00\x00" + // locate 0 (market wide)
			"\x00\x01" + // tracking 1
			"\x00\x00\x0a\x1b\x2c\x3d" + // timestamp
			"O", // event code: start of messages
		want: Message{
			Header:      Header{Type: 'S', StockLocate: 0, TrackingNumber: 1, Timestamp: 0x0a1b2c3d},
			SystemEvent: SystemEvent{EventCode: 'O'},
		},
	},
	{
		name: "StockDirectory",
		raw: "R" + hdr42 +
			"AAPL    " + // 11 stock
			"Q" + // 19 market category
			"N" + // 20 financial status
			"\x00\x00\x00\x64" + // 21 round lot size 100
			"N" + // 25 round lots only
			"C" + // 26 issue classification
			"Z " + // 27 issue sub-type
			"P" + // 29 authenticity
			"N" + // 30 short sale threshold
			"Y" + // 31 IPO flag
			"1" + // 32 LULD tier
			"N" + // 33 ETP flag
			"\x00\x00\x00\x03" + // 34 ETP leverage factor
			"Y", // 38 inverse indicator
		want: Message{Header: h42('R'), StockDirectory: StockDirectory{
			Stock: st("AAPL"), MarketCategory: 'Q', FinancialStatus: 'N', RoundLotSize: 100,
			RoundLotsOnly: 'N', IssueClassification: 'C', IssueSubType: [2]byte{'Z', ' '},
			Authenticity: 'P', ShortSaleThreshold: 'N', IPOFlag: 'Y', LULDRefPriceTier: '1',
			ETPFlag: 'N', ETPLeverageFactor: 3, InverseIndicator: 'Y',
		}},
	},
	{
		name: "StockTradingAction",
		raw: "H" + hdr42 +
			"AAPL    " + // 11 stock
			"H" + // 19 trading state
			" " + // 20 reserved
			"T1  ", // 21 reason
		want: Message{Header: h42('H'), StockTradingAction: StockTradingAction{
			Stock: st("AAPL"), TradingState: 'H', Reserved: ' ', Reason: [4]byte{'T', '1', ' ', ' '},
		}},
	},
	{
		name: "RegSHO",
		raw: "Y" +
			"\x01\x00" + // locate 256
			"\x00\x02" + // tracking 2
			"\x00\x01\x02\x03\x04\x05" +
			"MSFT    " + // 11 stock
			"1", // 19 Reg SHO action
		want: Message{
			Header: Header{Type: 'Y', StockLocate: 256, TrackingNumber: 2, Timestamp: 0x000102030405},
			RegSHO: RegSHO{Stock: st("MSFT"), RegSHOAction: '1'},
		},
	},
	{
		name: "MarketParticipantPosition",
		raw: "L" + hdr42 +
			"NSDQ" + // 11 MPID
			"QQQ     " + // 15 stock
			"Y" + // 23 primary market maker
			"N" + // 24 market maker mode
			"A", // 25 participant state
		want: Message{Header: h42('L'), MarketParticipantPosition: MarketParticipantPosition{
			MPID: [4]byte{'N', 'S', 'D', 'Q'}, Stock: st("QQQ"),
			PrimaryMarketMaker: 'Y', MarketMakerMode: 'N', MarketParticipantState: 'A',
		}},
	},
	{
		name: "MWCBDecline",
		raw: "V" + hdr42 +
			"\x00\x00\x00\x51\x7e\x6c\xb8\x4e" + // 11 level 1
			"\x00\x00\x00\x00\x00\x00\x00\x01" + // 19 level 2
			"\x80\x00\x00\x00\x00\x00\x00\x00", // 27 level 3
		want: Message{Header: h42('V'), MWCBDecline: MWCBDecline{
			Level1: 350013405262, Level2: 1, Level3: 1 << 63,
		}},
	},
	{
		name: "MWCBStatus",
		raw:  "W" + hdr42 + "2",
		want: Message{Header: h42('W'), MWCBStatus: MWCBStatus{BreachedLevel: '2'}},
	},
	{
		name: "IPOQuotingPeriod",
		raw: "K" + hdr42 +
			"ABNB    " + // 11 stock
			"\x00\x00\xa8\xc0" + // 19 release time 43200 s
			"A" + // 23 qualifier
			"\x00\x0b\x71\xb0", // 24 IPO price 75.0000
		want: Message{Header: h42('K'), IPOQuotingPeriod: IPOQuotingPeriod{
			Stock: st("ABNB"), IPOQuotationReleaseTime: 43200, IPOQuotationReleaseQualifier: 'A',
			IPOPrice: 750000,
		}},
	},
	{
		name: "LULDAuctionCollar",
		raw: "J" + hdr42 +
			"GME     " + // 11 stock
			"\x00\x03\x0d\x40" + // 19 reference 20.0000
			"\x00\x03\x4b\xc0" + // 23 upper 21.6000
			"\x00\x02\xce\xc0" + // 27 lower 18.4000
			"\x00\x00\x00\x02", // 31 extension
		want: Message{Header: h42('J'), LULDAuctionCollar: LULDAuctionCollar{
			Stock: st("GME"), AuctionCollarReferencePrice: 200000, UpperAuctionCollarPrice: 216000,
			LowerAuctionCollarPrice: 184000, AuctionCollarExtension: 2,
		}},
	},
	{
		name: "OperationalHalt",
		raw:  "h" + hdr42 + "IBM     " + "Q" + "H",
		want: Message{Header: h42('h'), OperationalHalt: OperationalHalt{
			Stock: st("IBM"), MarketCode: 'Q', OperationalHaltAction: 'H',
		}},
	},
	{
		name: "AddOrder",
		raw: "A" + hdr42 +
			"\x00\x00\x00\x00\x00\x0f\x42\x40" + // 11 order ref 1000000
			"B" + // 19 side
			"\x00\x00\x01\x2c" + // 20 shares 300
			"AAPL    " + // 24 stock
			"\x00\x1b\x3e\x9c", // 32 price 178.5500
		want: Message{Header: h42('A'), AddOrder: AddOrder{
			OrderRef: 1000000, Side: 'B', Shares: 300, Stock: st("AAPL"), Price: 1785500,
		}},
	},
	{
		name: "AddOrderMPID",
		raw: "F" +
			"\xff\xff" + // locate 65535
			"\xff\xff" + // tracking 65535
			"\xff\xff\xff\xff\xff\xff" + // timestamp 2^48-1
			"\xff\xff\xff\xff\xff\xff\xff\xfe" + // 11 order ref
			"S" + // 19 side
			"\xff\xff\xff\xff" + // 20 shares
			"ZVZZT   " + // 24 stock
			"\x7f\xff\xff\xff" + // 32 price
			"GSCO", // 36 attribution
		want: Message{
			Header: Header{Type: 'F', StockLocate: 65535, TrackingNumber: 65535, Timestamp: 1<<48 - 1},
			AddOrder: AddOrder{
				OrderRef: 1<<64 - 2, Side: 'S', Shares: 1<<32 - 1, Stock: st("ZVZZT"),
				Price: 1<<31 - 1, Attribution: [4]byte{'G', 'S', 'C', 'O'},
			},
		},
	},
	{
		name: "OrderExecuted",
		raw: "E" + hdr42 +
			"\x00\x00\x00\x00\x00\x0f\x42\x40" + // 11 order ref
			"\x00\x00\x00\x64" + // 19 executed shares 100
			"\x00\x00\x00\x00\x00\x01\xe2\x40", // 23 match 123456
		want: Message{Header: h42('E'), OrderExecuted: OrderExecuted{
			OrderRef: 1000000, Shares: 100, MatchNumber: 123456,
		}},
	},
	{
		name: "OrderExecutedWithPrice",
		raw: "C" + hdr42 +
			"\x00\x00\x00\x00\x00\x0f\x42\x40" + // 11 order ref
			"\x00\x00\x00\x32" + // 19 executed shares 50
			"\x00\x00\x00\x00\x00\x01\xe2\x41" + // 23 match 123457
			"N" + // 31 printable
			"\x00\x1b\x3e\xa6", // 32 execution price 178.5510
		want: Message{Header: h42('C'), OrderExecutedWithPrice: OrderExecutedWithPrice{
			OrderRef: 1000000, Shares: 50, MatchNumber: 123457, Printable: 'N', Price: 1785510,
		}},
	},
	{
		name: "OrderCancel",
		raw: "X" + hdr42 +
			"\x00\x00\x00\x00\x00\x0f\x42\x40" + // 11 order ref
			"\x00\x00\x00\x0a", // 19 cancelled shares 10
		want: Message{Header: h42('X'), OrderCancel: OrderCancel{OrderRef: 1000000, Shares: 10}},
	},
	{
		name: "OrderDelete",
		raw:  "D" + hdr42 + "\x01\x02\x03\x04\x05\x06\x07\x08",
		want: Message{Header: h42('D'), OrderDelete: OrderDelete{OrderRef: 0x0102030405060708}},
	},
	{
		name: "OrderReplace",
		raw: "U" + hdr42 +
			"\x00\x00\x00\x00\x00\x0f\x42\x40" + // 11 original ref
			"\x00\x00\x00\x00\x00\x0f\x42\x41" + // 19 new ref
			"\x00\x00\x00\xc8" + // 27 shares 200
			"\x00\x1b\x3e\x38", // 31 price 178.5400
		want: Message{Header: h42('U'), OrderReplace: OrderReplace{
			OrigOrderRef: 1000000, NewOrderRef: 1000001, Shares: 200, Price: 1785400,
		}},
	},
	{
		name: "Trade",
		raw: "P" + hdr42 +
			"\x00\x00\x00\x00\x00\x00\x00\x00" + // 11 order ref 0
			"B" + // 19 side
			"\x00\x00\x03\xe8" + // 20 shares 1000
			"SPY     " + // 24 stock
			"\x00\x44\x2b\x58" + // 32 price 446.7544
			"\x00\x00\x00\x00\x00\x00\x30\x39", // 36 match 12345
		want: Message{Header: h42('P'), Trade: Trade{
			OrderRef: 0, Side: 'B', Shares: 1000, Stock: st("SPY"), Price: 4467544, MatchNumber: 12345,
		}},
	},
	{
		name: "CrossTrade",
		raw: "Q" + hdr42 +
			"\x00\x00\x00\x01\x00\x00\x00\x00" + // 11 shares 2^32
			"SPY     " + // 19 stock
			"\x00\x44\x2b\x58" + // 27 cross price
			"\x00\x00\x00\x00\x00\x00\x30\x3a" + // 31 match 12346
			"O", // 39 cross type
		want: Message{Header: h42('Q'), CrossTrade: CrossTrade{
			Shares: 1 << 32, Stock: st("SPY"), CrossPrice: 4467544, MatchNumber: 12346, CrossType: 'O',
		}},
	},
	{
		name: "BrokenTrade",
		raw:  "B" + hdr42 + "\x00\x00\x00\x00\x00\x00\x30\x39",
		want: Message{Header: h42('B'), BrokenTrade: BrokenTrade{MatchNumber: 12345}},
	},
	{
		name: "NOII",
		raw: "I" + hdr42 +
			"\x00\x00\x00\x00\x00\x01\x86\xa0" + // 11 paired 100000
			"\x00\x00\x00\x00\x00\x00\x13\x88" + // 19 imbalance 5000
			"B" + // 27 direction
			"AAPL    " + // 28 stock
			"\x00\x1b\x3e\x9c" + // 36 far
			"\x00\x1b\x3e\xa6" + // 40 near
			"\x00\x1b\x3e\x38" + // 44 current reference
			"C" + // 48 cross type
			"L", // 49 price variation indicator
		want: Message{Header: h42('I'), NOII: NOII{
			PairedShares: 100000, ImbalanceShares: 5000, ImbalanceDirection: 'B', Stock: st("AAPL"),
			FarPrice: 1785500, NearPrice: 1785510, CurrentReferencePrice: 1785400,
			CrossType: 'C', PriceVariationIndicator: 'L',
		}},
	},
	{
		name: "RPII",
		raw:  "N" + hdr42 + "AAPL    " + "B",
		want: Message{Header: h42('N'), RPII: RPII{Stock: st("AAPL"), InterestFlag: 'B'}},
	},
	{
		name: "DLCRPriceDiscovery",
		raw: "O" + hdr42 +
			"NEWCO   " + // 11 stock
			"Y" + // 19 open eligibility
			"\x00\x0f\x42\x40" + // 20 minimum 100.0000
			"\x00\x2d\xc6\xc0" + // 24 maximum 300.0000
			"\x00\x1e\x84\x80" + // 28 near execution price 200.0000
			"\x00\x00\x2f\x8c\xd0\x8a\x3c\x00" + // 32 near execution time
			"\x00\x1b\x77\x40" + // 40 lower collar 180.0000
			"\x00\x21\x91\xc0", // 44 upper collar 220.0000
		want: Message{Header: h42('O'), DLCRPriceDiscovery: DLCRPriceDiscovery{
			Stock: st("NEWCO"), OpenEligibilityStatus: 'Y', MinimumAllowablePrice: 1000000,
			MaximumAllowablePrice: 3000000, NearExecutionPrice: 2000000,
			NearExecutionTime: 0x2f8cd08a3c00, LowerPriceRangeCollar: 1800000,
			UpperPriceRangeCollar: 2200000,
		}},
	},
}

func TestKnownAnswersCoverEveryType(t *testing.T) {
	seen := map[byte]bool{}
	for _, c := range knownCases {
		seen[c.raw[0]] = true
	}
	for _, ty := range Types {
		if !seen[ty] {
			t.Errorf("no known-answer case for type %q", ty)
		}
	}
	if len(seen) != len(Types) {
		t.Errorf("known-answer cases cover %d types, want %d", len(seen), len(Types))
	}
}

func TestKnownAnswersDecode(t *testing.T) {
	for _, c := range knownCases {
		t.Run(c.name, func(t *testing.T) {
			if got, want := len(c.raw), Length(c.raw[0]); got != want {
				t.Fatalf("literal is %d bytes, Length(%q) = %d", got, c.raw[0], want)
			}
			var m Message
			if err := m.Decode([]byte(c.raw)); err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if m != c.want {
				t.Fatalf("Decode mismatch\n got %+v\nwant %+v", m, c.want)
			}
			h, err := DecodeHeader([]byte(c.raw))
			if err != nil || h != c.want.Header {
				t.Fatalf("DecodeHeader = %+v, %v; want %+v", h, err, c.want.Header)
			}
		})
	}
}

func TestKnownAnswersEncode(t *testing.T) {
	for _, c := range knownCases {
		t.Run(c.name, func(t *testing.T) {
			got := c.want.Append([]byte("prefix"))
			if !bytes.Equal(got[:6], []byte("prefix")) {
				t.Fatalf("Append clobbered dst prefix: %q", got[:6])
			}
			if !bytes.Equal(got[6:], []byte(c.raw)) {
				t.Fatalf("Append mismatch\n got % x\nwant % x", got[6:], []byte(c.raw))
			}
		})
	}
}

// TestLengths pins the specification's message lengths.
func TestLengths(t *testing.T) {
	want := map[byte]int{
		'S': 12, 'R': 39, 'H': 25, 'Y': 20, 'L': 26, 'V': 35, 'W': 12, 'K': 28, 'J': 35,
		'h': 21, 'A': 36, 'F': 40, 'E': 31, 'C': 36, 'X': 23, 'D': 19, 'U': 35, 'P': 44,
		'Q': 40, 'B': 19, 'I': 50, 'N': 20, 'O': 48,
	}
	for tb := 0; tb < 256; tb++ {
		if got := Length(byte(tb)); got != want[byte(tb)] {
			t.Errorf("Length(%q) = %d, want %d", byte(tb), got, want[byte(tb)])
		}
		if (TypeName(byte(tb)) != "") != (want[byte(tb)] != 0) {
			t.Errorf("TypeName(%q) = %q disagrees with Length", byte(tb), TypeName(byte(tb)))
		}
	}
	if len(Types) != len(want) {
		t.Errorf("Types has %d entries, want %d", len(Types), len(want))
	}
	maxLen := 0
	for _, n := range want {
		maxLen = max(maxLen, n)
	}
	if maxLen != MessageLenMax {
		t.Errorf("MessageLenMax = %d, want %d", MessageLenMax, maxLen)
	}
}
