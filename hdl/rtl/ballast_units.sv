// The unit complex: every execution unit of this build behind one generic
// unit port, the opcode -> unit map, and the capability word (ID_CAPS) derived
// from that same map, so ID_CAPS always tells which opcodes this build runs.
//
// This build: the two self-tests and the four kernel units (SCENGEN, REVAL,
// AGGTAIL, GREEKS, hdl/rtl/kern). Adding a unit touches this file only: one
// entry in UNIT_OPCODE / UNIT_CAP_BIT, one instance below (and its limit
// localparam, if it has one). The queue engine never changes.
//
// ---------------------------------------------------------------------------
// The unit interface (every unit module has exactly these ports)
// ---------------------------------------------------------------------------
//   start_i        one-cycle pulse, only while busy_o is low: run desc_i.
//   desc_i         the decoded descriptor (ballast_pkg::desc_t); stable from
//                  start_i until done_o (or abort_i). The queue engine has
//                  already checked the generic rules (8-byte aligned
//                  addresses and lengths, no 64-bit address wrap); the unit
//                  checks its opcode's own rules and answers BAD_DESC.
//   abort_i        level (watchdog or soft reset): drop the job at once, no
//                  done_o; stay idle while it is high. The DMA engines are
//                  flushed at the same time, so the unit just forgets its
//                  requests.
//   busy_o         registered; high from the cycle after start_i until the
//                  cycle after done_o (or after abort_i).
//   done_o         one-cycle pulse: the job is over and every DMA request the
//                  unit issued has ended (its done seen).
//   status_o       with done_o: STATUS_OK or an error code (ERROR bit k+1).
//   out_bytes_o    with done_o: bytes written to the output buffer.
//   rd_req_*       read request (valid/ready, dma_req_t {addr, bytes}):
//                  at most one outstanding; the next one after rd_done_i.
//   rd_valid_i/rd_ready_o/rd_data_i/rd_last_i/rd_err_i
//                  the read data, 8 bytes per beat in address order;
//                  rd_last_i on the request's last beat, rd_err_i on a beat
//                  answered SLVERR/DECERR. The unit must take every beat.
//   rd_done_i/rd_done_err_i
//                  pulse after the last beat; err = some beat failed.
//   wr_req_*       write request, at most one outstanding.
//   wr_valid_o/wr_ready_i/wr_data_o
//                  the write data, exactly bytes/8 beats per request.
//   wr_done_i/wr_done_err_i
//                  pulse after the last write response; err = a response
//                  was SLVERR/DECERR.
// Requests are byte counts that are multiples of 8 at 8-byte aligned
// addresses; the DMA engines split them into AXI bursts.
`default_nettype none

module ballast_units
  import ballast_pkg::*;
  import ballast_regs_pkg::*;
#(
  // Folder of the function-table images (see ballast_top), for the kernel
  // units' ROMs.
  parameter string MEM_DIR = "hdl/mem",
  // Revaluation lanes of the REVAL unit (ID_LANES).
  parameter int unsigned LANES = 1
) (
  input  logic        clk_i,
  input  logic        rst_ni,
  // Opcode lookup for the queue engine (combinational).
  input  logic [15:0] op_i,
  output logic        op_supported_o,
  output logic [31:0] caps_o,
  // Build limits for ID_AGG_COLS_MAX and ID_SCENGEN_U_MAX (constants; 0 when
  // the unit is absent).
  output logic [31:0] agg_cols_max_o,
  output logic [31:0] scengen_u_max_o,
  // The generic unit port.
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

  // ----------------------------------------------------------- unit table ---
  localparam int unsigned UNITS = 6;
  localparam int unsigned IDX_BITS = (UNITS > 1) ? $clog2(UNITS) : 1;
  localparam logic [15:0] UNIT_OPCODE  [UNITS] = '{OP_SELFTEST_PHILOX, OP_SELFTEST_COPY, OP_REVAL, OP_AGGTAIL, OP_GREEKS, OP_SCENGEN};
  localparam int unsigned UNIT_CAP_BIT [UNITS] = '{CAP_SELFTEST_PHILOX_BIT, CAP_SELFTEST_COPY_BIT, CAP_REVAL_BIT, CAP_AGGTAIL_BIT, CAP_GREEKS_BIT, CAP_SCENGEN_BIT};

  function automatic logic [31:0] caps_of_table();
    caps_of_table = '0;
    for (int u = 0; u < UNITS; u++) caps_of_table[UNIT_CAP_BIT[u]] = 1'b1;
  endfunction
  localparam logic [31:0] CAPS = caps_of_table();

  // The build limits of the kernel units (docs/accel.md §2; 0 for a unit
  // absent from UNIT_OPCODE). AGGTAIL: its row RAM depth (COLS_MAX).
  localparam int unsigned AGGTAIL_COLS_MAX = 16384;
  localparam logic [31:0] AGG_COLS_MAX  = 32'(AGGTAIL_COLS_MAX);
  // SCENGEN: its underlying limit (U_MAX).
  localparam int unsigned SCENGEN_U_MAX_P = 64;
  localparam logic [31:0] SCENGEN_U_MAX = 32'(SCENGEN_U_MAX_P);

  // Is there a unit for op_i?
  logic op_hit;
  always_comb begin
    op_hit = 1'b0;
    for (int u = 0; u < UNITS; u++) begin
      if (op_i == UNIT_OPCODE[u]) op_hit = 1'b1;
    end
  end
  assign op_supported_o = op_hit;
  assign caps_o         = CAPS;
  assign agg_cols_max_o  = AGG_COLS_MAX;
  assign scengen_u_max_o = SCENGEN_U_MAX;

  // The queue engine asks about desc_i.opcode before it starts a unit.
  logic [IDX_BITS-1:0] start_idx, sel_q;
  always_comb begin
    start_idx = '0;
    for (int u = 0; u < UNITS; u++) begin
      if (desc_i.opcode == UNIT_OPCODE[u]) start_idx = IDX_BITS'(u);
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni)      sel_q <= '0;
    else if (start_i) sel_q <= start_idx;
  end

  // ------------------------------------------------------ per-unit wires ---
  logic     [UNITS-1:0]       u_start, u_busy, u_done;
  logic     [UNITS-1:0][15:0] u_status;
  logic     [UNITS-1:0][63:0] u_out_bytes;
  logic     [UNITS-1:0]       u_rd_req_valid, u_rd_req_ready, u_rd_valid, u_rd_ready, u_rd_done;
  dma_req_t [UNITS-1:0]       u_rd_req, u_wr_req;
  logic     [UNITS-1:0]       u_wr_req_valid, u_wr_req_ready, u_wr_valid, u_wr_ready, u_wr_done;
  logic     [UNITS-1:0][63:0] u_wr_data;

  for (genvar u = 0; u < UNITS; u++) begin : g_port
    assign u_start[u]        = start_i && (start_idx == IDX_BITS'(u));
    assign u_rd_req_ready[u] = (sel_q == IDX_BITS'(u)) && rd_req_ready_i;
    assign u_rd_valid[u]     = (sel_q == IDX_BITS'(u)) && rd_valid_i;
    assign u_rd_done[u]      = (sel_q == IDX_BITS'(u)) && rd_done_i;
    assign u_wr_req_ready[u] = (sel_q == IDX_BITS'(u)) && wr_req_ready_i;
    assign u_wr_ready[u]     = (sel_q == IDX_BITS'(u)) && wr_ready_i;
    assign u_wr_done[u]      = (sel_q == IDX_BITS'(u)) && wr_done_i;
  end

  // ------------------------------------------------------------ the units ---
  // Index 0: OP_SELFTEST_PHILOX.
  ballast_selftest_philox u_philox (
    .clk_i, .rst_ni,
    .start_i        (u_start[0]),
    .desc_i         (desc_i),
    .abort_i        (abort_i),
    .busy_o         (u_busy[0]),
    .done_o         (u_done[0]),
    .status_o       (u_status[0]),
    .out_bytes_o    (u_out_bytes[0]),
    .rd_req_valid_o (u_rd_req_valid[0]),
    .rd_req_ready_i (u_rd_req_ready[0]),
    .rd_req_o       (u_rd_req[0]),
    .rd_valid_i     (u_rd_valid[0]),
    .rd_ready_o     (u_rd_ready[0]),
    .rd_data_i      (rd_data_i),
    .rd_last_i      (rd_last_i),
    .rd_err_i       (rd_err_i),
    .rd_done_i      (u_rd_done[0]),
    .rd_done_err_i  (rd_done_err_i),
    .wr_req_valid_o (u_wr_req_valid[0]),
    .wr_req_ready_i (u_wr_req_ready[0]),
    .wr_req_o       (u_wr_req[0]),
    .wr_valid_o     (u_wr_valid[0]),
    .wr_ready_i     (u_wr_ready[0]),
    .wr_data_o      (u_wr_data[0]),
    .wr_done_i      (u_wr_done[0]),
    .wr_done_err_i  (wr_done_err_i)
  );

  // Index 1: OP_SELFTEST_COPY.
  ballast_selftest_copy u_copy (
    .clk_i, .rst_ni,
    .start_i        (u_start[1]),
    .desc_i         (desc_i),
    .abort_i        (abort_i),
    .busy_o         (u_busy[1]),
    .done_o         (u_done[1]),
    .status_o       (u_status[1]),
    .out_bytes_o    (u_out_bytes[1]),
    .rd_req_valid_o (u_rd_req_valid[1]),
    .rd_req_ready_i (u_rd_req_ready[1]),
    .rd_req_o       (u_rd_req[1]),
    .rd_valid_i     (u_rd_valid[1]),
    .rd_ready_o     (u_rd_ready[1]),
    .rd_data_i      (rd_data_i),
    .rd_last_i      (rd_last_i),
    .rd_err_i       (rd_err_i),
    .rd_done_i      (u_rd_done[1]),
    .rd_done_err_i  (rd_done_err_i),
    .wr_req_valid_o (u_wr_req_valid[1]),
    .wr_req_ready_i (u_wr_req_ready[1]),
    .wr_req_o       (u_wr_req[1]),
    .wr_valid_o     (u_wr_valid[1]),
    .wr_ready_i     (u_wr_ready[1]),
    .wr_data_o      (u_wr_data[1]),
    .wr_done_i      (u_wr_done[1]),
    .wr_done_err_i  (wr_done_err_i)
  );

  // Index 2: OP_REVAL.
  ballast_reval #(
    .MEM_DIR (MEM_DIR),
    .LANES   (LANES)
  ) u_reval (
    .clk_i, .rst_ni,
    .start_i        (u_start[2]),
    .desc_i         (desc_i),
    .abort_i        (abort_i),
    .busy_o         (u_busy[2]),
    .done_o         (u_done[2]),
    .status_o       (u_status[2]),
    .out_bytes_o    (u_out_bytes[2]),
    .rd_req_valid_o (u_rd_req_valid[2]),
    .rd_req_ready_i (u_rd_req_ready[2]),
    .rd_req_o       (u_rd_req[2]),
    .rd_valid_i     (u_rd_valid[2]),
    .rd_ready_o     (u_rd_ready[2]),
    .rd_data_i      (rd_data_i),
    .rd_last_i      (rd_last_i),
    .rd_err_i       (rd_err_i),
    .rd_done_i      (u_rd_done[2]),
    .rd_done_err_i  (rd_done_err_i),
    .wr_req_valid_o (u_wr_req_valid[2]),
    .wr_req_ready_i (u_wr_req_ready[2]),
    .wr_req_o       (u_wr_req[2]),
    .wr_valid_o     (u_wr_valid[2]),
    .wr_ready_i     (u_wr_ready[2]),
    .wr_data_o      (u_wr_data[2]),
    .wr_done_i      (u_wr_done[2]),
    .wr_done_err_i  (wr_done_err_i)
  );

  // Index 3: OP_AGGTAIL.
  ballast_aggtail #(
    .MEM_DIR  (MEM_DIR),
    .COLS_MAX (AGGTAIL_COLS_MAX)
  ) u_aggtail (
    .clk_i, .rst_ni,
    .start_i        (u_start[3]),
    .desc_i         (desc_i),
    .abort_i        (abort_i),
    .busy_o         (u_busy[3]),
    .done_o         (u_done[3]),
    .status_o       (u_status[3]),
    .out_bytes_o    (u_out_bytes[3]),
    .rd_req_valid_o (u_rd_req_valid[3]),
    .rd_req_ready_i (u_rd_req_ready[3]),
    .rd_req_o       (u_rd_req[3]),
    .rd_valid_i     (u_rd_valid[3]),
    .rd_ready_o     (u_rd_ready[3]),
    .rd_data_i      (rd_data_i),
    .rd_last_i      (rd_last_i),
    .rd_err_i       (rd_err_i),
    .rd_done_i      (u_rd_done[3]),
    .rd_done_err_i  (rd_done_err_i),
    .wr_req_valid_o (u_wr_req_valid[3]),
    .wr_req_ready_i (u_wr_req_ready[3]),
    .wr_req_o       (u_wr_req[3]),
    .wr_valid_o     (u_wr_valid[3]),
    .wr_ready_i     (u_wr_ready[3]),
    .wr_data_o      (u_wr_data[3]),
    .wr_done_i      (u_wr_done[3]),
    .wr_done_err_i  (wr_done_err_i)
  );

  // Index 4: OP_GREEKS.
  ballast_greeks #(
    .MEM_DIR (MEM_DIR)
  ) u_greeks (
    .clk_i, .rst_ni,
    .start_i        (u_start[4]),
    .desc_i         (desc_i),
    .abort_i        (abort_i),
    .busy_o         (u_busy[4]),
    .done_o         (u_done[4]),
    .status_o       (u_status[4]),
    .out_bytes_o    (u_out_bytes[4]),
    .rd_req_valid_o (u_rd_req_valid[4]),
    .rd_req_ready_i (u_rd_req_ready[4]),
    .rd_req_o       (u_rd_req[4]),
    .rd_valid_i     (u_rd_valid[4]),
    .rd_ready_o     (u_rd_ready[4]),
    .rd_data_i      (rd_data_i),
    .rd_last_i      (rd_last_i),
    .rd_err_i       (rd_err_i),
    .rd_done_i      (u_rd_done[4]),
    .rd_done_err_i  (rd_done_err_i),
    .wr_req_valid_o (u_wr_req_valid[4]),
    .wr_req_ready_i (u_wr_req_ready[4]),
    .wr_req_o       (u_wr_req[4]),
    .wr_valid_o     (u_wr_valid[4]),
    .wr_ready_i     (u_wr_ready[4]),
    .wr_data_o      (u_wr_data[4]),
    .wr_done_i      (u_wr_done[4]),
    .wr_done_err_i  (wr_done_err_i)
  );

  // Index 5: OP_SCENGEN.
  ballast_scengen #(
    .MEM_DIR (MEM_DIR),
    .U_MAX   (SCENGEN_U_MAX_P)
  ) u_scengen (
    .clk_i, .rst_ni,
    .start_i        (u_start[5]),
    .desc_i         (desc_i),
    .abort_i        (abort_i),
    .busy_o         (u_busy[5]),
    .done_o         (u_done[5]),
    .status_o       (u_status[5]),
    .out_bytes_o    (u_out_bytes[5]),
    .rd_req_valid_o (u_rd_req_valid[5]),
    .rd_req_ready_i (u_rd_req_ready[5]),
    .rd_req_o       (u_rd_req[5]),
    .rd_valid_i     (u_rd_valid[5]),
    .rd_ready_o     (u_rd_ready[5]),
    .rd_data_i      (rd_data_i),
    .rd_last_i      (rd_last_i),
    .rd_err_i       (rd_err_i),
    .rd_done_i      (u_rd_done[5]),
    .rd_done_err_i  (rd_done_err_i),
    .wr_req_valid_o (u_wr_req_valid[5]),
    .wr_req_ready_i (u_wr_req_ready[5]),
    .wr_req_o       (u_wr_req[5]),
    .wr_valid_o     (u_wr_valid[5]),
    .wr_ready_i     (u_wr_ready[5]),
    .wr_data_o      (u_wr_data[5]),
    .wr_done_i      (u_wr_done[5]),
    .wr_done_err_i  (wr_done_err_i)
  );

  // ------------------------------------------------- the selected unit ---
  assign busy_o         = |u_busy;
  assign done_o         = u_done[sel_q];
  assign status_o       = u_status[sel_q];
  assign out_bytes_o    = u_out_bytes[sel_q];
  assign rd_req_valid_o = u_rd_req_valid[sel_q];
  assign rd_req_o       = u_rd_req[sel_q];
  assign rd_ready_o     = u_rd_ready[sel_q];
  assign wr_req_valid_o = u_wr_req_valid[sel_q];
  assign wr_req_o       = u_wr_req[sel_q];
  assign wr_valid_o     = u_wr_valid[sel_q];
  assign wr_data_o      = u_wr_data[sel_q];

endmodule

`default_nettype wire
