"""One short function per request: ``handler(ctx, seat, request)``.

Each is called by the hub for a request its seat's phase takes, after flood
control; it answers through ``ctx.post`` and changes the rooms through the
posting path (``ctx.posting``).  A refusal is an ``error`` naming the
request's type and echoing its ``id``.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from typing import Any

from protocol import (
    HISTORY_LIMIT_DEFAULT,
    NICK_RULE,
    PROTOCOL_VERSION,
    Hello,
    History,
    HistoryRequest,
    Join,
    Joined,
    Leave,
    Left,
    ListRooms,
    Members,
    Message,
    Ping,
    Pong,
    Presence,
    Quit,
    RoomInfo,
    RoomList,
    Say,
    SetNick,
    SetTopic,
    Whisper,
    WhisperMessage,
    Who,
    encode,
    fold,
    is_valid_nick,
)

from ..changes import Departed, Entered, Forgotten, RankSet
from . import history as pages
from .context import Context
from .fitting import fit_history, fit_list, newest
from .gate import admission, is_op, silenced
from .member import Out
from .posting import backlogged, too_long
from .roster import Room, Seat

log = logging.getLogger(__name__)

#: A quit reason is repeated to every room: keep it short enough for any frame.
QUIT_REASON_MAX = 160

Handler = Callable[[Context, Seat, Any], None]


def hello(ctx: Context, seat: Seat, request: Hello) -> None:
    """Checked in the protocol's order: protocol, password, nick."""
    if request.protocol != PROTOCOL_VERSION:
        text = f"this server speaks protocol {PROTOCOL_VERSION}"
        ctx.post.error(seat, "protocol_unsupported", text, request)
        return
    password = ctx.settings.password
    if password is not None and not hmac.compare_digest(
        (request.password or "").encode(), password.encode()
    ):
        ctx.post.error(seat, "auth_failed", "wrong password", request)
        return
    if not is_valid_nick(request.nick):
        ctx.post.error(seat, "nick_invalid", NICK_RULE, request)
        return
    if ctx.roster.holder(request.nick) is not None:
        ctx.post.error(seat, "nick_taken", f"{request.nick} is already in use", request)
        return
    ctx.roster.nicks[fold(request.nick)] = seat
    seat.nick = request.nick
    ctx.posting.name(seat, request)


def join(ctx: Context, seat: Seat, request: Join) -> None:
    """A newcomer passes :func:`~.gate.admission` first; the first member of an empty
    room becomes its op."""
    roster = ctx.roster
    room = roster.room(request.room)
    newcomer = room is None or seat not in room.members
    if newcomer:
        refused = admission(ctx, seat, room, request.room, request.key)
        if refused is not None:
            ctx.post.error(seat, *refused, request)
            return
    if room is None:
        if len(roster.rooms) >= ctx.settings.max_rooms:
            oldest = roster.oldest_empty()
            if oldest is None:
                limit = ctx.settings.max_rooms
                text = f"the server holds {limit} rooms already"
                ctx.post.error(seat, "room_limit", text, request)
                return
            roster.drop(oldest)
            ctx.store.record(Forgotten(room=oldest.name))
            log.info("forgot room %s to make space for a new one", oldest.name)
        room = roster.add_room(request.room)
    roster.touch(room)
    if newcomer:
        assert seat.nick is not None
        first = not room.size()
        if not ctx.posting.share(Entered(room=room.name, nick=seat.nick)):
            backlogged(ctx, seat, request)
            if roster.forget_if_unused(room):
                ctx.posting.forget(room)
            return
        key = fold(seat.nick)
        room.members[seat] = None
        seat.rooms[fold(room.name)] = room
        room.invites.pop(key, None)  # an invitation lets one join in
        if first:
            room.ops[key] = seat.nick
            ctx.posting.share(RankSet(room=room.name, nick=seat.nick, rank="op", on=True, by=""))
    ctx.post.to(seat, _joined(ctx, room))
    if newcomer:
        assert seat.nick is not None
        ctx.post.room(room, Presence(room=room.name, nick=seat.nick, event="join"), skip=seat)


def _joined(ctx: Context, room: Room) -> Out:
    max_frame = ctx.settings.max_frame
    nicks = room.nicks()
    history = newest(room.history, HISTORY_LIMIT_DEFAULT)

    def build(members: list[str], kept: list[Message], cut: bool) -> Joined:
        ops, voiced = _ranked(room, members, cut)
        return Joined(
            room=room.name,
            members=members,
            topic=room.topic,
            history=kept,
            truncated=cut,
            ops=ops,
            voiced=voiced,
            modes=room.modes,
            topic_by=room.topic_by,
            topic_ts=room.topic_ts,
        )

    out = fit_history(lambda kept: build(nicks, kept, False), history, max_frame)
    if out is None:  # the member list alone is too long: cut it, history and all
        out = fit_list(lambda cut_nicks, cut: build(cut_nicks, [], cut), nicks, max_frame)
    return out


def _ranked(room: Room, members: list[str], cut: bool) -> tuple[list[str], list[str]]:
    """The ops and voiced members of ``room`` among ``members`` (all of them unless ``cut``)."""
    if not cut:
        return list(room.ops.values()), list(room.voiced.values())
    shown = {fold(nick) for nick in members}
    return (
        [nick for key, nick in room.ops.items() if key in shown],
        [nick for key, nick in room.voiced.items() if key in shown],
    )


