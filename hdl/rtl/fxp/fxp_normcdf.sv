// NormCDF (docs/accel-numerics.md §5): N(d) in uQ1.31 for d in sQ3.28 (any
// int64, |d| clamped to 2^31 − 1), bit-exact with fxp.NormCDF: a = |d|, the
// normcdf table, entry a >> 20 at offset a mod 2^20, gives T = N(−a),
// saturated to [0, 2^30]; N(d) = T for d < 0, 2^31 − T otherwise.
//
// Initiation interval 1, latency LATENCY = NORMCDF_LATENCY = 6 cycles:
// (1) |d| and sign, (2–5) fxp_qtab, (6) saturation and reflection. valid_o
// follows valid_i by exactly LATENCY cycles; only the valid bits are reset.
//
// Resources: the 2048-entry table (36 + 27 + 17 bits) in block RAM; c2·t is
// 17 × 21 bits (one DSP48E2), (c1 + p)·t 29 × 21 bits (two).
`default_nettype none

module fxp_normcdf #(
  parameter string MEM_DIR = "hdl/mem"
) (
  input  logic        clk_i,
  input  logic        rst_ni,
  input  logic        valid_i,
  input  logic [63:0] d_i,
  output logic        valid_o,
  output logic [31:0] p_o
);

  localparam int LATENCY = fxp_pkg::NORMCDF_LATENCY;
  localparam int T_W     = ballast_tables_pkg::NORMCDF_T_FRAC;  // 20

  // Stage 1: a = |sat(d)| (31 bits), sign.
  logic        valid_1_q;
  logic [30:0] a_1_q;
  logic        neg_1_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) valid_1_q <= 1'b0;
    else         valid_1_q <= valid_i;
  end
  always_ff @(posedge clk_i) begin
    a_1_q   <= fxp_pkg::dabs(signed'(d_i));
    neg_1_q <= d_i[63];
  end

  logic               valid_t;
  logic signed [63:0] y_t;
  logic               neg_t;
  fxp_qtab #(
    .ENTRIES (ballast_tables_pkg::NORMCDF_ENTRIES),
    .ADDR_W  (ballast_tables_pkg::NORMCDF_ADDR_W),
    .T_W     (T_W),
    .T_FRAC  (ballast_tables_pkg::NORMCDF_T_FRAC),
    .GUARD   (ballast_tables_pkg::NORMCDF_GUARD),
    .C0_W    (ballast_tables_pkg::NORMCDF_C0_W),
    .C1_W    (ballast_tables_pkg::NORMCDF_C1_W),
    .C2_W    (ballast_tables_pkg::NORMCDF_C2_W),
    .SIDE_W  (1),
    .MEM_DIR (MEM_DIR),
    .C0_FILE (ballast_tables_pkg::NORMCDF_C0_FILE),
    .C1_FILE (ballast_tables_pkg::NORMCDF_C1_FILE),
    .C2_FILE (ballast_tables_pkg::NORMCDF_C2_FILE)
  ) u_tab (
    .clk_i   (clk_i),
    .rst_ni  (rst_ni),
    .valid_i (valid_1_q),
    .addr_i  (a_1_q[30:T_W]),
    .t_i     (a_1_q[T_W-1:0]),
    .side_i  (neg_1_q),
    .valid_o (valid_t),
    .y_o     (y_t),
    .side_o  (neg_t)
  );

  // Stage 6: T = sat(out, 0, 2^30); N(d) = T (d < 0) or 2^31 − T.
  logic signed [63:0] tail;
  assign tail = fxp_pkg::sat64(y_t, 64'sd0, 64'sd1073741824);

  logic        valid_q;
  logic [31:0] p_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) valid_q <= 1'b0;
    else         valid_q <= valid_t;
  end
  always_ff @(posedge clk_i) p_q <= neg_t ? tail[31:0] : 32'(ballast_tables_pkg::P_ONE) - tail[31:0];

  assign valid_o = valid_q;
  assign p_o     = p_q;

  // The saturated tail lies in [0, 2^30].
  logic unused_tail_hi;
  assign unused_tail_hi = ^tail[63:32];

endmodule

`default_nettype wire
