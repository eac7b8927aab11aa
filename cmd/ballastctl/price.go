package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/ballast-risk/ballast/engine/pricing"
)

// stdin is the price command's default input; tests replace it.
var stdin io.Reader = os.Stdin

// priceLineBytesMax bounds one input line of ballastctl price; a longer
// line is answered with an error and skipped.
const priceLineBytesMax = 64 << 10

const priceUsage = `usage: ballastctl price [--file FILE] [--all-greeks]

Prices European options, one JSON object per input line (stdin, or FILE):

  {"id": ANY, "model": "bs"|"black76", "type": "call"|"put",
   "S": spot (bs) | "F": futures price (black76),
   "K": strike, "T": years to expiry, "r": rate, "q": dividend yield, "sigma": vol}

and writes one line per input line, in order:

  {"id", "price", "delta", "gamma", "vega", "theta", "rho"}   (+ "vanna", "volga" with --all-greeks)

"id" is echoed exactly as given (null when absent). "model", "type", "K", "T",
"r", "sigma" and S (bs) or F (black76) are required; "q" is optional (default
0) and applies to bs only. Giving F to bs, or S or q to black76, unknown fields,
non-numeric values and invalid inputs (S, F, K <= 0, T < 0, sigma < 0) are
errors. Units: vega per 1.00 of vol, theta per year of calendar time
(-dV/dT), rho per 1.00 of rate; black76 delta is dV/dF (engine/pricing).

A bad line gets {"id", "error"} and processing continues; blank lines are
skipped; lines over 65536 bytes are errors. Exit status 0 unless reading or
writing fails.
`

