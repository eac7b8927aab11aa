package scenario

// Philox4x32-10 constants (Salmon et al., SC11; Random123).
const (
	philoxM0 = 0xD2511F53 // multiplier applied to counter word 0
	philoxM1 = 0xCD9E8D57 // multiplier applied to counter word 2
	philoxW0 = 0x9E3779B9 // Weyl increment of key word 0 (golden ratio)
	philoxW1 = 0xBB67AE85 // Weyl increment of key word 1 (sqrt(3)−1)
)

// Stream identifiers: counter word 1 of every Philox call (see the package doc).
const (
	StreamMarket    uint32 = 0 // market normals, one per underlying
	StreamChiSquare uint32 = 1 // Student-t chi-square normals, ν per scenario
	StreamVolShock  uint32 = 2 // idiosyncratic vol-shock normals, one per underlying
)

// philoxRound is one Philox4x32 round.
func philoxRound(c0, c1, c2, c3, k0, k1 uint32) (uint32, uint32, uint32, uint32) {
	p0 := uint64(philoxM0) * uint64(c0)
	p1 := uint64(philoxM1) * uint64(c2)
	return uint32(p1>>32) ^ c1 ^ k0, uint32(p1), uint32(p0>>32) ^ c3 ^ k1, uint32(p0)
}

// Philox4x32 is the Philox4x32-10 counter-based generator: a pure function from a
// 128-bit counter and a 64-bit key to 128 random bits. It matches Random123's
// philox4x32_R(10, ctr, key) word for word.
func Philox4x32(ctr [4]uint32, key [2]uint32) [4]uint32 {
	c0, c1, c2, c3 := ctr[0], ctr[1], ctr[2], ctr[3]
	k0, k1 := key[0], key[1]
	c0, c1, c2, c3 = philoxRound(c0, c1, c2, c3, k0, k1) // round 1
	k0, k1 = k0+philoxW0, k1+philoxW1
	c0, c1, c2, c3 = philoxRound(c0, c1, c2, c3, k0, k1) // 2
	k0, k1 = k0+philoxW0, k1+philoxW1
	c0, c1, c2, c3 = philoxRound(c0, c1, c2, c3, k0, k1) // 3
	k0, k1 = k0+philoxW0, k1+philoxW1
	c0, c1, c2, c3 = philoxRound(c0, c1, c2, c3, k0, k1) // 4
	k0, k1 = k0+philoxW0, k1+philoxW1
	c0, c1, c2, c3 = philoxRound(c0, c1, c2, c3, k0, k1) // 5
	k0, k1 = k0+philoxW0, k1+philoxW1
	c0, c1, c2, c3 = philoxRound(c0, c1, c2, c3, k0, k1) // 6
	k0, k1 = k0+philoxW0, k1+philoxW1
	c0, c1, c2, c3 = philoxRound(c0, c1, c2, c3, k0, k1) // 7
	k0, k1 = k0+philoxW0, k1+philoxW1
	c0, c1, c2, c3 = philoxRound(c0, c1, c2, c3, k0, k1) // 8
	k0, k1 = k0+philoxW0, k1+philoxW1
	c0, c1, c2, c3 = philoxRound(c0, c1, c2, c3, k0, k1) // 9
	k0, k1 = k0+philoxW0, k1+philoxW1
	c0, c1, c2, c3 = philoxRound(c0, c1, c2, c3, k0, k1) // 10
	return [4]uint32{c0, c1, c2, c3}
}

// SeedKey splits an epoch seed into the Philox key: key[0] = low 32 bits,
// key[1] = high 32 bits.
func SeedKey(seed uint64) [2]uint32 {
	return [2]uint32{uint32(seed), uint32(seed >> 32)}
}

// Counter returns the Philox counter of block b of stream in scenario idx:
// {b, stream, low 32 bits of idx, high 32 bits of idx}.
func Counter(block, stream uint32, idx uint64) [4]uint32 {
	return [4]uint32{block, stream, uint32(idx), uint32(idx >> 32)}
}

// Uniform maps one 32-bit random word to u = (x + 0.5)·2^-32, exactly, in
// [2^-33, 1−2^-33]: never 0 or 1.
func Uniform(x uint32) float64 {
	return (float64(x) + 0.5) * 0x1p-32
}

// Normal returns normal k of stream in scenario idx under key:
// InvNorm(Uniform(Philox4x32(Counter(k/4, stream, idx), key)[k%4])).
// The generator computes whole blocks at once; this is the one-at-a-time definition.
func Normal(key [2]uint32, stream uint32, idx uint64, k uint32) float64 {
	w := Philox4x32(Counter(k/4, stream, idx), key)
	return InvNorm(Uniform(w[k%4]))
}
