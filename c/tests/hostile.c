/* hostile.c — a randomised hostile peer, built with
 * -fsanitize=address,undefined by interop/hostile_test.go. It holds the
 * SPSC producer and consumer and three broadcast readers of two rings the Go
 * test created, and between their calls scribbles on the mapping what a
 * buggy or hostile process could: cursors anywhere, slot lengths past the
 * slot, forged seqs, bogus state and flags words, a broken end mark. It
 * runs with shmring_sigbus_guard() installed, so every call goes through
 * the guarded path (sigsetjmp) under the sanitizers. Every call must return a
 * code from the documented set, every message handed out must lie inside
 * the slot area with a length no larger than the slot, and nothing may
 * crash or hang.
 *
 *   hostile SPSC_RING BCAST_RING ITERATIONS SEED
 */
#define _GNU_SOURCE
#include "../internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* hostile64 picks a value near the interesting edges, or anything. */
static uint64_t hostile64(uint64_t near, uint64_t slots)
{
	switch (rnd() % 8) {
	case 0: return rnd();
	case 1: return near + slots + rnd() % 3 - 1;
	case 2: return near - rnd() % 3;
	case 3: return near + rnd() % 3;
	case 4: return near | SHMRING_SEQ_WRITING;
	case 5: return 0;
	case 6: return UINT64_MAX - rnd() % 4;
	default: return near + rnd() % (4 * slots);
	}
}

static uint32_t hostile32(uint32_t near)
{
	switch (rnd() % 5) {
	case 0: return (uint32_t)rnd();
	case 1: return near + (uint32_t)(rnd() % 3) - 1;
	case 2: return 0;
	case 3: return UINT32_MAX;
	default: return (uint32_t)(rnd() % 8);
	}
}

static void fail(const char *what, int rc)
{
	fprintf(stderr, "hostile: %s returned %d (%s): %s\n", what, rc, shmring_strerror(rc), shmring_errdetail());
	exit(1);
}

/* allowed: the codes a data-path call may return against a hostile peer. */
static long seen[32]; /* by -code: what the run exercised, printed at the end */

static void allowed(const char *what, int rc)
{
	if (rc <= 0 && rc > -32)
		seen[-rc]++;
	switch (rc) {
	case 0: case SHMRING_EEMPTY: case SHMRING_EFULL: case SHMRING_ETIMEDOUT: case SHMRING_ECORRUPT:
	case SHMRING_ECLOSED: case SHMRING_EPEERDEAD: case SHMRING_ELAPPED: case SHMRING_ESHORTBUF:
	case SHMRING_EBUSY: case SHMRING_ETRUNCATED:
		return;
	}
	fail(what, rc);
}

static volatile unsigned sink;

/* inside: a message handed out lies in the slot area, or is a private copy
 * on the heap (a lossless joiner's validated copy), where the address
 * sanitizer checks every byte read below; either way no longer than a slot. */
static void inside(const shmring *r, const void *m, size_t n, const char *what)
{
	const unsigned char *p = m, *lo = r->mem + r->info.slots_offset, *hi = r->mem + r->info.file_size;
	int in_mapping = p >= r->mem && p < hi, copy = p + n <= r->mem || p >= hi;
	if (n > r->info.slot_size || (in_mapping ? p < lo || p + n > hi : !copy)) {
		fprintf(stderr, "hostile: %s handed out %zu bytes at offset %td of a %llu-byte mapping\n", what, n,
			p - r->mem, (unsigned long long)r->info.file_size);
		exit(1);
	}
	for (size_t i = 0; i < n; i++)
		sink += p[i];
}

static int64_t timeout(void) { return rnd() % 32 == 0 ? 100000 : 0; }

