/* frame_pipeline: ways of handing 8 MiB frames from one process to another
 * by copying them in and out of shared memory, without a ring's headers,
 * checks or wait loop, beside one copy alone (BENCHMARKS.md 11.4): whole
 * frames, frames streamed in pieces as they are written, and frames split
 * across a ring smaller than one frame. Two processes share one mapping: the
 * parent copies a frame from a buffer of its own into the mapping, the child
 * copies it out into a buffer of its own, and each hands the space to the
 * other with one counter. A side that finds no space or no frame spins on the
 * other's counter for a while, then sleeps in futex(2) until woken, as the
 * ring's default wait does. It is not a ceiling for the ring: its whole-frame
 * pipeline measured below shmring's Send/Recv in the near placement.
 *
 *   frame_pipeline copy IN               one copy alone, from one frame buffer
 *                                        to another, the source in the cache:
 *                                        the reference, as ringbench frames'
 *                                        memcpy (n writes past the cache)
 *   frame_pipeline whole DEPTH IN OUT    frames handed over whole, through DEPTH
 *                                        frame buffers (a slot ring's way)
 *   frame_pipeline chunk BYTES N IN OUT  frames handed over in pieces of BYTES
 *                                        as they are written, through N pieces:
 *                                        with N a multiple of 8 MiB / BYTES every
 *                                        frame is contiguous (streamed through
 *                                        N*BYTES/8 MiB frame buffers); with any
 *                                        other N, frames are split at the ring's end
 *
 * IN and OUT name the copy of each side: m glibc memcpy, n AVX2 with
 * non-temporal stores and the source prefetched (Go's copy of 1 MiB or more
 * on amd64; here at any size, pieces too), a AVX2 with ordinary stores (Go's
 * below 1 MiB), r rep movsb. "pin" pins the sides
 * to CPUs 0 and 1; "spin" never sleeps, "sleep" sleeps at once. Prints "RESULT <GB/s>": frame bytes
 * delivered (or copied) per second, from the 20th frame to the end of the
 * run's 1.5 s. A run that has not ended after 30 s (a side died) is killed.
 *
 * Build and run: cc -O2 -mavx2 frame_pipeline.c -o frame_pipeline && ./frame_pipeline copy m
 * scripts/bench-frame-pipeline.sh runs the comparison of BENCHMARKS.md 11.4. */
#define _GNU_SOURCE
#include <immintrin.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FRAME ((size_t)8 << 20)

static uint64_t now_ns(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void pin(int cpu) {
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	sched_setaffinity(0, sizeof s, &s);
}

/* copy_nt copies n bytes (a multiple of 128) with non-temporal stores and
 * the source prefetched ahead, as Go's copy does from 1 MiB up on amd64;
 * copy_avx the same with ordinary stores. Written out register by register:
 * an array of four vectors made gcc copy them through the stack. */
#define LOAD4(s)                                                  \
	__m256i v0 = _mm256_loadu_si256((const __m256i *)(s));        \
	__m256i v1 = _mm256_loadu_si256((const __m256i *)((s) + 32)); \
	__m256i v2 = _mm256_loadu_si256((const __m256i *)((s) + 64)); \
	__m256i v3 = _mm256_loadu_si256((const __m256i *)((s) + 96))
static void copy_nt(char *d, const char *s, size_t n) {
	for (size_t i = 0; i < n; i += 128) {
		_mm_prefetch(s + i + 448, _MM_HINT_NTA);
		_mm_prefetch(s + i + 640, _MM_HINT_NTA);
		LOAD4(s + i);
		_mm256_stream_si256((__m256i *)(d + i), v0);
		_mm256_stream_si256((__m256i *)(d + i + 32), v1);
		_mm256_stream_si256((__m256i *)(d + i + 64), v2);
		_mm256_stream_si256((__m256i *)(d + i + 96), v3);
	}
	_mm_sfence();
}
static void copy_avx(char *d, const char *s, size_t n) {
	for (size_t i = 0; i < n; i += 128) {
		LOAD4(s + i);
		_mm256_storeu_si256((__m256i *)(d + i), v0);
		_mm256_storeu_si256((__m256i *)(d + i + 32), v1);
		_mm256_storeu_si256((__m256i *)(d + i + 64), v2);
		_mm256_storeu_si256((__m256i *)(d + i + 96), v3);
	}
}
static void copy_rep(char *d, const char *s, size_t n) {
	__asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n)::"memory");
}
static void copy_libc(char *d, const char *s, size_t n) { memcpy(d, s, n); }

typedef void (*copier)(char *, const char *, size_t);
static copier pick(const char *name) {
	switch (name[0]) {
	case 'm': return copy_libc;
	case 'n': return copy_nt;
	case 'a': return copy_avx;
	case 'r': return copy_rep;
	}
	fprintf(stderr, "frame_pipeline: unknown copy %s (m, n, a or r)\n", name);
	exit(2);
}

/* The counters are 32 bits wide for futex(2); they wrap, and only their
 * differences are used. sleeping[i] says that side i sleeps on counter i^1. */
static volatile uint32_t *counter[2], *sleeping[2];
static int spin_limit = 1000; /* PAUSEs before sleeping: "spin" never sleeps, "sleep" sleeps at once */

