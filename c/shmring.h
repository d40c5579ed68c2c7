/*
 * shmring.h — shmring rings from C11: open a ring a Go (or C, or Python)
 * process created, take a role with the same liveness locks, and move
 * messages through it. The file format is LAYOUT.md's; this header's layout
 * constants are checked against package layout by interop/constants_test.go.
 *
 * Dependencies: libc and Linux system calls (futex, membarrier, OFD locks).
 *
 * Counters. The handles of this library keep their counters in the handle
 * (shmring_*_stats), not in the ring file's counter area (LAYOUT.md section
 * 16): `ringctl stat` shows zeros for a role only C has held, or the
 * figures of the role's last Go holder.
 *
 *   shmring *r;
 *   if (shmring_open("quotes", NULL, &r) != 0) { fprintf(stderr, "%s\n", shmring_errdetail()); ... }
 *   shmring_consumer *c;
 *   shmring_consumer_open(r, &c);
 *   const void *msg; size_t n;
 *   while (shmring_consumer_receive(c, &msg, &n, -1) == 0) {   // -1: wait for ever
 *       use(msg, n);                                          // in place, in shared memory
 *       shmring_consumer_release(c);
 *   }                                                         // SHMRING_ECLOSED: end of stream
 *
 * Errors. Every function that can fail returns 0 or a negative SHMRING_E*
 * code; shmring_strerror names it and shmring_errdetail() gives the calling
 * thread's last failure with name=value context ("slot length=4096 at
 * position=17, slot size=256"). A NULL where a call needs a pointer is
 * SHMRING_EINVAL; the calls that return a value give 0 (or NULL) for a NULL
 * handle, and the close calls take a NULL handle as free(3) takes NULL:
 * nothing to close, 0. A handle used after its *_close is freed memory, as
 * any pointer after free.
 *
 * Timeouts. Calls that may wait take timeout_ns: 0 never waits (SHMRING_EEMPTY
 * or SHMRING_EFULL at once; a handle that keeps polling so has the peer's
 * liveness probed at most once a tick, LAYOUT.md section 11, and gets
 * SHMRING_EPEERDEAD once what a dead peer published was received), a
 * positive value waits at most that long
 * (SHMRING_ETIMEDOUT), a negative one waits until there is something to do,
 * the stream ends, or the peer dies (SHMRING_EPEERDEAD, noticed within one
 * tick, 10 ms, of sleeping). Once a call said SHMRING_EPEERDEAD, every later
 * call of the handle that finds nothing to do says it again at once (a
 * waiting one before it waits), until a new process takes the dead one's
 * role; then the calls go on from where the stream stands, as in Go.
 * Each such call probes the peer, a system call: back off between them
 * while waiting for a new holder.
 *
 * Threads. A shmring may be shared by threads; a role handle (producer,
 * consumer, reader) is used by one thread at a time, and closed before the
 * shmring it came from.
 *
 * fork(). A child holds copies of the parent's shmring and handles, not its
 * roles: at the fork the library lets go of the child's copies of the role
 * locks (pthread_atfork), so a parent killed while the child lives leaves
 * its roles to the next process. In the child, closing a copy frees only
 * the child's memory and touches nothing shared, and a call on a copy
 * (claim, commit, send, receive, release, recv) is SHMRING_ECLOSED. The
 * child may take roles of its own. The child lets go when it first runs
 * (its handler): a role the parent gives up right after a fork can read as
 * held (SHMRING_EBUSY) until then; retry that error for a moment when
 * retaking a role just after forking.
 *
 * Trust. Everything read from the mapping is untrusted: each shared value is
 * loaded once, bounds-checked, and a value no correct peer writes is an
 * SHMRING_ECORRUPT error, never an access outside the mapping. The opener
 * checks what sits at the name the same way (see shmring_open).
 *
 * Truncation. A peer that shrinks the file under a live ring zeroes the tail
 * of the page it cuts inside and takes every later page out of the mapping.
 * Readers check the end mark (LAYOUT.md section 2) after copying a message and
 * before handing one out in place, and waiters on every round of their wait,
 * so a damaged message is never delivered: the call returns
 * SHMRING_ETRUNCATED. But the end mark is read through the mapping, and every
 * truncation takes its page away first: a load from a page that is gone, the
 * end mark's included, raises SIGBUS, which kills the process unless it
 * installed shmring_sigbus_guard(). Without the guard, then, these checks
 * only tell a cut inside the end unit's page; with it, every cut.
 */
