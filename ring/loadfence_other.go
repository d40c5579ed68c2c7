//go:build !amd64

package ring

import "sync/atomic"

// loadFence orders the loads before it before the loads after it. An
// acquire load does not keep earlier loads from passing it; a
// read-modify-write on a word only this goroutine uses is a full barrier.
func loadFence(w *atomic.Uint64) { w.Add(1) }
