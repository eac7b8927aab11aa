package accel

// The function tables and the register map are generated from one source
// each, for Go, for the RTL and for the docs (see accel/internal/gen).
//go:generate go run ./internal/gen -root ..
