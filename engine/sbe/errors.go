package sbe

import "errors"

// ProtocolError is a malformed-input condition of the verdict protocol. Each
// class is one package-level sentinel, so errors.Is works by identity and
// errors.As yields the ErrorCode to answer with.
type ProtocolError struct {
	// Code is the ErrorCode a server sends back in an Error frame.
	Code ErrorCode
	text string
}

// Error implements error.
func (e *ProtocolError) Error() string { return e.text }

// The malformed-input classes of DESIGN §5.2.
var (
	// ErrEncodingType: the SOFH encoding type is not EncodingType (0xEB50).
	// The stream cannot be trusted past this frame.
	ErrEncodingType = &ProtocolError{ErrorCodeEncodingType, "sbe: SOFH encoding type is not 0xEB50"}
	// ErrSchemaID: the message header's schema id is not SchemaID.
	ErrSchemaID = &ProtocolError{ErrorCodeSchemaID, "sbe: wrong schema id"}
	// ErrSchemaVersion: the message header's version is not SchemaVersion.
	ErrSchemaVersion = &ProtocolError{ErrorCodeSchemaVersion, "sbe: wrong schema version"}
	// ErrUnknownTemplate: the template id is not in the schema.
	ErrUnknownTemplate = &ProtocolError{ErrorCodeUnknownTemplate, "sbe: unknown template id"}
	// ErrBlockLength: the header's block length is not the template's, or
	// bytes follow the block inside the frame.
	ErrBlockLength = &ProtocolError{ErrorCodeBlockLength, "sbe: wrong block length"}
	// ErrFrameTooLong: the SOFH length exceeds the configured maximum. The
	// stream cannot be trusted past this frame.
	ErrFrameTooLong = &ProtocolError{ErrorCodeFrameTooLong, "sbe: frame longer than the maximum"}
	// ErrShortFrame: the frame is too short to hold an SBE header or its
	// block, or the stream ended inside a frame.
	ErrShortFrame = &ProtocolError{ErrorCodeShortFrame, "sbe: short frame"}
	// ErrTemplateMismatch: a message decoder was given another template.
	ErrTemplateMismatch = &ProtocolError{ErrorCodeUnexpectedTemplate, "sbe: template is not the decoder's"}
)

// ErrBufferTooSmall is returned by encoders (and ReadFrame) whose output
// buffer cannot hold what they must write: a programming error on the
// caller's side, never a property of the peer's input.
var ErrBufferTooSmall = errors.New("sbe: buffer too small")

// CodeOf returns the ErrorCode of a protocol error (wrapped or not), and
// false for any other error.
func CodeOf(err error) (ErrorCode, bool) {
	var pe *ProtocolError
	if errors.As(err, &pe) {
		return pe.Code, true
	}
	return ErrorCodeNone, false
}
