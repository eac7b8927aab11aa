package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ballast-risk/ballast/engine/enginetest"
)

func TestListInstrumentsCommand(t *testing.T) {
	f := newFixture(t, noticesNone)
	path := filepath.Join(t.TempDir(), "listing.json")
	if err := os.WriteFile(path, []byte(enginetest.Listing), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := f.run(t, "", tokAdmin, "list-instruments", "--file", path)
	want := `LISTED  id 100  "AAA 2027-03 C110"  call bs  on AAA  strike 110.0000  expiry 2027-03-19T21:00:00Z  multiplier 100` + "\n"
	if code != exitOK || out != want {
		t.Fatalf("exit %d\n%q\nwant\n%q\n%s", code, out, want, errs)
	}
	if _, ok := f.eng.Master().Index(100); !ok {
		t.Fatal("instrument 100 not listed")
	}

	// --json, from stdin, a second series.
	saved := stdin
	defer func() { stdin = saved }()
	stdin = strings.NewReader(strings.ReplaceAll(strings.ReplaceAll(enginetest.Listing, `"id":100`, `"id":101`), "C110", "C120"))
	code, out, errs = f.run(t, "", tokAdmin, "list-instruments", "--file", "-", "--json")
	r := decodeLine[listOut](t, out)
	if code != exitOK || r.Transport != "http" || len(r.Listed) != 1 || r.Listed[0].ID != 101 || r.Listed[0].Strike != 1_100_000 {
		t.Fatalf("exit %d %+v %s", code, r, errs)
	}

	for _, tc := range []struct {
		token, body, want string
	}{
		{tokAdmin, enginetest.Listing, "refused, nothing listed"}, // listed already
		{tokAdmin, `{"version":1}`, "not an extension document"},
		{tokAdmin, `[`, "not an extension document"},
		{tokAdmin, enginetest.ManyListing(500), "list fewer instruments"},
		{tokAcme, strings.ReplaceAll(enginetest.Listing, `"id":100`, `"id":102`), "HTTP 403 Forbidden"},
	} {
		stdin = strings.NewReader(tc.body)
		code, out, errs := f.run(t, "", tc.token, "list-instruments", "--file", "-")
		if code != exitFail || out != "" || !strings.Contains(errs, tc.want) {
			t.Errorf("%.40q: exit %d %q %q, want %q", tc.body, code, out, errs, tc.want)
		}
	}
	if n := len(f.eng.Master().Instruments); n != 9 {
		t.Fatalf("%d instruments after the refusals, want 9", n)
	}
}
