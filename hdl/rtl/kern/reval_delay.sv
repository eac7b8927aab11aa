// A data delay line for the REVAL lane (ballast_reval): dout_o is din_i of
// DEPTH cycles ago (DEPTH = 0: a wire). Free-running, without enable or
// reset: the lane times its data by one valid shift register and never reads
// a stage whose valid bit is low, so the data registers need no reset (they
// map to SRL shift registers).
`default_nettype none

module reval_delay #(
  parameter int unsigned WIDTH = 64,
  parameter int unsigned DEPTH = 1
) (
  input  logic             clk_i,
  input  logic [WIDTH-1:0] din_i,
  output logic [WIDTH-1:0] dout_o
);

  if (DEPTH == 0) begin : g_wire
    assign dout_o = din_i;
    // clk_i is unused by a zero-depth line.
    logic unused_clk;
    assign unused_clk = clk_i;
  end else begin : g_regs
    logic [WIDTH-1:0] q [DEPTH];
    always_ff @(posedge clk_i) begin
      q[0] <= din_i;
      for (int k = 1; k < DEPTH; k++) q[k] <= q[k-1];
    end
    assign dout_o = q[DEPTH-1];
  end

endmodule

`default_nettype wire
