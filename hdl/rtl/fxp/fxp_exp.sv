// Exp (docs/accel-numerics.md §5): e^x in Scaled form for a log-return x in
// sQ4.27, clamped to [−XMax, XMax], bit-exact with fxp.Exp:
// y = x·2^5 + rshr(x·Log2EM1Q34, 29) (x·log2 e in sQ4.32), then 2^y
// (fxp_exp2).
//
// Initiation interval 1, latency LATENCY = EXP_LATENCY = 7 cycles: (1) clamp,
// (2) the 32×34-bit product and y, (3–7) fxp_exp2. valid_o follows valid_i by
// exactly LATENCY cycles; only the valid bits are reset.
//
// Multipliers: x·L is 32 × 34 bits signed (|x| ≤ 2^30, L < 2^33, |x·L| <
// 2^63), four DSP48E2; fxp_exp2 three more.
`default_nettype none

module fxp_exp #(
  parameter string MEM_DIR = "hdl/mem"
) (
  input  logic             clk_i,
  input  logic             rst_ni,
  input  logic             valid_i,
  input  logic [31:0]      x_i,
  output logic             valid_o,
  output fxp_pkg::scaled_t r_o
);

  localparam int LATENCY = fxp_pkg::EXP_LATENCY;

  localparam logic signed [33:0] L = 34'(ballast_tables_pkg::LOG2E_M1_Q34);

  logic valid_1_q, valid_2_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      valid_1_q <= 1'b0;
      valid_2_q <= 1'b0;
    end else begin
      valid_1_q <= valid_i;
      valid_2_q <= valid_1_q;
    end
  end

  // Stage 1: clamp to ±XMax = ±2^30 (32 bits signed).
  logic signed [63:0] xc_1_d;
  logic signed [31:0] xc_1_q;
  assign xc_1_d = fxp_pkg::sat64(64'(signed'(x_i)), -ballast_tables_pkg::X_MAX,
                                 ballast_tables_pkg::X_MAX);
  always_ff @(posedge clk_i) xc_1_q <= xc_1_d[31:0];

  // Stage 2: y = x·2^5 + rshr(x·L, 29), x·log2 e in sQ4.32 (|y| < 2^36).
  logic signed [63:0] xl;
  logic signed [63:0] y_2_d;
  logic signed [37:0] y_2_q;
  assign xl    = xc_1_q * L;
  assign y_2_d = (64'(xc_1_q) <<< (32 - ballast_tables_pkg::X_FRAC))
                 + fxp_pkg::rshr(xl, 6'(ballast_tables_pkg::X_FRAC + 34 - 32));
  always_ff @(posedge clk_i) y_2_q <= y_2_d[37:0];

  fxp_exp2 #(.MEM_DIR(MEM_DIR)) u_exp2 (
    .clk_i   (clk_i),
    .rst_ni  (rst_ni),
    .valid_i (valid_2_q),
    .y_i     (64'(y_2_q)),
    .valid_o (valid_o),
    .r_o     (r_o)
  );

  // The clamped x and y fit their registers; the bits above are sign.
  logic unused_hi;
  assign unused_hi = ^{xc_1_d[63:32], y_2_d[63:38]};

endmodule

`default_nettype wire
