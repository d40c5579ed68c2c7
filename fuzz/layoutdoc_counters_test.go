package fuzz

import (
	"testing"

	"github.com/shmring/shmring/layout"
)

// LAYOUT.md's counter block and histogram tables (section 16) agree with
// layout's offsets, and the block's fields are layout.CounterNames in order.
func TestLayoutDocCounterArea(t *testing.T) {
	doc := readLayoutDoc(t)
	block := map[string]uint64{
		"Seq": layout.CounterSeqOffset, "Owner": layout.CounterOwnerOffset, "Messages": layout.CounterMessagesOffset,
		"Bytes": layout.CounterBytesOffset, "Full": layout.CounterFullOffset, "Empty": layout.CounterEmptyOffset,
		"Sleeps": layout.CounterSleepsOffset, "Wakes": layout.CounterWakesOffset, "Skipped": layout.CounterSkippedOffset,
		"Repaired": layout.CounterRepairedOffset, "Redelivered": layout.CounterRedeliveredOffset,
		"Lapped": layout.CounterLappedOffset, "Missed": layout.CounterMissedOffset, "Evicted": layout.CounterEvictedOffset,
		"BadEntries": layout.CounterBadEntriesOffset, "reserved": layout.CounterBlockSize - 8,
	}
	hist := map[string]uint64{
		"Count": layout.HistCountOffset, "Sum": layout.HistSumOffset, "Bad": layout.HistBadOffset,
		"Zero": layout.HistZeroOffset, "Over": layout.HistOverOffset, "Owner": layout.HistOwnerOffset,
		"reserved": layout.HistOwnerOffset + 8, "Buckets": layout.HistBucketsOffset,
	}
	for _, tc := range []struct {
		table string
		want  map[string]uint64
		size  uint64
	}{{"counter-block", block, layout.CounterBlockSize}, {"histogram", hist, layout.HistSize}} {
		rows := docTable(t, doc, tc.table, "offset", "size", "type", "field", "meaning")
		next := uint64(0)
		for _, r := range rows {
			off, size := parseNum(t, tc.table, r[0]), parseNum(t, tc.table, r[1])
			if w, ok := tc.want[r[3]]; !ok || w != off {
				t.Errorf("%s table: %s at %d, layout has %d (known: %v)", tc.table, r[3], off, w, ok)
			}
			if off != next {
				t.Errorf("%s table: %s at %d, previous field ends at %d", tc.table, r[3], off, next)
			}
			next = off + size
		}
		if next != tc.size || len(rows) != len(tc.want) {
			t.Errorf("%s table: %d rows ending at %d, want %d fields and %d bytes", tc.table, len(rows), next, len(tc.want), tc.size)
		}
	}
	for i, name := range layout.CounterNames {
		r := docTable(t, doc, "counter-block", "offset", "size", "type", "field", "meaning")[2+i]
		if got := parseNum(t, "counter-block", r[0]); got != layout.CounterMessagesOffset+8*uint64(i) {
			t.Errorf("CounterNames[%d] = %q sits at %d in the table (%s)", i, name, got, r[3])
		}
	}
}
