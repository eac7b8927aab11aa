package vsim

import (
	"io"
	"sync"
)

// lineBytesMax bounds one kept line of the simulator's output.
const lineBytesMax = 512

// tailWriter keeps the last lines written to it (the simulator's stdout and
// stderr) and copies everything to an optional writer.
type tailWriter struct {
	mu    sync.Mutex
	lines []string
	max   int
	part  []byte
	copy  io.Writer
}

func newTailWriter(maxLines int, copyTo io.Writer) *tailWriter {
	return &tailWriter{max: maxLines, copy: copyTo}
}

// Write splits p into lines; it never fails (a failing copy is dropped).
func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.copy != nil {
		_, _ = t.copy.Write(p)
	}
	for _, c := range p {
		if c == '\n' {
			t.push()
			continue
		}
		if len(t.part) < lineBytesMax {
			t.part = append(t.part, c)
		}
	}
	return len(p), nil
}

func (t *tailWriter) push() {
	t.lines = append(t.lines, string(t.part))
	t.part = t.part[:0]
	if len(t.lines) > t.max {
		t.lines = append(t.lines[:0], t.lines[len(t.lines)-t.max:]...)
	}
}

// Lines is a copy of the kept lines, an unterminated last line included.
func (t *tailWriter) Lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := append([]string(nil), t.lines...)
	if len(t.part) > 0 {
		out = append(out, string(t.part))
	}
	if len(out) > t.max {
		out = out[len(out)-t.max:]
	}
	return out
}