static void spsc_round(shmring *r, shmring_producer **pp, shmring_consumer **cp, unsigned char *buf)
{
	const shmring_info *h = &r->info;
	uint64_t prod = LOAD_RLX(w64(r, SHMRING_PRODUCER_CURSOR_OFFSET));
	uint64_t slot = h->slots_offset + (rnd() % h->slot_count) * h->slot_stride;
	switch (rnd() % 10) {
	case 0: STORE_RLX(w64(r, SHMRING_PRODUCER_CURSOR_OFFSET), hostile64(prod, h->slot_count)); break;
	case 1: STORE_RLX(w64(r, SHMRING_CONSUMER_CURSOR_OFFSET), hostile64(prod, h->slot_count)); break;
	case 2: STORE_RLX(w32(r, slot + SHMRING_SLOT_LENGTH_OFFSET), hostile32(h->slot_size)); break;
	case 3: STORE_RLX(w32(r, slot + SHMRING_SLOT_SEQ_OFFSET), hostile32((uint32_t)prod)); break;
	case 4: STORE_RLX(w32(r, SHMRING_PRODUCER_STATE_OFFSET), hostile32(1)); break;
	case 5: STORE_RLX(w32(r, SHMRING_CONSUMER_STATE_OFFSET), hostile32(1)); break;
	case 6: STORE_RLX(w32(r, SHMRING_PRODUCER_FLAGS_OFFSET), hostile32(1)); break;
	case 7: STORE_RLX(w32(r, SHMRING_CONSUMER_SLEEPERS_OFFSET), hostile32(1)); break;
	case 8: if (rnd() % 4 == 0) STORE_RLX(w64(r, h->end_offset), rnd()); break; /* "truncated" till repaired */
	default: break; /* a quiet round: let honest traffic through */
	}
	int rc;
	if (!*pp) {
		rc = shmring_producer_open(r, pp);
		allowed("producer open", rc);
		if (rc)
			*pp = NULL;
	}
	if (!*cp) {
		rc = shmring_consumer_open(r, cp);
		allowed("consumer open", rc);
		if (rc)
			*cp = NULL;
	}
	if (*pp) {
		void *b;
		size_t cap;
		if (rnd() & 1) {
			rc = shmring_producer_claim(*pp, &b, &cap, timeout());
			allowed("claim", rc);
			if (rc == 0) {
				inside(r, b, cap, "claim");
				memset(b, 0x5a, cap);
				allowed("commit", shmring_producer_commit(*pp, rnd() % (cap + 1)));
			}
		} else {
			allowed("send", shmring_producer_send(*pp, buf, rnd() % (h->slot_size + 1), timeout()));
		}
	}
	if (*cp) {
		const void *m;
		size_t n;
		if (rnd() & 1) {
			rc = shmring_consumer_receive(*cp, &m, &n, timeout());
			allowed("receive", rc);
			if (rc == 0) {
				inside(r, m, n, "receive");
				allowed("release", shmring_consumer_release(*cp));
			}
		} else {
			size_t cap = rnd() % 2 ? h->slot_size : rnd() % (h->slot_size + 1);
			rc = shmring_consumer_recv(*cp, buf, cap, &n, timeout());
			allowed("recv", rc);
			if (rc == 0 && n > cap)
				fail("recv overflowed its buffer", rc);
		}
	}
	/* Now and then a handle is dropped and taken again: opening over hostile
	 * cursors must refuse cleanly too. */
	if (rnd() % 64 == 0) {
		shmring_producer_close(*pp);
		*pp = NULL;
	}
	if (rnd() % 64 == 0) {
		shmring_consumer_close(*cp);
		*cp = NULL;
	}
	if (rnd() % 32 == 0) { /* a sane state again, so honest paths keep running */
		STORE_RLX(w64(r, h->end_offset), SHMRING_END_MARK);
		uint64_t c = LOAD_RLX(w64(r, SHMRING_CONSUMER_CURSOR_OFFSET));
		STORE_RLX(w64(r, SHMRING_PRODUCER_CURSOR_OFFSET), c);
		STORE_RLX(w32(r, SHMRING_PRODUCER_STATE_OFFSET), *pp ? SHMRING_STATE_ATTACHED : 0);
	}
}

