"""The building blocks of every message: names, texts, limits and the base models.

Client fields validate the protocol's rules on construction; a value of the
right type that breaks a rule raises a ``PydanticCustomError`` whose type is
the wire error code (``nick_invalid``, ``room_invalid``, ``text_too_long``), so
:func:`protocol.codec.parse_client` can answer with it.  The longest ``text`` is
a server setting: pass it as ``context={"max_text": N}`` when validating.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
)
from pydantic_core import PydanticCustomError

PROTOCOL_VERSION = 1
DEFAULT_MAX_TEXT = 4000
MAX_ID_LENGTH = 64
HISTORY_LIMIT_MAX = 100
HISTORY_LIMIT_DEFAULT = 50

NICK_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,31}")
ROOM_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")

#: Every ``error.code`` (and fatal ``bye.reason``) of docs/protocol.md, additions included.
ErrorCode = Literal[
    "bad_frame",
    "frame_too_large",
    "bad_message",
    "unknown_type",
    "not_ready",
    "protocol_unsupported",
    "auth_failed",
    "nick_invalid",
    "nick_taken",
    "room_invalid",
    "room_limit",
    "not_in_room",
    "no_such_nick",
    "text_too_long",
    "rate_limited",
    "server_full",
    "server_shutdown",
    "unavailable",
    "not_op",
    "banned",
    "invite_only",
    "bad_key",
    "room_full",
    "muted",
    "no_such_file",
    "file_too_large",
    "quota_exceeded",
    "file_corrupt",
    "bad_token",
]
ERROR_CODES: frozenset[str] = frozenset(get_args(ErrorCode))
#: Codes that a validator raises for a well-typed value breaking a rule.
RULE_CODES: dict[str, ErrorCode] = {
    "nick_invalid": "nick_invalid",
    "room_invalid": "room_invalid",
    "text_too_long": "text_too_long",
}


def is_valid_nick(nick: str) -> bool:
    return NICK_RE.fullmatch(nick) is not None


def is_valid_room(room: str) -> bool:
    return ROOM_RE.fullmatch(room) is not None


def fold(name: str) -> str:
    """The case-insensitive key of a nick or room name (both are ASCII)."""
    return name.lower()


NICK_RULE = "a nick is 1-32 characters from A-Z a-z 0-9 _ - and does not start with -"


def _check_nick(value: str) -> str:
    if NICK_RE.fullmatch(value) is None:
        raise PydanticCustomError("nick_invalid", NICK_RULE)
    return value


def _check_room(value: str) -> str:
    if ROOM_RE.fullmatch(value) is None:
        raise PydanticCustomError(
            "room_invalid", "a room name is 1-64 characters from A-Z a-z 0-9 _ - ."
        )
    return value


def _max_text(info: ValidationInfo) -> int:
    context = info.context
    if isinstance(context, dict):
        limit = context.get("max_text")
        if isinstance(limit, int):
            return limit
    return DEFAULT_MAX_TEXT


def _check_text(value: str, info: ValidationInfo) -> str:
    if "\x00" in value:
        value = value.replace("\x00", "")
    if not value:
        raise PydanticCustomError("empty_text", "text is empty")
    limit = _max_text(info)
    if len(value) > limit:
        raise PydanticCustomError(
            "text_too_long",
            "text is {length} characters, the limit is {limit}",
            {"length": len(value), "limit": limit},
        )
    return value


def _check_topic(value: str, info: ValidationInfo) -> str | None:
    value = value.replace("\x00", "")
    limit = _max_text(info)
    if len(value) > limit:
        raise PydanticCustomError(
            "text_too_long",
            "topic is {length} characters, the limit is {limit}",
            {"length": len(value), "limit": limit},
        )
    return value or None


Nick = Annotated[str, AfterValidator(_check_nick)]
Room = Annotated[str, AfterValidator(_check_room)]
Text = Annotated[str, AfterValidator(_check_text)]
TopicText = Annotated[str, AfterValidator(_check_topic)]
Id = Annotated[str, Field(max_length=MAX_ID_LENGTH)]
Token = Annotated[str, Field(max_length=MAX_ID_LENGTH)]


def absent(value: Any) -> bool:
    return value is None


def is_false(value: Any) -> bool:
    return value is False


class WireModel(BaseModel):
    """Frozen, strict, unknown fields ignored; absent optional fields stay absent."""

    model_config = ConfigDict(
        strict=True,
        frozen=True,
        extra="ignore",
        serialize_by_alias=True,
        validate_by_name=True,
        validate_by_alias=True,
    )


class RequestModel(WireModel):
    """Any client frame may carry an ``id``: an error it causes echoes it."""

    id: Id | None = Field(default=None, exclude_if=absent)