#ifndef SHMRING_H
#define SHMRING_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What this header declares is the library's ABI; the Makefile builds with
 * -fvisibility=hidden, so that nothing else (the shmring__ internals) is
 * exported from libshmring.so. */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

/* ---- layout constants (LAYOUT.md; checked against package layout) ---- */
/* SHMRING-LAYOUT-BEGIN */
#define SHMRING_VERSION 4
#define SHMRING_READY_VALUE 0x21594452u
#define SHMRING_KIND_SPSC 1
#define SHMRING_KIND_MPMC 2
#define SHMRING_KIND_MPSC 3
#define SHMRING_KIND_BROADCAST 4
#define SHMRING_PAD_UNIT 128
#define SHMRING_HEADER_SIZE 128
#define SHMRING_STRIDE_ALIGN 8

/* header fields */
#define SHMRING_MAGIC_OFFSET 0
#define SHMRING_MAGIC_SIZE 8
#define SHMRING_VERSION_OFFSET 8
#define SHMRING_KIND_OFFSET 12
#define SHMRING_HEADER_SIZE_OFFSET 16
#define SHMRING_PAD_UNIT_OFFSET 20
#define SHMRING_SLOT_SIZE_OFFSET 24
#define SHMRING_SLOT_HEADER_SIZE_OFFSET 28
#define SHMRING_SLOT_COUNT_OFFSET 32
#define SHMRING_SLOT_STRIDE_OFFSET 40
#define SHMRING_CONTROL_OFFSET_OFFSET 48
#define SHMRING_CONTROL_SIZE_OFFSET 56
#define SHMRING_SLOTS_OFFSET_OFFSET 64
#define SHMRING_FILE_SIZE_OFFSET 72
#define SHMRING_CREATOR_PID_OFFSET 80
#define SHMRING_FLAGS_OFFSET 84
#define SHMRING_CREATED_UNIX_NANO_OFFSET 88
#define SHMRING_MAX_PRODUCERS_OFFSET 96
#define SHMRING_MAX_CONSUMERS_OFFSET 100
#define SHMRING_RESERVED_OFFSET 104
#define SHMRING_RESERVED_SIZE 16
#define SHMRING_CHECKSUM_OFFSET 120
#define SHMRING_READY_OFFSET 124

/* geometry limits */
#define SHMRING_MAX_SLOT_SIZE 1073741824u
#define SHMRING_MAX_SLOT_COUNT 2147483648ull
#define SHMRING_MAX_FILE_SIZE 17592186044416ull
#define SHMRING_MAX_MPMC_SLOT_COUNT 1073741824ull
#define SHMRING_MAX_PARTICIPANTS 1024
#define SHMRING_MAX_READERS 1024

/* the counter area (LAYOUT.md section 16) and the end unit (section 2):
 * CountersOffset = round_up(SlotsOffset + SlotCount * SlotStride, CountersAlign),
 * CountersSize = round_up(Blocks * CounterBlockSize + Histograms * HistSize
 *                         + StampCount * 8, PadUnit),
 * EndMark at EndOffset = round_up(CountersOffset + CountersSize, EndAlign),
 * and FileSize = EndOffset + EndSize. This library reads the geometry and
 * never writes the counter area. */
#define SHMRING_COUNTERS_ALIGN 128
#define SHMRING_COUNTER_BLOCK_SIZE 128
#define SHMRING_HIST_SIZE 1408
#define SHMRING_END_ALIGN 65536
#define SHMRING_END_SIZE 128
#define SHMRING_END_MARK 0x21444e45524d4853ull

