"""JSON whose binary fields travel after it, as they are, instead of inside it as base64.

A closed window partial is mostly numpy arrays. Carried as base64 strings they were a third
larger, and reading one back made three copies of every array (the string, its decoded bytes,
the array) while the merger held the partials of all partitions: ~20 MB at each window close
of the memory benchmark (docs/benchmarks.md). Here a record is one line of JSON (orjson never
writes a newline), then the binary fields back to back; each field's place in the JSON holds its
length. Reading gives memoryviews into the record itself, which ``numpy.frombuffer`` wraps
without a copy.

>>> record = dumps({"n": 2, "ids": memoryview(b"abcd"), "more": [b"xy"]})
>>> record
b'{"n":2,"ids":{"$blob":4},"more":[{"$blob":2}]}\\nabcdxy'
>>> document = loads(record)
>>> document["n"], bytes(document["ids"]), bytes(document["more"][0])
(2, b'abcd', b'xy')
>>> loads(b'{"plain": "json"}')  # a record without binary fields is plain JSON
{'plain': 'json'}
"""

from __future__ import annotations

from typing import Any

import orjson

BLOB = "$blob"
Binary = bytes | bytearray | memoryview


def dumps(document: Any) -> bytes:
    """``document`` as JSON (numpy scalars allowed), its bytes-like values replaced by their
    length and appended."""
    blobs: list[memoryview] = []
    head = orjson.dumps(_strip(document, blobs), option=orjson.OPT_SERIALIZE_NUMPY)
    if not blobs:
        return head
    return b"".join([head, b"\n", *blobs])


def loads(record: bytes) -> Any:
    """The document :func:`dumps` wrote; its binary fields are memoryviews into ``record``."""
    cut = record.find(b"\n")
    if cut < 0:
        return orjson.loads(record)
    view = memoryview(record)
    document = orjson.loads(view[:cut])
    tail = view[cut + 1 :]
    restored, used = _restore(document, tail, 0)
    if used != len(tail):
        raise ValueError(f"record has {len(tail)} bytes after its JSON, its fields {used}")
    return restored


def _strip(node: Any, blobs: list[memoryview]) -> Any:
    if isinstance(node, dict):
        return {key: _strip(value, blobs) for key, value in node.items()}
    if isinstance(node, list | tuple):
        return [_strip(value, blobs) for value in node]
    if isinstance(node, Binary):
        view = memoryview(node).cast("B")
        blobs.append(view)
        return {BLOB: view.nbytes}
    return node


def _restore(node: Any, tail: memoryview, at: int) -> tuple[Any, int]:
    """``node`` with its blob markers replaced, in the order :func:`_strip` met them."""
    if isinstance(node, dict):
        if len(node) == 1 and BLOB in node:
            end = at + int(node[BLOB])
            if end > len(tail):
                raise ValueError("record is shorter than its binary fields")
            return tail[at:end], end
        out = {}
        for key, value in node.items():
            out[key], at = _restore(value, tail, at)
        return out, at
    if isinstance(node, list):
        items = []
        for value in node:
            item, at = _restore(value, tail, at)
            items.append(item)
        return items, at
    return node, at
