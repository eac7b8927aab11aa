package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ballast-risk/ballast/engine/attest"
	"github.com/ballast-risk/ballast/engine/sbe"
	"github.com/ballast-risk/ballast/engine/verdict/client"
)

// --- results (the --json objects) ---

// checkOut is one verdict.
type checkOut struct {
	Transport              string `json:"transport"`
	Account                uint64 `json:"account"`
	Instrument             uint32 `json:"instrument"`
	Side                   string `json:"side"`
	Qty                    int64  `json:"qty"`
	Price                  int64  `json:"price"`
	Decision               string `json:"decision"`
	Reason                 string `json:"reason"`
	State                  string `json:"state"`
	Epoch                  uint64 `json:"epoch"`
	Equity                 int64  `json:"equity"`
	InitialMargin          int64  `json:"initial_margin"`
	MaintenanceMargin      int64  `json:"maintenance_margin"`
	PostTradeEquity        *int64 `json:"post_trade_equity,omitempty"` // HTTP only
	PostTradeInitialMargin int64  `json:"post_trade_initial_margin"`
}

// collateralOut is an account's balances per tier (HTTP only).
type collateralOut struct {
	Cash       int64 `json:"cash"`
	Verified   int64 `json:"verified"`
	CreditLine int64 `json:"credit_line"`
}

// positionOut is one position (HTTP only).
type positionOut struct {
	Instrument uint32 `json:"instrument"`
	Qty        int64  `json:"qty"`
	Price      int64  `json:"price"`
	Mark       int64  `json:"mark"`
}

// accountOut is an account's margin status; the pointer fields come only
// over HTTP (the SBE AccountStatus does not carry them).
type accountOut struct {
	Transport          string         `json:"transport"`
	Account            uint64         `json:"account"`
	Firm               string         `json:"firm,omitempty"`
	State              string         `json:"state"`
	Epoch              uint64         `json:"epoch"`
	Equity             int64          `json:"equity"`
	UnrealisedPnL      *int64         `json:"unrealised_pnl,omitempty"`
	Collateral         *collateralOut `json:"collateral,omitempty"`
	WeightedCollateral *int64         `json:"weighted_collateral,omitempty"`
	InitialMargin      int64          `json:"initial_margin"`
	MaintenanceMargin  int64          `json:"maintenance_margin"`
	VaR                int64          `json:"var"`
	ES                 int64          `json:"es"`
	Stress             *int64         `json:"stress,omitempty"`
	HealthFactor       int64          `json:"health_factor"`
	Stale              *bool          `json:"stale,omitempty"`
	AttestationExpired *bool          `json:"attestation_expired,omitempty"`
	RiskUnknown        *bool          `json:"risk_unknown,omitempty"`
	Positions          *[]positionOut `json:"positions,omitempty"`
}

// fillOut is a booked fill.
type fillOut struct {
	Transport  string `json:"transport"`
	Status     string `json:"status"`
	ExecID     uint64 `json:"exec_id"`
	Account    uint64 `json:"account"`
	Instrument uint32 `json:"instrument"`
	Side       string `json:"side"`
	Qty        int64  `json:"qty"`
	Price      int64  `json:"price"`
}

// attestOut is an accepted statement or a rejection.
type attestOut struct {
	Transport  string `json:"transport"`
	Accepted   bool   `json:"accepted"`
	Account    uint64 `json:"account,omitempty"`
	Value      int64  `json:"value,omitempty"`
	Asset      string `json:"asset,omitempty"`
	IssuedAt   string `json:"issued_at,omitempty"`
	ValidUntil string `json:"valid_until,omitempty"`
	Nonce      uint64 `json:"nonce,omitempty"`
	Attestor   string `json:"attestor,omitempty"`
	Error      string `json:"error,omitempty"`
	Reason     string `json:"reason,omitempty"`
}

// noticeOut is one margin state change.
type noticeOut struct {
	Transport         string `json:"transport"`
	ReceivedAt        string `json:"received_at"`
	EventID           string `json:"event_id,omitempty"` // HTTP only
	Account           uint64 `json:"account"`
	Firm              string `json:"firm,omitempty"` // HTTP only
	From              string `json:"from,omitempty"` // HTTP only
	State             string `json:"state"`
	Epoch             uint64 `json:"epoch"`
	Equity            int64  `json:"equity"`
	InitialMargin     int64  `json:"initial_margin"`
	MaintenanceMargin int64  `json:"maintenance_margin"`
}