/* header Flags word (LAYOUT.md sections 4, 16.3 and 17): a record ring, and
 * telemetry with its sample shift in bits 24..28; no other bit is set */
#define SHMRING_HEADER_FLAG_RECORDS 0x1u
#define SHMRING_FLAG_TELEMETRY 0x10000u
#define SHMRING_SAMPLE_SHIFT_BIT 24
#define SHMRING_MAX_SAMPLE_SHIFT 31
#define SHMRING_HEADER_FLAGS_MASK 0x1f010001u

/* record rings (LAYOUT.md section 17): validated, then refused at open */
#define SHMRING_RECORD_HEADER_SIZE 16
#define SHMRING_MIN_RECORD_CAPACITY 64
#define SHMRING_MAX_RECORD_CAPACITY 1099511627776ull

/* SPSC control area and slots */
#define SHMRING_CONTROL_OFFSET 128
#define SHMRING_CONTROL_SIZE 512
#define SHMRING_SLOTS_OFFSET 640
#define SHMRING_SLOT_HEADER_SIZE 8
#define SHMRING_SLOT_LENGTH_OFFSET 0
#define SHMRING_SLOT_SEQ_OFFSET 4
#define SHMRING_SLOT_PAYLOAD_OFFSET 8
#define SHMRING_PRODUCER_CURSOR_OFFSET 128
#define SHMRING_PRODUCER_WAKE_OFFSET 256
#define SHMRING_PRODUCER_SLEEPERS_OFFSET 260
#define SHMRING_PRODUCER_STATE_OFFSET 264
#define SHMRING_PRODUCER_EPOCH_OFFSET 268
#define SHMRING_PRODUCER_FLAGS_OFFSET 272
#define SHMRING_CONSUMER_CURSOR_OFFSET 384
#define SHMRING_CONSUMER_WAKE_OFFSET 512
#define SHMRING_CONSUMER_SLEEPERS_OFFSET 516
#define SHMRING_CONSUMER_STATE_OFFSET 520
#define SHMRING_CONSUMER_EPOCH_OFFSET 524
#define SHMRING_CONSUMER_FLAGS_OFFSET 528
#define SHMRING_PRODUCER_LOCK_BYTE 264
#define SHMRING_CONSUMER_LOCK_BYTE 520

/* role state and flag bits */
#define SHMRING_STATE_ATTACHED 0x1u
#define SHMRING_STATE_CLOSED 0x2u
#define SHMRING_STATE_MASK 0x3u
#define SHMRING_FLAG_RELEASE_STORES 0x1u

/* MPMC and MPSC (opened and validated; no roles in this library yet) */
#define SHMRING_MPMC_SLOT_HEADER_SIZE 16
#define SHMRING_MPMC_FIXED_UNITS 4

