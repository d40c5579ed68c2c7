//go:build linux

package main

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/codec"
	"github.com/shmring/shmring/internal/medium"
	"github.com/shmring/shmring/layout"
)

// mixedTransports are the transports a mixed run can use (mq cannot: its
// receive wants the queue's whole message size), the record rings among
// them.
func mixedTransports(t *testing.T) []transport {
	var ts []transport
	for _, tr := range append(testTransports(t), recordTransports(t)...) {
		if tr.name() != "mq" {
			ts = append(ts, tr)
		}
	}
	return ts
}

// recordTransports are the record-ring transports, which "all" leaves out.
func recordTransports(t *testing.T) []transport {
	ts, err := parseTransports("shmring-rec,shmring-rec-zc", nil)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// The record rings carry every workload's messages, and a message
// corrupted on either way is caught, as over every other transport.
func TestRecordTransportsDeliverEveryMessageAndCatchACorruptOne(t *testing.T) {
	for _, tr := range recordTransports(t) {
		for _, w := range workloads {
			for _, size := range []int{8, 100, 64 << 10} {
				t.Run(fmt.Sprintf("%s/%s/size=%d", tr.name(), w, size), func(t *testing.T) {
					cfg := shortConfig().withSize(fixedSize(size))
					if _, err := measureDelivery(t, tr, w, cfg); err != nil {
						t.Fatal(err)
					}
					cfg.minCount = faultAt + 2
					cfg.wrap = onSend(func(seq uint64, b []byte) int {
						if seq == faultAt {
							b[len(b)-1] ^= 0x40
						}
						return 1
					})
					if _, err := measure(watchdog(t), tr, w, cfg); !errors.Is(err, codec.ErrIntegrity) {
						t.Fatalf("a flipped byte: got error %v, want one that wraps %q", err, codec.ErrIntegrity)
					}
				})
			}
		}
	}
}

func TestRecordCapacityIsAnEighthOfTheSlotRingAndCarriesTheLargestMessage(t *testing.T) {
	cases := []struct {
		size, slots, linkBytes, recordBytes, want int
	}{
		{65536, 4096, 64 << 20, 0, 8 << 20},    // 1024 slots of 64 KiB: 64 MiB / 8
		{8 << 20, 4096, 64 << 20, 0, 32 << 20}, // 8 slots of 8 MiB: 8 MiB is too small for one, 32 MiB holds two
		{64, 4096, 64 << 20, 0, 32 << 10},      // 4096 slots of 64 B
		{64, 4096, 64 << 20, 1 << 20, 1 << 20}, // --record-bytes
	}
	for _, c := range cases {
		cfg := config{size: c.size, slots: c.slots, linkBytes: c.linkBytes, recordBytes: c.recordBytes}
		if got := cfg.recordCapacity(); got != c.want {
			t.Errorf("size %d: capacity %d, want %d", c.size, got, c.want)
		}
		if got := uint64(cfg.recordCapacity()); got < 2*layout.RecordSize(uint32(c.size)) {
			t.Errorf("size %d: capacity %d holds fewer than two such records", c.size, got)
		}
	}
}

func TestMixedSizesDeliverEveryMessageWithItsOwnLength(t *testing.T) {
	for _, tr := range mixedTransports(t) {
		for _, touch := range []string{touchAll, touchEnds} {
			for _, w := range []workload{throughput, pingpong} {
				t.Run(fmt.Sprintf("%s/%s/touch=%s", tr.name(), w, touch), func(t *testing.T) {
					cfg := shortConfig().withSize(msgSize{8, 4096})
					cfg.touch = touch
					m, err := measure(watchdog(t), tr, w, cfg)
					if err != nil {
						t.Fatal(err)
					}
					if w == pingpong {
						if m.rtt.TotalCount() == 0 {
							t.Errorf("no round trip recorded")
						}
						return
					}
					if m.measured == 0 || m.bytes == 0 {
						t.Fatalf("measured=%d bytes=%d: want both positive", m.measured, m.bytes)
					}
					if mean := m.bytes / m.measured; mean < 8 || mean > 4096 {
						t.Errorf("mean length %d B of %d messages: want 8 to 4096", mean, m.measured)
					}
				})
			}
		}
	}
}

// A message one byte short in a mixed run is caught whatever the
// transport: a stream's next message starts a byte early, a ring's or a
// datagram's length is wrong.
func TestMixedRunCatchesAMessageOfTheWrongLength(t *testing.T) {
	for _, tr := range mixedTransports(t) {
		for _, touch := range []string{touchAll, touchEnds} {
			t.Run(fmt.Sprintf("%s/touch=%s", tr.name(), touch), func(t *testing.T) {
				cfg := shortConfig().withSize(msgSize{16, 4096})
				cfg.touch = touch
				cfg.minCount = faultAt + 4
				cfg.wrap = func(e *end) { e.s = &shortSender{Sender: e.s} }
				_, err := measure(watchdog(t), tr, throughput, cfg)
				if !errors.Is(err, codec.ErrIntegrity) {
					t.Fatalf("got error %v, want one that wraps %q", err, codec.ErrIntegrity)
				}
			})
		}
	}
}

// shortSender sends message faultAt one byte short.
type shortSender struct {
	medium.Sender
	sends uint64
}

func (s *shortSender) Send(msg []byte) error {
	if s.sends++; s.sends-1 == faultAt {
		msg = msg[:len(msg)-1]
	}
	return s.Sender.Send(msg)
}

func TestSizesFlagReadsMixes(t *testing.T) {
	got, err := parseSizes("64,mix:64-64k,8M,mix:8-1M")
	if err != nil {
		t.Fatal(err)
	}
	want := []msgSize{fixedSize(64), {64, 64 << 10}, fixedSize(8 << 20), {8, 1 << 20}}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for _, bad := range []string{"mix:64", "mix:64-32", "mix:4-64", "mix:64-big", "mix:64-64"} {
		if _, err := parseSizes(bad); err == nil {
			t.Errorf("--sizes %s accepted", bad)
		}
	}
}

func TestFramesAndTouchFlagsAreChecked(t *testing.T) {
	cases := []struct{ name, want string }{
		{"--touch=some", `--touch "some"`},
		{"--sizes=mix:64", `--sizes "mix:64": want LO-HI`},
	}
	for _, c := range cases {
		var stdout, stderr bytes.Buffer
		if code := execute([]string{c.name}, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%s: exit %d, stderr %q: want exit %d and %q", c.name, code, stderr.String(), exitUsage, c.want)
		}
	}
	// frames' --mix names itself alone (it said --sizes and mix:; a black-box tester).
	var stdout, stderr bytes.Buffer
	if code := execute([]string{"frames", "--mix=64"}, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), `--mix "64": want LO-HI`) || strings.Contains(stderr.String(), "--sizes") {
		t.Errorf("frames --mix=64: exit %d, stderr %q: want exit %d naming --mix alone", code, stderr.String(), exitUsage)
	}
	for _, args := range [][]string{{"frames", "--frame=4"}, {"frames", "--mix=64"}, {"frames", "--rtt=x"}, {"frames", "--reps=0"},
		{"frames", "--record-bytes=-1"}, {"frames", "--record-bytes=1000"}, {"frames", "--record-bytes=1048576"}, {"--record-bytes=64", "--size=64"}} {
		var stdout, stderr bytes.Buffer
		if code := execute(args, &stdout, &stderr); code != exitUsage {
			t.Errorf("%v: exit %d, want %d (stderr %q)", args, code, exitUsage, stderr.String())
		}
	}
}

