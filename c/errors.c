/* errors.c — error names, the per-thread detail, CRC-32C. */
#define _GNU_SOURCE
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char detail[512];
static _Thread_local int plain; /* the last failure's code, when it left no detail */

const char *shmring_strerror(int code)
{
	switch (code) {
	case SHMRING_OK: return "ok";
	case SHMRING_EINVAL: return "ring: invalid argument";
	case SHMRING_ENOTEXIST: return "ring: does not exist";
	case SHMRING_ENOTREADY: return "ring: not ready";
	case SHMRING_EVERSION: return "ring: unsupported layout version";
	case SHMRING_EUNSAFE: return "ring: untrusted file";
	case SHMRING_EMAGIC: return "ring: corrupt: bad magic, not a shmring file";
	case SHMRING_EGEOMETRY: return "ring: corrupt: inconsistent geometry";
	case SHMRING_ECHECKSUM: return "ring: corrupt: header checksum mismatch";
	case SHMRING_EREADY: return "ring: corrupt: bad ready word";
	case SHMRING_ESHORT: return "ring: corrupt: file shorter than a ring header";
	case SHMRING_ESIZE: return "ring: corrupt: file larger than its header says";
	case SHMRING_ECORRUPT: return "ring: corrupt";
	case SHMRING_EKIND: return "ring: operation not for this ring's kind";
	case SHMRING_EBUSY: return "ring: role held by a live process";
	case SHMRING_EEMPTY: return "ring: empty";
	case SHMRING_EFULL: return "ring: full";
	case SHMRING_ETIMEDOUT: return "ring: timed out";
	case SHMRING_ECLOSED: return "ring: closed";
	case SHMRING_EPEERDEAD: return "ring: peer process died";
	case SHMRING_ELAPPED: return "ring: reader lapped";
	case SHMRING_ETOOLARGE: return "ring: message larger than slot";
	case SHMRING_ESHORTBUF: return "ring: buffer shorter than message";
	case SHMRING_ESYS: return "ring: system call failed";
	case SHMRING_ENOMEM: return "ring: out of memory";
	case SHMRING_ETRUNCATED: return "ring: corrupt: truncated";
	case SHMRING_EFILETOOBIG: return "ring: file too big to open";
	case SHMRING_EUNSUPPORTED: return "ring: not supported by this library, or here (no /proc)";
	}
	return "ring: unknown error";
}

int shmring_is_corrupt(int code)
{
	switch (code) {
	case SHMRING_EMAGIC: case SHMRING_EGEOMETRY: case SHMRING_ECHECKSUM: case SHMRING_EREADY:
	case SHMRING_ESHORT: case SHMRING_ESIZE: case SHMRING_ECORRUPT: case SHMRING_ETRUNCATED:
		return 1;
	}
	return 0;
}

int shmring__truncated(const shmring *r)
{
	return shmring__fail(SHMRING_ETRUNCATED, "the end mark at file offset=%llu is gone: the file was shrunk",
			     (unsigned long long)r->info.end_offset);
}

const char *shmring_errdetail(void)
{
	if (plain)
		return shmring_strerror(plain);
	return detail[0] ? detail : "no error";
}

int shmring__plain(int code)
{
	plain = code;
	return code;
}

int shmring__fail(int code, const char *fmt, ...)
{
	plain = 0;
	int n = snprintf(detail, sizeof detail, "%s: ", shmring_strerror(code));
	if (n < 0 || (size_t)n >= sizeof detail)
		return code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail + n, sizeof detail - (size_t)n, fmt, ap);
	va_end(ap);
	return code;
}

/* CRC-32C, reflected polynomial 0x82F63B78, table built on first use. */
static uint32_t crc_table[256];
static int crc_ready;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
		crc_table[i] = c;
	}
	__atomic_store_n(&crc_ready, 1, __ATOMIC_RELEASE);
}

uint32_t shmring_crc32c(uint32_t crc, const void *data, size_t n)
{
	if (!__atomic_load_n(&crc_ready, __ATOMIC_ACQUIRE))
		crc_init(); /* idempotent: racing threads write the same table */
	const unsigned char *p = data;
	crc = ~crc;
	while (n--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}
