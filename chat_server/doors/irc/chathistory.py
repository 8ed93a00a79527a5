"""``CHATHISTORY`` (IRCv3 draft/chathistory) over a room's kept messages.

``CHATHISTORY LATEST|BEFORE|AFTER|AROUND #room REF LIMIT`` and
``CHATHISTORY BETWEEN #room REF REF LIMIT``; a reference is ``msgid=...``
(``EPOCH:ROOM:SEQ``, :mod:`.mapping`) or ``timestamp=...``, and ``LATEST``
also takes ``*``.  The page is :mod:`chat_server.hub.history`'s, asked
through :meth:`Queries.page <chat_server.hub.Queries.page>`, so ``BEFORE``
gives exactly what the native ``history`` request gives.  It goes out as a
``chathistory`` batch (plain lines to a client without ``batch``).

Decisions: a ``LIMIT`` above 100 (``CHATHISTORY=100``) is taken as 100; a
``msgid`` of another epoch names a message the history no longer has, so the
page is empty; one of another room is ``INVALID_PARAMS``.  Whispers are not
kept, so a nick's history is an empty batch.  ``TARGETS`` is not offered:
``FAIL CHATHISTORY INVALID_PARAMS``.  Like the native ``history``, any
existing room can be read.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from protocol import HISTORY_LIMIT_MAX, fold, is_valid_nick

from ...hub import Moment, Query, Seq
from ...hub.history import Point
from .asked import Asked
from .mapping import CHANNEL_PREFIX, MsgId, TimestampRef, parse_message_ref, room_name
from .numerics import INVALID_PARAMS, INVALID_TARGET, NEED_MORE_PARAMS, fail
from .wire import IrcMessage

if TYPE_CHECKING:
    from ...hub import Request
    from .connection import IrcConnection

#: Subcommand, and how many references it takes.
SUBCOMMANDS = {"LATEST": 1, "BEFORE": 1, "AFTER": 1, "AROUND": 1, "BETWEEN": 2}
COMMAND = "CHATHISTORY"


class Refused(Exception):
    """The command cannot be answered with a page: ``reply`` says why."""

    def __init__(self, reply: IrcMessage) -> None:
        super().__init__(reply.serialize().decode(errors="replace"))
        self.reply = reply


def command(conn: IrcConnection, message: IrcMessage) -> Iterable[tuple[Request, Asked]]:
    """Answer ``CHATHISTORY`` by itself: no request goes to the hub."""
    try:
        data = answer(conn, message.params)
    except Refused as exc:
        conn.emit(exc.reply)
    else:
        conn.emit_bytes(data)
    return ()


def answer(conn: IrcConnection, params: list[str]) -> bytes:
    """The batch answering ``params``; raises :class:`Refused` for a bad command."""
    from .replies import history_batch  # replies renders; this module only selects

    server = conn.server

    def refuse(code: str, *context: str, text: str) -> Refused:
        return Refused(fail(server, COMMAND, code, *context, description=text))

    if len(params) < 2:
        raise refuse(NEED_MORE_PARAMS, text="Not enough parameters")
    subcommand = params[0].upper()
    refs = SUBCOMMANDS.get(subcommand)
    if refs is None:
        raise refuse(INVALID_PARAMS, params[0], text="Unknown subcommand")
    if len(params) < refs + 3:
        raise refuse(NEED_MORE_PARAMS, subcommand, text="Not enough parameters")
    target = params[1]
    limit = _limit(params[2 + refs])
    if limit is None:
        raise refuse(INVALID_PARAMS, subcommand, params[2 + refs], text="Invalid limit")
    if not target.startswith(CHANNEL_PREFIX):
        if is_valid_nick(target):  # whispers are not kept
            return history_batch(conn, target, [])
        raise refuse(INVALID_TARGET, subcommand, target, text="No such target")
    room = room_name(target)
    if room is None:
        raise refuse(INVALID_TARGET, subcommand, target, text="No such channel")
    points: list[Point | None] = []
    for text in params[2 : 2 + refs]:
        if subcommand == "LATEST" and text == "*":
            points.append(None)
            continue
        point = _point(conn, room, text)
        if point is False:
            raise refuse(INVALID_PARAMS, subcommand, text, text="Invalid message reference")
        if point is True:  # a message of an earlier history: nothing is around it
            return history_batch(conn, target, [])
        points.append(point)
    query = Query(
        kind=subcommand.lower(),
        point=points[0],
        limit=limit,
        second=points[1] if refs == 2 else None,
    )
    page = conn.hub.queries.page(room, query)
    if page is None:
        raise refuse(INVALID_TARGET, subcommand, target, text="No such channel")
    return history_batch(conn, target, page.messages)


def _limit(text: str) -> int | None:
    if not text.isascii() or not text.isdigit() or len(text) > 9 or int(text) < 1:
        return None
    return min(int(text), HISTORY_LIMIT_MAX)


def _point(conn: IrcConnection, room: str, text: str) -> Point | bool:
    """The point a reference names; ``True`` for a message of another epoch,
    ``False`` for a reference that is not one (or names another room)."""
    ref = parse_message_ref(text)
    if isinstance(ref, TimestampRef):
        return Moment(ref.ts)
    if not isinstance(ref, MsgId) or ref.room != fold(room):
        return False
    if ref.epoch != conn.hub.queries.epoch:
        return True
    return Seq(ref.seq)
