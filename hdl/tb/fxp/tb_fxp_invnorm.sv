// Unit testbench of fxp_invnorm against accel/fxp.InvNorm (fxp_tb_body.svh).
`default_nettype none

module tb_fxp_invnorm;
  localparam string UNIT = "tb_fxp_invnorm";

  logic         clk = 1'b0;
  logic        rst_n = 1'b0;
  logic        valid_i;
  logic [127:0] in_d;
  logic        valid_o;
  logic [31:0] z;
  logic [63:0] got;

  fxp_invnorm #(.MEM_DIR(`FXP_MEM_DIR)) dut (
    .clk_i   (clk),
    .rst_ni  (rst_n),
    .valid_i (valid_i),
    .w_i     (in_d[31:0]),
    .valid_o (valid_o),
    .z_o     (z)
  );
  localparam int LAT = fxp_pkg::INVNORM_LATENCY;
  assign got = 64'(signed'(z));

`include "fxp_tb_body.svh"
endmodule

`default_nettype wire
