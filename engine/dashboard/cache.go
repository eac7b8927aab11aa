package dashboard

import (
	"fmt"
	"sync"
	"time"
)

// CacheTTLMax bounds a Cache's time to live.
const CacheTTLMax = time.Minute

// Cache holds the result of an expensive build for a time to live, so that
// many dashboard requests cost one build per TTL. It is safe for concurrent
// use: callers arriving while a build runs wait for it rather than starting
// their own. Errors are not cached. The value is shared by every caller
// until it expires and must be treated as read-only.
type Cache[T any] struct {
	ttl   time.Duration
	build func() (T, error)
	now   func() time.Time

	mu    sync.Mutex
	val   T
	at    time.Time
	valid bool
}

// NewCache returns a Cache calling build at most once per ttl (1 ns to
// CacheTTLMax). now is the clock (nil: time.Now).
func NewCache[T any](ttl time.Duration, build func() (T, error), now func() time.Time) (*Cache[T], error) {
	if ttl <= 0 || ttl > CacheTTLMax || build == nil {
		return nil, fmt.Errorf("%w: cache ttl %v not in (0, %v] or nil build", ErrInvalid, ttl, CacheTTLMax)
	}
	if now == nil {
		now = time.Now
	}
	return &Cache[T]{ttl: ttl, build: build, now: now}, nil
}

// Get returns the cached value while it is younger than the TTL, else
// builds, caches and returns a new one. A failed build returns its error
// and leaves the previous value expired.
func (c *Cache[T]) Get() (T, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.valid {
		if age := now.Sub(c.at); age >= 0 && age < c.ttl {
			return c.val, nil
		}
	}
	v, err := c.build()
	if err != nil {
		c.valid = false
		var zero T
		c.val = zero
		return zero, err
	}
	c.val, c.at, c.valid = v, now, true
	return v, nil
}

// Invalidate forces the next Get to build.
func (c *Cache[T]) Invalidate() {
	c.mu.Lock()
	c.valid = false
	c.mu.Unlock()
}
