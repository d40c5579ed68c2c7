//go:build linux

package main

// A fault breaks one message on purpose (tests only: no flag sets it).
// Senders know flip and flipfrom (a byte changed after the checksum), dup (sent twice)
// and skip (a sequence number never sent); receivers drop (a message
// received and not counted) and redo (counted twice).
type fault struct {
	Kind string `json:"kind,omitempty"`
	At   uint64 `json:"at,omitempty"` // the worker's n-th message, from 0
}

// due reports whether a sender must go on to message n whatever its clock
// says: a fault not yet reached. A loaded machine may otherwise end a short
// run before the fault, and a test that injects one would pass for nothing.
func (f fault) due(n uint64) bool { return f.Kind != "" && n <= f.At }

// copies says how many times message n goes through when f applies:
// 0 (skip, drop), 1, or 2 (dup, redo).
func (f fault) copies(n uint64) int {
	if f.At != n {
		return 1
	}
	switch f.Kind {
	case "skip", "drop":
		return 0
	case "dup", "redo":
		return 2
	}
	return 1
}

// flip corrupts msg if f says so for message n: flip hits message At,
// flipfrom every message from At on (a lossy reader may be lapped past any
// one message, never past all).
func (f fault) flip(n uint64, msg []byte) {
	if f.Kind == "flip" && f.At == n || f.Kind == "flipfrom" && n >= f.At {
		msg[len(msg)-1] ^= 0x20
	}
}
