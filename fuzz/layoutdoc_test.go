package fuzz

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shmring/shmring/layout"
	"github.com/shmring/shmring/ring"
)

// These tests hold LAYOUT.md, the C programmer's specification, to the Go
// constants: every table of offsets, sizes and values in it is parsed and
// compared with package layout, so the document cannot drift from the code.

const layoutDoc = "../LAYOUT.md"

func readLayoutDoc(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(layoutDoc)
	if err != nil {
		t.Fatalf("LAYOUT.md: %v", err)
	}
	return string(b)
}

// docTable returns the rows of the markdown table that follows the line
// "<!-- table:NAME -->", checking its header row against want.
func docTable(t *testing.T, doc, name string, want ...string) [][]string {
	t.Helper()
	marker := "<!-- table:" + name + " -->"
	i := strings.Index(doc, marker)
	if i < 0 {
		t.Fatalf("LAYOUT.md has no %s", marker)
	}
	var rows [][]string
	for _, line := range strings.Split(doc[i+len(marker):], "\n")[1:] {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			break
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for j := range cells {
			cells[j] = strings.TrimSpace(cells[j])
		}
		rows = append(rows, cells)
	}
	if len(rows) < 3 {
		t.Fatalf("table %s: %d lines, want a header, a separator and rows", name, len(rows))
	}
	if got := strings.Join(rows[0], "|"); got != strings.Join(want, "|") {
		t.Fatalf("table %s: columns %q, want %q", name, rows[0], want)
	}
	for _, r := range rows[2:] {
		if len(r) != len(want) {
			t.Fatalf("table %s: row %q has %d cells, want %d", name, r, len(r), len(want))
		}
	}
	return rows[2:]
}

func parseNum(t *testing.T, table, s string) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		t.Fatalf("table %s: %q is not a number: %v", table, s, err)
	}
	return v
}

// typeSize is the width of a field type as LAYOUT.md writes it.
func typeSize(t *testing.T, typ string) (uint64, bool) {
	t.Helper()
	switch typ {
	case "u32":
		return 4, true
	case "u64", "i64":
		return 8, true
	}
	if m := regexp.MustCompile(`^u8\[(\d+)\]$`).FindStringSubmatch(typ); m != nil {
		n, _ := strconv.ParseUint(m[1], 10, 64)
		return n, true
	}
	return 0, false // a size given by name (u8[SlotSize])
}

type span struct{ off, size uint64 }

// checkFields compares a table of (offset, size, type, field, ...) rows
// with the constants: every expected field once, each at its offset with
// its size, and the type's width equal to the size.
func checkFields(t *testing.T, table string, rows [][]string, want map[string]span) {
	t.Helper()
	seen := map[string]bool{}
	for _, r := range rows {
		field := r[3]
		w, ok := want[field]
		if !ok {
			t.Errorf("table %s: field %q is not a layout field", table, field)
			continue
		}
		if seen[field] {
			t.Errorf("table %s: field %q listed twice", table, field)
		}
		seen[field] = true
		if off := parseNum(t, table, r[0]); off != w.off {
			t.Errorf("table %s: %s at offset %d, layout says %d", table, field, off, w.off)
		}
		if ts, ok := typeSize(t, r[2]); ok {
			if size := parseNum(t, table, r[1]); size != w.size || ts != w.size {
				t.Errorf("table %s: %s size %d type %s, layout says %d bytes", table, field, size, r[2], w.size)
			}
		}
	}
	for f := range want {
		if !seen[f] {
			t.Errorf("table %s: field %s missing", table, f)
		}
	}
}

