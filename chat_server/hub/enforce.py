"""Carrying out moderation changes: one function per change, for both posting paths.

A local store's change is carried out as soon as it is recorded; a shared
store hands each change back to every node (the one that made it included),
and each node carries it out for the members connected to it: it tells them,
kicks its own members that a ban matches, closes its own member that a
``kill`` names.  So every node ends with the same ops, voices, modes, mutes
and bans.
"""

from __future__ import annotations

import logging

from protocol import (
    AwayChanged,
    BanChanged,
    Invited,
    Kicked,
    MuteChanged,
    OpChanged,
    Presence,
    RoomModeChanged,
    VoiceChanged,
    fold,
)

from ..changes import (
    AwaySet,
    BanLifted,
    BanSet,
    InviteMade,
    KillOrdered,
    Moderation,
    ModesSet,
    MuteSet,
    NoticeSent,
    RankSet,
    Removed,
)
from .context import Context
from .gate import member_spelling
from .roster import Seat

log = logging.getLogger(__name__)


def apply(ctx: Context, change: Moderation) -> None:
    """Carry out ``change`` on this node (see the module docstring)."""
    match change:
        case RankSet():
            _rank(ctx, change)
        case ModesSet():
            _modes(ctx, change)
        case MuteSet():
            _mute(ctx, change)
        case InviteMade():
            _invite(ctx, change)
        case Removed():
            _removed(ctx, change)
        case BanSet():
            _ban(ctx, change)
        case BanLifted():
            _unban(ctx, change)
        case KillOrdered(nick=nick, reason=reason):
            seat = ctx.roster.seat(nick)
            if seat is not None and seat.welcomed:
                ctx.post.flush()
                seat.member.close("killed", announce=reason)
        case NoticeSent(notice=notice):
            ctx.post.each([s for s in ctx.roster.welcomed() if s.welcomed], notice)
        case AwaySet():
            _away(ctx, change)


def kick_reason(by: str, reason: str | None) -> str:
    """What a room hears when someone is kicked: ``kicked by BY[: REASON]``."""
    return f"kicked by {by}: {reason}" if reason else f"kicked by {by}"


def _rank(ctx: Context, change: RankSet) -> None:
    room = ctx.roster.room(change.room)
    if room is None:
        return
    key = fold(change.nick)
    nick = member_spelling(ctx, room, key)
    if nick is None:  # gone meanwhile
        return
    ranks = room.ops if change.rank == "op" else room.voiced
    if change.on:
        ranks[key] = nick
    else:
        ranks.pop(key, None)
    if not change.by:
        return
    if change.rank == "op":
        ctx.post.room(room, OpChanged(room=room.name, nick=nick, op=change.on, by=change.by))
    else:
        told = VoiceChanged(room=room.name, nick=nick, voiced=change.on, by=change.by)
        ctx.post.room(room, told)


def _modes(ctx: Context, change: ModesSet) -> None:
    room = ctx.roster.room(change.room)
    if room is None or not room.size():
        return
    room.modes = room.modes.model_copy(update=change.modes)
    ctx.post.room(room, RoomModeChanged(room=room.name, modes=room.modes, by=change.by))


def _mute(ctx: Context, change: MuteSet) -> None:
    room = ctx.roster.room(change.room)
    if room is None:
        return
    key = fold(change.nick)
    if change.on:
        room.mutes[key] = change.until
    else:
        room.mutes.pop(key, None)
    told = MuteChanged(
        room=room.name,
        nick=change.nick,
        muted=change.on,
        by=change.by,
        until=change.until if change.on else None,
    )
    ctx.post.room(room, told)


def _invite(ctx: Context, change: InviteMade) -> None:
    room = ctx.roster.room(change.room)
    name = change.room
    if room is not None:
        room.invites[fold(change.nick)] = change.until
        name = room.name
    invited = Invited(room=name, by=change.by)
    told: dict[Seat, None] = {}
    for nick in (change.nick, change.by):
        seat = ctx.roster.seat(nick)
        if seat is not None and seat.welcomed:
            told[seat] = None
    ctx.post.each(told, invited)


def _removed(ctx: Context, change: Removed) -> None:
    roster = ctx.roster
    room = roster.room(change.room)
    if room is None:
        return
    key = fold(change.nick)
    seat = roster.nicks.get(key)
    if seat is not None and seat in room.members:
        del room.members[seat]
        del seat.rooms[fold(room.name)]
        ctx.post.reply(seat, Kicked(room=room.name, by=change.by, reason=change.reason))
        nick = seat.nick or change.nick
    elif key in room.remote:
        nick = room.remote.pop(key)
    else:
        return  # not a member (any more)
    room.departed(key)
    reason = kick_reason(change.by, change.reason)
    ctx.post.room(room, Presence(room=room.name, nick=nick, event="leave", reason=reason))
    if roster.forget_if_unused(room):
        ctx.posting.forget(room)


def _ban(ctx: Context, change: BanSet) -> None:
    ban = change.ban
    ctx.bans.add(change.room, ban)
    room = ctx.roster.room(change.room)
    if room is None:
        return
    ctx.post.room(room, BanChanged(room=room.name, ban=ban, by=ban.by))
    for seat in list(room.members):
        if seat.nick is not None and ctx.bans.covers(ban, seat.nick, seat.address):
            kick = Removed(room=room.name, nick=seat.nick, by=ban.by, reason=ban.reason)
            if ctx.posting.moderate(None, None, kick):
                log.info("%s kicked %s from %s: banned", ban.by, seat.nick, room.name)


def _unban(ctx: Context, change: BanLifted) -> None:
    lifted = ctx.bans.remove(change.room, change.nick, change.address)
    room = ctx.roster.room(change.room)
    if lifted is None or room is None:
        return
    ctx.post.room(room, BanChanged(room=room.name, ban=lifted, by=change.by, removed=True))


def _away(ctx: Context, change: AwaySet) -> None:
    key = fold(change.nick)
    if change.text:
        ctx.away[key] = change.text
    else:
        ctx.away.pop(key, None)
    seat = ctx.roster.nicks.get(key)
    told: dict[Seat, None] = {}
    if seat is not None and seat.welcomed:
        told.update(dict.fromkeys(ctx.roster.sharing(seat)))
    else:
        for room in ctx.roster.rooms.values():
            if key in room.remote:
                told.update(room.members)
    ctx.post.each(told, AwayChanged(nick=change.nick, text=change.text))
