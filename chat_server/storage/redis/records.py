"""Changes as the Redis store sends them to its script, and as the stream hands them back.

Each change is a kind (one letter), a body (JSON) and the extra arguments the
script needs to update the shared state (:data:`~.scripts.APPLY`).  The
stream gives back each batch as one payload of records: the kind, a 4-byte
big-endian length and the body.  A message's record is its native frame
after the kind, so a node broadcasts the bytes it received.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from protocol import Message, WhisperMessage, encode_body, fold

from ...changes import (
    Change,
    Departed,
    Entered,
    Forgotten,
    Moderation,
    Posted,
    Quit,
    Renamed,
    TopicSet,
    Whispered,
)
from .moderation import KINDS as MODERATION_KINDS
from .moderation import moderation_change, moderation_op

#: One change as it waits to be published: kind, body, extra arguments.
Op = tuple[str, bytes, tuple[str, ...]]


def op(change: Change, node: str) -> Op | None:
    """What the script needs to apply ``change`` made on ``node`` (``None``: nothing)."""
    match change:
        case Posted(message=message, frame=frame):
            room = message.room
            return "m", frame[4:] or encode_body(message), (fold(room), room)
        case TopicSet(room=room, topic=topic, by=by, ts=ts):
            has = "1" if topic is not None else "0"
            body = _json({"room": room, "topic": topic, "by": by, "ts": ts})
            meta = _json({"by": by, "ts": ts}).decode()
            return "t", body, (fold(room), room, has, topic or "", meta)
        case Forgotten(room=room):
            return "f", _json({"room": room}), (fold(room),)
        case Entered(room=room, nick=nick):
            body = _json({"room": room, "nick": nick})
            return "j", body, (fold(room), room, fold(nick), f"{node}\t{nick}")
        case Departed(room=room, nick=nick):
            return "l", _json({"room": room, "nick": nick}), (fold(room), room, fold(nick))
        case Quit(nick=nick, reason=reason, rooms=rooms, owner=owner):
            return quit_op(owner or node, nick, reason, rooms)
        case Renamed(old=old, new=new, rooms=rooms):
            body = _json({"old": old, "new": new, "rooms": list(rooms)})
            return "r", body, (fold(old), fold(new), f"{node}\t{new}", *map(fold, rooms))
        case Whispered(message=whisper):
            return "w", encode_body(whisper), ()
        case _ if isinstance(change, Moderation):
            return moderation_op(change)
    return None


def quit_op(owner: str, nick: str, reason: str, rooms: tuple[str, ...]) -> Op:
    """``nick`` of node ``owner`` is gone: its rooms hear ``reason``, its nick is free."""
    body = _json({"nick": nick, "reason": reason, "rooms": list(rooms), "owner": owner})
    return "q", body, (fold(nick), owner, *map(fold, rooms))


def header(payload: bytes) -> tuple[bytes, int, int]:
    """The node and the last change's number of a stream entry, and where its records start."""
    start = payload.index(b"\n") + 1
    node, _, counter = payload[: start - 1].partition(b" ")
    return node, int(counter), start


def records(payload: bytes, pos: int = 0) -> Iterator[tuple[str, bytes]]:
    """The (kind, record) pairs of a stream entry from ``pos``; a record is the length and
    the body."""
    end = len(payload)
    while pos + 5 <= end:
        kind = chr(payload[pos])
        length = int.from_bytes(payload[pos + 1 : pos + 5], "big")
        stop = pos + 5 + length
        yield kind, payload[pos + 1 : stop]
        pos = stop


def change(kind: str, record: bytes) -> Change:
    """The change one record carries (raises ``ValueError`` or ``KeyError``)."""
    body = record[4:]
    if kind in MODERATION_KINDS:
        return moderation_change(kind, body)
    if kind == "m":
        return Posted(Message.model_validate_json(body), frame=record)
    if kind == "w":
        return Whispered(WhisperMessage.model_validate_json(body))
    data: dict[str, Any] = json.loads(body)
    if kind == "t":
        return TopicSet(room=data["room"], topic=data["topic"], by=data["by"], ts=data.get("ts"))
    if kind == "f":
        return Forgotten(room=data["room"])
    if kind == "j":
        return Entered(room=data["room"], nick=data["nick"])
    if kind == "l":
        return Departed(room=data["room"], nick=data["nick"])
    if kind == "q":
        return Quit(
            nick=data["nick"],
            reason=data["reason"],
            rooms=tuple(data["rooms"]),
            owner=data["owner"],
        )
    if kind == "r":
        return Renamed(old=data["old"], new=data["new"], rooms=tuple(data["rooms"]))
    raise ValueError(f"unknown change kind {kind!r}")


def _json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()
