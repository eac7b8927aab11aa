package sbe_test

import (
	"bufio"
	"bytes"
	"io"
	"testing"

	"github.com/ballast-risk/ballast/engine/sbe"
)

func reportRate(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

var benchSink int64

func BenchmarkOrderCheckDecodeBlock(b *testing.B) {
	fr := (&sbe.OrderCheck{ReqID: 1, Account: 2, Instrument: 3, Side: sbe.SideBuy, Qty: 4, Price: 5}).AppendFrame(nil)
	block := fr[sbe.SOFHBytes+sbe.HeaderBytes:]
	var m sbe.OrderCheck
	b.SetBytes(int64(len(block)))
	b.ReportAllocs()
	for b.Loop() {
		_ = m.DecodeBlock(block)
		benchSink += m.Qty
	}
	reportRate(b)
}

// BenchmarkOrderCheckParseDecode is the server's receive path on a buffer:
// validate the frame, then decode the block.
func BenchmarkOrderCheckParseDecode(b *testing.B) {
	fr := (&sbe.OrderCheck{ReqID: 1, Account: 2, Instrument: 3, Side: sbe.SideBuy, Qty: 4, Price: 5}).AppendFrame(nil)
	var m sbe.OrderCheck
	b.SetBytes(int64(len(fr)))
	b.ReportAllocs()
	for b.Loop() {
		f, n, err := sbe.ParseFrame(fr, sbe.MessageFrameBytesMax)
		if err != nil || f.Header.TemplateID != sbe.OrderCheckTemplateID {
			b.Fatal(err)
		}
		_ = m.DecodeBlock(f.Block)
		benchSink += int64(n) + m.Price
	}
	reportRate(b)
}

func BenchmarkVerdictEncodeFrame(b *testing.B) {
	v := sbe.Verdict{ReqID: 1, Account: 2, Decision: sbe.DecisionAccept, State: sbe.StateHealthy, Epoch: 3, Equity: 4, InitialMargin: 5, MaintenanceMargin: 6, PostTradeInitialMargin: 7}
	buf := make([]byte, 0, 4096)
	b.SetBytes(sbe.VerdictFrameBytes)
	b.ReportAllocs()
	for b.Loop() {
		buf = v.AppendFrame(buf[:0])
		v.ReqID++
		benchSink += int64(len(buf))
	}
	reportRate(b)
}

// BenchmarkReadFrame reads pipelined OrderCheck frames from a buffered
// stream, as a server connection would.
func BenchmarkReadFrame(b *testing.B) {
	const framesPerStream = 1024
	var stream []byte
	for i := range framesPerStream {
		stream = (&sbe.OrderCheck{ReqID: uint64(i), Side: sbe.SideSell}).AppendFrame(stream)
	}
	rd := bytes.NewReader(stream)
	br := bufio.NewReaderSize(rd, 64<<10)
	buf := make([]byte, sbe.MessageFrameBytesMax)
	var m sbe.OrderCheck
	b.SetBytes(sbe.OrderCheckFrameBytes)
	b.ReportAllocs()
	for b.Loop() {
		f, err := sbe.ReadFrame(br, buf, len(buf))
		if err == io.EOF {
			rd.Reset(stream)
			br.Reset(rd)
			f, err = sbe.ReadFrame(br, buf, len(buf))
		}
		if err != nil {
			b.Fatal(err)
		}
		_ = m.DecodeBlock(f.Block)
		benchSink += int64(m.ReqID)
	}
	reportRate(b)
}
