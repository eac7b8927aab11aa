// Command ballast-sim is Ballast's exchange simulator: it synthesizes a
// deterministic Nasdaq TotalView-ITCH 5.0 session carried over MoldUDP64 and
// either writes it to a capture file (pcap) or sends it live over UDP
// (send), printing a JSON summary with the generator's reference books.
//
//	ballast-sim pcap --out FILE [--symbols K] (--seconds N | --messages M) [--rate R] [--seed S] ...
//	ballast-sim send --to ADDR [--rate PPS | --msg-rate MPS] [--seconds N | --messages M] ...
//	ballast-sim send --to ADDR --events 'crash@20s:-25%; outage@60s:10s' [--http URL --token T] ...
//	ballast-sim load --transport tcp|shm|http --mode open|max|fills [--rate R] [--duration D] ...
//
// Exit status: 0 on success, 1 on a runtime failure, 2 on a usage error.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// Exit statuses.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// errUsage marks command-line errors (exit status 2).
var errUsage = errors.New("usage")

const topUsage = `ballast-sim: Ballast exchange simulator (ITCH 5.0 over MoldUDP64)

Usage:
  ballast-sim pcap --out FILE (--seconds N | --messages M) [flags]
        write a synthetic session to a capture file and print a JSON summary
  ballast-sim send --to ADDR [--rate PPS | --msg-rate MPS] [flags]
        send a synthetic session live over UDP (unicast or multicast)
  ballast-sim portfolio --preset reference|demo [--seed N] [--out DIR]
        write an instrument master and accounts (the engine's input files)
  ballast-sim load --transport tcp|shm|http --mode open|max|fills [flags]
        drive a verdict server with load: open-loop latency, max checks/s, fills/s
  ballast-sim help [pcap|send|portfolio|load]
        show a subcommand's flags

Sessions are deterministic: the same flags and --seed give the same messages.
pcap and send take --events SCRIPT: scripted market events (crash, volspike,
outage) at times of the session clock; see 'ballast-sim help send' and
docs/simulator.md.
The JSON summary's "books" object has the shape of 'ballastctl feed --summary':
symbol -> {locate, bid, bid_size, ask, ask_size, last, orders}, prices in ITCH
units (1/10,000 dollar) or null.

Exit status: 0 ok, 1 failure, 2 usage error.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line args and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, topUsage)
		return exitUsage
	}
	var err error
	switch args[0] {
	case "pcap":
		err = runPcap(args[1:], stdout, stderr)
	case "send":
		err = runSend(args[1:], stdout, stderr)
	case "portfolio":
		err = runPortfolio(args[1:], stdout, stderr)
	case "load":
		err = runLoad(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		return runHelp(args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "ballast-sim: unknown command %q\n\n%s", args[0], topUsage)
		return exitUsage
	}
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errHelp):
		return exitOK
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "ballast-sim %s: %v\n", args[0], err)
		fmt.Fprintf(stderr, "run 'ballast-sim help %s' for the flags\n", args[0])
		return exitUsage
	default:
		fmt.Fprintf(stderr, "ballast-sim %s: %v\n", args[0], err)
		return exitFail
	}
}

func runHelp(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stdout, topUsage)
		return exitOK
	}
	switch args[0] {
	case "pcap":
		fs, _ := pcapFlags()
		fs.SetOutput(stdout)
		fs.Usage()
	case "send":
		fs, _ := sendFlags()
		fs.SetOutput(stdout)
		fs.Usage()
	case "portfolio":
		fs, _ := portfolioFlags()
		fs.SetOutput(stdout)
		fs.Usage()
	case "load":
		fs, _ := loadFlags()
		fs.SetOutput(stdout)
		fs.Usage()
	default:
		fmt.Fprintf(stderr, "ballast-sim help: unknown command %q\n", args[0])
		return exitUsage
	}
	return exitOK
}
