"""Sending and fetching files, and how far each one has got.

:class:`Transfers` carries out ``/send PATH`` and ``/get ID [DEST]`` for the
interactive client and for batch mode: it asks the chat connection for a
ticket (``file_offer`` / ``file_get``, answered by id through
:meth:`Transfers.reply`), moves the bytes on a side connection
(:mod:`chat_client.sidelink`) and keeps a :class:`Progress` for each transfer
running, which the status area draws.

A received file is written next to its destination as a hidden ``.part``
file named by its sha256, so an interrupted download resumes from what it
holds; it gets its final name only once its sha256 matched, and it never
replaces an existing file: ``name.ext`` is taken, so ``name (1).ext``.
Names from the network pass :func:`protocol.safe_file_name`, the rule the
server applies.
"""

from __future__ import annotations

import asyncio
import errno
import itertools
import mimetypes
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ValidationError

from protocol import (
    DownloadTicket,
    Error,
    FileGet,
    FileInfo,
    FileOffer,
    ServerMessage,
    UploadTicket,
    format_size,
    safe_file_name,
)

from .link import Endpoint
from .sidelink import TransferError, hash_file, pull, push

__all__ = ["Progress", "TransferError", "Transfers", "default_destination", "final_path"]

T = TypeVar("T", UploadTicket, DownloadTicket)

#: Seconds to wait for a ticket before giving up.
TICKET_WAIT = 30.0
#: Cells of the progress bar.
BAR = 20


@dataclass
class Progress:
    """One transfer as the status area shows it: ``↑`` sending, ``↓`` fetching."""

    direction: Literal["send", "get"]
    name: str
    size: int
    done: int = 0
    #: What it is doing: hashing, waiting (for a ticket), moving, verifying.
    stage: str = "waiting"
    #: When and from which byte the bytes started moving, for the rate.
    since: float = field(default_factory=time.monotonic)
    base: int = 0

    def advance(self, done: int) -> None:
        """``done`` bytes are through so far."""
        self.done = done

    def moving(self, done: int, now: float) -> None:
        """The bytes start moving from ``done`` (a resumed transfer starts past 0)."""
        self.stage = "moving"
        self.done = self.base = done
        self.since = now

    def line(self, now: float) -> str:
        """``↑ name [#####-----]  45%  12.3 MiB/27.0 MiB  8.1 MiB/s  0:02 left``."""
        arrow = "↑" if self.direction == "send" else "↓"
        share = self.done / self.size if self.size else float(self.stage == "moving")
        filled = round(share * BAR)
        bar = "#" * filled + "-" * (BAR - filled)
        text = f"{arrow} {self.name} [{bar}] {share:4.0%}  "
        text += f"{format_size(self.done)}/{format_size(self.size)}"
        if self.stage != "moving":
            return f"{text}  {self.stage}"
        elapsed = now - self.since
        rate = (self.done - self.base) / elapsed if elapsed > 0 else 0.0
        left = f"{_clock(int((self.size - self.done) / rate))} left" if rate > 0 else "--:-- left"
        return f"{text}  {format_size(rate)}/s  {left}"


def _clock(seconds: int) -> str:
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02}:{seconds:02}" if hours else f"{minutes}:{seconds:02}"


def default_destination() -> Path:
    """``~/Downloads`` if it exists, else the current directory."""
    downloads = Path.home() / "Downloads"
    return downloads if downloads.is_dir() else Path.cwd()


