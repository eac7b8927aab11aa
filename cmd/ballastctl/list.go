package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ballast-risk/ballast/engine/verdict"
)

// --- list-instruments ---

const listUsage = `usage: ballastctl list-instruments --file FILE [connection flags]

Lists new series on the master's underlyings during the day (admin token)
with POST /v1/instruments. FILE (or - for stdin) is an instrument master
extension document, {"version":1,"instruments":[...]}, each entry in the
master file's form (engine/instrument), at most 60 KiB (about 400
instruments; list more in several files). It must be one JSON object and is
sent byte for byte; the server checks every instrument against its master
and lists all of them or none. HTTP only: --transport http is implied.
Prints one LISTED line per instrument. Fills may book them at once; checks
that involve them are refused (no risk epoch) until the next risk epoch
prices them.
`

// listedInstrument is an instrument as the API answers it.
type listedInstrument struct {
	ID         uint32     `json:"id"`
	Symbol     string     `json:"symbol"`
	Kind       string     `json:"kind"`
	Model      string     `json:"model,omitempty"`
	Underlying string     `json:"underlying"`
	Strike     int64      `json:"strike"`
	Expiry     *time.Time `json:"expiry"`
	Multiplier float64    `json:"multiplier"`
}

// listOut is list-instruments' --json output.
type listOut struct {
	Transport string             `json:"transport"`
	Listed    []listedInstrument `json:"listed"`
}

func runListInstruments(args []string, stdout, stderr io.Writer) int {
	cf := newCommandFlags("list-instruments", listUsage, true, stdout, stderr)
	file := cf.String("file", "", "extension document `FILE`, - for stdin")
	pos, code, ok := cf.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 0 {
		return cf.fail(usageErr("unexpected argument %q", pos[0]))
	}
	data, name, err := readInput(*file, verdict.ListingRecordBytesMax)
	if err != nil {
		return cf.fail(err)
	}
	if len(data) > verdict.ListingRecordBytesMax {
		return cf.fail(fmt.Errorf("%s: exceeds %d bytes: list fewer instruments at a time", name, verdict.ListingRecordBytesMax))
	}
	var shape struct {
		Instruments []json.RawMessage `json:"instruments"`
	}
	if err := json.Unmarshal(data, &shape); err != nil || len(shape.Instruments) == 0 {
		return cf.fail(fmt.Errorf("%s: not an extension document with instruments (%v)", name, err))
	}
	h := newHTTPClient(cf.conn)
	defer h.close()
	out := listOut{Transport: transportHTTP}
	if err := h.do(context.Background(), "POST", "/v1/instruments", json.RawMessage(data), &out); err != nil {
		var he *httpError
		if errors.As(err, &he) && he.Status == 422 {
			return cf.fail(fmt.Errorf("refused, nothing listed: %s", he.Message))
		}
		return cf.fail(err)
	}
	out.Transport = transportHTTP
	if cf.conn.json {
		err = emitJSON(stdout, out)
	} else {
		for _, l := range out.Listed {
			if err = printListed(stdout, &l); err != nil {
				break
			}
		}
	}
	if err != nil {
		return cf.fail(err)
	}
	return exitOK
}

// printListed prints one LISTED line.
func printListed(w io.Writer, l *listedInstrument) error {
	kind := l.Kind
	if l.Model != "" {
		kind += " " + l.Model
	}
	line := fmt.Sprintf("LISTED  id %d  %q  %s  on %s", l.ID, l.Symbol, kind, l.Underlying)
	if l.Strike != 0 {
		line += "  strike " + formatUnits(l.Strike)
	}
	if l.Expiry != nil {
		line += "  expiry " + l.Expiry.UTC().Format(time.RFC3339)
	}
	_, err := fmt.Fprintf(w, "%s  multiplier %g\n", line, l.Multiplier)
	return err
}
