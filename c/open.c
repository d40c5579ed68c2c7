/* open.c — from a name or a descriptor to a validated mapping (LAYOUT.md
 * section 6, "Opener"), checking the file's edges first: what sits at the
 * name, its owner and mode, its size. */
#define _GNU_SOURCE
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define DEFAULT_OPEN_TIMEOUT_NS 2000000000LL

/* A name names /dev/shm/<name>, or, with a '/', a path. "", ".", ".." and
 * any ".." component are refused, as package ring refuses them. */
static int resolve(const char *name, char *path, size_t cap)
{
	if (name == NULL || name[0] == '\0')
		return shmring__fail(SHMRING_EINVAL, "name=\"\"");
	const char *c = name;
	for (;;) {
		const char *end = strchr(c, '/');
		size_t n = end ? (size_t)(end - c) : strlen(c);
		if ((n == 2 && c[0] == '.' && c[1] == '.') || (n == 1 && c[0] == '.' && !strchr(name, '/')))
			return shmring__fail(SHMRING_EINVAL, "name=\"%s\": \"..\" or \".\" refused", name);
		if (!end)
			break;
		c = end + 1;
	}
	int n = strchr(name, '/') ? snprintf(path, cap, "%s", name) : snprintf(path, cap, "/dev/shm/%s", name);
	if (n < 0 || (size_t)n >= cap)
		return shmring__fail(SHMRING_EINVAL, "name of %zu bytes too long", strlen(name));
	return 0;
}

/* check_edges: the file at a name must be ours to trust before any byte of
 * it is. */
static int check_edges(int fd, const char *path, int allow_shared)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return shmring__fail(SHMRING_ESYS, "fstat %s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return shmring__fail(SHMRING_EUNSAFE, "%s is not a regular file (mode=%#o)", path, (unsigned)st.st_mode);
	if (st.st_uid != geteuid())
		return shmring__fail(SHMRING_EUNSAFE, "%s is owned by uid=%u, not by this process's uid=%u", path,
				     (unsigned)st.st_uid, (unsigned)geteuid());
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !allow_shared)
		return shmring__fail(SHMRING_EUNSAFE, "%s is writable by group or others (mode=%#o); allow_shared accepts it",
				     path, (unsigned)(st.st_mode & 07777));
	return 0;
}

static int blank_or_magic(const unsigned char *b)
{
	static const unsigned char zero[SHMRING_MAGIC_SIZE];
	return memcmp(b, SHMRING_MAGIC, SHMRING_MAGIC_SIZE) == 0 || memcmp(b, zero, SHMRING_MAGIC_SIZE) == 0;
}

