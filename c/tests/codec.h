/* codec.h — the test message: loss, duplication, reordering and tearing all
 * show. Shared with interop/codec_test.go and python/tests/codec.py:
 *
 *   [0:8)   sequence number, little-endian
 *   [8:12)  the message's own length
 *   [12:16) CRC-32C of [0:12) and [16:n)
 *   [16:n)  bytes derived from the sequence number alone
 *
 * The length of message seq is 16 + mix(seq, 0) % (max - 16 + 1), so the
 * receiver knows every byte of every message without shared state. */
#ifndef CODEC_H
#define CODEC_H

#include "../shmring.h"

#include <stdio.h>
#include <string.h>

enum { CODEC_HEADER = 16 };

static inline uint64_t codec_mix(uint64_t seq, uint64_t i)
{
	uint64_t z = seq * 0x9e3779b97f4a7c15ull + (i + 1) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline size_t codec_len(uint64_t seq, size_t max)
{
	return CODEC_HEADER + (size_t)(codec_mix(seq, 0) % (max - CODEC_HEADER + 1));
}

static inline void codec_body(unsigned char *b, size_t n, uint64_t seq)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t w = codec_mix(seq, i / 8 + 1);
		size_t k = n - i < 8 ? n - i : 8;
		memcpy(b + i, &w, k);
	}
}

static inline uint32_t codec_crc(const unsigned char *m, size_t n)
{
	return shmring_crc32c(shmring_crc32c(0, m, 12), m + CODEC_HEADER, n - CODEC_HEADER);
}

/* codec_encode writes message seq into m (codec_len bytes) and returns its length. */
static inline size_t codec_encode(unsigned char *m, uint64_t seq, size_t max)
{
	size_t n = codec_len(seq, max);
	uint32_t n32 = (uint32_t)n;
	memcpy(m, &seq, 8);
	memcpy(m + 8, &n32, 4);
	codec_body(m + CODEC_HEADER, n - CODEC_HEADER, seq);
	uint32_t crc = codec_crc(m, n);
	memcpy(m + 12, &crc, 4);
	return n;
}

/* codec_check: 0 when m is message seq, else a description in why. */
static inline int codec_check(const unsigned char *m, size_t n, uint64_t seq, size_t max, char *why, size_t cap)
{
	if (n < CODEC_HEADER) {
		snprintf(why, cap, "message %llu: %zu bytes, shorter than its header", (unsigned long long)seq, n);
		return -1;
	}
	uint64_t got;
	uint32_t len, crc;
	memcpy(&got, m, 8);
	memcpy(&len, m + 8, 4);
	memcpy(&crc, m + 12, 4);
	if (got != seq) {
		snprintf(why, cap, "got message %llu, want %llu", (unsigned long long)got, (unsigned long long)seq);
		return -1;
	}
	if (len != n || n != codec_len(seq, max)) {
		snprintf(why, cap, "message %llu: length field=%u received=%zu want=%zu", (unsigned long long)seq, len, n,
			 codec_len(seq, max));
		return -1;
	}
	if (crc != codec_crc(m, n)) {
		snprintf(why, cap, "message %llu: crc=%#x computed=%#x (torn)", (unsigned long long)seq, crc, codec_crc(m, n));
		return -1;
	}
	unsigned char want[8];
	for (size_t i = CODEC_HEADER; i < n; i += 8) {
		uint64_t w = codec_mix(seq, (i - CODEC_HEADER) / 8 + 1);
		size_t k = n - i < 8 ? n - i : 8;
		memcpy(want, &w, 8);
		if (memcmp(m + i, want, k) != 0) {
			snprintf(why, cap, "message %llu: body differs at byte %zu (torn)", (unsigned long long)seq, i);
			return -1;
		}
	}
	return 0;
}

#endif
