//go:build linux

package main

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// The message format of the mpmc and broadcast subcommands, where messages
// from several producers meet and a receiver cannot know which one comes
// next:
//
//	 0       8   12  16      24                      size
//	+-------+---+---+-------+-- ... -----------------+
//	|  seq  |id |crc| sent  | pattern(id, seq, off)   |
//	+-------+---+---+-------+-- ... -----------------+
//
// seq is the producer's own sequence number (uint64, from 0), id the
// producer's number (uint32), sent the send time in Unix nanoseconds
// (time.Now().UnixNano(): the realtime clock, which every process on the
// machine reads alike; 0 where the workload times nothing). The payload
// words follow patternWord of a seed mixed from id and seq, so two
// producers' messages differ everywhere. crc is the CRC-32C (Castagnoli,
// in hardware on amd64 and arm64) of every byte but itself: a torn,
// overwritten or corrupted message fails it whatever its position.
const (
	mmSeqOff  = 0
	mmIDOff   = 8
	mmCRCOff  = 12
	mmSentOff = 16
	mmHeader  = 24 // also the smallest message of these subcommands
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// mmSeed is the pattern seed of producer id's message seq.
func mmSeed(id uint32, seq uint64) uint64 { return seq ^ uint64(id)<<40 }

// stampMulti writes producer id's message seq, sent at sentNs, into msg
// (at least mmHeader bytes).
func stampMulti(msg []byte, id uint32, seq uint64, sentNs int64) {
	binary.LittleEndian.PutUint64(msg[mmSeqOff:], seq)
	binary.LittleEndian.PutUint32(msg[mmIDOff:], id)
	binary.LittleEndian.PutUint64(msg[mmSentOff:], uint64(sentNs))
	w := patternWord(mmSeed(id, seq), mmHeader)
	b := msg[mmHeader:]
	for len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, w)
		w += patternStep
		b = b[8:]
	}
	for i := range b {
		b[i] = byte(w >> (8 * i))
	}
	binary.LittleEndian.PutUint32(msg[mmCRCOff:], mmChecksum(msg))
}

// restampSent rewrites the send time of a stamped message and its
// checksum (the round-trip client stamps the time last, just before it
// sends).
func restampSent(msg []byte, sentNs int64) {
	binary.LittleEndian.PutUint64(msg[mmSentOff:], uint64(sentNs))
	binary.LittleEndian.PutUint32(msg[mmCRCOff:], mmChecksum(msg))
}

func mmChecksum(msg []byte) uint32 {
	c := crc32.Update(0, castagnoli, msg[:mmCRCOff])
	return crc32.Update(c, castagnoli, msg[mmCRCOff+4:])
}

// mmHead is a checked message's header.
type mmHead struct {
	id     uint32
	seq    uint64
	sentNs int64
}

// checkMulti verifies msg's checksum and returns its header; the error
// wraps errIntegrity.
func checkMulti(msg []byte) (mmHead, error) {
	h := mmHead{
		seq:    binary.LittleEndian.Uint64(msg[mmSeqOff:]),
		id:     binary.LittleEndian.Uint32(msg[mmIDOff:]),
		sentNs: int64(binary.LittleEndian.Uint64(msg[mmSentOff:])),
	}
	if got, want := binary.LittleEndian.Uint32(msg[mmCRCOff:]), mmChecksum(msg); got != want {
		return h, fmt.Errorf("%w: message (producer %d, seq %d as read) has checksum 0x%08x, its bytes give 0x%08x (torn, overwritten or corrupted)",
			errIntegrity, h.id, h.seq, got, want)
	}
	return h, nil
}

// seqDigest is what a sequence number adds to an exactly-once digest: a
// sum of these over the messages received must equal the producer's sum
// over the messages it sent. Counts and the highest number alone miss one
// message lost and another delivered twice; the mixed sum does not.
func seqDigest(seq uint64) uint64 {
	z := seq + 0x9E3779B97F4A7C15 // splitmix64's finaliser
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	return z ^ z>>31
}
