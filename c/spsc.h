/* spsc.h — what an SPSC producer and consumer share (LAYOUT.md sections
 * 7–11): the slot geometry in private copies from the validated header, each
 * side's words, the role lock, and publishing with the wake-up check. */
#ifndef SHMRING_SPSC_H
#define SHMRING_SPSC_H

#include "internal.h"

struct side {
	uint64_t *cursor;
	uint32_t *wake;     /* futex word the other side sleeps on */
	uint32_t *sleepers; /* non-zero while this side sleeps, or is about to */
	uint32_t *state;
	uint32_t *epoch;
	uint32_t *flags;
	uint64_t state_off, lock_byte;
	const char *name;
};

struct endpoint {
	shmring *r;
	unsigned char *base; /* slot 0 */
	uint64_t mask, slots, stride;
	uint32_t slot_size;
	int release; /* this side publishes with plain release stores (and said so) */
	int lock_fd;
	int closed;
	int dead; /* a fault in the mapping met this handle (guard.c) */
	struct side own, peer;
	shmring_stats stats;
	struct shmring_polls polls;
	/* the peer's cursor as last adopted, set before a wait: it only grows,
	 * so a probe that finds it lower reports corruption (LAYOUT.md 10) */
	uint64_t floor;
};

enum role { PRODUCER, CONSUMER };

/* attach takes the role's lock and fills e; announce then marks it taken. */
int shmring__spsc_attach(struct endpoint *e, shmring *r, enum role ro);
void shmring__spsc_announce(struct endpoint *e);
/* leave leaves state behind (closed for a producer) and wakes a sleeping
 * peer, guarded, unless the handle is dead; then drops the lock. */
void shmring__spsc_leave(struct endpoint *e, uint32_t state);
void shmring__spsc_wake_peer(struct endpoint *e);
int shmring__spsc_probe_peer(void *e);

static inline unsigned char *spsc_slot(const struct endpoint *e, uint64_t pos)
{
	return e->base + (pos & e->mask) * e->stride;
}

/* spsc_publish stores this side's cursor and wakes the other side if it
 * sleeps.
 *
 * SYNC POINT: cursor. The slot writes (producer) or reads (consumer) before
 * the store are ordered before it; the other side loads the cursor, then
 * touches the slots below it. Dekker pair: "store cursor, then load the
 * peer's sleepers" here against "announce, then re-check" in the waiter;
 * with a release store the StoreLoad order comes from the sleeper's
 * membarrier. */
static inline void spsc_publish(struct endpoint *e, uint64_t v)
{
	publish64(e->own.cursor, v, e->release);
	if (LOAD_SC(e->peer.sleepers) != 0)
		shmring__spsc_wake_peer(e);
}

#endif