// rowRE is a throughput row of the frames tables: transport, a rate in
// msg/s, MB/s, the time per message, the ring's memory or "-", messages.
var rowRE = regexp.MustCompile(`^\s+(\S+)\s+[\d.]+ (?:[kM] )?msg/s\s+[\d.]+\s+[\d.]+ (?:ns|µs|ms|s)\s+(?:[\d.]+ [KM]iB|-)\s+\d+$`)

// framesOutput runs a short frames command (1 MiB frames, mixed 64 B–4
// KiB, round trips of rtt) and returns what it printed.
func framesOutput(t *testing.T, rtt string) string {
	t.Helper()
	out, _ := framesRun(t, rtt)
	return out
}

// framesRun is framesOutput with what the command printed on stderr.
func framesRun(t *testing.T, rtt string) (stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	args := []string{"frames", "--duration=30ms", "--warmup=5ms", "--reps=1", "--frame=1M", "--mix=64-4k", "--rtt=" + rtt, "--link-bytes=8388608"}
	if code := execute(args, &o, &e); code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, e.String())
	}
	return o.String(), e.String()
}

func TestFramesCommandPrintsEveryTableAndRatio(t *testing.T) {
	out, progress := framesRun(t, "4k")
	t.Log(out)
	// The frames and frames-huge sections measure the same cells: each
	// progress line names its section (a black-box tester read the same
	// tests twice).
	for _, want := range []string{"measuring frames: rep 1/1: shmring throughput 1 MiB", "measuring frames-huge: rep 1/1: shmring throughput 1 MiB"} {
		if !strings.Contains(progress, want) {
			t.Errorf("progress lacks %q:\n%s", want, progress)
		}
	}
	for _, want := range []string{
		"memcpy:    Go copy of one 1 MiB frame", "the same by two copiers at once",
		"what one of two copiers at once gets", "out of the 8 frame buffers in turn into one (Recv's copy",
		"a copy out of the slot ring's footprint (",
		"== mixed: mixed 64 B–4 KiB", "== frames: 1 MiB", "== frames-huge: 1 MiB", "== fill: 1 MiB", "== rtt: 4 KiB",
		"ratio: frames 1 MiB Send/Recv (shmring):", "ratio: frames 1 MiB zero-copy (shmring-zc): the ring's own cost",
		"ratio: round trip 4 KiB (shmring): p50",
		"ratio: frames 1 MiB Send/Recv (shmring-rec):", "ratio: frames 1 MiB zero-copy (shmring-rec-zc): the ring's own cost",
		"ratio: mixed 64 B–4 KiB (log-uniform): shmring-rec ", "ratio: mixed 64 B–4 KiB (log-uniform): shmring-rec-zc ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	rows := map[string]int{} // transport: throughput rows (mixed, frames, fill)
	for _, line := range strings.Split(out, "\n") {
		if m := rowRE.FindStringSubmatch(line); m != nil {
			rows[m[1]]++
		}
	}
	// A ring that ran on huge pages (where the machine has enough free:
	// .ci/run reserves a few) has a row in that section too, and a ratio.
	huge := map[string]bool{}
	for _, m := range regexp.MustCompile(`ratio: frames \S+ \S+ with huge pages \((\S+)\)`).FindAllStringSubmatch(out, -1) {
		huge[m[1]] = true
	}
	for tr, want := range map[string]int{"shmring": 2, "shmring-zc": 3, "shmring-rec": 2, "shmring-rec-zc": 3, "pipe": 2, "unix": 2} {
		if huge[tr] {
			want++
		}
		if rows[tr] != want {
			t.Errorf("%s: %d throughput rows parse, want %d (huge pages: %v)", tr, rows[tr], want, huge[tr])
		}
	}
	// Only the huge-page section may skip (where the machine has too few
	// huge pages), and then it says so; the ratio line says none ran only
	// when none did.
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "skipped:") && !strings.Contains(line, "huge pages") {
			t.Errorf("a test was skipped: %s", line)
		}
	}
	none := strings.Contains(out, "ratio: huge pages: the frames-huge section was skipped")
	if none == (len(huge) > 0) || len(huge) < 4 && !strings.Contains(out, "skipped:") {
		t.Errorf("huge-page figures for %v, a skipped-section ratio line: %v, and the skips do not agree", huge, none)
	}
}

