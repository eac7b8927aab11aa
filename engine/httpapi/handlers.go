package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/ballast-risk/ballast/engine"
	"github.com/ballast-risk/ballast/engine/account"
	"github.com/ballast-risk/ballast/engine/attest"
	"github.com/ballast-risk/ballast/engine/dashboard"
	"github.com/ballast-risk/ballast/engine/instrument"
	"github.com/ballast-risk/ballast/engine/sbe"
	"github.com/ballast-risk/ballast/engine/verdict"
	"github.com/valyala/fasthttp"
)

// Routes, as labelled in metrics.
const (
	routeOther = iota
	routeAccounts
	routeAccount
	routeCollateral
	routeCheck
	routeFills
	routeAttestations
	routeInstruments
	routeEpochLatest
	routeStream
	routeMetrics
	routeHealthz
	routeReadyz
	routeDashboard
	routeDashboardPage
	routeDashboardAssets
	routeVol
	routesCount
)

var routeNames = [routesCount]string{"other", "/v1/accounts", "/v1/accounts/{id}",
	"/v1/accounts/{id}/collateral", "/v1/check", "/v1/fills", "/v1/attestations",
	"/v1/instruments", "/v1/epochs/latest", "/v1/stream", "/metrics", "/healthz", "/readyz",
	"/v1/dashboard", "/", "/dashboard/*", "/v1/underlyings/{symbol}/vol"}

// --- JSON wire types (see docs/http-api.md) ---

type errorBody struct {
	Error  string `json:"error"`
	Reason string `json:"reason,omitempty"`
}

type accountRef struct {
	ID   uint64 `json:"id"`
	Firm string `json:"firm"`
}

type accountsBody struct {
	Accounts []accountRef `json:"accounts"`
}

type collateralBody struct {
	Cash       int64 `json:"cash"`
	Verified   int64 `json:"verified"`
	CreditLine int64 `json:"credit_line"`
}

type positionBody struct {
	Instrument uint32 `json:"instrument"`
	Qty        int64  `json:"qty"`
	Price      int64  `json:"price"`
	Mark       int64  `json:"mark"`
}

type statusBody struct {
	Account            uint64         `json:"account"`
	Firm               string         `json:"firm"`
	State              string         `json:"state"`
	Epoch              uint64         `json:"epoch"`
	Equity             int64          `json:"equity"`
	UnrealisedPnL      int64          `json:"unrealised_pnl"`
	Collateral         collateralBody `json:"collateral"`
	WeightedCollateral int64          `json:"weighted_collateral"`
	InitialMargin      int64          `json:"initial_margin"`
	MaintenanceMargin  int64          `json:"maintenance_margin"`
	VaR                int64          `json:"var"`
	ES                 int64          `json:"es"`
	Stress             int64          `json:"stress"`
	HealthFactor       int64          `json:"health_factor"`
	Stale              bool           `json:"stale"`
	AttestationExpired bool           `json:"attestation_expired"`
	RiskUnknown        bool           `json:"risk_unknown"`
	Positions          []positionBody `json:"positions"`
}

type checkRequest struct {
	Account    uint64 `json:"account"`
	Instrument uint32 `json:"instrument"`
	Side       string `json:"side"`
	Qty        int64  `json:"qty"`
	Price      int64  `json:"price"`
}

