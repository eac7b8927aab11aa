package book_test

import (
	"fmt"

	"github.com/ballast-risk/ballast/feedhandler/book"
	"github.com/ballast-risk/ballast/feedhandler/itch"
)

func Example() {
	books, err := book.New(book.Config{OrdersMax: 1 << 10, BooksMax: 16, LevelsMax: 64})
	if err != nil {
		panic(err)
	}
	apply := func(m itch.Message) {
		if loc, changed := books.Apply(&m); changed {
			t, _ := books.Top(loc)
			fmt.Printf("tick %d: bid %d x %d, ask %d x %d, last %d\n", loc, t.Bid, t.BidSize, t.Ask, t.AskSize, t.Last)
		}
	}
	stock := itch.StockFromString("AAPL")
	apply(itch.Message{Header: itch.Header{Type: itch.TypeStockDirectory, StockLocate: 7},
		StockDirectory: itch.StockDirectory{Stock: stock}})
	apply(itch.Message{Header: itch.Header{Type: itch.TypeAddOrder, StockLocate: 7},
		AddOrder: itch.AddOrder{OrderRef: 1, Side: 'B', Shares: 100, Stock: stock, Price: 1_785_500}})
	apply(itch.Message{Header: itch.Header{Type: itch.TypeAddOrder, StockLocate: 7},
		AddOrder: itch.AddOrder{OrderRef: 2, Side: 'S', Shares: 300, Stock: stock, Price: 1_785_600}})
	apply(itch.Message{Header: itch.Header{Type: itch.TypeOrderExecuted, StockLocate: 7},
		OrderExecuted: itch.OrderExecuted{OrderRef: 2, Shares: 100, MatchNumber: 1}})
	books.Each(func(loc uint16, sym [8]byte, t book.Top) {
		fmt.Printf("%s (%d): %d orders\n", itch.Symbol(sym), loc, t.Orders)
	})
	// Output:
	// tick 7: bid 1785500 x 100, ask 0 x 0, last 0
	// tick 7: bid 1785500 x 100, ask 1785600 x 300, last 0
	// tick 7: bid 1785500 x 100, ask 1785600 x 200, last 1785600
	// AAPL (7): 2 orders
}
