"""Which files are shared: every record this node knows, indexed the ways they are asked for.

Pure bookkeeping, no I/O: by id (``file_get``), by room in ``seq`` order
(``files``), by content (a ``sha256`` is kept on disk while any record uses
it) and in the order they were shared (the oldest go first when the quota or
the TTL asks).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator

from protocol import fold

from ..changes import FileRecord


class Catalog:
    """The shared files that are not gone; see the module docstring."""

    def __init__(self) -> None:
        #: Every record by id, oldest shared first.
        self._by_id: dict[str, FileRecord] = {}
        #: Room files by folded room name, in ``seq`` order (with their seqs, for bisect).
        self._rooms: dict[str, tuple[list[int], list[FileRecord]]] = {}
        #: Records using each content, and its size.
        self._uses: dict[str, int] = {}
        self._sizes: dict[str, int] = {}
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, file_id: object) -> bool:
        return file_id in self._by_id

    def get(self, file_id: str) -> FileRecord | None:
        return self._by_id.get(file_id)

    def load(self, records: Iterable[FileRecord]) -> None:
        """Add records a store kept, in whatever order it gives them."""
        for record in sorted(records, key=lambda r: r.ts):
            self.add(record)

    def add(self, record: FileRecord) -> bool:
        """Add ``record``; returns whether anything changed.

        A known id changes nothing, except that a room file whose message had
        no ``seq`` yet (a cluster numbers it later) takes ``record``'s ``seq``.
        """
        file = record.file
        known = self._by_id.get(file.id)
        if known is not None:
            if known.room is None or known.seq or not record.seq:
                return False
            self._unindex(known)
            self._by_id[file.id] = record
            self._index(record)
            return True
        self._by_id[file.id] = record
        self._index(record)
        uses = self._uses.get(file.sha256, 0)
        if not uses:
            self._sizes[file.sha256] = file.size
            self._bytes += file.size
        self._uses[file.sha256] = uses + 1
        return True

    def remove(self, ids: Iterable[str]) -> list[str]:
        """Forget the records ``ids`` (unknown ones are skipped).

        Returns the ``sha256`` of each content no record uses any more: the
        caller may delete it from the disk.
        """
        unused: list[str] = []
        for file_id in ids:
            record = self._by_id.pop(file_id, None)
            if record is None:
                continue
            self._unindex(record)
            sha = record.file.sha256
            uses = self._uses[sha] - 1
            if uses:
                self._uses[sha] = uses
            else:
                del self._uses[sha]
                self._bytes -= self._sizes.pop(sha)
                unused.append(sha)
        return unused

    def _index(self, record: FileRecord) -> None:
        if record.room is not None:
            seqs, records = self._rooms.setdefault(fold(record.room), ([], []))
            at = bisect.bisect_right(seqs, record.seq)
            seqs.insert(at, record.seq)
            records.insert(at, record)

    def _unindex(self, record: FileRecord) -> None:
        if record.room is not None:
            key = fold(record.room)
            seqs, records = self._rooms[key]
            at = records.index(record)
            del seqs[at], records[at]
            if not records:
                del self._rooms[key]

    def uses(self, sha256: str) -> int:
        """How many records use the content ``sha256``."""
        return self._uses.get(sha256, 0)

    @property
    def content_bytes(self) -> int:
        """Bytes of content the records use, each content counted once."""
        return self._bytes

    def oldest(self) -> Iterator[FileRecord]:
        """Every record, oldest shared first (a snapshot: the caller may remove while iterating)."""
        return iter(list(self._by_id.values()))

    def expired(self, before: float) -> list[str]:
        """The ids of the records shared before the wall-clock time ``before``."""
        found: list[str] = []
        for record in self._by_id.values():
            if record.ts >= before:
                break
            found.append(record.file.id)
        return found

    def room_files(self, room: str, before: int | None, limit: int) -> list[FileRecord]:
        """The newest ``limit`` files of ``room`` whose message's ``seq`` is below ``before``,
        newest first."""
        entry = self._rooms.get(fold(room))
        if entry is None:
            return []
        seqs, records = entry
        end = len(records) if before is None else bisect.bisect_left(seqs, before)
        return records[max(0, end - limit) : end][::-1]

    def has_room(self, room: str) -> bool:
        """Whether ``room`` has any file."""
        return fold(room) in self._rooms
