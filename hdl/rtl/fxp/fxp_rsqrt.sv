// Rsqrt (docs/accel-numerics.md §5): 1/√a in Scaled form for a positive
// Scaled a, bit-exact with fxp.Rsqrt: F = E + 30; the rsqrt table entry is
// (M >> 21) mod 512, plus 512 (and F − 1) when F is odd, at offset M mod 2^21,
// giving r in (2^30, 2^31]; 1/√a = Scaled{r, −31 − F/2}, renormalised when
// r = 2^31. A non-positive M gives the zero Scaled. The exponent arithmetic
// wraps at 32 bits, as Go's int32.
//
// Initiation interval 1, latency LATENCY = RSQRT_LATENCY = 6 cycles:
// (1) input register, (2–5) fxp_qtab, (6) zero and renormalisation. valid_o
// follows valid_i by exactly LATENCY cycles; only the valid bits are reset.
//
// Resources: the 1024-entry table (36 + 26 + 17 bits) in block RAM; c2·t is
// 17 × 22 bits (one DSP48E2), (c1 + p)·t 27 × 22 bits (two).
`default_nettype none

module fxp_rsqrt #(
  parameter string MEM_DIR = "hdl/mem"
) (
  input  logic             clk_i,
  input  logic             rst_ni,
  input  logic             valid_i,
  input  fxp_pkg::scaled_t a_i,
  output logic             valid_o,
  output fxp_pkg::scaled_t r_o
);

  localparam int LATENCY = fxp_pkg::RSQRT_LATENCY;
  localparam int ADDR_W  = ballast_tables_pkg::RSQRT_ADDR_W;   // 10: {F odd, 9 mantissa bits}
  localparam int T_W     = ballast_tables_pkg::RSQRT_T_FRAC;   // 21

  // Stage 1: input register.
  logic             valid_1_q;
  fxp_pkg::scaled_t a_1_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) valid_1_q <= 1'b0;
    else         valid_1_q <= valid_i;
  end
  always_ff @(posedge clk_i) a_1_q <= a_i;

  // Table address and the result's exponent −31 − F/2 (F made even).
  logic               pos;
  logic [ADDR_W-1:0]  addr;
  logic signed [31:0] f, f_even, e_out;
  assign pos    = !a_1_q.m[31] && (a_1_q.m != '0);
  assign f      = a_1_q.e + 32'sd30;
  assign f_even = f - 32'(f[0]);
  assign addr   = {f[0], a_1_q.m[T_W +: ADDR_W-1]};
  assign e_out  = -32'sd31 - (f_even >>> 1);

  logic               valid_t;
  logic signed [63:0] r_t;
  logic               pos_t;
  logic signed [31:0] e_t;
  fxp_qtab #(
    .ENTRIES (ballast_tables_pkg::RSQRT_ENTRIES),
    .ADDR_W  (ADDR_W),
    .T_W     (T_W),
    .T_FRAC  (ballast_tables_pkg::RSQRT_T_FRAC),
    .GUARD   (ballast_tables_pkg::RSQRT_GUARD),
    .C0_W    (ballast_tables_pkg::RSQRT_C0_W),
    .C1_W    (ballast_tables_pkg::RSQRT_C1_W),
    .C2_W    (ballast_tables_pkg::RSQRT_C2_W),
    .SIDE_W  (33),
    .MEM_DIR (MEM_DIR),
    .C0_FILE (ballast_tables_pkg::RSQRT_C0_FILE),
    .C1_FILE (ballast_tables_pkg::RSQRT_C1_FILE),
    .C2_FILE (ballast_tables_pkg::RSQRT_C2_FILE)
  ) u_tab (
    .clk_i   (clk_i),
    .rst_ni  (rst_ni),
    .valid_i (valid_1_q),
    .addr_i  (addr),
    .t_i     (a_1_q.m[T_W-1:0]),
    .side_i  ({pos, e_out}),
    .valid_o (valid_t),
    .y_o     (r_t),
    .side_o  ({pos_t, e_t})
  );

  // Stage 6: zero for a non-positive input; renormalise r = 2^31.
  logic             valid_q;
  fxp_pkg::scaled_t r_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) valid_q <= 1'b0;
    else         valid_q <= valid_t;
  end
  always_ff @(posedge clk_i) begin
    if (!pos_t) begin
      r_q <= '0;
    end else if (r_t >= 64'sd2147483648) begin
      r_q.m <= 32'sd1073741824;
      r_q.e <= e_t + 32'sd1;
    end else begin
      r_q.m <= r_t[31:0];
      r_q.e <= e_t;
    end
  end

  assign valid_o = valid_q;
  assign r_o     = r_q;

  // The table output lies in (2^30, 2^31]; bit 30 of M is implied for a
  // normalised mantissa and ignored for any other (as in Go).
  logic unused_bits;
  assign unused_bits = ^{r_t[63:32], a_1_q.m[30]};

endmodule

`default_nettype wire
