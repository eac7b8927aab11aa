// MMIO mailbox → AXI4-Lite master.
#include "mailbox.h"

#include "shm.h"

namespace vsim {

namespace {

size_t SlotOff(uint32_t idx) { return kMbxSlots + size_t(idx % kMbxSlotCount) * kMbxSlotBytes; }

}  // namespace

bool Mailbox::Pending() const { return load32_acq(bar_, kMbxReqTail) != head_; }

void Mailbox::StartProbe(uint16_t offset) {
  if (state_ != kIdle) return;
  probe_ = true;
  probe_done_ = false;
  write_ = false;
  offset_ = offset;
  state_ = kRead;
  ar_done_ = false;
  inflight_ = 0;
  ++stats_.probes;
}

bool Mailbox::ProbeDone(uint32_t* value, uint8_t* resp) {
  if (!probe_done_) return false;
  probe_done_ = false;
  *value = probe_value_;
  *resp = probe_resp_;
  return true;
}

void Mailbox::Complete(uint32_t value, uint8_t resp) {
  if (probe_) {
    probe_ = false;
    probe_done_ = true;
    probe_value_ = value;
    probe_resp_ = resp;
  } else {
    const size_t s = SlotOff(head_);
    if (!write_) store32_rel(bar_, s + 8, value);
    store32_rel(bar_, s + 12, resp);
    ++head_;
    store32_rel(bar_, kMbxReqHead, head_);
  }
  state_ = kIdle;
}

void Mailbox::Drive(LiteMasterOut* out) {
  if (state_ == kIdle) {
    // Serve posted requests in order; requests the bus cannot carry are
    // answered at once, so several may retire in one cycle.
    while (load32_acq(bar_, kMbxReqTail) != head_) {
      const size_t s = SlotOff(head_);
      const uint32_t op = load32_acq(bar_, s);
      const uint32_t off = load32_acq(bar_, s + 4);
      write_ = op == kMbxOpWrite;
      if (op != kMbxOpRead && op != kMbxOpWrite) {
        ++stats_.rejected;
        write_ = false;
        Complete(0xFFFFFFFFu, kRespSlverr);
        continue;
      }
      if (off >= kBar0Bytes || off % 4 != 0) {
        ++stats_.rejected;
        if (!write_) {
          Complete(0xFFFFFFFFu, off >= kBar0Bytes ? kRespDecerr : kRespSlverr);
        } else {
          Complete(0, off >= kBar0Bytes ? kRespDecerr : kRespSlverr);
        }
        continue;
      }
      offset_ = off;
      inflight_ = 0;
      if (write_) {
        wdata_ = load32_acq(bar_, s + 8);
        state_ = kWrite;
        aw_done_ = w_done_ = false;
        ++stats_.writes;
      } else {
        state_ = kRead;
        ar_done_ = false;
        ++stats_.reads;
      }
      break;
    }
  }
  out->bready = true;
  out->rready = true;
  out->awvalid = state_ == kWrite && !aw_done_;
  out->wvalid = state_ == kWrite && !w_done_;
  out->awaddr = uint16_t(offset_);
  out->wdata = wdata_;
  out->wstrb = 0xF;
  out->arvalid = state_ == kRead && !ar_done_;
  out->araddr = uint16_t(offset_);
}

void Mailbox::Edge(const LiteMasterOut& m, const LiteSlaveOut& s) {
  if (state_ == kIdle) return;
  ++inflight_;
  if (state_ == kWrite) {
    if (m.awvalid && s.awready) aw_done_ = true;
    if (m.wvalid && s.wready) w_done_ = true;
    // The response counts once both AW and W have been accepted (AXI: the
    // slave answers only after both); Edge sees this edge's handshakes first.
    if (aw_done_ && w_done_ && s.bvalid && m.bready) Complete(0, s.bresp);
  } else {
    if (m.arvalid && s.arready) ar_done_ = true;
    if (ar_done_ && s.rvalid && m.rready) Complete(s.rdata, s.rresp);
  }
}

}  // namespace vsim
