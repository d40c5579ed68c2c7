/* spsc.c — taking, announcing and leaving an SPSC role (LAYOUT.md 11). */
#define _GNU_SOURCE
#include "spsc.h"

#include <limits.h>
#include <unistd.h>

static struct side side_of(shmring *r, enum role ro)
{
	if (ro == PRODUCER)
		return (struct side){
			.cursor = w64(r, SHMRING_PRODUCER_CURSOR_OFFSET),
			.wake = w32(r, SHMRING_PRODUCER_WAKE_OFFSET),
			.sleepers = w32(r, SHMRING_PRODUCER_SLEEPERS_OFFSET),
			.state = w32(r, SHMRING_PRODUCER_STATE_OFFSET),
			.epoch = w32(r, SHMRING_PRODUCER_EPOCH_OFFSET),
			.flags = w32(r, SHMRING_PRODUCER_FLAGS_OFFSET),
			.state_off = SHMRING_PRODUCER_STATE_OFFSET,
			.lock_byte = SHMRING_PRODUCER_LOCK_BYTE,
			.name = "producer",
		};
	return (struct side){
		.cursor = w64(r, SHMRING_CONSUMER_CURSOR_OFFSET),
		.wake = w32(r, SHMRING_CONSUMER_WAKE_OFFSET),
		.sleepers = w32(r, SHMRING_CONSUMER_SLEEPERS_OFFSET),
		.state = w32(r, SHMRING_CONSUMER_STATE_OFFSET),
		.epoch = w32(r, SHMRING_CONSUMER_EPOCH_OFFSET),
		.flags = w32(r, SHMRING_CONSUMER_FLAGS_OFFSET),
		.state_off = SHMRING_CONSUMER_STATE_OFFSET,
		.lock_byte = SHMRING_CONSUMER_LOCK_BYTE,
		.name = "consumer",
	};
}

int shmring__spsc_attach(struct endpoint *e, shmring *r, enum role ro)
{
	if (r->info.kind != SHMRING_KIND_SPSC)
		return shmring__fail(SHMRING_EKIND, "kind=%u: producers and consumers of this library are for spsc rings",
				     r->info.kind);
	*e = (struct endpoint){
		.r = r,
		.base = r->mem + r->info.slots_offset,
		.mask = r->info.slot_count - 1,
		.slots = r->info.slot_count,
		.stride = r->info.slot_stride,
		.slot_size = r->info.slot_size,
		.release = shmring__register_release(),
		.lock_fd = -1,
		.own = side_of(r, ro),
		.peer = side_of(r, ro == PRODUCER ? CONSUMER : PRODUCER),
	};
	return shmring__lock(r, e->own.lock_byte, &e->lock_fd);
}

void shmring__spsc_announce(struct endpoint *e)
{
	/* The flags go first: a peer that sees us attached must also see how
	 * we publish. The state store also clears a closed stream. */
	STORE_SC(e->own.flags, e->release ? SHMRING_FLAG_RELEASE_STORES : 0u);
	ADD_SC(e->own.epoch, 1u);
	STORE_SC(e->own.state, SHMRING_STATE_ATTACHED);
}

void shmring__spsc_wake_peer(struct endpoint *e)
{
	/* Clearing the flag first makes it one wake per sleep. */
	if (XCHG_SC(e->peer.sleepers, 0u) == 0)
		return;
	ADD_SC(e->own.wake, 1u);
	shmring__futex_wake(e->own.wake, INT_MAX);
	e->stats.wakes++;
}

static void detach(struct endpoint *e, uint32_t state)
{
	/* SYNC POINT: state. Stored (a full fence) before the sleepers check;
	 * a sleeper announces itself, then re-checks the state. */
	XCHG_SC(e->own.state, state);
	if (LOAD_SC(e->peer.sleepers) != 0)
		shmring__spsc_wake_peer(e);
}

void shmring__spsc_leave(struct endpoint *e, uint32_t state)
{
	e->closed = 1;
	if (!e->dead && e->lock_fd >= 0) { /* no lock: a forked child's copy, whose role is the parent's */
		SHMRING_GUARD(e->r, &e->dead, goto drop);
		detach(e, state);
		SHMRING_UNGUARD();
	}
drop:
	shmring__unlock(&e->lock_fd);
}

int shmring__spsc_probe_peer(void *self)
{
	struct endpoint *e = self;
	int rc = shmring__peer_dead(e->r, e->peer.state_off, e->peer.lock_byte, e->peer.name);
	if (rc)
		return rc;
	uint64_t v = LOAD_ACQ(e->peer.cursor);
	if (v < e->floor)
		return shmring__fail(SHMRING_ECORRUPT, "%s cursor=%llu went back below %llu, its value when last seen",
				     e->peer.name, (unsigned long long)v, (unsigned long long)e->floor);
	return 0;
}
