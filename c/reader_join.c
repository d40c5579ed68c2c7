/* reader_join.c — a broadcast reader joining and leaving the reader table,
 * and publishing its progress (LAYOUT.md sections 14.5 and 14.7). */
#define _GNU_SOURCE
#include "reader.h"

#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

static int take_entry(shmring_reader *rd, uint32_t *idx)
{
	uint32_t n = rd->r->info.max_consumers;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t off = SHMRING_BCAST_READERS_OFFSET + (uint64_t)i * SHMRING_READER_ENTRY_SIZE;
		int rc = shmring__lock(rd->r, off + SHMRING_READER_LOCK_BYTE, &rd->lock_fd);
		if (rc == 0) {
			*idx = i;
			return 0;
		}
		if (rc != SHMRING_EBUSY)
			return rc;
	}
	return shmring__fail(SHMRING_EBUSY, "all %u reader entries held by live readers", n);
}

/* abandon gives the entry back after a failed join; the caller drops rd. */
static int abandon(shmring_reader *rd, int err)
{
	STORE_SC(rd->e_state, SHMRING_READER_FREE);
	return err;
}

/* drop frees a handle that did not join: only the lock to give up. */
static void drop(shmring_reader *rd)
{
	shmring__unlock(&rd->lock_fd);
	free(rd->buf);
	free(rd);
}

/* join fills rd and takes a reader entry for it (LAYOUT.md 14.7). */
static int join(shmring_reader *rd, shmring *r, uint32_t policy, int start)
{
	rd->r = r;
	rd->base = r->mem + r->info.slots_offset;
	rd->mask = r->info.slot_count - 1;
	rd->slots = r->info.slot_count;
	rd->stride = r->info.slot_stride;
	rd->slot_size = r->info.slot_size;
	rd->cursor = w64(r, SHMRING_BCAST_CURSOR_OFFSET);
	rd->wake = w32(r, SHMRING_BCAST_WAKE_OFFSET);
	rd->sleepers = w32(r, SHMRING_BCAST_SLEEPERS_OFFSET);
	rd->state = w32(r, SHMRING_BCAST_PRODUCER_STATE_OFFSET);
	rd->flags = w32(r, SHMRING_BCAST_PRODUCER_FLAGS_OFFSET);
	rd->gate_wake = w32(r, SHMRING_BCAST_GATE_WAKE_OFFSET);
	rd->gate_sleepers = w32(r, SHMRING_BCAST_GATE_SLEEPERS_OFFSET);
	rd->lossless = policy == SHMRING_POLICY_LOSSLESS;
	rd->release = shmring__register_release();
	uint32_t idx = 0;
	int rc = take_entry(rd, &idx);
	if (rc)
		return rc;
	uint64_t e = SHMRING_BCAST_READERS_OFFSET + (uint64_t)idx * SHMRING_READER_ENTRY_SIZE;
	rd->e_cursor = w64(r, e + SHMRING_READER_CURSOR_OFFSET);
	rd->e_received = w64(r, e + SHMRING_READER_RECEIVED_OFFSET);
	rd->e_missed = w64(r, e + SHMRING_READER_MISSED_OFFSET);
	rd->e_state = w32(r, e + SHMRING_READER_STATE_OFFSET);
	rd->e_policy = w32(r, e + SHMRING_READER_POLICY_OFFSET);
	rd->e_inc = w32(r, e + SHMRING_READER_INCARNATION_OFFSET);
	rd->e_pid = w32(r, e + SHMRING_READER_PID_OFFSET);
	/* The entry is ours (its lock is held); whatever a dead or hostile
	 * holder left there is overwritten, the incarnation first: the
	 * producer's dead-reader mark is keyed by it. */
	ADD_SC(rd->e_inc, 1u);
	STORE_SC(rd->e_pid, (uint32_t)getpid());
	STORE_SC(rd->e_received, 0);
	STORE_SC(rd->e_missed, 0);
	uint64_t p0 = LOAD_SC(rd->cursor);
	if (p0 & SHMRING_SEQ_WRITING)
		return abandon(rd, shmring__fail(SHMRING_ECORRUPT, "broadcast cursor=%#llx is no position",
						 (unsigned long long)p0));
	uint64_t q = start == SHMRING_START_LATEST ? p0 : p0 - (p0 < rd->slots ? p0 : rd->slots);
	STORE_SC(rd->e_cursor, q);
	STORE_SC(rd->e_policy, policy);
	/* SYNC POINT: joining. The entry is visible to every producer scan
	 * that starts after this exchange (a full barrier); the cursor loaded
	 * after it bounds what scans that missed it let the producer
	 * overwrite: positions below p. */
	XCHG_SC(rd->e_state, SHMRING_READER_ATTACHED);
	uint64_t p = LOAD_SC(rd->cursor);
	if (p < p0 || (p & SHMRING_SEQ_WRITING))
		return abandon(rd, shmring__fail(SHMRING_ECORRUPT, "broadcast cursor went from %llu to %llu",
						 (unsigned long long)p0, (unsigned long long)p));
	rd->q = q;
	rd->protect = p;
	return 0;
}

