"""``chat-client [HOST[:PORT]] [--nick NICK] [--room ROOM]... [--password P] [--tls]``.

Interactive when standard input is a terminal, batch mode otherwise (or with
``--batch``); see ``batch.py``.  Every option also comes from a ``CHAT_*``
variable or the settings file (:mod:`chat_client.settings`).  Exit status: 0
after ``/quit`` or the end of batch input, 1 when the server cannot be reached
or refuses us (or, in batch mode, when a line could not be sent), 2 for bad
arguments (argparse's convention).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import io
import logging
import re
import ssl
import sys
from collections.abc import Sequence

from protocol import is_valid_nick, is_valid_room

from . import discovery_cli, settings
from .batch import BatchClient, read_lines
from .commands import BELL_MODES
from .ignore import ignored_in
from .link import ConnectFailed, Endpoint, Refused, alternative_nick
from .logs import ChatLog, logs_dir
from .reconnect import Connection
from .sanitize import sanitize
from .windows import DEFAULT_SCROLLBACK

__all__ = ["main", "parse_address"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7878


def parse_address(text: str | None) -> tuple[str, int]:
    """``HOST``, ``HOST:PORT``, ``[V6]:PORT`` or ``:PORT``; raises ValueError."""
    if not text:
        return DEFAULT_HOST, DEFAULT_PORT
    match = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?", text)
    if match:
        host, port = match.group(1), match.group(2)
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, None
    number = int(port) if port is not None and port.isdigit() else DEFAULT_PORT
    if port is not None and (not port.isdigit() or not 1 <= number <= 65535):
        raise ValueError(f"bad port {port!r} (1-65535)")
    return host or DEFAULT_HOST, number


def login_nick() -> str:
    """The login name made into a valid nick, to suggest when none is given."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = ""
    nick = re.sub(r"[^A-Za-z0-9_-]", "_", name).lstrip("-")[:32]
    return nick if is_valid_nick(nick) else "guest"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chat-client", description="Terminal client for a hubbub chat server."
    )
    parser.add_argument(
        "address",
        nargs="?",
        metavar="HOST[:PORT]",
        help="server address (default: look for one on the LAN, else "
        f"{DEFAULT_HOST}:{DEFAULT_PORT})",
    )
    parser.add_argument("--nick", help="your nick (asked for when missing)")
    parser.add_argument(
        "--room",
        action="append",
        dest="rooms",
        default=[],
        metavar="ROOM",
        help="join ROOM (repeatable); batch input goes to the first [CHAT_ROOMS: a,b]",
    )
    parser.add_argument(
        "--password",
        help="the server's password, if it has one (better: CHAT_PASSWORD or the settings file)",
    )
    parser.add_argument("--tls", action="store_true", help="connect with TLS")
    parser.add_argument(
        "--tls-ca", metavar="FILE", help="trust this CA (or self-signed) certificate"
    )
    parser.add_argument(
        "--tls-insecure", action="store_true", help="do not verify the server's certificate"
    )
    parser.add_argument(
        "--batch", action="store_true", help="batch mode even when standard input is a terminal"
    )
    parser.add_argument(
        "--scrollback",
        type=int,
        default=DEFAULT_SCROLLBACK,
        metavar="LINES",
        help=f"lines kept per window (default {DEFAULT_SCROLLBACK})",
    )
    parser.add_argument(
        "--bell",
        choices=BELL_MODES,
        default="mentions",
        help="when to ring the terminal bell (default mentions)",
    )
    parser.add_argument(
        "--no-logs", action="store_true", help="keep no chat logs (see the logs directory below)"
    )
    parser.add_argument("--log-file", metavar="FILE", help="write a debug log here")
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="settings file (default $XDG_CONFIG_HOME/hubbub/client.toml) [CHAT_CONFIG]",
    )
    discovery_cli.add_arguments(parser)
    parser.epilog = (
        "Every option also comes from CHAT_<OPTION> (CHAT_NICK, CHAT_PASSWORD, CHAT_ROOMS=a,b, "
        'CHAT_SERVER=host:port) or the settings file (nick = "alice", rooms = ["general"]); '
        "a flag beats the environment, which beats the file. Chat logs go to "
        "$XDG_DATA_HOME/hubbub/logs/SERVER/ROOM.log."
    )
    return parser


