//go:build linux

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/proctest"
)

// TestTailPrintsTheLastMessagesAndNewOnes: with nobody consuming, tail
// shows the last -n messages still in the ring, then each new one, in each
// output format, without taking a role (the consumer role stays free for a
// child to take afterwards).
func TestTailPrintsTheLastMessagesAndNewOnes(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	for _, tc := range []struct {
		kind, format string
		line         func(pos int) string // how message pos is printed
	}{
		{"spsc", "text", func(pos int) string { return fmt.Sprintf("%d msg-%d\n", pos, pos) }},
		{"mpmc", "json", func(pos int) string {
			m := fmt.Sprintf("msg-%d", pos)
			b64, _ := json.Marshal([]byte(m)) // a quoted base64 string
			return fmt.Sprintf(`{"pos":%d,"len":%d,"data":%s}`+"\n", pos, len(m), b64)
		}},
		{"broadcast", "hex", func(pos int) string {
			m := fmt.Sprintf("msg-%d", pos)
			return fmt.Sprintf("%d (%d bytes)\n", pos, len(m))
		}},
	} {
		t.Run(tc.kind+"/"+tc.format, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "r")
			prod := startPeer(t, path, tc.kind, "producer", "create")
			tell(t, prod, "send 5")
			out, _, code := ringctl(t, "tail", path, "-n", "3", "--follow=false", "-o", tc.format)
			want := tc.line(2) + tc.line(3) + tc.line(4)
			if tc.format == "hex" {
				if code != exitOK || !strings.Contains(out, tc.line(2)) || !strings.Contains(out, "6d 73 67 2d 34") || strings.Contains(out, tc.line(1)) {
					t.Fatalf("tail -n 3 -o hex: exit %d\n%s\nwant messages 2 to 4 as hex dumps", code, out)
				}
			} else if code != exitOK || out != want {
				t.Fatalf("tail -n 3 -o %s: exit %d\n%s\nwant\n%s", tc.format, code, out, want)
			}

			// Following: the tail is open (it printed message 4) before the
			// producer sends 3 more, and stops after --count 4.
			var buf proctest.Buffer
			done := background(context.Background(), &buf, "tail", path, "-n", "1", "--count", "4", "-o", tc.format)
			eventually(t, "tail printed message 4", func() bool { return strings.Contains(buf.String(), tc.line(4)) })
			tell(t, prod, "send 3")
			if code := <-done; code != exitOK {
				t.Fatalf("tail --count 4: exit %d\n%s", code, buf.String())
			}
			for pos := 4; pos < 8; pos++ {
				if !strings.Contains(buf.String(), tc.line(pos)) {
					t.Errorf("tail following lacks message %d:\n%s", pos, buf.String())
				}
			}
			if tc.kind != "broadcast" {
				startPeer(t, path, tc.kind, "consumer", "open") // the role was never taken
			}
		})
	}
}

// TestTailAccountsForEveryPositionWhileConsumersKeepUp: a producer streams
// 3000 messages and closes while a consumer (or nobody, on broadcast) takes
// them; tail, started before the first, ends with the stream and accounts
// for every position exactly once, as a whole message with the right bytes
// or in a gap, in order.
func TestTailAccountsForEveryPositionWhileConsumersKeepUp(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	const total = 3000
	for _, kind := range []string{"spsc", "mpmc", "broadcast"} {
		t.Run(kind, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "r")
			prod := startPeer(t, path, kind, "producer", "create")
			role := "consumer"
			if kind == "broadcast" {
				role = "lossless"
			}
			cons := startPeer(t, path, kind, role, "open")
			var buf proctest.Buffer
			done := background(context.Background(), &buf, "tail", path, "-o", "json", "--interval", "1ms")
			eventually(t, "tail mapped the ring", func() bool { return mappedHere(t, path) })
			if err := cons.WriteLine("drain"); err != nil {
				t.Fatal(err)
			}
			tell(t, prod, fmt.Sprintf("send %d", total))
			tell(t, prod, "close")
			if code := <-done; code != exitOK {
				t.Fatalf("tail: exit %d\n%s", code, buf.String())
			}
			tell(t, cons, "stop")
			next, shown := uint64(0), 0
			sc := bufio.NewScanner(strings.NewReader(buf.String()))
			for sc.Scan() {
				var e tailJSON
				if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
					t.Fatalf("line %q: %v", sc.Text(), err)
				}
				if e.Pos != next {
					t.Fatalf("event at %d, want %d: %s", e.Pos, next, sc.Text())
				}
				if e.Gap {
					next += e.Count
					continue
				}
				if want := fmt.Sprintf("msg-%d", e.Pos); string(e.Data) != want || *e.Len != len(want) {
					t.Fatalf("message %d holds %q (len %d), want %q", e.Pos, e.Data, *e.Len, want)
				}
				next++
				shown++
			}
			if next != total {
				t.Fatalf("tail accounted for %d positions, want %d", next, total)
			}
			t.Logf("%s: %d of %d messages shown whole, the rest in gaps", kind, shown, total)
		})
	}
}

