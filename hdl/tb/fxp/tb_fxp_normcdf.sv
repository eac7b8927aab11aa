// Unit testbench of fxp_normcdf against accel/fxp.NormCDF (fxp_tb_body.svh).
`default_nettype none

module tb_fxp_normcdf;
  import fxp_pkg::*;
  localparam string UNIT = "tb_fxp_normcdf";
  localparam int    LAT  = NORMCDF_LATENCY;

  logic         clk = 1'b0;
  logic        rst_n = 1'b0;
  logic        valid_i;
  logic [127:0] in_d;
  logic        valid_o;
  logic [31:0] out;
  logic [63:0] got;

  fxp_normcdf #(.MEM_DIR(`FXP_MEM_DIR)) dut (
    .clk_i   (clk),
    .rst_ni  (rst_n),
    .valid_i (valid_i),
    .d_i     (in_d[63:0]),
    .valid_o (valid_o),
    .p_o     (out)
  );
  assign got = 64'(out);

`include "fxp_tb_body.svh"
endmodule

`default_nettype wire
