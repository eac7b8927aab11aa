package srcbench

import (
	"github.com/ballast-risk/ballast/feedhandler/itch"
	"github.com/ballast-risk/ballast/feedhandler/moldudp64"
)

// The benchmark feed: one book, one price level, one order at a time.
const (
	// Session is the feed's MoldUDP64 session.
	Session = "SRCBENCH"
	// Locate is the ITCH stock locate of the one book the feed updates.
	Locate uint16 = 1
	// Stock is the book's symbol, space padded to 8 bytes.
	Stock = "SRCBNCH "
	// Price is every Add Order's price in ITCH units (100.0000).
	Price uint32 = 100_0000
	// Shares is every Add Order's size.
	Shares uint32 = 100
	// PacketBytesMax bounds one feed packet: the 20-byte MoldUDP64 header,
	// a 2-byte block length and the longest message (Add Order, 36 bytes),
	// rounded up.
	PacketBytesMax = 64
)

// Feed encodes the benchmark feed. Packet k (sequence number k, from 1)
// carries one ITCH message: for odd k an Add Order (buy Shares at Price,
// order reference (k+1)/2) that puts a bid on the empty book, for even k the
// Order Delete of that order, which empties the book again. Every packet
// therefore changes the book's top and yields exactly one tick, whose
// ExchangeNs is the timestamp the packet was stamped with.
//
// A Feed is not safe for concurrent use.
type Feed struct {
	session moldudp64.Session
	stock   [8]byte
	next    uint64
	msg     itch.Message
	scratch []byte
}

// NewFeed returns a Feed whose next packet has sequence number 1.
func NewFeed() *Feed {
	f := &Feed{
		session: moldudp64.MakeSession(Session),
		next:    1,
		scratch: make([]byte, 0, PacketBytesMax),
	}
	copy(f.stock[:], Stock)
	return f
}

// Next returns the sequence number of the next packet AppendNext encodes.
func (f *Feed) Next() uint64 { return f.next }

// AppendNext appends the next packet to dst, its ITCH timestamp set to ts,
// and returns the extended slice. ts must lie in [0, itch.TimestampMax]
// (source.Now stays below it for the first 78 hours of a process); the ITCH
// encoder panics otherwise. It allocates only when dst lacks
// PacketBytesMax bytes of capacity.
func (f *Feed) AppendNext(dst []byte, ts int64) []byte {
	seq := f.next
	f.next++
	order := (seq + 1) / 2
	m := &f.msg
	m.StockLocate = Locate
	m.TrackingNumber = 0
	m.Timestamp = uint64(ts)
	if seq%2 == 1 {
		m.Type = itch.TypeAddOrder
		m.AddOrder = itch.AddOrder{OrderRef: order, Side: 'B', Shares: Shares, Stock: f.stock, Price: Price}
	} else {
		m.Type = itch.TypeOrderDelete
		m.OrderDelete = itch.OrderDelete{OrderRef: order}
	}
	f.scratch = m.Append(f.scratch[:0])
	dst = moldudp64.AppendHeader(dst, moldudp64.Header{Session: f.session, Seq: seq, Count: 1})
	return moldudp64.AppendBlock(dst, f.scratch)
}
