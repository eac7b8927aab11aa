package portfolio

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/ballast-risk/ballast/engine/instrument"
	"github.com/ballast-risk/ballast/sim/itchgen"
)

// Stream constants separate the market's random stream from the accounts'
// so that changing the accounts leaves the master unchanged.
const (
	streamMarket   = 0x6d61726b65740001
	streamAccounts = 0x6163636f756e7402
)

// expiryHourUTC is the hour (UTC) at which contracts expire: 16:00 New York
// in winter.
const expiryHourUTC = 21

// Vol surface parameters (SSVI with a power-law φ, Gatheral–Jacquier 2014):
// free of calendar arbitrage for γ in [0, 1], and of butterfly arbitrage
// while η²(1+|ρ|) ≤ 4 and θφ(θ)(1+|ρ|) < 4.
const (
	atmVolMin, atmVolMax = 0.15, 0.60
	rhoMin, rhoMax       = -0.7, -0.3
	etaMin, etaMax       = 0.6, 1.4
	sviGamma             = 0.5
	divMax               = 0.03
)

// Correlation factor loadings: the correlation of two underlyings is
// g_i·g_j, plus s_i·s_j when they share a sector, which puts cross-sector
// pairs in [0.22, 0.33] and intra-sector pairs in [0.51, 0.69], and the
// matrix is positive definite (each idiosyncratic variance is ≥ 0.31).
const (
	globalLoadMin, globalLoadMax = 0.47, 0.57
	sectorLoadMin, sectorLoadMax = 0.54, 0.60
)

// market is the generated instrument universe.
type market struct {
	rate        float64
	underlyings []underlying
	corr        [][]float64
	instruments []contract
	futures     []expiry // quarterly futures expiries
	options     []expiry // option expiries
	b76Expiry   int      // index in options of the Black-76 expiry; -1 if none
	b76Future   int      // index in futures of its future; -1 if none
}

// expiry is a contract expiry with its ACT/365 time from AsOf.
type expiry struct {
	at time.Time
	t  float64
}

// underlying is a generated risk factor.
type underlying struct {
	symbol  string
	sector  int
	spot    float64
	div     float64
	atm     float64
	rho     float64
	eta     float64
	slices  []sviSlice // one per option expiry
	futMult float64    // multiplier of its futures
	first   int        // index of its spot in market.instruments
	count   int        // instruments on it
}

// sviSlice is one raw-SVI total-variance slice w(k) = a + b(ρ(k−m) +
// sqrt((k−m)² + σ²)) at time t, k = ln(K/F).
type sviSlice struct {
	T     float64 `json:"t"`
	A     float64 `json:"a"`
	B     float64 `json:"b"`
	Rho   float64 `json:"rho"`
	M     float64 `json:"m"`
	Sigma float64 `json:"sigma"`
}

// w is the slice's total implied variance at log-moneyness k.
func (s *sviSlice) w(k float64) float64 {
	d := k - s.M
	return s.A + s.B*(s.Rho*d+math.Sqrt(d*d+s.Sigma*s.Sigma))
}

// contract is a generated instrument.
type contract struct {
	id         instrument.ID
	symbol     string
	kind       instrument.Kind
	model      instrument.Model
	und        int
	future     int // index in market.instruments of a Black-76 option's future; -1 otherwise
	strike     float64
	exp        expiry
	expIndex   int // index in market.options (options) or market.futures (futures)
	multiplier float64
}

// thirdFriday returns the third Friday of year y, month m (normalised), at
// expiryHourUTC.
func thirdFriday(y int, m time.Month) time.Time {
	first := time.Date(y, m, 1, expiryHourUTC, 0, 0, 0, time.UTC)
	d := (int(time.Friday) - int(first.Weekday()) + 7) % 7
	return first.AddDate(0, 0, d+14)
}