func runPrice(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("price", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("file", "", "read JSON lines from `FILE` instead of stdin")
	allGreeks := fs.Bool("all-greeks", false, "also print vanna (d2V/dS dsigma) and volga (d2V/dsigma2)")
	fs.Usage = func() {
		fmt.Fprint(stderr, priceUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return exitUsage
	}
	in := stdin
	if *file != "" {
		f, err := os.Open(*file)
		if err != nil {
			fmt.Fprintf(stderr, "ballastctl price: %v\n", err)
			return exitFail
		}
		defer f.Close()
		in = f
	}
	if err := priceStream(in, stdout, *allGreeks); err != nil {
		fmt.Fprintf(stderr, "ballastctl price: %v\n", err)
		return exitFail
	}
	return exitOK
}

// priceStream answers every line of r on w; it fails only on I/O errors.
func priceStream(r io.Reader, w io.Writer, allGreeks bool) error {
	br := bufio.NewReaderSize(r, priceLineBytesMax+1)
	bw := bufio.NewWriter(w)
	var out []byte
	for {
		line, tooLong, err := readPriceLine(br)
		if err != nil && err != io.EOF {
			bw.Flush()
			return fmt.Errorf("reading input: %w", err)
		}
		if tooLong {
			out = appendPriceError(out[:0], nil, fmt.Sprintf("line exceeds %d bytes", priceLineBytesMax))
			if _, werr := bw.Write(out); werr != nil {
				return werr
			}
		} else if len(bytes.TrimSpace(line)) > 0 {
			out = priceLine(out[:0], line, allGreeks)
			if _, werr := bw.Write(out); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			break
		}
		// Flush whenever the input has nothing more buffered, so that an
		// interactive or piped caller sees each answer promptly.
		if br.Buffered() == 0 {
			if werr := bw.Flush(); werr != nil {
				return werr
			}
		}
	}
	return bw.Flush()
}

// readPriceLine returns the next line without its newline. A line longer
// than priceLineBytesMax is consumed and reported as tooLong.
func readPriceLine(br *bufio.Reader) (line []byte, tooLong bool, err error) {
	line, err = br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		for err == bufio.ErrBufferFull {
			_, err = br.ReadSlice('\n')
		}
		return nil, true, err
	}
	if len(line) > 0 && line[len(line)-1] == '\n' {
		line = line[:len(line)-1]
	}
	if len(line) > priceLineBytesMax {
		return nil, true, err
	}
	return line, false, err
}

// priceLine appends the answer (one JSON line) to one input line.
func priceLine(dst, line []byte, allGreeks bool) []byte {
	id, in, err := parsePriceLine(line)
	if err != nil {
		return appendPriceError(dst, id, err.Error())
	}
	g, err := pricing.Compute(in)
	if err != nil {
		return appendPriceError(dst, id, err.Error())
	}
	dst = append(dst, `{"id":`...)
	dst = appendPriceID(dst, id)
	for _, f := range []struct {
		key string
		v   float64
	}{{"price", g.Price}, {"delta", g.Delta}, {"gamma", g.Gamma}, {"vega", g.Vega}, {"theta", g.Theta}, {"rho", g.Rho}} {
		dst = appendPriceField(dst, f.key, f.v)
	}
	if allGreeks {
		dst = appendPriceField(dst, "vanna", g.Vanna)
		dst = appendPriceField(dst, "volga", g.Volga)
	}
	return append(dst, "}\n"...)
}

func appendPriceID(dst, id []byte) []byte {
	if id == nil {
		return append(dst, "null"...)
	}
	return append(dst, id...)
}

func appendPriceField(dst []byte, key string, v float64) []byte {
	if v == 0 {
		v = 0 // print −0 as 0
	}
	dst = append(dst, `,"`...)
	dst = append(dst, key...)
	dst = append(dst, `":`...)
	return strconv.AppendFloat(dst, v, 'g', -1, 64)
}

func appendPriceError(dst, id []byte, msg string) []byte {
	dst = append(dst, `{"id":`...)
	dst = appendPriceID(dst, id)
	dst = append(dst, `,"error":`...)
	q, _ := json.Marshal(msg) // a string always marshals
	dst = append(dst, q...)
	return append(dst, "}\n"...)
}

// parsePriceLine decodes one request. id is the raw JSON of the "id" member
// (nil when absent or when the line is not a JSON object); keys match
// exactly (case-sensitive: "S" and "s" differ).
func parsePriceLine(line []byte) (id []byte, in pricing.Inputs, err error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(line, &m); err != nil {
		return nil, in, fmt.Errorf("invalid JSON object: %v", err)
	}
	if m == nil {
		return nil, in, errors.New("invalid JSON object: null")
	}
	if raw, ok := m["id"]; ok {
		id = bytes.TrimSpace(raw)
	}
	str := func(key string) (string, error) {
		raw, ok := m[key]
		if !ok {
			return "", fmt.Errorf("missing %q", key)
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			return "", fmt.Errorf("%q must be a string", key)
		}
		return s, nil
	}
	num := func(key string) (float64, bool, error) {
		raw, ok := m[key]
		if !ok {
			return 0, false, nil
		}
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
			return 0, true, fmt.Errorf("%q must be a number", key)
		}
		v, err := strconv.ParseFloat(string(raw), 64)
		if err != nil {
			return 0, true, fmt.Errorf("%q: %s is not a float64", key, raw)
		}
		return v, true, nil
	}
	for k := range m {
		switch k {
		case "id", "model", "type", "S", "F", "K", "T", "r", "q", "sigma":
		default:
			return id, in, fmt.Errorf("unknown field %q", k)
		}
	}
	ms, err := str("model")
	if err != nil {
		return id, in, err
	}
	if in.Model, err = pricing.ParseModel(ms); err != nil {
		return id, in, err
	}
	ts, err := str("type")
	if err != nil {
		return id, in, err
	}
	if in.Kind, err = pricing.ParseKind(ts); err != nil {
		return id, in, err
	}
	under, other := "S", "F"
	if in.Model == pricing.ModelBlack76 {
		under, other = "F", "S"
	}
	if _, ok := m[other]; ok {
		return id, in, fmt.Errorf("%q does not apply to model %q (use %q)", other, ms, under)
	}
	if in.Model == pricing.ModelBlack76 {
		if _, ok := m["q"]; ok {
			return id, in, errors.New(`"q" does not apply to model "black76"`)
		}
	}
	for _, f := range []struct {
		key      string
		dst      *float64
		required bool
	}{
		{under, &in.S, true},
		{"K", &in.K, true},
		{"T", &in.T, true},
		{"r", &in.R, true},
		{"q", &in.Q, false},
		{"sigma", &in.Sigma, true},
	} {
		v, ok, err := num(f.key)
		if err != nil {
			return id, in, err
		}
		if !ok && f.required {
			return id, in, fmt.Errorf("missing %q", f.key)
		}
		*f.dst = v
	}
	return id, in, nil
}