static int read_header(int fd, unsigned char *b, ssize_t *got)
{
	ssize_t n;
	do
		n = pread(fd, b, SHMRING_HEADER_SIZE, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return shmring__fail(SHMRING_ESYS, "read header: %s", strerror(errno));
	*got = n;
	return 0;
}

/* await_header waits, bounded, for the creator's ready word, then validates
 * the header. It reads with pread, never through a mapping: a file shorter
 * than a header would fault. */
static int await_header(int fd, int64_t timeout_ns, shmring_info *h)
{
	unsigned char b[SHMRING_HEADER_SIZE];
	int64_t deadline = shmring__now() + timeout_ns;
	for (long delay = 50000;; delay = delay * 2 > 10000000 ? 10000000 : delay * 2) {
		ssize_t n;
		int rc = read_header(fd, b, &n);
		if (rc)
			return rc;
		if (n > 0 && n < SHMRING_HEADER_SIZE)
			return shmring__fail(SHMRING_ESHORT, "%zd bytes, want %d", n, SHMRING_HEADER_SIZE);
		if (n == SHMRING_HEADER_SIZE) {
			uint32_t ready;
			memcpy(&ready, b + SHMRING_READY_OFFSET, sizeof ready);
			if (ready == SHMRING_READY_VALUE) {
				/* SYNC POINT: ready. One pread copies the ready word
				 * last, so the bytes it saw before it may be stale:
				 * read the header again now that it says ready. */
				if ((rc = read_header(fd, b, &n)) != 0)
					return rc;
				if (n != SHMRING_HEADER_SIZE)
					return shmring__fail(SHMRING_ESHORT, "%zd bytes, want %d", n, SHMRING_HEADER_SIZE);
				return shmring__decode(b, h);
			}
			if (ready != 0)
				return shmring__fail(SHMRING_EREADY, "ready=%#x, want %#x", ready, SHMRING_READY_VALUE);
			if (!blank_or_magic(b))
				return shmring__fail(SHMRING_EMAGIC, "not ready and not a ring being built");
		}
		/* empty, or ready word 0 over a blank or magic header: a creator at work */
		if (shmring__now() >= deadline)
			return shmring__fail(SHMRING_ENOTREADY, "waited %lld ms for the creator to finish",
					     (long long)(timeout_ns / 1000000));
		struct timespec ts = { 0, delay };
		nanosleep(&ts, NULL);
	}
}

/* populate pre-faults the mapping writable, so a first touch (and a page
 * the file system cannot supply) does not land on the data path. */
static int populate(unsigned char *m, uint64_t size)
{
	if (madvise(m, size, MADV_POPULATE_WRITE) == 0)
		return 0;
	if (errno != EINVAL)
		return shmring__fail(SHMRING_ESYS, "populate %llu bytes: %s", (unsigned long long)size, strerror(errno));
	long page = sysconf(_SC_PAGESIZE);
	volatile unsigned char sink = 0;
	for (uint64_t i = 0; i < size; i += (uint64_t)page)
		sink += m[i]; /* kernel older than 5.14: touch by reading */
	(void)sink;
	return 0;
}

/* open_owned maps the ring on fd, which it owns from here on. */
static int open_owned(int fd, const shmring_open_options *o, shmring **out)
{
	int64_t timeout = o && o->timeout_ns > 0 ? o->timeout_ns : DEFAULT_OPEN_TIMEOUT_NS;
	shmring_info h;
	int rc = await_header(fd, timeout, &h);
	struct stat st;
	if (rc == 0 && fstat(fd, &st) != 0)
		rc = shmring__fail(SHMRING_ESYS, "fstat: %s", strerror(errno));
	if (rc == 0 && (uint64_t)st.st_size != h.file_size)
		rc = shmring__fail(SHMRING_ESIZE, "file size=%lld, header says %llu (truncated or foreign file)",
				   (long long)st.st_size, (unsigned long long)h.file_size);
	if (rc == 0 && h.file_size > SIZE_MAX)
		rc = shmring__fail(SHMRING_EGEOMETRY, "file size=%llu exceeds the address space", (unsigned long long)h.file_size);
	if (rc) {
		close(fd);
		return rc;
	}
	void *m = mmap(NULL, (size_t)h.file_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		rc = shmring__fail(SHMRING_ESYS, "map %llu bytes: %s", (unsigned long long)h.file_size, strerror(errno));
		close(fd);
		return rc;
	}
	if ((rc = populate(m, h.file_size)) != 0 || (*out = calloc(1, sizeof **out)) == NULL) {
		if (!rc)
			rc = shmring__fail(SHMRING_ENOMEM, "ring handle");
		munmap(m, (size_t)h.file_size);
		close(fd);
		return rc;
	}
	(*out)->fd = fd;
	(*out)->mem = m;
	(*out)->info = h;
	return 0;
}

int shmring_open(const char *name, const shmring_open_options *o, shmring **out)
{
	char path[PATH_MAX];
	int rc = resolve(name, path, sizeof path);
	if (rc)
		return rc;
	/* O_NOFOLLOW: a symlink planted at the name is refused, not followed.
	 * O_NONBLOCK: a FIFO planted there cannot stall the open. */
	int fd = open(path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return shmring__fail(SHMRING_ENOTEXIST, "ring=%s path=%s", name, path);
		if (errno == ELOOP)
			return shmring__fail(SHMRING_EUNSAFE, "%s is a symbolic link", path);
		if (errno == EISDIR)
			return shmring__fail(SHMRING_EUNSAFE, "%s is a directory", path);
		return shmring__fail(SHMRING_ESYS, "open %s: %s", path, strerror(errno));
	}
	if ((rc = check_edges(fd, path, o && o->allow_shared)) != 0) {
		close(fd);
		return rc;
	}
	return open_owned(fd, o, out);
}

int shmring_open_fd(int fd, const shmring_open_options *o, shmring **out)
{
	int own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (own < 0)
		return shmring__fail(SHMRING_ESYS, "dup fd=%d: %s", fd, strerror(errno));
	struct stat st;
	if (fstat(own, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(own);
		return shmring__fail(SHMRING_EUNSAFE, "fd=%d is not a regular file", fd);
	}
	return open_owned(own, o, out);
}

void shmring_close(shmring *r)
{
	if (!r)
		return;
	munmap(r->mem, (size_t)r->info.file_size);
	close(r->fd);
	free(r);
}

const shmring_info *shmring_get_info(const shmring *r) { return &r->info; }
