/* open.c — from a name or a descriptor to a validated mapping (LAYOUT.md
 * section 6, "Opener"): the file's edges first (name.c, trust.c), then the
 * header, then the size, and only then the mapping. */
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
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define DEFAULT_OPEN_TIMEOUT_NS 2000000000LL
#define HUGETLBFS_MAGIC 0x958458f6

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
	int64_t deadline = shmring__deadline(timeout_ns);
	for (long delay = 50000;; delay = delay * 2 > 10000000 ? 10000000 : delay * 2) {
		ssize_t n = 0;
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
		if (shmring__now() >= deadline && n == 0)
			return shmring__fail(SHMRING_ENOTREADY,
					     "the file stayed empty for %lld ms: its creator died before sizing it, or a peer truncated it to zero",
					     (long long)(timeout_ns / 1000000));
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

/* map_size is how many bytes of the file to map for a ring of file_size:
 * file_size itself, except on hugetlbfs, whose files and mappings come in
 * whole huge pages (its f_bsize); the header keeps the ring's own size. */
static int map_size(int fd, uint64_t file_size, uint64_t *size)
{
	struct statfs fs;
	if (fstatfs(fd, &fs) != 0)
		return shmring__fail(SHMRING_ESYS, "fstatfs: %s", strerror(errno));
	*size = file_size;
	if ((uint32_t)fs.f_type != HUGETLBFS_MAGIC)
		return 0;
	uint64_t page = (uint64_t)fs.f_bsize;
	if (page == 0 || (page & (page - 1)) != 0)
		return shmring__fail(SHMRING_ESYS, "hugetlbfs page size=%llu, want a power of two", (unsigned long long)page);
	*size = (file_size + page - 1) & ~(page - 1);
	return 0;
}

/* check_size: the header's FileSize within the cap, what is mapped within
 * the address space, and the file exactly that long (LAYOUT.md section 6,
 * step 5): shorter was truncated, longer grew or is foreign. */
static int check_size(int fd, const shmring_info *h, const shmring_open_options *o, uint64_t *size)
{
	uint64_t cap = shmring__max_file_size(o);
	if (h->file_size > cap)
		return shmring__fail(SHMRING_EFILETOOBIG, "header FileSize=%llu, max_file_size=%llu",
				     (unsigned long long)h->file_size, (unsigned long long)cap);
	int rc = map_size(fd, h->file_size, size);
	if (rc)
		return rc;
	if (*size > (uint64_t)PTRDIFF_MAX)
		return shmring__fail(SHMRING_EFILETOOBIG, "a mapping of %llu bytes exceeds the address space",
				     (unsigned long long)*size);
	struct stat st;
	if (fstat(fd, &st) != 0)
		return shmring__fail(SHMRING_ESYS, "fstat: %s", strerror(errno));
	if ((uint64_t)st.st_size < *size)
		return shmring__fail(SHMRING_ETRUNCATED, "file size=%lld, want %llu for header FileSize=%llu",
				     (long long)st.st_size, (unsigned long long)*size, (unsigned long long)h->file_size);
	if ((uint64_t)st.st_size != *size)
		return shmring__fail(SHMRING_ESIZE, "file size=%lld, want %llu for header FileSize=%llu (a grown or foreign file)",
				     (long long)st.st_size, (unsigned long long)*size, (unsigned long long)h->file_size);
	return 0;
}

/* open_owned maps the ring on fd, which it owns from here on. */
static int open_owned(int fd, const shmring_open_options *o, shmring **out)
{
	int64_t timeout = o && o->timeout_ns > 0 ? o->timeout_ns : DEFAULT_OPEN_TIMEOUT_NS;
	shmring_info h;
	uint64_t size = 0;
	int rc = await_header(fd, timeout, &h);
	if (rc == 0 && (h.flags & SHMRING_HEADER_FLAG_RECORDS))
		/* A valid ring, and Go's to use: refused only once the whole
		 * header is checked, so that a corrupt one is called corrupt. */
		rc = shmring__fail(SHMRING_EUNSUPPORTED,
				   "record rings (LAYOUT.md section 17) are not supported by the C library: kind=%u capacity=%llu",
				   h.kind, (unsigned long long)h.slot_count);
	if (rc == 0)
		rc = check_size(fd, &h, o, &size);
	if (rc) {
		close(fd);
		return rc;
	}
	void *m = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		rc = shmring__fail(SHMRING_ESYS, "map %llu bytes: %s", (unsigned long long)size, strerror(errno));
		close(fd);
		return rc;
	}
	if ((rc = populate(m, size)) != 0 || (*out = calloc(1, sizeof **out)) == NULL) {
		if (!rc)
			rc = shmring__fail(SHMRING_ENOMEM, "ring handle");
		munmap(m, (size_t)size);
		close(fd);
		return rc;
	}
	(*out)->fd = fd;
	(*out)->mem = m;
	(*out)->map_len = (size_t)size;
	(*out)->info = h;
	(*out)->refs = 1;
	return 0;
}