// emit prints v as one JSON line.
func emitJSON(w io.Writer, v any) error {
	return json.NewEncoder(w).Encode(v)
}

// --- check ---

const checkUsage = `usage: ballastctl check --account N --instrument ID --side buy|sell --qty Q [--price P] [connection flags]

Asks for a pre-trade verdict: may the account place this order? --price is in
currency units with at most 4 decimals (sent exactly as 1/10,000 units);
omitted or 0 means at the mark. Prints ACCEPT or REJECT with the reason, the
account's state, the epoch, equity and IM before → after the order (over HTTP
also the post-trade equity). A REJECT is an answer, not a failure: exit 0.
A firm's token naming another firm's account gets REJECT NOT_AUTHORISED over
SBE and HTTP 403 (exit 1) over HTTP.
`

func runCheck(args []string, stdout, stderr io.Writer) int {
	cf := newCommandFlags("check", checkUsage, false, stdout, stderr)
	var oa orderArgs
	oa.register(cf)
	pos, code, ok := cf.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 0 {
		return cf.fail(usageErr("unexpected argument %q", pos[0]))
	}
	oc, err := oa.order(cf, false)
	if err != nil {
		return cf.fail(err)
	}
	out := checkOut{Transport: cf.conn.transport, Account: oc.Account, Instrument: oc.Instrument,
		Side: sideName(oc.Side), Qty: oc.Qty, Price: oc.Price}
	ctx := context.Background()
	switch cf.conn.transport {
	case transportSBE:
		cn, err := cf.conn.dialSBE(ctx)
		if err != nil {
			return cf.fail(err)
		}
		defer cn.Close()
		c, cancel := context.WithTimeout(ctx, cf.conn.timeout)
		v, err := cn.Check(c, oc)
		cancel()
		if err != nil {
			return cf.fail(err)
		}
		out.Decision = strings.ToLower(v.Decision.String())
		out.Reason, out.State, out.Epoch = reasonText(v.Reason), v.State.String(), v.Epoch
		out.Equity, out.InitialMargin, out.MaintenanceMargin = v.Equity, v.InitialMargin, v.MaintenanceMargin
		out.PostTradeInitialMargin = v.PostTradeInitialMargin
	case transportHTTP:
		h := newHTTPClient(cf.conn)
		defer h.close()
		req := struct {
			Account    uint64 `json:"account"`
			Instrument uint32 `json:"instrument"`
			Side       string `json:"side"`
			Qty        int64  `json:"qty"`
			Price      int64  `json:"price"`
		}{oc.Account, oc.Instrument, out.Side, oc.Qty, oc.Price}
		var res struct {
			Decision               string `json:"decision"`
			Reason                 string `json:"reason"`
			State                  string `json:"state"`
			Epoch                  uint64 `json:"epoch"`
			Equity                 int64  `json:"equity"`
			InitialMargin          int64  `json:"initial_margin"`
			MaintenanceMargin      int64  `json:"maintenance_margin"`
			PostTradeEquity        int64  `json:"post_trade_equity"`
			PostTradeInitialMargin int64  `json:"post_trade_initial_margin"`
		}
		if err := h.do(ctx, "POST", "/v1/check", req, &res); err != nil {
			return cf.fail(err)
		}
		if res.Decision != "accept" && res.Decision != "reject" {
			return cf.fail(fmt.Errorf("POST /v1/check: decision %q is neither accept nor reject", res.Decision))
		}
		out.Decision, out.Reason, out.State, out.Epoch = res.Decision, res.Reason, res.State, res.Epoch
		out.Equity, out.InitialMargin, out.MaintenanceMargin = res.Equity, res.InitialMargin, res.MaintenanceMargin
		out.PostTradeEquity, out.PostTradeInitialMargin = &res.PostTradeEquity, res.PostTradeInitialMargin
	}
	if cf.conn.json {
		err = emitJSON(stdout, out)
	} else {
		_, err = io.WriteString(stdout, formatCheck(&out))
	}
	if err != nil {
		return cf.fail(err)
	}
	return exitOK
}

