/* sys.c — the Linux system calls the protocol uses: futex, membarrier,
 * open-file-description locks, the monotonic clock. */
#define _GNU_SOURCE
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* membarrier(2) commands, from <linux/membarrier.h>. */
enum { MEMBARRIER_GLOBAL_EXPEDITED = 1 << 1, MEMBARRIER_REGISTER_GLOBAL_EXPEDITED = 1 << 2 };

/* 0: not tried, 1: registered, 2: unavailable. */
static int registered;

int shmring__register_release(void)
{
	int s = __atomic_load_n(&registered, __ATOMIC_ACQUIRE);
	if (s == 0) {
		/* Registering twice is harmless, so racing threads need no lock. */
		s = syscall(SYS_membarrier, MEMBARRIER_REGISTER_GLOBAL_EXPEDITED, 0, 0) == 0 ? 1 : 2;
		__atomic_store_n(&registered, s, __ATOMIC_RELEASE);
	}
	return s == 1;
}

int shmring__barrier(void)
{
	/* https://man7.org/linux/man-pages/man2/membarrier.2.html: every running
	 * thread of every registered process, and this one, passes a full
	 * barrier before the call returns. */
	return syscall(SYS_membarrier, MEMBARRIER_GLOBAL_EXPEDITED, 0, 0) == 0 ? 0 : -1;
}

int64_t shmring__now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t shmring__deadline(int64_t timeout_ns)
{
	int64_t now = shmring__now();
	return timeout_ns > INT64_MAX - now ? INT64_MAX : now + timeout_ns; /* no signed overflow */
}

int shmring__futex_wait(uint32_t *word, uint32_t val, int64_t timeout_ns)
{
	struct timespec ts = { (time_t)(timeout_ns / 1000000000), (long)(timeout_ns % 1000000000) };
	/* FUTEX_WAIT without FUTEX_PRIVATE_FLAG: the word is in a MAP_SHARED
	 * mapping that other processes map at other addresses. */
	long rc = syscall(SYS_futex, word, FUTEX_WAIT, val, &ts, NULL, 0);
	if (rc == 0)
		return 0;
	if (errno == ETIMEDOUT)
		return SHMRING_ETIMEDOUT;
	return 1; /* EAGAIN (the word moved), EINTR: look again */
}

void shmring__futex_wake(uint32_t *word, int n)
{
	syscall(SYS_futex, word, FUTEX_WAKE, n, NULL, NULL, 0);
}

int shmring__no_proc(int err)
{
	return err == ENOENT && access("/proc/self/fd", F_OK) != 0;
}

int shmring__take_lock(const shmring *r, uint64_t byte)
{
	/* A description of our own, reopened through /proc so that the lock
	 * lands on this ring's file even if its name was removed or reused. */
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", r->fd);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (shmring__no_proc(e))
			return shmring__fail(SHMRING_EUNSUPPORTED, "reopen for role lock: %s: " SHMRING__NO_PROC, strerror(e));
		return shmring__fail(SHMRING_ESYS, "reopen for role lock: %s", strerror(e));
	}
	struct flock lk = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = (off_t)byte, .l_len = 1 };
	if (fcntl(fd, F_OFD_SETLK, &lk) == 0)
		return fd;
	int e = errno;
	close(fd);
	if (e == EAGAIN || e == EACCES)
		return shmring__fail(SHMRING_EBUSY, "lock byte=%llu held by a live process", (unsigned long long)byte);
	return shmring__fail(SHMRING_ESYS, "role lock at=%llu: %s", (unsigned long long)byte, strerror(e));
}

int shmring__lock_held(const shmring *r, uint64_t byte)
{
	struct flock lk = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = (off_t)byte, .l_len = 1 };
	if (fcntl(r->fd, F_OFD_GETLK, &lk) != 0)
		return shmring__fail(SHMRING_ESYS, "probe role lock at=%llu: %s", (unsigned long long)byte, strerror(errno));
	return lk.l_type != F_UNLCK;
}

int shmring__peer_dead(const shmring *r, uint64_t state_off, uint64_t lock_byte, const char *who)
{
	uint32_t st = LOAD_SC(w32(r, state_off));
	if (st & ~SHMRING_STATE_MASK)
		return shmring__fail(SHMRING_ECORRUPT, "%s state=%#x", who, st);
	if (!(st & SHMRING_STATE_ATTACHED))
		return 0; /* nobody holds the role now: a newcomer may still arrive */
	int held = shmring__lock_held(r, lock_byte);
	if (held < 0)
		return held;
	if (!held)
		return shmring__fail(SHMRING_EPEERDEAD, "%s attached but its lock is free", who);
	return 0;
}
