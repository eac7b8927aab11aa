package sbe_test

import (
	"reflect"

	"github.com/ballast-risk/ballast/engine/sbe"
)

// newMessage returns a zero message of the given template, nil if unknown.
func newMessage(templateID uint16) sbe.Message {
	switch templateID {
	case sbe.LoginTemplateID:
		return new(sbe.Login)
	case sbe.LoginAckTemplateID:
		return new(sbe.LoginAck)
	case sbe.OrderCheckTemplateID:
		return new(sbe.OrderCheck)
	case sbe.VerdictTemplateID:
		return new(sbe.Verdict)
	case sbe.AccountQueryTemplateID:
		return new(sbe.AccountQuery)
	case sbe.AccountStatusTemplateID:
		return new(sbe.AccountStatus)
	case sbe.FillTemplateID:
		return new(sbe.Fill)
	case sbe.AckTemplateID:
		return new(sbe.Ack)
	case sbe.MarginNoticeTemplateID:
		return new(sbe.MarginNotice)
	case sbe.ErrorTemplateID:
		return new(sbe.Error)
	}
	return nil
}

// fillPattern sets every field of m (a pointer to a generated struct) from a
// deterministic byte stream derived from seed, so distinct seeds give
// distinct messages.
func fillPattern(m sbe.Message, seed uint64) {
	v := reflect.ValueOf(m).Elem()
	x := seed*0x9E3779B97F4A7C15 + 1
	next := func() uint64 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		return x
	}
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			f.SetUint(next())
		case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			f.SetInt(int64(next()))
		case reflect.Array:
			for j := 0; j < f.Len(); j++ {
				f.Index(j).SetUint(next() & 0xFF)
			}
		default:
			panic("unexpected field kind " + f.Kind().String())
		}
	}
}

// frameOf returns the framed encoding of m.
func frameOf(m sbe.Message) []byte {
	return m.AppendFrame(nil)
}
