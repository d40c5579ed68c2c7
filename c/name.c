/* name.c — from a ring name to its file (LAYOUT.md section 1, "Naming the
 * file"), by the rules of package ring: a bare name is a file of /dev/shm and
 * can never reach outside it; anything else must be an absolute path. */
#include "internal.h"

#include <string.h>

#define SHM_DIR "/dev/shm/"
#define MAX_NAME_LEN 255 /* NAME_MAX: one directory entry */

/* clean writes the absolute path p with "." and empty elements dropped and
 * each ".." taking the element before it away, as Go's filepath.Clean does:
 * Go and C then name the same file for the same string. */
static int clean(const char *p, char *out, size_t cap)
{
	size_t n = 0;
	out[n++] = '/';
	while (*p) {
		while (*p == '/')
			p++;
		const char *e = p;
		while (*e && *e != '/')
			e++;
		size_t len = (size_t)(e - p);
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			while (n > 1 && out[n - 1] != '/')
				n--;
			if (n > 1)
				n--;
		} else if (len > 0 && !(len == 1 && p[0] == '.')) {
			if (n + len + 2 > cap)
				return shmring__fail(SHMRING_EINVAL, "path of %zu bytes or more, want under %zu", n + len + 2, cap);
			if (n > 1)
				out[n++] = '/';
			memcpy(out + n, p, len);
			n += len;
		}
		p = e;
	}
	out[n] = '\0';
	return 0;
}

int shmring__resolve(const char *name, char *path, size_t cap)
{
	if (name == NULL || name[0] == '\0')
		return shmring__fail(SHMRING_EINVAL, "empty ring name");
	if (name[0] == '/')
		return clean(name, path, cap);
	if (strchr(name, '/'))
		return shmring__fail(SHMRING_EINVAL, "name=\"%s\": a name with a slash must be an absolute path", name);
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return shmring__fail(SHMRING_EINVAL, "name=\"%s\" is a directory, not a ring", name);
	size_t n = strlen(name);
	if (n > MAX_NAME_LEN)
		return shmring__fail(SHMRING_EINVAL, "name of %zu bytes, want at most %d", n, MAX_NAME_LEN);
	if (sizeof SHM_DIR + n > cap)
		return shmring__fail(SHMRING_EINVAL, "name of %zu bytes too long for a path", n);
	memcpy(path, SHM_DIR, sizeof SHM_DIR - 1);
	memcpy(path + sizeof SHM_DIR - 1, name, n + 1);
	return 0;
}
