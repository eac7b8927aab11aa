// Scaled multiply (docs/accel-numerics.md §3): Mul(a, b) = Norm(a.M·b.M,
// a.E + b.E), bit-exact with fxp.Mul for every pair of 32-bit mantissas and
// exponents (the exponent arithmetic wraps at 32 bits, as Go's int32).
//
// Initiation interval 1, latency LATENCY = SMUL_LATENCY = 4 cycles: (1) input
// register, (2) the 32×32-bit signed product (|p| ≤ 2^62; four DSP48E2) and
// the exponent sum, (3) the bit length of |p| (the normalising shift),
// (4) the shift with rshr rounding and the 2^31 carry. valid_o follows
// valid_i by exactly LATENCY cycles; only the valid bits are reset.
`default_nettype none

module fxp_smul (
  input  logic             clk_i,
  input  logic             rst_ni,
  input  logic             valid_i,
  input  fxp_pkg::scaled_t a_i,
  input  fxp_pkg::scaled_t b_i,
  output logic             valid_o,
  output fxp_pkg::scaled_t r_o
);

  localparam int LATENCY = fxp_pkg::SMUL_LATENCY;

  logic [LATENCY-1:0] valid_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) valid_q <= '0;
    else         valid_q <= {valid_q[LATENCY-2:0], valid_i};
  end
  assign valid_o = valid_q[LATENCY-1];

  // Stage 1: inputs.
  fxp_pkg::scaled_t a_1_q, b_1_q;
  always_ff @(posedge clk_i) begin
    a_1_q <= a_i;
    b_1_q <= b_i;
  end

  // Stage 2: product and exponent sum.
  logic signed [63:0] p_2_q;
  logic signed [31:0] e_2_q;
  always_ff @(posedge clk_i) begin
    p_2_q <= a_1_q.m * b_1_q.m;
    e_2_q <= a_1_q.e + b_1_q.e;
  end

  // Stage 3: the normalising shift sh = bitlen(|p|) − 31 (−30..32).
  logic signed [63:0] p_3_q;
  logic signed [31:0] e_3_q;
  logic signed [31:0] sh_3_q;
  always_ff @(posedge clk_i) begin
    sh_3_q <= fxp_pkg::norm_sh(p_2_q);
    p_3_q  <= p_2_q;
    e_3_q  <= e_2_q;
  end

  // Stage 4: rounding right shift (or exact left shift) into [2^30, 2^31).
  fxp_pkg::scaled_t r_4_q;
  always_ff @(posedge clk_i) begin
    r_4_q <= (p_3_q == 64'sd0) ? '0 : fxp_pkg::norm_shift(p_3_q, sh_3_q, e_3_q);
  end
  assign r_o = r_4_q;

endmodule

`default_nettype wire
