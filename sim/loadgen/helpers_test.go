package loadgen

import (
	"testing"

	"github.com/ballast-risk/ballast/sim/loadgen/loadgentest"
)

// bookMix draws every account × instrument of the test book, plus an
// unknown instrument (rejected), with quantities from 1 to 100,000 (large
// ones are rejected for margin).
func bookMix() Mix {
	m, err := CrossMix(loadgentest.Accounts, append(append([]uint32(nil), loadgentest.Instruments...), 99), 0, 1, 100_000)
	if err != nil {
		panic(err)
	}
	return m
}

func target(tb testing.TB, s *loadgentest.Servers, name string) Target {
	tb.Helper()
	switch name {
	case "tcp":
		return &TCPTarget{Addr: s.TCPAddr, Token: loadgentest.Token}
	case "tcp-direct":
		return &TCPTarget{Addr: s.TCPAddr, Token: loadgentest.Token, Direct: true}
	case "shm":
		return &ShmTarget{Dir: s.ShmDir, Token: loadgentest.Token}
	case "shm-direct":
		return &ShmTarget{Dir: s.ShmDir, Token: loadgentest.Token, Direct: true}
	case "http":
		return &HTTPTarget{URL: s.HTTPURL, Token: loadgentest.Token}
	case "http-direct":
		return &HTTPTarget{URL: s.HTTPURL, Token: loadgentest.Token, Direct: true}
	}
	tb.Fatalf("no transport %q", name)
	return nil
}