type checkResult struct {
	Account                uint64 `json:"account"`
	Instrument             uint32 `json:"instrument"`
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

type checkBatch struct {
	Results []checkResult `json:"results"`
}

type fillRequest struct {
	Account    uint64 `json:"account"`
	Instrument uint32 `json:"instrument"`
	Side       string `json:"side"`
	Qty        int64  `json:"qty"`
	Price      int64  `json:"price"`
	ExecID     uint64 `json:"exec_id"`
}

type fillResult struct {
	Status string `json:"status"`
	ExecID uint64 `json:"exec_id"`
}

type collateralRequest struct {
	Tier   string `json:"tier"`
	Amount int64  `json:"amount"`
}

type statementBody struct {
	Account    uint64    `json:"account"`
	Value      int64     `json:"value"`
	Asset      string    `json:"asset,omitempty"`
	IssuedAt   time.Time `json:"issued_at"`
	ValidUntil time.Time `json:"valid_until"`
	Nonce      uint64    `json:"nonce"`
	Attestor   string    `json:"attestor"`
}

type instrumentBody struct {
	ID         uint32     `json:"id"`
	Symbol     string     `json:"symbol"`
	Kind       string     `json:"kind"`
	Model      string     `json:"model,omitempty"`
	Underlying string     `json:"underlying"`
	Strike     int64      `json:"strike"`
	Expiry     *time.Time `json:"expiry"`
	Multiplier float64    `json:"multiplier"`
}

type instrumentsBody struct {
	Instruments []instrumentBody `json:"instruments"`
}

type epochBody struct {
	ID         uint64    `json:"id"`
	Seed       uint64    `json:"seed"`
	Hash       string    `json:"hash"`
	Backend    string    `json:"backend"`
	Started    time.Time `json:"started"`
	Finished   time.Time `json:"finished"`
	DurationNs int64     `json:"duration_ns"`
	Scenarios  int       `json:"scenarios"`
}

type readyBody struct {
	Ready  bool   `json:"ready"`
	Reason string `json:"reason,omitempty"`
}

// --- plumbing ---

func (s *Server) handleParseError(ctx *fasthttp.RequestCtx, err error) {
	code, msg := fasthttp.StatusBadRequest, "malformed request"
	var te interface{ Timeout() bool }
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		code, msg = fasthttp.StatusRequestEntityTooLarge, fmt.Sprintf("body exceeds %d bytes", s.cfg.BodyBytesMax)
	case errors.As(err, &te) && te.Timeout():
		code, msg = fasthttp.StatusRequestTimeout, "request read timed out"
	}
	writeError(ctx, code, msg)
	s.metrics.request(routeOther, code)
}

func writeJSON(ctx *fasthttp.RequestCtx, code int, v any) {
	ctx.SetStatusCode(code)
	ctx.SetContentType("application/json")
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("httpapi: response type does not marshal: %v", err))
	}
	b = append(b, '\n')
	ctx.SetBody(b)
}

func writeError(ctx *fasthttp.RequestCtx, code int, msg string) {
	writeJSON(ctx, code, errorBody{Error: msg})
}

// decodeStrict decodes exactly one JSON value from body into v, refusing
// unknown fields and trailing data.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("invalid JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("invalid JSON: data after the value")
	}
	return nil
}

func firstNonSpace(b []byte) byte {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
		default:
			return c
		}
	}
	return 0
}

func parseSide(s string) (engine.Side, bool) {
	switch s {
	case "buy":
		return engine.Buy, true
	case "sell":
		return engine.Sell, true
	}
	return 0, false
}

// handle routes a request and records its metrics.
func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	route := s.dispatch(ctx)
	s.metrics.request(route, ctx.Response.StatusCode())
}

func (s *Server) methodNotAllowed(ctx *fasthttp.RequestCtx, allow string) {
	ctx.Response.Header.Set("Allow", allow)
	writeError(ctx, fasthttp.StatusMethodNotAllowed, "method not allowed; allowed: "+allow)
}

// allowed reports whether the request's method is want; it answers 405
// when not.
func (s *Server) allowed(ctx *fasthttp.RequestCtx, want string) bool {
	if string(ctx.Method()) == want {
		return true
	}
	s.methodNotAllowed(ctx, want)
	return false
}

