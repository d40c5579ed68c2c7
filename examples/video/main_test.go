//go:build linux

package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/codec"
	"github.com/shmring/shmring/internal/launch"
	"github.com/shmring/shmring/internal/proctest"
)

// TestMain lets the test binary stand in for the program when the producer
// starts itself as a reader (launch.Self runs os.Executable, the test
// binary, in the role "reader").
func TestMain(m *testing.M) {
	if role, ok := launch.Role(); ok {
		os.Exit(child(role, os.Stdout, os.Stderr))
	}
	if args, ok := os.LookupEnv(asProgramEnv); ok { // the program itself, as main runs it
		if err := run(strings.Fields(args), os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "video:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// asProgramEnv makes the test binary run the program with these arguments.
const asProgramEnv = "VIDEO_TEST_AS_PROGRAM"

// TestCtrlCEndsThePipelineWithEveryReport: a terminal's Ctrl-C signals the
// whole foreground process group. The producer stops early and closes the
// stream; the readers, in the same group, end with it and report, and the
// program exits 0: while frames flow, while the readers are still joining,
// and while the producer waits for room in a full ring (the readers
// stopped with SIGSTOP until a tick after the Ctrl-C). The readers used to
// die of the signal, their reports lost, and the program exited 1; a
// Ctrl-C during the join or the wait for room failed the run too. (From a
// black-box tester and a reviewer.)
func TestCtrlCEndsThePipelineWithEveryReport(t *testing.T) {
	for _, moment := range []string{"as the readers join", "while frames flow", "while the producer waits for room"} {
		t.Run(moment, func(t *testing.T) {
			cmd, out, errs := startProgram(t)
			kids := awaitReadersIgnoringInterrupt(t, cmd.Process.Pid)
			signalAll := func(sig syscall.Signal) {
				for _, kid := range kids {
					pid, _ := strconv.Atoi(kid)
					syscall.Kill(pid, sig)
				}
			}
			switch moment {
			case "while frames flow":
				time.Sleep(200 * time.Millisecond)
			case "while the producer waits for room":
				time.Sleep(200 * time.Millisecond)
				signalAll(syscall.SIGSTOP)
				time.Sleep(300 * time.Millisecond) // four frames of room fill: the producer waits for the encoder
			}
			if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond) // past a tick: the waiting producer sees its context end, not room
			signalAll(syscall.SIGCONT)
			if err := waitProgram(t, cmd, out, errs); err != nil {
				t.Fatalf("after Ctrl-C: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errs.String())
			}
			for _, name := range []string{"encoder", "preview"} {
				if !regexp.MustCompile(`(?m)^` + name + ` \(`).MatchString(out.String()) {
					t.Errorf("no report from the %s after Ctrl-C:\n%s", name, out.String())
				}
			}
		})
	}
}

// readerLine is a reader's summary: frames, fps, p50, p99, drops, failures.
var readerLine = regexp.MustCompile(`(?m)^(encoder|preview) \(.*\): +(\d+) frames checked in place, +([\d.]+) fps, latency p50 ([\d.]+ [nµm]?s) p99 ([\d.]+ [nµm]?s), drops (\d+) .*, integrity failures (\d+)$`)

// TestPipelineBriefly runs the producer and its two reader processes for a
// second of small frames: both readers report figures, the encoder checked
// every frame the producer made and dropped none, nobody saw a bad frame,
// and both children have exited when run returns.
func TestPipelineBriefly(t *testing.T) {
	var out bytes.Buffer
	start := time.Now()
	if err := run([]string{"-res=320x180", "-fps=100", "-duration=1s"}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	s := out.String()
	t.Logf("in %v:\n%s", time.Since(start).Round(time.Millisecond), s)
	produced := regexp.MustCompile(`(?m)^producer: (\d+) frames in `).FindStringSubmatch(s)
	if produced == nil {
		t.Fatal("no producer summary")
	}
	got := map[string][]string{}
	for _, m := range readerLine.FindAllStringSubmatch(s, -1) {
		got[m[1]] = m
	}
	for _, name := range []string{"encoder", "preview"} {
		m := got[name]
		if m == nil {
			t.Errorf("no summary from the %s", name)
			continue
		}
		if m[7] != "0" {
			t.Errorf("%s: %s integrity failures", name, m[7])
		}
		if n, _ := strconv.Atoi(m[2]); n == 0 {
			t.Errorf("%s checked no frame", name)
		}
	}
	if m := got["encoder"]; m != nil && (m[2] != produced[1] || m[6] != "0") {
		t.Errorf("encoder: %s frames checked, %s drops; want all %s frames and no drop", m[2], m[6], produced[1])
	}
	if kids := children(t); len(kids) > 0 {
		t.Errorf("child processes %v still running after run returned", kids)
	}
}

// TestPreviewAccountsForEveryFrame runs the pipeline flat out on tiny frames
// through a ring of two, so that the preview skips and is overrun all the
// time: every frame the producer made is one it checked or one of its
// drops. A frame overrun while the preview let go of it, unread, was
// counted neither.
func TestPreviewAccountsForEveryFrame(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"-res=64x64", "-fps=10000", "-duration=1s", "-frames=2"}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	s := out.String()
	produced := regexp.MustCompile(`(?m)^producer: (\d+) frames in `).FindStringSubmatch(s)
	if produced == nil {
		t.Fatalf("no producer summary:\n%s", s)
	}
	for _, m := range readerLine.FindAllStringSubmatch(s, -1) {
		checked, _ := strconv.Atoi(m[2])
		drops, _ := strconv.Atoi(m[6])
		failures, _ := strconv.Atoi(m[7])
		if want, _ := strconv.Atoi(produced[1]); checked+drops+failures != want {
			t.Errorf("%s: %d checked + %d drops + %d failures = %d, want the %d frames produced\n%s", m[1], checked, drops, failures, checked+drops+failures, want, s)
		}
	}
}

// children lists this process's child processes (proc(5): each thread's
// children file).
func children(t *testing.T) []string {
	files, err := filepath.Glob("/proc/self/task/*/children")
	if err != nil || len(files) == 0 {
		t.Skipf("no /proc/self/task/*/children here (%v): cannot list child processes", err)
	}
	var pids []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil {
			pids = append(pids, strings.Fields(string(b))...)
		}
	}
	return pids
}

func TestFrameCheckCatchesOneFlippedPixelBit(t *testing.T) {
	res := resolution{16, 4}
	b := make([]byte, res.frameSize())
	newPainter(res).paint(b, 7, func() int64 { return 1 })
	if h, err := check(b, res); err != nil || h.Seq != 7 {
		t.Fatalf("fresh frame: seq %d, err %v", h.Seq, err)
	}
	for _, i := range []int{0, widthOffset, pixelsOffset, len(b) - 1} {
		b[i] ^= 0x10
		if _, err := check(b, res); !errors.Is(err, codec.ErrIntegrity) {
			t.Errorf("byte %d flipped: err %v, want ErrIntegrity", i, err)
		}
		b[i] ^= 0x10
	}
	if _, err := check(b[:len(b)-4], res); !errors.Is(err, codec.ErrIntegrity) {
		t.Errorf("short frame: err %v, want ErrIntegrity", err)
	}
}

func TestBadFlagsAreRefused(t *testing.T) {
	for _, args := range [][]string{{"-res=8k"}, {"-res=0x10"}, {"-fps=0"}, {"-fps=NaN"}, {"-duration=0s"}, {"-frames=1"}, {"extra-arg"}} {
		if err := run(args, &bytes.Buffer{}); err == nil || strings.Contains(err.Error(), "ring") {
			t.Errorf("%v: err %v, want a flag error", args, err)
		}
	}
}

// startProgram starts the test binary as the program, for a minute of
// small frames (or as long as a -duration flag in more says), in a
// process group of its own (as a terminal's job), and kills the group
// when the test ends.
func startProgram(t *testing.T, more ...string) (*exec.Cmd, *proctest.Buffer, *proctest.Buffer) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), asProgramEnv+"=-res=320x180 -fps=50 -frames=4 -duration=60s "+strings.Join(more, " "))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out, errs proctest.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }) // whatever happens, nothing is left
	return cmd, &out, &errs
}

