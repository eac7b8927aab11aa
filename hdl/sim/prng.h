// A small deterministic PRNG (xoshiro256**, seeded through splitmix64) for the
// harness's random back-pressure: the same seed stalls the same cycles.
#ifndef BALLAST_VSIM_PRNG_H
#define BALLAST_VSIM_PRNG_H

#include <cstdint>

namespace vsim {

class Prng {
 public:
  explicit Prng(uint64_t seed) {
    for (auto& w : s_) {
      seed += 0x9E3779B97F4A7C15ull;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      w = z ^ (z >> 31);
    }
  }

  uint64_t Next() {
    const uint64_t r = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return r;
  }

  // Permille is true with probability p/1000 (p ≤ 1000).
  bool Permille(uint32_t p) {
    if (p == 0) return false;
    // Lemire's multiply-shift maps 32 random bits onto [0, 1000) without a division.
    const uint32_t x = uint32_t((uint64_t(uint32_t(Next() >> 32)) * 1000u) >> 32);
    return x < p;
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace vsim

#endif  // BALLAST_VSIM_PRNG_H