// formatCheck is check's human-readable line.
func formatCheck(o *checkOut) string {
	var b strings.Builder
	b.WriteString(strings.ToUpper(o.Decision))
	if o.Decision != "accept" {
		b.WriteString("  " + reasonName(o.Reason))
	}
	fmt.Fprintf(&b, "  account %d  state %s  epoch %d  %s %s %s", o.Account, o.State, o.Epoch,
		strings.ToUpper(o.Side), formatQty(o.Qty), describeInstrument(o.Instrument))
	if o.Price == 0 {
		b.WriteString(" @ mark")
	} else {
		b.WriteString(" @ " + formatUnits(o.Price))
	}
	b.WriteString("  equity " + formatUnits(o.Equity))
	if o.PostTradeEquity != nil {
		b.WriteString(" → " + formatUnits(*o.PostTradeEquity))
	}
	fmt.Fprintf(&b, "  IM %s → %s  MM %s\n", formatUnits(o.InitialMargin), formatUnits(o.PostTradeInitialMargin),
		formatUnits(o.MaintenanceMargin))
	return b.String()
}

func describeInstrument(id uint32) string { return "instrument " + strconv.FormatUint(uint64(id), 10) }

// --- account ---

const accountUsage = `usage: ballastctl account N [connection flags]
       ballastctl account --account N [connection flags]

Prints an account's margin status: state, epoch, equity, IM, MM, VaR, ES and
health factor; over HTTP also the firm, collateral by tier, unrealised P&L,
stress loss, the fail-closed flags and the positions.
`

func runAccount(args []string, stdout, stderr io.Writer) int {
	cf := newCommandFlags("account", accountUsage, false, stdout, stderr)
	acct := cf.Uint64("account", 0, "account `ID`")
	pos, code, ok := cf.parse(args)
	if !ok {
		return code
	}
	id := *acct
	switch {
	case len(pos) > 1:
		return cf.fail(usageErr("unexpected argument %q", pos[1]))
	case len(pos) == 1:
		n, err := parseAccount(pos[0])
		if err != nil {
			return cf.fail(err)
		}
		if id != 0 && id != n {
			return cf.fail(usageErr("two different accounts: %d and %d", id, n))
		}
		id = n
	}
	if id == 0 {
		return cf.fail(usageErr("an account id is required"))
	}
	out, err := queryAccount(context.Background(), cf.conn, id)
	if err != nil {
		return cf.fail(err)
	}
	return printAccount(cf, out, "")
}

// queryAccount fetches an account's status over the chosen transport.
func queryAccount(ctx context.Context, c *conn, id uint64) (*accountOut, error) {
	if c.transport == transportSBE {
		cn, err := c.dialSBE(ctx)
		if err != nil {
			return nil, err
		}
		defer cn.Close()
		cctx, cancel := context.WithTimeout(ctx, c.timeout)
		defer cancel()
		st, err := cn.Query(cctx, id)
		if err != nil {
			return nil, err
		}
		return &accountOut{Transport: transportSBE, Account: st.Account, State: st.State.String(), Epoch: st.Epoch,
			Equity: st.Equity, InitialMargin: st.InitialMargin, MaintenanceMargin: st.MaintenanceMargin,
			VaR: st.Var, ES: st.ES, HealthFactor: st.HealthFactor}, nil
	}
	h := newHTTPClient(c)
	defer h.close()
	var out accountOut
	if err := h.do(ctx, "GET", "/v1/accounts/"+strconv.FormatUint(id, 10), nil, &out); err != nil {
		return nil, err
	}
	out.Transport = transportHTTP
	return &out, nil
}

// printAccount writes an account status (after an optional header line).
func printAccount(cf *commandFlags, out *accountOut, header string) int {
	var err error
	if cf.conn.json {
		err = emitJSON(cf.out, out)
	} else {
		_, err = io.WriteString(cf.out, header+formatAccount(out))
	}
	if err != nil {
		return cf.fail(err)
	}
	return exitOK
}

