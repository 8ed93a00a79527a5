"""Shared files' records as the Redis store carries them: a kind, a JSON body, arguments.

``F`` (a file shared: its record, kept in the ``files`` hash under its id) and
``G`` (files gone: their ids, removed from it).  :func:`files_op` and
:func:`files_change` are each other's inverse, so every node learns of a file
another node shared, and of one it removed.
"""

from __future__ import annotations

import json

from ...changes import FileShared, FilesRemoved
from ..filerecords import decode_record, encode_record

#: Every kind this module reads.
KINDS = frozenset({"F", "G"})


def files_op(change: FileShared | FilesRemoved) -> tuple[str, bytes, tuple[str, ...]]:
    """``(kind, body, arguments)``: the arguments are the ids the ``files`` hash changes at."""
    if isinstance(change, FileShared):
        return "F", encode_record(change.record).encode(), (change.record.file.id,)
    return "G", json.dumps(list(change.ids)).encode(), change.ids


def files_change(kind: str, body: bytes) -> FileShared | FilesRemoved:
    """The change of a ``kind`` in :data:`KINDS`; raises ``ValueError`` or ``KeyError``."""
    if kind == "F":
        return FileShared(decode_record(body))
    return FilesRemoved(tuple(json.loads(body)))
