// Unit testbench of fxp_recip against accel/fxp.Recip (fxp_tb_body.svh).
`default_nettype none

module tb_fxp_recip;
  import fxp_pkg::*;
  localparam string UNIT = "tb_fxp_recip";
  localparam int    LAT  = RECIP_LATENCY;

  logic         clk = 1'b0;
  logic        rst_n = 1'b0;
  logic        valid_i;
  logic [127:0] in_d;
  logic        valid_o;
  scaled_t     out;
  logic [63:0] got;

  fxp_recip #(.MEM_DIR(`FXP_MEM_DIR)) dut (
    .clk_i   (clk),
    .rst_ni  (rst_n),
    .valid_i (valid_i),
    .a_i     (in_d[63:0]),
    .valid_o (valid_o),
    .r_o     (out)
  );
  assign got = out;

`include "fxp_tb_body.svh"
endmodule

`default_nettype wire
