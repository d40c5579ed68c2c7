/* consumer.c — the SPSC consumer (LAYOUT.md section 8, "Consumer"). */
#define _GNU_SOURCE
#include "spsc.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct shmring_consumer {
	struct endpoint e;
	uint64_t tail;  /* next position to read */
	uint64_t avail; /* positions below it are known published (cached producer cursor) */
	uint64_t held;  /* messages leased and not released */
	uint64_t held_bytes;
	uint64_t need;  /* what a wait waits for */
};

/* take_role fills c and takes the role for it (LAYOUT.md section 11). */
static int take_role(shmring_consumer *c, shmring *r)
{
	int rc = shmring__spsc_attach(&c->e, r, CONSUMER);
	if (rc)
		return rc;
	uint64_t tail = LOAD_ACQ(c->e.own.cursor), prod = LOAD_ACQ(c->e.peer.cursor);
	if (tail > prod || prod - tail > c->e.slots)
		return shmring__fail(SHMRING_ECORRUPT, "consumer cursor=%llu producer cursor=%llu slots=%llu",
				     (unsigned long long)tail, (unsigned long long)prod, (unsigned long long)c->e.slots);
	c->tail = c->avail = tail;
	shmring__spsc_announce(&c->e);
	return 0;
}

/* drop frees a handle that never got its role: only the lock to give up. */
static void drop(shmring_consumer *c)
{
	shmring__unlock(&c->e.lock_fd);
	free(c);
}

int shmring_consumer_open(shmring *r, shmring_consumer **out)
{
	SHMRING_NEED(r);
	SHMRING_NEED(out);
	int ref = shmring__ref(r);
	if (ref)
		return ref;
	shmring_consumer *c = calloc(1, sizeof *c);
	if (!c) {
		shmring__unref(r);
		return shmring__fail(SHMRING_ENOMEM, "consumer handle");
	}
	c->e.lock_fd = -1;
	SHMRING_GUARD(r, NULL, {
		drop(c);
		shmring__unref(r);
		return SHMRING_ETRUNCATED;
	});
	int rc = take_role(c, r);
	SHMRING_UNGUARD();
	if (rc) {
		drop(c);
		shmring__unref(r);
		return rc;
	}
	*out = c;
	return 0;
}

/* seq_ready: the slot at tail carries its position's seq, so it is published,
 * learnt from the slot's own line instead of the producer's cursor line.
 * Only equality is trusted; a forged seq at worst makes the consumer read a
 * slot early, whose length is still checked. */
static int seq_ready(shmring_consumer *c)
{
	uint32_t *seq = (uint32_t *)(void *)(spsc_slot(&c->e, c->tail) + SHMRING_SLOT_SEQ_OFFSET);
	if (LOAD_ACQ(seq) != (uint32_t)(c->tail + 1))
		return 0;
	c->avail = c->tail + 1;
	return 1;
}

/* adopt validates a producer cursor read from the mapping: it can neither go
 * back nor run more than a ring ahead of what was released. */
static int adopt(shmring_consumer *c, uint64_t prod)
{
	if (prod < c->avail || prod - c->tail > c->e.slots)
		return shmring__fail(SHMRING_ECORRUPT, "producer cursor=%llu, consumer tail=%llu known published below=%llu",
				     (unsigned long long)prod, (unsigned long long)c->tail, (unsigned long long)c->avail);
	c->avail = prod;
	return 0;
}

/* closed_short: the producer closed the stream and its cursor stays short of
 * need. State is loaded before the cursor: the producer stores its last
 * cursor before its closed state. */
static int closed_short(void *self)
{
	shmring_consumer *c = self;
	uint32_t st = LOAD_SC(c->e.peer.state);
	if (st & ~SHMRING_STATE_MASK)
		return shmring__fail(SHMRING_ECORRUPT, "producer state=%#x", st);
	if (!(st & SHMRING_STATE_CLOSED) || LOAD_SC(c->e.peer.cursor) >= c->need)
		return 0;
	return shmring__fail(SHMRING_ECLOSED, "end of stream at position=%llu", (unsigned long long)c->tail);
}

static int data_ready(void *self)
{
	shmring_consumer *c = self;
	return LOAD_ACQ(c->e.peer.cursor) >= c->need;
}

static struct shmring_waiter data_waiter(shmring_consumer *c);

/* fill makes at least one message readable at tail, waiting up to timeout. */
static int fill(shmring_consumer *c, int64_t timeout_ns)
{
	if (c->e.closed)
		return shmring__fail(SHMRING_ECLOSED, "consumer closed");
	if (c->held)
		return shmring__fail(SHMRING_EINVAL, "receive while holding a message: release it first");
	if (c->tail < c->avail || seq_ready(c))
		return 0;
	int rc = adopt(c, LOAD_ACQ(c->e.peer.cursor));
	if (rc || c->tail < c->avail)
		return rc;
	c->need = c->tail + 1;
	c->e.floor = c->avail;
	if ((rc = closed_short(c)) != 0)
		return rc;
	struct shmring_waiter w = data_waiter(c);
	if (timeout_ns == 0)
		return shmring__polled(&w, SHMRING_EEMPTY, c->need);
	if ((rc = shmring__await(&w, timeout_ns)) != 0)
		return rc;
	uint64_t prod = LOAD_ACQ(c->e.peer.cursor);
	if ((rc = adopt(c, prod)) != 0)
		return rc;
	/* The wait saw the cursor reach need; cursors only grow. Still short
	 * (need wrapped past 2^64, or the word went back) is no correct peer. */
	if (c->tail >= c->avail)
		return shmring__fail(SHMRING_ECORRUPT, "producer cursor=%llu does not cover position=%llu",
				     (unsigned long long)prod, (unsigned long long)c->tail);
	return 0;
}