static void bcast_round(shmring *r, shmring_reader **rds, int nrd, unsigned char *buf)
{
	const shmring_info *h = &r->info;
	uint64_t cur = LOAD_RLX(w64(r, SHMRING_BCAST_CURSOR_OFFSET));
	uint64_t pos = cur + rnd() % (2 * h->slot_count) - h->slot_count;
	uint64_t slot = h->slots_offset + (pos & (h->slot_count - 1)) * h->slot_stride;
	switch (rnd() % 9) {
	case 0: STORE_RLX(w64(r, SHMRING_BCAST_CURSOR_OFFSET), hostile64(cur, h->slot_count)); break;
	case 1: STORE_RLX(w64(r, slot + SHMRING_BCAST_SLOT_SEQ_OFFSET), hostile64(pos + 1, h->slot_count)); break;
	case 2: STORE_RLX(w64(r, slot + SHMRING_BCAST_SLOT_SEQ_OFFSET), pos + 1); /* forged "published" */
		STORE_RLX(w64(r, SHMRING_BCAST_CURSOR_OFFSET), pos + 1 > cur ? pos + 1 : cur);
		break;
	case 3: STORE_RLX(w32(r, slot + SHMRING_BCAST_SLOT_LENGTH_OFFSET), hostile32(h->slot_size)); break;
	case 4: STORE_RLX(w32(r, SHMRING_BCAST_PRODUCER_STATE_OFFSET), hostile32(1)); break;
	case 5: STORE_RLX(w32(r, SHMRING_BCAST_PRODUCER_FLAGS_OFFSET), hostile32(1)); break;
	case 6: STORE_RLX(w32(r, SHMRING_BCAST_GATE_SLEEPERS_OFFSET), hostile32(1)); break;
	case 7: { /* an honest publish of the next position */
		unsigned char *s = r->mem + h->slots_offset + (cur & (h->slot_count - 1)) * h->slot_stride;
		uint32_t n = (uint32_t)(rnd() % (h->slot_size + 1));
		memset(s + SHMRING_BCAST_SLOT_PAYLOAD_OFFSET, 0x33, n);
		STORE_RLX((uint32_t *)(void *)(s + SHMRING_BCAST_SLOT_LENGTH_OFFSET), n);
		STORE_REL((uint64_t *)(void *)s, cur + 1);
		if (!(cur & SHMRING_SEQ_WRITING))
			STORE_REL(w64(r, SHMRING_BCAST_CURSOR_OFFSET), cur + 1);
		break;
	}
	default: break;
	}
	int i = (int)(rnd() % (uint64_t)nrd), rc;
	if (!rds[i]) {
		rc = shmring_reader_open(r, i == 0 ? SHMRING_POLICY_LOSSLESS : SHMRING_POLICY_LOSSY,
					 (int)(rnd() % 2), &rds[i]);
		allowed("reader open", rc);
		if (rc)
			rds[i] = NULL;
		return;
	}
	const void *m;
	size_t n;
	if (rnd() & 1) {
		rc = shmring_reader_receive(rds[i], &m, &n, timeout());
		allowed("reader receive", rc);
		if (rc == 0) {
			inside(r, m, n, "reader receive");
			allowed("reader release", shmring_reader_release(rds[i]));
		}
	} else {
		size_t cap = rnd() % 2 ? h->slot_size : rnd() % (h->slot_size + 1);
		rc = shmring_reader_recv(rds[i], buf, cap, &n, timeout());
		allowed("reader recv", rc);
		if (rc == 0 && n > cap)
			fail("reader recv overflowed its buffer", rc);
	}
	(void)shmring_reader_lag(rds[i]);
	if (rnd() % 64 == 0) {
		shmring_reader_close(rds[i]);
		rds[i] = NULL;
	}
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: hostile SPSC_RING BCAST_RING ITERATIONS SEED\n");
		return 2;
	}
	long iters = strtol(argv[3], NULL, 0);
	rng = strtoull(argv[4], NULL, 0) | 1;
	shmring *spsc, *bcast;
	int rc;
	if ((rc = shmring_sigbus_guard()) != 0)
		fail("guard", rc);
	if ((rc = shmring_open(argv[1], NULL, &spsc)) != 0 || (rc = shmring_open(argv[2], NULL, &bcast)) != 0)
		fail("open", rc);
	unsigned char *buf = malloc(spsc->info.slot_size > bcast->info.slot_size ? spsc->info.slot_size : bcast->info.slot_size);
	memset(buf, 0x11, spsc->info.slot_size);
	shmring_producer *p = NULL;
	shmring_consumer *c = NULL;
	shmring_reader *rds[3] = { 0 };
	for (long i = 0; i < iters; i++) {
		spsc_round(spsc, &p, &c, buf);
		bcast_round(bcast, rds, 3, buf);
	}
	shmring_producer_close(p);
	shmring_consumer_close(c);
	for (int i = 0; i < 3; i++)
		shmring_reader_close(rds[i]);
	shmring_close(spsc);
	shmring_close(bcast);
	free(buf);
	fprintf(stderr, "calls by result:");
	for (int i = 0; i < 32; i++)
		if (seen[i])
			fprintf(stderr, " %s=%ld", shmring_strerror(-i), seen[i]);
	fprintf(stderr, "\n");
	printf("ok %ld\n", iters);
	return 0;
}
