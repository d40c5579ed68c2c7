//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/codec"
	"github.com/shmring/shmring/internal/launch"
	"github.com/shmring/shmring/internal/medium"
	"github.com/shmring/shmring/internal/report"
)

// roleCLI is a test child that runs ringbench's command line (its
// arguments), for the tests that signal a whole ringbench process.
const roleCLI = "test-cli"

// TestMain lets the test binary serve as the child: measure re-executes
// os.Executable(), which under `go test` is this binary.
func TestMain(m *testing.M) {
	if role, ok := launch.Role(); ok {
		if role == roleCLI {
			os.Exit(execute(os.Args[1:], os.Stdout, os.Stderr))
		}
		os.Exit(childMain(role, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// shortConfig makes runs short: nothing here asserts a speed.
func shortConfig() config {
	return config{size: 64, duration: 30 * time.Millisecond, warmup: 5 * time.Millisecond,
		slots: 1 << 10, chanCap: 256, linkBytes: 64 << 20, rate: 5000, cpus: [2]int{-1, -1}}
}

// testTransports are every transport built in (shmring included when the
// ring package builds and registers it).
func testTransports(t *testing.T) []transport {
	ts, err := parseTransports("all", waitNames)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// measureDelivery measures for a test of delivery: a fixed-rate pass that
// could not keep the rate is measured again at a tenth of it over ten
// times the window (as many messages), twice at most. On a busy machine (a
// spinning transport, two vCPUs, other packages' tests and programs) one
// retry at a tenth of the rate was not always enough, and what such a test
// checks is that every message arrives whole, not the rate.
func measureDelivery(t *testing.T, tr transport, w workload, cfg config) (*measurement, error) {
	t.Helper()
	m, err := measure(watchdog(t), tr, w, cfg)
	for retries := 2; w == fixedRate && errors.Is(err, errBehindRate) && retries > 0; retries-- {
		cfg.rate, cfg.duration = cfg.rate/10, cfg.duration*10
		t.Logf("%v; again at %v msg/s for %v", err, cfg.rate, cfg.duration)
		m, err = measure(watchdog(t), tr, w, cfg)
	}
	return m, err
}

// watchdog fails the test loudly instead of letting a hung run eat the
// go test timeout.
func watchdog(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestEveryTransportDeliversEveryMessage(t *testing.T) {
	for _, tr := range testTransports(t) {
		for _, size := range []int{8, 64, 100} {
			for _, w := range workloads {
				t.Run(fmt.Sprintf("%s/%s/size=%d", tr.name(), w, size), func(t *testing.T) {
					cfg := shortConfig()
					cfg.size = size
					m, err := measureDelivery(t, tr, w, cfg)
					if err != nil {
						t.Fatal(err)
					}
					switch w {
					case throughput:
						if m.sent == 0 || m.measured == 0 || m.elapsed <= 0 {
							t.Errorf("sent=%d measured=%d elapsed=%v: want all positive", m.sent, m.measured, m.elapsed)
						}
					case pingpong, fixedRate:
						if m.roundTripsTotal == 0 || m.roundTrips() == 0 {
							t.Errorf("round trips=%d incl. warm-up, recorded=%d: want both positive", m.roundTripsTotal, m.roundTrips())
						}
					}
				})
			}
		}
	}
}

// faultySender and faultyReceiver wrap the parent's handles and break one
// message on purpose. Wrapped, a ring's handles lose their zero-copy path.
type faultySender struct {
	medium.Sender
	onSend func(seq uint64, msg []byte) (copies int) // how many times to really send msg
	sends  uint64
}

func (f *faultySender) Send(msg []byte) error {
	seq := f.sends
	f.sends++
	for range f.onSend(seq, msg) {
		if err := f.Sender.Send(msg); err != nil {
			return err
		}
	}
	return nil
}

type faultyReceiver struct {
	medium.Receiver
	onRecv func(seq uint64, buf []byte)
	recvs  uint64
}

func (f *faultyReceiver) Recv(buf []byte) error {
	err := f.Receiver.Recv(buf)
	if err == nil {
		f.onRecv(f.recvs, buf)
	}
	f.recvs++
	return err
}

// onSend and onRecv make a wrap function for config.wrap.
func onSend(fn func(seq uint64, msg []byte) int) func(*end) {
	return func(e *end) { e.s = &faultySender{Sender: e.s, onSend: fn} }
}

func onRecv(fn func(seq uint64, buf []byte)) func(*end) {
	return func(e *end) { e.r = &faultyReceiver{Receiver: e.r, onRecv: fn} }
}

// faultAt is the message a fault hits: an early one, because a short run
// on a loaded two-core machine (go test runs packages in parallel) may
// complete only a handful of round trips, and a fault never injected is a
// failure that cannot be caught.
const faultAt = 2

func TestIntegrityFailuresAreDetected(t *testing.T) {
	flip := func(seq uint64, b []byte) {
		if seq == faultAt {
			b[len(b)-3] ^= 0x40
		}
	}
	faults := []struct {
		name string
		only workload // "" for both workloads
		wrap func(*end)
	}{
		{"a payload byte flipped before sending is caught by the receiver", "", onSend(func(seq uint64, b []byte) int { flip(seq, b); return 1 })},
		{"a message sent twice is caught by the receiver", "", onSend(func(seq uint64, _ []byte) int {
			if seq == faultAt {
				return 2
			}
			return 1
		})},
		{"a message lost in the middle is caught by the receiver", throughput, onSend(func(seq uint64, _ []byte) int {
			if seq == faultAt {
				return 0
			}
			return 1
		})},
		{"messages lost at the end are caught by the count check", throughput, onSend(func(seq uint64, _ []byte) int {
			if seq >= faultAt {
				return 0
			}
			return 1
		})},
		{"an echo corrupted on its way back is caught by the parent", "", onRecv(flip)},
	}
	for _, tr := range testTransports(t) {
		for _, w := range workloads {
			for _, f := range faults {
				if f.only != "" && f.only != w || f.only == "" && w == throughput && strings.HasPrefix(f.name, "an echo") {
					continue
				}
				t.Run(fmt.Sprintf("%s/%s/%s", tr.name(), w, f.name), func(t *testing.T) {
					cfg := shortConfig()
					cfg.wrap = f.wrap
					cfg.minCount = faultAt + 2 // reach the fault however loaded the machine is
					_, err := measure(watchdog(t), tr, w, cfg)
					if !errors.Is(err, codec.ErrIntegrity) {
						t.Fatalf("got error %v, want one that wraps %q", err, codec.ErrIntegrity)
					}
					t.Logf("reported: %v", err)
				})
			}
		}
	}
}

func TestBadFlagsAreRejected(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"a size below the sequence number is refused", []string{"--size=4"}, "--size 4"},
		{"a size above the maximum is refused", []string{"--size=200000000"}, "--size 200000000"},
		{"an impossible size in a sweep is refused", []string{"--sizes=64,4,512"}, "--sizes: size 4"},
		{"a size that is not a number is refused", []string{"--sizes=64,big"}, `"big" is not a size`},
		{"--size and --sizes together are refused", []string{"--size=64", "--sizes=8,64"}, "give one of them"},
		{"a slot count that is not a power of two is refused", []string{"--slots=1000"}, "--slots 1000"},
		{"a zero duration is refused", []string{"--duration=0s"}, "--duration"},
		{"a negative warm-up is refused", []string{"--warmup=-1s"}, "--warmup"},
		{"zero repetitions are refused", []string{"--reps=0"}, "--reps 0"},
		{"a zero rate is refused", []string{"--rate=0"}, "--rate 0"},
		{"a rate that is not a number is refused", []string{"--rate=NaN"}, "--rate NaN"},
		{"a rate below one a second is refused", []string{"--rate=1e-300"}, "--rate 1e-300"},
		{"fixed rate without a rate is refused", []string{"--workloads=fixedrate"}, "needs --rate"},
		{"a rate for workloads without fixedrate is refused", []string{"--workloads=pingpong", "--rate=5000"}, "--rate paces the fixedrate workload, which --workloads pingpong leaves out"},
		{"one CPU for two sides is refused", []string{"--cpus=0"}, "want two CPU numbers"},
		{"a CPU this process may not use is refused", []string{"--cpus=0,999"}, "CPU 999"},
		{"an unknown transport is named", []string{"--transports=pipe,carrier-pigeon"}, `unknown transport "carrier-pigeon"`},
		{"no transport is named", []string{"--transports="}, `--transports: empty: name what to run, or leave the flag out`},
		{"no workload is named", []string{"--workloads="}, `--workloads: empty`},
		{"no size is named", []string{"--sizes= "}, `--sizes: empty`},
		{"no wait strategy is named", []string{"--wait="}, `--wait: empty`},
		{"an unknown workload is named", []string{"--workloads=latency"}, `unknown workload "latency"`},
		{"an unknown wait strategy is named", []string{"--wait=nap"}, `--wait "nap"`},
		{"a positional argument is refused", []string{"pipe"}, `unknown command "pipe"`},
		{"a positional argument to run is refused", []string{"run", "pipe"}, `unknown command "pipe"`},
		{"an undefined flag is refused", []string{"--bogus"}, "unknown flag: --bogus"},
		{"compare needs two files", []string{"compare", "a.json"}, "accepts 2 arg(s)"},
		{"plot needs --json", []string{"plot"}, `"json" not set`},
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

func TestShortRunPrintsTableAndRatios(t *testing.T) {
	for _, args := range [][]string{
		{"--duration=30ms", "--warmup=5ms", "--reps=2", "--transports=pipe,chan", "--fingerprint=false"},
		{"run", "--duration=30ms", "--warmup=5ms", "--reps=2", "--transports=pipe,chan", "--fingerprint=false"},
	} {
		var stdout, stderr bytes.Buffer
		if code := execute(args, &stdout, &stderr); code != 0 {
			t.Fatalf("%v: exit code %d; stderr:\n%s", args, code, stderr.String())
		}
		out := stdout.String()
		for _, want := range []string{"machine:", "GOMAXPROCS", "no batching", "== 64-byte messages ==", "p99.99", "min–max", "pipe vs chan:", "throughput"} {
			if !strings.Contains(out, want) {
				t.Errorf("%v: output lacks %q:\n%s", args, want, out)
			}
		}
	}
}

func TestChildRefusesABadRole(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := childMain("pigeon:throughput", &stdout, &stderr); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), `unknown transport "pigeon"`) {
		t.Errorf("stderr %q does not name the bad transport", stderr.String())
	}
}

func TestRatiosAreSpelledOut(t *testing.T) {
	cases := []struct {
		x                   float64
		better, worse, want string
	}{
		{123, "throughput", "lower throughput", "123x throughput"},
		{0.5, "throughput", "lower throughput", "2.00x lower throughput"},
		{40, "lower median RTT", "higher median RTT", "40.0x lower median RTT"},
		{0.25, "lower median RTT", "higher median RTT", "4.00x higher median RTT"},
	}
	for _, c := range cases {
		if got := report.Ratio(c.x, c.better, c.worse); got != c.want {
			t.Errorf("ratio(%v) = %q, want %q", c.x, got, c.want)
		}
	}
}

// A run whose time is up before it starts still reaches minCount
// messages: the fault tests above rely on it on a loaded machine.
func TestZeroDurationRunStillReachesTheFault(t *testing.T) {
	tr := registry["pipe"]
	for _, w := range []workload{throughput, pingpong} {
		cfg := shortConfig()
		cfg.duration, cfg.warmup = 0, 0
		cfg.minCount = faultAt + 2
		cfg.wrap = onSend(func(seq uint64, _ []byte) int {
			if seq == faultAt {
				return 2
			}
			return 1
		})
		if _, err := measure(watchdog(t), tr, w, cfg); !errors.Is(err, codec.ErrIntegrity) {
			t.Fatalf("%s: got error %v, want one that wraps %q", w, err, codec.ErrIntegrity)
		}
	}
}
