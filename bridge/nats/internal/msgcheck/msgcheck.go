// Package msgcheck is the message format the bridge's tests send through
// rings and NATS: a sequence number, filler bytes that depend on it, and a
// CRC-32C of both, so a receiver can tell a lost, repeated, reordered or
// damaged message from the right one.
//
//	 0       8                      n-4   n
//	+-------+-------- ... ---------+-----+
//	|  seq  |  filler(seq, i)      | crc |
//	+-------+-------- ... ---------+-----+
//
// seq is little-endian; crc is CRC-32C (Castagnoli) of bytes 0..n-4,
// little-endian.
package msgcheck

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// MinSize is the smallest message: the sequence number and the CRC.
const MinSize = 12

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrDamaged: a message whose CRC does not match its bytes.
var ErrDamaged = errors.New("msgcheck: message damaged")

// Stamp fills msg (at least MinSize bytes) as message seq.
func Stamp(msg []byte, seq uint64) {
	binary.LittleEndian.PutUint64(msg, seq)
	body := msg[8 : len(msg)-4]
	for i := range body {
		body[i] = byte(seq) + byte(i)*31
	}
	binary.LittleEndian.PutUint32(msg[len(msg)-4:], crc32.Checksum(msg[:len(msg)-4], castagnoli))
}

// Check returns the sequence number of msg, or an error wrapping
// ErrDamaged if its CRC does not match.
func Check(msg []byte) (uint64, error) {
	if len(msg) < MinSize {
		return 0, fmt.Errorf("%w: %d bytes, shorter than %d", ErrDamaged, len(msg), MinSize)
	}
	want := binary.LittleEndian.Uint32(msg[len(msg)-4:])
	if got := crc32.Checksum(msg[:len(msg)-4], castagnoli); got != want {
		return 0, fmt.Errorf("%w: CRC-32C %08x, message says %08x", ErrDamaged, got, want)
	}
	return binary.LittleEndian.Uint64(msg), nil
}
