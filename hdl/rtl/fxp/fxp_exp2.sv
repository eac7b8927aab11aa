// 2^y in Scaled form for y in sQ.32 (|y| < 2^40), bit-exact with fxp's
// exp2Q32: k = y >> 32 (floor), f = y mod 2^32; the exp2 table, entry
// f >> 24 at offset f mod 2^24, gives m, saturated to 2^31 − 1;
// 2^y = Scaled{m, k − 30} (int32 exponent arithmetic). The common tail of
// fxp_exp and fxp_normpdf.
//
// Initiation interval 1, latency LATENCY = EXP2_LATENCY = 5 cycles from y_i:
// (1–4) fxp_qtab (256-entry ROM, 3 DSP48E2), (5) saturation and exponent.
// valid_o follows valid_i by exactly LATENCY cycles; only the valid bits are
// reset.
`default_nettype none

module fxp_exp2 #(
  parameter string MEM_DIR = "hdl/mem"
) (
  input  logic              clk_i,
  input  logic              rst_ni,
  input  logic              valid_i,
  input  logic signed [63:0] y_i,
  output logic              valid_o,
  output fxp_pkg::scaled_t  r_o
);

  localparam int LATENCY = fxp_pkg::EXP2_LATENCY;

  logic               valid_t;
  logic signed [63:0] m_t;
  logic signed [31:0] k_t;
  fxp_qtab #(
    .ENTRIES (ballast_tables_pkg::EXP2_ENTRIES),
    .ADDR_W  (ballast_tables_pkg::EXP2_ADDR_W),
    .T_W     (ballast_tables_pkg::EXP2_T_FRAC),
    .T_FRAC  (ballast_tables_pkg::EXP2_T_FRAC),
    .GUARD   (ballast_tables_pkg::EXP2_GUARD),
    .C0_W    (ballast_tables_pkg::EXP2_C0_W),
    .C1_W    (ballast_tables_pkg::EXP2_C1_W),
    .C2_W    (ballast_tables_pkg::EXP2_C2_W),
    .SIDE_W  (32),
    .MEM_DIR (MEM_DIR),
    .C0_FILE (ballast_tables_pkg::EXP2_C0_FILE),
    .C1_FILE (ballast_tables_pkg::EXP2_C1_FILE),
    .C2_FILE (ballast_tables_pkg::EXP2_C2_FILE)
  ) u_tab (
    .clk_i   (clk_i),
    .rst_ni  (rst_ni),
    .valid_i (valid_i),
    .addr_i  (y_i[31:24]),
    .t_i     (y_i[23:0]),
    .side_i  (y_i[63:32]),      // int32(k): the low 32 bits of y >> 32
    .valid_o (valid_t),
    .y_o     (m_t),
    .side_o  (k_t)
  );

  // Stage 5: m = min(out, 2^31 − 1) (the table output is positive and below
  // 2^32), E = k − 30.
  logic             valid_q;
  fxp_pkg::scaled_t r_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) valid_q <= 1'b0;
    else         valid_q <= valid_t;
  end
  always_ff @(posedge clk_i) begin
    r_q.m <= (m_t > 64'sd2147483647) ? 32'sd2147483647 : m_t[31:0];
    r_q.e <= k_t - 32'sd30;
  end

  assign valid_o = valid_q;
  assign r_o     = r_q;

  logic unused_m_hi;
  assign unused_m_hi = ^m_t[63:32];

endmodule

`default_nettype wire