/* Broadcast control area, reader entries and slots */
#define SHMRING_BCAST_CURSOR_OFFSET 128
#define SHMRING_BCAST_WAKE_OFFSET 256
#define SHMRING_BCAST_SLEEPERS_OFFSET 260
#define SHMRING_BCAST_PRODUCER_STATE_OFFSET 264
#define SHMRING_BCAST_PRODUCER_EPOCH_OFFSET 268
#define SHMRING_BCAST_PRODUCER_FLAGS_OFFSET 272
#define SHMRING_BCAST_GATE_OFFSET 280
#define SHMRING_BCAST_PRODUCER_LOCK_BYTE 264
#define SHMRING_BCAST_GATE_WAKE_OFFSET 384
#define SHMRING_BCAST_GATE_SLEEPERS_OFFSET 388
#define SHMRING_BCAST_READERS_OFFSET 512
#define SHMRING_BCAST_FIXED_UNITS 3
#define SHMRING_READER_ENTRY_SIZE 128
#define SHMRING_READER_CURSOR_OFFSET 0
#define SHMRING_READER_STATE_OFFSET 8
#define SHMRING_READER_POLICY_OFFSET 12
#define SHMRING_READER_INCARNATION_OFFSET 16
#define SHMRING_READER_PID_OFFSET 20
#define SHMRING_READER_RECEIVED_OFFSET 24
#define SHMRING_READER_MISSED_OFFSET 32
#define SHMRING_READER_LOCK_BYTE 8
#define SHMRING_BCAST_SLOT_SEQ_OFFSET 0
#define SHMRING_BCAST_SLOT_LENGTH_OFFSET 8
#define SHMRING_BCAST_SLOT_HEADER_SIZE 16
#define SHMRING_BCAST_SLOT_PAYLOAD_OFFSET 16
#define SHMRING_SEQ_WRITING 0x8000000000000000ull
#define SHMRING_READER_FREE 0
#define SHMRING_READER_ATTACHED 1
#define SHMRING_POLICY_LOSSY 1
#define SHMRING_POLICY_LOSSLESS 2
/* SHMRING-LAYOUT-END */

/* The magic: the first 8 bytes of every ring file. */
#define SHMRING_MAGIC "SHMRING\000"

/* ---- errors ---- */
enum {
	SHMRING_OK = 0,
	SHMRING_EINVAL = -1,     /* bad argument, name, or misuse (release without receive, ...) */
	SHMRING_ENOTEXIST = -2,  /* no ring file of that name */
	SHMRING_ENOTREADY = -3,  /* the creator has not finished the file within the open timeout */
	SHMRING_EVERSION = -4,   /* a ring of another layout version: maybe fine for other code */
	SHMRING_EUNSAFE = -5,    /* what sits at the name is not ours to trust; the detail says which
	                            of: a symbolic link, not a regular file, an untrusted owner,
	                            writable by untrusted users (Go: ErrUntrusted and its four) */
	SHMRING_EMAGIC = -6,     /* corrupt: not a ring file (bad magic) */
	SHMRING_EGEOMETRY = -7,  /* corrupt: header fields that no creator writes */
	SHMRING_ECHECKSUM = -8,  /* corrupt: header checksum mismatch */
	SHMRING_EREADY = -9,     /* corrupt: ready word neither 0 nor the ready value */
	SHMRING_ESHORT = -10,    /* corrupt: file shorter than a header */
	SHMRING_ESIZE = -11,     /* corrupt: file larger than its header says (grown or foreign) */
	SHMRING_ECORRUPT = -12,  /* corrupt: a value in the live mapping no correct peer writes */
	SHMRING_EKIND = -13,     /* the operation is not for this ring's kind */
	SHMRING_EBUSY = -14,     /* the role is held by a live process */
	SHMRING_EEMPTY = -15,    /* non-blocking receive: no message */
	SHMRING_EFULL = -16,     /* non-blocking claim/send: no free slot */
	SHMRING_ETIMEDOUT = -17, /* the timeout passed */
	SHMRING_ECLOSED = -18,   /* end of stream: the producer closed and every message was received */
	SHMRING_EPEERDEAD = -19, /* the other side's process died (its lock is gone) */
	SHMRING_ELAPPED = -20,   /* a lossy reader was overrun; shmring_reader_missed says by how many */
	SHMRING_ETOOLARGE = -21, /* a message larger than the slot */
	SHMRING_ESHORTBUF = -22, /* the message does not fit the caller's buffer; it stays in the ring,
	                            and the recv call's *n says its length */
	SHMRING_ESYS = -23,      /* a system call failed; the detail names it and its errno */
	SHMRING_ENOMEM = -24,    /* out of memory for a handle */
	SHMRING_ETRUNCATED = -25, /* corrupt: the file was shrunk (a peer called ftruncate): the end
	                            mark is gone, or, at open, the file is shorter than its header
	                            says. The ring is dead for every process (Go: ErrTruncated) */
	SHMRING_EFILETOOBIG = -26, /* the file, or the size its header states, is over the opener's
	                            max_file_size or the address space; nothing was mapped
	                            (Go: ErrFileTooBig) */
	SHMRING_EUNSUPPORTED = -27 /* a valid ring this library does not handle: a record ring
	                            (shmring_open), or producing on a telemetry ring
	                            (shmring_producer_open); Go handles both. Also: /proc is
	                            not mounted, through which roles and descriptors are
	                            reached (Go: ErrUnsupported) */
};

