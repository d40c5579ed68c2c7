package interop

// c/shmring.h and python/shmring/_layout.py restate package layout's
// constants; this test holds them to it, both ways: every constant below
// must be in both files with the Go value, and every constant the files
// define must be below (so none is left unchecked).

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/shmring/shmring/layout"
	"github.com/shmring/shmring/ring"
)

// layoutConstants: the name both files use (C prefixes SHMRING_), and the
// Go value.
var layoutConstants = map[string]uint64{
	"VERSION":     layout.Version,
	"READY_VALUE": uint64(layout.ReadyValue),
	"KIND_SPSC":   uint64(layout.KindSPSC), "KIND_MPMC": uint64(layout.KindMPMC),
	"KIND_MPSC": uint64(layout.KindMPSC), "KIND_BROADCAST": uint64(layout.KindBroadcast),
	"PAD_UNIT": layout.PadUnit, "HEADER_SIZE": layout.HeaderSize,
	"STRIDE_ALIGN": 8, // unexported in layout (wordAlign): TestStrideGranuleIsWhatLayoutRoundsTo holds it

	"MAGIC_OFFSET": layout.MagicOffset, "MAGIC_SIZE": layout.MagicSize,
	"VERSION_OFFSET": layout.VersionOffset, "KIND_OFFSET": layout.KindOffset,
	"HEADER_SIZE_OFFSET": layout.HeaderSizeOffset, "PAD_UNIT_OFFSET": layout.PadUnitOffset,
	"SLOT_SIZE_OFFSET": layout.SlotSizeOffset, "SLOT_HEADER_SIZE_OFFSET": layout.SlotHeaderSizeOffset,
	"SLOT_COUNT_OFFSET": layout.SlotCountOffset, "SLOT_STRIDE_OFFSET": layout.SlotStrideOffset,
	"CONTROL_OFFSET_OFFSET": layout.ControlOffsetOffset, "CONTROL_SIZE_OFFSET": layout.ControlSizeOffset,
	"SLOTS_OFFSET_OFFSET": layout.SlotsOffsetOffset, "FILE_SIZE_OFFSET": layout.FileSizeOffset,
	"CREATOR_PID_OFFSET": layout.CreatorPIDOffset, "FLAGS_OFFSET": layout.FlagsOffset,
	"CREATED_UNIX_NANO_OFFSET": layout.CreatedUnixNanoOffset,
	"MAX_PRODUCERS_OFFSET":     layout.MaxProducersOffset, "MAX_CONSUMERS_OFFSET": layout.MaxConsumersOffset,
	"RESERVED_OFFSET": layout.ReservedOffset, "RESERVED_SIZE": layout.ReservedSize,
	"CHECKSUM_OFFSET": layout.ChecksumOffset, "READY_OFFSET": layout.ReadyOffset,

	"MAX_SLOT_SIZE": layout.MaxSlotSize, "MAX_SLOT_COUNT": layout.MaxSlotCount,
	"MAX_FILE_SIZE": layout.MaxFileSize, "MAX_MPMC_SLOT_COUNT": layout.MaxMPMCSlotCount,
	"MAX_PARTICIPANTS": layout.MaxParticipants, "MAX_READERS": layout.MaxReaders,
	"END_ALIGN": layout.EndAlign, "END_SIZE": layout.EndSize, "END_MARK": layout.EndMark,
	"COUNTERS_ALIGN": layout.CountersAlign, "COUNTER_BLOCK_SIZE": layout.CounterBlockSize,
	"HIST_SIZE": layout.HistSize,

	"HEADER_FLAG_RECORDS": uint64(layout.HeaderFlagRecords), "FLAG_TELEMETRY": uint64(layout.FlagTelemetry),
	"SAMPLE_SHIFT_BIT": layout.SampleShiftBit, "MAX_SAMPLE_SHIFT": layout.MaxSampleShift,
	"HEADER_FLAGS_MASK":  uint64(layout.HeaderFlagsMask),
	"RECORD_HEADER_SIZE": layout.RecordHeaderSize, "MIN_RECORD_CAPACITY": layout.MinRecordCapacity,
	"MAX_RECORD_CAPACITY": layout.MaxRecordCapacity,

	"CONTROL_OFFSET": layout.ControlOffset, "CONTROL_SIZE": layout.ControlSize,
	"SLOTS_OFFSET": layout.SlotsOffset, "SLOT_HEADER_SIZE": layout.SlotHeaderSize,
	"SLOT_LENGTH_OFFSET": layout.SlotLengthOffset, "SLOT_SEQ_OFFSET": layout.SlotSeqOffset,
	"SLOT_PAYLOAD_OFFSET":    layout.SlotPayloadOffset,
	"PRODUCER_CURSOR_OFFSET": layout.ProducerCursorOffset, "PRODUCER_WAKE_OFFSET": layout.ProducerWakeOffset,
	"PRODUCER_SLEEPERS_OFFSET": layout.ProducerSleepersOffset, "PRODUCER_STATE_OFFSET": layout.ProducerStateOffset,
	"PRODUCER_EPOCH_OFFSET": layout.ProducerEpochOffset, "PRODUCER_FLAGS_OFFSET": layout.ProducerFlagsOffset,
	"CONSUMER_CURSOR_OFFSET": layout.ConsumerCursorOffset, "CONSUMER_WAKE_OFFSET": layout.ConsumerWakeOffset,
	"CONSUMER_SLEEPERS_OFFSET": layout.ConsumerSleepersOffset, "CONSUMER_STATE_OFFSET": layout.ConsumerStateOffset,
	"CONSUMER_EPOCH_OFFSET": layout.ConsumerEpochOffset, "CONSUMER_FLAGS_OFFSET": layout.ConsumerFlagsOffset,
	"PRODUCER_LOCK_BYTE": layout.ProducerLockByte, "CONSUMER_LOCK_BYTE": layout.ConsumerLockByte,

	"STATE_ATTACHED": uint64(layout.StateAttached), "STATE_CLOSED": uint64(layout.StateClosed),
	"STATE_MASK": uint64(layout.StateMask), "FLAG_RELEASE_STORES": uint64(layout.FlagReleaseStores),

	"MPMC_SLOT_HEADER_SIZE": layout.MPMCSlotHeaderSize,
	"MPMC_FIXED_UNITS":      (layout.MPMCEntriesOffset - layout.ControlOffset) / layout.PadUnit,

	"BCAST_CURSOR_OFFSET": layout.BcastCursorOffset, "BCAST_WAKE_OFFSET": layout.BcastWakeOffset,
	"BCAST_SLEEPERS_OFFSET": layout.BcastSleepersOffset, "BCAST_PRODUCER_STATE_OFFSET": layout.BcastProducerStateOffset,
	"BCAST_PRODUCER_EPOCH_OFFSET": layout.BcastProducerEpochOffset,
	"BCAST_PRODUCER_FLAGS_OFFSET": layout.BcastProducerFlagsOffset,
	"BCAST_GATE_OFFSET":           layout.BcastGateOffset, "BCAST_PRODUCER_LOCK_BYTE": layout.BcastProducerLockByte,
	"BCAST_GATE_WAKE_OFFSET": layout.BcastGateWakeOffset, "BCAST_GATE_SLEEPERS_OFFSET": layout.BcastGateSleepersOffset,
	"BCAST_READERS_OFFSET": layout.BcastReadersOffset,
	"BCAST_FIXED_UNITS":    (layout.BcastReadersOffset - layout.ControlOffset) / layout.PadUnit,
	"READER_ENTRY_SIZE":    layout.ReaderEntrySize, "READER_CURSOR_OFFSET": layout.ReaderCursorOffset,
	"READER_STATE_OFFSET": layout.ReaderStateOffset, "READER_POLICY_OFFSET": layout.ReaderPolicyOffset,
	"READER_INCARNATION_OFFSET": layout.ReaderIncarnationOffset, "READER_PID_OFFSET": layout.ReaderPIDOffset,
	"READER_RECEIVED_OFFSET": layout.ReaderReceivedOffset, "READER_MISSED_OFFSET": layout.ReaderMissedOffset,
	"READER_LOCK_BYTE":      layout.ReaderLockByte,
	"BCAST_SLOT_SEQ_OFFSET": layout.BcastSlotSeqOffset, "BCAST_SLOT_LENGTH_OFFSET": layout.BcastSlotLengthOffset,
	"BCAST_SLOT_HEADER_SIZE": layout.BcastSlotHeaderSize, "BCAST_SLOT_PAYLOAD_OFFSET": layout.BcastSlotPayloadOffset,
	"SEQ_WRITING": layout.SeqWriting,
	"READER_FREE": uint64(layout.ReaderFree), "READER_ATTACHED": uint64(layout.ReaderAttached),
	"POLICY_LOSSY": uint64(layout.PolicyLossy), "POLICY_LOSSLESS": uint64(layout.PolicyLossless),
}

