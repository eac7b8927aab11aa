package httpapi

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/ballast-risk/ballast/engine"
	"github.com/ballast-risk/ballast/engine/instrument"
	"github.com/ballast-risk/ballast/engine/verdict"
	"github.com/ballast-risk/ballast/engine/vol"
	"github.com/valyala/fasthttp"
)

// PUT /v1/underlyings/{symbol}/vol (admin): replace an underlying's
// volatility surface at run time, for stress runs (a volatility spike) and
// operator overrides. The next risk epoch uses it.

// Bounds of a volatility override.
const (
	// VolScaleMax bounds VolSpec.Scale.
	VolScaleMax = 10.0
	// VolFlatMax bounds VolSpec.Flat (per √year; engine/vol's own bound).
	VolFlatMax = 100.0
	// volATMTenorYears is the tenor of the at-the-money volatility a
	// response reports: 30 days, the tenor whose vol diffuses the
	// underlying in the engine's scenarios.
	volATMTenorYears = 30.0 / 365
	// underlyingPrefix and volSuffix frame the route.
	underlyingPrefix = "/v1/underlyings/"
	volSuffix        = "/vol"
)

// ErrUnknownUnderlying reports a symbol that names no underlying.
var ErrUnknownUnderlying = errors.New("httpapi: unknown underlying")

// VolSpec is a volatility override: exactly one of Scale and Flat is
// non-zero.
type VolSpec struct {
	// Scale multiplies the at-the-money volatility of the underlying's
	// surface as the instrument master configures it (so 1 restores it, and
	// scales do not compound), in (0, VolScaleMax]; see ScaleSurface.
	Scale float64
	// Flat replaces the surface by one flat volatility, in (0, VolFlatMax].
	Flat float64
}

// VolInfo describes an underlying's surface after an override.
type VolInfo struct {
	// Underlying is the underlying's symbol in the master, ITCH its feed
	// symbol.
	Underlying, ITCH string
	// Scale is the applied scale (0 after a flat override).
	Scale float64
	// Flat is the applied flat volatility (0 after a scale).
	Flat float64
	// ATMVol is the new surface's 30-day at-the-money volatility.
	ATMVol float64
}

// VolSetter is the optional Service extension behind PUT
// /v1/underlyings/{symbol}/vol; a Service without it answers 501.
// EngineService implements it.
type VolSetter interface {
	// SetVol applies spec to the underlying named symbol (its master symbol
	// or its ITCH symbol): ErrUnknownUnderlying when there is none, an
	// error wrapping vol.ErrInvalid when the result is not a valid surface,
	// one wrapping verdict.ErrDurability when it could not be made durable
	// (then nothing was applied). ctx bounds the wait for durability.
	SetVol(ctx context.Context, symbol string, spec VolSpec) (VolInfo, error)
}

// validate checks the spec's shape and bounds.
func (v VolSpec) validate() error {
	switch {
	case (v.Scale == 0) == (v.Flat == 0):
		return errors.New(`give exactly one of "atm_scale" and "flat"`)
	case v.Flat == 0 && !(v.Scale > 0 && v.Scale <= VolScaleMax):
		return fmt.Errorf("atm_scale %g outside (0, %g]", v.Scale, VolScaleMax)
	case v.Scale == 0 && !(v.Flat > 0 && v.Flat <= VolFlatMax):
		return fmt.Errorf("flat %g outside (0, %g]", v.Flat, VolFlatMax)
	}
	return nil
}

// volRequest is the JSON body; absent fields stay nil.
type volRequest struct {
	ATMScale *float64 `json:"atm_scale"`
	Flat     *float64 `json:"flat"`
}

type volBody struct {
	Underlying string   `json:"underlying"`
	ITCH       string   `json:"itch"`
	ATMScale   *float64 `json:"atm_scale"`
	Flat       *float64 `json:"flat"`
	ATMVol     float64  `json:"atm_vol"`
}

// volSymbol returns the {symbol} of a /v1/underlyings/{symbol}/vol path. It
// takes the path's bytes and copies only a match, so that the request path
// of every other route stays off the heap.
func volSymbol(path []byte) (string, bool) {
	if len(path) <= len(underlyingPrefix)+len(volSuffix) || string(path[:len(underlyingPrefix)]) != underlyingPrefix ||
		string(path[len(path)-len(volSuffix):]) != volSuffix {
		return "", false
	}
	sym := path[len(underlyingPrefix) : len(path)-len(volSuffix)]
	for _, c := range sym {
		if c <= ' ' || c > '~' || c == '/' {
			return "", false
		}
	}
	return string(sym), true
}

// parseVolBody decodes and validates a PUT /v1/underlyings/{symbol}/vol
// body: {"atm_scale": s} or {"flat": σ}.
func parseVolBody(body []byte) (VolSpec, error) {
	var q volRequest
	if err := decodeStrict(body, &q); err != nil {
		return VolSpec{}, err
	}
	var spec VolSpec
	if q.ATMScale != nil {
		if spec.Scale = *q.ATMScale; spec.Scale == 0 {
			return VolSpec{}, errors.New("atm_scale must be > 0")
		}
	}
	if q.Flat != nil {
		if spec.Flat = *q.Flat; spec.Flat == 0 {
			return VolSpec{}, errors.New("flat must be > 0")
		}
	}
	if err := spec.validate(); err != nil {
		return VolSpec{}, err
	}
	return spec, nil
}

