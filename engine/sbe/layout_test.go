package sbe_test

import (
	"encoding/binary"
	"encoding/xml"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/ballast-risk/ballast/engine/sbe"
)

// The schema as this test reads it, independently of the generator.
type tSchema struct {
	XMLName   xml.Name `xml:"http://fixprotocol.io/2016/sbe messageSchema"`
	Package   string   `xml:"package,attr"`
	ID        int      `xml:"id,attr"`
	Version   int      `xml:"version,attr"`
	ByteOrder string   `xml:"byteOrder,attr"`
	Types     struct {
		Composite []struct {
			Name  string `xml:"name,attr"`
			Types []struct {
				Name string `xml:"name,attr"`
				Prim string `xml:"primitiveType,attr"`
			} `xml:"type"`
		} `xml:"composite"`
		Type []struct {
			Name   string `xml:"name,attr"`
			Prim   string `xml:"primitiveType,attr"`
			Length int    `xml:"length,attr"`
		} `xml:"type"`
		Enum []struct {
			Name     string `xml:"name,attr"`
			Encoding string `xml:"encodingType,attr"`
			Values   []struct {
				Name  string `xml:"name,attr"`
				Value int    `xml:",chardata"`
			} `xml:"validValue"`
		} `xml:"enum"`
	} `xml:"types"`
	Messages []struct {
		Name        string `xml:"name,attr"`
		ID          uint16 `xml:"id,attr"`
		BlockLength int    `xml:"blockLength,attr"`
		Fields      []struct {
			Name   string `xml:"name,attr"`
			Type   string `xml:"type,attr"`
			Offset int    `xml:"offset,attr"`
		} `xml:"field"`
	} `xml:"http://fixprotocol.io/2016/sbe message"`
}

// tField is a field's wire shape: its size, whether it is padding, and its
// primitive (u8..u64, i64, char, uint8 array).
type tField struct {
	name   string
	offset int
	size   int
	prim   string // uint8, uint16, uint32, uint64, int64, char
	array  bool
	pad    bool
}

