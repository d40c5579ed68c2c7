package interop

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/ring"
)

// hangBound arms every test that could hang: a guard, never a time limit.
const hangBound = 3 * time.Minute

// buildDir holds the C programs, built once per test binary.
var buildDir string

func TestMain(m *testing.M) {
	registerGoRoles()
	if proctest.IsChild() {
		proctest.Main(m)
	}
	d, err := os.MkdirTemp("", "shmring-interop-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buildDir = d
	code := proctest.Run(m)
	os.RemoveAll(d)
	os.Exit(code)
}

// repoRoot is the repository's top directory (this package's parent).
func repoRoot(t testing.TB) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test's source")
	}
	return filepath.Dir(filepath.Dir(file))
}

// compiler is $CC or cc. Missing, it fails the test: the interop tests are
// part of `go test ./...` and CI must not pass without them.
func compiler(t testing.TB) string {
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "cc"
	}
	path, err := exec.LookPath(cc)
	if err != nil {
		t.Fatalf("the C interop tests need a C compiler: %q not found (%v); install one (Debian: apt-get install gcc) or set CC", cc, err)
	}
	return path
}

// python is python3 from the PATH, or the test fails.
// pythonCmd is python3 with args, the package on its path.
func pythonCmd(t testing.TB, args ...string) *exec.Cmd {
	cmd := exec.Command(python(t), args...)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+filepath.Join(repoRoot(t), "python"), "PYTHONDONTWRITEBYTECODE=1")
	return cmd
}

func python(t testing.TB) string {
	path, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("the Python interop tests need python3 on the PATH (%v)", err)
	}
	return path
}

type built struct {
	once sync.Once
	path string
	err  error
}

var interopBin, interopSanBin, hostileBin built

// cBuild compiles the library with one test program. Every C file of c/ goes
// in, so a file the Makefile forgets still gets built and tested here.
func cBuild(t testing.TB, b *built, name, main string, flags ...string) string {
	t.Helper()
	cc := compiler(t)
	b.once.Do(func() {
		root := repoRoot(t)
		srcs, _ := filepath.Glob(filepath.Join(root, "c", "*.c"))
		out := filepath.Join(buildDir, name)
		args := append([]string{"-std=c11", "-Wall", "-Wextra", "-Werror", "-o", out}, flags...)
		args = append(args, srcs...)
		args = append(args, filepath.Join(root, "c", "tests", main))
		cmd := exec.Command(cc, args...)
		if msg, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("%s %s: %v\n%s", cc, strings.Join(args, " "), err, msg)
			return
		}
		b.path = out
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// cInterop is the C side of the streams (c/tests/interop.c).
func cInterop(t testing.TB) string {
	return cBuild(t, &interopBin, "interop", "interop.c", "-O2")
}

// cHostile is the hostile peer, built with the sanitizers.
func cHostile(t testing.TB) string {
	return cBuild(t, &hostileBin, "hostile", "hostile.c", sanitized...)
}

// cInteropSanitized is c/tests/interop.c built with the sanitizers, for the
// commands whose point is undefined behaviour the plain build would hide.
func cInteropSanitized(t testing.TB) string {
	return cBuild(t, &interopSanBin, "interop-san", "interop.c", sanitized...)
}

// sanitized are the flags of a build that aborts on the first report of
// AddressSanitizer or UndefinedBehaviorSanitizer.
var sanitized = []string{"-O1", "-g", "-fno-omit-frame-pointer", "-fsanitize=address,undefined", "-fno-sanitize-recover=all"}

// start runs the language's interop program with args ("produce RING ..."):
// for Go, this test binary in the role args[0].
func start(t testing.TB, lang string, args ...string) *proctest.Child {
	t.Helper()
	return startWith(t, lang, nil, args...)
}

// startWith is start with files inherited by the child as descriptors 3,
// 4, ... (exec.Cmd.ExtraFiles).
func startWith(t testing.TB, lang string, files []*os.File, args ...string) *proctest.Child {
	t.Helper()
	if lang == "go" {
		if files != nil {
			t.Fatal("startWith: a Go child inherits no files")
		}
		return proctest.Start(t, args[0], args[1:]...)
	}
	cmd := helperCmd(t, lang, args...)
	cmd.ExtraFiles = files
	return proctest.StartCommand(t, lang+" "+args[0], cmd)
}

// helperCmd is the command of the C or Python interop helper with args.
func helperCmd(t testing.TB, lang string, args ...string) *exec.Cmd {
	t.Helper()
	switch lang {
	case "c":
		return exec.Command(cInterop(t), args...)
	case "python":
		return pythonCmd(t, append([]string{filepath.Join(repoRoot(t), "python", "tests", "interop.py")}, args...)...)
	}
	t.Fatalf("no language %q", lang)
	return nil
}

var ringSeq atomic.Int64

// newRing creates a ring with a unique name and removes it when the test
// ends. The creator's mapping is closed at once: the peers open it by name.
func newRing(t testing.TB, o ring.Options) string {
	t.Helper()
	name := fmt.Sprintf("shmring-test-interop-%d-%d", os.Getpid(), ringSeq.Add(1))
	r, err := ring.Create(name, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ring.Remove(name) })
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	return name
}

// scale is the stream length: at least 10^6 messages, ten times that with
// SHMRING_LONG=1.
func scale(n int) int {
	if os.Getenv("SHMRING_LONG") == "1" {
		return 10 * n
	}
	return n
}

// expectPrefix reads lines until one starts with prefix and returns it;
// other lines (a "peerdead" notice, say) are collected into seen.
func expectPrefix(t testing.TB, c *proctest.Child, prefix string, seen map[string]int) string {
	t.Helper()
	for {
		line, err := c.ReadLine()
		if err != nil {
			t.Fatalf("waiting for %q: %v", prefix, err)
		}
		if strings.HasPrefix(line, prefix) {
			return line
		}
		if seen != nil {
			seen[line]++
			continue
		}
		t.Fatalf("got line %q, want %q...", line, prefix)
	}
}

// goProducer opens the ring name in this process and takes its producer
// role; both are let go of when the test ends.
func goProducer(t testing.TB, name string) *ring.Producer {
	t.Helper()
	r, err := ring.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	p, err := r.Producer()
	if err != nil {
		t.Fatal(err)
	}
	return p
}
