//go:build !linux

package fence

import "errors"

var errNoBarrier = errors.New("fence: membarrier is Linux only")

func registerBarrier() error { return errNoBarrier }

// Barrier is unavailable off Linux; Register reports false there, so no
// caller relies on it.
func Barrier() error { return errNoBarrier }
