"""Sans-I/O framing and validation: bytes in, validated messages out, and back.

A frame is a 4-byte big-endian length followed by that many bytes of UTF-8
JSON.  Feed whatever the transport delivered to a :class:`Decoder` and pull
whole frame bodies out of it; turn a body into a message with
:func:`parse_client` or :func:`parse_server`; turn a message into a frame with
:func:`encode`.  Nothing here touches a socket or an event loop.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ValidationError

from .errors import BadFrame, FrameTooLarge, MessageError
from .fields import DEFAULT_MAX_TEXT, MAX_ID_LENGTH, RULE_CODES
from .models import (
    CLIENT_ADAPTER,
    CLIENT_TYPES,
    OPENING_TYPES,
    SERVER_ADAPTER,
    ClientMessage,
    ServerMessage,
)

DEFAULT_MAX_FRAME = 65536
HEADER = struct.Struct(">I")
HEADER_SIZE = HEADER.size


def frame(body: bytes) -> bytes:
    """Prefix an encoded body with its length."""
    return HEADER.pack(len(body)) + body


def encode_body(message: BaseModel) -> bytes:
    """The compact UTF-8 JSON of ``message``, as it goes on the wire."""
    return message.__pydantic_serializer__.to_json(message)


def encode(message: BaseModel) -> bytes:
    """One whole frame for ``message``: encode it once, send it to many."""
    return frame(encode_body(message))


class Decoder:
    """Splits a byte stream into frame bodies.

    Call :meth:`feed` with each chunk received, then :meth:`next_frame` until it
    returns ``None``.  A length of 0 raises :class:`BadFrame` and a length above
    :attr:`max_frame` raises :class:`FrameTooLarge` as soon as the 4-byte header
    is in, without waiting for the body; the stream is then unusable and the
    caller must close it.  Only the incomplete tail of a chunk is ever copied
    and kept, so an idle decoder holds no memory.
    """

    __slots__ = ("_buffer", "_pos", "max_frame")

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self.max_frame = max_frame
        self._buffer: bytes | bytearray = b""
        self._pos = 0

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as a frame."""
        return len(self._buffer) - self._pos

    def drain(self) -> bytes:
        """Take the bytes received but not returned as a frame; the decoder is then empty.

        For a stream that stops being frames (a side connection after its
        ``transfer`` frame): what follows the last frame is raw data.
        """
        rest = bytes(memoryview(self._buffer)[self._pos :])
        self._buffer, self._pos = b"", 0
        return rest

    def feed(self, data: bytes) -> None:
        if self._pos == len(self._buffer):
            self._buffer, self._pos = data, 0  # the common case: nothing left over
        else:
            if isinstance(self._buffer, bytes) or self._pos:
                self._buffer = bytearray(memoryview(self._buffer)[self._pos :])
                self._pos = 0
            self._buffer += data

    def next_frame(self) -> bytes | None:
        """The next complete body, or ``None`` if more bytes are needed."""
        buffer, pos = self._buffer, self._pos
        available = len(buffer) - pos
        if available >= HEADER_SIZE:
            (length,) = HEADER.unpack_from(buffer, pos)
            if length == 0:
                raise BadFrame("frame length 0: a frame carries at least one byte")
            if length > self.max_frame:
                raise FrameTooLarge(
                    f"frame of {length} bytes exceeds the limit of {self.max_frame} bytes"
                )
            end = pos + HEADER_SIZE + length
            if end <= len(buffer):
                self._pos = end
                return bytes(buffer[pos + HEADER_SIZE : end])
        if available == 0:
            self._buffer, self._pos = b"", 0  # let go of the last chunk
        return None

    def __iter__(self) -> Iterator[bytes]:
        while (body := self.next_frame()) is not None:
            yield body


def parse_client(
    body: bytes, *, max_text: int = DEFAULT_MAX_TEXT, welcomed: bool = True
) -> ClientMessage:
    """Validate one client frame body.

    ``welcomed`` is the handshake state: before ``welcome`` only ``hello``,
    ``ping``, ``pong`` and ``transfer`` (:data:`~protocol.models.OPENING_TYPES`)
    are accepted; whether a ``transfer`` comes first is the caller's business.
    Raises :class:`MessageError` whose ``code`` follows the order of checks in
    docs/protocol.md: ``bad_message`` for a body that is not a UTF-8 JSON object
    with a string ``type``, then ``not_ready``, then ``unknown_type``, then
    ``bad_message`` or the rule's own code (``nick_invalid``, ``room_invalid``,
    ``text_too_long``) for the fields.
    """
    try:
        message: ClientMessage = CLIENT_ADAPTER.validate_json(body, context={"max_text": max_text})
    except ValidationError as exc:
        raise _classify(body, exc, welcomed) from None
    if not welcomed and message.type not in OPENING_TYPES:
        raise MessageError(
            "not_ready",
            "send hello first",
            ref=message.type,
            id=message.id,
        )
    return message


def parse_server(body: bytes) -> ServerMessage:
    """Validate one server frame body.

    Raises :class:`MessageError`: ``unknown_type`` for a type this version does
    not know (a client should ignore it), ``bad_message`` for anything else.
    An ``error`` whose code this version does not know is kept: a client shows it.
    """
    try:
        return SERVER_ADAPTER.validate_json(body, context={"newer_codes": True})
    except ValidationError as exc:
        if any(e["type"] == "union_tag_invalid" for e in exc.errors()):
            raise MessageError("unknown_type", "unknown message type") from None
        raise MessageError("bad_message", _describe(exc)) from None


def _load_object(body: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _short_string(value: object) -> str | None:
    """``value`` if an error may echo it: a string of at most 64 characters that
    UTF-8 can encode (``json`` lets an unpaired surrogate through)."""
    if not isinstance(value, str) or len(value) > MAX_ID_LENGTH:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return value


def _classify(body: bytes, exc: ValidationError, welcomed: bool) -> MessageError:
    errors = exc.errors(include_url=False, include_input=False)
    obj = _load_object(body)
    if obj is None:
        return MessageError("bad_message", "the frame body is not a UTF-8 JSON object")
    kind = obj.get("type")
    ref = _short_string(kind)
    msg_id = _short_string(obj.get("id"))
    if any(e["type"] == "json_invalid" for e in errors):
        # json accepts what the strict parser refuses: lone surrogates.
        return MessageError(
            "bad_message", "a string holds an unpaired surrogate", ref=ref, id=msg_id
        )
    if not isinstance(kind, str):
        return MessageError("bad_message", "'type' must be a string", id=msg_id)
    if not welcomed and kind not in OPENING_TYPES:
        return MessageError("not_ready", "send hello first", ref=ref, id=msg_id)
    if kind not in CLIENT_TYPES:
        return MessageError("unknown_type", "unknown message type", ref=ref, id=msg_id)
    codes = [e["type"] for e in errors]
    if all(code in RULE_CODES for code in codes):
        return MessageError(RULE_CODES[codes[0]], errors[0]["msg"], ref=ref, id=msg_id)
    return MessageError("bad_message", _describe(exc), ref=ref, id=msg_id)


def _describe(exc: ValidationError) -> str:
    first = exc.errors(include_url=False, include_input=False)[0]
    # The first loc element is the union tag ("say"); the rest is the field path.
    path = ".".join(str(part) for part in first["loc"][1:])
    if first["type"] == "empty_text":
        return f"{path} is empty"
    return f"{path}: {first['msg']}" if path else str(first["msg"])
