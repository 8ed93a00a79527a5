"""One upload's bytes on their way to the disk, written and hashed off the event loop.

A transfer connection hands each chunk it receives to :meth:`UploadSink.feed`;
the sink's own task takes whatever has piled up, writes it to the partial file
and feeds it to the ``sha256`` in one job of the files executor, and repeats.
So at most one job per upload runs at a time, the loop only appends to a
list, and no more than ``high`` bytes wait in memory: past that,
:meth:`feed` says to stop reading until ``on_resume`` is called.

On a plain TCP socket the connection can do better with :meth:`UploadSink.pull`:
the jobs themselves receive the bytes from (a duplicate of) the socket into one
reused buffer, write and hash them, so the event loop only waits for the
socket to be readable and never touches the bytes.  Under TLS the transport
must decrypt, so it feeds.

How the jobs run is injected (``run``): the server passes the bounded files
executor; ``bench/files.py`` also runs them inline on the loop to compare.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

#: Bytes waiting for the disk before the connection stops reading, and resumes.
HIGH_WATER = 4 * 1024 * 1024
LOW_WATER = 1024 * 1024
#: Bytes read at once when hashing what an interrupted upload kept, and the
#: buffer a pulling sink receives into.
READ_CHUNK = 1024 * 1024
#: Most bytes one pulling job receives before it lets another job run.
PULL_JOB = 8 * 1024 * 1024

Runner = Callable[[Callable[[], Any]], Awaitable[Any]]


async def run_inline(work: Callable[[], Any]) -> Any:
    """A :data:`Runner` that does the work on the event loop (for comparison only)."""
    return work()


class UploadSink:
    """Writes one upload to ``path`` from byte ``offset`` on; see the module docstring.

    Call :meth:`start`, then :meth:`feed` for each chunk, then :meth:`finish`
    (for the hex digest of the whole file) or :meth:`stop` (the connection
    ended early: what was written stays, for a resumed upload).  A disk error
    ends the sink: :attr:`error` holds it, ``on_error`` is called, and
    :meth:`finish` raises it.
    """

    def __init__(
        self,
        path: Path,
        offset: int,
        run: Runner,
        *,
        write: Callable[[int, memoryview], int] = os.write,
        high: int = HIGH_WATER,
        low: int = LOW_WATER,
    ) -> None:
        self.path = path
        self.offset = offset
        self.run = run
        self.write = write
        self.high = high
        self.low = low
        #: Bytes in the file so far: ``offset`` once opened, plus what was written.
        self.written = 0
        self.error: OSError | None = None
        self.on_resume: Callable[[], None] = lambda: None
        self.on_error: Callable[[OSError], None] = lambda exc: None
        #: Called after each batch reaches the disk (a sign of life).
        self.on_progress: Callable[[], None] = lambda: None
        self._hash = hashlib.sha256()
        self._fd = -1
        self._pending: list[bytes] = []
        self._waiting = 0
        #: Bytes handed to :meth:`feed`.
        self._fed = 0
        self._paused = False
        self._ending = False
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        #: Pulling: the socket descriptor, the bytes still to take, and the outcome.
        self._source = -1
        self._left = 0
        self._pulled: asyncio.Future[bool] | None = None
        self._readable: asyncio.Future[None] | None = None
        self._buffer: bytearray | None = None

    def start(self) -> None:
        """Open the file and hash what it kept, in the background."""
        self._task = asyncio.get_running_loop().create_task(self._pump(), name="upload-sink")

    def feed(self, data: bytes) -> bool:
        """Queue ``data``; returns ``True`` when the caller must stop reading for now."""
        if self._ending or self.error is not None:
            return False
        self._pending.append(data)
        self._waiting += len(data)
        self._fed += len(data)
        self._wake.set()
        if self._waiting > self.high:
            self._paused = True
        return self._paused

    def pull(self, source: int, count: int) -> asyncio.Future[bool]:
        """After what was fed, take ``count`` bytes straight from the non-blocking socket
        descriptor ``source`` (the caller keeps it open until the sink has ended).

        The future says ``True`` once they are all in the file, ``False`` if the
        peer stopped first, or the sink ended or failed.
        """
        self._source, self._left = source, count
        self._pulled = asyncio.get_running_loop().create_future()
        self._wake.set()
        return self._pulled

    @property
    def received(self) -> int:
        """Bytes the file will hold once what was fed is written: ``offset`` plus the fed."""
        return self.offset + self._fed

    async def finish(self) -> str:
        """Write what is queued, close the file and return the hex ``sha256`` of all of it.

        Raises the ``OSError`` that ended the sink, if one did.
        """
        await self._end()
        if self.error is not None:
            raise self.error
        return self._hash.hexdigest()

    async def stop(self) -> int:
        """The upload ended early: write what is queued, keep it, close; returns the bytes kept."""
        await self._end()
        return self.written

    async def _end(self) -> None:
        self._ending = True
        self._wake.set()
        if self._readable is not None and not self._readable.done():
            self._readable.set_result(None)
        if self._task is not None:
            try:
                await asyncio.shield(self._task)
            except asyncio.CancelledError:
                if not self._task.cancelled():
                    raise  # the caller was cancelled, not the sink

    async def _pump(self) -> None:
        try:
            await self.run(self._open)
            while True:
                # Every condition is read right before the wait, with no await in
                # between: whatever sets one of them during a job is not lost.
                if not self._pending:
                    if self._ending:
                        break
                    if self._left:
                        await self._pull_some()
                        continue
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                batch, self._pending = self._pending, []
                size = sum(len(chunk) for chunk in batch)
                self._waiting -= size
                if self._paused and self._waiting <= self.low:
                    self._paused = False
                    self.on_resume()
                await self.run(functools.partial(self._write, batch))
                self.on_progress()
        except OSError as exc:
            self.error = exc
            self._pending.clear()
            self.on_error(exc)
        finally:
            self._pulled_out(False)
            if self._fd >= 0:
                fd, self._fd = self._fd, -1
                with contextlib.suppress(OSError):
                    await self.run(functools.partial(os.close, fd))

    async def _pull_some(self) -> None:
        """One job of pulling, or a wait for the socket to be readable."""
        got = await self.run(functools.partial(self._receive, min(self._left, PULL_JOB)))
        if got < 0 and self._ending:  # ended during the job: nothing more to wait for
            self._pulled_out(False)
            return
        if got < 0:  # nothing there yet
            loop = asyncio.get_running_loop()
            self._readable = ready = loop.create_future()
            loop.add_reader(self._source, ready.set_result, None)
            try:
                await ready
            finally:
                loop.remove_reader(self._source)
            return
        if got == 0:  # the peer stopped
            self._pulled_out(False)
            return
        self._left -= got
        self._fed += got
        self.on_progress()
        if not self._left:
            self._pulled_out(True)

    def _pulled_out(self, whole: bool) -> None:
        self._left = 0
        if self._pulled is not None and not self._pulled.done():
            self._pulled.set_result(whole)

    # --- in the executor ---------------------------------------------------------

    def _receive(self, limit: int) -> int:
        """Receive up to ``limit`` bytes into the file: -1 if none were there, 0 at the end."""
        if self._buffer is None:
            self._buffer = bytearray(READ_CHUNK)
        view = memoryview(self._buffer)
        taken = 0
        while taken < limit:
            try:
                got = os.readv(self._source, [view[: min(len(view), limit - taken)]])
            except BlockingIOError:
                return taken or -1
            except (ConnectionError, TimeoutError):
                got = 0  # a reset ends the upload as a close does
            if not got:
                return taken
            self._write([view[:got]])
            taken += got
        return taken

    def _open(self) -> None:
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(self.path, flags, 0o600)
        try:
            kept = os.fstat(fd).st_size
            if kept < self.offset:
                raise OSError(
                    f"{self.path} holds {kept} bytes, fewer than the offset {self.offset}"
                )
            os.ftruncate(fd, self.offset)
            position = 0
            while position < self.offset:
                chunk = os.pread(fd, min(READ_CHUNK, self.offset - position), position)
                if not chunk:
                    raise OSError(f"{self.path} ended at {position} bytes while hashing it")
                self._hash.update(chunk)
                position += len(chunk)
            os.lseek(fd, self.offset, os.SEEK_SET)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self.written = self.offset

    def _write(self, batch: list[bytes] | list[memoryview]) -> None:
        fd = self._fd
        for chunk in batch:
            view = memoryview(chunk)
            while view:
                done = self.write(fd, view)
                self._hash.update(view[:done])
                self.written += done
                view = view[done:]
