// Package dashboard is the appliance's live dashboard (DESIGN §5.3,
// GET /): a page, script and style sheet embedded in the binary (no CDN, no
// external library, no web font) and the Summary it polls from
// GET /v1/dashboard.
//
// The page shows accounts by state and health factor, the worst accounts,
// margin notices as they happen (read from GET /v1/stream with fetch and a
// streaming reader, since EventSource cannot send an Authorization
// header), the feed's rate and gaps, the epoch duration timeline per
// backend, the check latency histograms per transport (the matching
// engines' SBE checks and the HTTP what-if checks, kept apart: they time
// different spans in different buckets) and the accelerator's state. Charts
// are drawn on <canvas> by the page's own code. The bearer token (an "ops"
// or "admin" token) comes from the URL fragment "#token=…", which browsers
// never send to the server, or from a login box, and is kept in
// sessionStorage. The assets are served with a strict
// Content-Security-Policy (no inline script or style) and need no token;
// every figure comes from the authenticated API.
//
// The server side is plain data: Summary and its parts, AccountsSummary
// (one pass over an engine's accounts, with a bounded worst-accounts
// heap), Cache (a TTL cache so that many pages cost one pass per TTL),
// EpochTimeline (a bounded ring of recent epochs), RateMeter (feed rates
// from running totals) and Provider, which assembles them into the
// function httpapi.Config.Dashboard takes.
package dashboard