// With --memfd the parent's rings have no name: the child gets them as
// descriptors 3 and 4 and opens them with ring.OpenFile.
func TestMemfdRingsReachTheChildAsDescriptors(t *testing.T) {
	for _, name := range []string{"shmring", "shmring-zc", "shmring-rec", "shmring-rec-zc"} {
		for _, w := range workloads {
			t.Run(fmt.Sprintf("%s/%s", name, w), func(t *testing.T) {
				cfg := shortConfig().withSize(msgSize{8, 4096})
				cfg.memfd = true
				m, err := measureDelivery(t, registry[name], w, cfg)
				if err != nil {
					t.Fatal(err)
				}
				if m.measured == 0 && m.roundTripsTotal == 0 {
					t.Errorf("nothing measured")
				}
			})
		}
	}
}

// TestFramesMarksFiguresFromAFewEvents: a frames section whose cells rest
// on a few events (here round trips of 64 MiB in 30 ms) warns of each, as
// run does, and every ratio line quoting one says it is no measurement;
// frames printed neither, and published a round-trip ratio from one round
// trip. Large frames that come few but over the whole window are a
// measurement and are not warned of. (From a black-box tester.)
func TestFramesMarksFiguresFromAFewEvents(t *testing.T) {
	out := framesOutput(t, "64M")
	for _, tr := range []string{"shmring", "pipe", "unix"} {
		if !strings.Contains(out, "WARNING: "+tr+" pingpong recorded only ") {
			t.Errorf("no warning that %s's 64 MiB round trips are too few:\n%s", tr, out)
		}
	}
	rtt := regexp.MustCompile(`(?m)^ratio: round trip 64 MiB \(shmring\): .*$`).FindString(out)
	if !strings.Contains(rtt, "[not a measurement: ") {
		t.Errorf("the round-trip ratio from a few round trips is not marked: %q", rtt)
	}
	// 1 MiB frames for 30 ms are a few hundred, over the whole window: no
	// warning, no mark (unless the peer lagged on a busy machine, which
	// its own warning then says).
	l := regexp.MustCompile(`(?m)^ratio: frames 1 MiB Send/Recv \(shmring\): .*$`).FindString(out)
	switch warned := strings.Contains(out, "WARNING: shmring throughput"); {
	case l == "":
		t.Errorf("no frames ratio:\n%s", out)
	case !warned && strings.Contains(l, "["):
		t.Errorf("the frames ratio is marked with no warning behind it: %q", l)
	}
}

