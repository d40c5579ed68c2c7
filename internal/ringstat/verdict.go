package ringstat

import (
	"fmt"
	"strings"

	"github.com/shmring/shmring/layout"
)

// judge sets the state of a ring whose file was read whole and found sound,
// from who holds its roles (see State for the words).
func judge(s *Snapshot, kind layout.Kind) {
	var dead []string
	live := map[string]bool{}
	for _, r := range s.Roles {
		if r.Live {
			live[r.Role] = true
		}
		if r.Attached && !r.Live {
			dead = append(dead, describe(r, kind))
		}
	}
	deadNote := ""
	if len(dead) > 0 {
		deadNote = strings.Join(dead, ", ") + " died without closing"
	}
	if len(live) == 0 {
		switch {
		case deadNote != "" && s.participantElsewhere == "yes":
			// Still someone's: its creator or a supervisor keeps it to
			// give the role to a new holder, which gc must not unlink
			// from under them (a black-box tester's operator case).
			s.State, s.Problem = Idle, deadNote+"; a process has the file open for writing (it holds a Ring)"
		case deadNote != "" && s.participantElsewhere == "unknown":
			// The same, where it cannot be seen: gc in a container's PID
			// namespace removed a ring a supervisor outside kept.
			s.State, s.Problem = Idle, deadNote+"; this process cannot see every process's open files (another PID namespace, or not root): a process elsewhere may keep it for the next holder"
		case deadNote != "":
			s.State, s.Problem = Dead, deadNote
		case !s.CreatorAlive && s.OpenElsewhere == "no":
			s.State, s.Problem = Dead, fmt.Sprintf("nobody holds a role or has the file open for writing or mapped writable, and the creator (pid %d) is gone", s.CreatorPID)
		case !s.CreatorAlive && s.OpenElsewhere == "yes":
			s.State, s.Problem = Idle, fmt.Sprintf("no pid %d here, but a process has the file open for writing or mapped writable (it holds a Ring)", s.CreatorPID)
		case !s.CreatorAlive:
			s.State, s.Problem = Idle, fmt.Sprintf("no pid %d here, but this process cannot see every process's open files (another PID namespace, or not root): the creator may be elsewhere", s.CreatorPID)
		default:
			s.State = Idle
		}
		return
	}
	s.State, s.Problem = OK, deadNote
	if why := stuck(s, kind, live); why != "" {
		s.State, s.Problem = Stuck, why
	}
}

// deadHolder reports whether a role of s is attached with no live holder.
func deadHolder(s *Snapshot) bool {
	for _, r := range s.Roles {
		if r.Attached && !r.Live {
			return true
		}
	}
	return false
}

// stuck says why the live holders of a ring cannot go on by themselves, or
// "". Dead MPMC participants beside live ones of their role and dead
// broadcast readers do not count: live peers reap the first and the
// producer stops waiting for the second. When every MPMC consumer has died,
// the producers can only fill the ring (a slot a dead consumer leased
// still takes room, though counted consumed), and when every producer has,
// the consumers can only drain it: ErrPeerDead then, as SPSC. (A dead
// producer's entry that a consumer has reaped no longer reads as one; the
// stream word, peer-dead, still tells.)
func stuck(s *Snapshot, kind layout.Kind, live map[string]bool) string {
	prodDead := false
	consDead := false
	for _, r := range s.Roles {
		if r.Attached && !r.Live {
			prodDead = prodDead || r.Role == "producer"
			consDead = consDead || r.Role == "consumer"
		}
	}
	// Full: not even an empty message fits (a record ring's empty record
	// takes RecordAlign bytes, and its free bytes come in RecordAligns).
	full := s.Slots > 0 && s.Backlog >= s.Slots || s.Records && s.Backlog >= s.Capacity
	switch kind {
	case layout.KindSPSC:
		switch {
		case live["consumer"] && prodDead:
			return "the producer died without closing; the consumer will see ErrPeerDead once it has drained the ring"
		case live["producer"] && consDead:
			return "the consumer died without closing; the producer will see ErrPeerDead once the ring is full"
		case live["producer"] && !live["consumer"] && full:
			return "the ring is full and no live process consumes it"
		}
	case layout.KindMPMC, layout.KindMPSC:
		switch {
		case live["producer"] && !live["consumer"] && full:
			return "the ring is full and no live process consumes it"
		case live["producer"] && !live["consumer"] && consDead:
			return "every consumer died without closing; producers will see ErrPeerDead once the ring is full"
		case live["consumer"] && !live["producer"] && (prodDead || s.Stream == "peer-dead"):
			// Once a consumer has reaped the last dead producer's entry,
			// only the stream word says so.
			return "every producer died without closing; consumers will see ErrPeerDead once they have drained the ring"
		}
	case layout.KindBroadcast:
		if live["reader"] && !live["producer"] && prodDead {
			return "the producer died without closing; readers will see ErrPeerDead once they have read what it published"
		}
	}
	return ""
}

// describe names a role of a ring of kind for a sentence: "consumer (pid
// 42)", "reader 3 (pid 42)". Only the roles a table holds several of have
// a number: readers, and MPMC and MPSC producers and consumers.
func describe(r Role, kind layout.Kind) string {
	name := r.Role
	if r.Role == "reader" || kind == layout.KindMPMC || kind == layout.KindMPSC {
		name = fmt.Sprintf("%s %d", r.Role, r.Entry)
	}
	if r.PID != 0 {
		name += fmt.Sprintf(" (pid %d)", r.PID)
	}
	return name
}
