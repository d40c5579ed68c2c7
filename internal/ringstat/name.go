package ringstat

import "github.com/shmring/shmring/internal/shm"

// ShmDir is where a bare ring name lives.
const ShmDir = shm.Dir

// ErrName: a ring name that is neither a bare name nor an absolute path
// (LAYOUT.md section 1).
var ErrName = shm.ErrName

// Resolve turns a ring name into the path of its file, by the rule every
// shmring implementation follows: a bare name (no slash) is a file in
// /dev/shm, an absolute path is itself, anything else is refused.
func Resolve(name string) (string, error) { return shm.Resolve(name) }