/* await returns once ready(counter[other]) holds, spinning first. */
static void await(int self, int (*ready)(uint32_t, uint32_t), uint32_t arg) {
	volatile uint32_t *c = counter[self ^ 1];
	for (int spins = 0; !ready(*c, arg); spins++) {
		if (spin_limit < 0 || spins < spin_limit) {
			__builtin_ia32_pause();
			continue;
		}
		uint32_t seen = *c;
		__atomic_store_n(sleeping[self], 1, __ATOMIC_SEQ_CST);
		if (!ready(*c, arg)) syscall(SYS_futex, c, FUTEX_WAIT, seen, NULL, NULL, 0);
		__atomic_store_n(sleeping[self], 0, __ATOMIC_SEQ_CST);
	}
}

/* publish stores side self's counter and wakes the other side if it sleeps on it. */
static void publish(int self, uint32_t v) {
	__atomic_store_n(counter[self], v, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(sleeping[self ^ 1], __ATOMIC_SEQ_CST)) syscall(SYS_futex, counter[self], FUTEX_WAKE, 1, NULL, NULL, 0);
}

static uint32_t depth32;
static int has_piece(uint32_t head, uint32_t t) { return head != t; }
static int has_space(uint32_t tail, uint32_t h) { return h - tail < depth32; }

static void usage(void) {
	fprintf(stderr, "usage: frame_pipeline copy IN | whole DEPTH IN OUT [pin] [spin|sleep] | chunk BYTES N IN OUT [pin] [spin|sleep]\n");
	exit(2);
}

/* copy_alone is the reference: one frame copied again and again. */
static int copy_alone(copier c) {
	char *src = aligned_alloc(4096, FRAME), *dst = aligned_alloc(4096, FRAME);
	memset(src, 3, FRAME);
	memset(dst, 2, FRAME);
	uint64_t n = 0, t0 = 0, start = now_ns();
	while (now_ns() - start < 1500000000u) {
		c(dst, src, FRAME);
		__asm__ volatile("" ::"r"(dst), "r"(src) : "memory");
		if (++n == 20) t0 = now_ns();
	}
	printf("RESULT %.2f\n", (double)(n - 20) * FRAME / (double)(now_ns() - t0));
	return 0;
}

int main(int argc, char **argv) {
	alarm(30); /* a side that died leaves the other waiting: end the run (SIGALRM, inherited by the child) */
	if (argc == 3 && strcmp(argv[1], "copy") == 0) return copy_alone(pick(argv[2]));
	if (argc < 5) usage();
	int chunked = strcmp(argv[1], "chunk") == 0;
	if (!chunked && strcmp(argv[1], "whole") != 0) usage();
	if (chunked && argc < 6) usage();
	size_t piece = chunked ? strtoull(argv[2], 0, 0) : FRAME;
	uint64_t depth = strtoull(argv[chunked ? 3 : 2], 0, 0);
	copier in = pick(argv[chunked ? 4 : 3]), out = pick(argv[chunked ? 5 : 4]);
	int pinned = 0;
	for (int i = chunked ? 6 : 5; i < argc; i++) {
		if (strcmp(argv[i], "pin") == 0) pinned = 1;
		else if (strcmp(argv[i], "spin") == 0) spin_limit = -1;
		else if (strcmp(argv[i], "sleep") == 0) spin_limit = 0;
		else usage();
	}
	if (piece < 128 || piece % 128 || FRAME % piece || depth < 1) usage();
	uint64_t pieces = FRAME / piece;

	/* counter 0, head: pieces copied in; counter 1, tail: pieces copied out;
	 * stop: the parent is done */
	volatile uint64_t *ctl = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char *ring = mmap(0, piece * depth, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (ctl == MAP_FAILED || ring == MAP_FAILED) { perror("mmap"); return 1; }
	memset(ring, 1, piece * depth);
	volatile uint64_t *stop = ctl + 32;
	counter[0] = (volatile uint32_t *)ctl, counter[1] = (volatile uint32_t *)(ctl + 16);
	sleeping[0] = (volatile uint32_t *)(ctl + 48), sleeping[1] = (volatile uint32_t *)(ctl + 64);
	depth32 = (uint32_t)depth;

	pid_t child = fork();
	if (child == 0) {
		if (pinned) pin(1);
		char *dst = aligned_alloc(4096, FRAME);
		memset(dst, 2, FRAME);
		uint64_t t = 0, frames = 0, t0 = 0;
		for (;;) {
			for (uint64_t k = 0; k < pieces; k++, t++) {
				await(1, has_piece, (uint32_t)t);
				if (*stop) goto done;
				out(dst + k * piece, ring + (t % depth) * piece, piece);
				publish(1, (uint32_t)(t + 1));
			}
			if (++frames == 20) t0 = now_ns();
		}
	done:
		if (frames <= 20) { fprintf(stderr, "frame_pipeline: only %llu frames\n", (unsigned long long)frames); _exit(1); }
		printf("RESULT %.2f\n", (double)(frames - 20) * FRAME / (double)(now_ns() - t0));
		fflush(stdout);
		_exit(0);
	}
	if (pinned) pin(0);
	char *src = aligned_alloc(4096, FRAME);
	memset(src, 3, FRAME);
	uint64_t h = 0, start = now_ns();
	while (now_ns() - start < 1500000000u) {
		for (uint64_t k = 0; k < pieces; k++, h++) {
			await(0, has_space, (uint32_t)h);
			in(ring + (h % depth) * piece, src + k * piece, piece);
			publish(0, (uint32_t)(h + 1));
		}
	}
	*stop = 1;
	publish(0, (uint32_t)(h + 1)); /* wakes the child to see stop */
	int status;
	waitpid(child, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
