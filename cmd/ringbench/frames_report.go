//go:build linux

package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/shmring/shmring/internal/report"
)

// The frames command's report: one table per section, then the ratios,
// each on a line that starts "ratio:" (scripts and the tests read them).

// A memorySized transport knows how much memory one of its rings takes.
type memorySized interface {
	memory(cfg config) int64
}

func writeFrames(w io.Writer, cfg config, secs []*framesSection, mc memcpys) {
	ref := mc.best()
	mach := secs[0].rep.mach
	fmt.Fprintf(w, "ringbench frames: the frame job between two processes\n")
	fmt.Fprintf(w, "machine:   %s (both processes), processes unpinned\n", mach)
	writePlacement(w, mc.before, mc.after)
	fmt.Fprintf(w, "method:    one message per call on every transport; each test %s warm-up then %s, %d repetition(s) interleaved, medians;\n",
		cfg.warmup, cfg.duration, secs[0].rep.plan.reps)
	fmt.Fprintf(w, "           every message carries its sequence number and is checked; throughput counted by the receiver over its window\n")
	frame := secs[1].size.max
	fmt.Fprintf(w, "memcpy:    Go copy of one %s frame: %s (%.2f GB/s before the runs, %.2f GB/s after; the higher is the reference)\n",
		report.Size(frame), report.Dur(perFrame(ref.hot, frame)), mc.hot[0]/1e9, mc.hot[1]/1e9)
	fmt.Fprintf(w, "           the same into %d frame buffers in turn, the slot ring's footprint: %s (%.2f GB/s before, %.2f GB/s after)\n",
		mc.slots, report.Dur(perFrame(ref.over, frame)), mc.over[0]/1e9, mc.over[1]/1e9)
	fmt.Fprintf(w, "           the same by two copiers at once, each on its own thread (Send and Recv copy together): %s each (%.2f GB/s before, %.2f GB/s after)\n",
		report.Dur(perFrame(ref.pair, frame)), mc.pair[0]/1e9, mc.pair[1]/1e9)
	fmt.Fprintf(w, "           out of the %d frame buffers in turn into one (Recv's copy, its source from memory where they exceed the cache): %s (%.2f GB/s before, %.2f GB/s after)\n",
		mc.slots, report.Dur(perFrame(ref.outOf, frame)), mc.outOf[0]/1e9, mc.outOf[1]/1e9)
	for _, s := range secs {
		fmt.Fprintf(w, "\n== %s: %s messages, %s ==\n", s.key, s.size, s.title)
		c := s.rep.plan.cfg.withSize(s.size)
		if s.touch == touchEnds {
			fmt.Fprintf(w, "MB/s counts the bytes each message carries; here the zero-copy ends write and read only %d of them\n", min(16, s.size.max))
		}
		if s.workload == throughput {
			t := report.NewTable(w, "transport", "msgs/s", "MB/s", "per msg", "ring memory", "messages")
			for _, tr := range s.rep.plan.transports {
				cl := s.rep.cell(tr.name(), throughput, s.size)
				if !cl.ok() {
					t.Row(tr.name(), "skipped")
					continue
				}
				var n uint64
				for _, m := range cl.reps {
					n += m.measured
				}
				t.Row(tr.name(), report.Rate(cl.rate()), fmt.Sprintf("%.1f", cl.byteRate()/1e6), report.PerMsg(cl.rate()), memory(tr, c), fmt.Sprint(n))
			}
			t.Flush()
		} else {
			t := report.NewTable(w, "transport", "p50", "p99", "p99.9", "ring memory", "round trips")
			for _, tr := range s.rep.plan.transports {
				cl := s.rep.cell(tr.name(), s.workload, s.size)
				if !cl.ok() {
					t.Row(tr.name(), "skipped")
					continue
				}
				h := cl.merged()
				t.Row(tr.name(), report.Dur(report.At(h, 50)), report.Dur(report.At(h, 99)), report.Dur(report.At(h, 99.9)), memory(tr, c), fmt.Sprint(h.TotalCount()))
			}
			t.Flush()
		}
		for _, cl := range s.rep.cells {
			if cl.skipped != "" {
				fmt.Fprintf(w, "skipped: %s\n", cl.skipped)
			}
			warnCell(w, cl, s.rep.plan.cfg)
		}
		for _, tr := range s.rep.plan.transports {
			if _, ok := tr.(memorySized); ok {
				fmt.Fprintf(w, "%-17s %s\n", tr.name()+":", tr.describe(c))
			}
		}
	}
	fmt.Fprintln(w)
	for _, tr := range secs[0].rep.plan.transports {
		if _, ok := tr.(memorySized); !ok {
			fmt.Fprintf(w, "%-17s %s\n", tr.name()+":", tr.describe(secs[0].rep.plan.cfg.withSize(secs[0].size)))
		}
	}
	fmt.Fprintln(w)
	for _, l := range framesRatios(secs, ref) {
		fmt.Fprintln(w, "ratio: "+l)
	}
}