// formatAccount is the human-readable account status.
func formatAccount(a *accountOut) string {
	var b strings.Builder
	fmt.Fprintf(&b, "account %d", a.Account)
	if a.Firm != "" {
		fmt.Fprintf(&b, " (%s)", a.Firm)
	}
	fmt.Fprintf(&b, "  %s  epoch %d\n", a.State, a.Epoch)
	row := func(name, v string) { fmt.Fprintf(&b, "  %-22s %22s\n", name, v) }
	opt := func(name string, v *int64) {
		if v != nil {
			row(name, formatUnits(*v))
		}
	}
	row("equity", formatUnits(a.Equity))
	opt("unrealised P&L", a.UnrealisedPnL)
	if c := a.Collateral; c != nil {
		row("cash", formatUnits(c.Cash))
		row("verified", formatUnits(c.Verified))
		row("credit line", formatUnits(c.CreditLine))
	}
	opt("weighted collateral", a.WeightedCollateral)
	row("initial margin", formatUnits(a.InitialMargin))
	row("maintenance margin", formatUnits(a.MaintenanceMargin))
	row("VaR", formatUnits(a.VaR))
	row("ES", formatUnits(a.ES))
	opt("stress loss", a.Stress)
	hf := formatUnits(a.HealthFactor)
	if a.HealthFactor == math.MaxInt64 {
		hf = "∞"
	}
	row("health factor", hf)
	var flags []string
	for _, f := range []struct {
		name string
		v    *bool
	}{{"STALE", a.Stale}, {"ATTESTATION_EXPIRED", a.AttestationExpired}, {"RISK_UNKNOWN", a.RiskUnknown}} {
		if f.v != nil && *f.v {
			flags = append(flags, f.name)
		}
	}
	if len(flags) > 0 {
		row("flags", strings.Join(flags, " "))
	}
	if a.Positions != nil {
		if len(*a.Positions) == 0 {
			b.WriteString("  no positions\n")
		} else {
			fmt.Fprintf(&b, "  %10s %16s %16s %16s\n", "instrument", "qty", "price", "mark")
			for _, p := range *a.Positions {
				fmt.Fprintf(&b, "  %10d %16s %16s %16s\n", p.Instrument, formatQty(p.Qty), formatUnits(p.Price), formatUnits(p.Mark))
			}
		}
	}
	return b.String()
}

// --- fill ---

const fillUsage = `usage: ballastctl fill --account N --instrument ID --side buy|sell --qty Q --price P --exec-id E [connection flags]

Books an execution (admin token). The answer comes once the fill is journalled
(fsynced) and applied; an exec id already applied is refused (DUPLICATE_FILL
over SBE, HTTP 409) and not applied twice, so a fill whose answer was lost may
be retried with the same --exec-id. --price is in currency units, at most 4
decimals.
`

func runFill(args []string, stdout, stderr io.Writer) int {
	cf := newCommandFlags("fill", fillUsage, false, stdout, stderr)
	var oa orderArgs
	oa.register(cf)
	execID := cf.Uint64("exec-id", 0, "the execution's `ID` (required; duplicates are refused)")
	pos, code, ok := cf.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 0 {
		return cf.fail(usageErr("unexpected argument %q", pos[0]))
	}
	oc, err := oa.order(cf, true)
	if err != nil {
		return cf.fail(err)
	}
	if !cf.set("exec-id") {
		return cf.fail(usageErr("--exec-id is required"))
	}
	out := fillOut{Transport: cf.conn.transport, Status: "ok", ExecID: *execID, Account: oc.Account,
		Instrument: oc.Instrument, Side: sideName(oc.Side), Qty: oc.Qty, Price: oc.Price}
	ctx := context.Background()
	switch cf.conn.transport {
	case transportSBE:
		cn, err := cf.conn.dialSBE(ctx)
		if err != nil {
			return cf.fail(err)
		}
		defer cn.Close()
		c, cancel := context.WithTimeout(ctx, cf.conn.timeout)
		err = cn.Fill(c, sbe.Fill{Account: oc.Account, Instrument: oc.Instrument, Side: oc.Side, Qty: oc.Qty,
			Price: oc.Price, ExecID: *execID})
		cancel()
		var se *client.ServerError
		if errors.As(err, &se) && se.Code == sbe.ErrorCodeDuplicateFill {
			err = fmt.Errorf("server refused: DUPLICATE_FILL: exec id %d was already applied (not applied again)", *execID)
		}
		if err != nil {
			return cf.fail(err)
		}
	case transportHTTP:
		h := newHTTPClient(cf.conn)
		defer h.close()
		req := struct {
			Account    uint64 `json:"account"`
			Instrument uint32 `json:"instrument"`
			Side       string `json:"side"`
			Qty        int64  `json:"qty"`
			Price      int64  `json:"price"`
			ExecID     uint64 `json:"exec_id"`
		}{oc.Account, oc.Instrument, out.Side, oc.Qty, oc.Price, *execID}
		var res struct {
			Status string `json:"status"`
			ExecID uint64 `json:"exec_id"`
		}
		err := h.do(ctx, "POST", "/v1/fills", req, &res)
		var he *httpError
		if errors.As(err, &he) && he.Status == 409 {
			err = fmt.Errorf("%w (exec id %d was already applied; not applied again)", err, *execID)
		}
		if err != nil {
			return cf.fail(err)
		}
		if res.Status != "ok" || res.ExecID != *execID {
			return cf.fail(fmt.Errorf("POST /v1/fills: unexpected answer status %q exec_id %d", res.Status, res.ExecID))
		}
	}
	if cf.conn.json {
		err = emitJSON(stdout, out)
	} else {
		_, err = fmt.Fprintf(stdout, "FILLED  exec id %d  account %d  %s %s %s @ %s\n", out.ExecID, out.Account,
			strings.ToUpper(out.Side), formatQty(out.Qty), describeInstrument(out.Instrument), formatUnits(out.Price))
	}
	if err != nil {
		return cf.fail(err)
	}
	return exitOK
}

