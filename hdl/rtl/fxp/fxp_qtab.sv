// One piecewise-quadratic function table (docs/accel-numerics.md §4),
// pipelined: y = rshr(c0 + rshr((c1 + rshr(c2·t, T_FRAC))·t, T_FRAC), GUARD)
// for entry addr_i at offset t_i (T_FRAC fraction bits, 0 ≤ t < 2^T_FRAC),
// bit-exact with fxp.eval.
//
// Initiation interval 1, latency LATENCY = QTAB_LATENCY = 4 cycles from
// addr_i/t_i to y_o: (1) synchronous ROM read, (2) c2·t, (3) (c1 + p)·t,
// (4) c0 + p and the guard rounding. side_i travels with the entry (the
// caller's sign, exponent or flags) and valid_o follows valid_i by exactly
// LATENCY cycles. Only the valid bits are reset.
//
// The coefficient ROMs are $readmemh images MEM_DIR/<file> (hdl/mem, generated
// with ballast_tables_pkg), one word per entry, two's complement masked to
// C<k>_W bits. Each is read by one registered address with no enable and no
// reset, the template that synthesis maps to block RAM (invnorm: 3200 × 79
// bits) or, for the small tables, to distributed ROM.
//
// Multipliers (UltraScale+ DSP48E2: 27 × 18 signed): c2·t is C2_W × (T_W+1)
// signed (at most 18 × 25: one DSP48E2); (c1 + p)·t is S_W × (T_W+1) signed
// (at most 30 × 25: two DSP48E2, cascaded). |rshr(c·t, T_FRAC)| ≤ |c|, so
// every register below holds exactly its value range.
`default_nettype none

module fxp_qtab #(
  parameter int ENTRIES = 256,
  parameter int ADDR_W  = 8,
  parameter int T_W     = 24,
  parameter int T_FRAC  = 24,
  parameter int GUARD   = 4,
  parameter int C0_W    = 36,
  parameter int C1_W    = 28,
  parameter int C2_W    = 18,
  parameter int SIDE_W  = 1,
  parameter string MEM_DIR = "hdl/mem",
  parameter string C0_FILE = "exp2_c0.memh",
  parameter string C1_FILE = "exp2_c1.memh",
  parameter string C2_FILE = "exp2_c2.memh"
) (
  input  logic               clk_i,
  input  logic               rst_ni,
  input  logic               valid_i,
  input  logic [ADDR_W-1:0]  addr_i,
  input  logic [T_W-1:0]     t_i,
  input  logic [SIDE_W-1:0]  side_i,
  output logic               valid_o,
  output logic signed [63:0] y_o,
  output logic [SIDE_W-1:0]  side_o
);

  localparam int LATENCY = fxp_pkg::QTAB_LATENCY;

  localparam int P2_W = C2_W + 1;                              // rshr(c2·t)
  localparam int S_W  = ((C1_W > P2_W) ? C1_W : P2_W) + 1;     // c1 + p
  localparam int P3_W = S_W + 1;                               // rshr((c1+p)·t)
  localparam int Y_W  = ((C0_W > P3_W) ? C0_W : P3_W) + 1;     // c0 + p
  localparam int O_W  = Y_W - GUARD + 1;                       // rshr(y, GUARD)
  localparam int M2_W = C2_W + T_W + 1;                        // c2·t
  localparam int M3_W = S_W + T_W + 1;                         // (c1+p)·t

  logic [C0_W-1:0] c0_rom [ENTRIES];
  logic [C1_W-1:0] c1_rom [ENTRIES];
  logic [C2_W-1:0] c2_rom [ENTRIES];

  initial begin
    $readmemh({MEM_DIR, "/", C0_FILE}, c0_rom);
    $readmemh({MEM_DIR, "/", C1_FILE}, c1_rom);
    $readmemh({MEM_DIR, "/", C2_FILE}, c2_rom);
  end

  // Stage 1: ROM read, offset.
  logic signed [C0_W-1:0] c0_1_q;
  logic signed [C1_W-1:0] c1_1_q;
  logic signed [C2_W-1:0] c2_1_q;
  logic [T_W-1:0]         t_1_q;
  logic [SIDE_W-1:0]      side_1_q;
  always_ff @(posedge clk_i) begin
    c0_1_q   <= c0_rom[addr_i];
    c1_1_q   <= c1_rom[addr_i];
    c2_1_q   <= c2_rom[addr_i];
    t_1_q    <= t_i;
    side_1_q <= side_i;
  end

  // Stage 2: p = rshr(c2·t, T_FRAC).
  logic signed [M2_W-1:0] m2;
  logic signed [63:0]     p_2_d;
  assign m2    = c2_1_q * $signed({1'b0, t_1_q});
  assign p_2_d = fxp_pkg::rshr(64'(m2), 6'(T_FRAC));

  logic signed [C0_W-1:0] c0_2_q;
  logic signed [C1_W-1:0] c1_2_q;
  logic [T_W-1:0]         t_2_q;
  logic signed [P2_W-1:0] p_2_q;
  logic [SIDE_W-1:0]      side_2_q;
  always_ff @(posedge clk_i) begin
    p_2_q    <= P2_W'(p_2_d);
    c0_2_q   <= c0_1_q;
    c1_2_q   <= c1_1_q;
    t_2_q    <= t_1_q;
    side_2_q <= side_1_q;
  end

  // Stage 3: p = rshr((c1 + p)·t, T_FRAC).
  logic signed [S_W-1:0]  s_2;
  logic signed [M3_W-1:0] m3;
  logic signed [63:0]     p_3_d;
  assign s_2   = S_W'(c1_2_q) + S_W'(p_2_q);
  assign m3    = s_2 * $signed({1'b0, t_2_q});
  assign p_3_d = fxp_pkg::rshr(64'(m3), 6'(T_FRAC));

  logic signed [C0_W-1:0] c0_3_q;
  logic signed [P3_W-1:0] p_3_q;
  logic [SIDE_W-1:0]      side_3_q;
  always_ff @(posedge clk_i) begin
    p_3_q    <= P3_W'(p_3_d);
    c0_3_q   <= c0_2_q;
    side_3_q <= side_2_q;
  end

  // Stage 4: y = rshr(c0 + p, GUARD).
  logic signed [Y_W-1:0] y_3;
  logic signed [63:0]    y_4_d;
  assign y_3   = Y_W'(c0_3_q) + Y_W'(p_3_q);
  assign y_4_d = fxp_pkg::rshr(64'(y_3), 6'(GUARD));

  logic signed [O_W-1:0] y_4_q;
  logic [SIDE_W-1:0]     side_4_q;
  always_ff @(posedge clk_i) begin
    y_4_q    <= O_W'(y_4_d);
    side_4_q <= side_3_q;
  end

  assign y_o    = 64'(y_4_q);
  assign side_o = side_4_q;

  // The rounded values fit their registers; the bits above are sign.
  logic unused_hi;
  assign unused_hi = ^{p_2_d[63:P2_W], p_3_d[63:P3_W], y_4_d[63:O_W]};

  logic [LATENCY-1:0] valid_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) valid_q <= '0;
    else         valid_q <= {valid_q[LATENCY-2:0], valid_i};
  end
  assign valid_o = valid_q[LATENCY-1];

endmodule

`default_nettype wire
