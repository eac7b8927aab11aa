package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

const (
	demoMaster   = "../../bench/workload/demo/master.json"
	demoAccounts = "../../bench/workload/demo/accounts.json.gz"
	demoAsOf     = "2026-11-20T21:00:00Z"
)

func TestMarginCommand(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"margin", "--master", demoMaster, "--accounts", demoAccounts, "--as-of", demoAsOf, "--scenarios", "2000"}, &out, &errb)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var r marginOutput
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if r.Epoch.ID != 1 || r.Epoch.Backend != "reference" || r.Epoch.Scenarios != 2000 || len(r.Epoch.Hash) != 64 {
		t.Fatalf("epoch %+v", r.Epoch)
	}
	total := r.States["HEALTHY"] + r.States["MARGIN_CALL"] + r.States["LIQUIDATE"]
	if total != len(r.Accounts) || total != 100 {
		t.Fatalf("%d accounts, states %v", len(r.Accounts), r.States)
	}
	if r.States["HEALTHY"] == 0 || r.States["HEALTHY"] == total {
		t.Fatalf("the demo should mix states: %v", r.States)
	}
	for _, a := range r.Accounts {
		if a.IM < 0 || a.MM > a.IM {
			t.Fatalf("account %+v", a)
		}
		want := "HEALTHY"
		switch {
		case a.Equity < a.MM:
			want = "LIQUIDATE"
		case a.Equity < a.IM:
			want = "MARGIN_CALL"
		}
		if a.State != want {
			t.Fatalf("account %d: state %s, equity %v IM %v MM %v", a.ID, a.State, a.Equity, a.IM, a.MM)
		}
	}
	// Same inputs, same seed: the same epoch hash; one account on request.
	id := r.Accounts[3].ID
	out.Reset()
	code = run([]string{"margin", "--master", demoMaster, "--accounts", demoAccounts, "--as-of", demoAsOf, "--scenarios", "2000",
		"--account", strings.TrimSpace(jsonNumber(id))}, &out, &errb)
	var one marginOutput
	if code != exitOK || json.Unmarshal(out.Bytes(), &one) != nil || len(one.Accounts) != 1 || one.Accounts[0] != r.Accounts[3] || one.Epoch.Hash != r.Epoch.Hash {
		t.Fatalf("single account: exit %d %+v", code, one.Accounts)
	}
}

func jsonNumber(v uint64) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestMarginCommandErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"margin"}, exitUsage},
		{[]string{"margin", "--master", demoMaster}, exitUsage},
		{[]string{"margin", "--master", demoMaster, "--accounts", demoAccounts, "--as-of", "yesterday"}, exitUsage},
		{[]string{"margin", "--master", "nope.json", "--accounts", demoAccounts}, exitFail},
		{[]string{"margin", "--master", demoMaster, "--accounts", demoAccounts, "--as-of", demoAsOf, "--scenarios", "100", "--account", "1"}, exitFail},
	} {
		var out, errb bytes.Buffer
		if code := run(tc.args, &out, &errb); code != tc.code {
			t.Errorf("%v: exit %d (%s)", tc.args, code, errb.String())
		}
	}
}
