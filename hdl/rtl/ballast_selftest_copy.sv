// OP_SELFTEST_COPY unit: DMA loopback. Copies src_len bytes from src_addr to
// dst_addr (dst_len >= src_len, else BAD_DESC without any DMA). The read and
// the write run concurrently through COPY_FIFO_BEATS beats of buffering, so
// the copy streams at the bus rate (one beat per cycle each way) and no AXI
// input drives an AXI output combinationally.
//
// Status: DMA_READ when a source beat failed (the write still completes, so
// both engines finish their requests), else DMA_WRITE when a write response
// failed, else OK. out_bytes = src_len on OK, 0 on an error.
//
// Unit interface: see ballast_units.sv.
`default_nettype none

module ballast_selftest_copy
  import ballast_pkg::*;
  import ballast_regs_pkg::*;
(
  input  logic        clk_i,
  input  logic        rst_ni,
  input  logic        start_i,
  input  desc_t       desc_i,
  input  logic        abort_i,
  output logic        busy_o,
  output logic        done_o,
  output logic [15:0] status_o,
  output logic [63:0] out_bytes_o,
  output logic        rd_req_valid_o,
  input  logic        rd_req_ready_i,
  output dma_req_t    rd_req_o,
  input  logic        rd_valid_i,
  output logic        rd_ready_o,
  input  logic [63:0] rd_data_i,
  input  logic        rd_last_i,
  input  logic        rd_err_i,
  input  logic        rd_done_i,
  input  logic        rd_done_err_i,
  output logic        wr_req_valid_o,
  input  logic        wr_req_ready_i,
  output dma_req_t    wr_req_o,
  output logic        wr_valid_o,
  input  logic        wr_ready_i,
  output logic [63:0] wr_data_o,
  input  logic        wr_done_i,
  input  logic        wr_done_err_i
);

  // Completion status codes: ERROR bit k <-> status k+1 (docs/accel.md §5).
  localparam logic [15:0] STATUS_BAD_DESC = 16'(ERR_BAD_DESC_BIT + 1);
  localparam logic [15:0] STATUS_DMA_READ = 16'(ERR_DMA_READ_BIT + 1);
  localparam logic [15:0] STATUS_DMA_WRITE = 16'(ERR_DMA_WRITE_BIT + 1);

  // Two full bursts of buffering between the read and the write stream.
  localparam int unsigned COPY_FIFO_BEATS = 2 * DMA_BURST_BEATS_MAX;

  typedef enum logic [1:0] {S_IDLE, S_RUN, S_DONE} state_e;
  state_e state_q;

  logic        rd_pending_q, wr_pending_q;  // requests not yet accepted
  logic        rd_end_q, wr_end_q;          // requests finished
  logic        rd_err_q, wr_err_q;
  logic        done_q;
  logic [15:0] status_q;
  logic [63:0] out_bytes_q;

  logic fifo_ready, fifo_valid;
  logic [$clog2(COPY_FIFO_BEATS):0] unused_fifo_count;

  ballast_fifo #(
    .WIDTH (64),
    .DEPTH (COPY_FIFO_BEATS)
  ) u_fifo (
    .clk_i   (clk_i),
    .rst_ni  (rst_ni),
    .flush_i (abort_i),
    .push_i  (rd_valid_i && rd_ready_o),
    .wdata_i (rd_data_i),
    .ready_o (fifo_ready),
    .pop_i   (wr_valid_o && wr_ready_i),
    .rdata_o (wr_data_o),
    .valid_o (fifo_valid),
    .count_o (unused_fifo_count)
  );

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q      <= S_IDLE;
      rd_pending_q <= 1'b0;
      wr_pending_q <= 1'b0;
      rd_end_q     <= 1'b0;
      wr_end_q     <= 1'b0;
      rd_err_q     <= 1'b0;
      wr_err_q     <= 1'b0;
      done_q       <= 1'b0;
      status_q     <= STATUS_OK;
      out_bytes_q  <= '0;
    end else begin
      done_q <= 1'b0;
      unique case (state_q)
        S_IDLE: begin
          if (start_i) begin
            rd_err_q    <= 1'b0;
            wr_err_q    <= 1'b0;
            out_bytes_q <= {32'd0, desc_i.src_len};
            if (desc_i.dst_len < desc_i.src_len) begin
              status_q    <= STATUS_BAD_DESC;
              out_bytes_q <= '0;
              state_q     <= S_DONE;
            end else if (desc_i.src_len == '0) begin
              status_q    <= STATUS_OK;
              state_q     <= S_DONE;
            end else begin
              status_q     <= STATUS_OK;
              rd_pending_q <= 1'b1;
              wr_pending_q <= 1'b1;
              rd_end_q     <= 1'b0;
              wr_end_q     <= 1'b0;
              state_q      <= S_RUN;
            end
          end
        end
        S_RUN: begin
          if (rd_pending_q && rd_req_ready_i) rd_pending_q <= 1'b0;
          if (wr_pending_q && wr_req_ready_i) wr_pending_q <= 1'b0;
          if (rd_done_i) begin
            rd_end_q <= 1'b1;
            rd_err_q <= rd_done_err_i;
          end
          if (wr_done_i) begin
            wr_end_q <= 1'b1;
            wr_err_q <= wr_done_err_i;
          end
          if ((rd_end_q || rd_done_i) && (wr_end_q || wr_done_i)) begin
            state_q <= S_DONE;
            if (rd_err_q || (rd_done_i && rd_done_err_i)) begin
              status_q    <= STATUS_DMA_READ;
              out_bytes_q <= '0;
            end else if (wr_err_q || (wr_done_i && wr_done_err_i)) begin
              status_q    <= STATUS_DMA_WRITE;
              out_bytes_q <= '0;
            end
          end
        end
        S_DONE: begin
          done_q  <= 1'b1;
          state_q <= S_IDLE;
        end
        default: state_q <= S_IDLE;
      endcase
      if (abort_i) begin
        state_q      <= S_IDLE;
        rd_pending_q <= 1'b0;
        wr_pending_q <= 1'b0;
        done_q       <= 1'b0;
      end
    end
  end

  assign busy_o      = state_q != S_IDLE;
  assign done_o      = done_q;
  assign status_o    = status_q;
  assign out_bytes_o = out_bytes_q;

  assign rd_req_valid_o = rd_pending_q;
  assign rd_req_o       = '{addr: desc_i.src_addr, bytes: desc_i.src_len};
  assign rd_ready_o     = fifo_ready;
  assign wr_req_valid_o = wr_pending_q;
  assign wr_req_o       = '{addr: desc_i.dst_addr, bytes: desc_i.src_len};
  assign wr_valid_o     = (state_q == S_RUN) && fifo_valid;

  // Errors are taken from the request's done; the per-beat flags add nothing.
  logic unused_inputs;
  assign unused_inputs = ^{rd_last_i, rd_err_i, desc_i.opcode, desc_i.flags, desc_i.tag,
                           desc_i.arg0, desc_i.arg1, desc_i.arg2};

endmodule

`default_nettype wire
