// Package sbe is Ballast's binary verdict protocol (DESIGN §5.2): FIX Simple
// Binary Encoding 1.0 messages, little-endian, schema id 0xBA11 version 1,
// framed on TCP by the FIX Simple Open Framing Header (SOFH: 4-byte
// big-endian total length including the 6-byte SOFH, 2-byte big-endian
// encoding type 0xEB50).
//
// The schema ballast-sbe.xml is the single source of truth; messages_gen.go
// (the header codec, the enums and one codec per message) is generated from
// it by internal/gen. Regenerate with `go run ./engine/sbe/internal/gen` from
// the repository root; `-check` fails on a stale file.
//
// Every codec works on caller-owned byte slices and allocates nothing:
// EncodeBlock/DecodeBlock handle the fixed block, Encode/Decode the header
// and block, EncodeFrame/AppendFrame the framed message. On the receiving
// side ReadFrame (from a stream) and ParseFrame (from a buffer) validate a
// frame and yield its Header and Block; a server then switches on
// Header.TemplateID and calls that message's DecodeBlock.
//
// Malformed input is reported with one sentinel *ProtocolError per class of
// §5.2 (ErrEncodingType, ErrSchemaID, ErrSchemaVersion, ErrUnknownTemplate,
// ErrBlockLength, ErrFrameTooLong, ErrShortFrame); CodeOf maps an error to the
// ErrorCode a server puts in its Error frame. Decoders never check enum
// values or business rules: that is the caller's job (Valid methods help).
package sbe

//go:generate go run ./internal/gen -root ../..
