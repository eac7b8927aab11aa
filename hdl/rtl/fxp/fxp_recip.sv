// Recip (docs/accel-numerics.md §5): 1/a in Scaled form for a positive Scaled a,
// bit-exact with fxp.Recip: the recip table, entry (M >> 21) mod 512 at offset
// M mod 2^21, gives r in (2^30, 2^31]; 1/a = Scaled{r, −E − 61}, or
// {2^30, −E − 60} when r = 2^31. A non-positive M gives the zero Scaled.
//
// Initiation interval 1, latency LATENCY = 6 cycles: (1) input register,
// (2–5) fxp_qtab, (6) renormalisation. valid_o follows valid_i by exactly
// LATENCY cycles; only the valid bits are reset.
`default_nettype none

module fxp_recip
  import fxp_pkg::*;
  import ballast_tables_pkg::*;
#(
  parameter string MEM_DIR = "hdl/mem"
) (
  input  logic    clk_i,
  input  logic    rst_ni,
  input  logic    valid_i,
  input  scaled_t a_i,
  output logic    valid_o,
  output scaled_t r_o
);

  localparam int LATENCY = RECIP_LATENCY;

  // Stage 1: input register.
  logic    valid_1_q;
  scaled_t a_1_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) valid_1_q <= 1'b0;
    else         valid_1_q <= valid_i;
  end
  always_ff @(posedge clk_i) a_1_q <= a_i;

  // Table address and the result's exponent (int32 arithmetic, as in Go).
  logic                     pos;
  logic [RECIP_ADDR_W-1:0]     addr;
  logic signed [31:0]       e_out;
  assign pos   = !a_1_q.m[31] && (a_1_q.m != '0);
  assign addr  = a_1_q.m[29:21];
  assign e_out = -a_1_q.e - 32'sd61;

  logic               valid_t;
  logic signed [63:0] r_t;
  logic               pos_t;
  logic signed [31:0] e_t;
  fxp_qtab #(
    .ENTRIES (RECIP_ENTRIES),
    .ADDR_W  (RECIP_ADDR_W),
    .T_W     (RECIP_T_FRAC),
    .T_FRAC  (RECIP_T_FRAC),
    .GUARD   (RECIP_GUARD),
    .C0_W    (RECIP_C0_W),
    .C1_W    (RECIP_C1_W),
    .C2_W    (RECIP_C2_W),
    .SIDE_W  (33),
    .MEM_DIR (MEM_DIR),
    .C0_FILE (RECIP_C0_FILE),
    .C1_FILE (RECIP_C1_FILE),
    .C2_FILE (RECIP_C2_FILE)
  ) u_tab (
    .clk_i   (clk_i),
    .rst_ni  (rst_ni),
    .valid_i (valid_1_q),
    .addr_i  (addr),
    .t_i     (a_1_q.m[RECIP_T_FRAC-1:0]),
    .side_i  ({pos, e_out}),
    .valid_o (valid_t),
    .y_o     (r_t),
    .side_o  ({pos_t, e_t})
  );

  // Stage 6: zero for a non-positive input; renormalise r = 2^31.
  logic    valid_q;
  scaled_t r_q;
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

  // The table output lies in (2^30, 2^31]; bit 30 of M is implied by the
  // index of a normalised mantissa and ignored for any other (as in Go).
  logic unused_bits;
  assign unused_bits = ^{r_t[63:32], a_1_q.m[30]};

endmodule

`default_nettype wire