// --- collateral ---

const collateralUsage = `usage: ballastctl collateral --account N --tier cash|credit_line --amount X [connection flags]

Sets an account's cash or credit-line balance (admin token) with
PUT /v1/accounts/{id}/collateral and prints the account's new status. HTTP
only (the verdict protocol has no such message): --transport http is implied.
--amount is in currency units, at most 4 decimals; a credit line cannot be
negative. The verified tier comes only from attestations (see attest).
`

func runCollateral(args []string, stdout, stderr io.Writer) int {
	cf := newCommandFlags("collateral", collateralUsage, true, stdout, stderr)
	acct := cf.Uint64("account", 0, "account `ID`")
	tier := cf.String("tier", "", "cash or credit_line")
	amount := cf.String("amount", "", "new balance in currency `units`, at most 4 decimals")
	pos, code, ok := cf.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 0 {
		return cf.fail(usageErr("unexpected argument %q", pos[0]))
	}
	switch {
	case *acct == 0:
		return cf.fail(usageErr("--account is required (a positive id)"))
	case *tier != "cash" && *tier != "credit_line":
		return cf.fail(usageErr("--tier %q: want cash or credit_line (verified comes from attestations)", *tier))
	case *amount == "":
		return cf.fail(usageErr("--amount is required"))
	}
	units, err := parseUnits(*amount)
	if err != nil {
		return cf.fail(usageErr("--amount: %v", err))
	}
	if *tier == "credit_line" && units < 0 {
		return cf.fail(usageErr("a credit line cannot be negative"))
	}
	h := newHTTPClient(cf.conn)
	defer h.close()
	req := struct {
		Tier   string `json:"tier"`
		Amount int64  `json:"amount"`
	}{*tier, units}
	var out accountOut
	if err := h.do(context.Background(), "PUT", "/v1/accounts/"+strconv.FormatUint(*acct, 10)+"/collateral", req, &out); err != nil {
		return cf.fail(err)
	}
	out.Transport = transportHTTP
	return printAccount(cf, &out, fmt.Sprintf("SET  account %d  %s %s\n", *acct, *tier, formatUnits(units)))
}

// --- attest ---

const attestUsage = `usage: ballastctl attest --file FILE|- [connection flags]

Submits a signed credit attestation (admin token) with POST /v1/attestations:
FILE (or - for stdin) holds its JSON wire form (engine/attest: account, value
in 1/10,000, optional asset, issued_at, valid_until, nonce, attestor,
signature), at most 4,096 bytes. The file is checked locally first and sent
byte for byte. HTTP only (the verdict protocol has no such message):
--transport http is implied. Prints ACCEPTED with the statement, or REJECTED
with the verifier's reason (bad signature, unknown attestor, expired, replay,
...) and exits 1.
`