def _tls(args: argparse.Namespace) -> ssl.SSLContext | None:
    if not (args.tls or args.tls_ca or args.tls_insecure):
        return None
    context = ssl.create_default_context(cafile=args.tls_ca)
    if args.tls_insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def main(argv: Sequence[str] | None = None) -> int:
    """Run the client; returns the exit status."""
    parser = _parser()
    loaded = settings.load(parser, argv)
    args = loaded.args
    discovery_cli.check(parser, args)
    try:
        host, port = parse_address(args.address)
    except ValueError as exc:
        parser.error(str(exc))
    if args.nick is not None and not is_valid_nick(args.nick):
        parser.error(f"--nick {args.nick!r}: 1-32 of A-Z a-z 0-9 _ -, not starting with -")
    rooms = [room.removeprefix("#") for room in args.rooms]
    for room in rooms:
        if not is_valid_room(room):
            parser.error(f"--room {room!r}: 1-64 of A-Z a-z 0-9 _ - .")
    if args.scrollback < 1:
        parser.error("--scrollback must be at least 1")
    batch = (args.batch or not sys.stdin.isatty()) and not args.discover
    if batch and args.nick is None:
        parser.error("batch mode (standard input is not a terminal) needs --nick")
    try:
        tls = _tls(args)
    except (OSError, ssl.SSLError) as exc:
        parser.error(f"--tls-ca: {exc}")
    if args.log_file:
        logging.basicConfig(
            filename=args.log_file,
            level=logging.DEBUG,
            format="%(asctime)s %(name)s %(levelname)s %(message)s",
        )
    else:
        logging.getLogger().addHandler(logging.NullHandler())
    endpoint = Endpoint(host, port, tls)
    try:
        if args.discover:
            return asyncio.run(
                discovery_cli.run(
                    args.discover_timeout, args.discover_interface, sys.stdout, sys.stderr
                )
            )
        if batch:
            return asyncio.run(_batch(endpoint, args.nick, rooms, args.password))
        return asyncio.run(_interactive(endpoint, args, rooms, loaded))
    except KeyboardInterrupt:
        return 130
    except EOFError:  # Ctrl-D at the nick prompt
        return 1


def _complain(text: str) -> None:
    """Say why on standard error, in one line; ``text`` may hold a server's words."""
    print(f"chat-client: {sanitize(text)}", file=sys.stderr)


async def _batch(endpoint: Endpoint, nick: str, rooms: list[str], password: str | None) -> int:
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    client = BatchClient(
        endpoint, nick, rooms=rooms, password=password, out=sys.stdout, err=sys.stderr
    )
    return await client.run(read_lines(sys.stdin.buffer))


async def _ask(question: str, default: str) -> str:
    from prompt_toolkit import PromptSession

    session: PromptSession[str] = PromptSession()
    while True:
        answer = (await session.prompt_async(question, default=default)).strip()
        if is_valid_nick(answer):
            return answer
        print("a nick is 1-32 of A-Z a-z 0-9 _ -, not starting with -")


#: Times a password typed at the prompt may be wrong before the client gives up.
PASSWORD_TRIES = 3


async def _interactive(
    endpoint: Endpoint, args: argparse.Namespace, rooms: list[str], loaded: settings.Settings
) -> int:
    from .app import ChatClient
    from .locate import Declined, ask_password, locate, prompt_password

    password = args.password
    if args.address is None:  # look for a server on the LAN
        try:
            located = await locate(
                endpoint,
                seconds=args.discover_timeout,
                interface=args.discover_interface,
                tls=endpoint.tls,
                password=password,  # --password, CHAT_PASSWORD or the settings file
                ask_password=ask_password,
                stream=sys.stdout,
            )
        except Declined as exc:
            _complain(str(exc))
            return 1
        endpoint, password = located.endpoint, located.password
    nick = args.nick or await _ask("nick: ", login_nick())
    connection = Connection(endpoint, nick, password=password)
    asked = 0
    while True:
        try:
            welcome = await connection.connect()
            break
        except ConnectFailed as exc:
            _complain(str(exc))
            return 1
        except Refused as exc:
            if exc.code == "auth_failed":
                if password is not None or asked >= PASSWORD_TRIES:
                    _complain(f"{endpoint}: wrong password")
                    return 1
                if asked:
                    print("wrong password")
                asked += 1
                connection.password = await prompt_password(f"password for {endpoint}: ")
                continue
            if exc.code not in ("nick_taken", "nick_invalid"):
                _complain(f"{endpoint} refused us: {exc}")
                return 1
            print(sanitize(str(exc)))
            connection.nick = await _ask("nick: ", alternative_nick(connection.nick))
    logs = None if args.no_logs else ChatLog(logs_dir(), str(endpoint))
    client = ChatClient(
        connection,
        rooms=rooms,
        scrollback=args.scrollback,
        bell=args.bell,
        logs=logs,
        ignored=ignored_in(loaded.file),
        ignore_file=loaded.path,
    )
    return await client.run(welcome)
