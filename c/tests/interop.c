/* interop.c — the C side of the cross-language tests in interop/: each
 * subcommand is one process of a test, talking to the Go test by lines on
 * stdout ("ready", "peerdead", "ok ...") and failing with a message on
 * stderr and exit status 1.
 *
 *   produce  RING FIRST COUNT close|hang   send messages FIRST..FIRST+COUNT-1
 *   consume  RING FIRST COUNT closed|hang  receive and check them
 *   bcast    RING lossless|lossy COUNT LAPEVERY   read a broadcast stream
 *   bench    RING COUNT [guard]            receive COUNT messages, check seq only
 *   trunc    RING                          receive and check until the ring fails
 *   endmark  SPSC SPSC_EMPTY BCAST         every read of rings without their end mark
 *   guardself PATH                         a SIGBUS in a library call and one outside
 *   open     NAME [OPTION...]              open and print the verdict; options
 *                                          trustuid=N trustgid=N world maxsize=N timeout=NS
 *   corrupt  PATH                          every single-byte header corruption
 *   role     RING producer|consumer|lossy|lossless   take the role, print the verdict, give it up
 *   shrunk   RING                          send one message, say "ready", and after a line on
 *                                          stdin (the file shrunk meanwhile) say the codes of a
 *                                          send and of a claim: "send RC claim RC" (1: a slot handed out)
 *   shortbuf RING consumer|reader LEN      copy the first message (LEN bytes) into a buffer one
 *                                          byte short, then into one that holds it: "short RC
 *                                          n=N then RC n=N"
 *   nulls    RING                          every public call with a NULL where it needs a pointer:
 *                                          one line "NAME CODE" each, the detail of an empty
 *                                          receive after a misuse ("detail ..."), then "done"
 *   joiner   RING                          join as a lossless reader at Oldest, say "first SEQ"
 *                                          of the first message, and after a line on stdin
 *                                          drain with timeout 0, each message checked, laps
 *                                          counted: "end NEXT laps L"; a silent hole fails
 *   poll     RING consumer|reader|producer   call with timeout 0 in a loop, checking what
 *                                          arrives, until the peer's death ends it:
 *                                          "peerdead N then C C C C slept S" after N messages,
 *                                          with the codes of three more polls and of a call
 *                                          that waits, and the futex sleeps they took
 *   forever  RING                          take the consumer role, say "waiting", receive one
 *                                          message with a timeout of INT64_MAX ("for ever"),
 *                                          say "got N" (its length)
 *
 * A producer or consumer that sees its peer die prints "peerdead" and goes
 * on waiting, so that a new process can take the dead one's role over.
 * Every command but bench installs shmring_sigbus_guard(), so that the
 * streams run the guarded calls; bench measures the library without it
 * unless told "guard". */
#define _GNU_SOURCE
#include "../shmring.h"
#include "codec.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what, int rc)
{
	fprintf(stderr, "%s: %s (code %d): %s\n", what, shmring_strerror(rc), rc, shmring_errdetail());
	exit(1);
}