func TestLayoutDocHeaderTable(t *testing.T) {
	doc := readLayoutDoc(t)
	rows := docTable(t, doc, "header", "offset", "size", "type", "field", "meaning", "validation")
	want := map[string]span{
		"Magic":           {layout.MagicOffset, layout.MagicSize},
		"Version":         {layout.VersionOffset, 4},
		"Kind":            {layout.KindOffset, 4},
		"HeaderSize":      {layout.HeaderSizeOffset, 4},
		"PadUnit":         {layout.PadUnitOffset, 4},
		"SlotSize":        {layout.SlotSizeOffset, 4},
		"SlotHeaderSize":  {layout.SlotHeaderSizeOffset, 4},
		"SlotCount":       {layout.SlotCountOffset, 8},
		"SlotStride":      {layout.SlotStrideOffset, 8},
		"ControlOffset":   {layout.ControlOffsetOffset, 8},
		"ControlSize":     {layout.ControlSizeOffset, 8},
		"SlotsOffset":     {layout.SlotsOffsetOffset, 8},
		"FileSize":        {layout.FileSizeOffset, 8},
		"CreatorPID":      {layout.CreatorPIDOffset, 4},
		"Flags":           {layout.FlagsOffset, 4},
		"CreatedUnixNano": {layout.CreatedUnixNanoOffset, 8},
		"MaxProducers":    {layout.MaxProducersOffset, 4},
		"MaxConsumers":    {layout.MaxConsumersOffset, 4},
		"Reserved":        {layout.ReservedOffset, layout.ReservedSize},
		"Checksum":        {layout.ChecksumOffset, 4},
		"Ready":           {layout.ReadyOffset, 4},
	}
	checkFields(t, "header", rows, want)
	// The rows tile the header, in order, with no gap or overlap.
	var next uint64
	for _, r := range rows {
		off, size := parseNum(t, "header", r[0]), parseNum(t, "header", r[1])
		if off != next {
			t.Errorf("header table: %s at %d, previous field ends at %d", r[3], off, next)
		}
		next = off + size
	}
	if next != layout.HeaderSize {
		t.Errorf("header table ends at %d, HeaderSize is %d", next, layout.HeaderSize)
	}
}

func TestLayoutDocControlTable(t *testing.T) {
	doc := readLayoutDoc(t)
	rows := docTable(t, doc, "control", "offset", "size", "type", "field", "written by", "meaning")
	want := map[string]span{
		"ProducerCursor":   {layout.ProducerCursorOffset, 8},
		"ProducerWake":     {layout.ProducerWakeOffset, 4},
		"ProducerSleepers": {layout.ProducerSleepersOffset, 4},
		"ProducerState":    {layout.ProducerStateOffset, 4},
		"ProducerEpoch":    {layout.ProducerEpochOffset, 4},
		"ProducerFlags":    {layout.ProducerFlagsOffset, 4},
		"ConsumerCursor":   {layout.ConsumerCursorOffset, 8},
		"ConsumerWake":     {layout.ConsumerWakeOffset, 4},
		"ConsumerSleepers": {layout.ConsumerSleepersOffset, 4},
		"ConsumerState":    {layout.ConsumerStateOffset, 4},
		"ConsumerEpoch":    {layout.ConsumerEpochOffset, 4},
		"ConsumerFlags":    {layout.ConsumerFlagsOffset, 4},
	}
	checkFields(t, "control", rows, want)
	for _, r := range rows {
		off, size := parseNum(t, "control", r[0]), parseNum(t, "control", r[1])
		if off < layout.ControlOffset || off+size > layout.ControlOffset+layout.ControlSize || off%size != 0 {
			t.Errorf("control table: %s at %d+%d is outside the control area or misaligned", r[3], off, size)
		}
		// The writer column names the owner first.
		owner := strings.ToLower(r[3][:len("producer")]) // "producer" or "consumer"
		if !strings.HasPrefix(r[4], owner) {
			t.Errorf("control table: %s written by %q, want its owner %q first", r[3], r[4], owner)
		}
	}
}

