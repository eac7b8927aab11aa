package dashboard

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// serveOnce runs the handler on a fresh request.
func serveOnce(h fasthttp.RequestHandler, method, path, ifNoneMatch string) *fasthttp.RequestCtx {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(path)
	if ifNoneMatch != "" {
		ctx.Request.Header.Set("If-None-Match", ifNoneMatch)
	}
	h(&ctx)
	return &ctx
}

func TestAssetsHandler(t *testing.T) {
	h := NewAssets().Handler()
	etags := map[string]bool{}
	for path, ct := range map[string]string{
		"/":                        "text/html; charset=utf-8",
		"/dashboard/dashboard.js":  "text/javascript; charset=utf-8",
		"/dashboard/dashboard.css": "text/css; charset=utf-8",
		"/dashboard/favicon.svg":   "image/svg+xml",
		"/?x=1":                    "text/html; charset=utf-8", // the query does not matter
	} {
		ctx := serveOnce(h, "GET", path, "")
		r := &ctx.Response
		if r.StatusCode() != 200 || string(r.Header.ContentType()) != ct {
			t.Errorf("GET %s: %d %q, want 200 %q", path, r.StatusCode(), r.Header.ContentType(), ct)
		}
		if len(r.Body()) == 0 {
			t.Errorf("GET %s: empty body", path)
		}
		if got := string(r.Header.Peek("Content-Security-Policy")); got != ContentSecurityPolicy {
			t.Errorf("GET %s: CSP %q", path, got)
		}
		for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache",
			"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"} {
			if got := string(r.Header.Peek(k)); got != v {
				t.Errorf("GET %s: %s %q, want %q", path, k, got, v)
			}
		}
		etag := string(r.Header.Peek("ETag"))
		if !regexp.MustCompile(`^"[0-9a-f]{24}"$`).MatchString(etag) {
			t.Errorf("GET %s: ETag %q", path, etag)
		}
		etags[etag] = true
		// Revalidation.
		for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
			ctx := serveOnce(h, "GET", path, inm)
			if ctx.Response.StatusCode() != 304 || len(ctx.Response.Body()) != 0 {
				t.Errorf("GET %s If-None-Match %s: %d", path, inm, ctx.Response.StatusCode())
			}
		}
		if ctx := serveOnce(h, "GET", path, `"stale"`); ctx.Response.StatusCode() != 200 {
			t.Errorf("GET %s with a stale ETag: %d", path, ctx.Response.StatusCode())
		}
		head := serveOnce(h, "HEAD", path, "")
		if head.Response.StatusCode() != 200 || head.Response.Header.ContentLength() != len(r.Body()) {
			t.Errorf("HEAD %s: %d length %d", path, head.Response.StatusCode(), head.Response.Header.ContentLength())
		}
		post := serveOnce(h, "POST", path, "")
		if post.Response.StatusCode() != 405 || string(post.Response.Header.Peek("Allow")) != "GET, HEAD" {
			t.Errorf("POST %s: %d", path, post.Response.StatusCode())
		}
	}
	if len(etags) != 4 {
		t.Errorf("ETags not distinct: %v", etags)
	}
	for _, p := range []string{"/dashboard/", "/dashboard/../go.mod", "/dashboard/index.html", "/dashboard/x.js"} {
		ctx := serveOnce(h, "GET", p, "")
		if ctx.Response.StatusCode() != 404 || !bytes.Contains(ctx.Response.Body(), []byte(`"error"`)) {
			t.Errorf("GET %s: %d %s", p, ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
}

func TestOwns(t *testing.T) {
	for p, want := range map[string]bool{"/": true, "/dashboard/dashboard.js": true, "/dashboard/": true,
		"/dashboard": false, "/v1/dashboard": false, "": false, "/metrics": false} {
		if Owns([]byte(p)) != want {
			t.Errorf("Owns(%q) = %v", p, !want)
		}
	}
}

// TestAssetsSelfContained checks what the CSP and the brief demand of the
// files themselves: no inline script, style or event handler, nothing
// loaded from elsewhere, no web font, every script and style local.
func TestAssetsSelfContained(t *testing.T) {
	read := func(name string) string {
		b, err := staticFS.ReadFile("static/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	html := read("index.html")
	if m := regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`).FindString(html); m != "" {
		t.Errorf("index.html has an inline script: %q", m)
	}
	for _, bad := range []string{" style=", "<style", "javascript:", "http://", "https://", "//cdn", "@import"} {
		if strings.Contains(html, bad) {
			t.Errorf("index.html contains %q", bad)
		}
	}
	if regexp.MustCompile(`\son[a-z]+\s*=`).MatchString(html) {
		t.Errorf("index.html has an inline event handler")
	}
	for _, tag := range regexp.MustCompile(`<script[^>]*>`).FindAllString(html, -1) {
		if !strings.Contains(tag, `src="/dashboard/`) {
			t.Errorf("script not loaded from the appliance: %s", tag)
		}
	}
	js, css := read("dashboard.js"), read("dashboard.css")
	for name, body := range map[string]string{"dashboard.js": js, "dashboard.css": css} {
		for _, bad := range []string{"http://", "https://", "@import", "@font-face", "url(", "eval(", "new Function",
			"innerHTML", "document.write"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s contains %q", name, bad)
			}
		}
	}
	// The page reads the API it is documented to read.
	for _, want := range []string{"'/v1/dashboard'", "'/v1/stream'", "Authorization", "sessionStorage", "getReader",
		"NOTICES_MAX = 200"} {
		if !strings.Contains(js, want) {
			t.Errorf("dashboard.js lacks %q", want)
		}
	}
	if strings.Contains(js, "new EventSource") {
		t.Errorf("dashboard.js uses EventSource, which cannot send the token")
	}
	// Every id the script looks up exists in the page.
	for _, m := range regexp.MustCompile(`\$\('([a-z0-9-]+)'\)|setText\('([a-z0-9-]+)'|pill\('([a-z0-9-]+)'|canvas2d\('([a-z0-9-]+)'\)|drawBars\('([a-z0-9-]+)'|drawEmpty\('([a-z0-9-]+)'`).FindAllStringSubmatch(js, -1) {
		for _, id := range m[1:] {
			if id != "" && !strings.Contains(html, `id="`+id+`"`) {
				t.Errorf("dashboard.js uses #%s, which index.html lacks", id)
			}
		}
	}
}

func TestAssetsServeAllocs(t *testing.T) {
	h := NewAssets().Handler()
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod("GET")
	ctx.Request.SetRequestURI("/dashboard/dashboard.js")
	h(&ctx) // size the response buffers
	if n := testing.AllocsPerRun(200, func() {
		ctx.Response.Reset()
		h(&ctx)
	}); n != 0 {
		t.Errorf("serving an asset allocates %.1f times", n)
	}
}

func BenchmarkAssetsServe(b *testing.B) {
	h := NewAssets().Handler()
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod("GET")
	ctx.Request.SetRequestURI("/dashboard/dashboard.js")
	h(&ctx)
	n := len(ctx.Response.Body())
	b.ReportAllocs()
	b.SetBytes(int64(n))
	for b.Loop() {
		ctx.Response.Reset()
		h(&ctx)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// etagMatchesRef is the obvious implementation of etagMatches.
func etagMatchesRef(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, tok := range strings.Split(header, ",") {
		tok = strings.TrimSpace(tok)
		if tok == "" {
			continue
		}
		if tok == "*" || strings.TrimPrefix(tok, "W/") == etag {
			return true
		}
	}
	return false
}

func FuzzEtagMatches(f *testing.F) {
	for _, s := range []string{`"abc"`, `W/"abc"`, `"x", "abc"`, "*", "", ",,,", ` "abc" `, `W/W/"abc"`, "\t\"abc\"\r"} {
		f.Add(s, `"abc"`)
	}
	f.Fuzz(func(t *testing.T, header, etag string) {
		if got, want := etagMatches([]byte(header), etag), etagMatchesRef(header, etag); got != want {
			t.Fatalf("etagMatches(%q, %q) = %v, want %v", header, etag, got, want)
		}
	})
}
