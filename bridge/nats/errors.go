package natsbridge

import "errors"

// Errors a bridge's Run returns, usable with errors.Is. The ring's own
// sentinels (ring.ErrPeerDead, ring.ErrCorrupt, ...) come through wrapped.
var (
	// ErrRingGone: the ring file the bridge had open was removed or
	// replaced while it ran. A ring file is only a name: processes that
	// have it mapped keep working, so without this check a bridge would
	// forward a ring nobody can open any more.
	ErrRingGone = errors.New("natsbridge: ring file removed")
	// ErrNotAcked: the bridge stopped (its context ended and the drain
	// timeout passed) with messages NATS had not acknowledged (JetStream),
	// or had not taken while its connection was down (core NATS). From a
	// lossless source they stay in the ring for the next bridge, but for
	// core NATS's rest of a batch whose connection dropped mid-way: that
	// was taken from the ring (at most once), and is lost and counted as
	// Dropped.
	ErrNotAcked = errors.New("natsbridge: messages not acknowledged at shutdown")
	// ErrNotWritten: an In bridge stopped (its context ended and the drain
	// timeout passed) with messages it had received and the ring had no
	// room for. Over core NATS they are lost, and counted as dropped; over
	// JetStream they stay unacknowledged, for the next run (what was
	// written is acknowledged).
	ErrNotWritten = errors.New("natsbridge: messages received and not written at shutdown")
	// ErrConfig: options that describe no bridge (an empty subject, a
	// JetStream bridge without a stream, a ring of the wrong kind).
	ErrConfig = errors.New("natsbridge: invalid options")
)
