"""The admin console: a Unix stream socket for the person running the server.

``chat-admin`` speaks it, and so does ``socat - UNIX-CONNECT:PATH``: one
command per line, and each reply is lines of text ended by an empty line (one
JSON object per line after ``json on``); the commands are in
:mod:`.admin_commands`.

Who may connect is decided twice.  The socket file is created mode 0600 --
the umask is narrowed around ``bind``, so there is no moment when it is
more open -- and so only its owner (and root) may connect at all; then each
peer's uid, from ``SO_PEERCRED``, must be the server's or root's, else the
connection is closed at once, before a byte is read.  A stale socket file
(nobody answers on it) is replaced; a path holding anything else, or a socket
a live server answers on, is refused with :class:`AdminSocketError`.  The
file is removed at exit, if it is still ours.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import stat
import struct

from .admin_commands import Console, Session, run

log = logging.getLogger(__name__)

#: Longest command line in bytes; a longer one ends the connection.
MAX_LINE = 65536
#: The ``struct ucred`` of ``SO_PEERCRED``: pid, uid, gid.
UCRED = struct.Struct("3i")


class AdminSocketError(Exception):
    """The admin socket cannot be created; the message is one line for people."""


def bind(path: str) -> socket.socket:
    """A listening Unix socket at ``path``, mode 0600 from the start.

    Replaces a stale socket file; raises :class:`AdminSocketError` if ``path``
    holds anything else or a live server answers on it.
    """
    where = f"--admin-socket {path}"
    try:
        found = os.lstat(path)
    except FileNotFoundError:
        found = None
    except OSError as exc:
        raise AdminSocketError(f"{where}: {exc.strerror or exc}") from None
    if found is not None:
        if not stat.S_ISSOCK(found.st_mode):
            raise AdminSocketError(f"{where}: the path exists and is not a socket")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            try:
                probe.connect(path)
            except ConnectionRefusedError:
                os.unlink(path)  # stale: nobody listens on it any more
            except OSError as exc:
                raise AdminSocketError(f"{where}: {exc.strerror or exc}") from None
            else:
                raise AdminSocketError(f"{where}: a running server answers on it")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # The umask is the process's: for this instant, files made by any thread get
    # at most 0600, which is never less safe.
    previous = os.umask(0o177)
    try:
        sock.bind(path)
    except OSError as exc:
        sock.close()
        raise AdminSocketError(f"{where}: {exc.strerror or exc}") from None
    finally:
        os.umask(previous)
    sock.listen(16)
    sock.setblocking(False)
    return sock


def peer_uid(writer: asyncio.StreamWriter) -> int | None:
    """The uid of the process at the other end (``SO_PEERCRED``), or ``None``."""
    sock = writer.get_extra_info("socket")
    if sock is None:
        return None
    try:
        _, uid, _ = UCRED.unpack(sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, UCRED.size))
    except (OSError, struct.error):
        return None
    return int(uid)


class AdminDoor:
    """The console's listener and its connections; :meth:`start`, then :meth:`close`."""

    def __init__(self, console: Console, path: str) -> None:
        self.console = console
        self.path = path
        self.connections: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self._inode: int | None = None
        self._sock: socket.socket | None = None

    def bind(self) -> None:
        """Create the socket file (see :func:`bind`); raises :class:`AdminSocketError`."""
        self._sock = bind(self.path)
        self._inode = os.stat(self.path).st_ino

    async def start(self) -> None:
        """Accept connections on the socket made by :meth:`bind`."""
        assert self._sock is not None, "bind() first"
        self._server = await asyncio.start_unix_server(self._serve, sock=self._sock, limit=MAX_LINE)
        log.info("admin console on %s", self.path)

    async def close(self) -> None:
        """Stop listening, end every console connection, remove the socket file."""
        if self._server is not None:
            self._server.close()
        for writer in list(self.connections):
            writer.close()
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)
        elif self._sock is not None:
            self._sock.close()
        with contextlib.suppress(OSError):
            if self._inode is not None and os.stat(self.path).st_ino == self._inode:
                os.unlink(self.path)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        uid = peer_uid(writer)
        if uid is None or uid not in (os.getuid(), 0):
            log.warning("admin console: refused a connection from uid %s", uid)
            writer.transport.abort()
            return
        self.connections.add(writer)
        session = Session()
        try:
            while not reader.at_eof():
                try:
                    raw = await reader.readline()
                except (ValueError, asyncio.LimitOverrunError):
                    writer.write(b"error: line too long\n\n")
                    break
                if not raw:
                    break
                line = raw.decode("utf-8", "replace").strip()
                if not line:
                    continue
                reply = await run(self.console, session, line)
                writer.write("".join(f"{row}\n" for row in reply).encode() + b"\n")
                await writer.drain()
                if session.closing:
                    break
        except (ConnectionError, OSError):
            pass
        finally:
            self.connections.discard(writer)
            writer.close()
