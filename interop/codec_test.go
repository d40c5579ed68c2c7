package interop

// The test message, byte for byte the same as c/tests/codec.h and
// python/tests/codec.py:
//
//	[0:8)   sequence number, little-endian
//	[8:12)  the message's own length
//	[12:16) CRC-32C of [0:12) and [16:n)
//	[16:n)  bytes derived from the sequence number alone
//
// The length of message seq is 16 + mix(seq, 0) % (max - 16 + 1): every
// receiver knows every byte of every message without shared state.

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

const codecHeader = 16

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func codecMix(seq, i uint64) uint64 {
	z := seq*0x9e3779b97f4a7c15 + (i+1)*0xbf58476d1ce4e5b9
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

func codecLen(seq uint64, max int) int {
	return codecHeader + int(codecMix(seq, 0)%uint64(max-codecHeader+1))
}

func codecCRC(m []byte) uint32 {
	return crc32.Update(crc32.Update(0, castagnoli, m[:12]), castagnoli, m[codecHeader:])
}

func codecBody(b []byte, seq uint64) {
	var w [8]byte
	for i := 0; i < len(b); i += 8 {
		binary.LittleEndian.PutUint64(w[:], codecMix(seq, uint64(i/8+1)))
		copy(b[i:], w[:])
	}
}

// encode writes message seq into m (at least codecLen bytes) and returns its
// length.
func encode(m []byte, seq uint64, max int) int {
	n := codecLen(seq, max)
	m = m[:n]
	binary.LittleEndian.PutUint64(m, seq)
	binary.LittleEndian.PutUint32(m[8:], uint32(n))
	codecBody(m[codecHeader:], seq)
	binary.LittleEndian.PutUint32(m[12:], codecCRC(m))
	return n
}

// check reports how m differs from message seq, or nil.
func check(m []byte, seq uint64, max int) error {
	if len(m) < codecHeader {
		return fmt.Errorf("message %d: %d bytes, shorter than its header", seq, len(m))
	}
	le := binary.LittleEndian
	if got := le.Uint64(m); got != seq {
		return fmt.Errorf("got message %d, want %d", got, seq)
	}
	if n := le.Uint32(m[8:]); int(n) != len(m) || len(m) != codecLen(seq, max) {
		return fmt.Errorf("message %d: length field=%d received=%d want=%d", seq, n, len(m), codecLen(seq, max))
	}
	if got, want := le.Uint32(m[12:]), codecCRC(m); got != want {
		return fmt.Errorf("message %d: crc=%#x computed=%#x (torn)", seq, got, want)
	}
	return nil
}
