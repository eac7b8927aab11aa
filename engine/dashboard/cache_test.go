package dashboard

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a settable clock.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func TestCacheTTL(t *testing.T) {
	var clk fakeClock
	clk.ns.Store(1e18)
	var builds atomic.Int64
	c, err := NewCache(500*time.Millisecond, func() (int64, error) { return builds.Add(1), nil }, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	get := func() int64 {
		v, err := c.Get()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if get() != 1 || get() != 1 {
		t.Fatal("second Get within the TTL rebuilt")
	}
	clk.advance(499 * time.Millisecond)
	if get() != 1 {
		t.Fatal("rebuilt before the TTL")
	}
	clk.advance(time.Millisecond)
	if get() != 2 {
		t.Fatal("not rebuilt at the TTL")
	}
	clk.advance(-time.Second) // a clock that went back: rebuild rather than trust
	if get() != 3 {
		t.Fatal("not rebuilt after the clock went back")
	}
	c.Invalidate()
	if get() != 4 {
		t.Fatal("not rebuilt after Invalidate")
	}
}

func TestCacheErrorsNotCached(t *testing.T) {
	var clk fakeClock
	fail := errors.New("fail")
	var calls int
	c, _ := NewCache(time.Second, func() (string, error) {
		calls++
		if calls == 2 {
			return "", fail
		}
		return "ok", nil
	}, clk.now)
	if v, err := c.Get(); v != "ok" || err != nil {
		t.Fatal(v, err)
	}
	clk.advance(time.Second)
	if _, err := c.Get(); !errors.Is(err, fail) {
		t.Fatalf("error not returned: %v", err)
	}
	if v, err := c.Get(); v != "ok" || err != nil || calls != 3 {
		t.Fatalf("after an error: %q %v, %d builds", v, err, calls)
	}
}

func TestCacheConcurrent(t *testing.T) {
	var clk fakeClock
	var builds atomic.Int64
	c, _ := NewCache(time.Second, func() (int64, error) {
		time.Sleep(time.Millisecond)
		return builds.Add(1), nil
	}, clk.now)
	var wg sync.WaitGroup
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 20; j++ {
				if v, err := c.Get(); err != nil || v < 1 {
					t.Errorf("Get: %d %v", v, err)
				}
			}
		}()
	}
	wg.Wait()
	if n := builds.Load(); n != 1 {
		t.Fatalf("%d builds under one clock instant, want 1", n)
	}
}

func TestNewCacheArgs(t *testing.T) {
	build := func() (int, error) { return 0, nil }
	for _, ttl := range []time.Duration{0, -1, CacheTTLMax + 1} {
		if _, err := NewCache(ttl, build, nil); !errors.Is(err, ErrInvalid) {
			t.Errorf("ttl %v: %v", ttl, err)
		}
	}
	if _, err := NewCache[int](time.Second, nil, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("nil build: %v", err)
	}
}

func BenchmarkCacheHit(b *testing.B) {
	c, _ := NewCache(time.Minute, func() (int, error) { return 1, nil }, nil)
	if _, err := c.Get(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_, _ = c.Get()
	}
}

func TestCacheHitAllocs(t *testing.T) {
	c, _ := NewCache(time.Minute, func() (Accounts, error) { return Accounts{Total: 1}, nil }, nil)
	_, _ = c.Get()
	if n := testing.AllocsPerRun(100, func() { _, _ = c.Get() }); n != 0 {
		t.Errorf("cache hit allocates %.1f times", n)
	}
}
