// The vsim shared-memory file (docs/accel.md §6): layout constants, header
// validation and the atomic accessors the harness uses on mapped words.
//
// The Go side (accel/vsim) creates the file and writes the header; the harness
// writes only sim_pid, state, heartbeat, cycles and irq_count. Every access to
// a word the other process also touches is an __atomic builtin with acquire or
// release ordering, which pairs with Go's sync/atomic (sequentially consistent).
#ifndef BALLAST_VSIM_SHM_H
#define BALLAST_VSIM_SHM_H

#include <cstddef>
#include <cstdint>
#include <string>

namespace vsim {

// File layout.
constexpr uint64_t kHeaderBytes = 0x1000;
constexpr uint64_t kBarOff = 0x1000;
constexpr uint64_t kBarBytes = 0x1000;
constexpr uint64_t kMemOff = 0x2000;
constexpr uint32_t kVersion = 1;
constexpr char kMagic[8] = {'B', 'L', 'S', 'T', 'V', 'S', 'M', '1'};
// Bounds the harness accepts (the Go side enforces the same or tighter ones).
constexpr uint64_t kMemBytesMax = uint64_t(16) << 30;
constexpr uint32_t kMemLatencyCyclesMax = 1u << 20;
constexpr uint32_t kStallPermilleMax = 1000;

// Header field offsets.
constexpr size_t kOffMagic = 0x00;
constexpr size_t kOffVersion = 0x08;
constexpr size_t kOffHeaderSize = 0x0C;
constexpr size_t kOffBarOff = 0x10;
constexpr size_t kOffBarSize = 0x18;
constexpr size_t kOffMemOff = 0x20;
constexpr size_t kOffMemSize = 0x28;
constexpr size_t kOffMemIova = 0x30;
constexpr size_t kOffSimPid = 0x38;
constexpr size_t kOffState = 0x3C;
constexpr size_t kOffHeartbeat = 0x40;
constexpr size_t kOffCycles = 0x48;
constexpr size_t kOffStop = 0x50;
constexpr size_t kOffIrqCount = 0x54;
constexpr size_t kOffMemLatency = 0x58;
constexpr size_t kOffStallPermille = 0x5C;

// Simulator states (header `state`).
constexpr uint32_t kStateStarting = 0;
constexpr uint32_t kStateRunning = 1;
constexpr uint32_t kStateStopped = 2;
constexpr uint32_t kStateFailed = 3;

// MMIO mailbox inside the BAR window.
constexpr size_t kMbxReqTail = 0x000;
constexpr size_t kMbxReqHead = 0x040;
constexpr size_t kMbxSlots = 0x080;
constexpr uint32_t kMbxSlotCount = 64;
constexpr size_t kMbxSlotBytes = 16;
constexpr uint32_t kMbxOpRead = 1;
constexpr uint32_t kMbxOpWrite = 2;
// BAR0 is 64 KiB (docs/accel.md §1); the AXI4-Lite address is 16 bits.
constexpr uint32_t kBar0Bytes = 0x10000;

// AXI responses.
constexpr uint8_t kRespOkay = 0;
constexpr uint8_t kRespSlverr = 2;
constexpr uint8_t kRespDecerr = 3;

inline uint32_t load32_acq(const uint8_t* base, size_t off) {
  return __atomic_load_n(reinterpret_cast<const uint32_t*>(base + off), __ATOMIC_ACQUIRE);
}
inline uint64_t load64_acq(const uint8_t* base, size_t off) {
  return __atomic_load_n(reinterpret_cast<const uint64_t*>(base + off), __ATOMIC_ACQUIRE);
}
inline void store32_rel(uint8_t* base, size_t off, uint32_t v) {
  __atomic_store_n(reinterpret_cast<uint32_t*>(base + off), v, __ATOMIC_RELEASE);
}
inline void store64_rel(uint8_t* base, size_t off, uint64_t v) {
  __atomic_store_n(reinterpret_cast<uint64_t*>(base + off), v, __ATOMIC_RELEASE);
}

// Header holds the decoded static header fields.
struct Header {
  uint64_t mem_size = 0;
  uint64_t mem_iova = 0;
  uint32_t mem_latency_cycles = 0;
  uint32_t mem_stall_permille = 0;
};

// ValidateHeader checks the header at base against a file of file_bytes
// bytes. It returns an empty string and fills *out when the file is usable,
// else a message naming the first bad field.
std::string ValidateHeader(const uint8_t* base, uint64_t file_bytes, Header* out);

// ShmFile is the mapped file.
class ShmFile {
 public:
  ShmFile() = default;
  ShmFile(const ShmFile&) = delete;
  ShmFile& operator=(const ShmFile&) = delete;
  ~ShmFile();

  // Open maps path read-write and validates its header. On failure it
  // returns a message and maps nothing.
  std::string Open(const std::string& path);

  uint8_t* header() const { return base_; }
  uint8_t* bar() const { return base_ + kBarOff; }
  uint8_t* mem() const { return base_ + kMemOff; }
  const Header& hdr() const { return hdr_; }

 private:
  uint8_t* base_ = nullptr;
  size_t bytes_ = 0;
  Header hdr_;
};

}  // namespace vsim

#endif  // BALLAST_VSIM_SHM_H