int shmring_open(const char *name, const shmring_open_options *o, shmring **out)
{
	SHMRING_NEED(out);
	char path[PATH_MAX];
	int rc = shmring__resolve(name, path, sizeof path);
	if (rc)
		return rc;
	/* O_NOFOLLOW: a symlink planted at the name is refused, not followed.
	 * O_NONBLOCK: nothing planted there (a FIFO) can stall the open. */
	int fd = open(path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return shmring__fail(SHMRING_ENOTEXIST, "ring=%s path=%s", name, path);
		if (errno == ELOOP)
			return shmring__fail(SHMRING_EUNSAFE, "name is a symbolic link: ring=%s path=%s; no link is followed",
					     name, path);
		if (errno == EISDIR || errno == ENXIO)
			return shmring__fail(SHMRING_EUNSAFE, "not a regular file: ring=%s path=%s: %s", name, path,
					     strerror(errno));
		return shmring__fail(SHMRING_ESYS, "open %s: %s", path, strerror(errno));
	}
	if ((rc = shmring__check_trust(fd, path, o, 1)) != 0) {
		close(fd);
		return rc;
	}
	return open_owned(fd, o, out);
}

/* is_memfd: the kernel names a memfd's descriptor "/memfd:<label> (deleted)"
 * in /proc/self/fd, as Go's ring.OpenFile reads it. A file at a path of that
 * form would be taken for a memfd and refused: it cannot carry seals. */
static int is_memfd(int fd, const char *what)
{
	char link[64], target[16];
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, target, sizeof target);
	if (n < 0) { /* not told: taken for a named file, an unsealed memfd would pass */
		int e = errno;
		if (shmring__no_proc(e))
			return shmring__fail(SHMRING_EUNSUPPORTED, "descriptor %s: %s: " SHMRING__NO_PROC, what, strerror(e));
		return shmring__fail(SHMRING_ESYS, "descriptor %s: readlink: %s", what, strerror(e));
	}
	return n >= 7 && memcmp(target, "/memfd:", 7) == 0;
}

/* check_sealed: a memfd has no name, so no owner or mode guards it; any
 * holder of a descriptor could shrink it under the mapping unless it is
 * sealed against shrinking (LAYOUT.md section 6, "A ring in a memfd"). */
static int check_sealed(int fd, const char *what)
{
	int seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0)
		return shmring__fail(SHMRING_EUNSAFE, "memfd not sealed against shrinking: ring=%s: F_GET_SEALS: %s", what,
				     strerror(errno));
	if (!(seals & F_SEAL_SHRINK))
		return shmring__fail(SHMRING_EUNSAFE,
				     "memfd not sealed against shrinking: ring=%s seals=%#x, without F_SEAL_SHRINK (%#x): any "
				     "holder could shrink it under the mapping",
				     what, (unsigned)seals, (unsigned)F_SEAL_SHRINK);
	return 0;
}

int shmring_open_fd(int fd, const shmring_open_options *o, shmring **out)
{
	SHMRING_NEED(out);
	if (fd < 0) /* a caller's error, as a NULL is: no system call needed to say so */
		return shmring__fail(SHMRING_EINVAL, "fd=%d: not a descriptor", fd);
	int own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (own < 0)
		return shmring__fail(SHMRING_ESYS, "dup fd=%d: %s", fd, strerror(errno));
	char what[32];
	snprintf(what, sizeof what, "fd:%d", fd);
	int memfd = is_memfd(own, what);
	if (memfd < 0) {
		close(own);
		return memfd;
	}
	int rc = shmring__check_trust(own, what, o, !memfd);
	if (!rc && memfd)
		rc = check_sealed(own, what);
	if (rc) {
		close(own);
		return rc;
	}
	return open_owned(own, o, out);
}

void shmring_close(shmring *r)
{
	if (!r || __atomic_exchange_n(&r->closed, 1, __ATOMIC_ACQ_REL))
		return;
	shmring__unref(r);
}

int shmring__ref(shmring *r)
{
	if (__atomic_load_n(&r->closed, __ATOMIC_ACQUIRE))
		return shmring__fail(SHMRING_EINVAL, "the ring was closed (shmring_close)");
	__atomic_add_fetch(&r->refs, 1, __ATOMIC_ACQ_REL);
	return 0;
}

void shmring__unref(shmring *r)
{
	if (__atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	munmap(r->mem, r->map_len);
	close(r->fd);
	free(r);
}

const shmring_info *shmring_get_info(const shmring *r) { return r ? &r->info : NULL; }
