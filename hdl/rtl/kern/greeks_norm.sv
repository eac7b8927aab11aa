// GREEKS helper: Norm(v, e) = v·2^e in Scaled form (docs/accel-numerics.md §3,
// fxp.Norm), bit-exact for every 64-bit v and 32-bit e (exponent arithmetic
// wraps at 32 bits, as Go's int32).
//
// Initiation interval 1, latency LATENCY = 2 cycles: (1) input register and
// the normalising shift bitlen(|v|) − 31, (2) the shift with rshr rounding and
// the 2^31 carry (fxp_pkg::norm_shift). valid_o follows valid_i by exactly
// LATENCY cycles; only the valid bits are reset.
`default_nettype none

module greeks_norm (
  input  logic               clk_i,
  input  logic               rst_ni,
  input  logic               valid_i,
  input  logic signed [63:0] v_i,
  input  logic signed [31:0] e_i,
  output logic               valid_o,
  output fxp_pkg::scaled_t   r_o
);

  logic [1:0] valid_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) valid_q <= '0;
    else         valid_q <= {valid_q[0], valid_i};
  end
  assign valid_o = valid_q[1];

  // Stage 1: operands and the shift.
  logic signed [63:0] v_1_q;
  logic signed [31:0] e_1_q;
  logic signed [31:0] sh_1_q;
  always_ff @(posedge clk_i) begin
    v_1_q  <= v_i;
    e_1_q  <= e_i;
    sh_1_q <= fxp_pkg::norm_sh(v_i);
  end

  // Stage 2: rounding right shift (or exact left shift) into [2^30, 2^31).
  fxp_pkg::scaled_t r_2_q;
  always_ff @(posedge clk_i) begin
    r_2_q <= (v_1_q == 64'sd0) ? '0 : fxp_pkg::norm_shift(v_1_q, sh_1_q, e_1_q);
  end
  assign r_o = r_2_q;

endmodule

`default_nettype wire
