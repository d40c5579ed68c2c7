/* header.c — validate a ring header read from untrusted bytes, in the order
 * and with the rules of package layout (layout.Decode): magic, version,
 * geometry, checksum. Only a private copy is validated, never live memory. */
#include "internal.h"

#include <string.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "shmring files are little-endian and their words are used in place: little-endian hosts only"
#endif

static uint32_t le32(const unsigned char *b, int off)
{
	uint32_t v;
	memcpy(&v, b + off, sizeof v);
	return v;
}

static uint64_t le64(const unsigned char *b, int off)
{
	uint64_t v;
	memcpy(&v, b + off, sizeof v);
	return v;
}

/* What a creator chose (layout.Params), as the header states it. */
struct params {
	uint32_t kind, slot_size, max_p, max_c;
	uint64_t slot_count;
	int records;       /* HeaderFlagRecords */
	int telemetry;     /* FlagTelemetry */
	uint32_t shift;    /* the sample shift, with telemetry */
};

struct geometry {
	uint32_t slot_header;
	uint64_t stride, control, slots_offset, counters_offset, end_offset, file_size;
};

static uint64_t round_up(uint64_t n, uint64_t to) { return (n + to - 1) & ~(to - 1); }

/* counters_size is the counter area's size (layout countersSize, LAYOUT.md
 * section 16.1): each role's block, and with telemetry the consumers'
 * histograms and one stamp per sampled position of a lap. */
static uint64_t counters_size(const struct params *p)
{
	uint64_t blocks = 2, hists = 0, stamps = 0;
	if (p->kind == SHMRING_KIND_MPMC || p->kind == SHMRING_KIND_MPSC)
		blocks = (uint64_t)p->max_p + p->max_c;
	else if (p->kind == SHMRING_KIND_BROADCAST)
		blocks = 1 + (uint64_t)p->max_c;
	if (p->telemetry) {
		hists = p->kind == SHMRING_KIND_SPSC ? 1 : p->max_c;
		stamps = p->slot_count >> p->shift;
		if (stamps == 0)
			stamps = 1;
	}
	return round_up(blocks * SHMRING_COUNTER_BLOCK_SIZE + hists * SHMRING_HIST_SIZE + stamps * 8, SHMRING_PAD_UNIT);
}

/* record_geometry checks a record ring's kind, capacity and longest
 * message (layout recordGeometry, LAYOUT.md section 17.2). */
static int record_geometry(const struct params *p)
{
	if (p->kind != SHMRING_KIND_SPSC && p->kind != SHMRING_KIND_BROADCAST)
		return shmring__fail(SHMRING_EGEOMETRY, "kind=%u carries no records (spsc and broadcast do)", p->kind);
	uint64_t c = p->slot_count;
	if (c < SHMRING_MIN_RECORD_CAPACITY || c > SHMRING_MAX_RECORD_CAPACITY || (c & (c - 1)) != 0)
		return shmring__fail(SHMRING_EGEOMETRY, "record capacity=%llu, want a power of two in %d..%llu",
				     (unsigned long long)c, SHMRING_MIN_RECORD_CAPACITY, SHMRING_MAX_RECORD_CAPACITY);
	uint64_t most = c / 2; /* a wrapped record's payload starts the next lap: section 17.2 */
	if (most > SHMRING_MAX_SLOT_SIZE)
		most = SHMRING_MAX_SLOT_SIZE;
	if (p->slot_size > most)
		return shmring__fail(SHMRING_EGEOMETRY, "max message=%u, a %llu-byte record ring carries at most %llu",
				     p->slot_size, (unsigned long long)c, (unsigned long long)most);
	if (p->telemetry)
		return shmring__fail(SHMRING_EGEOMETRY, "telemetry is for slot rings; a record ring carries none");
	return 0;
}

/* want_geometry is the geometry a creator would have made for p, or an
 * error. Mirrors layout.NewHeaderFor. */