func runAttest(args []string, stdout, stderr io.Writer) int {
	cf := newCommandFlags("attest", attestUsage, true, stdout, stderr)
	file := cf.String("file", "", "attestation JSON `FILE`, - for stdin")
	pos, code, ok := cf.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 0 {
		return cf.fail(usageErr("unexpected argument %q", pos[0]))
	}
	data, name, err := readInput(*file, attest.BodyBytesMax)
	if err != nil {
		return cf.fail(err)
	}
	if _, err := attest.ParseJSON(data); err != nil {
		return cf.fail(fmt.Errorf("%s: %v", name, err))
	}
	h := newHTTPClient(cf.conn)
	defer h.close()
	out := attestOut{Transport: transportHTTP}
	err = h.do(context.Background(), "POST", "/v1/attestations", json.RawMessage(data), &out)
	var he *httpError
	switch {
	case errors.As(err, &he) && he.Status == 422 && he.Reason != "":
		out = attestOut{Transport: transportHTTP, Error: he.Message, Reason: he.Reason}
		if cf.conn.json {
			err = emitJSON(stdout, out)
		} else {
			_, err = fmt.Fprintf(stdout, "REJECTED  %s  (%s)\n", out.Reason, out.Error)
		}
		if err != nil {
			return cf.fail(err)
		}
		return exitFail
	case err != nil:
		return cf.fail(err)
	}
	out.Transport, out.Accepted = transportHTTP, true
	if cf.conn.json {
		err = emitJSON(stdout, out)
	} else {
		asset := ""
		if out.Asset != "" {
			asset = "  asset " + strconv.Quote(out.Asset)
		}
		_, err = fmt.Fprintf(stdout, "ACCEPTED  account %d  value %s%s  attestor %s  nonce %d  valid %s → %s\n",
			out.Account, formatUnits(out.Value), asset, out.Attestor, out.Nonce, out.IssuedAt, out.ValidUntil)
	}
	if err != nil {
		return cf.fail(err)
	}
	return exitOK
}

// readInput reads the file named by a --file flag (- for stdin; required)
// and returns at most limit+1 bytes of it, so that the caller can refuse a
// larger one, with the name its errors should use.
func readInput(file string, limit int) ([]byte, string, error) {
	if file == "" {
		return nil, "", usageErr("--file is required (- for stdin)")
	}
	in, name := stdin, "stdin"
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, file, err
		}
		defer f.Close()
		in, name = f, file
	}
	data, err := io.ReadAll(io.LimitReader(in, int64(limit)+1))
	if err != nil {
		return nil, name, fmt.Errorf("%s: %v", name, err)
	}
	return data, name, nil
}

// --- watch ---

const watchUsage = `usage: ballastctl watch [--account N] [--count N] [--duration D] [connection flags]

Prints margin state changes (MarginNotice) as the server pushes them: over SBE
the notices of the logged-in session, over HTTP the GET /v1/stream
server-sent events (which add the firm and the previous state). A firm's
token sees only its own accounts. --account N keeps one account's notices
(and checks first that the token may read it). Runs until SIGINT or SIGTERM,
--duration D or --count N notices; these end it with exit 0, a lost
connection with exit 1 (it does not reconnect: read the current state with
'ballastctl account' after a reconnect). Over SBE a query every 20 s keeps
the connection from the server's idle time-out.
`

// keepaliveInterval is how often watch over SBE sends a query so that the
// server's idle time-out (60 s by default) does not close the session.
const keepaliveInterval = 20 * time.Second

// noticesCountMax bounds --count.
const noticesCountMax = 1 << 40

func runWatch(args []string, stdout, stderr io.Writer) int {
	cf := newCommandFlags("watch", watchUsage, false, stdout, stderr)
	acct := cf.Uint64("account", 0, "only this account `ID`")
	count := cf.Int64("count", 0, "stop after `N` notices (0: no limit)")
	duration := cf.Duration("duration", 0, "stop after this long (0: until interrupted)")
	pos, code, ok := cf.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 0 {
		return cf.fail(usageErr("unexpected argument %q", pos[0]))
	}
	if *count < 0 || *count > noticesCountMax {
		return cf.fail(usageErr("--count must be in [0, %d]", int64(noticesCountMax)))
	}
	if *duration < 0 {
		return cf.fail(usageErr("--duration must not be negative"))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	w := &watcher{cf: cf, account: *acct, countMax: *count}
	var err error
	if cf.conn.transport == transportSBE {
		err = w.watchSBE(ctx)
	} else {
		err = w.watchHTTP(ctx)
	}
	if err != nil {
		return cf.fail(err)
	}
	return exitOK
}

// watcher prints notices until its count is reached.
type watcher struct {
	cf       *commandFlags
	account  uint64
	countMax int64
	count    int64
}

// print writes one notice; false when the count is reached or the output
// failed (err set).
func (w *watcher) print(n *noticeOut) (more bool, err error) {
	if w.account != 0 && n.Account != w.account {
		return true, nil
	}
	n.ReceivedAt = time.Now().UTC().Format(time.RFC3339Nano)
	if w.cf.conn.json {
		err = emitJSON(w.cf.out, n)
	} else {
		_, err = io.WriteString(w.cf.out, formatNotice(n))
	}
	if err != nil {
		return false, err
	}
	w.count++
	return w.countMax == 0 || w.count < w.countMax, nil
}

// formatNotice is watch's human-readable line.
func formatNotice(n *noticeOut) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s  account %d", n.ReceivedAt, n.Account)
	if n.Firm != "" {
		fmt.Fprintf(&b, " (%s)", n.Firm)
	}
	b.WriteString("  ")
	if n.From != "" {
		b.WriteString(n.From + " → ")
	}
	fmt.Fprintf(&b, "%s  epoch %d  equity %s  IM %s  MM %s\n", n.State, n.Epoch, formatUnits(n.Equity),
		formatUnits(n.InitialMargin), formatUnits(n.MaintenanceMargin))
	return b.String()
}

