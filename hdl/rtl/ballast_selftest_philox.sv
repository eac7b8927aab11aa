// OP_SELFTEST_PHILOX unit: writes n = dst_len / 16 Philox4x32-10 blocks to
// dst_addr. Block j = Philox(ctr = {lo32(arg1) + j, hi32(arg1), lo32(arg2),
// hi32(arg2)}, key = {lo32(arg0), hi32(arg0)}) (the +j wraps modulo 2^32),
// stored as four little-endian u32 words, word 0 first. A dst_len that is
// not a multiple of 16 writes the whole blocks that fit (out_bytes = 16 n).
//
// Throughput: the core takes a counter every cycle (II = 1); a block is two
// 8-byte beats, so the unit streams one beat per cycle, the bus rate. The
// core cannot stall, so the unit issues a counter only while the output FIFO
// has room for everything in flight (credits), and PHILOX_FIFO_BLOCKS covers
// the core latency at the bus rate.
//
// Unit interface: see ballast_units.sv.
`default_nettype none

module ballast_selftest_philox
  import ballast_pkg::*;
  import ballast_regs_pkg::*;
(
  input  logic        clk_i,
  input  logic        rst_ni,
  input  logic        start_i,
  input  desc_t       desc_i,
  input  logic        abort_i,
  output logic        busy_o,
  output logic        done_o,
  output logic [15:0] status_o,
  output logic [63:0] out_bytes_o,
  output logic        rd_req_valid_o,
  input  logic        rd_req_ready_i,
  output dma_req_t    rd_req_o,
  input  logic        rd_valid_i,
  output logic        rd_ready_o,
  input  logic [63:0] rd_data_i,
  input  logic        rd_last_i,
  input  logic        rd_err_i,
  input  logic        rd_done_i,
  input  logic        rd_done_err_i,
  output logic        wr_req_valid_o,
  input  logic        wr_req_ready_i,
  output dma_req_t    wr_req_o,
  output logic        wr_valid_o,
  input  logic        wr_ready_i,
  output logic [63:0] wr_data_o,
  input  logic        wr_done_i,
  input  logic        wr_done_err_i
);

  // Completion status codes: ERROR bit k <-> status k+1 (docs/accel.md §5).
  localparam logic [15:0] STATUS_DMA_WRITE = 16'(ERR_DMA_WRITE_BIT + 1);

  // Output FIFO in blocks: at least the core latency times the drain rate
  // (half a block per cycle) plus slack; a power of two.
  localparam int unsigned PHILOX_FIFO_BLOCKS = 32;
  localparam int unsigned CRED_BITS = $clog2(PHILOX_FIFO_BLOCKS) + 1;

  typedef enum logic [1:0] {S_IDLE, S_RUN, S_DONE} state_e;
  state_e state_q;

  logic [27:0]          blocks_q;      // blocks of the job (dst_len / 16)
  logic [27:0]          issued_q;      // counters given to the core
  logic [31:0]          ctr0_q;        // lo32(arg1) + issued
  logic [95:0]          ctr_hi_q;      // {hi32(arg2), lo32(arg2), hi32(arg1)}
  logic [63:0]          key_q;
  logic [CRED_BITS-1:0] used_q;        // blocks in the core or the FIFO
  logic                 req_pending_q; // write request not yet accepted
  logic                 half_q;        // next beat is the upper half of the head block
  logic                 done_q;
  logic [15:0]          status_q;
  logic [63:0]          out_bytes_q;

  logic         issue, core_valid, fifo_valid, fifo_ready, beat_hs, pop;
  logic [127:0] core_data, fifo_data;
  logic [$clog2(PHILOX_FIFO_BLOCKS):0] unused_fifo_count;

  assign issue   = (state_q == S_RUN) && !abort_i && (issued_q != blocks_q)
                && (32'(used_q) < PHILOX_FIFO_BLOCKS);
  assign beat_hs = wr_valid_o && wr_ready_i;
  assign pop     = beat_hs && half_q;

  ballast_philox4x32 u_core (
    .clk_i   (clk_i),
    .rst_ni  (rst_ni),
    .flush_i (abort_i),
    .valid_i (issue),
    .ctr_i   ({ctr_hi_q, ctr0_q}),
    .key_i   (key_q),
    .valid_o (core_valid),
    .data_o  (core_data)
  );

  ballast_fifo #(
    .WIDTH (128),
    .DEPTH (PHILOX_FIFO_BLOCKS)
  ) u_fifo (
    .clk_i   (clk_i),
    .rst_ni  (rst_ni),
    .flush_i (abort_i),
    .push_i  (core_valid),
    .wdata_i (core_data),
    .ready_o (fifo_ready),
    .pop_i   (pop),
    .rdata_o (fifo_data),
    .valid_o (fifo_valid),
    .count_o (unused_fifo_count)
  );

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q       <= S_IDLE;
      blocks_q      <= '0;
      issued_q      <= '0;
      ctr0_q        <= '0;
      ctr_hi_q      <= '0;
      key_q         <= '0;
      used_q        <= '0;
      req_pending_q <= 1'b0;
      half_q        <= 1'b0;
      done_q        <= 1'b0;
      status_q      <= STATUS_OK;
      out_bytes_q   <= '0;
    end else begin
      done_q <= 1'b0;
      unique case (state_q)
        S_IDLE: begin
          if (start_i) begin
            blocks_q      <= desc_i.dst_len[31:4];
            issued_q      <= '0;
            ctr0_q        <= desc_i.arg1[31:0];
            ctr_hi_q      <= {desc_i.arg2, desc_i.arg1[63:32]};
            key_q         <= desc_i.arg0;
            used_q        <= '0;
            half_q        <= 1'b0;
            status_q      <= STATUS_OK;
            out_bytes_q   <= {32'd0, desc_i.dst_len[31:4], 4'd0};
            if (desc_i.dst_len[31:4] == '0) begin
              state_q       <= S_DONE;
              req_pending_q <= 1'b0;
            end else begin
              state_q       <= S_RUN;
              req_pending_q <= 1'b1;
            end
          end
        end
        S_RUN: begin
          if (req_pending_q && wr_req_ready_i) req_pending_q <= 1'b0;
          if (issue) begin
            issued_q <= issued_q + 1'b1;
            ctr0_q   <= ctr0_q + 32'd1;
          end
          used_q <= used_q + (issue ? CRED_BITS'(1) : '0) - (pop ? CRED_BITS'(1) : '0);
          if (beat_hs) half_q <= !half_q;
          if (wr_done_i) begin
            state_q <= S_DONE;
            if (wr_done_err_i) begin
              status_q    <= STATUS_DMA_WRITE;
              out_bytes_q <= '0;
            end
          end
        end
        S_DONE: begin
          done_q  <= 1'b1;
          state_q <= S_IDLE;
        end
        default: state_q <= S_IDLE;
      endcase
      if (abort_i) begin
        state_q       <= S_IDLE;
        req_pending_q <= 1'b0;
        done_q        <= 1'b0;
      end
    end
  end

  assign busy_o      = state_q != S_IDLE;
  assign done_o      = done_q;
  assign status_o    = status_q;
  assign out_bytes_o = out_bytes_q;

  assign wr_req_valid_o = req_pending_q;
  assign wr_req_o       = '{addr: desc_i.dst_addr, bytes: {blocks_q, 4'd0}};
  assign wr_valid_o     = (state_q == S_RUN) && fifo_valid;
  assign wr_data_o      = half_q ? fifo_data[127:64] : fifo_data[63:0];

  // No input: the read channel is idle.
  assign rd_req_valid_o = 1'b0;
  assign rd_req_o       = '0;
  assign rd_ready_o     = 1'b1;

  logic unused_inputs;
  assign unused_inputs = ^{rd_req_ready_i, rd_valid_i, rd_data_i, rd_last_i, rd_err_i, rd_done_i,
                           rd_done_err_i, fifo_ready, desc_i.opcode, desc_i.flags, desc_i.tag,
                           desc_i.src_addr, desc_i.src_len, desc_i.dst_len[3:0]};

endmodule

`default_nettype wire
