package feedhandler

import (
	"context"
	"errors"
	"io"

	"github.com/ballast-risk/ballast/feedhandler/source"
)

// BatchMax bounds the packets read from a source per ReadBatch call.
const BatchMax = 256

// RunOptions tunes Run. The zero value suits replays.
type RunOptions struct {
	// Now supplies the clock for retransmission time-outs after each batch;
	// nil uses the batch's last receive timestamp, which is right for
	// replays (capture time). Live feeds pass source.Now.
	Now func() int64
	// AfterBatch, when set, runs on the feeding goroutine after each batch
	// (including empty batches from a read time-out) and after Poll: the
	// place to publish counters or check for a drain, since the Handler may
	// only be read from this goroutine.
	AfterBatch func(h *Handler)
}

// Run reads src until it ends (io.EOF: returns nil), fails, or ctx is done
// (returns ctx.Err()), feeding every packet to h on the calling goroutine.
func Run(ctx context.Context, h *Handler, src source.Source, opts RunOptions) error {
	pkts := make([]source.Packet, BatchMax)
	var last int64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := src.ReadBatch(pkts)
		for i := 0; i < n; i++ {
			h.HandlePacket(&pkts[i])
		}
		if n > 0 {
			last = pkts[n-1].RecvNs
		}
		if opts.Now != nil {
			last = opts.Now()
		}
		h.Poll(last)
		if opts.AfterBatch != nil {
			opts.AfterBatch(h)
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
