/* The ceilings of ringbench limits in C: probes.go's six probes without a
 * language runtime in the way: the cache-line and ring probes between
 * threads (the hardware path is the same as between processes), the futex
 * and pipe round trips between processes (there the kernel's path is not).
 * Built by ringbench at run time; one probe per run, "limits cacheline|spsc|spsc64|memcpy|futex|pipe SECONDS", prints "RESULT
 * <value>" (ns per round trip, messages or bytes per second). */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SAMPLES 4096
#define SLOTS 1024

static double now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *xs, int n) {
	qsort(xs, n, sizeof xs[0], cmp_double);
	return xs[n / 2];
}

/* One word per cache line pair, so the two sides share nothing else. */
struct line {
	_Alignas(128) _Atomic uint64_t v;
	char pad[120];
};

static struct line a, b;
static uint64_t ring[SLOTS];
static double seconds;
static int fds[4]; /* down read, down write, up read, up write */

/* cacheline: the responder answers each odd value with the next even one. */
static void *cl_responder(void *arg) {
	(void)arg;
	for (;;) {
		uint64_t v = atomic_load_explicit(&a.v, memory_order_acquire);
		if (v == UINT64_MAX)
			return NULL;
		if (v & 1)
			atomic_store_explicit(&a.v, v + 1, memory_order_release);
	}
}

static double cacheline(void) {
	static double s[SAMPLES];
	pthread_t t;
	pthread_create(&t, NULL, cl_responder, NULL);
	uint64_t v = 0;
	int n = 0;
	for (double end = now_ns() + seconds * 1e9; n < SAMPLES && (n < 64 || now_ns() < end); n++) {
		double t0 = now_ns();
		for (int i = 0; i < 256; i++, v += 2) {
			atomic_store_explicit(&a.v, v + 1, memory_order_release);
			while (atomic_load_explicit(&a.v, memory_order_acquire) != v + 2)
				;
		}
		s[n] = (now_ns() - t0) / 256;
	}
	atomic_store(&a.v, UINT64_MAX);
	pthread_join(t, NULL);
	return median(s, n);
}

/* spsc: a.v is the producer's position, b.v the consumer's, published by
 * release stores after every EVERY messages (1, or 64 for spsc64); the
 * median rate of batches of BATCH messages, timed by the producer. One
 * consumer thread runs for the whole probe: a thread started per batch
 * measured its start-up (tens of microseconds on a VM, milliseconds when
 * it first lands on the producer's busy CPU) more than the ring. It stops
 * when a.v reads STOP, which the producer stores once the consumer has
 * caught up. */
#define BATCH (1 << 16)
#define STOP UINT64_MAX
static uint64_t every = 1;
static void *spsc_consumer(void *arg) {
	uint64_t *bad = arg, seen = 0;
	for (uint64_t pos = 0;; pos++) {
		while (pos == seen)
			if ((seen = atomic_load_explicit(&a.v, memory_order_acquire)) == STOP)
				return NULL;
		if (ring[pos % SLOTS] != pos)
			(*bad)++;
		if ((pos + 1) % every == 0)
			atomic_store_explicit(&b.v, pos + 1, memory_order_release);
	}
}

static double spsc(void) {
	static double s[SAMPLES];
	uint64_t bad = 0, pos = 0, freed = SLOTS;
	pthread_t t;
	pthread_create(&t, NULL, spsc_consumer, &bad);
	int n = 0;
	for (double end = now_ns() + seconds * 1e9; n < SAMPLES && (n < 8 || now_ns() < end); n++) {
		double t0 = now_ns();
		for (uint64_t last = pos + BATCH; pos < last; pos++) {
			while (pos == freed)
				freed = atomic_load_explicit(&b.v, memory_order_acquire) + SLOTS;
			ring[pos % SLOTS] = pos;
			if ((pos + 1) % every == 0)
				atomic_store_explicit(&a.v, pos + 1, memory_order_release);
		}
		s[n] = BATCH / ((now_ns() - t0) / 1e9);
	}
	while (atomic_load_explicit(&b.v, memory_order_acquire) != pos) /* BATCH is a multiple of every */
		;
	atomic_store(&a.v, STOP);
	pthread_join(t, NULL);
	if (bad) {
		fprintf(stderr, "spsc: %llu values read wrong\n", (unsigned long long)bad);
		exit(1);
	}
	return median(s, n);
}

