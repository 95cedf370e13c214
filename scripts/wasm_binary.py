"""Reading and writing a wasm module's binary: LEB128 numbers and the sections, shared by the build's
post-processing scripts (order-functions.py, short-imports.py)."""


def read_leb(data, i):
    """The unsigned LEB128 number at data[i], and the index after it."""
    result = shift = 0
    while True:
        byte = data[i]
        i += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, i


def leb(n):
    """n as unsigned LEB128."""
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def sections(data):
    """Each section of a module after its 8-byte header: (kind, payload)."""
    i = 8
    while i < len(data):
        kind = data[i]
        size, start = read_leb(data, i + 1)
        yield kind, data[start : start + size]
        i = start + size
