package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ballast-risk/ballast/engine/account"
	"github.com/ballast-risk/ballast/engine/sbe"
	"github.com/ballast-risk/ballast/engine/verdict/client"
)

// Defaults of the online commands' connection flags (DESIGN §5.4's
// ballastd listens on these in `make run`).
const (
	defaultSBEAddr = "127.0.0.1:9070"
	defaultHTTPURL = "http://127.0.0.1:8080"
	defaultTimeout = 5 * time.Second
	// tokenEnv names the environment variable holding the default token.
	tokenEnv = "BALLAST_TOKEN"
	// timeoutMax bounds --timeout.
	timeoutMax = 10 * time.Minute
	// httpTokenBytesMax bounds a bearer token (httpapi.TokenBytesMax).
	httpTokenBytesMax = 512
)

// Transports.
const (
	transportSBE  = "sbe"
	transportHTTP = "http"
)

// errUsage marks an error that is the caller's fault (exit 2).
var errUsage = errors.New("usage")

// usageErr returns a usage error with a message.
func usageErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errUsage}, args...)...)
}

// conn holds the connection flags shared by the online commands.
type conn struct {
	sbeAddr   string
	httpURL   string
	transport string
	token     string
	timeout   time.Duration
	json      bool

	httpOnly bool
	base     *url.URL // parsed httpURL
}

// addConnFlags registers the shared flags on fs; httpOnly commands (no
// such message in the SBE protocol) accept only --transport http.
func addConnFlags(fs *flag.FlagSet, httpOnly bool) *conn {
	c := &conn{httpOnly: httpOnly}
	def := transportSBE
	if httpOnly {
		def = transportHTTP
	}
	fs.StringVar(&c.sbeAddr, "sbe", defaultSBEAddr, "verdict protocol (SBE over TCP) `ADDR`ess")
	fs.StringVar(&c.httpURL, "http", defaultHTTPURL, "HTTP API base `URL`")
	fs.StringVar(&c.transport, "transport", def, "`sbe` or http")
	fs.StringVar(&c.token, "token", "", "bearer `SECRET` (default: $"+tokenEnv+")")
	fs.DurationVar(&c.timeout, "timeout", defaultTimeout, "time allowed to connect and answer")
	fs.BoolVar(&c.json, "json", false, "print one JSON object per result")
	return c
}

// connUsage is the usage text of the shared flags.
const connUsage = `
connection flags (every online command):
  --sbe ADDR           verdict protocol address (default ` + defaultSBEAddr + `)
  --http URL           HTTP API base URL (default ` + defaultHTTPURL + `)
  --transport sbe|http default sbe; collateral and attest exist only over HTTP
  --token SECRET       bearer token (default: $` + tokenEnv + `; prefer the variable:
                       a flag shows in the process list)
  --timeout D          connect-and-answer time limit (default 5s)
  --json               one JSON object per result (JSON lines for watch)

Money and prices are printed with 4 decimals (the wire carries integers in
1/10,000); in --json output they stay integers in 1/10,000, as in the HTTP API.
Exit status: 0 the command worked (a REJECT verdict included), 1 a transport,
server or refusal error, 2 a usage error.
`

// finish validates the shared flags after parsing.
func (c *conn) finish() error {
	if c.token == "" {
		c.token = os.Getenv(tokenEnv)
	}
	if c.token == "" {
		return usageErr("no token: set $%s or pass --token", tokenEnv)
	}
	for i := 0; i < len(c.token); i++ {
		if b := c.token[i]; b < 0x21 || b > 0x7e {
			return usageErr("the token must be printable ASCII without spaces")
		}
	}
	if c.timeout <= 0 || c.timeout > timeoutMax {
		return usageErr("--timeout must be in (0, %v]", timeoutMax)
	}
	switch c.transport {
	case transportSBE:
		if c.httpOnly {
			return usageErr("this command exists only over HTTP (the verdict protocol has no such message)")
		}
		if len(c.token) > len(sbe.Login{}.Token) {
			return usageErr("an SBE token is at most %d bytes", len(sbe.Login{}.Token))
		}
		if _, _, err := net.SplitHostPort(c.sbeAddr); err != nil {
			return usageErr("--sbe %q: %v", c.sbeAddr, err)
		}
	case transportHTTP:
		if len(c.token) > httpTokenBytesMax {
			return usageErr("a token is at most %d bytes", httpTokenBytesMax)
		}
		u, err := url.Parse(c.httpURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return usageErr("--http %q: want http://HOST:PORT or https://HOST:PORT (an optional path prefix, no query)", c.httpURL)
		}
		u.Path = strings.TrimRight(u.Path, "/")
		u.RawPath = ""
		c.base = u
	default:
		return usageErr("--transport %q: want sbe or http", c.transport)
	}
	return nil
}