// framesRatios are the figures the acceptance names, as sentences.
func framesRatios(secs []*framesSection, ref memcpyRefs) []string {
	var out []string
	mixed, frames, huge, fill, rtt := secs[0], secs[1], secs[2], secs[3], secs[4]
	frame := frames.size.max
	copySecs := float64(frame) / ref.hot // not a Duration: a small frame copies in a few ns
	cell := func(s *framesSection, tr string) *cell { return s.rep.cell(tr, s.workload, s.size) }
	rate := func(s *framesSection, tr string) float64 { return cell(s, tr).rate() }
	bytes := func(s *framesSection, tr string) float64 { return cell(s, tr).byteRate() }
	// ran says, of a transport that ran in s but measured nothing, that
	// the ratio named is missing and why.
	ran := func(s *framesSection, tr, ratio string) bool {
		c := cell(s, tr)
		if c.ok() && c.rate() <= 0 {
			out = append(out, fmt.Sprintf("%s (%s): not computed: it measured no message (see the WARNING above)", ratio, tr))
		}
		return c.ok() && c.rate() > 0
	}
	for _, tr := range []string{"shmring", "shmring-rec"} {
		name := fmt.Sprintf("frames %s Send/Recv", report.Size(frame))
		if ran(frames, tr, name) {
			b := bytes(frames, tr)
			out = append(out, fmt.Sprintf("%s (%s): %.2f GB/s = %.2fx the memcpy bandwidth of one frame (%.2f GB/s), %.2fx that into the ring's footprint (%.2f GB/s), %.2fx what one of two copiers at once gets (%.2f GB/s), %.2fx a copy out of the slot ring's footprint (%.2f GB/s: Recv's copy)%s",
				name, tr, b/1e9, b/ref.hot, ref.hot/1e9, b/ref.over, ref.over/1e9, b/ref.pair, ref.pair/1e9, b/ref.outOf, ref.outOf/1e9, notMeasured(frames.rep.plan.cfg, cell(frames, tr))))
		}
	}
	for _, tr := range []string{"shmring-zc", "shmring-rec-zc"} {
		name := fmt.Sprintf("frames %s zero-copy", report.Size(frame))
		if !ran(frames, tr, name) {
			continue
		}
		own := 1 / rate(frames, tr)
		out = append(out, fmt.Sprintf("%s (%s): the ring's own cost %s per frame = %.2f %% of one memcpy of the frame (%s)%s",
			name, tr, report.Dur(seconds(own)), 100*own/copySecs, report.Dur(seconds(copySecs)), notMeasured(frames.rep.plan.cfg, cell(frames, tr))))
		if ran(fill, tr, name+" with every byte written and checked") {
			f := rate(fill, tr)
			out = append(out, fmt.Sprintf("%s with every byte written and checked (%s): %s per frame (%.2f GB/s)%s",
				name, tr, report.PerMsg(f), bytes(fill, tr)/1e9, notMeasured(fill.rep.plan.cfg, cell(fill, tr))))
		}
	}
	hugeRan := false
	for _, tr := range huge.rep.plan.transports {
		r := rate(huge, tr.name())
		if r <= 0 {
			continue
		}
		hugeRan = true
		if base := rate(frames, tr.name()); base > 0 {
			out = append(out, fmt.Sprintf("frames %s with huge pages (%s): %s per frame, %.2fx the throughput without (%s per frame)",
				report.Size(frame), tr.name(), report.PerMsg(r), r/base, report.PerMsg(base)))
		}
	}
	if !hugeRan {
		out = append(out, "huge pages: the frames-huge section was skipped: no ring of huge pages could be made here (ring.ErrNoHugePages; "+
			"the pool is vm.nr_hugepages, what is free of it HugePages_Free in /proc/meminfo, and a cgroup's hugetlb limit may refuse what is free)")
	}
	for _, pair := range [][2]string{{"shmring-rec", "shmring"}, {"shmring-rec-zc", "shmring-zc"}} {
		rec, slot := pair[0], pair[1]
		name := "mixed " + strings.TrimPrefix(mixed.size.String(), "mixed ")
		if recRan, slotRan := ran(mixed, rec, name), ran(mixed, slot, name); !recRan || !slotRan {
			continue
		}
		c := mixed.rep.plan.cfg.withSize(mixed.size)
		mr, ms := registry[rec].(memorySized).memory(c), registry[slot].(memorySized).memory(c)
		dr, ds := int64(c.recordCapacity()), int64(c.ringSlots()*c.size)
		out = append(out, fmt.Sprintf("%s: %s %s = %.2fx %s (slot ring for the largest message), in %s of records, %s the size of its %s of slots (files %s and %s: %s)%s",
			name, rec, report.Rate(rate(mixed, rec)), rate(mixed, rec)/rate(mixed, slot), slot,
			memSize(dr), fraction(dr, ds), memSize(ds), memSize(mr), memSize(ms), fraction(mr, ms), notMeasured(mixed.rep.plan.cfg, cell(mixed, rec), cell(mixed, slot))))
	}
	p50 := func(tr string) float64 { return cell(rtt, tr).mergedP(50) } // as the table
	for _, tr := range []string{"shmring", "shmring-zc", "shmring-rec", "shmring-rec-zc"} {
		if p50(tr) <= 0 || p50("pipe") <= 0 || p50("unix") <= 0 {
			continue
		}
		out = append(out, fmt.Sprintf("round trip %s (%s): p50 %s = %.2fx a pipe's (%s), %.2fx a unix socket's (%s)%s",
			report.Size(rtt.size.max), tr, report.Dur(time.Duration(p50(tr))), p50(tr)/p50("pipe"), report.Dur(time.Duration(p50("pipe"))),
			p50(tr)/p50("unix"), report.Dur(time.Duration(p50("unix"))), notMeasured(rtt.rep.plan.cfg, cell(rtt, tr), cell(rtt, "pipe"), cell(rtt, "unix"))))
	}
	return out
}

// seconds is s seconds as a Duration, for printing.
func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// fraction is part's size beside whole's: "1/8.00" where it is the
// smaller, "2.00x" where it is the larger.
func fraction(part, whole int64) string {
	if part <= whole {
		return fmt.Sprintf("1/%.2f", float64(whole)/float64(part))
	}
	return fmt.Sprintf("%.2fx", float64(part)/float64(whole))
}

// perFrame is the time one frame of size bytes takes at bytesPerSec.
func perFrame(bytesPerSec float64, size int) time.Duration {
	if bytesPerSec <= 0 {
		return 0
	}
	return time.Duration(float64(size) / bytesPerSec * float64(time.Second))
}

// memory is one of tr's rings' size, or "-" for a transport without one.
func memory(tr transport, cfg config) string {
	if m, ok := tr.(memorySized); ok {
		return memSize(m.memory(cfg))
	}
	return "-"
}

// memSize is n bytes in MiB or KiB, one decimal, or in bytes below a KiB.
func memSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
