/* wait.c — the one wait loop (LAYOUT.md section 10): spin, yield, then
 * futex sleeps of at most a tick with the announce/re-check handshake. */
#define _GNU_SOURCE
#include "internal.h"

#include <sched.h>

enum {
	SPIN = 1 << 10,  /* polls before yielding (Go: DefaultWait.Spin) */
	YIELD = 16,      /* polls, each after sched_yield for a reader (see yield_thread) */
};
#define TICK_NS 10000000LL  /* longest sleep between liveness probes (Go: DefaultTick) */
#define NO_BARRIER_NS 1000000LL /* sleep cap when membarrier is unavailable */

/* probe_peer probes; a peer found dead while the condition holds (it
 * published before it died) is reported once that has been taken. The
 * verdict is kept in the handle's found_dead. */
static int probe_peer(const struct shmring_waiter *w)
{
	int rc = w->probe(w->self);
	if (rc == SHMRING_EPEERDEAD && w->ready(w->self) > 0)
		rc = 0;
	w->polls->found_dead = rc == SHMRING_EPEERDEAD;
	return rc;
}

int shmring__polled(const struct shmring_waiter *w, int fail, uint64_t at)
{
	struct shmring_polls *p = w->polls;
	if (!p->found_dead) { /* found dead: every failure probes */
		if (at != p->at) {
			p->at = at;
			p->fails = 0;
		}
		if ((++p->fails & 15) != 2) /* a poller that keeps up never reads the clock */
			return shmring__plain(fail);
		int64_t now = shmring__now();
		if (now < p->next)
			return shmring__plain(fail);
		p->next = now + TICK_NS;
	}
	int rc = probe_peer(w);
	return rc ? rc : shmring__plain(fail);
}

int shmring__await(const struct shmring_waiter *w, int64_t timeout_ns)
{
	int rc;
	if (w->polls->found_dead && (rc = probe_peer(w)) != 0)
		return rc;
	/* No PAUSE between polls, as Go's spin has none: measured here, it
	 * made a C consumer of a Go producer 10-45 % slower (it reacts later
	 * to each publish, and the producer then waits on a full ring more). */
	for (int i = 0; i < SPIN; i++)
		if ((rc = w->ready(w->self)) != 0)
			return rc > 0 ? 0 : rc;
	int64_t deadline = timeout_ns > 0 ? shmring__deadline(timeout_ns) : -1;
	for (int i = 0; i < YIELD; i++) {
		if (w->yield_thread)
			sched_yield();
		if ((rc = w->ready(w->self)) != 0)
			return rc > 0 ? 0 : rc;
		if (w->stopped && (rc = w->stopped(w->self)) != 0)
			return rc;
	}
	int probe = 0;
	for (;;) {
		if ((rc = w->ready(w->self)) != 0)
			return rc > 0 ? 0 : rc;
		if (w->stopped && (rc = w->stopped(w->self)) != 0)
			return rc;
		/* A shrunk file: the other side hears of it within a tick. */
		if (!shmring__intact(w->ring))
			return shmring__truncated(w->ring);
		if (probe && (rc = probe_peer(w)) != 0)
			return rc;
		int64_t sleep = TICK_NS;
		if (deadline >= 0) {
			int64_t left = deadline - shmring__now();
			if (left <= 0)
				return shmring__fail(SHMRING_ETIMEDOUT, "waited %lld ns", (long long)timeout_ns);
			if (left < sleep)
				sleep = left;
		}
		/* The wake word is read before announcing: a waker that clears
		 * this announcement bumps the word after the read, so the wait
		 * returns at once (LAYOUT.md section 10). */
		uint32_t v = LOAD_SC(w->wake);
		XCHG_SC(w->sleepers, 1u); /* announce: a full fence */
		/* The peer publishes with plain release stores: force its missing
		 * StoreLoad fence. Without membarrier a wake can be missed, so
		 * look again soon. */
		if ((LOAD_SC(w->peer_flags) & SHMRING_FLAG_RELEASE_STORES) && shmring__barrier() != 0 &&
		    sleep > NO_BARRIER_NS)
			sleep = NO_BARRIER_NS;
		rc = w->ready(w->self);
		if (rc == 0 && w->stopped)
			rc = w->stopped(w->self);
		if (rc != 0) {
			if (!w->keep_announced)
				STORE_SC(w->sleepers, 0u);
			continue; /* the top of the loop reports it */
		}
		(*w->sleeps)++;
		int r = shmring__futex_wait(w->wake, v, sleep);
		if (!w->keep_announced)
			STORE_SC(w->sleepers, 0u);
		probe = r == SHMRING_ETIMEDOUT;
	}
}
