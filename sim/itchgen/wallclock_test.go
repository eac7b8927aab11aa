package itchgen

import (
	"testing"
	"time"

	"github.com/ballast-risk/ballast/feedhandler/itch"
)

func TestWallClockNs(t *testing.T) {
	at := time.Date(2026, 11, 21, 9, 30, 1, 5, time.FixedZone("X", 3600))
	want := uint64((8*time.Hour + 30*time.Minute + time.Second + 5).Nanoseconds())
	if got := WallClockNs(at); got != want {
		t.Fatalf("WallClockNs = %d, want %d (UTC time of day)", got, want)
	}
	if got := WallClockNs(time.Unix(-1, 0)); got != uint64(24*time.Hour-time.Second) {
		t.Fatalf("before 1970: %d", got)
	}
}

func TestNextWallClock(t *testing.T) {
	a, err := New(Config{Seed: 3, Messages: 200})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := New(Config{Seed: 3, Messages: 200})
	now := time.Date(2026, 11, 21, 23, 0, 0, 0, time.UTC)
	var ma, mb itch.Message
	n := 0
	for a.Next(&ma) {
		if !b.NextWallClock(&mb, now) {
			t.Fatalf("wall-clock session ended early at %d", n)
		}
		if mb.Timestamp != WallClockNs(now) {
			t.Fatalf("message %d stamped %d", n, mb.Timestamp)
		}
		mb.Timestamp = ma.Timestamp
		if mb != ma {
			t.Fatalf("message %d differs beyond its timestamp:\n%+v\n%+v", n, ma, mb)
		}
		n++
	}
	if b.NextWallClock(&mb, now) {
		t.Fatal("wall-clock session longer")
	}
}
