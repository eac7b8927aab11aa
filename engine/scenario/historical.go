package scenario

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Bounds of a historical returns file.
const (
	HistoricalLineBytesMax   = 64 << 10 // longest line, terminator excluded
	HistoricalColumnsMax     = 4096     // most columns, the date column included
	HistoricalRowsMax        = 100_000  // most observation rows
	HistoricalSymbolBytesMax = 32       // longest symbol or date cell
	// HistoricalReturnAbsMax bounds |log-return|: e^±20 is a factor of 4.9e8.
	HistoricalReturnAbsMax = 20.0
)

// Sentinel errors of ParseHistorical; each comes wrapped in a *HistoricalError.
var (
	ErrHistoricalHeader   = errors.New("bad header")
	ErrHistoricalSymbols  = errors.New("bad requested symbols")
	ErrMissingSymbol      = errors.New("symbol not in file")
	ErrDuplicateSymbol    = errors.New("duplicate symbol")
	ErrBadCell            = errors.New("bad cell")
	ErrNonFinite          = errors.New("non-finite return")
	ErrReturnOutOfRange   = errors.New("return out of range")
	ErrRowWidth           = errors.New("wrong number of cells")
	ErrDuplicateDate      = errors.New("duplicate date")
	ErrNoObservations     = errors.New("no observations")
	ErrHistoricalTooLarge = errors.New("file exceeds bounds")
	ErrHistoricalRead     = errors.New("read failed")
)

// HistoricalError locates a ParseHistorical failure. errors.Is matches its sentinel.
type HistoricalError struct {
	Line   int    // 1-based line, 0 when not tied to a line
	Column int    // 1-based column, 0 when not tied to a cell
	Symbol string // symbol concerned, "" when none
	Err    error  // one of the ErrHistorical…/ErrMissingSymbol/… sentinels
	Detail string // human-readable specifics
}