// authorise authenticates the request and checks that its role is one of
// kinds; it answers 401 or 403 and returns ok false otherwise.
func (s *Server) authorise(ctx *fasthttp.RequestCtx, kinds ...uint8) (role, bool) {
	r := s.authenticate(ctx)
	if r.kind == roleNone {
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="ballast"`)
		writeError(ctx, fasthttp.StatusUnauthorized, "missing or invalid bearer token")
		return r, false
	}
	for _, k := range kinds {
		if r.kind == k {
			return r, true
		}
	}
	writeError(ctx, fasthttp.StatusForbidden, "role not allowed here")
	return r, false
}

// mayRead reports whether r may read or what-if account id: admin any,
// a firm its own (an unknown account is refused like another firm's, so a
// firm cannot probe which accounts exist).
func (s *Server) mayRead(r role, id uint64) bool {
	switch r.kind {
	case roleAdmin:
		return true
	case roleFirm:
		f, ok := s.svc.FirmOf(id)
		return ok && f == r.firm
	}
	return false
}

func (s *Server) dispatch(ctx *fasthttp.RequestCtx) int {
	path := string(ctx.Path())
	switch path {
	case "/healthz":
		if s.allowed(ctx, fasthttp.MethodGet) {
			writeJSON(ctx, fasthttp.StatusOK, readyBody{Ready: true})
		}
		return routeHealthz
	case "/readyz":
		if s.allowed(ctx, fasthttp.MethodGet) {
			s.readyz(ctx)
		}
		return routeReadyz
	case "/metrics":
		if s.allowed(ctx, fasthttp.MethodGet) {
			if _, ok := s.authorise(ctx, roleAdmin, roleOps); ok {
				s.writeMetrics(ctx)
			}
		}
		return routeMetrics
	case "/v1/accounts":
		if s.allowed(ctx, fasthttp.MethodGet) {
			if r, ok := s.authorise(ctx, roleAdmin, roleFirm); ok {
				s.accounts(ctx, r)
			}
		}
		return routeAccounts
	case "/v1/check":
		if s.allowed(ctx, fasthttp.MethodPost) {
			if r, ok := s.authorise(ctx, roleAdmin, roleFirm); ok {
				s.check(ctx, r)
			}
		}
		return routeCheck
	case "/v1/fills":
		if s.allowed(ctx, fasthttp.MethodPost) {
			if _, ok := s.authorise(ctx, roleAdmin); ok {
				s.fill(ctx)
			}
		}
		return routeFills
	case "/v1/attestations":
		if s.allowed(ctx, fasthttp.MethodPost) {
			if _, ok := s.authorise(ctx, roleAdmin); ok {
				s.attestation(ctx)
			}
		}
		return routeAttestations
	case "/v1/instruments":
		switch string(ctx.Method()) {
		case fasthttp.MethodGet:
			if _, ok := s.authorise(ctx, roleAdmin, roleOps, roleFirm); ok {
				s.instruments(ctx)
			}
		case fasthttp.MethodPost:
			if _, ok := s.authorise(ctx, roleAdmin); ok {
				s.listInstruments(ctx)
			}
		default:
			s.methodNotAllowed(ctx, "GET, POST")
		}
		return routeInstruments
	case "/v1/epochs/latest":
		if s.allowed(ctx, fasthttp.MethodGet) {
			if _, ok := s.authorise(ctx, roleAdmin, roleOps, roleFirm); ok {
				s.epochLatest(ctx)
			}
		}
		return routeEpochLatest
	case "/v1/stream":
		if s.allowed(ctx, fasthttp.MethodGet) {
			if r, ok := s.authorise(ctx, roleAdmin, roleOps, roleFirm); ok {
				s.stream(ctx, r)
			}
		}
		return routeStream
	case "/v1/dashboard":
		if s.cfg.Dashboard == nil {
			break
		}
		if s.allowed(ctx, fasthttp.MethodGet) {
			if _, ok := s.authorise(ctx, roleAdmin, roleOps); ok {
				s.dashboardSummary(ctx)
			}
		}
		return routeDashboard
	}
	if s.assets != nil && dashboard.Owns(ctx.Path()) {
		s.assets(ctx)
		if path == "/" {
			return routeDashboardPage
		}
		return routeDashboardAssets
	}
	if sym, ok := volSymbol(ctx.Path()); ok {
		if s.allowed(ctx, fasthttp.MethodPut) {
			if _, ok := s.authorise(ctx, roleAdmin); ok {
				s.setVol(ctx, sym)
			}
		}
		return routeVol
	}
	const acctPrefix = "/v1/accounts/"
	if len(path) > len(acctPrefix) && path[:len(acctPrefix)] == acctPrefix {
		rest := path[len(acctPrefix):]
		const collSuffix = "/collateral"
		if len(rest) > len(collSuffix) && rest[len(rest)-len(collSuffix):] == collSuffix {
			id, err := strconv.ParseUint(rest[:len(rest)-len(collSuffix)], 10, 64)
			if err != nil {
				writeError(ctx, fasthttp.StatusNotFound, "no such route")
				return routeOther
			}
			if s.allowed(ctx, fasthttp.MethodPut) {
				if _, ok := s.authorise(ctx, roleAdmin); ok {
					s.collateral(ctx, id)
				}
			}
			return routeCollateral
		}
		id, err := strconv.ParseUint(rest, 10, 64)
		if err != nil {
			writeError(ctx, fasthttp.StatusNotFound, "no such route")
			return routeOther
		}
		if s.allowed(ctx, fasthttp.MethodGet) {
			if r, ok := s.authorise(ctx, roleAdmin, roleFirm); ok {
				s.account(ctx, r, id)
			}
		}
		return routeAccount
	}
	writeError(ctx, fasthttp.StatusNotFound, "no such route")
	return routeOther
}

// --- endpoints ---

func (s *Server) readyz(ctx *fasthttp.RequestCtx) {
	if _, ok := s.svc.LatestEpoch(); !ok {
		writeJSON(ctx, fasthttp.StatusServiceUnavailable, readyBody{Reason: "no risk epoch yet"})
		return
	}
	if s.cfg.Ready != nil {
		if ok, why := s.cfg.Ready(); !ok {
			if why == "" {
				why = "not ready"
			}
			writeJSON(ctx, fasthttp.StatusServiceUnavailable, readyBody{Reason: why})
			return
		}
	}
	writeJSON(ctx, fasthttp.StatusOK, readyBody{Ready: true})
}

func (s *Server) accounts(ctx *fasthttp.RequestCtx, r role) {
	all := s.svc.Accounts()
	out := accountsBody{Accounts: make([]accountRef, 0, len(all))}
	for _, a := range all {
		if r.kind == roleAdmin || a.Firm == r.firm {
			out.Accounts = append(out.Accounts, accountRef{ID: a.ID, Firm: a.Firm})
		}
	}
	writeJSON(ctx, fasthttp.StatusOK, out)
}

func statusJSON(st *engine.Status) statusBody {
	b := statusBody{Account: st.Account, Firm: st.Firm, State: st.State.String(), Epoch: st.Epoch,
		Equity: verdict.WireMoney(st.Equity), UnrealisedPnL: verdict.WireMoney(st.UnrealisedPnL),
		Collateral: collateralBody{Cash: verdict.WireMoney(st.Collateral[account.Cash]),
			Verified: verdict.WireMoney(st.Collateral[account.Verified]), CreditLine: verdict.WireMoney(st.Collateral[account.CreditLine])},
		WeightedCollateral: verdict.WireMoney(st.WeightedCollateral),
		InitialMargin:      verdict.WireMoney(st.Requirement.IM), MaintenanceMargin: verdict.WireMoney(st.Requirement.MM),
		VaR: verdict.WireMoney(st.VaR), ES: verdict.WireMoney(st.ES), Stress: verdict.WireMoney(st.Stress),
		HealthFactor: verdict.WireMoney(st.HealthFactor), Stale: st.Stale,
		AttestationExpired: st.AttestationExpired, RiskUnknown: st.RiskUnknown,
		Positions: make([]positionBody, len(st.Positions))}
	for i, p := range st.Positions {
		b.Positions[i] = positionBody{Instrument: uint32(p.Instrument), Qty: p.Qty,
			Price: verdict.WireMoney(p.Price), Mark: verdict.WireMoney(p.Mark)}
	}
	return b
}

func (s *Server) writeStatus(ctx *fasthttp.RequestCtx, id uint64) {
	st, err := s.svc.Status(id)
	if err != nil {
		if errors.Is(err, engine.ErrUnknownAccount) {
			writeError(ctx, fasthttp.StatusNotFound, "unknown account")
			return
		}
		writeError(ctx, fasthttp.StatusInternalServerError, "status failed")
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, statusJSON(&st))
}

func (s *Server) account(ctx *fasthttp.RequestCtx, r role, id uint64) {
	if !s.mayRead(r, id) {
		writeError(ctx, fasthttp.StatusForbidden, "account not accessible to this token")
		return
	}
	s.writeStatus(ctx, id)
}

func (s *Server) check(ctx *fasthttp.RequestCtx, r role) {
	start := time.Now()
	body := ctx.PostBody()
	if o, inst, ok := parseCheckFast(body); ok {
		s.checkOne(ctx, r, o, inst)
		s.metrics.checkLatency(time.Since(start))
		return
	}
	var reqs []checkRequest
	batch := firstNonSpace(body) == '['
	if batch {
		if err := decodeStrict(body, &reqs); err != nil {
			writeError(ctx, fasthttp.StatusBadRequest, err.Error())
			return
		}
		if len(reqs) == 0 || len(reqs) > s.cfg.OrdersMax {
			writeError(ctx, fasthttp.StatusBadRequest, fmt.Sprintf("a batch holds 1 to %d orders, not %d", s.cfg.OrdersMax, len(reqs)))
			return
		}
	} else {
		reqs = make([]checkRequest, 1)
		if err := decodeStrict(body, &reqs[0]); err != nil {
			writeError(ctx, fasthttp.StatusBadRequest, err.Error())
			return
		}
	}
	orders := make([]engine.Order, len(reqs))
	for i := range reqs {
		q := &reqs[i]
		side, ok := parseSide(q.Side)
		if !ok {
			writeError(ctx, fasthttp.StatusBadRequest, fmt.Sprintf("order %d: side must be \"buy\" or \"sell\"", i))
			return
		}
		if !s.mayRead(r, q.Account) {
			writeError(ctx, fasthttp.StatusForbidden, fmt.Sprintf("order %d: account not accessible to this token", i))
			return
		}
		orders[i] = engine.Order{Account: q.Account, Instrument: instrument.ID(q.Instrument), Side: side,
			Qty: q.Qty, Price: float64(q.Price) / 10000, Firm: r.firm}
	}
	results := make([]checkResult, len(orders))
	for i := range orders {
		s.runCheck(&orders[i], reqs[i].Instrument, &results[i])
	}
	if batch {
		writeJSON(ctx, fasthttp.StatusOK, checkBatch{Results: results})
	} else {
		writeJSON(ctx, fasthttp.StatusOK, results[0])
	}
	s.metrics.checkLatency(time.Since(start))
}

// runCheck asks the service for o's verdict and fills res.
func (s *Server) runCheck(o *engine.Order, inst uint32, res *checkResult) {
	v := s.svc.Check(*o)
	s.metrics.verdict(v.Accept, uint8(v.Reason))
	d := "reject"
	if v.Accept {
		d = "accept"
	}
	*res = checkResult{Account: o.Account, Instrument: inst, Decision: d,
		Reason: v.Reason.String(), State: v.State.String(), Epoch: v.Epoch,
		Equity: verdict.WireMoney(v.Equity), InitialMargin: verdict.WireMoney(v.IM), MaintenanceMargin: verdict.WireMoney(v.MM),
		PostTradeEquity: verdict.WireMoney(v.PostEquity), PostTradeInitialMargin: verdict.WireMoney(v.PostIM)}
}

// checkOne answers a single order decoded by parseCheckFast, without
// allocating.
func (s *Server) checkOne(ctx *fasthttp.RequestCtx, r role, o engine.Order, inst uint32) {
	if !s.mayRead(r, o.Account) {
		writeError(ctx, fasthttp.StatusForbidden, "order 0: account not accessible to this token")
		return
	}
	o.Instrument, o.Firm = instrument.ID(inst), r.firm
	var res checkResult
	s.runCheck(&o, inst, &res)
	bp := bufPool.Get().(*[]byte)
	*bp = appendCheckResult((*bp)[:0], &res)
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType("application/json")
	ctx.SetBody(*bp)
	bufPool.Put(bp)
}

// fillStatus maps a Service.Fill result to an HTTP status.
func fillStatus(c sbe.ErrorCode) (int, string) {
	switch c {
	case sbe.ErrorCodeNone:
		return fasthttp.StatusCreated, ""
	case sbe.ErrorCodeDuplicateFill:
		return fasthttp.StatusConflict, "duplicate exec_id"
	case sbe.ErrorCodeUnknownAccount:
		return fasthttp.StatusNotFound, "unknown account"
	case sbe.ErrorCodeUnknownInstrument:
		return fasthttp.StatusUnprocessableEntity, "unknown instrument"
	case sbe.ErrorCodeInvalidFill:
		return fasthttp.StatusBadRequest, "invalid fill"
	case sbe.ErrorCodeNotAuthorised:
		return fasthttp.StatusForbidden, "not authorised"
	}
	return fasthttp.StatusServiceUnavailable, "fill not recorded: " + c.String()
}

func (s *Server) fill(ctx *fasthttp.RequestCtx) {
	var q fillRequest
	if err := decodeStrict(ctx.PostBody(), &q); err != nil {
		writeError(ctx, fasthttp.StatusBadRequest, err.Error())
		return
	}
	side, ok := parseSide(q.Side)
	if !ok {
		writeError(ctx, fasthttp.StatusBadRequest, "side must be \"buy\" or \"sell\"")
		return
	}
	if q.Qty <= 0 || q.Qty > account.QtyMax || q.Price < 0 {
		writeError(ctx, fasthttp.StatusBadRequest, "qty must be in [1, 2^40] and price >= 0")
		return
	}
	f := sbe.Fill{Account: q.Account, Instrument: q.Instrument, Side: sbe.Side(side), Qty: q.Qty,
		Price: q.Price, ExecID: q.ExecID}
	c, cancel := context.WithTimeout(context.Background(), s.cfg.FillTimeout)
	code := s.svc.Fill(c, &f)
	cancel()
	st, msg := fillStatus(code)
	if st != fasthttp.StatusCreated {
		writeError(ctx, st, msg)
		return
	}
	writeJSON(ctx, st, fillResult{Status: "ok", ExecID: q.ExecID})
}

func (s *Server) collateral(ctx *fasthttp.RequestCtx, id uint64) {
	var q collateralRequest
	if err := decodeStrict(ctx.PostBody(), &q); err != nil {
		writeError(ctx, fasthttp.StatusBadRequest, err.Error())
		return
	}
	tier, err := account.ParseTier(q.Tier)
	if err != nil || tier == account.Verified {
		writeError(ctx, fasthttp.StatusBadRequest, "tier must be \"cash\" or \"credit_line\" (verified comes from attestations)")
		return
	}
	c, cancel := context.WithTimeout(context.Background(), s.cfg.FillTimeout)
	defer cancel()
	if err := s.svc.SetCollateral(c, id, tier, float64(q.Amount)/10000); err != nil {
		switch {
		case errors.Is(err, engine.ErrUnknownAccount):
			writeError(ctx, fasthttp.StatusNotFound, "unknown account")
		case errors.Is(err, account.ErrInvalid):
			writeError(ctx, fasthttp.StatusBadRequest, err.Error())
		case errors.Is(err, verdict.ErrDurability):
			writeError(ctx, fasthttp.StatusServiceUnavailable, "collateral change not made durable; not applied")
		default:
			writeError(ctx, fasthttp.StatusInternalServerError, "collateral update failed")
		}
		return
	}
	s.writeStatus(ctx, id)
}

func (s *Server) attestation(ctx *fasthttp.RequestCtx) {
	sg, err := attest.ParseJSON(ctx.PostBody())
	if err != nil {
		writeError(ctx, fasthttp.StatusBadRequest, err.Error())
		return
	}
	c, cancel := context.WithTimeout(context.Background(), s.cfg.FillTimeout)
	defer cancel()
	st, err := s.svc.Attest(c, sg)
	if err != nil {
		var rej *attest.Rejection
		switch {
		case errors.As(err, &rej):
			writeJSON(ctx, fasthttp.StatusUnprocessableEntity, errorBody{Error: rej.Error(), Reason: rej.Reason.String()})
		case errors.Is(err, engine.ErrUnknownAccount):
			writeError(ctx, fasthttp.StatusNotFound, "unknown account")
		case errors.Is(err, account.ErrInvalid):
			writeError(ctx, fasthttp.StatusConflict, err.Error())
		case errors.Is(err, verdict.ErrDurability):
			writeError(ctx, fasthttp.StatusServiceUnavailable, "attestation not made durable; not applied")
		case errors.Is(err, engine.ErrNoVerifier):
			writeError(ctx, fasthttp.StatusServiceUnavailable, "no attestation verifier configured")
		default:
			writeError(ctx, fasthttp.StatusInternalServerError, "attestation failed")
		}
		return
	}
	writeJSON(ctx, fasthttp.StatusCreated, statementBody{Account: st.Account, Value: st.Value, Asset: st.Asset,
		IssuedAt: st.IssuedAt.UTC(), ValidUntil: st.ValidUntil.UTC(), Nonce: st.Nonce, Attestor: st.Attestor})
}

func (s *Server) instruments(ctx *fasthttp.RequestCtx) {
	all := s.svc.Instruments()
	out := instrumentsBody{Instruments: make([]instrumentBody, len(all))}
	for i := range all {
		out.Instruments[i] = instrumentBodyOf(&all[i])
	}
	writeJSON(ctx, fasthttp.StatusOK, out)
}

// instrumentBodyOf is in's JSON form (strike in wire money).
func instrumentBodyOf(in *InstrumentInfo) instrumentBody {
	b := instrumentBody{ID: in.ID, Symbol: in.Symbol, Kind: in.Kind, Model: in.Model,
		Underlying: in.Underlying, Strike: verdict.WireMoney(in.Strike), Multiplier: in.Multiplier}
	if !in.Expiry.IsZero() {
		t := in.Expiry.UTC()
		b.Expiry = &t
	}
	return b
}

func (s *Server) epochLatest(ctx *fasthttp.RequestCtx) {
	e, ok := s.svc.LatestEpoch()
	if !ok {
		writeError(ctx, fasthttp.StatusNotFound, "no risk epoch yet")
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, epochBody{ID: e.ID, Seed: e.Seed, Hash: hexHash(e.Hash), Backend: e.Backend,
		Started: e.Started.UTC(), Finished: e.Finished.UTC(), DurationNs: int64(e.Duration), Scenarios: e.Scenarios})
}
