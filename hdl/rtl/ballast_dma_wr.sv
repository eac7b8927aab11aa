// AXI4 write DMA engine. One request at a time: `bytes` bytes (multiple of 8)
// to `addr` (8-byte aligned), written in INCR bursts of at most
// DMA_BURST_BEATS_MAX beats of 8 bytes that never cross a 4 KiB boundary,
// with the data the client streams in address order (every byte strobed).
//
// - Up to DMA_WR_BURSTS_MAX bursts may be issued with their write response
//   pending. A burst's W beats may go out as soon as its AW is presented
//   (AXI allows data before the address handshake; the engine never waits
//   for AWREADY before WVALID).
// - done_o pulses once after the last write response, with done_err_o set
//   when any response was SLVERR or DECERR.
// - flush_i (level) drops the request: no new bursts start, the beats still
//   owed to bursts already presented go out with WSTRB = 0 (nothing written),
//   responses are drained, done_o stays low. idle_o is high when nothing is in
//   flight on the AXI bus.
// - A zero-byte request completes at once (done_o next cycle).
`default_nettype none

module ballast_dma_wr
  import ballast_pkg::*;
(
  input  logic                   clk_i,
  input  logic                   rst_ni,
  input  logic                   flush_i,
  output logic                   idle_o,
  // Request.
  input  logic                   req_valid_i,
  output logic                   req_ready_o,
  input  dma_req_t               req_i,
  // Data stream from the client.
  input  logic                   data_valid_i,
  output logic                   data_ready_o,
  input  logic [63:0]            data_i,
  output logic                   done_o,
  output logic                   done_err_o,
  // AXI4 AW, W and B channels.
  output logic [AXI_ID_BITS-1:0] m_axi_awid_o,
  output logic [63:0]            m_axi_awaddr_o,
  output logic [7:0]             m_axi_awlen_o,
  output logic [2:0]             m_axi_awsize_o,
  output logic [1:0]             m_axi_awburst_o,
  output logic                   m_axi_awvalid_o,
  input  logic                   m_axi_awready_i,
  output logic [63:0]            m_axi_wdata_o,
  output logic [7:0]             m_axi_wstrb_o,
  output logic                   m_axi_wlast_o,
  output logic                   m_axi_wvalid_o,
  input  logic                   m_axi_wready_i,
  input  logic [AXI_ID_BITS-1:0] m_axi_bid_i,
  input  logic [1:0]             m_axi_bresp_i,
  input  logic                   m_axi_bvalid_i,
  output logic                   m_axi_bready_o
);

  localparam int unsigned BEATS_BITS = 32 - DMA_BEAT_SHIFT;
  localparam int unsigned BURST_BITS = $clog2(DMA_BURST_BEATS_MAX + 1);
  localparam int unsigned BOUND_BITS = $clog2(DMA_BOUNDARY_BYTES / DMA_BEAT_BYTES) + 1;
  localparam int unsigned BPEND_BITS = $clog2(DMA_WR_BURSTS_MAX + 1);

  logic                  active_q;
  logic [63:0]           next_addr_q;
  logic [BEATS_BITS-1:0] beats_left_q;  // beats not yet given to a burst
  logic [BPEND_BITS-1:0] bpend_q;       // bursts presented, response pending
  logic [BURST_BITS-1:0] wbeat_q;       // beats sent of the oldest burst
  logic                  err_q;
  logic                  done_q, done_err_q;
  logic                  awvalid_q;
  logic [63:0]           awaddr_q;
  logic [7:0]            awlen_q;

  logic [BOUND_BITS-1:0] to_bound;
  logic [BURST_BITS-1:0] burst_beats;
  always_comb begin
    to_bound = BOUND_BITS'(DMA_BOUNDARY_BYTES / DMA_BEAT_BYTES)
             - BOUND_BITS'(next_addr_q[11:DMA_BEAT_SHIFT]);
    burst_beats = BURST_BITS'(DMA_BURST_BEATS_MAX);
    if (beats_left_q < BEATS_BITS'(burst_beats)) burst_beats = BURST_BITS'(beats_left_q);
    if (to_bound < BOUND_BITS'(burst_beats))     burst_beats = BURST_BITS'(to_bound);
  end

  // Lengths of the bursts presented on AW whose W beats are not all sent.
  logic                  lens_ready, lens_valid;
  logic [BURST_BITS-1:0] lens_head;
  logic                  commit, aw_hs, w_load, b_hs, wlast, accept;

  // W output register: a presented beat stays, unchanged, until WREADY
  // (AXI), whatever happens upstream (a flush included).
  logic                  wvalid_q, wlast_q;
  logic [63:0]           wdata_q;
  logic [7:0]            wstrb_q;
  logic                  w_free;
  logic [$clog2(DMA_WR_BURSTS_MAX):0] unused_lens_count;

  assign commit = active_q && !flush_i && !awvalid_q && (beats_left_q != '0)
               && (32'(bpend_q) < DMA_WR_BURSTS_MAX) && lens_ready;
  assign aw_hs  = awvalid_q && m_axi_awready_i;
  assign b_hs   = m_axi_bvalid_i;  // BREADY is always high
  assign wlast  = (wbeat_q + 1'b1) == lens_head;
  // A beat is loaded into the W register when it is free (empty or being
  // taken) and a presented burst still owes beats: the client's data while the
  // request is active, an unstrobed filler beat after a flush.
  assign w_free = !wvalid_q || m_axi_wready_i;
  assign w_load = w_free && lens_valid && (active_q ? data_valid_i : 1'b1);
  assign accept = req_valid_i && req_ready_o;

  ballast_fifo #(
    .WIDTH (BURST_BITS),
    .DEPTH (DMA_WR_BURSTS_MAX)
  ) u_lens (
    .clk_i   (clk_i),
    .rst_ni  (rst_ni),
    .flush_i (1'b0),
    .push_i  (commit),
    .wdata_i (burst_beats),
    .ready_o (lens_ready),
    .pop_i   (w_load && wlast),
    .rdata_o (lens_head),
    .valid_o (lens_valid),
    .count_o (unused_lens_count)
  );

  assign req_ready_o = !active_q && !awvalid_q && (bpend_q == '0) && !lens_valid && !wvalid_q
                    && !done_q && !flush_i;
  assign idle_o      = !active_q && !awvalid_q && (bpend_q == '0) && !lens_valid && !wvalid_q && !done_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      active_q     <= 1'b0;
      next_addr_q  <= '0;
      beats_left_q <= '0;
      bpend_q      <= '0;
      wbeat_q      <= '0;
      wvalid_q     <= 1'b0;
      wlast_q      <= 1'b0;
      wdata_q      <= '0;
      wstrb_q      <= '0;
      err_q        <= 1'b0;
      done_q       <= 1'b0;
      done_err_q   <= 1'b0;
      awvalid_q    <= 1'b0;
      awaddr_q     <= '0;
      awlen_q      <= '0;
    end else begin
      done_q <= 1'b0;
      if (accept) begin
        next_addr_q  <= req_i.addr;
        beats_left_q <= req_i.bytes[31:DMA_BEAT_SHIFT];
        err_q        <= 1'b0;
        if (req_i.bytes[31:DMA_BEAT_SHIFT] == '0) begin
          done_q     <= 1'b1;
          done_err_q <= 1'b0;
        end else begin
          active_q   <= 1'b1;
        end
      end
      if (commit) begin
        awvalid_q    <= 1'b1;
        awaddr_q     <= next_addr_q;
        awlen_q      <= 8'(burst_beats) - 8'd1;
        next_addr_q  <= next_addr_q + 64'({burst_beats, 3'b000});
        beats_left_q <= beats_left_q - BEATS_BITS'(burst_beats);
      end else if (aw_hs) begin
        awvalid_q    <= 1'b0;
      end
      if (w_load) begin
        wbeat_q  <= wlast ? '0 : wbeat_q + 1'b1;
        wvalid_q <= 1'b1;
        wdata_q  <= active_q ? data_i : '0;
        wstrb_q  <= active_q ? 8'hFF : 8'h00;
        wlast_q  <= wlast;
      end else if (m_axi_wready_i) begin
        wvalid_q <= 1'b0;
      end
      bpend_q <= bpend_q + (commit ? BPEND_BITS'(1) : '0) - (b_hs ? BPEND_BITS'(1) : '0);
      if (b_hs) begin
        err_q <= err_q | m_axi_bresp_i[1];
      end
      // Done once every burst of the request has its response.
      if (active_q && (beats_left_q == '0) && (bpend_q == '0)) begin
        active_q   <= 1'b0;
        done_q     <= 1'b1;
        done_err_q <= err_q;
      end
      if (flush_i) begin
        active_q     <= 1'b0;
        beats_left_q <= '0;
        done_q       <= 1'b0;
      end
    end
  end

  assign done_o     = done_q;
  assign done_err_o = done_err_q;

  assign m_axi_wvalid_o = wvalid_q;
  assign m_axi_wdata_o  = wdata_q;
  assign m_axi_wstrb_o  = wstrb_q;
  assign m_axi_wlast_o  = wlast_q;
  assign data_ready_o   = active_q && lens_valid && w_free;

  assign m_axi_awid_o    = DMA_WR_ID;
  assign m_axi_awaddr_o  = awaddr_q;
  assign m_axi_awlen_o   = awlen_q;
  assign m_axi_awsize_o  = AXI_SIZE_8B;
  assign m_axi_awburst_o = AXI_BURST_INCR;
  assign m_axi_awvalid_o = awvalid_q;
  assign m_axi_bready_o  = 1'b1;

  logic unused_b;
  assign unused_b = ^{m_axi_bid_i, m_axi_bresp_i[0], req_i.bytes[DMA_BEAT_SHIFT-1:0]};

endmodule

`default_nettype wire
