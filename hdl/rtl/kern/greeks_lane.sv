// GREEKS datapath lane (hdl/rtl/kern/ballast_greeks.sv): computes
// fxp.InstrumentParams.Greeks of one instrument record at a time, bit-exact
// (docs/accel-numerics.md §9), over a fixed schedule, and holds the eight
// results (fxp.GreeksQ, i64 sQ31.32) until the writer takes them.
//
// Resources: one instance each of fxp_smul, fxp_recip, fxp_normcdf,
// fxp_normpdf and greeks_norm, shared over the schedule, two 32×33-bit
// products (a·N, Kd/S·N) and one Fixed rounding stage at the multiplier's
// output.
//
// Schedule (states of cstate_q; a "group" issues its products to fxp_smul
// back to back, one per cycle, then waits for the last one, ≈ n + 5 cycles):
//   group 0: sS = Mul(σ√T, 1) (and s' = sS.Fixed(28)), a = Mul(A/S, Exp(0) = 1)
//   C_CLAMP: s' clamped to SMax (sS with it); σ→0 limit when s' < SMin; 1/sS
//   C_RECIP: waits for fxp_recip
//   group 1: ln(F/K)·(1/s') (q = .Fixed(28)); the σ→0 vega/vanna a·√T/√(2π)
//            (Fixed(32) and Fixed(31)), and the Future's (r−q)·Carry, T·Carry
//   C_D:     d1 = q + rshr(s', 1), d2 = d1 − s' (int64, wrapping)
//   C_CDF:   N(±d1), N(±d2), φ(d1), Norm(d1), Norm(d2) (≈ 10 cycles)
//   C_P1..3: a·N(±d1), Kd/S·N(±d2), and a·h, Kd/S·h of the σ→0 limit, each
//            rshr by −(E+1) as Go's Rshr(·, uint(·))
//   C_V:     Price = max(±(aN − kN), 0), Δ
//   C_NORM:  Norm(V), Norm(Kd/S·N), Norm(Δ)
//   group 2: B = a·φ(d1), d1·d2, T·Kd/S·N, r·V, b·Δ, T·V
//   group 3: Γ·S = B/s', vega/S = B·√T, B·σ/(2√T), B·d2
//   group 4: B·d2/σ, vega·d1·d2;  group 5: vega·d1·d2/σ
//   C_FIN:   the kind's GreeksQ (linear, option, σ→0 limit; Black-76 ρ)
// SCHED_CYCLES ≈ 80 cycles per instrument; every kind runs the same schedule.
//
// Interface: take_i (only while idle_o) loads a record's fields; res_valid_o
// holds res_o (eight i64, Price in bits 63:0) until res_taken_i; the next
// record may be taken (and computed) while a result waits. flush_i returns
// the lane to idle at once.
`default_nettype none

module greeks_lane #(
  parameter string MEM_DIR = "hdl/mem"
) (
  input  logic               clk_i,
  input  logic               rst_ni,
  input  logic               flush_i,
  input  logic               take_i,
  input  logic [7:0]         kind_i,
  input  logic [7:0]         model_i,
  input  logic signed [31:0] lnfk_i,
  // The record's 15 Scaled constants in record order, constant k in bits
  // 64k+63:64k as {M, E}.
  input  logic [959:0]       sc_i,
  output logic               idle_o,
  output logic               res_valid_o,
  output logic [511:0]       res_o,
  input  logic               res_taken_i
);

  // Numeric constants (accel/fxp/tables_gen.go).
  localparam logic signed [63:0] SMIN = 64'sd4096;
  localparam logic signed [63:0] SMAX = 64'sd4294967295;
  localparam logic [31:0]        PONE = 32'h8000_0000;        // 1.0 in uQ1.31
  // 1.0 = Exp(0) = Norm(MOne, −MFrac), and Norm(SMax, −SFrac).
  localparam fxp_pkg::scaled_t ONE     = {32'sd1073741824, -32'sd30};
  localparam fxp_pkg::scaled_t SMAX_SC = {32'sd1073741824, -32'sd26};

  localparam int SMUL_L = fxp_pkg::SMUL_LATENCY;
  localparam int NORM_L = 2;
  localparam int NORMPDF_L = fxp_pkg::NORMPDF_LATENCY;

  // Products of the schedule: index, operands and the Fixed(frac) of each.
  localparam int NOPS = 20;
  localparam int OP_SS = 0, OP_A = 1, OP_Q = 2, OP_VATM = 3, OP_VATMH = 4, OP_LINTH = 5,
                 OP_LINRHO = 6, OP_B = 7, OP_DD = 8, OP_RHOK = 9, OP_THR = 10, OP_THC = 11,
                 OP_RHOB = 12, OP_GAM = 13, OP_VEGA = 14, OP_THB = 15, OP_BD2 = 16,
                 OP_VAN = 17, OP_VD = 18, OP_VOL = 19;
  // Dependency groups: products [grp_first(g), grp_last(g)], g < NGRP.
  localparam int NGRP = 6;
  function automatic logic [4:0] grp_first(input logic [2:0] g);
    if (g == 3'd0)      grp_first = 5'd0;
    else if (g == 3'd1) grp_first = 5'd2;
    else if (g == 3'd2) grp_first = 5'd7;
    else if (g == 3'd3) grp_first = 5'd13;
    else if (g == 3'd4) grp_first = 5'd17;
    else                grp_first = 5'd19;
  endfunction
  function automatic logic [4:0] grp_last(input logic [2:0] g);
    if (g == 3'd0)      grp_last = 5'd1;
    else if (g == 3'd1) grp_last = 5'd6;
    else if (g == 3'd2) grp_last = 5'd12;
    else if (g == 3'd3) grp_last = 5'd16;
    else if (g == 3'd4) grp_last = 5'd18;
    else                grp_last = 5'd19;
  endfunction

  // -------------------------------------------------------------- helpers ---
  // Scaled.Fixed(frac): M·2^(E+frac), rshr to the right, exact to the left,
  // saturated to ±(2^63−1) beyond a shift of 32, 0 below −40.
  function automatic logic signed [63:0] fixedf(input logic signed [31:0] am,
                                                input logic signed [31:0] ae,
                                                input logic signed [7:0]  frac);
    logic signed [33:0] sh;
    logic signed [63:0] m;
    sh = 34'(ae) + 34'(frac);
    m  = 64'(am);
    if (am == 32'sd0)           fixedf = 64'sd0;
    else if (sh > 34'sd32)      fixedf = (am < 0) ? -64'sd9223372036854775807 : 64'sd9223372036854775807;
    else if (sh >= 34'sd0)      fixedf = m <<< sh[5:0];
    else if (sh < -34'sd40)     fixedf = 64'sd0;
    else                        fixedf = fxp_pkg::rshr(m, 6'(-sh));
  endfunction

  // Rshr(x, uint(−(e+1))) as Go computes it: a count that is negative as an
  // int32 is a huge uint, and a count of 64 or more gives 0 for every x.
  function automatic logic signed [63:0] rshr_e(input logic signed [63:0] x,
                                                input logic signed [31:0] e);
    logic signed [33:0] n;
    n = -(34'(e) + 34'sd1);
    if (n == 34'sd0)                     rshr_e = x;
    else if (n < 34'sd0 || n > 34'sd63)  rshr_e = 64'sd0;
    else                                 rshr_e = fxp_pkg::rshr(x, n[5:0]);
  endfunction


  // ------------------------------------------------------------- datapath ---
  // The current record.
  logic [7:0]         kind_q, model_q;
  logic signed [31:0] lnfk_q;
  fxp_pkg::scaled_t   carry_q, as_q, kd_q, lnfks_q, s_q, sqrtt_q, invsig_q,
                      thetac_q, rate_q, crate_q, years_q, atm_q;

  typedef enum logic [3:0] {
    C_IDLE, C_GRP, C_CLAMP, C_RECIP, C_D, C_CDF, C_P1, C_P2, C_P3, C_V, C_NORM, C_FIN
  } cstate_e;
  cstate_e cstate_q;

  logic [2:0]  grp_q;              // current product group
  logic [4:0]  iss_q;              // next product to issue
  logic        iss_end_q;          // every product of the group issued
  logic [4:0]  inflight_q;         // products issued, not yet captured
  logic [3:0]  cnt_q;              // cycle counter of the timed states
  logic        cdf_k_q;            // which NormCDF result comes next

  fxp_pkg::scaled_t   psc_q [NOPS];  // products
  logic signed [63:0] pfx_q [NOPS];  // their Fixed(frac)

  logic               put_q, intr_q, fwd0_q;
  logic signed [63:0] sf_q;          // s' = sS.Fixed(28), clamped
  fxp_pkg::scaled_t   ss_q, r_q, pdf_q, d1s_q, d2s_q, vs_q, nk_q, nd_q;
  logic signed [63:0] d1_q, d2_q;
  logic [31:0]        n1_q, n2_q;
  logic signed [63:0] pa_q, pk_q, an_q, kn_q, ah_q, kh_q;
  logic signed [63:0] price_q, delta_q, kx_q;

  // The result waiting for the writer.
  logic [511:0]       res_q;
  logic               out_full_q;
  logic               fin;           // the datapath hands a result over

  // a = Mul(A/S, Exp(0)) (product 1) is what Go multiplies by: it differs
  // from A/S itself when A/S.M = −2^31.
  fxp_pkg::scaled_t a_sc;
  assign a_sc = psc_q[OP_A];

  // fxp_smul, shared: operands by product index.
  logic               mul_v, mul_vo;
  fxp_pkg::scaled_t   mul_a, mul_b, mul_r;
  logic [4:0]         mul_idx_q [SMUL_L];
  assign mul_v = cstate_q == C_GRP && !iss_end_q;
  always_comb begin
    mul_a = ONE;
    mul_b = ONE;
    case (iss_q)
      5'd0:  begin mul_a = s_q;     mul_b = ONE;      end  // sS = σ√T·m, m = 1
      5'd1:  begin mul_a = as_q;    mul_b = ONE;      end  // a = A/S·Exp(0)
      5'd2:  begin mul_a = lnfks_q; mul_b = r_q;      end  // ln(F/K)·(1/s')
      5'd3:  begin mul_a = a_sc;    mul_b = atm_q;    end  // a·√T/√(2π), Fixed(32)
      5'd4:  begin mul_a = a_sc;    mul_b = atm_q;    end  // the same, Fixed(31)
      5'd5:  begin mul_a = crate_q; mul_b = carry_q;  end  // (r−q)·Carry
      5'd6:  begin mul_a = years_q; mul_b = carry_q;  end  // T·Carry
      5'd7:  begin mul_a = a_sc;    mul_b = pdf_q;    end  // B = a·φ(d1)
      5'd8:  begin mul_a = d1s_q;   mul_b = d2s_q;    end  // d1·d2
      5'd9:  begin mul_a = years_q; mul_b = nk_q;     end  // T·Kd/S·N
      5'd10: begin mul_a = rate_q;  mul_b = vs_q;     end  // r·V
      5'd11: begin mul_a = crate_q; mul_b = nd_q;     end  // b·Δ
      5'd12: begin mul_a = years_q; mul_b = vs_q;     end  // T·V (Black-76 ρ)
      5'd13: begin mul_a = psc_q[OP_B];    mul_b = r_q;      end  // Γ·S
      5'd14: begin mul_a = psc_q[OP_B];    mul_b = sqrtt_q;  end  // vega/S
      5'd15: begin mul_a = psc_q[OP_B];    mul_b = thetac_q; end  // B·σ/(2√T)
      5'd16: begin mul_a = psc_q[OP_B];    mul_b = d2s_q;    end  // B·d2
      5'd17: begin mul_a = psc_q[OP_BD2];  mul_b = invsig_q; end  // vanna
      5'd18: begin mul_a = psc_q[OP_VEGA]; mul_b = psc_q[OP_DD]; end  // vega·d1·d2
      5'd19: begin mul_a = psc_q[OP_VD];   mul_b = invsig_q; end  // volga
      default: ;
    endcase
  end

  fxp_smul u_smul (
    .clk_i   (clk_i),
    .rst_ni  (rst_ni),
    .valid_i (mul_v),
    .a_i     (mul_a),
    .b_i     (mul_b),
    .valid_o (mul_vo),
    .r_o     (mul_r)
  );

  always_ff @(posedge clk_i) begin
    mul_idx_q[0] <= iss_q;
    for (int k = 1; k < SMUL_L; k++) mul_idx_q[k] <= mul_idx_q[k-1];
  end

  // The fraction bits of each product's Fixed.
  logic [4:0]        cap_idx;
  logic signed [7:0] cap_frac;
  assign cap_idx = mul_idx_q[SMUL_L-1];
  always_comb begin
    if (cap_idx == 5'(OP_SS) || cap_idx == 5'(OP_Q)) cap_frac = 8'sd28;
    else if (cap_idx == 5'(OP_VATMH))                cap_frac = 8'sd31;
    else                                             cap_frac = 8'sd32;
  end

  always_ff @(posedge clk_i) begin
    if (mul_vo) begin
      psc_q[cap_idx] <= mul_r;
      pfx_q[cap_idx] <= fixedf(mul_r.m, mul_r.e, cap_frac);
    end
  end

  // fxp_recip: 1/sS.
  logic             rcp_v, rcp_vo;
  fxp_pkg::scaled_t rcp_r;
  assign rcp_v = cstate_q == C_CLAMP;
  fxp_recip #(.MEM_DIR(MEM_DIR)) u_recip (
    .clk_i   (clk_i),
    .rst_ni  (rst_ni),
    .valid_i (rcp_v),
    .a_i     (ss_q),
    .valid_o (rcp_vo),
    .r_o     (rcp_r)
  );

  // fxp_normcdf: N(±d1) at cnt 0, N(±d2) at cnt 1; fxp_normpdf: φ(d1).
  logic        cdf_v, cdf_vo, pdf_v, pdf_vo;
  logic [63:0] cdf_d;
  logic [31:0] cdf_p;
  fxp_pkg::scaled_t pdf_r;
  assign cdf_v = cstate_q == C_CDF && cnt_q < 4'd2;
  assign pdf_v = cstate_q == C_CDF && cnt_q == 4'd0;
  always_comb begin
    cdf_d = (cnt_q == 4'd0) ? d1_q : d2_q;
    if (put_q) cdf_d = -cdf_d;
  end
  fxp_normcdf #(.MEM_DIR(MEM_DIR)) u_cdf (
    .clk_i   (clk_i),
    .rst_ni  (rst_ni),
    .valid_i (cdf_v),
    .d_i     (cdf_d),
    .valid_o (cdf_vo),
    .p_o     (cdf_p)
  );
  fxp_normpdf #(.MEM_DIR(MEM_DIR)) u_pdf (
    .clk_i   (clk_i),
    .rst_ni  (rst_ni),
    .valid_i (pdf_v),
    .d_i     (d1_q),
    .valid_o (pdf_vo),
    .r_o     (pdf_r)
  );

  // greeks_norm: d1, d2 (C_CDF, cnt 0, 1), V, Kd/S·N, Δ (C_NORM, cnt 0..2).
  logic               nrm_v, nrm_vo;
  logic signed [63:0] nrm_x;
  logic signed [31:0] nrm_e;
  fxp_pkg::scaled_t   nrm_r;
  logic [2:0]         nrm_idx, nrm_idx_q [NORM_L];
  always_comb begin
    nrm_v   = 1'b0;
    nrm_x   = price_q;
    nrm_e   = -32'sd32;
    nrm_idx = 3'd0;
    if (cstate_q == C_CDF && cnt_q < 4'd2) begin
      nrm_v   = 1'b1;
      nrm_x   = (cnt_q == 4'd0) ? d1_q : d2_q;
      nrm_e   = -32'sd28;
      nrm_idx = 3'(cnt_q);
    end else if (cstate_q == C_NORM && cnt_q < 4'd3) begin
      nrm_v   = 1'b1;
      nrm_x   = (cnt_q == 4'd0) ? price_q : (cnt_q == 4'd1) ? kx_q : delta_q;
      nrm_idx = 3'(32'(cnt_q) + 2);
    end
  end
  greeks_norm u_norm (
    .clk_i   (clk_i),
    .rst_ni  (rst_ni),
    .valid_i (nrm_v),
    .v_i     (nrm_x),
    .e_i     (nrm_e),
    .valid_o (nrm_vo),
    .r_o     (nrm_r)
  );
  always_ff @(posedge clk_i) begin
    nrm_idx_q[0] <= nrm_idx;
    nrm_idx_q[1] <= nrm_idx_q[0];
    if (nrm_vo) begin
      unique case (nrm_idx_q[NORM_L-1])
        3'd0: d1s_q <= nrm_r;
        3'd1: d2s_q <= nrm_r;
        3'd2: vs_q  <= nrm_r;
        3'd3: nk_q  <= nrm_r;
        default: nd_q <= nrm_r;
      endcase
    end
  end

  // The σ→0 limit: h = N(d1) = N(d2) (1 in the money, ½ at the forward), and
  // N(d1), N(d2) of the value (1 in the money, else 0).
  logic [31:0] lim_h, lim_n;
  always_comb begin
    if (lnfk_q > 0)       lim_h = PONE;
    else if (lnfk_q == 0) lim_h = PONE >> 1;
    else                  lim_h = 32'd0;
    if (put_q) lim_h = PONE - lim_h;
    lim_n = ((!put_q && lnfk_q > 0) || (put_q && lnfk_q < 0)) ? PONE : 32'd0;
  end

  // a·x and Kd/S·y (32 × 33-bit signed products).
  logic [31:0] px, py;
  always_comb begin
    px = (cstate_q == C_P1) ? n1_q : lim_h;
    py = (cstate_q == C_P1) ? n2_q : lim_h;
  end

  logic signed [63:0] pa_c, pk_c;
  assign pa_c = a_sc.m * $signed({1'b0, px});
  assign pk_c = kd_q.m * $signed({1'b0, py});

  // The final selection (GreeksQ of the kind).
  logic signed [63:0] g [8];
  logic signed [63:0] carry_fx;
  assign carry_fx = fixedf(carry_q.m, carry_q.e, 8'sd32);
  always_comb begin
    for (int k = 0; k < 8; k++) g[k] = 64'sd0;
    if (kind_q <= 8'd2) begin
      g[0] = carry_fx;
      g[1] = carry_fx;
      if (kind_q == 8'd2) begin
        g[4] = -pfx_q[OP_LINTH];
        g[5] = pfx_q[OP_LINRHO];
      end
    end else begin
      g[0] = price_q;
      g[1] = delta_q;
      g[5] = put_q ? -pfx_q[OP_RHOK] : pfx_q[OP_RHOK];
      if (intr_q) begin
        if (fwd0_q) begin
          g[3] = pfx_q[OP_VATM];
          g[6] = pfx_q[OP_VATMH];
        end
      end else begin
        g[2] = pfx_q[OP_GAM];
        g[3] = pfx_q[OP_VEGA];
        g[4] = -pfx_q[OP_THB];
        g[6] = -pfx_q[OP_VAN];
        g[7] = pfx_q[OP_VOL];
      end
      g[4] = g[4] + pfx_q[OP_THR] - pfx_q[OP_THC];
      if (model_q == 8'd2) g[5] = -pfx_q[OP_RHOB];
    end
  end

  assign fin  = cstate_q == C_FIN && !out_full_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      cstate_q   <= C_IDLE;
      grp_q      <= '0;
      iss_q      <= '0;
      iss_end_q  <= 1'b0;
      inflight_q <= '0;
      cnt_q      <= '0;
      cdf_k_q    <= 1'b0;
    end else begin
      if (mul_v && !mul_vo)      inflight_q <= inflight_q + 5'd1;
      else if (!mul_v && mul_vo) inflight_q <= inflight_q - 5'd1;
      if (mul_v) begin
        if (iss_q == grp_last(grp_q)) iss_end_q <= 1'b1;
        else                          iss_q     <= iss_q + 5'd1;
      end
      unique case (cstate_q)
        C_IDLE: begin
          if (take_i) begin
            grp_q     <= '0;
            iss_q     <= grp_first(3'd0);
            iss_end_q <= 1'b0;
            cstate_q  <= C_GRP;
          end
        end
        C_GRP: begin
          if (iss_end_q && inflight_q == 5'd0) begin
            iss_end_q <= 1'b0;
            if (grp_q != 3'(NGRP - 1)) begin
              grp_q <= grp_q + 3'd1;
              iss_q <= grp_first(grp_q + 3'd1);
            end
            unique case (grp_q)
              3'd0:    cstate_q <= C_CLAMP;
              3'd1:    cstate_q <= C_D;
              3'd5:    cstate_q <= C_FIN;
              default: cstate_q <= C_GRP;
            endcase
          end
        end
        C_CLAMP: cstate_q <= C_RECIP;
        C_RECIP: if (rcp_vo) cstate_q <= C_GRP;
        C_D: begin
          cnt_q    <= '0;
          cdf_k_q  <= 1'b0;
          cstate_q <= C_CDF;
        end
        C_CDF: begin
          cnt_q <= cnt_q + 4'd1;
          if (cnt_q == 4'(NORMPDF_L + 1)) cstate_q <= C_P1;
        end
        C_P1: cstate_q <= C_P2;
        C_P2: cstate_q <= C_P3;
        C_P3: cstate_q <= C_V;
        C_V: begin
          cnt_q    <= '0;
          cstate_q <= C_NORM;
        end
        C_NORM: begin
          cnt_q <= cnt_q + 4'd1;
          if (cnt_q == 4'(NORM_L + 3)) cstate_q <= C_GRP;
        end
        C_FIN: if (!out_full_q) cstate_q <= C_IDLE;
        default: cstate_q <= C_IDLE;
      endcase
      if (cdf_vo) cdf_k_q <= ~cdf_k_q;
      if (flush_i) begin
        cstate_q   <= C_IDLE;
        iss_end_q  <= 1'b0;
        inflight_q <= '0;
      end
    end
  end

  // Datapath registers (no reset: each is written before it is read).
  always_ff @(posedge clk_i) begin
    if (take_i) begin
      kind_q   <= kind_i;
      model_q  <= model_i;
      lnfk_q   <= lnfk_i;
      put_q    <= kind_i == 8'd4;
      fwd0_q   <= lnfk_i == 32'sd0;
      carry_q  <= sc_i[64*0 +: 64];
      as_q     <= sc_i[64*1 +: 64];
      kd_q     <= sc_i[64*2 +: 64];
      lnfks_q  <= sc_i[64*3 +: 64];
      s_q      <= sc_i[64*4 +: 64];
      sqrtt_q  <= sc_i[64*8 +: 64];
      invsig_q <= sc_i[64*9 +: 64];
      thetac_q <= sc_i[64*10 +: 64];
      rate_q   <= sc_i[64*11 +: 64];
      crate_q  <= sc_i[64*12 +: 64];
      years_q  <= sc_i[64*13 +: 64];
      atm_q    <= sc_i[64*14 +: 64];
    end
    // s' = sS.Fixed(28), clamped at SMax (sS with it); σ→0 limit below SMin.
    if (cstate_q == C_GRP && grp_q == 3'd0 && iss_end_q && inflight_q == 5'd0) begin
      if (pfx_q[OP_SS] > SMAX) begin
        sf_q <= SMAX;
        ss_q <= SMAX_SC;
      end else begin
        sf_q <= pfx_q[OP_SS];
        ss_q <= psc_q[OP_SS];
      end
      intr_q <= pfx_q[OP_SS] < SMIN;
    end
    if (cstate_q == C_RECIP && rcp_vo) r_q <= rcp_r;
    // d1 = q + rshr(s', 1), d2 = d1 − s' (int64, wrapping as Go's).
    if (cstate_q == C_D) begin
      d1_q <= pfx_q[OP_Q] + fxp_pkg::rshr(sf_q, 6'd1);
      d2_q <= pfx_q[OP_Q] + fxp_pkg::rshr(sf_q, 6'd1) - sf_q;
    end
    if (cdf_vo) begin
      if (!cdf_k_q) n1_q <= cdf_p;
      else          n2_q <= cdf_p;
    end
    if (pdf_vo) pdf_q <= pdf_r;
    // σ→0 limit: N(d1), N(d2) of the value.
    if (cstate_q == C_CDF && cnt_q == 4'(NORMPDF_L + 1) && intr_q) begin
      n1_q <= lim_n;
      n2_q <= lim_n;
    end
    // a·N(±d1), Kd/S·N(±d2) (C_P1), then a·h, Kd/S·h (C_P2).
    if (cstate_q == C_P1 || cstate_q == C_P2) begin
      pa_q <= pa_c;
      pk_q <= pk_c;
    end
    if (cstate_q == C_P2) begin
      an_q <= rshr_e(pa_q, a_sc.e);
      kn_q <= rshr_e(pk_q, kd_q.e);
    end
    if (cstate_q == C_P3) begin
      ah_q <= rshr_e(pa_q, a_sc.e);
      kh_q <= rshr_e(pk_q, kd_q.e);
    end
    // Price = max(±(aN − kN), 0); Δ = ±aN (±a·h in the limit).
    if (cstate_q == C_V) begin
      if (put_q) price_q <= (kn_q - an_q < 0) ? 64'sd0 : kn_q - an_q;
      else       price_q <= (an_q - kn_q < 0) ? 64'sd0 : an_q - kn_q;
      if (intr_q) begin
        delta_q <= put_q ? -ah_q : ah_q;
        kx_q    <= kh_q;
      end else begin
        delta_q <= put_q ? -an_q : an_q;
        kx_q    <= kn_q;
      end
    end
  end
  // --------------------------------------------------------------- result ---
  always_ff @(posedge clk_i) begin
    if (fin) begin
      for (int k = 0; k < 8; k++) res_q[64*k +: 64] <= g[k];
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni)            out_full_q <= 1'b0;
    else if (flush_i)       out_full_q <= 1'b0;
    else if (fin)           out_full_q <= 1'b1;
    else if (res_taken_i)   out_full_q <= 1'b0;
  end

  assign idle_o      = cstate_q == C_IDLE;
  assign res_valid_o = out_full_q;
  assign res_o       = res_q;

  // Δ, Γ·S/2 and vega/S·σ (constants 5..7) are ValueDGV's, not Greeks'.
  logic unused_sc;
  assign unused_sc = ^sc_i[64*5 +: 192];

endmodule

`default_nettype wire
