"""Validate a ring header read from untrusted bytes, in the order and with the
rules of Go's package layout (layout.Decode): magic, version, geometry,
checksum. Only a private copy is validated, never the live mapping."""

import dataclasses
import struct
from dataclasses import dataclass

from . import _layout as L
from ._crc32c import crc32c
from .errors import BadMagicError, ChecksumError, GeometryError, VersionError


@dataclass(frozen=True)
class Info:
    """What the validated header says; never re-read from the file."""

    kind: int
    slot_size: int
    slot_count: int
    slot_stride: int
    slots_offset: int
    end_offset: int  # the end unit, where the end mark lies
    file_size: int
    max_producers: int
    max_consumers: int
    creator_pid: int
    created_unix_nano: int
    flags: int = 0  # the header's Flags word (LAYOUT.md section 4)
    counters_offset: int = 0  # the counter area (LAYOUT.md section 16)

    @property
    def records(self):
        """A record ring (LAYOUT.md section 17): this package refuses to open one."""
        return bool(self.flags & L.HEADER_FLAG_RECORDS)

    @property
    def telemetry(self):
        """A ring with telemetry (LAYOUT.md section 16.3): consumers and readers
        work (recording no latency samples); the producer role is refused."""
        return bool(self.flags & L.FLAG_TELEMETRY)

    @property
    def sample_shift(self):
        """With telemetry, positions that are multiples of 2**sample_shift are stamped."""
        return self.flags >> L.SAMPLE_SHIFT_BIT & L.MAX_SAMPLE_SHIFT


def _u32(b, off):
    return struct.unpack_from("<I", b, off)[0]


def _u64(b, off):
    return struct.unpack_from("<Q", b, off)[0]


def _counters_size(kind, max_p, max_c, slot_count, telemetry, shift):
    """The counter area's size (layout countersSize, LAYOUT.md section 16.1):
    each role's block, and with telemetry the consumers' histograms and one
    stamp per sampled position of a lap."""
    if kind in (L.KIND_MPMC, L.KIND_MPSC):
        blocks = max_p + max_c
    elif kind == L.KIND_BROADCAST:
        blocks = 1 + max_c
    else:
        blocks = 2
    hists = stamps = 0
    if telemetry:
        hists = 1 if kind == L.KIND_SPSC else max_c
        stamps = max(1, slot_count >> shift)
    n = blocks * L.COUNTER_BLOCK_SIZE + hists * L.HIST_SIZE + stamps * 8
    return _round_up(n, L.PAD_UNIT)


def _round_up(n, to):
    return (n + to - 1) // to * to


