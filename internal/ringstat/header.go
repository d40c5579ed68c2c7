package ringstat

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/shmring/shmring/layout"
)

// The checks an opener makes before it maps a file (LAYOUT.md section 6),
// in its order, each failure a state with its sentence. The file reader and
// readBytes share them.

// preCheck looks at the first bytes of a file of fileSize bytes: b holds
// what a read of the header returned (fewer than HeaderSize bytes only if
// the file is that short). It reports whether the header may be decoded.
func preCheck(s *Snapshot, b []byte) bool {
	n := len(b)
	switch {
	case s.FileSize == 0:
		s.verdict(NotReady, "an empty file: its creator has not sized it yet, or died before it did")
		return false
	case n < layout.HeaderSize:
		if n >= layout.MagicSize && string(b[:layout.MagicSize]) == layout.Magic {
			// corrupt, as ring.Open says (layout.ErrShort): no header to
			// say what size the file should have
			s.verdict(Corrupt, fmt.Sprintf("%d bytes, shorter than a ring header (%d): cut short, or never written whole", n, layout.HeaderSize))
		} else {
			s.verdict(NotARing, fmt.Sprintf("%d bytes and no shmring magic", n))
		}
		return false
	case string(b[:layout.MagicSize]) != layout.Magic:
		s.verdict(NotARing, "no shmring magic")
		return false
	}
	if v := binary.LittleEndian.Uint32(b[layout.VersionOffset:]); v != layout.Version {
		s.Version = v
		s.verdict(ForeignVersion, fmt.Sprintf("layout version %d; this code reads version %d", v, layout.Version))
		return false
	}
	s.Version = layout.Version
	if err := layout.CheckReady(binary.LittleEndian.Uint32(b[layout.ReadyOffset:])); err != nil {
		if errors.Is(err, layout.ErrNotReady) {
			s.verdict(NotReady, "ready word 0: its creator is still writing the header, or died before it finished")
		} else {
			s.verdict(Corrupt, err.Error())
		}
		return false
	}
	return true
}

// decode validates the header bytes and copies what a Snapshot shows.
func decode(s *Snapshot, b []byte) (layout.Header, bool) {
	h, err := layout.Decode(b)
	if err != nil {
		s.verdict(Corrupt, err.Error())
		return layout.Header{}, false
	}
	s.Kind, s.SlotSize, s.Slots, s.Unit = h.Kind.String(), h.SlotSize, h.SlotCount, "messages"
	if h.Records { // the slot fields hold a record ring's geometry (LAYOUT.md 17.2)
		s.Records, s.Capacity, s.MaxMessage, s.Unit = true, h.SlotCount, h.SlotSize, "bytes"
		s.SlotSize, s.Slots = 0, 0
	}
	s.MaxProducers, s.MaxConsumers, s.CreatorPID = h.MaxProducers, h.MaxConsumers, h.CreatorPID
	if h.Kind == layout.KindBroadcast { // the header's field holds the reader entries
		s.MaxReaders, s.MaxConsumers = h.MaxConsumers, 0
	}
	s.Created = time.Unix(0, h.CreatedUnixNano).UTC()
	return h, true
}

// checkSize compares the file's real size with want, what the header says
// it must be (rounded up to huge pages on hugetlbfs).
func checkSize(s *Snapshot, want uint64) bool {
	size := uint64(s.FileSize)
	switch {
	case size < want:
		s.verdict(Truncated, fmt.Sprintf("%d bytes, the header says %d", size, want))
		return false
	case size > want:
		s.verdict(Corrupt, fmt.Sprintf("%d bytes, the header says %d (the file grew, or is not what its header says)", size, want))
		return false
	}
	return true
}

// checkEnd checks the end unit's mark: anything but EndMark there means the
// file was shrunk, and perhaps grown back (LAYOUT.md section 2).
func checkEnd(s *Snapshot, h *layout.Header, mark uint64) bool {
	if mark != layout.EndMark {
		s.verdict(Truncated, fmt.Sprintf("end mark=%#x at %d, want %#x: the file was shrunk", mark, h.EndOffset, layout.EndMark))
		return false
	}
	return true
}

func (s *Snapshot) verdict(st State, problem string) {
	s.State, s.Problem = st, problem
}
