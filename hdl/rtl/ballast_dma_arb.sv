// Request-level arbiter between the DMA clients (port 0: the queue engine's
// descriptor and completion traffic; port 1: the active unit) and the two DMA
// engines. Reads and writes are arbitrated independently. When an engine is
// free it takes the lowest-numbered port with a request (fixed priority: the
// queue engine first) and stays with that port until the request ends
// (done) or the engines are flushed; data beats and the done pulse go to the
// owning port only.
`default_nettype none

module ballast_dma_arb
  import ballast_pkg::*;
#(
  parameter int unsigned PORTS = 2
) (
  input  logic                   clk_i,
  input  logic                   rst_ni,
  input  logic                   flush_i,
  // Read clients.
  input  logic     [PORTS-1:0]   rd_req_valid_i,
  output logic     [PORTS-1:0]   rd_req_ready_o,
  input  dma_req_t [PORTS-1:0]   rd_req_i,
  output logic     [PORTS-1:0]   rd_valid_o,
  input  logic     [PORTS-1:0]   rd_ready_i,
  output logic     [63:0]        rd_data_o,       // to every port; valid per port
  output logic                   rd_last_o,
  output logic                   rd_err_o,
  output logic     [PORTS-1:0]   rd_done_o,
  output logic                   rd_done_err_o,
  // Write clients.
  input  logic     [PORTS-1:0]   wr_req_valid_i,
  output logic     [PORTS-1:0]   wr_req_ready_o,
  input  dma_req_t [PORTS-1:0]   wr_req_i,
  input  logic     [PORTS-1:0]   wr_valid_i,
  output logic     [PORTS-1:0]   wr_ready_o,
  input  logic     [PORTS-1:0][63:0] wr_data_i,
  output logic     [PORTS-1:0]   wr_done_o,
  output logic                   wr_done_err_o,
  // Read engine.
  output logic                   eng_rd_req_valid_o,
  input  logic                   eng_rd_req_ready_i,
  output dma_req_t               eng_rd_req_o,
  input  logic                   eng_rd_valid_i,
  output logic                   eng_rd_ready_o,
  input  logic     [63:0]        eng_rd_data_i,
  input  logic                   eng_rd_last_i,
  input  logic                   eng_rd_err_i,
  input  logic                   eng_rd_done_i,
  input  logic                   eng_rd_done_err_i,
  // Write engine.
  output logic                   eng_wr_req_valid_o,
  input  logic                   eng_wr_req_ready_i,
  output dma_req_t               eng_wr_req_o,
  output logic                   eng_wr_valid_o,
  input  logic                   eng_wr_ready_i,
  output logic     [63:0]        eng_wr_data_o,
  input  logic                   eng_wr_done_i,
  input  logic                   eng_wr_done_err_i
);

  localparam int unsigned IDX_BITS = (PORTS > 1) ? $clog2(PORTS) : 1;

  // Lowest set bit of a request vector.
  function automatic logic [IDX_BITS-1:0] pick(input logic [PORTS-1:0] v);
    pick = '0;
    for (int i = PORTS - 1; i >= 0; i--) begin
      if (v[i]) pick = IDX_BITS'(i);
    end
  endfunction

  // ---------------------------------------------------------------- reads ---
  logic                rd_own_q, wr_own_q;
  logic [IDX_BITS-1:0] rd_idx_q, wr_idx_q, rd_pick, wr_pick;

  assign rd_pick            = pick(rd_req_valid_i);
  assign eng_rd_req_valid_o = !rd_own_q && (rd_req_valid_i != '0);
  assign eng_rd_req_o       = rd_req_i[rd_pick];
  assign eng_rd_ready_o     = rd_own_q && rd_ready_i[rd_idx_q];
  assign rd_data_o          = eng_rd_data_i;
  assign rd_last_o          = eng_rd_last_i;
  assign rd_err_o           = eng_rd_err_i;
  assign rd_done_err_o      = eng_rd_done_err_i;

  always_comb begin
    for (int i = 0; i < PORTS; i++) begin
      rd_req_ready_o[i] = !rd_own_q && (rd_pick == IDX_BITS'(i)) && eng_rd_req_ready_i;
      rd_valid_o[i]     = rd_own_q && (rd_idx_q == IDX_BITS'(i)) && eng_rd_valid_i;
      rd_done_o[i]      = rd_own_q && (rd_idx_q == IDX_BITS'(i)) && eng_rd_done_i;
    end
  end

  // --------------------------------------------------------------- writes ---
  assign wr_pick            = pick(wr_req_valid_i);
  assign eng_wr_req_valid_o = !wr_own_q && (wr_req_valid_i != '0);
  assign eng_wr_req_o       = wr_req_i[wr_pick];
  assign eng_wr_valid_o     = wr_own_q && wr_valid_i[wr_idx_q];
  assign eng_wr_data_o      = wr_data_i[wr_idx_q];
  assign wr_done_err_o      = eng_wr_done_err_i;

  always_comb begin
    for (int i = 0; i < PORTS; i++) begin
      wr_req_ready_o[i] = !wr_own_q && (wr_pick == IDX_BITS'(i)) && eng_wr_req_ready_i;
      wr_ready_o[i]     = wr_own_q && (wr_idx_q == IDX_BITS'(i)) && eng_wr_ready_i;
      wr_done_o[i]      = wr_own_q && (wr_idx_q == IDX_BITS'(i)) && eng_wr_done_i;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      rd_own_q <= 1'b0;
      rd_idx_q <= '0;
      wr_own_q <= 1'b0;
      wr_idx_q <= '0;
    end else begin
      if (flush_i || (rd_own_q && eng_rd_done_i)) begin
        rd_own_q <= 1'b0;
      end else if (eng_rd_req_valid_o && eng_rd_req_ready_i) begin
        rd_own_q <= 1'b1;
        rd_idx_q <= rd_pick;
      end
      if (flush_i || (wr_own_q && eng_wr_done_i)) begin
        wr_own_q <= 1'b0;
      end else if (eng_wr_req_valid_o && eng_wr_req_ready_i) begin
        wr_own_q <= 1'b1;
        wr_idx_q <= wr_pick;
      end
    end
  end

endmodule

`default_nettype wire