func TestLayoutDocSlotTable(t *testing.T) {
	doc := readLayoutDoc(t)
	rows := docTable(t, doc, "slot", "offset", "size", "type", "field", "meaning")
	checkFields(t, "slot", rows, map[string]span{
		"Length":  {layout.SlotLengthOffset, 4},
		"Seq":     {layout.SlotSeqOffset, 4},
		"Payload": {layout.SlotPayloadOffset, 0}, // size: SlotSize
	})
	for _, r := range rows {
		if r[3] == "Payload" && (r[1] != "SlotSize" || r[2] != "u8[SlotSize]") {
			t.Errorf("slot table: payload size %q type %q, want SlotSize bytes", r[1], r[2])
		}
	}
	if layout.SlotPayloadOffset != layout.SlotHeaderSize {
		t.Errorf("payload at %d, slot header is %d bytes", layout.SlotPayloadOffset, layout.SlotHeaderSize)
	}
}

func TestLayoutDocRegionTable(t *testing.T) {
	doc := readLayoutDoc(t)
	rows := docTable(t, doc, "region", "offset", "size", "unit", "written by", "holds")
	want := []struct {
		unit string
		off  uint64
		size uint64 // 0: given as a formula
	}{
		{"header", layout.HeaderOffset, layout.HeaderSize},
		{"producer hot", layout.ProducerCursorOffset, layout.PadUnit},
		{"producer cold", layout.ProducerWakeOffset, layout.PadUnit},
		{"consumer hot", layout.ConsumerCursorOffset, layout.PadUnit},
		{"consumer cold", layout.ConsumerWakeOffset, layout.PadUnit},
		{"slots", layout.SlotsOffset, 0},
		{"counters", 0, 0},
		{"end", 0, layout.EndSize},
	}
	if len(rows) != len(want) {
		t.Fatalf("region table has %d rows, want %d", len(rows), len(want))
	}
	for i, w := range want {
		r := rows[i]
		if w.unit == "end" {
			if r[2] != w.unit || r[0] != "EndOffset" || parseNum(t, "region", r[1]) != w.size {
				t.Errorf("region row %d: %q", i, r)
			}
			continue
		}
		if w.unit == "counters" { // section 16 and its own test
			if r[2] != w.unit || r[0] != "CountersOffset" || r[1] != "CountersSize" {
				t.Errorf("region row %d: %q", i, r)
			}
			continue
		}
		if r[2] != w.unit || parseNum(t, "region", r[0]) != w.off {
			t.Errorf("region row %d: %q at %s, want %q at %d", i, r[2], r[0], w.unit, w.off)
		}
		if w.size != 0 && parseNum(t, "region", r[1]) != w.size {
			t.Errorf("region %s: size %s, want %d", w.unit, r[1], w.size)
		}
		if w.size == 0 && r[1] != "SlotCount × SlotStride" {
			t.Errorf("region %s: size %q, want SlotCount × SlotStride", w.unit, r[1])
		}
	}
}

