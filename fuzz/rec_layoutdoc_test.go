package fuzz

import (
	"strings"
	"testing"

	"github.com/shmring/shmring/layout"
)

// TestLayoutDocRecordTables holds section 17 of LAYOUT.md to package
// layout: the record constants, the producer's record words and the record
// header.
func TestLayoutDocRecordTables(t *testing.T) {
	doc := readLayoutDoc(t)
	want := map[string]uint64{
		"HeaderFlagRecords": uint64(layout.HeaderFlagRecords),
		"HeaderFlagsMask":   uint64(layout.HeaderFlagsMask),
		"RecordHeaderSize":  layout.RecordHeaderSize,
		"RecordAlign":       layout.RecordAlign,
		"RecordMessage":     uint64(layout.RecordMessage),
		"RecordWrapped":     uint64(layout.RecordWrapped),
		"MinRecordCapacity": layout.MinRecordCapacity,
		"MaxRecordCapacity": layout.MaxRecordCapacity,
		"RecSeqOffset":      layout.RecSeqOffset,
		"RecTailOffset":     layout.RecTailOffset,
	}
	seen := map[string]bool{}
	for _, r := range docTable(t, doc, "record-constants", "name", "value", "meaning") {
		w, ok := want[r[0]]
		if !ok {
			t.Errorf("record-constants table: %s is not a layout constant", r[0])
			continue
		}
		seen[r[0]] = true
		if got := parseNum(t, "record-constants", r[1]); got != w {
			t.Errorf("record-constants table: %s = %d, layout says %d", r[0], got, w)
		}
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("record-constants table: %s missing", name)
		}
	}
	checkFields(t, "record-control", docTable(t, doc, "record-control", "offset", "size", "type", "field", "meaning"), map[string]span{
		"RecSeq":  {layout.RecSeqOffset, 8},
		"RecTail": {layout.RecTailOffset, 8},
	})
	checkFields(t, "record", docTable(t, doc, "record", "offset", "size", "type", "field", "meaning"), map[string]span{
		"Length":  {layout.RecordLengthOffset, 4},
		"Type":    {layout.RecordTypeOffset, 4},
		"Seq":     {layout.RecordSeqOffset, 8},
		"Payload": {layout.RecordPayload, 0},
	})
	// RecSeq lies in the producer's cursor unit, after the cursor, in both
	// kinds that carry records; RecTail in the broadcast producer's cold
	// unit, after its last word.
	for _, cursor := range []uint64{layout.ProducerCursorOffset, layout.BcastCursorOffset} {
		if off := uint64(layout.RecSeqOffset); off/layout.PadUnit != cursor/layout.PadUnit || off <= cursor || off%8 != 0 {
			t.Errorf("RecSeq at %d is outside the producer's cursor unit (cursor at %d) or misaligned", off, cursor)
		}
	}
	if off := uint64(layout.RecTailOffset); off/layout.PadUnit != layout.BcastWakeOffset/layout.PadUnit || off < layout.BcastGateOffset+8 || off%8 != 0 {
		t.Errorf("RecTail at %d is outside the broadcast producer's cold unit, over BcastGate, or misaligned", off)
	}
	for _, s := range []string{"RecordSize(n) = round_up(16 + n, 16)", "MaxMessage ≤ min(Capacity/2, MaxSlotSize)"} {
		if !strings.Contains(doc, s) {
			t.Errorf("LAYOUT.md section 17 lacks %q", s)
		}
	}
	if layout.RecordSize(0) != 16 || layout.RecordSize(17) != 48 || layout.MaxRecordMessage(1<<12) != 1<<11 || layout.RecordBody(17) != 32 {
		t.Error("the rules section 17 states are not layout's")
	}
}
