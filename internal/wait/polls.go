package wait

// Polls spaces out the peer probes of the calls that do not wait (a
// ring's Try calls). Only a waiting call probes its peers, so a caller
// polling TryRecv in its own loop on a ring whose producer died would be
// told "empty" for ever, and one polling TrySend "full". Due says, after
// one such failed try, whether to probe now: at most once a Period, with
// the clock read once per 64 failures, so a failed poll costs about a
// nanosecond more and a death is noticed within a tick or 64 polls,
// whichever comes later. A handle keeps one; the zero value is ready.
type Polls struct {
	fails uint32
	next  int64 // clock() at which the next probe is due
}

// Due counts one failed try and reports whether the peers are to be
// probed now. Small enough to inline: a failed poll pays an increment and
// a test.
func (p *Polls) Due(c *Config) bool {
	p.fails++
	return p.fails&63 == 0 && p.dueNow(c)
}

// dueNow: the 64th failure reads the clock.
func (p *Polls) dueNow(c *Config) bool {
	now := clock()
	if now < p.next {
		return false
	}
	p.next = now + int64(c.Period())
	return true
}