static struct shmring_waiter data_waiter(shmring_consumer *c)
{
	return (struct shmring_waiter){
		.self = c,
		.ring = c->e.r,
		.ready = data_ready,
		.stopped = closed_short,
		.probe = shmring__spsc_probe_peer,
		.wake = c->e.peer.wake,
		.sleepers = c->e.own.sleepers,
		.peer_flags = c->e.peer.flags,
		.sleeps = &c->e.stats.sleeps,
		.polls = &c->e.polls,
	};
}

/* length reads the slot's length once and bounds-checks it. */
static int length(shmring_consumer *c, uint32_t *n)
{
	*n = LOAD_RLX((uint32_t *)(void *)(spsc_slot(&c->e, c->tail) + SHMRING_SLOT_LENGTH_OFFSET));
	if (*n > c->e.slot_size)
		return shmring__fail(SHMRING_ECORRUPT, "slot length=%u at position=%llu, slot size=%u", *n,
				     (unsigned long long)c->tail, c->e.slot_size);
	return 0;
}

static int receive(shmring_consumer *c, const void **msg, size_t *n, int64_t timeout_ns)
{
	int rc = fill(c, timeout_ns);
	uint32_t len;
	if (rc || (rc = length(c, &len)) != 0)
		return rc;
	if (!shmring__intact(c->e.r)) /* before the slot is handed out */
		return shmring__truncated(c->e.r);
	*msg = spsc_slot(&c->e, c->tail) + SHMRING_SLOT_PAYLOAD_OFFSET;
	*n = len;
	c->held = 1;
	c->held_bytes = len;
	return 0;
}

static int release(shmring_consumer *c)
{
	if (c->e.closed)
		return shmring__fail(SHMRING_ECLOSED, "consumer closed");
	if (!c->held)
		return shmring__fail(SHMRING_EINVAL, "release without a received message");
	c->tail += c->held;
	c->e.stats.messages += c->held;
	c->e.stats.bytes += c->held_bytes;
	c->held = c->held_bytes = 0;
	spsc_publish(&c->e, c->tail);
	return 0;
}

static int recv_copy(shmring_consumer *c, void *buf, size_t cap, size_t *n, int64_t timeout_ns)
{
	int rc = fill(c, timeout_ns);
	uint32_t len;
	if (rc || (rc = length(c, &len)) != 0)
		return rc;
	if (len > cap) {
		*n = len; /* what a buffer must hold */
		return shmring__fail(SHMRING_ESHORTBUF, "message=%u bytes, buffer=%zu", len, cap);
	}
	if (len) /* buf may be NULL with cap 0 */
		memcpy(buf, spsc_slot(&c->e, c->tail) + SHMRING_SLOT_PAYLOAD_OFFSET, len);
	if (!shmring__intact(c->e.r)) /* after the copy: it may hold zeroed bytes */
		return shmring__truncated(c->e.r);
	*n = len;
	c->tail++;
	c->e.stats.messages++;
	c->e.stats.bytes += len;
	spsc_publish(&c->e, c->tail);
	return 0;
}

SHMRING_GUARDED_TWIN(receive_guarded, (shmring_consumer *c, const void **msg, size_t *n, int64_t timeout_ns), c->e.r, &c->e.dead, receive(c, msg, n, timeout_ns))
SHMRING_GUARDED_TWIN(release_guarded, (shmring_consumer *c), c->e.r, &c->e.dead, release(c))
SHMRING_GUARDED_TWIN(recv_copy_guarded, (shmring_consumer *c, void *buf, size_t cap, size_t *n, int64_t timeout_ns), c->e.r, &c->e.dead, recv_copy(c, buf, cap, n, timeout_ns))

/* The public calls: each one guarded (guard.c). */

int shmring_consumer_receive(shmring_consumer *c, const void **msg, size_t *n, int64_t timeout_ns)
{
	SHMRING_NEED(c);
	SHMRING_NEED(msg);
	SHMRING_NEED(n);
	SHMRING_OWN(c->e.lock_fd);
	SHMRING_GUARDED_RETURN(&c->e.dead, receive(c, msg, n, timeout_ns), receive_guarded(c, msg, n, timeout_ns));
}

int shmring_consumer_release(shmring_consumer *c)
{
	SHMRING_NEED(c);
	SHMRING_OWN(c->e.lock_fd);
	SHMRING_GUARDED_RETURN(&c->e.dead, release(c), release_guarded(c));
}

int shmring_consumer_recv(shmring_consumer *c, void *buf, size_t cap, size_t *n, int64_t timeout_ns)
{
	SHMRING_NEED(c);
	SHMRING_NEED(n);
	if (cap)
		SHMRING_NEED(buf);
	SHMRING_OWN(c->e.lock_fd);
	SHMRING_GUARDED_RETURN(&c->e.dead, recv_copy(c, buf, cap, n, timeout_ns), recv_copy_guarded(c, buf, cap, n, timeout_ns));
}

int shmring_consumer_close(shmring_consumer *c)
{
	if (!c)
		return 0;
	shmring *r = c->e.r;
	if (!c->e.closed)
		shmring__spsc_leave(&c->e, 0);
	free(c);
	shmring__unref(r);
	return 0;
}

shmring_stats shmring_consumer_stats(const shmring_consumer *c) { return c ? c->e.stats : (shmring_stats){0}; }
