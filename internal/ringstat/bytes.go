package ringstat

import (
	"encoding/binary"

	"github.com/shmring/shmring/layout"
)

// readBytes judges the bytes of a whole ring file as ReadPath judges a
// file, with no lock held on it and its creator gone: the reading code's
// entry point for tests and the fuzzer, which need no file.
func readBytes(b []byte) Snapshot {
	s := Snapshot{Name: "bytes", FileSize: int64(len(b))}
	hb := b[:min(len(b), layout.HeaderSize)]
	if !preCheck(&s, hb) {
		return s
	}
	h, ok := decode(&s, hb)
	if !ok || !checkSize(&s, h.FileSize) || !checkEnd(&s, &h, binary.LittleEndian.Uint64(b[h.EndOffset:])) {
		return s
	}
	problem := interpret(&s, &h, byteWords(b), func(int64) bool { return false })
	s.positions = true
	if problem != "" {
		s.verdict(Corrupt, problem)
		return s
	}
	judge(&s, h.Kind)
	return s
}
