// InvNorm (docs/accel-numerics.md §5): the normal quantile of
// u = (w + ½)·2^-32 in sQ3.28, bit-exact with fxp.InvNorm.
//
// Fold v = w (w < 2^31) or ¬w; v < 128 reads entry v at t = 0; otherwise with
// k = bitlen(v) − 1 (7..30) and lo = k − 7 the entry is
// 128 + 128·(k−7) + ((v >> lo) & 127) at t = (2·(v mod 2^lo) + 1) << (23 − lo).
// The result is negated for w ≥ 2^31.
//
// Initiation interval 1, latency LATENCY = 6 cycles: (1) input register,
// (2–5) fxp_qtab (the fold, clz and index form its address combinationally),
// (6) sign. valid_o follows valid_i by exactly LATENCY cycles; the pipeline
// never stalls. Only the valid bits are reset.
`default_nettype none

module fxp_invnorm
  import fxp_pkg::*;
  import ballast_tables_pkg::*;
#(
  parameter string MEM_DIR = "hdl/mem"
) (
  input  logic        clk_i,
  input  logic        rst_ni,
  input  logic        valid_i,
  input  logic [31:0] w_i,
  output logic        valid_o,
  output logic [31:0] z_o
);

  localparam int LATENCY = INVNORM_LATENCY;
  localparam int SUB = INVNORM_SUB_BITS;
  localparam int T_W = INVNORM_T_FRAC;

  // Stage 1: input register.
  logic        valid_1_q;
  logic [31:0] w_1_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) valid_1_q <= 1'b0;
    else         valid_1_q <= valid_i;
  end
  always_ff @(posedge clk_i) w_1_q <= w_i;

  // Fold, octave and offset (combinational, into the table's ROM address).
  logic [31:0]               v;
  logic [INVNORM_ADDR_W-1:0] addr;
  logic [T_W-1:0]            t;
  always_comb begin
    int unsigned k, lo;
    logic [31:0] r;
    v    = w_1_q[31] ? ~w_1_q : w_1_q;
    addr = '0;
    t    = '0;
    k    = 0;
    lo   = 0;
    r    = '0;
    if (v < 32'(1 << SUB)) begin
      addr = INVNORM_ADDR_W'(v);
    end else begin
      k    = bitlen32(v) - 1;
      lo   = k - SUB;
      addr = INVNORM_ADDR_W'((1 << SUB) + ((k - SUB) << SUB) + ((v >> lo) & ((1 << SUB) - 1)));
      r    = v & ((32'd1 << lo) - 32'd1);
      t    = T_W'((2 * r + 1) << (T_W - 1 - lo));
    end
  end

  logic               valid_t;
  logic signed [63:0] y_t;
  logic               neg_t;
  fxp_qtab #(
    .ENTRIES (INVNORM_ENTRIES),
    .ADDR_W  (INVNORM_ADDR_W),
    .T_W     (T_W),
    .T_FRAC  (INVNORM_T_FRAC),
    .GUARD   (INVNORM_GUARD),
    .C0_W    (INVNORM_C0_W),
    .C1_W    (INVNORM_C1_W),
    .C2_W    (INVNORM_C2_W),
    .SIDE_W  (1),
    .MEM_DIR (MEM_DIR),
    .C0_FILE (INVNORM_C0_FILE),
    .C1_FILE (INVNORM_C1_FILE),
    .C2_FILE (INVNORM_C2_FILE)
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