// mappedHere reports whether this process maps the file at path: a tail
// running in it has opened the ring and chosen where to start.
func mappedHere(t *testing.T, path string) bool {
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(string(b), path)
}

// TestTailSaysWhenTheProducerDiesAndWhenANewOneTakesOver: a following tail
// of a ring whose producer was killed went on in silence, while a reader
// would have got ErrPeerDead. It now says so on stderr, once, goes on, and
// says when a new producer takes the role over, whose messages it shows.
func TestTailSaysWhenTheProducerDiesAndWhenANewOneTakesOver(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	for _, kind := range []string{"spsc", "mpmc", "broadcast"} {
		t.Run(kind, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "r")
			prod := startPeer(t, path, kind, "producer", "create")
			tell(t, prod, "send 2")
			var buf proctest.Buffer
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := background(ctx, &buf, "tail", path, "-n", "1", "--interval", "1ms")
			eventually(t, "tail printed message 1", func() bool { return strings.Contains(buf.String(), "msg-1") })
			prod.Kill()
			eventually(t, "tail said the producer died", func() bool {
				return strings.Contains(buf.String(), "the producer") && strings.Contains(buf.String(), "died without closing")
			})
			next := startPeer(t, path, kind, "producer", "open")
			tell(t, next, "send 1")
			eventually(t, "tail said a new producer took over", func() bool { return strings.Contains(buf.String(), "a new producer took over") })
			eventually(t, "tail printed the new producer's message", func() bool { return strings.Count(buf.String(), "msg-0") == 1 })
			if n := strings.Count(buf.String(), "died without closing"); n != 1 {
				t.Errorf("the death said %d times, want once:\n%s", n, buf.String())
			}
			cancel()
			if code := <-done; code != exitOK {
				t.Errorf("tail ended with exit %d:\n%s", code, buf.String())
			}
		})
	}
}

// TestTailEndsWhenTheRingIsShrunkWhileIdle: a following tail on a ring
// nobody publishes to ends with the bad-file exit once the file is
// shrunk, as stat says truncated. It looked at the end mark only when it
// had a message to show, and followed a cut file forever; and a cut of the
// end unit's last bytes, which the end mark survives, it never saw (stat
// said truncated; the tail went on, and said nothing when the producer
// then died). (From black-box testers.)
func TestTailEndsWhenTheRingIsShrunkWhileIdle(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	for _, tc := range []struct {
		name string
		size func(full int64) int64
	}{
		{"inside the mapping's pages", func(int64) int64 { return 4096 }},
		{"the whole file", func(int64) int64 { return 0 }},
		{"the end unit's last 120 bytes, past the end mark", func(full int64) int64 { return full - 120 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, buf, done := followingTail(t)
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, tc.size(fi.Size())); err != nil {
				t.Fatal(err)
			}
			if code := <-done; code != exitBadFile || !strings.Contains(buf.String(), "truncated") {
				t.Errorf("tail of a ring shrunk under it: exit %d, want %d saying truncated:\n%s", code, exitBadFile, buf.String())
			}
		})
	}
}

// TestTailStopsWhenTheRingsNameIsGone: a following tail whose ring is
// removed, or re-created under its name, says so and stops, instead of
// following for ever a ring nobody can join (a black-box tester: it kept
// printing nothing while the new ring under the name carried messages).
func TestTailStopsWhenTheRingsNameIsGone(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	for _, recreate := range []bool{false, true} {
		t.Run(fmt.Sprintf("recreated=%v", recreate), func(t *testing.T) {
			path, buf, done := followingTail(t)
			want := "the ring was removed"
			if recreate { // made aside and renamed over: the name is never missing
				other := path + ".new"
				startPeer(t, other, "spsc", "producer", "create")
				if err := os.Rename(other, path); err != nil {
					t.Fatal(err)
				}
				want = "another file took its name"
			} else if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			select {
			case code := <-done:
				if code != exitFailed || !strings.Contains(buf.String(), want) {
					t.Errorf("tail of a ring whose name went: exit %d, want %d saying %q:\n%s", code, exitFailed, want, buf.String())
				}
			case <-time.After(30 * time.Second): // a bound on waiting, not a measure
				t.Fatalf("tail still following 30 s after its ring's name went:\n%s", buf.String())
			}
		})
	}
}

// followingTail starts a producer on a new ring that sends message 0, and
// a following tail that has printed it; done gives the tail's exit code.
// The tail is stopped when the test ends.
func followingTail(t *testing.T) (path string, buf *proctest.Buffer, done <-chan int) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "r")
	prod := startPeer(t, path, "spsc", "producer", "create")
	tell(t, prod, "send 1")
	buf = new(proctest.Buffer)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	done = background(ctx, buf, "tail", path, "-n", "1", "--interval", "1ms")
	eventually(t, "tail printed message 0", func() bool { return strings.Contains(buf.String(), "msg-0") })
	return path, buf, done
}