// dialSBE connects and logs in within the time-out.
func (c *conn) dialSBE(ctx context.Context) (*client.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	cn, err := client.Dial(ctx, c.sbeAddr, c.token, client.Options{})
	if err != nil {
		return nil, c.describe(err)
	}
	return cn, nil
}

// describedError is an error with a message for the user.
type describedError struct {
	msg string
	err error
}

func (e *describedError) Error() string { return e.msg }
func (e *describedError) Unwrap() error { return e.err }

// describe turns a transport or server error into a message for the user
// (once: an error already described, or wrapping one, is returned as is).
func (c *conn) describe(err error) error {
	var se *client.ServerError
	var he *httpError
	var de *describedError
	var ne net.Error
	msg := ""
	switch {
	case err == nil, errors.As(err, &de), errors.As(err, &he):
		return err
	case errors.Is(err, client.ErrLoginDenied):
		msg = fmt.Sprintf("login denied by %s: the server does not accept this token", c.sbeAddr)
	case errors.As(err, &se):
		msg = "server refused: " + se.Code.String()
		if se.Text != "" {
			msg += ": " + se.Text
		}
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		msg = fmt.Sprintf("no answer within %v (--timeout): %v", c.timeout, err)
	case errors.Is(err, client.ErrClosed):
		msg = "the server closed the connection"
	default:
		return err
	}
	return &describedError{msg: msg, err: err}
}

// commandFlags is a flag set with the conventions of the online commands.
type commandFlags struct {
	*flag.FlagSet
	name  string
	conn  *conn
	out   io.Writer
	errw  io.Writer
	usage string
}

func newCommandFlags(name, usage string, httpOnly bool, stdout, stderr io.Writer) *commandFlags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cf := &commandFlags{FlagSet: fs, name: name, out: stdout, errw: stderr, usage: usage}
	cf.conn = addConnFlags(fs, httpOnly)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fmt.Fprint(stderr, connUsage)
	}
	return cf
}

// parse parses args, accepting one leading positional argument (returned)
// before the flags, as in `account 1001 --json`. It returns ok false with
// the exit code when the command must stop.
func (cf *commandFlags) parse(args []string) (pos []string, code int, ok bool) {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		pos, args = append(pos, args[0]), args[1:]
	}
	if err := cf.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, exitOK, false
		}
		return nil, exitUsage, false
	}
	pos = append(pos, cf.Args()...)
	if err := cf.conn.finish(); err != nil {
		return nil, cf.fail(err), false
	}
	return pos, exitOK, true
}

// fail reports err and returns its exit code.
func (cf *commandFlags) fail(err error) int {
	if errors.Is(err, errUsage) {
		fmt.Fprintf(cf.errw, "ballastctl %s: %s\n", cf.name, strings.TrimPrefix(err.Error(), errUsage.Error()+": "))
		fmt.Fprintf(cf.errw, "Run 'ballastctl %s --help' for usage.\n", cf.name)
		return exitUsage
	}
	fmt.Fprintf(cf.errw, "ballastctl %s: %v\n", cf.name, cf.conn.describe(err))
	return exitFail
}

// set reports whether the flag name was given.
func (cf *commandFlags) set(name string) bool {
	found := false
	cf.Visit(func(f *flag.Flag) {
		if f.Name == name {
			found = true
		}
	})
	return found
}

// --- argument parsing ---

// unitsPerCurrency is the wire's scale: 1/10,000 of a currency unit.
const unitsPerCurrency = 10000

// parseUnits converts a decimal currency amount ("100", "-2.5", "0.0001")
// to 1/10,000 units exactly: at most 4 decimals, no exponent, no
// separators, within int64.
func parseUnits(s string) (int64, error) {
	if len(s) == 0 || len(s) > 40 {
		return 0, fmt.Errorf("%q is not a decimal amount", s)
	}
	neg := false
	switch s[0] {
	case '-':
		neg, s = true, s[1:]
	case '+':
		s = s[1:]
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" && frac == "" || hasDot && frac == "" && intPart == "" {
		return 0, fmt.Errorf("%q is not a decimal amount", s)
	}
	if len(frac) > 4 {
		return 0, fmt.Errorf("%q has more than 4 decimals (the wire's unit is 0.0001)", s)
	}
	var mag uint64
	for _, part := range []string{intPart, frac + "0000"[len(frac):]} {
		for i := 0; i < len(part); i++ {
			d := part[i] - '0'
			if d > 9 {
				return 0, fmt.Errorf("%q is not a decimal amount", s)
			}
			if mag > (1<<63)/10 {
				return 0, fmt.Errorf("%q is out of range", s)
			}
			mag = mag*10 + uint64(d)
		}
	}
	if mag > 1<<63 || !neg && mag == 1<<63 {
		return 0, fmt.Errorf("%q is out of range", s)
	}
	if neg {
		return -int64(mag), nil // mag == 1<<63 wraps to MinInt64
	}
	return int64(mag), nil
}

