// OP_AGGTAIL unit (docs/accel.md §7 "AGGTAIL"; Go specification
// job.ExecAggTail, tails fxp.TailSums): for every account a,
//   L_a[s] = Σ_{j ∈ [start[a], start[a+1])} qty_j · loss[instr_j][s]
// for s in [0, S) in wrapping int64 (the host guarantees no overflow), its
// tail record {VaR = the kVaR-th largest, ESsum = the sum of the kES
// largest, Sum = Σ L_a, 0} at dst + 32·a (records padded with zeros to a
// multiple of 64 bytes), and with flag bit 0 L_a as row a of the
// account-loss matrix at dst + pad64(32·A) + 8·Sp·a (columns [S, Sp) 0).
// out_bytes = pad64(32·A) (+ 8·A·Sp with the flag). arg0 = IOVA of the loss
// matrix (row i at arg0 + 8·Sp·i), arg1 = its rows I.
//
// Micro-architecture
//   1. Validation, before anything is written: the 64-byte header (one
//      read), its fields and the three array extents (job.ExecAggTail's
//      rules, plus S ≤ COLS_MAX), dst_len ≥ out_bytes, then one streaming
//      read of start[] (start[0] = 0, non-decreasing, start[A] = P) and one
//      of instr[] (every entry < arg1). Any failure: BAD_DESC, nothing
//      written, out_bytes 0.
//   2. Accumulation, per account: start[] is re-read in chunks of 16
//      entries (one request per 16 accounts), instr[] and qty[] in chunks
//      of 16 positions (two requests per 16 positions) into register
//      buffers; then per position one DMA read of the loss row (S·8 bytes
//      at arg0 + 8·Sp·instr_j). Each beat goes through a 3-stage 64x64
//      multiplier (aggtail_mul64, low 64 bits) and a read-add-write of the
//      row RAM at one column per cycle (the account's first position writes
//      the product, later ones add; the RAM's one-cycle read-after-write
//      hazard is closed by forwarding the last write). The last position's
//      writes also track the row's smallest and largest key (L ^ 2^63)
//      and its sum.
//   3. Hand-off: the row RAM has two banks (aggtail_rowram, 2 x COLS_MAX x
//      64 bits). A finished row goes to the tail side and the next account
//      accumulates in the other bank meanwhile, so the two stages overlap.
//   4. Tail side: aggtail_select, an exact radix select on the row (8-bit
//      digits over the row's key range, both ranks at once, early exit
//      when a target's bin holds one key, ESsum from per-bin sums; see that
//      file); Sum is added up by the accumulation (the last position's
//      writes). The select's first scan also streams the row through an
//      8-entry FIFO into the account-loss write (one request of 8·Sp bytes,
//      zeros after column S) when the flag asks for it. Then the 32-byte
//      tail record (64 bytes for the last record when A is odd: the zero
//      padding) is written. An account without positions and without the
//      flag skips the select.
// At most one read and one write request are outstanding; reads are taken
// at one beat per cycle (rd_ready_o is always high while busy).
//
// Cycles. With L = the overhead of one read request (the memory's read
// latency + about 5 cycles on the vsim harness):
//   job    ≈ 3·L + (A+1)/2 + P/2 + ~20 (validation)
//            + Σ_a max(ACC_a, TAIL_{a−1}) + TAIL_{A−1} + ~10
//   ACC_a  ≈ P_a·(S + L) + (chunk refills: 2·(L + 8) per 16 positions and
//            L + 8 per 16 accounts of the job) + ~6
//   TAIL_a ≈ Σ_{p < n} (S + W_p + 7) + ~13 (+ S to stream the row when
//            n = 0 and the flag is set)
// where n ≤ ceil(bitlen(max key − min key) / 8) ≤ 8 digit passes (2 for
// random 40-bit losses with S up to a few thousand, 0 when all S values
// are equal) and W_p ≤ 256 is the walk of pass p (typically a few cycles).
// So an account costs about max(P_a·(S + L), n·S) cycles. Measured on the
// harness at zero memory latency (random ±2^40 losses, positions spread
// evenly): A=4, P=12, S=64: 1079 cycles; A=16, P=64, S=1000: 66862 (4179
// per account, accumulation-bound); A=16, P=16, S=1000: 34709 (2169 per
// account, tail-bound); at 100 cycles of read latency 2879, 74562, 35409.
//
// Limits: S ≤ COLS_MAX (the row RAM); A ≤ 2^20, P ≤ 2^26, Sp ≤ 1048640 as
// the contract. BAD_DESC: src_len < 64, bad magic, reserved ≠ 0, A > 2^20,
// P > 2^26, flags beyond bit 0, Sp not a multiple of 16 in 16..1048640,
// S not in 1..Sp or S > COLS_MAX, kVaR or kES not in 1..S, an array
// offset misaligned, < 64 or past src_len, an array longer than what
// follows it in src, dst_len < out_bytes, start[0] ≠ 0, start[A] ≠ P,
// start[] decreasing, instr_j ≥ arg1. DMA_READ on a failed read (the unit
// stops after its outstanding requests end), DMA_WRITE on a failed write;
// both report out_bytes 0. abort_i drops the job at once.
//
// Unit interface: see ballast_units.sv.
`default_nettype none

module ballast_aggtail #(
  // Unused: the unit has no function tables (kept for the uniform unit
  // parameter list).
  /* verilator lint_off UNUSEDPARAM */
  parameter string MEM_DIR = "hdl/mem",
  /* verilator lint_on UNUSEDPARAM */
  // The most tail scenarios S (the row RAM's depth); ID_AGG_COLS_MAX.
  parameter int unsigned COLS_MAX = 16384,
  // Radix-select digit width: 2, 4 or 8 (at most 64/DIGIT_BITS digit
  // passes, walks over at most 2^DIGIT_BITS bins).
  parameter int unsigned DIGIT_BITS = 8,
  // The row RAM banks in UltraRAM (UltraScale+: 2 x 4 URAM288 at the
  // default COLS_MAX); 0 for families without UltraRAM (block RAM).
  parameter bit ROW_URAM = 1'b1
) (
  input  logic                  clk_i,
  input  logic                  rst_ni,
  input  logic                  start_i,
  input  ballast_pkg::desc_t    desc_i,
  input  logic                  abort_i,
  output logic                  busy_o,
  output logic                  done_o,
  output logic [15:0]           status_o,
  output logic [63:0]           out_bytes_o,
  output logic                  rd_req_valid_o,
  input  logic                  rd_req_ready_i,
  output ballast_pkg::dma_req_t rd_req_o,
  input  logic                  rd_valid_i,
  output logic                  rd_ready_o,
  input  logic [63:0]           rd_data_i,
  input  logic                  rd_last_i,
  input  logic                  rd_err_i,
  input  logic                  rd_done_i,
  input  logic                  rd_done_err_i,
  output logic                  wr_req_valid_o,
  input  logic                  wr_req_ready_i,
  output ballast_pkg::dma_req_t wr_req_o,
  output logic                  wr_valid_o,
  input  logic                  wr_ready_i,
  output logic [63:0]           wr_data_o,
  input  logic                  wr_done_i,
  input  logic                  wr_done_err_i
);

  // Completion status codes: ERROR bit k <-> status k+1 (docs/accel.md §5).
  localparam logic [15:0] STATUS_OK        = ballast_pkg::STATUS_OK;
  localparam logic [15:0] STATUS_BAD_DESC  = 16'(ballast_regs_pkg::ERR_BAD_DESC_BIT + 1);
  localparam logic [15:0] STATUS_DMA_READ  = 16'(ballast_regs_pkg::ERR_DMA_READ_BIT + 1);
  localparam logic [15:0] STATUS_DMA_WRITE = 16'(ballast_regs_pkg::ERR_DMA_WRITE_BIT + 1);

  // The contract's AGGTAIL constants (docs/accel.md §7, accel/job/layout.go).
  localparam logic [31:0] AGT_MAGIC      = 32'h3154_4741;  // "AGT1"
  localparam logic [31:0] ACCOUNTS_MAX   = 32'd1 << 20;
  localparam logic [31:0] POSITIONS_MAX  = 32'd1 << 26;
  localparam logic [31:0] STRIDE_MAX     = 32'd1048640;
  localparam logic [31:0] COLUMN_ALIGN   = 32'd16;
  localparam logic [63:0] HEADER_BYTES   = 64'd64;
  localparam logic [63:0] MSB            = 64'h8000_0000_0000_0000;

  localparam int unsigned CW = $clog2(COLS_MAX + 1);
  localparam int unsigned AW = (COLS_MAX > 1) ? $clog2(COLS_MAX) : 1;
  // Positions / start entries per prefetch chunk.
  localparam int unsigned CHUNK = 16;
  localparam int unsigned STREAM_FIFO_DEPTH = 8;

  typedef enum logic [4:0] {
    S_IDLE, S_HDR, S_CHK1, S_CHK2, S_VSTART, S_VINSTR,
    S_NEXT_ACCT, S_SFETCH, S_POS, S_IFETCH, S_QFETCH, S_ROWMUL, S_ROWREQ, S_ROW,
    S_HANDOFF, S_FINISH, S_DRAIN, S_DONE
  } state_e;
  state_e state_q;

  typedef enum logic [1:0] {W_IDLE, W_REQ, W_DATA, W_WAIT} wstate_e;
  wstate_e wstate_q;

  // The tail side: the select and the record write of the account handed
  // off by the accumulation, which meanwhile goes on in the other bank.
  typedef enum logic [1:0] {TS_IDLE, TS_START, TS_RUN, TS_REC} tstate_e;
  tstate_e tstate_q;

  // ------------------------------------------------------------ header ---
  logic [31:0] h_magic_q, h_a_q, h_s_q, h_sp_q, h_kv_q, h_ke_q, h_p_q, h_flags_q;
  logic [63:0] h_start_q, h_instr_q, h_qty_q, h_res_q;
  logic        flag_q;                  // write the account-loss matrix
  logic        bad_q;                   // a validation rule failed
  logic [63:0] out_q;                   // out_bytes of the job
  logic [63:0] tb_q;                    // pad64(32·A)

  // ----------------------------------------------------------- reading ---
  logic        rd_valid_q;              // request not yet accepted
  logic [63:0] rd_addr_q;
  logic [31:0] rd_bytes_q;
  logic [27:0] rbeat_q;                 // beats of the current request so far
  logic        rd_busy_q;               // request issued, rd_done not yet seen
  logic        rd_err_q, wr_err_q;
  logic [31:0] prev_q;                  // start[] validation: last entry

  // ---------------------------------------------------------- the walk ---
  logic [20:0] acct_q;                  // account a
  logic [31:0] pos_q;                   // position j
  logic [31:0] end_q;                   // start[a+1]
  logic        first_q;                 // no position of account a added yet
  logic [16:0] schunk_q;                // start[] chunk held in sbuf (entries / 16)
  logic        schunk_v_q;
  logic [27:0] pchunk_q;                // instr/qty chunk held (positions / 16)
  logic        pchunk_v_q;
  logic [31:0] sbuf_q [CHUNK];
  logic [31:0] ibuf_q [CHUNK];
  logic [63:0] qbuf_q [CHUNK];
  logic [31:0] instr_cur_q;
  logic        last_q;                  // the account's last position
  logic [63:0] qty_cur_q;
  logic [52:0] rowoff_q;                // instr·Sp (elements)
  logic        bank_q;                  // the row RAM bank accumulating
  logic [63:0] kmin_q, kmax_q;          // keys (L ^ 2^63) of the final row
  logic [63:0] lsum_q;                  // Σ of the final row (Sum)
  // The account on the tail side.
  logic        ts_bank_q, ts_empty_q, ts_pad_q;
  logic [63:0] ts_base_q, ts_span_q, ts_sum_q;
  logic [63:0] row_addr_q, rec_addr_q;  // its account-loss row and record

  logic        rec_zero_q;              // the account's record is all 0 (no select)
  logic [15:0] status_q;
  logic        done_q;

  // --------------------------------------------------- rd data routing ---
  logic rd_beat;
  assign rd_beat = rd_valid_i && rd_ready_o;

  // ----------------------------------------------- header rule checks ---
  function automatic logic arr_ok(input logic [63:0] off, input logic [63:0] nbytes,
                                  input logic [31:0] src_len);
    arr_ok = off[2:0] == 3'd0 && off >= HEADER_BYTES && off <= {32'd0, src_len} &&
             nbytes <= {32'd0, src_len} - off;
  endfunction

  logic hdr_bad;
  always_comb begin
    hdr_bad = h_magic_q != AGT_MAGIC || h_res_q != 64'd0 ||
              h_a_q > ACCOUNTS_MAX || h_p_q > POSITIONS_MAX || h_flags_q[31:1] != 31'd0 ||
              h_sp_q < COLUMN_ALIGN || h_sp_q > STRIDE_MAX || h_sp_q[3:0] != 4'd0 ||
              h_s_q < 32'd1 || h_s_q > h_sp_q || h_s_q > COLS_MAX ||
              h_kv_q < 32'd1 || h_kv_q > h_s_q || h_ke_q < 32'd1 || h_ke_q > h_s_q;
    if (!arr_ok(h_start_q, {30'd0, h_a_q, 2'b00} + 64'd4, desc_i.src_len) ||
        !arr_ok(h_instr_q, {30'd0, h_p_q, 2'b00}, desc_i.src_len) ||
        !arr_ok(h_qty_q, {29'd0, h_p_q, 3'b000}, desc_i.src_len)) begin
      hdr_bad = 1'b1;
    end
  end

  // A and Sp are only trusted inside their bounds (21 bits each).
  logic [63:0] tb_calc, mat_calc;
  assign tb_calc  = ({27'd0, h_a_q, 5'd0} + 64'd63) & ~64'd63;
  assign mat_calc = {19'd0, 42'(h_a_q[20:0]) * 42'(h_sp_q[20:0]), 3'd0};

  // start[] validation of one beat: entries e0 = 2·beat and e0 + 1.
  logic [31:0] e0, v0, v1;
  logic        has1, vstart_bad, vinstr_bad;
  assign e0   = {4'd0, rbeat_q[26:0], 1'b0};
  assign v0   = rd_data_i[31:0];
  assign v1   = rd_data_i[63:32];
  always_comb begin
    has1 = e0 + 32'd1 <= h_a_q;
    vstart_bad = (e0 == 32'd0) ? (v0 != 32'd0) : (v0 < prev_q);
    if (e0 == h_a_q && v0 != h_p_q) vstart_bad = 1'b1;
    if (has1 && (v1 < v0 || (e0 + 32'd1 == h_a_q && v1 != h_p_q))) vstart_bad = 1'b1;
    vinstr_bad = {32'd0, v0} >= desc_i.arg1 ||
                 (e0 + 32'd1 < h_p_q && {32'd0, v1} >= desc_i.arg1);
  end

  // Chunk geometry.
  logic [20:0] acct_next;
  assign acct_next = acct_q + 21'd1;
  logic [31:0] s_e0, s_left, p_e0, p_left;
  logic [4:0]  s_n, p_n;
  assign s_e0   = {11'd0, acct_next} & ~32'd15;  // first entry of the chunk of start[a+1]
  assign s_left = h_a_q + 32'd1 - s_e0;
  assign s_n    = (s_left > 32'd16) ? 5'd16 : s_left[4:0];
  assign p_e0   = pos_q & ~32'd15;
  assign p_left = h_p_q - p_e0;
  assign p_n    = (p_left > 32'd16) ? 5'd16 : p_left[4:0];
  // 8-byte beats of a chunk of u32 entries: ceil(n / 2).
  logic [3:0] s_beats, p_beats;
  assign s_beats = s_n[4:1] + {3'd0, s_n[0]};
  assign p_beats = p_n[4:1] + {3'd0, p_n[0]};

  logic [3:0] s_idx, p_idx;
  assign s_idx = acct_next[3:0];
  assign p_idx = pos_q[3:0];

  // --------------------------------------------- accumulate pipeline ---
  logic              m_valid, mul_busy;
  logic [63:0]       m_prod;
  logic [AW+1:0]     m_tag;             // {last, first, column}
  logic              r_valid_q, byp_v_q;
  logic [AW-1:0]     r_col_q, byp_col_q;
  logic              r_first_q, r_last_q, byp_last_q;
  logic [63:0]       r_prod_q, byp_data_q;
  logic [63:0]       rdata0, rdata1, acc_rdata, sel_rdata, acc_old, acc_wdata;

  aggtail_mul64 #(.TAG_W(AW + 2)) u_mul (
    .clk_i   (clk_i),
    .rst_ni  (rst_ni),
    .flush_i (abort_i),
    .valid_i (rd_beat && state_q == S_ROW),
    .a_i     (rd_data_i),
    .b_i     (qty_cur_q),
    .tag_i   ({last_q, first_q, rbeat_q[AW-1:0]}),
    .valid_o (m_valid),
    .p_o     (m_prod),
    .tag_o   (m_tag),
    .busy_o  (mul_busy)
  );

  assign acc_rdata = bank_q ? rdata1 : rdata0;
  assign acc_old   = (byp_v_q && byp_col_q == r_col_q) ? byp_data_q : acc_rdata;
  assign acc_wdata = r_first_q ? r_prod_q : acc_old + r_prod_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      r_valid_q <= 1'b0;
      byp_v_q   <= 1'b0;
    end else if (abort_i) begin
      r_valid_q <= 1'b0;
      byp_v_q   <= 1'b0;
    end else begin
      r_valid_q <= m_valid;
      byp_v_q   <= r_valid_q;
    end
  end
  always_ff @(posedge clk_i) begin
    r_col_q    <= m_tag[AW-1:0];
    r_first_q  <= m_tag[AW];
    r_last_q   <= m_tag[AW+1];
    r_prod_q   <= m_prod;
    byp_col_q  <= r_col_q;
    byp_data_q <= acc_wdata;
    byp_last_q <= r_last_q;
  end

  logic acc_busy;
  assign acc_busy = mul_busy || r_valid_q || byp_v_q;

  // ----------------------------------------------------- tails engine ---
  logic          sel_start, sel_busy, sel_done, sel_re;
  logic [AW-1:0] sel_raddr;
  logic          st_valid, st_credit;
  logic [63:0]   st_data, sel_var, sel_es;
  logic          fifo_ready, fifo_valid, fifo_pop;
  logic [63:0]   fifo_rdata;
  logic [$clog2(STREAM_FIFO_DEPTH):0] fifo_count;

  aggtail_select #(.COLS_MAX(COLS_MAX), .DIGIT_BITS(DIGIT_BITS)) u_sel (
    .clk_i          (clk_i),
    .rst_ni         (rst_ni),
    .abort_i        (abort_i),
    .start_i        (sel_start),
    .cols_i         (h_s_q[CW-1:0]),
    .kvar_i         (h_kv_q[CW-1:0]),
    .kes_i          (h_ke_q[CW-1:0]),
    .empty_i        (ts_empty_q),
    .base_i         (ts_base_q),
    .span_i         (ts_span_q),
    .stream_i       (flag_q),
    .credit_i       (st_credit),
    .ram_re_o       (sel_re),
    .ram_raddr_o    (sel_raddr),
    .ram_rdata_i    (sel_rdata),
    .stream_valid_o (st_valid),
    .stream_data_o  (st_data),
    .busy_o         (sel_busy),
    .done_o         (sel_done),
    .var_o          (sel_var),
    .essum_o        (sel_es)
  );

  // A streamed read may issue while the FIFO has room for it and for the
  // value the RAM returns this cycle.
  assign st_credit = ({1'b0, fifo_count} + {{($clog2(STREAM_FIFO_DEPTH)+1){1'b0}}, st_valid}) <
                     ($clog2(STREAM_FIFO_DEPTH)+2)'(STREAM_FIFO_DEPTH);

  ballast_fifo #(.WIDTH(64), .DEPTH(STREAM_FIFO_DEPTH)) u_stream (
    .clk_i   (clk_i),
    .rst_ni  (rst_ni),
    .flush_i (abort_i),
    .push_i  (st_valid),
    .wdata_i (st_data),
    .ready_o (fifo_ready),
    .pop_i   (fifo_pop),
    .rdata_o (fifo_rdata),
    .valid_o (fifo_valid),
    .count_o (fifo_count)
  );

  // Two banks: the accumulation writes and reads bank_q while the select
  // scans ts_bank_q, the other one (the hand-off waits for the tail side
  // to be idle, so the two never meet in one bank).
  logic re0, re1, acc_rd0, acc_rd1;
  assign acc_rd0 = m_valid && !bank_q;
  assign acc_rd1 = m_valid && bank_q;
  assign re0 = acc_rd0 || (sel_re && !ts_bank_q);
  assign re1 = acc_rd1 || (sel_re && ts_bank_q);
  assign sel_rdata = ts_bank_q ? rdata1 : rdata0;

  aggtail_rowram #(.DEPTH(COLS_MAX), .WIDTH(64), .ULTRA(ROW_URAM)) u_row0 (
    .clk_i   (clk_i),
    .we_i    (r_valid_q && !bank_q),
    .waddr_i (r_col_q),
    .wdata_i (acc_wdata),
    .re_i    (re0),
    .raddr_i (acc_rd0 ? m_tag[AW-1:0] : sel_raddr),
    .rdata_o (rdata0)
  );

  aggtail_rowram #(.DEPTH(COLS_MAX), .WIDTH(64), .ULTRA(ROW_URAM)) u_row1 (
    .clk_i   (clk_i),
    .we_i    (r_valid_q && bank_q),
    .waddr_i (r_col_q),
    .wdata_i (acc_wdata),
    .re_i    (re1),
    .raddr_i (acc_rd1 ? m_tag[AW-1:0] : sel_raddr),
    .rdata_o (rdata1)
  );

  // ----------------------------------------------------------- writer ---
  logic        w_rec_q;                 // the request is a tail record
  logic [63:0] w_addr_q;
  logic [31:0] w_bytes_q;
  logic [20:0] wbeat_q, wbeats_q;
  logic [63:0] w_var_q, w_es_q, w_sum_q;
  logic        row_go, rec_go;
  logic        w_from_fifo;

  assign w_from_fifo = !w_rec_q && wbeat_q < h_s_q[20:0];
  assign wr_valid_o  = wstate_q == W_DATA && (!w_from_fifo || fifo_valid);
  always_comb begin
    wr_data_o = 64'd0;
    if (w_from_fifo) begin
      wr_data_o = fifo_rdata;
    end else if (w_rec_q) begin
      unique case (wbeat_q)
        21'd0:   wr_data_o = w_var_q;
        21'd1:   wr_data_o = w_es_q;
        21'd2:   wr_data_o = w_sum_q;
        default: wr_data_o = 64'd0;
      endcase
    end
  end
  assign fifo_pop       = wstate_q == W_DATA && wr_ready_i && w_from_fifo;
  assign wr_req_valid_o = wstate_q == W_REQ;
  assign wr_req_o       = {w_addr_q, w_bytes_q};   // dma_req_t {addr, bytes}

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      wstate_q  <= W_IDLE;
      w_rec_q   <= 1'b0;
      w_addr_q  <= '0;
      w_bytes_q <= '0;
      wbeat_q   <= '0;
      wbeats_q  <= '0;
      w_var_q   <= '0;
      w_es_q    <= '0;
      w_sum_q   <= '0;
      wr_err_q  <= 1'b0;
    end else begin
      unique case (wstate_q)
        W_IDLE: begin
          if (row_go) begin
            w_rec_q   <= 1'b0;
            w_addr_q  <= row_addr_q;
            w_bytes_q <= {h_sp_q[28:0], 3'b000};
            wbeats_q  <= h_sp_q[20:0];
            wbeat_q   <= '0;
            wstate_q  <= W_REQ;
          end else if (rec_go) begin
            w_rec_q   <= 1'b1;
            w_addr_q  <= rec_addr_q;
            w_bytes_q <= ts_pad_q ? 32'd64 : 32'd32;
            wbeats_q  <= ts_pad_q ? 21'd8 : 21'd4;
            wbeat_q   <= '0;
            w_var_q   <= rec_zero_q ? 64'd0 : sel_var;
            w_es_q    <= rec_zero_q ? 64'd0 : sel_es;
            w_sum_q   <= ts_sum_q;
            wstate_q  <= W_REQ;
          end
        end
        W_REQ: if (wr_req_ready_i) wstate_q <= W_DATA;
        W_DATA: begin
          if (wr_valid_o && wr_ready_i) begin
            wbeat_q <= wbeat_q + 1'b1;
            if (wbeat_q + 1'b1 == wbeats_q) wstate_q <= wr_done_i ? W_IDLE : W_WAIT;
          end
          if (wr_done_i && wr_done_err_i) wr_err_q <= 1'b1;
        end
        W_WAIT: begin
          if (wr_done_i) begin
            wstate_q <= W_IDLE;
            if (wr_done_err_i) wr_err_q <= 1'b1;
          end
        end
        default: wstate_q <= W_IDLE;
      endcase
      if (start_i) wr_err_q <= 1'b0;
      if (abort_i) wstate_q <= W_IDLE;
    end
  end

  // ------------------------------------------------------ tail side ---
  // An account without positions and without the matrix skips the select:
  // its record is all 0.
  logic ts_skip;
  assign ts_skip   = ts_empty_q && !flag_q;
  assign sel_start = tstate_q == TS_START && !ts_skip && !sel_busy && (!flag_q || wstate_q == W_IDLE);
  assign row_go    = sel_start && flag_q;
  assign rec_go    = tstate_q == TS_REC && wstate_q == W_IDLE;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      tstate_q   <= TS_IDLE;
      rec_zero_q <= 1'b0;
      row_addr_q <= '0;
      rec_addr_q <= '0;
    end else begin
      unique case (tstate_q)
        TS_IDLE: ;  // the accumulation's hand-off (below) starts it
        TS_START: begin
          if (ts_skip) begin
            rec_zero_q <= 1'b1;
            tstate_q   <= TS_REC;
          end else if (sel_start) begin
            rec_zero_q <= 1'b0;
            tstate_q   <= TS_RUN;
          end
        end
        TS_RUN: if (sel_done) tstate_q <= TS_REC;
        TS_REC: begin
          if (rec_go) begin
            rec_addr_q <= rec_addr_q + 64'd32;
            row_addr_q <= row_addr_q + {29'd0, h_sp_q, 3'b000};
            tstate_q   <= TS_IDLE;
          end
        end
        default: tstate_q <= TS_IDLE;
      endcase
      if (state_q == S_CHK2) begin
        row_addr_q <= desc_i.dst_addr + tb_q;
        rec_addr_q <= desc_i.dst_addr;
      end
      if (state_q == S_HANDOFF && !acc_busy && tstate_q == TS_IDLE) tstate_q <= TS_START;
      if (abort_i) tstate_q <= TS_IDLE;
    end
  end

  // The range and the sum of the final row (the last position's writes):
  // the select's key reduction and the record's Sum; reset when an account
  // starts (an account without positions keeps Sum = 0).
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      kmin_q <= '1;
      kmax_q <= '0;
      lsum_q <= '0;
    end else if (state_q == S_NEXT_ACCT) begin
      kmin_q <= '1;
      kmax_q <= '0;
      lsum_q <= '0;
    end else if (byp_v_q && byp_last_q) begin
      if ((byp_data_q ^ MSB) < kmin_q) kmin_q <= byp_data_q ^ MSB;
      if ((byp_data_q ^ MSB) > kmax_q) kmax_q <= byp_data_q ^ MSB;
      lsum_q <= lsum_q + byp_data_q;
    end
  end

  // ------------------------------------------------------- main FSM ---
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q     <= S_IDLE;
      h_magic_q   <= '0;
      h_a_q       <= '0;
      h_s_q       <= '0;
      h_sp_q      <= '0;
      h_kv_q      <= '0;
      h_ke_q      <= '0;
      h_p_q       <= '0;
      h_flags_q   <= '0;
      h_start_q   <= '0;
      h_instr_q   <= '0;
      h_qty_q     <= '0;
      h_res_q     <= '0;
      flag_q      <= 1'b0;
      bad_q       <= 1'b0;
      out_q       <= '0;
      tb_q        <= '0;
      rd_valid_q  <= 1'b0;
      rd_addr_q   <= '0;
      rd_bytes_q  <= '0;
      rbeat_q     <= '0;
      rd_busy_q   <= 1'b0;
      rd_err_q    <= 1'b0;
      prev_q      <= '0;
      acct_q      <= '0;
      pos_q       <= '0;
      end_q       <= '0;
      first_q     <= 1'b0;
      schunk_q    <= '0;
      schunk_v_q  <= 1'b0;
      pchunk_q    <= '0;
      pchunk_v_q  <= 1'b0;
      instr_cur_q <= '0;
      last_q      <= 1'b0;
      qty_cur_q   <= '0;
      rowoff_q    <= '0;
      bank_q      <= 1'b0;
      ts_bank_q   <= 1'b0;
      ts_empty_q  <= 1'b0;
      ts_pad_q    <= 1'b0;
      ts_base_q   <= '0;
      ts_span_q   <= '0;
      ts_sum_q    <= '0;
      status_q    <= STATUS_OK;
      done_q      <= 1'b0;
    end else begin
      done_q <= 1'b0;

      // The read port: request handshake, beats, completion.
      if (rd_valid_q && rd_req_ready_i) rd_valid_q <= 1'b0;
      if (rd_beat) rbeat_q <= rbeat_q + 1'b1;
      if (rd_done_i) begin
        rd_busy_q <= 1'b0;
        if (rd_done_err_i) rd_err_q <= 1'b1;
      end

      unique case (state_q)
        S_IDLE: begin
          if (start_i) begin
            rd_err_q   <= 1'b0;
            bad_q      <= 1'b0;
            out_q      <= '0;
            schunk_v_q <= 1'b0;
            pchunk_v_q <= 1'b0;
            acct_q     <= '0;
            pos_q      <= '0;
            if (desc_i.src_len < 32'd64) begin
              status_q <= STATUS_BAD_DESC;
              state_q  <= S_DONE;
            end else begin
              rd_valid_q <= 1'b1;
              rd_busy_q  <= 1'b1;
              rd_addr_q  <= desc_i.src_addr;
              rd_bytes_q <= 32'd64;
              rbeat_q    <= '0;
              state_q    <= S_HDR;
            end
          end
        end

        // ----------------------------------------------- validation ---
        S_HDR: begin
          if (rd_beat) begin
            unique case (rbeat_q[2:0])
              3'd0: {h_a_q, h_magic_q}  <= rd_data_i;
              3'd1: {h_sp_q, h_s_q}     <= rd_data_i;
              3'd2: {h_ke_q, h_kv_q}    <= rd_data_i;
              3'd3: {h_flags_q, h_p_q}  <= rd_data_i;
              3'd4: h_start_q <= rd_data_i;
              3'd5: h_instr_q <= rd_data_i;
              3'd6: h_qty_q   <= rd_data_i;
              default: h_res_q <= rd_data_i;
            endcase
          end
          if (rd_done_i) state_q <= rd_done_err_i ? S_DRAIN : S_CHK1;
        end
        S_CHK1: begin
          bad_q   <= hdr_bad;
          tb_q    <= tb_calc;
          out_q   <= tb_calc + (h_flags_q[0] ? mat_calc : 64'd0);
          flag_q  <= h_flags_q[0];
          state_q <= S_CHK2;
        end
        S_CHK2: begin
          if (bad_q || out_q > {32'd0, desc_i.dst_len}) begin
            status_q <= STATUS_BAD_DESC;
            out_q    <= '0;
            state_q  <= S_DONE;
          end else begin
            rd_valid_q <= 1'b1;
            rd_busy_q  <= 1'b1;
            rd_addr_q  <= desc_i.src_addr + h_start_q;
            rd_bytes_q <= ({h_a_q[29:0], 2'b00} + 32'd4 + 32'd7) & ~32'd7;
            rbeat_q    <= '0;
            prev_q     <= '0;
            state_q    <= S_VSTART;
          end
        end
        S_VSTART: begin
          if (rd_beat && vstart_bad) bad_q <= 1'b1;
          if (rd_beat) prev_q <= has1 ? v1 : v0;
          if (rd_done_i) begin
            if (rd_done_err_i) begin
              state_q <= S_DRAIN;
            end else if (bad_q || (rd_beat && vstart_bad)) begin
              status_q <= STATUS_BAD_DESC;
              out_q    <= '0;
              state_q  <= S_DONE;
            end else if (h_p_q == 32'd0) begin
              state_q <= S_NEXT_ACCT;
            end else begin
              rd_valid_q <= 1'b1;
              rd_busy_q  <= 1'b1;
              rd_addr_q  <= desc_i.src_addr + h_instr_q;
              rd_bytes_q <= ({h_p_q[29:0], 2'b00} + 32'd7) & ~32'd7;
              rbeat_q    <= '0;
              state_q    <= S_VINSTR;
            end
          end
        end
        S_VINSTR: begin
          if (rd_beat && vinstr_bad) bad_q <= 1'b1;
          if (rd_done_i) begin
            if (rd_done_err_i) begin
              state_q <= S_DRAIN;
            end else if (bad_q || (rd_beat && vinstr_bad)) begin
              status_q <= STATUS_BAD_DESC;
              out_q    <= '0;
              state_q  <= S_DONE;
            end else begin
              state_q <= S_NEXT_ACCT;
            end
          end
        end

        // --------------------------------------------- accumulation ---
        S_NEXT_ACCT: begin
          if (rd_err_q || wr_err_q) begin
            state_q <= S_DRAIN;
          end else if ({11'd0, acct_q} == h_a_q) begin
            state_q <= S_FINISH;
          end else if (schunk_v_q && schunk_q == acct_next[20:4]) begin
            // A start[] changed since the validation pass cannot run past P.
            end_q   <= (sbuf_q[s_idx] > h_p_q) ? h_p_q : sbuf_q[s_idx];
            first_q <= 1'b1;
            state_q <= S_POS;
          end else begin
            rd_valid_q <= 1'b1;
            rd_busy_q  <= 1'b1;
            rd_addr_q  <= desc_i.src_addr + h_start_q + {30'd0, s_e0, 2'b00};
            rd_bytes_q <= {25'd0, s_beats, 3'b000};
            rbeat_q    <= '0;
            schunk_q   <= acct_next[20:4];
            schunk_v_q <= 1'b0;
            state_q    <= S_SFETCH;
          end
        end
        S_SFETCH: begin
          if (rd_beat) begin
            sbuf_q[{rbeat_q[2:0], 1'b0}] <= rd_data_i[31:0];
            sbuf_q[{rbeat_q[2:0], 1'b1}] <= rd_data_i[63:32];
          end
          if (rd_done_i) begin
            schunk_v_q <= !rd_done_err_i;
            state_q    <= S_NEXT_ACCT;
          end
        end
        S_POS: begin
          if (rd_err_q || wr_err_q) begin
            state_q <= S_DRAIN;
          end else if (pos_q >= end_q) begin
            pos_q   <= end_q;
            state_q <= S_HANDOFF;
          end else if (pchunk_v_q && pchunk_q == pos_q[31:4]) begin
            instr_cur_q <= ibuf_q[p_idx];
            qty_cur_q   <= qbuf_q[p_idx];
            state_q     <= S_ROWMUL;
          end else begin
            rd_valid_q <= 1'b1;
            rd_busy_q  <= 1'b1;
            rd_addr_q  <= desc_i.src_addr + h_instr_q + {32'd0, p_e0[29:0], 2'b00};
            rd_bytes_q <= {25'd0, p_beats, 3'b000};
            rbeat_q    <= '0;
            pchunk_q   <= pos_q[31:4];
            pchunk_v_q <= 1'b0;
            state_q    <= S_IFETCH;
          end
        end
        S_IFETCH: begin
          if (rd_beat) begin
            ibuf_q[{rbeat_q[2:0], 1'b0}] <= rd_data_i[31:0];
            ibuf_q[{rbeat_q[2:0], 1'b1}] <= rd_data_i[63:32];
          end
          if (rd_done_i) begin
            if (rd_done_err_i) begin
              state_q <= S_DRAIN;
            end else begin
              rd_valid_q <= 1'b1;
              rd_busy_q  <= 1'b1;
              rd_addr_q  <= desc_i.src_addr + h_qty_q + {32'd0, p_e0[28:0], 3'b000};
              rd_bytes_q <= {24'd0, p_n, 3'b000};
              rbeat_q    <= '0;
              state_q    <= S_QFETCH;
            end
          end
        end
        S_QFETCH: begin
          if (rd_beat) qbuf_q[rbeat_q[3:0]] <= rd_data_i;
          if (rd_done_i) begin
            pchunk_v_q <= !rd_done_err_i;
            state_q    <= rd_done_err_i ? S_DRAIN : S_POS;
          end
        end
        S_ROWMUL: begin
          rowoff_q <= 53'(instr_cur_q) * 53'(h_sp_q[20:0]);
          last_q   <= pos_q + 32'd1 >= end_q;
          state_q  <= S_ROWREQ;
        end
        S_ROWREQ: begin
          rd_valid_q <= 1'b1;
          rd_busy_q  <= 1'b1;
          rd_addr_q  <= desc_i.arg0 + {8'd0, rowoff_q, 3'b000};
          rd_bytes_q <= {h_s_q[28:0], 3'b000};
          rbeat_q    <= '0;
          state_q    <= S_ROW;
        end
        S_ROW: begin
          // The beats enter the multiplier (u_mul) as they come.
          if (rd_done_i) begin
            pos_q   <= pos_q + 32'd1;
            first_q <= 1'b0;
            state_q <= S_POS;
          end
        end

        // ---------------------------------------------------- tails ---
        S_HANDOFF: begin
          // The account's row is complete: hand it to the tail side (once
          // that is idle) and accumulate the next one in the other bank.
          if (!acc_busy && tstate_q == TS_IDLE) begin
            ts_bank_q  <= bank_q;
            ts_empty_q <= first_q;
            ts_pad_q   <= acct_next == h_a_q[20:0] && h_a_q[0];
            ts_base_q  <= kmin_q;
            ts_span_q  <= kmax_q - kmin_q;
            ts_sum_q   <= lsum_q;
            bank_q     <= !bank_q;
            acct_q     <= acct_next;
            state_q    <= S_NEXT_ACCT;
          end
        end

        // --------------------------------------------------- the end ---
        S_FINISH: begin
          if (tstate_q == TS_IDLE && wstate_q == W_IDLE && !rd_busy_q) begin
            if (wr_err_q) begin
              status_q <= STATUS_DMA_WRITE;
              out_q    <= '0;
            end else begin
              status_q <= STATUS_OK;
            end
            state_q <= S_DONE;
          end
        end
        S_DRAIN: begin
          // Every request issued has ended; the row write (if any) is whole.
          if (!rd_busy_q && tstate_q == TS_IDLE && wstate_q == W_IDLE && !acc_busy) begin
            status_q <= rd_err_q ? STATUS_DMA_READ : STATUS_DMA_WRITE;
            out_q    <= '0;
            state_q  <= S_DONE;
          end
        end
        S_DONE: begin
          done_q  <= 1'b1;
          state_q <= S_IDLE;
        end
        default: state_q <= S_IDLE;
      endcase

      if (abort_i) begin
        state_q    <= S_IDLE;
        rd_valid_q <= 1'b0;
        rd_busy_q  <= 1'b0;
        done_q     <= 1'b0;
      end
    end
  end

  assign busy_o         = state_q != S_IDLE;
  assign done_o         = done_q;
  assign status_o       = status_q;
  assign out_bytes_o    = out_q;
  assign rd_req_valid_o = rd_valid_q;
  assign rd_req_o       = {rd_addr_q, rd_bytes_q}; // dma_req_t {addr, bytes}
  assign rd_ready_o     = state_q != S_IDLE;

  // Errors come with each request's done; the per-beat flags add nothing.
  // arg2, the tag, flags and opcode are not AGGTAIL's; the FIFO's ready is
  // implied by the credit.
  logic unused_inputs;
  assign unused_inputs = ^{rd_last_i, rd_err_i, desc_i.opcode, desc_i.flags, desc_i.tag,
                           desc_i.arg2, fifo_ready};

endmodule

`default_nettype wire
