// NormPDF (docs/accel-numerics.md §5): φ(d) = e^(−d²/2)/√(2π) in Scaled form
// for d in sQ3.28 (any int64, |d| clamped to 2^31 − 1), bit-exact with
// fxp.NormPDF: a = |d|, v = rshr(a·Log2EHalfQ32, 31),
// y = rshr(a·v, 25) + Log2Sqrt2PiQ32, φ = 2^−y (fxp_exp2).
//
// Initiation interval 1, latency LATENCY = 8 cycles: (1) |d|, (2) v (31×32
// bits), (3) −y (31×32 bits), (4–8) fxp_exp2. valid_o follows valid_i by
// exactly LATENCY cycles; only the valid bits are reset.
`default_nettype none

module fxp_normpdf
  import fxp_pkg::*;
  import ballast_tables_pkg::*;
#(
  parameter string MEM_DIR = "hdl/mem"
) (
  input  logic        clk_i,
  input  logic        rst_ni,
  input  logic        valid_i,
  input  logic [63:0] d_i,
  output logic        valid_o,
  output scaled_t     r_o
);

  localparam int LATENCY = NORMPDF_LATENCY;

  logic               valid_1_q, valid_2_q, valid_3_q;
  logic signed [63:0] a_1_q, a_2_q, v_2_q, y_3_q;
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
  always_ff @(posedge clk_i) begin
    a_1_q <= signed'(64'(dabs(signed'(d_i))));
    v_2_q <= rshr(a_1_q * LOG2E_HALF_Q32, 31);
    a_2_q <= a_1_q;
    y_3_q <= -(rshr(a_2_q * v_2_q, 25) + LOG2_SQRT_2PI_Q32);
  end

  fxp_exp2 #(.MEM_DIR(MEM_DIR)) u_exp2 (
    .clk_i   (clk_i),
    .rst_ni  (rst_ni),
    .valid_i (valid_3_q),
    .y_i     (y_3_q),
    .valid_o (valid_o),
    .r_o     (r_o)
  );

endmodule

`default_nettype wire
