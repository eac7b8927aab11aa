package main

import (
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// sbeNamespace is the XML namespace of FIX SBE 1.0 message schemas.
const sbeNamespace = "http://fixprotocol.io/2016/sbe"

// XML shapes of the subset of SBE 1.0 the Ballast schema uses: a header
// composite, fixed-length arrays, enums and messages with a fixed root block
// (no repeating groups, no variable-length data).
type xmlSchema struct {
	XMLName    xml.Name     `xml:"messageSchema"`
	Package    string       `xml:"package,attr"`
	ID         string       `xml:"id,attr"`
	Version    string       `xml:"version,attr"`
	ByteOrder  string       `xml:"byteOrder,attr"`
	HeaderType string       `xml:"headerType,attr"`
	Types      []xmlTypes   `xml:"types"`
	Messages   []xmlMessage `xml:"message"`
}

type xmlTypes struct {
	Composites []xmlComposite `xml:"composite"`
	Types      []xmlType      `xml:"type"`
	Enums      []xmlEnum      `xml:"enum"`
}

type xmlComposite struct {
	Name        string    `xml:"name,attr"`
	Description string    `xml:"description,attr"`
	Types       []xmlType `xml:"type"`
}

type xmlType struct {
	Name          string `xml:"name,attr"`
	PrimitiveType string `xml:"primitiveType,attr"`
	Length        string `xml:"length,attr"`
	Description   string `xml:"description,attr"`
}

type xmlEnum struct {
	Name         string          `xml:"name,attr"`
	EncodingType string          `xml:"encodingType,attr"`
	Description  string          `xml:"description,attr"`
	Values       []xmlValidValue `xml:"validValue"`
}

type xmlValidValue struct {
	Name        string `xml:"name,attr"`
	Description string `xml:"description,attr"`
	Value       string `xml:",chardata"`
}

type xmlMessage struct {
	XMLName     xml.Name   `xml:"message"`
	Name        string     `xml:"name,attr"`
	ID          string     `xml:"id,attr"`
	BlockLength string     `xml:"blockLength,attr"`
	Description string     `xml:"description,attr"`
	Fields      []xmlField `xml:"field"`
	Groups      []xml.Name `xml:"group"`
	Data        []xml.Name `xml:"data"`
}

type xmlField struct {
	Name        string `xml:"name,attr"`
	ID          string `xml:"id,attr"`
	Type        string `xml:"type,attr"`
	Offset      string `xml:"offset,attr"`
	Description string `xml:"description,attr"`
}

// primitive is an SBE primitive type this generator supports.
type primitive struct {
	name   string // SBE name: uint8, int64, char...
	goType string // Go type
	bytes  int
	signed bool
}

var primitives = map[string]primitive{
	"char":   {"char", "byte", 1, false},
	"uint8":  {"uint8", "uint8", 1, false},
	"uint16": {"uint16", "uint16", 2, false},
	"uint32": {"uint32", "uint32", 4, false},
	"uint64": {"uint64", "uint64", 8, false},
	"int8":   {"int8", "int8", 1, true},
	"int16":  {"int16", "int16", 2, true},
	"int32":  {"int32", "int32", 4, true},
	"int64":  {"int64", "int64", 8, true},
}

// Schema is the validated model the emitter works from.
type Schema struct {
	Package  string
	ID       uint16
	Version  uint16
	Header   []Field // the header composite's members, in wire order
	Enums    []*Enum
	Messages []*Message
}

// Enum is an SBE enum.
type Enum struct {
	Name        string
	Description string
	Encoding    primitive
	Values      []EnumValue
}

// EnumValue is one validValue.
type EnumValue struct {
	Name        string
	Description string
	Value       uint64
}

// Message is an SBE message with a fixed root block.
type Message struct {
	Name        string
	ID          uint16
	BlockLength int
	Description string
	Fields      []Field
}

// Field is one member of a block: a scalar, an enum, a char/uint8 array or
// padding.
type Field struct {
	Name        string // SBE name
	GoName      string // exported Go name
	Description string
	Offset      int
	Prim        primitive
	Length      int   // array length; 0 for a scalar
	Enum        *Enum // non-nil for an enum field
	Pad         bool  // padding: written as zeros, not decoded
}

// Bytes is the field's size on the wire.
func (f *Field) Bytes() int {
	if f.Length > 0 {
		return f.Length * f.Prim.bytes
	}
	return f.Prim.bytes
}

func parseUint(s string, bits int, what string) (uint64, error) {
	v, err := strconv.ParseUint(strings.TrimSpace(s), 0, bits)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a uint%d", what, s, bits)
	}
	return v, nil
}

