// AGGTAIL helper: exact tails of one account-loss row held in the row RAM
// (fxp.TailSums): VaR = the kVaR-th largest of L[0..S) and ESsum = the sum
// of the kES largest, in wrapping int64 (Sum, the sum of all, the caller
// adds up as it writes the row).
//
// Algorithm: most-significant-digit radix select, narrowing the two target
// ranks (kVaR and kES) at once, on the reduced key r = (L ^ 2^63) − base:
// L ^ 2^63 orders like L (signed order = unsigned key order), and the caller
// gives base = the smallest key of the row and span = the largest key −
// base (it sees every final value as it writes the row), so every r lies in
// [0, span] and only NP = ceil(bitlen(span) / DIGIT_BITS) digits need a
// pass (NP = 0: all values equal).
//   pass p (p = 0 .. NP-1), digit p = bits [s_p, s_p + D) of r with
//   s_p = max(bitlen(span) − (p+1)·D, 0) (the digits start at the span's
//   top bit, so the first one is full; the last window may overlap the one
//   before it, whose bits every candidate already shares):
//     scan   S cycles: read column c; for each unresolved target whose
//            chosen prefix (digits 0..p−1) r matches, count digit p in that
//            target's histogram and remember r as the bin's last key; the
//            kES target's bins also add up their values L;
//     walk   each target visits its occupied bins from the top down, one
//            per cycle (a priority encoder over the occupancy bits jumps
//            over empty bins); the bin where the running count reaches the
//            target's rank is its digit p and the rank becomes the rank
//            inside that bin; a bin holding one key resolves the target at
//            once (its remembered key is the answer). Every bin the kES
//            target walks past lies wholly above T_e: its sum goes into G.
//            W_p = the bins the slower target visits (1 ≤ W_p ≤ min(S,
//            NBINS); 1 when all candidate keys share the digit);
//   the passes stop when both targets are resolved or after digit NP−1:
//   the two keys are then exactly the kVaR-th and kES-th largest, T_v and
//   T_e (ties need no care: equal values are one key), the kES rank left
//   is the number m of copies of T_e among the kES largest, and
//   ESsum = G + m·T_e, modulo 2^64 like Go's int64 sums.
// Cycles per row: Σ_{p < passes} (S + W_p + 7) + 5, passes ≤ NP ≤
// 64 / DIGIT_BITS (plus one S-cycle scan to stream the row out when there
// is no digit pass). Random 40-bit values resolve both targets in 2 passes
// (first digit: ~S/256 keys per bin, second: unique); rows of few distinct
// values have a small span. The first scan can also stream the row out
// (stream_i): it then reads a column only when the caller grants a credit,
// so it runs at the pace of the output. empty_i makes every value read 0
// (an account without positions, whose row was never written) and ignores
// base_i / span_i.
//
// The histograms: per target NBINS occupancy bits (registers, cleared in
// one cycle after each pass, on reset and on abort) and NBINS-entry arrays
// (counts of CW bits, last keys, and for the kES target sums of 64 bits),
// each with one read and one write port (LUT RAM) and valid only where the
// occupancy bit is set: nothing sweeps them.
`default_nettype none

module aggtail_select #(
  parameter int unsigned COLS_MAX   = 16384,
  parameter int unsigned DIGIT_BITS = 8,
  localparam int unsigned CW = $clog2(COLS_MAX + 1),
  localparam int unsigned AW = (COLS_MAX > 1) ? $clog2(COLS_MAX) : 1
) (
  input  logic          clk_i,
  input  logic          rst_ni,
  input  logic          abort_i,
  input  logic          start_i,     // select on the row (idle only)
  input  logic [CW-1:0] cols_i,      // S, 1..COLS_MAX; stable while busy
  input  logic [CW-1:0] kvar_i,      // 1..S; stable while busy
  input  logic [CW-1:0] kes_i,       // 1..S; stable while busy
  input  logic          empty_i,     // the row is all zeros (with start_i)
  input  logic [63:0]   base_i,      // the smallest key L ^ 2^63 (with start_i)
  input  logic [63:0]   span_i,      // the largest key − base_i (with start_i)
  input  logic          stream_i,    // the first scan streams the row out
  input  logic          credit_i,    // room for one more streamed value
  output logic          ram_re_o,
  output logic [AW-1:0] ram_raddr_o,
  input  logic [63:0]   ram_rdata_i,
  output logic          stream_valid_o,
  output logic [63:0]   stream_data_o,
  output logic          busy_o,
  output logic          done_o,      // one-cycle pulse; results valid until the next start
  output logic [63:0]   var_o,
  output logic [63:0]   essum_o
);

  localparam int unsigned NBINS = 1 << DIGIT_BITS;
  localparam int unsigned NPASS = 64 / DIGIT_BITS;
  localparam int unsigned DSH   = $clog2(DIGIT_BITS);
  localparam int unsigned PW    = $clog2(NPASS + 1);
  localparam logic [63:0] MSB   = 64'h8000_0000_0000_0000;

  // Every pass consumes whole digits of the 64-bit key (so DIGIT_BITS is a
  // power of two).
  if (64 % DIGIT_BITS != 0 || DIGIT_BITS < 2 || DIGIT_BITS > 8) begin : g_bad_digit
    $error("aggtail_select: DIGIT_BITS must be 2, 4 or 8");
  end

  typedef enum logic [2:0] {
    T_IDLE, T_SETUP, T_SCAN, T_DRAIN, T_WALK, T_NEXT, T_ES, T_ES2
  } state_e;
  state_e state_q;

  logic            final_q;              // a scan only to stream the row out
  logic            first_scan_q;         // the first scan of the row
  logic [PW-1:0]   pass_q, np_q;
  logic [AW:0]     col_q;                // next column to read
  logic            stream_q, empty_q;
  logic [63:0]     base_q, span_q;
  logic [63:0]     pref_v_q, pref_e_q;   // chosen prefixes (reduced keys)
  logic [63:0]     mask_q;               // their valid bits
  logic [6:0]      shift_q;              // lowest bit of this pass's digit
  logic [CW-1:0]   rank_v_q, rank_e_q;   // ranks inside the current prefix
  logic [CW-1:0]   above_v_q, above_e_q; // counted in the bins above
  logic            found_v_q, found_e_q; // this pass's digit is known
  logic            res_v_q, res_e_q;     // the whole key is known
  logic [DIGIT_BITS-1:0] dig_v_q, dig_e_q;
  logic [63:0]     gsum_q;               // G: Σ of the values above T_e so far
  logic [63:0]     es_q, var_q, te_q;
  logic            done_q;

  // Pipeline: s1 = RAM data, s2 = reduced key, s3 = matches and digit,
  // then the histogram / sum update.
  logic                  s1_q, s2_q, s3_q;
  logic [63:0]           s2_key_q, s2_val_q, s3_key_q, s3_val_q;
  logic                  s3_mv_q, s3_me_q;
  logic [DIGIT_BITS-1:0] s3_dig_q;

  // ------------------------------------------------------------ issue ---
  logic stream_scan, issue;
  assign stream_scan = stream_q && first_scan_q;
  assign issue = (state_q == T_SCAN) && (!stream_scan || credit_i);
  assign ram_re_o    = issue;
  assign ram_raddr_o = col_q[AW-1:0];

  logic [63:0] val1;
  assign val1 = empty_q ? 64'd0 : ram_rdata_i;
  assign stream_valid_o = s1_q && stream_scan;
  assign stream_data_o  = val1;

  // --------------------------------------------------------- histograms ---
  logic [NBINS-1:0] occ_v_q, occ_e_q;
  logic [CW-1:0]    cnt_v_q [NBINS];
  logic [CW-1:0]    cnt_e_q [NBINS];
  logic [63:0]      key_v_q [NBINS];
  logic [63:0]      key_e_q [NBINS];
  logic [63:0]      sum_e_q [NBINS];     // the kES target's bins: Σ L

  // Highest set bit of occ at or below cur (0 when none: a walk always
  // finds its target before it runs out of occupied bins).
  function automatic logic [DIGIT_BITS-1:0] top_bin(input logic [NBINS-1:0] occ,
                                                    input logic [DIGIT_BITS-1:0] cur);
    top_bin = '0;
    for (int b = 0; b < NBINS; b++) begin
      if (occ[b] && DIGIT_BITS'(b) <= cur) top_bin = DIGIT_BITS'(b);
    end
  endfunction

  // Bit length of x (0 for 0).
  function automatic logic [6:0] bit_len(input logic [63:0] x);
    bit_len = '0;
    for (int b = 0; b < 64; b++) begin
      if (x[b]) bit_len = 7'(b + 1);
    end
  endfunction

  logic [DIGIT_BITS-1:0] cur_v_q, cur_e_q, nb_v, nb_e;
  logic                  walk_v, walk_e;
  assign nb_v   = top_bin(occ_v_q, cur_v_q);
  assign nb_e   = top_bin(occ_e_q, cur_e_q);
  assign walk_v = state_q == T_WALK && !found_v_q;
  assign walk_e = state_q == T_WALK && !found_e_q;

  logic [DIGIT_BITS-1:0] ra_v, ra_e;
  logic [CW-1:0]         cv_eff, ce_eff;
  logic [63:0]           kv_r, ke_r, se_eff;
  assign ra_v   = (state_q == T_WALK) ? nb_v : s3_dig_q;
  assign ra_e   = (state_q == T_WALK) ? nb_e : s3_dig_q;
  assign cv_eff = occ_v_q[ra_v] ? cnt_v_q[ra_v] : '0;
  assign ce_eff = occ_e_q[ra_e] ? cnt_e_q[ra_e] : '0;
  assign kv_r   = key_v_q[ra_v];
  assign ke_r   = key_e_q[ra_e];
  assign se_eff = occ_e_q[ra_e] ? sum_e_q[ra_e] : 64'd0;

  logic inc_v, inc_e;
  assign inc_v = s3_q && !final_q && s3_mv_q && !res_v_q;
  assign inc_e = s3_q && !final_q && s3_me_q && !res_e_q;
  always_ff @(posedge clk_i) begin
    if (inc_v) begin
      cnt_v_q[s3_dig_q] <= cv_eff + 1'b1;
      key_v_q[s3_dig_q] <= s3_key_q;
    end
    if (inc_e) begin
      cnt_e_q[s3_dig_q] <= ce_eff + 1'b1;
      key_e_q[s3_dig_q] <= s3_key_q;
      sum_e_q[s3_dig_q] <= se_eff + s3_val_q;
    end
  end

  // Does the bin visited now hold the target?
  logic [CW:0] reach_v, reach_e;
  logic        hit_v, hit_e;
  assign reach_v = {1'b0, above_v_q} + {1'b0, cv_eff};
  assign reach_e = {1'b0, above_e_q} + {1'b0, ce_eff};
  assign hit_v = walk_v && reach_v >= {1'b0, rank_v_q};
  assign hit_e = walk_e && reach_e >= {1'b0, rank_e_q};

  logic [63:0] dmask;         // this pass's digit, as a key mask
  assign dmask = {{(64 - DIGIT_BITS){1'b0}}, {DIGIT_BITS{1'b1}}} << shift_q;

  // Set-up: the digit passes the span needs.
  logic [6:0]    span_bits;
  logic [PW-1:0] np_calc;
  assign span_bits = bit_len(span_q);
  assign np_calc   = PW'((span_bits + 7'(DIGIT_BITS - 1)) >> DSH);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q      <= T_IDLE;
      final_q      <= 1'b0;
      first_scan_q <= 1'b0;
      pass_q       <= '0;
      np_q         <= '0;
      col_q        <= '0;
      stream_q     <= 1'b0;
      empty_q      <= 1'b0;
      base_q       <= '0;
      span_q       <= '0;
      cur_v_q      <= '0;
      cur_e_q      <= '0;
      occ_v_q      <= '0;
      occ_e_q      <= '0;
      pref_v_q     <= '0;
      pref_e_q     <= '0;
      mask_q       <= '0;
      shift_q      <= '0;
      rank_v_q     <= '0;
      rank_e_q     <= '0;
      above_v_q    <= '0;
      above_e_q    <= '0;
      found_v_q    <= 1'b0;
      found_e_q    <= 1'b0;
      res_v_q      <= 1'b0;
      res_e_q      <= 1'b0;
      dig_v_q      <= '0;
      dig_e_q      <= '0;
      gsum_q       <= '0;
      es_q         <= '0;
      var_q        <= '0;
      te_q         <= '0;
      done_q       <= 1'b0;
      s1_q         <= 1'b0;
      s2_q         <= 1'b0;
      s3_q         <= 1'b0;
      s2_key_q     <= '0;
      s2_val_q     <= '0;
      s3_key_q     <= '0;
      s3_val_q     <= '0;
      s3_mv_q      <= 1'b0;
      s3_me_q      <= 1'b0;
      s3_dig_q     <= '0;
    end else begin
      done_q <= 1'b0;

      // Pipeline stages.
      s1_q <= issue;
      s2_q <= s1_q;
      s3_q <= s2_q;
      if (s1_q) begin
        s2_key_q <= (val1 ^ MSB) - base_q;
        s2_val_q <= val1;
      end
      if (s2_q) begin
        s3_key_q <= s2_key_q;
        s3_val_q <= s2_val_q;
        s3_mv_q  <= (s2_key_q & mask_q) == pref_v_q;
        s3_me_q  <= (s2_key_q & mask_q) == pref_e_q;
        s3_dig_q <= DIGIT_BITS'(s2_key_q >> shift_q);
      end
      if (inc_v) occ_v_q[s3_dig_q] <= 1'b1;
      if (inc_e) occ_e_q[s3_dig_q] <= 1'b1;

      unique case (state_q)
        T_IDLE: begin
          if (start_i) begin
            first_scan_q <= 1'b1;
            pass_q       <= '0;
            col_q        <= '0;
            stream_q     <= stream_i;
            empty_q      <= empty_i;
            base_q       <= empty_i ? MSB : base_i;
            span_q       <= empty_i ? 64'd0 : span_i;
            pref_v_q     <= '0;
            pref_e_q     <= '0;
            rank_v_q     <= kvar_i;
            rank_e_q     <= kes_i;
            above_v_q    <= '0;
            above_e_q    <= '0;
            found_v_q    <= 1'b0;
            found_e_q    <= 1'b0;
            res_v_q      <= 1'b0;
            res_e_q      <= 1'b0;
            gsum_q       <= '0;
            state_q      <= T_SETUP;
          end
        end
        T_SETUP: begin
          np_q    <= np_calc;
          // Digit 0 is the top DIGIT_BITS bits of the span's bit length b
          // (the bits above are 0 in every key); the last digit window is
          // clamped at bit 0 and may overlap the previous one (the
          // overlapping bits are already fixed by the prefix).
          shift_q <= (span_bits >= 7'(DIGIT_BITS)) ? span_bits - 7'(DIGIT_BITS) : 7'd0;
          mask_q  <= (span_bits >= 7'd64) ? 64'd0 : ~64'd0 << span_bits;
          // No digit pass (all values equal): a scan only to stream the row.
          final_q <= np_calc == '0;
          state_q <= (np_calc == '0 && !stream_q) ? T_ES : T_SCAN;
        end
        T_SCAN: begin
          if (issue) begin
            col_q <= col_q + 1'b1;
            if (col_q + 1'b1 == (AW+1)'(cols_i)) state_q <= T_DRAIN;
          end
        end
        T_DRAIN: begin
          // The last column is through the pipeline (its update written).
          if (!s1_q && !s2_q && !s3_q) begin
            first_scan_q <= 1'b0;
            if (final_q) begin
              state_q <= T_ES;
            end else begin
              cur_v_q <= DIGIT_BITS'(NBINS - 1);
              cur_e_q <= DIGIT_BITS'(NBINS - 1);
              state_q <= T_WALK;
            end
          end
        end
        T_WALK: begin
          if (hit_v) begin
            found_v_q <= 1'b1;
            dig_v_q   <= nb_v;
            rank_v_q  <= rank_v_q - above_v_q;
            if (cv_eff == CW'(1)) begin
              res_v_q  <= 1'b1;
              pref_v_q <= kv_r;
            end
          end else if (walk_v) begin
            above_v_q <= reach_v[CW-1:0];
            cur_v_q   <= nb_v - 1'b1;
            // Bin 0 always holds the rest of the rank; this only bounds the
            // walk should that invariant ever break.
            if (nb_v == '0) found_v_q <= 1'b1;
          end
          if (hit_e) begin
            found_e_q <= 1'b1;
            dig_e_q   <= nb_e;
            rank_e_q  <= rank_e_q - above_e_q;
            if (ce_eff == CW'(1)) begin
              res_e_q  <= 1'b1;
              pref_e_q <= ke_r;
            end
          end else if (walk_e) begin
            above_e_q <= reach_e[CW-1:0];
            gsum_q    <= gsum_q + se_eff;    // the whole bin lies above T_e
            cur_e_q   <= nb_e - 1'b1;
            if (nb_e == '0) found_e_q <= 1'b1;
          end
          if ((found_v_q || hit_v || (walk_v && nb_v == '0)) &&
              (found_e_q || hit_e || (walk_e && nb_e == '0))) state_q <= T_NEXT;
        end
        T_NEXT: begin
          occ_v_q   <= '0;
          occ_e_q   <= '0;
          if (!res_v_q) pref_v_q <= pref_v_q | (64'(dig_v_q) << shift_q);
          if (!res_e_q) pref_e_q <= pref_e_q | (64'(dig_e_q) << shift_q);
          mask_q    <= mask_q | dmask;
          shift_q   <= (shift_q >= 7'(DIGIT_BITS)) ? shift_q - 7'(DIGIT_BITS) : 7'd0;
          above_v_q <= '0;
          above_e_q <= '0;
          found_v_q <= res_v_q;
          found_e_q <= res_e_q;
          pass_q    <= pass_q + 1'b1;
          col_q     <= '0;
          state_q   <= (pass_q + 1'b1 == np_q || (res_v_q && res_e_q)) ? T_ES : T_SCAN;
        end
        T_ES: begin
          var_q   <= (pref_v_q + base_q) ^ MSB;
          te_q    <= (pref_e_q + base_q) ^ MSB;
          state_q <= T_ES2;
        end
        T_ES2: begin
          // rank_e is now the copies of T_e among the kES largest.
          es_q    <= gsum_q + {{(64 - CW){1'b0}}, rank_e_q} * te_q;
          done_q  <= 1'b1;
          state_q <= T_IDLE;
        end
        default: state_q <= T_IDLE;
      endcase

      if (abort_i) begin
        state_q <= T_IDLE;
        occ_v_q <= '0;
        occ_e_q <= '0;
        s1_q    <= 1'b0;
        s2_q    <= 1'b0;
        s3_q    <= 1'b0;
        done_q  <= 1'b0;
      end
    end
  end

  assign busy_o  = state_q != T_IDLE;
  assign done_o  = done_q;
  assign var_o   = var_q;
  assign essum_o = es_q;

endmodule

`default_nettype wire
