/*
 * internal.h — what the library's files share and users never see: the ring
 * handle, atomic access to words of the mapping, the error detail, the
 * liveness locks and the wait loop.
 *
 * Memory model (LAYOUT.md section 9). Every shared word is read and written
 * with GCC/Clang __atomic builtins on offsets the validated header makes
 * aligned; payload bytes are plain memory ordered by those atomics. A side
 * that publishes with a plain release store says so with
 * SHMRING_FLAG_RELEASE_STORES, and only after membarrier registration
 * succeeded; otherwise its stores are sequentially consistent.
 */
#ifndef SHMRING_INTERNAL_H
#define SHMRING_INTERNAL_H

/* sigjmp_buf and the rest of POSIX and Linux under -std=c11: every file of
 * the library includes this header before any system header. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "shmring.h"

#include <setjmp.h>
#include <stdint.h>
#include <stddef.h>

struct shmring {
	int fd;             /* the ring's own descriptor: probes peers' locks, reopened for ours */
	unsigned char *mem; /* the whole file, mapped */
	size_t map_len;     /* bytes mapped: FileSize, rounded up to huge pages on hugetlbfs */
	shmring_info info;  /* from the validated header; never re-read */
	/* refs: the caller's reference, until shmring_close, and one per open
	 * role handle; the mapping and the descriptor go with the last, so a
	 * ring closed before its handles stays mapped under them. closed:
	 * shmring_close ran; no new handle. */
	int refs;
	int closed;
};

/* shmring__ref takes a reference for a new role handle, or fails once
 * shmring_close ran; shmring__unref drops one, and the last unmaps. */
int shmring__ref(shmring *r);
void shmring__unref(shmring *r);

/* Words of the mapping. off is a layout offset: aligned by construction. */
static inline uint32_t *w32(const shmring *r, uint64_t off) { return (uint32_t *)(void *)(r->mem + off); }
static inline uint64_t *w64(const shmring *r, uint64_t off) { return (uint64_t *)(void *)(r->mem + off); }

#define LOAD_ACQ(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define LOAD_SC(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define LOAD_RLX(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define STORE_REL(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define STORE_SC(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define STORE_RLX(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define XCHG_SC(p, v) __atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST)
#define ADD_SC(p, v) __atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)

/* publish64 stores a cursor: a plain release store when this process
 * registered for membarrier and advertised it, else sequentially consistent
 * (the StoreLoad order the sleeper handshake needs). */
static inline void publish64(uint64_t *p, uint64_t v, int release)
{
	if (release)
		STORE_REL(p, v);
	else
		STORE_SC(p, v);
}

/* A seqlock reader's payload loads must be ordered before its second load
 * of the sequence (LAYOUT.md 14.6 step 3): x86-64 does not reorder loads
 * with loads, so a compiler barrier suffices; elsewhere a full fence. */
