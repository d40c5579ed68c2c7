package ringstat

import (
	"encoding/json"
	"time"
)

// Snapshot is what one ring file says at one moment. Fields a state leaves
// unknown stay zero (and are omitted from JSON): a corrupt header gives no
// geometry, a foreign version only its version number. Published, Consumed
// and Backlog, unknown, are null in JSON (PositionsKnown).
type Snapshot struct {
	Name  string `json:"name"` // as given, or the file's name in a listed directory
	Path  string `json:"path"`
	State State  `json:"state"`
	// Problem says why the state is what it is, for every state but ok and
	// idle: which value was wrong, which role is dead.
	Problem  string    `json:"problem,omitempty"`
	FileSize int64     `json:"file_size"` // the file's real size (fstat)
	Modified time.Time `json:"modified"`

	// From the header (zero when it could not be decoded).
	Version  uint32 `json:"version,omitempty"`
	Kind     string `json:"kind,omitempty"`
	SlotSize uint32 `json:"slot_size,omitempty"` // slot rings only
	Slots    uint64 `json:"slots,omitempty"`     // slot rings only
	// Records: a record ring (LAYOUT.md section 17), whose geometry is
	// Capacity, the data area's bytes, and MaxMessage, the longest message
	// it carries; SlotSize and Slots stay zero.
	Records    bool   `json:"records,omitempty"`
	Capacity   uint64 `json:"capacity,omitempty"`
	MaxMessage uint32 `json:"max_message,omitempty"`
	// Unit is what Published, Consumed, Backlog and every role's Cursor
	// and Lag count: "messages" (slot rings: one position a message) or
	// "bytes" (record rings: positions are byte offsets in the stream).
	Unit         string    `json:"unit,omitempty"`
	MaxProducers uint32    `json:"max_producers,omitempty"`
	MaxConsumers uint32    `json:"max_consumers,omitempty"` // SPSC, MPMC, MPSC
	MaxReaders   uint32    `json:"max_readers,omitempty"`   // broadcast: reader entries
	CreatorPID   uint32    `json:"creator_pid,omitempty"`
	Created      time.Time `json:"created,omitzero"`
	// CreatorAlive: a process with the creator's pid exists (pids are
	// reused and namespaced: a hint for people, and a reason for gc to
	// keep a ring, never on its own one to remove it).
	CreatorAlive bool `json:"creator_alive"`
	// OpenElsewhere, looked at only when no lock is held and the creator
	// seems gone: "yes" when another process has the file open for writing
	// or mapped writable (one that holds a Ring and no role, or a memfd
	// ring's holder; a read-only observer such as ringctl tail is not one),
	// "no" when none has, "unknown" when this process cannot see every process (it runs
	// in a PID namespace other than the first, or may not read other
	// users' descriptors: not root). Only "no" lets a ring
	// whose roles were all closed count as dead.
	OpenElsewhere string `json:"open_elsewhere,omitempty"`
	// participantElsewhere, looked at only when no lock is held and a
	// holder died: another process has the file open for writing or
	// mapped writable, as a process that holds a Ring does (a supervisor
	// that gives its roles to workers). A read-only observer (ringctl
	// tail, a monitor) is not one. "yes", "no", or "unknown" when this
	// process cannot see every process (as for OpenElsewhere).
	participantElsewhere string

	// Held: some live process holds a lock on the file (any role, or a
	// Reset in progress), by one F_OFD_GETLK over the whole file, or a
	// role is Live.
	Held bool `json:"held"`

	// Published is the producer's frontier: the producer cursor (SPSC,
	// broadcast: every position below it is published) or the MPMC Tail
	// hint (positions claimed, aborted ones included).
	Published uint64 `json:"published"`
	// Consumed is the consumers' frontier: the SPSC consumer cursor or the
	// MPMC Head hint (messages taken: released, held, or left in a Left
	// entry for redelivery); for broadcast, the slowest live attached
	// reader's cursor (the producer's with none: a dead reader's entry
	// keeps its lag, but holds nothing back and will not move on), or a
	// ring's capacity behind Published where that reader, a lossy one,
	// was lapped further (its lag keeps what it missed).
	Consumed uint64 `json:"consumed"`
	// Backlog is Published - Consumed: messages (record rings: bytes) in
	// the ring not yet consumed (broadcast: by the slowest live attached
	// reader), never more than the ring holds.
	Backlog uint64 `json:"backlog"`
	// Sequence, on a record ring, is the producer's RecSeq: the sequence
	// number its next message gets, so the messages published since the
	// ring was created or reset (a producer stopped between its RecSeq and
	// cursor stores leaves it ahead by the messages it did not publish,
	// and the producer that takes over sets it back: LAYOUT.md 17.4).
	// Slot rings count messages in Published.
	Sequence uint64 `json:"sequence,omitempty"`
	// Closed: the stream ended (the producer, or MPMC's last producer,
	// closed); Stream is MPMC's stream word in words (open, closed,
	// peer-dead).
	Closed bool   `json:"closed"`
	Stream string `json:"stream,omitempty"`
	// SampleEvery is the ring's telemetry: 0 off, else one position in
	// SampleEvery carries a latency stamp (LAYOUT.md section 16.3).
	SampleEvery uint64 `json:"sample_every,omitempty"`

	Roles []Role `json:"roles,omitempty"`

	// positions: Published, Consumed, Backlog and Sequence were read from
	// the control area. A file not read that far (truncated, not ready, a
	// header that did not decode) leaves them unknown, which is not 0.
	positions bool
	// heldKnown: the file was opened, and Held is the answer of its lock
	// probe. A file this process cannot open (another user's, mode 0600)
	// leaves it unknown, which is not "nobody holds it".
	heldKnown bool
}

