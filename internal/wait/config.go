package wait

import "time"

// Config says how a Loop waits. It has exactly the fields of
// ring.WaitStrategy, the public form, so that a *ring.WaitStrategy converts
// to a *Config for nothing; ring.WaitStrategy's comments say what each
// means.
type Config struct {
	Spin     int           // polls of the condition before yielding
	Yield    int           // yields, each followed by a poll, before sleeping
	Sleep    bool          // sleep on the futex after that; false keeps polling
	Tick     time.Duration // longest single sleep or poll period between checks of the peer; zero means DefaultTick
	Adaptive bool          // spin on past Spin polls as the handle's Estimate says (adaptive.go)
}

// DefaultTick bounds one sleep: within it a sleeper notices a dead peer or a
// cancelled context.
const DefaultTick = 10 * time.Millisecond

// Period is Tick, or DefaultTick when Tick is not positive.
func (c *Config) Period() time.Duration {
	if c.Tick <= 0 {
		return DefaultTick
	}
	return c.Tick
}
