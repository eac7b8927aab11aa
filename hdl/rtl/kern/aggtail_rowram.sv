// AGGTAIL helper: the account-loss row, a simple dual-port RAM (one write
// port, one read port, registered read: data one cycle after re_i), DEPTH
// words of WIDTH bits. ULTRA asks synthesis for UltraRAM (ram_style
// "ultra": 16384 x 64 bits = 4 URAM288 on UltraScale+); 0 leaves the
// choice to the tool (block RAM: 32 RAMB36 for 16384 x 64), as families
// without UltraRAM need. A read of the word written in the same cycle
// returns the old word (read-first in simulation; the hardware's collision
// behaviour is left open): the caller forwards its own last write
// (ballast_aggtail does).
`default_nettype none

module aggtail_rowram #(
  parameter int unsigned DEPTH = 16384,
  parameter int unsigned WIDTH = 64,
  parameter bit          ULTRA = 1'b1,
  localparam int unsigned AW = (DEPTH > 1) ? $clog2(DEPTH) : 1
) (
  input  logic             clk_i,
  input  logic             we_i,
  input  logic [AW-1:0]    waddr_i,
  input  logic [WIDTH-1:0] wdata_i,
  input  logic             re_i,
  input  logic [AW-1:0]    raddr_i,
  output logic [WIDTH-1:0] rdata_o
);

  logic [WIDTH-1:0] rdata_q;

  if (ULTRA) begin : g_uram
    (* ram_style = "ultra" *) logic [WIDTH-1:0] mem_q [DEPTH];
    always_ff @(posedge clk_i) begin
      if (we_i) mem_q[waddr_i] <= wdata_i;
    end
    always_ff @(posedge clk_i) begin
      if (re_i) rdata_q <= mem_q[raddr_i];
    end
  end else begin : g_ram
    logic [WIDTH-1:0] mem_q [DEPTH];
    always_ff @(posedge clk_i) begin
      if (we_i) mem_q[waddr_i] <= wdata_i;
    end
    always_ff @(posedge clk_i) begin
      if (re_i) rdata_q <= mem_q[raddr_i];
    end
  end

  assign rdata_o = rdata_q;

endmodule

`default_nettype wire
