"""Room operators' requests: op, voice, kick, ban, mute, mode, invite (docs/protocol.md).

Each handler checks, in order: the room (``not_in_room``: you are not in it,
unless you are a server operator and it exists), your rights (``not_op``),
then the target (``no_such_nick`` if nobody holds the nick, ``not_in_room``
if they are not in the room).  What is allowed becomes a change of
:mod:`chat_server.changes`, carried out by :mod:`.enforce` on every node
through ``ctx.posting.moderate``, and logged at ``info`` in one line.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Literal

from protocol import (
    Ban,
    BanEntry,
    BanList,
    Bans,
    Deop,
    Devoice,
    Invite,
    Kick,
    Mute,
    Op,
    RoomModeChanged,
    SetMode,
    Unban,
    Unmute,
    Voice,
    fold,
)

from ..changes import BanLifted, BanSet, InviteMade, ModesSet, MuteSet, RankSet, Removed
from .context import Context
from .fitting import fit_list
from .gate import is_op, member_spelling
from .roster import Room, Seat

log = logging.getLogger(__name__)

#: Seconds an invitation lets its nick join once.
INVITE_TTL = 600.0

Target = Op | Deop | Voice | Devoice | Kick | Mute | Unmute | Invite
#: How the log says each rank change.
_DONE = {"op": "opped", "deop": "deopped", "voice": "voiced", "devoice": "devoiced"}


def acting_room(ctx: Context, seat: Seat, request: Any) -> Room | None:
    """The room ``request`` names, if ``seat`` is in it (or is a server operator and it
    exists); otherwise answers ``not_in_room`` and returns ``None``."""
    room = seat.rooms.get(fold(request.room))
    if room is None and seat.oper:
        room = ctx.roster.room(request.room)
    if room is None:
        text = f"there is no room {request.room}" if seat.oper else f"you are not in {request.room}"
        ctx.post.error(seat, "not_in_room", text, request)
    return room


def op_room(ctx: Context, seat: Seat, request: Any) -> Room | None:
    """:func:`acting_room`, and ``seat`` must be an op there (else ``not_op``)."""
    room = acting_room(ctx, seat, request)
    if room is not None and not is_op(seat, room):
        ctx.post.error(seat, "not_op", f"you are not an op in {room.name}", request)
        return None
    return room


def with_member(
    ctx: Context, seat: Seat, room: Room, request: Target, then: Callable[[str], None]
) -> None:
    """Call ``then`` with the spelling of the member ``request.nick`` of ``room``, or
    answer ``not_in_room`` / ``no_such_nick``."""
    nick = member_spelling(ctx, room, fold(request.nick))
    if nick is not None:
        then(nick)
        return
    absent = f"{request.nick} is not in {room.name}"
    if ctx.roster.seat(request.nick) is not None:
        ctx.post.error(seat, "not_in_room", absent, request)
        return

    def found(spelling: str | None) -> None:
        if spelling is None:
            ctx.post.error(seat, "no_such_nick", f"nobody is called {request.nick}", request)
        else:
            ctx.post.error(seat, "not_in_room", absent, request)

    ctx.posting.find(seat, request, request.nick, found)


def with_anybody(ctx: Context, seat: Seat, request: Invite, then: Callable[[str], None]) -> None:
    """Call ``then`` with the spelling of ``request.nick`` if anybody holds it, on any
    node; otherwise answer ``no_such_nick``."""
    holder = ctx.roster.seat(request.nick)
    if holder is not None and holder.nick is not None and holder.welcomed:
        then(holder.nick)
        return
    key = fold(request.nick)
    for room in ctx.roster.rooms.values():
        if key in room.remote:
            then(room.remote[key])
            return

    def found(spelling: str | None) -> None:
        if spelling is None:
            ctx.post.error(seat, "no_such_nick", f"nobody is called {request.nick}", request)
        else:
            then(spelling)

    ctx.posting.find(seat, request, request.nick, found)


def by(seat: Seat) -> str:
    assert seat.nick is not None
    return seat.nick


# --- the requests ------------------------------------------------------------


def rank(ctx: Context, seat: Seat, request: Op | Deop | Voice | Devoice) -> None:
    room = op_room(ctx, seat, request)
    if room is None:
        return
    kind: Literal["op", "voice"] = "op" if isinstance(request, Op | Deop) else "voice"
    on = isinstance(request, Op | Voice)

    def grant(nick: str) -> None:
        change = RankSet(room=room.name, nick=nick, rank=kind, on=on, by=by(seat))
        if ctx.posting.moderate(seat, request, change):
            log.info("%s %s %s in %s", by(seat), _DONE[request.type], nick, room.name)

    with_member(ctx, seat, room, request, grant)


def kick(ctx: Context, seat: Seat, request: Kick) -> None:
    room = op_room(ctx, seat, request)
    if room is None:
        return

    def out(nick: str) -> None:
        change = Removed(room=room.name, nick=nick, by=by(seat), reason=request.reason)
        if ctx.posting.moderate(seat, request, change):
            why = f": {request.reason}" if request.reason else ""
            log.info("%s kicked %s from %s%s", by(seat), nick, room.name, why)

    with_member(ctx, seat, room, request, out)


def ban_room(ctx: Context, seat: Seat, request: Ban | Unban | Bans, *, op: bool) -> str | None:
    """The name of the room whose bans ``request`` is about, or ``None`` after a refusal.

    Bans outlive their room, so a server operator may name a room that does
    not exist (any more); anyone else must be in it, and an op for ``op``.
    """
    room = seat.rooms.get(fold(request.room)) or ctx.roster.room(request.room)
    if seat.oper:
        return room.name if room is not None else request.room
    if room is None or seat not in room.members:
        ctx.post.error(seat, "not_in_room", f"you are not in {request.room}", request)
        return None
    if op and not is_op(seat, room):
        ctx.post.error(seat, "not_op", f"you are not an op in {room.name}", request)
        return None
    return room.name


def ban(ctx: Context, seat: Seat, request: Ban) -> None:
    name = ban_room(ctx, seat, request, op=True)
    if name is None:
        return
    until = None if request.duration is None else ctx.wall_clock() + request.duration
    entry = BanEntry(
        nick=request.nick, address=request.address, by=by(seat), reason=request.reason, until=until
    )
    if ctx.posting.moderate(seat, request, BanSet(room=name, ban=entry)):
        span = "" if request.duration is None else f" for {request.duration:g} s"
        why = f": {request.reason}" if request.reason else ""
        whom = request.nick or request.address
        log.info("%s banned %s from %s%s%s", by(seat), whom, name, span, why)


def unban(ctx: Context, seat: Seat, request: Unban) -> None:
    name = ban_room(ctx, seat, request, op=True)
    if name is None:
        return
    whom = request.nick or request.address
    if ctx.bans.get(name, request.nick, request.address, ctx.wall_clock()) is None:
        ctx.post.error(seat, "bad_message", f"{whom} is not banned from {name}", request)
        return
    change = BanLifted(room=name, by=by(seat), nick=request.nick, address=request.address)
    if ctx.posting.moderate(seat, request, change):
        log.info("%s unbanned %s from %s", by(seat), whom, name)


def bans(ctx: Context, seat: Seat, request: Bans) -> None:
    name = ban_room(ctx, seat, request, op=False)
    if name is None:
        return
    entries = ctx.bans.entries(name, ctx.wall_clock())
    listing = fit_list(
        lambda kept, cut: BanList(room=name, bans=kept, truncated=cut),
        entries,
        ctx.settings.max_frame,
    )
    ctx.post.to(seat, listing)


def mute(ctx: Context, seat: Seat, request: Mute | Unmute) -> None:
    room = op_room(ctx, seat, request)
    if room is None:
        return
    on = isinstance(request, Mute)
    duration = request.duration if isinstance(request, Mute) else None
    until = None if duration is None else ctx.wall_clock() + duration

    def silence(nick: str) -> None:
        change = MuteSet(room=room.name, nick=nick, on=on, by=by(seat), until=until)
        if ctx.posting.moderate(seat, request, change):
            span = "" if duration is None else f" for {duration:g} s"
            log.info("%s %sd %s in %s%s", by(seat), request.type, nick, room.name, span)

    with_member(ctx, seat, room, request, silence)


def mode(ctx: Context, seat: Seat, request: SetMode) -> None:
    """A ``mode`` that names no mode is a question: anyone in the room gets the modes."""
    changes = request.changes()
    if not changes:
        room = acting_room(ctx, seat, request)
        if room is not None:
            ctx.post.reply(seat, RoomModeChanged(room=room.name, modes=room.modes, by=by(seat)))
        return
    room = op_room(ctx, seat, request)
    if room is None:
        return
    change = ModesSet(room=room.name, modes=changes, by=by(seat))  # type: ignore[arg-type]
    if ctx.posting.moderate(seat, request, change):
        what = " ".join(f"{name}={value}" for name, value in sorted(changes.items()))
        log.info("%s set mode %s in %s", by(seat), what, room.name)


def invite(ctx: Context, seat: Seat, request: Invite) -> None:
    room = acting_room(ctx, seat, request)
    if room is None:
        return
    if room.modes.invite_only and not is_op(seat, room):
        ctx.post.error(seat, "not_op", f"{room.name} is invite-only: ops invite", request)
        return

    def send(nick: str) -> None:
        until = ctx.wall_clock() + INVITE_TTL
        change = InviteMade(room=room.name, nick=nick, by=by(seat), until=until)
        if ctx.posting.moderate(seat, request, change):
            log.info("%s invited %s to %s", by(seat), nick, room.name)

    with_anybody(ctx, seat, request, send)


#: The handler of each moderation request type.
HANDLERS: dict[type[Any], Callable[[Context, Seat, Any], None]] = {
    Op: rank,
    Deop: rank,
    Voice: rank,
    Devoice: rank,
    Kick: kick,
    Ban: ban,
    Unban: unban,
    Bans: bans,
    Mute: mute,
    Unmute: mute,
    SetMode: mode,
    Invite: invite,
}
