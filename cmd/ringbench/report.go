package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// placementDrift is the before/after fingerprint ratio above which the report
// warns that the host moved the CPUs (near and far differ 3-5x here).
const placementDrift = 1.5

// row is one transport's line in the table.
type row struct {
	tr transport
	tp *measurement // throughput; nil if not run
	pp *measurement // ping-pong; nil if not run
}

// A noter is a transport with something to say about its own run (the ring:
// whether its consumer ever slept).
type noter interface {
	notes(tp, pp *measurement) []string
}

// report is everything the tool prints after the runs.
type report struct {
	mach          machine
	cfg           config
	before, after time.Duration // core-to-core fingerprints; 0 if not taken
	rows          []row
}

func (r *report) write(w io.Writer) {
	fmt.Fprintf(w, "ringbench: %d-byte messages between two processes (chan: two goroutines of one process)\n", r.cfg.size)
	fmt.Fprintf(w, "machine:   %s (both processes)\n", r.mach)
	if r.before > 0 {
		fmt.Fprintf(w, "placement: core-to-core cache-line round trip %s before, %s after the runs (compare runs only when these agree)\n",
			fmtDur(r.before), fmtDur(r.after))
		if hi, lo := max(r.before, r.after), min(r.before, r.after); lo > 0 && float64(hi)/float64(lo) > placementDrift {
			fmt.Fprintf(w, "           WARNING: the host moved the CPUs during the run; coherence-bound figures (shmring, chan) may mix two placements: run again\n")
		}
	}
	fmt.Fprintf(w, "method:    one message per send call and one per receive call on every transport, no batching;\n")
	fmt.Fprintf(w, "           every message carries its sequence number and a pattern the receiver checks byte by byte (cost included);\n")
	fmt.Fprintf(w, "           each test: %s warm-up, then %s measured; processes unpinned\n", r.cfg.warmup, r.cfg.duration)
	fmt.Fprintf(w, "           throughput: parent sends, child receives and counts messages over its own measurement window\n")
	fmt.Fprintf(w, "           round trip: parent sends, child echoes; each round trip timed by the parent (HDR histogram, 3 digits)\n\n")

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "transport\tthroughput\tper msg\tmessages\tRTT p50\tp99\tp99.9\tmax\tRTT samples\t")
	for _, rw := range r.rows {
		tput, per, n := "-", "-", "-"
		if rw.tp != nil {
			tput = fmtRate(rw.tp.rate())
			per = fmtDur(time.Duration(float64(time.Second) / rw.tp.rate()))
			n = fmt.Sprint(rw.tp.measured)
		}
		p50, p99, p999, pmax, rts := "-", "-", "-", "-", "-"
		if rw.pp != nil {
			h := rw.pp.rtt
			p50, p99, p999 = fmtDur(quantile(h, 50)), fmtDur(quantile(h, 99)), fmtDur(quantile(h, 99.9))
			pmax, rts = fmtDur(time.Duration(h.Max())), fmt.Sprint(h.TotalCount())
		}
		fmt.Fprintf(tw, "%-9s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", rw.tr.name(), tput, per, n, p50, p99, p999, pmax, rts)
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, rw := range r.rows {
		fmt.Fprintf(w, "%-9s %s\n", rw.tr.name()+":", rw.tr.describe(r.cfg))
	}

	if len(r.rows) > 1 {
		fmt.Fprintln(w)
		base := r.rows[0]
		for _, other := range r.rows[1:] {
			if parts := compare(base, other); len(parts) > 0 {
				fmt.Fprintf(w, "%s vs %s: %s\n", base.tr.name(), other.tr.name(), strings.Join(parts, ", "))
			}
		}
	}
	var notes []string
	for _, rw := range r.rows {
		if n, ok := rw.tr.(noter); ok {
			notes = append(notes, n.notes(rw.tp, rw.pp)...)
		}
	}
	if len(notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range notes {
			fmt.Fprintln(w, n)
		}
	}
}

// compare spells out how base fares against other.
func compare(base, other row) []string {
	var parts []string
	if base.tp != nil && other.tp != nil && base.tp.rate() > 0 && other.tp.rate() > 0 {
		parts = append(parts, ratio(base.tp.rate()/other.tp.rate(), "throughput", "lower throughput"))
	}
	if base.pp != nil && other.pp != nil {
		for _, q := range []struct {
			p    float64
			name string
		}{{50, "median RTT"}, {99, "p99 RTT"}} {
			b, o := quantile(base.pp.rtt, q.p), quantile(other.pp.rtt, q.p)
			if b > 0 && o > 0 {
				parts = append(parts, ratio(float64(o)/float64(b), "lower "+q.name, "higher "+q.name))
			}
		}
	}
	return parts
}

// ratio phrases x, how many times better base is, as "12x <better>" or,
// when x < 1, as "3.4x <worse>".
func ratio(x float64, better, worse string) string {
	if x < 1 {
		return fmt.Sprintf("%sx %s", fmtFactor(1/x), worse)
	}
	return fmt.Sprintf("%sx %s", fmtFactor(x), better)
}

func fmtFactor(x float64) string {
	switch {
	case x >= 100:
		return fmt.Sprintf("%.0f", x)
	case x >= 10:
		return fmt.Sprintf("%.1f", x)
	default:
		return fmt.Sprintf("%.2f", x)
	}
}

func fmtRate(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.2f M msg/s", r/1e6)
	case r >= 1e3:
		return fmt.Sprintf("%.1f k msg/s", r/1e3)
	default:
		return fmt.Sprintf("%.0f msg/s", r)
	}
}

func fmtDur(d time.Duration) string {
	switch {
	case d < time.Microsecond:
		return fmt.Sprintf("%d ns", d.Nanoseconds())
	case d < time.Millisecond:
		return fmt.Sprintf("%.2f µs", float64(d)/float64(time.Microsecond))
	case d < time.Second:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
}
