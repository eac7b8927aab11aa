package vol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"unicode/utf8"
)

const (
	// inputBytesMax bounds one surface document.
	inputBytesMax = 1 << 20
	// underlyingBytesMax bounds the underlying's symbol.
	underlyingBytesMax = 64
)

type sliceJSON struct {
	T     *float64 `json:"t"`
	A     *float64 `json:"a"`
	B     *float64 `json:"b"`
	Rho   *float64 `json:"rho"`
	M     *float64 `json:"m"`
	Sigma *float64 `json:"sigma"`
}

type surfaceJSON struct {
	Underlying *string            `json:"underlying"`
	Slices     *[]json.RawMessage `json:"slices,omitempty"`
	Flat       *float64           `json:"flat,omitempty"`
}

// Parse decodes one surface document (see the package documentation) and
// returns its underlying and the validated surface. Every error wraps
// ErrInvalid.
func Parse(data []byte) (underlying string, s *Surface, err error) {
	if len(data) > inputBytesMax {
		return "", nil, fmt.Errorf("%w: document of %d bytes exceeds %d", ErrInvalid, len(data), inputBytesMax)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var doc surfaceJSON
	if err := dec.Decode(&doc); err != nil {
		return "", nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return "", nil, fmt.Errorf("%w: trailing data after the surface object", ErrInvalid)
	}
	if doc.Underlying == nil || *doc.Underlying == "" {
		return "", nil, fmt.Errorf("%w: missing \"underlying\"", ErrInvalid)
	}
	u := *doc.Underlying
	if len(u) > underlyingBytesMax || !utf8.ValidString(u) {
		return "", nil, fmt.Errorf("%w: underlying must be valid UTF-8 of at most %d bytes", ErrInvalid, underlyingBytesMax)
	}
	switch {
	case doc.Slices != nil && doc.Flat != nil:
		return "", nil, fmt.Errorf("%w: %s: both \"slices\" and \"flat\"", ErrInvalid, u)
	case doc.Flat != nil:
		s, err := Flat(*doc.Flat)
		if err != nil {
			return "", nil, fmt.Errorf("%s: %w", u, err)
		}
		return u, s, nil
	case doc.Slices == nil:
		return "", nil, fmt.Errorf("%w: %s: one of \"slices\" and \"flat\" is required", ErrInvalid, u)
	}
	raw := *doc.Slices
	if len(raw) > slicesMax {
		return "", nil, fmt.Errorf("%w: %s: %d slices exceed the bound %d", ErrInvalid, u, len(raw), slicesMax)
	}
	out := make([]Slice, len(raw))
	for i, r := range raw {
		var sj sliceJSON
		d := json.NewDecoder(bytes.NewReader(r))
		d.DisallowUnknownFields()
		if err := d.Decode(&sj); err != nil {
			return "", nil, fmt.Errorf("%w: %s: slice %d: %v", ErrInvalid, u, i, err)
		}
		for _, f := range []struct {
			name string
			v    *float64
		}{{"t", sj.T}, {"a", sj.A}, {"b", sj.B}, {"rho", sj.Rho}, {"m", sj.M}, {"sigma", sj.Sigma}} {
			if f.v == nil {
				return "", nil, fmt.Errorf("%w: %s: slice %d: missing %q", ErrInvalid, u, i, f.name)
			}
		}
		out[i] = Slice{T: *sj.T, A: *sj.A, B: *sj.B, Rho: *sj.Rho, M: *sj.M, Sigma: *sj.Sigma}
	}
	s, err = NewSurface(out)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", u, err)
	}
	return u, s, nil
}

// Encode returns the JSON document for underlying and s, which Parse reads
// back to an identical surface.
func Encode(underlying string, s *Surface) ([]byte, error) {
	type sliceOut struct {
		T     float64 `json:"t"`
		A     float64 `json:"a"`
		B     float64 `json:"b"`
		Rho   float64 `json:"rho"`
		M     float64 `json:"m"`
		Sigma float64 `json:"sigma"`
	}
	type docOut struct {
		Underlying string     `json:"underlying"`
		Slices     []sliceOut `json:"slices,omitempty"`
		Flat       *float64   `json:"flat,omitempty"`
	}
	d := docOut{Underlying: underlying}
	if s.IsFlat() {
		f := s.flat
		d.Flat = &f
	} else {
		for _, x := range s.slices {
			d.Slices = append(d.Slices, sliceOut(x))
		}
	}
	return json.Marshal(d)
}
