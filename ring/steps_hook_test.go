//go:build shmring_faults

package ring

import "testing"

// stepHooks: this test binary has the fault-injection hooks.
const stepHooks = true

// requireStepHook: this build has the fault-injection hooks (steps.go).
func requireStepHook(testing.TB) {}

// setStepHook installs f as the hook atStep calls.
func setStepHook(f func(step)) { stepHook = f }
