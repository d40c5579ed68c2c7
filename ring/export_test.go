package ring

import "github.com/shmring/shmring/layout"

// What the external test package ring_test (the contract suite,
// contract_test.go) shares with the internal tests, so that both use one
// name generator, one message codec and one hang bound. Test builds only;
// nothing here is API.

var (
	UniqueName    = uniqueName    // a ring name no other test, process or run uses
	EncodeMessage = encodeMessage // message number seq, len(m) bytes long
	CheckMessage  = checkMessage  // how m differs from message number seq
	LongRun       = longRun       // SHMRING_LONG=1: the long variants of stress tests
)

// RecordSize is the bytes a message of n bytes takes in a record ring, and
// MaxRecordMessage the longest message a record ring of capacity c takes.
func RecordSize(n int) int       { return int(layout.RecordSize(uint32(n))) }
func MaxRecordMessage(c int) int { return int(layout.MaxRecordMessage(uint64(c))) }

const (
	HangBound     = hangBound     // the watchdog's bound: a guard, never a time limit
	MsgHeaderSize = msgHeaderSize // the codec's shortest message
	RaceEnabled   = raceEnabled   // built with -race
)