// PositionsKnown reports whether Published, Consumed, Backlog and Sequence
// were read from the file; when not, they are unknown (zero in the struct,
// null in JSON), never a count of 0.
func (s *Snapshot) PositionsKnown() bool { return s.positions }

// HeldKnown reports whether Held is the answer of a lock probe of the
// file; when not (the file could not be opened), it is unknown (null in
// JSON), never "not held".
func (s *Snapshot) HeldKnown() bool { return s.heldKnown }

// MarshalJSON writes the snapshot with what it does not know null, so that
// no reader of the JSON takes a made-up 0 or false for a fact: published,
// consumed, backlog and closed when the file was not read far enough to
// know them (sequence, which is omitted when 0, is left out then), held
// when the file could not be opened, creator_alive when no header named a
// creator.
func (s Snapshot) MarshalJSON() ([]byte, error) {
	type plain Snapshot // without this method
	if s.positions && s.heldKnown && s.CreatorPID != 0 {
		return json.Marshal(plain(s))
	}
	out := struct {
		plain
		Published    *uint64 `json:"published"`
		Consumed     *uint64 `json:"consumed"`
		Backlog      *uint64 `json:"backlog"`
		Closed       *bool   `json:"closed"`
		Held         *bool   `json:"held"`
		CreatorAlive *bool   `json:"creator_alive"`
	}{plain: plain(s)}
	if s.positions {
		out.Published, out.Consumed, out.Backlog, out.Closed = &s.Published, &s.Consumed, &s.Backlog, &s.Closed
	}
	if s.heldKnown {
		out.Held = &s.Held
	}
	if s.CreatorPID != 0 {
		out.CreatorAlive = &s.CreatorAlive
	}
	return json.Marshal(out)
}

