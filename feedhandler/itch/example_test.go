package itch_test

import (
	"encoding/binary"
	"fmt"

	"github.com/ballast-risk/ballast/feedhandler/itch"
)

// Walk the length-prefixed message blocks of a MoldUDP64 payload, decoding
// each into one reused Message.
func ExampleMessage_Decode() {
	var out itch.Message
	out.Type = itch.TypeAddOrder
	out.StockLocate = 7
	out.Timestamp = 34_200_000_000_000 // 09:30:00
	out.AddOrder = itch.AddOrder{OrderRef: 1, Side: 'B', Shares: 100, Stock: itch.StockFromString("AAPL"), Price: 1_785_500}
	msg := out.Append(nil)
	blocks := binary.BigEndian.AppendUint16(nil, uint16(len(msg)))
	blocks = append(blocks, msg...)

	var m itch.Message
	for len(blocks) >= 2 {
		n := int(binary.BigEndian.Uint16(blocks))
		if err := m.Decode(blocks[2 : 2+n]); err != nil {
			fmt.Println(err)
			return
		}
		blocks = blocks[2+n:]
		a := &m.AddOrder
		fmt.Printf("%c locate=%d %s %c %d @ %d.%04d\n", m.Type, m.StockLocate,
			itch.Symbol(a.Stock), a.Side, a.Shares, a.Price/10000, a.Price%10000)
	}
	// Output: A locate=7 AAPL B 100 @ 178.5500
}
