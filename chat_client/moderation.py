"""How moderation, away, whois and notices change what the client knows.

:func:`apply` takes the server messages of the protocol's additions that
:mod:`chat_client.reducer` hands it.  A kick, a ban or a mute of *you* is
said plainly, as an error line in the room's window; other people's are dim
system lines.  Like the reducer it only changes the state, through the
line-building functions that sanitise network text.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from protocol import (
    BanChanged,
    BanEntry,
    BanList,
    Invited,
    Kicked,
    MuteChanged,
    Notice,
    OpChanged,
    Opered,
    RoomModeChanged,
    RoomModes,
    ServerMessage,
    VoiceChanged,
    WhoisReply,
    fold,
)

if TYPE_CHECKING:
    from .state import ChatState
    from .windows import Window

__all__ = ["apply", "describe_modes"]


def apply(state: ChatState, message: ServerMessage) -> None:
    """Apply one server message of the additions (others are ignored)."""
    match message:
        case OpChanged() | VoiceChanged():
            _ranked(state, message)
        case Kicked():
            _kicked(state, message)
        case BanChanged():
            _ban_changed(state, message)
        case BanList():
            _ban_list(state, message)
        case MuteChanged():
            _mute_changed(state, message)
        case RoomModeChanged():
            _modes(state, message)
        case Invited(room=room, by=by):
            if _me(state, by):
                state.info(f"invitation to {room} sent")
            else:
                state.info(f"{by} invites you to {room}: /join {room}", style="class:motd")
                state.ring()
        case Opered():
            state.info("you are now a server operator", state.status)
        case Notice(from_=sender, text=text):
            for window in dict.fromkeys((state.status, state.window)):
                state.info(f"notice from {sender}: {text}", window, style="class:motd")
        case WhoisReply():
            _whois(state, message)


def describe_modes(modes: RoomModes) -> str:
    """``+imt +k KEY +l 10``-style, or ``none``."""
    flags = "".join(
        letter
        for letter, on in (("i", modes.invite_only), ("m", modes.moderated), ("t", modes.topic_ops))
        if on
    )
    parts = [f"+{flags}"] if flags else []
    if modes.key is not None:
        parts.append(f"+k {modes.key}")
    if modes.limit is not None:
        parts.append(f"+l {modes.limit}")
    return " ".join(parts) or "none"


def _me(state: ChatState, nick: str) -> bool:
    return fold(nick) == fold(state.nick)


def _room(state: ChatState, name: str) -> Window | None:
    return state.find(name, "room")


def _until(until: float | None) -> str:
    return "" if until is None else time.strftime(" until %H:%M", time.localtime(until))


def _ranked(state: ChatState, change: OpChanged | VoiceChanged) -> None:
    window = _room(state, change.room)
    if window is None:
        return
    is_op = isinstance(change, OpChanged)
    on = change.op if isinstance(change, OpChanged) else change.voiced
    ranks = window.ops if is_op else window.voiced
    if on:
        ranks.add(fold(change.nick))
    else:
        ranks.discard(fold(change.nick))
    what = "op" if is_op else "voice"
    if _me(state, change.nick):
        text = f"{change.by} made you an op" if is_op else f"{change.by} gave you voice"
        state.info(text if on else f"{change.by} took your {what}", window)
    else:
        verb = "gives" if on else "takes"
        where = "to" if on else "from"
        state.info(f"{change.by} {verb} {what} {where} {change.nick}", window)


def _kicked(state: ChatState, kicked: Kicked) -> None:
    window = _room(state, kicked.room)
    why = f": {kicked.reason}" if kicked.reason else ""
    text = f"you were kicked from {kicked.room} by {kicked.by}{why}"
    state.wanted.pop(fold(kicked.room), None)  # not re-joined after a reconnect
    if window is None:
        state.error(text, state.status)
        return
    window.joined = False
    window.members.clear()
    state.error(f"{text} (/join {kicked.room} to come back)", window)


def _target(ban: BanEntry) -> str:
    return ban.nick or ban.address or "?"


def _ban_changed(state: ChatState, change: BanChanged) -> None:
    window = _room(state, change.room) or state.status
    ban = change.ban
    why = f": {ban.reason}" if ban.reason else ""
    if change.removed:
        state.info(f"{change.by} lifted the ban on {_target(ban)} in {change.room}", window)
    elif ban.nick is not None and _me(state, ban.nick):
        text = f"you are banned from {change.room} by {change.by}{_until(ban.until)}{why}"
        state.error(text, window)
    else:
        text = f"{change.by} banned {_target(ban)} from {change.room}{_until(ban.until)}{why}"
        state.info(text, window)


def _ban_list(state: ChatState, listing: BanList) -> None:
    if not listing.bans:
        state.info(f"no bans in {listing.room}")
        return
    state.info(f"bans of {listing.room}:")
    for ban in listing.bans:
        why = f": {ban.reason}" if ban.reason else ""
        state.info(f"  {_target(ban)} by {ban.by}{_until(ban.until)}{why}")
    if listing.truncated:
        state.info("  (list cut short by the server)")


def _mute_changed(state: ChatState, change: MuteChanged) -> None:
    window = _room(state, change.room)
    if window is None:
        return
    if _me(state, change.nick):
        if change.muted:
            text = f"you were muted in {change.room} by {change.by}{_until(change.until)}"
            state.error(text, window)
        else:
            state.info(f"{change.by} unmuted you", window)
        return
    verb = "muted" if change.muted else "unmuted"
    state.info(f"{change.by} {verb} {change.nick}{_until(change.until)}", window)


def _modes(state: ChatState, change: RoomModeChanged) -> None:
    window = _room(state, change.room)
    if window is None:
        return
    window.modes = change.modes
    state.info(f"modes of {change.room}: {describe_modes(change.modes)} (by {change.by})", window)


def _whois(state: ChatState, reply: WhoisReply) -> None:
    since = time.strftime("%Y-%m-%d %H:%M", time.localtime(reply.since)) if reply.since else "?"
    state.info(f"{reply.nick}: connected since {since} via {reply.via}, idle {reply.idle:.0f}s")
    state.info(f"  rooms: {' '.join(reply.rooms) or '(none)'}")
    if reply.op_in:
        state.info(f"  op in: {' '.join(reply.op_in)}")
    if reply.away:
        state.info(f"  away: {reply.away}")
