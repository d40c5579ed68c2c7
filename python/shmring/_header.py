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


def _u32(b, off):
    return struct.unpack_from("<I", b, off)[0]


def _u64(b, off):
    return struct.unpack_from("<Q", b, off)[0]


def _want_geometry(kind, slot_size, slot_count, max_p, max_c):
    """The geometry a creator would have made (layout.NewHeaderFor):
    (slot header size, stride, control size, slots offset, end offset, file
    size)."""
    max_slots = L.MAX_SLOT_COUNT
    if kind == L.KIND_SPSC:
        if max_p != 1 or max_c != 1:
            raise GeometryError(f"spsc max producers={max_p} consumers={max_c}, want 1 and 1")
        slot_header, control = L.SLOT_HEADER_SIZE, L.CONTROL_SIZE
    elif kind in (L.KIND_MPMC, L.KIND_MPSC):
        if kind == L.KIND_MPSC and max_c != 1:
            raise GeometryError(f"mpsc max consumers={max_c}, want 1")
        if max_p + max_c > L.MAX_PARTICIPANTS:
            raise GeometryError(f"max producers={max_p} + consumers={max_c}, want at most {L.MAX_PARTICIPANTS}")
        max_slots = L.MAX_MPMC_SLOT_COUNT
        slot_header = L.MPMC_SLOT_HEADER_SIZE
        control = (L.MPMC_FIXED_UNITS + max_p + max_c) * L.PAD_UNIT
    elif kind == L.KIND_BROADCAST:
        if max_p != 1 or max_c > L.MAX_READERS:
            raise GeometryError(f"broadcast max producers={max_p} readers={max_c}, want 1 and 1..{L.MAX_READERS}")
        slot_header = L.BCAST_SLOT_HEADER_SIZE
        control = (L.BCAST_FIXED_UNITS + max_c) * L.PAD_UNIT
    else:
        raise GeometryError(f"kind={kind} not supported")
    if not 1 <= slot_size <= L.MAX_SLOT_SIZE:
        raise GeometryError(f"slot size={slot_size}, want 1..{L.MAX_SLOT_SIZE}")
    if not 1 <= slot_count <= max_slots or slot_count & (slot_count - 1):
        raise GeometryError(f"slot count={slot_count}, want a power of two in 1..{max_slots}")
    a = L.STRIDE_ALIGN
    stride = (slot_header + slot_size + a - 1) // a * a
    slots_offset = L.CONTROL_OFFSET + control
    if stride * slot_count > L.MAX_FILE_SIZE - slots_offset - L.END_ALIGN - L.END_SIZE:
        raise GeometryError(f"{slot_count} slots of {stride} bytes exceed {L.MAX_FILE_SIZE} bytes")
    # The end unit on a page of its own (LAYOUT.md section 2).
    end = (slots_offset + stride * slot_count + L.END_ALIGN - 1) // L.END_ALIGN * L.END_ALIGN
    return slot_header, stride, control, slots_offset, end, end + L.END_SIZE


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
        (L.FLAGS_OFFSET, 0, "flags"),
    ):
        got = _u32(b, off)
        if got != want:
            raise GeometryError(f"ring: {what}={got}, want {want}")
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
    )
    if info.max_producers == 0 or info.max_consumers == 0:
        raise GeometryError(f"ring: max producers={info.max_producers} consumers={info.max_consumers}, want non-zero")
    slot_header, stride, control, slots_offset, end_offset, file_size = _want_geometry(
        info.kind, info.slot_size, info.slot_count, info.max_producers, info.max_consumers
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
    return dataclasses.replace(info, end_offset=end_offset)
