// OP_REVAL unit (docs/accel.md §7 "REVAL", docs/accel-numerics.md): instrument
// revaluation over scenarios, bit-exact with accel/job.ExecReval. For every
// instrument i (160-byte record, underlying u_i) and column c in [0, C):
//   loss[i][c] = Loss(c < C_dgv ? ValueDGV(x, m) : Value(x, m)),
//   x = X[u_i][c], m = M[u_i][c] (2^24 without flag M),
// written as the loss matrix (I × Sp int64, row i at dst + pad64(8I) + 8·Sp·i,
// columns [C, Sp) as 0) after the V0 array (I × i64 copied from the records,
// zero-padded to 64 bytes). out_bytes = pad64(8I) + 8·I·Sp.
//
// Micro-architecture
//   * LANES revaluation lanes (reval_lane: II 1, LATENCY 34 cycles each) fed
//     together: one issue hands lane k the column col + k of the current
//     instrument (lane k revalues the columns c ≡ k mod LANES; col advances
//     by LANES), so a row takes ⌈C/LANES⌉ issues; at a row's tail the lanes
//     past C get valid = 0. All lanes share the instrument's constants, held
//     static: the next record is read into a shadow register while the
//     current row still streams, and is taken over once the lanes have
//     drained (LATENCY cycles per instrument).
//   * Read port (one outstanding request): 64-byte header; pass 1 reads all I
//     records and validates every field as fxp.InstrumentRecord does (nothing
//     is written before the whole job is known good); pass 2 re-reads them and
//     streams the V0 words; pass 3 per instrument reads its record, then its
//     X row (arg0 + 4·Sp·u_i) and, with flag M, its M row (arg0 + 4·U·Sp +
//     4·Sp·u_i) in alternating chunks of CHUNK_BEATS beats (2·CHUNK_BEATS
//     columns) into two FIFOs of 2·CHUNK_BEATS beats (double buffering),
//     held as words of max(2, LANES) columns: a packer per matrix gathers
//     max(1, LANES/2) beats into a word and pushes it when full or at the
//     last beat of a chunk (only a row's last chunk can end inside a word,
//     so every row starts a new word). An issue takes one word of X (and of
//     M) for LANES ≥ 2, half a word for LANES = 1.
//   * Write port: one request for the V0 array, then one request of 8·Sp
//     bytes per loss row; the beats come from an OUT_DEPTH-entry result
//     FIFO and zeros for the padding. An entry is one issue's LANES losses
//     in column order plus the index of its last valid lane (or one V0
//     word); the write side drains it one loss per beat, so the results
//     leave in column order. The lanes are fed only while the FIFO has an
//     entry reserved for every issue in flight (credit count), so write
//     back-pressure stalls the feed and nothing is ever dropped.
//   * Throughput: the lanes compute LANES valuations per cycle, but this
//     build's 64-bit DMA data path writes one 8-byte loss per cycle (and
//     reads 8 bytes of X or M per cycle), so the unit delivers at most one
//     valuation per cycle whatever LANES; more lanes only hide the lane
//     drain at instrument boundaries behind the result FIFO. To deliver
//     LANES valuations per cycle the data path must carry LANES × 8 B/cycle
//     of loss writes plus LANES × 4 B/cycle of X reads (LANES × 8 B/cycle
//     with flag M), i.e. a 64·LANES-bit write path and a 32·LANES-bit (or
//     64·LANES-bit) read path; the lane side (the N-column issue and the
//     N-wide result entries) is already built for it.
//
// Cycles (measured in co-simulation without DMA latency or back-pressure,
// C close to Sp): cycles ≈ 100 + 65·I + I·Sp at LANES = 1, i.e. one output
// beat (one valuation) per cycle plus ~65 cycles per instrument (the two
// extra 20-beat record passes, the record read and lane drain not hidden
// behind the row, the write response); LANES ≥ 2 hides the lane drain
// without flag M (≈ 100 + 45·I + I·Sp) and changes nothing with M, where
// the reads of X and M (C beats a row) bound it. Examples, LANES 1 → 4:
// I = 4, C = Sp = 48: 552 → 472 cycles (with M 580 → 581); I = 16,
// C = 1000, Sp = 1008: 17268 → 16954 (1.08 → 1.06 cycles per valuation;
// with M 17776 → 17777). The row
// write (Sp beats) bounds a row; the reads only do with flag M and a long
// DMA read latency L: a row then reads C beats in ⌈C/(2·CHUNK_BEATS)⌉·2
// requests of one outstanding each, about C·(1 + (L + 5)/CHUNK_BEATS)
// cycles (raise CHUNK_BEATS for a high-latency host link).
//
// BAD_DESC (nothing written): src_len < 64; arg0 not 8-byte aligned (the Go
// executor takes a slice and cannot express it); every header rule of
// ExecReval (magic, record size 160, reserved words, I 1..2^20, U 1..4096,
// Sp a multiple of 16 in 16..1048640, C 1..Sp, C_dgv ≤ C, flags ⊆ {M},
// records offset ≥ 64, 8-aligned and I·160 bytes inside src, arg1 ≥
// U·Sp·4 (×2 with M), dst_len ≥ out_bytes); every record rule of
// fxp.InstrumentRecord plus underlying < U. DMA_READ on a failed read beat
// (before the write phase: nothing written; later: the job still runs to its
// end), else DMA_WRITE on a failed write response; out_bytes is 0 on errors.
//
// Unit interface: see ballast_units.sv.
`default_nettype none

module ballast_reval #(
  parameter string MEM_DIR = "hdl/mem",
  // Revaluation lanes (ID_LANES): 1, 2, 4, 8 or 16. Lane k revalues the
  // columns c ≡ k (mod LANES) of the current instrument; see the header for
  // what the DMA data path makes of them.
  parameter int unsigned LANES = 1,
  // Beats of one X or M read request (two columns per beat); each input
  // FIFO holds two chunks.
  parameter int unsigned CHUNK_BEATS = 128,
  // Result FIFO entries (> the lane's latency for a full rate).
  parameter int unsigned OUT_DEPTH = 64
) (
  input  logic        clk_i,
  input  logic        rst_ni,
  input  logic        start_i,
  input  ballast_pkg::desc_t       desc_i,
  input  logic        abort_i,
  output logic        busy_o,
  output logic        done_o,
  output logic [15:0] status_o,
  output logic [63:0] out_bytes_o,
  output logic        rd_req_valid_o,
  input  logic        rd_req_ready_i,
  output ballast_pkg::dma_req_t    rd_req_o,
  input  logic        rd_valid_i,
  output logic        rd_ready_o,
  input  logic [63:0] rd_data_i,
  input  logic        rd_last_i,
  input  logic        rd_err_i,
  input  logic        rd_done_i,
  input  logic        rd_done_err_i,
  output logic        wr_req_valid_o,
  input  logic        wr_req_ready_i,
  output ballast_pkg::dma_req_t    wr_req_o,
  output logic        wr_valid_o,
  input  logic        wr_ready_i,
  output logic [63:0] wr_data_o,
  input  logic        wr_done_i,
  input  logic        wr_done_err_i
);

  if (LANES != 1 && LANES != 2 && LANES != 4 && LANES != 8 && LANES != 16) begin : g_lanes_check
    $error("ballast_reval: LANES must be 1, 2, 4, 8 or 16");
  end
  if (CHUNK_BEATS < 16 || (CHUNK_BEATS & (CHUNK_BEATS - 1)) != 0 ||
      OUT_DEPTH < 64 || (OUT_DEPTH & (OUT_DEPTH - 1)) != 0) begin : g_size_check
    $error("ballast_reval: CHUNK_BEATS (>= 16) and OUT_DEPTH (>= 64) must be powers of two");
  end

  localparam logic [15:0] STATUS_BAD_DESC  = 16'(ballast_regs_pkg::ERR_BAD_DESC_BIT + 1);
  localparam logic [15:0] STATUS_DMA_READ  = 16'(ballast_regs_pkg::ERR_DMA_READ_BIT + 1);
  localparam logic [15:0] STATUS_DMA_WRITE = 16'(ballast_regs_pkg::ERR_DMA_WRITE_BIT + 1);

  localparam logic [31:0] MAGIC        = 32'h314C_5652;  // "RVL1"
  localparam logic [31:0] REC_BYTES    = 32'd160;
  localparam int unsigned REC_BEATS    = 20;
  localparam logic [31:0] I_MAX        = 32'd1048576;    // accel.InstrumentsMax
  localparam logic [31:0] U_MAX        = 32'd4096;       // accel.UnderlyingsMax
  localparam logic [31:0] SP_MAX       = 32'd1048640;    // job.StrideMax
  localparam int unsigned BUF_BEATS    = 2 * CHUNK_BEATS;
  localparam int unsigned OUT_CNT_BITS = $clog2(OUT_DEPTH) + 1;
  // Lane geometry: an input word holds WCOLS int32 columns (WBEATS beats);
  // the feed takes LANES columns of it per cycle (LANES = 1: half a word).
  localparam int unsigned WCOLS        = (LANES < 2) ? 2 : LANES;
  localparam int unsigned WBEATS       = WCOLS / 2;
  localparam int unsigned IN_DEPTH     = BUF_BEATS / WBEATS;     // input FIFO words
  localparam int unsigned CHUNK_WORDS  = CHUNK_BEATS / WBEATS;
  localparam int unsigned IN_CNT_BITS  = $clog2(IN_DEPTH) + 1;
  localparam int unsigned WSEL_BITS    = (WBEATS > 1) ? $clog2(WBEATS) : 1;
  // A result entry: LANES losses and the index of its last valid one.
  localparam int unsigned SUB_BITS     = (LANES > 1) ? $clog2(LANES) : 1;
  localparam int unsigned OUT_WIDTH    = 64 * LANES + SUB_BITS;

  // ------------------------------------------------------------- state ---
  typedef enum logic [4:0] {
    S_IDLE, S_HDR_REQ, S_HDR_DATA, S_CHK1, S_CHK2, S_CHK3, S_VAL_REQ, S_VAL_DATA,
    S_V0_REQ, S_V0_DATA, S_REC_REQ, S_REC_DATA, S_ROW_SETUP, S_ROW_ADDR, S_ROW, S_ROW_WAIT,
    S_END
  } rd_state_e;
  typedef enum logic [1:0] {F_WAIT, F_RUN, F_END} feed_state_e;
  typedef enum logic [2:0] {W_IDLE, W_REQ, W_DATA, W_WAIT, W_END} wr_state_e;

  rd_state_e   st_q;
  feed_state_e fs_q;
  wr_state_e   ws_q;
  logic        fin_q, done_q;
  logic [15:0] status_q;
  logic [63:0] out_bytes_q;
  logic        rd_err_q, wr_err_q;

  // Header fields.
  logic [31:0] h_magic, h_i, h_u, h_sp, h_c, h_cdgv, h_flags, h_recb;
  logic [63:0] h_off, h_res0, h_res1, h_res2;
  logic        h_m;
  assign h_m = h_flags[0];

  // Derived sizes (S_CHK1).
  logic [63:0] recs_bytes_q;  // I·160
  logic [63:0] mat_bytes_q;   // 4·U·Sp
  logic [63:0] v0b_q;         // pad64(8I)
  logic [63:0] loss_bytes_q;  // 8·I·Sp
  logic        hdr_bad_q, hdr_bad_d;

  // Beat counters.
  logic [2:0]  hb_q;          // header beat
  logic [4:0]  rb_q;          // record beat, 0..19
  logic        rec_bad_q;

  // Instrument loop (read side).
  logic [31:0] ri_q;          // record index of pass 3
  logic [63:0] rec_addr_q;    // its address
  logic [31:0] cols_beats;    // ceil(C/2)
  logic [63:0] x_addr_q, m_addr_q;
  logic [31:0] x_left_q, m_left_q;
  logic        turn_m_q;      // the next chunk is M
  logic        cur_m_q;       // the outstanding chunk read is M
  logic [31:0] chunk_q;       // beats of the outstanding chunk
  logic [63:0] urow_q;        // Sp·u
  logic        chunk_m, chunk_go;
  logic [31:0] chunk_n;

  // Shadow record (pass 3) and the lane's active constants.
  logic              sh_full_q;
  logic [7:0]        sh_kind;
  logic [5:0]        sh_losssh;
  logic [31:0]       sh_under;
  logic [63:0]       sh_v0;
  logic [23:0]       sh_lossm;
  logic [31:0]       sh_lnfk;
  fxp_pkg::scaled_t  sh_carry, sh_as, sh_kd, sh_lnfks, sh_s, sh_dd, sh_dg, sh_dv;

  logic              a_linear, a_put;
  logic [5:0]        a_losssh;
  logic [63:0]       a_v0;
  logic [23:0]       a_lossm;
  logic [31:0]       a_lnfk;
  fxp_pkg::scaled_t  a_carry, a_as, a_kd, a_lnfks, a_s, a_dd, a_dg, a_dv;

  // Feed.
  logic [31:0] fi_q;          // instrument being fed
  logic [31:0] col_q;
  logic        feed_take, feed_issue;
  logic [6:0]  pipe_q;        // elements inside the lane
  logic [OUT_CNT_BITS:0] credit_q;  // elements issued or V0 words pushed, not yet written

  // Write side.
  logic        wr_v0_q;       // the request in progress is the V0 array
  logic [31:0] wi_q;          // loss row
  logic [63:0] wr_addr_q;
  logic [31:0] wbeat_q, wbeats_q, wdata_beats_q;
  logic        wr_start_q;

  // ------------------------------------------------------------ FIFOs ---
  // Input FIFOs of WCOLS-column words, filled by a packer per matrix from
  // the row's beats: a word is pushed when its WBEATS beats are in, or at the
  // last beat of a chunk (chunks other than a row's last are whole words, so
  // a row always starts a new word and its tail word may be partial).
  logic                    x_push, m_push, x_pop, m_pop, x_valid, m_valid, x_ready, m_ready;
  logic [32*WCOLS-1:0]     x_word, m_word, x_rdata, m_rdata;
  logic [IN_CNT_BITS-1:0]  x_count, m_count;
  logic                    flush;
  assign flush = abort_i || start_i;

  ballast_fifo #(.WIDTH(32 * WCOLS), .DEPTH(IN_DEPTH)) u_xbuf (
    .clk_i, .rst_ni, .flush_i(flush), .push_i(x_push), .wdata_i(x_word), .ready_o(x_ready),
    .pop_i(x_pop), .rdata_o(x_rdata), .valid_o(x_valid), .count_o(x_count)
  );
  ballast_fifo #(.WIDTH(32 * WCOLS), .DEPTH(IN_DEPTH)) u_mbuf (
    .clk_i, .rst_ni, .flush_i(flush), .push_i(m_push), .wdata_i(m_word), .ready_o(m_ready),
    .pop_i(m_pop), .rdata_o(m_rdata), .valid_o(m_valid), .count_o(m_count)
  );

  // Result FIFO: one entry per feed issue (LANES losses in column order and
  // the index of the last valid one) or per V0 word (lane 0's slot).
  logic                 o_push, o_pop, o_valid, o_ready;
  logic [OUT_WIDTH-1:0] o_wdata, o_rdata;
  logic [OUT_CNT_BITS-1:0] unused_o_count;
  ballast_fifo #(.WIDTH(OUT_WIDTH), .DEPTH(OUT_DEPTH)) u_obuf (
    .clk_i, .rst_ni, .flush_i(flush), .push_i(o_push), .wdata_i(o_wdata), .ready_o(o_ready),
    .pop_i(o_pop), .rdata_o(o_rdata), .valid_o(o_valid), .count_o(unused_o_count)
  );

  // ------------------------------------------------------------ lanes ---
  // All lanes share the instrument's constants and the issue cycle; lane k
  // takes column col_q + k, valid while that column is < C (the valid lanes
  // of an issue are a prefix, so are their results, LATENCY cycles later).
  logic [LANES-1:0] l_valid, l_dgv, lo_valid;
  logic [31:0]      l_x [LANES];
  logic [31:0]      l_m [LANES];
  logic [63:0]      lo_loss [LANES];
  for (genvar k = 0; k < LANES; k++) begin : g_lane
    reval_lane #(.MEM_DIR(MEM_DIR)) u_lane (
      .clk_i, .rst_ni, .flush_i(abort_i),
      .linear_i (a_linear), .put_i(a_put), .carry_i(a_carry), .as_i(a_as), .kd_i(a_kd),
      .lnfk_i   (a_lnfk), .lnfks_i(a_lnfks), .s_i(a_s), .ddelta_i(a_dd), .dgammah_i(a_dg),
      .dvegas_i (a_dv), .v0_i(a_v0), .lossm_i(a_lossm), .losssh_i(a_losssh),
      .valid_i  (l_valid[k]), .x_i(l_x[k]), .m_i(l_m[k]), .dgv_i(l_dgv[k]),
      .valid_o  (lo_valid[k]), .loss_o(lo_loss[k])
    );
  end

  // --------------------------------------------------- record checking ---
  // One 8-byte beat of an instrument record, by beat index (fxp.InstrumentRecord).
  function automatic logic scaled_bad(input logic [63:0] d);
    logic signed [31:0] m, e;
    m = d[31:0];
    e = d[63:32];
    if (m == 32'sd0) scaled_bad = (e != 32'sd0);
    else             scaled_bad = (m > -32'sd1073741824 && m < 32'sd1073741824) ||
                                  e < -32'sd4096 || e > 32'sd4096;
  endfunction

  function automatic logic beat_bad(input logic [4:0] b, input logic [63:0] d, input logic [31:0] u);
    logic [7:0] kind, model, lsh;
    logic signed [31:0] lnfk;
    kind  = d[7:0];
    model = d[15:8];
    lsh   = d[23:16];
    lnfk  = d[63:32];
    beat_bad = 1'b0;
    if (b == 5'd0) begin
      beat_bad = kind < 8'd1 || kind > 8'd4 || (kind <= 8'd2 && model != 8'd0) ||
                 (kind >= 8'd3 && model != 8'd1 && model != 8'd2) || d[31:24] != 8'd0 ||
                 lsh < 8'd1 || lsh > 8'd62 || d[63:32] >= u;
    end else if (b == 5'd1) begin
      beat_bad = d[63:46] != '0;                          // v0 in [0, 2^46)
    end else if (b == 5'd2) begin
      beat_bad = d[31:24] != 8'd0 || !d[23] ||            // lossM in [2^23, 2^24)
                 lnfk < -32'sd1073741824 || lnfk > 32'sd1073741824;
    end else if (b <= 5'd17) begin
      beat_bad = scaled_bad(d);
    end else begin
      beat_bad = d != '0;                                 // reserved 0x90..0x9F
    end
  endfunction

  // A record's Scaled {i32 M, i32 E} (little-endian) as scaled_t bits {M, E}.
  function automatic logic [63:0] to_scaled(input logic [63:0] d);
    to_scaled = {d[31:0], d[63:32]};
  endfunction

  // ------------------------------------------------------ read handshake ---
  logic rd_beat;
  assign rd_beat = rd_valid_i && rd_ready_o;

  logic credit_ok;
  assign credit_ok = credit_q < (OUT_CNT_BITS+1)'(OUT_DEPTH);

  always_comb begin
    rd_ready_o = 1'b1;
    if (st_q == S_V0_DATA && rb_q == 5'd1) rd_ready_o = credit_ok;
  end

  // Packers: beats of the outstanding chunk into WCOLS-column words.
  logic                 row_beat, chunk_last, word_end;
  logic [31:0]          cb_q;                 // beat of the outstanding chunk
  logic [WSEL_BITS-1:0] xk_q, mk_q;           // beats in the partial word
  logic [63:0]          xw_q [WBEATS];
  logic [63:0]          mw_q [WBEATS];
  assign row_beat   = rd_beat && st_q == S_ROW_WAIT;
  assign chunk_last = cb_q + 32'd1 == chunk_q;
  assign word_end   = chunk_last || (cur_m_q ? mk_q : xk_q) == WSEL_BITS'(WBEATS - 1);
  assign x_push     = row_beat && !cur_m_q && word_end;
  assign m_push     = row_beat && cur_m_q && word_end;
  always_comb begin
    for (int j = 0; j < WBEATS; j++) begin
      x_word[64*j +: 64] = (WSEL_BITS'(j) == xk_q) ? rd_data_i : xw_q[j];
      m_word[64*j +: 64] = (WSEL_BITS'(j) == mk_q) ? rd_data_i : mw_q[j];
    end
  end
  always_ff @(posedge clk_i) begin
    if (row_beat && !cur_m_q) xw_q[xk_q] <= rd_data_i;
    if (row_beat && cur_m_q)  mw_q[mk_q] <= rd_data_i;
  end
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      cb_q <= '0;
      xk_q <= '0;
      mk_q <= '0;
    end else if (flush) begin
      cb_q <= '0;
      xk_q <= '0;
      mk_q <= '0;
    end else begin
      if (st_q == S_ROW) cb_q <= '0;
      else if (row_beat) cb_q <= cb_q + 32'd1;
      if (row_beat && !cur_m_q) xk_q <= word_end ? '0 : xk_q + WSEL_BITS'(1);
      if (row_beat && cur_m_q)  mk_q <= word_end ? '0 : mk_q + WSEL_BITS'(1);
    end
  end

  // Request of the read side.
  always_comb begin
    rd_req_valid_o = 1'b0;
    rd_req_o       = '0;
    unique case (st_q)
      S_HDR_REQ: begin
        rd_req_valid_o = 1'b1;
        rd_req_o       = {desc_i.src_addr, 32'd64};  // {addr, bytes}
      end
      S_VAL_REQ, S_V0_REQ: begin
        rd_req_valid_o = 1'b1;
        rd_req_o       = {desc_i.src_addr + h_off, recs_bytes_q[31:0]};  // {addr, bytes}
      end
      S_REC_REQ: begin
        rd_req_valid_o = !sh_full_q;
        rd_req_o       = {rec_addr_q, REC_BYTES};  // {addr, bytes}
      end
      S_ROW: begin
        rd_req_valid_o = chunk_go;
        rd_req_o       = {chunk_m ? m_addr_q : x_addr_q, {chunk_n[28:0], 3'b000}};  // {addr, bytes}
      end
      default: ;
    endcase
  end

  // The next chunk of the row: M when it is M's turn (or X is done), X
  // otherwise; it goes once its FIFO has room for a whole chunk.
  always_comb begin
    chunk_m = (h_m && m_left_q != '0) && (turn_m_q || x_left_q == '0);
    if (chunk_m) chunk_n = (m_left_q < CHUNK_BEATS) ? m_left_q : CHUNK_BEATS;
    else         chunk_n = (x_left_q < CHUNK_BEATS) ? x_left_q : CHUNK_BEATS;
    // The packers are empty between chunks: a chunk makes at most
    // CHUNK_WORDS words.
    chunk_go = chunk_m ? (32'(m_count) <= IN_DEPTH - CHUNK_WORDS)
                       : (x_left_q != '0 && 32'(x_count) <= IN_DEPTH - CHUNK_WORDS);
  end

  assign cols_beats = (h_c + 32'd1) >> 1;

  // ---------------------------------------------------------- read FSM ---
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      st_q        <= S_IDLE;
      fin_q       <= 1'b0;
      status_q    <= ballast_pkg::STATUS_OK;
      out_bytes_q <= '0;
      rd_err_q    <= 1'b0;
      hb_q        <= '0;
      rb_q        <= '0;
      rec_bad_q   <= 1'b0;
      ri_q        <= '0;
      sh_full_q   <= 1'b0;
      wr_start_q  <= 1'b0;
      x_left_q    <= '0;
      m_left_q    <= '0;
      turn_m_q    <= 1'b0;
      cur_m_q     <= 1'b0;
      chunk_q     <= '0;
    end else begin
      wr_start_q <= 1'b0;
      fin_q      <= 1'b0;
      if (rd_beat && rd_err_i) rd_err_q <= 1'b1;
      unique case (st_q)
        S_IDLE: begin
          if (start_i) begin
            rd_err_q    <= 1'b0;
            status_q    <= ballast_pkg::STATUS_OK;
            out_bytes_q <= '0;
            hb_q        <= '0;
            if (desc_i.src_len < 32'd64 || desc_i.arg0[2:0] != 3'd0) begin
              status_q <= STATUS_BAD_DESC;
              st_q     <= S_END;
              fin_q    <= 1'b1;
            end else begin
              st_q <= S_HDR_REQ;
            end
          end
        end
        S_HDR_REQ: if (rd_req_ready_i) st_q <= S_HDR_DATA;
        S_HDR_DATA: begin
          if (rd_beat) hb_q <= hb_q + 3'd1;
          if (rd_done_i) begin
            if (rd_done_err_i || rd_err_q) begin
              status_q <= STATUS_DMA_READ;
              st_q     <= S_END;
              fin_q    <= 1'b1;
            end else begin
              st_q <= S_CHK1;
            end
          end
        end
        S_CHK1: st_q <= S_CHK2;
        S_CHK2: st_q <= S_CHK3;
        S_CHK3: begin
          if (hdr_bad_q) begin
            status_q <= STATUS_BAD_DESC;
            st_q     <= S_END;
            fin_q    <= 1'b1;
          end else begin
            rb_q      <= '0;
            rec_bad_q <= 1'b0;
            st_q      <= S_VAL_REQ;
          end
        end
        S_VAL_REQ: if (rd_req_ready_i) st_q <= S_VAL_DATA;
        S_VAL_DATA: begin
          if (rd_beat) begin
            rb_q <= (rb_q == 5'(REC_BEATS - 1)) ? 5'd0 : rb_q + 5'd1;
            if (beat_bad(rb_q, rd_data_i, h_u)) rec_bad_q <= 1'b1;
          end
          if (rd_done_i) begin
            if (rd_done_err_i || rd_err_q) begin
              status_q <= STATUS_DMA_READ;
              st_q     <= S_END;
              fin_q    <= 1'b1;
            end else if (rec_bad_q) begin
              status_q <= STATUS_BAD_DESC;
              st_q     <= S_END;
              fin_q    <= 1'b1;
            end else begin
              out_bytes_q <= v0b_q + loss_bytes_q;
              wr_start_q  <= 1'b1;
              rb_q        <= '0;
              st_q        <= S_V0_REQ;
            end
          end
        end
        S_V0_REQ: if (rd_req_ready_i) st_q <= S_V0_DATA;
        S_V0_DATA: begin
          if (rd_beat) rb_q <= (rb_q == 5'(REC_BEATS - 1)) ? 5'd0 : rb_q + 5'd1;
          if (rd_done_i) begin
            if (rd_done_err_i) rd_err_q <= 1'b1;
            ri_q       <= '0;
            rec_addr_q <= desc_i.src_addr + h_off;
            st_q       <= S_REC_REQ;
          end
        end
        S_REC_REQ: if (rd_req_valid_o && rd_req_ready_i) begin
          rb_q <= '0;
          st_q <= S_REC_DATA;
        end
        S_REC_DATA: begin
          if (rd_beat) rb_q <= rb_q + 5'd1;
          if (rd_done_i) begin
            if (rd_done_err_i) rd_err_q <= 1'b1;
            sh_full_q <= 1'b1;
            st_q      <= S_ROW_SETUP;
          end
        end
        S_ROW_SETUP: st_q <= S_ROW_ADDR;   // urow_q = Sp·u
        S_ROW_ADDR: begin
          x_left_q <= cols_beats;
          m_left_q <= h_m ? cols_beats : 32'd0;
          turn_m_q <= 1'b0;
          st_q     <= S_ROW;
        end
        S_ROW: begin
          if (x_left_q == '0 && m_left_q == '0) begin
            ri_q       <= ri_q + 32'd1;
            rec_addr_q <= rec_addr_q + 64'(REC_BYTES);
            st_q       <= (ri_q + 32'd1 == h_i) ? S_END : S_REC_REQ;
          end else if (chunk_go && rd_req_ready_i) begin
            cur_m_q <= chunk_m;
            chunk_q <= chunk_n;
            st_q    <= S_ROW_WAIT;
          end
        end
        S_ROW_WAIT: begin
          if (rd_done_i) begin
            if (rd_done_err_i) rd_err_q <= 1'b1;
            if (cur_m_q) m_left_q <= m_left_q - chunk_q;
            else         x_left_q <= x_left_q - chunk_q;
            turn_m_q <= !cur_m_q;
            st_q     <= S_ROW;
          end
        end
        S_END: begin
          // Wait for the feed and the write side, then complete.
          if (!fin_q && ws_q == W_END && fs_q == F_END) begin
            fin_q <= 1'b1;
            if (rd_err_q) begin
              status_q    <= STATUS_DMA_READ;
              out_bytes_q <= '0;
            end else if (wr_err_q) begin
              status_q    <= STATUS_DMA_WRITE;
              out_bytes_q <= '0;
            end
          end
        end
        default: st_q <= S_IDLE;
      endcase
      // The feed takes the shadow record.
      if (feed_take) sh_full_q <= 1'b0;
      if (fin_q) st_q <= S_IDLE;
      if (abort_i) begin
        st_q      <= S_IDLE;
        fin_q     <= 1'b0;
        sh_full_q <= 1'b0;
        wr_start_q <= 1'b0;
      end
    end
  end

  // Chunk addresses advance as chunks are requested.
  always_ff @(posedge clk_i) begin
    if (st_q == S_ROW_SETUP) urow_q <= {43'd0, h_sp[20:0]} * {52'd0, sh_under[11:0]};
    if (st_q == S_ROW_ADDR) begin
      x_addr_q <= desc_i.arg0 + {urow_q[61:0], 2'b00};
      m_addr_q <= desc_i.arg0 + mat_bytes_q + {urow_q[61:0], 2'b00};
    end
    if (st_q == S_ROW && !(x_left_q == '0 && m_left_q == '0) && chunk_go && rd_req_ready_i) begin
      if (chunk_m) m_addr_q <= m_addr_q + {29'd0, chunk_n, 3'b000};
      else         x_addr_q <= x_addr_q + {29'd0, chunk_n, 3'b000};
    end
  end

  // Header capture and checks.
  always_ff @(posedge clk_i) begin
    if (st_q == S_HDR_DATA && rd_beat) begin
      unique case (hb_q)
        3'd0: {h_i, h_magic}    <= rd_data_i;
        3'd1: {h_sp, h_u}       <= rd_data_i;
        3'd2: {h_cdgv, h_c}     <= rd_data_i;
        3'd3: {h_recb, h_flags} <= rd_data_i;
        3'd4: h_off             <= rd_data_i;
        3'd5: h_res0            <= rd_data_i;
        3'd6: h_res1            <= rd_data_i;
        default: h_res2         <= rd_data_i;
      endcase
    end
    if (st_q == S_CHK1) begin
      // Operands truncated to their valid ranges: an out-of-range field
      // fails its own check, so the product is never used then.
      recs_bytes_q <= 64'(h_i[20:0]) * 64'd160;
      mat_bytes_q  <= ({51'd0, h_u[12:0]} * {43'd0, h_sp[20:0]}) << 2;
      v0b_q        <= ({40'd0, h_i[20:0], 3'b000} + 64'd63) & ~64'd63;
      loss_bytes_q <= ({43'd0, h_i[20:0]} * {43'd0, h_sp[20:0]}) << 3;
    end
  end

  // hdr_bad: every header rule of ExecReval (registered in S_CHK2 from the
  // S_CHK1 products, used in S_CHK3).
  always_comb begin
    logic bad;
    logic [63:0] need_scen;
    need_scen = h_m ? {mat_bytes_q[62:0], 1'b0} : mat_bytes_q;
    bad = h_magic != MAGIC || h_recb != REC_BYTES || h_res0 != '0 || h_res1 != '0 || h_res2 != '0 ||
          h_i < 32'd1 || h_i > I_MAX || h_u < 32'd1 || h_u > U_MAX ||
          h_sp < 32'd16 || h_sp > SP_MAX || h_sp[3:0] != 4'd0 ||
          h_c < 32'd1 || h_c > h_sp || h_cdgv > h_c || h_flags[31:1] != '0 ||
          h_off[2:0] != 3'd0 || h_off < 64'd64 || h_off > {32'd0, desc_i.src_len} ||
          recs_bytes_q > {32'd0, desc_i.src_len} - h_off ||
          desc_i.arg1 < need_scen || {32'd0, desc_i.dst_len} < v0b_q + loss_bytes_q;
    hdr_bad_d = bad;
  end
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) hdr_bad_q <= 1'b0;
    else         hdr_bad_q <= hdr_bad_d;
  end

  // Shadow record capture (pass 3).
  always_ff @(posedge clk_i) begin
    if (st_q == S_REC_DATA && rd_beat) begin
      unique case (rb_q)
        5'd0: begin
          sh_kind   <= rd_data_i[7:0];
          sh_losssh <= rd_data_i[21:16];
          sh_under  <= rd_data_i[63:32];
        end
        5'd1:  sh_v0    <= rd_data_i;
        5'd2:  {sh_lnfk, sh_lossm} <= {rd_data_i[63:32], rd_data_i[23:0]};
        5'd3:  sh_carry <= to_scaled(rd_data_i);
        5'd4:  sh_as    <= to_scaled(rd_data_i);
        5'd5:  sh_kd    <= to_scaled(rd_data_i);
        5'd6:  sh_lnfks <= to_scaled(rd_data_i);
        5'd7:  sh_s     <= to_scaled(rd_data_i);
        5'd8:  sh_dd    <= to_scaled(rd_data_i);
        5'd9:  sh_dg    <= to_scaled(rd_data_i);
        5'd10: sh_dv    <= to_scaled(rd_data_i);
        default: ;
      endcase
    end
  end

  // ---------------------------------------------------------------- feed ---
  assign feed_take  = fs_q == F_WAIT && sh_full_q && pipe_q == '0 && st_q != S_IDLE;
  assign feed_issue = fs_q == F_RUN && x_valid && (!h_m || m_valid) && credit_ok;

  logic row_end;  // this issue takes the row's last column
  assign row_end = col_q + 32'(LANES) >= h_c;
  for (genvar k = 0; k < LANES; k++) begin : g_feed
    logic [31:0] xc, mc;
    if (LANES == 1) begin : g_half
      assign xc = col_q[0] ? x_rdata[63:32] : x_rdata[31:0];
      assign mc = col_q[0] ? m_rdata[63:32] : m_rdata[31:0];
    end else begin : g_whole
      assign xc = x_rdata[32*k +: 32];
      assign mc = m_rdata[32*k +: 32];
    end
    assign l_valid[k] = feed_issue && col_q + 32'(k) < h_c;
    assign l_dgv[k]   = col_q + 32'(k) < h_cdgv;
    assign l_x[k]     = xc;
    assign l_m[k]     = h_m ? mc : 32'h0100_0000;
  end
  // LANES = 1 takes a word in two issues; wider feeds a word per issue.
  assign x_pop = feed_issue && (LANES > 1 || col_q[0] || row_end);
  assign m_pop = x_pop && h_m;

  always_ff @(posedge clk_i) begin
    if (feed_take) begin
      a_linear <= sh_kind <= 8'd2;
      a_put    <= sh_kind == 8'd4;
      a_losssh <= sh_losssh;
      a_v0     <= sh_v0;
      a_lossm  <= sh_lossm;
      a_lnfk   <= sh_lnfk;
      a_carry  <= sh_carry;
      a_as     <= sh_as;
      a_kd     <= sh_kd;
      a_lnfks  <= sh_lnfks;
      a_s      <= sh_s;
      a_dd     <= sh_dd;
      a_dg     <= sh_dg;
      a_dv     <= sh_dv;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      fs_q   <= F_WAIT;
      fi_q   <= '0;
      col_q  <= '0;
      pipe_q <= '0;
    end else begin
      pipe_q <= pipe_q + 7'(feed_issue) - 7'(lo_valid[0]);
      unique case (fs_q)
        F_WAIT: if (feed_take) begin
          col_q <= '0;
          fs_q  <= F_RUN;
        end
        F_RUN: if (feed_issue) begin
          col_q <= col_q + 32'(LANES);
          if (row_end) begin
            fi_q <= fi_q + 32'd1;
            fs_q <= (fi_q + 32'd1 == h_i) ? F_END : F_WAIT;
          end
        end
        F_END: ;
        default: fs_q <= F_WAIT;
      endcase
      if (st_q == S_IDLE || abort_i) begin
        fs_q   <= F_WAIT;
        fi_q   <= '0;
        col_q  <= '0;
      end
      if (abort_i) pipe_q <= '0;
    end
  end

  // ------------------------------------------------------ result FIFO ---
  // Lane 0 is valid on every issue; V0 words (pass 2) and results (pass 3)
  // never meet.
  logic                v0_push;
  logic [SUB_BITS-1:0] lo_last;   // index of the last valid result
  logic [64*LANES-1:0] lo_all;
  assign v0_push = st_q == S_V0_DATA && rd_beat && rb_q == 5'd1;
  assign o_push  = v0_push || lo_valid[0];
  always_comb begin
    lo_last = '0;
    for (int k = 1; k < LANES; k++) if (lo_valid[k]) lo_last = SUB_BITS'(k);
    for (int k = 0; k < LANES; k++) lo_all[64*k +: 64] = lo_loss[k];
  end
  assign o_wdata = v0_push ? {SUB_BITS'(0), (64*LANES)'(rd_data_i)} : {lo_last, lo_all};

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni)      credit_q <= '0;
    else if (abort_i || start_i) credit_q <= '0;
    else              credit_q <= credit_q + (OUT_CNT_BITS+1)'(v0_push || feed_issue) - (OUT_CNT_BITS+1)'(o_pop);
  end

  // The write side drains an entry one loss per beat: sub_q is the next.
  logic [SUB_BITS-1:0] sub_q, o_last;
  logic [63:0]         o_loss;
  logic                o_take;
  assign o_last = o_rdata[64*LANES +: SUB_BITS];
  if (LANES == 1) begin : g_drain1
    assign o_loss = o_rdata[63:0];
  end else begin : g_drainn
    assign o_loss = o_rdata[64*sub_q +: 64];
  end
  assign o_pop = o_take && sub_q == o_last;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni)    sub_q <= '0;
    else if (flush) sub_q <= '0;
    else if (o_take) sub_q <= o_pop ? '0 : sub_q + SUB_BITS'(1);
  end

  // --------------------------------------------------------- write FSM ---
  logic w_fifo_part, w_beat;
  assign w_fifo_part = wbeat_q < wdata_beats_q;
  assign wr_valid_o  = ws_q == W_DATA && (!w_fifo_part || o_valid);
  assign wr_data_o   = w_fifo_part ? o_loss : 64'd0;
  assign w_beat      = wr_valid_o && wr_ready_i;
  assign o_take      = w_beat && w_fifo_part;
  assign wr_req_valid_o = ws_q == W_REQ;
  assign wr_req_o    = {wr_addr_q, {wbeats_q[28:0], 3'b000}};  // {addr, bytes}

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      ws_q          <= W_IDLE;
      wr_err_q      <= 1'b0;
      wr_v0_q       <= 1'b0;
      wi_q          <= '0;
      wr_addr_q     <= '0;
      wbeat_q       <= '0;
      wbeats_q      <= '0;
      wdata_beats_q <= '0;
    end else begin
      unique case (ws_q)
        W_IDLE: if (wr_start_q) begin
          wr_err_q      <= 1'b0;
          wr_v0_q       <= 1'b1;
          wi_q          <= '0;
          wr_addr_q     <= desc_i.dst_addr;
          wbeats_q      <= v0b_q[34:3];
          wdata_beats_q <= h_i;
          ws_q          <= W_REQ;
        end
        W_REQ: if (wr_req_ready_i) begin
          wbeat_q <= '0;
          ws_q    <= W_DATA;
        end
        W_DATA: if (w_beat) begin
          wbeat_q <= wbeat_q + 32'd1;
          if (wbeat_q + 32'd1 == wbeats_q) ws_q <= W_WAIT;
        end
        W_WAIT: if (wr_done_i) begin
          if (wr_done_err_i) wr_err_q <= 1'b1;
          wr_addr_q <= wr_addr_q + {29'd0, wbeats_q, 3'b000};
          if (!wr_v0_q) wi_q <= wi_q + 32'd1;
          wr_v0_q       <= 1'b0;
          wbeats_q      <= h_sp;
          wdata_beats_q <= h_c;
          ws_q          <= (!wr_v0_q && wi_q + 32'd1 == h_i) ? W_END : W_REQ;
        end
        W_END: if (st_q == S_IDLE) ws_q <= W_IDLE;
        default: ws_q <= W_IDLE;
      endcase
      if (abort_i || st_q == S_IDLE) ws_q <= W_IDLE;
    end
  end

  // ---------------------------------------------------------- outputs ---
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni)      done_q <= 1'b0;
    else if (abort_i) done_q <= 1'b0;
    else              done_q <= fin_q;
  end

  assign busy_o      = st_q != S_IDLE;
  assign done_o      = done_q;
  assign status_o    = status_q;
  assign out_bytes_o = out_bytes_q;

  // Errors come from the per-beat flags and the requests' done; the FIFOs
  // never overflow (room is reserved before each request).
  logic unused_inputs;
  assign unused_inputs = ^{rd_last_i, x_ready, m_ready, o_ready, desc_i.opcode, desc_i.flags,
                           desc_i.tag, desc_i.arg2, sh_kind[7:3],
                           recs_bytes_q[63:32], sh_under[31:12], urow_q[63:62], rd_req_o};

endmodule

`default_nettype wire