// Error formats the failure with its location.
func (e *HistoricalError) Error() string {
	var b strings.Builder
	b.WriteString("scenario: historical returns")
	if e.Line > 0 {
		fmt.Fprintf(&b, ": line %d", e.Line)
	}
	if e.Column > 0 {
		fmt.Fprintf(&b, " column %d", e.Column)
	}
	if e.Symbol != "" {
		fmt.Fprintf(&b, " (%s)", e.Symbol)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	return b.String()
}

// Unwrap returns the sentinel.
func (e *HistoricalError) Unwrap() error { return e.Err }

// ParseHistorical reads historical scenarios and maps their columns to symbols, in
// that order (one Set column per requested symbol; file columns not requested are
// ignored but still checked). Each row becomes one KindHistorical scenario with no
// vol multipliers.
//
// Format (CSV, UTF-8, no quoting):
//
//	# comment lines start with '#' (after optional spaces); blank lines are skipped
//	date,SYM1,SYM2,...
//	2024-01-02,-0.0123,0.0045,...
//
// The first other line is the header: "date" (any case) then one symbol per column,
// unique and non-empty. Every following line is one observation: a date label
// (opaque text, unique, non-empty) then the log-return of each symbol over the risk
// horizon, as a decimal number (strconv.ParseFloat syntax), finite, with
// |x| ≤ HistoricalReturnAbsMax. Cells are trimmed of spaces and tabs; a line may end
// in CRLF; a leading UTF-8 byte-order mark is skipped. Bounds: lines of at most
// HistoricalLineBytesMax bytes, at most HistoricalColumnsMax columns, at most
// HistoricalRowsMax observations, symbols and dates of at most
// HistoricalSymbolBytesMax bytes. Errors are *HistoricalError values naming the line,
// column and symbol.
func ParseHistorical(r io.Reader, symbols []string) (*Set, error) {
	if len(symbols) < 1 || len(symbols) > UnderlyingsMax {
		return nil, &HistoricalError{Err: ErrHistoricalSymbols, Detail: fmt.Sprintf("%d symbols requested, want 1..%d", len(symbols), UnderlyingsMax)}
	}
	want := make(map[string]int, len(symbols))
	for i, s := range symbols {
		if s == "" || len(s) > HistoricalSymbolBytesMax {
			return nil, &HistoricalError{Err: ErrHistoricalSymbols, Symbol: s, Detail: fmt.Sprintf("requested symbol %d is empty or longer than %d bytes", i, HistoricalSymbolBytesMax)}
		}
		if _, dup := want[s]; dup {
			return nil, &HistoricalError{Err: ErrHistoricalSymbols, Symbol: s, Detail: "requested twice"}
		}
		want[s] = i
	}

	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), HistoricalLineBytesMax+2) // +2: CRLF
	var (
		line    int
		header  bool
		colOf   []int // file column (0-based, date = 0) → set column, −1 if not requested
		columns int
		xs      []float64
		rows    int
		dates   = make(map[string]int)
		cells   []string
		zeros   = make([]float64, len(symbols))
	)
	for sc.Scan() {
		line++
		text := sc.Bytes()
		if line == 1 {
			text = bytes.TrimPrefix(text, []byte("\xef\xbb\xbf"))
		}
		text = bytes.TrimSuffix(text, []byte("\r"))
		if len(text) > HistoricalLineBytesMax {
			return nil, &HistoricalError{Line: line, Err: ErrHistoricalTooLarge, Detail: fmt.Sprintf("line longer than %d bytes", HistoricalLineBytesMax)}
		}
		trimmed := bytes.TrimLeft(text, " \t")
		if len(trimmed) == 0 || trimmed[0] == '#' {
			continue
		}
		if n := bytes.Count(text, []byte(",")) + 1; n > HistoricalColumnsMax {
			return nil, &HistoricalError{Line: line, Err: ErrHistoricalTooLarge, Detail: fmt.Sprintf("%d columns, at most %d", n, HistoricalColumnsMax)}
		}
		cells = splitCells(cells[:0], string(text))
		if !header {
			header = true
			var err error
			colOf, err = parseHeader(line, cells, want, symbols)
			if err != nil {
				return nil, err
			}
			columns = len(cells)
			continue
		}
		if len(cells) != columns {
			return nil, &HistoricalError{Line: line, Err: ErrRowWidth, Detail: fmt.Sprintf("%d cells, header has %d", len(cells), columns)}
		}
		if rows >= HistoricalRowsMax || (rows+1)*len(symbols) > SetCellsMax {
			return nil, &HistoricalError{Line: line, Err: ErrHistoricalTooLarge, Detail: fmt.Sprintf("more than %d observations", rows)}
		}
		date := cells[0]
		if date == "" || len(date) > HistoricalSymbolBytesMax {
			return nil, &HistoricalError{Line: line, Column: 1, Err: ErrBadCell, Detail: fmt.Sprintf("date must be 1..%d bytes", HistoricalSymbolBytesMax)}
		}
		if first, dup := dates[date]; dup {
			return nil, &HistoricalError{Line: line, Column: 1, Err: ErrDuplicateDate, Detail: fmt.Sprintf("%q first seen on line %d", date, first)}
		}
		dates[date] = line
		row := len(xs)
		xs = append(xs, zeros...)
		for c := 1; c < len(cells); c++ {
			v, err := parseReturn(cells[c])
			if err != nil {
				err.Line, err.Column, err.Symbol = line, c+1, headerSymbol(colOf, c, symbols)
				return nil, err
			}
			if dst := colOf[c]; dst >= 0 {
				xs[row+dst] = v
			}
		}
		rows++
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, &HistoricalError{Line: line + 1, Err: ErrHistoricalTooLarge, Detail: fmt.Sprintf("line longer than %d bytes", HistoricalLineBytesMax)}
		}
		return nil, &HistoricalError{Line: line, Err: ErrHistoricalRead, Detail: err.Error()}
	}
	if !header {
		return nil, &HistoricalError{Err: ErrHistoricalHeader, Detail: "no header line"}
	}
	if rows == 0 {
		return nil, &HistoricalError{Err: ErrNoObservations}
	}
	set := &Set{Scenarios: rows, Underlyings: len(symbols), X: xs, Kinds: make([]Kind, rows)}
	for i := range set.Kinds {
		set.Kinds[i] = KindHistorical
	}
	return set, nil
}

