package wait

// Polls spaces out the peer probes of the calls that do not wait (a
// ring's Try calls). Only a waiting call probes its peers, so a caller
// polling TryRecv in its own loop on a ring whose producer died would be
// told "empty" for ever, and one polling TrySend "full". Due says, after
// one such failed try, whether to probe now: at most once a Period. It
// reads the clock (25 ns on a VM) on the second failure at a position and
// then on every 16th there: a poller that keeps up, failing once before
// each message, never reads it; one stuck at a position pays about 2 ns a
// failed poll; a probe is due on the second poll that fails after a dead
// peer's last message, and a death while the caller polls an idle ring is
// noticed within a tick or 16 polls, whichever comes later (LAYOUT.md
// section 11). A handle keeps one; the zero value is ready.
type Polls struct {
	at    uint64 // the position the failed tries are stuck at
	fails uint32 // failed tries at it
	next  int64  // clock() at which the next probe is due
}

// Due counts one failed try, stuck at position at, and reports whether
// the peers are to be probed now. It inlines (cost 80, the budget: keep
// it so, a failed poll is a hot loop's).
func (p *Polls) Due(c *Config, at uint64) bool {
	p.fails++
	if at == p.at && p.fails&15 != 2 {
		return false
	}
	return p.dueNow(c, at)
}

// dueNow starts the count at a new position, or reads the clock.
func (p *Polls) dueNow(c *Config, at uint64) bool {
	if at != p.at {
		p.at, p.fails = at, 1
		return false
	}
	now := clock()
	if now < p.next {
		return false
	}
	p.next = now + int64(c.Period())
	return true
}
