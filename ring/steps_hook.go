//go:build shmring_faults

package ring

// stepHook is nil except in tests; set it before any handle is made.
var stepHook func(step)

// atStep calls the test hook.
func atStep(s step) {
	if stepHook != nil {
		stepHook(s)
	}
}

// splitCopy copies src into dst in two halves with step s between them, so
// that a process killed there leaves a half-written slot.
func splitCopy(dst, src []byte, s step) {
	half := len(src) / 2
	copy(dst[:half], src[:half])
	atStep(s)
	copy(dst[half:], src[half:])
}