def final_path(directory: Path, name: str) -> Path:
    """A path in ``directory`` for ``name`` that holds no file yet, made empty and ours:
    ``name.ext``, else ``name (1).ext``, ``name (2).ext``... (blocking)."""
    stem, dot, ext = name.rpartition(".") if "." in name.lstrip(".") else (name, "", "")
    for n in itertools.count():
        candidate = name if n == 0 else f"{stem} ({n}){dot}{ext}"
        path = directory / candidate
        try:
            with path.open("xb"):
                return path
        except FileExistsError:
            continue
        except OSError as exc:
            if exc.errno == errno.ENAMETOOLONG and len(stem) > 16:  # ENAMETOOLONG: shorten the stem
                stem = stem[: len(stem) // 2]
                continue
            raise
    raise AssertionError("unreachable")


class Transfers:
    """Every transfer of one client; see the module docstring.

    ``send`` sends one message on the chat connection (``False`` while
    offline); ``report(text, error)`` tells the user how a transfer ended.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        send: Callable[[BaseModel], bool],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.endpoint = endpoint
        self.send = send
        self.clock = clock
        self.active: list[Progress] = []
        self._waiting: dict[str, asyncio.Future[ServerMessage]] = {}
        self._ids = itertools.count(1)

    def reply(self, message: ServerMessage) -> bool:
        """Hand a ticket or an error to the transfer that asked; ``False`` if none did."""
        if not isinstance(message, UploadTicket | DownloadTicket | Error) or message.id is None:
            return False
        waiting = self._waiting.pop(message.id, None)
        if waiting is None:
            return False
        if not waiting.done():
            waiting.set_result(message)
        return True

    def lines(self) -> list[str]:
        """One line per transfer running, for the status area."""
        now = self.clock()
        return [progress.line(now) for progress in self.active]

    async def upload(
        self, path: Path, *, room: str | None = None, to: str | None = None
    ) -> FileInfo:
        """Share the file at ``path`` (``~`` expanded) in ``room`` or with ``to``.

        Raises :class:`TransferError`.
        """
        path = await asyncio.to_thread(path.expanduser)
        name = safe_file_name(path.name)
        if name is None:
            raise TransferError(f"{path} has no name a file can be shared under")
        try:
            file = await asyncio.to_thread(path.open, "rb")
        except OSError as exc:
            raise TransferError(f"cannot read {path}: {exc.strerror or exc}") from None
        size = os.fstat(file.fileno()).st_size
        progress = Progress("send", name, size, stage="hashing")
        self.active.append(progress)
        try:
            with file:
                digest = await asyncio.to_thread(hash_file, file, size, progress.advance)
            mime = mimetypes.guess_type(name)[0]
            try:
                offer = FileOffer(
                    room=room, to=to, name=name, size=size, sha256=digest.hexdigest(), mime=mime
                )
            except ValidationError as exc:
                raise TransferError(f"cannot share {name}: {exc.errors()[0]['msg']}") from None
            progress.stage, progress.done = "waiting", 0
            ticket = await self._ask(offer, UploadTicket)
            progress.moving(ticket.offset, self.clock())
            return await push(self.endpoint, ticket.token, path, size, progress.advance)
        finally:
            self.active.remove(progress)

    async def download(self, file_id: str, destination: Path | None = None) -> Path:
        """Fetch the file ``file_id`` into ``destination`` (a directory, or a file's path;
        :func:`default_destination` by default); returns where it was saved."""
        folder, wanted = await asyncio.to_thread(_where, destination)
        progress = Progress("get", file_id, 0)
        self.active.append(progress)
        try:
            ticket = await self._ask(FileGet(file=file_id), DownloadTicket)
            info = ticket.file
            name = wanted or safe_file_name(info.name) or f"file-{safe_file_name(info.id) or 'x'}"
            progress.name, progress.size = name, info.size
            part = folder / f".{info.sha256}.part"
            await pull(
                self.endpoint,
                ticket.token,
                part,
                info,
                progress.advance,
                lambda kept: progress.moving(kept, self.clock()),
            )
            progress.stage = "verifying"
            final = await asyncio.to_thread(final_path, folder, name)
            await asyncio.to_thread(os.replace, part, final)
            return final
        except OSError as exc:
            raise TransferError(f"cannot save into {folder}: {exc.strerror or exc}") from None
        finally:
            self.active.remove(progress)

    async def _ask(self, request: FileOffer | FileGet, kind: type[T]) -> T:
        request_id = f"file-{next(self._ids)}"
        request = request.model_copy(update={"id": request_id})
        answer: asyncio.Future[ServerMessage] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = answer
        try:
            if not self.send(request):
                raise TransferError("not connected: nothing was sent")
            try:
                async with asyncio.timeout(TICKET_WAIT):
                    message = await answer
            except TimeoutError:
                raise TransferError(f"no answer from the server in {TICKET_WAIT:g} s") from None
        finally:
            self._waiting.pop(request_id, None)
        if isinstance(message, Error):
            raise TransferError(f"{message.message} ({message.code})", message.code)
        if not isinstance(message, kind):
            raise TransferError(f"the server answered {message.type}")
        return message


def _where(destination: Path | None) -> tuple[Path, str | None]:
    """The directory to save in, and the name asked for (``None``: the file's own)."""
    if destination is None:
        return default_destination(), None
    destination = destination.expanduser()
    if destination.is_dir():
        return destination, None
    name = safe_file_name(destination.name)
    if not destination.parent.is_dir() or name is None:
        raise TransferError(f"{destination} is neither a directory nor a file in one")
    return destination.parent, name
