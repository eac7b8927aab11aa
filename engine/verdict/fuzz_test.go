package verdict

import (
	"bufio"
	"bytes"
	"testing"

	"github.com/ballast-risk/ballast/engine/sbe"
)

func FuzzDecodeFillRecord(f *testing.F) {
	f.Add(EncodeFillRecord(nil, &sbe.Fill{Account: 1001, Instrument: 1, Side: sbe.SideBuy, Qty: 10, Price: 1000000, ExecID: 7}))
	f.Add([]byte{})
	f.Add((&sbe.Ack{ReqID: 1}).AppendFrame(nil)[sbe.SOFHBytes:])
	f.Fuzz(func(t *testing.T, rec []byte) {
		fl, err := DecodeFillRecord(rec)
		if err != nil {
			return
		}
		back, err := DecodeFillRecord(EncodeFillRecord(nil, &fl))
		fl.ReqID = 0
		if err != nil || back != fl {
			t.Fatalf("round trip of %+v gave %+v, %v", fl, back, err)
		}
	})
}

// FuzzServerInput feeds arbitrary bytes to one session (logged in or not)
// and checks that it never panics, that every output is a well-formed
// response frame, and that an Error carries a defined code.
func FuzzServerInput(f *testing.F) {
	var lg sbe.Login
	copy(lg.Token[:], "tokA")
	seed := lg.AppendFrame(nil)
	seed = (&sbe.OrderCheck{ReqID: 1, Account: 1, Instrument: 2, Side: sbe.SideBuy, Qty: 5}).AppendFrame(seed)
	seed = (&sbe.AccountQuery{ReqID: 2, Account: 3}).AppendFrame(seed)
	seed = (&sbe.Fill{ReqID: 3, Account: 2, Instrument: 1, Side: sbe.SideSell, Qty: 1, ExecID: 9}).AppendFrame(seed)
	f.Add(seed, false)
	f.Add(seed[lg.SBEBlockLength()+sbe.SOFHBytes+sbe.HeaderBytes:], true)
	f.Add([]byte{0, 0, 0, 14, 0xEB, 0x50, 0, 0, 0, 0, 0x11, 0xBA, 1, 0}, true)
	f.Add([]byte{0, 0, 0, 5, 0xEB, 0x50}, true)
	f.Fuzz(func(t *testing.T, in []byte, loggedIn bool) {
		ss := hotSession(t, newFake())
		if !loggedIn {
			ss.logged.Store(false)
		}
		br := bufio.NewReaderSize(bytes.NewReader(in), ss.srv.cfg.FrameBytesMax)
		var out []byte
		for steps := 0; steps < 1+len(in)/sbe.FrameBytesMin; steps++ {
			more := ss.step(br)
			ss.mu.Lock()
			out = append(out, ss.out...)
			ss.out, ss.outFrames = ss.out[:0], 0
			ss.mu.Unlock()
			if !more {
				break
			}
		}
		for len(out) > 0 {
			fr, n, err := sbe.ParseFrame(out, sbe.MessageFrameBytesMax)
			if err != nil || n == 0 {
				t.Fatalf("server wrote a bad frame: %v (n %d)", err, n)
			}
			switch fr.Header.TemplateID {
			case sbe.LoginAckTemplateID, sbe.VerdictTemplateID, sbe.AccountStatusTemplateID, sbe.AckTemplateID:
			case sbe.ErrorTemplateID:
				var e sbe.Error
				_ = e.DecodeBlock(fr.Block)
				if !e.Code.Valid() || e.Code == sbe.ErrorCodeNone {
					t.Fatalf("error code %d", e.Code)
				}
			default:
				t.Fatalf("server wrote template %d", fr.Header.TemplateID)
			}
			out = out[n:]
		}
	})
}