// waitProgram waits for the program to exit, within a hang guard.
func waitProgram(t *testing.T, cmd *exec.Cmd, out, errs *proctest.Buffer) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second): // a hang guard, not a timing
		t.Fatalf("still running 30 s after it was told to stop:\n%s\n%s", out.String(), errs.String())
	}
	return nil
}

// TestAStalledEncoderDoesNotStretchTheRun: with both readers stopped
// (SIGSTOP), the producer waits for room in a full ring only until the
// run's -duration is over, then ends the stream and says it stopped while
// the encoder held the ring; the readers report once they go on. It waited
// with no deadline, printing nothing, until they went on. (From a
// black-box tester.)
func TestAStalledEncoderDoesNotStretchTheRun(t *testing.T) {
	cmd, out, errs := startProgram(t, "-duration=1s")
	kids := awaitReadersIgnoringInterrupt(t, cmd.Process.Pid)
	if len(kids) != 2 {
		t.Fatalf("readers %v, want two", kids)
	}
	for guard := time.Now().Add(20 * time.Second); !strings.Contains(out.String(), "latency:"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(guard) { // a hang guard: the readers join at once
			t.Fatalf("the readers never joined:\n%s", out.String())
		}
	}
	for _, kid := range kids {
		pid, _ := strconv.Atoi(kid)
		syscall.Kill(pid, syscall.SIGSTOP)
	}
	stalled := regexp.MustCompile(`(?m)^producer: stopped at the end of -duration while the encoder held the ring full`)
	for guard := time.Now().Add(20 * time.Second); !stalled.MatchString(out.String()); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(guard) { // a hang guard, not a timing: the run lasts a second
			t.Fatalf("the producer did not stop at the end of its run while the readers were stopped:\n%s", out.String())
		}
	}
	for _, kid := range kids {
		pid, _ := strconv.Atoi(kid)
		syscall.Kill(pid, syscall.SIGCONT)
	}
	if err := waitProgram(t, cmd, out, errs); err != nil {
		t.Fatalf("after the readers went on: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errs.String())
	}
	if got := len(readerLine.FindAllString(out.String(), -1)); got != 2 {
		t.Errorf("%d reader reports, want 2:\n%s", got, out.String())
	}
}

