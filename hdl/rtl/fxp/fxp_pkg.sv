// Fixed-point helpers of the risk kernel (docs/accel-numerics.md §1, §3, §4),
// bit-exact with accel/fxp/arith.go: the one rounding rule rshr, the bit
// length (count of leading zeros), saturation, |d| of NormCDF/NormPDF, and the
// Scaled normalisation Norm and product Mul. They are combinational
// functions; the units (fxp_*.sv) place pipeline registers between them. The
// quadratic table evaluator eval is the pipelined module fxp_qtab, the Scaled
// product Mul the pipelined module fxp_smul.
//
// Dialect: the fixed-point RTL is written in the subset of SystemVerilog that
// both Verilator 5.006 and Yosys 0.23 (hdl/synth/fxp_synth.sh) read: package
// items are named with their package (fxp_pkg::rshr, not an import, which
// Yosys 0.23 does not parse) and functions assign their result to the
// function name (no return statement). Yosys 0.23 does not know the string
// type either: the synthesis script reads a copy of the sources with the word
// `string` dropped from string parameters. The functions take 64-bit
// operands; every caller truncates to the width the value needs, and
// synthesis drops the unused bits.
`default_nettype none

package fxp_pkg;

  // Latencies of the units (cycles from valid_i to valid_o; every unit has
  // initiation interval 1). Each unit's LATENCY localparam is its constant.
  localparam int QTAB_LATENCY    = 4;                     // ROM, c2·t, (c1+p)·t, c0+p
  localparam int EXP2_LATENCY    = QTAB_LATENCY + 1;      // table, saturation
  localparam int INVNORM_LATENCY = 1 + QTAB_LATENCY + 1;  // input, table, sign
  localparam int EXP_LATENCY     = 2 + EXP2_LATENCY;      // clamp, x·log2 e, 2^y
  localparam int NORMCDF_LATENCY = 1 + QTAB_LATENCY + 1;  // |d|, table, reflection
  localparam int NORMPDF_LATENCY = 3 + EXP2_LATENCY;      // |d|, v, y, 2^−y
  localparam int RECIP_LATENCY   = 1 + QTAB_LATENCY + 1;  // input, table, carry
  localparam int RSQRT_LATENCY   = 1 + QTAB_LATENCY + 1;  // input, table, carry
  localparam int SMUL_LATENCY    = 4;                     // input, product, clz, shift

  // A Scaled number M·2^E: 2^30 ≤ |M| < 2^31, or M = E = 0. As a 64-bit
  // vector (the testbench vectors' layout) M is the upper word.
  typedef struct packed {
    logic signed [31:0] m;
    logic signed [31:0] e;
  } scaled_t;

  // rshr(x, n) = (x + 2^(n−1)) >> n (arithmetic), written without the
  // overflow of the addition: (x >>> n) + ((x >>> (n−1)) & 1); rshr(x, 0) =
  // x. 0 ≤ n ≤ 63.
  function automatic logic signed [63:0] rshr(input logic signed [63:0] x,
                                             input logic [5:0] n);
    if (n == 6'd0) rshr = x;
    else           rshr = (x >>> n) + ((x >>> (n - 6'd1)) & 64'sd1);
  endfunction

  // bitlen64(x) = 64 − clz(x): the position of the leading one plus one, 0
  // for x = 0 (a priority encoder).
  function automatic logic [6:0] bitlen64(input logic [63:0] x);
    bitlen64 = 7'd0;
    for (int i = 0; i < 64; i++) begin
      if (x[i]) bitlen64 = 7'(i + 1);
    end
  endfunction

  // bitlen32(x) = 32 − clz(x).
  function automatic logic [5:0] bitlen32(input logic [31:0] x);
    bitlen32 = 6'd0;
    for (int i = 0; i < 32; i++) begin
      if (x[i]) bitlen32 = 6'(i + 1);
    end
  endfunction

  // sat64(v, lo, hi) = min(max(v, lo), hi).
  function automatic logic signed [63:0] sat64(input logic signed [63:0] v,
                                              input logic signed [63:0] lo,
                                              input logic signed [63:0] hi);
    if (v < lo)      sat64 = lo;
    else if (v > hi) sat64 = hi;
    else             sat64 = v;
  endfunction

  // dabs(d) = |d| after saturating d to ±(2^31−1) (fxp.dAbs): the argument
  // of NormCDF and NormPDF, just below 8.0 in sQ3.28.
  function automatic logic [30:0] dabs(input logic signed [63:0] d);
    logic signed [63:0] c;
    c    = sat64(d, -64'sd2147483647, 64'sd2147483647);
    dabs = (c < 64'sd0) ? 31'(-c) : c[30:0];
  endfunction

  // norm_sh(v) = bitlen(|v|) − 31, the normalising shift of a nonzero v
  // (−30..33).
  function automatic logic signed [31:0] norm_sh(input logic signed [63:0] v);
    logic [63:0] mag;
    mag     = v[63] ? 64'(-v) : 64'(v);
    norm_sh = 32'(bitlen64(mag)) - 32'sd31;
  endfunction

  // norm_shift(v, sh, e): the shift step of Norm for a nonzero v with
  // sh = norm_sh(v): M = rshr(v, sh) for sh > 0 (a rounding that reaches
  // 2^31 is halved exactly and the exponent incremented), else M = v << −sh
  // (exact); E = e + sh (int32 arithmetic, as Go's int32()). fxp_smul
  // registers the shift between the two steps.
  function automatic scaled_t norm_shift(input logic signed [63:0] v,
                                         input logic signed [31:0] sh,
                                         input logic signed [31:0] e);
    logic signed [63:0] m;
    logic signed [31:0] k;
    k = sh;
    if (k > 32'sd0) begin
      m = rshr(v, k[5:0]);
      if (m == 64'sd2147483648) begin
        m = m >>> 1;
        k = k + 32'sd1;
      end
    end else begin
      m = v <<< 6'(-k);
    end
    norm_shift = {m[31:0], e + k};   // {M, E}
  endfunction

  // norm(v, e) = v·2^e in Scaled form (fxp.Norm); norm(0, e) = {0, 0}.
  function automatic scaled_t norm(input logic signed [63:0] v, input logic signed [31:0] e);
    if (v == 64'sd0) norm = '0;
    else             norm = norm_shift(v, norm_sh(v), e);
  endfunction

  // smul(a, b) = norm(a.M·b.M, a.E + b.E) (fxp.Mul): a 32×32-bit product.
  // The pipelined form is fxp_smul.
  function automatic scaled_t smul(input scaled_t a, input scaled_t b);
    logic signed [63:0] p;
    p    = a.m * b.m;
    smul = norm(p, a.e + b.e);
  endfunction

endpackage

`default_nettype wire
