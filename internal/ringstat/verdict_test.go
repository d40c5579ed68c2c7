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
