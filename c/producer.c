/* producer.c — the SPSC producer (LAYOUT.md section 8, "Producer"). */
#define _GNU_SOURCE
#include "spsc.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct shmring_producer {
	struct endpoint e;
	uint64_t head;  /* next position to write */
	uint64_t limit; /* positions below it are known free (cached consumer cursor + slots) */
	int claimed;
	uint64_t need;  /* the consumer cursor a wait waits for */
};

/* take_role fills p and takes the role for it (LAYOUT.md section 11). */
static int take_role(shmring_producer *p, shmring *r)
{
	if (r->info.flags & SHMRING_FLAG_TELEMETRY)
		/* LAYOUT.md 16.3: a producer stamps each sampled position before
		 * publishing it. This library does not, and a Go consumer would
		 * take the stamps of an earlier lap for this message's. */
		return shmring__fail(SHMRING_EUNSUPPORTED,
				     "producing on a ring with telemetry is not supported by the C library (it stores no latency stamps): flags=%#x",
				     r->info.flags);
	int rc = shmring__spsc_attach(&p->e, r, PRODUCER);
	if (rc)
		return rc;
	uint64_t head = LOAD_ACQ(p->e.own.cursor), cons = LOAD_ACQ(p->e.peer.cursor);
	if (cons > head || head - cons > p->e.slots)
		return shmring__fail(SHMRING_ECORRUPT, "producer cursor=%llu consumer cursor=%llu slots=%llu",
				     (unsigned long long)head, (unsigned long long)cons, (unsigned long long)p->e.slots);
	/* A new producer continues at head: what a dead one claimed and did
	 * not publish is gone. */
	p->head = head;
	p->limit = cons + p->e.slots;
	shmring__spsc_announce(&p->e);
	return 0;
}

/* drop frees a handle that never got its role: only the lock to give up. */
static void drop(shmring_producer *p)
{
	shmring__unlock(&p->e.lock_fd);
	free(p);
}

int shmring_producer_open(shmring *r, shmring_producer **out)
{
	SHMRING_NEED(r);
	SHMRING_NEED(out);
	int ref = shmring__ref(r);
	if (ref)
		return ref;
	shmring_producer *p = calloc(1, sizeof *p);
	if (!p) {
		shmring__unref(r);
		return shmring__fail(SHMRING_ENOMEM, "producer handle");
	}
	p->e.lock_fd = -1;
	SHMRING_GUARD(r, NULL, {
		drop(p);
		shmring__unref(r);
		return SHMRING_ETRUNCATED;
	});
	int rc = take_role(p, r);
	SHMRING_UNGUARD();
	if (rc) {
		drop(p);
		shmring__unref(r);
		return rc;
	}
	*out = p;
	return 0;
}

/* adopt validates a consumer cursor read from the mapping: it can neither go
 * back nor pass what was published. */
static int adopt(shmring_producer *p, uint64_t cons)
{
	if (cons > p->head || cons + p->e.slots < p->limit)
		return shmring__fail(SHMRING_ECORRUPT, "consumer cursor=%llu, producer head=%llu known free below=%llu",
				     (unsigned long long)cons, (unsigned long long)p->head, (unsigned long long)p->limit);
	p->limit = cons + p->e.slots;
	return 0;
}

static int space_ready(void *self)
{
	shmring_producer *p = self;
	return LOAD_ACQ(p->e.peer.cursor) >= p->need;
}

/* reserve makes the slot at head free, waiting up to timeout. */
static int reserve(shmring_producer *p, int64_t timeout_ns)
{
	if (p->e.closed)
		return shmring__fail(SHMRING_ECLOSED, "producer closed");
	if (p->claimed)
		return shmring__fail(SHMRING_EINVAL, "a claim is open: commit or abort it first");
	if (p->head < p->limit)
		return 0;
	int rc = adopt(p, LOAD_ACQ(p->e.peer.cursor));
	if (rc || p->head < p->limit)
		return rc;
	p->need = p->head - p->e.slots + 1;
	p->e.floor = p->limit - p->e.slots;
	struct shmring_waiter w = {
		.self = p,
		.ring = p->e.r,
		.ready = space_ready,
		.probe = shmring__spsc_probe_peer,
		.wake = p->e.peer.wake,
		.sleepers = p->e.own.sleepers,
		.peer_flags = p->e.peer.flags,
		.sleeps = &p->e.stats.sleeps,
		.polls = &p->e.polls,
	};
	if (timeout_ns == 0)
		return shmring__polled(&w, SHMRING_EFULL, p->need);
	if ((rc = shmring__await(&w, timeout_ns)) != 0)
		return rc;
	uint64_t cons = LOAD_ACQ(p->e.peer.cursor);
	if ((rc = adopt(p, cons)) != 0)
		return rc;
	if (p->head >= p->limit) /* the wait saw it free; cursors only grow */
		return shmring__fail(SHMRING_ECORRUPT, "consumer cursor=%llu does not free position=%llu",
				     (unsigned long long)cons, (unsigned long long)p->head);
	return 0;
}

/* shrunk: the end mark is gone before a publish (a consumer checks it as
 * it reads, so what is published into a shrunk file reaches no one and the
 * call must not say it was sent). One load of a line nobody writes. */