def _record_geometry(kind, slot_size, capacity, telemetry):
    """A record ring's kind, capacity and longest message (layout
    recordGeometry, LAYOUT.md section 17.2)."""
    if kind not in (L.KIND_SPSC, L.KIND_BROADCAST):
        raise GeometryError(f"ring: kind={kind} carries no records (spsc and broadcast do)")
    c = capacity
    if not L.MIN_RECORD_CAPACITY <= c <= L.MAX_RECORD_CAPACITY or c & (c - 1):
        raise GeometryError(
            f"ring: record capacity={c}, want a power of two in {L.MIN_RECORD_CAPACITY}..{L.MAX_RECORD_CAPACITY}"
        )
    most = min(c // 2, L.MAX_SLOT_SIZE)  # a wrapped record's payload starts the next lap: section 17.2
    if slot_size > most:
        raise GeometryError(f"ring: max message={slot_size}, a {c}-byte record ring carries at most {most}")
    if telemetry:
        raise GeometryError("ring: telemetry is for slot rings; a record ring carries none")


def _flags(flags):
    """Decode the Flags word (layout telemetryOf): (records, telemetry,
    shift); only the bits version 4 defines, no shift without telemetry."""
    t = flags & ~L.HEADER_FLAG_RECORDS
    if flags & ~L.HEADER_FLAGS_MASK or (t and not t & L.FLAG_TELEMETRY):
        raise GeometryError(f"ring: flags={flags:#x}, want only the bits of {L.HEADER_FLAGS_MASK:#x}")
    return bool(flags & L.HEADER_FLAG_RECORDS), t != 0, t >> L.SAMPLE_SHIFT_BIT & L.MAX_SAMPLE_SHIFT


def _want_geometry(kind, slot_size, slot_count, max_p, max_c, records=False, telemetry=False, shift=0):
    """The geometry a creator would have made (layout.NewHeaderFor):
    (slot header size, stride, control size, slots offset, counters offset,
    end offset, file size)."""
    max_slots = L.MAX_SLOT_COUNT
    if kind == L.KIND_SPSC:
        if max_p != 1 or max_c != 1:
            raise GeometryError(f"ring: spsc max producers={max_p} consumers={max_c}, want 1 and 1")
        slot_header, control = L.SLOT_HEADER_SIZE, L.CONTROL_SIZE
    elif kind in (L.KIND_MPMC, L.KIND_MPSC):
        if kind == L.KIND_MPSC and max_c != 1:
            raise GeometryError(f"ring: mpsc max consumers={max_c}, want 1")
        if max_p + max_c > L.MAX_PARTICIPANTS:
            raise GeometryError(f"ring: max producers={max_p} + consumers={max_c}, want at most {L.MAX_PARTICIPANTS}")
        max_slots = L.MAX_MPMC_SLOT_COUNT
        slot_header = L.MPMC_SLOT_HEADER_SIZE
        control = (L.MPMC_FIXED_UNITS + max_p + max_c) * L.PAD_UNIT
    elif kind == L.KIND_BROADCAST:
        if max_p != 1 or max_c > L.MAX_READERS:
            raise GeometryError(f"ring: broadcast max producers={max_p} readers={max_c}, want 1 and 1..{L.MAX_READERS}")
        slot_header = L.BCAST_SLOT_HEADER_SIZE
        control = (L.BCAST_FIXED_UNITS + max_c) * L.PAD_UNIT
    else:
        raise GeometryError(f"ring: kind={kind} not supported")
    if not 1 <= slot_size <= L.MAX_SLOT_SIZE:
        raise GeometryError(f"ring: slot size={slot_size}, want 1..{L.MAX_SLOT_SIZE}")
    if records:
        _record_geometry(kind, slot_size, slot_count, telemetry)
        max_slots = L.MAX_RECORD_CAPACITY
    if not 1 <= slot_count <= max_slots or slot_count & (slot_count - 1):
        raise GeometryError(f"ring: slot count={slot_count}, want a power of two in 1..{max_slots}")
    stride = _round_up(slot_header + slot_size, L.STRIDE_ALIGN)
    if records:
        slot_header, stride = L.RECORD_HEADER_SIZE, 1
    slots_offset = L.CONTROL_OFFSET + control
    counters = _counters_size(kind, max_p, max_c, slot_count, telemetry, shift)
    if stride * slot_count > L.MAX_FILE_SIZE - slots_offset - L.END_ALIGN - L.END_SIZE - counters:
        raise GeometryError(f"ring: {slot_count} slots of {stride} bytes exceed {L.MAX_FILE_SIZE} bytes")
    # The counter area after the slots, and the end unit on a page of its
    # own after that (LAYOUT.md sections 16.1 and 2).
    counters_offset = _round_up(slots_offset + stride * slot_count, L.COUNTERS_ALIGN)
    end = _round_up(counters_offset + counters, L.END_ALIGN)
    return slot_header, stride, control, slots_offset, counters_offset, end, end + L.END_SIZE


def decode(b):
    """Validate 128 header bytes (the ready word is not looked at) and return
    an Info, or raise BadMagicError, VersionError, GeometryError or
    ChecksumError."""
    b = bytes(b)
    if b[: L.MAGIC_SIZE] != L.MAGIC:
        raise BadMagicError(f"ring: bad magic {b[:L.MAGIC_SIZE]!r}, not a shmring file")
    v = _u32(b, L.VERSION_OFFSET)
    if v != L.VERSION:
        raise VersionError(f"ring: file version={v}, this code reads version={L.VERSION}")
    for off, want, what in (
        (L.HEADER_SIZE_OFFSET, L.HEADER_SIZE, "header size"),
        (L.PAD_UNIT_OFFSET, L.PAD_UNIT, "padding unit"),
    ):
        got = _u32(b, off)
        if got != want:
            raise GeometryError(f"ring: {what}={got}, want {want}")
    flags = _u32(b, L.FLAGS_OFFSET)
    records, telemetry, shift = _flags(flags)
    reserved = b[L.RESERVED_OFFSET : L.RESERVED_OFFSET + L.RESERVED_SIZE]
    if any(reserved):
        raise GeometryError(f"ring: reserved bytes {reserved.hex()}, want zero")
    info = Info(
        kind=_u32(b, L.KIND_OFFSET),
        slot_size=_u32(b, L.SLOT_SIZE_OFFSET),
        slot_count=_u64(b, L.SLOT_COUNT_OFFSET),
        slot_stride=_u64(b, L.SLOT_STRIDE_OFFSET),
        slots_offset=_u64(b, L.SLOTS_OFFSET_OFFSET),
        end_offset=0,  # derived below, once the geometry is checked
        file_size=_u64(b, L.FILE_SIZE_OFFSET),
        max_producers=_u32(b, L.MAX_PRODUCERS_OFFSET),
        max_consumers=_u32(b, L.MAX_CONSUMERS_OFFSET),
        creator_pid=_u32(b, L.CREATOR_PID_OFFSET),
        created_unix_nano=struct.unpack_from("<q", b, L.CREATED_UNIX_NANO_OFFSET)[0],
        flags=flags,
    )
    if info.max_producers == 0 or info.max_consumers == 0:
        raise GeometryError(f"ring: max producers={info.max_producers} consumers={info.max_consumers}, want non-zero")
    slot_header, stride, control, slots_offset, counters_offset, end_offset, file_size = _want_geometry(
        info.kind, info.slot_size, info.slot_count, info.max_producers, info.max_consumers, records, telemetry, shift
    )
    got = (
        _u32(b, L.SLOT_HEADER_SIZE_OFFSET),
        info.slot_stride,
        _u64(b, L.CONTROL_OFFSET_OFFSET),
        _u64(b, L.CONTROL_SIZE_OFFSET),
        info.slots_offset,
        info.file_size,
    )
    want = (slot_header, stride, L.CONTROL_OFFSET, control, slots_offset, file_size)
    if got != want:
        raise GeometryError(
            "ring: slot header, stride, control offset and size, slots offset, file size = %s, want %s" % (got, want)
        )
    stored, computed = _u32(b, L.CHECKSUM_OFFSET), crc32c(b[: L.CHECKSUM_OFFSET])
    if stored != computed:
        raise ChecksumError(f"ring: header checksum stored={stored:#010x} computed={computed:#010x}")
    return dataclasses.replace(info, end_offset=end_offset, counters_offset=counters_offset)
