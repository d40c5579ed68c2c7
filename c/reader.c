/* reader.c — a broadcast reader (LAYOUT.md section 14.6 and 14.7).
 *
 * A slot's 64-bit Seq is a seqlock: 0 never written, p+1 position p
 * published, (p+1)|SEQ_WRITING being written. A lossy reader that copies a
 * message checks Seq again afterwards, so it never returns a torn message;
 * the producer waits only for lossless readers. */
#define _GNU_SOURCE
#include "internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	uint64_t q;       /* next position to deliver */
	uint64_t protect; /* a lossless reader's positions from here on are guarded by the producer's gate */
	unsigned char *buf; /* a lossless joiner's validated copies below protect */
	int held;
	uint64_t held_bytes;
	uint64_t last_missed;
	shmring_stats stats;
};

enum seq_state { SEQ_READY, SEQ_PENDING, SEQ_OVERRUN, SEQ_BOGUS };

static unsigned char *slot(const shmring_reader *rd, uint64_t pos) { return rd->base + (pos & rd->mask) * rd->stride; }
static uint64_t *seq_word(const shmring_reader *rd, uint64_t pos)
{
	return (uint64_t *)(void *)(slot(rd, pos) + SHMRING_BCAST_SLOT_SEQ_OFFSET);
}

/* classify reads s, a Seq loaded from q's slot (LAYOUT.md 14.3). */
static enum seq_state classify(const shmring_reader *rd, uint64_t s, uint64_t q)
{
	if (s == q + 1)
		return SEQ_READY;
	if (s == 0)
		return SEQ_PENDING;
	uint64_t v = s & ~SHMRING_SEQ_WRITING;
	if (v == 0 || ((v - 1) & rd->mask) != (q & rd->mask))
		return SEQ_BOGUS;
	return v <= q + 1 ? SEQ_PENDING : SEQ_OVERRUN;
}

static int take_entry(shmring_reader *rd, uint32_t *idx)
{
	uint32_t n = rd->r->info.max_consumers;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t off = SHMRING_BCAST_READERS_OFFSET + (uint64_t)i * SHMRING_READER_ENTRY_SIZE;
		int fd = shmring__lock(rd->r, off + SHMRING_READER_LOCK_BYTE);
		if (fd >= 0) {
			rd->lock_fd = fd;
			*idx = i;
			return 0;
		}
		if (fd != SHMRING_EBUSY)
			return fd;
	}
	return shmring__fail(SHMRING_EBUSY, "all %u reader entries held by live readers", n);
}

static int abandon(shmring_reader *rd, int err)
{
	STORE_SC(rd->e_state, SHMRING_READER_FREE);
	close(rd->lock_fd);
	free(rd);
	return err;
}

int shmring_reader_open(shmring *r, uint32_t policy, int start, shmring_reader **out)
{
	if (r->info.kind != SHMRING_KIND_BROADCAST)
		return shmring__fail(SHMRING_EKIND, "kind=%u: readers are for broadcast rings", r->info.kind);
	if (policy != SHMRING_POLICY_LOSSY && policy != SHMRING_POLICY_LOSSLESS)
		return shmring__fail(SHMRING_EINVAL, "reader policy=%u", policy);
	if (start != SHMRING_START_OLDEST && start != SHMRING_START_LATEST)
		return shmring__fail(SHMRING_EINVAL, "reader start=%d", start);
	shmring_reader *rd = calloc(1, sizeof *rd);
	if (!rd)
		return shmring__fail(SHMRING_ENOMEM, "reader handle");
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
	if (rc) {
		free(rd);
		return rc;
	}
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
	*out = rd;
	return 0;
}

static void wake_producer(shmring_reader *rd)
{
	if (XCHG_SC(rd->gate_sleepers, 0u) == 0)
		return;
	ADD_SC(rd->gate_wake, 1u);
	shmring__futex_wake(rd->gate_wake, 1);
	rd->stats.wakes++;
}

/* store_cursor publishes the reader's progress and, for a lossless reader,
 * wakes the producer if it sleeps gated.
 *
 * SYNC POINT: reader cursor. The slot reads before it are ordered before
 * it; the producer's scan loads it, then writes slots below cursor+slots.
 * Dekker pair with the producer's gate sleep: "store cursor, then load
 * GateSleepers" against "set GateSleepers, membarrier, rescan". */
static void store_cursor(shmring_reader *rd)
{
	publish64(rd->e_cursor, rd->q, rd->release);
	publish64(rd->e_received, rd->stats.messages, rd->release);
	if (rd->lossless && LOAD_SC(rd->gate_sleepers) != 0)
		wake_producer(rd);
}

