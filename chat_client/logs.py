"""Chat logs, as irssi's autolog keeps them.

Every room and private window is appended to a plain text file::

    $XDG_DATA_HOME/hubbub/logs/SERVER/ROOM.log            (~/.local/share/... by default)
    $XDG_DATA_HOME/hubbub/logs/SERVER/private/NICK.log

one line per text line, each with its date and time::

    --- Log opened Sun 29 Nov 2026 17:04:05
    2026-11-29 17:04:05 -!- you joined general
    2026-11-29 17:04:09 <bob> morning all
    --- Log closed Sun 29 Nov 2026 23:10:00

The text is the window's, already sanitised.  SERVER, ROOM and NICK become
single path components (:func:`path_component`: no separator, no leading
dot, never ``.`` or ``..``), so no name from the network or the command line
reaches outside the logs directory.  Rooms and nicks are folded (``General``
and ``general`` share a file); a room cannot be called ``private`` and
collide with the directory, since room files end in ``.log``.  Directories
are made ``0700`` and files ``0600``: a log is nobody else's business.

The event loop never waits for the disk: :meth:`ChatLog.add` only queues a
line, and :meth:`ChatLog.run` writes the queue once a second in a worker
thread (one write at a time).  If the disk stalls, at most :data:`BACKLOG`
lines wait; later ones are counted and the count is written when the disk
is back.  Call :meth:`ChatLog.close` at the end to write what is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from pathlib import Path

from protocol import fold, safe_file_name

from .view import Line
from .windows import Window

__all__ = ["BACKLOG", "ChatLog", "logs_dir", "path_component"]

logger = logging.getLogger(__name__)

#: Lines waiting for the disk, at most; later ones are dropped (and counted).
BACKLOG = 20_000
#: Seconds between writes.
INTERVAL = 1.0
_STAMP = "%a %d %b %Y %H:%M:%S"


def logs_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """``$XDG_DATA_HOME/hubbub/logs``, or ``~/.local/share/hubbub/logs``."""
    data = environ.get("XDG_DATA_HOME") or ""
    base = Path(data) if os.path.isabs(data) else Path.home() / ".local" / "share"
    return base / "hubbub" / "logs"


def path_component(name: str) -> str:
    """``name`` as one safe file name: separators and controls gone, no leading dot."""
    flat = name.replace("/", "_").replace("\\", "_")[:100]
    safe = safe_file_name(flat) or "_" * max(1, min(len(flat), 2))
    return "_" + safe[1:] if safe.startswith(".") else safe


class ChatLog:
    """The logs of one server's windows under ``root``.

    ``server`` names the server's directory (``host:port``); ``clock`` gives
    the time of the opening and closing lines.
    """

    def __init__(self, root: Path, server: str, *, clock: Callable[[], float] = time.time) -> None:
        self.root = root
        self.directory = root / path_component(server)
        self.clock = clock
        self._waiting: dict[Path, list[str]] = defaultdict(list)
        self._count = 0
        self._dropped = 0
        self._opened: set[Path] = set()
        self._writing: asyncio.Future[None] | None = None

    def path(self, window: Window) -> Path | None:
        """Where ``window``'s lines go; ``None`` for the status window."""
        if window.kind == "room":
            return self.directory / f"{path_component(fold(window.name))}.log"
        if window.kind == "query":
            return self.directory / "private" / f"{path_component(fold(window.name))}.log"
        return None

    def add(self, window: Window, line: Line) -> None:
        """Queue ``line`` of ``window`` for its log file (never blocks)."""
        path = self.path(window)
        if path is None:
            return
        if self._count >= BACKLOG:
            self._dropped += 1
            return
        if path not in self._opened:
            self._opened.add(path)
            self._waiting[path].append(f"--- Log opened {self._stamp(self.clock())}")
        stamp = _line_stamp(line.ts)
        for text in line.plain():
            self._waiting[path].append(f"{stamp} {text}")
            self._count += 1

    async def run(self, interval: float = INTERVAL) -> None:
        """Write what is queued every ``interval`` seconds, off the event loop, until cancelled."""
        while True:
            await asyncio.sleep(interval)
            await self._write_off_loop()

    async def close(self) -> None:
        """Write what is left, and a closing line in each file written to."""
        stamp = f"--- Log closed {self._stamp(self.clock())}"
        for path in self._opened:
            self._waiting[path].append(stamp)
        self._opened.clear()
        await self._write_off_loop()

    async def _write_off_loop(self) -> None:
        if self._writing is not None:  # one write at a time
            with contextlib.suppress(Exception):
                await asyncio.shield(self._writing)
        batch = self._take()
        if not batch:
            return
        self._writing = asyncio.ensure_future(asyncio.to_thread(self.write, batch))
        try:
            await asyncio.shield(self._writing)
        except OSError as exc:
            logger.warning("cannot write the chat log: %s", exc)
        finally:
            self._writing = None

    def _take(self) -> dict[Path, list[str]]:
        batch = dict(self._waiting)
        self._waiting.clear()
        self._count = 0
        if self._dropped and batch:
            note = f"--- {self._dropped} line(s) not logged: the disk was too slow"
            for lines in batch.values():
                lines.append(note)
            self._dropped = 0
        return batch

    def write(self, batch: Mapping[Path, list[str]]) -> None:
        """Append ``batch`` to its files now (blocking: call it off the event loop).

        Raises OSError if a file cannot be written.
        """
        for path, lines in batch.items():
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with open(fd, "a", encoding="utf-8", errors="backslashreplace") as file:
                file.write("".join(line + "\n" for line in lines))

    @staticmethod
    def _stamp(ts: float) -> str:
        return time.strftime(_STAMP, time.localtime(ts))


def _line_stamp(ts: float) -> str:
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))
    except (OverflowError, OSError, ValueError):
        return "????-??-?? ??:??:??"