static int shrunk(const shmring_producer *p)
{
	return shmring__intact(p->e.r) ? 0 : shmring__truncated(p->e.r);
}

/* publish_one publishes the message written at head.
 *
 * SYNC POINT: cursor and seq. Length and payload are written before both
 * stores; the consumer loads one of them, then reads the slot. The cursor
 * goes first, so a consumer that saw the seq finds the cursor past it. */
static void publish_one(shmring_producer *p, uint32_t n)
{
	unsigned char *s = spsc_slot(&p->e, p->head);
	STORE_RLX((uint32_t *)(void *)(s + SHMRING_SLOT_LENGTH_OFFSET), n);
	uint64_t pos = p->head++;
	p->e.stats.messages++;
	p->e.stats.bytes += n;
	spsc_publish(&p->e, p->head);
	STORE_REL((uint32_t *)(void *)(s + SHMRING_SLOT_SEQ_OFFSET), (uint32_t)(pos + 1));
}

static int claim(shmring_producer *p, void **buf, size_t *cap, int64_t timeout_ns)
{
	int rc = reserve(p, timeout_ns);
	if (rc)
		return rc;
	/* A slot of a shrunk file may lie on a page that is gone: its first
	 * write, the caller's, would be a SIGBUS no guard catches. */
	rc = shrunk(p);
	if (rc)
		return rc;
	p->claimed = 1;
	*buf = spsc_slot(&p->e, p->head) + SHMRING_SLOT_PAYLOAD_OFFSET;
	*cap = p->e.slot_size;
	return 0;
}

static int commit(shmring_producer *p, size_t n)
{
	if (!p->claimed)
		return shmring__fail(SHMRING_EINVAL, "commit without a claim");
	if (n > p->e.slot_size)
		return shmring__fail(SHMRING_ETOOLARGE, "commit length=%zu, slot size=%u", n, p->e.slot_size);
	p->claimed = 0;
	int rc = shrunk(p);
	if (rc)
		return rc; /* the ring is dead: the claim ends unpublished */
	publish_one(p, (uint32_t)n);
	return 0;
}

void shmring_producer_abort(shmring_producer *p)
{
	if (p)
		p->claimed = 0;
}

static int send_copy(shmring_producer *p, const void *msg, size_t n, int64_t timeout_ns)
{
	if (n > p->e.slot_size)
		return shmring__fail(SHMRING_ETOOLARGE, "message=%zu bytes, slot size=%u", n, p->e.slot_size);
	int rc = shrunk(p);
	if (rc || (rc = reserve(p, timeout_ns)) != 0)
		return rc;
	if (n) /* msg may be NULL with n 0 */
		memcpy(spsc_slot(&p->e, p->head) + SHMRING_SLOT_PAYLOAD_OFFSET, msg, n);
	publish_one(p, (uint32_t)n);
	return 0;
}

SHMRING_GUARDED_TWIN(claim_guarded, (shmring_producer *p, void **buf, size_t *cap, int64_t timeout_ns), p->e.r, &p->e.dead, claim(p, buf, cap, timeout_ns))
SHMRING_GUARDED_TWIN(commit_guarded, (shmring_producer *p, size_t n), p->e.r, &p->e.dead, commit(p, n))
SHMRING_GUARDED_TWIN(send_copy_guarded, (shmring_producer *p, const void *msg, size_t n, int64_t timeout_ns), p->e.r, &p->e.dead, send_copy(p, msg, n, timeout_ns))

/* The public calls: each one guarded (guard.c). */

int shmring_producer_claim(shmring_producer *p, void **buf, size_t *cap, int64_t timeout_ns)
{
	SHMRING_NEED(p);
	SHMRING_NEED(buf);
	SHMRING_NEED(cap);
	SHMRING_OWN(p->e.lock_fd);
	SHMRING_GUARDED_RETURN(&p->e.dead, claim(p, buf, cap, timeout_ns), claim_guarded(p, buf, cap, timeout_ns));
}

int shmring_producer_commit(shmring_producer *p, size_t n)
{
	SHMRING_NEED(p);
	SHMRING_OWN(p->e.lock_fd);
	SHMRING_GUARDED_RETURN(&p->e.dead, commit(p, n), commit_guarded(p, n));
}

int shmring_producer_send(shmring_producer *p, const void *msg, size_t n, int64_t timeout_ns)
{
	SHMRING_NEED(p);
	if (n)
		SHMRING_NEED(msg);
	SHMRING_OWN(p->e.lock_fd);
	SHMRING_GUARDED_RETURN(&p->e.dead, send_copy(p, msg, n, timeout_ns), send_copy_guarded(p, msg, n, timeout_ns));
}

int shmring_producer_close(shmring_producer *p)
{
	if (!p)
		return 0;
	shmring *r = p->e.r;
	if (!p->e.closed)
		shmring__spsc_leave(&p->e, SHMRING_STATE_CLOSED);
	free(p);
	shmring__unref(r);
	return 0;
}

shmring_stats shmring_producer_stats(const shmring_producer *p) { return p ? p->e.stats : (shmring_stats){0}; }
