/* reader.h — what the broadcast reader's files share (LAYOUT.md section 14):
 * the handle, the slot's seqlock states, and publishing the reader's cursor. */
#ifndef SHMRING_READER_H
#define SHMRING_READER_H

#include "internal.h"

struct shmring_reader {
	shmring *r;
	unsigned char *base;
	uint64_t mask, slots, stride;
	uint32_t slot_size;
	/* the producer's words */
	uint64_t *cursor;
	uint32_t *wake, *sleepers, *state, *flags, *gate_wake, *gate_sleepers;
	/* this reader's entry */
	uint64_t *e_cursor, *e_received, *e_missed;
	uint32_t *e_state, *e_policy, *e_inc, *e_pid;
	int lock_fd;
	int lossless, release, closed;
	int dead; /* a fault in the mapping met this handle (guard.c) */
	uint64_t q;       /* next position to deliver */
	uint64_t protect; /* a lossless reader's positions from here on are guarded by the producer's gate */
	unsigned char *buf; /* a lossless joiner's validated copies below protect */
	int held;
	uint64_t held_bytes;
	uint64_t last_missed;
	shmring_stats stats;
	struct shmring_polls polls;
};

enum seq_state { SEQ_READY, SEQ_PENDING, SEQ_OVERRUN, SEQ_BOGUS };

static inline unsigned char *slot(const shmring_reader *rd, uint64_t pos)
{
	return rd->base + (pos & rd->mask) * rd->stride;
}

static inline uint64_t *seq_word(const shmring_reader *rd, uint64_t pos)
{
	return (uint64_t *)(void *)(slot(rd, pos) + SHMRING_BCAST_SLOT_SEQ_OFFSET);
}

/* shmring__reader_store_cursor publishes the reader's progress (SYNC POINT: reader
 * cursor) and, for a lossless reader, wakes the producer if it sleeps gated. */
void shmring__reader_store_cursor(shmring_reader *rd);
/* shmring__reader_wake_producer wakes a producer sleeping gated. */
void shmring__reader_wake_producer(shmring_reader *rd);

#endif
