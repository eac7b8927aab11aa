package source

// payloadArena gathers the UDP payloads of one ReadBatch for the sources
// that decode whole frames (pcap replay, AF_PACKET). Their readers hand out
// one frame at a time in a buffer the next read reuses, so each payload is
// copied into the arena, which lives until the next ReadBatch. A payload
// that does not fit ends the batch and is held, still aliasing its frame
// buffer, until the next batch: the source reads nothing in between.
type payloadArena struct {
	buf     []byte
	held    Packet
	holding bool
}

func newPayloadArena(bytes int) payloadArena {
	return payloadArena{buf: make([]byte, 0, bytes)}
}

// reset starts a batch: the previous batch's payloads become invalid. If a
// packet is held, it is placed in dst first and reset returns 1.
func (a *payloadArena) reset(dst []Packet) int {
	a.buf = a.buf[:0]
	if !a.holding || len(dst) == 0 {
		return 0
	}
	a.holding = false
	a.add(&dst[0], a.held)
	a.held = Packet{}
	return 1
}

// add copies p into the arena and stores it in dst. When the arena is too
// full it holds p for the next batch and returns false. An empty arena
// always takes p: payloads are smaller than the arena.
func (a *payloadArena) add(dst *Packet, p Packet) bool {
	if len(a.buf) > 0 && len(a.buf)+len(p.Data) > cap(a.buf) {
		a.held, a.holding = p, true
		return false
	}
	start := len(a.buf)
	a.buf = append(a.buf, p.Data...)
	p.Data = a.buf[start:len(a.buf):len(a.buf)]
	*dst = p
	return true
}
