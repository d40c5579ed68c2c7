//go:build !linux

package ring

// Off Linux the package builds, so that a program which uses rings on Linux
// compiles everywhere, but every entry point (Create, Open, OpenWith,
// Remove) returns ErrUnsupported: a ring needs futex(2) across processes,
// open-file-description locks, /dev/shm and MADV_POPULATE_WRITE. The
// functions below exist only to satisfy the compiler; none is reached.

import (
	"os"

	"github.com/edsrzf/mmap-go"
)

func supported() error { return ErrUnsupported }

type roleLock struct{ f *os.File }

func lockRole(*os.File, int64) (roleLock, error)     { return roleLock{}, ErrUnsupported }
func (roleLock) release() error                      { return nil }
func roleHeld(*os.File, int64) (bool, error)         { return false, ErrUnsupported }
func allocate(*os.File, int64) error                 { return ErrUnsupported }
func populate([]byte) error                          { return ErrUnsupported }
func createRingFile(string) (*os.File, error)        { return nil, ErrUnsupported }
func openRingFile(string, string) (*os.File, error)  { return nil, ErrUnsupported }
func checkTrust(*os.File, string, OpenOptions) error { return ErrUnsupported }
func mapSize(*os.File, uint64) (uint64, error)       { return 0, ErrUnsupported }
func removeFile(string) error                        { return ErrUnsupported }
func yieldsThread() bool                             { return false }
func yieldThread()                                   {}
func (r *Ring) retire(mmap.MMap) error               { return ErrUnsupported }
func (r *Ring) unmapWhenGarbage(mmap.MMap)           {}
