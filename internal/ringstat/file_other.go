//go:build !linux

package ringstat

import "errors"

// ErrUnsupported: ring files need Linux (open-file-description locks,
// /dev/shm); elsewhere there is nothing to read.
var ErrUnsupported = errors.New("ringstat: shmring rings need Linux")

// Read says ErrUnsupported off Linux.
func Read(name string) (Snapshot, error) { return Snapshot{Name: name}, ErrUnsupported }

// ReadPath says ErrUnsupported off Linux.
func ReadPath(name, path string) (Snapshot, error) {
	return Snapshot{Name: name, Path: path}, ErrUnsupported
}

// openFiles has nothing to scan off Linux.
type openFiles struct{}

func readPath(name, path string, _ *openFiles) (Snapshot, error) { return ReadPath(name, path) }

// OpenTail says ErrUnsupported off Linux.
func OpenTail(name string, back uint64) (*Tail, error) { return nil, ErrUnsupported }

// Close does nothing off Linux.
func (t *Tail) Close() error { return nil }

// Remove says ErrUnsupported off Linux.
func Remove(path string, force bool) (bool, error) { return false, ErrUnsupported }

// Unremovable says nothing off Linux: Remove removes nothing there.
func Unremovable(path string) string { return "" }