static int want_geometry(const struct params *p, struct geometry *g)
{
	uint64_t max_slots = SHMRING_MAX_SLOT_COUNT;
	uint32_t max_p = p->max_p, max_c = p->max_c;
	switch (p->kind) {
	case SHMRING_KIND_SPSC:
		if (max_p != 1 || max_c != 1)
			return shmring__fail(SHMRING_EGEOMETRY, "spsc max producers=%u consumers=%u, want 1 and 1", max_p, max_c);
		g->slot_header = SHMRING_SLOT_HEADER_SIZE;
		g->control = SHMRING_CONTROL_SIZE;
		break;
	case SHMRING_KIND_MPMC:
	case SHMRING_KIND_MPSC:
		if (p->kind == SHMRING_KIND_MPSC && max_c != 1)
			return shmring__fail(SHMRING_EGEOMETRY, "mpsc max consumers=%u, want 1", max_c);
		if ((uint64_t)max_p + max_c > SHMRING_MAX_PARTICIPANTS)
			return shmring__fail(SHMRING_EGEOMETRY, "max producers=%u + consumers=%u, want at most %d in all",
					     max_p, max_c, SHMRING_MAX_PARTICIPANTS);
		max_slots = SHMRING_MAX_MPMC_SLOT_COUNT;
		g->slot_header = SHMRING_MPMC_SLOT_HEADER_SIZE;
		g->control = ((uint64_t)SHMRING_MPMC_FIXED_UNITS + max_p + max_c) * SHMRING_PAD_UNIT;
		break;
	case SHMRING_KIND_BROADCAST:
		if (max_p != 1 || max_c > SHMRING_MAX_READERS)
			return shmring__fail(SHMRING_EGEOMETRY, "broadcast max producers=%u readers=%u, want 1 and 1..%d",
					     max_p, max_c, SHMRING_MAX_READERS);
		g->slot_header = SHMRING_BCAST_SLOT_HEADER_SIZE;
		g->control = ((uint64_t)SHMRING_BCAST_FIXED_UNITS + max_c) * SHMRING_PAD_UNIT;
		break;
	default:
		return shmring__fail(SHMRING_EGEOMETRY, "kind=%u not supported", p->kind);
	}
	if (p->slot_size == 0 || p->slot_size > SHMRING_MAX_SLOT_SIZE)
		return shmring__fail(SHMRING_EGEOMETRY, "slot size=%u, want 1..%u", p->slot_size, SHMRING_MAX_SLOT_SIZE);
	if (p->records) {
		int rc = record_geometry(p);
		if (rc)
			return rc;
		max_slots = SHMRING_MAX_RECORD_CAPACITY;
	}
	uint64_t slot_count = p->slot_count;
	if (slot_count == 0 || slot_count > max_slots || (slot_count & (slot_count - 1)) != 0)
		return shmring__fail(SHMRING_EGEOMETRY, "slot count=%llu, want a power of two in 1..%llu",
				     (unsigned long long)slot_count, (unsigned long long)max_slots);
	g->stride = round_up((uint64_t)g->slot_header + p->slot_size, SHMRING_STRIDE_ALIGN);
	if (p->records) {
		g->slot_header = SHMRING_RECORD_HEADER_SIZE;
		g->stride = 1;
	}
	g->slots_offset = SHMRING_CONTROL_OFFSET + g->control;
	uint64_t counters = counters_size(p), bytes;
	if (__builtin_mul_overflow(g->stride, slot_count, &bytes) ||
	    bytes > SHMRING_MAX_FILE_SIZE - g->slots_offset - SHMRING_END_ALIGN - SHMRING_END_SIZE - counters)
		return shmring__fail(SHMRING_EGEOMETRY, "%llu slots of %llu bytes exceed %llu bytes",
				     (unsigned long long)slot_count, (unsigned long long)g->stride,
				     (unsigned long long)SHMRING_MAX_FILE_SIZE);
	/* The counter area after the slots, and the end unit on a page of its
	 * own after that (LAYOUT.md sections 16.1 and 2). */
	g->counters_offset = round_up(g->slots_offset + bytes, SHMRING_COUNTERS_ALIGN);
	g->end_offset = round_up(g->counters_offset + counters, SHMRING_END_ALIGN);
	g->file_size = g->end_offset + SHMRING_END_SIZE;
	return 0;
}

/* check_flags decodes the Flags word into p (layout telemetryOf): only the
 * bits version 4 defines, and no sample shift without telemetry. */
static int check_flags(uint32_t flags, struct params *p)
{
	uint32_t shift_mask = (uint32_t)SHMRING_MAX_SAMPLE_SHIFT << SHMRING_SAMPLE_SHIFT_BIT;
	uint32_t t = flags & ~SHMRING_HEADER_FLAG_RECORDS;
	if ((flags & ~SHMRING_HEADER_FLAGS_MASK) != 0 || (t != 0 && (t & SHMRING_FLAG_TELEMETRY) == 0))
		return shmring__fail(SHMRING_EGEOMETRY, "flags=%#x, want only the bits of %#x", flags,
				     SHMRING_HEADER_FLAGS_MASK);
	p->records = (flags & SHMRING_HEADER_FLAG_RECORDS) != 0;
	p->telemetry = t != 0;
	p->shift = (t & shift_mask) >> SHMRING_SAMPLE_SHIFT_BIT;
	return 0;
}