/* shmring_strerror names an error code ("ring: corrupt"). */
const char *shmring_strerror(int code);
/* shmring_errdetail is the calling thread's last failure, with context. */
const char *shmring_errdetail(void);
/* shmring_is_corrupt: the code says the file or the mapping holds bytes no
 * correct peer writes (magic, geometry, checksum, ready, short, size, corrupt,
 * truncated), as errors.Is(err, ring.ErrCorrupt) does in Go. */
int shmring_is_corrupt(int code);

/* ---- opening ---- */
typedef struct shmring shmring;

typedef struct shmring_open_options {
	/* How long to wait for a creator that has not finished the file;
	 * 0 or below means the default, 2 s (as Go's ring.DefaultOpenTimeout:
	 * an open never waits for ever on a creator that died). */
	int64_t timeout_ns;
	/* Owners trusted besides the effective uid (Go: OpenOptions.TrustUIDs). */
	const uid_t *trust_uids;
	size_t n_trust_uids;
	/* Groups whose members may write the file: a group-writable file is
	 * refused unless its group is one of these (Go: TrustGIDs). */
	const gid_t *trust_gids;
	size_t n_trust_gids;
	/* Accept a world-writable file, and so any group-writable one
	 * (Go: AllowWorldWrite). */
	int allow_world_write;
	/* The largest file, by its real size and by its header's FileSize,
	 * the opener maps: it pre-faults what it maps, so a planted sparse
	 * file would charge its whole size to the opener. 0 means
	 * SHMRING_DEFAULT_MAX_FILE_SIZE (Go: MaxFileSize). */
	uint64_t max_file_size;
} shmring_open_options;

/* The max_file_size of zeroed options: 64 GiB (Go: ring.DefaultMaxFileSize). */
#define SHMRING_DEFAULT_MAX_FILE_SIZE 68719476736ull

/* What the validated header says; a private copy, never re-read. */
typedef struct shmring_info {
	uint32_t kind;          /* SHMRING_KIND_* */
	uint32_t slot_size;     /* largest message */
	uint64_t slot_count;    /* capacity in messages, a power of two */
	uint64_t slot_stride;
	uint64_t slots_offset;
	uint64_t end_offset;    /* the end unit, where the end mark lies */
	uint64_t file_size;
	uint32_t max_producers;
	uint32_t max_consumers; /* readers, for a broadcast ring */
	uint32_t creator_pid;
	int64_t created_unix_nano;
	uint32_t flags;           /* the header's Flags word: SHMRING_FLAG_TELEMETRY and its shift */
	uint64_t counters_offset; /* the counter area (LAYOUT.md section 16) */
} shmring_info;

/*
 * shmring_open maps the ring called name: a bare name (no '/') is
 * /dev/shm/<name>; anything else must be an absolute path ("/mnt/huge/q",
 * cleaned as Go's filepath.Clean does). A relative path ("../x", "./x",
 * "a/b"), "", "." and "..", and a bare name over 255 bytes are SHMRING_EINVAL.
 *
 * Before it reads a byte it checks what sits there (LAYOUT.md section 6),
 * on the opened descriptor: a symbolic link is not followed (O_NOFOLLOW);
 * the file must be a regular file, owned by the effective uid or one of
 * options->trust_uids, not world-writable unless options->allow_world_write,
 * not group-writable unless its group is in options->trust_gids (each
 * SHMRING_EUNSAFE, the detail says which); and no larger than
 * options->max_file_size (SHMRING_EFILETOOBIG). Then it waits (bounded) for
 * the ready word, validates the header as package layout does (magic,
 * version, geometry, checksum), checks the header's FileSize against the cap
 * and the file's real size against FileSize (shorter: SHMRING_ETRUNCATED;
 * longer: SHMRING_ESIZE), and only then maps and pre-faults it.
 * options may be NULL (every default). On failure shmring_errdetail() says
 * what was wrong.
 *
 * Layout version 4 only: any other version is SHMRING_EVERSION. A valid
 * record ring (HeaderFlagRecords, LAYOUT.md section 17) is
 * SHMRING_EUNSUPPORTED: this library moves slots, not records. A ring with
 * telemetry (section 16.3) opens, and its consumers and readers work (they
 * record no latency samples); its producer role is refused (see
 * shmring_producer_open).
 */
