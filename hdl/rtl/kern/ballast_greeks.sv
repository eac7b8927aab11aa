// OP_GREEKS unit (docs/accel.md §7 "GREEKS", docs/accel-numerics.md §9): for
// every instrument record i of src it writes fxp.GreeksQ {Price, Delta, Gamma,
// Vega, Theta, Rho, Vanna, Volga} (eight i64 sQ31.32) at dst + 64·i, bit-exact
// with job.ExecGreeks / fxp.InstrumentParams.Greeks: linear kinds (Spot,
// Future), BSM and Black-76 calls and puts, the σ→0 limit (s < SMin), the
// SMax clamp, every Fixed saturation and every int64 wrap of the Go code.
//
// Micro-architecture: sequencer lanes behind two streaming passes over src.
//   1. header: one 64-byte read, checked as ExecGreeks does (magic, record
//      size, reserved words, 1 ≤ I ≤ 2^20, the records array inside src and
//      8-aligned, dst_len ≥ 64·I);
//   2. validation: one read of the I·160 record bytes, every beat checked on
//      the fly against fxp.InstrumentRecord's rules (kind/model/lossSh/
//      reserved bytes, v0, lossM, ln(F/K), the 15 Scaled constants
//      normalised with |E| ≤ 2^12, the 16 reserved tail bytes). Any failure:
//      BAD_DESC and nothing is written. The records are read twice because
//      ExecGreeks validates them all before it writes anything and 2^20
//      records (160 MiB) cannot be held on chip;
//   3. compute: reads of CHUNK_RECS records (160·CHUNK_RECS bytes, issued
//      only when the FIFO_BEATS-beat FIFO has room for all of it, so every
//      beat is taken at once); a loader pops one record (20 beats) at a time
//      into "next" registers; LANES greeks_lane datapaths take records round
//      robin, each computing one instrument over a fixed ≈ 80-cycle
//      schedule (greeks_lane.sv: one shared fxp_smul, fxp_recip,
//      fxp_normcdf, fxp_normpdf and greeks_norm per lane); a writer takes the
//      lanes' results in the same round-robin order and writes each 64-byte
//      result as one request (8 beats), so dst is written in record order.
//
// Cycles per job ≈ 60 (header and start) + 20·I (validation read) +
// I·max(80/LANES, 20 + read-request overhead, 8 + write-request overhead).
// Measured (Verilator, DMA latency 16, 10 % stalls, accel/vsim/
// kern_greeks_test.go): LANES = 1: 102 cycles per instrument, 2: 62,
// 3 and 4: 50 (DMA-bound: the two read passes take 40 beats per instrument).
//
// Limits: I ≤ 2^20 (accel.InstrumentsMax, the executor's own bound). Status:
// BAD_DESC for a malformed header, array, length or record (nothing is
// written); DMA_READ when a read beat failed (a failure in the compute pass
// still lets every request end), else DMA_WRITE when a write failed; out_bytes
// = 64·I on OK, 0 otherwise. abort_i returns the unit to idle at once; the
// fxp units' pipelines (≤ 8 cycles) drain long before a new job can reach
// the compute pass (it first reads ≥ 28 beats), and the lanes stay flushed
// (idle, nothing in flight counted) outside the compute pass.
//
// Unit interface: see ballast_units.sv.
`default_nettype none

module ballast_greeks #(
  parameter string       MEM_DIR    = "hdl/mem",
  // Records per compute-pass read request.
  parameter int unsigned CHUNK_RECS = 4,
  // Depth of the record FIFO in 8-byte beats (a power of two ≥ 20·CHUNK_RECS).
  parameter int unsigned FIFO_BEATS = 128,
  // Datapath lanes (greeks_lane), each one instrument at a time.
  parameter int unsigned LANES      = 3
) (
  input  logic        clk_i,
  input  logic        rst_ni,
  input  logic        start_i,
  input  ballast_pkg::desc_t    desc_i,
  input  logic        abort_i,
  output logic        busy_o,
  output logic        done_o,
  output logic [15:0] status_o,
  output logic [63:0] out_bytes_o,
  output logic        rd_req_valid_o,
  input  logic        rd_req_ready_i,
  output ballast_pkg::dma_req_t rd_req_o,
  input  logic        rd_valid_i,
  output logic        rd_ready_o,
  input  logic [63:0] rd_data_i,
  input  logic        rd_last_i,
  input  logic        rd_err_i,
  input  logic        rd_done_i,
  input  logic        rd_done_err_i,
  output logic        wr_req_valid_o,
  input  logic        wr_req_ready_i,
  output ballast_pkg::dma_req_t wr_req_o,
  output logic        wr_valid_o,
  input  logic        wr_ready_i,
  output logic [63:0] wr_data_o,
  input  logic        wr_done_i,
  input  logic        wr_done_err_i
);

  // Completion status codes: ERROR bit k <-> status k+1 (docs/accel.md §5).
  localparam logic [15:0] STATUS_BAD_DESC  = 16'(ballast_regs_pkg::ERR_BAD_DESC_BIT + 1);
  localparam logic [15:0] STATUS_DMA_READ  = 16'(ballast_regs_pkg::ERR_DMA_READ_BIT + 1);
  localparam logic [15:0] STATUS_DMA_WRITE = 16'(ballast_regs_pkg::ERR_DMA_WRITE_BIT + 1);

  // The GREEKS buffers (docs/accel.md §7, accel/job/layout.go).
  localparam logic [31:0] MAGIC_GREEKS   = 32'h314B5247;  // "GRK1"
  localparam int unsigned REC_BYTES      = 160;           // fxp.InstrumentRecordBytes
  localparam int unsigned REC_BEATS      = REC_BYTES / 8;
  localparam int unsigned HDR_BYTES      = 64;            // job.GreeksHeaderBytes
  localparam int unsigned OUT_REC_BYTES  = 64;            // job.GreeksRecordBytes
  localparam logic [31:0] INSTRUMENTS_MAX = 32'd1 << 20;  // accel.InstrumentsMax
  localparam int unsigned CHUNK_BEATS    = CHUNK_RECS * REC_BEATS;

  localparam logic signed [63:0] VMAX = 64'sd70368744177664;  // 2^46
  localparam int                 SCALED_E_ABS_MAX = 4096;     // record |E| bound

  // rec_bytes(n) = 160·n = 128·n + 32·n (shifts and one adder, no DSP).
  function automatic logic [63:0] rec_bytes(input logic [63:0] n);
    rec_bytes = (n << 7) + (n << 5);
  endfunction

  // One Scaled record constant {i32 M, i32 E} is malformed (fxp getScaled).
  function automatic logic scaled_bad(input logic [63:0] w);
    logic signed [31:0] m, e;
    m = w[31:0];
    e = w[63:32];
    if (m == 32'sd0) scaled_bad = e != 32'sd0;
    else scaled_bad = (m > -32'sd1073741824 && m < 32'sd1073741824) ||
                      e < -32'(SCALED_E_ABS_MAX) || e > 32'(SCALED_E_ABS_MAX);
  endfunction

  // Beat j (0..19) of an instrument record is malformed
  // (fxp.InstrumentRecord; `underlying`, bytes 4..7, is free).
  function automatic logic beat_bad(input logic [4:0] j, input logic [63:0] w);
    logic [7:0] kind, model, losssh;
    logic signed [63:0] v0;
    logic [31:0] lossm;
    logic signed [31:0] lnfk;
    kind   = w[7:0];
    model  = w[15:8];
    losssh = w[23:16];
    v0     = w;
    lossm  = w[31:0];
    lnfk   = w[63:32];
    beat_bad = 1'b0;
    if (j == 5'd0) begin
      beat_bad = kind < 8'd1 || kind > 8'd4 ||
                 (kind <= 8'd2 && model != 8'd0) ||
                 (kind >= 8'd3 && model != 8'd1 && model != 8'd2) ||
                 w[31:24] != 8'd0 || losssh < 8'd1 || losssh > 8'd62;
    end else if (j == 5'd1) begin
      beat_bad = v0 < 64'sd0 || v0 >= VMAX;
    end else if (j == 5'd2) begin
      beat_bad = lossm < 32'h0080_0000 || lossm >= 32'h0100_0000 ||
                 lnfk < -32'sd1073741824 || lnfk > 32'sd1073741824;
    end else if (j >= 5'd18) begin
      beat_bad = w != 64'd0;
    end else begin
      beat_bad = scaled_bad(w);
    end
  endfunction

  // ------------------------------------------------------------ job state ---
  typedef enum logic [2:0] {J_IDLE, J_HDR, J_HCHK, J_VAL, J_RUN, J_DONE} jstate_e;
  jstate_e jstate_q;

  logic        done_q;
  logic [15:0] status_q;
  logic [63:0] out_bytes_q;

  logic        rd_pend_q, rd_busy_q, rd_err_q, wr_err_q, bad_q;
  ballast_pkg::dma_req_t    rd_req_q;
  logic [2:0]  hbeat_q;
  logic [63:0] hdr_q [8];
  logic [4:0]  vbeat_q;            // beat of the record (validation pass)
  logic [20:0] ni_q;               // I
  logic [63:0] rec_addr_q;         // src_addr + records offset
  logic [63:0] raddr_q;            // next compute-pass read address
  logic [20:0] rreq_left_q;        // records not yet requested (compute pass)
  logic [20:0] wdone_q;            // results written (requests ended)

  // FIFO of compute-pass record beats.
  logic                         fifo_ready, fifo_valid, fifo_pop;
  logic [63:0]                  fifo_rdata;
  logic [$clog2(FIFO_BEATS):0]  fifo_count;
  ballast_fifo #(
    .WIDTH (64),
    .DEPTH (FIFO_BEATS)
  ) u_fifo (
    .clk_i   (clk_i),
    .rst_ni  (rst_ni),
    .flush_i (abort_i || jstate_q != J_RUN),
    .push_i  (jstate_q == J_RUN && rd_valid_i),
    .wdata_i (rd_data_i),
    .ready_o (fifo_ready),
    .pop_i   (fifo_pop),
    .rdata_o (fifo_rdata),
    .valid_o (fifo_valid),
    .count_o (fifo_count)
  );

  // Header checks (job.ExecGreeks), on the 64 header bytes.
  logic [31:0] h_ni;
  logic [63:0] h_off;
  logic        h_bad;
  always_comb begin
    h_ni  = hdr_q[0][63:32];
    h_off = hdr_q[2];
    h_bad = hdr_q[0][31:0] != MAGIC_GREEKS || hdr_q[1][31:0] != 32'(REC_BYTES) ||
            hdr_q[1][63:32] != 32'd0 ||
            hdr_q[3] != 64'd0 || hdr_q[4] != 64'd0 || hdr_q[5] != 64'd0 ||
            hdr_q[6] != 64'd0 || hdr_q[7] != 64'd0 ||
            h_ni < 32'd1 || h_ni > INSTRUMENTS_MAX ||
            h_off[2:0] != 3'd0 || h_off < 64'(HDR_BYTES) || h_off > 64'(desc_i.src_len) ||
            rec_bytes(64'(h_ni)) > 64'(desc_i.src_len) - h_off ||
            64'(desc_i.dst_len) < {26'd0, h_ni, 6'd0};
  end

  // Compute-pass read requests: CHUNK_RECS records when the FIFO has room.
  logic [20:0] chunk_n;
  assign chunk_n = (rreq_left_q < 21'(CHUNK_RECS)) ? rreq_left_q : 21'(CHUNK_RECS);
  logic rd_issue;
  assign rd_issue = jstate_q == J_RUN && !rd_pend_q && !rd_busy_q && rreq_left_q != '0 &&
                    32'(fifo_count) + 32'(CHUNK_BEATS) <= 32'(FIFO_BEATS);

  logic wr_idle;   // writer idle with nothing buffered

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      jstate_q    <= J_IDLE;
      done_q      <= 1'b0;
      status_q    <= ballast_pkg::STATUS_OK;
      out_bytes_q <= '0;
      rd_pend_q   <= 1'b0;
      rd_busy_q   <= 1'b0;
      rd_err_q    <= 1'b0;
      bad_q       <= 1'b0;
      rd_req_q    <= '0;
      hbeat_q     <= '0;
      for (int k = 0; k < 8; k++) hdr_q[k] <= '0;
      vbeat_q     <= '0;
      ni_q        <= '0;
      rec_addr_q  <= '0;
      raddr_q     <= '0;
      rreq_left_q <= '0;
    end else begin
      done_q <= 1'b0;
      if (rd_pend_q && rd_req_ready_i) rd_pend_q <= 1'b0;
      if (rd_done_i) begin
        rd_busy_q <= 1'b0;
        if (rd_done_err_i) rd_err_q <= 1'b1;
      end
      unique case (jstate_q)
        J_IDLE: begin
          if (start_i) begin
            rd_err_q    <= 1'b0;
            bad_q       <= 1'b0;
            hbeat_q     <= '0;
            out_bytes_q <= '0;
            if (desc_i.src_len < 32'(HDR_BYTES)) begin
              status_q <= STATUS_BAD_DESC;
              jstate_q <= J_DONE;
            end else begin
              status_q  <= ballast_pkg::STATUS_OK;
              rd_req_q  <= {desc_i.src_addr, 32'(HDR_BYTES)};
              rd_pend_q <= 1'b1;
              rd_busy_q <= 1'b1;
              jstate_q  <= J_HDR;
            end
          end
        end
        J_HDR: begin
          if (rd_valid_i) begin
            hdr_q[hbeat_q] <= rd_data_i;
            hbeat_q        <= hbeat_q + 3'd1;
          end
          if (rd_done_i) begin
            if (rd_done_err_i) begin
              status_q <= STATUS_DMA_READ;
              jstate_q <= J_DONE;
            end else begin
              jstate_q <= J_HCHK;
            end
          end
        end
        J_HCHK: begin
          if (h_bad) begin
            status_q <= STATUS_BAD_DESC;
            jstate_q <= J_DONE;
          end else begin
            ni_q       <= h_ni[20:0];
            rec_addr_q <= desc_i.src_addr + h_off;
            rd_req_q   <= {desc_i.src_addr + h_off, 32'(rec_bytes(64'(h_ni)))};
            rd_pend_q  <= 1'b1;
            rd_busy_q  <= 1'b1;
            vbeat_q    <= '0;
            jstate_q   <= J_VAL;
          end
        end
        J_VAL: begin
          if (rd_valid_i) begin
            if (beat_bad(vbeat_q, rd_data_i)) bad_q <= 1'b1;
            vbeat_q <= (vbeat_q == 5'(REC_BEATS - 1)) ? 5'd0 : vbeat_q + 5'd1;
          end
          if (rd_done_i) begin
            if (rd_done_err_i) begin
              status_q <= STATUS_DMA_READ;
              jstate_q <= J_DONE;
            end else if (bad_q || (rd_valid_i && beat_bad(vbeat_q, rd_data_i))) begin
              status_q <= STATUS_BAD_DESC;
              jstate_q <= J_DONE;
            end else begin
              raddr_q     <= rec_addr_q;
              rreq_left_q <= ni_q;
              jstate_q    <= J_RUN;
            end
          end
        end
        J_RUN: begin
          if (rd_issue) begin
            rd_req_q    <= {raddr_q, 32'(rec_bytes(64'(chunk_n)))};
            rd_pend_q   <= 1'b1;
            rd_busy_q   <= 1'b1;
            raddr_q     <= raddr_q + rec_bytes(64'(chunk_n));
            rreq_left_q <= rreq_left_q - chunk_n;
          end
          if (wdone_q == ni_q && wr_idle && !rd_busy_q && !rd_pend_q) begin
            jstate_q <= J_DONE;
            if (rd_err_q) begin
              status_q <= STATUS_DMA_READ;
            end else if (wr_err_q) begin
              status_q <= STATUS_DMA_WRITE;
            end else begin
              out_bytes_q <= {37'd0, ni_q, 6'd0};   // 64·I
            end
          end
        end
        J_DONE: begin
          done_q   <= 1'b1;
          jstate_q <= J_IDLE;
        end
        default: jstate_q <= J_IDLE;
      endcase
      if (abort_i) begin
        jstate_q  <= J_IDLE;
        rd_pend_q <= 1'b0;
        rd_busy_q <= 1'b0;
        done_q    <= 1'b0;
      end
    end
  end

  // --------------------------------------------------------------- loader ---
  // Pops one record (20 beats) from the FIFO into the "next" registers while
  // the datapath computes the current one.
  logic [7:0]             nx_kind_q, nx_model_q;
  logic signed [31:0]     nx_lnfk_q;
  logic [959:0]           nx_sc_q;        // the record's Scaled constants {M, E}
  logic                   nx_full_q;
  logic [4:0]             lbeat_q;
  logic                   take;           // a lane takes "next"

  assign fifo_pop = jstate_q == J_RUN && !nx_full_q && fifo_valid;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      nx_full_q <= 1'b0;
      lbeat_q   <= '0;
    end else begin
      if (take) nx_full_q <= 1'b0;
      if (fifo_pop) begin
        lbeat_q <= (lbeat_q == 5'(REC_BEATS - 1)) ? 5'd0 : lbeat_q + 5'd1;
        if (lbeat_q == 5'(REC_BEATS - 1)) nx_full_q <= 1'b1;
      end
      if (abort_i || jstate_q != J_RUN) begin
        nx_full_q <= 1'b0;
        lbeat_q   <= '0;
      end
    end
  end

  always_ff @(posedge clk_i) begin
    if (fifo_pop) begin
      if (lbeat_q == 5'd0) begin
        nx_kind_q  <= fifo_rdata[7:0];
        nx_model_q <= fifo_rdata[15:8];
      end
      if (lbeat_q == 5'd2) nx_lnfk_q <= fifo_rdata[63:32];
      for (int k = 0; k < 15; k++) begin
        if (lbeat_q == 5'(3 + k)) nx_sc_q[64*k +: 64] <= {fifo_rdata[31:0], fifo_rdata[63:32]};
      end
    end
  end


  // ---------------------------------------------------------------- lanes ---
  // Records go to the lanes round robin and their results leave in the same
  // order, so the output stays in record order.
  localparam int LANE_W = (LANES > 1) ? $clog2(LANES) : 1;
  logic [LANE_W-1:0]        lin_q, lout_q;
  logic [LANES-1:0]         lane_idle, lane_valid, lane_take, lane_taken;
  logic [512*LANES-1:0]     lane_res;   // lane l's result in bits 512l+511:512l
  logic                     lane_flush;
  assign lane_flush = abort_i || jstate_q != J_RUN;
  assign take       = nx_full_q && lane_idle[lin_q];

  for (genvar l = 0; l < LANES; l++) begin : g_lane
    assign lane_take[l] = take && lin_q == LANE_W'(l);
    greeks_lane #(
      .MEM_DIR (MEM_DIR)
    ) u_lane (
      .clk_i       (clk_i),
      .rst_ni      (rst_ni),
      .flush_i     (lane_flush),
      .take_i      (lane_take[l]),
      .kind_i      (nx_kind_q),
      .model_i     (nx_model_q),
      .lnfk_i      (nx_lnfk_q),
      .sc_i        (nx_sc_q),
      .idle_o      (lane_idle[l]),
      .res_valid_o (lane_valid[l]),
      .res_o       (lane_res[512*l +: 512]),
      .res_taken_i (lane_taken[l])
    );
  end

  // --------------------------------------------------------------- writer ---
  typedef enum logic [1:0] {W_IDLE, W_REQ, W_DATA, W_WAIT} wstate_e;
  wstate_e     wstate_q;
  logic [2:0]  wbeat_q;
  logic [63:0] waddr_q;
  logic        wlast;
  assign wlast = wstate_q == W_DATA && wr_ready_i && wbeat_q == 3'd7;
  for (genvar l = 0; l < LANES; l++) begin : g_taken
    assign lane_taken[l] = wlast && lout_q == LANE_W'(l);
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      lin_q  <= '0;
      lout_q <= '0;
    end else if (lane_flush) begin
      lin_q  <= '0;
      lout_q <= '0;
    end else begin
      if (take)  lin_q  <= (lin_q == LANE_W'(LANES - 1)) ? '0 : lin_q + 1'b1;
      if (wlast) lout_q <= (lout_q == LANE_W'(LANES - 1)) ? '0 : lout_q + 1'b1;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      wstate_q   <= W_IDLE;
      wbeat_q    <= '0;
      waddr_q    <= '0;
      wdone_q    <= '0;
      wr_err_q   <= 1'b0;
    end else begin
      unique case (wstate_q)
        W_IDLE: if (lane_valid[lout_q]) wstate_q <= W_REQ;
        W_REQ: begin
          if (wr_req_ready_i) begin
            wbeat_q  <= '0;
            wstate_q <= W_DATA;
          end
        end
        W_DATA: begin
          if (wr_ready_i) begin
            wbeat_q <= wbeat_q + 3'd1;
            if (wbeat_q == 3'd7) wstate_q <= W_WAIT;
          end
        end
        W_WAIT: begin
          if (wr_done_i) begin
            if (wr_done_err_i) wr_err_q <= 1'b1;
            wdone_q  <= wdone_q + 21'd1;
            waddr_q  <= waddr_q + 64'(OUT_REC_BYTES);
            wstate_q <= W_IDLE;
          end
        end
        default: wstate_q <= W_IDLE;
      endcase
      if (jstate_q == J_IDLE && start_i) begin
        waddr_q  <= desc_i.dst_addr;
        wdone_q  <= '0;
        wr_err_q <= 1'b0;
      end
      if (lane_flush) wstate_q <= W_IDLE;
    end
  end
  assign wr_idle = wstate_q == W_IDLE;

  // ---------------------------------------------------------------- ports ---
  assign busy_o      = jstate_q != J_IDLE;
  assign done_o      = done_q;
  assign status_o    = status_q;
  assign out_bytes_o = out_bytes_q;

  assign rd_req_valid_o = rd_pend_q;
  assign rd_req_o       = rd_req_q;
  assign rd_ready_o     = (jstate_q == J_RUN) ? fifo_ready : 1'b1;
  assign wr_req_valid_o = wstate_q == W_REQ;
  assign wr_req_o       = {waddr_q, 32'(OUT_REC_BYTES)};
  assign wr_valid_o     = wstate_q == W_DATA;
  assign wr_data_o      = lane_res[512*32'(lout_q) + 64*32'(wbeat_q) +: 64];

  // Errors are taken from the requests' done; the per-beat flags add nothing.
  logic unused_inputs;
  assign unused_inputs = ^{rd_last_i, rd_err_i, desc_i.opcode, desc_i.flags, desc_i.tag,
                           desc_i.arg0, desc_i.arg1, desc_i.arg2};

endmodule

`default_nettype wire