// expiries places the futures (next quarterly third Fridays strictly after
// asOf) and the options (third Friday of each month ahead).
func expiries(c *Config) (futures, options []expiry) {
	asOf := c.AsOf.UTC()
	y, m := asOf.Year(), asOf.Month()
	for k := 0; len(futures) < c.Futures; k++ {
		mm := time.Month(int(m) + k)
		at := thirdFriday(y, mm)
		if at.Month()%3 == 0 && at.After(asOf) {
			futures = append(futures, expiry{at, instrument.YearsBetween(asOf, at)})
		}
	}
	for _, k := range c.ExpiryMonths {
		at := thirdFriday(y, time.Month(int(m)+k))
		options = append(options, expiry{at, instrument.YearsBetween(asOf, at)})
	}
	return futures, options
}

// newMarket draws the universe of c.
func newMarket(c *Config) *market {
	rng := rand.New(rand.NewPCG(c.Seed, streamMarket))
	mk := &market{rate: c.Rate, b76Expiry: -1, b76Future: -1}
	mk.futures, mk.options = expiries(c)
	// The Black-76 expiry: the option expiry closest to a future that
	// expires no earlier (earliest on ties).
	best := math.Inf(1)
	for i, o := range mk.options {
		for j, f := range mk.futures {
			if !f.at.Before(o.at) {
				if gap := f.at.Sub(o.at).Hours(); gap < best {
					best, mk.b76Expiry, mk.b76Future = gap, i, j
				}
				break
			}
		}
	}
	symbols := c.Symbols
	if len(symbols) == 0 {
		symbols = itchgen.GenerateSymbols(c.Underlyings)
	}
	futMults := [...]float64{10, 20, 25, 50, 100}
	mk.underlyings = make([]underlying, c.Underlyings)
	for i := range mk.underlyings {
		u := &mk.underlyings[i]
		u.symbol = symbols[i]
		u.sector = i * c.Sectors / c.Underlyings
		spot := math.Exp(math.Log(c.SpotMin) + rng.Float64()*(math.Log(c.SpotMax)-math.Log(c.SpotMin)))
		if len(c.Spots) > 0 {
			spot = c.Spots[i]
		}
		u.spot = math.Max(roundTo(spot, 2), 0.01)
		u.div = roundTo(rng.Float64()*divMax, 4)
		u.atm = roundTo(atmVolMin+rng.Float64()*(atmVolMax-atmVolMin), 4)
		u.rho = roundTo(rhoMin+rng.Float64()*(rhoMax-rhoMin), 2)
		u.eta = roundTo(etaMin+rng.Float64()*(etaMax-etaMin), 2)
		u.futMult = futMults[rng.IntN(len(futMults))]
		for _, e := range mk.options {
			u.slices = append(u.slices, ssviSlice(u.atm*u.atm*e.t, u.rho, u.eta, e.t))
		}
	}
	mk.corr = correlation(rng, mk.underlyings)
	mk.buildInstruments(c)
	return mk
}

// sviDecimals is the precision of the written SVI parameters.
const sviDecimals = 10

// ssviSlice returns the raw-SVI form of the SSVI slice with ATM total
// variance theta, skew rho and φ(θ) = η·θ^(−γ): a = θ(1−ρ²)/2, b = θφ/2,
// m = −ρ/φ, σ = sqrt(1−ρ²)/φ, so that w(0) = θ and the minimum of w,
// a + bσ·sqrt(1−ρ²) = θ(1−ρ²), is positive.
func ssviSlice(theta, rho, eta, t float64) sviSlice {
	phi := eta / math.Pow(theta, sviGamma)
	q := 1 - rho*rho
	return sviSlice{
		T:     roundTo(t, sviDecimals),
		A:     roundTo(theta*q/2, sviDecimals),
		B:     roundTo(theta*phi/2, sviDecimals),
		Rho:   rho,
		M:     roundTo(-rho/phi, sviDecimals),
		Sigma: roundTo(math.Sqrt(q)/phi, sviDecimals),
	}
}

