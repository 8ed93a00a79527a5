"""The admin console's commands: one line in, reply lines out.

Each command gives a :class:`Reply`: lines of text, and the same as JSON
objects (one per line); the session's ``json on`` picks which is sent.  A refusal is one
``error: TEXT`` line (``{"error": "TEXT"}``).  Actions on people (``kill``,
``kick``, ``ban``...) are the protocol's own requests, made by the hub as the
server operator ``*admin*`` (:meth:`~chat_server.hub.Hub.act`), so they are
checked, carried out, told and logged exactly as an operator's would be.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError

from protocol import (
    Ban,
    BanList,
    Bans,
    ClientMessage,
    Error,
    Kick,
    Kill,
    Op,
    SendNotice,
    Unban,
    fold,
)

from ..config import Config
from ..hub import Hub

log = logging.getLogger(__name__)

#: One row of a listing: the text line, and the same as a JSON object.
Row = tuple[str, dict[str, Any]]


@dataclass
class Reply:
    """What a command answers, as text lines and as JSON objects."""

    lines: list[str]
    objects: list[dict[str, Any]]

    @classmethod
    def rows(cls, rows: list[Row]) -> Reply:
        """A listing: each row is one line, or one object."""
        return cls([text for text, _ in rows], [obj for _, obj in rows])


class Console(Protocol):
    """What the console needs of the running server."""

    @property
    def hub(self) -> Hub: ...

    @property
    def config(self) -> Config: ...

    def reload(self) -> str:
        """Apply the settings again (as SIGHUP); one line says what happened.

        Raises :class:`~chat_server.config.ConfigError` if nothing changed.
        """

    def set_motd(self, motd: str | None) -> None:
        """Replace the message of the day (until the next reload)."""

    def request_shutdown(self) -> None:
        """Shut the server down soon, as SIGTERM does."""

    def connections(self) -> dict[str, int]:
        """Open connections by door (``native``, ``admin``...)."""


class AdminError(Exception):
    """A refused command: the message is the text after ``error:``."""


@dataclass
class Session:
    """One console connection's state."""

    json: bool = False
    #: Set by ``shutdown``: the reply is the last thing sent.
    closing: bool = False


Handler = Callable[[Console, Session, list[str]], Awaitable[Reply]]


async def run(console: Console, session: Session, line: str) -> list[str]:
    """The reply lines (without the closing empty line) to one command ``line``."""
    name, *args = line.split()
    command = COMMANDS.get(name.lower())
    try:
        if command is None:
            raise AdminError(f"unknown command {name!r} (try help)")
        reply = await command.handler(console, session, args)
    except AdminError as exc:
        text = str(exc)
        if session.json:
            return [json.dumps({"error": text}, separators=(",", ":"))]
        return [one_line(f"error: {text}")]
    if session.json:
        return [json.dumps(obj, separators=(",", ":")) for obj in reply.objects]
    return [one_line(line) for line in reply.lines]


