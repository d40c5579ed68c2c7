//go:build !shmring_faults

package ring

import "testing"

// stepHooks: this test binary has the fault-injection hooks.
const stepHooks = false

// requireStepHook skips a test that kills processes at engine steps: the
// hooks are compiled in only with the shmring_faults build tag.
func requireStepHook(t testing.TB) {
	t.Helper()
	t.Skip("needs the fault-injection hooks: go test -tags shmring_faults ./ring/ (.ci/run does)")
}

// setStepHook has no hook to set: a child that gets here anyway runs on
// unkilled, which its own checks report ("without the hook killing it").
func setStepHook(func(step)) {}
