// Mailbox turns the shared BAR window's MMIO mailbox (docs/accel.md §6) into
// AXI4-Lite transactions on the RTL's slave port, one at a time, in request
// order.
//
// Per cycle: Drive (start the next request if none is in flight, present
// AW/W or AR; BREADY and RREADY are held high), evaluate, sample, Edge (mark
// fired handshakes; on B or R write value/resp into the slot and publish
// req_head with a release store).
//
// Requests the bus cannot carry are answered without a transaction: an
// unknown op answers SLVERR, an offset outside the 64 KiB BAR0 DECERR, a
// misaligned one SLVERR; reads answered that way return 0xFFFFFFFF (what a
// PCIe root complex returns for a failed read).
//
// The harness can also issue its own reads (Probe) between mailbox requests;
// their result goes to the caller, not to a slot.
#ifndef BALLAST_VSIM_MAILBOX_H
#define BALLAST_VSIM_MAILBOX_H

#include <cstdint>

namespace vsim {

// LiteSlaveOut holds the RTL's AXI4-Lite slave outputs.
struct LiteSlaveOut {
  bool awready = false, wready = false;
  uint8_t bresp = 0;
  bool bvalid = false;
  bool arready = false;
  uint32_t rdata = 0;
  uint8_t rresp = 0;
  bool rvalid = false;
};

// LiteMasterOut holds what the harness drives onto the slave port.
struct LiteMasterOut {
  uint16_t awaddr = 0;
  bool awvalid = false;
  uint32_t wdata = 0;
  uint8_t wstrb = 0;
  bool wvalid = false;
  bool bready = true;
  uint16_t araddr = 0;
  bool arvalid = false;
  bool rready = true;
};

struct MailboxStats {
  uint64_t reads = 0, writes = 0, rejected = 0, probes = 0;
};

class Mailbox {
 public:
  explicit Mailbox(uint8_t* bar) : bar_(bar) {}

  // Pending reports a posted request not yet started (one acquire load).
  bool Pending() const;
  // Idle reports no transaction in flight.
  bool Idle() const { return state_ == kIdle; }
  // StartProbe starts a harness-internal read of offset when Idle.
  void StartProbe(uint16_t offset);
  // ProbeDone reports a finished probe and its result, once.
  bool ProbeDone(uint32_t* value, uint8_t* resp);

  void Drive(LiteMasterOut* out);
  void Edge(const LiteMasterOut& m, const LiteSlaveOut& s);

  // InFlightCycles is how long the current transaction has been waiting.
  uint64_t InFlightCycles() const { return state_ == kIdle ? 0 : inflight_; }
  uint32_t CurrentOffset() const { return offset_; }
  bool CurrentIsWrite() const { return write_; }
  const MailboxStats& stats() const { return stats_; }

 private:
  enum State { kIdle, kWrite, kRead };
  void Complete(uint32_t value, uint8_t resp);

  uint8_t* bar_;
  uint32_t head_ = 0;  // next request index to serve
  State state_ = kIdle;
  bool probe_ = false;
  bool probe_done_ = false;
  uint32_t probe_value_ = 0;
  uint8_t probe_resp_ = 0;
  uint32_t offset_ = 0;
  uint32_t wdata_ = 0;
  bool write_ = false;
  bool aw_done_ = false, w_done_ = false, ar_done_ = false;
  uint64_t inflight_ = 0;
  MailboxStats stats_;
};

}  // namespace vsim

#endif  // BALLAST_VSIM_MAILBOX_H
