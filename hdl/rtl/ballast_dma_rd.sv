// AXI4 read DMA engine. One request at a time: `bytes` bytes at `addr` (both
// multiples of 8; the queue engine rejects descriptors that are not) are read
// in INCR bursts of at most DMA_BURST_BEATS_MAX beats of 8 bytes that never
// cross a 4 KiB boundary, and streamed to the client in address order.
//
// - Up to DMA_RD_PENDING_BEATS_MAX beats may be requested and not yet
//   received (several bursts in flight, one AXI ID, so responses are in order).
// - The client may stall the stream (data_ready_i low); that stalls RREADY.
// - data_last_o marks the last beat of the request; data_err_o marks a beat
//   answered SLVERR or DECERR. done_o pulses once after the last beat was
//   taken, with done_err_o set when any beat of the request failed.
// - flush_i (level) drops the request: no new bursts start, the bursts in
//   flight are drained and their data discarded, done_o stays low. idle_o is
//   high when nothing is in flight on the AXI bus.
// - A zero-byte request completes at once (done_o next cycle).
`default_nettype none

module ballast_dma_rd
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
  // Data stream to the client.
  output logic                   data_valid_o,
  input  logic                   data_ready_i,
  output logic [63:0]            data_o,
  output logic                   data_last_o,
  output logic                   data_err_o,
  output logic                   done_o,
  output logic                   done_err_o,
  // AXI4 AR and R channels.
  output logic [AXI_ID_BITS-1:0] m_axi_arid_o,
  output logic [63:0]            m_axi_araddr_o,
  output logic [7:0]             m_axi_arlen_o,
  output logic [2:0]             m_axi_arsize_o,
  output logic [1:0]             m_axi_arburst_o,
  output logic                   m_axi_arvalid_o,
  input  logic                   m_axi_arready_i,
  input  logic [AXI_ID_BITS-1:0] m_axi_rid_i,
  input  logic [63:0]            m_axi_rdata_i,
  input  logic [1:0]             m_axi_rresp_i,
  input  logic                   m_axi_rlast_i,
  input  logic                   m_axi_rvalid_i,
  output logic                   m_axi_rready_o
);

  localparam int unsigned PEND_BITS  = $clog2(DMA_RD_PENDING_BEATS_MAX + 1);
  localparam int unsigned BEATS_BITS = 32 - DMA_BEAT_SHIFT;             // beats of a request
  localparam int unsigned BURST_BITS = $clog2(DMA_BURST_BEATS_MAX + 1);
  localparam int unsigned BOUND_BITS = $clog2(DMA_BOUNDARY_BYTES / DMA_BEAT_BYTES) + 1;

  logic                  active_q;      // a request is being served
  logic [63:0]           next_addr_q;   // address of the next burst
  logic [BEATS_BITS-1:0] beats_left_q;  // beats not yet requested on AR
  logic [PEND_BITS-1:0]  pend_q;        // beats requested (AR committed), not yet received
  logic                  err_q;
  logic                  done_q, done_err_q;
  logic                  arvalid_q;
  logic [63:0]           araddr_q;
  logic [7:0]            arlen_q;

  // Length of the next burst: min(DMA_BURST_BEATS_MAX, beats left, beats to
  // the next 4 KiB boundary).
  logic [BOUND_BITS-1:0] to_bound;
  logic [BURST_BITS-1:0] burst_beats;
  always_comb begin
    to_bound = BOUND_BITS'(DMA_BOUNDARY_BYTES / DMA_BEAT_BYTES)
             - BOUND_BITS'(next_addr_q[11:DMA_BEAT_SHIFT]);
    burst_beats = BURST_BITS'(DMA_BURST_BEATS_MAX);
    if (beats_left_q < BEATS_BITS'(burst_beats)) burst_beats = BURST_BITS'(beats_left_q);
    if (to_bound < BOUND_BITS'(burst_beats))     burst_beats = BURST_BITS'(to_bound);
  end

  logic commit, ar_hs, r_hs, last_beat, accept;
  assign commit = active_q && !flush_i && !arvalid_q && (beats_left_q != '0)
               && (32'(pend_q) + 32'(burst_beats) <= DMA_RD_PENDING_BEATS_MAX);
  assign ar_hs  = arvalid_q && m_axi_arready_i;
  assign r_hs   = m_axi_rvalid_i && m_axi_rready_o;
  assign last_beat = (beats_left_q == '0) && (pend_q == PEND_BITS'(1));
  assign accept = req_valid_i && req_ready_o;

  assign req_ready_o = !active_q && !arvalid_q && (pend_q == '0) && !done_q && !flush_i;
  assign idle_o      = !active_q && !arvalid_q && (pend_q == '0) && !done_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      active_q     <= 1'b0;
      next_addr_q  <= '0;
      beats_left_q <= '0;
      pend_q       <= '0;
      err_q        <= 1'b0;
      done_q       <= 1'b0;
      done_err_q   <= 1'b0;
      arvalid_q    <= 1'b0;
      araddr_q     <= '0;
      arlen_q      <= '0;
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
        arvalid_q    <= 1'b1;
        araddr_q     <= next_addr_q;
        arlen_q      <= 8'(burst_beats) - 8'd1;
        next_addr_q  <= next_addr_q + 64'({burst_beats, 3'b000});
        beats_left_q <= beats_left_q - BEATS_BITS'(burst_beats);
      end else if (ar_hs) begin
        arvalid_q    <= 1'b0;
      end
      // Pending beats: + burst on commit, - 1 per received beat.
      pend_q <= pend_q + (commit ? PEND_BITS'(burst_beats) : '0) - (r_hs ? PEND_BITS'(1) : '0);
      if (r_hs && active_q) begin
        err_q <= err_q | m_axi_rresp_i[1];
        if (last_beat) begin
          active_q   <= 1'b0;
          done_q     <= 1'b1;
          done_err_q <= err_q | m_axi_rresp_i[1];
        end
      end
      if (flush_i) begin
        active_q     <= 1'b0;
        beats_left_q <= '0;
        done_q       <= 1'b0;
      end
    end
  end

  assign data_valid_o = active_q && m_axi_rvalid_i;
  assign data_o       = m_axi_rdata_i;
  assign data_last_o  = last_beat;
  assign data_err_o   = m_axi_rresp_i[1];
  assign done_o       = done_q;
  assign done_err_o   = done_err_q;

  // While a request is active the client paces RREADY; outside a request
  // (after a flush) the beats still in flight are drained.
  assign m_axi_rready_o  = active_q ? data_ready_i : 1'b1;
  assign m_axi_arid_o    = DMA_RD_ID;
  assign m_axi_araddr_o  = araddr_q;
  assign m_axi_arlen_o   = arlen_q;
  assign m_axi_arsize_o  = AXI_SIZE_8B;
  assign m_axi_arburst_o = AXI_BURST_INCR;
  assign m_axi_arvalid_o = arvalid_q;

  // Responses come back in order on one ID and are counted, so RID and RLAST
  // carry nothing the engine needs.
  logic unused_r;
  assign unused_r = ^{m_axi_rid_i, m_axi_rlast_i, m_axi_rresp_i[0], req_i.bytes[DMA_BEAT_SHIFT-1:0]};

endmodule

`default_nettype wire
