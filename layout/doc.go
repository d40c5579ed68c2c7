// Package layout is the byte layout of a shmring ring file, in one place.
//
// It holds the geometry, the header fields and the offset of every counter and
// slot, and it encodes and validates headers. It does no I/O and never touches
// live memory with atomics: the ring package does that, at the offsets defined
// here. LAYOUT.md at the repository root says the same for a C programmer.
//
// # Region map
//
// All integers are little-endian and fixed-width. Every mutable word lives on
// a 128-byte padding unit of its own writer (two cache lines, so the
// adjacent-line prefetcher cannot couple a producer line with a consumer
// line).
//
//	offset  size  unit                 written by   holds
//	     0   128  header               creator      immutable fields, checksum, ready word
//	   128   128  producer hot         producer     cursor
//	   256   128  producer cold        producer     wake word, sleepers, state, epoch, flags
//	   384   128  consumer hot         consumer     cursor
//	   512   128  consumer cold        consumer     wake word, sleepers, state, epoch, flags
//	   640   ...  slots                producer     SlotCount slots, SlotStride bytes apart
//	   Ctr   ...  counters             each holder  counter blocks, histograms, stamps (counters.go)
//	   End   128  end                  creator      EndMark; End = round_up(end of counters, EndAlign)
//
// That is the SPSC file. MPMC, MPSC and Broadcast files share the header and
// lay out their own control areas from offset 128, each ending in a table of
// one unit per participant, and their own 16-byte slot headers: see mpmc.go
// and broadcast.go. The header's ControlSize, SlotsOffset and SlotHeaderSize
// say where everything is for every kind. A record ring (HeaderFlagRecords
// in the header's Flags word: records.go) is an SPSC or Broadcast file whose
// slot area is a ring of Capacity bytes carrying variable-length records.
//
// # Header (128 bytes)
//
//	 0               1               2               3
//	 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7
//	+---------------------------------------------------------------+
//	|                      Magic "SHMRING\x00"                      |   0
//	|                                                               |
//	+---------------------------------------------------------------+
//	|                         Version = 4                           |   8
//	+---------------------------------------------------------------+
//	|                       Kind (1 = SPSC)                         |  12
//	+---------------------------------------------------------------+
//	|                     HeaderSize = 128                          |  16
//	+---------------------------------------------------------------+
//	|                       PadUnit = 128                           |  20
//	+---------------------------------------------------------------+
//	|                 SlotSize (max payload bytes)                  |  24
//	+---------------------------------------------------------------+
//	|                    SlotHeaderSize = 8                         |  28
//	+---------------------------------------------------------------+
//	|                 SlotCount (a power of two)                    |  32
//	|                                                               |
//	+---------------------------------------------------------------+
//	|                SlotStride (bytes between slots)               |  40
//	|                                                               |
//	+---------------------------------------------------------------+
//	|                   ControlOffset = 128                         |  48
//	|                                                               |
//	+---------------------------------------------------------------+
//	|                   ControlSize = 512                           |  56
//	|                                                               |
//	+---------------------------------------------------------------+
//	|                   SlotsOffset = 640                           |  64
//	|                                                               |
//	+---------------------------------------------------------------+
//	|                  FileSize (whole file, bytes)                 |  72
//	|                                                               |
//	+---------------------------------------------------------------+
//	|                         CreatorPID                            |  80
//	+---------------------------------------------------------------+
//	|    Flags (records: bit 0; telemetry: bit 16, shift 24..28)    |  84
//	+---------------------------------------------------------------+
//	|           CreatedUnixNano (CLOCK_REALTIME, signed)            |  88
//	|                                                               |
//	+---------------------------------------------------------------+
//	|                        MaxProducers                           |  96
//	+---------------------------------------------------------------+
//	|                        MaxConsumers                           | 100
//	+---------------------------------------------------------------+
//	|                 Reserved (16 bytes, all zero)                 | 104
//	|                                                               |
//	+---------------------------------------------------------------+
//	|           Checksum: CRC-32C (Castagnoli) of bytes 0..119      | 120
//	+---------------------------------------------------------------+
//	|        Ready: 0 while being built, then ReadyValue            | 124
//	+---------------------------------------------------------------+
//
// # Slot
//
//	 0               1               2               3
//	 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7
//	+---------------------------------------------------------------+
//	|               Length (payload bytes, <= SlotSize)             |  0
//	+---------------------------------------------------------------+
//	|     Seq: low 32 bits of position+1, stored after the cursor   |  4
//	+---------------------------------------------------------------+
//	|                Payload (SlotSize bytes) ...                   |  8
//	+---------------------------------------------------------------+
//
// # Publication
//
// A message at position p lives in slot p & (SlotCount-1). It is published
// when the producer cursor is stored with a value greater than p: the slot's
// length and payload are written before that store, and a reader that loads
// the cursor and sees it above p may then read them. After the cursor store
// the producer also stores uint32(p+1) in the slot's Seq word; a reader that
// loads Seq and finds uint32(p+1) may read the message too, without touching
// the cursor's cache line. It is free again when
// the consumer cursor is stored with a value greater than p. Cursors only
// grow; the ring is empty when they are equal and full when they differ by
// SlotCount.
//
// # Roles and liveness
//
// A process holding the producer (consumer) role holds an open-file-
// description write lock (fcntl F_OFD_SETLK) on the single byte at
// ProducerLockByte (ConsumerLockByte) of the ring file. The kernel drops the
// lock when the process dies, which is how a peer tells a dead holder from a
// live one; pids are not used for liveness.
//
// # When not to use this
//
// Code that only sends messages should use package ring; this package is for
// tools that read ring files directly and for implementations in other
// languages.
package layout