// TestAReaderKilledIsReportedOnce: a reader killed mid-run fails the
// program (exit 1), with one line saying how it ended; it was said twice,
// once for the report that never came and once for its exit. (From a
// black-box tester.)
func TestAReaderKilledIsReportedOnce(t *testing.T) {
	cmd, out, errs := startProgram(t)
	kids := awaitReadersIgnoringInterrupt(t, cmd.Process.Pid)
	if len(kids) != 2 {
		t.Fatalf("readers %v, want two", kids)
	}
	time.Sleep(300 * time.Millisecond) // frames flow (or not yet: a reader that dies before it joins is reported once too)
	pid, _ := strconv.Atoi(kids[0])
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if err := syscall.Kill(cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := waitProgram(t, cmd, out, errs); err == nil {
		t.Fatalf("a reader was killed, yet the program exited 0:\n%s", out.String())
	}
	if n := strings.Count(errs.String(), "signal: killed"); n != 1 {
		t.Errorf("the killed reader is reported %d times, want once:\n%s", n, errs.String())
	}
	// The killed reader wrote nothing on stderr: no empty "stderr:" part,
	// which left a line of just ": " under it.
	if regexp.MustCompile(`stderr:\s*($|:)|(?m): $`).MatchString(errs.String()) {
		t.Errorf("the report of a reader with nothing on stderr quotes an empty stderr:\n%s", errs.String())
	}
}

// awaitReadersIgnoringInterrupt waits until the program pid has two child
// processes that ignore SIGINT (their /proc status says so): the readers,
// started and past the point where a Ctrl-C ends them, though perhaps not
// yet joined. Before the fix that never
// came; the signal is then sent after the hang guard, so the test fails on
// what the readers do, not here.
func awaitReadersIgnoringInterrupt(t *testing.T, pid int) []string {
	t.Helper()
	sigIgn := regexp.MustCompile(`(?m)^SigIgn:\s+([0-9a-f]+)$`)
	for guard := time.Now().Add(10 * time.Second); time.Now().Before(guard); time.Sleep(10 * time.Millisecond) {
		var kids []string // a child is listed under the thread that started it
		files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			kids = append(kids, strings.Fields(string(b))...)
		}
		ignoring := 0
		for _, kid := range kids {
			status, _ := os.ReadFile("/proc/" + kid + "/status")
			if m := sigIgn.FindSubmatch(status); m != nil {
				if mask, err := strconv.ParseUint(string(m[1]), 16, 64); err == nil && mask&(1<<(syscall.SIGINT-1)) != 0 {
					ignoring++
				}
			}
		}
		if ignoring == 2 {
			return kids
		}
	}
	t.Log("the readers never showed SIGINT ignored; sending Ctrl-C anyway")
	return nil
}