def one_line(text: str) -> str:
    """``text`` safe for a line of the console and a terminal: every character that is not
    printable (newlines, escapes, bidi controls...) written as ``\\uXXXX``."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text)


def _done(text: str) -> Reply:
    return Reply([text], [{"ok": text}])


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _request(build: Callable[[], ClientMessage]) -> ClientMessage:
    """``build()``, or :class:`AdminError` saying which argument is wrong."""
    try:
        return build()
    except ValidationError as exc:
        error = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in error["loc"]) or "argument"
        raise AdminError(f"bad {where}: {error['msg']}") from None


async def _act(console: Console, request: ClientMessage) -> list[BaseModel]:
    """What the hub answered ``request`` made by ``*admin*``; an ``error`` is raised."""
    replies = await console.hub.act(request)
    for reply in replies:
        if isinstance(reply, Error):
            raise AdminError(f"{reply.message} ({reply.code})")
    return replies


def _need(args: list[str], count: int, usage: str) -> None:
    if len(args) < count:
        raise AdminError(f"usage: {usage}")


# --- the commands ----------------------------------------------------------------


async def _help(console: Console, session: Session, args: list[str]) -> Reply:
    return Reply.rows(
        [
            (f"{c.usage:<44} {c.summary}", {"usage": c.usage, "help": c.summary})
            for c in COMMANDS.values()
        ]
    )


async def _stats(console: Console, session: Session, args: list[str]) -> Reply:
    hub = console.hub
    stats = hub.stats
    uptime = round(hub.ctx.clock() - stats.started, 3)
    doors = console.connections()
    report: dict[str, Any] = {
        "uptime": uptime,
        "epoch": hub.epoch,
        "connections": doors,
        "rooms": len(hub.rooms),
        "messages_in": stats.received,
        "messages_out": hub.ctx.post.sent,
        "drops": dict(stats.drops),
        "store": hub.store.health(),
    }
    each = " ".join(f"{door}={count}" for door, count in doors.items())
    drops = " ".join(f"{reason}={count}" for reason, count in stats.drops.items())
    lines = [
        f"uptime: {uptime:g} s",
        f"epoch: {hub.epoch}",
        f"connections: {each}",
        f"rooms: {len(hub.rooms)}",
        f"messages in: {stats.received}",
        f"messages out: {hub.ctx.post.sent}",
        f"drops: {drops}",
        f"store: {report['store']}",
    ]
    return Reply(lines, [report])


async def _clients(console: Console, session: Session, args: list[str]) -> Reply:
    hub = console.hub
    now = hub.ctx.wall_clock()
    room = hub.ctx.roster.room(args[0]) if args else None
    if args and room is None:
        raise AdminError(f"there is no room {args[0]}")
    rows: list[Row] = []
    for seat in hub.seats:
        if room is not None and seat not in room.members:
            continue
        nick = seat.nick if seat.welcomed else None
        rooms = [r.name for r in seat.rooms.values()]
        away = hub.ctx.away.get(fold(nick)) if nick else None
        obj = {
            "nick": nick,
            "address": seat.address,
            "via": seat.via,
            "since": seat.since,
            "idle": round(now - (seat.active or seat.since), 3),
            "rooms": rooms,
            "oper": seat.oper,
            "away": away,
        }
        text = (
            f"{nick or '(not welcomed)'} {seat.address} via={seat.via} since={_when(seat.since)} "
            f"idle={obj['idle']:g}s rooms={','.join(rooms) or '-'}"
            + (" oper" if seat.oper else "")
            + (" away" if away else "")
        )
        rows.append((text, obj))
    if room is not None:
        for nick in room.remote.values():
            rows.append((f"{nick} (on another node)", {"nick": nick, "via": "remote"}))
    return Reply.rows(rows)


async def _rooms(console: Console, session: Session, args: list[str]) -> Reply:
    rows: list[Row] = []
    for room in console.hub.rooms.values():
        modes = room.modes.model_dump()
        obj = {"name": room.name, "members": room.size(), "topic": room.topic, "modes": modes}
        on = [name for name, value in modes.items() if value not in (False, None)]
        text = f"{room.name} members={room.size()} modes={','.join(on) or '-'}"
        rows.append((text + (f" topic={room.topic}" if room.topic else ""), obj))
    return Reply.rows(rows)


async def _kill(console: Console, session: Session, args: list[str]) -> Reply:
    _need(args, 1, "kill NICK [REASON]")
    reason = " ".join(args[1:]) or None
    await _act(console, _request(lambda: Kill(nick=args[0], reason=reason)))
    return _done(f"killed {args[0]}")


async def _kick(console: Console, session: Session, args: list[str]) -> Reply:
    _need(args, 2, "kick ROOM NICK [REASON]")
    reason = " ".join(args[2:]) or None
    await _act(console, _request(lambda: Kick(room=args[0], nick=args[1], reason=reason)))
    return _done(f"kicked {args[1]} from {args[0]}")


def _target(text: str) -> dict[str, str]:
    """An ADDRESS holds ``.`` or ``:``; anything else is a NICK."""
    return {"address": text} if "." in text or ":" in text else {"nick": text}


async def _ban(console: Console, session: Session, args: list[str]) -> Reply:
    _need(args, 2, "ban ROOM NICK|ADDRESS [DURATION] [REASON]")
    room, target, rest = args[0], _target(args[1]), args[2:]
    duration: float | None = None
    if rest:
        try:
            duration = float(rest[0])
        except ValueError:
            pass
        else:
            rest = rest[1:]
    reason = " ".join(rest) or None
    await _act(
        console,
        _request(lambda: Ban(room=room, duration=duration, reason=reason, **target)),  # type: ignore[arg-type]
    )
    span = "" if duration is None else f" for {duration:g} s"
    return _done(f"banned {args[1]} from {room}{span}")


async def _unban(console: Console, session: Session, args: list[str]) -> Reply:
    _need(args, 2, "unban ROOM NICK|ADDRESS")
    target = _target(args[1])
    await _act(console, _request(lambda: Unban(room=args[0], **target)))  # type: ignore[arg-type]
    return _done(f"unbanned {args[1]} from {args[0]}")


async def _bans(console: Console, session: Session, args: list[str]) -> Reply:
    _need(args, 1, "bans ROOM")
    rows: list[Row] = []
    for reply in await _act(console, _request(lambda: Bans(room=args[0]))):
        if not isinstance(reply, BanList):
            continue
        for ban in reply.bans:
            until = "never" if ban.until is None else _when(ban.until)
            text = f"{ban.nick or ban.address} by={ban.by} until={until}"
            rows.append((text + (f" reason={ban.reason}" if ban.reason else ""), ban.model_dump()))
    return Reply.rows(rows)


async def _op(console: Console, session: Session, args: list[str]) -> Reply:
    _need(args, 2, "op ROOM NICK")
    await _act(console, _request(lambda: Op(room=args[0], nick=args[1])))
    return _done(f"{args[1]} is an op in {args[0]}")


async def _notice(console: Console, session: Session, args: list[str]) -> Reply:
    _need(args, 1, "notice TEXT")
    await _act(console, _request(lambda: SendNotice(text=" ".join(args))))
    return _done("notice sent")


async def _motd(console: Console, session: Session, args: list[str]) -> Reply:
    if args:
        console.set_motd(" ".join(args))
    motd = console.config.motd
    return Reply([f"motd: {motd}" if motd else "no motd"], [{"motd": motd}])


async def _reload(console: Console, session: Session, args: list[str]) -> Reply:
    try:
        return _done(console.reload())
    except ValueError as exc:  # ConfigError
        raise AdminError(str(exc)) from None


async def _loglevel(console: Console, session: Session, args: list[str]) -> Reply:
    levels = ("debug", "info", "warning", "error")
    if len(args) != 1 or args[0].lower() not in levels:
        raise AdminError(f"usage: loglevel {'|'.join(levels)}")
    logging.getLogger().setLevel(args[0].upper())
    log.warning("log level set to %s from the admin console", args[0].lower())
    return _done(f"log level {args[0].lower()}")


async def _json(console: Console, session: Session, args: list[str]) -> Reply:
    if len(args) != 1 or args[0].lower() not in ("on", "off"):
        raise AdminError("usage: json on|off")
    session.json = args[0].lower() == "on"
    return Reply([f"json {args[0].lower()}"], [{"json": session.json}])


async def _shutdown(console: Console, session: Session, args: list[str]) -> Reply:
    session.closing = True
    console.request_shutdown()
    return _done("shutting down")


@dataclass(frozen=True)
class Command:
    usage: str
    summary: str
    handler: Handler


COMMANDS: dict[str, Command] = {
    "help": Command("help", "this list", _help),
    "stats": Command("stats", "uptime, epoch, connections, rooms, messages, drops, store", _stats),
    "clients": Command("clients [ROOM]", "every connection, or the members of ROOM", _clients),
    "rooms": Command("rooms", "every room with its members, modes and topic", _rooms),
    "kill": Command("kill NICK [REASON]", "disconnect NICK (bye killed)", _kill),
    "kick": Command("kick ROOM NICK [REASON]", "put NICK out of ROOM", _kick),
    "ban": Command(
        "ban ROOM NICK|ADDRESS [DURATION] [REASON]", "ban from ROOM (seconds; CIDR ok)", _ban
    ),
    "unban": Command("unban ROOM NICK|ADDRESS", "lift a ban", _unban),
    "bans": Command("bans ROOM", "the bans of ROOM", _bans),
    "op": Command("op ROOM NICK", "make NICK an op of ROOM", _op),
    "notice": Command("notice TEXT", "a notice to every connection", _notice),
    "motd": Command("motd [TEXT]", "show or replace the message of the day", _motd),
    "reload": Command("reload", "as SIGHUP: certificate, motd, passwords, limits", _reload),
    "loglevel": Command("loglevel LEVEL", "debug, info, warning or error", _loglevel),
    "json": Command("json on|off", "one JSON object per reply line", _json),
    "shutdown": Command("shutdown", "stop the server, as SIGTERM does", _shutdown),
}
