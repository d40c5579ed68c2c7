package ring

// step names a point inside a claim, commit, receive or release of the
// MPMC and Broadcast engines, a broadcast reader's join, or Ring.Close. Tests set stepHook in a child process and
// kill it with SIGKILL at exactly that point, to prove that a process dying
// at any instruction boundary that matters leaves a ring its peers repair.
//
// The hook exists only in builds with the shmring_faults tag (the kill
// tests need it: go test -tags shmring_faults ./ring/); elsewhere atStep
// is an empty function the compiler removes, and copies are not split.
type step int

const (
	stepBeforeClaim   step = iota // producer: free slot seen, claim not yet stamped
	stepAfterClaim                // producer: claim stamped with the owner
	stepMidPayload                // producer: half the payload written
	stepBeforePublish             // producer: payload and length written, not published
	stepAfterPublish              // producer: published, sleepers not yet checked or woken
	stepSleepingFull              // producer: announced as a sleeper, about to sleep on a full ring
	stepBeforeReceive             // consumer: published slot seen, lease not yet stamped
	stepAfterReceive              // consumer: lease stamped with the owner
	stepMidRead                   // consumer: message being read
	stepBeforeRelease             // consumer: read, not released
	stepAfterRelease              // consumer (broadcast reader): released (its cursor stored), sleepers not yet checked or woken
	stepSleepingEmpty             // consumer: announced as a sleeper, about to sleep on an empty ring
	stepJoining                   // broadcast reader: the cursor P0 loaded, the entry not yet visible
	stepUnmapping                 // Ring.Close: every handle closed, the ring not yet unmapped
	stepBetweenFrees              // consumer: the first slot of a leased batch freed, the next not yet
	stepLeaving                   // MPMC producer: closing, about to leave its entry
	stepJoinCounted               // MPMC join: counted in its side, the entry not yet Attached
	stepLeaveFreed                // MPMC leave: the entry stored Free, not yet uncounted
	stepReapFreed                 // MPMC reap: the dead or left entry stored Free, not yet uncounted
	numSteps
)

func (s step) String() string {
	return [...]string{"before-claim", "after-claim", "mid-payload", "before-publish", "after-publish",
		"sleeping-full", "before-receive", "after-receive", "mid-read", "before-release", "after-release",
		"sleeping-empty", "joining", "unmapping", "between-frees", "leaving",
		"join-counted", "leave-freed", "reap-freed"}[s]
}