// correlation draws the sector factor loadings and returns the matrix,
// rounded to 4 decimals (well inside its positive-definiteness margin).
func correlation(rng *rand.Rand, us []underlying) [][]float64 {
	n := len(us)
	g := make([]float64, n)
	s := make([]float64, n)
	for i := range us {
		g[i] = globalLoadMin + rng.Float64()*(globalLoadMax-globalLoadMin)
		s[i] = sectorLoadMin + rng.Float64()*(sectorLoadMax-sectorLoadMin)
	}
	c := make([][]float64, n)
	for i := range c {
		c[i] = make([]float64, n)
		c[i][i] = 1
	}
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			v := g[i] * g[j]
			if us[i].sector == us[j].sector {
				v += s[i] * s[j]
			}
			v = roundTo(v, 4)
			c[i][j], c[j][i] = v, v
		}
	}
	return c
}

// buildInstruments lays out each underlying's spot, futures and options
// with consecutive ids from 1.
func (mk *market) buildInstruments(c *Config) {
	id := instrument.ID(1)
	add := func(k contract) {
		k.id = id
		id++
		mk.instruments = append(mk.instruments, k)
	}
	for ui := range mk.underlyings {
		u := &mk.underlyings[ui]
		u.first = len(mk.instruments)
		add(contract{symbol: u.symbol, kind: instrument.Spot, und: ui, future: -1, expIndex: -1, multiplier: 1})
		firstFuture := len(mk.instruments)
		for fi, e := range mk.futures {
			add(contract{symbol: fmt.Sprintf("%s %s F", u.symbol, e.at.Format("2006-01")), kind: instrument.Future,
				und: ui, future: -1, exp: e, expIndex: fi, multiplier: u.futMult})
		}
		for ei, e := range mk.options {
			fwd := mk.forward(u, e.t)
			model, future, suffix := instrument.BSM, -1, ""
			if ei == mk.b76Expiry {
				model, future, suffix = instrument.Black76, firstFuture+mk.b76Future, " F"
				fwd = mk.forward(u, mk.futures[mk.b76Future].t)
			}
			for _, k := range strikes(fwd, c) {
				ks := strconv.FormatFloat(k, 'f', -1, 64)
				for _, kind := range [...]instrument.Kind{instrument.Call, instrument.Put} {
					letter := "C"
					if kind == instrument.Put {
						letter = "P"
					}
					add(contract{symbol: fmt.Sprintf("%s %s %s%s%s", u.symbol, e.at.Format("2006-01"), letter, ks, suffix),
						kind: kind, model: model, und: ui, future: future, strike: k, exp: e, expIndex: ei, multiplier: 100})
				}
			}
		}
		u.count = len(mk.instruments) - u.first
	}
}

// strikes returns c.Strikes distinct strikes on a round grid, spread evenly
// in moneyness around the forward fwd.
func strikes(fwd float64, c *Config) []float64 {
	n := c.Strikes
	step := fwd * (c.MoneynessMax - c.MoneynessMin)
	if n > 1 {
		step /= float64(n - 1)
	}
	grid := niceStep(step / 2)
	out := make([]float64, 0, n)
	for i := 0; i < n; i++ {
		m := c.MoneynessMin
		if n > 1 {
			m += (c.MoneynessMax - c.MoneynessMin) * float64(i) / float64(n-1)
		} else {
			m = (c.MoneynessMin + c.MoneynessMax) / 2
		}
		k := grid * math.Round(m*fwd/grid)
		if k < grid {
			k = grid
		}
		if len(out) > 0 && k <= out[len(out)-1] {
			k = out[len(out)-1] + grid
		}
		out = append(out, roundTo(k, 6))
	}
	return out
}

// niceStep returns the largest of 1, 2, 2.5, 5 × 10^k (k ≥ −2) not above x,
// and at least 0.01.
func niceStep(x float64) float64 {
	best := 0.01
	for e := -2; e <= 8; e++ {
		for _, m := range [...]float64{1, 2, 2.5, 5} {
			if v := m * math.Pow10(e); v <= x && v > best {
				best = v
			}
		}
	}
	return best
}

// forward is the underlying's forward (the fair futures price) at t years.
func (mk *market) forward(u *underlying, t float64) float64 {
	return u.spot * math.Exp((mk.rate-u.div)*t)
}

