package ringstat

// State is a one-word verdict on a ring file. The words are a contract:
// scripts read them from ringctl's JSON.
type State string

// The states, from the healthy to the unusable.
const (
	// OK: a live process holds at least one role, and no role is left
	// attached by a holder that died.
	OK State = "ok"
	// Idle: no live process holds a role, and nothing was left attached
	// by a holder that died and the creator's process is still there, or
	// another process has the file open for writing or mapped writable
	// (Snapshot.OpenElsewhere),
	// or this process cannot tell; or a holder died and another process has
	// the file open for writing, as one that holds a Ring does.
	Idle State = "idle"
	// Stuck: a live process holds a role but cannot make progress on its
	// own: a role it depends on was left attached by a process that died,
	// or a live producer faces a full ring that no live process consumes.
	Stuck State = "stuck"
	// Dead: no live process holds a role, and either a holder died
	// without closing its role and no process has the file open for
	// writing, or the process that created the ring is gone and no process
	// has the file open for writing or mapped writable (as seen from the
	// first PID namespace):
	// the leftover of a crash, what `ringctl gc` removes.
	Dead State = "dead"
	// NotReady: the creator has not finished the file (empty, or a ready
	// word of 0); it may still be at work, or it died half-way.
	NotReady State = "not-ready"
	// Truncated: the file is shorter than its header says, or was shrunk
	// under the reader.
	Truncated State = "truncated"
	// Corrupt: a header field, a control word or an entry holds a value no
	// correct peer writes.
	Corrupt State = "corrupt"
	// ForeignVersion: a shmring file of another layout version, which this
	// code does not read.
	ForeignVersion State = "foreign-version"
	// NotARing: not a shmring file at all (no magic, not a regular file).
	NotARing State = "not-a-ring"
	// Unreadable: the file could not be opened or read (permissions).
	Unreadable State = "unreadable"
)

// Broken reports whether the state describes a file that is not a sound
// ring of this version: ringctl exits with its "bad file" status for them.
func (s State) Broken() bool {
	switch s {
	case OK, Idle, Stuck, Dead:
		return false
	}
	return true
}
