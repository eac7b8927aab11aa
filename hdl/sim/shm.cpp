// Mapping and validation of the vsim shared-memory file (docs/accel.md §6).
#include "shm.h"

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace vsim {

namespace {

uint32_t rd32(const uint8_t* b, size_t off) {
  uint32_t v;
  std::memcpy(&v, b + off, sizeof v);
  return v;
}

uint64_t rd64(const uint8_t* b, size_t off) {
  uint64_t v;
  std::memcpy(&v, b + off, sizeof v);
  return v;
}

std::string fmt(const char* f, uint64_t a, uint64_t b) {
  char buf[160];
  std::snprintf(buf, sizeof buf, f, a, b);
  return buf;
}

}  // namespace

std::string ValidateHeader(const uint8_t* base, uint64_t file_bytes, Header* out) {
  if (file_bytes < kMemOff) {
    return fmt("file is %" PRIu64 " bytes, shorter than the %" PRIu64 "-byte header and BAR window",
               file_bytes, kMemOff);
  }
  if (std::memcmp(base + kOffMagic, kMagic, sizeof kMagic) != 0) {
    return "bad magic (want \"BLSTVSM1\"): not a vsim shared-memory file";
  }
  if (rd32(base, kOffVersion) != kVersion) {
    return fmt("version %" PRIu64 ", this harness speaks version %" PRIu64, rd32(base, kOffVersion),
               kVersion);
  }
  if (rd32(base, kOffHeaderSize) != kHeaderBytes) {
    return fmt("header size %" PRIu64 ", want %" PRIu64, rd32(base, kOffHeaderSize), kHeaderBytes);
  }
  if (rd64(base, kOffBarOff) != kBarOff || rd64(base, kOffBarSize) != kBarBytes) {
    return fmt("BAR window at %#" PRIx64 " size %#" PRIx64 ", want 0x1000 and 0x1000",
               rd64(base, kOffBarOff), rd64(base, kOffBarSize));
  }
  if (rd64(base, kOffMemOff) != kMemOff) {
    return fmt("mem_off %#" PRIx64 ", want %#" PRIx64, rd64(base, kOffMemOff), kMemOff);
  }
  const uint64_t mem_size = rd64(base, kOffMemSize);
  if (mem_size == 0 || mem_size % 4096 != 0 || mem_size > kMemBytesMax) {
    return fmt("mem_size %" PRIu64 " is not a non-zero multiple of 4096 up to %" PRIu64, mem_size,
               kMemBytesMax);
  }
  if (file_bytes != kMemOff + mem_size) {
    return fmt("file is %" PRIu64 " bytes, header says %" PRIu64, file_bytes, kMemOff + mem_size);
  }
  const uint64_t iova = rd64(base, kOffMemIova);
  if (iova == 0 || iova % 4096 != 0 || iova + mem_size < iova) {
    return fmt("mem_iova %#" PRIx64 " (size %#" PRIx64 ") is zero, unaligned or wraps", iova,
               mem_size);
  }
  const uint32_t lat = rd32(base, kOffMemLatency);
  if (lat > kMemLatencyCyclesMax) {
    return fmt("mem_latency_cycles %" PRIu64 " exceeds %" PRIu64, lat, kMemLatencyCyclesMax);
  }
  const uint32_t stall = rd32(base, kOffStallPermille);
  if (stall > kStallPermilleMax) {
    return fmt("mem_stall_permille %" PRIu64 " exceeds %" PRIu64, stall, kStallPermilleMax);
  }
  out->mem_size = mem_size;
  out->mem_iova = iova;
  out->mem_latency_cycles = lat;
  out->mem_stall_permille = stall;
  return "";
}

ShmFile::~ShmFile() {
  if (base_ != nullptr) munmap(base_, bytes_);
}

std::string ShmFile::Open(const std::string& path) {
  const int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return "open " + path + ": " + std::strerror(errno);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    const std::string msg = "stat " + path + ": " + std::strerror(errno);
    close(fd);
    return msg;
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return path + ": not a regular file";
  }
  const uint64_t file_bytes = uint64_t(st.st_size);
  if (file_bytes < kMemOff || file_bytes > kMemOff + kMemBytesMax) {
    close(fd);
    return fmt("file is %" PRIu64 " bytes, outside [%" PRIu64 ", header + 16 GiB]", file_bytes,
               kMemOff);
  }
  void* p = mmap(nullptr, file_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  const int map_errno = errno;
  close(fd);
  if (p == MAP_FAILED) return "mmap " + path + ": " + std::strerror(map_errno);
  const std::string msg = ValidateHeader(static_cast<uint8_t*>(p), file_bytes, &hdr_);
  if (!msg.empty()) {
    munmap(p, file_bytes);
    return msg;
  }
  base_ = static_cast<uint8_t*>(p);
  bytes_ = file_bytes;
  return "";
}

}  // namespace vsim
