// BAR0 register file: an AXI4-Lite slave (16-bit byte address, 32-bit data)
// holding the three blocks of docs/accel.md §2: ID (0x0000), CTRL (0x0100)
// and QUEUE (0x0200).
//
// Bus behaviour:
// - One write and one read in flight; AW and W may arrive in either order.
//   A write takes effect one cycle after both were accepted; its response
//   follows. A read answers one cycle after AR. READY signals come straight
//   from registers (no combinational path from the bus inputs).
// - Reads have no side effects. Byte strobes are honoured (partial writes
//   merge into the register before the checks below).
// - SLVERR (and read data 0) for: an offset that is not 4-byte aligned or
//   not mapped; a write to a read-only register; a write to the CTRL or QUEUE
//   block while a soft reset runs; a ring base/size write while CTRL.ENABLE
//   is set or a descriptor is in flight; a SIZE_LOG2 outside 1..12; a
//   DQ_BASE not 64-byte or CQ_BASE not 32-byte aligned; a DQ_TAIL that would
//   put more than `entries` descriptors in the ring or move backwards; a
//   CQ_HEAD beyond the completions written or moving backwards. A refused write changes
//   nothing.
//
// Soft reset (CTRL.RESET written 1): every CTRL- and QUEUE-block register
// returns to 0 at once (ENABLE, IRQ_EN, ERROR, ERROR_DESC, IRQ_STATUS,
// WATCHDOG_CYCLES, FAULT_INJECT, ring bases, sizes and indices; JOBS_DONE,
// BUSY_CYCLES, DQ_HEAD and CQ_TAIL in the queue engine), the queue engine
// and the units abort and the DMA engines drain; STATUS.RESETTING (and
// CTRL.RESET) read 1 until nothing is in flight. The ID block (SCRATCH,
// CYCLES) is untouched.
//
// Interrupt: irq_o is a level, high while CTRL.IRQ_EN and IRQ_STATUS != 0
// (registered, one cycle after the cause). IRQ_STATUS.CPL is set when a
// completion of a descriptor with the IRQ flag was written, IRQ_STATUS.ERR
// when any error bit was set; both whatever IRQ_EN, both RW1C.
`default_nettype none

module ballast_regfile
  import ballast_pkg::*;
  import ballast_regs_pkg::*;
#(
  parameter int unsigned LANES       = 4,
  parameter logic [31:0] TABLES_HASH = 32'h0
) (
  input  logic        clk_i,
  input  logic        rst_ni,
  // AXI4-Lite slave.
  input  logic [15:0] s_axil_awaddr_i,
  input  logic        s_axil_awvalid_i,
  output logic        s_axil_awready_o,
  input  logic [31:0] s_axil_wdata_i,
  input  logic [3:0]  s_axil_wstrb_i,
  input  logic        s_axil_wvalid_i,
  output logic        s_axil_wready_o,
  output logic [1:0]  s_axil_bresp_o,
  output logic        s_axil_bvalid_o,
  input  logic        s_axil_bready_i,
  input  logic [15:0] s_axil_araddr_i,
  input  logic        s_axil_arvalid_i,
  output logic        s_axil_arready_o,
  output logic [31:0] s_axil_rdata_o,
  output logic [1:0]  s_axil_rresp_o,
  output logic        s_axil_rvalid_o,
  input  logic        s_axil_rready_i,
  // Build facts.
  input  logic [31:0] caps_i,
  // ID_AGG_COLS_MAX and ID_SCENGEN_U_MAX: the units' build limits (constants).
  input  logic [31:0] agg_cols_max_i,
  input  logic [31:0] scengen_u_max_i,
  // Queue engine state and events.
  input  logic        q_busy_i,
  input  logic        q_halted_i,
  input  logic        q_quiet_i,
  input  logic        q_cpl_inflight_i,
  input  logic [31:0] dq_head_i,
  input  logic [31:0] cq_tail_i,
  input  logic [31:0] jobs_done_i,
  input  logic [63:0] busy_cycles_i,
  input  logic [ERR_BITS-1:0] err_set_i,
  input  logic [31:0] err_desc_i,
  input  logic        irq_cpl_set_i,
  input  logic        fault_clr_i,
  // Configuration to the queue engine.
  output logic        soft_rst_o,
  output logic        enable_o,
  output logic [63:0] dq_base_o,
  output logic [3:0]  dq_size_log2_o,
  output logic [31:0] dq_tail_o,
  output logic [63:0] cq_base_o,
  output logic [3:0]  cq_size_log2_o,
  output logic [31:0] cq_head_o,
  output logic [31:0] watchdog_cycles_o,
  output logic        fault_dma_read_o,
  output logic        fault_hang_o,
  output logic        irq_o
);

  localparam logic [1:0] RESP_OKAY   = 2'b00;
  localparam logic [1:0] RESP_SLVERR = 2'b10;

  // ---------------------------------------------------------- registers ---
  logic [63:0] cycles_q;
  logic [31:0] scratch_q;
  logic        enable_q, irq_en_q, resetting_q;
  logic [ERR_BITS-1:0] error_q;
  logic [31:0] error_desc_q;
  logic [1:0]  irq_status_q;
  logic [31:0] watchdog_q;
  logic        fault_dma_read_q, fault_hang_q;
  logic [63:0] dq_base_q, cq_base_q;
  logic [3:0]  dq_size_q, cq_size_q;
  logic [31:0] dq_tail_q, cq_head_q;
  logic        irq_q;

  // ------------------------------------------------------- read decode ---
  function automatic logic [31:0] blk_id(input logic [15:0] typ, input logic [15:0] ver);
    blk_id = {typ, ver};
  endfunction

  logic [31:0] ctrl_rd, status_rd, fault_rd;
  always_comb begin
    ctrl_rd = '0;
    ctrl_rd[CTRL_ENABLE_BIT] = enable_q;
    ctrl_rd[CTRL_RESET_BIT]  = resetting_q;
    ctrl_rd[CTRL_IRQ_EN_BIT] = irq_en_q;
    status_rd = '0;
    status_rd[STATUS_IDLE_BIT]      = !q_busy_i && !resetting_q;
    status_rd[STATUS_BUSY_BIT]      = q_busy_i;
    status_rd[STATUS_HALTED_BIT]    = q_halted_i;
    status_rd[STATUS_RESETTING_BIT] = resetting_q;
    fault_rd = '0;
    fault_rd[FAULT_INJECT_DMA_READ_BIT] = fault_dma_read_q;
    fault_rd[FAULT_INJECT_HANG_BIT]     = fault_hang_q;
  end

  // Read value of a mapped register; hit = 0 for unmapped offsets.
  logic [31:0] rd_val;
  logic        rd_hit;
  always_comb begin
    rd_hit = s_axil_araddr_i[1:0] == 2'b00;
    rd_val = '0;
    unique case (s_axil_araddr_i)
      REG_ID_BLK_ID:         rd_val = blk_id(BLK_TYPE_ID, BLK_VERSION_ID);
      REG_ID_BLK_NEXT:       rd_val = 32'(REG_CTRL_BLK_ID);
      REG_ID_MAGIC:          rd_val = ID_MAGIC_VALUE;
      REG_ID_ABI:            rd_val = ID_ABI_VALUE;
      REG_ID_TABLES_HASH:    rd_val = TABLES_HASH;
      REG_ID_LANES:          rd_val = LANES;
      REG_ID_CAPS:           rd_val = caps_i;
      REG_ID_SCRATCH:        rd_val = scratch_q;
      REG_ID_CYCLES_LO:      rd_val = cycles_q[31:0];
      REG_ID_CYCLES_HI:      rd_val = cycles_q[63:32];
      REG_ID_CLK_MHZ:        rd_val = ID_CLK_MHZ_VALUE;
      REG_ID_AGG_COLS_MAX:   rd_val = agg_cols_max_i;
      REG_ID_SCENGEN_U_MAX:  rd_val = scengen_u_max_i;
      REG_CTRL_BLK_ID:       rd_val = blk_id(BLK_TYPE_CTRL, BLK_VERSION_CTRL);
      REG_CTRL_BLK_NEXT:     rd_val = 32'(REG_QUEUE_BLK_ID);
      REG_CTRL:              rd_val = ctrl_rd;
      REG_STATUS:            rd_val = status_rd;
      REG_ERROR:             rd_val = 32'(error_q);
      REG_ERROR_DESC:        rd_val = error_desc_q;
      REG_JOBS_DONE:         rd_val = jobs_done_i;
      REG_BUSY_CYCLES_LO:    rd_val = busy_cycles_i[31:0];
      REG_BUSY_CYCLES_HI:    rd_val = busy_cycles_i[63:32];
      REG_IRQ_STATUS:        rd_val = 32'(irq_status_q);
      REG_WATCHDOG_CYCLES:   rd_val = watchdog_q;
      REG_FAULT_INJECT:      rd_val = fault_rd;
      REG_QUEUE_BLK_ID:      rd_val = blk_id(BLK_TYPE_QUEUE, BLK_VERSION_QUEUE);
      REG_QUEUE_BLK_NEXT:    rd_val = 32'd0;
      REG_DQ_BASE_LO:        rd_val = dq_base_q[31:0];
      REG_DQ_BASE_HI:        rd_val = dq_base_q[63:32];
      REG_DQ_SIZE_LOG2:      rd_val = 32'(dq_size_q);
      REG_DQ_TAIL:           rd_val = dq_tail_q;
      REG_DQ_HEAD:           rd_val = dq_head_i;
      REG_CQ_BASE_LO:        rd_val = cq_base_q[31:0];
      REG_CQ_BASE_HI:        rd_val = cq_base_q[63:32];
      REG_CQ_SIZE_LOG2:      rd_val = 32'(cq_size_q);
      REG_CQ_TAIL:           rd_val = cq_tail_i;
      REG_CQ_HEAD:           rd_val = cq_head_q;
      default:               rd_hit = 1'b0;
    endcase
    if (!rd_hit) rd_val = '0;
  end

  // -------------------------------------------------------- read channel ---
  logic        rvalid_q;
  logic [31:0] rdata_q;
  logic [1:0]  rresp_q;
  assign s_axil_arready_o = !rvalid_q;
  assign s_axil_rvalid_o  = rvalid_q;
  assign s_axil_rdata_o   = rdata_q;
  assign s_axil_rresp_o   = rresp_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      rvalid_q <= 1'b0;
      rdata_q  <= '0;
      rresp_q  <= RESP_OKAY;
    end else if (s_axil_arvalid_i && s_axil_arready_o) begin
      rvalid_q <= 1'b1;
      rdata_q  <= rd_val;
      rresp_q  <= rd_hit ? RESP_OKAY : RESP_SLVERR;
    end else if (rvalid_q && s_axil_rready_i) begin
      rvalid_q <= 1'b0;
    end
  end

  // ------------------------------------------------------- write channel ---
  logic        aw_full_q, w_full_q, bvalid_q;
  logic [15:0] awaddr_q;
  logic [31:0] wdata_q;
  logic [3:0]  wstrb_q;
  logic [1:0]  bresp_q;
  logic        do_write;

  assign s_axil_awready_o = !aw_full_q;
  assign s_axil_wready_o  = !w_full_q;
  assign s_axil_bvalid_o  = bvalid_q;
  assign s_axil_bresp_o   = bresp_q;
  assign do_write         = aw_full_q && w_full_q && !bvalid_q;

  // Byte-strobe merge of the write data into a register's current value.
  logic [31:0] wmask;
  assign wmask = {{8{wstrb_q[3]}}, {8{wstrb_q[2]}}, {8{wstrb_q[1]}}, {8{wstrb_q[0]}}};
  function automatic logic [31:0] merge(input logic [31:0] old, input logic [31:0] data,
                                        input logic [31:0] mask);
    merge = (old & ~mask) | (data & mask);
  endfunction

  // Write decode: what the write does and whether it is refused.
  logic        ring_locked;
  logic [31:0] dq_entries, wval;
  logic        wr_ok;
  logic        wr_scratch, wr_ctrl, wr_error, wr_irq_status, wr_watchdog, wr_fault;
  logic        wr_dq_base_lo, wr_dq_base_hi, wr_dq_size, wr_dq_tail;
  logic        wr_cq_base_lo, wr_cq_base_hi, wr_cq_size, wr_cq_head;
  logic        in_ctrl_or_queue;

  assign ring_locked = enable_q || q_busy_i || resetting_q;
  assign dq_entries  = 32'd1 << dq_size_q;
  assign in_ctrl_or_queue = (awaddr_q >= REG_CTRL_BLK_ID);

  always_comb begin
    wr_ok = 1'b0;
    wval  = '0;
    {wr_scratch, wr_ctrl, wr_error, wr_irq_status, wr_watchdog, wr_fault} = '0;
    {wr_dq_base_lo, wr_dq_base_hi, wr_dq_size, wr_dq_tail} = '0;
    {wr_cq_base_lo, wr_cq_base_hi, wr_cq_size, wr_cq_head} = '0;
    if (awaddr_q[1:0] == 2'b00 && !(resetting_q && in_ctrl_or_queue)) begin
      unique case (awaddr_q)
        REG_ID_SCRATCH: begin
          wval = merge(scratch_q, wdata_q, wmask);
          wr_ok = 1'b1; wr_scratch = 1'b1;
        end
        REG_CTRL: begin
          wval = merge(32'(ctrl_rd), wdata_q, wmask);
          wr_ok = 1'b1; wr_ctrl = 1'b1;
        end
        REG_ERROR: begin
          wval = wdata_q & wmask;  // RW1C: the bits to clear
          wr_ok = 1'b1; wr_error = 1'b1;
        end
        REG_IRQ_STATUS: begin
          wval = wdata_q & wmask;  // RW1C
          wr_ok = 1'b1; wr_irq_status = 1'b1;
        end
        REG_WATCHDOG_CYCLES: begin
          wval = merge(watchdog_q, wdata_q, wmask);
          wr_ok = 1'b1; wr_watchdog = 1'b1;
        end
        REG_FAULT_INJECT: begin
          wval = merge(fault_rd, wdata_q, wmask);
          wr_ok = 1'b1; wr_fault = 1'b1;
        end
        REG_DQ_BASE_LO: begin
          wval = merge(dq_base_q[31:0], wdata_q, wmask);
          wr_ok = !ring_locked && (wval[5:0] == '0); wr_dq_base_lo = wr_ok;
        end
        REG_DQ_BASE_HI: begin
          wval = merge(dq_base_q[63:32], wdata_q, wmask);
          wr_ok = !ring_locked; wr_dq_base_hi = wr_ok;
        end
        REG_DQ_SIZE_LOG2: begin
          wval = merge(32'(dq_size_q), wdata_q, wmask);
          wr_ok = !ring_locked && (wval != '0) && (wval <= RING_SIZE_LOG2_MAX);
          wr_dq_size = wr_ok;
        end
        REG_DQ_TAIL: begin
          // new - old <= head + entries - old: never more than `entries`
          // descriptors posted, never backwards.
          wval = merge(dq_tail_q, wdata_q, wmask);
          wr_ok = (wval - dq_tail_q) <= (dq_head_i + dq_entries - dq_tail_q);
          wr_dq_tail = wr_ok;
        end
        REG_CQ_BASE_LO: begin
          wval = merge(cq_base_q[31:0], wdata_q, wmask);
          wr_ok = !ring_locked && (wval[4:0] == '0); wr_cq_base_lo = wr_ok;
        end
        REG_CQ_BASE_HI: begin
          wval = merge(cq_base_q[63:32], wdata_q, wmask);
          wr_ok = !ring_locked; wr_cq_base_hi = wr_ok;
        end
        REG_CQ_SIZE_LOG2: begin
          wval = merge(32'(cq_size_q), wdata_q, wmask);
          wr_ok = !ring_locked && (wval != '0) && (wval <= RING_SIZE_LOG2_MAX);
          wr_cq_size = wr_ok;
        end
        REG_CQ_HEAD: begin
          // new - old <= tail (+ the completion being written, which the
          // host may already see) - old: never beyond what was written,
          // never backwards.
          wval = merge(cq_head_q, wdata_q, wmask);
          wr_ok = (wval - cq_head_q) <= (cq_tail_i + 32'(q_cpl_inflight_i) - cq_head_q);
          wr_cq_head = wr_ok;
        end
        default: wr_ok = 1'b0;  // read-only or unmapped
      endcase
    end
  end

  logic soft_rst_start;
  assign soft_rst_start = do_write && wr_ctrl && wval[CTRL_RESET_BIT];

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      aw_full_q <= 1'b0;
      w_full_q  <= 1'b0;
      bvalid_q  <= 1'b0;
      awaddr_q  <= '0;
      wdata_q   <= '0;
      wstrb_q   <= '0;
      bresp_q   <= RESP_OKAY;
    end else begin
      if (s_axil_awvalid_i && s_axil_awready_o) begin
        aw_full_q <= 1'b1;
        awaddr_q  <= s_axil_awaddr_i;
      end
      if (s_axil_wvalid_i && s_axil_wready_o) begin
        w_full_q <= 1'b1;
        wdata_q  <= s_axil_wdata_i;
        wstrb_q  <= s_axil_wstrb_i;
      end
      if (do_write) begin
        aw_full_q <= 1'b0;
        w_full_q  <= 1'b0;
        bvalid_q  <= 1'b1;
        bresp_q   <= wr_ok ? RESP_OKAY : RESP_SLVERR;
      end else if (bvalid_q && s_axil_bready_i) begin
        bvalid_q  <= 1'b0;
      end
    end
  end

  // ------------------------------------------------------ register state ---
  logic do_wr;
  assign do_wr = do_write && wr_ok;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      cycles_q  <= '0;
      scratch_q <= '0;
    end else begin
      cycles_q <= cycles_q + 64'd1;
      if (do_wr && wr_scratch) scratch_q <= wval;
    end
  end

  logic [ERR_BITS-1:0] error_kept;
  assign error_kept = error_q & ~((do_wr && wr_error) ? wval[ERR_BITS-1:0] : '0);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      enable_q         <= 1'b0;
      irq_en_q         <= 1'b0;
      resetting_q      <= 1'b0;
      error_q          <= '0;
      error_desc_q     <= '0;
      irq_status_q     <= '0;
      watchdog_q       <= '0;
      fault_dma_read_q <= 1'b0;
      fault_hang_q     <= 1'b0;
      dq_base_q        <= '0;
      dq_size_q        <= '0;
      dq_tail_q        <= '0;
      cq_base_q        <= '0;
      cq_size_q        <= '0;
      cq_head_q        <= '0;
      irq_q            <= 1'b0;
    end else if (soft_rst_start) begin
      enable_q         <= 1'b0;
      irq_en_q         <= 1'b0;
      resetting_q      <= 1'b1;
      error_q          <= '0;
      error_desc_q     <= '0;
      irq_status_q     <= '0;
      watchdog_q       <= '0;
      fault_dma_read_q <= 1'b0;
      fault_hang_q     <= 1'b0;
      dq_base_q        <= '0;
      dq_size_q        <= '0;
      dq_tail_q        <= '0;
      cq_base_q        <= '0;
      cq_size_q        <= '0;
      cq_head_q        <= '0;
      irq_q            <= 1'b0;
    end else begin
      if (resetting_q && q_quiet_i) resetting_q <= 1'b0;
      if (do_wr && wr_ctrl) begin
        enable_q <= wval[CTRL_ENABLE_BIT];
        irq_en_q <= wval[CTRL_IRQ_EN_BIT];
      end
      // ERROR: RW1C, sticky; ERROR_DESC latches the first error since clear.
      error_q <= error_kept | (resetting_q ? '0 : err_set_i);
      if (!resetting_q && err_set_i != '0 && error_kept == '0) error_desc_q <= err_desc_i;
      irq_status_q[IRQ_STATUS_CPL_BIT] <=
          (irq_status_q[IRQ_STATUS_CPL_BIT] && !(do_wr && wr_irq_status && wval[IRQ_STATUS_CPL_BIT]))
          || (!resetting_q && irq_cpl_set_i);
      irq_status_q[IRQ_STATUS_ERR_BIT] <=
          (irq_status_q[IRQ_STATUS_ERR_BIT] && !(do_wr && wr_irq_status && wval[IRQ_STATUS_ERR_BIT]))
          || (!resetting_q && err_set_i != '0);
      if (do_wr && wr_watchdog) watchdog_q <= wval;
      if (do_wr && wr_fault) begin
        fault_dma_read_q <= wval[FAULT_INJECT_DMA_READ_BIT];
        fault_hang_q     <= wval[FAULT_INJECT_HANG_BIT];
      end else if (fault_clr_i) begin
        fault_dma_read_q <= 1'b0;
        fault_hang_q     <= 1'b0;
      end
      if (do_wr && wr_dq_base_lo) dq_base_q[31:0]  <= wval;
      if (do_wr && wr_dq_base_hi) dq_base_q[63:32] <= wval;
      if (do_wr && wr_dq_size)    dq_size_q        <= wval[3:0];
      if (do_wr && wr_dq_tail)    dq_tail_q        <= wval;
      if (do_wr && wr_cq_base_lo) cq_base_q[31:0]  <= wval;
      if (do_wr && wr_cq_base_hi) cq_base_q[63:32] <= wval;
      if (do_wr && wr_cq_size)    cq_size_q        <= wval[3:0];
      if (do_wr && wr_cq_head)    cq_head_q        <= wval;
      irq_q <= irq_en_q && (irq_status_q != '0);
    end
  end

  assign soft_rst_o        = resetting_q;
  assign enable_o          = enable_q;
  assign dq_base_o         = dq_base_q;
  assign dq_size_log2_o    = dq_size_q;
  assign dq_tail_o         = dq_tail_q;
  assign cq_base_o         = cq_base_q;
  assign cq_size_log2_o    = cq_size_q;
  assign cq_head_o         = cq_head_q;
  assign watchdog_cycles_o = watchdog_q;
  assign fault_dma_read_o  = fault_dma_read_q;
  assign fault_hang_o      = fault_hang_q;
  assign irq_o             = irq_q;

endmodule

`default_nettype wire
