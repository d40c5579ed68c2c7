//go:build linux

package interop

// The counter area's size at the C and Python openers: for each kind, with
// and without telemetry, a ring whose counter area ends exactly on an
// EndAlign boundary and one whose counter area misses it by one unit. A
// size computed one unit too small opens the second at the wrong end
// offset, one too large the first; both openers must report the counter
// area, the end unit and the file size that package layout gives.

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/layout"
	"github.com/shmring/shmring/ring"
)

func TestOpenersPutTheCounterAreaWhereLayoutDoes(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	dir := t.TempDir()
	const slots = 2
	kinds := []struct {
		o ring.Options
		p layout.Params
	}{
		{ring.Options{Kind: ring.SPSC}, layout.Params{Kind: layout.KindSPSC}},
		{ring.Options{Kind: ring.Broadcast, MaxReaders: 3}, layout.Params{Kind: layout.KindBroadcast, MaxConsumers: 3}},
		{ring.Options{Kind: ring.MPMC, MaxProducers: 3, MaxConsumers: 2},
			layout.Params{Kind: layout.KindMPMC, MaxProducers: 3, MaxConsumers: 2}},
	}
	for _, k := range kinds {
		for _, telemetry := range []bool{false, true} {
			for _, miss := range []uint64{0, layout.PadUnit} {
				o, p := k.o, k.p
				if telemetry {
					o.Telemetry = ring.Telemetry{SampleEvery: 1}
					p.Telemetry = layout.Telemetry{On: true}
				}
				// The counter area's size does not depend on the slot
				// size: take it from a ring of 1-byte slots.
				p.SlotSize, p.SlotCount = 1, slots
				ref, err := layout.NewHeaderFor(p)
				if err != nil {
					t.Fatal(err)
				}
				end := ref.StampsOffset() + 8*ref.StampCount()
				counters := (end+layout.PadUnit-1)&^(layout.PadUnit-1) - ref.CountersOffset
				// Slots so that the counter area ends at 2·EndAlign + miss.
				stride := (2*layout.EndAlign + miss - counters - ref.SlotsOffset) / slots
				o.SlotSize, o.Slots = int(stride)-int(layout.SlotHeaderSizeOf(p.Kind)), slots
				name := fmt.Sprintf("%v-telemetry=%v-miss=%d", o.Kind, telemetry, miss)
				t.Run(name, func(t *testing.T) {
					path := filepath.Join(dir, name)
					r, err := ring.Create(path, o)
					if err != nil {
						t.Fatal(err)
					}
					r.Close()
					h := headerOf(t, path)
					if wantEnd := 2*layout.EndAlign + map[bool]uint64{false: 0, true: layout.EndAlign}[miss != 0]; h.EndOffset != wantEnd {
						t.Fatalf("end unit at %d, want %d: the test is wrong", h.EndOffset, wantEnd)
					}
					want := fmt.Sprintf("ok kind=%d slots=%d flags=%d counters=%d end=%d file=%d", h.Kind, h.SlotCount,
						binary.LittleEndian.Uint32(fileHeader(t, path)[layout.FlagsOffset:]), h.CountersOffset, h.EndOffset, h.FileSize)
					for _, lang := range []string{"c", "python"} {
						if got := runLines(t, lang, "open", path); len(got) != 1 || got[0] != want {
							t.Errorf("%s opener says %q, want %q", lang, got, want)
						}
					}
				})
			}
		}
	}
}
