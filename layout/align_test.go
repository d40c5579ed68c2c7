package layout

import "testing"

// Every word used atomically sits at an offset that is a multiple of its
// size, and every counter group sits on its own padding unit, away from the
// other side's words.
func TestAtomicOffsetsAreAligned(t *testing.T) {
	words := []struct {
		name   string
		offset int
		size   int
	}{
		{"ready", ReadyOffset, 4},
		{"producer cursor", ProducerCursorOffset, 8},
		{"producer wake", ProducerWakeOffset, 4},
		{"producer sleepers", ProducerSleepersOffset, 4},
		{"producer state", ProducerStateOffset, 4},
		{"producer epoch", ProducerEpochOffset, 4},
		{"producer flags", ProducerFlagsOffset, 4},
		{"consumer cursor", ConsumerCursorOffset, 8},
		{"consumer wake", ConsumerWakeOffset, 4},
		{"consumer sleepers", ConsumerSleepersOffset, 4},
		{"consumer state", ConsumerStateOffset, 4},
		{"consumer epoch", ConsumerEpochOffset, 4},
		{"consumer flags", ConsumerFlagsOffset, 4},
		{"slot length", SlotsOffset + SlotLengthOffset, 4},
		{"MPMC tail", MPMCTailOffset, 8},
		{"MPMC head", MPMCHeadOffset, 8},
		{"MPMC data wake", MPMCDataWakeOffset, 4},
		{"MPMC data sleepers", MPMCDataSleepersOffset, 4},
		{"MPMC producer word (the count and the stream)", MPMCProducersOffset, 8},
		{"MPMC stream", MPMCStreamOffset, 4},
		{"MPMC space wake", MPMCSpaceWakeOffset, 4},
		{"MPMC space sleepers", MPMCSpaceSleepersOffset, 4},
		{"MPMC consumers", MPMCConsumersOffset, 4},
		{"MPMC entry state", MPMCEntriesOffset + EntryStateOffset, 4},
		{"MPMC entry messages", MPMCEntriesOffset + EntryMessagesOffset, 8},
		{"MPMC entry repaired", MPMCEntriesOffset + EntryRepairedOffset, 8},
		{"MPMC slot control", MPMCSlotCtrlOffset, 8},
	}
	for _, w := range words {
		if w.offset%w.size != 0 {
			t.Errorf("%s at %d is not %d-byte aligned", w.name, w.offset, w.size)
		}
	}
}

func TestUnitsAreSeparate(t *testing.T) {
	unit := func(off int) int { return off / PadUnit }
	producer := []int{ProducerCursorOffset, ProducerWakeOffset, ProducerSleepersOffset, ProducerStateOffset, ProducerEpochOffset, ProducerFlagsOffset}
	consumer := []int{ConsumerCursorOffset, ConsumerWakeOffset, ConsumerSleepersOffset, ConsumerStateOffset, ConsumerEpochOffset, ConsumerFlagsOffset}
	for _, p := range producer {
		for _, c := range consumer {
			if unit(p) == unit(c) {
				t.Errorf("producer word %d and consumer word %d share unit %d", p, c, unit(p))
			}
		}
	}
	if unit(ProducerCursorOffset) == unit(ProducerSleepersOffset) || unit(ConsumerCursorOffset) == unit(ConsumerSleepersOffset) {
		t.Error("a hot cursor shares a unit with the words the other side polls on every publish")
	}
	if HeaderSize != PadUnit || ControlOffset%PadUnit != 0 || SlotsOffset%PadUnit != 0 {
		t.Errorf("header=%d control=%d slots=%d: want whole units", HeaderSize, ControlOffset, SlotsOffset)
	}
	for _, size := range []uint32{1, 8, 64, 1000, 1 << 20} {
		if s := Stride(size); s%8 != 0 {
			t.Errorf("stride %d for size %d: slot length words would be misaligned", s, size)
		}
	}
}