/* validate: the seqlock's second load. The payload loads must come first. */
static int validate(const shmring_reader *rd, uint64_t q)
{
	loads_before_loads();
	return LOAD_ACQ(seq_word(rd, q)) == q + 1;
}

/* overrun moves the reader past q, which the producer overwrote, to a
 * quarter ring after the oldest position the ring holds (never past the
 * producer's cursor), and says how many it missed (LAYOUT.md 14.6 step 5). */
static int overrun(shmring_reader *rd)
{
	uint64_t q = rd->q, p = LOAD_SC(rd->cursor);
	if (p & SHMRING_SEQ_WRITING)
		return shmring__fail(SHMRING_ECORRUPT, "broadcast cursor=%#llx is no position", (unsigned long long)p);
	uint64_t nq = q + 1, margin = rd->slots / 4 > 1 ? rd->slots / 4 : 1;
	uint64_t oldest = p - (p < rd->slots ? p : rd->slots);
	if (oldest + margin > nq) {
		uint64_t cap = p > q + 1 ? p : q + 1;
		nq = oldest + margin < cap ? oldest + margin : cap;
	}
	rd->q = nq;
	uint64_t missed = nq - q;
	if (rd->lossless && q < rd->protect) {
		store_cursor(rd); /* a joiner's start moved forward: nothing it was promised */
		return 0;
	}
	rd->stats.lapped++;
	rd->stats.missed += missed;
	rd->last_missed = missed;
	publish64(rd->e_missed, rd->stats.missed, rd->release);
	store_cursor(rd);
	if (rd->lossless)
		return shmring__fail(SHMRING_ECORRUPT, "lossless reader overrun at position=%llu, missed %llu",
				     (unsigned long long)q, (unsigned long long)missed);
	return shmring__fail(SHMRING_ELAPPED, "missed %llu messages at position=%llu", (unsigned long long)missed,
			     (unsigned long long)q);
}

/* peek makes position q readable: 1 with its length, read once and
 * bounds-checked, in *n; 0 when q is not published yet; or a negative code. */
static int peek(shmring_reader *rd, uint32_t *n)
{
	for (;;) {
		uint64_t q = rd->q, s = LOAD_ACQ(seq_word(rd, q));
		if (s != q + 1) {
			switch (classify(rd, s, q)) {
			case SEQ_PENDING:
				return 0;
			case SEQ_BOGUS:
				return shmring__fail(SHMRING_ECORRUPT, "broadcast slot seq=%#llx at position=%llu",
						     (unsigned long long)s, (unsigned long long)q);
			default:
				break;
			}
			int rc = overrun(rd);
			if (rc)
				return rc;
			continue; /* a lossless joiner moved its start forward */
		}
		*n = LOAD_RLX((uint32_t *)(void *)(slot(rd, q) + SHMRING_BCAST_SLOT_LENGTH_OFFSET));
		if (*n > rd->slot_size) {
			if (LOAD_ACQ(seq_word(rd, q)) != q + 1)
				continue; /* overwritten while we looked: the loop reports it */
			return shmring__fail(SHMRING_ECORRUPT, "broadcast slot length=%u at position=%llu, slot size=%u", *n,
					     (unsigned long long)q, rd->slot_size);
		}
		return 1;
	}
}

static int arrived(void *self)
{
	shmring_reader *rd = self;
	return classify(rd, LOAD_ACQ(seq_word(rd, rd->q)), rd->q) != SEQ_PENDING;
}

/* consistent: a cursor past q while q's slot still says "not yet" is a value
 * no producer writes (Seq is stored before the cursor). */
static int consistent(shmring_reader *rd)
{
	uint64_t p = LOAD_SC(rd->cursor);
	if (p > rd->q && !(p & SHMRING_SEQ_WRITING) && !arrived(rd))
		return shmring__fail(SHMRING_ECORRUPT, "broadcast cursor=%llu but slot at position=%llu not published",
				     (unsigned long long)p, (unsigned long long)rd->q);
	return 0;
}

/* closed_short: the producer closed the stream and nothing is published at
 * q. State is loaded before the cursor. */
static int closed_short(void *self)
{
	shmring_reader *rd = self;
	uint32_t st = LOAD_SC(rd->state);
	if (st & ~SHMRING_STATE_MASK)
		return shmring__fail(SHMRING_ECORRUPT, "broadcast producer state=%#x", st);
	if (!(st & SHMRING_STATE_CLOSED))
		return 0;
	if (LOAD_SC(rd->cursor) <= rd->q)
		return shmring__fail(SHMRING_ECLOSED, "end of stream at position=%llu", (unsigned long long)rd->q);
	return consistent(rd);
}

