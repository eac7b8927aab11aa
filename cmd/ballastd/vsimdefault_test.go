package main

import (
	"bytes"
	"testing"
)

// TestVsimScenariosDefault: --accel=vsim runs 1,000 scenarios unless told
// otherwise; cpu keeps the engine's default (0 here).
func TestVsimScenariosDefault(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"--accel=vsim"}, vsimScenariosDefault},
		{[]string{"--accel=vsim", "--scenarios=500"}, 500},
		{[]string{"--accel=cpu"}, 0},
	} {
		o, err := parseArgs(tc.args, &bytes.Buffer{})
		if err != nil || o.app.scenarios != tc.want {
			t.Errorf("%v: scenarios %d, %v; want %d", tc.args, o.app.scenarios, err, tc.want)
		}
	}
}
