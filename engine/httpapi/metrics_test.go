package httpapi

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// sampleLine is one sample of the text exposition format.
var sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*")*)?\})? (\S+)$`)

// parseExposition checks every line of a text exposition and returns the
// samples by "name{labels}".
func parseExposition(t testing.TB, text string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	typed := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if f, ok := strings.CutPrefix(l, "# TYPE "); ok {
			parts := strings.Fields(f)
			if len(parts) != 2 || typed[parts[0]] {
				t.Fatalf("bad or repeated TYPE line %q", l)
			}
			typed[parts[0]] = true
			continue
		}
		if strings.HasPrefix(l, "# HELP ") {
			continue
		}
		m := sampleLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("bad sample line %q", l)
		}
		v, err := strconv.ParseFloat(m[5], 64)
		if err != nil {
			t.Fatalf("bad value in %q", l)
		}
		fam := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m[1], "_bucket"), "_sum"), "_count")
		if !typed[m[1]] && !typed[fam] {
			t.Fatalf("sample %q before its TYPE", l)
		}
		out[m[1]+m[2]] = v
	}
	return out
}

func TestMetrics(t *testing.T) {
	h := newHarness(t, Config{Collector: CollectorFunc(func(w io.Writer) error {
		_, err := fmt.Fprint(w, "# HELP ballast_feed_gaps_total Feed gaps.\n# TYPE ballast_feed_gaps_total counter\nballast_feed_gaps_total 3\n")
		return err
	})}, newFake())
	h.do(t, "POST", "/v1/check", tokAlpha, `{"account":1,"instrument":10,"side":"buy","qty":1,"price":0}`)
	h.do(t, "POST", "/v1/check", tokAlpha, `[{"account":1,"instrument":10,"side":"buy","qty":500,"price":0},{"account":2,"instrument":10,"side":"buy","qty":501,"price":0}]`)
	h.do(t, "POST", "/v1/check", tokAlpha, `{"bad":1}`)
	h.do(t, "GET", "/v1/accounts/3", tokAlpha, "")
	h.do(t, "GET", "/v1/accounts/3", "", "")
	code, body := h.do(t, "GET", "/metrics", tokOps, "")
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	m := parseExposition(t, string(body))
	for k, want := range map[string]float64{
		`ballast_http_requests_total{route="/v1/check",code="200"}`:                   2,
		`ballast_http_requests_total{route="/v1/check",code="400"}`:                   1,
		`ballast_http_requests_total{route="/v1/accounts/{id}",code="403"}`:           1,
		`ballast_http_requests_total{route="/v1/accounts/{id}",code="401"}`:           1,
		`ballast_http_verdicts_total{decision="accept",reason="none"}`:                1,
		`ballast_http_verdicts_total{decision="reject",reason="insufficient margin"}`: 2,
		`ballast_http_check_seconds_count`:                                            2,
		`ballast_http_check_seconds_bucket{le="+Inf"}`:                                2,
		`ballast_http_stream_clients`:                                                 0,
		`ballast_feed_gaps_total`:                                                     3,
	} {
		if got, ok := m[k]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, want)
		}
	}
	// Buckets are cumulative and non-decreasing.
	prev := -1.0
	for _, ub := range checkBucketsNs {
		v := m[`ballast_http_check_seconds_bucket{le="`+secondsString(ub)+`"}`]
		if v < prev {
			t.Errorf("bucket %d: %v < %v", ub, v, prev)
		}
		prev = v
	}
}

func TestMetricsCollectorError(t *testing.T) {
	h := newHarness(t, Config{Collector: CollectorFunc(func(io.Writer) error { return errors.New("ring gone") })}, newFake())
	code, body := h.do(t, "GET", "/metrics", tokAdmin, "")
	if code != 500 || !strings.Contains(errorOf(t, body), "ring gone") {
		t.Fatalf("%d %s", code, body)
	}
}
