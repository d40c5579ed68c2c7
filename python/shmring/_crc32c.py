"""CRC-32C (Castagnoli), as the ring header's checksum uses. Pure Python:
about a microsecond per ten bytes, fine for a header and for tests."""

def _table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ (0x82F63B78 & -(c & 1))
        t.append(c)
    return tuple(t)


_TABLE = _table()


def crc32c(data, crc=0):
    """CRC-32C of data (bytes-like), continuing from crc (0 to start)."""
    t = _TABLE
    crc ^= 0xFFFFFFFF
    for b in data if isinstance(data, bytes) else bytes(data):
        crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF
