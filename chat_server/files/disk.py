"""The files directory (``--files-dir``): content by ``sha256``, and interrupted uploads.

Layout, every name made by the server from checked values, never from a
peer's file name::

    FILES_DIR/objects/ab/abcdef...     one file per content, named by its sha256
    FILES_DIR/partial/NICK.SHA.SIZE    the bytes kept of an upload not finished

Every method that touches the disk is a coroutine that runs the work in the
disk's own bounded thread pool, so the event loop never waits for the disk.
Directories are made ``0700``: the files are the server's, not every local
user's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

_PARTIAL_NAME = re.compile(r"([a-z0-9_-]{1,32})\.([0-9a-f]{64})\.(\d{1,16})")


@dataclass(frozen=True, slots=True)
class PartialKey:
    """Which upload a kept partial file belongs to: the same nick, content and size."""

    nick: str
    sha256: str
    size: int

    @property
    def name(self) -> str:
        return f"{self.nick}.{self.sha256}.{self.size}"


@dataclass(frozen=True, slots=True)
class Kept:
    """A partial file found on the disk: its bytes and when it was last written (wall clock)."""

    key: PartialKey
    size: int
    mtime: float


class Disk:
    """The files directory at ``root``; see the module docstring.

    ``root`` ``None`` makes a temporary directory, deleted by :meth:`close`.
    ``threads`` bounds the disk work running at once; they run ``nice`` steps
    below the event loop's priority, so a transfer takes the CPU the chat leaves.  Call :meth:`open`
    before anything else and :meth:`close` at the end.  Errors of the disk
    are raised as ``OSError`` from the coroutines that met them.
    """

    def __init__(self, root: Path | None, *, threads: int = 4, nice: int = 10) -> None:
        self.temporary = root is None
        self.root = root or Path(tempfile.gettempdir())
        self._closed = False
        self.executor = ThreadPoolExecutor(
            max_workers=threads,
            thread_name_prefix="hubbub-files",
            initializer=_yield_to_chat,
            initargs=(nice,),
        )

    @property
    def objects(self) -> Path:
        return self.root / "objects"

    @property
    def partial(self) -> Path:
        return self.root / "partial"

    async def run(self, work: Callable[[], T]) -> T:
        """Run ``work`` (blocking disk I/O) in the files executor."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, work)

    async def open(self) -> list[Kept]:
        """Make the directories if needed; returns the partial files kept from before."""
        return await self.run(self._open)

    def _open(self) -> list[Kept]:
        if self.temporary:
            self.root = Path(tempfile.mkdtemp(prefix="hubbub-files-"))
        for directory in (self.root, self.objects, self.partial):
            directory.mkdir(mode=0o700, exist_ok=True)  # the root's parent must exist
        kept: list[Kept] = []
        for entry in os.scandir(self.partial):
            match = _PARTIAL_NAME.fullmatch(entry.name)
            if match is None or not entry.is_file(follow_symlinks=False):
                log.warning("ignoring %s: not a partial upload of this server", entry.path)
                continue
            key = PartialKey(match.group(1), match.group(2), int(match.group(3)))
            stat = entry.stat(follow_symlinks=False)
            kept.append(Kept(key, stat.st_size, stat.st_mtime))
        return kept

    def write(self, fd: int, data: memoryview) -> int:
        """Write to a partial file (in the executor); ``os.write``, here to be replaced in tests."""
        return os.write(fd, data)

    def content_path(self, sha256: str) -> Path:
        return self.objects / sha256[:2] / sha256

    def partial_path(self, key: PartialKey) -> Path:
        return self.partial / key.name

    async def commit(self, key: PartialKey) -> None:
        """Make a verified partial file the content of its ``sha256`` (replacing any copy)."""
        source, target = self.partial_path(key), self.content_path(key.sha256)

        def move() -> None:
            target.parent.mkdir(mode=0o700, exist_ok=True)
            os.replace(source, target)

        await self.run(move)

    async def discard(self, key: PartialKey) -> None:
        """Delete a partial file (a missing one is fine)."""
        path = self.partial_path(key)
        await self.run(lambda: _unlink(path))

    async def delete_content(self, shas: list[str]) -> None:
        """Delete contents no file uses any more; a download still reading one keeps its copy
        until it ends (the kernel frees the bytes once the last descriptor closes)."""
        paths = [self.content_path(sha) for sha in shas]

        def delete() -> None:
            for path in paths:
                _unlink(path)

        await self.run(delete)

    async def open_content(self, sha256: str) -> BinaryIO | None:
        """The content ``sha256`` opened for reading, or ``None`` if it is not on the disk."""
        path = self.content_path(sha256)

        def opener() -> BinaryIO | None:
            try:
                return path.open("rb", buffering=0)
            except FileNotFoundError:
                return None

        return await self.run(opener)

    async def close(self) -> None:
        """Wait for the disk work under way, stop the threads; delete a temporary directory.

        Closing again does nothing.
        """
        if self._closed:
            return
        self._closed = True
        if self.temporary:
            root = self.root
            await self.run(lambda: shutil.rmtree(root, ignore_errors=True))
        await asyncio.get_running_loop().run_in_executor(None, self.executor.shutdown)


def _yield_to_chat(nice: int) -> None:
    """Run this files thread ``nice`` steps lower (Linux sets a thread's own priority)."""
    if nice:
        with contextlib.suppress(AttributeError, OSError):
            here = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), min(19, here + nice))


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
