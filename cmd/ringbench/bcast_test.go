//go:build linux

package main

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/codec"
)

// fanSetups are the media and policies this build can measure.
func fanSetups(t *testing.T) []fanJob {
	base := fanJob{readers: 2, size: 64, slots: 64, duration: 30 * time.Millisecond}
	var jobs []fanJob
	unixJob := base
	unixJob.medium, unixJob.policy = fanUnix, "lossless"
	jobs = append(jobs, unixJob)
	for _, p := range []string{"lossless", "lossy", "mixed"} {
		j := base
		j.medium, j.policy = fanRing, p
		jobs = append(jobs, j)
	}
	return jobs
}

func fanName(j fanJob) string { return fmt.Sprintf("%s/%s/readers=%d", j.medium, j.policy, j.readers) }

func TestFanoutDeliversToEveryReader(t *testing.T) {
	noRingFilesLeft(t)
	for _, j := range fanSetups(t) {
		t.Run(fanName(j), func(t *testing.T) {
			o, err := runFanJob(watchdog(t), j)
			if err != nil {
				t.Fatal(err)
			}
			if o.published == 0 || len(o.readers) != j.readers || o.lat.TotalCount() == 0 {
				t.Errorf("published=%d readers=%d latencies=%d: want all positive, %d readers", o.published, len(o.readers), o.lat.TotalCount(), j.readers)
			}
		})
	}
}

func TestFanoutIntegrityFailuresAreDetected(t *testing.T) {
	noRingFilesLeft(t)
	faults := []struct {
		name     string
		producer fault
		reader   fault
	}{
		{name: "bytes flipped after the checksum are caught by the readers", producer: fault{Kind: "flipfrom", At: faultAt}},
		{name: "a message published twice is caught", producer: fault{Kind: "dup", At: faultAt}},
		{name: "a message never published is caught", producer: fault{Kind: "skip", At: faultAt}},
		{name: "a message a reader drops is caught", reader: fault{Kind: "drop", At: faultAt}},
		{name: "a message a reader counts twice is caught", reader: fault{Kind: "redo", At: faultAt}},
	}
	for _, j := range fanSetups(t) {
		for _, f := range faults {
			j := j
			j.producerFault, j.readerFault = f.producer, f.reader
			t.Run(fanName(j)+"/"+f.name, func(t *testing.T) {
				_, err := runFanJob(watchdog(t), j)
				if !errors.Is(err, codec.ErrIntegrity) {
					t.Fatalf("got error %v, want one that wraps %q", err, codec.ErrIntegrity)
				}
				t.Logf("reported: %v", err)
			})
		}
	}
}

func TestFanoutCheckCountsEveryMessage(t *testing.T) {
	cases := []struct {
		name string
		r    fanReaderResult
		ok   bool
	}{
		{"a lossless reader with every message passes", fanReaderResult{Policy: "lossless", Received: 10}, true},
		{"a lossless reader one short fails", fanReaderResult{Policy: "lossless", Received: 9}, false},
		{"a lossy reader whose laps account for the rest passes", fanReaderResult{Policy: "lossy", Received: 6, Missed: 4, Laps: 1}, true},
		{"a lossy reader with a gap no lap reported fails", fanReaderResult{Policy: "lossy", Received: 6, Missed: 3, Laps: 1, Unreported: 1}, false},
		{"a lossy reader told it missed too many fails", fanReaderResult{Policy: "lossy", Received: 6, Missed: 5, Laps: 1}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := checkFanout(&fanOutcome{published: 10, readers: []fanReaderResult{c.r}})
			if (err == nil) != c.ok {
				t.Errorf("checkFanout = %v, want pass=%v", err, c.ok)
			}
			if err != nil && !errors.Is(err, codec.ErrIntegrity) {
				t.Errorf("error %v does not wrap %q", err, codec.ErrIntegrity)
			}
		})
	}
}

// readerLine matches a per-reader row: medium, reader, policy, received.
var readerLine = regexp.MustCompile(`(?m)^\s*(ring|unix)\s+(\d+)\s+(lossless|lossy)\s+(\d+)\s+(\d+)\s+(\d+)`)

