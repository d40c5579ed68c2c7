//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/codec"
	"github.com/shmring/shmring/internal/launch"
)

// noRingFilesLeft fails t if a ring file of this process is left in
// /dev/shm when t ends (children use the parent's names).
func noRingFilesLeft(t *testing.T) {
	t.Helper()
	t.Cleanup(func() {
		left, _ := filepath.Glob(fmt.Sprintf("/dev/shm/ringbench-%d-*", os.Getpid()))
		if len(left) > 0 {
			t.Errorf("ring files left behind: %v", left)
		}
	})
}

// shortMPJob is a job short enough for a test; nothing asserts a speed.
func shortMPJob(workload, medium, kind string, p, c int) mpJob {
	return mpJob{workload: workload, medium: medium, kind: kind, producers: p, consumers: c,
		size: 64, slots: 64, duration: 30 * time.Millisecond, warmup: 2 * time.Millisecond}
}

// mpSetups are the media this build can measure, each with a shape that
// exercises it: the channel and a ring kind's engine with several
// consumers (checks by totals), the SPSC ring with one (checks every
// sequence number).
func mpSetups(t *testing.T) []mpJob {
	setups := []mpJob{
		shortMPJob(mpThroughput, mediumChan, "mpmc", 2, 2),
		shortMPJob(mpThroughput, mediumChan, "mpsc", 3, 1),
		shortMPJob(mpThroughput, mediumProcs, "spsc", 1, 1),
	}
	for _, k := range []struct {
		kind string
		c    int
	}{{"mpmc", 2}, {"mpsc", 1}} {
		setups = append(setups, shortMPJob(mpThroughput, mediumProcs, k.kind, 2, k.c), shortMPJob(mpThroughput, mediumGoroutines, k.kind, 2, k.c))
	}
	return setups
}

func mpName(j mpJob) string {
	return fmt.Sprintf("%s/%s/%dP%dC/%s", j.kind, j.medium, j.producers, j.consumers, j.workload)
}

func TestMPJobsDeliverEveryMessageExactlyOnce(t *testing.T) {
	noRingFilesLeft(t)
	for _, j := range mpSetups(t) {
		for _, w := range []string{mpThroughput, mpRoundTrip} {
			j.workload = w
			t.Run(mpName(j), func(t *testing.T) {
				o, err := runMPJob(watchdog(t), j)
				if err != nil {
					t.Fatal(err)
				}
				if w == mpThroughput && (o.received == 0 || o.elapsed <= 0) {
					t.Errorf("received=%d elapsed=%v: want both positive", o.received, o.elapsed)
				}
				if w == mpRoundTrip && (o.tripsTotal == 0 || o.rtt.TotalCount() == 0) {
					t.Errorf("round trips=%d recorded=%d: want both positive", o.tripsTotal, o.rtt.TotalCount())
				}
			})
		}
	}
}

func TestMPIntegrityFailuresAreDetected(t *testing.T) {
	noRingFilesLeft(t)
	faults := []struct {
		name     string
		workload string
		role     string
		kind     string
	}{
		{"a byte flipped after the checksum is caught by a consumer", mpThroughput, "producer", "flip"},
		{"a message sent twice is caught", mpThroughput, "producer", "dup"},
		{"a message never sent is caught", mpThroughput, "producer", "skip"},
		{"a message a consumer drops is caught", mpThroughput, "consumer", "drop"},
		{"a message a consumer counts twice is caught", mpThroughput, "consumer", "redo"},
		{"a corrupted request is caught by the server", mpRoundTrip, "client", "flip"},
		{"a corrupted reply is caught by the client", mpRoundTrip, "server", "flip"},
	}
	for _, j := range mpSetups(t) {
		for _, f := range faults {
			j := j
			j.workload = f.workload
			j.faults = map[string]fault{f.role: {Kind: f.kind, At: faultAt}}
			t.Run(mpName(j)+"/"+f.name, func(t *testing.T) {
				_, err := runMPJob(watchdog(t), j)
				if !errors.Is(err, codec.ErrIntegrity) {
					t.Fatalf("got error %v, want one that wraps %q", err, codec.ErrIntegrity)
				}
				t.Logf("reported: %v", err)
			})
		}
	}
}

func TestExactlyOnceCheckCatchesALossHiddenByADuplicate(t *testing.T) {
	// Producer 0 sent 0, 1, 2. If message 1 is lost and message 0 reaches
	// both consumers, each consumer's order is fine, the count is 3 and the
	// highest number is 2: only the digest tells.
	sum := func(seqs ...uint64) (d uint64) {
		for _, s := range seqs {
			d += codec.Digest(s)
		}
		return d
	}
	prods := []mpResult{{Role: "producer", Index: 0, Sent: 3, Digest: sum(0, 1, 2)}}
	cases := []struct {
		name string
		per  [][]uint64 // per consumer, the seqs it got
	}{
		{"every message once passes", [][]uint64{{0, 2}, {1}}},
		{"one lost and one twice, last number received, fails", [][]uint64{{0, 2}, {0}}},
		{"one lost and one twice, last number lost, fails", [][]uint64{{0, 1}, {1}}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var cons []mpResult
			for k, seqs := range c.per {
				r := mpResult{Role: "consumer", Index: k, Per: make([]perProducer, 1)}
				for _, s := range seqs {
					p := &r.Per[0]
					p.Count++
					p.MaxSeq = max(p.MaxSeq, s)
					p.Digest += codec.Digest(s)
				}
				cons = append(cons, r)
			}
			err := checkExactlyOnce(prods, cons)
			if want := i == 0; (err == nil) != want {
				t.Errorf("checkExactlyOnce = %v, want pass=%v", err, want)
			}
		})
	}
}

