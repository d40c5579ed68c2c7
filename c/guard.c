/* guard.c — a SIGBUS on a ring's mapping inside a library call becomes
 * SHMRING_ETRUNCATED from that call (shmring_sigbus_guard, shmring.h).
 *
 * A peer that shrinks the file takes the pages past the new end out of every
 * mapping; the next load or store there raises SIGBUS, which kills the
 * process by default. Each guarded call (SHMRING_GUARD, internal.h) records
 * with sigsetjmp where to come back to and which mapping it works on, in a
 * thread-local chain; the handler jumps back when the faulting address lies
 * in the innermost guarded call's mapping, and hands every other SIGBUS to
 * the handler that was there before. sigsetjmp saves no signal mask (no
 * system call per call): the handler runs with SA_NODEFER, so SIGBUS is not
 * blocked when it jumps out, and the thread's mask is the caller's. */
#define _GNU_SOURCE
#include "internal.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>

int shmring__guard_on;

/* initial-exec: the handler reads these without the lazy allocation (and
 * malloc) that the general-dynamic model may do on a thread's first access
 * from a shared library. */
static _Thread_local struct shmring__guard *current __attribute__((tls_model("initial-exec")));
static _Thread_local uintptr_t fault_addr __attribute__((tls_model("initial-exec")));

static struct sigaction previous;

static void on_sigbus(int sig, siginfo_t *si, void *ctx)
{
	struct shmring__guard *g = current;
	uintptr_t a = (uintptr_t)si->si_addr;
	/* si_code > 0: the kernel raised it for an access (BUS_ADRERR, ...),
	 * not kill(2) or sigqueue(3), whose si_addr means nothing. */
	int fault = si->si_code > 0;
	if (fault && g && a - g->lo < g->len) {
		fault_addr = a;
		current = g->prev;
		siglongjmp(g->env, 1);
	}
	/* Not a fault of a guarded call: as if this handler were not here. */
	if (previous.sa_flags & SA_SIGINFO) {
		previous.sa_sigaction(sig, si, ctx);
	} else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
		previous.sa_handler(sig);
	} else if (previous.sa_handler == SIG_IGN && !fault) {
		return; /* ignored, as before */
	} else {
		/* The default action (a fault cannot be ignored either): the
		 * process dies of SIGBUS as it would have. */
		signal(SIGBUS, SIG_DFL);
		raise(SIGBUS);
	}
}

int shmring_sigbus_guard(void)
{
	/* 0 not installed, 1 being installed, 2 installed. */
	static int state;
	int s = 0;
	if (!__atomic_compare_exchange_n(&state, &s, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		while ((s = __atomic_load_n(&state, __ATOMIC_ACQUIRE)) == 1)
			sched_yield();
		return s == 2 ? 0 : shmring__fail(SHMRING_ESYS, "sigaction SIGBUS failed before");
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, &previous) != 0) {
		int e = errno;
		__atomic_store_n(&state, 3, __ATOMIC_RELEASE);
		return shmring__fail(SHMRING_ESYS, "sigaction SIGBUS: %s", strerror(e));
	}
	__atomic_store_n(&shmring__guard_on, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&state, 2, __ATOMIC_RELEASE);
	return 0;
}

void shmring__guard_enter(struct shmring__guard *g, const shmring *r)
{
	g->lo = (uintptr_t)r->mem;
	g->len = r->map_len;
	g->prev = current;
	current = g;
	/* The handler runs on this thread: the compiler must not sink the
	 * store above below the mapping accesses that follow. */
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

void shmring__guard_leave(struct shmring__guard *g)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	current = g->prev;
}

int shmring__guard_fault(const shmring *r, int *dead)
{
	if (dead)
		*dead = 1;
	return shmring__fail(SHMRING_ETRUNCATED,
			     "SIGBUS at file offset=%llu of %llu: the file was shrunk under the ring; this handle is dead",
			     (unsigned long long)(fault_addr - (uintptr_t)r->mem), (unsigned long long)r->info.file_size);
}

int shmring__dead(void)
{
	return shmring__fail(SHMRING_ETRUNCATED, "the handle met a fault in the mapping before: the file was shrunk");
}