static shmring *open_ring(const char *name)
{
	shmring *r;
	int rc = shmring_open(name, NULL, &r);
	if (rc)
		die("open", rc);
	return r;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* hang blocks until the parent closes our stdin or kills us. */
static void hang(void)
{
	char b[64];
	while (read(0, b, sizeof b) > 0) {
	}
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* ---- produce ---- */

static int send_one(shmring_producer *p, uint64_t seq, size_t max, unsigned char *scratch)
{
	for (;;) {
		int rc;
		switch (next_rand() % 3) {
		case 0: { /* zero copy */
			void *buf;
			size_t cap;
			if ((rc = shmring_producer_claim(p, &buf, &cap, -1)) == 0)
				return shmring_producer_commit(p, codec_encode(buf, seq, max));
			break;
		}
		case 1: /* copying, blocking */
			rc = shmring_producer_send(p, scratch, codec_encode(scratch, seq, max), -1);
			break;
		default: /* non-blocking, then a bounded wait */
			rc = shmring_producer_send(p, scratch, codec_encode(scratch, seq, max), 0);
			if (rc == SHMRING_EFULL)
				rc = shmring_producer_send(p, scratch, codec_encode(scratch, seq, max), 5000000);
			if (rc == SHMRING_ETIMEDOUT)
				continue;
		}
		if (rc == SHMRING_EPEERDEAD) {
			say("peerdead");
			continue; /* wait for a new consumer */
		}
		return rc;
	}
}

static int cmd_produce(char **a)
{
	shmring *r = open_ring(a[0]);
	uint64_t first = strtoull(a[1], NULL, 0), count = strtoull(a[2], NULL, 0);
	shmring_producer *p;
	int rc = shmring_producer_open(r, &p);
	if (rc)
		die("producer", rc);
	say("ready");
	size_t max = shmring_get_info(r)->slot_size;
	unsigned char *scratch = malloc(max);
	for (uint64_t s = first; s < first + count; s++)
		if ((rc = send_one(p, s, max, scratch)) != 0)
			die("send", rc);
	if (strcmp(a[3], "hang") == 0) {
		say("sent %llu", (unsigned long long)count);
		hang();
	}
	shmring_producer_close(p);
	shmring_close(r);
	say("done %llu", (unsigned long long)count);
	return 0;
}

/* ---- consume ---- */

/* take_one receives message seq by one of the three ways, and checks it. */
static int take_one(shmring_consumer *c, uint64_t seq, size_t max, unsigned char *scratch)
{
	char why[256];
	for (;;) {
		int rc;
		size_t n;
		switch (next_rand() % 3) {
		case 0: { /* zero copy */
			const void *m;
			if ((rc = shmring_consumer_receive(c, &m, &n, -1)) == 0) {
				if (codec_check(m, n, seq, max, why, sizeof why) != 0) {
					fprintf(stderr, "%s\n", why);
					exit(1);
				}
				return shmring_consumer_release(c);
			}
			break;
		}
		case 1:
			rc = shmring_consumer_recv(c, scratch, max, &n, -1);
			break;
		default:
			rc = shmring_consumer_recv(c, scratch, max, &n, 0);
			if (rc == SHMRING_EEMPTY)
				rc = shmring_consumer_recv(c, scratch, max, &n, 5000000);
			if (rc == SHMRING_ETIMEDOUT)
				continue;
		}
		if (rc == SHMRING_EPEERDEAD) {
			say("peerdead");
			continue; /* wait for a new producer */
		}
		if (rc)
			return rc;
		if (codec_check(scratch, n, seq, max, why, sizeof why) != 0) {
			fprintf(stderr, "%s\n", why);
			exit(1);
		}
		return 0;
	}
}

static int cmd_consume(char **a)
{
	shmring *r = open_ring(a[0]);
	uint64_t first = strtoull(a[1], NULL, 0), count = strtoull(a[2], NULL, 0);
	shmring_consumer *c;
	int rc = shmring_consumer_open(r, &c);
	if (rc)
		die("consumer", rc);
	say("ready");
	size_t max = shmring_get_info(r)->slot_size;
	unsigned char *scratch = malloc(max);
	for (uint64_t s = first; s < first + count; s++)
		if ((rc = take_one(c, s, max, scratch)) != 0)
			die("receive", rc);
	if (strcmp(a[3], "hang") == 0) {
		const void *m;
		size_t n;
		if ((rc = shmring_consumer_receive(c, &m, &n, -1)) != 0)
			die("receive the held message", rc);
		say("holding %llu", (unsigned long long)(first + count));
		hang();
	}
	size_t n;
	while ((rc = shmring_consumer_recv(c, scratch, max, &n, -1)) == SHMRING_EPEERDEAD) {
	}
	if (rc != SHMRING_ECLOSED) {
		fprintf(stderr, "after %llu messages: want end of stream, got %s (%s)\n", (unsigned long long)count,
			shmring_strerror(rc), rc ? shmring_errdetail() : "a message");
		return 1;
	}
	shmring_stats st = shmring_consumer_stats(c);
	shmring_consumer_close(c);
	shmring_close(r);
	say("ok %llu %llu", (unsigned long long)st.messages, (unsigned long long)st.bytes);
	return 0;
}

/* ---- bcast ---- */

/* wait_lapped stalls a lossy reader until the producer is a whole ring
 * ahead, so that a lap surely follows; bounded, in case the stream ends. */
static void wait_lapped(shmring_reader *rd, uint64_t slots)
{
	for (int i = 0; i < 20000 && shmring_reader_lag(rd) <= slots; i++) {
		struct timespec ts = { 0, 100000 };
		nanosleep(&ts, NULL);
	}
}

static int cmd_bcast(char **a)
{
	shmring *r = open_ring(a[0]);
	int lossless = strcmp(a[1], "lossless") == 0;
	uint64_t count = strtoull(a[2], NULL, 0), lap_every = strtoull(a[3], NULL, 0);
	shmring_reader *rd;
	int rc = shmring_reader_open(r, lossless ? SHMRING_POLICY_LOSSLESS : SHMRING_POLICY_LOSSY, SHMRING_START_OLDEST, &rd);
	if (rc)
		die("reader", rc);
	say("ready");
	const shmring_info *info = shmring_get_info(r);
	size_t max = info->slot_size;
	unsigned char *scratch = malloc(max);
	char why[256];
	/* expect: the next sequence number; every position is either
	 * delivered or counted missed, so at the end expect == count. */
	uint64_t expect = 0, delivered = 0, missed = 0, laps = 0, stall = lap_every;
	for (;;) {
		if (lap_every && delivered >= stall) {
			stall += lap_every;
			if (expect + info->slot_count < count)
				wait_lapped(rd, info->slot_count);
		}
		size_t n;
		int bad = 0;
		if (next_rand() & 1) {
			const void *m;
			rc = shmring_reader_receive(rd, &m, &n, -1);
			if (rc == 0) {
				/* a lossy lease may be torn: only release says */
				bad = codec_check(m, n, expect, max, why, sizeof why);
				rc = shmring_reader_release(rd);
			}
		} else {
			rc = shmring_reader_recv(rd, scratch, max, &n, -1);
			if (rc == 0)
				bad = codec_check(scratch, n, expect, max, why, sizeof why);
		}
		if (rc == SHMRING_ELAPPED) {
			if (lossless) {
				fprintf(stderr, "lossless reader lapped at %llu\n", (unsigned long long)expect);
				return 1;
			}
			expect += shmring_reader_missed(rd);
			missed += shmring_reader_missed(rd);
			laps++;
			continue;
		}
		if (rc == SHMRING_ECLOSED)
			break;
		if (rc)
			die("broadcast receive", rc);
		if (bad) {
			fprintf(stderr, "%s\n", why);
			return 1;
		}
		expect++;
		delivered++;
	}
	shmring_stats st = shmring_reader_stats(rd);
	if (expect != count || st.missed != missed || st.messages != delivered) {
		fprintf(stderr, "accounting: expect=%llu count=%llu missed=%llu/%llu delivered=%llu/%llu\n",
			(unsigned long long)expect, (unsigned long long)count, (unsigned long long)missed,
			(unsigned long long)st.missed, (unsigned long long)delivered, (unsigned long long)st.messages);
		return 1;
	}
	shmring_reader_close(rd);
	shmring_close(r);
	say("ok %llu %llu %llu", (unsigned long long)delivered, (unsigned long long)missed, (unsigned long long)laps);
	return 0;
}

/* ---- bench: the consumer's side of the throughput comparison ---- */

static int cmd_bench(char **a, int argc)
{
	if (argc > 2 && strcmp(a[2], "guard") == 0 && shmring_sigbus_guard() != 0)
		die("guard", SHMRING_ESYS);
	shmring *r = open_ring(a[0]);
	uint64_t count = strtoull(a[1], NULL, 0);
	shmring_consumer *c;
	int rc = shmring_consumer_open(r, &c);
	if (rc)
		die("consumer", rc);
	say("ready");
	unsigned char buf[4096];
	size_t max = shmring_get_info(r)->slot_size < sizeof buf ? shmring_get_info(r)->slot_size : sizeof buf;
	for (uint64_t s = 0; s < count; s++) {
		size_t n;
		if ((rc = shmring_consumer_recv(c, buf, max, &n, -1)) != 0)
			die("recv", rc);
		uint64_t got;
		memcpy(&got, buf, 8);
		if (n < 8 || got != s) {
			fprintf(stderr, "got message %llu, want %llu\n", (unsigned long long)got, (unsigned long long)s);
			return 1;
		}
	}
	shmring_stats st = shmring_consumer_stats(c);
	shmring_consumer_close(c);
	shmring_close(r);
	say("ok %llu %llu", (unsigned long long)count, (unsigned long long)st.sleeps);
	return 0;
}

/* ---- trunc and endmark: rings a peer shrank ---- */

/* wait_line blocks until the parent sends a line (or closes stdin). */
static void wait_line(void)
{
	char ch;
	while (read(0, &ch, 1) == 1 && ch != '\n') {
	}
}

/* cmd_trunc receives and checks every message until a call fails, with the
 * copying call (what a caller reads in place after receive is its own risk,
 * as in Go). Once it has received a few rings' worth it says "streaming" and
 * pauses until the parent sends a line (the parent lets the ring fill, then
 * shrinks the file: every slot then holds a message, the cut one too); at
 * the end it says "stopped received=N code=C detail". A message that fails
 * its check was damaged and delivered as whole: exit 1. After the stop it
 * holds its role until stdin closes, so that no peer sees it die. */
static int cmd_trunc(char **a)
{
	shmring *r = open_ring(a[0]);
	shmring_consumer *c;
	int rc = shmring_consumer_open(r, &c);
	if (rc)
		die("consumer", rc);
	const shmring_info *info = shmring_get_info(r);
	size_t max = info->slot_size, n;
	unsigned char *scratch = malloc(max);
	char why[256];
	uint64_t seq = 0;
	for (;; seq++) {
		if ((rc = shmring_consumer_recv(c, scratch, max, &n, -1)) != 0)
			break;
		if (codec_check(scratch, n, seq, max, why, sizeof why) != 0) {
			say("stopped received=%llu damaged", (unsigned long long)seq);
			fprintf(stderr, "a damaged message was delivered as whole: %s\n", why);
			return 1;
		}
		if (seq == 4 * info->slot_count) {
			say("streaming");
			wait_line();
		}
	}
	say("stopped received=%llu code=%d %s", (unsigned long long)seq, rc, shmring_errdetail());
	hang();
	shmring_consumer_close(c); /* a dead handle closes too */
	shmring_close(r);
	free(scratch);
	return rc == SHMRING_ETRUNCATED ? 0 : 1;
}

/* cmd_endmark: every read of rings whose end mark is gone fails, with no
 * fault to catch (the test overwrote the mark, as a file shrunk and grown
 * back reads). SPSC holds one message, SPSC_EMPTY none, BCAST one. Prints
 * each call's code on one line. */
static int cmd_endmark(char **a)
{
	shmring *spsc = open_ring(a[0]), *empty = open_ring(a[1]), *bcast = open_ring(a[2]);
	shmring_consumer *c1, *c2;
	shmring_reader *lossless, *lossy, *latest;
	int rc;
	if ((rc = shmring_consumer_open(spsc, &c1)) || (rc = shmring_consumer_open(empty, &c2)) ||
	    (rc = shmring_reader_open(bcast, SHMRING_POLICY_LOSSLESS, SHMRING_START_OLDEST, &lossless)) ||
	    (rc = shmring_reader_open(bcast, SHMRING_POLICY_LOSSY, SHMRING_START_OLDEST, &lossy)) ||
	    (rc = shmring_reader_open(bcast, SHMRING_POLICY_LOSSY, SHMRING_START_LATEST, &latest)))
		die("roles", rc);
	unsigned char buf[4096];
	const void *m;
	size_t n;
	int receive = shmring_consumer_receive(c1, &m, &n, -1);
	int recv = shmring_consumer_recv(c1, buf, sizeof buf, &n, -1);
	int wait = shmring_consumer_recv(c2, buf, sizeof buf, &n, -1);
	int bcopy = shmring_reader_receive(lossless, &m, &n, -1); /* a joiner's validated copy */
	int bplace = shmring_reader_receive(lossy, &m, &n, -1);  /* in place */
	int brecv = shmring_reader_recv(lossy, buf, sizeof buf, &n, -1);
	int bwait = shmring_reader_recv(latest, buf, sizeof buf, &n, -1);
	say("receive=%d recv=%d wait=%d bcopy=%d bplace=%d brecv=%d bwait=%d", receive, recv, wait, bcopy, bplace,
	    brecv, bwait);
	shmring_consumer_close(c1);
	shmring_consumer_close(c2);
	shmring_reader_close(lossless);
	shmring_reader_close(lossy);
	shmring_reader_close(latest);
	shmring_close(spsc);
	shmring_close(empty);
	shmring_close(bcast);
	return 0;
}

/* cmd_guardself: the guard turns a SIGBUS inside a library call into an
 * error and leaves every other one alone. It cuts its own ring file at the
 * slots (the end unit's page goes), waits for a message (the wait's
 * end-mark load faults: "guarded=CODE"), then reads the same page through a
 * mapping of its own, outside any library call, which must kill it with
 * SIGBUS as if no guard were installed. */
static int cmd_guardself(char **a)
{
	shmring *r = open_ring(a[0]);
	shmring_consumer *c;
	int rc = shmring_consumer_open(r, &c);
	if (rc)
		die("consumer", rc);
	const shmring_info *info = shmring_get_info(r);
	int fd = open(a[0], O_RDONLY | O_CLOEXEC);
	volatile const unsigned char *own =
		fd < 0 ? MAP_FAILED : mmap(NULL, (size_t)info->file_size, PROT_READ, MAP_SHARED, fd, 0);
	if (own == MAP_FAILED || truncate(a[0], (off_t)info->slots_offset) != 0) {
		perror(a[0]);
		return 1;
	}
	unsigned char buf[4096];
	size_t n;
	rc = shmring_consumer_recv(c, buf, sizeof buf, &n, -1);
	say("guarded=%d", rc);
	shmring_consumer_close(c);
	shmring_close(r);
	struct rlimit no_core = { 0, 0 }; /* the death is expected: no core file */
	setrlimit(RLIMIT_CORE, &no_core);
	say("unguarded=%d", own[info->end_offset]); /* SIGBUS: the process dies here */
	return 0;
}

/* ---- open and corrupt: the opener's verdicts ---- */

static int cmd_open(char **a, int argc)
{
	uid_t uids[8];
	gid_t gids[8];
	shmring_open_options o = { .timeout_ns = 20000000, .trust_uids = uids, .trust_gids = gids };
	for (int i = 1; i < argc; i++) {
		if (strncmp(a[i], "trustuid=", 9) == 0 && o.n_trust_uids < 8)
			uids[o.n_trust_uids++] = (uid_t)strtoul(a[i] + 9, NULL, 0);
		else if (strncmp(a[i], "trustgid=", 9) == 0 && o.n_trust_gids < 8)
			gids[o.n_trust_gids++] = (gid_t)strtoul(a[i] + 9, NULL, 0);
		else if (strcmp(a[i], "world") == 0)
			o.allow_world_write = 1;
		else if (strncmp(a[i], "maxsize=", 8) == 0)
			o.max_file_size = strtoull(a[i] + 8, NULL, 0);
		else if (strncmp(a[i], "timeout=", 8) == 0)
			o.timeout_ns = strtoll(a[i] + 8, NULL, 0);
		else {
			fprintf(stderr, "open: unknown option %s\n", a[i]);
			return 2;
		}
	}
	shmring *r;
	int rc = strncmp(a[0], "fd:", 3) == 0 ? shmring_open_fd(atoi(a[0] + 3), &o, &r) /* an inherited descriptor */
					       : shmring_open(a[0], &o, &r);
	if (rc == 0) {
		const shmring_info *h = shmring_get_info(r);
		say("ok kind=%u slots=%llu flags=%u counters=%llu end=%llu file=%llu", h->kind,
		    (unsigned long long)h->slot_count, h->flags, (unsigned long long)h->counters_offset,
		    (unsigned long long)h->end_offset, (unsigned long long)h->file_size);
		shmring_close(r);
		return 0;
	}
	say("%d %s", rc, shmring_errdetail());
	return 0;
}

static int cmd_corrupt(char **a)
{
	int fd = open(a[0], O_RDWR);
	unsigned char orig[SHMRING_HEADER_SIZE];
	if (fd < 0 || pread(fd, orig, sizeof orig, 0) != (ssize_t)sizeof orig) {
		perror(a[0]);
		return 1;
	}
	shmring_open_options o = { .timeout_ns = 1000000 };
	for (int off = 0; off < SHMRING_HEADER_SIZE; off++) {
		for (int v = 0; v < 256; v++) {
			if (v == orig[off])
				continue;
			unsigned char b = (unsigned char)v;
			if (pwrite(fd, &b, 1, off) != 1) {
				perror("pwrite");
				return 1;
			}
			shmring *r;
			int rc = shmring_open(a[0], &o, &r);
			if (rc == 0)
				shmring_close(r);
			printf("%d %d %d\n", off, v, rc);
		}
		if (pwrite(fd, &orig[off], 1, off) != 1) {
			perror("pwrite");
			return 1;
		}
	}
	close(fd);
	fflush(stdout);
	return 0;
}

/* cmd_role takes one role on a ring and gives it up: its verdict ("ok" or
 * the code and detail) on one line. */
static int cmd_role(char **a)
{
	shmring *r = open_ring(a[0]);
	int rc;
	if (strcmp(a[1], "producer") == 0) {
		shmring_producer *p;
		if ((rc = shmring_producer_open(r, &p)) == 0)
			rc = shmring_producer_close(p);
	} else if (strcmp(a[1], "consumer") == 0) {
		shmring_consumer *c;
		if ((rc = shmring_consumer_open(r, &c)) == 0)
			rc = shmring_consumer_close(c);
	} else {
		uint32_t policy = strcmp(a[1], "lossless") == 0 ? SHMRING_POLICY_LOSSLESS : SHMRING_POLICY_LOSSY;
		shmring_reader *rd;
		if ((rc = shmring_reader_open(r, policy, SHMRING_START_OLDEST, &rd)) == 0)
			rc = shmring_reader_close(rd);
	}
	if (rc == 0)
		say("ok");
	else
		say("%d %s", rc, shmring_errdetail());
	shmring_close(r);
	return 0;
}

/* ---- shortbuf: a buffer too small is told the length it must hold ---- */

/* cmd_shortbuf takes the role (consumer, or a lossless reader from the
 * oldest), copies the first message into a buffer one byte too small and
 * then into one that holds it: "short RC n=N then RC n=N". */
static int cmd_shortbuf(char **a)
{
	shmring *r = open_ring(a[0]);
	int lossless = strcmp(a[1], "reader") == 0;
	shmring_consumer *c = NULL;
	shmring_reader *rd = NULL;
	int rc = lossless ? shmring_reader_open(r, SHMRING_POLICY_LOSSLESS, SHMRING_START_OLDEST, &rd)
			  : shmring_consumer_open(r, &c);
	if (rc)
		die(a[1], rc);
	size_t max = shmring_get_info(r)->slot_size, n[2] = {0, 0};
	unsigned char *buf = malloc(max);
	int got[2];
	for (int i = 0; i < 2; i++) {
		size_t cap = i == 0 ? (size_t)strtoull(a[2], NULL, 10) - 1 : max;
		got[i] = lossless ? shmring_reader_recv(rd, buf, cap, &n[i], 1000000000LL)
				  : shmring_consumer_recv(c, buf, cap, &n[i], 1000000000LL);
	}
	say("short %d n=%zu then %d n=%zu", got[0], n[0], got[1], n[1]);
	free(buf);
	if (rd)
		shmring_reader_close(rd);
	if (c)
		shmring_consumer_close(c);
	shmring_close(r);
	return 0;
}

/* ---- nulls: a NULL pointer argument is SHMRING_EINVAL, never a crash ---- */

static int cmd_nulls(char **a)
{
	shmring *r = open_ring(a[0]), *r2 = NULL;
	shmring_producer *p;
	shmring_consumer *c;
	int rc;
	if ((rc = shmring_producer_open(r, &p)) != 0 || (rc = shmring_consumer_open(r, &c)) != 0)
		die("roles", rc);
	void *buf;
	const void *m;
	size_t n;
	char b[8];
	struct {
		const char *name;
		int rc;
	} calls[] = {
		{"open-out", shmring_open(a[0], NULL, NULL)},
		{"open_fd-out", shmring_open_fd(0, NULL, NULL)},
		{"open_fd-negative", shmring_open_fd(-1, NULL, &r2)},
		{"producer_open-ring", shmring_producer_open(NULL, &p)},
		{"producer_open-out", shmring_producer_open(r, NULL)},
		{"consumer_open-out", shmring_consumer_open(r, NULL)},
		{"reader_open-ring", shmring_reader_open(NULL, SHMRING_POLICY_LOSSY, SHMRING_START_OLDEST, NULL)},
		{"claim-handle", shmring_producer_claim(NULL, &buf, &n, 0)},
		{"claim-buf", shmring_producer_claim(p, NULL, &n, 0)},
		{"claim-cap", shmring_producer_claim(p, &buf, NULL, 0)},
		{"commit-handle", shmring_producer_commit(NULL, 1)},
		{"send-handle", shmring_producer_send(NULL, "x", 1, 0)},
		{"send-msg", shmring_producer_send(p, NULL, 5, 0)},
		{"receive-handle", shmring_consumer_receive(NULL, &m, &n, 0)},
		{"receive-msg", shmring_consumer_receive(c, NULL, &n, 0)},
		{"receive-n", shmring_consumer_receive(c, &m, NULL, 0)},
		{"release-handle", shmring_consumer_release(NULL)},
		{"recv-handle", shmring_consumer_recv(NULL, b, sizeof b, &n, 0)},
		{"recv-buf", shmring_consumer_recv(c, NULL, sizeof b, &n, 0)},
		{"recv-n", shmring_consumer_recv(c, b, sizeof b, NULL, 0)},
		{"reader_receive-handle", shmring_reader_receive(NULL, &m, &n, 0)},
		{"reader_release-handle", shmring_reader_release(NULL)},
		{"reader_recv-handle", shmring_reader_recv(NULL, b, sizeof b, &n, 0)},
	};
	for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++)
		say("%s %d", calls[i].name, calls[i].rc);
	shmring_producer_abort(NULL);
	shmring_stats st = shmring_consumer_stats(NULL);
	say("zero %d %d", shmring_get_info(NULL) == NULL && st.messages == 0 && shmring_reader_lag(NULL) == 0 &&
			       shmring_reader_missed(NULL) == 0 && shmring_producer_stats(NULL).messages == 0 &&
			       shmring_reader_stats(NULL).messages == 0,
	    0);
	/* The closes take NULL as free(3) does. */
	shmring_close(NULL);
	say("closes %d %d %d", shmring_producer_close(NULL), shmring_consumer_close(NULL), shmring_reader_close(NULL));
	/* shmring_errdetail names the last failure, an empty ring's too. */
	shmring_consumer_release(c);
	shmring_consumer_recv(c, b, sizeof b, &n, 0);
	say("detail %s", shmring_errdetail());
	say("done");
	shmring_producer_close(p);
	shmring_consumer_close(c);
	shmring_close(r);
	return 0;
}

/* ---- closeorder: shmring_close before the handles' closes ---- */

static int cmd_closeorder(char **a)
{
	shmring *r = open_ring(a[0]);
	shmring_producer *p;
	shmring_consumer *c;
	int rc;
	if ((rc = shmring_producer_open(r, &p)) != 0 || (rc = shmring_consumer_open(r, &c)) != 0)
		die("roles", rc);
	shmring_close(r); /* before its handles: they keep it mapped */
	char b[8];
	size_t n = 0;
	int sent = shmring_producer_send(p, "after", 5, 0);
	int got = shmring_consumer_recv(c, b, sizeof b, &n, 0);
	say("handles after the ring's close %d %d %.*s", sent, got, (int)n, b);
	shmring_consumer *again;
	say("new handle after the ring's close %d", shmring_consumer_open(r, &again) == SHMRING_EINVAL);
	say("closes %d %d", shmring_producer_close(p), shmring_consumer_close(c)); /* the last unmaps */
	return 0;
}

/* ---- joiner: a lossless reader joining at Oldest never skips silently ---- */

static int cmd_joiner(char **a)
{
	shmring *r = open_ring(a[0]);
	shmring_reader *rd;
	int rc = shmring_reader_open(r, SHMRING_POLICY_LOSSLESS, SHMRING_START_OLDEST, &rd);
	if (rc)
		die("reader", rc);
	size_t max = shmring_get_info(r)->slot_size, n;
	unsigned char *buf = malloc(max);
	char why[256], line[64];
	if ((rc = shmring_reader_recv(rd, buf, max, &n, -1)) != 0)
		die("first receive", rc);
	uint64_t next;
	memcpy(&next, buf, sizeof next);
	if (codec_check(buf, n, next, max, why, sizeof why) != 0) {
		fprintf(stderr, "%s\n", why);
		return 1;
	}
	say("first %llu", (unsigned long long)next++);
	if (!fgets(line, sizeof line, stdin))
		die("stdin", SHMRING_ESYS);
	uint64_t laps = 0;
	while ((rc = shmring_reader_recv(rd, buf, max, &n, 0)) != SHMRING_EEMPTY) {
		if (rc == SHMRING_ELAPPED) {
			laps++;
			next += shmring_reader_missed(rd); /* that lap's */
			continue;
		}
		if (rc)
			die("receive", rc);
		if (codec_check(buf, n, next, max, why, sizeof why) != 0) {
			fprintf(stderr, "after message %llu: %s\n", (unsigned long long)next - 1, why);
			return 1;
		}
		next++;
	}
	say("end %llu laps %llu", (unsigned long long)next, (unsigned long long)laps);
	shmring_reader_close(rd);
	shmring_close(r);
	return 0;
}

/* ---- shrunk: a producer's calls after a peer shrank the file ---- */

static int cmd_shrunk(char **a)
{
	shmring *r = open_ring(a[0]);
	shmring_producer *p;
	int rc = shmring_producer_open(r, &p);
	if (rc)
		die("producer", rc);
	unsigned char m[8] = {0};
	if ((rc = shmring_producer_send(p, m, sizeof m, 0)) != 0)
		die("send", rc);
	say("ready");
	char line[64];
	if (!fgets(line, sizeof line, stdin))
		die("stdin", SHMRING_ESYS);
	int send = shmring_producer_send(p, m, sizeof m, 0);
	void *buf;
	size_t cap;
	int claim = shmring_producer_claim(p, &buf, &cap, 0);
	if (claim == 0) {
		shmring_producer_abort(p); /* a slot of a shrunk file handed out: not written */
		claim = 1;
	}
	say("send %d claim %d", send, claim);
	shmring_producer_close(p);
	shmring_close(r);
	return 0;
}

/* ---- poll: timeout 0 in a loop until the peer's death is reported ---- */

/* poll_one is one call of the role's, waiting timeout_ns: 0 with a message
 * received (checked) or sent, or its code. */
static int poll_one(const char *role, void *h, uint64_t seq, size_t max, unsigned char *buf, int64_t timeout_ns)
{
	size_t n;
	int rc;
	if (strcmp(role, "producer") == 0)
		return shmring_producer_send(h, buf, codec_encode(buf, seq, max), timeout_ns);
	if (strcmp(role, "reader") == 0)
		rc = shmring_reader_recv(h, buf, max, &n, timeout_ns);
	else
		rc = shmring_consumer_recv(h, buf, max, &n, timeout_ns);
	char why[256];
	if (rc == 0 && codec_check(buf, n, seq, max, why, sizeof why) != 0) {
		fprintf(stderr, "%s\n", why);
		exit(1);
	}
	return rc;
}

static uint64_t sleeps_of(const char *role, void *h)
{
	if (strcmp(role, "producer") == 0)
		return shmring_producer_stats(h).sleeps;
	if (strcmp(role, "reader") == 0)
		return shmring_reader_stats(h).sleeps;
	return shmring_consumer_stats(h).sleeps;
}

static int cmd_poll(char **a)
{
	shmring *r = open_ring(a[0]);
	const char *role = a[1];
	void *h;
	int rc;
	if (strcmp(role, "producer") == 0)
		rc = shmring_producer_open(r, (shmring_producer **)&h);
	else if (strcmp(role, "reader") == 0)
		rc = shmring_reader_open(r, SHMRING_POLICY_LOSSLESS, SHMRING_START_OLDEST, (shmring_reader **)&h);
	else
		rc = shmring_consumer_open(r, (shmring_consumer **)&h);
	if (rc)
		die(role, rc);
	say("ready");
	size_t max = shmring_get_info(r)->slot_size;
	unsigned char *buf = malloc(max);
	uint64_t seq = 0;
	while ((rc = poll_one(role, h, seq, max, buf, 0)) == 0 || rc == SHMRING_EEMPTY || rc == SHMRING_EFULL)
		if (rc == 0)
			seq++;
	if (rc != SHMRING_EPEERDEAD)
		die("poll", rc);
	/* Every later call says it again until a new process takes the role:
	 * three more polls, then a call that waits (a minute: the test's hang
	 * guard, not a figure), which must say it before it sleeps. */
	int again[4];
	uint64_t slept = sleeps_of(role, h);
	for (int i = 0; i < 4; i++)
		again[i] = poll_one(role, h, seq, max, buf, i < 3 ? 0 : 60000000000LL);
	say("peerdead %llu then %d %d %d %d slept %llu", (unsigned long long)seq, again[0], again[1], again[2], again[3],
	    (unsigned long long)(sleeps_of(role, h) - slept));
	return 0;
}

/* ---- waitback: a wait whose peer's cursor is moved back ---- */

/* cmd_waitback takes the role (consumer, lossy or lossless reader),
 * receives COUNT messages, says "waiting" and waits for one more: a peer
 * moves the producer's cursor back meanwhile, which the wait must report
 * ("stopped code=N"), not sit out its 5 s. */
static int cmd_waitback(char **a)
{
	shmring *r = open_ring(a[0]);
	const char *role = a[1];
	uint64_t count = strtoull(a[2], NULL, 10);
	void *h;
	int rc;
	if (strcmp(role, "consumer") == 0)
		rc = shmring_consumer_open(r, (shmring_consumer **)&h);
	else
		rc = shmring_reader_open(r, strcmp(role, "lossless") == 0 ? SHMRING_POLICY_LOSSLESS : SHMRING_POLICY_LOSSY,
					 SHMRING_START_OLDEST, (shmring_reader **)&h);
	if (rc)
		die(role, rc);
	size_t max = shmring_get_info(r)->slot_size, n;
	unsigned char *buf = malloc(max);
	for (uint64_t seq = 0; seq <= count; seq++) {
		if (seq == count)
			say("waiting");
		if (strcmp(role, "consumer") == 0)
			rc = shmring_consumer_recv(h, buf, max, &n, 5000000000LL);
		else
			rc = shmring_reader_recv(h, buf, max, &n, 5000000000LL);
		if (rc)
			break;
	}
	say("stopped code=%d", rc);
	free(buf);
	return 0;
}

/* ---- forever: a wait with the largest timeout ---- */

/* cmd_forever waits with a timeout of INT64_MAX, whose deadline (now plus
 * the timeout) overflowed: undefined behaviour, which the sanitized build
 * of this program reports. */
static int cmd_forever(char **a)
{
	shmring *r = open_ring(a[0]);
	shmring_consumer *c;
	int rc = shmring_consumer_open(r, &c);
	if (rc)
		die("consumer", rc);
	size_t max = shmring_get_info(r)->slot_size, n;
	unsigned char *buf = malloc(max);
	say("waiting");
	if ((rc = shmring_consumer_recv(c, buf, max, &n, INT64_MAX)) != 0)
		die("recv", rc);
	say("got %zu", n);
	free(buf);
	shmring_consumer_close(c);
	shmring_close(r);
	return 0;
}

/* ---- forkholder: a role holder forks; the child's copy holds no role ---- */

/* cmd_forkholder takes a role ("producer" or "lossless", a reader), forks
 * a child that calls its copy of the handle (a send, or a recv), then
 * closes its copies of the handle and the ring ("close") or leaves them
 * alone ("keep") and lives on, says the child's pid, what the call on the
 * copy returned, and "holding", and waits to be killed. The child ends by
 * itself after two minutes, should its test not kill it. */
static int cmd_forkholder(char **a)
{
	shmring *r = open_ring(a[0]);
	shmring_producer *p = NULL;
	shmring_reader *rd = NULL;
	int rc = strcmp(a[1], "producer") == 0 ? shmring_producer_open(r, &p)
						: shmring_reader_open(r, SHMRING_POLICY_LOSSLESS, SHMRING_START_OLDEST, &rd);
	if (rc)
		die("role", rc);
	int done[2];
	if (pipe(done) != 0)
		die("pipe", -errno);
	pid_t child = fork();
	if (child < 0)
		die("fork", -errno);
	if (child == 0) {
		alarm(120);
		char buf[64];
		size_t n;
		int call = p ? shmring_producer_send(p, "x", 1, 0) : shmring_reader_recv(rd, buf, sizeof buf, &n, 0);
		if (strcmp(a[2], "close") == 0) {
			rc = p ? shmring_producer_close(p) : shmring_reader_close(rd);
			shmring_close(r);
		}
		int verdict[2] = {call, rc};
		if (write(done[1], verdict, sizeof verdict) != sizeof verdict)
			_exit(1);
		for (;;)
			pause();
	}
	int verdict[2];
	if (read(done[0], verdict, sizeof verdict) != sizeof verdict || verdict[1] != 0)
		die("the child's close", SHMRING_ESYS);
	say("child %d", (int)child);
	say("copy call %d", verdict[0]);
	say("holding");
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: interop produce|consume|bcast|bench|trunc|endmark|guardself|open|corrupt|role|poll|shrunk|joiner|shortbuf|nulls|closeorder|waitback|forever|forkholder ARGS...\n");
		return 2;
	}
	const char *cmd = argv[1];
	char **a = argv + 2;
	int n = argc - 2;
	if (strcmp(cmd, "bench") != 0 && shmring_sigbus_guard() != 0)
		die("guard", SHMRING_ESYS);
	if (strcmp(cmd, "produce") == 0 && n == 4)
		return cmd_produce(a);
	if (strcmp(cmd, "consume") == 0 && n == 4)
		return cmd_consume(a);
	if (strcmp(cmd, "bcast") == 0 && n == 4)
		return cmd_bcast(a);
	if (strcmp(cmd, "bench") == 0 && (n == 2 || n == 3))
		return cmd_bench(a, n);
	if (strcmp(cmd, "trunc") == 0 && n == 1)
		return cmd_trunc(a);
	if (strcmp(cmd, "endmark") == 0 && n == 3)
		return cmd_endmark(a);
	if (strcmp(cmd, "guardself") == 0 && n == 1)
		return cmd_guardself(a);
	if (strcmp(cmd, "open") == 0)
		return cmd_open(a, n);
	if (strcmp(cmd, "corrupt") == 0 && n == 1)
		return cmd_corrupt(a);
	if (strcmp(cmd, "role") == 0 && n == 2)
		return cmd_role(a);
	if (strcmp(cmd, "poll") == 0 && n == 2)
		return cmd_poll(a);
	if (strcmp(cmd, "shrunk") == 0 && n == 1)
		return cmd_shrunk(a);
	if (strcmp(cmd, "joiner") == 0 && n == 1)
		return cmd_joiner(a);
	if (strcmp(cmd, "shortbuf") == 0 && n == 3)
		return cmd_shortbuf(a);
	if (strcmp(cmd, "nulls") == 0 && n == 1)
		return cmd_nulls(a);
	if (strcmp(cmd, "closeorder") == 0 && n == 1)
		return cmd_closeorder(a);
	if (strcmp(cmd, "waitback") == 0 && n == 3)
		return cmd_waitback(a);
	if (strcmp(cmd, "forkholder") == 0 && n == 3)
		return cmd_forkholder(a);
	if (strcmp(cmd, "forever") == 0 && n == 1)
		return cmd_forever(a);
	fprintf(stderr, "interop: bad command line\n");
	return 2;
}
