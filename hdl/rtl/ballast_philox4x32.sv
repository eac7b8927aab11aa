// Philox4x32-10 (Salmon, Moraes, Dror, Shaw, SC11; Random123 philox4x32_R(10)),
// bit-exact with engine/scenario.Philox4x32.
//
// Fully pipelined: initiation interval 1 (a new counter/key every cycle),
// latency PHILOX_LATENCY = 20 cycles (10 rounds x 2 stages: a registered
// 32x32->64 multiply pair, then the xor/permute mix with the key bump).
// valid_o follows valid_i by exactly PHILOX_LATENCY cycles; the pipeline
// never stalls, so the caller reserves room for what it issues (credits).
// flush_i drops every block in flight (valid bits only; the datapath has no
// reset).
//
// Word k of the counter, key and output lies at bits [32k +: 32].
`default_nettype none

module ballast_philox4x32 (
  input  logic         clk_i,
  input  logic         rst_ni,
  input  logic         flush_i,
  input  logic         valid_i,
  input  logic [127:0] ctr_i,
  input  logic [63:0]  key_i,
  output logic         valid_o,
  output logic [127:0] data_o
);

  localparam int unsigned R = ballast_pkg::PHILOX_ROUNDS;

  // Round r input (r = 0 .. R): round_c[0] is the counter, round_c[R] the result.
  logic [127:0] round_c [R+1];
  logic [63:0]  round_k [R+1];

  // Multiply stage registers of each round.
  logic [63:0] p0_q [R], p1_q [R];
  logic [31:0] c1_q [R], c3_q [R];
  logic [63:0] km_q [R];
  // Mix stage registers of each round.
  logic [127:0] c_q [R];
  logic [63:0]  k_q [R];

  assign round_c[0] = ctr_i;
  assign round_k[0] = key_i;

  for (genvar r = 0; r < R; r++) begin : g_round
    logic [31:0] c0, c1, c2, c3, k0, k1;
    assign c0 = round_c[r][31:0];
    assign c1 = round_c[r][63:32];
    assign c2 = round_c[r][95:64];
    assign c3 = round_c[r][127:96];

    // Stage 1: the two 32x32->64 products.
    always_ff @(posedge clk_i) begin
      p0_q[r] <= 64'(ballast_pkg::PHILOX_M0) * 64'(c0);
      p1_q[r] <= 64'(ballast_pkg::PHILOX_M1) * 64'(c2);
      c1_q[r] <= c1;
      c3_q[r] <= c3;
      km_q[r] <= round_k[r];
    end

    // Stage 2: {hi(p1)^c1^k0, lo(p1), hi(p0)^c3^k1, lo(p0)}, key += (W0, W1).
    assign k0 = km_q[r][31:0];
    assign k1 = km_q[r][63:32];
    always_ff @(posedge clk_i) begin
      c_q[r] <= {p0_q[r][31:0],
                 p0_q[r][63:32] ^ c3_q[r] ^ k1,
                 p1_q[r][31:0],
                 p1_q[r][63:32] ^ c1_q[r] ^ k0};
      k_q[r] <= {k1 + ballast_pkg::PHILOX_W1, k0 + ballast_pkg::PHILOX_W0};
    end

    assign round_c[r+1] = c_q[r];
    assign round_k[r+1] = k_q[r];
  end

  assign data_o = round_c[R];

  // The key after the last round is not used.
  logic unused_last_key;
  assign unused_last_key = ^round_k[R];

  // Valid bits: a shift register of PHILOX_LATENCY stages.
  logic [ballast_pkg::PHILOX_LATENCY-1:0] valid_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      valid_q <= '0;
    end else if (flush_i) begin
      valid_q <= '0;
    end else begin
      valid_q <= {valid_q[ballast_pkg::PHILOX_LATENCY-2:0], valid_i};
    end
  end
  assign valid_o = valid_q[ballast_pkg::PHILOX_LATENCY-1];

endmodule

`default_nettype wire
