//go:build linux

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/report"
)

// TestRunSummaryRatiosAreTheTablesFigures: the "A vs B" lines under a run's
// tables compare the figures the round-trip table shows (all repetitions
// merged), not another statistic. They used the median of each
// repetition's percentile, so a run whose repetitions disagreed printed a
// ratio the table above it contradicted.
func TestRunSummaryRatiosAreTheTablesFigures(t *testing.T) {
	trs, err := parseTransports("pipe,chan", nil)
	if err != nil {
		t.Fatal(err)
	}
	rep := func(samples int64, rtt time.Duration) *measurement {
		h := report.NewHist()
		h.RecordValues(rtt.Nanoseconds(), samples)
		return &measurement{rtt: h, roundTripsTotal: uint64(samples)}
	}
	size := fixedSize(64)
	// pipe: two short repetitions at 10 µs, one long one at 1 µs: merged,
	// its median is 1 µs; the median of the three medians, 10 µs.
	// chan: 5 µs throughout.
	r := &runReport{plan: plan{transports: trs, workloads: []workload{pingpong}}, cells: []*cell{
		{tr: trs[0], workload: pingpong, size: size, row: row[*measurement]{reps: []*measurement{rep(10, 10*time.Microsecond), rep(10, 10*time.Microsecond), rep(1000, time.Microsecond)}}},
		{tr: trs[1], workload: pingpong, size: size, row: row[*measurement]{reps: []*measurement{rep(100, 5*time.Microsecond), rep(100, 5*time.Microsecond), rep(100, 5*time.Microsecond)}}},
	}}
	var b bytes.Buffer
	r.writeSize(&b, size)
	out := b.String()
	if !strings.Contains(out, "pipe vs chan: 5.00x lower median RTT") {
		t.Errorf("want the merged medians' ratio (pipe 1 µs against chan 5 µs: \"5.00x lower median RTT\"; the median of the repetitions' medians, 10 µs, says 2x higher):\n%s", out)
	}
}

// TestListFlagsRefuseEmptyItems: an empty item in a list flag ("1,,2",
// "pipe,") is a usage error naming the flag; it was dropped silently.
func TestListFlagsRefuseEmptyItems(t *testing.T) {
	for _, args := range [][]string{
		{"broadcast", "--readers=1,,2"},
		{"--sizes=8,,64"},
		{"--transports=pipe,"},
		{"--wait=spin,"},
	} {
		var stdout, stderr bytes.Buffer
		if code := execute(append(args, "--duration=1ms"), &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), `""`) {
			t.Errorf("%q: exit %d, stderr %q; want exit %d naming the empty item", args, code, stderr.String(), exitUsage)
		}
	}
}

// TestOutputPathsAreCheckedBeforeMeasuring: a --json file or an --hgrm
// directory that cannot be written is refused at once (usage), not after
// the whole run; neither flag creates a missing directory. A directory that
// is there but takes no file (/proc, even for root) was found out only
// when the run was over. (From a black-box tester.)
func TestOutputPathsAreCheckedBeforeMeasuring(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		flag string
		args []string
	}{
		{"--json", []string{"--json=" + dir + "/no/such/dir/x.json", "--transports=pipe"}},
		{"--json", []string{"--json=" + dir, "--transports=pipe"}},
		{"--json", []string{"mpmc", "--json=" + dir + "/no/such/dir/x.json"}},
		{"--hgrm", []string{"--hgrm=" + dir + "/no/such/dir", "--transports=pipe"}},
		{"--hgrm", []string{"--hgrm=" + file, "--transports=pipe"}},
		{"--json", []string{"--json=/proc/ringbench-test.json", "--transports=pipe"}},
		{"--json", []string{"mpmc", "--json=/proc/ringbench-test.json"}},
		{"--hgrm", []string{"--hgrm=/proc", "--transports=pipe"}},
	} {
		var stdout, stderr bytes.Buffer
		start := time.Now()
		code := execute(append(c.args, "--reps=1"), &stdout, &stderr)
		if code != exitUsage || !strings.Contains(stderr.String(), c.flag) || stdout.Len() != 0 {
			t.Errorf("%q: exit %d after %v, stdout %q, stderr %q; want exit %d before measuring", c.args, code, time.Since(start), stdout.String(), stderr.String(), exitUsage)
		}
	}
	if _, err := os.Stat(dir + "/no"); err == nil {
		t.Errorf("a refused output path's directory was created")
	}
}

