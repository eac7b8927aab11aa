// SCENGEN on-chip buffer: a simple dual-port RAM (one write port with a
// write enable per lane, one read port with a registered output, both on
// clk_i), DEPTH words of LANES lanes of LW bits. The read port returns the
// word at raddr_i one cycle later (old data on a same-address write). No
// reset: the unit writes every word before it reads it.
//
// ballast_scengen uses it for the underlying table, the Cholesky factor, the
// tile's normals (4 banks of U_MAX/4 rows × 16 scenario lanes) and the words
// kept for an odd S_mc. Yosys maps it to block RAM (or LUTRAM when small).
`default_nettype none

module scengen_ram #(
  parameter int unsigned DEPTH = 16,
  parameter int unsigned LANES = 1,
  parameter int unsigned LW    = 32,
  parameter int unsigned AW    = (DEPTH > 1) ? $clog2(DEPTH) : 1
) (
  input  logic                clk_i,
  input  logic                we_i,
  input  logic [AW-1:0]       waddr_i,
  input  logic [LANES-1:0]    wmask_i,
  input  logic [LANES*LW-1:0] wdata_i,
  input  logic [AW-1:0]       raddr_i,
  output logic [LANES*LW-1:0] rdata_o
);

  logic [LANES*LW-1:0] mem [DEPTH];

  always_ff @(posedge clk_i) begin
    if (we_i) begin
      for (int l = 0; l < LANES; l++) begin
        if (wmask_i[l]) mem[waddr_i][l*LW +: LW] <= wdata_i[l*LW +: LW];
      end
    end
  end

  always_ff @(posedge clk_i) rdata_o <= mem[raddr_i];

endmodule

`default_nettype wire
