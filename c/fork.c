/* fork.c — the role locks this process holds, so that a child made by
 * fork() lets go of its copies at once. An OFD lock lives while any
 * descriptor of its open file description is open, and fork() copies the
 * descriptors: a child that outlived its killed parent kept the parent's
 * roles held, so that no process could take them over. In the child the
 * copies of the handles hold no role: closing one touches nothing shared
 * (spsc.c, reader_join.c), and using one is a mistake (shmring.h). */
#define _GNU_SOURCE
#include "internal.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

/* held lists the handles' lock_fd fields that hold a lock; mu guards it,
 * and is held across fork() so that the child's copy is whole. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t installed = PTHREAD_ONCE_INIT;
static int **held;
static size_t n_held, cap_held;

static void before_fork(void) { pthread_mutex_lock(&mu); }
static void in_parent(void) { pthread_mutex_unlock(&mu); }

static void in_child(void)
{
	for (size_t i = 0; i < n_held; i++) {
		close(*held[i]);
		*held[i] = -1;
	}
	n_held = 0;
	pthread_mutex_unlock(&mu);
}

static void install(void) { pthread_atfork(before_fork, in_parent, in_child); }

int shmring__lock(const shmring *r, uint64_t byte, int *lock_fd)
{
	pthread_once(&installed, install);
	pthread_mutex_lock(&mu); /* a fork() meanwhile would copy a lock the list does not name */
	int rc = 0;
	if (n_held == cap_held) {
		size_t c = cap_held ? 2 * cap_held : 8;
		int **grown = realloc(held, c * sizeof *grown);
		if (!grown) {
			rc = shmring__fail(SHMRING_ENOMEM, "role lock list");
			goto out;
		}
		held = grown;
		cap_held = c;
	}
	int fd = shmring__take_lock(r, byte);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	*lock_fd = fd;
	held[n_held++] = lock_fd;
out:
	pthread_mutex_unlock(&mu);
	return rc;
}

void shmring__unlock(int *lock_fd)
{
	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < n_held; i++) {
		if (held[i] == lock_fd) {
			held[i] = held[--n_held];
			break;
		}
	}
	if (*lock_fd >= 0)
		close(*lock_fd); /* the last descriptor of the description: the lock goes */
	*lock_fd = -1;
	pthread_mutex_unlock(&mu);
}