// TestFiguresFromAFewEventsSaySo: a run of two messages still prints a
// rate, percentiles and ratios; each comes with a warning that it rests on
// too few events to be a measurement. (From a black-box auditor.)
func TestFiguresFromAFewEventsSaySo(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--count=2", "--workloads=throughput"}, "WARNING: chan throughput repetition 1 measured only 1 messages"},
		// and the comparison line quoting such a cell says so (a tester)
		{[]string{"--transports=chan,pipe", "--count=2", "--workloads=throughput"}, " vs chan: "},
		{[]string{"--duration=1us", "--warmup=0s", "--workloads=pingpong"}, "WARNING: chan pingpong recorded only "},
		// A stream of one message (or none) is a cell of no measurement,
		// not a failed run: it was exit 1, "too short to measure", and the
		// figures measured before it were lost. (From a black-box tester.)
		{[]string{"--transports=pipe,chan", "--sizes=64M", "--duration=1ms", "--warmup=1ms", "--workloads=throughput"}, "WARNING: pipe throughput repetition 1 measured only 0 messages"},
		// A line of round-trip ratios only (the throughput left out, a
		// rate of 0) is marked for its round trips, not for the
		// throughput it does not quote (a black-box tester).
		{[]string{"--transports=pipe,chan", "--sizes=64M", "--duration=1ms", "--warmup=1ms", "--workloads=throughput,pingpong"}, "pingpong rests on too few events"},
	} {
		var stdout, stderr bytes.Buffer
		args := append([]string{"--transports=chan", "--reps=1", "--fingerprint=false"}, tc.args...)
		if code := execute(args, &stdout, &stderr); code != 0 {
			t.Fatalf("%v: exit %d: %s", tc.args, code, stderr.String())
		}
		if !strings.Contains(stdout.String(), tc.want) {
			t.Errorf("%v: output lacks %q:\n%s", tc.args, tc.want, stdout.String())
		}
		for _, l := range strings.Split(stdout.String(), "\n") {
			if strings.Contains(l, " vs ") && !strings.Contains(l, "[not a measurement: ") {
				t.Errorf("%v: a comparison from a few events is not marked: %q", tc.args, l)
			}
			if figures, mark, _ := strings.Cut(l, " ["); strings.Contains(l, " vs ") && !strings.Contains(figures, "throughput") && strings.Contains(mark, "throughput") {
				t.Errorf("%v: a line of round trips only is marked for a throughput it does not quote: %q", tc.args, l)
			}
		}
	}
}

// TestTheLegendDescribesEachSizesMedium: a Go channel's capacity and a
// message queue's depth follow the message size (kept within
// --link-bytes), as a ring's slots do, so a run over several sizes
// describes each size's medium in the text legend, as each JSON result
// does; a transport whose description is the same at every size keeps one
// line. The legend gave every transport but the rings the first size's.
// (From a black-box tester.)
func TestTheLegendDescribesEachSizesMedium(t *testing.T) {
	trs, err := parseTransports("pipe,mq,chan", nil)
	if err != nil {
		t.Fatal(err)
	}
	sizes := []msgSize{fixedSize(64), fixedSize(8 << 20)}
	cfg := config{slots: 4096, chanCap: 1024, linkBytes: 64 << 20, cpus: [2]int{-1, -1}}
	if a, b := (chanTransport{}).describe(cfg.withSize(sizes[0])), (chanTransport{}).describe(cfg.withSize(sizes[1])); a == b {
		t.Fatalf("the channel is described alike at both sizes (%q): the test needs a medium that changes", a)
	}
	r := &runReport{plan: plan{cfg: cfg, sizes: sizes, reps: 1, transports: trs, workloads: []workload{throughput}}}
	var b bytes.Buffer
	r.write(&b)
	out := b.String()
	for _, tr := range trs {
		descs := map[string]bool{}
		for _, s := range sizes {
			descs[tr.describe(cfg.withSize(s))] = true
		}
		if len(descs) == 1 {
			if want := tr.name() + ": "; !strings.Contains(out, want) || strings.Contains(out, tr.name()+" (") {
				t.Errorf("%s, described alike at every size: want one line %q:\n%s", tr.name(), want, out)
			}
			continue
		}
		for _, s := range sizes {
			want := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(tr.name()+" ("+s.String()+"):") + `\s+` + regexp.QuoteMeta(tr.describe(cfg.withSize(s))) + `$`)
			if !want.MatchString(out) {
				t.Errorf("the legend lacks %s's line for %s, %q:\n%s", tr.name(), s, tr.describe(cfg.withSize(s)), out)
			}
		}
	}
}

// TestPlacementWarningsSayWhatTheFingerprintsMean: two fingerprints of one
// placement warn of nothing; near and far ones say the host moved the
// CPUs; one of milliseconds says its probe was descheduled, not that the
// CPUs moved (it said they had; a black-box tester), also when both are.
func TestPlacementWarningsSayWhatTheFingerprintsMean(t *testing.T) {
	for _, c := range []struct {
		before, after time.Duration
		want          string
	}{
		{110 * time.Nanosecond, 100 * time.Nanosecond, ""},
		{110 * time.Nanosecond, 470 * time.Nanosecond, "the host moved the CPUs"},
		{49 * time.Nanosecond, 4790 * time.Microsecond, "its probe was descheduled"},
		{1200 * time.Microsecond, 1500 * time.Microsecond, "its probe was descheduled"},
	} {
		var b strings.Builder
		writePlacement(&b, c.before, c.after)
		warned := strings.Contains(b.String(), "WARNING")
		if c.want == "" && warned || c.want != "" && !strings.Contains(b.String(), c.want) {
			t.Errorf("fingerprints %v and %v: %q, want %q", c.before, c.after, b.String(), c.want)
		}
	}
}