// Parse reads and validates an SBE XML schema.
func Parse(src []byte) (*Schema, error) {
	var x xmlSchema
	if err := xml.Unmarshal(src, &x); err != nil {
		return nil, err
	}
	if x.XMLName.Space != sbeNamespace {
		return nil, fmt.Errorf("root element namespace %q, want %q", x.XMLName.Space, sbeNamespace)
	}
	if x.ByteOrder != "littleEndian" {
		return nil, fmt.Errorf("byteOrder %q: only littleEndian is supported", x.ByteOrder)
	}
	if x.Package == "" {
		return nil, errors.New("messageSchema has no package")
	}
	id, err := parseUint(x.ID, 16, "schema id")
	if err != nil {
		return nil, err
	}
	ver, err := parseUint(x.Version, 16, "schema version")
	if err != nil {
		return nil, err
	}
	s := &Schema{Package: x.Package, ID: uint16(id), Version: uint16(ver)}

	headerName := x.HeaderType
	if headerName == "" {
		headerName = "messageHeader"
	}
	arrays := map[string]xmlType{}
	enums := map[string]*Enum{}
	var header *xmlComposite
	for ti := range x.Types {
		t := &x.Types[ti]
		for ci := range t.Composites {
			if t.Composites[ci].Name == headerName {
				header = &t.Composites[ci]
			} else {
				return nil, fmt.Errorf("composite %q: only the header composite is supported", t.Composites[ci].Name)
			}
		}
		for _, ty := range t.Types {
			if _, dup := arrays[ty.Name]; dup || primitives[ty.Name].bytes != 0 {
				return nil, fmt.Errorf("type %q declared twice or shadows a primitive", ty.Name)
			}
			arrays[ty.Name] = ty
		}
		for _, e := range t.Enums {
			en, err := parseEnum(e)
			if err != nil {
				return nil, err
			}
			if _, dup := enums[en.Name]; dup {
				return nil, fmt.Errorf("enum %q declared twice", en.Name)
			}
			enums[en.Name] = en
			s.Enums = append(s.Enums, en)
		}
	}
	if header == nil {
		return nil, fmt.Errorf("no header composite %q", headerName)
	}
	wantHeader := []string{"blockLength", "templateId", "schemaId", "version"}
	if len(header.Types) != len(wantHeader) {
		return nil, fmt.Errorf("header composite has %d members, want %v", len(header.Types), wantHeader)
	}
	off := 0
	for i, m := range header.Types {
		if m.Name != wantHeader[i] || m.PrimitiveType != "uint16" || m.Length != "" {
			return nil, fmt.Errorf("header member %d is %s %s, want %s uint16", i, m.Name, m.PrimitiveType, wantHeader[i])
		}
		s.Header = append(s.Header, Field{Name: m.Name, GoName: goName(m.Name), Description: m.Description,
			Offset: off, Prim: primitives["uint16"]})
		off += 2
	}

	seenID := map[uint16]bool{}
	seenName := map[string]bool{}
	for _, xm := range x.Messages {
		if xm.XMLName.Space != sbeNamespace {
			return nil, fmt.Errorf("message %q: element namespace %q, want %q", xm.Name, xm.XMLName.Space, sbeNamespace)
		}
		m, err := parseMessage(xm, arrays, enums)
		if err != nil {
			return nil, fmt.Errorf("message %q: %w", xm.Name, err)
		}
		if seenID[m.ID] || seenName[m.Name] {
			return nil, fmt.Errorf("message %q: duplicate id %d or name", m.Name, m.ID)
		}
		seenID[m.ID], seenName[m.Name] = true, true
		s.Messages = append(s.Messages, m)
	}
	if len(s.Messages) == 0 {
		return nil, errors.New("no messages")
	}
	return s, nil
}

func parseEnum(e xmlEnum) (*Enum, error) {
	p, ok := primitives[e.EncodingType]
	if !ok || p.signed || p.name == "char" {
		return nil, fmt.Errorf("enum %q: encodingType %q, want an unsigned integer", e.Name, e.EncodingType)
	}
	if !isIdent(e.Name) || len(e.Values) == 0 {
		return nil, fmt.Errorf("enum %q: bad name or no values", e.Name)
	}
	en := &Enum{Name: e.Name, Description: e.Description, Encoding: p}
	seenV, seenN := map[uint64]bool{}, map[string]bool{}
	for _, v := range e.Values {
		n, err := parseUint(v.Value, p.bytes*8, "enum "+e.Name+" value "+v.Name)
		if err != nil {
			return nil, err
		}
		if !isIdent(v.Name) || seenV[n] || seenN[v.Name] {
			return nil, fmt.Errorf("enum %q: value %q bad or duplicate", e.Name, v.Name)
		}
		seenV[n], seenN[v.Name] = true, true
		en.Values = append(en.Values, EnumValue{Name: v.Name, Description: v.Description, Value: n})
	}
	return en, nil
}

