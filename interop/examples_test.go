package interop

// The C Makefile builds both libraries and the examples, and the C and
// Python examples work against Go rings as their comments say.

import (
	"context"
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/ring"
)

var lines = []string{"hello", "from", "the other side"}

func TestMakefileBuildsLibrariesAndExamples(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	out := buildExamples(t)
	for _, f := range []string{"libshmring.a", "libshmring.so", "producer", "consumer", "reader"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("make did not build %s: %v", f, err)
		}
	}
}

// TestTheSharedLibraryExportsOnlyTheHeadersFunctions: libshmring.so's
// ABI is what shmring.h declares; the shmring__ internals stay inside (a
// black-box tester found 29 of them exported).
func TestTheSharedLibraryExportsOnlyTheHeadersFunctions(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	f, err := elf.Open(filepath.Join(buildExamples(t), "libshmring.so"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.DynamicSymbols()
	if err != nil {
		t.Fatal(err)
	}
	header, err := os.ReadFile(filepath.Join(repoRoot(t), "c", "shmring.h"))
	if err != nil {
		t.Fatal(err)
	}
	exported := 0
	for _, s := range syms {
		if s.Section == elf.SHN_UNDEF || elf.ST_TYPE(s.Info) != elf.STT_FUNC {
			continue // what the library uses, not what it offers
		}
		exported++
		if !strings.HasPrefix(s.Name, "shmring_") || strings.HasPrefix(s.Name, "shmring__") || !strings.Contains(string(header), s.Name+"(") {
			t.Errorf("libshmring.so exports %s, which shmring.h does not declare", s.Name)
		}
	}
	if exported == 0 {
		t.Fatal("libshmring.so exports no function")
	}
}

func buildExamples(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatalf("the C examples are built with make, which is missing: %v", err)
	}
	out := t.TempDir()
	cmd := exec.Command("make", "-C", filepath.Join(repoRoot(t), "c"), "OUT="+out, "CC="+compiler(t))
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make: %v\n%s", err, msg)
	}
	return out
}

// drain receives every message of the ring's stream until it closes.
func drain(t *testing.T, name string) []string {
	t.Helper()
	r, err := ring.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c, err := r.Consumer()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	buf := make([]byte, r.SlotSize())
	for {
		n, err := c.Recv(context.Background(), buf)
		if errors.Is(err, ring.ErrClosed) {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(buf[:n]))
	}
}

// example is the command that runs an example program with stdin.
func example(t *testing.T, bin string, args []string, env []string, stdin string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	return cmd
}

func TestExamplesAgainstGoRings(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	out := buildExamples(t)
	py := []string{"PYTHONPATH=" + filepath.Join(repoRoot(t), "python"), "PYTHONDONTWRITEBYTECODE=1"}
	pyExample := func(name string) string { return filepath.Join(repoRoot(t), "python", "examples", name) }
	ctx := context.Background()

	for _, tc := range []struct{ name, bin, script string }{
		{"c producer", filepath.Join(out, "producer"), ""},
		{"python producer", python(t), pyExample("producer.py")},
	} {
		t.Run(tc.name+" to a Go consumer", func(t *testing.T) {
			name := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 8})
			args := []string{name}
			if tc.script != "" {
				args = []string{tc.script, name}
			}
			cmd := example(t, tc.bin, args, py, strings.Join(lines, "\n")+"\n")
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%v\n%s", err, msg)
			}
			if got := drain(t, name); !slices.Equal(got, lines) {
				t.Fatalf("got %q, want %q", got, lines)
			}
		})
		// A line longer than the slot is refused, never cut: the
		// program fails saying so, and the stream ends after the lines
		// before it.
		t.Run(tc.name+" refuses a line longer than the slot", func(t *testing.T) {
			name := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 8})
			args := []string{name}
			if tc.script != "" {
				args = []string{tc.script, name}
			}
			cmd := example(t, tc.bin, args, py, "before\n"+strings.Repeat("x", 65)+"\nafter\n")
			msg, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(msg), "65") {
				t.Fatalf("a 65-byte line into 64-byte slots: exit %v, output %q; want a failure naming the length", err, msg)
			}
			if got, want := drain(t, name), []string{"before"}; !slices.Equal(got, want) {
				t.Fatalf("got %q, want %q", got, want)
			}
		})
	}

	for _, tc := range []struct {
		name, bin, script string
		kind              ring.Kind
	}{
		{"c consumer", filepath.Join(out, "consumer"), "", ring.SPSC},
		{"python consumer", python(t), pyExample("consumer.py"), ring.SPSC},
		{"c reader", filepath.Join(out, "reader"), "", ring.Broadcast},
		{"python reader", python(t), pyExample("reader.py"), ring.Broadcast},
	} {
		// A line longer than 64 KiB in slots of 128 KiB: the C reader
		// printed nothing past its 64 KiB buffer and failed.
		sent := append(slices.Clone(lines), strings.Repeat("y", 70000))
		t.Run("Go producer to "+tc.name, func(t *testing.T) {
			o := ring.Options{Kind: tc.kind, SlotSize: 1 << 17, Slots: 8}
			if tc.kind == ring.Broadcast {
				o.MaxReaders = 2
			}
			name := newRing(t, o)
			p := goProducer(t, name)
			for _, l := range sent { // the ring holds them all: the example starts from the oldest
				if err := p.Send(ctx, []byte(l)); err != nil {
					t.Fatal(err)
				}
			}
			p.Close()
			args := []string{name}
			if tc.script != "" {
				args = []string{tc.script, name}
			}
			got, err := example(t, tc.bin, args, py, "").Output()
			if err != nil {
				t.Fatalf("%v", err)
			}
			if want := strings.Join(sent, "\n") + "\n"; string(got) != want {
				t.Fatalf("printed %d bytes, want %d: %.200q", len(got), len(want), got)
			}
		})
	}
}
