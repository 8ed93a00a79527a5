"""Who may do what in a room: joining past bans and modes, speaking, acting as an op.

Pure decisions on the hub's state; the handlers answer the refusals.  The
clock is the wall clock (``ctx.wall_clock``): bans, mutes and invites carry
wall-clock expiries, so every node of a cluster reads them the same way.
"""

from __future__ import annotations

from protocol import ErrorCode, fold

from .context import Context
from .roster import Room, Seat

Refusal = tuple[ErrorCode, str]


def is_op(seat: Seat, room: Room) -> bool:
    """A room operator of ``room``, or a server operator."""
    return seat.oper or (seat.nick is not None and fold(seat.nick) in room.ops)


def member_spelling(ctx: Context, room: Room, key: str) -> str | None:
    """The nick of the member of ``room`` whose folded nick is ``key``, here or on another node."""
    seat = ctx.roster.nicks.get(key)
    if seat is not None and seat in room.members:
        return seat.nick
    return room.remote.get(key)


def admission(
    ctx: Context, seat: Seat, room: Room | None, name: str, key: str | None
) -> Refusal | None:
    """Why ``seat`` may not join ``room`` (called ``name``; ``None`` if it does not exist yet).

    Checked in the protocol's order: a ban, then an invitation (which skips
    the rest), ``invite_only``, the key, the limit.  An empty room has no
    modes (they are forgotten when it empties): only bans keep anyone out.
    """
    assert seat.nick is not None
    now = ctx.wall_clock()
    ban = ctx.bans.match(name, seat.nick, seat.address, now)
    if ban is not None:
        until = "" if ban.until is None else f" for {max(1, round(ban.until - now))} s"
        why = f": {ban.reason}" if ban.reason else ""
        return "banned", f"you are banned from {name}{until}{why}"
    if room is None or not room.size():
        return None
    invited = room.invites.get(fold(seat.nick))
    if invited is not None and invited > now:
        return None
    modes = room.modes
    if modes.invite_only:
        return "invite_only", f"{room.name} is invite-only: ask an op for an invite"
    if modes.key is not None and key != modes.key:
        return "bad_key", f"{room.name} needs its key" if key is None else "wrong key"
    if modes.limit is not None and room.size() >= modes.limit:
        return "room_full", f"{room.name} is full ({modes.limit} members)"
    return None


def silenced(ctx: Context, seat: Seat, room: Room) -> str | None:
    """Why ``seat`` may not ``say`` in ``room`` now (``muted``), or ``None``."""
    if seat.nick is None:
        return None
    key = fold(seat.nick)
    if key in room.mutes:
        until = room.mutes[key]
        if until is None or until > ctx.wall_clock():
            return f"you are muted in {room.name}"
        del room.mutes[key]  # it ended by itself
    if room.modes.moderated and not (is_op(seat, room) or key in room.voiced):
        return f"{room.name} is moderated: only ops and voiced members may speak"
    return None