// TestFrameRateCountsPeriods: n frames span n-1 frame periods, for the
// producer's figure as for the readers' (a tester saw the producer say 1.0
// fps for 2 frames at -fps=0.5, and 1226 fps for one frame).
func TestFrameRateCountsPeriods(t *testing.T) {
	for _, c := range []struct {
		n    uint64
		span time.Duration
		want float64
	}{{2, 2 * time.Second, 0.5}, {31, time.Second, 30}, {1, time.Millisecond, 0}, {0, 0, 0}} {
		if got := frameRate(c.n, c.span); got != c.want {
			t.Errorf("frameRate(%d, %v) = %v, want %v", c.n, c.span, got, c.want)
		}
	}
}

// TestARunOfWholePeriodsMakesExactlyItsFrames: a run of d at r fps has
// d·r frames due before it ends, frame k at exactly k/r seconds. The
// schedule added up a period rounded to the nanosecond, and 90 periods of
// 1/30 s ended before 3 s: a 3 s run made 91 frames, and 300 ms 10. (From
// a black-box tester.)
func TestARunOfWholePeriodsMakesExactlyItsFrames(t *testing.T) {
	for _, tc := range []struct {
		fps      float64
		duration time.Duration
		want     uint64
	}{{30, 3 * time.Second, 90}, {30, 300 * time.Millisecond, 9}, {60, 10 * time.Second, 600}, {24, time.Second, 24}} {
		start := time.Unix(1000, 0)
		c := pacer{start: start, fps: tc.fps}
		n := uint64(0)
		for ; c.due().Sub(start) < tc.duration; n++ {
			c.next()
		}
		if n != tc.want {
			t.Errorf("%g fps for %v: %d frames due, want %d", tc.fps, tc.duration, n, tc.want)
		}
	}
}

// TestALateProducerDoesNotBurstToCatchUp: a frame made more than a period
// late takes the present period's place, so the frames after it keep the
// rate instead of coming back to back until the schedule is met (a tester
// saw 34.7 fps asked 30: a late first frame, then a burst).
func TestALateProducerDoesNotBurstToCatchUp(t *testing.T) {
	start := time.Unix(1000, 0)
	period := 10 * time.Millisecond
	c := pacer{start: start, fps: 100}
	if c.missed(start) || c.due() != start {
		t.Fatalf("the first frame, on time: missed, or due at %v", c.due().Sub(start))
	}
	c.next()
	if c.missed(start.Add(period + period/2)) { // half a period late: kept
		t.Fatal("half a period late counted as missed")
	}
	c.next()
	now := start.Add(55 * time.Millisecond) // frame 2 was due at 20 ms: 35 ms late
	if !c.missed(now) {
		t.Fatal("35 ms late at a 10 ms period not counted as missed")
	}
	if d := c.due(); d.After(now) || now.Sub(d) >= period {
		t.Errorf("the late frame is due at %v, want the present period's place, at most 55 ms and more than 45", d.Sub(start))
	}
	if c.skipped != 3 { // the periods at 20, 30 and 40 ms had no frame
		t.Errorf("%d periods skipped, want 3", c.skipped)
	}
	c.next()
	if d := c.due(); d.Sub(now) <= 0 {
		t.Errorf("the frame after the late one is due %v after it was made: a burst", d.Sub(now))
	}
}

// A reader that checked no frame has no latency to report: "n/a", not the
// "0 ns" an empty sample's percentiles read as (a black-box tester, with
// -duration=1ns).
func TestReaderLineOfNoFramesHasNoLatency(t *testing.T) {
	line := readerResult{Lossless: true}.line()
	if !strings.Contains(line, "latency p50 n/a p99 n/a") {
		t.Errorf("a reader of no frames says %q, want latency p50 n/a p99 n/a", line)
	}
	if got := sizeText(36); got != "36 bytes" {
		t.Errorf("sizeText(36) = %q, want 36 bytes (a 1x1 frame read 0.0 MB)", got)
	}
}