func loadSchema(t testing.TB) *tSchema {
	t.Helper()
	src, err := os.ReadFile("ballast-sbe.xml")
	if err != nil {
		t.Fatal(err)
	}
	var s tSchema
	if err := xml.Unmarshal(src, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

// layout resolves each field of every message to its wire shape.
func layout(t testing.TB, s *tSchema) map[string][]tField {
	t.Helper()
	sizes := map[string]int{"char": 1, "uint8": 1, "uint16": 2, "uint32": 4, "uint64": 8, "int8": 1, "int16": 2, "int32": 4, "int64": 8}
	out := map[string][]tField{}
	for _, m := range s.Messages {
		for _, f := range m.Fields {
			tf := tField{name: f.Name, offset: f.Offset}
			if n, ok := sizes[f.Type]; ok {
				tf.size, tf.prim = n, f.Type
			}
			for _, ty := range s.Types.Type {
				if ty.Name == f.Type {
					tf.size, tf.prim, tf.array = ty.Length*sizes[ty.Prim], ty.Prim, true
					tf.pad = strings.HasPrefix(f.Name, "pad")
				}
			}
			for _, e := range s.Types.Enum {
				if e.Name == f.Type {
					tf.size, tf.prim = sizes[e.Encoding], e.Encoding
				}
			}
			if tf.size == 0 {
				t.Fatalf("%s.%s: cannot resolve type %q", m.Name, f.Name, f.Type)
			}
			out[m.Name] = append(out[m.Name], tf)
		}
	}
	return out
}

// design is the message table of DESIGN §5.2, verbatim but for the
// parenthesised value lists.
var design = []struct {
	id    uint16
	name  string
	block string
}{
	{1, "Login", "token [64]byte"},
	{2, "LoginAck", "status u8, pad [7], sessionId u64"},
	{10, "OrderCheck", "reqId u64, account u64, instrument u32, side u8, pad [3], qty i64, price i64"},
	{11, "Verdict", "reqId u64, account u64, decision u8, reason u8, state u8, pad [5], epoch u64, equity i64, initialMargin i64, maintenanceMargin i64, postTradeInitialMargin i64"},
	{20, "AccountQuery", "reqId u64, account u64"},
	{21, "AccountStatus", "reqId u64, account u64, state u8, pad [7], epoch u64, equity i64, initialMargin i64, maintenanceMargin i64, var i64, es i64, healthFactor i64"},
	{30, "Fill", "reqId u64, account u64, instrument u32, side u8, pad [3], qty i64, price i64, execId u64"},
	{31, "Ack", "reqId u64, status u8, pad [7]"},
	{40, "MarginNotice", "account u64, state u8, pad [7], epoch u64, equity i64, initialMargin i64, maintenanceMargin i64"},
	{90, "Error", "reqId u64, code u16, pad [6], text [48]byte"},
}

// TestSchemaMatchesDesign checks the XML against the DESIGN §5.2 table:
// schema identity, header, template ids, field names, types, offsets and
// block lengths.
func TestSchemaMatchesDesign(t *testing.T) {
	s := loadSchema(t)
	if s.Package != "ballast" || s.ID != 0xBA11 || s.Version != 1 || s.ByteOrder != "littleEndian" {
		t.Fatalf("schema identity: package %q id %#x version %d byteOrder %q", s.Package, s.ID, s.Version, s.ByteOrder)
	}
	if len(s.Types.Composite) != 1 || s.Types.Composite[0].Name != "messageHeader" {
		t.Fatalf("want exactly the messageHeader composite, got %+v", s.Types.Composite)
	}
	var hdr []string
	for _, ty := range s.Types.Composite[0].Types {
		hdr = append(hdr, ty.Name+" "+ty.Prim)
	}
	if got, want := strings.Join(hdr, ", "), "blockLength uint16, templateId uint16, schemaId uint16, version uint16"; got != want {
		t.Fatalf("header %q, want %q", got, want)
	}
	lay := layout(t, s)
	if len(s.Messages) != len(design) {
		t.Fatalf("%d messages in the XML, %d in DESIGN", len(s.Messages), len(design))
	}
	for i, d := range design {
		m := s.Messages[i]
		if m.Name != d.name || m.ID != d.id {
			t.Fatalf("message %d: XML %s/%d, DESIGN %s/%d", i, m.Name, m.ID, d.name, d.id)
		}
		fields := lay[m.Name]
		parts := strings.Split(d.block, ", ")
		if len(parts) != len(fields) {
			t.Fatalf("%s: %d fields in the XML, %d in DESIGN", m.Name, len(fields), len(parts))
		}
		off := 0
		for j, p := range parts {
			name, typ, _ := strings.Cut(p, " ")
			f := fields[j]
			var size int
			var prim string
			switch {
			case strings.HasPrefix(typ, "["):
				n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSuffix(typ[1:], "byte"), "]"))
				if err != nil {
					t.Fatalf("DESIGN %s: bad type %q", m.Name, typ)
				}
				size = n
				if !f.array || (f.prim != "char" && f.prim != "uint8") {
					t.Errorf("%s.%s: want a byte array, XML has %s", m.Name, name, f.prim)
				}
			case typ[0] == 'u':
				bits, _ := strconv.Atoi(typ[1:])
				size, prim = bits/8, "uint"+typ[1:]
			case typ[0] == 'i':
				bits, _ := strconv.Atoi(typ[1:])
				size, prim = bits/8, "int"+typ[1:]
			}
			if f.name != name || f.offset != off || f.size != size || (prim != "" && f.prim != prim) {
				t.Errorf("%s field %d: XML %s@%d %d bytes %s, DESIGN %s@%d %d bytes %s",
					m.Name, j, f.name, f.offset, f.size, f.prim, name, off, size, prim)
			}
			off += size
		}
		if m.BlockLength != off {
			t.Errorf("%s: XML blockLength %d, DESIGN fields sum to %d", m.Name, m.BlockLength, off)
		}
	}
}

