package httpapi

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

const listingDoc = `{"version":1,"instruments":[
 {"id":100,"symbol":"AAA 2027-03 C110","kind":"call","underlying":"AAA","strike":110,"expiry":"2027-03-19T21:00:00Z","multiplier":100}]}`

// TestListInstrumentsRoute: POST /v1/instruments lists new series for the
// admin only, answers with them, and GET /v1/instruments shows them; a fill
// books one at once, and checks on it fail closed until the next epoch.
func TestListInstrumentsRoute(t *testing.T) {
	h := newEngineHarness(t, true)
	for _, tc := range []struct {
		method, token, body string
		code                int
	}{
		{"POST", "", listingDoc, 401},
		{"POST", tokOps, listingDoc, 403},
		{"POST", tokAlpha, listingDoc, 403},
		{"PUT", tokAdmin, listingDoc, 405},
		{"POST", tokAdmin, ``, 422},
		{"POST", tokAdmin, `{"version":1,"instruments":[]}`, 422},
		{"POST", tokAdmin, strings.Replace(listingDoc, `"id":100`, `"id":3`, 1), 422},
		{"POST", tokAdmin, strings.Replace(listingDoc, `"AAA"`, `"ZZZ"`, 1), 422},
		{"POST", tokAdmin, manyListed(500), 413},
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

	code, body := h.do(t, "POST", "/v1/instruments", tokAdmin, listingDoc)
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

// manyListed is a valid listing of n call strikes on AAA.
func manyListed(n int) string {
	var b strings.Builder
	b.WriteString(`{"version":1,"instruments":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"symbol":"AAA 2027-03 C%d","kind":"call","underlying":"AAA","strike":%d,"expiry":"2027-03-19T21:00:00Z","multiplier":100}`,
			1000+i, 200+i, 200+i)
	}
	b.WriteString(`]}`)
	return b.String()
}
