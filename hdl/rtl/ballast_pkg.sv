// Ballast accelerator: types and bounds shared by the queue engine, the DMA
// engines and the units. The register map and the descriptor/completion
// layouts live in ballast_regs_pkg (generated from the single-source map).
`default_nettype none

package ballast_pkg;

  // ---------------------------------------------------------------------------
  // AXI4 DMA master.
  // ---------------------------------------------------------------------------
  localparam int unsigned AXI_ADDR_BITS       = 64;
  localparam int unsigned AXI_DATA_BITS       = 64;
  localparam int unsigned AXI_ID_BITS         = 4;
  localparam int unsigned DMA_BEAT_BYTES      = AXI_DATA_BITS / 8;     // 8
  localparam int unsigned DMA_BEAT_SHIFT      = 3;                     // log2(DMA_BEAT_BYTES)
  localparam int unsigned DMA_BURST_BEATS_MAX = 16;                    // AXI4 INCR burst bound we use
  localparam int unsigned DMA_BOUNDARY_BYTES  = 4096;                  // bursts never cross 4 KiB
  localparam int unsigned DMA_RD_PENDING_BEATS_MAX = 128;              // read beats requested, not yet received
  localparam int unsigned DMA_WR_BURSTS_MAX   = 8;                     // write bursts issued, response pending
  localparam logic [2:0]  AXI_SIZE_8B         = 3'd3;
  localparam logic [1:0]  AXI_BURST_INCR      = 2'b01;
  localparam logic [1:0]  AXI_RESP_OKAY       = 2'b00;
  localparam logic [1:0]  AXI_RESP_SLVERR     = 2'b10;
  localparam logic [AXI_ID_BITS-1:0] DMA_RD_ID = '0;                   // one ID: responses in order
  localparam logic [AXI_ID_BITS-1:0] DMA_WR_ID = '0;

  // One DMA request: `bytes` bytes at `addr`. Both are multiples of
  // DMA_BEAT_BYTES (the queue engine rejects descriptors that are not).
  typedef struct packed {
    logic [63:0] addr;
    logic [31:0] bytes;
  } dma_req_t;

  // ---------------------------------------------------------------------------
  // Descriptors and completions. (Sizes and status codes derived from
  // ballast_regs_pkg are computed in the modules that import both packages:
  // Yosys 0.23 parses neither an import nor a qualified name in a package.)
  // ---------------------------------------------------------------------------

  // The decoded descriptor a unit receives with its start pulse.
  typedef struct packed {
    logic [15:0] opcode;
    logic [15:0] flags;
    logic [31:0] tag;
    logic [63:0] src_addr;
    logic [31:0] src_len;
    logic [63:0] dst_addr;
    logic [31:0] dst_len;
    logic [63:0] arg0;
    logic [63:0] arg1;
    logic [63:0] arg2;
  } desc_t;

  localparam logic [15:0] STATUS_OK = 16'd0;

  // Number of error bits in ERROR (and of nonzero status codes).
  localparam int unsigned ERR_BITS = 8;

  // ---------------------------------------------------------------------------
  // Philox4x32-10 core.
  // ---------------------------------------------------------------------------
  localparam int unsigned PHILOX_ROUNDS           = 10;
  localparam int unsigned PHILOX_STAGES_PER_ROUND = 2;  // multiply, then mix
  localparam int unsigned PHILOX_LATENCY          = PHILOX_ROUNDS * PHILOX_STAGES_PER_ROUND;
  localparam logic [31:0] PHILOX_M0 = 32'hD2511F53;
  localparam logic [31:0] PHILOX_M1 = 32'hCD9E8D57;
  localparam logic [31:0] PHILOX_W0 = 32'h9E3779B9;
  localparam logic [31:0] PHILOX_W1 = 32'hBB67AE85;

endpackage

`default_nettype wire
