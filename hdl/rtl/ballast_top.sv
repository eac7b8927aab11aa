// Ballast risk accelerator, top level: the BAR0 register file (AXI4-Lite
// slave), the queue engine, the unit complex, and the AXI4 DMA master (read
// and write engines behind a request arbiter). See hdl/README.md for the
// block diagram and docs/accel.md for the device contract.
//
// AXI4 master: 64-bit address and data, ID 0 on every transaction, INCR
// bursts of at most 16 beats of 8 bytes (ARSIZE/AWSIZE = 3) that never cross
// a 4 KiB boundary, every byte strobed except the unstrobed filler beats of a
// write burst cut short by a flush (watchdog or soft reset). Several read
// bursts and up to 8 write bursts may be outstanding.
//
// irq_o is a level (see ballast_regfile.sv). TABLES_HASH defaults to the hash
// of the generated function tables (ballast_tables_pkg), which ID_TABLES_HASH
// reports so that the driver refuses RTL built from other tables.
`default_nettype none

module ballast_top #(
  parameter int unsigned LANES = 1,
  parameter logic [31:0] TABLES_HASH = ballast_tables_pkg::TABLES_HASH,
  // Folder of the function-table images the kernel units' ROMs load
  // ($readmemh): hdl/mem relative to where synthesis or simulation runs.
  parameter string       MEM_DIR = "hdl/mem"
) (
  input  logic        clk_i,
  input  logic        rst_ni,
  // AXI4-Lite slave: BAR0 (16-bit byte address, 32-bit data)
  input  logic [15:0] s_axil_awaddr_i,  input  logic s_axil_awvalid_i, output logic s_axil_awready_o,
  input  logic [31:0] s_axil_wdata_i,   input  logic [3:0] s_axil_wstrb_i, input logic s_axil_wvalid_i, output logic s_axil_wready_o,
  output logic [1:0]  s_axil_bresp_o,   output logic s_axil_bvalid_o,  input  logic s_axil_bready_i,
  input  logic [15:0] s_axil_araddr_i,  input  logic s_axil_arvalid_i, output logic s_axil_arready_o,
  output logic [31:0] s_axil_rdata_o,   output logic [1:0] s_axil_rresp_o, output logic s_axil_rvalid_o, input logic s_axil_rready_i,
  // AXI4 master: DMA to host memory (64-bit address, 64-bit data, 4-bit ID, INCR bursts <= 16 beats, never crossing 4 KiB)
  output logic [3:0]  m_axi_awid_o, output logic [63:0] m_axi_awaddr_o, output logic [7:0] m_axi_awlen_o, output logic [2:0] m_axi_awsize_o, output logic [1:0] m_axi_awburst_o, output logic m_axi_awvalid_o, input logic m_axi_awready_i,
  output logic [63:0] m_axi_wdata_o, output logic [7:0] m_axi_wstrb_o, output logic m_axi_wlast_o, output logic m_axi_wvalid_o, input logic m_axi_wready_i,
  input  logic [3:0]  m_axi_bid_i, input logic [1:0] m_axi_bresp_i, input logic m_axi_bvalid_i, output logic m_axi_bready_o,
  output logic [3:0]  m_axi_arid_o, output logic [63:0] m_axi_araddr_o, output logic [7:0] m_axi_arlen_o, output logic [2:0] m_axi_arsize_o, output logic [1:0] m_axi_arburst_o, output logic m_axi_arvalid_o, input logic m_axi_arready_i,
  input  logic [3:0]  m_axi_rid_i, input logic [63:0] m_axi_rdata_i, input logic [1:0] m_axi_rresp_i, input logic m_axi_rlast_i, input logic m_axi_rvalid_i, output logic m_axi_rready_o,
  output logic        irq_o
);

  import ballast_pkg::*;

  localparam int unsigned PORT_QUEUE = 0;  // arbiter port of the queue engine
  localparam int unsigned PORT_UNIT  = 1;  // arbiter port of the active unit
  localparam int unsigned PORTS      = 2;

  // ------------------------------------------- register file <-> queue ---
  logic        soft_rst, enable, fault_dma_read, fault_hang;
  logic [63:0] dq_base, cq_base, busy_cycles;
  logic [3:0]  dq_size_log2, cq_size_log2;
  logic [31:0] dq_tail, cq_head, watchdog_cycles, dq_head, cq_tail, jobs_done, err_desc, caps;
  logic [31:0] agg_cols_max, scengen_u_max;
  logic        q_busy, q_halted, q_quiet, q_cpl_inflight, irq_cpl_set, fault_clr;
  logic [ERR_BITS-1:0] err_set;

  // ------------------------------------------------ queue <-> units ---
  logic [15:0] op;
  logic        op_supported, unit_start, unit_abort, unit_busy, unit_done;
  desc_t       unit_desc;
  logic [15:0] unit_status;
  logic [63:0] unit_out_bytes;

  // ------------------------------------------------------ DMA clients ---
  logic     [PORTS-1:0]       c_rd_req_valid, c_rd_req_ready, c_rd_valid, c_rd_ready, c_rd_done;
  dma_req_t [PORTS-1:0]       c_rd_req, c_wr_req;
  logic     [PORTS-1:0]       c_wr_req_valid, c_wr_req_ready, c_wr_valid, c_wr_ready, c_wr_done;
  logic     [PORTS-1:0][63:0] c_wr_data;
  logic     [63:0]            c_rd_data;
  logic                       c_rd_last, c_rd_err, c_rd_done_err, c_wr_done_err;

  // ----------------------------------------------------------- engines ---
  logic        dma_flush, rd_idle, wr_idle;
  logic        e_rd_req_valid, e_rd_req_ready, e_rd_valid, e_rd_ready, e_rd_last, e_rd_err;
  logic        e_rd_done, e_rd_done_err;
  logic [63:0] e_rd_data, e_wr_data;
  dma_req_t    e_rd_req, e_wr_req;
  logic        e_wr_req_valid, e_wr_req_ready, e_wr_valid, e_wr_ready, e_wr_done, e_wr_done_err;

  ballast_regfile #(
    .LANES       (LANES),
    .TABLES_HASH (TABLES_HASH)
  ) u_regfile (
    .clk_i, .rst_ni,
    .s_axil_awaddr_i, .s_axil_awvalid_i, .s_axil_awready_o,
    .s_axil_wdata_i, .s_axil_wstrb_i, .s_axil_wvalid_i, .s_axil_wready_o,
    .s_axil_bresp_o, .s_axil_bvalid_o, .s_axil_bready_i,
    .s_axil_araddr_i, .s_axil_arvalid_i, .s_axil_arready_o,
    .s_axil_rdata_o, .s_axil_rresp_o, .s_axil_rvalid_o, .s_axil_rready_i,
    .caps_i            (caps),
    .agg_cols_max_i    (agg_cols_max),
    .scengen_u_max_i   (scengen_u_max),
    .q_busy_i          (q_busy),
    .q_halted_i        (q_halted),
    .q_quiet_i         (q_quiet),
    .q_cpl_inflight_i  (q_cpl_inflight),
    .dq_head_i         (dq_head),
    .cq_tail_i         (cq_tail),
    .jobs_done_i       (jobs_done),
    .busy_cycles_i     (busy_cycles),
    .err_set_i         (err_set),
    .err_desc_i        (err_desc),
    .irq_cpl_set_i     (irq_cpl_set),
    .fault_clr_i       (fault_clr),
    .soft_rst_o        (soft_rst),
    .enable_o          (enable),
    .dq_base_o         (dq_base),
    .dq_size_log2_o    (dq_size_log2),
    .dq_tail_o         (dq_tail),
    .cq_base_o         (cq_base),
    .cq_size_log2_o    (cq_size_log2),
    .cq_head_o         (cq_head),
    .watchdog_cycles_o (watchdog_cycles),
    .fault_dma_read_o  (fault_dma_read),
    .fault_hang_o      (fault_hang),
    .irq_o             (irq_o)
  );

  ballast_queue u_queue (
    .clk_i, .rst_ni,
    .soft_rst_i        (soft_rst),
    .enable_i          (enable),
    .dq_base_i         (dq_base),
    .dq_size_log2_i    (dq_size_log2),
    .dq_tail_i         (dq_tail),
    .cq_base_i         (cq_base),
    .cq_size_log2_i    (cq_size_log2),
    .cq_head_i         (cq_head),
    .watchdog_cycles_i (watchdog_cycles),
    .fault_dma_read_i  (fault_dma_read),
    .fault_hang_i      (fault_hang),
    .busy_o            (q_busy),
    .halted_o          (q_halted),
    .quiet_o           (q_quiet),
    .cpl_inflight_o    (q_cpl_inflight),
    .dq_head_o         (dq_head),
    .cq_tail_o         (cq_tail),
    .jobs_done_o       (jobs_done),
    .busy_cycles_o     (busy_cycles),
    .err_set_o         (err_set),
    .err_desc_o        (err_desc),
    .irq_cpl_set_o     (irq_cpl_set),
    .fault_clr_o       (fault_clr),
    .op_o              (op),
    .op_supported_i    (op_supported),
    .unit_start_o      (unit_start),
    .unit_desc_o       (unit_desc),
    .unit_abort_o      (unit_abort),
    .unit_busy_i       (unit_busy),
    .unit_done_i       (unit_done),
    .unit_status_i     (unit_status),
    .unit_out_bytes_i  (unit_out_bytes),
    .dma_flush_o       (dma_flush),
    .dma_idle_i        (rd_idle && wr_idle),
    .rd_req_valid_o    (c_rd_req_valid[PORT_QUEUE]),
    .rd_req_ready_i    (c_rd_req_ready[PORT_QUEUE]),
    .rd_req_o          (c_rd_req[PORT_QUEUE]),
    .rd_valid_i        (c_rd_valid[PORT_QUEUE]),
    .rd_ready_o        (c_rd_ready[PORT_QUEUE]),
    .rd_data_i         (c_rd_data),
    .rd_done_i         (c_rd_done[PORT_QUEUE]),
    .rd_done_err_i     (c_rd_done_err),
    .wr_req_valid_o    (c_wr_req_valid[PORT_QUEUE]),
    .wr_req_ready_i    (c_wr_req_ready[PORT_QUEUE]),
    .wr_req_o          (c_wr_req[PORT_QUEUE]),
    .wr_valid_o        (c_wr_valid[PORT_QUEUE]),
    .wr_ready_i        (c_wr_ready[PORT_QUEUE]),
    .wr_data_o         (c_wr_data[PORT_QUEUE]),
    .wr_done_i         (c_wr_done[PORT_QUEUE]),
    .wr_done_err_i     (c_wr_done_err)
  );

  ballast_units #(
    .MEM_DIR (MEM_DIR),
    .LANES   (LANES)
  ) u_units (
    .clk_i, .rst_ni,
    .op_i           (op),
    .op_supported_o (op_supported),
    .caps_o         (caps),
    .agg_cols_max_o (agg_cols_max),
    .scengen_u_max_o(scengen_u_max),
    .start_i        (unit_start),
    .desc_i         (unit_desc),
    .abort_i        (unit_abort),
    .busy_o         (unit_busy),
    .done_o         (unit_done),
    .status_o       (unit_status),
    .out_bytes_o    (unit_out_bytes),
    .rd_req_valid_o (c_rd_req_valid[PORT_UNIT]),
    .rd_req_ready_i (c_rd_req_ready[PORT_UNIT]),
    .rd_req_o       (c_rd_req[PORT_UNIT]),
    .rd_valid_i     (c_rd_valid[PORT_UNIT]),
    .rd_ready_o     (c_rd_ready[PORT_UNIT]),
    .rd_data_i      (c_rd_data),
    .rd_last_i      (c_rd_last),
    .rd_err_i       (c_rd_err),
    .rd_done_i      (c_rd_done[PORT_UNIT]),
    .rd_done_err_i  (c_rd_done_err),
    .wr_req_valid_o (c_wr_req_valid[PORT_UNIT]),
    .wr_req_ready_i (c_wr_req_ready[PORT_UNIT]),
    .wr_req_o       (c_wr_req[PORT_UNIT]),
    .wr_valid_o     (c_wr_valid[PORT_UNIT]),
    .wr_ready_i     (c_wr_ready[PORT_UNIT]),
    .wr_data_o      (c_wr_data[PORT_UNIT]),
    .wr_done_i      (c_wr_done[PORT_UNIT]),
    .wr_done_err_i  (c_wr_done_err)
  );

  ballast_dma_arb #(
    .PORTS (PORTS)
  ) u_arb (
    .clk_i, .rst_ni,
    .flush_i            (dma_flush),
    .rd_req_valid_i     (c_rd_req_valid),
    .rd_req_ready_o     (c_rd_req_ready),
    .rd_req_i           (c_rd_req),
    .rd_valid_o         (c_rd_valid),
    .rd_ready_i         (c_rd_ready),
    .rd_data_o          (c_rd_data),
    .rd_last_o          (c_rd_last),
    .rd_err_o           (c_rd_err),
    .rd_done_o          (c_rd_done),
    .rd_done_err_o      (c_rd_done_err),
    .wr_req_valid_i     (c_wr_req_valid),
    .wr_req_ready_o     (c_wr_req_ready),
    .wr_req_i           (c_wr_req),
    .wr_valid_i         (c_wr_valid),
    .wr_ready_o         (c_wr_ready),
    .wr_data_i          (c_wr_data),
    .wr_done_o          (c_wr_done),
    .wr_done_err_o      (c_wr_done_err),
    .eng_rd_req_valid_o (e_rd_req_valid),
    .eng_rd_req_ready_i (e_rd_req_ready),
    .eng_rd_req_o       (e_rd_req),
    .eng_rd_valid_i     (e_rd_valid),
    .eng_rd_ready_o     (e_rd_ready),
    .eng_rd_data_i      (e_rd_data),
    .eng_rd_last_i      (e_rd_last),
    .eng_rd_err_i       (e_rd_err),
    .eng_rd_done_i      (e_rd_done),
    .eng_rd_done_err_i  (e_rd_done_err),
    .eng_wr_req_valid_o (e_wr_req_valid),
    .eng_wr_req_ready_i (e_wr_req_ready),
    .eng_wr_req_o       (e_wr_req),
    .eng_wr_valid_o     (e_wr_valid),
    .eng_wr_ready_i     (e_wr_ready),
    .eng_wr_data_o      (e_wr_data),
    .eng_wr_done_i      (e_wr_done),
    .eng_wr_done_err_i  (e_wr_done_err)
  );

  ballast_dma_rd u_dma_rd (
    .clk_i, .rst_ni,
    .flush_i      (dma_flush),
    .idle_o       (rd_idle),
    .req_valid_i  (e_rd_req_valid),
    .req_ready_o  (e_rd_req_ready),
    .req_i        (e_rd_req),
    .data_valid_o (e_rd_valid),
    .data_ready_i (e_rd_ready),
    .data_o       (e_rd_data),
    .data_last_o  (e_rd_last),
    .data_err_o   (e_rd_err),
    .done_o       (e_rd_done),
    .done_err_o   (e_rd_done_err),
    .m_axi_arid_o, .m_axi_araddr_o, .m_axi_arlen_o, .m_axi_arsize_o, .m_axi_arburst_o,
    .m_axi_arvalid_o, .m_axi_arready_i,
    .m_axi_rid_i, .m_axi_rdata_i, .m_axi_rresp_i, .m_axi_rlast_i, .m_axi_rvalid_i, .m_axi_rready_o
  );

  ballast_dma_wr u_dma_wr (
    .clk_i, .rst_ni,
    .flush_i      (dma_flush),
    .idle_o       (wr_idle),
    .req_valid_i  (e_wr_req_valid),
    .req_ready_o  (e_wr_req_ready),
    .req_i        (e_wr_req),
    .data_valid_i (e_wr_valid),
    .data_ready_o (e_wr_ready),
    .data_i       (e_wr_data),
    .done_o       (e_wr_done),
    .done_err_o   (e_wr_done_err),
    .m_axi_awid_o, .m_axi_awaddr_o, .m_axi_awlen_o, .m_axi_awsize_o, .m_axi_awburst_o,
    .m_axi_awvalid_o, .m_axi_awready_i,
    .m_axi_wdata_o, .m_axi_wstrb_o, .m_axi_wlast_o, .m_axi_wvalid_o, .m_axi_wready_i,
    .m_axi_bid_i, .m_axi_bresp_i, .m_axi_bvalid_i, .m_axi_bready_o
  );

endmodule

`default_nettype wire
