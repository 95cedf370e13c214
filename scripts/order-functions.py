#!/usr/bin/env python3
"""Renames a wasm module's functions so that wasm-opt's --reorder-functions-by-name puts similar code
side by side, where the compressor finds it (gzip's window is 32 KB; brotli, whose size is the
package's limit, also codes near matches in fewer bits).

Sorting by the plain names groups a generic's copies (`Vec::from_iter` has over a hundred), but each
copy's name ends in a hash, so within a group the order is arbitrary and moves between builds. Here
each function is named `<rank> <name>`: groups in order of their names without the hash and without
generic arguments (so `drop_in_place<A>` and `drop_in_place<B>`, or `<Vec<T> as Debug>::fmt` and
`<Option<T> as Debug>::fmt`, are one group: 1.6 KB less brotli than grouping by the full name), a
family of only a few functions joined to the others of its module (0.9 KB less), and within a group
a greedy chain that always takes next the function that compresses best after the current one. That
is 4 KB smaller and the same for the same code. wasm-opt strips the names afterwards.

Usage: order-functions.py FILE.wasm   (rewritten in place; a module without names is left as is)
"""

import re
import sys
import zlib
from collections import Counter, defaultdict

from wasm_binary import leb, read_leb, sections

NAME_SUBSECTION_FUNCTIONS = 1
# Chaining is quadratic in a group's size (the largest, `drop_in_place`, has 700 copies: seconds);
# bigger groups are ordered by their code's first bytes.
MAX_CHAINED_GROUP = 1000
# Families smaller than this are grouped by their module instead (measured: 3 and 30 do worse).
SMALL_FAMILY = 8


def imported_functions(payload):
    count, i = read_leb(payload, 0)
    functions = 0
    for _ in range(count):
        for _ in range(2):  # module and field names
            length, i = read_leb(payload, i)
            i += length
        kind = payload[i]
        i += 1
        if kind == 0:  # function: a type index
            _, i = read_leb(payload, i)
            functions += 1
        elif kind == 1:  # table: element type, limits
            i += 1
            flags = payload[i]
            _, i = read_leb(payload, i + 1)
            if flags & 1:
                _, i = read_leb(payload, i)
        elif kind == 2:  # memory: limits
            flags = payload[i]
            _, i = read_leb(payload, i + 1)
            if flags & 1:
                _, i = read_leb(payload, i)
        elif kind == 3:  # global: value type, mutability
            i += 2
        else:
            raise ValueError(f"unknown import kind {kind}")
    return functions


def function_bodies(payload):
    count, i = read_leb(payload, 0)
    bodies = []
    for _ in range(count):
        size, i = read_leb(payload, i)
        bodies.append(payload[i : i + size])
        i += size
    return bodies


def family(name):
    """`name` without its hash and without generic arguments: the group it is sorted in."""
    base = re.sub(r"::h[0-9a-f]{16}$", "", name)
    while True:
        stripped = re.sub(r"<[^<>]*>", "", base)
        if stripped == base:
            return base
        base = stripped


def ranks(names, code):
    """Each function's place: groups by family (or module), chained by likeness within."""
    families = {index: family(name) for index, name in names.items()}
    sizes = Counter(families.values())
    groups = defaultdict(list)
    for index, name in families.items():
        # A family of a few functions joins the rest of its module, to be chained with them.
        if sizes[name] < SMALL_FAMILY and "::" in name:
            name = name.rsplit("::", 1)[0] + "::"
        groups[name].append(index)
    order = []
    for base in sorted(groups):
        group = sorted(groups[base], key=lambda i: (code.get(i, b"")[:64], i))
        if 2 < len(group) <= MAX_CHAINED_GROUP:
            group = chained(group, code)
        order += group
    return {index: rank for rank, index in enumerate(order)}


def chained(group, code):
    alone = {i: len(zlib.compress(code.get(i, b""), 9)) for i in group}
    current, rest = group[0], group[1:]
    chain = [current]
    while rest:
        body = code.get(current, b"")
        current = min(rest, key=lambda j: (len(zlib.compress(body + code.get(j, b""), 9)) - alone[j], j))
        rest.remove(current)
        chain.append(current)
    return chain


def renamed(payload, imports, bodies):
    """The name section with its function names replaced; None if it has none."""
    length, i = read_leb(payload, 0)
    if payload[i : i + length] != b"name":
        return None
    out = bytearray(payload[: i + length])
    i += length
    found = False
    while i < len(payload):
        sub = payload[i]
        size, start = read_leb(payload, i + 1)
        end = start + size
        if sub == NAME_SUBSECTION_FUNCTIONS:
            found = True
            count, j = read_leb(payload, start)
            names = {}
            for _ in range(count):
                index, j = read_leb(payload, j)
                length, j = read_leb(payload, j)
                names[index] = payload[j : j + length].decode("utf-8", "replace")
                j += length
            code = {index: bodies[index - imports] for index in names if index >= imports}
            rank = ranks(names, code)
            entries = bytearray(leb(len(names)))
            for index in sorted(names):
                name = f"{rank[index]:08d} {names[index]}".encode()
                entries += leb(index) + leb(len(name)) + name
            out += bytes([sub]) + leb(len(entries)) + entries
        else:
            out += payload[i:end]
        i = end
    return bytes(out) if found else None


def main(path):
    data = open(path, "rb").read()
    parts = list(sections(data))
    imports = next((imported_functions(p) for k, p in parts if k == 2), 0)
    bodies = next((function_bodies(p) for k, p in parts if k == 10), [])
    out = bytearray(data[:8])
    changed = False
    for kind, payload in parts:
        if kind == 0:
            names = renamed(payload, imports, bodies)
            if names is not None:
                payload, changed = names, True
        out += bytes([kind]) + leb(len(payload)) + payload
    if changed:
        open(path, "wb").write(out)
    else:
        print(f"{path}: no function names, left as is", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1])
