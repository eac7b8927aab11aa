package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ballast-risk/ballast/sim/loadgen/loadgentest"
)

func TestLoadCommand(t *testing.T) {
	s := loadgentest.Start(t)
	short := []string{"--duration=300ms", "--warmup=100ms", "--rate=2000"}
	t.Run("tcp json", func(t *testing.T) {
		args := append([]string{"load", "--transport=tcp", "--addr", s.TCPAddr, "--token", loadgentest.Token,
			"--accounts=1001,2001", "--instruments=1,5,99", "--json", "--poisson"}, short...)
		code, out, errOut := runCmd(args...)
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var got loadOutput
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		r := got.Result
		if r.Mode != "open" || r.Transport != "tcp" || !r.Poisson || r.Sent == 0 || r.Sent != r.Received ||
			r.Mismatches != 0 || r.Errors != 0 || r.Rejects == 0 || !strings.Contains(r.Note, "share") {
			t.Fatalf("result %+v", r)
		}
		cmd := strings.Join(got.Command, " ")
		if strings.Contains(cmd, loadgentest.Token) || !strings.Contains(cmd, "--token REDACTED") ||
			!strings.HasPrefix(cmd, "ballast-sim load --transport=tcp") {
			t.Fatalf("command %q", cmd)
		}
	})
	t.Run("http discover", func(t *testing.T) {
		t.Setenv("BALLAST_TOKEN", loadgentest.Token)
		code, out, errOut := runCmd(append([]string{"load", "--transport=http", "--http", s.HTTPURL + "/", "--conns=2"}, short...)...)
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		for _, want := range []string{"open loop over http", "lost 0, errors 0, mismatches 0", "latency from intended send", "sender:", "verdicts:"} {
			if !strings.Contains(out, want) {
				t.Fatalf("summary lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("shm max", func(t *testing.T) {
		code, out, errOut := runCmd(append([]string{"load", "--transport=shm", "--shm-dir", s.ShmDir, "--token=" + loadgentest.Token,
			"--mode=max", "--inflight=32", "--http", s.HTTPURL}, short...)...)
		if code != exitOK || !strings.Contains(out, "max throughput over shm") || !strings.Contains(out, "lost 0, errors 0, mismatches 0") {
			t.Fatalf("exit %d: %s%s", code, out, errOut)
		}
	})
	for _, direct := range []string{"true", "false"} {
		t.Run("shm open direct="+direct, func(t *testing.T) {
			code, out, errOut := runCmd(append([]string{"load", "--transport=shm", "--shm-dir", s.ShmDir, "--token=" + loadgentest.Token,
				"--shm-direct=" + direct, "--conns=2", "--accounts=1001,2001", "--instruments=1,5,99", "--json"}, short...)...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var got loadOutput
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			r := got.Result
			client := map[string]string{"true": "client.Direct", "false": "client.Conn"}[direct]
			if r.Mode != "open" || r.Transport != "shm" || r.Sent == 0 || r.Sent != r.Received || r.Mismatches != 0 ||
				r.Errors != 0 || r.Lag == nil || !strings.Contains(r.Note, client) {
				t.Fatalf("result %+v", r)
			}
		})
	}
	for _, direct := range []string{"true", "false"} {
		t.Run("tcp open-fills direct="+direct, func(t *testing.T) {
			code, out, errOut := runCmd(append([]string{"load", "--addr", s.TCPAddr, "--token=" + loadgentest.Token, "--mode=open-fills",
				"--tcp-direct=" + direct, "--rate=2000", "--accounts=1001", "--instruments=1,2", "--exec-id-base=" + map[string]string{"true": "91000", "false": "92000"}[direct]}, short...)...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			client := map[string]string{"true": "client.Direct", "false": "client.Conn"}[direct]
			for _, want := range []string{"open-loop durable fills over tcp: 2000 fills/s target", "lost 0, errors 0, mismatches 0", client} {
				if !strings.Contains(out, want) {
					t.Fatalf("summary lacks %q:\n%s", want, out)
				}
			}
		})
	}
	t.Run("tcp fills", func(t *testing.T) {
		code, out, errOut := runCmd(append([]string{"load", "--addr", s.TCPAddr, "--token=" + loadgentest.Token, "--mode=fills",
			"--conns=4", "--accounts=1001", "--instruments=1,2", "--exec-id-base=77000", "--json"}, short...)...)
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var got loadOutput
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatal(err)
		}
		if r := got.Result; r.ExecIDBase != 77000 || r.Sent == 0 || r.Sent != r.Received || r.Errors != 0 || r.InflightMax != 1 {
			t.Fatalf("result %+v", r)
		}
		if strings.Contains(out, `"command":["ballast-sim","load","--addr","`+s.TCPAddr+`","--token=REDACTED"`) == false {
			t.Fatalf("command line not recorded: %s", out)
		}
	})
}

func TestLoadUsage(t *testing.T) {
	t.Setenv("BALLAST_TOKEN", "")
	for _, args := range [][]string{
		{"load", "--token=x", "--transport=udp", "--accounts=1", "--instruments=1"},
		{"load", "--token=x", "--mode=fast", "--accounts=1", "--instruments=1"},
		{"load", "--accounts=1", "--instruments=1"},
		{"load", "--token=x", "--accounts=1,x", "--instruments=1"},
		{"load", "--token=x", "--accounts=1", "--instruments=4294967296"},
		{"load", "--token=x", "--accounts=1", "--instruments=1", "--qty-min=0"},
		{"load", "--token=x", "--accounts=1"},
		{"load", "--token=x", "--accounts=1", "--instruments=1", "--rate=0"},
		{"load", "--token=x", "--accounts=1", "--instruments=1", "--conns=0"},
		{"load", "--token=x", "--transport=http", "--accounts=1", "--instruments=1"},
		{"load", "--token=x", "stray"},
	} {
		if code, _, errOut := runCmd(args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, code, exitUsage, errOut)
		}
	}
	// A server that is not there is a failure, not a usage error.
	if code, _, _ := runCmd("load", "--token=x", "--addr=127.0.0.1:1", "--accounts=1", "--instruments=1"); code != exitFail {
		t.Errorf("unreachable server: exit %d", code)
	}
}
