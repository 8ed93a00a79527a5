"""``chat-admin [--socket PATH] COMMAND [ARGS]...``: one command to a running server's console.

Sends the command (its words joined by spaces) to the admin socket
(``--admin-socket`` of ``chat-server``) and prints the reply: exit 0, or 1
when the reply is an ``error:`` line (printed too).  With no COMMAND it sends
each line of standard input in turn and prints each reply; it exits 1 if any
was an error.  ``--socket`` defaults to ``CHAT_ADMIN_SOCKET``.  It cannot
reach the server: a line on standard error, exit 1; no socket given: exit 2.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
from collections.abc import Iterable, Sequence

#: Seconds to wait for a reply before giving up.
TIMEOUT = 30.0


class ConsoleClosed(Exception):
    """The server closed the console connection (for instance: not our uid)."""


class AdminConnection:
    """A blocking console connection: :meth:`ask` sends one line, returns the reply lines."""

    def __init__(self, path: str, timeout: float = TIMEOUT) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(path)
        except OSError:
            self.sock.close()
            raise
        self.file = self.sock.makefile("rb")

    def ask(self, command: str) -> list[str]:
        """The reply to ``command``, without its closing empty line; raises
        :class:`ConsoleClosed` or ``OSError``."""
        self.sock.sendall(command.encode() + b"\n")
        lines: list[str] = []
        while True:
            raw = self.file.readline()
            if not raw:
                raise ConsoleClosed("the server closed the console connection")
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if not line:
                return lines
            lines.append(line)

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def is_error(lines: list[str]) -> bool:
    """Whether a reply is a refusal (``error: ...``, or ``{"error": ...}`` after ``json on``)."""
    if len(lines) != 1:
        return False
    line = lines[0]
    if line.startswith("error:"):
        return True
    if line.startswith('{"error"'):
        try:
            return "error" in json.loads(line)
        except ValueError:
            return False
    return False


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chat-admin",
        description="Send a command to a running chat-server's admin socket (try: help).",
    )
    parser.add_argument(
        "--socket",
        default=os.environ.get("CHAT_ADMIN_SOCKET"),
        metavar="PATH",
        help="the server's --admin-socket [CHAT_ADMIN_SOCKET]",
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="COMMAND [ARGS]...")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``chat-admin``; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.socket:
        parser.error("no socket: give --socket PATH or set CHAT_ADMIN_SOCKET")
    try:
        connection = AdminConnection(args.socket)
    except OSError as exc:
        why = exc.strerror or exc
        print(f"chat-admin: cannot connect to {args.socket}: {why}", file=sys.stderr)
        return 1
    commands: Iterable[str] = [" ".join(args.command)] if args.command else sys.stdin
    failed = False
    try:
        for command in commands:
            if not command.strip():
                continue
            reply = connection.ask(command.strip())
            failed |= is_error(reply)
            if reply:
                print("\n".join(reply), flush=True)
    except (ConsoleClosed, OSError) as exc:
        print(f"chat-admin: {exc}", file=sys.stderr)
        return 1
    finally:
        connection.close()
    return 1 if failed else 0
