//go:build !shmring_faults

package ring

func atStep(step) {}

func splitCopy(dst, src []byte, _ step) { copy(dst, src) }