func (w *watcher) started(where string) {
	fmt.Fprintf(w.cf.errw, "ballastctl watch: watching margin notices on %s (%s); interrupt to stop\n", where, w.cf.conn.transport)
}

func (w *watcher) watchSBE(ctx context.Context) error {
	c := w.cf.conn
	cn, err := c.dialSBE(ctx)
	if err != nil {
		return err
	}
	defer cn.Close()
	if w.account != 0 {
		qctx, cancel := context.WithTimeout(ctx, c.timeout)
		_, err := cn.Query(qctx, w.account)
		cancel()
		if err != nil {
			return fmt.Errorf("account %d: %w", w.account, c.describe(err))
		}
	}
	w.started(c.sbeAddr)
	kctx, kcancel := context.WithCancel(ctx)
	defer kcancel()
	go keepalive(kctx, cn, w.account, c.timeout)
	defer func() {
		if d := cn.NoticesDropped(); d > 0 {
			fmt.Fprintf(w.cf.errw, "ballastctl watch: %d notices dropped (output too slow)\n", d)
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case n, ok := <-cn.Notices():
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("connection lost: %w", c.describe(cn.Err()))
			}
			out := noticeOut{Transport: transportSBE, Account: n.Account, State: n.State.String(), Epoch: n.Epoch,
				Equity: n.Equity, InitialMargin: n.InitialMargin, MaintenanceMargin: n.MaintenanceMargin}
			more, err := w.print(&out)
			if err != nil || !more {
				return err
			}
		}
	}
}

// keepalive queries account (0: an id no account has; the error answer
// still counts as traffic) every keepaliveInterval until ctx ends or the
// connection fails.
func keepalive(ctx context.Context, cn *client.Conn, account uint64, timeout time.Duration) {
	t := time.NewTicker(keepaliveInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		qctx, cancel := context.WithTimeout(ctx, timeout)
		_, err := cn.Query(qctx, account)
		cancel()
		var se *client.ServerError
		if err != nil && !errors.As(err, &se) {
			return // the connection is gone: the notice loop sees it closed
		}
	}
}

func (w *watcher) watchHTTP(ctx context.Context) error {
	c := w.cf.conn
	h := newHTTPClient(c)
	defer h.close()
	if w.account != 0 {
		var a accountOut
		if err := h.do(ctx, "GET", "/v1/accounts/"+strconv.FormatUint(w.account, 10), nil, &a); err != nil {
			return fmt.Errorf("account %d: %w", w.account, err)
		}
	}
	var perr error
	err := h.stream(ctx, "/v1/stream", func(ev sseEvent) bool {
		if ev.Event != "margin" {
			return true
		}
		var n noticeOut
		if err := json.Unmarshal(ev.Data, &n); err != nil {
			fmt.Fprintf(w.cf.errw, "ballastctl watch: skipping unreadable event %s: %v\n", strconv.Quote(ev.ID), err)
			return true
		}
		n.Transport, n.EventID = transportHTTP, ev.ID
		more, err := w.print(&n)
		if err != nil {
			perr = err
		}
		return more && err == nil
	}, func() { w.started(c.base.String()) })
	if perr != nil {
		return perr
	}
	return err
}