// TestCodecLayout sets every field of every message to a distinct byte
// pattern and checks that the codecs put each byte where the XML says, zero
// the padding, write nothing past the block, and read it all back.
func TestCodecLayout(t *testing.T) {
	s := loadSchema(t)
	lay := layout(t, s)
	ids := sbe.TemplateIDs()
	if len(ids) != len(s.Messages) {
		t.Fatalf("TemplateIDs has %d entries, the XML %d messages", len(ids), len(s.Messages))
	}
	for i, xm := range s.Messages {
		t.Run(xm.Name, func(t *testing.T) {
			if ids[i] != xm.ID || sbe.TemplateName(xm.ID) != xm.Name {
				t.Fatalf("template %d: generated id %d name %q", xm.ID, ids[i], sbe.TemplateName(xm.ID))
			}
			if bl, ok := sbe.BlockLengthOf(xm.ID); !ok || bl != xm.BlockLength {
				t.Fatalf("BlockLengthOf = %d, %v; XML %d", bl, ok, xm.BlockLength)
			}
			m := newMessage(xm.ID)
			if m.SBETemplateID() != xm.ID || m.SBEBlockLength() != xm.BlockLength {
				t.Fatalf("methods say %d/%d", m.SBETemplateID(), m.SBEBlockLength())
			}
			v := reflect.ValueOf(m).Elem()
			// Expected block: byte i is i+1 outside padding, 0 in it.
			want := make([]byte, xm.BlockLength)
			matched := 0
			for _, f := range lay[xm.Name] {
				if f.pad {
					continue
				}
				for k := 0; k < f.size; k++ {
					want[f.offset+k] = byte(f.offset + k + 1)
				}
				var sf reflect.Value
				for j := 0; j < v.NumField(); j++ {
					if strings.EqualFold(v.Type().Field(j).Name, f.name) {
						sf = v.Field(j)
					}
				}
				if !sf.IsValid() {
					t.Fatalf("no Go field for %s", f.name)
				}
				matched++
				pat := want[f.offset : f.offset+f.size]
				switch {
				case f.array:
					if sf.Len() != f.size {
						t.Fatalf("%s: Go array of %d, XML %d", f.name, sf.Len(), f.size)
					}
					reflect.Copy(sf, reflect.ValueOf(pat))
				case sf.Type().Size() != uintptr(f.size):
					t.Fatalf("%s: Go type %s is %d bytes, XML %d", f.name, sf.Type(), sf.Type().Size(), f.size)
				default:
					var u uint64
					for k := f.size - 1; k >= 0; k-- {
						u = u<<8 | uint64(pat[k])
					}
					if sf.CanInt() != strings.HasPrefix(f.prim, "int") {
						t.Fatalf("%s: Go type %s, XML %s", f.name, sf.Type(), f.prim)
					}
					if sf.CanInt() {
						sf.SetInt(int64(u) << (64 - 8*f.size) >> (64 - 8*f.size))
					} else {
						sf.SetUint(u)
					}
				}
			}
			if matched != v.NumField() {
				t.Fatalf("Go struct has %d fields, XML %d non-padding ones", v.NumField(), matched)
			}

			buf := make([]byte, xm.BlockLength+16)
			for k := range buf {
				buf[k] = 0xFF
			}
			n, err := m.EncodeBlock(buf)
			if err != nil || n != xm.BlockLength {
				t.Fatalf("EncodeBlock = %d, %v", n, err)
			}
			if got := buf[:n]; string(got) != string(want) {
				t.Fatalf("EncodeBlock wrote\n% x\nwant\n% x", got, want)
			}
			for _, c := range buf[n:] {
				if c != 0xFF {
					t.Fatalf("EncodeBlock wrote past the block: % x", buf[n:])
				}
			}

			// Header and SOFH.
			fr := m.AppendFrame(nil)
			if len(fr) != sbe.SOFHBytes+sbe.HeaderBytes+xm.BlockLength {
				t.Fatalf("frame of %d bytes", len(fr))
			}
			wantHdr := make([]byte, 14)
			binary.BigEndian.PutUint32(wantHdr[0:], uint32(len(fr)))
			wantHdr[4], wantHdr[5] = 0xEB, 0x50
			binary.LittleEndian.PutUint16(wantHdr[6:], uint16(xm.BlockLength))
			binary.LittleEndian.PutUint16(wantHdr[8:], xm.ID)
			wantHdr[10], wantHdr[11] = 0x11, 0xBA
			wantHdr[12], wantHdr[13] = 1, 0
			if string(fr[:14]) != string(wantHdr) || string(fr[14:]) != string(want) {
				t.Fatalf("frame\n% x\nwant\n% x % x", fr, wantHdr, want)
			}

			// Decoding ignores padding content and restores every field.
			in := append([]byte(nil), want...)
			for _, f := range lay[xm.Name] {
				if f.pad {
					for k := 0; k < f.size; k++ {
						in[f.offset+k] = 0xA5
					}
				}
			}
			got := newMessage(xm.ID)
			if err := got.DecodeBlock(in); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, m) {
				t.Fatalf("DecodeBlock gave %+v, want %+v", got, m)
			}
		})
	}
}

