// Top-level testbench of ballast_top: an AXI4-Lite master playing the host
// driver, and a behavioural AXI4 memory (tb_axi_mem, with a protocol checker
// and random READY/VALID stalls) playing host memory.
//
// It checks, against docs/accel.md written out independently here (register
// offsets and descriptor/completion layouts are spelled out, not taken from
// the generated package): the ID/CTRL/QUEUE blocks and their errors;
// SELFTEST_PHILOX against the Go golden vectors (philox_jobs.memh,
// philox_out.memh from accel/internal/tbvec); SELFTEST_COPY across 4 KiB
// boundaries; ring wrap-around with more jobs than ring entries;
// back-pressure when the completion ring is full; BAD_OPCODE and BAD_DESC;
// FAULT_INJECT (DMA_READ, hang); real SLVERR on input, output, descriptor
// and completion traffic (fatal ones halt until RESET); the watchdog on a
// hang and on a running DMA job; soft reset recovery; the interrupt;
// JOBS_DONE and BUSY_CYCLES. Exits nonzero on the first failed run.
//
// Plusargs: +vectors=DIR (default build/vectors), +stall=PERMILLE (memory
// READY/VALID stalls, default 0), +latency=CYCLES (read latency, default 8).
`default_nettype none

module tb_top;

  // ------------------------------------------------------------ constants ---
  localparam logic [63:0] MEM_BASE  = 64'h0000_0010_0000_0000;  // vsim's mem_iova
  localparam int unsigned MEM_WORDS = 1 << 17;                    // 1 MiB
  localparam logic [31:0] HASH      = 32'hC0FFEE11;
  localparam int unsigned LANES     = 1;
  // The units of this build (ballast_units.sv): capability bits and limits.
  localparam logic [31:0] CAPS          = 32'h0000_0173;  // SELFTEST_PHILOX, SELFTEST_COPY, SCENGEN, REVAL, AGGTAIL, GREEKS
  localparam logic [31:0] AGG_COLS_MAX  = 32'd16384;
  localparam logic [31:0] SCENGEN_U_MAX = 32'd64;

  // Host memory layout (offsets from MEM_BASE).
  localparam logic [63:0] DQ_ADDR   = MEM_BASE + 64'h0_0000;
  localparam logic [63:0] CQ_ADDR   = MEM_BASE + 64'h0_2000;
  localparam logic [63:0] SRC_ADDR  = MEM_BASE + 64'h1_0000;
  localparam logic [63:0] DST_ADDR  = MEM_BASE + 64'h3_0000;
  localparam logic [63:0] PHX_ADDR  = MEM_BASE + 64'h5_0000;
  localparam logic [63:0] ERR_LO    = MEM_BASE + 64'hF_0000;      // SLVERR window
  localparam logic [63:0] ERR_HI    = MEM_BASE + 64'hF_8000;

  // Registers (docs/accel.md §2).
  localparam logic [15:0] R_ID_BLK_ID = 16'h000, R_ID_BLK_NEXT = 16'h004, R_MAGIC = 16'h008;
  localparam logic [15:0] R_ABI = 16'h00C, R_TABLES_HASH = 16'h010, R_LANES = 16'h014;
  localparam logic [15:0] R_CAPS = 16'h018, R_SCRATCH = 16'h01C, R_CYCLES_LO = 16'h020;
  localparam logic [15:0] R_CYCLES_HI = 16'h024, R_CLK_MHZ = 16'h028;
  localparam logic [15:0] R_CTRL_BLK_ID = 16'h100, R_CTRL_BLK_NEXT = 16'h104, R_CTRL = 16'h108;
  localparam logic [15:0] R_STATUS = 16'h10C, R_ERROR = 16'h110, R_ERROR_DESC = 16'h114;
  localparam logic [15:0] R_JOBS_DONE = 16'h118, R_BUSY_LO = 16'h11C, R_BUSY_HI = 16'h120;
  localparam logic [15:0] R_IRQ_STATUS = 16'h124, R_WATCHDOG = 16'h128, R_FAULT = 16'h12C;
  localparam logic [15:0] R_Q_BLK_ID = 16'h200, R_Q_BLK_NEXT = 16'h204;
  localparam logic [15:0] R_DQ_BASE_LO = 16'h208, R_DQ_BASE_HI = 16'h20C, R_DQ_SIZE = 16'h210;
  localparam logic [15:0] R_DQ_TAIL = 16'h214, R_DQ_HEAD = 16'h218;
  localparam logic [15:0] R_CQ_BASE_LO = 16'h21C, R_CQ_BASE_HI = 16'h220, R_CQ_SIZE = 16'h224;
  localparam logic [15:0] R_CQ_TAIL = 16'h228, R_CQ_HEAD = 16'h22C;

  localparam logic [31:0] CTRL_ENABLE = 32'h1, CTRL_RESET = 32'h2, CTRL_IRQ_EN = 32'h4;
  localparam logic [31:0] ST_IDLE = 32'h1, ST_BUSY = 32'h2, ST_HALTED = 32'h4, ST_RESETTING = 32'h8;

  localparam logic [15:0] OP_PHILOX = 16'h0001, OP_COPY = 16'h0002, OP_UNDEFINED = 16'h0013;
  localparam logic [15:0] S_OK = 16'd0, S_DESC_READ = 16'd1, S_BAD_OPCODE = 16'd2, S_BAD_DESC = 16'd3;
  localparam logic [15:0] S_DMA_READ = 16'd4, S_DMA_WRITE = 16'd5, S_CPL_WRITE = 16'd6, S_WATCHDOG = 16'd8;
  localparam logic [1:0]  OKAY = 2'b00, SLVERR = 2'b10;
  localparam logic [63:0] GUARD = 64'hA5A5_A5A5_A5A5_A5A5;

  localparam longint unsigned WAIT_CYCLES_MAX = 200_000;  // bound on every wait

  // ------------------------------------------------------- clock, reset ---
  logic clk = 1'b0;
  logic rst_n = 1'b0;
  always #5 clk = ~clk;

  longint unsigned now = 0;
  always @(posedge clk) now <= now + 1;

  // ------------------------------------------------------------ signals ---
  logic [15:0] awaddr = '0;  logic awvalid = 1'b0; logic awready;
  logic [31:0] wdata = '0;   logic [3:0] wstrb = '0; logic wvalid = 1'b0; logic wready;
  logic [1:0]  bresp;        logic bvalid; logic bready = 1'b0;
  logic [15:0] araddr = '0;  logic arvalid = 1'b0; logic arready;
  logic [31:0] rdata;        logic [1:0] rresp; logic rvalid; logic rready = 1'b0;

  logic [3:0]  m_awid, m_arid, m_bid, m_rid;
  logic [63:0] m_awaddr, m_araddr, m_wdata, m_rdata;
  logic [7:0]  m_awlen, m_arlen, m_wstrb;
  logic [2:0]  m_awsize, m_arsize;
  logic [1:0]  m_awburst, m_arburst, m_bresp, m_rresp;
  logic        m_awvalid, m_awready, m_wlast, m_wvalid, m_wready, m_bvalid, m_bready;
  logic        m_arvalid, m_arready, m_rlast, m_rvalid, m_rready;
  logic        irq;

  int unsigned     stall_permille = 0;
  int unsigned     rd_latency = 8;
  int unsigned     mem_errors;
  longint unsigned mem_rd_beats, mem_wr_beats;

  ballast_top #(
    .LANES       (LANES),
    .TABLES_HASH (HASH),
    .MEM_DIR     (`TB_MEM_DIR)
  ) dut (
    .clk_i (clk), .rst_ni (rst_n),
    .s_axil_awaddr_i (awaddr), .s_axil_awvalid_i (awvalid), .s_axil_awready_o (awready),
    .s_axil_wdata_i (wdata), .s_axil_wstrb_i (wstrb), .s_axil_wvalid_i (wvalid), .s_axil_wready_o (wready),
    .s_axil_bresp_o (bresp), .s_axil_bvalid_o (bvalid), .s_axil_bready_i (bready),
    .s_axil_araddr_i (araddr), .s_axil_arvalid_i (arvalid), .s_axil_arready_o (arready),
    .s_axil_rdata_o (rdata), .s_axil_rresp_o (rresp), .s_axil_rvalid_o (rvalid), .s_axil_rready_i (rready),
    .m_axi_awid_o (m_awid), .m_axi_awaddr_o (m_awaddr), .m_axi_awlen_o (m_awlen), .m_axi_awsize_o (m_awsize),
    .m_axi_awburst_o (m_awburst), .m_axi_awvalid_o (m_awvalid), .m_axi_awready_i (m_awready),
    .m_axi_wdata_o (m_wdata), .m_axi_wstrb_o (m_wstrb), .m_axi_wlast_o (m_wlast), .m_axi_wvalid_o (m_wvalid),
    .m_axi_wready_i (m_wready),
    .m_axi_bid_i (m_bid), .m_axi_bresp_i (m_bresp), .m_axi_bvalid_i (m_bvalid), .m_axi_bready_o (m_bready),
    .m_axi_arid_o (m_arid), .m_axi_araddr_o (m_araddr), .m_axi_arlen_o (m_arlen), .m_axi_arsize_o (m_arsize),
    .m_axi_arburst_o (m_arburst), .m_axi_arvalid_o (m_arvalid), .m_axi_arready_i (m_arready),
    .m_axi_rid_i (m_rid), .m_axi_rdata_i (m_rdata), .m_axi_rresp_i (m_rresp), .m_axi_rlast_i (m_rlast),
    .m_axi_rvalid_i (m_rvalid), .m_axi_rready_o (m_rready),
    .irq_o (irq)
  );

  tb_axi_mem #(
    .BASE  (MEM_BASE),
    .WORDS (MEM_WORDS)
  ) mem (
    .clk_i (clk), .rst_ni (rst_n),
    .stall_permille_i (stall_permille), .rd_latency_i (rd_latency),
    .err_lo_i (ERR_LO), .err_hi_i (ERR_HI),
    .errors_o (mem_errors), .rd_beats_o (mem_rd_beats), .wr_beats_o (mem_wr_beats),
    .awid_i (m_awid), .awaddr_i (m_awaddr), .awlen_i (m_awlen), .awsize_i (m_awsize), .awburst_i (m_awburst),
    .awvalid_i (m_awvalid), .awready_o (m_awready),
    .wdata_i (m_wdata), .wstrb_i (m_wstrb), .wlast_i (m_wlast), .wvalid_i (m_wvalid), .wready_o (m_wready),
    .bid_o (m_bid), .bresp_o (m_bresp), .bvalid_o (m_bvalid), .bready_i (m_bready),
    .arid_i (m_arid), .araddr_i (m_araddr), .arlen_i (m_arlen), .arsize_i (m_arsize), .arburst_i (m_arburst),
    .arvalid_i (m_arvalid), .arready_o (m_arready),
    .rid_o (m_rid), .rdata_o (m_rdata), .rresp_o (m_rresp), .rlast_o (m_rlast), .rvalid_o (m_rvalid),
    .rready_i (m_rready)
  );

  // Registers a soft reset returns to 0.
  logic [15:0] reset_regs [19] = '{R_CTRL, R_ERROR, R_ERROR_DESC, R_JOBS_DONE, R_BUSY_LO, R_BUSY_HI,
                                   R_IRQ_STATUS, R_WATCHDOG, R_FAULT, R_DQ_BASE_LO, R_DQ_BASE_HI,
                                   R_DQ_SIZE, R_DQ_TAIL, R_DQ_HEAD, R_CQ_BASE_LO, R_CQ_BASE_HI,
                                   R_CQ_SIZE, R_CQ_TAIL, R_CQ_HEAD};

  // ------------------------------------------------------------ checking ---
  int unsigned errors = 0;
  int unsigned checks = 0;

  function automatic void check(input logic ok, input string what);
    checks++;
    if (!ok) begin
      errors++;
      $display("tb_top: FAIL at cycle %0d: %s", now, what);
    end
  endfunction

  // Inputs change 1 ns after a rising edge; handshakes are sampled at the
  // falling edge, where everything has settled, and happen at the next
  // rising edge.
  task automatic tick();
    @(posedge clk);
    #1;
  endtask

  // ------------------------------------------------------- AXI-Lite host ---
  task automatic csr_write_resp(input logic [15:0] addr, input logic [31:0] data,
                                input logic [3:0] strb, output logic [1:0] resp);
    logic aw_done, w_done, aw_hs, w_hs, b_hs;
    int   mode;
    mode = $urandom_range(2);  // 0: AW and W together, 1: AW first, 2: W first
    aw_done = 1'b0;
    w_done  = 1'b0;
    awaddr  = addr;
    wdata   = data;
    wstrb   = strb;
    awvalid = (mode != 2);
    wvalid  = (mode != 1);
    while (!(aw_done && w_done)) begin
      @(negedge clk);
      aw_hs = awvalid && awready;
      w_hs  = wvalid && wready;
      tick();
      if (aw_hs) begin aw_done = 1'b1; awvalid = 1'b0; end
      if (w_hs)  begin w_done = 1'b1;  wvalid = 1'b0; end
      if (aw_done && !w_done && !w_hs)  wvalid = 1'b1;
      if (w_done && !aw_done && !aw_hs) awvalid = 1'b1;
    end
    bready = 1'b1;
    b_hs = 1'b0;
    resp = OKAY;
    for (int i = 0; i < 100 && !b_hs; i++) begin
      @(negedge clk);
      b_hs = bvalid;
      resp = bresp;
      tick();
    end
    bready = 1'b0;
    check(b_hs, $sformatf("write %h: no B response", addr));
  endtask

  task automatic csr_write(input logic [15:0] addr, input logic [31:0] data);
    logic [1:0] resp;
    csr_write_resp(addr, data, 4'hF, resp);
    check(resp == OKAY, $sformatf("write %h = %h: resp %0d, want OKAY", addr, data, resp));
  endtask

  task automatic csr_write_err(input logic [15:0] addr, input logic [31:0] data);
    logic [1:0] resp;
    csr_write_resp(addr, data, 4'hF, resp);
    check(resp == SLVERR, $sformatf("write %h = %h: resp %0d, want SLVERR", addr, data, resp));
  endtask

  task automatic csr_read_resp(input logic [15:0] addr, output logic [31:0] data, output logic [1:0] resp);
    logic ar_hs, r_hs;
    araddr  = addr;
    arvalid = 1'b1;
    ar_hs   = 1'b0;
    while (!ar_hs) begin
      @(negedge clk);
      ar_hs = arready;
      tick();
    end
    arvalid = 1'b0;
    rready  = 1'b1;
    r_hs    = 1'b0;
    data    = '0;
    resp    = OKAY;
    for (int i = 0; i < 100 && !r_hs; i++) begin
      @(negedge clk);
      r_hs = rvalid;
      data = rdata;
      resp = rresp;
      tick();
    end
    rready = 1'b0;
    check(r_hs, $sformatf("read %h: no R response", addr));
  endtask

  task automatic csr_read(input logic [15:0] addr, output logic [31:0] data);
    logic [1:0] resp;
    csr_read_resp(addr, data, resp);
    check(resp == OKAY, $sformatf("read %h: resp %0d, want OKAY", addr, resp));
  endtask

  task automatic csr_expect(input logic [15:0] addr, input logic [31:0] want);
    logic [31:0] v;
    csr_read(addr, v);
    check(v == want, $sformatf("read %h = %h, want %h", addr, v, want));
  endtask

  task automatic csr_expect_err(input logic [15:0] addr);
    logic [31:0] v;
    logic [1:0]  resp;
    csr_read_resp(addr, v, resp);
    check(resp == SLVERR && v == '0, $sformatf("read %h: resp %0d data %h, want SLVERR and 0", addr, resp, v));
  endtask

  // ---------------------------------------------------------- the host ---
  int unsigned dq_log2, cq_log2;
  logic [31:0] dq_tail, cq_head;       // host copies of the producer/consumer indices
  logic [31:0] desc_next;              // index the next posted descriptor will have
  logic [31:0] posted_idx[$];          // descriptor indices posted, not yet completed
  int unsigned jobs_since_reset;
  longint unsigned cycles_since_reset;

  typedef struct packed {
    logic [31:0] tag;
    logic [15:0] status;
    logic [15:0] flags;
    logic [31:0] seq;
    logic [31:0] desc;
    logic [63:0] cycles;
    logic [63:0] out_bytes;
  } cpl_t;

  task automatic host_reset_state();
    dq_tail = '0;
    cq_head = '0;
    desc_next = '0;
    posted_idx.delete();
    jobs_since_reset = 0;
    cycles_since_reset = 0;
  endtask

  task automatic setup_rings(input int unsigned dl, input int unsigned cl, input logic [63:0] dq,
                             input logic [63:0] cq);
    dq_log2 = dl;
    cq_log2 = cl;
    for (int unsigned i = 0; i < (32'd1 << cl) * 4; i++) mem.poke(cq + 64'(i) * 8, '0);
    csr_write(R_DQ_BASE_LO, dq[31:0]);
    csr_write(R_DQ_BASE_HI, dq[63:32]);
    csr_write(R_DQ_SIZE, dl);
    csr_write(R_CQ_BASE_LO, cq[31:0]);
    csr_write(R_CQ_BASE_HI, cq[63:32]);
    csr_write(R_CQ_SIZE, cl);
  endtask

  logic [63:0] dq_base_cur = DQ_ADDR, cq_base_cur = CQ_ADDR;

  // Writes a descriptor into the next ring slot (no doorbell).
  task automatic post(input logic [15:0] opcode, input logic [15:0] flags, input logic [31:0] tag,
                      input logic [63:0] src, input logic [31:0] src_len,
                      input logic [63:0] dst, input logic [31:0] dst_len,
                      input logic [63:0] a0, input logic [63:0] a1, input logic [63:0] a2);
    logic [63:0] slot;
    slot = dq_base_cur + {26'd0, dq_tail & ((32'd1 << dq_log2) - 32'd1), 6'd0};
    mem.poke(slot + 0,  {tag, flags, opcode});
    mem.poke(slot + 8,  src);
    mem.poke(slot + 16, {32'd0, src_len});
    mem.poke(slot + 24, dst);
    mem.poke(slot + 32, {32'd0, dst_len});
    mem.poke(slot + 40, a0);
    mem.poke(slot + 48, a1);
    mem.poke(slot + 56, a2);
    dq_tail = dq_tail + 1;
    posted_idx.push_back(desc_next);
    desc_next = desc_next + 1;
  endtask

  task automatic doorbell();
    csr_write(R_DQ_TAIL, dq_tail);
  endtask

  task automatic submit(input logic [15:0] opcode, input logic [15:0] flags, input logic [31:0] tag,
                        input logic [63:0] src, input logic [31:0] src_len,
                        input logic [63:0] dst, input logic [31:0] dst_len,
                        input logic [63:0] a0, input logic [63:0] a1, input logic [63:0] a2);
    post(opcode, flags, tag, src, src_len, dst, dst_len, a0, a1, a2);
    doorbell();
  endtask

  function automatic logic [63:0] cq_slot(input logic [31:0] idx);
    return cq_base_cur + {27'd0, idx & ((32'd1 << cq_log2) - 32'd1), 5'd0};
  endfunction

  // Polls host memory for the next completion (VALID), consumes it and
  // checks seq and desc. ok = 0 when none arrives within `bound` cycles.
  task automatic take_cpl(output cpl_t c, output logic ok, input longint unsigned bound);
    logic [63:0] slot, w0, w1;
    longint unsigned t0;
    slot = cq_slot(cq_head);
    t0 = now;
    ok = 1'b0;
    while (now - t0 < bound) begin
      w0 = mem.peek(slot + 24);  // the last word: tag, status, flags (VALID)
      if (w0[48]) begin
        ok = 1'b1;
        break;
      end
      tick();
    end
    c = '0;
    if (!ok) return;
    w1 = mem.peek(slot + 16);
    c.tag       = w0[31:0];
    c.status    = w0[47:32];
    c.flags     = w0[63:48];
    c.seq       = w1[31:0];
    c.desc      = w1[63:32];
    c.cycles    = mem.peek(slot + 0);
    c.out_bytes = mem.peek(slot + 8);
    for (int i = 0; i < 4; i++) mem.poke(slot + 64'(i) * 8, '0);  // the host zeroes the slot
    check(c.flags == 16'h0001, $sformatf("completion flags %h, want VALID only", c.flags));
    check(c.seq == cq_head, $sformatf("completion seq %0d, want %0d", c.seq, cq_head));
    if (posted_idx.size() != 0) begin
      logic [31:0] want;
      want = posted_idx.pop_front();
      check(c.desc == want, $sformatf("completion desc %0d, want %0d", c.desc, want));
    end else begin
      check(1'b0, "completion for no posted descriptor");
    end
    jobs_since_reset++;
    cycles_since_reset += c.cycles;
    cq_head = cq_head + 1;
    csr_write(R_CQ_HEAD, cq_head);
  endtask

  task automatic expect_cpl(input logic [31:0] tag, input logic [15:0] status,
                            input logic [63:0] out_bytes, output cpl_t c);
    logic ok;
    take_cpl(c, ok, WAIT_CYCLES_MAX);
    check(ok, $sformatf("no completion for tag %h", tag));
    if (!ok) return;
    check(c.tag == tag, $sformatf("completion tag %h, want %h", c.tag, tag));
    check(c.status == status, $sformatf("tag %h: status %0d, want %0d", tag, c.status, status));
    check(c.out_bytes == out_bytes, $sformatf("tag %h: out_bytes %0d, want %0d", tag, c.out_bytes, out_bytes));
  endtask

  task automatic expect_no_cpl(input int unsigned cycles);
    logic [63:0] w0;
    repeat (cycles) tick();
    w0 = mem.peek(cq_slot(cq_head) + 24);
    check(!w0[48], "unexpected completion");
  endtask

  task automatic wait_status(input logic [31:0] mask, input logic [31:0] want);
    logic [31:0] v;
    longint unsigned t0;
    t0 = now;
    csr_read(R_STATUS, v);
    while ((v & mask) != want && now - t0 < WAIT_CYCLES_MAX) csr_read(R_STATUS, v);
    check((v & mask) == want, $sformatf("STATUS %h, want %h under mask %h", v, want, mask));
  endtask

  // ERROR, ERROR_DESC, IRQ_STATUS, CQ_TAIL and the counters move when a
  // completion's write response is back; the host may see the completion a
  // few cycles earlier. settle() waits for the device to go idle.
  task automatic settle();
    wait_status(ST_BUSY, '0);
  endtask

  task automatic soft_reset();
    logic [31:0] v;
    csr_write(R_CTRL, CTRL_RESET);
    wait_status(ST_RESETTING, '0);
    csr_read(R_STATUS, v);
    check(v == ST_IDLE, $sformatf("after reset STATUS %h, want IDLE", v));
    host_reset_state();
  endtask

  // --------------------------------------------------- memory patterns ---
  function automatic logic [63:0] pattern(input logic [63:0] addr, input logic [31:0] salt);
    return {addr[31:0] ^ salt, ~addr[31:0] + salt};
  endfunction

  task automatic fill(input logic [63:0] addr, input int unsigned bytes, input logic [31:0] salt);
    for (int unsigned i = 0; i < bytes / 8; i++) mem.poke(addr + 64'(i) * 8, pattern(addr + 64'(i) * 8, salt));
  endtask

  task automatic fill_guard(input logic [63:0] addr, input int unsigned bytes);
    for (int unsigned i = 0; i < bytes / 8; i++) mem.poke(addr + 64'(i) * 8, GUARD);
  endtask

  // ------------------------------------------------------ Philox vectors ---
  localparam int unsigned JOBS_MAX = 64;
  localparam int unsigned BLOCKS_MAX = 1 << 16;
  logic [255:0] jobs_v [JOBS_MAX];
  logic [127:0] blocks_v [BLOCKS_MAX];
  int unsigned  n_jobs;

  // Runs Philox job j with dst_len = 16 * blocks + extra and checks every word.
  task automatic run_philox_job(input int unsigned j, input int unsigned extra, input logic [31:0] tag,
                                output cpl_t c);
    logic [63:0] a0, a1, a2;
    int unsigned blocks, first;
    a0 = jobs_v[j][63:0];
    a1 = jobs_v[j][127:64];
    a2 = jobs_v[j][191:128];
    blocks = jobs_v[j][223:192];
    first = jobs_v[j][255:224];
    fill_guard(PHX_ADDR, blocks * 16 + extra + 64);
    submit(OP_PHILOX, 16'h0, tag, 64'h0, 32'd0, PHX_ADDR, blocks * 16 + extra, a0, a1, a2);
    expect_cpl(tag, S_OK, 64'(blocks) * 16, c);
    for (int unsigned b = 0; b < blocks; b++) begin
      logic [127:0] want, got;
      want = blocks_v[first + b];
      got  = {mem.peek(PHX_ADDR + 64'(b) * 16 + 8), mem.peek(PHX_ADDR + 64'(b) * 16)};
      check(got == want, $sformatf("philox job %0d block %0d: %h, want %h", j, b, got, want));
    end
    for (int unsigned g = 0; g < (extra + 64) / 8; g++) begin
      check(mem.peek(PHX_ADDR + 64'(blocks) * 16 + 64'(g) * 8) == GUARD,
            $sformatf("philox job %0d wrote past its blocks", j));
    end
  endtask

  // Copies `bytes` from SRC_ADDR+so to DST_ADDR+do and checks the copy and
  // the guard words around it.
  task automatic run_copy(input logic [63:0] so, input logic [63:0] doff, input int unsigned bytes,
                          input int unsigned dst_extra, input logic [31:0] tag, output cpl_t c);
    logic [31:0] salt;
    salt = $urandom();
    fill(SRC_ADDR + so, bytes, salt);
    fill_guard(DST_ADDR + doff - 64, bytes + dst_extra + 128);
    submit(OP_COPY, 16'h0, tag, SRC_ADDR + so, bytes, DST_ADDR + doff, bytes + dst_extra, '0, '0, '0);
    expect_cpl(tag, S_OK, 64'(bytes), c);
    for (int unsigned i = 0; i < bytes / 8; i++) begin
      logic [63:0] got, want;
      got  = mem.peek(DST_ADDR + doff + 64'(i) * 8);
      want = pattern(SRC_ADDR + so + 64'(i) * 8, salt);
      if (got != want) begin
        check(1'b0, $sformatf("copy tag %h word %0d: %h, want %h", tag, i, got, want));
        break;
      end
    end
    check(mem.peek(DST_ADDR + doff - 8) == GUARD, "copy wrote before its buffer");
    for (int unsigned g = 0; g < (dst_extra + 64) / 8; g++) begin
      check(mem.peek(DST_ADDR + doff + 64'(bytes) + 64'(g) * 8) == GUARD, "copy wrote past src_len");
    end
  endtask

  // ------------------------------------------------------------- tests ---
  task automatic test_id_block();
    logic [31:0] v, lo1, lo2, off;
    int blocks;
    $display("tb_top: ID, CTRL and QUEUE blocks");
    csr_expect(R_ID_BLK_ID, 32'hB001_0001);
    csr_expect(R_ID_BLK_NEXT, 32'h100);
    csr_expect(R_MAGIC, 32'h424C_5354);
    csr_expect(R_ABI, 32'h0001_0001);
    // Build limits (ID_AGG_COLS_MAX, ID_SCENGEN_U_MAX).
    csr_expect(16'h002C, AGG_COLS_MAX);
    csr_expect(16'h0030, SCENGEN_U_MAX);
    csr_expect(R_TABLES_HASH, HASH);
    csr_expect(R_LANES, LANES);
    csr_expect(R_CAPS, CAPS);
    csr_expect(R_CLK_MHZ, 32'd250);
    csr_expect(R_CTRL_BLK_ID, 32'hB002_0001);
    csr_expect(R_CTRL_BLK_NEXT, 32'h200);
    csr_expect(R_Q_BLK_ID, 32'hB003_0001);
    csr_expect(R_Q_BLK_NEXT, 32'h0);
    // Walk the chain like the driver.
    off = 0;
    blocks = 0;
    do begin
      csr_read(off[15:0] + 16'h4, v);
      off = v;
      blocks++;
    end while (off != 0 && blocks < 8);
    check(blocks == 3, $sformatf("block chain has %0d blocks, want 3", blocks));
    csr_expect(R_STATUS, ST_IDLE);
    // Scratch, with byte strobes.
    csr_write(R_SCRATCH, 32'hDEAD_BEEF);
    csr_expect(R_SCRATCH, 32'hDEAD_BEEF);
    begin
      logic [1:0] resp;
      csr_write_resp(R_SCRATCH, 32'h1122_3344, 4'b0101, resp);
      check(resp == OKAY, "partial scratch write");
    end
    csr_expect(R_SCRATCH, 32'hDE22_BE44);
    // Cycle counter runs; reads have no side effects.
    csr_read(R_CYCLES_LO, lo1);
    csr_read(R_CYCLES_LO, lo2);
    check(lo2 != lo1, "ID_CYCLES_LO does not move");
    csr_expect(R_CYCLES_HI, 32'd0);
    // Unmapped, misaligned, read-only.
    csr_expect_err(16'h0034);
    csr_expect_err(16'h0130);
    csr_expect_err(16'h0230);
    csr_expect_err(16'h0300);
    csr_expect_err(16'hFFFC);
    csr_expect_err(16'h0009);
    csr_write_err(16'h0300, 32'h1);
    csr_write_err(16'h0009, 32'h1);
    csr_write_err(R_MAGIC, 32'h1);
    csr_write_err(R_STATUS, 32'h1);
    csr_write_err(R_DQ_HEAD, 32'h1);
    csr_write_err(R_CQ_TAIL, 32'h1);
    csr_write_err(R_JOBS_DONE, 32'h1);
    csr_expect(R_MAGIC, 32'h424C_5354);
  endtask

  task automatic test_ring_config();
    $display("tb_top: ring configuration");
    csr_write_err(R_DQ_SIZE, 0);
    csr_write_err(R_DQ_SIZE, 13);
    csr_write_err(R_CQ_SIZE, 0);
    csr_write_err(R_CQ_SIZE, 13);
    csr_write_err(R_DQ_BASE_LO, 32'h20);    // not 64-byte aligned
    csr_write_err(R_CQ_BASE_LO, 32'h10);    // not 32-byte aligned
    csr_write(R_CQ_BASE_LO, 32'h20);        // 32-byte aligned is enough for CQ
    csr_expect(R_DQ_SIZE, 0);
    setup_rings(3, 2, DQ_ADDR, CQ_ADDR);    // 8 descriptors, 4 completions
    csr_expect(R_DQ_BASE_LO, DQ_ADDR[31:0]);
    csr_expect(R_DQ_BASE_HI, DQ_ADDR[63:32]);
    csr_expect(R_DQ_SIZE, 3);
    csr_expect(R_CQ_SIZE, 2);
    csr_write(R_CTRL, CTRL_ENABLE);
    csr_expect(R_CTRL, CTRL_ENABLE);
    csr_write_err(R_DQ_BASE_LO, 32'h0);     // ring registers locked while enabled
    csr_write_err(R_CQ_SIZE, 3);
    csr_write_err(R_DQ_TAIL, 9);            // more than 8 descriptors
    csr_write_err(R_CQ_HEAD, 1);            // beyond CQ_TAIL
    csr_expect(R_DQ_TAIL, 0);
  endtask

  cpl_t c_copy4k, c_phx1024;
  longint unsigned wall_copy4k, wall_phx1024;

  task automatic test_philox();
    cpl_t c;
    longint unsigned t0;
    $display("tb_top: SELFTEST_PHILOX against the Go vectors");
    for (int unsigned j = 0; j < n_jobs; j++) begin
      t0 = now;
      run_philox_job(j, (j == 2) ? 8 : 0, 32'h1000 + j, c);  // job 2: dst_len 16n+8 writes n blocks
      if (j == 0) begin
        c_phx1024 = c;
        wall_phx1024 = now - t0;
      end
    end
    // dst_len 0 and 8: nothing written.
    fill_guard(PHX_ADDR, 64);
    submit(OP_PHILOX, 16'h0, 32'h10FF, 64'h0, 32'd0, PHX_ADDR, 32'd0, '0, '0, '0);
    expect_cpl(32'h10FF, S_OK, 64'd0, c);
    submit(OP_PHILOX, 16'h0, 32'h10FE, 64'h0, 32'd0, PHX_ADDR, 32'd8, '0, '0, '0);
    expect_cpl(32'h10FE, S_OK, 64'd0, c);
    check(mem.peek(PHX_ADDR) == GUARD, "philox with dst_len < 16 wrote");
  endtask

  task automatic test_copy();
    cpl_t c;
    longint unsigned t0;
    $display("tb_top: SELFTEST_COPY");
    run_copy(64'h0, 64'h0, 8, 0, 32'h2000, c);
    run_copy(64'h8, 64'h10, 64, 0, 32'h2001, c);
    t0 = now;
    run_copy(64'h1000, 64'h1000, 4096, 0, 32'h2002, c);      // 4 KiB, page aligned
    c_copy4k = c;
    wall_copy4k = now - t0;
    run_copy(64'h0FF8, 64'h2FE0, 4096, 0, 32'h2003, c);      // crosses 4 KiB on both sides
    run_copy(64'h3F40, 64'h5F88, 1000 * 8, 24, 32'h2004, c);  // dst_len > src_len
    run_copy(64'h7FF0, 64'h8008, 16, 0, 32'h2005, c);        // 2 beats across a page
    // src_len 0: nothing moves.
    submit(OP_COPY, 16'h0, 32'h2006, SRC_ADDR, 32'd0, DST_ADDR, 32'd64, '0, '0, '0);
    expect_cpl(32'h2006, S_OK, 64'd0, c);
  endtask

  task automatic test_bad_descriptors();
    cpl_t c;
    logic [31:0] first_idx;
    $display("tb_top: BAD_OPCODE and BAD_DESC");
    csr_write(R_ERROR, 32'hFFFF_FFFF);
    csr_write(R_IRQ_STATUS, 32'h3);
    first_idx = desc_next;
    submit(OP_UNDEFINED, 16'h0, 32'h3000, '0, 0, DST_ADDR, 64, '0, '0, '0);  // no such opcode
    expect_cpl(32'h3000, S_BAD_OPCODE, 0, c);
    check(c.cycles == 0, "BAD_OPCODE took cycles");
    submit(16'h0000, 16'h0, 32'h3001, '0, 0, '0, 0, '0, '0, '0);
    expect_cpl(32'h3001, S_BAD_OPCODE, 0, c);
    submit(16'hFFFF, 16'h0, 32'h3002, '0, 0, '0, 0, '0, '0, '0);
    expect_cpl(32'h3002, S_BAD_OPCODE, 0, c);
    settle();
    csr_expect(R_ERROR, 32'h2);
    csr_expect(R_ERROR_DESC, first_idx);
    csr_expect(R_IRQ_STATUS, 32'h2);  // ERR, whatever IRQ_EN
    // BAD_DESC: copy dst_len < src_len, misaligned address, length not a
    // multiple of 8, an address range past 2^64.
    submit(OP_COPY, 16'h0, 32'h3003, SRC_ADDR, 64, DST_ADDR, 56, '0, '0, '0);
    expect_cpl(32'h3003, S_BAD_DESC, 0, c);
    submit(OP_COPY, 16'h0, 32'h3004, SRC_ADDR + 4, 64, DST_ADDR, 64, '0, '0, '0);
    expect_cpl(32'h3004, S_BAD_DESC, 0, c);
    submit(OP_COPY, 16'h0, 32'h3005, SRC_ADDR, 60, DST_ADDR, 64, '0, '0, '0);
    expect_cpl(32'h3005, S_BAD_DESC, 0, c);
    submit(OP_PHILOX, 16'h0, 32'h3006, '0, 0, 64'hFFFF_FFFF_FFFF_FF00, 512, '0, '0, '0);
    expect_cpl(32'h3006, S_BAD_DESC, 0, c);
    settle();
    csr_expect(R_ERROR, 32'h6);
    csr_expect(R_ERROR_DESC, first_idx);
    csr_write(R_ERROR, 32'h2);        // RW1C: clear BAD_OPCODE only
    csr_expect(R_ERROR, 32'h4);
    csr_write(R_ERROR, 32'h4);
    csr_expect(R_ERROR, 32'h0);
    csr_write(R_IRQ_STATUS, 32'h2);
    csr_expect(R_IRQ_STATUS, 32'h0);
    // The device went on: a good job still works.
    run_copy(64'h0, 64'h0, 128, 0, 32'h3007, c);
  endtask

  task automatic test_wrap_and_backpressure();
    cpl_t c;
    logic ok;
    logic [31:0] head, tail;
    int unsigned tag;
    $display("tb_top: ring wrap-around and completion back-pressure");
    tag = 32'h4000;
    // Fill the descriptor ring (8) while the completion ring holds 4.
    for (int i = 0; i < 8; i++) begin
      post(OP_PHILOX, 16'h0, tag + i, '0, 0, PHX_ADDR, 16 * 4, 64'(i), '0, '0);
    end
    doorbell();
    // Beyond 8 posted descriptors the doorbell is refused.
    csr_write_err(R_DQ_TAIL, dq_tail + 1);
    // Four completions fill the ring; the device must then stop fetching.
    repeat (3000) tick();
    csr_read(R_CQ_TAIL, tail);
    csr_read(R_DQ_HEAD, head);
    check(tail - cq_head == 4, $sformatf("CQ_TAIL %0d with CQ_HEAD %0d, want a full ring", tail, cq_head));
    check(head == tail, $sformatf("DQ_HEAD %0d fetched past a full completion ring (CQ_TAIL %0d)", head, tail));
    csr_expect(R_STATUS, ST_IDLE);
    repeat (500) tick();
    csr_expect(R_DQ_HEAD, head);
    // Consume slowly, then run more jobs than either ring holds.
    for (int i = 0; i < 8; i++) begin
      expect_cpl(tag + i, S_OK, 64, c);
    end
    for (int i = 8; i < 40; i++) begin
      post(OP_COPY, 16'h0, tag + i, SRC_ADDR, 64, DST_ADDR, 64, '0, '0, '0);
      doorbell();
      if ((i - 8) % 3 == 2) begin
        for (int k = 0; k < 3; k++) expect_cpl(tag + i - 2 + k, S_OK, 64, c);
      end
    end
    for (int i = 38; i < 40; i++) expect_cpl(tag + i, S_OK, 64, c);
    take_cpl(c, ok, 200);
    check(!ok, "more completions than descriptors");
  endtask

  task automatic test_faults();
    cpl_t c;
    logic [31:0] idx;
    $display("tb_top: FAULT_INJECT DMA_READ and real DMA errors");
    csr_write(R_FAULT, 32'h1);
    csr_expect(R_FAULT, 32'h1);
    idx = desc_next;
    submit(OP_COPY, 16'h0, 32'h5000, SRC_ADDR, 64, DST_ADDR, 64, '0, '0, '0);
    expect_cpl(32'h5000, S_DMA_READ, 0, c);
    settle();
    csr_expect(R_FAULT, 32'h0);  // self-clearing
    csr_expect(R_ERROR, 32'h8);
    csr_expect(R_ERROR_DESC, idx);
    csr_expect(R_STATUS, ST_IDLE);
    csr_write(R_ERROR, 32'h8);
    run_copy(64'h0, 64'h0, 64, 0, 32'h5001, c);
    // SLVERR on the input buffer: DMA_READ, non-fatal.
    idx = desc_next;
    submit(OP_COPY, 16'h0, 32'h5002, ERR_LO + 64'h100, 512, DST_ADDR, 512, '0, '0, '0);
    expect_cpl(32'h5002, S_DMA_READ, 0, c);
    // SLVERR on the output buffer: DMA_WRITE, non-fatal (copy and philox).
    submit(OP_COPY, 16'h0, 32'h5003, SRC_ADDR, 512, ERR_LO + 64'hFC0, 512, '0, '0, '0);
    expect_cpl(32'h5003, S_DMA_WRITE, 0, c);
    submit(OP_PHILOX, 16'h0, 32'h5004, '0, 0, ERR_LO, 4096, '0, '0, '0);
    expect_cpl(32'h5004, S_DMA_WRITE, 0, c);
    // DECERR (outside memory) counts as well.
    submit(OP_COPY, 16'h0, 32'h5005, MEM_BASE - 64'h1000, 64, DST_ADDR, 64, '0, '0, '0);
    expect_cpl(32'h5005, S_DMA_READ, 0, c);
    settle();
    csr_expect(R_ERROR, 32'h18);
    csr_expect(R_ERROR_DESC, idx);
    csr_expect(R_STATUS, ST_IDLE);
    csr_write(R_ERROR, 32'hFF);
    csr_write(R_IRQ_STATUS, 32'h3);
    run_copy(64'h0, 64'h0, 256, 0, 32'h5006, c);
  endtask

  task automatic test_irq();
    cpl_t c;
    $display("tb_top: interrupt");
    csr_write(R_IRQ_STATUS, 32'h3);
    csr_write(R_CTRL, CTRL_ENABLE | CTRL_IRQ_EN);
    repeat (4) tick();
    check(!irq, "irq high with IRQ_STATUS clear");
    run_copy(64'h0, 64'h0, 64, 0, 32'h6000, c);           // no IRQ flag
    csr_expect(R_IRQ_STATUS, 32'h0);
    check(!irq, "irq for a descriptor without the IRQ flag");
    submit(OP_COPY, 16'h1, 32'h6001, SRC_ADDR, 64, DST_ADDR, 64, '0, '0, '0);
    expect_cpl(32'h6001, S_OK, 64, c);
    wait_status(ST_BUSY, '0);  // IRQ_STATUS moves with the completion's write response
    repeat (4) tick();
    csr_expect(R_IRQ_STATUS, 32'h1);
    check(irq, "no irq for a descriptor with the IRQ flag");
    csr_write(R_IRQ_STATUS, 32'h1);
    repeat (4) tick();
    check(!irq, "irq still high after IRQ_STATUS cleared");
    // Without IRQ_EN the status is still recorded but the line stays low.
    csr_write(R_CTRL, CTRL_ENABLE);
    submit(OP_COPY, 16'h1, 32'h6002, SRC_ADDR, 64, DST_ADDR, 64, '0, '0, '0);
    expect_cpl(32'h6002, S_OK, 64, c);
    wait_status(ST_BUSY, '0);
    repeat (4) tick();
    csr_expect(R_IRQ_STATUS, 32'h1);
    check(!irq, "irq with IRQ_EN clear");
    csr_write(R_IRQ_STATUS, 32'h1);
  endtask

  task automatic test_watchdog();
    cpl_t c;
    $display("tb_top: watchdog on a hang and on running DMA jobs");
    csr_write(R_WATCHDOG, 500);
    csr_write(R_FAULT, 32'h2);
    submit(OP_COPY, 16'h0, 32'h7000, SRC_ADDR, 64, DST_ADDR, 64, '0, '0, '0);
    expect_cpl(32'h7000, S_WATCHDOG, 0, c);
    check(c.cycles == 500, $sformatf("hang aborted after %0d cycles, want 500", c.cycles));
    csr_expect(R_FAULT, 32'h0);
    // A long Philox job cut off mid-stream: the write DMA is flushed.
    csr_write(R_WATCHDOG, 300);
    submit(OP_PHILOX, 16'h0, 32'h7001, '0, 0, PHX_ADDR, 16 * 1024, 64'h1, '0, '0);
    expect_cpl(32'h7001, S_WATCHDOG, 0, c);
    check(c.cycles == 300, $sformatf("philox aborted after %0d cycles, want 300", c.cycles));
    // A long copy cut off: both DMA directions are flushed.
    csr_write(R_WATCHDOG, 150);
    submit(OP_COPY, 16'h0, 32'h7002, SRC_ADDR, 16384, DST_ADDR, 16384, '0, '0, '0);
    expect_cpl(32'h7002, S_WATCHDOG, 0, c);
    settle();
    csr_expect(R_ERROR, 32'h80);
    csr_write(R_ERROR, 32'h80);
    csr_write(R_IRQ_STATUS, 32'h3);
    // Large enough watchdog: jobs pass.
    csr_write(R_WATCHDOG, 100000);
    run_copy(64'h0, 64'h0, 4096, 0, 32'h7003, c);
    csr_write(R_WATCHDOG, 0);
  endtask

  task automatic test_reset_recovery();
    cpl_t c;
    logic [31:0] v;
    $display("tb_top: hang + soft reset, reset during a running job");
    csr_write(R_FAULT, 32'h2);
    submit(OP_COPY, 16'h0, 32'h8000, SRC_ADDR, 64, DST_ADDR, 64, '0, '0, '0);
    expect_no_cpl(3000);
    csr_expect(R_STATUS, ST_BUSY);
    csr_write(R_SCRATCH, 32'h5CA7_C4);
    soft_reset();
    foreach (reset_regs[i]) csr_expect(reset_regs[i], 32'h0);
    csr_expect(R_SCRATCH, 32'h5CA7_C4);
    setup_rings(3, 2, DQ_ADDR, CQ_ADDR);
    csr_write(R_CTRL, CTRL_ENABLE);
    run_copy(64'h0, 64'h0, 64, 0, 32'h8001, c);
    // Reset while a long Philox job streams.
    submit(OP_PHILOX, 16'h0, 32'h8002, '0, 0, PHX_ADDR, 16 * 1024, 64'h7, '0, '0);
    repeat (400) tick();
    csr_read(R_STATUS, v);
    check(v == ST_BUSY, $sformatf("STATUS %h during a long job, want BUSY", v));
    soft_reset();
    setup_rings(3, 2, DQ_ADDR, CQ_ADDR);
    csr_write(R_CTRL, CTRL_ENABLE);
    run_copy(64'h100, 64'h200, 4096, 0, 32'h8003, c);
    run_philox_job(1, 0, 32'h8004, c);
  endtask

  task automatic test_fatal();
    cpl_t c;
    $display("tb_top: fatal errors (DESC_READ, CPL_WRITE) halt until reset");
    // DESC_READ: the descriptor ring answers SLVERR.
    soft_reset();
    dq_base_cur = ERR_LO;
    setup_rings(3, 2, ERR_LO, CQ_ADDR);
    csr_write(R_CTRL, CTRL_ENABLE);
    submit(OP_COPY, 16'h0, 32'h9000, SRC_ADDR, 64, DST_ADDR, 64, '0, '0, '0);
    wait_status(ST_HALTED, ST_HALTED);
    csr_expect(R_STATUS, ST_IDLE | ST_HALTED);
    csr_expect(R_ERROR, 32'h1);
    csr_expect(R_ERROR_DESC, 32'h0);
    csr_expect(R_DQ_HEAD, 32'h0);
    csr_expect(R_CQ_TAIL, 32'h0);
    csr_expect(R_IRQ_STATUS, 32'h2);
    expect_no_cpl(200);
    // Clearing ERROR does not resume; more doorbells do nothing.
    csr_write(R_ERROR, 32'h1);
    expect_no_cpl(200);
    csr_expect(R_STATUS, ST_IDLE | ST_HALTED);
    soft_reset();
    dq_base_cur = DQ_ADDR;
    // CPL_WRITE: the completion ring answers SLVERR.
    cq_base_cur = ERR_LO + 64'h4000;
    setup_rings(3, 2, DQ_ADDR, ERR_LO + 64'h4000);
    csr_write(R_CTRL, CTRL_ENABLE);
    submit(OP_COPY, 16'h0, 32'h9001, SRC_ADDR, 64, DST_ADDR, 64, '0, '0, '0);
    wait_status(ST_HALTED, ST_HALTED);
    csr_expect(R_ERROR, 32'h20);
    csr_expect(R_DQ_HEAD, 32'h1);
    csr_expect(R_CQ_TAIL, 32'h0);
    csr_expect(R_JOBS_DONE, 32'h0);
    soft_reset();
    cq_base_cur = CQ_ADDR;
    setup_rings(4, 3, DQ_ADDR, CQ_ADDR);
    csr_write(R_CTRL, CTRL_ENABLE);
    run_copy(64'h0, 64'h0, 512, 0, 32'h9002, c);
  endtask

  task automatic test_counters();
    logic [31:0] jobs, lo, hi;
    $display("tb_top: JOBS_DONE and BUSY_CYCLES");
    // The counters move when the completion's write response is back; the
    // host may see the completion a little earlier.
    wait_status(ST_BUSY, '0);
    csr_read(R_JOBS_DONE, jobs);
    csr_read(R_BUSY_LO, lo);
    csr_read(R_BUSY_HI, hi);
    check(jobs == jobs_since_reset, $sformatf("JOBS_DONE %0d, want %0d", jobs, jobs_since_reset));
    check({hi, lo} == cycles_since_reset,
          $sformatf("BUSY_CYCLES %0d, want the sum of completion cycles %0d", {hi, lo}, cycles_since_reset));
  endtask

  // ---------------------------------------------------------- main ---
  string dir;
  initial begin
    int fd;
    if (!$value$plusargs("vectors=%s", dir)) dir = "build/vectors";
    if (!$value$plusargs("stall=%d", stall_permille)) stall_permille = 0;
    if (!$value$plusargs("latency=%d", rd_latency)) rd_latency = 8;
    fd = $fopen({dir, "/philox_jobs.memh"}, "r");
    if (fd == 0) begin
      $display("tb_top: cannot open %s/philox_jobs.memh (run accel/internal/tbvec)", dir);
      $fatal(1);
    end
    $fclose(fd);
    $readmemh({dir, "/philox_jobs.memh"}, jobs_v);
    $readmemh({dir, "/philox_out.memh"}, blocks_v);
    n_jobs = jobs_v[0][31:0];
    check(n_jobs > 0 && n_jobs < JOBS_MAX, "job vector count");
    for (int j = 0; j < JOBS_MAX - 1; j++) jobs_v[j] = jobs_v[j + 1];    // drop the count word
    for (int b = 0; b < BLOCKS_MAX - 1; b++) blocks_v[b] = blocks_v[b + 1];
    $display("tb_top: %0d Philox jobs, memory stalls %0d/1000, read latency %0d",
             n_jobs, stall_permille, rd_latency);
    host_reset_state();
    dq_base_cur = DQ_ADDR;
    cq_base_cur = CQ_ADDR;

    repeat (4) tick();
    rst_n = 1'b1;
    repeat (4) tick();

    test_id_block();
    test_ring_config();
    test_philox();
    test_copy();
    test_bad_descriptors();
    test_wrap_and_backpressure();
    test_faults();
    test_irq();
    test_watchdog();
    test_counters();
    test_reset_recovery();
    test_fatal();
    test_counters();

    repeat (50) tick();
    check(mem_errors == 0, $sformatf("%0d AXI protocol errors", mem_errors));
    csr_expect(R_STATUS, ST_IDLE);

    $display("tb_top: cycles: SELFTEST_COPY 4 KiB: %0d (device), %0d (doorbell to completion seen)",
             c_copy4k.cycles, wall_copy4k);
    $display("tb_top: cycles: SELFTEST_PHILOX 1024 blocks: %0d (device), %0d (doorbell to completion seen)",
             c_phx1024.cycles, wall_phx1024);
    $display("tb_top: AXI beats: %0d read, %0d written; %0d cycles", mem_rd_beats, mem_wr_beats, now);
    if (errors != 0) begin
      $display("tb_top: FAIL: %0d of %0d checks failed", errors, checks);
      $fatal(1);
    end
    $display("tb_top: PASS: %0d checks", checks);
    $finish;
  end

  // Global bound: a hung testbench fails instead of running forever.
  initial begin
    #(64'd50_000_000 * 10);
    $display("tb_top: FAIL: global timeout");
    $fatal(1);
  end

endmodule

`default_nettype wire