int shmring_reader_open(shmring *r, uint32_t policy, int start, shmring_reader **out)
{
	SHMRING_NEED(r);
	SHMRING_NEED(out);
	if (r->info.kind != SHMRING_KIND_BROADCAST)
		return shmring__fail(SHMRING_EKIND, "kind=%u: readers are for broadcast rings", r->info.kind);
	if (policy != SHMRING_POLICY_LOSSY && policy != SHMRING_POLICY_LOSSLESS)
		return shmring__fail(SHMRING_EINVAL, "reader policy=%u", policy);
	if (start != SHMRING_START_OLDEST && start != SHMRING_START_LATEST)
		return shmring__fail(SHMRING_EINVAL, "reader start=%d", start);
	int ref = shmring__ref(r);
	if (ref)
		return ref;
	shmring_reader *rd = calloc(1, sizeof *rd);
	if (!rd) {
		shmring__unref(r);
		return shmring__fail(SHMRING_ENOMEM, "reader handle");
	}
	rd->lock_fd = -1;
	SHMRING_GUARD(r, NULL, {
		drop(rd);
		shmring__unref(r);
		return SHMRING_ETRUNCATED;
	});
	int rc = join(rd, r, policy, start);
	SHMRING_UNGUARD();
	if (rc) {
		drop(rd);
		shmring__unref(r);
		return rc;
	}
	*out = rd;
	return 0;
}

void shmring__reader_wake_producer(shmring_reader *rd)
{
	if (XCHG_SC(rd->gate_sleepers, 0u) == 0)
		return;
	ADD_SC(rd->gate_wake, 1u);
	shmring__futex_wake(rd->gate_wake, 1);
	rd->stats.wakes++;
}

/* shmring__reader_store_cursor publishes the reader's progress and, for a lossless reader,
 * wakes the producer if it sleeps gated.
 *
 * SYNC POINT: reader cursor. The slot reads before it are ordered before
 * it; the producer's scan loads it, then writes slots below cursor+slots.
 * Dekker pair with the producer's gate sleep: "store cursor, then load
 * GateSleepers" against "set GateSleepers, membarrier, rescan". */
void shmring__reader_store_cursor(shmring_reader *rd)
{
	publish64(rd->e_cursor, rd->q, rd->release);
	publish64(rd->e_received, rd->stats.messages, rd->release);
	if (rd->lossless && LOAD_SC(rd->gate_sleepers) != 0)
		shmring__reader_wake_producer(rd);
}

static void leave(shmring_reader *rd)
{
	XCHG_SC(rd->e_state, SHMRING_READER_FREE); /* full barrier: before the sleepers load */
	if (LOAD_SC(rd->gate_sleepers) != 0)
		shmring__reader_wake_producer(rd); /* it may be waiting for this reader */
}

int shmring_reader_close(shmring_reader *rd)
{
	if (!rd)
		return 0;
	if (!rd->closed) {
		rd->closed = 1;
		if (!rd->dead && rd->lock_fd >= 0) { /* no lock: a forked child's copy, whose entry is the parent's */
			SHMRING_GUARD(rd->r, &rd->dead, goto drop);
			leave(rd);
			SHMRING_UNGUARD();
		}
	drop:
		shmring__unlock(&rd->lock_fd);
	}
	shmring *r = rd->r;
	free(rd->buf);
	free(rd);
	shmring__unref(r);
	return 0;
}

