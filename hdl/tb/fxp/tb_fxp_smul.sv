// Unit testbench of fxp_smul and of fxp_pkg::smul/norm against
// accel/fxp.Mul (fxp_tb_body.svh).
`default_nettype none

module tb_fxp_smul;
  import fxp_pkg::*;
  localparam string UNIT = "tb_fxp_smul";
  localparam int    LAT  = SMUL_LATENCY;

  logic         clk = 1'b0;
  logic         rst_n = 1'b0;
  logic         valid_i;
  logic [127:0] in_d;
  logic         valid_o;
  scaled_t      out;
  logic [63:0]  got;

  fxp_smul dut (
    .clk_i   (clk),
    .rst_ni  (rst_n),
    .valid_i (valid_i),
    .a_i     (in_d[127:64]),
    .b_i     (in_d[63:0]),
    .valid_o (valid_o),
    .r_o     (out)
  );
  assign got = out;

`include "fxp_tb_body.svh"

  // The single-cycle package function smul (fxp_pkg::norm) against the same
  // vectors, at issue.
  always @(posedge clk) begin
    if (rst_n && valid_i && smul(in_d[127:64], in_d[63:0]) != want_in) begin
      $display("%s: FAIL: fxp_pkg::smul MISMATCH input %h expected %h actual %h",
               UNIT, in_d, want_in, smul(in_d[127:64], in_d[63:0]));
      $fatal(1);
    end
  end
endmodule

`default_nettype wire
