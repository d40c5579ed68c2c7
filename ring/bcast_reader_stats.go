package ring

// A broadcast reader's figures and its wait: what it has not read yet, its
// counters, and how its blocking calls wait.

// Lag is how many published messages the reader has not consumed yet. On a
// record ring, a lossy reader overrun while the producer held a claim where
// the ring retained no record (LAYOUT.md 17.6) counts the messages it lost
// there in Lag, not yet in Stats.Missed, until the claimed record is
// published (its *LapError comes first) or the stream ends.
func (rd *Reader) Lag() uint64 {
	if rd.missing() {
		return 0
	}
	if rd.closed {
		return 0
	}
	defer rd.r.endGuardQuiet(beginGuard())
	if rd.rec != nil {
		return rd.recLag()
	}
	if p := rd.w.cursor.Load(); p > rd.q {
		return p - rd.q
	}
	return 0
}

// SetWait sets how this reader's blocking calls wait. It also forgets when
// the next Try probe is due: that was reckoned with the old Tick.
func (rd *Reader) SetWait(w WaitStrategy) {
	if rd.missing() {
		return
	}
	rd.wait = w
	rd.waiting.newTick()
}

// Stats returns this reader's counters.
//
// They are stored in the ring file as well, as a Producer's are, and like
// Producer.Stats it is one of the handle's calls: read the file to watch
// them from another goroutine.
func (rd *Reader) Stats() Stats {
	if rd.missing() {
		return Stats{}
	}
	if !rd.closed {
		rd.r.flushStats(rd)
	}
	return rd.stats
}

func (rd *Reader) flushCounters() { rd.ctr.flush(&rd.stats) }