// The stride granule has no exported name in layout: derive it from Stride
// and hold the table's value to it, so the table cannot go wrong either.
func TestStrideGranuleIsWhatLayoutRoundsTo(t *testing.T) {
	g := layoutConstants["STRIDE_ALIGN"]
	for size := uint32(1); size < 64; size++ {
		s := layout.Stride(size)
		if s%g != 0 || s < uint64(size)+layout.SlotHeaderSize || s >= uint64(size)+layout.SlotHeaderSize+g {
			t.Fatalf("Stride(%d)=%d is not the slot rounded up to %d", size, s, g)
		}
	}
}

var cDefine = regexp.MustCompile(`^#define SHMRING_([A-Z0-9_]+) (\S+)$`)

// cConstants reads the defines between the layout markers of c/shmring.h.
func cConstants(t *testing.T) (map[string]uint64, string) {
	got, magic, _ := cDefines(t)
	return got, magic
}

// cDefines reads c/shmring.h: the numeric defines between the layout
// markers, the magic, and the numeric defines outside the markers.
func cDefines(t *testing.T) (layoutDefs map[string]uint64, magic string, others map[string]uint64) {
	f, err := os.Open(filepath.Join(repoRoot(t), "c", "shmring.h"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, in := map[string]uint64{}, false
	others = map[string]uint64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.Contains(line, "SHMRING-LAYOUT-BEGIN"):
			in = true
		case strings.Contains(line, "SHMRING-LAYOUT-END"):
			in = false
		case strings.HasPrefix(line, "#define SHMRING_MAGIC "):
			magic, _ = strconv.Unquote(strings.TrimPrefix(line, "#define SHMRING_MAGIC "))
		default:
			m := cDefine.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			v, err := strconv.ParseUint(strings.TrimRight(m[2], "uUlL"), 0, 64)
			switch {
			case in && err != nil:
				t.Fatalf("shmring.h: %q: %v", line, err)
			case in:
				got[m[1]] = v
			case err == nil:
				others[m[1]] = v
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return got, magic, others
}

func pythonConstants(t *testing.T) (map[string]uint64, string) {
	cmd := exec.Command(python(t), "-c", `import json, shmring._layout as L
print(json.dumps({"consts": {k: v for k, v in vars(L).items() if k.isupper() and isinstance(v, int)}, "magic": L.MAGIC.decode("latin-1")}))`)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+filepath.Join(repoRoot(t), "python"), "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	var v struct {
		Consts map[string]uint64
		Magic  string
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("python3 said %q: %v", out, err)
	}
	return v.Consts, v.Magic
}

func TestCAndPythonConstantsMatchPackageLayout(t *testing.T) {
	c, cMagic := cConstants(t)
	py, pyMagic := pythonConstants(t)
	for _, f := range []struct {
		file  string
		got   map[string]uint64
		magic string
	}{{"c/shmring.h", c, cMagic}, {"python/shmring/_layout.py", py, pyMagic}} {
		for name, want := range layoutConstants {
			got, ok := f.got[name]
			switch {
			case !ok:
				t.Errorf("%s: %s is missing (layout has %d)", f.file, name, want)
			case got != want:
				t.Errorf("%s: %s = %d, layout says %d", f.file, name, got, want)
			}
		}
		for name := range f.got {
			if _, ok := layoutConstants[name]; !ok {
				t.Errorf("%s: %s is not checked against layout: add it to layoutConstants", f.file, name)
			}
		}
		if f.magic != layout.Magic {
			t.Errorf("%s: magic %q, layout says %q", f.file, f.magic, layout.Magic)
		}
	}
}

// The openers' default cap is package ring's (not a layout constant: it is
// the opener's policy, but the three languages must agree on it).
func TestCAndPythonDefaultMaxFileSizeIsRings(t *testing.T) {
	_, _, others := cDefines(t)
	if got, ok := others["DEFAULT_MAX_FILE_SIZE"]; !ok || got != ring.DefaultMaxFileSize {
		t.Errorf("c/shmring.h: SHMRING_DEFAULT_MAX_FILE_SIZE = %d (defined: %v), ring says %d", got, ok, uint64(ring.DefaultMaxFileSize))
	}
	cmd := exec.Command(python(t), "-c", "import shmring; print(shmring.DEFAULT_MAX_FILE_SIZE)")
	cmd.Env = append(os.Environ(), "PYTHONPATH="+filepath.Join(repoRoot(t), "python"), "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != strconv.FormatInt(ring.DefaultMaxFileSize, 10) {
		t.Errorf("python: DEFAULT_MAX_FILE_SIZE = %s, ring says %d", got, ring.DefaultMaxFileSize)
	}
}
