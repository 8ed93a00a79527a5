"""What the hub and the transfer door ask of the shared files: quota, lifetime, uploads.

:class:`Files` joins the :class:`~chat_server.files.catalog.Catalog` (which
files are shared), the :class:`~chat_server.files.disk.Disk` (their bytes)
and the store (which keeps the records across restarts and tells the other
nodes of a cluster).

The quota counts each stored content once, plus the uploads in progress: an
upload that holds a ticket or is being written counts its whole size (so two
offers cannot both count on the same free space), an interrupted one the
bytes it kept.  To make room, the files shared longest ago are removed first;
so are files older than ``--file-ttl``.  A removed file is recorded as
:class:`~chat_server.changes.FilesRemoved`; its content is deleted once no
file uses it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..changes import FileRecord, FileShared, FilesRemoved, Store
from .catalog import Catalog
from .disk import Disk, PartialKey
from .upload import UploadSink

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Upload:
    """An upload this node knows of: bytes kept on disk, and who holds it."""

    #: Bytes in its partial file.
    kept: int = 0
    #: Wall-clock time of its last write.
    touched: float = 0.0
    #: Tickets and transfers that reserve its whole size.
    holds: int = 0
    #: A transfer is writing it now.
    busy: bool = False
    #: That transfer has ended and its last writes are under way (see :meth:`Files.settle`).
    ending: bool = False
    #: Set whenever no transfer writes it.
    idle: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.idle.set()

    def settle(self) -> None:
        """No transfer writes it any more."""
        self.busy = self.ending = False
        self.idle.set()


class Files:
    """Shared files on ``disk``, recorded in ``store``; see the module docstring.

    Call :meth:`open` with the records the store loaded before anything else,
    and :meth:`close` at the end.  ``wall_clock`` dates files and partial uploads.
    """

    def __init__(self, disk: Disk, store: Store, *, wall_clock: Callable[[], float]) -> None:
        self.disk = disk
        self.store = store
        self.wall_clock = wall_clock
        self.catalog = Catalog()
        self._uploads: dict[PartialKey, Upload] = {}
        #: Sinks of the uploads being written.
        self._sinks: dict[PartialKey, UploadSink] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def open(self) -> None:
        """Make the directory and adopt the partial uploads it kept (records come
        from the store through :meth:`load`)."""
        for kept in await self.disk.open():
            self._uploads[kept.key] = Upload(kept=kept.size, touched=kept.mtime)

    async def close(self) -> None:
        """Stop the uploads still writing (their bytes are kept), finish pending deletions,
        and close the disk."""
        for sink in list(self._sinks.values()):
            await sink.stop()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.disk.close()

    # --- the quota -----------------------------------------------------------------

    def kept(self, key: PartialKey) -> int:
        """Bytes kept of an interrupted upload of ``key`` (0 if none)."""
        upload = self._uploads.get(key)
        return upload.kept if upload is not None else 0

    def in_progress(self, excluding: PartialKey | None = None) -> int:
        """Bytes the uploads in progress count against the quota."""
        return sum(
            key.size if upload.holds else upload.kept
            for key, upload in self._uploads.items()
            if key != excluding
        )

    def used(self) -> int:
        """Bytes counted against the quota: stored content and uploads in progress."""
        return self.catalog.content_bytes + self.in_progress()

    def hold(self, key: PartialKey) -> None:
        """A ticket or a transfer reserves the whole of ``key`` until :meth:`release`."""
        upload = self._uploads.setdefault(key, Upload(touched=self.wall_clock()))
        upload.holds += 1

    def release(self, key: PartialKey) -> None:
        upload = self._uploads.get(key)
        if upload is None:
            return
        upload.holds = max(0, upload.holds - 1)
        if not upload.holds and not upload.busy and not upload.kept:
            del self._uploads[key]

    def make_room(self, quota: int, keep: str | None = None) -> None:
        """Remove the oldest files until what is counted fits ``quota`` (never ``keep``)."""
        excess = self.used() - quota
        if excess <= 0:
            return
        doomed: list[str] = []
        dropped: dict[str, int] = {}  # records of each content doomed so far
        for record in self.catalog.oldest():
            if excess <= 0:
                break
            if record.file.id == keep:
                continue
            doomed.append(record.file.id)
            sha = record.file.sha256
            dropped[sha] = dropped.get(sha, 0) + 1
            if dropped[sha] == self.catalog.uses(sha):  # its content goes with it
                excess -= record.file.size
        if doomed:
            log.info("removing %d file(s) to make room (quota %d bytes)", len(doomed), quota)
            self.remove(doomed)

    # --- lifetime --------------------------------------------------------------------

    def load(self, records: Iterable[FileRecord]) -> None:
        """The records a store kept (at start)."""
        self.catalog.load(records)

    def find(self, file_id: str, ttl: float) -> FileRecord | None:
        """The file ``file_id`` if it is not gone (``ttl`` 0: files do not expire)."""
        record = self.catalog.get(file_id)
        if record is None:
            return None
        if ttl and record.ts + ttl <= self.wall_clock():
            self.remove([file_id])
            return None
        return record

    def expire(self, ttl: float) -> None:
        """Remove the files older than ``ttl`` seconds (0: none)."""
        if ttl:
            ids = self.catalog.expired(self.wall_clock() - ttl)
            if ids:
                log.info("%d shared file(s) expired", len(ids))
                self.remove(ids)

    def shared(self, record: FileRecord, *, durable: bool) -> None:
        """A file was shared: know it, and with ``durable`` have the store keep it."""
        if self.catalog.add(record) and durable:
            self.store.record(FileShared(record))

    def remove(self, ids: list[str]) -> None:
        """Remove files here and in the store; delete contents nobody uses any more."""
        unused = self.catalog.remove(ids)
        self.store.record(FilesRemoved(tuple(ids)))
        if unused:
            self._spawn(self.disk.delete_content(unused))

    def removed(self, ids: Iterable[str]) -> None:
        """Another node removed files: forget them (that node deletes their content)."""
        self.catalog.remove(ids)

    def sweep_partials(self, keep_for: float) -> None:
        """Delete the interrupted uploads nobody wrote to for ``keep_for`` seconds."""
        limit = self.wall_clock() - keep_for
        stale = [
            key
            for key, upload in self._uploads.items()
            if not upload.holds and not upload.busy and upload.touched < limit
        ]
        for key in stale:
            del self._uploads[key]
            self._spawn(self.disk.discard(key))
        if stale:
            log.info("deleted %d interrupted upload(s) not resumed in time", len(stale))

    # --- uploads -----------------------------------------------------------------------

    def busy(self, key: PartialKey) -> bool:
        """Whether a transfer is writing ``key`` now."""
        upload = self._uploads.get(key)
        return upload is not None and upload.busy

    async def settle(self, key: PartialKey) -> None:
        """Wait for a transfer of ``key`` that has ended to finish its last writes, so that
        a resumed upload starts from all of them.  Returns at once when no ended transfer
        writes it (one still receiving is not waited for)."""
        upload = self._uploads.get(key)
        if upload is not None and upload.ending:
            await upload.idle.wait()

    def begin_upload(self, key: PartialKey) -> UploadSink | None:
        """A sink writing ``key`` from the bytes kept, or ``None`` while another transfer
        writes it.  End it with :meth:`stopped`, :meth:`commit` or :meth:`discard`."""
        upload = self._uploads.setdefault(key, Upload(touched=self.wall_clock()))
        if upload.busy:
            return None
        upload.busy = True
        upload.idle.clear()
        sink = UploadSink(
            self.disk.partial_path(key), upload.kept, self.disk.run, write=self.disk.write
        )

        def progress() -> None:
            upload.touched = self.wall_clock()

        sink.on_progress = progress
        self._sinks[key] = sink
        return sink

    def stopping(self, key: PartialKey, kept: int) -> None:
        """The transfer writing ``key`` ended early; ``kept`` bytes will be on disk once its
        last writes are done (:meth:`stopped` says how many were)."""
        upload = self._uploads.get(key)
        if upload is not None:
            upload.kept = kept
            upload.ending = upload.busy

    def stopped(self, key: PartialKey, kept: int) -> None:
        """The transfer writing ``key`` ended early with ``kept`` bytes on disk."""
        self._sinks.pop(key, None)
        upload = self._uploads.get(key)
        if upload is not None:
            upload.settle()
            upload.kept = kept
            upload.touched = self.wall_clock()

    async def commit(self, key: PartialKey) -> None:
        """The upload of ``key`` is whole and verified: make it the content of its sha256.

        Raises ``OSError`` if the disk refuses (the partial file is then kept).
        """
        await self.disk.commit(key)
        self._forget_upload(key)

    async def discard(self, key: PartialKey) -> None:
        """The upload of ``key`` is corrupt: delete its bytes."""
        self._forget_upload(key)
        await self.disk.discard(key)

    def _forget_upload(self, key: PartialKey) -> None:
        self._sinks.pop(key, None)
        upload = self._uploads.get(key)
        if upload is None:
            return
        upload.settle()
        upload.kept = 0
        if not upload.holds:
            del self._uploads[key]

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("deleting shared files failed: %s", task.exception())
