// OP_SCENGEN unit (docs/accel.md §7 "SCENGEN"; docs/accel-numerics.md §6):
// Monte Carlo scenario generation, bit-exact with job.ExecScenGen. For every
// column c in [0, S_mc) it computes fxp.ScenarioParams.Row(first + c) and
// writes x_u to X[u][c] (dst + 4·(u·Sp + c)) and, with VOL, m_u to M[u][c]
// (dst + 4·((U + u)·Sp + c)); it touches no other column.
// out_bytes = U·Sp·4 (×2 with VOL).
//
// Micro-architecture
//   Load   the 32-byte header and the 64-byte fixed record (one 96-byte
//          read), every header/record rule of ExecScenGen checked; then the
//          underlying table (μ, vm, vsh) and, with CHOL, the U×U factor
//          (one read; the factor at one 32-bit cell per cycle, so a beat
//          every second cycle) into on-chip RAM, every entry and cell
//          checked. Anything malformed: BAD_DESC, nothing written.
//   Keep   S_mc odd only: the DMA writes whole 8-byte beats (every byte
//          strobed), so the beat holding column S_mc−1 also covers column
//          S_mc. The unit reads X[u][S_mc] (and M[u][S_mc]) once, 8 bytes
//          per row, before the first tile, and writes that word back
//          unchanged in the last tile: the column is untouched, as in
//          ExecScenGen. One 8-byte read per row (U, 2U with VOL).
//   Tiles  of 16 scenario columns (c0 = 0, 16, …; the last one partial),
//          phases GEN, SCALE, MAC, OUT in sequence, each pipelined at
//          initiation interval 1:
//    GEN   ballast_philox4x32 takes one counter {b, stream, lo, hi} per
//          cycle (market stream: ⌈U/4⌉ blocks per scenario; chi-square:
//          ⌈ν/4⌉; vol-shock: ⌈U/4⌉), four fxp_invnorm turn the 4 words into
//          normals: z and ε into two buffers of 4 banks (k mod 4) × U_MAX/4
//          rows × 16 scenario lanes; the chi-square squares summed into
//          W[lane].
//    SCALE (ν > 0) 16 lanes through Norm(W, −32), fxp_rsqrt, fxp_smul with
//          √(ν−2), Fixed(24) and the saturation: scale[lane].
//    MAC   (CHOL) rows u = U−1 … 0, k = 0 … u: one L[u][k] per cycle is
//          shared by 16 multiply-accumulate lanes (one per scenario);
//          ẑ_u = sat32(rshr(Σ rshr(L·z, 18), 12)) written back over z_u (row
//          u is never read again, as Row's in-place loop).
//    OUT   FIN and the row writer run together. FIN: one (u, lane) per
//          cycle: sẑ = sat(rshr(ẑ·scale, 25)), x = sat(μ + rshr(sẑ·vm, vsh));
//          with VOL z_v = rshr(ρẑ + ρ'ε, 30), l = sat(b + rshr(z_v·am,
//          ash+1)), fxp_exp, m = sat(Fixed(24)); x and m written back over ẑ
//          and ε (13-cycle pipeline). The writer takes row u as soon as FIN
//          has written its 16 lanes: one write of the tile's columns, 64
//          bytes at X[u][c0] (the last tile: ⌈cols/2⌉ beats), then with VOL
//          the same at M[u][c0]; each request after the previous one's write
//          response. The banks have one read address each, so the writer's
//          row read stalls FIN issue for a cycle only when both want the
//          same bank.
//
// Cycles (the completion's count; measured in co-simulation with an ideal
// memory, accel/vsim/kern_scengen_test.go logs them):
//   job  ≈ 60 + load + keep + Σ tiles
//   load ≈ read latency + 2U (table) [+ U² with CHOL: one cell per cycle]
//   keep (S_mc odd) ≈ mats·U·(8-byte read round trip)
//   tile ≈ GEN   16·(⌈U/4⌉·(1 + VOL) + ⌈ν/4⌉) + 28
//        + SCALE 29                      (ν > 0)
//        + MAC   U(U+1)/2 + 5            (CHOL)
//        + OUT   max(16U + 15, 30 + mats·U·(beats + 10))
//   with mats = 1 + VOL, beats = ⌈cols/2⌉ (8 for a whole tile), ⌈S_mc/16⌉
//   tiles; the 10 cycles per row are the writer's read, request and the
//   write response of the simulator's memory (more on a real bus). The
//   phases GEN, SCALE, MAC and OUT of a tile run in sequence over one
//   buffer: the MAC dominates for large U with CHOL, the writes otherwise.
//   Measured: U=3 Gaussian S_mc=40: 407; U=8 CHOL S_mc=64: 1205; U=8 ν=5
//   VOL S_mc=64: 1893; U=64 Gaussian: 1466 per tile; U=64 CHOL: 3551 per
//   tile (+4.2k to load the factor).
//
// Limits: U ≤ U_MAX (larger → BAD_DESC); the lead reports U_MAX in
// ID_SCENGEN_U_MAX. U_MAX is a multiple of 4 (the normal banks) in 4..2048
// (the load counters). On-chip: U_MAX² × 32 bits of factor, U_MAX × 72 bits
// of table, 2 × U_MAX × 16 × 32 bits of tile buffer, 2·U_MAX × 32 bits of
// kept words.
//
// Status: BAD_DESC for every rule of ExecScenGen (and U > U_MAX) before any
// write; DMA_READ when a read failed; DMA_WRITE when a write response failed
// (the unit stops writing). out_bytes is 0 on any error.
//
// Unit interface: see ballast_units.sv.
`default_nettype none

module ballast_scengen #(
  parameter string       MEM_DIR = "hdl/mem",
  // The most underlyings U of a descriptor (a multiple of 4, 4..4096).
  parameter int unsigned U_MAX   = 64
) (
  input  logic        clk_i,
  input  logic        rst_ni,
  input  logic        start_i,
  input  ballast_pkg::desc_t desc_i,
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

  // The job buffer (docs/accel.md §7).
  localparam logic [31:0] MAGIC       = 32'h314E4353;  // "SCN1"
  localparam int unsigned HDR_BYTES   = 32 + 64;       // header + fixed record
  localparam int unsigned HDR_BEATS   = HDR_BYTES / 8;
  localparam logic [31:0] STRIDE_MAX  = 32'd1048640;   // job.StrideMax
  localparam logic [31:0] U_LIMIT     = 32'd4096;      // accel.UnderlyingsMax
  localparam logic [31:0] NU_MIN      = 32'd3;
  localparam logic [31:0] NU_MAX      = 32'd64;
  localparam longint      DRIFT_MIN   = -(64'sd1 <<< 37);  // μ, b ≥ −2^37
  localparam int unsigned LANES       = 16;                // scenario columns per tile

  localparam int unsigned ROWS_B  = U_MAX / 4;             // rows per normal bank
  localparam int unsigned RB_W    = (ROWS_B > 1) ? $clog2(ROWS_B) : 1;
  localparam int unsigned UI_W    = $clog2(U_MAX);         // underlying index
  localparam int unsigned CA_W    = $clog2(U_MAX * U_MAX); // factor address
  localparam int unsigned CA1_W   = CA_W + 1;
  localparam int unsigned KA_W    = $clog2(2 * U_MAX);     // kept-word address
  localparam int unsigned ROW_W   = LANES * 32;

  // U_MAX: a multiple of 4 in 4..2048 (elaboration fails otherwise).
  if (U_MAX % 4 != 0 || U_MAX < 4 || U_MAX > 2048) begin : g_bad_u_max
    scengen_U_MAX_must_be_a_multiple_of_4_in_4_to_2048 u_bad ();
  end

  // Pipeline depths (issue to the cycle the result is written).
  localparam int unsigned GEN_LAT   = ballast_pkg::PHILOX_LATENCY + fxp_pkg::INVNORM_LATENCY;          // 26
  localparam int unsigned SCALE_LAT = 1 + fxp_pkg::RSQRT_LATENCY + fxp_pkg::SMUL_LATENCY; // 11
  localparam int unsigned FIN_EXP_AT = 5;                                                // exp issue
  localparam int unsigned FIN_LAT   = FIN_EXP_AT + fxp_pkg::EXP_LATENCY + 1;             // 13
  localparam int unsigned FX_N      = FIN_LAT - FIN_EXP_AT;                              // x delay
  localparam int unsigned MAC_LAT   = 3;
  localparam int unsigned DRAIN_W   = 6;

  // Fixed(M·2^E, 24) of fxp.Scaled (docs/accel-numerics.md §3): sh = E + 24;
  // M << sh for 0 ≤ sh ≤ 32, ±(2^63 − 1) above, rshr(M, −sh) for
  // −40 ≤ sh < 0, 0 below (and for M = 0).
  function automatic logic signed [63:0] fixed24(input logic signed [31:0] m,
                                                 input logic signed [31:0] e);
    logic signed [31:0] sh;
    logic signed [63:0] mw;
    sh = e + 32'sd24;
    mw = 64'(m);
    if (m == 32'sd0 || sh < -32'sd40) fixed24 = 64'sd0;
    else if (sh > 32'sd32)             fixed24 = m[31] ? -64'sh7FFF_FFFF_FFFF_FFFF : 64'sh7FFF_FFFF_FFFF_FFFF;
    else if (sh >= 32'sd0)             fixed24 = mw <<< sh[5:0];
    else                               fixed24 = fxp_pkg::rshr(mw, 6'(-sh));
  endfunction

  // A host mantissa-shift pair (fxp.hostMantOK): (0, 0), or m in
  // [2^27, 2^28) with sh ≤ shmax.
  function automatic logic mant_ok(input logic [31:0] m, input logic [31:0] sh,
                                   input logic [31:0] shmax);
    if (m == '0) mant_ok = (sh == '0);
    else         mant_ok = (m[31:27] == 5'b00001) && (sh <= shmax);
  endfunction

  typedef enum logic [4:0] {
    S_IDLE, S_HDR, S_CHK1, S_CHK2, S_TAB, S_KEEP_REQ, S_KEEP,
    S_TILE, S_GEN, S_GEN_DRAIN, S_SCALE, S_SCALE_DRAIN, S_MAC, S_MAC_DRAIN, S_OUT, S_DONE
  } state_e;
  state_e state_q;

  // The row writer, concurrent with FIN in S_OUT: it writes row u (X, then
  // M) once FIN has written the 16 lanes of that row.
  typedef enum logic [2:0] {W_ROW, W_RD, W_CAP, W_REQ, W_DATA, W_WAIT} wst_e;
  wst_e wst_q;

  // ------------------------------------------------------------ job state ---
  logic [63:0] hdr_q [HDR_BEATS];   // header and fixed record, beat by beat
  logic [3:0]  hdr_n_q;             // beats received
  logic        done_q;
  logic [15:0] status_q;
  logic [63:0] out_bytes_q;
  logic        rd_pend_q, wr_pend_q;
  ballast_pkg::dma_req_t rd_req_q, wr_req_q;
  logic        bad_q;               // a table entry or factor cell is malformed

  // Decoded header fields.
  logic [31:0] f_magic, f_smc, f_sp, f_res0, f_u, f_flags, f_nu, f_res1, f_am, f_ash;
  logic [63:0] f_first, f_res2, f_res3;
  logic signed [63:0] f_b;
  logic signed [31:0] f_sqm, f_sqe, f_rho, f_rhoc;
  logic [63:0] f_key;
  assign f_magic = hdr_q[0][31:0];
  assign f_smc   = hdr_q[0][63:32];
  assign f_sp    = hdr_q[1][31:0];
  assign f_res0  = hdr_q[1][63:32];
  assign f_first = hdr_q[2];
  assign f_res2  = hdr_q[3];
  assign f_u     = hdr_q[4][31:0];
  assign f_flags = hdr_q[4][63:32];
  assign f_key   = hdr_q[5];
  assign f_nu    = hdr_q[6][31:0];
  assign f_res1  = hdr_q[6][63:32];
  assign f_sqm   = hdr_q[7][31:0];
  assign f_sqe   = hdr_q[7][63:32];
  assign f_rho   = hdr_q[8][31:0];
  assign f_rhoc  = hdr_q[8][63:32];
  assign f_am    = hdr_q[9][31:0];
  assign f_ash   = hdr_q[9][63:32];
  assign f_b     = hdr_q[10];
  assign f_res3  = hdr_q[11];

  logic f_chol, f_vol;
  assign f_chol = f_flags[0];
  assign f_vol  = f_flags[1];

  // Check stage 1 (S_CHK1) registers the products of the size rules.
  logic [63:0] rec_bytes_q;   // 32 + record size
  logic [63:0] out_q;         // mats·4·U·Sp
  logic [31:0] tab_bytes_q;   // table + factor bytes after the fixed record
  logic        fields_ok_q;

  logic fields_ok;
  always_comb begin
    fields_ok = 1'b1;
    // Header.
    if (f_magic != MAGIC || f_res0 != '0 || f_res2 != '0) fields_ok = 1'b0;
    if (f_sp < 32'd16 || f_sp > STRIDE_MAX || f_sp[3:0] != '0 || f_smc > f_sp) fields_ok = 1'b0;
    if ({1'b0, f_first} + {33'd0, f_smc} > {1'b0, 64'hFFFF_FFFF_FFFF_FFFF}) fields_ok = 1'b0;
    // Fixed record.
    if (f_u < 32'd1 || f_u > U_LIMIT || f_u > 32'(U_MAX)) fields_ok = 1'b0;
    if (f_flags[31:2] != '0) fields_ok = 1'b0;
    if (f_nu != '0 && (f_nu < NU_MIN || f_nu > NU_MAX)) fields_ok = 1'b0;
    if (f_res1 != '0 || f_res3 != '0) fields_ok = 1'b0;
    // √(ν−2): a normalised Scaled, zero for a Gaussian, positive for a Student-t.
    if (f_sqm == '0) begin
      if (f_sqe != '0) fields_ok = 1'b0;
    end else begin
      if (f_sqm > -32'sh4000_0000 && f_sqm < 32'sh4000_0000) fields_ok = 1'b0;
      if (f_sqe < -32'sd4096 || f_sqe > 32'sd4096) fields_ok = 1'b0;
    end
    if (f_nu == '0 && (f_sqm != '0 || f_sqe != '0)) fields_ok = 1'b0;
    if (f_nu != '0 && f_sqm <= 32'sd0) fields_ok = 1'b0;
    // Vol-shock constants.
    if (f_vol) begin
      if (f_rho < -32'sh4000_0000 || f_rho > 32'sh4000_0000) fields_ok = 1'b0;
      if (f_rhoc < 32'sd0 || f_rhoc > 32'sh4000_0000) fields_ok = 1'b0;
      if (!mant_ok(f_am, f_ash, 32'd61)) fields_ok = 1'b0;
      if (f_b < DRIFT_MIN || f_b > 64'sd0) fields_ok = 1'b0;
    end else if (f_rho != '0 || f_rhoc != '0 || f_am != '0 || f_ash != '0 || f_b != '0) begin
      fields_ok = 1'b0;
    end
  end

  // Job constants, latched after the checks.
  logic [12:0] u_q;          // U
  logic [12:0] um1_q;        // U − 1
  logic [10:0] nbu_q;        // ⌈U/4⌉
  logic [4:0]  nbn_q;        // ⌈ν/4⌉
  logic        chol_q, vol_q, t_q;
  logic [31:0] smc_q;
  logic [63:0] sp4_q;        // 4·Sp (row pitch in bytes)
  logic [63:0] first_q;
  logic [63:0] key_q;
  fxp_pkg::scaled_t sqnu_q;
  logic signed [31:0] rho_q, rhoc_q;
  logic [27:0] am_q;
  logic [5:0]  ash1_q;       // ash + 1
  logic signed [38:0] b_q;

  // --------------------------------------------------------- on-chip RAM ---
  // Underlying table: {vsh[5:0], vm[27:0], μ[37:0]}.
  logic              tab_we;
  logic [UI_W-1:0]   tab_waddr, tab_raddr;
  logic [71:0]       tab_wdata, tab_rdata;
  scengen_ram #(.DEPTH(U_MAX), .LANES(1), .LW(72)) u_tab (
    .clk_i, .we_i(tab_we), .waddr_i(tab_waddr), .wmask_i(1'b1), .wdata_i(tab_wdata),
    .raddr_i(tab_raddr), .rdata_o(tab_rdata));

  // Cholesky factor, row-major with row pitch U_MAX.
  logic              chol_we;
  logic [CA_W-1:0]   chol_waddr, chol_raddr;
  logic [31:0]       chol_wdata, chol_rdata;
  scengen_ram #(.DEPTH(U_MAX * U_MAX), .LANES(1), .LW(32)) u_chol (
    .clk_i, .we_i(chol_we), .waddr_i(chol_waddr), .wmask_i(1'b1), .wdata_i(chol_wdata),
    .raddr_i(chol_raddr), .rdata_o(chol_rdata));

  // Kept words (column S_mc of X rows 0..U−1, then of M rows).
  logic              keep_we;
  logic [KA_W-1:0]   keep_waddr, keep_raddr;
  logic [31:0]       keep_wdata, keep_rdata;
  scengen_ram #(.DEPTH(2 * U_MAX), .LANES(1), .LW(32)) u_keep (
    .clk_i, .we_i(keep_we), .waddr_i(keep_waddr), .wmask_i(1'b1), .wdata_i(keep_wdata),
    .raddr_i(keep_raddr), .rdata_o(keep_rdata));

  // Tile buffers: Z (z, then ẑ, then x) and E (ε, then m); bank k mod 4,
  // row k / 4, lane = scenario column − c0.
  logic [3:0]        z_we, e_we;
  logic [RB_W-1:0]   z_waddr [4];
  logic [RB_W-1:0]   e_waddr [4];
  logic [LANES-1:0]  z_wmask [4];
  logic [LANES-1:0]  e_wmask [4];
  logic [ROW_W-1:0]  z_wdata [4];
  logic [ROW_W-1:0]  e_wdata [4];
  logic [RB_W-1:0]   zb_raddr [4];
  logic [ROW_W-1:0]  z_rdata [4];
  logic [ROW_W-1:0]  e_rdata [4];
  for (genvar j = 0; j < 4; j++) begin : g_bank
    scengen_ram #(.DEPTH(ROWS_B), .LANES(LANES), .LW(32)) u_z (
      .clk_i, .we_i(z_we[j]), .waddr_i(z_waddr[j]), .wmask_i(z_wmask[j]), .wdata_i(z_wdata[j]),
      .raddr_i(zb_raddr[j]), .rdata_o(z_rdata[j]));
    scengen_ram #(.DEPTH(ROWS_B), .LANES(LANES), .LW(32)) u_e (
      .clk_i, .we_i(e_we[j]), .waddr_i(e_waddr[j]), .wmask_i(e_wmask[j]), .wdata_i(e_wdata[j]),
      .raddr_i(zb_raddr[j]), .rdata_o(e_rdata[j]));
  end

  // ------------------------------------------------------------- loading ---
  logic [12:0]     ld_beats_q;    // table beats taken (saturates at 2U)
  logic            ld_half_q;     // factor: the low cell of this beat is done
  logic [12:0]     ld_i_q, ld_j_q;
  logic [CA1_W-1:0]   ld_caddr_q;    // i·U_MAX + j (one bit wider: i reaches U)
  logic [63:0]     ld_mu_q;       // μ of the entry being read
  logic            ld_in_chol;
  logic            rd_hs;
  assign ld_in_chol = (ld_beats_q == {u_q[11:0], 1'b0});
  assign rd_hs      = rd_valid_i && rd_ready_o;

  // Kept-word reads.
  logic [12:0]     kp_r_q;        // row 0 .. mats·U − 1
  logic [12:0]     rows_q;        // mats·U

  // ---------------------------------------------------------------- tiles ---
  logic [31:0] c0_q;              // first column of the tile
  logic [4:0]  cols_q;            // columns of the tile written (1..16)
  logic [63:0] tfirst_q;          // first + c0

  // GEN issue counters.
  logic [1:0]  g_s_q;             // stream: 0 market, 1 chi-square, 2 vol shock
  logic [3:0]  g_l_q;             // lane
  logic [10:0] g_b_q;             // block
  logic [10:0] g_nb;              // blocks of this stream
  logic        g_issue;
  assign g_nb    = (g_s_q == 2'd1) ? 11'(nbn_q) : nbu_q;
  assign g_issue = (state_q == S_GEN) && !abort_i;

  logic [DRAIN_W-1:0] drain_q;

  // ----------------------------------------------------------- GEN: Philox ---
  logic [63:0]  g_idx;
  logic [127:0] ph_ctr, ph_data;
  logic         ph_valid;
  assign g_idx  = tfirst_q + 64'(g_l_q);
  assign ph_ctr = {g_idx[63:32], g_idx[31:0], 30'd0, g_s_q, 21'd0, g_b_q};

  ballast_philox4x32 u_philox (
    .clk_i   (clk_i),
    .rst_ni  (rst_ni),
    .flush_i (abort_i),
    .valid_i (g_issue),
    .ctr_i   (ph_ctr),
    .key_i   (key_q),
    .valid_o (ph_valid),
    .data_o  (ph_data)
  );

  logic [31:0] inv_z [4];
  logic [3:0]  inv_valid;
  for (genvar j = 0; j < 4; j++) begin : g_inv
    fxp_invnorm #(.MEM_DIR(MEM_DIR)) u_inv (
      .clk_i   (clk_i),
      .rst_ni  (rst_ni),
      .valid_i (ph_valid),
      .w_i     (ph_data[32*j +: 32]),
      .valid_o (inv_valid[j]),
      .z_o     (inv_z[j])
    );
  end

  // Issue tags {stream, lane, block} travel beside the core and the invnorms.
  typedef struct packed {
    logic        v;
    logic [1:0]  s;
    logic [3:0]  l;
    logic [10:0] b;
  } gtag_t;
  // Tag pipelines are arrays of plain vectors (Yosys 0.23 misreads an
  // unpacked array of a struct type).
  logic [17:0] gtag_q [GEN_LAT];   // gtag_t
  gtag_t go;                      // the tag of this cycle's normals
  assign go = gtag_q[GEN_LAT-1];

  // Chi-square sum: Σ rshr(g², 24) over the normals k < ν of the scenario.
  logic [6:0]         nu_q;       // ν
  logic signed [63:0] chi_part, chi_sum;
  logic signed [63:0] w_acc_q;
  logic [LANES*46-1:0] w_q;       // W[lane] at [46·lane +: 46]: registers, not a memory
  always_comb begin
    chi_part = '0;
    for (int j = 0; j < 4; j++) begin
      if ({go.b, 2'(j)} < 13'(nu_q)) begin
        chi_part = chi_part + fxp_pkg::rshr(64'($signed(inv_z[j])) * 64'($signed(inv_z[j])), 6'd24);
      end
    end
  end

  assign chi_sum = ((go.b == '0) ? 64'sd0 : w_acc_q) + chi_part;

  // ------------------------------------------------------- SCALE pipeline ---
  logic [3:0]       sc_l_q;       // issue lane
  logic [45:0]      w_sel;        // W[sc_l_q]
  always_comb begin
    w_sel = '0;
    for (int l = 0; l < LANES; l++) begin
      if (sc_l_q == 4'(l)) w_sel = w_q[46*l +: 46];
    end
  end
  fxp_pkg::scaled_t sc_wn_q, sc_rs, sc_prod;
  logic             sc_wn_v_q, sc_rs_v, sc_prod_v;
  typedef struct packed {
    logic       v;
    logic       zero;
    logic [3:0] l;
  } stag_t;
  logic [5:0] stag_q [SCALE_LAT];   // stag_t
  stag_t s_tw;                    // the stage whose scale is written
  assign s_tw = stag_q[SCALE_LAT-1];
  logic [31:0] scale_q [LANES];
  logic        sc_issue;
  assign sc_issue = (state_q == S_SCALE) && !abort_i;

  fxp_rsqrt #(.MEM_DIR(MEM_DIR)) u_rsqrt (
    .clk_i, .rst_ni, .valid_i(sc_wn_v_q), .a_i(sc_wn_q), .valid_o(sc_rs_v), .r_o(sc_rs));
  fxp_smul u_smul (
    .clk_i, .rst_ni, .valid_i(sc_rs_v), .a_i(sc_rs), .b_i(sqnu_q), .valid_o(sc_prod_v),
    .r_o(sc_prod));

  logic signed [63:0] sc_fixed, sc_sat;
  assign sc_fixed = fixed24(sc_prod.m, sc_prod.e);
  assign sc_sat   = fxp_pkg::sat64(sc_fixed, 64'sd0, ballast_tables_pkg::M_MAX);

  // --------------------------------------------------------- MAC pipeline ---
  logic [12:0]      mc_u_q, mc_k_q;
  logic [CA1_W-1:0]    mc_base_q;    // u·U_MAX
  logic             mc_issue;
  assign mc_issue = (state_q == S_MAC) && !abort_i;
  typedef struct packed {
    logic            v;
    logic            first;      // k = 0
    logic            last;       // k = u
    logic [1:0]      zb;         // bank of z_k: k mod 4
    logic [UI_W-1:0] u;          // ẑ_u goes to bank u mod 4, row u / 4
  } mtag_t;
  logic [4+UI_W:0] mtag_q [MAC_LAT];   // mtag_t
  mtag_t m_t0, m_t1, m_tw;        // (Yosys 0.23 reads no member of an array element)
  assign m_t0 = mtag_q[0];
  assign m_t1 = mtag_q[1];
  assign m_tw = mtag_q[MAC_LAT-1];
  logic signed [63:0] mc_prod_q [LANES];
  logic signed [63:0] mc_acc_q  [LANES];
  logic [ROW_W-1:0]   mc_zrow;
  assign mc_zrow = z_rdata[m_t0.zb];

  // --------------------------------------------------------- FIN pipeline ---
  logic [12:0]     fn_u_q;
  logic [3:0]      fn_l_q;
  logic            fn_active_q;   // FIN issue not finished
  logic [12:0]     fn_rows_q;     // rows whose 16 lanes FIN has written
  logic            fn_stall;      // the writer reads the bank of row fn_u_q
  logic            fn_issue;
  assign fn_stall = (wst_q == W_RD) && (wr_u_q[1:0] == fn_u_q[1:0]);
  assign fn_issue = (state_q == S_OUT) && fn_active_q && !fn_stall && !abort_i;
  typedef struct packed {
    logic            v;
    logic [1:0]      bank;
    logic [UI_W-1:0] u;
    logic [3:0]      l;
  } ftag_t;
  logic [6+UI_W:0] ftag_q [FIN_LAT];   // ftag_t
  ftag_t f_t0, f_t3, f_tw;
  assign f_t0 = ftag_q[0];
  assign f_t3 = ftag_q[3];
  assign f_tw = ftag_q[FIN_LAT-1];

  // Stage 2 (ftag_q[0]): the lane's ẑ and ε, the products.
  logic signed [31:0] f1_zh, f1_eps;
  logic signed [63:0] f2_p1_q, f2_pv_q;
  logic signed [37:0] f2_mu_q;
  logic [27:0]        f2_vm_q;
  logic [5:0]         f2_vsh_q;
  logic [ROW_W-1:0]   f1_zrow, f1_erow;
  logic [31:0]        f1_scale;
  assign f1_zrow  = z_rdata[f_t0.bank];
  assign f1_erow  = e_rdata[f_t0.bank];
  assign f1_zh    = f1_zrow[32*f_t0.l +: 32];
  assign f1_eps   = f1_erow[32*f_t0.l +: 32];
  assign f1_scale = scale_q[f_t0.l];
  // Stage 3: sẑ and z_v.
  logic signed [35:0] f3_tz_q;
  logic signed [33:0] f3_zv_q;
  logic signed [37:0] f3_mu_q;
  logic [27:0]        f3_vm_q;
  logic [5:0]         f3_vsh_q;
  // Stage 4: the products with σ√h and η√h.
  logic signed [63:0] f4_q1_q, f4_q2_q;
  logic signed [37:0] f4_mu_q;
  logic [5:0]         f4_vsh_q;
  // Stage 5: x and l.
  logic [31:0]        f5_x_q, f5_l_q;
  logic               f5_v_q;
  // x waits for m.
  logic [31:0]        fx_q [FX_N];
  fxp_pkg::scaled_t   fexp_r;
  logic               fexp_v;
  logic [31:0]        fm_q;
  logic signed [63:0] fm_fixed, fm_sat;

  fxp_exp #(.MEM_DIR(MEM_DIR)) u_exp (
    .clk_i, .rst_ni, .valid_i(f5_v_q), .x_i(f5_l_q), .valid_o(fexp_v), .r_o(fexp_r));
  assign fm_fixed = fixed24(fexp_r.m, fexp_r.e);
  assign fm_sat   = fxp_pkg::sat64(fm_fixed, ballast_tables_pkg::M_MIN, ballast_tables_pkg::M_MAX);

  // ---------------------------------------------------------- WR phase ---
  logic [12:0]      wr_u_q;       // row of the matrix (0..U−1)
  logic             wr_m_q;       // writing row u of M (after row u of X)
  logic [63:0]      wr_moff_q;    // 4·U·Sp: from X[u] to M[u]
  logic [63:0]      wr_addr_q;    // dst + 4·(row·Sp + c0)
  logic [ROW_W-1:0] wr_row_q;
  logic [31:0]      wr_keep_q;
  logic [2:0]       wr_beat_q;
  logic [3:0]       wr_beats;     // beats of the tile: ⌈cols/2⌉
  logic             wr_hs;
  assign wr_beats = 4'((5'(cols_q) + 5'd1) >> 1);
  assign wr_hs    = wr_valid_o && wr_ready_i;

  // --------------------------------------------------- RAM port muxing ---
  always_comb begin
    tab_we     = 1'b0;
    tab_waddr  = UI_W'(ld_beats_q[12:1]);
    tab_wdata  = {rd_data_i[37:32], rd_data_i[27:0], ld_mu_q[37:0]};
    tab_raddr  = UI_W'(fn_u_q);
    chol_we    = 1'b0;
    chol_waddr = CA_W'(ld_caddr_q);
    chol_wdata = ld_half_q ? rd_data_i[63:32] : rd_data_i[31:0];
    chol_raddr = CA_W'(mc_base_q) + CA_W'(mc_k_q);
    keep_we    = (state_q == S_KEEP) && rd_hs;
    keep_waddr = KA_W'(kp_r_q);
    keep_wdata = rd_data_i[63:32];
    keep_raddr = KA_W'(wr_m_q ? (wr_u_q + u_q) : wr_u_q);
    for (int j = 0; j < 4; j++) begin
      zb_raddr[j] = RB_W'(fn_u_q >> 2);
      if (state_q == S_MAC) zb_raddr[j] = RB_W'(mc_k_q >> 2);
      if (wst_q == W_RD && wr_u_q[1:0] == 2'(j)) zb_raddr[j] = RB_W'(wr_u_q >> 2);
    end
    for (int j = 0; j < 4; j++) begin
      z_we[j]    = 1'b0;
      e_we[j]    = 1'b0;
      z_waddr[j] = RB_W'(go.b);
      e_waddr[j] = RB_W'(go.b);
      z_wmask[j] = LANES'(1) << go.l;
      e_wmask[j] = LANES'(1) << go.l;
      z_wdata[j] = {LANES{inv_z[j]}};
      e_wdata[j] = {LANES{inv_z[j]}};
    end
    unique case (state_q)
      S_TAB: begin
        tab_we  = rd_hs && !ld_in_chol && ld_beats_q[0];
        chol_we = rd_valid_i && ld_in_chol && (ld_i_q < u_q);
      end
      default: ;
    endcase
    // GEN results (the pipeline drains in S_GEN_DRAIN).
    if (go.v) begin
      for (int j = 0; j < 4; j++) begin
        if ({go.b, 2'(j)} < u_q) begin
          z_we[j] = (go.s == 2'd0);
          e_we[j] = (go.s == 2'd2);
        end
      end
    end
    // MAC results: ẑ_u over z_u.
    if (m_tw.v && m_tw.last) begin
      for (int j = 0; j < 4; j++) begin
        if (m_tw.u[1:0] == 2'(j)) begin
          z_we[j]    = 1'b1;
          z_waddr[j] = RB_W'(m_tw.u >> 2);
          z_wmask[j] = '1;
          for (int l = 0; l < LANES; l++) begin
            z_wdata[j][32*l +: 32] =
              32'(fxp_pkg::sat64(fxp_pkg::rshr(mc_acc_q[l], 6'd12), -64'sd2147483648, 64'sd2147483647));
          end
        end
      end
    end
    // FIN results: x over ẑ, m over ε.
    if (f_tw.v) begin
      for (int j = 0; j < 4; j++) begin
        if (f_tw.bank == 2'(j)) begin
          z_we[j]    = 1'b1;
          e_we[j]    = vol_q;
          z_waddr[j] = RB_W'(f_tw.u >> 2);
          e_waddr[j] = RB_W'(f_tw.u >> 2);
          z_wmask[j] = LANES'(1) << f_tw.l;
          e_wmask[j] = LANES'(1) << f_tw.l;
          z_wdata[j] = {LANES{fx_q[FX_N-1]}};
          e_wdata[j] = {LANES{fm_q}};
        end
      end
    end
  end

  // ----------------------------------------------------------- datapaths ---
  // Pipelines without reset (only their tags' valid bits are reset).
  always_ff @(posedge clk_i) begin
    // Chi-square accumulation (stream 1 arrives lane by lane, block by block).
    if (go.v && go.s == 2'd1) begin
      w_acc_q <= chi_sum;
      if (go.b + 11'd1 == 11'(nbn_q)) begin
        for (int l = 0; l < LANES; l++) begin
          if (go.l == 4'(l)) w_q[46*l +: 46] <= 46'(chi_sum);
        end
      end
    end
    // SCALE.
    sc_wn_q <= fxp_pkg::norm($signed(64'(w_sel)), -32'sd32);
    // MAC: products, then the accumulation.
    for (int l = 0; l < LANES; l++) begin
      mc_prod_q[l] <= 64'($signed(chol_rdata)) * 64'($signed(mc_zrow[32*l +: 32]));
      if (m_t1.v) begin
        mc_acc_q[l] <= (m_t1.first ? 64'sd0 : mc_acc_q[l])
                       + fxp_pkg::rshr(mc_prod_q[l], 6'd18);
      end
    end
    // FIN.
    f2_p1_q  <= 64'(f1_zh) * $signed({32'd0, f1_scale});
    f2_pv_q  <= 64'(rho_q) * 64'(f1_zh) + 64'(rhoc_q) * 64'(f1_eps);
    f2_mu_q  <= $signed(tab_rdata[37:0]);
    f2_vm_q  <= tab_rdata[65:38];
    f2_vsh_q <= tab_rdata[71:66];
    f3_tz_q  <= 36'(fxp_pkg::sat64(fxp_pkg::rshr(f2_p1_q, 6'd25), -ballast_tables_pkg::TZ_MAX,
                                   ballast_tables_pkg::TZ_MAX));
    f3_zv_q  <= 34'(fxp_pkg::rshr(f2_pv_q, 6'd30));
    f3_mu_q  <= f2_mu_q;
    f3_vm_q  <= f2_vm_q;
    f3_vsh_q <= f2_vsh_q;
    f4_q1_q  <= 64'(f3_tz_q) * $signed({36'd0, f3_vm_q});
    f4_q2_q  <= 64'(f3_zv_q) * $signed({36'd0, am_q});
    f4_mu_q  <= f3_mu_q;
    f4_vsh_q <= f3_vsh_q;
    f5_x_q   <= 32'(fxp_pkg::sat64(64'(f4_mu_q) + fxp_pkg::rshr(f4_q1_q, f4_vsh_q),
                                   -ballast_tables_pkg::X_MAX, ballast_tables_pkg::X_MAX));
    f5_l_q   <= 32'(fxp_pkg::sat64(64'(b_q) + fxp_pkg::rshr(f4_q2_q, ash1_q),
                                   -ballast_tables_pkg::X_MAX, ballast_tables_pkg::X_MAX));
    fx_q[0]  <= f5_x_q;
    for (int n = 1; n < FX_N; n++) fx_q[n] <= fx_q[n-1];
    fm_q     <= 32'(fm_sat);
    // WR: the row and the kept word.
    if (wst_q == W_CAP) begin
      wr_row_q  <= wr_m_q ? e_rdata[wr_u_q[1:0]] : z_rdata[wr_u_q[1:0]];
      wr_keep_q <= keep_rdata;
    end
    // Loading.
    if (state_q == S_TAB && rd_hs && !ld_in_chol && !ld_beats_q[0]) ld_mu_q <= rd_data_i;
    if (state_q == S_HDR && rd_hs && hdr_n_q < 4'(HDR_BEATS)) hdr_q[hdr_n_q] <= rd_data_i;
  end

  // ---------------------------------------------------------- the control ---
  // The stream after g_s_q (3: the tile's normals are all issued).
  logic [1:0] g_s_next;
  always_comb begin
    if (g_s_q == 2'd0 && t_q)       g_s_next = 2'd1;
    else if (g_s_q != 2'd2 && vol_q) g_s_next = 2'd2;
    else                            g_s_next = 2'd3;
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q     <= S_IDLE;
      hdr_n_q     <= '0;
      done_q      <= 1'b0;
      status_q    <= ballast_pkg::STATUS_OK;
      out_bytes_q <= '0;
      rd_pend_q   <= 1'b0;
      wr_pend_q   <= 1'b0;
      rd_req_q    <= '0;
      wr_req_q    <= '0;
      bad_q       <= 1'b0;
      rec_bytes_q <= '0;
      out_q       <= '0;
      tab_bytes_q <= '0;
      fields_ok_q <= 1'b0;
      u_q         <= '0;
      um1_q       <= '0;
      nbu_q       <= '0;
      nbn_q       <= '0;
      nu_q        <= '0;
      chol_q      <= 1'b0;
      vol_q       <= 1'b0;
      t_q         <= 1'b0;
      smc_q       <= '0;
      sp4_q       <= '0;
      first_q     <= '0;
      key_q       <= '0;
      sqnu_q      <= '0;
      rho_q       <= '0;
      rhoc_q      <= '0;
      am_q        <= '0;
      ash1_q      <= '0;
      b_q         <= '0;
      ld_beats_q  <= '0;
      ld_half_q   <= 1'b0;
      ld_i_q      <= '0;
      ld_j_q      <= '0;
      ld_caddr_q  <= '0;
      kp_r_q      <= '0;
      rows_q      <= '0;
      c0_q        <= '0;
      cols_q      <= '0;
      tfirst_q    <= '0;
      g_s_q       <= '0;
      g_l_q       <= '0;
      g_b_q       <= '0;
      drain_q     <= '0;
      sc_l_q      <= '0;
      sc_wn_v_q   <= 1'b0;
      mc_u_q      <= '0;
      mc_k_q      <= '0;
      mc_base_q   <= '0;
      fn_u_q      <= '0;
      fn_l_q      <= '0;
      f5_v_q      <= 1'b0;
      wr_u_q      <= '0;
      wr_m_q      <= 1'b0;
      wr_moff_q   <= '0;
      wst_q       <= W_ROW;
      fn_active_q <= 1'b0;
      fn_rows_q   <= '0;
      wr_addr_q   <= '0;
      wr_beat_q   <= '0;
      for (int n = 0; n < GEN_LAT; n++) gtag_q[n] <= '0;
      for (int n = 0; n < SCALE_LAT; n++) stag_q[n] <= '0;
      for (int n = 0; n < MAC_LAT; n++) mtag_q[n] <= '0;
      for (int n = 0; n < FIN_LAT; n++) ftag_q[n] <= '0;
      for (int l = 0; l < LANES; l++) scale_q[l] <= 32'h0100_0000;
    end else begin
      done_q <= 1'b0;
      if (rd_pend_q && rd_req_ready_i) rd_pend_q <= 1'b0;
      if (wr_pend_q && wr_req_ready_i) wr_pend_q <= 1'b0;

      // Tag pipelines.
      gtag_q[0] <= {g_issue, g_s_q, g_l_q, g_b_q};   // {v, s, l, b}
      for (int n = 1; n < GEN_LAT; n++) gtag_q[n] <= gtag_q[n-1];
      stag_q[0] <= {sc_issue, (w_sel == '0), sc_l_q};   // {v, zero, l}
      for (int n = 1; n < SCALE_LAT; n++) stag_q[n] <= stag_q[n-1];
      sc_wn_v_q <= sc_issue;
      // {v, first, last, zb, u}
      mtag_q[0] <= {mc_issue, (mc_k_q == '0), (mc_k_q == mc_u_q), mc_k_q[1:0], UI_W'(mc_u_q)};
      for (int n = 1; n < MAC_LAT; n++) mtag_q[n] <= mtag_q[n-1];
      ftag_q[0] <= {fn_issue, fn_u_q[1:0], UI_W'(fn_u_q), fn_l_q};   // {v, bank, u, l}
      for (int n = 1; n < FIN_LAT; n++) ftag_q[n] <= ftag_q[n-1];
      f5_v_q <= f_t3.v;

      // Student-t scale results (a Gaussian job's scale is 2^24).
      if (state_q == S_CHK2 && f_nu == '0) begin
        for (int l = 0; l < LANES; l++) scale_q[l] <= 32'h0100_0000;
      end
      if (s_tw.v) begin
        scale_q[s_tw.l] <= s_tw.zero
                                          ? 32'hFFFF_FFFF : 32'(sc_sat);
      end

      unique case (state_q)
        S_IDLE: begin
          if (start_i) begin
            status_q    <= ballast_pkg::STATUS_OK;
            out_bytes_q <= '0;
            bad_q       <= 1'b0;
            hdr_n_q     <= '0;
            if (desc_i.src_len < 32'(HDR_BYTES)) begin
              status_q <= STATUS_BAD_DESC;
              state_q  <= S_DONE;
            end else begin
              rd_req_q  <= {desc_i.src_addr, 32'(HDR_BYTES)};   // {addr, bytes}
              rd_pend_q <= 1'b1;
              state_q   <= S_HDR;
            end
          end
        end
        S_HDR: begin
          if (rd_hs) hdr_n_q <= hdr_n_q + 4'd1;
          if (rd_done_i) begin
            if (rd_done_err_i) begin
              status_q <= STATUS_DMA_READ;
              state_q  <= S_DONE;
            end else begin
              state_q <= S_CHK1;
            end
          end
        end
        S_CHK1: begin
          fields_ok_q <= fields_ok;
          rec_bytes_q <= 64'd96 + 64'({f_u[12:0], 4'd0})
                         + (f_chol ? ((64'(f_u[12:0]) * 64'(f_u[12:0]) * 64'd4 + 64'd7) & ~64'd7) : 64'd0);
          tab_bytes_q <= 32'({f_u[12:0], 4'd0})
                         + (f_chol ? 32'(((64'(f_u[12:0]) * 64'(f_u[12:0]) * 64'd4) + 64'd7) & ~64'd7) : 32'd0);
          out_q       <= (64'(f_u[12:0]) * 64'(f_sp[20:0])) << (f_vol ? 3 : 2);
          state_q     <= S_CHK2;
        end
        S_CHK2: begin
          if (!fields_ok_q || 64'(desc_i.src_len) < rec_bytes_q || 64'(desc_i.dst_len) < out_q) begin
            status_q <= STATUS_BAD_DESC;
            state_q  <= S_DONE;
          end else begin
            u_q        <= f_u[12:0];
            um1_q      <= f_u[12:0] - 13'd1;
            nbu_q      <= 11'((f_u[12:0] + 13'd3) >> 2);
            nbn_q      <= 5'((f_nu[6:0] + 7'd3) >> 2);
            nu_q       <= f_nu[6:0];
            chol_q     <= f_chol;
            vol_q      <= f_vol;
            t_q        <= (f_nu != '0);
            smc_q      <= f_smc;
            sp4_q      <= {30'd0, f_sp, 2'b00};
            first_q    <= f_first;
            key_q      <= f_key;
            sqnu_q     <= {f_sqm, f_sqe};   // {M, E}
            rho_q      <= f_rho;
            rhoc_q     <= f_rhoc;
            am_q       <= f_am[27:0];
            ash1_q     <= 6'(f_ash[5:0] + 6'd1);
            b_q        <= f_b[38:0];
            rows_q     <= f_vol ? {f_u[11:0], 1'b0} : f_u[12:0];
            wr_moff_q  <= f_vol ? (out_q >> 1) : out_q;
            rd_req_q   <= {desc_i.src_addr + 64'(HDR_BYTES), tab_bytes_q};
            rd_pend_q  <= 1'b1;
            ld_beats_q <= '0;
            ld_half_q  <= 1'b0;
            ld_i_q     <= '0;
            ld_j_q     <= '0;
            ld_caddr_q <= '0;
            state_q    <= S_TAB;
          end
        end
        S_TAB: begin
          if (rd_valid_i && !ld_in_chol) begin
            ld_beats_q <= ld_beats_q + 13'd1;
            if (!ld_beats_q[0]) begin
              if ($signed(rd_data_i) < DRIFT_MIN || $signed(rd_data_i) > 64'sd0) bad_q <= 1'b1;
            end else begin
              if (!mant_ok(rd_data_i[31:0], rd_data_i[63:32], 32'd62)) bad_q <= 1'b1;
            end
          end
          if (rd_valid_i && ld_in_chol) begin
            // One cell per cycle: the low half, then the high half (the beat
            // is taken with the high half).
            ld_half_q <= !ld_half_q;
            if (ld_i_q < u_q) begin
              if ($signed(chol_wdata) < -32'sh4000_0000 || $signed(chol_wdata) > 32'sh4000_0000 ||
                  (ld_j_q > ld_i_q && chol_wdata != '0)) bad_q <= 1'b1;
              if (ld_j_q == um1_q) begin
                ld_j_q     <= '0;
                ld_i_q     <= ld_i_q + 13'd1;
                ld_caddr_q <= ld_caddr_q + CA1_W'(U_MAX) - CA1_W'(um1_q);
              end else begin
                ld_j_q     <= ld_j_q + 13'd1;
                ld_caddr_q <= ld_caddr_q + 1'b1;
              end
            end else if (chol_wdata != '0) begin
              bad_q <= 1'b1;   // the padding cell
            end
          end
          if (rd_done_i) begin
            if (rd_done_err_i) begin
              status_q <= STATUS_DMA_READ;
              state_q  <= S_DONE;
            end else if (bad_q) begin
              status_q <= STATUS_BAD_DESC;
              state_q  <= S_DONE;
            end else if (smc_q[0]) begin
              kp_r_q    <= '0;
              wr_addr_q <= desc_i.dst_addr + {30'd0, smc_q - 32'd1, 2'b00};
              state_q   <= S_KEEP_REQ;
            end else begin
              c0_q    <= '0;
              state_q <= S_TILE;
            end
          end
        end
        S_KEEP_REQ: begin
          rd_req_q  <= {wr_addr_q, 32'd8};
          rd_pend_q <= 1'b1;
          state_q   <= S_KEEP;
        end
        S_KEEP: begin
          if (rd_done_i) begin
            if (rd_done_err_i) begin
              status_q <= STATUS_DMA_READ;
              state_q  <= S_DONE;
            end else if (kp_r_q + 13'd1 == rows_q) begin
              c0_q    <= '0;
              state_q <= S_TILE;
            end else begin
              kp_r_q    <= kp_r_q + 13'd1;
              wr_addr_q <= wr_addr_q + sp4_q;
              state_q   <= S_KEEP_REQ;
            end
          end
        end
        S_TILE: begin
          if (c0_q >= smc_q) begin
            out_bytes_q <= out_q;
            state_q     <= S_DONE;
          end else begin
            cols_q   <= (smc_q - c0_q >= 32'd16) ? 5'd16 : 5'(smc_q - c0_q);
            tfirst_q <= first_q + 64'(c0_q);
            g_s_q    <= 2'd0;
            g_l_q    <= '0;
            g_b_q    <= '0;
            state_q  <= S_GEN;
          end
        end
        S_GEN: begin
          // Issue order: stream, lane, block.
          if (g_b_q + 11'd1 != g_nb) begin
            g_b_q <= g_b_q + 11'd1;
          end else begin
            g_b_q <= '0;
            g_l_q <= g_l_q + 4'd1;
            if (g_l_q == 4'(LANES - 1)) begin
              if (g_s_next == 2'd3) begin
                drain_q <= DRAIN_W'(GEN_LAT + 1);
                state_q <= S_GEN_DRAIN;
              end else begin
                g_s_q <= g_s_next;
              end
            end
          end
        end
        S_GEN_DRAIN: begin
          drain_q <= drain_q - 1'b1;
          if (drain_q == '0) begin
            sc_l_q  <= '0;
            mc_u_q  <= um1_q;
            mc_k_q  <= '0;
            mc_base_q <= CA1_W'(um1_q) * CA1_W'(U_MAX);
            fn_u_q  <= '0;
            fn_l_q  <= '0;
            fn_active_q <= 1'b1;
            fn_rows_q   <= '0;
            wst_q       <= W_ROW;
            wr_u_q      <= '0;
            wr_m_q      <= 1'b0;
            wr_addr_q   <= desc_i.dst_addr + {30'd0, c0_q, 2'b00};
            state_q <= t_q ? S_SCALE : (chol_q ? S_MAC : S_OUT);
          end
        end
        S_SCALE: begin
          sc_l_q <= sc_l_q + 4'd1;
          if (sc_l_q == 4'(LANES - 1)) begin
            drain_q <= DRAIN_W'(SCALE_LAT + 1);
            state_q <= S_SCALE_DRAIN;
          end
        end
        S_SCALE_DRAIN: begin
          drain_q <= drain_q - 1'b1;
          if (drain_q == '0) state_q <= chol_q ? S_MAC : S_OUT;
        end
        S_MAC: begin
          if (mc_k_q == mc_u_q) begin
            mc_k_q <= '0;
            if (mc_u_q == '0) begin
              drain_q <= DRAIN_W'(MAC_LAT + 1);
              state_q <= S_MAC_DRAIN;
            end else begin
              mc_u_q    <= mc_u_q - 13'd1;
              mc_base_q <= mc_base_q - CA1_W'(U_MAX);
            end
          end else begin
            mc_k_q <= mc_k_q + 13'd1;
          end
        end
        S_MAC_DRAIN: begin
          drain_q <= drain_q - 1'b1;
          if (drain_q == '0) state_q <= S_OUT;
        end
        S_OUT: begin
          // FIN issue: (u, lane) in order, one per cycle unless stalled.
          if (fn_issue) begin
            fn_l_q <= fn_l_q + 4'd1;
            if (fn_l_q == 4'(LANES - 1)) begin
              if (fn_u_q == um1_q) fn_active_q <= 1'b0;
              else                 fn_u_q <= fn_u_q + 13'd1;
            end
          end
          // A row is complete when FIN writes its last lane.
          if (f_tw.v && f_tw.l == 4'(LANES - 1)) fn_rows_q <= fn_rows_q + 13'd1;
          // The row writer.
          unique case (wst_q)
            W_ROW: if (fn_rows_q > wr_u_q) wst_q <= W_RD;
            W_RD:  wst_q <= W_CAP;   // RAM read of row wr_u_q
            W_CAP: wst_q <= W_REQ;   // row captured
            W_REQ: begin
              wr_req_q  <= {wr_m_q ? wr_addr_q + wr_moff_q : wr_addr_q, 25'd0, wr_beats, 3'd0};
              wr_pend_q <= 1'b1;
              wr_beat_q <= '0;
              wst_q     <= W_DATA;
            end
            W_DATA: begin
              if (wr_hs) begin
                wr_beat_q <= wr_beat_q + 3'd1;
                if (4'(wr_beat_q) + 4'd1 == wr_beats) wst_q <= W_WAIT;
              end
            end
            W_WAIT: begin
              if (wr_done_i) begin
                if (wr_done_err_i) begin
                  status_q <= STATUS_DMA_WRITE;
                  state_q  <= S_DONE;
                  wst_q    <= W_ROW;
                end else if (vol_q && !wr_m_q) begin
                  wr_m_q <= 1'b1;
                  wst_q  <= W_RD;
                end else if (wr_u_q != um1_q) begin
                  wr_m_q    <= 1'b0;
                  wr_u_q    <= wr_u_q + 13'd1;
                  wr_addr_q <= wr_addr_q + sp4_q;
                  wst_q     <= W_ROW;
                end else begin
                  wst_q   <= W_ROW;
                  c0_q    <= c0_q + 32'd16;
                  state_q <= S_TILE;
                end
              end
            end
            default: wst_q <= W_ROW;
          endcase
        end
        S_DONE: begin
          wst_q <= W_ROW;
          if (status_q != ballast_pkg::STATUS_OK) out_bytes_q <= '0;
          done_q  <= 1'b1;
          state_q <= S_IDLE;
        end
        default: state_q <= S_IDLE;
      endcase

      if (abort_i) begin
        state_q   <= S_IDLE;
        wst_q     <= W_ROW;
        rd_pend_q <= 1'b0;
        wr_pend_q <= 1'b0;
        done_q    <= 1'b0;
        sc_wn_v_q <= 1'b0;
        f5_v_q    <= 1'b0;
        for (int n = 0; n < GEN_LAT; n++) gtag_q[n] <= '0;
        for (int n = 0; n < SCALE_LAT; n++) stag_q[n] <= '0;
        for (int n = 0; n < MAC_LAT; n++) mtag_q[n] <= '0;
        for (int n = 0; n < FIN_LAT; n++) ftag_q[n] <= '0;
      end
    end
  end

  // ------------------------------------------------------------- outputs ---
  assign busy_o      = state_q != S_IDLE;
  assign done_o      = done_q;
  assign status_o    = status_q;
  assign out_bytes_o = out_bytes_q;

  assign rd_req_valid_o = rd_pend_q;
  assign rd_req_o       = rd_req_q;
  // The factor is taken one cell per cycle: its beats every second cycle.
  assign rd_ready_o     = (state_q != S_TAB) || !ld_in_chol || ld_half_q;

  assign wr_req_valid_o = wr_pend_q;
  assign wr_req_o       = wr_req_q;
  assign wr_valid_o     = (state_q == S_OUT) && (wst_q == W_DATA);
  always_comb begin
    wr_data_o = wr_row_q[64*wr_beat_q +: 64];
    // The last beat of an odd column count carries the kept column S_mc.
    if ({wr_beat_q, 1'b1} == 4'(cols_q)) wr_data_o[63:32] = wr_keep_q;
  end

  // Per-beat read flags add nothing to the request's done; the units' own
  // valid outputs are replaced by the tag pipelines (cleared on abort); the
  // saturated values fit 32 bits; the fields of desc_i not used here; each
  // tag stage wire is read for some of its fields only.
  logic unused_inputs;
  assign unused_inputs = ^{rd_last_i, rd_err_i, inv_valid, sc_prod_v, fexp_v, sc_sat[63:32],
                           fm_sat[63:32], ld_mu_q[63:38], desc_i.opcode, desc_i.flags,
                           desc_i.tag, desc_i.arg0, desc_i.arg1, desc_i.arg2,
                           m_t0, m_t1, m_tw, f_t0, f_t3};

endmodule

`default_nettype wire
