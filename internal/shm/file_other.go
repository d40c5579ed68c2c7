//go:build !linux

package shm

import "os"

// Supported is false: a ring needs Linux (see the package comment). The
// functions below only satisfy the compiler; callers check Supported.
const Supported = false

func Create(string, uint64, os.FileMode, int) (*File, error) { return nil, ErrUnsupported }
func Open(string, Trust) (*File, error)                      { return nil, ErrUnsupported }
func Remove(string) error                                    { return ErrUnsupported }
func (*File) MapLen(uint64) (int, error)                     { return 0, ErrUnsupported }
func (*File) Map(int) error                                  { return ErrUnsupported }
func (*File) Lock(int64) (Lock, error)                       { return Lock{}, ErrUnsupported }
func (*File) Held(int64) (bool, error)                       { return false, ErrUnsupported }
func (*File) unmap(bool) error                               { return ErrUnsupported }