func parseMessage(xm xmlMessage, arrays map[string]xmlType, enums map[string]*Enum) (*Message, error) {
	if len(xm.Groups) > 0 || len(xm.Data) > 0 {
		return nil, errors.New("repeating groups and variable-length data are not supported")
	}
	if !isIdent(xm.Name) {
		return nil, errors.New("bad name")
	}
	id, err := parseUint(xm.ID, 16, "id")
	if err != nil {
		return nil, err
	}
	bl, err := parseUint(xm.BlockLength, 16, "blockLength")
	if err != nil {
		return nil, err
	}
	m := &Message{Name: xm.Name, ID: uint16(id), BlockLength: int(bl), Description: xm.Description}
	off := 0
	seen := map[string]bool{}
	for _, xf := range xm.Fields {
		if !isIdent(xf.Name) || seen[xf.Name] {
			return nil, fmt.Errorf("field %q: bad or duplicate name", xf.Name)
		}
		seen[xf.Name] = true
		if xf.Offset == "" {
			return nil, fmt.Errorf("field %q: explicit offset required", xf.Name)
		}
		o, err := parseUint(xf.Offset, 16, "field "+xf.Name+" offset")
		if err != nil {
			return nil, err
		}
		if int(o) != off {
			return nil, fmt.Errorf("field %q: offset %d, want %d (padding must be an explicit field)", xf.Name, o, off)
		}
		f := Field{Name: xf.Name, GoName: goName(xf.Name), Description: xf.Description, Offset: int(o)}
		if p, ok := primitives[xf.Type]; ok {
			f.Prim = p
		} else if en, ok := enums[xf.Type]; ok {
			f.Prim, f.Enum = en.Encoding, en
		} else if at, ok := arrays[xf.Type]; ok {
			p, ok := primitives[at.PrimitiveType]
			if !ok || (p.name != "char" && p.name != "uint8") {
				return nil, fmt.Errorf("field %q: type %q must be a char or uint8 array", xf.Name, xf.Type)
			}
			n, err := parseUint(at.Length, 16, "type "+at.Name+" length")
			if err != nil || n == 0 {
				return nil, fmt.Errorf("field %q: type %q needs a length >= 1", xf.Name, xf.Type)
			}
			f.Prim, f.Length = p, int(n)
			f.Pad = strings.HasPrefix(xf.Name, "pad") && p.name == "uint8"
		} else {
			return nil, fmt.Errorf("field %q: unknown type %q", xf.Name, xf.Type)
		}
		if !f.Pad && f.Length == 0 && o%uint64(f.Prim.bytes) != 0 {
			return nil, fmt.Errorf("field %q: offset %d is not aligned to %d bytes", xf.Name, o, f.Prim.bytes)
		}
		off += f.Bytes()
		m.Fields = append(m.Fields, f)
	}
	if off != m.BlockLength {
		return nil, fmt.Errorf("fields end at %d, blockLength is %d", off, m.BlockLength)
	}
	return m, nil
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && r >= '0' && r <= '9':
		default:
			return false
		}
	}
	return true
}

// initialisms are SBE names whose Go spelling is not a plain capitalisation.
var initialisms = map[string]string{"es": "ES"}

// goName exports an SBE lowerCamel name: reqId -> ReqID, sessionId -> SessionID.
func goName(s string) string {
	if g, ok := initialisms[s]; ok {
		return g
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if strings.HasSuffix(s, "Id") {
		s = s[:len(s)-2] + "ID"
	}
	return s
}

// screamingSnake spells an UpperCamel name the way DESIGN spells states:
// MarginCall -> MARGIN_CALL, SchemaID -> SCHEMA_ID, OK -> OK.
func screamingSnake(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		up := r >= 'A' && r <= 'Z'
		if i > 0 && up {
			prev := rs[i-1]
			prevLower := (prev >= 'a' && prev <= 'z') || (prev >= '0' && prev <= '9')
			nextLower := i+1 < len(rs) && rs[i+1] >= 'a' && rs[i+1] <= 'z'
			if prevLower || (prev >= 'A' && prev <= 'Z' && nextLower) {
				b.WriteByte('_')
			}
		}
		b.WriteString(strings.ToUpper(string(r)))
	}
	return b.String()
}
