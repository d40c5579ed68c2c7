/* trust.c — what the opener checks before it reads a byte of a ring file
 * (LAYOUT.md section 6, "Opener", step 2), as package ring's checkTrust.
 *
 * /dev/shm is world-writable and sticky: another local user can plant a
 * file, or a symbolic link, under the name a victim will open, and the
 * victim would then write its messages into the planter's file or read
 * forged ones. Every check is made on the opened descriptor, never on the
 * path, so what was checked is what is mapped. */
#include "internal.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *file_type(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFDIR: return "directory";
	case S_IFIFO: return "FIFO";
	case S_IFSOCK: return "socket";
	case S_IFCHR: case S_IFBLK: return "device";
	case S_IFLNK: return "symbolic link";
	}
	return "file of an unknown type";
}

static int has_uid(const shmring_open_options *o, uid_t id)
{
	for (size_t i = 0; o && o->trust_uids && i < o->n_trust_uids; i++)
		if (o->trust_uids[i] == id)
			return 1;
	return 0;
}

static int has_gid(const shmring_open_options *o, gid_t id)
{
	for (size_t i = 0; o && o->trust_gids && i < o->n_trust_gids; i++)
		if (o->trust_gids[i] == id)
			return 1;
	return 0;
}

uint64_t shmring__max_file_size(const shmring_open_options *o)
{
	return o && o->max_file_size ? o->max_file_size : SHMRING_DEFAULT_MAX_FILE_SIZE;
}

int shmring__check_trust(int fd, const char *what, const shmring_open_options *o, int check_mode)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return shmring__fail(SHMRING_ESYS, "fstat %s: %s", what, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return shmring__fail(SHMRING_EUNSAFE, "not a regular file: ring=%s is a %s", what, file_type(st.st_mode));
	uid_t euid = geteuid();
	if (st.st_uid != euid && !has_uid(o, st.st_uid))
		return shmring__fail(SHMRING_EUNSAFE,
				     "file owned by an untrusted user: ring=%s owner uid=%u, trusted uid=%u and %zu trust_uids",
				     what, (unsigned)st.st_uid, (unsigned)euid, o && o->trust_uids ? o->n_trust_uids : 0);
	unsigned perm = (unsigned)(st.st_mode & 0777);
	if (check_mode && !(o && o->allow_world_write)) {
		if (perm & S_IWOTH)
			return shmring__fail(SHMRING_EUNSAFE,
					     "file writable by untrusted users: ring=%s mode=%#o is world-writable and allow_world_write is not set",
					     what, perm);
		if ((perm & S_IWGRP) && !has_gid(o, st.st_gid))
			return shmring__fail(SHMRING_EUNSAFE,
					     "file writable by untrusted users: ring=%s mode=%#o is writable by group gid=%u, not in trust_gids",
					     what, perm, (unsigned)st.st_gid);
	}
	uint64_t cap = shmring__max_file_size(o);
	if ((uint64_t)st.st_size > cap)
		return shmring__fail(SHMRING_EFILETOOBIG, "ring=%s file size=%lld, max_file_size=%llu", what,
				     (long long)st.st_size, (unsigned long long)cap);
	return 0;
}