static int check_geometry(const unsigned char *b, shmring_info *h)
{
	uint32_t v;
	if ((v = le32(b, SHMRING_HEADER_SIZE_OFFSET)) != SHMRING_HEADER_SIZE)
		return shmring__fail(SHMRING_EGEOMETRY, "header size=%u, want %d", v, SHMRING_HEADER_SIZE);
	if ((v = le32(b, SHMRING_PAD_UNIT_OFFSET)) != SHMRING_PAD_UNIT)
		return shmring__fail(SHMRING_EGEOMETRY, "padding unit=%u, want %d", v, SHMRING_PAD_UNIT);
	struct params p = {
		.kind = h->kind,
		.slot_size = h->slot_size,
		.slot_count = h->slot_count,
		.max_p = h->max_producers,
		.max_c = h->max_consumers,
	};
	int rc = check_flags(h->flags, &p);
	if (rc)
		return rc;
	for (int i = 0; i < SHMRING_RESERVED_SIZE; i++)
		if (b[SHMRING_RESERVED_OFFSET + i] != 0)
			return shmring__fail(SHMRING_EGEOMETRY, "reserved byte %d=%#x, want 0", SHMRING_RESERVED_OFFSET + i,
					     b[SHMRING_RESERVED_OFFSET + i]);
	if (h->max_producers == 0 || h->max_consumers == 0)
		return shmring__fail(SHMRING_EGEOMETRY, "max producers=%u consumers=%u, want non-zero", h->max_producers,
				     h->max_consumers);
	struct geometry g = {0};
	if ((rc = want_geometry(&p, &g)) != 0)
		return rc;
	uint32_t slot_header = le32(b, SHMRING_SLOT_HEADER_SIZE_OFFSET);
	if (slot_header != g.slot_header)
		return shmring__fail(SHMRING_EGEOMETRY, "slot header size=%u, want %u", slot_header, g.slot_header);
	uint64_t control_off = le64(b, SHMRING_CONTROL_OFFSET_OFFSET), control = le64(b, SHMRING_CONTROL_SIZE_OFFSET);
	if (h->slot_stride != g.stride || control_off != SHMRING_CONTROL_OFFSET || control != g.control ||
	    h->slots_offset != g.slots_offset || h->file_size != g.file_size)
		return shmring__fail(SHMRING_EGEOMETRY,
				     "stride=%llu control=%llu+%llu slots=%llu file=%llu, want %llu %d+%llu %llu %llu",
				     (unsigned long long)h->slot_stride, (unsigned long long)control_off,
				     (unsigned long long)control, (unsigned long long)h->slots_offset,
				     (unsigned long long)h->file_size, (unsigned long long)g.stride, SHMRING_CONTROL_OFFSET,
				     (unsigned long long)g.control, (unsigned long long)g.slots_offset,
				     (unsigned long long)g.file_size);
	h->counters_offset = g.counters_offset;
	h->end_offset = g.end_offset;
	return 0;
}

int shmring__decode(const unsigned char *b, shmring_info *h)
{
	if (memcmp(b + SHMRING_MAGIC_OFFSET, SHMRING_MAGIC, SHMRING_MAGIC_SIZE) != 0)
		return shmring__fail(SHMRING_EMAGIC, "magic %02x%02x%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4],
				     b[5], b[6], b[7]);
	uint32_t version = le32(b, SHMRING_VERSION_OFFSET);
	if (version != SHMRING_VERSION)
		return shmring__fail(SHMRING_EVERSION, "file version=%u, this code reads version=%d", version, SHMRING_VERSION);
	memset(h, 0, sizeof *h);
	h->kind = le32(b, SHMRING_KIND_OFFSET);
	h->slot_size = le32(b, SHMRING_SLOT_SIZE_OFFSET);
	h->slot_count = le64(b, SHMRING_SLOT_COUNT_OFFSET);
	h->slot_stride = le64(b, SHMRING_SLOT_STRIDE_OFFSET);
	h->slots_offset = le64(b, SHMRING_SLOTS_OFFSET_OFFSET);
	h->file_size = le64(b, SHMRING_FILE_SIZE_OFFSET);
	h->creator_pid = le32(b, SHMRING_CREATOR_PID_OFFSET);
	h->created_unix_nano = (int64_t)le64(b, SHMRING_CREATED_UNIX_NANO_OFFSET);
	h->max_producers = le32(b, SHMRING_MAX_PRODUCERS_OFFSET);
	h->max_consumers = le32(b, SHMRING_MAX_CONSUMERS_OFFSET);
	h->flags = le32(b, SHMRING_FLAGS_OFFSET);
	int rc = check_geometry(b, h);
	if (rc)
		return rc;
	uint32_t stored = le32(b, SHMRING_CHECKSUM_OFFSET), computed = shmring_crc32c(0, b, SHMRING_CHECKSUM_OFFSET);
	if (stored != computed)
		return shmring__fail(SHMRING_ECHECKSUM, "stored=%#010x computed=%#010x", stored, computed);
	return 0;
}