// fileMaster and friends are the JSON shape of engine/instrument's format.
type fileMaster struct {
	Version     int              `json:"version"`
	Rate        float64          `json:"rate"`
	Underlyings []fileUnderlying `json:"underlyings"`
	Correlation fileCorrelation  `json:"correlation"`
	Instruments []fileInstrument `json:"instruments"`
}

type fileUnderlying struct {
	Symbol string    `json:"symbol"`
	ITCH   string    `json:"itch"`
	Spot   float64   `json:"spot"`
	Div    float64   `json:"div"`
	Vol    fileSmile `json:"vol"`
}

type fileSmile struct {
	ATM    float64    `json:"atm"`
	Slices []sviSlice `json:"slices,omitempty"`
}

type fileCorrelation struct {
	Symbols []string    `json:"symbols"`
	Matrix  [][]float64 `json:"matrix"`
}

type fileInstrument struct {
	ID         uint32  `json:"id"`
	Symbol     string  `json:"symbol"`
	Kind       string  `json:"kind"`
	Model      string  `json:"model,omitempty"`
	Underlying string  `json:"underlying"`
	Future     uint32  `json:"future,omitempty"`
	Strike     float64 `json:"strike,omitempty"`
	Expiry     string  `json:"expiry,omitempty"`
	Multiplier float64 `json:"multiplier"`
}

// marshal writes the master file, one underlying, correlation row or
// instrument per line.
func (mk *market) marshal() ([]byte, error) {
	fm := fileMaster{Version: 1, Rate: mk.rate}
	for _, u := range mk.underlyings {
		fm.Underlyings = append(fm.Underlyings, fileUnderlying{Symbol: u.symbol, ITCH: u.symbol, Spot: u.spot, Div: u.div,
			Vol: fileSmile{ATM: u.atm, Slices: u.slices}})
		fm.Correlation.Symbols = append(fm.Correlation.Symbols, u.symbol)
	}
	fm.Correlation.Matrix = mk.corr
	for _, k := range mk.instruments {
		fi := fileInstrument{ID: uint32(k.id), Symbol: k.symbol, Kind: k.kind.String(),
			Underlying: mk.underlyings[k.und].symbol, Strike: k.strike, Multiplier: k.multiplier}
		if k.kind != instrument.Spot {
			fi.Expiry = k.exp.at.Format(time.RFC3339)
		}
		if k.kind.IsOption() {
			fi.Model = k.model.String()
			if k.model == instrument.Black76 {
				fi.Future = uint32(mk.instruments[k.future].id)
			}
		}
		fm.Instruments = append(fm.Instruments, fi)
	}
	w := &lineWriter{}
	w.printf("{\n  \"version\": %d,\n  \"rate\": ", fm.Version)
	w.value(fm.Rate)
	w.printf(",\n  \"underlyings\": [\n")
	lines(w, "    ", fm.Underlyings)
	w.printf("  ],\n  \"correlation\": {\n    \"symbols\": ")
	w.value(fm.Correlation.Symbols)
	w.printf(",\n    \"matrix\": [\n")
	lines(w, "      ", fm.Correlation.Matrix)
	w.printf("    ]\n  },\n  \"instruments\": [\n")
	lines(w, "    ", fm.Instruments)
	w.printf("  ]\n}\n")
	return w.buf.Bytes(), w.err
}

// lineWriter builds a JSON document line by line, keeping the first error.
type lineWriter struct {
	buf bytes.Buffer
	err error
}

func (w *lineWriter) printf(format string, a ...any) { fmt.Fprintf(&w.buf, format, a...) }

// value appends v as compact JSON.
func (w *lineWriter) value(v any) {
	b, err := json.Marshal(v)
	if err != nil && w.err == nil {
		w.err = err
	}
	w.buf.Write(b)
}

// lines writes the elements of a JSON array one per line after indent.
func lines[T any](w *lineWriter, indent string, items []T) {
	for i := range items {
		w.buf.WriteString(indent)
		w.value(items[i])
		if i < len(items)-1 {
			w.buf.WriteByte(',')
		}
		w.buf.WriteByte('\n')
	}
}