func TestEnums(t *testing.T) {
	s := loadSchema(t)
	counts := map[string]int{}
	for _, e := range s.Types.Enum {
		counts[e.Name] = len(e.Values)
	}
	check := func(name string, valid func(int) bool, str func(int) string) {
		t.Helper()
		n := 0
		for _, e := range s.Types.Enum {
			if e.Name != name {
				continue
			}
			for _, v := range e.Values {
				n++
				if !valid(v.Value) {
					t.Errorf("%s %s=%d not Valid", name, v.Name, v.Value)
				}
				if strings.ReplaceAll(str(v.Value), "_", "") != strings.ToUpper(v.Name) {
					t.Errorf("%s(%d).String() = %q, XML name %s", name, v.Value, str(v.Value), v.Name)
				}
			}
		}
		valid256 := 0
		for x := 0; x < 256; x++ {
			if valid(x) {
				valid256++
			} else if want := fmt.Sprintf("%s(%d)", name, x); str(x) != want {
				t.Errorf("String of invalid %d = %q, want %q", x, str(x), want)
			}
		}
		if n == 0 || valid256 != n {
			t.Errorf("%s: %d XML values, %d Valid in 0..255", name, n, valid256)
		}
	}
	check("Side", func(x int) bool { return sbe.Side(x).Valid() }, func(x int) string { return sbe.Side(x).String() })
	check("Decision", func(x int) bool { return sbe.Decision(x).Valid() }, func(x int) string { return sbe.Decision(x).String() })
	check("Reason", func(x int) bool { return sbe.Reason(x).Valid() }, func(x int) string { return sbe.Reason(x).String() })
	check("State", func(x int) bool { return sbe.State(x).Valid() }, func(x int) string { return sbe.State(x).String() })
	check("LoginStatus", func(x int) bool { return sbe.LoginStatus(x).Valid() }, func(x int) string { return sbe.LoginStatus(x).String() })
	check("ErrorCode", func(x int) bool { return sbe.ErrorCode(x).Valid() }, func(x int) string { return sbe.ErrorCode(x).String() })
	if len(counts) != 6 {
		t.Errorf("XML has %d enums, test covers 6", len(counts))
	}
	// DESIGN §5.2 values.
	if sbe.SideBuy != 1 || sbe.SideSell != 2 || sbe.DecisionAccept != 0 || sbe.DecisionReject != 1 ||
		sbe.StateHealthy != 0 || sbe.StateMarginCall != 1 || sbe.StateLiquidate != 2 ||
		sbe.ReasonNone != 0 || sbe.ReasonInsufficientMargin != 1 || sbe.ReasonUnknownAccount != 2 ||
		sbe.ReasonUnknownInstrument != 3 || sbe.ReasonStaleMarketData != 4 || sbe.ReasonNoRiskEpoch != 5 ||
		sbe.ReasonNotAuthorised != 6 || sbe.ReasonInvalidOrder != 7 || sbe.ReasonCreditLimit != 8 ||
		sbe.LoginStatusOK != 0 || sbe.LoginStatusDenied != 1 {
		t.Error("enum values differ from DESIGN §5.2")
	}
	if sbe.StateMarginCall.String() != "MARGIN_CALL" || sbe.ErrorCodeSchemaID.String() != "SCHEMA_ID" {
		t.Errorf("names: %s %s", sbe.StateMarginCall, sbe.ErrorCodeSchemaID)
	}
}