static inline void loads_before_loads(void)
{
#if defined(__x86_64__)
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
#else
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

/* shmring__intact: the end mark still says the file has its full size
 * (LAYOUT.md section 2, "The end unit"). A peer that shrinks the file takes
 * the end unit's page away before it zeroes the tail of any slot's page, so
 * a reader that finds the mark after copying a message knows no byte it
 * copied was zeroed: the copy's loads are ordered before this one. A file
 * shrunk and grown back reads zero here; one shrunk and not grown faults
 * (SIGBUS: see guard.c). */
static inline int shmring__intact(const shmring *r)
{
	loads_before_loads();
	return LOAD_RLX(w64(r, r->info.end_offset)) == SHMRING_END_MARK;
}

/* shmring__truncated is the error of a reader that found the mark gone. */
int shmring__truncated(const shmring *r);

/* shmring__decode validates a private copy of the 128 header bytes (the
 * ready word is not looked at) and fills h. */
int shmring__decode(const unsigned char *b, shmring_info *h);

/* The opener's steps: name.c resolves a name to its path (into cap bytes);
 * trust.c checks the opened file: its type, owner and size, and its mode
 * when check_mode (not for a memfd, which has no name for a mode to
 * guard). */
int shmring__resolve(const char *name, char *path, size_t cap);
int shmring__check_trust(int fd, const char *what, const shmring_open_options *o, int check_mode);
uint64_t shmring__max_file_size(const shmring_open_options *o);

/*
 * The SIGBUS guard (guard.c). A call that touches the mapping opens with
 *
 *	SHMRING_GUARD(ring, &handle->dead, on_fault);
 *
 * and calls SHMRING_UNGUARD() before every return after it. While
 * shmring_sigbus_guard() has not been called it costs one untaken branch.
 * Once it has, a SIGBUS on the ring's mapping inside the call comes back
 * here: the handle is marked dead, the detail set, and the statement
 * on_fault runs (a return). Nothing the call changed in locals after the
 * macro may be read in on_fault; what lives in the handle may.
 */
struct shmring__guard {
	sigjmp_buf env;
	uintptr_t lo;
	size_t len;
	struct shmring__guard *prev;
};
extern int shmring__guard_on;
void shmring__guard_enter(struct shmring__guard *g, const shmring *r);
void shmring__guard_leave(struct shmring__guard *g);
/* guard_fault marks *dead (if dead) and returns SHMRING_ETRUNCATED; dead is
 * what a dead handle's later calls return. */
int shmring__guard_fault(const shmring *r, int *dead);
int shmring__dead(void);

#define SHMRING_GUARD(ring, deadp, on_fault)                                         	struct shmring__guard guard__;                                               	const int guarded__ = __atomic_load_n(&shmring__guard_on, __ATOMIC_RELAXED); 	if (guarded__) {                                                             		if (sigsetjmp(guard__.env, 0) != 0) {                                			shmring__guard_fault((ring), (deadp));                       			on_fault;                                                    		}                                                                    		shmring__guard_enter(&guard__, (ring));                              	}
#define SHMRING_UNGUARD()                                  	do {                                               		if (guarded__)                             			shmring__guard_leave(&guard__);    	} while (0)

/* SHMRING_GUARDED_RETURN is the whole body of a public call that returns a
 * code: a dead handle's calls fail at once; with the guard off the rest run
 * call directly, with it on guarded, a function of its own made by
 * SHMRING_GUARDED_TWIN. The sigsetjmp stays out of the unguarded path: a
 * function that calls it (returns_twice) is compiled without most
 * optimisations, which cost the consumer's copying receive about 15 %. */
#define SHMRING_GUARDED_RETURN(deadp, call, guarded)                                         \
	do {                                                                                 \
		if (*(deadp))                                                                \
			return shmring__dead();                                              \
		if (__builtin_expect(!__atomic_load_n(&shmring__guard_on, __ATOMIC_RELAXED), 1)) \
			return (call);                                                       \
		return (guarded);                                                            \
	} while (0)

/* SHMRING_GUARDED_TWIN defines name(params), which runs call under the
 * guard. */
#define SHMRING_GUARDED_TWIN(name, params, ring, deadp, call)           \
	static __attribute__((noinline)) int name params                \
	{                                                               \
		SHMRING_GUARD(ring, deadp, return SHMRING_ETRUNCATED);  \
		int rc__ = (call);                                      \
		SHMRING_UNGUARD();                                      \
		return rc__;                                            \
	}

/* error detail: sets the thread's message and returns code. */
int shmring__fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* shmring__plain records a failure that needs no detail (SHMRING_EEMPTY,
 * SHMRING_EFULL: a polling caller's every call) without formatting one:
 * shmring_errdetail then names it. Returns code. */
int shmring__plain(int code);

/* SHMRING_NEED: a NULL where a public call needs a pointer is the caller's
 * bug, told as SHMRING_EINVAL naming the argument rather than a crash. */
#define SHMRING_NEED(ptr) \
	do { \
		if (!(ptr)) \
			return shmring__fail(SHMRING_EINVAL, "%s is NULL", #ptr); \
	} while (0)

/* SHMRING_OWN: a role handle without its lock descriptor is a forked
 * child's copy (fork.c): the role is the parent's, and a call on the copy
 * is SHMRING_ECLOSED rather than acting for it (a consumer's copy took the
 * parent's next message, and stored its cursor). */
#define SHMRING_OWN(lock_fd) \
	do { \
		if ((lock_fd) < 0) \
			return shmring__fail(SHMRING_ECLOSED, "this handle is a copy fork() made: the role stays the parent process's; take one anew in this process"); \
	} while (0)

/* membarrier: register once per process (1 when release stores may be used);
 * barrier forces a full fence on every registered process's running threads
 * (0 on success). */
int shmring__register_release(void);
int shmring__barrier(void);

/* futex on a shared word (never the private flavour). wait returns 0 when
 * woken, SHMRING_ETIMEDOUT, or 1 when the word no longer held val. */
int shmring__futex_wait(uint32_t *word, uint32_t val, int64_t timeout_ns);
void shmring__futex_wake(uint32_t *word, int n);

/* shmring__no_proc: err, from using a /proc/self/fd path, means /proc is
 * not mounted here (a sandbox); a ring's roles and handed-over descriptors
 * are reached through it, so that is SHMRING_EUNSUPPORTED, saying so. */
int shmring__no_proc(int err);
#define SHMRING__NO_PROC "/proc is not mounted here, and a ring's roles and handed-over descriptors are reached through /proc/self/fd"

/* Liveness locks (LAYOUT.md section 11): an OFD write lock on one byte,
 * through a description of the ring file of our own. lock takes it into
 * *lock_fd, a handle's field that names it until unlock (fork.c: a child
 * made by fork() lets go of its copies), or returns a negative code
 * (SHMRING_EBUSY) and leaves *lock_fd alone. take_lock is lock's system
 * calls: the descriptor holding the lock, or a negative code. held reports
 * 1 when some live description holds the byte, 0 when none, or a negative
 * code. */
int shmring__lock(const shmring *r, uint64_t byte, int *lock_fd);
void shmring__unlock(int *lock_fd);
int shmring__take_lock(const shmring *r, uint64_t byte);
int shmring__lock_held(const shmring *r, uint64_t byte);

/* shmring__peer_dead: a role whose state word says attached but whose lock
 * no process holds died (SHMRING_EPEERDEAD); state bits no peer writes are
 * corrupt; 0 otherwise. A system call: waiting paths only. */
int shmring__peer_dead(const shmring *r, uint64_t state_off, uint64_t lock_byte, const char *who);

/* monotonic nanoseconds */
int64_t shmring__now(void);

/* shmring__deadline: the monotonic time timeout_ns from now, INT64_MAX
 * where that is past it (a timeout of INT64_MAX, "for ever", overflowed). */
int64_t shmring__deadline(int64_t timeout_ns);

/*
 * The wait loop every role shares (LAYOUT.md section 10): spin, yield, then
 * sleep on the peer's wake word in ticks, announcing itself in a sleepers
 * word and re-checking before each sleep, probing the peer's liveness after
 * a sleep that timed out.
 */
/* The probes of the calls that do not wait (shmring__polled). */
struct shmring_polls {
	uint64_t at;    /* the position the failed calls are stuck at */
	uint32_t fails; /* failed calls at it */
	int64_t next;   /* shmring__now() at which the next probe is due */
	/* found_dead: the last probe found the peer dead. Until a probe finds
	 * otherwise (a new process took the role), every failed call probes at
	 * once and a waiting one before it waits, so that each says
	 * SHMRING_EPEERDEAD, not "empty" (or "full") until a tick has passed
	 * (Go: the handle's foundDead). */
	int found_dead;
};

struct shmring_waiter {
	void *self;
	/* ready: 1 when the condition holds, 0 when not yet, or a negative
	 * code (corrupt). Cheap: no system call. */
	int (*ready)(void *self);
	/* stopped: a negative code when waiting is pointless (end of stream),
	 * else 0. Cheap. May be NULL. */
	int (*stopped)(void *self);
	/* probe: after a timed-out sleep, a due poll (shmring__polled), and,
	 * while the peer is found dead, before a wait and on every failed poll;
	 * a negative code (peer dead, corrupt) ends the wait. A system call. */
	int (*probe)(void *self);
	const shmring *ring; /* whose end mark each round of the wait checks */
	uint32_t *wake;      /* the futex word to sleep on (the peer's) */
	uint32_t *sleepers;  /* where this side announces itself */
	uint32_t *peer_flags;
	/* keep_announced: a broadcast reader leaves the flag set (other
	 * readers may sleep on it); an SPSC side clears its own. */
	int keep_announced;
	/* yield_thread: sched_yield between the polls of the yield phase (a
	 * broadcast reader, as Go's, which yields its thread); an SPSC side
	 * only polls there, as Go's does (its runtime.Gosched does not give
	 * the CPU away): on a busy machine a yielded CPU can be gone for a
	 * whole time slice while the ring fills. */
	int yield_thread;
	uint64_t *sleeps;    /* counter */
	struct shmring_polls *polls; /* the handle's, for shmring__polled */
};

/* Returns 0 when ready, SHMRING_ETIMEDOUT, or the first negative code a
 * callback gave. timeout_ns < 0 waits for ever; 0 must not be passed. */
int shmring__await(const struct shmring_waiter *w, int64_t timeout_ns);

/* A call with timeout 0 found the condition false at position at: returns
 * fail (SHMRING_EEMPTY, SHMRING_EFULL), or the probe's code when a probe is
 * due. Only a waiting call probes the peer otherwise, so a caller polling in
 * its own loop would be told "empty" for ever by a ring whose producer
 * died. A probe is due at most once a tick; the clock is read on the second
 * failure at a position and on every 16th after it there (LAYOUT.md
 * section 11; Go: package internal/wait's Polls). While the peer is found
 * dead (found_dead) a probe is due on every failure. */
int shmring__polled(const struct shmring_waiter *w, int fail, uint64_t at);


#endif
