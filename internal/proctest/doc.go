// Package proctest runs cross-process tests by re-executing the test binary
// as a child in a registered role, the pattern of os/exec's TestMain and
// x/sys's TestPassFD. Nothing has to be built or installed: the child is the
// same binary, so `go test ./...` is enough.
//
// A package that uses it routes its TestMain through Main and registers its
// roles before that (in init or at the top of TestMain):
//
//	func TestMain(m *testing.M) {
//		proctest.Register("sleeper", sleeper) // func() int: the child's exit status
//		proctest.Main(m)
//	}
//
//	func TestWake(t *testing.T) {
//		proctest.Watchdog(t, time.Minute)       // a hang guard, never a time limit
//		c := proctest.Start(t, "sleeper", path) // the child reads proctest.Args()
//		c.Expect("ready")                       // a line the child printed on stdout
//		// ... act on the shared state ...
//		if err := c.Wait(); err != nil {        // non-zero exit: error carries stderr
//			t.Fatal(err)
//		}
//	}
//
// # The child's side
//
// The environment variable SHMRING_PROCTEST_ROLE names the role; Main runs
// that role's function instead of the tests and exits with its result. The
// arguments given to Start travel on the command line after a "--" (so any
// string survives, no encoding) and the role reads them with Args. The child
// talks to the parent by printing lines on stdout (os.Stdout is unbuffered
// in Go, so a line is visible to Child.ReadLine as soon as it is printed),
// and reads lines the parent sends with Child.WriteLine from os.Stdin.
// Whatever it writes on stderr is kept and shown if it fails.
//
// # No child outlives its test
//
//   - Start registers a cleanup that kills the child (SIGKILL) if it is
//     still running and then reaps it.
//   - Watchdog fails a test that is still running after a generous bound,
//     prints every goroutine's stack and kills that test's children, which
//     unblocks a parent waiting on them; if the test is still stuck a little
//     later, the process exits.
//   - On Linux the child gets Pdeathsig SIGKILL, so it dies with the parent
//     even if the parent is killed outright, and it exits at once if the
//     parent was already gone before that could be armed. Pdeathsig fires
//     when the creating OS thread exits, which Go threads do only when a
//     goroutine that called runtime.LockOSThread returns without unlocking:
//     do not call Start from such a goroutine.
//
// # When not to use this
//
// For anything that works between goroutines of one process: real processes
// cost milliseconds each to start. Use them where the point of the test is
// the process boundary (separate address spaces, a MAP_SHARED mapping, a
// peer that dies).
package proctest
