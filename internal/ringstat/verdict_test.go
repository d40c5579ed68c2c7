package ringstat

import (
	"strings"
	"testing"

	"github.com/shmring/shmring/layout"
)

// TestAnMPMCRingWhoseProducersDiedIsStuckAfterTheirEntriesAreReaped: once
// a waiting consumer has reaped the last dead producer's entry, no role
// reads as dead; the stream word (peer-dead) still says every producer
// died, and the consumer gets ErrPeerDead. The ring read as ok. (From a
// black-box tester.)
func TestAnMPMCRingWhoseProducersDiedIsStuckAfterTheirEntriesAreReaped(t *testing.T) {
	for _, stream := range []string{"peer-dead", "open"} {
		s := &Snapshot{Stream: stream, Slots: 64, Roles: []Role{
			{Role: "producer", Entry: 0}, // reaped: free
			{Role: "consumer", Entry: 0, Attached: true, Live: true},
		}}
		judge(s, layout.KindMPMC)
		if stuck := s.State == Stuck && strings.Contains(s.Problem, "every producer died"); stuck != (stream == "peer-dead") {
			t.Errorf("stream %s, a live consumer, no producer: %s %q", stream, s.State, s.Problem)
		}
	}
}

// TestADeadRoleIsNamedAsItsRingHasIt: only the roles a table holds several
// of carry a number (readers, MPMC and MPSC producers and consumers); an
// SPSC role whose counter block names its pid was "producer 0 (pid 10)".
// (From a black-box tester: the README showed the SPSC line without.)
func TestADeadRoleIsNamedAsItsRingHasIt(t *testing.T) {
	for _, tc := range []struct {
		kind layout.Kind
		r    Role
		want string
	}{
		{layout.KindSPSC, Role{Role: "producer", PID: 10}, "producer (pid 10)"},
		{layout.KindSPSC, Role{Role: "consumer"}, "consumer"},
		{layout.KindBroadcast, Role{Role: "producer", PID: 10}, "producer (pid 10)"},
		{layout.KindBroadcast, Role{Role: "reader", Entry: 3, PID: 11}, "reader 3 (pid 11)"},
		{layout.KindMPMC, Role{Role: "consumer", Entry: 2, PID: 12}, "consumer 2 (pid 12)"},
		{layout.KindMPSC, Role{Role: "producer", Entry: 0}, "producer 0"},
	} {
		if got := describe(tc.r, tc.kind); got != tc.want {
			t.Errorf("%v %+v: %q, want %q", tc.kind, tc.r, got, tc.want)
		}
	}
}
