// NormPDF (docs/accel-numerics.md §5): φ(d) = e^(−d²/2)/√(2π) in Scaled form
// for d in sQ3.28 (any int64, |d| clamped to 2^31 − 1), bit-exact with
// fxp.NormPDF: a = |d|, v = rshr(a·Log2EHalfQ32, 31) (a·log2(e)/2 in
// sQ3.29), y = rshr(a·v, 25) + Log2Sqrt2PiQ32 (uQ.32), φ = 2^−y (fxp_exp2).
//
// Initiation interval 1, latency LATENCY = NORMPDF_LATENCY = 8 cycles:
// (1) |d|, (2) v, (3) −y, (4–8) fxp_exp2. valid_o follows valid_i by exactly
// LATENCY cycles; only the valid bits are reset.
//
// Multipliers: a·Log2EHalfQ32 is 31 × 32 bits unsigned and a·v 31 × 32 bits
// unsigned (a < 2^31, v < 1.45·2^31): four DSP48E2 each; fxp_exp2 three
// more.
`default_nettype none

module fxp_normpdf #(
  parameter string MEM_DIR = "hdl/mem"
) (
  input  logic             clk_i,
  input  logic             rst_ni,
  input  logic             valid_i,
  input  logic [63:0]      d_i,
  output logic             valid_o,
  output fxp_pkg::scaled_t r_o
);

  localparam int LATENCY = fxp_pkg::NORMPDF_LATENCY;

  localparam logic [31:0] LOG2E_HALF    = 32'(ballast_tables_pkg::LOG2E_HALF_Q32);
  localparam logic [63:0] LOG2_SQRT_2PI = 64'(ballast_tables_pkg::LOG2_SQRT_2PI_Q32);

  logic valid_1_q, valid_2_q, valid_3_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      valid_1_q <= 1'b0;
      valid_2_q <= 1'b0;
      valid_3_q <= 1'b0;
    end else begin
      valid_1_q <= valid_i;
      valid_2_q <= valid_1_q;
      valid_3_q <= valid_2_q;
    end
  end

  // Stage 1: a = |sat(d)|.
  logic [30:0] a_1_q;
  always_ff @(posedge clk_i) a_1_q <= fxp_pkg::dabs(signed'(d_i));

  // Stage 2: v = rshr(a·Log2EHalfQ32, 31) < 2^32.
  logic [62:0] av;
  logic [63:0] v_2_d;
  logic [31:0] v_2_q;
  logic [30:0] a_2_q;
  assign av    = a_1_q * LOG2E_HALF;
  assign v_2_d = fxp_pkg::rshr(64'(av), 6'd31);
  always_ff @(posedge clk_i) begin
    v_2_q <= v_2_d[31:0];
    a_2_q <= a_1_q;
  end

  // Stage 3: −y = −(rshr(a·v, 25) + Log2Sqrt2PiQ32), |y| < 2^38.
  logic [62:0]        aa;
  logic signed [63:0] y_3_d;
  logic signed [39:0] ny_3_q;
  assign aa    = a_2_q * v_2_q;
  assign y_3_d = fxp_pkg::rshr(64'(aa), 6'(ballast_tables_pkg::Z_FRAC + 29 - 32)) + LOG2_SQRT_2PI;
  always_ff @(posedge clk_i) ny_3_q <= 40'(-y_3_d);

  fxp_exp2 #(.MEM_DIR(MEM_DIR)) u_exp2 (
    .clk_i   (clk_i),
    .rst_ni  (rst_ni),
    .valid_i (valid_3_q),
    .y_i     (64'(ny_3_q)),
    .valid_o (valid_o),
    .r_o     (r_o)
  );

  // v and y fit their registers; the bits above are zero.
  logic unused_hi;
  assign unused_hi = ^{v_2_d[63:32], y_3_d[63:40]};

endmodule

`default_nettype wire