static int probe(void *self)
{
	shmring_reader *rd = self;
	int rc = shmring__peer_dead(rd->r, SHMRING_BCAST_PRODUCER_STATE_OFFSET, SHMRING_BCAST_PRODUCER_LOCK_BYTE,
				    "broadcast producer");
	return rc ? rc : consistent(rd);
}

/* next waits until q's slot no longer says "not yet", then peeks it. */
static int next(shmring_reader *rd, uint32_t *n, int64_t timeout_ns)
{
	if (rd->closed)
		return shmring__fail(SHMRING_ECLOSED, "reader closed");
	if (rd->held)
		return shmring__fail(SHMRING_EINVAL, "receive while holding a message: release it first");
	for (;;) {
		int rc = peek(rd, n);
		if (rc)
			return rc > 0 ? 0 : rc;
		if (timeout_ns == 0)
			return (rc = closed_short(rd)) != 0 ? rc : SHMRING_EEMPTY;
		struct shmring_waiter w = {
			.self = rd,
			.ready = arrived,
			.stopped = closed_short,
			.probe = probe,
			.wake = rd->wake,
			.sleepers = rd->sleepers,
			.peer_flags = rd->flags,
			.keep_announced = 1, /* another reader may sleep on it */
			.yield_thread = 1,
			.sleeps = &rd->stats.sleeps,
		};
		if ((rc = shmring__await(&w, timeout_ns)) != 0)
			return rc;
	}
}

int shmring_reader_receive(shmring_reader *rd, const void **msg, size_t *n, int64_t timeout_ns)
{
	for (;;) {
		uint32_t len;
		int rc = next(rd, &len, timeout_ns);
		if (rc)
			return rc;
		uint64_t q = rd->q;
		const unsigned char *payload = slot(rd, q) + SHMRING_BCAST_SLOT_PAYLOAD_OFFSET;
		if (!rd->lossless || q >= rd->protect) {
			*msg = payload;
		} else {
			/* Below its protected position a lossless joiner may be
			 * overwritten: it reads a validated copy. */
			if (!rd->buf && !(rd->buf = malloc(rd->slot_size)))
				return shmring__fail(SHMRING_ENOMEM, "reader copy buffer");
			memcpy(rd->buf, payload, len);
			if (!validate(rd, q))
				continue; /* peek moves the start on */
			*msg = rd->buf;
		}
		*n = len;
		rd->held = 1;
		rd->held_bytes = len;
		return 0;
	}
}

int shmring_reader_release(shmring_reader *rd)
{
	if (rd->closed)
		return shmring__fail(SHMRING_ECLOSED, "reader closed");
	if (!rd->held)
		return shmring__fail(SHMRING_EINVAL, "release without a received message");
	rd->held = 0;
	if (!rd->lossless && !validate(rd, rd->q))
		return overrun(rd); /* what was read may be torn */
	rd->q++;
	rd->stats.messages++;
	rd->stats.bytes += rd->held_bytes;
	store_cursor(rd);
	return 0;
}

int shmring_reader_recv(shmring_reader *rd, void *buf, size_t cap, size_t *n, int64_t timeout_ns)
{
	for (;;) {
		uint32_t len;
		int rc = next(rd, &len, timeout_ns);
		if (rc)
			return rc;
		uint64_t q = rd->q;
		int check = !rd->lossless || q < rd->protect;
		if (len > cap) {
			if (check && !validate(rd, q))
				continue;
			return shmring__fail(SHMRING_ESHORTBUF, "message=%u bytes, buffer=%zu", len, cap);
		}
		memcpy(buf, slot(rd, q) + SHMRING_BCAST_SLOT_PAYLOAD_OFFSET, len);
		if (check && !validate(rd, q))
			continue; /* peek reports the overrun */
		rd->q++;
		rd->stats.messages++;
		rd->stats.bytes += len;
		store_cursor(rd);
		*n = len;
		return 0;
	}
}

uint64_t shmring_reader_missed(const shmring_reader *rd) { return rd->last_missed; }

uint64_t shmring_reader_lag(const shmring_reader *rd)
{
	uint64_t p = LOAD_ACQ(rd->cursor);
	return p > rd->q && !(p & SHMRING_SEQ_WRITING) ? p - rd->q : 0;
}

int shmring_reader_close(shmring_reader *rd)
{
	if (!rd)
		return 0;
	if (!rd->closed) {
		rd->closed = 1;
		XCHG_SC(rd->e_state, SHMRING_READER_FREE); /* full barrier: before the sleepers load */
		if (LOAD_SC(rd->gate_sleepers) != 0)
			wake_producer(rd); /* it may be waiting for this reader */
		close(rd->lock_fd);
	}
	free(rd->buf);
	free(rd);
	return 0;
}

shmring_stats shmring_reader_stats(const shmring_reader *rd) { return rd->stats; }
