package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const root = "../../../.."

// TestGeneratedFileIsFresh fails when messages_gen.go differs from what the
// generator makes of the schema today.
func TestGeneratedFileIsFresh(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(root, schemaPath))
	if err != nil {
		t.Fatal(err)
	}
	want, err := Generate(src)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, outputPath))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is stale: run `go run ./engine/sbe/internal/gen`", outputPath)
	}
	if err := run(root, true); err != nil {
		t.Fatalf("-check: %v", err)
	}
}

// TestCheckDetectsStale runs -check against a copy with a stale file.
func TestCheckDetectsStale(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join(root, schemaPath))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(schemaPath)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, schemaPath), src, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(dir, true); err == nil || !strings.Contains(err.Error(), "stale") {
		t.Fatalf("missing file: %v", err)
	}
	if err := run(dir, false); err != nil {
		t.Fatal(err)
	}
	if err := run(dir, true); err != nil {
		t.Fatalf("after generating: %v", err)
	}
	p := filepath.Join(dir, outputPath)
	old, _ := os.ReadFile(p)
	if err := os.WriteFile(p, append(old, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(dir, true); err == nil {
		t.Fatal("-check passed a modified file")
	}
}

// TestParseRejects checks the generator refuses schemas that would produce
// wrong codecs.
func TestParseRejects(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(root, schemaPath))
	if err != nil {
		t.Fatal(err)
	}
	s := string(src)
	cases := map[string][2]string{
		"gap before field":   {`name="qty" id="6" type="int64" offset="24"`, `name="qty" id="6" type="int64" offset="32"`},
		"wrong blockLength":  {`name="OrderCheck" id="10" blockLength="40"`, `name="OrderCheck" id="10" blockLength="48"`},
		"missing offset":     {`name="qty" id="6" type="int64" offset="24"`, `name="qty" id="6" type="int64"`},
		"unknown type":       {`name="qty" id="6" type="int64"`, `name="qty" id="6" type="int65"`},
		"big endian":         {`byteOrder="littleEndian"`, `byteOrder="bigEndian"`},
		"duplicate template": {`name="Fill" id="30"`, `name="Fill" id="10"`},
		"header order":       {`<type name="blockLength" primitiveType="uint16"`, `<type name="blockLength" primitiveType="uint32"`},
		"namespace":          {`xmlns:sbe="http://fixprotocol.io/2016/sbe"`, `xmlns:sbe="http://example.com/sbe"`},
		"signed enum":        {`<enum name="Side" encodingType="uint8"`, `<enum name="Side" encodingType="int8"`},
		"field size change":  {`name="instrument" id="3" type="uint32" offset="16"`, `name="instrument" id="3" type="uint16" offset="16"`},
	}
	for name, c := range cases {
		if !strings.Contains(s, c[0]) {
			t.Fatalf("%s: schema lacks %q", name, c[0])
		}
		if _, err := Generate([]byte(strings.Replace(s, c[0], c[1], 1))); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := Generate(src); err != nil {
		t.Fatal(err)
	}
}

func TestNames(t *testing.T) {
	for in, want := range map[string]string{"reqId": "ReqID", "es": "ES", "var": "Var", "postTradeInitialMargin": "PostTradeInitialMargin"} {
		if got := goName(in); got != want {
			t.Errorf("goName(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"MarginCall": "MARGIN_CALL", "SchemaID": "SCHEMA_ID", "OK": "OK", "NotLoggedIn": "NOT_LOGGED_IN"} {
		if got := screamingSnake(in); got != want {
			t.Errorf("screamingSnake(%q) = %q, want %q", in, got, want)
		}
	}
}