// Role is one role of the ring: the SPSC producer or consumer, an MPMC
// participant entry, the broadcast producer or a reader entry. Entries
// never taken are left out.
type Role struct {
	Role  string `json:"role"`  // "producer", "consumer" or "reader"
	Entry uint32 `json:"entry"` // index in the participant or reader table; 0 for SPSC and the broadcast producer
	// Attached: the role's state word says a holder took it and has not
	// closed it. Attached and not Live: the holder died.
	Attached bool `json:"attached"`
	// Live: a live process holds the role's lock (F_OFD_GETLK), or took
	// the role while it was looked at (a new incarnation in a third look
	// after a probe that found it between holders: only a live process
	// takes a role). Live and not Attached: a holder took it between the
	// reading of its state and the probe.
	Live bool  `json:"live"`
	lock int64 // the file byte whose lock is the role's (interpret)
	// Closed: a producer that closed its stream.
	Closed bool `json:"closed,omitempty"`
	// Left: an MPMC or MPSC consumer entry whose holder closed while it
	// held messages it had not released; the next consumer to reap it
	// delivers them. Neither attached nor dead.
	Left bool `json:"left,omitempty"`
	// PID is the pid the holder wrote into its entry (MPMC, broadcast
	// readers) or, for the SPSC roles and the broadcast producer, into its
	// counter block's Owner word (when that word names the role's current
	// epoch), for people: never used for liveness.
	PID uint32 `json:"pid,omitempty"`
	// Incarnation counts how many times the role was taken (the SPSC and
	// broadcast producers' epoch, the entries' incarnation).
	Incarnation uint32 `json:"incarnation"`
	Policy      string `json:"policy,omitempty"` // broadcast readers: lossy or lossless
	// Cursor is the role's own position, where the file has one: the SPSC
	// cursors, the broadcast producer's and each reader's.
	Cursor *uint64 `json:"cursor,omitempty"`
	// Lag is how many published messages (record rings: bytes) this role
	// has yet to consume: the SPSC consumer's (attached or not: the next
	// consumer goes on from its cursor), and each attached broadcast
	// reader's, its holder live or dead. A broadcast entry its reader
	// closed has none: nobody goes on from its cursor.
	Lag *uint64 `json:"lag,omitempty"`
	// Counters are what the file counts for this role, by name (see
	// CounterHelp): its holder's counter block (LAYOUT.md section 16.2),
	// which restarts at zero with each holder, and a broadcast reader's
	// received count from its entry.
	Counters map[string]uint64 `json:"counters,omitempty"`
	// Latency is a consumer's or reader's latency histogram, in a ring
	// with telemetry.
	Latency *Latency `json:"latency,omitempty"`
	Problem string   `json:"problem,omitempty"` // a value in this role's entry no correct peer writes
}

// CounterHelp explains every counter name a Role may carry; tools use it
// for help texts (Prometheus HELP lines).
var CounterHelp = map[string]string{
	"messages":    "messages committed (producers) or consumed (consumers, readers) by the role's holder since it took the role",
	"bytes":       "payload bytes in those messages",
	"full":        "claims that found the ring full",
	"empty":       "receives that found the ring empty",
	"sleeps":      "futex sleeps while waiting",
	"wakes":       "FUTEX_WAKE calls made for sleeping peers",
	"skipped":     "positions an MPMC consumer passed over that carry no message",
	"repaired":    "slots the role's holder repaired for peers that died",
	"redelivered": "messages an MPMC consumer got again after a consumer died holding them",
	"lapped":      "times a lossy reader was overrun by the producer",
	"missed":      "messages a lossy reader lost to the producer overrunning it",
	"evicted":     "dead lossless readers a broadcast producer stopped waiting for",
	"bad_entries": "reader entries holding values no reader writes, found by a broadcast producer",
	"received":    "messages the reader delivered since it took the entry (its entry's word, stored with its cursor)",
}

// Live reports how many roles a live process holds.
func (s *Snapshot) Live() int {
	n := 0
	for _, r := range s.Roles {
		if r.Live {
			n++
		}
	}
	return n
}

func ptr(v uint64) *uint64 { return &v }