func TestLayoutDocConstants(t *testing.T) {
	doc := readLayoutDoc(t)
	rows := docTable(t, doc, "constants", "name", "value", "meaning")
	want := map[string]uint64{
		"Version":           layout.Version,
		"ReadyValue":        uint64(layout.ReadyValue),
		"KindSPSC":          uint64(layout.KindSPSC),
		"KindMPMC":          uint64(layout.KindMPMC),
		"KindMPSC":          uint64(layout.KindMPSC),
		"KindBroadcast":     uint64(layout.KindBroadcast),
		"PadUnit":           layout.PadUnit,
		"HeaderSize":        layout.HeaderSize,
		"ControlOffset":     layout.ControlOffset,
		"ControlSize":       layout.ControlSize,
		"SlotsOffset":       layout.SlotsOffset,
		"SlotHeaderSize":    layout.SlotHeaderSize,
		"MaxSlotSize":       layout.MaxSlotSize,
		"MaxSlotCount":      layout.MaxSlotCount,
		"MaxFileSize":       layout.MaxFileSize,
		"StateAttached":     uint64(layout.StateAttached),
		"StateClosed":       uint64(layout.StateClosed),
		"StateMask":         uint64(layout.StateMask),
		"FlagReleaseStores": uint64(layout.FlagReleaseStores),
		"FlagMask":          uint64(layout.FlagMask),
		"ProducerLockByte":  layout.ProducerLockByte,
		"ConsumerLockByte":  layout.ConsumerLockByte,
		"EndAlign":          layout.EndAlign,
		"EndSize":           layout.EndSize,
		"EndMark":           layout.EndMark,
		"StrideAlign":       0,
	}
	got := map[string]uint64{}
	for _, r := range rows {
		if _, ok := want[r[0]]; !ok {
			t.Errorf("constants table: %s is not a layout constant", r[0])
			continue
		}
		got[r[0]] = parseNum(t, "constants", r[1])
	}
	for name, w := range want {
		g, ok := got[name]
		switch {
		case !ok:
			t.Errorf("constants table: %s missing", name)
		case w != 0 && g != w:
			t.Errorf("constants table: %s = %d, layout says %d", name, g, w)
		}
	}
	// The doc's stride formula, with its granule, is layout.Stride.
	align := got["StrideAlign"]
	if align == 0 {
		t.Fatal("constants table: stride granule missing")
	}
	for size := uint32(1); size <= 5000; size++ {
		n := uint64(layout.SlotHeaderSize) + uint64(size)
		if want, got := layout.Stride(size), (n+align-1)/align*align; got != want {
			t.Fatalf("LAYOUT.md's stride for SlotSize %d is %d, layout.Stride says %d", size, got, want)
		}
	}
	var le [4]byte
	binary.LittleEndian.PutUint32(le[:], layout.ReadyValue)
	if !strings.Contains(doc, spaced(le[:])) {
		t.Errorf("LAYOUT.md does not give the ready word's bytes %s", spaced(le[:]))
	}
	if !strings.Contains(doc, spaced([]byte(layout.Magic))) {
		t.Errorf("LAYOUT.md does not give the magic's bytes %s", spaced([]byte(layout.Magic)))
	}
}

// spaced writes b as "53 48 4d".
func spaced(b []byte) string {
	s := make([]string, len(b))
	for i, c := range b {
		s[i] = fmt.Sprintf("%02x", c)
	}
	return strings.Join(s, " ")
}

func TestLayoutDocStrideExamples(t *testing.T) {
	rows := docTable(t, readLayoutDoc(t), "stride", "SlotSize", "Stride")
	for _, r := range rows {
		size, stride := parseNum(t, "stride", r[0]), parseNum(t, "stride", r[1])
		if got := layout.Stride(uint32(size)); got != stride {
			t.Errorf("stride table: SlotSize %d has stride %d, layout.Stride says %d", size, stride, got)
		}
	}
}

// The example header is layout's golden header, its checksum is stated
// right, and it decodes.
func TestLayoutDocExampleHeader(t *testing.T) {
	doc := readLayoutDoc(t)
	const marker = "<!-- example:header -->"
	i := strings.Index(doc, marker)
	if i < 0 {
		t.Fatalf("LAYOUT.md has no %s", marker)
	}
	block := doc[i+len(marker):]
	start := strings.Index(block, "```\n")
	end := strings.Index(block[start+4:], "```")
	if start < 0 || end < 0 {
		t.Fatal("example header: no code block after the marker")
	}
	got, err := hex.DecodeString(strings.Join(strings.Fields(block[start+4:start+4+end]), ""))
	if err != nil {
		t.Fatalf("example header: %v", err)
	}
	h, err := layout.NewHeader(layout.KindSPSC, 64, 1024)
	if err != nil {
		t.Fatal(err)
	}
	h.CreatorPID = 4242
	h.CreatedUnixNano = 1_764_000_000_123_456_789
	want := make([]byte, layout.HeaderSize)
	h.Encode(want)
	binary.LittleEndian.PutUint32(want[layout.ReadyOffset:], layout.ReadyValue)
	if !bytes.Equal(got, want) {
		t.Fatalf("LAYOUT.md's example header differs from layout's encoding:\n doc %x\nwant %x", got, want)
	}
	if _, err := layout.Decode(got); err != nil {
		t.Fatalf("example header does not decode: %v", err)
	}
	sum := layout.Checksum(got)
	flat := strings.Join(strings.Fields(doc), " ")
	for _, s := range []string{
		fmt.Sprintf("`0x%08x`", sum),
		spaced(got[layout.ChecksumOffset:layout.ReadyOffset]),
		fmt.Sprintf("FileSize %d", h.FileSize),
		fmt.Sprintf("end unit at %d", h.EndOffset),
		fmt.Sprintf("stride %d", h.SlotStride),
		fmt.Sprintf("%d slots of %d bytes", h.SlotCount, h.SlotSize),
		fmt.Sprintf("pid %d", h.CreatorPID),
		fmt.Sprintf("CreatedUnixNano = %d", h.CreatedUnixNano),
	} {
		if !strings.Contains(flat, s) {
			t.Errorf("LAYOUT.md does not say %q about the example header", s)
		}
	}
}

