package dashboard

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"path"

	"github.com/valyala/fasthttp"
)

//go:embed static/index.html static/dashboard.js static/dashboard.css static/favicon.svg
var staticFS embed.FS

// AssetPrefix is the path prefix of the dashboard's script, style sheet
// and icon; the page itself is served at "/".
const AssetPrefix = "/dashboard/"

// ContentSecurityPolicy is sent with every asset: only the appliance's own
// scripts, styles, images and API, no inline script or style, no framing.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; font-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'; " +
	"frame-ancestors 'none'"

// asset is one embedded file ready to serve.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// Assets serves the embedded dashboard files.
type Assets struct {
	byPath map[string]*asset
}

var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
}

// NewAssets loads the embedded files; it panics if they are missing, which
// the build guarantees they are not.
func NewAssets() *Assets {
	a := &Assets{byPath: map[string]*asset{}}
	for urlPath, file := range map[string]string{
		"/":                           "static/index.html",
		AssetPrefix + "dashboard.js":  "static/dashboard.js",
		AssetPrefix + "dashboard.css": "static/dashboard.css",
		AssetPrefix + "favicon.svg":   "static/favicon.svg",
	} {
		body, err := staticFS.ReadFile(file)
		if err != nil {
			panic("dashboard: embedded asset missing: " + file)
		}
		ct, ok := contentTypes[path.Ext(file)]
		if !ok {
			panic("dashboard: no content type for " + file)
		}
		sum := sha256.Sum256(body)
		a.byPath[urlPath] = &asset{body: body, contentType: ct, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
	}
	return a
}

// Owns reports whether path is the dashboard's to answer: "/" or under
// AssetPrefix.
func Owns(p []byte) bool {
	return string(p) == "/" || bytes.HasPrefix(p, []byte(AssetPrefix))
}

// Handler returns a fasthttp handler serving the page at "/" and its
// assets under AssetPrefix (GET and HEAD; 405 otherwise, 404 for an
// unknown asset, with a JSON error body like the rest of the API). It sets
// Content-Type, a strong ETag (answering If-None-Match with 304),
// Cache-Control: no-cache (revalidate every load), the
// ContentSecurityPolicy and the usual hardening headers. The files are
// static: no data and no authentication.
func (a *Assets) Handler() fasthttp.RequestHandler {
	return a.serve
}

func (a *Assets) serve(ctx *fasthttp.RequestCtx) {
	h := &ctx.Response.Header
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	as, ok := a.byPath[string(ctx.Path())]
	if !ok {
		ctx.SetStatusCode(fasthttp.StatusNotFound)
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"error":"no such asset"}` + "\n")
		return
	}
	if !ctx.IsGet() && !ctx.IsHead() {
		h.Set("Allow", "GET, HEAD")
		ctx.SetStatusCode(fasthttp.StatusMethodNotAllowed)
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"error":"method not allowed; allowed: GET, HEAD"}` + "\n")
		return
	}
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", as.etag)
	if etagMatches(ctx.Request.Header.Peek("If-None-Match"), as.etag) {
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		return
	}
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType(as.contentType)
	if ctx.IsHead() {
		ctx.Response.SkipBody = true
		ctx.Response.Header.SetContentLength(len(as.body))
		return
	}
	ctx.SetBody(as.body)
}

// etagMatches reports whether an If-None-Match header lists etag (or "*"),
// using the weak comparison RFC 9110 §13.1.2 prescribes.
func etagMatches(header []byte, etag string) bool {
	for len(header) > 0 {
		var tok []byte
		if i := bytes.IndexByte(header, ','); i >= 0 {
			tok, header = header[:i], header[i+1:]
		} else {
			tok, header = header, nil
		}
		tok = bytes.TrimSpace(tok)
		if len(tok) == 0 {
			continue
		}
		if string(tok) == "*" {
			return true
		}
		tok = bytes.TrimPrefix(tok, []byte("W/"))
		if string(tok) == etag {
			return true
		}
	}
	return false
}
