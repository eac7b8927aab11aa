package scenario

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

const sampleHistorical = "\xef\xbb\xbf# daily log-returns, 1-day horizon\r\n" +
	"date, AAA ,BBB,CCC\r\n" +
	"\n" +
	"   # a comment after spaces\n" +
	"2024-01-02,0.01,-0.02,0.5\n" +
	"2024-01-03, -1e-3 ,0,\t-0.25\n" +
	"2024-01-04,0x1p-4,+0.125,-20\n"

func TestParseHistorical(t *testing.T) {
	s, err := ParseHistorical(strings.NewReader(sampleHistorical), []string{"CCC", "AAA"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Scenarios != 3 || s.Underlyings != 2 || s.VolMul != nil || s.Validate() != nil {
		t.Fatalf("shape %d×%d", s.Scenarios, s.Underlyings)
	}
	want := [][]float64{{0.5, 0.01}, {-0.25, -1e-3}, {-20, 0.0625}}
	for i, w := range want {
		if r := s.Row(i); r[0] != w[0] || r[1] != w[1] {
			t.Errorf("row %d = %v, want %v", i, r, w)
		}
		if s.Kinds[i] != KindHistorical {
			t.Errorf("kind %v", s.Kinds[i])
		}
	}
}

func TestParseHistoricalErrors(t *testing.T) {
	long := "date,A\n" + "d," + strings.Repeat("1", HistoricalLineBytesMax) + "\n"
	wide := "date" + strings.Repeat(",X", HistoricalColumnsMax) + "\n"
	var many strings.Builder
	many.WriteString("date,A\n")
	for i := 0; i <= HistoricalRowsMax; i++ {
		fmt.Fprintf(&many, "%d,0\n", i)
	}
	cases := []struct {
		name    string
		in      string
		symbols []string
		err     error
		line    int
		column  int
		symbol  string
	}{
		{"missing symbol", "date,A,B\nd,1,2\n", []string{"A", "Z"}, ErrMissingSymbol, 1, 0, "Z"},
		{"bad cell", "date,A,B\nd1,1,2\n# c\nd2,1,abc\n", []string{"A", "B"}, ErrBadCell, 4, 3, "B"},
		{"bad unrequested cell", "date,A,B\nd1,1,x\n", []string{"A"}, ErrBadCell, 2, 3, ""},
		{"empty cell", "date,A\nd1,\n", []string{"A"}, ErrBadCell, 2, 2, "A"},
		{"NaN", "date,A\nd1,NaN\n", []string{"A"}, ErrNonFinite, 2, 2, "A"},
		{"Inf", "date,A\nd1,-Inf\n", []string{"A"}, ErrNonFinite, 2, 2, "A"},
		{"huge", "date,A\nd1,1e400\n", []string{"A"}, ErrReturnOutOfRange, 2, 2, "A"},
		{"too large", "date,A\nd1,20.5\n", []string{"A"}, ErrReturnOutOfRange, 2, 2, "A"},
		{"duplicate header symbol", "date,A,B,A\nd,1,2,3\n", []string{"A"}, ErrDuplicateSymbol, 1, 4, "A"},
		{"duplicate requested", "date,A\nd,1\n", []string{"A", "A"}, ErrHistoricalSymbols, 0, 0, "A"},
		{"no symbols requested", "date,A\nd,1\n", nil, ErrHistoricalSymbols, 0, 0, ""},
		{"empty requested", "date,A\nd,1\n", []string{""}, ErrHistoricalSymbols, 0, 0, ""},
		{"duplicate date", "date,A\nd,1\nd,2\n", []string{"A"}, ErrDuplicateDate, 3, 1, ""},
		{"empty date", "date,A\n,1\n", []string{"A"}, ErrBadCell, 2, 1, ""},
		{"short row", "date,A,B\nd,1\n", []string{"A"}, ErrRowWidth, 2, 0, ""},
		{"long row", "date,A\nd,1,2\n", []string{"A"}, ErrRowWidth, 2, 0, ""},
		{"header first column", "day,A\nd,1\n", []string{"A"}, ErrHistoricalHeader, 1, 1, ""},
		{"header no symbols", "date\nd\n", []string{"A"}, ErrHistoricalHeader, 1, 0, ""},
		{"header empty symbol", "date,A,\nd,1,2\n", []string{"A"}, ErrHistoricalHeader, 1, 3, ""},
		{"no header", "# only comments\n\n", []string{"A"}, ErrHistoricalHeader, 0, 0, ""},
		{"no rows", "date,A\n# nothing\n", []string{"A"}, ErrNoObservations, 0, 0, ""},
		{"line too long", long, []string{"A"}, ErrHistoricalTooLarge, 2, 0, ""},
		{"too many columns", wide, []string{"X"}, ErrHistoricalTooLarge, 1, 0, ""},
		{"too many rows", many.String(), []string{"A"}, ErrHistoricalTooLarge, HistoricalRowsMax + 2, 0, ""},
	}
	for _, c := range cases {
		_, err := ParseHistorical(strings.NewReader(c.in), c.symbols)
		var he *HistoricalError
		if !errors.As(err, &he) || !errors.Is(err, c.err) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.err)
			continue
		}
		if he.Line != c.line || he.Column != c.column || he.Symbol != c.symbol {
			t.Errorf("%s: at line %d column %d symbol %q, want %d %d %q (%v)", c.name, he.Line, he.Column, he.Symbol, c.line, c.column, c.symbol, err)
		}
		if c.line > 0 && !strings.Contains(err.Error(), fmt.Sprintf("line %d", c.line)) {
			t.Errorf("%s: message %q lacks the line", c.name, err)
		}
		if c.symbol != "" && !strings.Contains(err.Error(), c.symbol) {
			t.Errorf("%s: message %q lacks the symbol", c.name, err)
		}
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestParseHistoricalReadError(t *testing.T) {
	if _, err := ParseHistorical(failingReader{}, []string{"A"}); !errors.Is(err, ErrHistoricalRead) {
		t.Errorf("err = %v", err)
	}
}

func FuzzParseHistorical(f *testing.F) {
	f.Add([]byte(sampleHistorical), "AAA,CCC")
	f.Add([]byte("date,A,B\nd1,1,2\nd2,-0.5,1e-9\n"), "B")
	f.Add([]byte("date,A\nd1,NaN\n"), "A")
	f.Add([]byte("date,A,A\n"), "A")
	f.Add([]byte("DATE,x\r\n1,2\r\n"), "x,y")
	f.Fuzz(func(t *testing.T, data []byte, syms string) {
		symbols := strings.Split(syms, ",")
		s, err := ParseHistorical(strings.NewReader(string(data)), symbols)
		if err != nil {
			var he *HistoricalError
			if !errors.As(err, &he) || he.Err == nil || err.Error() == "" {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
		if s.Underlyings != len(symbols) || s.VolMul != nil || s.Scenarios > HistoricalRowsMax {
			t.Fatalf("shape %d×%d", s.Scenarios, s.Underlyings)
		}
		for _, x := range s.X {
			if math.IsNaN(x) || math.Abs(x) > HistoricalReturnAbsMax {
				t.Fatalf("return %g", x)
			}
		}
		for _, k := range s.Kinds {
			if k != KindHistorical {
				t.Fatalf("kind %v", k)
			}
		}
	})
}