// rateLine matches a throughput row with a figure: "… 1.23 M msg/s …".
var rateLine = regexp.MustCompile(`(?m)^\s*(.+?)\s{2,}([0-9.]+) (M |k )?msg/s`)

func TestMPMCSubcommandPrintsTablesAndJSON(t *testing.T) {
	noRingFilesLeft(t)
	for _, kind := range []string{"mpmc", "mpsc"} {
		t.Run(kind, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "mp.json")
			args := []string{"mpmc", "--kind=" + kind, "--producers=2", "--duration=20ms", "--warmup=2ms", "--reps=2", "--slots=64", "--json=" + file}
			var stdout, stderr bytes.Buffer
			if code := execute(args, &stdout, &stderr); code != 0 {
				t.Fatalf("exit code %d; stderr:\n%s", code, stderr.String())
			}
			out := stdout.String()
			for _, want := range []string{"machine:", "== 2P1C", "Go channel, 3 goroutines", "== baseline: spsc ring 1P1C", "round trip", "p99.9"} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			rows := map[string]bool{}
			for _, m := range rateLine.FindAllStringSubmatch(out, -1) {
				rows[strings.TrimSpace(m[1])] = true
			}
			for _, want := range []string{"Go channel, 3 goroutines", "spsc ring, 2 processes"} {
				if !rows[want] {
					t.Errorf("no throughput figure for %q in:\n%s", want, out)
				}
			}
			if !rows[kind+" ring, 3 processes"] {
				t.Errorf("no throughput figure for the %s ring across processes in:\n%s", kind, out)
			}
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var j mpJSONReport
			if err := json.Unmarshal(b, &j); err != nil {
				t.Fatal(err)
			}
			if j.Tool != "ringbench" || j.Mode != "mpmc" || len(j.Results) != 8 {
				t.Errorf("JSON tool=%q mode=%q results=%d, want ringbench, mpmc, 8", j.Tool, j.Mode, len(j.Results))
			}
			for _, c := range j.Results {
				if c.Skipped == "" && len(c.Reps) != 2 {
					t.Errorf("JSON %s %s %s: %d repetitions, want 2", c.Shape, c.Label, c.Workload, len(c.Reps))
				}
			}
		})
	}
}

func TestMultiBadFlagsAreRejected(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"an unknown ring kind is refused", []string{"mpmc", "--kind=spmc"}, `--kind "spmc"`},
		{"a message too small for the header is refused", []string{"mpmc", "--size=16"}, "--size 16"},
		{"an mpsc ring with two consumers is refused", []string{"mpmc", "--kind=mpsc", "--consumers=2"}, "one consumer"},
		{"zero producers are refused", []string{"mpmc", "--producers=0"}, "--producers 0"},
		{"too many consumers are refused", []string{"mpmc", "--consumers=1000"}, "--consumers 1000"},
		{"a slot count that is not a power of two is refused", []string{"mpmc", "--slots=100"}, "--slots 100"},
		{"zero repetitions are refused", []string{"mpmc", "--reps=0"}, "--reps 0"},
		{"an unknown policy is refused", []string{"broadcast", "--policy=greedy"}, `--policy "greedy"`},
		{"a reader count that is not a number is refused", []string{"broadcast", "--readers=1,many"}, `"many"`},
		{"zero readers are refused", []string{"broadcast", "--readers=0"}, `"0"`},
		{"a broadcast message too small for the header is refused", []string{"broadcast", "--size=8"}, "--size 8"},
		{"a zero broadcast duration is refused", []string{"broadcast", "--duration=0s"}, "--duration"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := execute(c.args, &stdout, &stderr); code != exitUsage {
				t.Errorf("exit code %d, want %d", code, exitUsage)
			}
			if !strings.Contains(stderr.String(), c.want) {
				t.Errorf("stderr %q does not mention %q", stderr.String(), c.want)
			}
		})
	}
}

func TestChildOfAMultiRoleRefusesABadConfig(t *testing.T) {
	t.Setenv(launch.ConfigEnv, `{"role":"producer","size":8}`)
	var stdout, stderr bytes.Buffer
	if code := childMain(roleMPWorker, &stdout, &stderr); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), "message size 8") {
		t.Errorf("stderr %q does not name the bad size", stderr.String())
	}
}
