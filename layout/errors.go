package layout

import "errors"

// Errors from Decode, in the order it checks. Each names one way a header
// read from untrusted bytes can be wrong.
var (
	// ErrShort: fewer bytes than a header.
	ErrShort = errors.New("layout: file shorter than a ring header")
	// ErrMagic: the file does not start with Magic; it is not a ring.
	ErrMagic = errors.New("layout: bad magic, not a shmring file")
	// ErrVersion: a ring file of a layout version this code does not read.
	ErrVersion = errors.New("layout: unsupported layout version")
	// ErrGeometry: sizes and offsets that do not add up.
	ErrGeometry = errors.New("layout: inconsistent geometry")
	// ErrChecksum: the immutable fields do not match their checksum.
	ErrChecksum = errors.New("layout: header checksum mismatch")
	// ErrNotReady: the creator has not finished the file (ready word 0).
	ErrNotReady = errors.New("layout: ring not ready")
	// ErrReadyWord: the ready word holds neither 0 nor ReadyValue.
	ErrReadyWord = errors.New("layout: corrupt ready word")
)
