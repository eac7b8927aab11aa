package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// DiscoverBytesMax bounds a discovery response body.
const DiscoverBytesMax = 16 << 20

// ErrDiscover reports a failed discovery request.
var ErrDiscover = errors.New("loadgen: discovery failed")

// Discover lists the accounts the token may use (GET /v1/accounts) and the
// instruments (GET /v1/instruments) of the HTTP API at baseURL.
func Discover(ctx context.Context, baseURL, token string) (accounts []uint64, instruments []uint32, err error) {
	var ab struct {
		Accounts []struct {
			ID uint64 `json:"id"`
		} `json:"accounts"`
	}
	if err := getJSON(ctx, baseURL+"/v1/accounts", token, &ab); err != nil {
		return nil, nil, err
	}
	var ib struct {
		Instruments []struct {
			ID uint32 `json:"id"`
		} `json:"instruments"`
	}
	if err := getJSON(ctx, baseURL+"/v1/instruments", token, &ib); err != nil {
		return nil, nil, err
	}
	for _, a := range ab.Accounts {
		accounts = append(accounts, a.ID)
	}
	for _, i := range ib.Instruments {
		instruments = append(instruments, i.ID)
	}
	if len(accounts) == 0 || len(instruments) == 0 {
		return nil, nil, fmt.Errorf("%w: %d accounts and %d instruments visible to this token", ErrDiscover, len(accounts), len(instruments))
	}
	return accounts, instruments, nil
}

func getJSON(ctx context.Context, url, token string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(url, "/"), nil)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrDiscover, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrDiscover, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, DiscoverBytesMax+1))
	if err != nil {
		return fmt.Errorf("%w: GET %s: %v", ErrDiscover, url, err)
	}
	if len(body) > DiscoverBytesMax {
		return fmt.Errorf("%w: GET %s: body over %d bytes", ErrDiscover, url, DiscoverBytesMax)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: GET %s: %s: %s", ErrDiscover, url, resp.Status, strings.TrimSpace(string(body)))
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w: GET %s: %v", ErrDiscover, url, err)
	}
	return nil
}

// CrossMix returns the mix of every account × instrument at price (0: at
// the mark) with quantities in [qtyMin, qtyMax].
func CrossMix(accounts []uint64, instruments []uint32, price, qtyMin, qtyMax int64) (Mix, error) {
	if len(accounts)*len(instruments) > SpecsMax {
		return Mix{}, fmt.Errorf("%w: %d accounts × %d instruments over %d specs", ErrMix, len(accounts), len(instruments), SpecsMax)
	}
	m := Mix{QtyMin: qtyMin, QtyMax: qtyMax}
	for _, a := range accounts {
		for _, i := range instruments {
			m.Specs = append(m.Specs, OrderSpec{Account: a, Instrument: i, Price: price})
		}
	}
	return m, m.Validate()
}
