//go:build !linux

package shm

import (
	"net"
	"os"
)

// Supported is false: a ring needs Linux (see the package comment). The
// functions below only satisfy the compiler; callers check Supported.
const Supported = false

func Create(string, Spec) (*File, error)             { return nil, ErrUnsupported }
func CreateMemfd(string, Spec) (*File, error)        { return nil, ErrUnsupported }
func OpenFD(*os.File, Trust) (*File, error)          { return nil, ErrUnsupported }
func SendFD(*net.UnixConn, []byte, *os.File) error   { return ErrUnsupported }
func RecvFD(*net.UnixConn, []byte) (*os.File, error) { return nil, ErrUnsupported }
func (*File) Handout() *os.File                      { return nil }
func (*File) Dup() (*os.File, error)                 { return nil, ErrUnsupported }
func Open(string, Trust) (*File, error)              { return nil, ErrUnsupported }
func Remove(string) error                            { return ErrUnsupported }
func (*File) MapLen(uint64) (int, error)             { return 0, ErrUnsupported }
func (*File) Map(int) error                          { return ErrUnsupported }
func (*File) Lock(int64) (Lock, error)               { return Lock{}, ErrUnsupported }
func (*File) Held(int64) (bool, error)               { return false, ErrUnsupported }
func (*File) unmap(bool) error                       { return ErrUnsupported }
func ProcessAlive(uint32) bool                       { return true }
