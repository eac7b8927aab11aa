package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/engine/sbe"
	"github.com/ballast-risk/ballast/engine/verdict/client"
)

// latestEpoch returns the id of the latest published risk epoch.
func (c *child) latestEpoch(t *testing.T) uint64 {
	t.Helper()
	code, _, body := c.get(t, "/v1/epochs/latest", crashToken)
	var e struct {
		ID uint64 `json:"id"`
	}
	if err := json.Unmarshal(body, &e); code != 200 || err != nil {
		t.Fatalf("GET /v1/epochs/latest: %d %v %s", code, err, body)
	}
	return e.ID
}

// TestListingRequestsEpoch: with an hour between epochs, a series listed
// over POST /v1/instruments is priced by an epoch that the listing asks for
// at once, so checks in it stop failing closed within seconds rather than
// at the next tick.
func TestListingRequestsEpoch(t *testing.T) {
	c := startChild(t, filepath.Join(t.TempDir(), "data"), "--epoch-every=1h")
	for ready := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if code, _, _ := c.get(t, "/readyz", ""); code == 200 {
			break
		}
		if time.Now().After(ready) {
			t.Fatalf("not ready; log:\n%s", c.logText())
		}
	}
	first := c.latestEpoch(t)

	// A new call with the definitions of a listed Black-Scholes call.
	code, _, body := c.get(t, "/v1/instruments", crashToken)
	var ib struct {
		Instruments []struct {
			ID         uint32    `json:"id"`
			Kind       string    `json:"kind"`
			Model      string    `json:"model"`
			Underlying string    `json:"underlying"`
			Strike     int64     `json:"strike"`
			Expiry     time.Time `json:"expiry"`
			Multiplier float64   `json:"multiplier"`
		} `json:"instruments"`
	}
	if err := json.Unmarshal(body, &ib); code != 200 || err != nil {
		t.Fatalf("GET /v1/instruments: %d %v", code, err)
	}
	var maxID uint32
	tmpl := -1
	for i, in := range ib.Instruments {
		maxID = max(maxID, in.ID)
		if tmpl < 0 && in.Kind == "call" && in.Model == "bs" {
			tmpl = i
		}
	}
	if tmpl < 0 {
		t.Fatal("the demo master has no Black-Scholes call to copy")
	}
	in := ib.Instruments[tmpl]
	id := maxID + 1
	doc := fmt.Sprintf(`{"version":1,"instruments":[{"id":%d,"symbol":"LISTED-TEST-C","kind":"call","underlying":%q,"strike":%g,"expiry":%q,"multiplier":%g}]}`,
		id, in.Underlying, float64(in.Strike)/1e4, in.Expiry.Format(time.RFC3339), in.Multiplier)
	req, _ := http.NewRequest("POST", c.httpAddr+"/v1/instruments", strings.NewReader(doc))
	req.Header.Set("Authorization", "Bearer "+crashToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST /v1/instruments: %d %s", resp.StatusCode, out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn, err := client.Dial(ctx, c.sbeAddr, crashToken, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	order := sbe.OrderCheck{Account: 1001, Instrument: id, Side: sbe.SideBuy, Qty: 1}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		v, err := conn.Check(ctx, order)
		if err != nil {
			t.Fatal(err)
		}
		if v.Reason != sbe.ReasonNoRiskEpoch {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a check in the listed instrument still fails closed after 30 s (epoch %d); log:\n%s",
				c.latestEpoch(t), c.logText())
		}
	}
	if got := c.latestEpoch(t); got <= first {
		t.Errorf("latest epoch %d after the listing, want past %d", got, first)
	}
	c.waitLog(t, 5*time.Second, "instruments listed: next risk epoch requested")
}
