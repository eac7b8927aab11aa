// AXI4 slave memory model over the shared file's host-memory region.
#include "axi_mem.h"

#include <cinttypes>
#include <cstdio>

#include "shm.h"

namespace vsim {

AxiMemory::AxiMemory(uint8_t* mem, uint64_t mem_size, uint64_t iova, uint32_t latency_cycles,
                     uint32_t stall_permille, uint64_t seed)
    : mem_(mem),
      size_(mem_size),
      iova_(iova),
      latency_(latency_cycles),
      stall_(stall_permille),
      prng_(seed) {}

void AxiMemory::Report(unsigned cls, const char* what, uint64_t addr) {
  if ((reported_ & cls) != 0) return;
  reported_ |= cls;
  std::fprintf(stderr,
               "ballast-vsim: DMA %s at %#" PRIx64 " (host memory %#" PRIx64 "..%#" PRIx64
               "); answered with an error response (reported once)\n",
               what, addr, iova_, iova_ + size_);
}

AxiMemory::Burst AxiMemory::Accept(uint8_t id, uint64_t addr, uint8_t len, uint8_t size,
                                   uint8_t burst, uint64_t ready, bool write) {
  Burst b{};
  b.id = id;
  b.addr = addr;
  b.beats = uint32_t(len) + 1;
  b.size_bytes = size <= 3 ? (1u << size) : 8;
  b.err = kRespOkay;
  b.ready_cycle = ready;
  b.worst = kRespOkay;
  const char* dir = write ? "write" : "read";
  char what[96];
  if (burst != 1) {
    std::snprintf(what, sizeof what, "%s burst type %u (only INCR)", dir, unsigned(burst));
    Report(kErrBurstType, what, addr);
    b.err = kRespSlverr;
  } else if (size > 3) {
    std::snprintf(what, sizeof what, "%s beat size %u bytes (bus is 8)", dir, 1u << size);
    Report(kErrSize, what, addr);
    b.err = kRespSlverr;
  } else if (b.beats > 16) {
    std::snprintf(what, sizeof what, "%s burst of %u beats (at most 16)", dir, b.beats);
    Report(kErrLength, what, addr);
    b.err = kRespSlverr;
  } else {
    const uint64_t first = addr & ~uint64_t(b.size_bytes - 1);
    const uint64_t last = first + uint64_t(b.beats) * b.size_bytes - 1;
    if ((addr >> 12) != (last >> 12)) {
      std::snprintf(what, sizeof what, "%s burst of %u beats crossing a 4 KiB boundary", dir,
                    b.beats);
      Report(kErrCross4K, what, addr);
      b.err = kRespSlverr;
    }
  }
  return b;
}

uint64_t AxiMemory::BeatAddr(const Burst& b) {
  if (b.done == 0) return b.addr;
  return (b.addr & ~uint64_t(b.size_bytes - 1)) + uint64_t(b.done) * b.size_bytes;
}

int64_t AxiMemory::Word(uint64_t addr) const {
  if (addr < iova_ || addr - iova_ >= size_) return -1;
  return int64_t((addr - iova_) & ~uint64_t(7));
}

void AxiMemory::Commit() {
  // In address order: the burst's last word (a completion's VALID,
  // docs/accel.md §3) becomes visible last, and its release store publishes
  // the others.
  for (size_t k = 0; k < pending_n_; k++) {
    const Pending& p = pending_[k];
    if (p.strb == 0xFF) {
      __atomic_store_n(reinterpret_cast<uint64_t*>(mem_ + p.word), p.data, __ATOMIC_RELEASE);
      continue;
    }
    for (unsigned i = 0; i < 8; i++) {
      if ((p.strb >> i) & 1u) {
        __atomic_store_n(mem_ + p.word + i, uint8_t(p.data >> (8 * i)), __ATOMIC_RELEASE);
      }
    }
  }
  pending_n_ = 0;
}

void AxiMemory::Drive(uint64_t cycle, AxiSlaveOut* out) {
  bool st_ar = false, st_aw = false, st_w = false, st_r = false, st_b = false;
  if (stall_ != 0) {
    // Always five draws a cycle, so a seed fixes the stall pattern per cycle
    // whatever the traffic.
    st_ar = prng_.Permille(stall_);
    st_aw = prng_.Permille(stall_);
    st_w = prng_.Permille(stall_);
    st_r = prng_.Permille(stall_);
    st_b = prng_.Permille(stall_);
  }
  out->arready = reads_.size() < kOutstandingMax && !st_ar;
  out->awready = writes_.size() < kOutstandingMax && !st_aw;
  out->wready = !writes_.empty() && bresps_.size() < kOutstandingMax && !st_w;

  if (!rvalid_q_) {
    out->rvalid = false;
    if (!reads_.empty() && cycle >= reads_.front().ready_cycle && !st_r) {
      const Burst& b = reads_.front();
      const uint64_t a = BeatAddr(b);
      out->rid = b.id;
      out->rlast = b.done + 1 == b.beats;
      out->rresp = b.err;
      out->rdata = 0;
      if (b.err == kRespOkay) {
        const int64_t w = Word(a);
        if (w < 0) {
          Report(kErrOutsideRead, "read outside host memory", a);
          out->rresp = kRespDecerr;
        } else {
          out->rdata = __atomic_load_n(reinterpret_cast<const uint64_t*>(mem_ + w), __ATOMIC_ACQUIRE);
        }
      }
      out->rvalid = true;
    }
  }  // else: hold the beat already on the wires (AXI: VALID and data stay until the handshake).

  if (!bvalid_q_) {
    out->bvalid = false;
    if (!bresps_.empty() && !st_b) {
      out->bid = bresps_.front().id;
      out->bresp = bresps_.front().resp;
      out->bvalid = true;
    }
  }
}

void AxiMemory::Edge(uint64_t cycle, const AxiMasterOut& m, const AxiSlaveOut& s) {
  // Read data.
  if (s.rvalid) {
    if (m.rready) {
      Burst& b = reads_.front();
      ++stats_.read_beats;
      if (s.rresp == kRespDecerr) ++stats_.decerr_beats;
      if (s.rresp == kRespSlverr) ++stats_.slverr_beats;
      if (++b.done == b.beats) reads_.pop_front();
      rvalid_q_ = false;
    } else {
      rvalid_q_ = true;
    }
  }
  // Read address.
  if (m.arvalid && s.arready) {
    reads_.push_back(Accept(m.arid, m.araddr, m.arlen, m.arsize, m.arburst, cycle + 1 + latency_,
                            false));
    ++stats_.read_bursts;
  }
  // Write data, into the oldest accepted write burst.
  if (m.wvalid && s.wready) {
    Burst& b = writes_.front();
    const uint64_t a = BeatAddr(b);
    uint8_t resp = b.err;
    const bool last = b.done + 1 == b.beats;
    if (m.wlast != last) {
      Report(kErrWlast, m.wlast ? "WLAST before the burst's last beat" : "missing WLAST", a);
      resp = kRespSlverr;
    }
    if (resp == kRespOkay) {
      const int64_t w = Word(a);
      if (w < 0) {
        Report(kErrOutsideWrite, "write outside host memory", a);
        resp = kRespDecerr;
      } else if (pending_n_ < kBurstBeatsMax) {
        pending_[pending_n_++] = Pending{w, m.wdata, m.wstrb};
      }
    }
    ++stats_.write_beats;
    if (resp == kRespDecerr) ++stats_.decerr_beats;
    if (resp == kRespSlverr) ++stats_.slverr_beats;
    // The burst's response is its worst beat's (DECERR 3 > SLVERR 2 > OKAY 0).
    if (resp > b.worst) b.worst = resp;
    if (++b.done == b.beats) {
      Commit();
      bresps_.push_back(BResp{b.id, b.worst});
      writes_.pop_front();
    }
  }
  // Write address.
  if (m.awvalid && s.awready) {
    writes_.push_back(Accept(m.awid, m.awaddr, m.awlen, m.awsize, m.awburst, 0, true));
    ++stats_.write_bursts;
  }
  // Write response.
  if (s.bvalid) {
    if (m.bready) {
      bresps_.pop_front();
      bvalid_q_ = false;
    } else {
      bvalid_q_ = true;
    }
  }
}

}  // namespace vsim