// TestFramesRatioFormats: a record ring larger than the slot ring is said
// as a multiple ("1/0.06" read as nonsense), and a ring under a KiB in
// bytes ("0.2 KiB"). (From a black-box tester.)
func TestFramesRatioFormats(t *testing.T) {
	for _, c := range []struct {
		part, whole int64
		want        string
	}{{8 << 20, 64 << 20, "1/8.00"}, {64 << 20, 64 << 20, "1/1.00"}, {1 << 30, 64 << 20, "16.00x"}} {
		if got := fraction(c.part, c.whole); got != c.want {
			t.Errorf("fraction(%d, %d) = %q, want %q", c.part, c.whole, got, c.want)
		}
	}
	for n, want := range map[int64]string{256: "256 B", 1 << 10: "1.0 KiB", 3 << 19: "1.5 MiB"} {
		if got := memSize(n); got != want {
			t.Errorf("memSize(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestRatioLinesSayWhatTheirCellsRestOn: a ratio quoting a cell of a few
// messages says it is no measurement, one quoting a cell measured over a
// lagging window says it is unreliable, and one of sound cells says
// nothing; the lag mark was missing (a reviewer).
func TestRatioLinesSayWhatTheirCellsRestOn(t *testing.T) {
	cfg := config{duration: 500 * time.Millisecond}
	mk := func(measured uint64, elapsed time.Duration) *cell {
		c := &cell{tr: registry["pipe"], workload: throughput}
		c.reps = []*measurement{{measured: measured, elapsed: elapsed}}
		return c
	}
	sound := mk(50000, 490*time.Millisecond)
	for _, tc := range []struct {
		name  string
		cells []*cell
		want  string
	}{
		{"sound", []*cell{sound}, ""},
		{"a few messages", []*cell{sound, mk(20, 490*time.Millisecond)}, " [not a measurement: "},
		{"a lagging window", []*cell{mk(50000, 100*time.Millisecond), sound}, " [unreliable: "},
	} {
		got := notMeasured(cfg, tc.cells...)
		if tc.want == "" && got != "" || tc.want != "" && !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