int shmring_open(const char *name, const shmring_open_options *options, shmring **out);
/* shmring_open_fd is shmring_open on an inherited or received descriptor
 * (a memfd, say); it is duplicated, so the caller keeps fd. It is checked
 * as Go's ring.OpenFileWith checks one (LAYOUT.md section 6): a memfd must
 * be sealed against shrinking (F_SEAL_SHRINK; SHMRING_EUNSAFE otherwise)
 * and is checked as a file at a name but for its mode (no name, so no
 * mode guards it); any other file exactly as shmring_open checks the file
 * at a name, options' trust lists included. A negative fd is
 * SHMRING_EINVAL; one that is not open, SHMRING_ESYS. */
int shmring_open_fd(int fd, const shmring_open_options *options, shmring **out);
/* shmring_close gives up the caller's hold on the ring: it is unmapped,
 * and its descriptor closed, once its role handles are closed too (closing
 * the ring first is allowed: they keep it mapped until the last of them
 * closes). After it, r is the caller's no more: with no role handle
 * left it is freed at once, as any pointer after free. While a handle
 * still keeps it mapped, opening a role from it is refused
 * (SHMRING_EINVAL), but do not rely on that: open every role before
 * closing the ring. */
void shmring_close(shmring *r);
const shmring_info *shmring_get_info(const shmring *r);

/* ---- SPSC producer ---- */
typedef struct shmring_producer shmring_producer;

/* Takes the producer role (SHMRING_EBUSY while a live process holds it; a
 * dead holder's role is taken over and the stream goes on after its last
 * published message). On a ring with telemetry it is SHMRING_EUNSUPPORTED:
 * this library stores no latency stamps, and a consumer in Go would measure
 * the stale stamps of an earlier lap as latencies. */
int shmring_producer_open(shmring *r, shmring_producer **out);
/* Zero copy: *buf is the next free slot in shared memory, *cap (the slot
 * size) bytes; write the message there, then commit or abort. */
int shmring_producer_claim(shmring_producer *p, void **buf, size_t *cap, int64_t timeout_ns);
/* Publishes the first n bytes of the claimed slot. n beyond the slot is
 * SHMRING_ETOOLARGE and leaves the claim open (commit again, or abort). */
int shmring_producer_commit(shmring_producer *p, size_t n);
void shmring_producer_abort(shmring_producer *p);
/* Copies msg into the next free slot and publishes it. */
int shmring_producer_send(shmring_producer *p, const void *msg, size_t n, int64_t timeout_ns);
/* Ends the stream (the consumer drains it, then gets SHMRING_ECLOSED), gives
 * the role up and frees p. */
int shmring_producer_close(shmring_producer *p);

/* ---- SPSC consumer ---- */
typedef struct shmring_consumer shmring_consumer;

/* Takes the consumer role; a dead holder's unreleased messages are
 * delivered again. */
int shmring_consumer_open(shmring *r, shmring_consumer **out);
/* Zero copy: *msg is the next message in place (*n bytes), valid until
 * shmring_consumer_release; the producer cannot reuse its slot before. */
