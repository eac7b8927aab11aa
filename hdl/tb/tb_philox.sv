// Unit testbench of ballast_philox4x32 against the Go golden vectors
// (accel/internal/tbvec -> philox.memh): every vector back to back (II = 1),
// again with random bubbles, the exact latency of every block, and a flush
// that drops the blocks in flight. Exits nonzero on any mismatch.
`default_nettype none

module tb_philox;
  import ballast_pkg::*;

  localparam int unsigned VEC_MAX = 1 << 16;

  logic         clk = 1'b0;
  logic         rst_n = 1'b0;
  logic         flush = 1'b0;
  logic         valid_i = 1'b0;
  logic [127:0] ctr = '0;
  logic [63:0]  key = '0;
  logic         valid_o;
  logic [127:0] data_o;

  always #5 clk = ~clk;

  ballast_philox4x32 dut (
    .clk_i   (clk),
    .rst_ni  (rst_n),
    .flush_i (flush),
    .valid_i (valid_i),
    .ctr_i   (ctr),
    .key_i   (key),
    .valid_o (valid_o),
    .data_o  (data_o)
  );

  logic [319:0] vec [VEC_MAX];
  int unsigned  n_vec;
  int unsigned  errors = 0;
  int unsigned  checked = 0;

  // Monitor: every output in issue order, exactly PHILOX_LATENCY edges later.
  typedef struct packed {
    logic [127:0]    want;
    longint unsigned at;
  } expect_t;
  expect_t         exp_q[$];
  longint unsigned cycle = 0;

  always @(posedge clk) begin
    cycle <= cycle + 1;
    if (!rst_n || flush) begin
      exp_q.delete();
    end else begin
      if (valid_i) begin
        // The vector being issued is tracked by the driver through `want_in`.
        expect_t e;
        e.want = want_in;
        e.at   = cycle + 64'(PHILOX_LATENCY);
        exp_q.push_back(e);
      end
      if (valid_o) begin
        if (exp_q.size() == 0) begin
          errors++;
          $display("tb_philox: output with nothing in flight at cycle %0d: %h", cycle, data_o);
        end else begin
          expect_t e;
          e = exp_q.pop_front();
          checked++;
          if (data_o != e.want || cycle != e.at) begin
            errors++;
            if (errors < 10)
              $display("tb_philox: MISMATCH cycle %0d (want cycle %0d): got %h want %h",
                       cycle, e.at, data_o, e.want);
          end
        end
      end
    end
  end

  logic [127:0] want_in = '0;

  // The driver changes inputs 1 ns after a rising edge, never at it, so the
  // design and the monitor sample settled values at the next edge.
  task automatic tick();
    @(posedge clk);
    #1;
  endtask

  task automatic issue(input int n);
    logic [15:0] i;
    i = 16'(n);
    valid_i = 1'b1;
    ctr     = vec[i][127:0];
    key     = vec[i][191:128];
    want_in = vec[i][319:192];
    tick();
  endtask

  task automatic idle(input int unsigned cycles);
    valid_i = 1'b0;
    repeat (cycles) tick();
  endtask

  string path;
  initial begin
    if (!$value$plusargs("vectors=%s", path)) path = "build/vectors/philox.memh";
    $readmemh(path, vec);
    n_vec = vec[0][31:0];
    if (n_vec < 3 || n_vec >= VEC_MAX) begin
      $display("tb_philox: bad vector file %s (count %0d)", path, n_vec);
      $fatal(1);
    end
    repeat (3) tick();
    rst_n = 1'b1;
    tick();

    // 1. Back to back: one block per cycle.
    for (int i = 1; i <= int'(n_vec); i++) issue(i);
    idle(PHILOX_LATENCY + 2);

    // 2. Random bubbles.
    for (int i = 1; i <= int'(n_vec); i++) begin
      if ($urandom_range(3) == 0) idle($urandom_range(1, 3));
      issue(i);
    end
    idle(PHILOX_LATENCY + 2);

    // 3. Flush with blocks in flight: nothing may come out.
    for (int i = 1; i <= 8; i++) issue(i);
    valid_i = 1'b0;
    repeat (5) tick();
    flush = 1'b1;
    tick();
    flush = 1'b0;
    idle(PHILOX_LATENCY + 2);

    // 4. After the flush the pipeline works again.
    for (int i = 1; i <= 16; i++) issue(i);
    idle(PHILOX_LATENCY + 2);

    if (exp_q.size() != 0) begin
      errors++;
      $display("tb_philox: %0d blocks never came out", exp_q.size());
    end
    if (checked != 2 * n_vec + 16) begin
      errors++;
      $display("tb_philox: checked %0d blocks, want %0d", checked, 2 * n_vec + 16);
    end
    if (errors != 0) begin
      $display("tb_philox: FAIL (%0d errors)", errors);
      $fatal(1);
    end
    $display("tb_philox: PASS: %0d vectors x 2 (incl. 3 Random123 KATs), latency %0d, II 1",
             n_vec, PHILOX_LATENCY);
    $finish;
  end

endmodule

`default_nettype wire
