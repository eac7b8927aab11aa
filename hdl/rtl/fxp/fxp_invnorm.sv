// InvNorm (docs/accel-numerics.md §5): the normal quantile of
// u = (w + ½)·2^-32 in sQ3.28, bit-exact with fxp.InvNorm.
//
// Fold v = w (w < 2^31) or ¬w; v < 128 reads entry v at t = 0; otherwise with
// k = bitlen(v) − 1 (7..30) and lo = k − 7 the entry is
// 128 + 128·(k−7) + ((v >> lo) & 127) at t = (2·(v mod 2^lo) + 1) << (23 − lo).
// The result is negated for w ≥ 2^31, so InvNorm(¬w) = −InvNorm(w) exactly.
//
// Initiation interval 1, latency LATENCY = INVNORM_LATENCY = 6 cycles:
// (1) input register, (2–5) fxp_qtab (the fold, the count of leading zeros,
// the index and the offset shift form its ROM address combinationally in
// stage 2), (6) sign. valid_o follows valid_i by exactly LATENCY cycles; the
// pipeline never stalls. Only the valid bits are reset.
//
// Resources: the 3200-entry table (36 + 26 + 17 bits) in block RAM; c2·t is
// 17 × 25 bits (one DSP48E2), (c1 + p)·t 27 × 25 bits (two).
`default_nettype none

module fxp_invnorm #(
  parameter string MEM_DIR = "hdl/mem"
) (
  input  logic        clk_i,
  input  logic        rst_ni,
  input  logic        valid_i,
  input  logic [31:0] w_i,
  output logic        valid_o,
  output logic [31:0] z_o
);

  localparam int LATENCY = fxp_pkg::INVNORM_LATENCY;
  localparam int SUB     = ballast_tables_pkg::INVNORM_SUB_BITS;  // 7
  localparam int T_W     = ballast_tables_pkg::INVNORM_T_FRAC;    // 24
  localparam int ADDR_W  = ballast_tables_pkg::INVNORM_ADDR_W;    // 12

  // Stage 1: input register.
  logic        valid_1_q;
  logic [31:0] w_1_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) valid_1_q <= 1'b0;
    else         valid_1_q <= valid_i;
  end
  always_ff @(posedge clk_i) w_1_q <= w_i;

  // Fold, octave and offset (combinational, into the table's ROM address).
  logic [31:0]       v;     // folded word, < 2^31
  logic [5:0]        k;     // octave: bitlen(v) − 1
  logic [4:0]        lo;    // bits below the sub-segment index: k − 7 (0..23)
  logic [31:0]       r;     // v mod 2^lo
  logic [SUB-1:0]    sub;   // the 7 bits of v below its leading one
  logic [ADDR_W-1:0] addr;
  logic [T_W-1:0]    t;
  assign v   = w_1_q[31] ? ~w_1_q : w_1_q;
  assign k   = fxp_pkg::bitlen32(v) - 6'd1;
  assign lo  = 5'(k - 6'(SUB));
  assign r   = v & ((32'd1 << lo) - 32'd1);
  assign sub = SUB'(v >> lo);
  always_comb begin
    if (v < 32'(1 << SUB)) begin
      addr = ADDR_W'(v);
      t    = '0;
    end else begin
      addr = ADDR_W'(1 << SUB) + (ADDR_W'(lo) << SUB) + ADDR_W'(sub);
      t    = T_W'({r, 1'b1} << (5'(T_W - 1) - lo));
    end
  end

  logic               valid_t;
  logic signed [63:0] y_t;
  logic               neg_t;
  fxp_qtab #(
    .ENTRIES (ballast_tables_pkg::INVNORM_ENTRIES),
    .ADDR_W  (ADDR_W),
    .T_W     (T_W),
    .T_FRAC  (ballast_tables_pkg::INVNORM_T_FRAC),
    .GUARD   (ballast_tables_pkg::INVNORM_GUARD),
    .C0_W    (ballast_tables_pkg::INVNORM_C0_W),
    .C1_W    (ballast_tables_pkg::INVNORM_C1_W),
    .C2_W    (ballast_tables_pkg::INVNORM_C2_W),
    .SIDE_W  (1),
    .MEM_DIR (MEM_DIR),
    .C0_FILE (ballast_tables_pkg::INVNORM_C0_FILE),
    .C1_FILE (ballast_tables_pkg::INVNORM_C1_FILE),
    .C2_FILE (ballast_tables_pkg::INVNORM_C2_FILE)
  ) u_tab (
    .clk_i   (clk_i),
    .rst_ni  (rst_ni),
    .valid_i (valid_1_q),
    .addr_i  (addr),
    .t_i     (t),
    .side_i  (w_1_q[31]),
    .valid_o (valid_t),
    .y_o     (y_t),
    .side_o  (neg_t)
  );

  // Stage 6: negate the upper half (|z| < 8 fits sQ3.28).
  logic        valid_6_q;
  logic [31:0] z_6_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) valid_6_q <= 1'b0;
    else         valid_6_q <= valid_t;
  end
  always_ff @(posedge clk_i) z_6_q <= neg_t ? 32'(-y_t) : y_t[31:0];

  assign valid_o = valid_6_q;
  assign z_o     = z_6_q;

  // The table output is below 2^31 in magnitude: its upper bits are sign.
  logic unused_y_hi;
  assign unused_y_hi = ^y_t[63:32];

endmodule

`default_nettype wire