static double memcpy_bw(void) {
	static double s[SAMPLES];
	size_t size = 1 << 20;
	char *src = malloc(size), *dst = malloc(size);
	memset(src, 7, size);
	int n = 0;
	for (double end = now_ns() + seconds * 1e9; n < SAMPLES && (n < 8 || now_ns() < end); n++) {
		double t0 = now_ns();
		for (int i = 0; i < 64; i++) {
			memcpy(dst, src, size);
			__asm__ volatile("" : : "r"(dst) : "memory"); /* keep every copy */
		}
		s[n] = 64.0 * size / ((now_ns() - t0) / 1e9);
	}
	return median(s, n);
}

/* futex: odd is the responder's turn, even the pinger's, UINT32_MAX stop.
 * The word lives in a shared mapping and the responder is a child process,
 * as a ring's peer is: the shared futex (no PRIVATE flag) and a wake that
 * crosses processes. */
static _Atomic uint32_t *word;
static void fx_wait(uint32_t v) { syscall(SYS_futex, word, FUTEX_WAIT, v, NULL, NULL, 0); }
static void fx_turn(uint32_t v) {
	atomic_store(word, v);
	syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static void fx_responder(void) {
	for (;;) {
		uint32_t v = atomic_load(word);
		if (v == UINT32_MAX)
			return;
		if (v & 1)
			fx_turn(v + 1);
		else
			fx_wait(v);
	}
}

static void pipe_responder(void) {
	char buf[64];
	for (;;) {
		ssize_t n = read(fds[0], buf, sizeof buf);
		if (n <= 0 || write(fds[3], buf, n) != n)
			return;
	}
}

static double round_trips(int pipes) {
	static double s[SAMPLES];
	char msg[64] = {0};
	word = mmap(NULL, sizeof *word, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (word == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	pid_t child = fork();
	if (child < 0) {
		perror("fork");
		exit(1);
	}
	if (child == 0) {
		if (pipes) { /* the parent's ends: the child sees EOF when the parent closes its own */
			close(fds[1]);
			close(fds[2]);
			pipe_responder();
		} else {
			fx_responder();
		}
		_exit(0);
	}
	if (pipes) { /* the child's ends */
		close(fds[0]);
		close(fds[3]);
	}
	uint32_t v = 0;
	int n = 0;
	for (double end = now_ns() + seconds * 1e9; n < SAMPLES && (n < 64 || now_ns() < end); n++) {
		double t0 = now_ns();
		if (pipes) {
			if (write(fds[1], msg, sizeof msg) != sizeof msg || read(fds[2], msg, sizeof msg) != sizeof msg) {
				perror("pipe");
				exit(1);
			}
		} else {
			fx_turn(v + 1);
			for (v += 2; atomic_load(word) != v;)
				fx_wait(v - 1);
		}
		s[n] = now_ns() - t0;
	}
	if (pipes)
		close(fds[1]);
	else
		fx_turn(UINT32_MAX);
	waitpid(child, NULL, 0);
	return median(s, n);
}

int main(int argc, char **argv) {
	if (argc != 3 || (seconds = atof(argv[2])) <= 0) {
		fprintf(stderr, "usage: limits cacheline|spsc|spsc64|memcpy|futex|pipe SECONDS\n");
		return 2;
	}
	const char *p = argv[1];
	double r;
	if (!strcmp(p, "cacheline"))
		r = cacheline();
	else if (!strcmp(p, "spsc"))
		r = spsc();
	else if (!strcmp(p, "spsc64")) {
		every = 64;
		r = spsc();
	}
	else if (!strcmp(p, "memcpy"))
		r = memcpy_bw();
	else if (!strcmp(p, "futex"))
		r = round_trips(0);
	else if (!strcmp(p, "pipe")) {
		if (pipe(fds) || pipe(fds + 2)) {
			perror("pipe");
			return 1;
		}
		r = round_trips(1);
	} else {
		fprintf(stderr, "limits: unknown probe %s\n", p);
		return 2;
	}
	printf("RESULT %.3f\n", r);
	return 0;
}