// The CRC parameters LAYOUT.md gives are those of the table layout uses.
func TestLayoutDocChecksumParameters(t *testing.T) {
	doc := readLayoutDoc(t)
	check := crc32.Checksum([]byte("123456789"), crc32.MakeTable(crc32.Castagnoli))
	for _, s := range []string{
		fmt.Sprintf("0x%08X (reflected form)", crc32.Castagnoli),
		fmt.Sprintf("`0x%08x`", check),
		fmt.Sprintf("bytes 0..%d", layout.ChecksumOffset-1),
	} {
		if !strings.Contains(doc, s) {
			t.Errorf("LAYOUT.md does not say %q", s)
		}
	}
	// layout.Checksum is that CRC over the bytes before the checksum field.
	b := bytes.Repeat([]byte{0xa5}, layout.HeaderSize)
	if got, want := layout.Checksum(b), crc32.Checksum(b[:layout.ChecksumOffset], crc32.MakeTable(crc32.Castagnoli)); got != want {
		t.Fatalf("layout.Checksum = %#x, CRC-32C of bytes before the checksum = %#x", got, want)
	}
}

// The publication rule is quoted word for word from layout's doc comment.
func TestLayoutDocPublicationRule(t *testing.T) {
	src, err := os.ReadFile("../layout/doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var rule []string
	in := false
	for _, line := range strings.Split(string(src), "\n") {
		text := strings.TrimSpace(strings.TrimPrefix(line, "//"))
		switch {
		case text == "# Publication":
			in = true
		case in && strings.HasPrefix(text, "# "):
			in = false
		case in && text != "":
			rule = append(rule, text)
		}
	}
	if len(rule) == 0 {
		t.Fatal("layout/doc.go has no # Publication section")
	}
	norm := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	var quoted []string
	for _, line := range strings.Split(readLayoutDoc(t), "\n") {
		if strings.HasPrefix(line, ">") {
			quoted = append(quoted, strings.TrimPrefix(line, ">"))
		}
	}
	if got, want := norm(strings.Join(quoted, " ")), norm(strings.Join(rule, " ")); !strings.Contains(got, want) {
		t.Fatalf("LAYOUT.md's quoted publication rule differs from layout/doc.go:\n doc %s\nwant %s", got, want)
	}
}

// The Go defaults LAYOUT.md mentions are the ring package's.
func TestLayoutDocGoDefaults(t *testing.T) {
	doc := readLayoutDoc(t)
	for _, s := range []string{
		fmt.Sprintf("`ring.DefaultOpenTimeout`, %s", human(ring.DefaultOpenTimeout)),
		fmt.Sprintf("`ring.DefaultTick`, %s", human(ring.DefaultTick)),
	} {
		if !strings.Contains(doc, s) {
			t.Errorf("LAYOUT.md does not say %q", s)
		}
	}
}

func human(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%d s", d/time.Second)
	}
	return fmt.Sprintf("%d ms", d/time.Millisecond)
}
