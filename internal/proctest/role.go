package proctest

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/shmring/shmring/internal/launch"
)

// Environment variables that turn a re-executed test binary into a child.
const (
	// RoleEnv names the role the child runs; its presence is what makes
	// Main run a role instead of the tests.
	RoleEnv = "SHMRING_PROCTEST_ROLE"
	// parentEnv carries the parent's pid so that a child whose parent died
	// before Pdeathsig was armed can notice and exit.
	parentEnv = launch.ParentEnv
)

// argsMark separates the test binary's own flags from the role's arguments.
const argsMark = "--"

var (
	rolesMu sync.Mutex
	roles   = map[string]func() int{}

	// mainCalled records that TestMain went through Main: without it the
	// re-executed child would run the (empty) test set and exit 0, and a
	// parent would take that for success.
	mainCalled atomic.Bool
)

// Register makes fn runnable as the child role name. fn's result is the
// child's exit status. Call it before Main, from init or TestMain; it panics
// on an empty or duplicate name because either is a bug in the test.
func Register(name string, fn func() int) {
	if name == "" || fn == nil {
		panic("proctest: Register needs a name and a function")
	}
	rolesMu.Lock()
	defer rolesMu.Unlock()
	if _, dup := roles[name]; dup {
		panic(fmt.Sprintf("proctest: role %q registered twice", name))
	}
	roles[name] = fn
}

// Main is called from TestMain in place of os.Exit(m.Run()). In a child
// (RoleEnv set) it runs the role and exits with its result; otherwise it
// runs the tests.
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run is Main for a TestMain that has cleaning up to do after the tests: in
// a child it runs the role and exits, as Main does; in the parent it runs
// the tests and returns their exit status.
func Run(m *testing.M) int {
	mainCalled.Store(true)
	if role, ok := os.LookupEnv(RoleEnv); ok {
		os.Exit(runRole(role))
	}
	return m.Run()
}

// Args returns the arguments the parent passed to Start, in a child; nil in
// the parent.
func Args() []string {
	for i, a := range os.Args {
		if a == argsMark {
			return os.Args[i+1:]
		}
	}
	return nil
}

// IsChild reports whether this process is a child started by Start.
func IsChild() bool {
	_, ok := os.LookupEnv(RoleEnv)
	return ok
}

func runRole(role string) int {
	// Unset so that a child may itself Start children, and so that nothing
	// it spawns mistakes itself for a proctest child.
	_ = os.Unsetenv(RoleEnv)
	if !launch.ParentAlive() {
		fmt.Fprintf(os.Stderr, "proctest: parent %s is gone, role %q not run\n", os.Getenv(parentEnv), role)
		return 3
	}
	_ = os.Unsetenv(parentEnv)
	rolesMu.Lock()
	fn := roles[role]
	rolesMu.Unlock()
	if fn == nil {
		fmt.Fprintf(os.Stderr, "proctest: no role %q registered (Register it before proctest.Main)\n", role)
		return 2
	}
	return fn()
}
