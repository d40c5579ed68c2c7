package ringstat

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// ShmDir is where a bare ring name lives.
const ShmDir = "/dev/shm"

// ErrName: a ring name that is neither a bare name nor an absolute path
// (LAYOUT.md section 1).
var ErrName = errors.New("ringstat: invalid ring name")

// Resolve turns a ring name into the path of its file, by the rule every
// shmring implementation follows: a bare name (no slash) is a file in
// /dev/shm, an absolute path is itself, anything else is refused.
func Resolve(name string) (string, error) {
	switch {
	case strings.ContainsRune(name, 0):
		return "", fmt.Errorf("%w: %q holds a NUL byte", ErrName, name)
	case strings.HasPrefix(name, "/"):
		return filepath.Clean(name), nil
	case strings.Contains(name, "/"):
		return "", fmt.Errorf("%w: %q: a relative path names a different file in each working directory; give a bare name or an absolute path", ErrName, name)
	case name == "" || name == "." || name == ".." || len(name) > 255:
		return "", fmt.Errorf("%w: %q", ErrName, name)
	}
	return filepath.Join(ShmDir, name), nil
}