int shmring_consumer_receive(shmring_consumer *c, const void **msg, size_t *n, int64_t timeout_ns);
int shmring_consumer_release(shmring_consumer *c);
/* Copies the next message into buf and releases it (*n its length). A
 * message longer than cap stays in the ring: SHMRING_ESHORTBUF, with *n
 * the length a buffer must hold. */
int shmring_consumer_recv(shmring_consumer *c, void *buf, size_t cap, size_t *n, int64_t timeout_ns);
/* Gives the role up (messages not released stay for the next consumer)
 * and frees c. */
int shmring_consumer_close(shmring_consumer *c);

/* ---- broadcast reader ---- */
typedef struct shmring_reader shmring_reader;

enum { SHMRING_START_OLDEST = 0, SHMRING_START_LATEST = 1 };

/* Joins a broadcast ring with policy SHMRING_POLICY_LOSSY (the producer never
 * waits for it) or SHMRING_POLICY_LOSSLESS (the producer waits for it), from
 * the oldest message the ring holds or the next one published. */
int shmring_reader_open(shmring *r, uint32_t policy, int start, shmring_reader **out);
/* Zero copy, as the consumer's. For a lossy reader the lease is optimistic:
 * shmring_reader_release returns SHMRING_ELAPPED when the producer overwrote
 * the message meanwhile, and what was read must be discarded. */
int shmring_reader_receive(shmring_reader *rd, const void **msg, size_t *n, int64_t timeout_ns);
int shmring_reader_release(shmring_reader *rd);
/* Copies and validates: never returns a torn message. Lengths as
 * shmring_consumer_recv's, SHMRING_ESHORTBUF's *n too. */
int shmring_reader_recv(shmring_reader *rd, void *buf, size_t cap, size_t *n, int64_t timeout_ns);
/* After SHMRING_ELAPPED: how many messages that lap skipped. */
uint64_t shmring_reader_missed(const shmring_reader *rd);
/* Messages published that the reader has not consumed yet. */
uint64_t shmring_reader_lag(const shmring_reader *rd);
/* Leaves the ring (a lossless reader stops gating the producer), frees rd. */
int shmring_reader_close(shmring_reader *rd);

/* Counters of a role handle. */
typedef struct shmring_stats {
	uint64_t messages; /* sent, or received and released */
	uint64_t bytes;
	uint64_t sleeps;   /* futex waits */
	uint64_t wakes;    /* futex wakes issued */
	uint64_t lapped;   /* reader: laps */
	uint64_t missed;   /* reader: messages lost to laps */
} shmring_stats;

shmring_stats shmring_producer_stats(const shmring_producer *p);
shmring_stats shmring_consumer_stats(const shmring_consumer *c);
shmring_stats shmring_reader_stats(const shmring_reader *rd);

/* ---- surviving a truncated file ----
 *
 * shmring_sigbus_guard installs, once per process (later calls do nothing),
 * a SIGBUS handler that turns a fault on a ring's mapping inside a library
 * call into SHMRING_ETRUNCATED from that call, so that a peer shrinking the
 * file does not kill this process. The handle the call was made on is dead
 * from then on (its calls return SHMRING_ETRUNCATED); close it, and the ring,
 * as usual. A SIGBUS anywhere else, or outside a library call, goes to the
 * handler that was installed before, or kills the process as it would have.
 * Not covered: the caller's own accesses to a slot through the pointer of
 * receive or claim (the caller's risk, as in Go; a claim on a file already
 * shrunk returns SHMRING_ETRUNCATED), and a handler installed
 * over this one later. The cost is a sigsetjmp (no system call) per call;
 * without the guard the library pays one untaken branch. Returns 0, or
 * SHMRING_ESYS when sigaction fails.
 */
int shmring_sigbus_guard(void);

/* CRC-32C (Castagnoli), as the header checksum uses; crc is the previous
 * value (0 to start). */
uint32_t shmring_crc32c(uint32_t crc, const void *data, size_t n);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif

#endif /* SHMRING_H */
