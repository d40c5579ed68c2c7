"""The test message, byte for byte as c/tests/codec.h and
interop/codec_test.go: [0:8) seq, [8:12) length, [12:16) CRC-32C of [0:12)
and [16:n), [16:n) bytes derived from seq; the length of message seq is
16 + mix(seq, 0) % (max - 16 + 1)."""

import struct

from shmring import crc32c

HEADER = 16
_M = (1 << 64) - 1


def mix(seq, i):
    z = (seq * 0x9E3779B97F4A7C15 + (i + 1) * 0xBF58476D1CE4E5B9) & _M
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M
    return z ^ (z >> 31)


def length(seq, max_len):
    return HEADER + mix(seq, 0) % (max_len - HEADER + 1)


def check(m, seq, max_len):
    """None when m is message seq, else what is wrong."""
    m = bytes(m)
    if len(m) < HEADER:
        return f"message {seq}: {len(m)} bytes, shorter than its header"
    got, n, crc = struct.unpack_from("<QII", m)
    if got != seq:
        return f"got message {got}, want {seq}"
    if n != len(m) or n != length(seq, max_len):
        return f"message {seq}: length field={n} received={len(m)} want={length(seq, max_len)}"
    want = crc32c(m[HEADER:], crc32c(m[:12]))
    if crc != want:
        return f"message {seq}: crc={crc:#x} computed={want:#x} (torn)"
    return None