// setVol serves PUT /v1/underlyings/{symbol}/vol (authorised admin).
func (s *Server) setVol(ctx *fasthttp.RequestCtx, symbol string) {
	vs, ok := s.svc.(VolSetter)
	if !ok {
		writeError(ctx, fasthttp.StatusNotImplemented, "volatility overrides are not supported by this service")
		return
	}
	spec, err := parseVolBody(ctx.PostBody())
	if err != nil {
		writeError(ctx, fasthttp.StatusBadRequest, err.Error())
		return
	}
	c, cancel := context.WithTimeout(context.Background(), s.cfg.FillTimeout)
	defer cancel()
	info, err := vs.SetVol(c, symbol, spec)
	if err != nil {
		switch {
		case errors.Is(err, ErrUnknownUnderlying):
			writeError(ctx, fasthttp.StatusNotFound, "unknown underlying")
		case errors.Is(err, vol.ErrInvalid):
			writeError(ctx, fasthttp.StatusUnprocessableEntity, err.Error())
		case errors.Is(err, verdict.ErrDurability):
			writeError(ctx, fasthttp.StatusServiceUnavailable, "volatility override not made durable; not applied")
		default:
			writeError(ctx, fasthttp.StatusInternalServerError, "volatility update failed")
		}
		return
	}
	b := volBody{Underlying: info.Underlying, ITCH: info.ITCH, ATMVol: info.ATMVol}
	if info.Flat != 0 {
		b.Flat = &info.Flat
	} else {
		b.ATMScale = &info.Scale
	}
	writeJSON(ctx, fasthttp.StatusOK, b)
}

// baseSurfaces returns every underlying's surface as the master gives it
// (engine.SurfaceOf; the engine validated them when it was built). An
// underlying whose description does not parse gets nil and refuses scales
// (flat overrides still work).
func baseSurfaces(m *instrument.Master) []*vol.Surface {
	out := make([]*vol.Surface, len(m.Underlyings))
	for i := range m.Underlyings {
		if s, err := engine.SurfaceOf(&m.Underlyings[i]); err == nil {
			out[i] = s
		}
	}
	return out
}

// ScaleSurface returns s with its at-the-money volatility multiplied by
// scale (> 0) at every expiry. A flat surface's vol is scaled. An SVI smile
// is shifted, not stretched: each slice's total variance moves by the same
// amount at every strike, (scale² − 1)·w(0), so the ATM total variance
// becomes scale²·w(0) while the wings keep their slopes — stretching them
// by scale² would break Lee's wing bound for any real smile at a scale of 3
// or so. For scale ≥ 1 the result is free of calendar arbitrage whenever s
// is; a scale below 1 may take a wing's minimum below zero or reverse the
// calendar order, and is then refused (an error wrapping vol.ErrInvalid),
// as is any result engine/vol does not accept.
func ScaleSurface(s *vol.Surface, scale float64) (*vol.Surface, error) {
	if !(scale > 0) || math.IsInf(scale, 0) {
		return nil, fmt.Errorf("%w: scale %g", vol.ErrInvalid, scale)
	}
	if s.IsFlat() {
		return vol.Flat(s.FlatVol() * scale)
	}
	sl := s.Slices()
	v := scale*scale - 1
	for i := range sl {
		sl[i].A += v * sl[i].TotalVariance(0)
	}
	return vol.NewSurface(sl)
}

// SetVol implements VolSetter: the new surface is journalled, then the
// engine swaps it in atomically (verdict.EngineService.SetVol), and the
// engine's next epoch uses it.
func (s *EngineService) SetVol(ctx context.Context, symbol string, spec VolSpec) (VolInfo, error) {
	if err := spec.validate(); err != nil {
		return VolInfo{}, fmt.Errorf("%w: %v", vol.ErrInvalid, err)
	}
	m := s.eng.Master()
	u, ok := m.UnderlyingIndex(symbol)
	if !ok {
		if u, ok = m.ByITCH(symbol); !ok {
			return VolInfo{}, fmt.Errorf("%w: %q", ErrUnknownUnderlying, symbol)
		}
	}
	var sur *vol.Surface
	var err error
	if spec.Flat != 0 {
		sur, err = vol.Flat(spec.Flat)
	} else if base := s.baseVols[u]; base == nil {
		err = fmt.Errorf("%w: %s: the master's surface could not be read, only flat overrides apply", vol.ErrInvalid, symbol)
	} else {
		sur, err = ScaleSurface(base, spec.Scale)
	}
	if err != nil {
		return VolInfo{}, err
	}
	if err := s.fills.SetVol(ctx, u, sur); err != nil {
		return VolInfo{}, err
	}
	ul := &m.Underlyings[u]
	return VolInfo{Underlying: ul.Symbol, ITCH: ul.ITCH, Scale: spec.Scale, Flat: spec.Flat,
		ATMVol: sur.Vol(0, volATMTenorYears)}, nil
}
