package fuzz

import (
	"strings"
	"testing"

	"github.com/shmring/shmring/layout"
)

// TestLayoutDocMPMCTables holds section 13 of LAYOUT.md to package layout:
// the control area's units and offsets, the participant entry, the slot
// header and the numbers the text states.
func TestLayoutDocMPMCTables(t *testing.T) {
	doc := readLayoutDoc(t)
	widths := map[string]uint64{"u32": 4, "u64": 8}
	check := func(table, field string, off uint64, typ string, want span) {
		t.Helper()
		if off != want.off || widths[typ] != want.size {
			t.Errorf("table %s: %s at %d (%s), layout says %d (%d bytes)", table, field, off, typ, want.off, want.size)
		}
	}
	control := map[string]span{
		"Tail":          {layout.MPMCTailOffset, 8},
		"Head":          {layout.MPMCHeadOffset, 8},
		"DataWake":      {layout.MPMCDataWakeOffset, 4},
		"DataSleepers":  {layout.MPMCDataSleepersOffset, 4},
		"Producers":     {layout.MPMCProducersOffset, 4},
		"Stream":        {layout.MPMCStreamOffset, 4},
		"SpaceWake":     {layout.MPMCSpaceWakeOffset, 4},
		"SpaceSleepers": {layout.MPMCSpaceSleepersOffset, 4},
		"Consumers":     {layout.MPMCConsumersOffset, 4},
	}
	seen := 0
	for _, r := range docTable(t, doc, "mpmc-control", "unit", "offset", "field", "type", "meaning") {
		if r[2] == "entries" {
			if !strings.HasPrefix(r[0], "4") || layout.MPMCEntriesOffset != layout.ControlOffset+4*layout.PadUnit {
				t.Errorf("mpmc-control table: entries at unit %q, layout says offset %d", r[0], layout.MPMCEntriesOffset)
			}
			continue
		}
		want, ok := control[r[2]]
		if !ok {
			t.Errorf("mpmc-control table: %q is not a layout field", r[2])
			continue
		}
		seen++
		off := layout.ControlOffset + parseNum(t, "mpmc-control", r[0])*layout.PadUnit + parseNum(t, "mpmc-control", strings.TrimPrefix(r[1], "+"))
		check("mpmc-control", r[2], off, r[3], want)
	}
	if seen != len(control) {
		t.Errorf("mpmc-control table: %d of %d fields", seen, len(control))
	}
	entry := map[string]span{
		"State":       {layout.EntryStateOffset, 4},
		"Incarnation": {layout.EntryIncarnationOffset, 4},
		"PID":         {layout.EntryPIDOffset, 4},
		"Flags":       {layout.EntryFlagsOffset, 4},
		"Messages":    {layout.EntryMessagesOffset, 8},
		"Repaired":    {layout.EntryRepairedOffset, 8},
	}
	seen = 0
	for _, r := range docTable(t, doc, "mpmc-entry", "offset", "field", "type", "meaning") {
		want, ok := entry[r[1]]
		if !ok {
			t.Errorf("mpmc-entry table: %q is not a layout field", r[1])
			continue
		}
		seen++
		check("mpmc-entry", r[1], parseNum(t, "mpmc-entry", strings.TrimPrefix(r[0], "+")), r[2], want)
	}
	if seen != len(entry) {
		t.Errorf("mpmc-entry table: %d of %d fields", seen, len(entry))
	}
	for _, want := range []string{
		"`SlotHeaderSize` = 16, payload at +16",
		"no larger than 2^30",
		"≤ 1024 (`MaxParticipants`)",
		"ControlOffset + (4 + i)·128",
		"index·2^19 + (incarnation mod 2^19)",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("LAYOUT.md section 13 lacks %q", want)
		}
	}
	o := layout.Owner(3, 5)
	if layout.MPMCSlotHeaderSize != 16 || layout.MPMCSlotPayloadOffset != 16 || layout.MaxMPMCSlotCount != 1<<30 ||
		layout.MaxParticipants != 1024 || o != 3<<19+5 || layout.Ctrl(7, layout.SlotFull, 0) != 7<<32|2<<29 ||
		layout.EntryLockByte != 0 || layout.MPMCSlotLengthOffset != 8 {
		t.Error("the numbers section 13 states are not layout's")
	}
}
