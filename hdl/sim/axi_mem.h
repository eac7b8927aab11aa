// AxiMemory plays the host memory behind PCIe for the RTL's AXI4 DMA master:
// an AXI4 slave (64-bit data, INCR bursts) over the shared file's host-memory
// region, device address = mem_iova + offset.
//
// Per cycle the harness calls Drive (decide this cycle's READY/VALID and read
// data from registered state only), evaluates the model, samples the master's
// outputs, then calls Edge with the values that were on the wires at the
// rising edge (a handshake fired where VALID and READY were both high).
//
// Rules it enforces, answering instead of crashing:
//   - a burst must be INCR, 1..16 beats, at most 8 bytes a beat and must not
//     cross a 4 KiB boundary; otherwise every beat answers SLVERR;
//   - a beat outside [mem_iova, mem_iova + mem_size) answers DECERR (its
//     data is 0 on reads; on writes it is dropped);
//   - WLAST must mark exactly the last beat; a mismatch answers SLVERR;
//   each class is printed once to stderr and counted.
// A write burst reaches host memory as a unit when its last beat arrives
// (before its B response), the way a PCIe bridge turns it into one memory-
// write TLP: beats are committed in address order, each a release store, so
// a host that sees the burst's last 8 bytes (a completion's VALID flag,
// docs/accel.md §3) sees all of it. Write strobes
// are honoured (a partial beat is stored byte by byte).
// Read data appear mem_latency_cycles after the AR handshake, then one beat a
// cycle; bursts complete in order. With mem_stall_permille > 0 the slave
// withholds ARREADY/AWREADY/WREADY on a cycle, or delays raising
// RVALID/BVALID, each with that probability, from a PRNG seeded by --seed. A
// VALID, once raised, stays until its handshake (AXI rule).
#ifndef BALLAST_VSIM_AXI_MEM_H
#define BALLAST_VSIM_AXI_MEM_H

#include <cstddef>
#include <cstdint>
#include <deque>

#include "prng.h"

namespace vsim {

// AxiMasterOut holds the DMA master's outputs (the RTL drives them).
struct AxiMasterOut {
  uint8_t awid = 0;
  uint64_t awaddr = 0;
  uint8_t awlen = 0, awsize = 0, awburst = 0;
  bool awvalid = false;
  uint64_t wdata = 0;
  uint8_t wstrb = 0;
  bool wlast = false, wvalid = false;
  bool bready = false;
  uint8_t arid = 0;
  uint64_t araddr = 0;
  uint8_t arlen = 0, arsize = 0, arburst = 0;
  bool arvalid = false;
  bool rready = false;
};

// AxiSlaveOut holds what the harness drives back.
struct AxiSlaveOut {
  bool awready = false, wready = false;
  uint8_t bid = 0, bresp = 0;
  bool bvalid = false;
  bool arready = false;
  uint8_t rid = 0;
  uint64_t rdata = 0;
  uint8_t rresp = 0;
  bool rlast = false, rvalid = false;
};

// AxiMemStats counts the traffic and the errors answered.
struct AxiMemStats {
  uint64_t read_bursts = 0, read_beats = 0;
  uint64_t write_bursts = 0, write_beats = 0;
  uint64_t decerr_beats = 0, slverr_beats = 0;
};

class AxiMemory {
 public:
  // Bursts accepted but not yet answered, per direction; READY is withheld
  // while this many are queued.
  static constexpr size_t kOutstandingMax = 16;

  AxiMemory(uint8_t* mem, uint64_t mem_size, uint64_t iova, uint32_t latency_cycles,
            uint32_t stall_permille, uint64_t seed);

  void Drive(uint64_t cycle, AxiSlaveOut* out);
  void Edge(uint64_t cycle, const AxiMasterOut& m, const AxiSlaveOut& s);

  // Busy reports accepted bursts not yet fully answered.
  bool Busy() const { return !reads_.empty() || !writes_.empty() || !bresps_.empty(); }
  const AxiMemStats& stats() const { return stats_; }

 private:
  struct Burst {
    uint8_t id;
    uint64_t addr;
    uint32_t beats;
    uint32_t size_bytes;
    uint8_t err;  // burst-level error (SLVERR) or OKAY
    uint32_t done;
    uint64_t ready_cycle;
    uint8_t worst;  // worst response of the beats so far (writes)
  };
  struct BResp {
    uint8_t id;
    uint8_t resp;
  };
  enum ErrClass : unsigned {
    kErrOutsideRead = 1u << 0,
    kErrOutsideWrite = 1u << 6,
    kErrCross4K = 1u << 1,
    kErrLength = 1u << 2,
    kErrBurstType = 1u << 3,
    kErrSize = 1u << 4,
    kErrWlast = 1u << 5,
  };

  // A write burst's beats, held until its last beat and then committed to
  // host memory together (Commit).
  struct Pending {
    int64_t word;
    uint64_t data;
    uint8_t strb;
  };
  static constexpr size_t kBurstBeatsMax = 16;

  void Commit();
  Burst Accept(uint8_t id, uint64_t addr, uint8_t len, uint8_t size, uint8_t burst, uint64_t ready,
               bool write);
  static uint64_t BeatAddr(const Burst& b);
  // Word returns the offset of the 8-byte word holding addr, or -1 outside.
  int64_t Word(uint64_t addr) const;
  void Report(unsigned cls, const char* what, uint64_t addr);

  uint8_t* mem_;
  uint64_t size_;
  uint64_t iova_;
  uint32_t latency_;
  uint32_t stall_;
  Prng prng_;
  std::deque<Burst> reads_;
  std::deque<Burst> writes_;
  std::deque<BResp> bresps_;
  Pending pending_[kBurstBeatsMax];
  size_t pending_n_ = 0;
  bool rvalid_q_ = false;  // RVALID raised, waiting for RREADY
  bool bvalid_q_ = false;
  unsigned reported_ = 0;
  AxiMemStats stats_;
};

}  // namespace vsim

#endif  // BALLAST_VSIM_AXI_MEM_H
