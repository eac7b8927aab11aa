// Exp (docs/accel-numerics.md §5): e^x in Scaled form for a log-return x in
// sQ4.27, clamped to [−XMax, XMax], bit-exact with fxp.Exp:
// y = x·2^5 + rshr(x·Log2EM1Q34, 29) (x·log2 e in sQ4.32), then 2^y
// (fxp_exp2).
//
// Initiation interval 1, latency LATENCY = 7 cycles: (1) clamp, (2) the
// 31×33-bit product and y, (3–7) fxp_exp2. valid_o follows valid_i by exactly
// LATENCY cycles; only the valid bits are reset.
`default_nettype none

module fxp_exp
  import fxp_pkg::*;
  import ballast_tables_pkg::*;
#(
  parameter string MEM_DIR = "hdl/mem"
) (
  input  logic        clk_i,
  input  logic        rst_ni,
  input  logic        valid_i,
  input  logic [31:0] x_i,
  output logic        valid_o,
  output scaled_t     r_o
);

  localparam int LATENCY = EXP_LATENCY;

  // Stage 1: clamp to ±XMax.
  logic               valid_1_q;
  logic signed [63:0] xc_1_q;
  // Stage 2: y = x·log2 e in sQ4.32.
  logic               valid_2_q;
  logic signed [63:0] y_2_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      valid_1_q <= 1'b0;
      valid_2_q <= 1'b0;
    end else begin
      valid_1_q <= valid_i;
      valid_2_q <= valid_1_q;
    end
  end
  always_ff @(posedge clk_i) begin
    xc_1_q <= sat64(64'(signed'(x_i)), -X_MAX, X_MAX);
    y_2_q  <= (xc_1_q <<< (32 - X_FRAC)) + rshr(xc_1_q * LOG2E_M1_Q34, 29);
  end

  fxp_exp2 #(.MEM_DIR(MEM_DIR)) u_exp2 (
    .clk_i   (clk_i),
    .rst_ni  (rst_ni),
    .valid_i (valid_2_q),
    .y_i     (y_2_q),
    .valid_o (valid_o),
    .r_o     (r_o)
  );

endmodule

`default_nettype wire
