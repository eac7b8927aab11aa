// Synchronous first-word-fall-through FIFO: rdata_o shows the oldest entry
// whenever valid_o is high. Pushing when full and popping when empty are
// ignored (callers check ready_o / valid_o). All outputs come from registers
// or the storage array (no combinational path from push/pop to ready/valid),
// so the FIFO also breaks timing paths between AXI channels. flush_i empties
// it. DEPTH must be a power of two >= 2.
`default_nettype none

module ballast_fifo #(
  parameter int unsigned WIDTH = 64,
  parameter int unsigned DEPTH = 16
) (
  input  logic             clk_i,
  input  logic             rst_ni,
  input  logic             flush_i,
  input  logic             push_i,
  input  logic [WIDTH-1:0] wdata_i,
  output logic             ready_o,   // not full
  input  logic             pop_i,
  output logic [WIDTH-1:0] rdata_o,
  output logic             valid_o,   // not empty
  output logic [$clog2(DEPTH):0] count_o
);

  localparam int unsigned PTR_BITS = $clog2(DEPTH);

  logic [WIDTH-1:0]  mem_q [DEPTH];
  logic [PTR_BITS:0] wptr_q, rptr_q;
  logic              do_push, do_pop;

  assign count_o = wptr_q - rptr_q;
  assign ready_o = count_o != (PTR_BITS+1)'(DEPTH);
  assign valid_o = wptr_q != rptr_q;
  assign do_push = push_i && ready_o;
  assign do_pop  = pop_i && valid_o;
  assign rdata_o = mem_q[rptr_q[PTR_BITS-1:0]];

  always_ff @(posedge clk_i) begin
    if (do_push) begin
      mem_q[wptr_q[PTR_BITS-1:0]] <= wdata_i;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      wptr_q <= '0;
      rptr_q <= '0;
    end else if (flush_i) begin
      wptr_q <= '0;
      rptr_q <= '0;
    end else begin
      if (do_push) wptr_q <= wptr_q + 1'b1;
      if (do_pop)  rptr_q <= rptr_q + 1'b1;
    end
  end

endmodule

`default_nettype wire
