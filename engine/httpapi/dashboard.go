package httpapi

import (
	"github.com/valyala/fasthttp"

	"github.com/ballast-risk/ballast/engine/dashboard"
)

// dashboardSummary answers GET /v1/dashboard with Config.Dashboard's
// Summary, filling in the server's check latency histogram when the
// provider left it nil.
func (s *Server) dashboardSummary(ctx *fasthttp.RequestCtx) {
	sum, err := s.cfg.Dashboard()
	if err != nil || sum == nil {
		msg := "dashboard summary unavailable"
		if err != nil {
			msg += ": " + err.Error()
		}
		writeError(ctx, fasthttp.StatusServiceUnavailable, msg)
		return
	}
	if sum.CheckLatency == nil {
		out := *sum // the provider may share sum: fill in a copy
		l, err := dashboard.NewLatency(s.CheckLatency())
		if err != nil {
			panic("httpapi: check latency histogram rejected: " + err.Error())
		}
		out.CheckLatency = &l
		sum = &out
	}
	ctx.Response.Header.Set("Cache-Control", "no-store")
	writeJSON(ctx, fasthttp.StatusOK, sum)
}
