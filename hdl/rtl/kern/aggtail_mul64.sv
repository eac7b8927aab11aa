// AGGTAIL helper: pipelined 64 x 64 -> low 64 bits multiply (Go's wrapping
// int64 multiply; the low half of the product is the same for signed and
// unsigned operands), II 1, LATENCY 3, with a TAG_W-bit side band that
// travels with each operand.
//
//   stage 1: register a (b is the caller's per-row constant);
//   stage 2: the three partial products that reach the low 64 bits:
//            a_lo*b_lo (64 bits), low 32 bits of a_hi*b_lo + a_lo*b_hi;
//   stage 3: p = a_lo*b_lo + (cross << 32).
// Three 32 x 32 products (about 10 DSP48E2 on UltraScale+).
`default_nettype none

module aggtail_mul64 #(
  parameter int unsigned TAG_W = 1
) (
  input  logic             clk_i,
  input  logic             rst_ni,
  input  logic             flush_i,   // drop everything in flight
  input  logic             valid_i,
  input  logic [63:0]      a_i,
  input  logic [63:0]      b_i,       // stable while operands are in flight
  input  logic [TAG_W-1:0] tag_i,
  output logic             valid_o,
  output logic [63:0]      p_o,
  output logic [TAG_W-1:0] tag_o,
  output logic             busy_o     // an operand is in flight
);

  logic             v1_q, v2_q, v3_q;
  logic [63:0]      a1_q;
  logic [TAG_W-1:0] t1_q, t2_q, t3_q;
  logic [63:0]      ll2_q;
  logic [31:0]      x2_q;
  logic [63:0]      p3_q;

  logic [31:0] hl, lh;       // low halves of the cross products
  assign hl = a1_q[63:32] * b_i[31:0];
  assign lh = a1_q[31:0] * b_i[63:32];

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      v1_q <= 1'b0;
      v2_q <= 1'b0;
      v3_q <= 1'b0;
    end else if (flush_i) begin
      v1_q <= 1'b0;
      v2_q <= 1'b0;
      v3_q <= 1'b0;
    end else begin
      v1_q <= valid_i;
      v2_q <= v1_q;
      v3_q <= v2_q;
    end
  end

  // Data path: no reset (qualified by the valid bits).
  always_ff @(posedge clk_i) begin
    a1_q  <= a_i;
    t1_q  <= tag_i;
    ll2_q <= {32'd0, a1_q[31:0]} * {32'd0, b_i[31:0]};
    x2_q  <= hl + lh;
    t2_q  <= t1_q;
    p3_q  <= ll2_q + {x2_q, 32'd0};
    t3_q  <= t2_q;
  end

  assign valid_o = v3_q;
  assign p_o     = p3_q;
  assign tag_o   = t3_q;
  assign busy_o  = v1_q || v2_q || v3_q;

endmodule

`default_nettype wire