def leave(ctx: Context, seat: Seat, request: Leave) -> None:
    room = _joined_room(ctx, seat, request)
    if room is None:
        return
    assert seat.nick is not None
    ctx.post.flush()  # what the leaver said before, in the same read, reaches it too
    del room.members[seat]
    del seat.rooms[fold(room.name)]
    room.departed(fold(seat.nick))
    ctx.post.reply(seat, Left(room=room.name))
    ctx.posting.share(Departed(room=room.name, nick=seat.nick))
    ctx.post.room(room, Presence(room=room.name, nick=seat.nick, event="leave"))
    if ctx.roster.forget_if_unused(room):
        ctx.posting.forget(room)


def say(ctx: Context, seat: Seat, request: Say) -> None:
    room = _joined_room(ctx, seat, request)
    if room is None:
        return
    if room.mutes or room.modes.moderated:
        why = silenced(ctx, seat, room)
        if why is not None:
            ctx.post.error(seat, "muted", why, request)
            return
    seat.active = ctx.wall_clock()
    ctx.posting.say(seat, room, request)


def whisper(ctx: Context, seat: Seat, request: Whisper) -> None:
    seat.active = ctx.wall_clock()
    target = ctx.roster.seat(request.to)
    if target is None or target.nick is None:
        ctx.posting.whisper_away(seat, request)
        return
    assert seat.nick is not None
    message = WhisperMessage(
        from_=seat.nick,
        to=target.nick,
        text=request.text,
        ts=ctx.wall_clock(),
        id=request.id,
        action=request.action,
    )
    frame = encode(message)
    if not ctx.fits(frame):
        too_long(ctx, seat, request)
        return
    out = Out((message,), frame)
    ctx.post.to(target, out)
    if target is not seat:
        ctx.post.to(seat, out)


def nick(ctx: Context, seat: Seat, request: SetNick) -> None:
    holder = ctx.roster.holder(request.nick)
    if holder is not None and holder is not seat:
        ctx.post.error(seat, "nick_taken", f"{request.nick} is already in use", request)
        return
    ctx.posting.rename(seat, request)


def topic(ctx: Context, seat: Seat, request: SetTopic) -> None:
    room = _joined_room(ctx, seat, request)
    if room is None:
        return
    if room.modes.topic_ops and not is_op(seat, room):
        ctx.post.error(seat, "not_op", f"only ops set the topic of {room.name}", request)
        return
    ctx.posting.topic(seat, room, request)


def rooms(ctx: Context, seat: Seat, request: ListRooms) -> None:
    infos = [
        RoomInfo(name=room.name, members=room.size(), topic=room.topic)
        for room in ctx.roster.rooms.values()
    ]
    listing = fit_list(
        lambda kept, cut: RoomList(rooms=kept, truncated=cut), infos, ctx.settings.max_frame
    )
    ctx.post.to(seat, listing)


def who(ctx: Context, seat: Seat, request: Who) -> None:
    room = _existing_room(ctx, seat, request)
    if room is None:
        return
    away = ctx.away

    def build(nicks: list[str], cut: bool) -> Members:
        ops, voiced = _ranked(room, nicks, cut)
        gone = [nick for nick in nicks if fold(nick) in away] if away else []
        return Members(
            room=room.name, members=nicks, truncated=cut, ops=ops, voiced=voiced, away=gone
        )

    ctx.post.to(seat, fit_list(build, room.nicks(), ctx.settings.max_frame))


def history(ctx: Context, seat: Seat, request: HistoryRequest) -> None:
    room = _existing_room(ctx, seat, request)
    if room is None:
        return
    if request.before is None:
        messages = newest(room.history, request.limit)
    else:
        messages = pages.before(room.history, pages.Seq(request.before), request.limit)
    out = fit_history(
        lambda ms: History(room=room.name, messages=ms), messages, ctx.settings.max_frame
    )
    assert out is not None  # with no messages, a history frame always fits
    ctx.post.to(seat, out)


def ping(ctx: Context, seat: Seat, request: Ping) -> None:
    ctx.post.reply(seat, Pong(token=request.token))


def pong(ctx: Context, seat: Seat, request: Pong) -> None:
    """An answer to the door's own ping: the door counted it as a sign of life."""


def quit(ctx: Context, seat: Seat, request: Quit) -> None:
    ctx.post.flush()  # what came before the quit goes out before the bye
    seat.member.close("quit", announce=(request.reason or "quit")[:QUIT_REASON_MAX])


def _joined_room(ctx: Context, seat: Seat, request: Leave | Say | SetTopic) -> Room | None:
    room = seat.rooms.get(fold(request.room))
    if room is None:
        ctx.post.error(seat, "not_in_room", f"you are not in {request.room}", request)
    return room


def _existing_room(ctx: Context, seat: Seat, request: Who | HistoryRequest) -> Room | None:
    room = ctx.roster.room(request.room)
    if room is None:
        ctx.post.error(seat, "not_in_room", f"there is no room {request.room}", request)
    return room


#: The handler of each core request type (the hub merges the additions' tables in).
HANDLERS: dict[type[Any], Handler] = {
    Hello: hello,
    Join: join,
    Leave: leave,
    Say: say,
    Whisper: whisper,
    SetNick: nick,
    SetTopic: topic,
    ListRooms: rooms,
    Who: who,
    HistoryRequest: history,
    Ping: ping,
    Pong: pong,
    Quit: quit,
}
