// Shared body of the fixed-point unit testbenches (included by tb_fxp_*.sv
// after the DUT). The including module declares clk, rst_n, valid_i,
// in_d (128 bits, the DUT input; most units use the low 64), valid_o, got
// (64 bits, the DUT output in the vector layout), UNIT (string) and LAT (the
// unit's LATENCY), and passes +vectors=<file> (accel/internal/fxpvec: word 0
// the count, then {in[127:0], out[63:0]} per word).
//
// Pass 1 issues every vector back to back (II = 1), pass 2 again with random
// gaps; the monitor checks every output, in issue order, exactly LAT cycles
// after its input, and stops with a nonzero exit status at the first
// mismatch, printing input, expected and actual.

  localparam int unsigned VEC_MAX = 1 << 16;

  always #5 clk = ~clk;

  logic [191:0] vec [VEC_MAX];
  int unsigned  n_vec;
  int unsigned  checked = 0;

  typedef struct packed {
    logic [127:0]    in;
    logic [63:0]     want;
    longint unsigned at;
  } expect_t;
  expect_t         exp_q[$];
  longint unsigned cycle = 0;
  logic [63:0]     want_in = '0;

  always @(posedge clk) begin
    cycle <= cycle + 1;
    if (rst_n) begin
      if (valid_i) begin
        expect_t e;
        e.in   = in_d;
        e.want = want_in;
        e.at   = cycle + 64'(LAT);
        exp_q.push_back(e);
      end
      if (valid_o) begin
        expect_t e;
        if (exp_q.size() == 0) begin
          $display("%s: FAIL: output %h with nothing in flight at cycle %0d", UNIT, got, cycle);
          $fatal(1);
        end
        e = exp_q.pop_front();
        checked++;
        if (got != e.want || cycle != e.at) begin
          $display("%s: FAIL: MISMATCH input %h expected %h actual %h (cycle %0d, expected at %0d)",
                   UNIT, e.in, e.want, got, cycle, e.at);
          $fatal(1);
        end
      end
    end
  end

  // Inputs change 1 ns after a rising edge, never at it.
  task automatic tick();
    @(posedge clk);
    #1;
  endtask

  task automatic issue(input int unsigned n);
    valid_i = 1'b1;
    in_d    = vec[n][191:64];
    want_in = vec[n][63:0];
    tick();
  endtask

  task automatic idle(input int unsigned cycles);
    valid_i = 1'b0;
    in_d    = {4{32'hdead_beef}};
    repeat (cycles) tick();
  endtask

  string path;
  initial begin
    valid_i = 1'b0;
    in_d    = '0;
    if (!$value$plusargs("vectors=%s", path)) begin
      $display("%s: FAIL: no +vectors=<file>", UNIT);
      $fatal(1);
    end
    $readmemh(path, vec);
    n_vec = vec[0][31:0];
    if (n_vec < 1 || n_vec >= VEC_MAX) begin
      $display("%s: FAIL: bad vector file %s (count %0d)", UNIT, path, n_vec);
      $fatal(1);
    end
    repeat (3) tick();
    rst_n = 1'b1;
    tick();

    for (int unsigned i = 1; i <= n_vec; i++) issue(i);
    idle(LAT + 2);

    for (int unsigned i = 1; i <= n_vec; i++) begin
      if ($urandom_range(3) == 0) idle($urandom_range(1, 4));
      issue(i);
    end
    idle(LAT + 2);

    if (exp_q.size() != 0) begin
      $display("%s: FAIL: %0d outputs never came out", UNIT, exp_q.size());
      $fatal(1);
    end
    if (checked != 2 * n_vec) begin
      $display("%s: FAIL: checked %0d outputs, want %0d", UNIT, checked, 2 * n_vec);
      $fatal(1);
    end
    $display("%s: PASS: %0d vectors x 2 (back to back, random gaps), bit-exact, latency %0d, II 1",
             UNIT, n_vec, LAT);
    $finish;
  end
