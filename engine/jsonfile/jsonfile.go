// Package jsonfile reads the engine's JSON input files with a size bound,
// transparently decompressing gzip (a ".gz" name or the gzip magic bytes).
package jsonfile

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrTooLarge reports a file (after decompression) over the caller's bound.
var ErrTooLarge = errors.New("file too large")

// Read returns the contents of path, gunzipped when it is gzip, refusing
// more than bytesMax bytes.
func Read(path string, bytesMax int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var r io.Reader = br
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	data, err := io.ReadAll(io.LimitReader(r, bytesMax+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(data)) > bytesMax {
		return nil, fmt.Errorf("%s: %w: over %d bytes", path, ErrTooLarge, bytesMax)
	}
	return data, nil
}
