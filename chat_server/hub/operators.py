"""Server-wide requests: ``oper``, ``kill``, ``notice`` (server operators), ``away``, ``whois``.

A connection becomes a server operator with ``oper`` and the server's
``--oper-password`` (compared in constant time; without the option ``oper``
always fails).  ``kill`` and ``notice`` from anyone else are ``not_op``.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from typing import Any

from protocol import (
    Away,
    Kill,
    Notice,
    Oper,
    Opered,
    SendNotice,
    Whois,
    WhoisReply,
    encode,
    fold,
)

from ..changes import AwaySet, KillOrdered, NoticeSent
from .context import Context
from .roster import Seat

log = logging.getLogger(__name__)

#: What ``whois`` says in ``via`` of a user connected to another node of a cluster.
ELSEWHERE = "remote"


def oper(ctx: Context, seat: Seat, request: Oper) -> None:
    password = ctx.settings.oper_password
    if password is None or not hmac.compare_digest(request.password.encode(), password.encode()):
        ctx.post.error(seat, "auth_failed", "wrong operator password", request)
        log.warning("%s (%s) failed to become a server operator", seat.nick, seat.address)
        return
    seat.oper = True
    ctx.post.reply(seat, Opered())
    log.info("%s (%s) is now a server operator", seat.nick, seat.address)


def kill(ctx: Context, seat: Seat, request: Kill) -> None:
    if not seat.oper:
        ctx.post.error(seat, "not_op", "only server operators kill", request)
        return
    by = seat.nick
    reason = f"killed by {by}: {request.reason}" if request.reason else f"killed by {by}"

    def order(nick: str | None) -> None:
        if nick is None:
            ctx.post.error(seat, "no_such_nick", f"nobody is called {request.nick}", request)
            return
        if ctx.posting.moderate(seat, request, KillOrdered(nick=nick, by=str(by), reason=reason)):
            why = f": {request.reason}" if request.reason else ""
            log.info("%s killed %s%s", by, nick, why)

    target = ctx.roster.seat(request.nick)
    if target is not None and target.welcomed:
        order(target.nick)
    else:
        ctx.posting.find(seat, request, request.nick, order)


def notice(ctx: Context, seat: Seat, request: SendNotice) -> None:
    if not seat.oper:
        ctx.post.error(seat, "not_op", "only server operators send notices", request)
        return
    assert seat.nick is not None
    told = Notice(from_=seat.nick, text=request.text, ts=ctx.wall_clock())
    if not ctx.fits(encode(told)):
        limit = ctx.settings.max_frame
        ctx.post.error(seat, "text_too_long", f"the notice would exceed {limit} bytes", request)
        return
    if ctx.posting.moderate(seat, request, NoticeSent(notice=told)):
        log.info("%s sent a notice to everyone: %s", seat.nick, request.text[:80])


def away(ctx: Context, seat: Seat, request: Away) -> None:
    assert seat.nick is not None
    ctx.posting.moderate(seat, request, AwaySet(nick=seat.nick, text=request.text or None))


def whois(ctx: Context, seat: Seat, request: Whois) -> None:
    key = fold(request.nick)
    target = ctx.roster.nicks.get(key)
    if target is not None and target.nick is not None and target.welcomed:
        rooms = list(target.rooms.values())
        reply = WhoisReply(
            nick=target.nick,
            rooms=[room.name for room in rooms],
            away=ctx.away.get(key),
            idle=round(max(0.0, ctx.wall_clock() - (target.active or target.since)), 3),
            since=target.since,
            via=target.via,
            op_in=[room.name for room in rooms if key in room.ops],
        )
        ctx.post.reply(seat, reply)
        return
    rooms = [room for room in ctx.roster.rooms.values() if key in room.remote]

    def elsewhere(nick: str | None) -> None:
        """Somebody on another node: what this node knows of them."""
        if nick is None:
            ctx.post.error(seat, "no_such_nick", f"nobody is called {request.nick}", request)
            return
        reply = WhoisReply(
            nick=nick,
            rooms=[room.name for room in rooms],
            away=ctx.away.get(key),
            idle=0.0,
            since=0.0,
            via=ELSEWHERE,
            op_in=[room.name for room in rooms if key in room.ops],
        )
        ctx.post.reply(seat, reply)

    if rooms:
        elsewhere(rooms[0].remote[key])
    else:
        ctx.posting.find(seat, request, request.nick, elsewhere)


#: The handler of each of these request types.
HANDLERS: dict[type[Any], Callable[[Context, Seat, Any], None]] = {
    Oper: oper,
    Kill: kill,
    SendNotice: notice,
    Away: away,
    Whois: whois,
}
