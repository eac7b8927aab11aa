package sbe

import (
	"encoding/binary"
	"errors"
	"io"
)

// Simple Open Framing Header constants.
const (
	// SOFHBytes is the size of the Simple Open Framing Header.
	SOFHBytes = 6
	// EncodingType is the SOFH encoding type of SBE 1.0 little-endian.
	EncodingType uint16 = 0xEB50
	// FrameBytesMin is the shortest well-formed frame: a SOFH and an SBE
	// header (every template of the schema also has a non-empty block).
	FrameBytesMin = SOFHBytes + HeaderBytes
	// sofhLengthMax is the largest length the 4-byte SOFH field can carry
	// that an int holds on every platform.
	sofhLengthMax = 1<<31 - 1
)

// Frame is one validated message: its header and its block. Block aliases
// the buffer the frame was read from and is valid until that buffer is
// reused.
type Frame struct {
	Header Header
	Block  []byte
}

// putSOFH writes a SOFH for a frame of frameBytes total; b must hold
// SOFHBytes.
func putSOFH(b []byte, frameBytes int) {
	binary.BigEndian.PutUint32(b[0:4], uint32(frameBytes))
	binary.BigEndian.PutUint16(b[4:6], EncodingType)
}

// PutSOFH writes a SOFH announcing a frame of frameBytes (SOFH included)
// into b[:SOFHBytes].
func PutSOFH(b []byte, frameBytes int) error {
	if len(b) < SOFHBytes {
		return ErrBufferTooSmall
	}
	if frameBytes < SOFHBytes || frameBytes > sofhLengthMax {
		return ErrFrameTooLong
	}
	putSOFH(b, frameBytes)
	return nil
}

// ParseSOFH validates the SOFH in b[:SOFHBytes] and returns the frame's total
// length (SOFH included). It fails with ErrShortFrame when b is shorter than a
// SOFH or the length cannot hold an SBE header, ErrEncodingType, or
// ErrFrameTooLong when the length exceeds frameBytesMax.
func ParseSOFH(b []byte, frameBytesMax int) (int, error) {
	if len(b) < SOFHBytes {
		return 0, ErrShortFrame
	}
	if binary.BigEndian.Uint16(b[4:6]) != EncodingType {
		return 0, ErrEncodingType
	}
	n := binary.BigEndian.Uint32(b[0:4])
	if uint64(n) > uint64(max(frameBytesMax, 0)) {
		return 0, ErrFrameTooLong
	}
	if n < FrameBytesMin {
		return 0, ErrShortFrame
	}
	return int(n), nil
}

// putHeader writes the schema's header for a block of blockLength bytes of
// template templateID; b must hold HeaderBytes.
func putHeader(b []byte, blockLength int, templateID uint16) {
	h := Header{BlockLength: uint16(blockLength), TemplateID: templateID, SchemaID: SchemaID, Version: SchemaVersion}
	h.Encode(b)
}

// ParseMessage validates an SBE message (header and block, no SOFH) that must
// fill b exactly, and returns it as a Frame. In order it fails with
// ErrShortFrame (b shorter than a header), ErrSchemaID, ErrSchemaVersion,
// ErrUnknownTemplate, ErrBlockLength (header's block length is not the
// template's), ErrShortFrame (b ends inside the block) or ErrBlockLength
// (bytes follow the block). On error the returned Frame still carries the
// header when b held one, and Block holds whatever followed it, so a server
// can echo a reqId on a best-effort basis.
func ParseMessage(b []byte) (Frame, error) {
	var f Frame
	if err := f.Header.Decode(b); err != nil {
		return Frame{}, err
	}
	f.Block = b[HeaderBytes:]
	h := &f.Header
	if h.SchemaID != SchemaID {
		return f, ErrSchemaID
	}
	if h.Version != SchemaVersion {
		return f, ErrSchemaVersion
	}
	bl, ok := BlockLengthOf(h.TemplateID)
	if !ok {
		return f, ErrUnknownTemplate
	}
	if int(h.BlockLength) != bl {
		return f, ErrBlockLength
	}
	if len(f.Block) < bl {
		return f, ErrShortFrame
	}
	if len(f.Block) > bl {
		return f, ErrBlockLength
	}
	return f, nil
}

// messageBlock validates a message of template templateID and returns its
// block.
func messageBlock(b []byte, templateID uint16) ([]byte, error) {
	f, err := ParseMessage(b)
	if err != nil {
		return nil, err
	}
	if f.Header.TemplateID != templateID {
		return nil, ErrTemplateMismatch
	}
	return f.Block, nil
}

// ParseFrame reads one frame from the front of b (a receive buffer or a ring
// slot) and returns it with the number of bytes it spans. It returns n == 0
// and a nil error when b does not yet hold a whole frame. A SOFH error
// (ErrEncodingType, ErrFrameTooLong, ErrShortFrame) returns n == 0: the
// frame's extent is unknown and the stream must be abandoned. A message
// error (see ParseMessage) returns the frame's n so the caller may answer and
// skip it.
func ParseFrame(b []byte, frameBytesMax int) (f Frame, n int, err error) {
	if len(b) < SOFHBytes {
		return Frame{}, 0, nil
	}
	n, err = ParseSOFH(b, frameBytesMax)
	if err != nil {
		return Frame{}, 0, err
	}
	if len(b) < n {
		return Frame{}, 0, nil
	}
	f, err = ParseMessage(b[SOFHBytes:n])
	return f, n, err
}

// ReadFrame reads exactly one frame from r into buf and validates it. Frames
// longer than frameBytesMax or than len(buf) fail with ErrFrameTooLong. It
// returns io.EOF when r ends cleanly between frames and ErrShortFrame when r
// ends inside one; other read errors are returned as they are. After a SOFH
// error (ErrEncodingType, ErrFrameTooLong, ErrShortFrame) the stream is out of
// step and must be closed; after a message error (see ParseMessage) the whole
// frame has been consumed and the next call reads the next frame. Wrap a
// socket in a bufio.Reader to read a frame with one system call or less.
func ReadFrame(r io.Reader, buf []byte, frameBytesMax int) (Frame, error) {
	if len(buf) < FrameBytesMin {
		return Frame{}, ErrBufferTooSmall
	}
	if _, err := io.ReadFull(r, buf[:SOFHBytes]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return Frame{}, ErrShortFrame
		}
		return Frame{}, err
	}
	n, err := ParseSOFH(buf, min(frameBytesMax, len(buf)))
	if err != nil {
		return Frame{}, err
	}
	if _, err := io.ReadFull(r, buf[SOFHBytes:n]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return Frame{}, ErrShortFrame
		}
		return Frame{}, err
	}
	return ParseMessage(buf[SOFHBytes:n])
}

// Message is implemented by every generated message type (as a pointer).
type Message interface {
	// SBETemplateID returns the message's template id.
	SBETemplateID() uint16
	// SBEBlockLength returns the message's block length in bytes.
	SBEBlockLength() int
	// EncodeBlock writes the block into b.
	EncodeBlock(b []byte) (int, error)
	// DecodeBlock reads the block from b.
	DecodeBlock(b []byte) error
	// Encode writes header and block into b.
	Encode(b []byte) (int, error)
	// Decode reads header and block from b.
	Decode(b []byte) error
	// EncodeFrame writes the framed message into b.
	EncodeFrame(b []byte) (int, error)
	// AppendFrame appends the framed message to dst.
	AppendFrame(dst []byte) []byte
}
