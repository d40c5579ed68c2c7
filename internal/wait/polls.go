package wait

// Polls spaces out the peer probes of the calls that do not wait (a
// ring's Try calls). Only a waiting call probes its peers, so a caller
// polling TryRecv in its own loop on a ring whose producer died would be
// told "empty" for ever, and one polling TrySend "full". Due says, after
// one such failed try, whether to probe now: at most once a Period. It
// reads the clock (25 ns on a VM) on the first failure at a position and
// then on every 16th there, so a fast poller pays about 2 ns a failed
// poll, a probe is due on the first poll that fails after a dead peer's
// last message, and a death while the caller polls an idle ring is
// noticed within a tick or 16 polls, whichever comes later. A handle keeps
// one; the zero value is ready.
type Polls struct {
	at    uint64 // the position the failed tries are stuck at
	fails uint32 // failed tries at it
	next  int64  // clock() at which the next probe is due
}

// Due counts one failed try, stuck at position at, and reports whether
// the peers are to be probed now. Small enough to inline.
func (p *Polls) Due(c *Config, at uint64) bool {
	if at != p.at {
		p.at, p.fails = at, 0
	}
	p.fails++
	return p.fails&15 == 1 && p.dueNow(c)
}

// dueNow reads the clock.
func (p *Polls) dueNow(c *Config) bool {
	now := clock()
	if now < p.next {
		return false
	}
	p.next = now + int64(c.Period())
	return true
}