func TestBroadcastSubcommandPrintsTables(t *testing.T) {
	noRingFilesLeft(t)
	var stdout, stderr bytes.Buffer
	args := []string{"broadcast", "--readers=1,2", "--policy=mixed", "--duration=20ms", "--slots=64"}
	if code := execute(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"machine:", "== 1 reader(s)", "== 2 reader(s), ring policy mixed: 1 lossless, 1 lossy", "unix sockets ×2", "producer msgs/s", "latency, paced at 20000 messages/s", "p99.9", "per reader:"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	rows := readerLine.FindAllStringSubmatch(out, -1)
	want := 6 // ring and unix: 1 + 2 readers each
	if !strings.Contains(out, "broadcast ring (mixed) vs unix sockets ×2:") {
		t.Errorf("output lacks the ring vs unix ratio:\n%s", out)
	}
	if len(rows) != want {
		t.Errorf("%d per-reader rows, want %d:\n%s", len(rows), want, out)
	}
	for _, r := range rows {
		if r[4] == "0" {
			t.Errorf("%s reader %s received nothing:\n%s", r[1], r[2], out)
		}
	}
}

// TestBroadcastHeadlineSaysARingWithLossyReadersIsComparedByItsProducer:
// the ring's producer, which its lossy readers never hold back, is set
// beside sockets that deliver every message; where a lossy reader missed
// messages the headline says its ratio is of producer rates and how much
// was missed. (From a black-box auditor.)
func TestBroadcastHeadlineSaysARingWithLossyReadersIsComparedByItsProducer(t *testing.T) {
	cell := func(medium string, missed uint64) *fanCell {
		c := &fanCell{job: fanJob{medium: medium, readers: 2, policy: "mixed", size: 64}}
		c.reps = []*fanOutcome{{published: 1000, elapsed: time.Millisecond, readers: []fanReaderResult{
			{Policy: "lossless", Received: 1000}, {Policy: "lossy", Received: 1000 - missed, Missed: missed, Laps: 1}}}}
		return c
	}
	for _, tc := range []struct {
		missed uint64
		note   bool
	}{{250, true}, {0, false}} {
		r := &fanReport{plan: fanPlan{fanFlags: fanFlags{policy: "mixed", size: 64}, readers: []int{2}},
			cells: []*fanCell{cell(fanRing, tc.missed), cell(fanUnix, 0)}}
		var out strings.Builder
		r.write(&out)
		got := strings.Contains(out.String(), "missed up to 25.0% of what it published")
		if got != tc.note || strings.Contains(out.String(), "producer rates, not delivered") != tc.note {
			t.Errorf("lossy reader missed %d of 1000: the note is there = %v, want %v:\n%s", tc.missed, got, tc.note, out.String())
		}
	}
}

// slowSink takes delay over every message, as a medium slower than the
// rate asked of it would.
type slowSink struct {
	delay time.Duration
	sent  uint64
}

func (s *slowSink) Send([]byte) error { time.Sleep(s.delay); s.sent++; return nil }
func (s *slowSink) Close() error      { return nil }

// TestPacedBroadcastSaysAMediumFellBehindTheRate: the paced pass keeps the
// rule run --rate keeps (schedule.keptUp): a medium still on a message due
// in the window well after the window's end cannot keep the rate. Such
// a medium was reported with seconds of queueing as its latency, and a
// ratio to it; now its producer gives up with errBehindRate, and the
// command says the pass was skipped, with no latency ratio. One that keeps
// the rate publishes every message due in the window. Nothing here
// depends on speed but that a unix socket write takes more than 50 ns.
// (From a black-box tester.)
func TestPacedBroadcastSaysAMediumFellBehindTheRate(t *testing.T) {
	j := fanJob{size: 64, duration: 200 * time.Millisecond, rate: 10000} // 2000 messages due
	t.Run("a medium that keeps the rate", func(t *testing.T) {
		o := &fanOutcome{}
		if err := j.publish(watchdog(t), &slowSink{}, o); err != nil || o.published != 2000 {
			t.Errorf("published %d, %v; want the 2000 due in the window, nil", o.published, err)
		}
	})
	t.Run("a medium ten times slower than the rate", func(t *testing.T) { // 2 s for the window's messages
		o := &fanOutcome{}
		if err := j.publish(watchdog(t), &slowSink{delay: time.Millisecond}, o); !errors.Is(err, errBehindRate) {
			t.Errorf("publish = %v after %d messages, want errBehindRate", err, o.published)
		}
	})
	t.Run("the command", func(t *testing.T) {
		noRingFilesLeft(t)
		var stdout, stderr bytes.Buffer
		// Two sockets, a write(2) to each per message: 10 million a
		// second is out of any machine's reach.
		args := []string{"broadcast", "--readers=2", "--rate=10000000", "--duration=200ms", "--slots=64"}
		if code := execute(args, &stdout, &stderr); code != 0 {
			t.Fatalf("exit code %d; stderr:\n%s", code, stderr.String())
		}
		out := stdout.String()
		if !regexp.MustCompile(`(?m)^\s*unix sockets ×2\s+skipped\s*$`).MatchString(out) ||
			!regexp.MustCompile(`(?m)^skipped: unix sockets ×2, 2 reader\(s\), paced at 10000000/s: .*could not keep the rate`).MatchString(out) {
			t.Errorf("the paced pass over unix sockets is not said to be skipped:\n%s", out)
		}
		if strings.Contains(out, "median latency") {
			t.Errorf("a latency ratio with a medium that could not keep the rate:\n%s", out)
		}
	})
}