// headerSymbol names file column c (0-based) for an error: the requested symbol it
// maps to, or "" for columns not requested.
func headerSymbol(colOf []int, c int, symbols []string) string {
	if d := colOf[c]; d >= 0 {
		return symbols[d]
	}
	return ""
}

// splitCells splits a line at commas and trims spaces and tabs from each cell.
func splitCells(dst []string, s string) []string {
	for {
		i := strings.IndexByte(s, ',')
		if i < 0 {
			return append(dst, strings.Trim(s, " \t"))
		}
		dst = append(dst, strings.Trim(s[:i], " \t"))
		s = s[i+1:]
	}
}

// parseHeader checks the header cells and maps each file column to its set column.
func parseHeader(line int, cells []string, want map[string]int, symbols []string) ([]int, error) {
	if !strings.EqualFold(cells[0], "date") {
		return nil, &HistoricalError{Line: line, Column: 1, Err: ErrHistoricalHeader, Detail: fmt.Sprintf("first column is %q, want \"date\"", truncate(cells[0]))}
	}
	if len(cells) < 2 {
		return nil, &HistoricalError{Line: line, Err: ErrHistoricalHeader, Detail: "no symbol columns"}
	}
	colOf := make([]int, len(cells))
	colOf[0] = -1
	seen := make(map[string]int, len(cells))
	found := 0
	for c := 1; c < len(cells); c++ {
		s := cells[c]
		if s == "" || len(s) > HistoricalSymbolBytesMax {
			return nil, &HistoricalError{Line: line, Column: c + 1, Err: ErrHistoricalHeader, Detail: fmt.Sprintf("symbol must be 1..%d bytes", HistoricalSymbolBytesMax)}
		}
		if first, dup := seen[s]; dup {
			return nil, &HistoricalError{Line: line, Column: c + 1, Symbol: s, Err: ErrDuplicateSymbol, Detail: fmt.Sprintf("also in column %d", first)}
		}
		seen[s] = c + 1
		colOf[c] = -1
		if d, ok := want[s]; ok {
			colOf[c] = d
			found++
		}
	}
	if found < len(symbols) {
		for _, s := range symbols {
			if _, ok := seen[s]; !ok {
				return nil, &HistoricalError{Line: line, Symbol: s, Err: ErrMissingSymbol}
			}
		}
	}
	return colOf, nil
}

// parseReturn parses one log-return cell.
func parseReturn(cell string) (float64, *HistoricalError) {
	if cell == "" {
		return 0, &HistoricalError{Err: ErrBadCell, Detail: "empty cell"}
	}
	v, err := strconv.ParseFloat(cell, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
			return 0, &HistoricalError{Err: ErrReturnOutOfRange, Detail: fmt.Sprintf("%q", truncate(cell))}
		}
		return 0, &HistoricalError{Err: ErrBadCell, Detail: fmt.Sprintf("%q is not a number", truncate(cell))}
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, &HistoricalError{Err: ErrNonFinite, Detail: fmt.Sprintf("%q", truncate(cell))}
	}
	if math.Abs(v) > HistoricalReturnAbsMax {
		return 0, &HistoricalError{Err: ErrReturnOutOfRange, Detail: fmt.Sprintf("%g exceeds ±%g", v, HistoricalReturnAbsMax)}
	}
	return v, nil
}

// truncate shortens text quoted in errors.
func truncate(s string) string {
	const quoteBytesMax = 40
	if len(s) > quoteBytesMax {
		return s[:quoteBytesMax] + "…"
	}
	return s
}
