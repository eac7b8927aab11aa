// Command ballastctl is Ballast's client and offline tool box.
//
//	ballastctl feed --pcap FILE --summary   replay a MoldUDP64/ITCH 5.0 capture
//	ballastctl price [--file FILE]          price options from JSON lines (stdin)
//	ballastctl risk --file FILE ...         Monte Carlo VaR/ES of a portfolio
//	ballastctl margin --master F --accounts F   margin status of every account
//
// and the online commands, which talk to a running ballastd over the binary
// verdict protocol (SBE over TCP, DESIGN §5.2) or the HTTP API (§5.3):
//
//	ballastctl check --account N --instrument ID --side buy|sell --qty Q --price P
//	ballastctl account N                         an account's margin status
//	ballastctl fill ... --exec-id E              book an execution
//	ballastctl collateral --account N --tier cash|credit_line --amount X
//	ballastctl attest --file FILE                submit a signed attestation
//	ballastctl watch [--account N]               margin state changes, live
//
// The offline commands print JSON (or a human-readable form where noted);
// the online ones print a human-readable form, or JSON with --json (see
// docs/ballastctl.md). Every command exits 0 on success, 1 on failure and 2
// on a usage error.
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"feed", "replay a MoldUDP64/ITCH 5.0 pcap and print books and counters", runFeed},
		{"price", "price European options (BSM, Black-76) from JSON lines: price and Greeks", runPrice},
		{"risk", "Monte Carlo VaR/ES of a market-and-portfolio file", runRisk},
		{"margin", "one risk epoch over a master and accounts: every account's margin status", runMargin},
		{"check", "online: pre-trade verdict on one order (SBE or HTTP)", runCheck},
		{"account", "online: an account's margin status (SBE or HTTP)", runAccount},
		{"fill", "online: book an execution (SBE or HTTP, admin)", runFill},
		{"collateral", "online: set an account's cash or credit line (HTTP, admin)", runCollateral},
		{"attest", "online: submit a signed credit attestation (HTTP, admin)", runAttest},
		{"list-instruments", "online: list new series during the day (HTTP, admin)", runListInstruments},
		{"watch", "online: print margin state changes as they happen (SBE or HTTP)", runWatch},
	}
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "ballastctl: unknown command %q\n\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: ballastctl COMMAND [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'ballastctl COMMAND --help' for a command's flags.")
}
