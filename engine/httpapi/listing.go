package httpapi

import (
	"context"
	"errors"

	"github.com/ballast-risk/ballast/engine/instrument"
	"github.com/ballast-risk/ballast/engine/verdict"
	"github.com/valyala/fasthttp"
)

// POST /v1/instruments (admin): list new series on the master's
// underlyings during the day. The body is an instrument master extension
// document (instrument.Master.Extend); fills may book the new instruments
// at once, and the next risk epoch prices them (until then checks that
// involve them fail closed with NO_RISK_EPOCH).

// InstrumentLister is the optional Service extension behind POST
// /v1/instruments; a Service without it answers 501. EngineService
// implements it.
type InstrumentLister interface {
	// ListInstruments lists the instruments of the extension document doc
	// and returns them, once durable: an error wrapping
	// instrument.ErrInvalid for a document the master cannot take,
	// verdict.ErrRecordSize for one too large to journal, and one
	// wrapping verdict.ErrDurability when it could not be made durable
	// (then nothing was listed). ctx bounds the wait for durability.
	ListInstruments(ctx context.Context, doc []byte) ([]InstrumentInfo, error)
}

type listedBody struct {
	Listed []instrumentBody `json:"listed"`
}

// listInstruments serves POST /v1/instruments (authorised admin).
func (s *Server) listInstruments(ctx *fasthttp.RequestCtx) {
	ls, ok := s.svc.(InstrumentLister)
	if !ok {
		writeError(ctx, fasthttp.StatusNotImplemented, "listing instruments is not supported by this service")
		return
	}
	c, cancel := context.WithTimeout(context.Background(), s.cfg.FillTimeout)
	defer cancel()
	listed, err := ls.ListInstruments(c, ctx.PostBody())
	if err != nil {
		switch {
		case errors.Is(err, instrument.ErrInvalid):
			writeError(ctx, fasthttp.StatusUnprocessableEntity, err.Error())
		case errors.Is(err, verdict.ErrRecordSize):
			writeError(ctx, fasthttp.StatusRequestEntityTooLarge, err.Error())
		case errors.Is(err, verdict.ErrDurability):
			writeError(ctx, fasthttp.StatusServiceUnavailable, "listing not made durable; nothing listed")
		default:
			writeError(ctx, fasthttp.StatusInternalServerError, "listing failed")
		}
		return
	}
	out := listedBody{Listed: make([]instrumentBody, len(listed))}
	for i := range listed {
		out.Listed[i] = instrumentBodyOf(&listed[i])
	}
	writeJSON(ctx, fasthttp.StatusOK, out)
}
