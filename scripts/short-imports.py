#!/usr/bin/env python3
"""Gives the functions a wasm-bindgen module imports from its JS glue short names, in the wasm and in
the glue alike.

wasm-bindgen names each import `__wbg_<name>_<16 hex digits>`; the hashes are 120 runs of random hex
the compressor cannot shrink (1.3 KB of the brotli'd package). The glue defines each import once, as
a key of the object it hands to `WebAssembly.instantiate` (`__wbg_get_imports`), so the renaming is
one key per import: each name must occur exactly once in the glue, or this script refuses (a
wasm-bindgen whose glue looks otherwise fails the build here instead of at load time).

Usage: short-imports.py FILE_bg.wasm FILE.js   (both rewritten in place)
"""

import re
import string
import sys

from wasm_binary import leb, read_leb, sections

IMPORT_SECTION = 2


def short_name(index):
    """`a`, `b`, … `Z`, `ba`, …: never a glue identifier's `__wbg_…`/`__wbindgen_…` form."""
    letters = string.ascii_letters
    name = ""
    while True:
        name = letters[index % len(letters)] + name
        index //= len(letters)
        if not index:
            return name


def rename_imports(payload, glue_module):
    """The import section with the glue's function imports renamed, and the renaming."""
    count, i = read_leb(payload, 0)
    out = bytearray(leb(count))
    renamed = {}
    for _ in range(count):
        length, i = read_leb(payload, i)
        module = payload[i : i + length]
        i += length
        length, i = read_leb(payload, i)
        field = payload[i : i + length].decode()
        i += length
        start = i
        kind = payload[i]
        i += 1
        if kind == 0:  # function: a type index
            _, i = read_leb(payload, i)
        else:
            raise SystemExit(f"short-imports: import {field!r} is not a function (kind {kind})")
        if module.decode() == glue_module:
            new = renamed.setdefault(field, short_name(len(renamed)))
        else:
            new = field
        new = new.encode()
        out += leb(len(module)) + module + leb(len(new)) + new + payload[start:i]
    return bytes(out), renamed


def main(wasm_path, js_path):
    data = open(wasm_path, "rb").read()
    glue_module = "./" + re.sub(r"\.js$", "_bg.js", js_path.rsplit("/", 1)[-1])
    out = bytearray(data[:8])
    renamed = None
    for kind, payload in sections(data):
        if kind == IMPORT_SECTION:
            payload, renamed = rename_imports(payload, glue_module)
        out += bytes([kind]) + leb(len(payload)) + payload
    if not renamed:
        raise SystemExit(f"short-imports: no imports from {glue_module} in {wasm_path}")

    glue = open(js_path).read()
    for old, new in renamed.items():
        key = re.compile(r"(?<![\w$])" + re.escape(old) + r"(?=\s*:)")
        glue, found = key.subn(new, glue)
        if found != 1 or re.search(r"(?<![\w$])" + re.escape(old) + r"(?![\w$])", glue):
            raise SystemExit(f"short-imports: {old} is not exactly one key of the glue's imports")
    open(wasm_path, "wb").write(out)
    open(js_path, "w").write(glue)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
