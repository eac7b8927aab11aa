// Queue engine (docs/accel.md §1, §3, §5): fetches descriptors from the
// descriptor ring, validates and dispatches them one at a time to the unit
// complex, and writes one completion per descriptor to the completion ring.
//
//   IDLE -> FETCH -> FETCH_DATA -> DECODE -> RUN ------------> CPL_REQ -> CPL_DATA -> CPL_WAIT -> IDLE
//                        |            |  \-> HANG -+-> FLUSH -/                                   |
//                        |            \--(bad opcode/desc,    |  (watchdog)                       |
//                        |               fault DMA_READ) -----+---------------------------------> |
//                        \-> HALTED (DESC_READ)                                  HALTED <---------/ (CPL_WRITE)
//
// - Fetch starts when ENABLE, the rings are configured (SIZE_LOG2 1..12),
//   DQ_TAIL != DQ_HEAD and the completion ring has a free slot
//   (CQ_TAIL - CQ_HEAD < entries): back-pressure holds the next descriptor
//   in host memory, so DQ_HEAD stops while the completion ring is full.
//   DQ_HEAD advances when a descriptor has been read.
// - DECODE, in priority order: FAULT_INJECT.HANG (the descriptor never
//   finishes), FAULT_INJECT.DMA_READ (status DMA_READ), an opcode without a
//   unit (BAD_OPCODE), a generic rule broken (BAD_DESC: src/dst address or
//   length not a multiple of 8, or addr + len past 2^64). Both fault bits are
//   consumed by the descriptor that is fetched after they were set.
// - RUN counts the descriptor's cycles (start pulse to done, the completion's
//   `cycles`, also summed into BUSY_CYCLES). A descriptor that reaches
//   WATCHDOG_CYCLES cycles (0: off) is aborted: the unit and the DMA engines
//   are flushed (FLUSH waits until they are idle) and it completes with
//   status WATCHDOG.
// - The completion is one 32-byte INCR burst (4 beats) carrying every field
//   and VALID. CQ_TAIL, JOBS_DONE and BUSY_CYCLES advance when its write
//   response came back OKAY.
// - Fatal errors (DESC_READ, CPL_WRITE) stop the engine in HALTED until a
//   soft reset; non-fatal ones only set the completion status.
// - soft_rst_i (level) aborts everything and clears the indices and counters;
//   quiet_o says when nothing is left in flight.
`default_nettype none

module ballast_queue
  import ballast_pkg::*;
  import ballast_regs_pkg::*;
(
  input  logic        clk_i,
  input  logic        rst_ni,
  // Configuration from the register file.
  input  logic        soft_rst_i,
  input  logic        enable_i,
  input  logic [63:0] dq_base_i,
  input  logic [3:0]  dq_size_log2_i,
  input  logic [31:0] dq_tail_i,
  input  logic [63:0] cq_base_i,
  input  logic [3:0]  cq_size_log2_i,
  input  logic [31:0] cq_head_i,
  input  logic [31:0] watchdog_cycles_i,
  input  logic        fault_dma_read_i,
  input  logic        fault_hang_i,
  // State and events to the register file.
  output logic        busy_o,
  output logic        halted_o,
  output logic        quiet_o,
  output logic        cpl_inflight_o,
  output logic [31:0] dq_head_o,
  output logic [31:0] cq_tail_o,
  output logic [31:0] jobs_done_o,
  output logic [63:0] busy_cycles_o,
  output logic [ERR_BITS-1:0] err_set_o,
  output logic [31:0] err_desc_o,
  output logic        irq_cpl_set_o,
  output logic        fault_clr_o,
  // The unit complex.
  output logic [15:0] op_o,
  input  logic        op_supported_i,
  output logic        unit_start_o,
  output desc_t       unit_desc_o,
  output logic        unit_abort_o,
  input  logic        unit_busy_i,
  input  logic        unit_done_i,
  input  logic [15:0] unit_status_i,
  input  logic [63:0] unit_out_bytes_i,
  // DMA (the queue engine's arbiter port) and the engines' flush/idle.
  output logic        dma_flush_o,
  input  logic        dma_idle_i,
  output logic        rd_req_valid_o,
  input  logic        rd_req_ready_i,
  output dma_req_t    rd_req_o,
  input  logic        rd_valid_i,
  output logic        rd_ready_o,
  input  logic [63:0] rd_data_i,
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
  localparam logic [15:0] STATUS_BAD_OPCODE = 16'(ERR_BAD_OPCODE_BIT + 1);
  localparam logic [15:0] STATUS_BAD_DESC = 16'(ERR_BAD_DESC_BIT + 1);
  localparam logic [15:0] STATUS_DMA_READ = 16'(ERR_DMA_READ_BIT + 1);
  localparam logic [15:0] STATUS_WATCHDOG = 16'(ERR_WATCHDOG_BIT + 1);
  localparam int unsigned DESC_BITS  = DESC_BYTES * 8;                  // 512
  localparam int unsigned DESC_BEATS = DESC_BYTES / DMA_BEAT_BYTES;     // 8
  localparam int unsigned CPL_BITS   = CPL_BYTES * 8;                   // 256
  localparam int unsigned CPL_BEATS  = CPL_BYTES / DMA_BEAT_BYTES;      // 4

  localparam int unsigned DBEAT_BITS = $clog2(DESC_BEATS);
  localparam int unsigned CBEAT_BITS = $clog2(CPL_BEATS);

  typedef enum logic [3:0] {
    S_IDLE, S_FETCH, S_FETCH_DATA, S_DECODE, S_RUN, S_HANG, S_FLUSH,
    S_CPL_REQ, S_CPL_DATA, S_CPL_WAIT, S_HALTED
  } state_e;

  state_e                state_q;
  logic [DESC_BITS-1:0]  desc_raw_q;
  logic [DBEAT_BITS-1:0] dbeat_q;
  logic [CBEAT_BITS-1:0] cbeat_q;
  logic [31:0]           dq_head_q, cq_tail_q, jobs_done_q, desc_idx_q;
  logic [63:0]           busy_cycles_q, run_cycles_q, cycles_q, out_bytes_q;
  logic [15:0]           status_q;
  logic                  fault_dma_read_q, fault_hang_q;
  logic                  flush_seen_q;

  // ------------------------------------------------------------- decode ---
  desc_t desc;
  always_comb begin
    desc.opcode   = desc_raw_q[DESC_OPCODE_OFF*8   +: 16];
    desc.flags    = desc_raw_q[DESC_FLAGS_OFF*8    +: 16];
    desc.tag      = desc_raw_q[DESC_TAG_OFF*8      +: 32];
    desc.src_addr = desc_raw_q[DESC_SRC_ADDR_OFF*8 +: 64];
    desc.src_len  = desc_raw_q[DESC_SRC_LEN_OFF*8  +: 32];
    desc.dst_addr = desc_raw_q[DESC_DST_ADDR_OFF*8 +: 64];
    desc.dst_len  = desc_raw_q[DESC_DST_LEN_OFF*8  +: 32];
    desc.arg0     = desc_raw_q[DESC_ARG0_OFF*8     +: 64];
    desc.arg1     = desc_raw_q[DESC_ARG1_OFF*8     +: 64];
    desc.arg2     = desc_raw_q[DESC_ARG2_OFF*8     +: 64];
  end
  assign unit_desc_o = desc;
  assign op_o        = desc.opcode;

  // Generic rules every opcode shares.
  logic        src_wrap, dst_wrap, desc_bad;
  logic [63:0] unused_src_end, unused_dst_end;
  assign {src_wrap, unused_src_end} = {1'b0, desc.src_addr} + 65'(desc.src_len);
  assign {dst_wrap, unused_dst_end} = {1'b0, desc.dst_addr} + 65'(desc.dst_len);
  assign desc_bad = (desc.src_addr[2:0] != '0) || (desc.dst_addr[2:0] != '0)
                 || (desc.src_len[2:0] != '0)  || (desc.dst_len[2:0] != '0)
                 || src_wrap || dst_wrap;

  // ------------------------------------------------------- ring geometry ---
  logic        rings_ok, cq_space, work;
  logic [31:0] dq_mask, cq_mask, cq_used, cq_entries;
  assign rings_ok   = (dq_size_log2_i != '0) && (32'(dq_size_log2_i) <= RING_SIZE_LOG2_MAX)
                   && (cq_size_log2_i != '0) && (32'(cq_size_log2_i) <= RING_SIZE_LOG2_MAX);
  assign dq_mask    = (32'd1 << dq_size_log2_i) - 32'd1;
  assign cq_entries = 32'd1 << cq_size_log2_i;
  assign cq_mask    = cq_entries - 32'd1;
  assign cq_used    = cq_tail_q - cq_head_i;
  assign cq_space   = cq_used < cq_entries;
  assign work       = enable_i && rings_ok && (dq_tail_i != dq_head_q) && cq_space;

  // --------------------------------------------------------- completion ---
  logic [CPL_BITS-1:0] cpl;
  logic [15:0]         cpl_flags;
  always_comb begin
    cpl_flags = '0;
    cpl_flags[CPL_FLAGS_VALID_BIT] = 1'b1;
    cpl = '0;
    cpl[CPL_TAG_OFF*8       +: 32] = desc.tag;
    cpl[CPL_STATUS_OFF*8    +: 16] = status_q;
    cpl[CPL_FLAGS_OFF*8     +: 16] = cpl_flags;
    cpl[CPL_SEQ_OFF*8       +: 32] = cq_tail_q;
    cpl[CPL_DESC_OFF*8      +: 32] = desc_idx_q;
    cpl[CPL_CYCLES_OFF*8    +: 64] = cycles_q;
    cpl[CPL_OUT_BYTES_OFF*8 +: 64] = out_bytes_q;
  end

  // Status code k+1 -> ERROR bit k.
  function automatic logic [ERR_BITS-1:0] err_bit(input logic [15:0] status);
    err_bit = '0;
    for (int k = 0; k < ERR_BITS; k++) begin
      if (status == 16'(k + 1)) err_bit[k] = 1'b1;
    end
  endfunction

  // --------------------------------------------------------------- FSM ---
  logic watchdog_hit;
  assign watchdog_hit = (watchdog_cycles_i != '0)
                     && ((run_cycles_q + 64'd1) >= {32'd0, watchdog_cycles_i});

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q          <= S_IDLE;
      desc_raw_q       <= '0;
      dbeat_q          <= '0;
      cbeat_q          <= '0;
      dq_head_q        <= '0;
      cq_tail_q        <= '0;
      jobs_done_q      <= '0;
      desc_idx_q       <= '0;
      busy_cycles_q    <= '0;
      run_cycles_q     <= '0;
      cycles_q         <= '0;
      out_bytes_q      <= '0;
      status_q         <= STATUS_OK;
      fault_dma_read_q <= 1'b0;
      fault_hang_q     <= 1'b0;
      flush_seen_q     <= 1'b0;
    end else if (soft_rst_i) begin
      state_q          <= S_IDLE;
      dq_head_q        <= '0;
      cq_tail_q        <= '0;
      jobs_done_q      <= '0;
      busy_cycles_q    <= '0;
      run_cycles_q     <= '0;
      fault_dma_read_q <= 1'b0;
      fault_hang_q     <= 1'b0;
      flush_seen_q     <= 1'b0;
    end else begin
      unique case (state_q)
        S_IDLE: begin
          if (work) state_q <= S_FETCH;
        end
        S_FETCH: begin
          if (rd_req_ready_i) begin
            dbeat_q <= '0;
            state_q <= S_FETCH_DATA;
          end
        end
        S_FETCH_DATA: begin
          if (rd_valid_i) begin
            desc_raw_q[dbeat_q*64 +: 64] <= rd_data_i;
            dbeat_q <= dbeat_q + 1'b1;
          end
          if (rd_done_i) begin
            desc_idx_q <= dq_head_q;
            if (rd_done_err_i) begin
              state_q <= S_HALTED;
            end else begin
              dq_head_q        <= dq_head_q + 32'd1;
              fault_dma_read_q <= fault_dma_read_i;
              fault_hang_q     <= fault_hang_i;
              state_q          <= S_DECODE;
            end
          end
        end
        S_DECODE: begin
          run_cycles_q <= '0;
          cycles_q     <= '0;
          out_bytes_q  <= '0;
          if (fault_hang_q) begin
            state_q <= S_HANG;
          end else if (fault_dma_read_q) begin
            status_q <= STATUS_DMA_READ;
            state_q  <= S_CPL_REQ;
          end else if (!op_supported_i) begin
            status_q <= STATUS_BAD_OPCODE;
            state_q  <= S_CPL_REQ;
          end else if (desc_bad) begin
            status_q <= STATUS_BAD_DESC;
            state_q  <= S_CPL_REQ;
          end else begin
            state_q  <= S_RUN;
          end
        end
        S_RUN, S_HANG: begin
          run_cycles_q <= run_cycles_q + 64'd1;
          if (state_q == S_RUN && unit_done_i) begin
            status_q    <= unit_status_i;
            out_bytes_q <= unit_out_bytes_i;
            cycles_q    <= run_cycles_q + 64'd1;
            state_q     <= S_CPL_REQ;
          end else if (watchdog_hit) begin
            status_q     <= STATUS_WATCHDOG;
            out_bytes_q  <= '0;
            cycles_q     <= run_cycles_q + 64'd1;
            flush_seen_q <= 1'b0;
            state_q      <= S_FLUSH;
          end
        end
        S_FLUSH: begin
          flush_seen_q <= 1'b1;
          if (flush_seen_q && !unit_busy_i && dma_idle_i) state_q <= S_CPL_REQ;
        end
        S_CPL_REQ: begin
          if (wr_req_ready_i) begin
            cbeat_q <= '0;
            state_q <= S_CPL_DATA;
          end
        end
        S_CPL_DATA: begin
          if (wr_ready_i) begin
            cbeat_q <= cbeat_q + 1'b1;
            if (cbeat_q == CBEAT_BITS'(CPL_BEATS - 1)) state_q <= S_CPL_WAIT;
          end
        end
        S_CPL_WAIT: begin
          if (wr_done_i) begin
            if (wr_done_err_i) begin
              state_q <= S_HALTED;
            end else begin
              cq_tail_q     <= cq_tail_q + 32'd1;
              jobs_done_q   <= jobs_done_q + 32'd1;
              busy_cycles_q <= busy_cycles_q + cycles_q;
              state_q       <= S_IDLE;
            end
          end
        end
        S_HALTED: ;
        default: state_q <= S_HALTED;
      endcase
    end
  end

  // --------------------------------------------------------- events ---
  always_comb begin
    err_set_o     = '0;
    err_desc_o    = desc_idx_q;
    irq_cpl_set_o = 1'b0;
    fault_clr_o   = 1'b0;
    if (!soft_rst_i) begin
      if (state_q == S_FETCH_DATA && rd_done_i) begin
        err_desc_o = dq_head_q;
        if (rd_done_err_i) err_set_o[ERR_DESC_READ_BIT] = 1'b1;
        else               fault_clr_o = fault_dma_read_i || fault_hang_i;
      end
      if (state_q == S_CPL_WAIT && wr_done_i) begin
        err_set_o = err_bit(status_q);
        if (wr_done_err_i) err_set_o[ERR_CPL_WRITE_BIT] = 1'b1;
        else irq_cpl_set_o = desc.flags[DESC_FLAGS_IRQ_BIT];
      end
    end
  end

  // ---------------------------------------------------------- outputs ---
  assign busy_o        = (state_q != S_IDLE) && (state_q != S_HALTED);
  assign halted_o      = state_q == S_HALTED;
  assign quiet_o       = (state_q == S_IDLE) && !unit_busy_i && dma_idle_i;
  // A completion is being written: the host may see it before CQ_TAIL moves.
  assign cpl_inflight_o = (state_q == S_CPL_DATA) || (state_q == S_CPL_WAIT);
  assign dq_head_o     = dq_head_q;
  assign cq_tail_o     = cq_tail_q;
  assign jobs_done_o   = jobs_done_q;
  assign busy_cycles_o = busy_cycles_q;

  assign unit_start_o  = !soft_rst_i && (state_q == S_DECODE) && !fault_hang_q && !fault_dma_read_q
                      && op_supported_i && !desc_bad;
  assign unit_abort_o  = soft_rst_i || (state_q == S_FLUSH);
  assign dma_flush_o   = unit_abort_o;

  assign rd_req_valid_o = (state_q == S_FETCH) && !soft_rst_i;
  assign rd_req_o       = '{addr: dq_base_i + {26'd0, dq_head_q & dq_mask, 6'd0}, bytes: 32'(DESC_BYTES)};
  assign rd_ready_o     = 1'b1;
  assign wr_req_valid_o = (state_q == S_CPL_REQ) && !soft_rst_i;
  assign wr_req_o       = '{addr: cq_base_i + {27'd0, cq_tail_q & cq_mask, 5'd0}, bytes: 32'(CPL_BYTES)};
  assign wr_valid_o     = (state_q == S_CPL_DATA) && !soft_rst_i;
  assign wr_data_o      = cpl[cbeat_q*64 +: 64];

  // The reserved descriptor words (after src_len and dst_len) are ignored.
  logic unused_reserved;
  assign unused_reserved = ^{desc_raw_q[DESC_SRC_LEN_OFF*8 + 32 +: 32],
                             desc_raw_q[DESC_DST_LEN_OFF*8 + 32 +: 32]};

endmodule

`default_nettype wire
