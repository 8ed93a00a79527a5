"""Moderation changes as the Redis store carries them: a kind, a JSON body, arguments.

:func:`moderation_op` and :func:`moderation_change` are each other's inverse,
so every node gets back the change another node made.  Each kind is one byte
of the event stream (see :mod:`.records`); ``b`` (a ban), ``n`` (a ban
lifted) and ``x`` (a kick) also change state kept in Redis (the ``APPLY``
script): the ``bans`` hash (field ``ROOMKEY<TAB>n:NICK`` or
``ROOMKEY<TAB>a:ADDRESS``) and a room's members.
"""

from __future__ import annotations

import json
from typing import Any

from protocol import BanEntry, Notice, encode_body, fold

from ...changes import (
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
    ban_key,
)

#: Kinds whose body is the change's own fields as JSON.
_PLAIN: dict[str, type[Any]] = {
    "o": RankSet,
    "d": ModesSet,
    "z": MuteSet,
    "i": InviteMade,
    "x": Removed,
    "n": BanLifted,
    "K": KillOrdered,
    "a": AwaySet,
}
_KINDS: dict[type[Any], str] = {cls: kind for kind, cls in _PLAIN.items()}
#: Every kind this module reads.
KINDS = frozenset({*_PLAIN, "b", "N"})


def ban_field(room: str, nick: str | None, address: str | None) -> str:
    """A ban's field in the shared ``bans`` hash."""
    return f"{fold(room)}\t{ban_key(nick, address)}"


def moderation_op(change: Moderation) -> tuple[str, bytes, tuple[str, ...]]:
    """``(kind, body, arguments)``; see the module docstring for the arguments."""
    match change:
        case BanSet(room=room, ban=ban):
            body = ban_body(change)
            return "b", body, (ban_field(room, ban.nick, ban.address), body.decode())
        case NoticeSent(notice=notice):
            return "N", encode_body(notice), ()
        case BanLifted(room=room, nick=nick, address=address):
            return "n", _plain(change), (ban_field(room, nick, address),)
        case Removed(room=room, nick=nick):
            return "x", _plain(change), (fold(room), room, fold(nick))
        case _:
            return _KINDS[type(change)], _plain(change), ()


def moderation_change(kind: str, body: bytes) -> Moderation:
    """The change of a ``kind`` in :data:`KINDS`; raises ``ValueError`` or ``KeyError``."""
    if kind == "N":
        return NoticeSent(notice=Notice.model_validate_json(body))
    if kind == "b":
        return ban_from_hash(body)
    change: Moderation = _PLAIN[kind](**json.loads(body))
    return change


def ban_body(ban: BanSet) -> bytes:
    """How a ban is kept in the shared ``bans`` hash (and carried in its ``b`` record)."""
    return json.dumps({"room": ban.room, "ban": json.loads(encode_body(ban.ban))}).encode()


def ban_from_hash(value: bytes) -> BanSet:
    """A ban kept in the shared ``bans`` hash (the body of its ``ba`` record)."""
    data: dict[str, Any] = json.loads(value)
    return BanSet(room=data["room"], ban=BanEntry.model_validate(data["ban"]))


def _plain(change: Moderation) -> bytes:
    fields = {name: getattr(change, name) for name in change.__dataclass_fields__}
    return json.dumps(fields, separators=(",", ":")).encode()
