// Package codec is the test message every shmring tool and test sends: a
// header that says who sent it and when, and a payload derived from the
// header, so that a receiver can tell a lost, repeated, reordered, torn or
// corrupted message from the one it should have got.
//
//	 0       8       12      16      24                     size
//	+-------+-------+-------+-------+-- ... -----------------+
//	|  seq  | prod  |  crc  | sent  | pattern(prod, seq, off) |
//	+-------+-------+-------+-------+-- ... -----------------+
//
// seq is the producer's own sequence number (uint64, from 0), prod the
// producer's number (uint32), sent a send time in Unix nanoseconds (the
// realtime clock, which every process reads alike; 0 if untimed), all
// little-endian. The payload is a pattern of seed(prod, seq) and the
// offset, so two messages differ in every word. crc is the CRC-32C of
// every byte but itself, written by Seal.
//
// A receiver that knows which message comes next (one producer, a lossless
// stream) calls Verify, which compares every byte with what Put writes and
// needs no checksum; one that cannot know (several producers, a lossy
// reader) calls Check on a sealed message and gets its header back. A
// message shorter than HeaderSize carries only seq and the pattern from
// byte 8: it can be Verified, not Sealed.
//
// Two helpers serve runs that are not one fixed size of fully checked
// messages (mix.go): a Mix gives each message a length drawn from its
// sequence number, the same at both ends; PutEnds and VerifyEnds stamp and
// check only the sequence number at a message's two ends, for a run that
// measures a medium without the ends' pass over every byte.
package codec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Byte offsets of the header fields.
const (
	SeqOffset      = 0
	ProducerOffset = 8
	CRCOffset      = 12
	SentOffset     = 16
	HeaderSize     = 24 // the smallest message that can be sealed
	MinSize        = 8  // the smallest message: its sequence number
)

// ErrIntegrity marks a message that is not the one expected: lost,
// repeated, reordered, torn or corrupted.
var ErrIntegrity = errors.New("message integrity check failed")

// Header is what a message says about itself.
type Header struct {
	Seq      uint64
	Producer uint32
	SentNs   int64
}

const (
	mulSeed = 0x9E3779B97F4A7C15 // odd constants: distinct seeds and offsets give distinct words
	mulOff  = 0xC2B2AE3D27D4EB4F
	step    = (8 * mulOff) & (1<<64 - 1) // from one word to the next, mod 2^64
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// seed mixes the producer into every bit, so that even a one-byte payload
// tells neighbouring producers apart.
func seed(h Header) uint64 { return h.Seq ^ uint64(h.Producer)*mulOff }

// payloadOffset is where the pattern starts in a message of n bytes.
func payloadOffset(n int) int {
	if n < HeaderSize {
		return SeqOffset + 8
	}
	return HeaderSize
}

// Put writes message h into msg (at least MinSize bytes), unsealed: the crc
// field is 0.
func Put(msg []byte, h Header) {
	if len(msg) < HeaderSize {
		binary.LittleEndian.PutUint64(msg[SeqOffset:], h.Seq)
	} else {
		PutHeader(msg, h)
		binary.LittleEndian.PutUint32(msg[CRCOffset:], 0)
	}
	off := payloadOffset(len(msg))
	w := seed(h)*mulSeed + uint64(off)*mulOff
	b := msg[off:]
	for len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, w)
		w += step
		b = b[8:]
	}
	for i := range b {
		b[i] = byte(w >> (8 * i))
	}
}

// PutHeader writes h's fields (not the crc) into msg, at least HeaderSize
// bytes, for a caller with a payload of its own; Seal it afterwards.
func PutHeader(msg []byte, h Header) {
	binary.LittleEndian.PutUint64(msg[SeqOffset:], h.Seq)
	binary.LittleEndian.PutUint32(msg[ProducerOffset:], h.Producer)
	binary.LittleEndian.PutUint64(msg[SentOffset:], uint64(h.SentNs))
}

// Seal writes the checksum of msg (at least HeaderSize bytes).
func Seal(msg []byte) {
	binary.LittleEndian.PutUint32(msg[CRCOffset:], checksum(msg))
}

func checksum(msg []byte) uint32 {
	c := crc32.Update(0, castagnoli, msg[:CRCOffset])
	return crc32.Update(c, castagnoli, msg[CRCOffset+4:])
}

func header(msg []byte) Header {
	return Header{
		Seq:      binary.LittleEndian.Uint64(msg[SeqOffset:]),
		Producer: binary.LittleEndian.Uint32(msg[ProducerOffset:]),
		SentNs:   int64(binary.LittleEndian.Uint64(msg[SentOffset:])),
	}
}

// Check verifies a sealed message's checksum and returns its header; the
// error wraps ErrIntegrity.
func Check(msg []byte) (Header, error) {
	if len(msg) < HeaderSize {
		return Header{}, fmt.Errorf("%w: a %d-byte message is too short for a checksum (%d bytes at least)", ErrIntegrity, len(msg), HeaderSize)
	}
	h := header(msg)
	if got, want := binary.LittleEndian.Uint32(msg[CRCOffset:]), checksum(msg); got != want {
		return h, fmt.Errorf("%w: message (producer %d, seq %d as read) has checksum 0x%08x, its bytes give 0x%08x (torn, overwritten or corrupted)",
			ErrIntegrity, h.Producer, h.Seq, got, want)
	}
	return h, nil
}

// Verify checks that msg is exactly the unsealed message Put(msg, want)
// writes; the error wraps ErrIntegrity and says what was wrong. It reads
// each word once and allocates only when it fails.
func Verify(msg []byte, want Header) error {
	if got := binary.LittleEndian.Uint64(msg[SeqOffset:]); got != want.Seq {
		return fmt.Errorf("%w: got sequence number %d, want %d (message lost, repeated or reordered)", ErrIntegrity, got, want.Seq)
	}
	var diff uint64
	if len(msg) >= HeaderSize {
		diff = uint64(binary.LittleEndian.Uint32(msg[ProducerOffset:])^want.Producer) |
			uint64(binary.LittleEndian.Uint32(msg[CRCOffset:])) |
			binary.LittleEndian.Uint64(msg[SentOffset:]) ^ uint64(want.SentNs)
	}
	off := payloadOffset(len(msg))
	w := seed(want)*mulSeed + uint64(off)*mulOff
	b := msg[off:]
	for len(b) >= 8 {
		diff |= binary.LittleEndian.Uint64(b) ^ w
		w += step
		b = b[8:]
	}
	for i := range b {
		diff |= uint64(b[i] ^ byte(w>>(8*i)))
	}
	if diff != 0 {
		return corrupted(msg, want)
	}
	return nil
}

// corrupted names the first wrong byte; off the hot path.
func corrupted(msg []byte, h Header) error {
	want := make([]byte, len(msg))
	Put(want, h)
	for i := range msg {
		if msg[i] != want[i] {
			return fmt.Errorf("%w: message %d: byte %d is 0x%02x, want 0x%02x (payload corrupted)", ErrIntegrity, h.Seq, i, msg[i], want[i])
		}
	}
	return fmt.Errorf("%w: message %d corrupted", ErrIntegrity, h.Seq)
}

// Digest is what a sequence number adds to an exactly-once digest, summed
// over the messages: counts and the highest number alone miss one message
// lost and another delivered twice; the mixed sum does not.
func Digest(seq uint64) uint64 {
	z := seq + 0x9E3779B97F4A7C15 // splitmix64's finaliser
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	return z ^ z>>31
}