// parseSide parses buy or sell (any case).
func parseSide(s string) (sbe.Side, error) {
	switch strings.ToLower(s) {
	case "buy":
		return sbe.SideBuy, nil
	case "sell":
		return sbe.SideSell, nil
	}
	return 0, usageErr("--side %q: want buy or sell", s)
}

// sideName is the HTTP API's side name.
func sideName(s sbe.Side) string {
	if s == sbe.SideSell {
		return "sell"
	}
	return "buy"
}

// parseAccount parses a positive account id.
func parseAccount(s string) (uint64, error) {
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil || id == 0 {
		return 0, usageErr("account %q: want a positive integer id", s)
	}
	return id, nil
}

// orderArgs are the flags of check and fill.
type orderArgs struct {
	account    uint64
	instrument uint
	side       string
	qty        int64
	price      string
}

func (o *orderArgs) register(fs *commandFlags) {
	fs.Uint64Var(&o.account, "account", 0, "account `ID`")
	fs.UintVar(&o.instrument, "instrument", 0, "instrument `ID`")
	fs.StringVar(&o.side, "side", "", "buy or sell")
	fs.Int64Var(&o.qty, "qty", 0, "`quantity` in whole contracts (> 0)")
	fs.StringVar(&o.price, "price", "", "limit `price` in currency units, at most 4 decimals")
}

// order validates the flags; priceRequired false lets price default to 0
// (at the mark).
func (o *orderArgs) order(fs *commandFlags, priceRequired bool) (sbe.OrderCheck, error) {
	var oc sbe.OrderCheck
	switch {
	case o.account == 0:
		return oc, usageErr("--account is required (a positive id)")
	case !fs.set("instrument"):
		return oc, usageErr("--instrument is required")
	case o.instrument > 1<<32-1:
		return oc, usageErr("--instrument %d exceeds 32 bits", o.instrument)
	case o.side == "":
		return oc, usageErr("--side is required (buy or sell)")
	case o.qty <= 0 || o.qty > account.QtyMax:
		return oc, usageErr("--qty must be in [1, %d]", int64(account.QtyMax))
	case o.price == "" && priceRequired:
		return oc, usageErr("--price is required")
	}
	side, err := parseSide(o.side)
	if err != nil {
		return oc, err
	}
	var price int64
	if o.price != "" {
		if price, err = parseUnits(o.price); err != nil {
			return oc, usageErr("--price: %v", err)
		}
		if price < 0 {
			return oc, usageErr("--price must not be negative")
		}
	}
	return sbe.OrderCheck{Account: o.account, Instrument: uint32(o.instrument), Side: side, Qty: o.qty, Price: price}, nil
}

// --- output ---

// formatUnits formats an amount in 1/10,000 units with thousands
// separators and 4 decimals: -1234567 → "-123.4567".
func formatUnits(v int64) string {
	return string(appendUnits(nil, v))
}

// appendUnits appends formatUnits(v) to dst.
func appendUnits(dst []byte, v int64) []byte {
	mag := uint64(v)
	if v < 0 {
		dst = append(dst, '-')
		mag = -mag // two's complement: MinInt64's magnitude too
	}
	dst = appendGrouped(dst, mag/unitsPerCurrency)
	frac := mag % unitsPerCurrency
	return append(dst, '.', byte('0'+frac/1000), byte('0'+frac/100%10), byte('0'+frac/10%10), byte('0'+frac%10))
}

// appendGrouped appends n with a comma every three digits.
func appendGrouped(dst []byte, n uint64) []byte {
	var buf [26]byte
	i := len(buf)
	for digits := 0; ; digits++ {
		if digits > 0 && digits%3 == 0 {
			i--
			buf[i] = ','
		}
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return append(dst, buf[i:]...)
}

// formatQty formats a signed whole quantity with thousands separators.
func formatQty(q int64) string {
	if q < 0 {
		return "-" + string(appendGrouped(nil, -uint64(q)))
	}
	return string(appendGrouped(nil, uint64(q)))
}

// reasonName is a verdict reason in the SBE schema's spelling
// ("insufficient margin" → "INSUFFICIENT_MARGIN").
func reasonName(r string) string {
	return strings.ToUpper(strings.ReplaceAll(r, " ", "_"))
}

// reasonText is a verdict reason in the HTTP API's spelling
// ("INSUFFICIENT_MARGIN" → "insufficient margin").
func reasonText(r sbe.Reason) string {
	return strings.ToLower(strings.ReplaceAll(r.String(), "_", " "))
}
