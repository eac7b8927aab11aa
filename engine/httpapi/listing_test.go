package httpapi

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/ballast-risk/ballast/engine/enginetest"
)

// TestListInstrumentsRoute: POST /v1/instruments lists new series for the
// admin only, answers with them, and GET /v1/instruments shows them; a fill
// books one at once, and checks on it fail closed until the next epoch.
func TestListInstrumentsRoute(t *testing.T) {
	h := newEngineHarness(t, true)
	for _, tc := range []struct {
		method, token, body string
		code                int
	}{
		{"POST", "", enginetest.Listing, 401},
		{"POST", tokOps, enginetest.Listing, 403},
		{"POST", tokAlpha, enginetest.Listing, 403},
		{"PUT", tokAdmin, enginetest.Listing, 405},
		{"POST", tokAdmin, ``, 422},
		{"POST", tokAdmin, `{"version":1,"instruments":[]}`, 422},
		{"POST", tokAdmin, strings.Replace(enginetest.Listing, `"id":100`, `"id":3`, 1), 422},
		{"POST", tokAdmin, strings.Replace(enginetest.Listing, `"AAA"`, `"ZZZ"`, 1), 422},
		{"POST", tokAdmin, enginetest.ManyListing(500), 413},
	} {
		code, body := h.do(t, tc.method, "/v1/instruments", tc.token, tc.body)
		if code != tc.code {
			t.Errorf("%s %.30q (%q): %d %s, want %d", tc.method, tc.body, tc.token, code, body, tc.code)
			continue
		}
		errorOf(t, body)
	}
	if n := len(h.eng.Master().Instruments); n != 7 {
		t.Fatalf("refused listings changed the master: %d instruments", n)
	}

	code, body := h.do(t, "POST", "/v1/instruments", tokAdmin, enginetest.Listing)
	var listed listedBody
	if code != 200 || json.Unmarshal(body, &listed) != nil || len(listed.Listed) != 1 {
		t.Fatalf("listing: %d %s", code, body)
	}
	if b := listed.Listed[0]; b.ID != 100 || b.Symbol != "AAA 2027-03 C110" || b.Kind != "call" || b.Model != "bs" ||
		b.Underlying != "AAA" || b.Strike != 1_100_000 || b.Expiry == nil || b.Multiplier != 100 {
		t.Fatalf("listed %+v", b)
	}
	for _, tok := range []string{tokAdmin, tokOps, tokAlpha} {
		code, body := h.do(t, "GET", "/v1/instruments", tok, "")
		var all instrumentsBody
		if code != 200 || json.Unmarshal(body, &all) != nil || len(all.Instruments) != 8 || !reflect.DeepEqual(all.Instruments[7], listed.Listed[0]) {
			t.Fatalf("GET /v1/instruments after the listing (%s): %d %s", tok, code, body)
		}
	}

	// Before the next epoch: a check in the new series fails closed.
	code, body = h.do(t, "POST", "/v1/check", tokAlpha, `{"account":1001,"instrument":100,"side":"buy","qty":1}`)
	if code != 200 || !strings.Contains(string(body), `"decision":"reject","reason":"no risk epoch"`) {
		t.Fatalf("check before the epoch: %d %s", code, body)
	}
	code, body = h.do(t, "POST", "/v1/fills", tokAdmin, `{"account":1001,"instrument":100,"side":"buy","qty":2,"price":45000,"exec_id":77}`)
	if code != 201 {
		t.Fatalf("fill on the listed instrument: %d %s", code, body)
	}
	if q := h.qty(t, tokAlpha, 1001, 100); q != 2 {
		t.Fatalf("position %d", q)
	}
}
