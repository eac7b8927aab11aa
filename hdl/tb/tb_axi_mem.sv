// Behavioural AXI4 slave memory for the testbenches, with a protocol checker.
//
// - WORDS x 8 bytes of memory at BASE; an access outside answers DECERR, an
//   access inside [err_lo_i, err_hi_i) answers SLVERR (writes are dropped).
// - Every channel's READY (AR, AW, W) and VALID (R, B) is withheld with
//   probability stall_permille_i / 1000 each cycle; read data starts
//   rd_latency_i cycles after the address handshake; up to OUTSTANDING_MAX
//   read and write bursts are accepted before AR/AW stall.
// - W beats are accepted only for a burst whose AW was accepted; a write
//   burst lands in memory at once, at its last beat (like one PCIe TLP).
// - Checks (counted in errors_o, each printed once per kind): ARSIZE/AWSIZE
//   = 8 bytes, INCR, at most 16 beats, 8-byte aligned, no 4 KiB crossing,
//   WLAST on exactly the last beat, and VALID/payload held stable until READY.
// - The testbench reads and writes memory directly with peek/poke.
`default_nettype none

module tb_axi_mem #(
  parameter logic [63:0] BASE            = 64'h0000_0010_0000_0000,
  parameter int unsigned WORDS           = 1 << 17,
  parameter int unsigned OUTSTANDING_MAX = 8
) (
  input  logic        clk_i,
  input  logic        rst_ni,
  input  int unsigned stall_permille_i,
  input  int unsigned rd_latency_i,
  input  logic [63:0] err_lo_i,
  input  logic [63:0] err_hi_i,
  output int unsigned errors_o,
  output longint unsigned rd_beats_o,
  output longint unsigned wr_beats_o,
  // AXI4 slave.
  input  logic [3:0]  awid_i, input logic [63:0] awaddr_i, input logic [7:0] awlen_i,
  input  logic [2:0]  awsize_i, input logic [1:0] awburst_i, input logic awvalid_i, output logic awready_o,
  input  logic [63:0] wdata_i, input logic [7:0] wstrb_i, input logic wlast_i, input logic wvalid_i,
  output logic        wready_o,
  output logic [3:0]  bid_o, output logic [1:0] bresp_o, output logic bvalid_o, input logic bready_i,
  input  logic [3:0]  arid_i, input logic [63:0] araddr_i, input logic [7:0] arlen_i,
  input  logic [2:0]  arsize_i, input logic [1:0] arburst_i, input logic arvalid_i, output logic arready_o,
  output logic [3:0]  rid_o, output logic [63:0] rdata_o, output logic [1:0] rresp_o,
  output logic        rlast_o, output logic rvalid_o, input logic rready_i
);

  logic [63:0] mem [WORDS];

  // ------------------------------------------------------------ backdoor ---
  function automatic logic in_range(input logic [63:0] addr);
    return addr >= BASE && addr < BASE + 64'(WORDS) * 64'd8;
  endfunction

  function automatic logic [63:0] peek(input logic [63:0] addr);
    if (!in_range(addr)) begin
      $display("tb_axi_mem: peek outside memory: %h", addr);
      $fatal(1);
    end
    return mem[32'((addr - BASE) >> 3)];
  endfunction

  function automatic void poke(input logic [63:0] addr, input logic [63:0] data);
    if (!in_range(addr)) begin
      $display("tb_axi_mem: poke outside memory: %h", addr);
      $fatal(1);
    end
    mem[32'((addr - BASE) >> 3)] = data;
  endfunction

  function automatic logic [1:0] resp_of(input logic [63:0] addr);
    if (!in_range(addr)) return 2'b11;                       // DECERR
    if (addr >= err_lo_i && addr < err_hi_i) return 2'b10;   // SLVERR
    return 2'b00;
  endfunction

  function automatic logic stall();
    return stall_permille_i != 0 && ($urandom_range(999) < stall_permille_i);
  endfunction

  // ------------------------------------------------------------- checker ---
  int unsigned errors;
  logic [31:0] seen_kinds;
  assign errors_o = errors;

  function automatic void fail(input int kind, input string what);
    errors++;
    if (!seen_kinds[kind]) begin
      seen_kinds[kind] = 1'b1;
      $display("tb_axi_mem: PROTOCOL ERROR at %0t: %s", $time, what);
    end
  endfunction

  function automatic void check_burst(input int kind, input logic [63:0] addr, input logic [7:0] len,
                                      input logic [2:0] size, input logic [1:0] burst);
    if (size != 3'd3) fail(kind, "size is not 8 bytes");
    if (burst != 2'b01) fail(kind + 1, "burst is not INCR");
    if (len > 8'd15) fail(kind + 2, "burst longer than 16 beats");
    if (addr[2:0] != 3'd0) fail(kind + 3, "address not 8-byte aligned");
    if ({52'd0, addr[11:0]} + (64'(len) + 64'd1) * 64'd8 > 64'd4096) fail(kind + 4, "burst crosses 4 KiB");
  endfunction

  // Previous cycle's VALID-without-READY payloads.
  logic        ar_wait_q, aw_wait_q, w_wait_q;
  logic [76:0] ar_pay_q, aw_pay_q;
  logic [72:0] w_pay_q;

  // ---------------------------------------------------------------- reads ---
  typedef struct packed {
    logic [63:0] addr;
    logic [7:0]  len;
    longint unsigned at;   // first cycle the data may go out
  } burst_t;

  burst_t bu;
  logic [1:0] br;
  burst_t ar_q[$];
  burst_t aw_q[$];
  logic [1:0] b_q[$];
  longint unsigned cycle;
  int unsigned r_beat;
  int unsigned w_beat;
  logic [1:0]  w_resp;
  logic [63:0] w_addr [16];
  logic [63:0] w_data [16];
  logic [7:0]  w_strb [16];
  longint unsigned rd_beats, wr_beats;
  assign rd_beats_o = rd_beats;
  assign wr_beats_o = wr_beats;

  logic arready_q, awready_q, wready_q, rvalid_q, bvalid_q, rlast_q;
  logic [63:0] rdata_q;
  logic [1:0]  rresp_q, bresp_q;

  assign arready_o = arready_q;
  assign awready_o = awready_q;
  assign wready_o  = wready_q;
  assign rvalid_o  = rvalid_q;
  assign rdata_o   = rdata_q;
  assign rresp_o   = rresp_q;
  assign rlast_o   = rlast_q;
  assign rid_o     = 4'd0;
  assign bvalid_o  = bvalid_q;
  assign bresp_o   = bresp_q;
  assign bid_o     = 4'd0;

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      arready_q <= 1'b0;
      awready_q <= 1'b0;
      wready_q  <= 1'b0;
      rvalid_q  <= 1'b0;
      bvalid_q  <= 1'b0;
      rlast_q   <= 1'b0;
      rdata_q   <= '0;
      rresp_q   <= '0;
      bresp_q   <= '0;
      ar_wait_q <= 1'b0;
      aw_wait_q <= 1'b0;
      w_wait_q  <= 1'b0;
      ar_pay_q  <= '0;
      aw_pay_q  <= '0;
      w_pay_q   <= '0;
      cycle     = 0;
      r_beat    = 0;
      w_beat    = 0;
      w_resp    = 2'b00;
      rd_beats  = 0;
      wr_beats  = 0;
      errors    = 0;
      seen_kinds = '0;
      ar_q.delete();
      aw_q.delete();
      b_q.delete();
    end else begin
      cycle++;
      // Stability: a VALID not taken must stay, with the same payload.
      if (ar_wait_q && (!arvalid_i || {araddr_i, arlen_i, arsize_i, arburst_i} != ar_pay_q))
        fail(10, "AR changed or dropped before ARREADY");
      if (aw_wait_q && (!awvalid_i || {awaddr_i, awlen_i, awsize_i, awburst_i} != aw_pay_q))
        fail(11, "AW changed or dropped before AWREADY");
      if (w_wait_q && (!wvalid_i || {wdata_i, wstrb_i, wlast_i} != w_pay_q))
        fail(12, "W changed or dropped before WREADY");
      ar_wait_q <= arvalid_i && !arready_q;
      aw_wait_q <= awvalid_i && !awready_q;
      w_wait_q  <= wvalid_i && !wready_q;
      ar_pay_q  <= {araddr_i, arlen_i, arsize_i, arburst_i};
      aw_pay_q  <= {awaddr_i, awlen_i, awsize_i, awburst_i};
      w_pay_q   <= {wdata_i, wstrb_i, wlast_i};

      // AR.
      if (arvalid_i && arready_q) begin
        check_burst(0, araddr_i, arlen_i, arsize_i, arburst_i);
        bu.addr = araddr_i;
        bu.len  = arlen_i;
        bu.at   = cycle + 64'(rd_latency_i);
        ar_q.push_back(bu);
      end
      // R: a beat stays until taken; the next one may follow at once.
      if (!rvalid_q || rready_i) begin
        if (rvalid_q) begin
          rd_beats++;
          if (rlast_q) begin
            void'(ar_q.pop_front());
            r_beat = 0;
          end else begin
            r_beat++;
          end
        end
        if (ar_q.size() != 0 && ar_q[0].at <= cycle && !stall()) begin
          logic [63:0] a;
          a = ar_q[0].addr + 64'(r_beat) * 64'd8;
          rvalid_q <= 1'b1;
          rresp_q  <= resp_of(a);
          rdata_q  <= (resp_of(a) == 2'b00) ? mem[32'((a - BASE) >> 3)] : 64'hBAD0_BAD0_BAD0_BAD0;
          rlast_q  <= r_beat == 32'(ar_q[0].len);
        end else begin
          rvalid_q <= 1'b0;
        end
      end
      arready_q <= (ar_q.size() < OUTSTANDING_MAX) && !stall();

      // AW.
      if (awvalid_i && awready_q) begin
        check_burst(5, awaddr_i, awlen_i, awsize_i, awburst_i);
        bu.addr = awaddr_i;
        bu.len  = awlen_i;
        bu.at   = cycle;
        aw_q.push_back(bu);
      end
      // W.
      if (wvalid_i && wready_q) begin
        if (aw_q.size() == 0) begin
          fail(13, "W beat accepted without a burst");
        end else begin
          logic [63:0] a;
          logic [1:0]  resp;
          a = aw_q[0].addr + 64'(w_beat) * 64'd8;
          resp = resp_of(a);
          wr_beats++;
          // The burst lands in memory at once, at its last beat, the way a
          // PCIe write TLP does: a reader never sees half a completion.
          w_addr[w_beat[3:0]] = a;
          w_data[w_beat[3:0]] = wdata_i;
          w_strb[w_beat[3:0]] = (resp == 2'b00) ? wstrb_i : 8'h00;
          if (wlast_i != (w_beat == 32'(aw_q[0].len))) fail(14, "WLAST not on the burst's last beat");
          if (resp > w_resp) w_resp = resp;  // the burst answers its worst beat
          if (w_beat == 32'(aw_q[0].len)) begin
            for (int k = 0; k <= int'(w_beat); k++) begin
              for (int b = 0; b < 8; b++) begin
                if (w_strb[k][b]) mem[32'((w_addr[k] - BASE) >> 3)][8*b +: 8] = w_data[k][8*b +: 8];
              end
            end
            void'(aw_q.pop_front());
            w_beat = 0;
            b_q.push_back(w_resp);
            w_resp = 2'b00;
          end else begin
            w_beat++;
          end
        end
      end
      wready_q  <= (aw_q.size() != 0) && !stall();
      awready_q <= (aw_q.size() < OUTSTANDING_MAX) && (b_q.size() < OUTSTANDING_MAX) && !stall();
      // B.
      if (!bvalid_q || bready_i) begin
        if (b_q.size() != 0 && !stall()) begin
          bvalid_q <= 1'b1;
          br = b_q.pop_front();
          bresp_q  <= br;
        end else begin
          bvalid_q <= 1'b0;
        end
      end
    end
  end

  logic unused_ids;
  assign unused_ids = ^{awid_i, arid_i};

endmodule

`default_nettype wire
