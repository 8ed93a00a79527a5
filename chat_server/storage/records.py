"""Moderation changes as a shared store carries them: a kind, a JSON body, arguments.

:func:`to_record` and :func:`from_record` are each other's inverse, so every
node gets back the change another node made.  The kinds (``ba``, ``ki``...)
are those of the Redis event stream; ``ba``, ``ub`` and ``ki`` also change
state kept in Redis (its ``APPLY`` script): the ``bans`` hash (field
``ROOMKEY<TAB>n:NICK`` or ``ROOMKEY<TAB>a:ADDRESS``) and a room's members.
"""

from __future__ import annotations

import json
from typing import Any

from protocol import BanEntry, Notice, encode_body, fold

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
    ban_key,
)

#: Kinds whose body is the change's own fields as JSON.
_PLAIN: dict[str, type[Any]] = {
    "rk": RankSet,
    "md": ModesSet,
    "mu": MuteSet,
    "in": InviteMade,
    "ki": Removed,
    "ub": BanLifted,
    "kl": KillOrdered,
    "aw": AwaySet,
}
_KINDS: dict[type[Any], str] = {cls: kind for kind, cls in _PLAIN.items()}
#: Every kind this module reads.
KINDS = frozenset({*_PLAIN, "ba", "no"})


def ban_field(room: str, nick: str | None, address: str | None) -> str:
    """A ban's field in the shared ``bans`` hash."""
    return f"{fold(room)}\t{ban_key(nick, address)}"


def to_record(change: Moderation) -> tuple[str, str, list[str]]:
    """``(kind, body, arguments)``; see the module docstring for the arguments."""
    match change:
        case BanSet(room=room, ban=ban):
            body = json.dumps({"room": room, "ban": json.loads(encode_body(ban))})
            return "ba", body, [ban_field(room, ban.nick, ban.address), body]
        case NoticeSent(notice=notice):
            return "no", encode_body(notice).decode(), []
        case BanLifted(room=room, nick=nick, address=address):
            return "ub", _plain(change), [ban_field(room, nick, address)]
        case Removed(room=room, nick=nick):
            return "ki", _plain(change), [fold(room), room, fold(nick)]
        case _:
            return _KINDS[type(change)], _plain(change), []


def from_record(kind: str, body: bytes) -> Moderation:
    """The change of a ``kind`` in :data:`KINDS`; raises ``ValueError`` or ``KeyError``."""
    if kind == "no":
        return NoticeSent(notice=Notice.model_validate_json(body))
    if kind == "ba":
        return ban_from_hash(body)
    change: Moderation = _PLAIN[kind](**json.loads(body))
    return change


def ban_from_hash(value: bytes) -> BanSet:
    """A ban kept in the shared ``bans`` hash (the body of its ``ba`` record)."""
    data: dict[str, Any] = json.loads(value)
    return BanSet(room=data["room"], ban=BanEntry.model_validate(data["ban"]))


def _plain(change: Moderation) -> str:
    return json.dumps({name: getattr(change, name) for name in change.__dataclass_fields__})
