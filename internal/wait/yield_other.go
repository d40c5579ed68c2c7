//go:build !linux

package wait

// Off Linux every ring entry point returns ErrUnsupported (package shm says
// why); these only satisfy the compiler.

func yieldsThread() bool { return false }
func yieldThread()       {}
