/* reader.c — a broadcast reader's reads (LAYOUT.md section 14.6).
 *
 * A slot's 64-bit Seq is a seqlock: 0 never written, p+1 position p
 * published, (p+1)|SEQ_WRITING being written. A lossy reader that copies a
 * message checks Seq again afterwards, so it never returns a torn message;
 * the producer waits only for lossless readers. */
#define _GNU_SOURCE
#include "reader.h"

#include <stdlib.h>
#include <string.h>

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
	/* A lossless joiner below protect that has delivered nothing yet only
	 * moves its start; once it delivered a message, a hole is a lap. */
	if (rd->lossless && q < rd->protect && rd->stats.messages == 0) {
		shmring__reader_store_cursor(rd);
		return 0;
	}
	rd->stats.lapped++;
	rd->stats.missed += missed;
	rd->last_missed = missed;
	publish64(rd->e_missed, rd->stats.missed, rd->release);
	shmring__reader_store_cursor(rd);
	if (rd->lossless && q >= rd->protect)
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
 * no producer writes (Seq is stored before the cursor); so are a cursor with
 * the writing mark and one more than a ring behind q (a reader goes by each
 * slot's Seq, stored before the cursor that covers a batch, so it may be up
 * to a ring past the cursor, never further). */
static int consistent(shmring_reader *rd)
{
	uint64_t p = LOAD_SC(rd->cursor);
	if ((p & SHMRING_SEQ_WRITING) || p + rd->slots < rd->q)
		return shmring__fail(SHMRING_ECORRUPT, "broadcast cursor=%#llx with the reader at position=%llu",
				     (unsigned long long)p, (unsigned long long)rd->q);
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
		struct shmring_waiter w = {
			.self = rd,
			.ring = rd->r,
			.ready = arrived,
			.stopped = closed_short,
			.probe = probe,
			.wake = rd->wake,
			.sleepers = rd->sleepers,
			.peer_flags = rd->flags,
			.keep_announced = 1, /* another reader may sleep on it */
			.yield_thread = 1,
			.sleeps = &rd->stats.sleeps,
			.polls = &rd->polls,
		};
		if (timeout_ns == 0)
			return (rc = closed_short(rd)) != 0 ? rc : shmring__polled(&w, SHMRING_EEMPTY, rd->q);
		if ((rc = shmring__await(&w, timeout_ns)) != 0)
			return rc;
	}
}

static int receive(shmring_reader *rd, const void **msg, size_t *n, int64_t timeout_ns)
{
	for (;;) {
		uint32_t len;
		int rc = next(rd, &len, timeout_ns);
		if (rc)
			return rc;
		uint64_t q = rd->q;
		const unsigned char *payload = slot(rd, q) + SHMRING_BCAST_SLOT_PAYLOAD_OFFSET;
		if (!rd->lossless || q >= rd->protect) {
			if (!shmring__intact(rd->r)) /* before the slot is handed out */
				return shmring__truncated(rd->r);
			*msg = payload;
		} else {
			/* Below its protected position a lossless joiner may be
			 * overwritten: it reads a validated copy. */
			if (!rd->buf && !(rd->buf = malloc(rd->slot_size)))
				return shmring__fail(SHMRING_ENOMEM, "reader copy buffer");
			memcpy(rd->buf, payload, len);
			if (!validate(rd, q))
				continue; /* peek moves the start on */
			if (!shmring__intact(rd->r)) /* after the copy */
				return shmring__truncated(rd->r);
			*msg = rd->buf;
		}
		*n = len;
		rd->held = 1;
		rd->held_bytes = len;
		return 0;
	}
}

static int release(shmring_reader *rd)
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
	shmring__reader_store_cursor(rd);
	return 0;
}

static int recv_copy(shmring_reader *rd, void *buf, size_t cap, size_t *n, int64_t timeout_ns)
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
			*n = len; /* what a buffer must hold */
			return shmring__fail(SHMRING_ESHORTBUF, "message=%u bytes, buffer=%zu", len, cap);
		}
		if (len) /* buf may be NULL with cap 0 */
			memcpy(buf, slot(rd, q) + SHMRING_BCAST_SLOT_PAYLOAD_OFFSET, len);
		if (check && !validate(rd, q))
			continue; /* peek reports the overrun */
		if (!shmring__intact(rd->r)) /* after the copy: it may hold zeroed bytes */
			return shmring__truncated(rd->r);
		rd->q++;
		rd->stats.messages++;
		rd->stats.bytes += len;
		shmring__reader_store_cursor(rd);
		*n = len;
		return 0;
	}
}

SHMRING_GUARDED_TWIN(receive_guarded, (shmring_reader *rd, const void **msg, size_t *n, int64_t timeout_ns), rd->r, &rd->dead, receive(rd, msg, n, timeout_ns))
SHMRING_GUARDED_TWIN(release_guarded, (shmring_reader *rd), rd->r, &rd->dead, release(rd))
SHMRING_GUARDED_TWIN(recv_copy_guarded, (shmring_reader *rd, void *buf, size_t cap, size_t *n, int64_t timeout_ns), rd->r, &rd->dead, recv_copy(rd, buf, cap, n, timeout_ns))

/* The public calls: each one guarded (guard.c). */

int shmring_reader_receive(shmring_reader *rd, const void **msg, size_t *n, int64_t timeout_ns)
{
	SHMRING_NEED(rd);
	SHMRING_NEED(msg);
	SHMRING_NEED(n);
	SHMRING_OWN(rd->lock_fd);
	SHMRING_GUARDED_RETURN(&rd->dead, receive(rd, msg, n, timeout_ns), receive_guarded(rd, msg, n, timeout_ns));
}

int shmring_reader_release(shmring_reader *rd)
{
	SHMRING_NEED(rd);
	SHMRING_OWN(rd->lock_fd);
	SHMRING_GUARDED_RETURN(&rd->dead, release(rd), release_guarded(rd));
}

int shmring_reader_recv(shmring_reader *rd, void *buf, size_t cap, size_t *n, int64_t timeout_ns)
{
	SHMRING_NEED(rd);
	SHMRING_NEED(n);
	if (cap)
		SHMRING_NEED(buf);
	SHMRING_OWN(rd->lock_fd);
	SHMRING_GUARDED_RETURN(&rd->dead, recv_copy(rd, buf, cap, n, timeout_ns), recv_copy_guarded(rd, buf, cap, n, timeout_ns));
}

uint64_t shmring_reader_missed(const shmring_reader *rd) { return rd ? rd->last_missed : 0; }

uint64_t shmring_reader_lag(const shmring_reader *rd)
{
	if (!rd)
		return 0;
	if (rd->dead)
		return 0;
	SHMRING_GUARD(rd->r, NULL, return 0); /* the next call marks it dead */
	uint64_t p = LOAD_ACQ(rd->cursor);
	SHMRING_UNGUARD();
	return p > rd->q && !(p & SHMRING_SEQ_WRITING) ? p - rd->q : 0;
}

shmring_stats shmring_reader_stats(const shmring_reader *rd) { return rd ? rd->stats : (shmring_stats){0}; }
