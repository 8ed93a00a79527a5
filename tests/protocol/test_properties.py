"""Properties of the codec, checked by hypothesis over random messages and bytes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import cast

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from protocol import (
    ERROR_CODES,
    Bye,
    ClientMessage,
    Decoder,
    Error,
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
    MessageError,
    NickChanged,
    Ping,
    Pong,
    Presence,
    ProtocolError,
    Quit,
    RoomInfo,
    RoomList,
    Say,
    SetNick,
    SetTopic,
    Topic,
    Welcome,
    Whisper,
    WhisperMessage,
    Who,
    encode,
    frame,
    parse_client,
    parse_server,
)
from protocol.fields import NICK_RE, ROOM_RE

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

nicks = st.from_regex(NICK_RE, fullmatch=True)
rooms = st.from_regex(ROOM_RE, fullmatch=True)
# Client text: no NUL (the codec strips it, so it would not round-trip) and no
# surrogates (hypothesis' default alphabet already leaves them out).
texts = st.text(
    alphabet=st.characters(exclude_characters="\x00", codec="utf-8"),
    min_size=1,
    max_size=80,
)
ids = st.none() | st.text(max_size=64)
anything = st.text(max_size=40)
ints = st.integers(min_value=-(2**53), max_value=2**53)
seqs = st.integers(min_value=1, max_value=2**53)
stamps = st.floats(allow_nan=False, allow_infinity=False)

client_messages: st.SearchStrategy[BaseModel] = st.one_of(
    st.builds(Hello, nick=nicks, protocol=ints, password=st.none() | anything),
    st.builds(Join, room=rooms),
    st.builds(Leave, room=rooms),
    st.builds(Say, room=rooms, text=texts, id=ids, action=st.booleans()),
    st.builds(Whisper, to=nicks, text=texts, id=ids),
    st.builds(SetNick, nick=nicks),
    st.builds(SetTopic, room=rooms, topic=st.none() | texts),
    st.builds(ListRooms),
    st.builds(Who, room=rooms),
    st.builds(
        HistoryRequest,
        room=rooms,
        before=st.none() | ints,
        limit=st.integers(min_value=1, max_value=100),
    ),
    st.builds(Ping, token=ids),
    st.builds(Pong, token=ids),
    st.builds(Quit, reason=st.none() | anything),
)

messages = st.builds(
    Message,
    room=anything,
    from_=anything,
    text=anything,
    ts=stamps,
    seq=seqs,
    id=st.none() | anything,
    action=st.booleans(),
)

server_messages: st.SearchStrategy[BaseModel] = st.one_of(
    st.builds(
        Welcome,
        nick=anything,
        protocol=ints,
        epoch=anything,
        server=anything,
        rooms=st.lists(anything, max_size=5),
        motd=st.none() | anything,
        truncated=st.booleans(),
    ),
    st.builds(
        Joined,
        room=anything,
        members=st.lists(anything, max_size=5),
        topic=st.none() | anything,
        history=st.lists(messages, max_size=3),
    ),
    st.builds(Left, room=anything),
    st.builds(
        Presence,
        room=anything,
        nick=anything,
        event=st.sampled_from(["join", "leave", "quit"]),
        reason=st.none() | anything,
    ),
    messages,
    st.builds(
        WhisperMessage,
        from_=anything,
        to=anything,
        text=anything,
        ts=stamps,
        id=st.none() | anything,
    ),
    st.builds(NickChanged, old=anything, new=anything),
    st.builds(Topic, room=anything, topic=st.none() | anything, by=anything),
    st.builds(
        RoomList,
        rooms=st.lists(
            st.builds(RoomInfo, name=anything, members=ints, topic=st.none() | anything),
            max_size=4,
        ),
        truncated=st.booleans(),
    ),
    st.builds(
        Members, room=anything, members=st.lists(anything, max_size=5), truncated=st.booleans()
    ),
    st.builds(History, room=anything, messages=st.lists(messages, max_size=3)),
    st.builds(Ping, token=st.none() | anything),
    st.builds(Pong, token=st.none() | anything),
    st.builds(
        Error,
        code=st.sampled_from(sorted(ERROR_CODES)),
        message=anything,
        ref=st.none() | anything,
        id=st.none() | anything,
    ),
    st.builds(Bye, reason=anything),
)


def outcome(parse: Callable[[], object]) -> object:
    """What ``parse`` returned, or the MessageError it raised; anything else propagates."""
    try:
        return parse()
    except MessageError as error:
        return error


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    chunks, start = [], 0
    for point in [*points, len(data)]:
        chunks.append(data[start:point])
        start = point
    return chunks


def decode_all(chunks: list[bytes], max_frame: int) -> tuple[list[bytes], type | None]:
    """Bodies decoded from ``chunks`` fed one by one, and the error class that stopped it."""
    decoder = Decoder(max_frame=max_frame)
    bodies: list[bytes] = []
    try:
        for chunk in chunks:
            decoder.feed(chunk)
            bodies.extend(decoder)
            assert decoder.buffered < 4 + max_frame
    except ProtocolError as error:
        return bodies, type(error)
    return bodies, None


@SETTINGS
@given(client_messages, st.lists(st.integers(min_value=0), max_size=6))
def test_client_message_round_trips_through_encode_decoder_and_parse(
    message: BaseModel, cuts: list[int]
) -> None:
    bodies, error = decode_all(split(encode(message), cuts), max_frame=2**20)
    assert error is None
    assert len(bodies) == 1
    assert parse_client(bodies[0], max_text=10_000) == message


@SETTINGS
@given(server_messages, st.lists(st.integers(min_value=0), max_size=6))
def test_server_message_round_trips_through_encode_decoder_and_parse(
    message: BaseModel, cuts: list[int]
) -> None:
    bodies, error = decode_all(split(encode(message), cuts), max_frame=2**20)
    assert error is None
    assert len(bodies) == 1
    assert parse_server(bodies[0]) == message


@SETTINGS
@given(
    st.lists(st.binary(min_size=1, max_size=300), max_size=20),
    st.lists(st.integers(min_value=0), max_size=30),
)
def test_many_frames_in_any_split_decode_to_the_same_bodies(
    bodies: list[bytes], cuts: list[int]
) -> None:
    data = b"".join(frame(b) for b in bodies)
    assert decode_all(split(data, cuts), max_frame=300) == (bodies, None)


@SETTINGS
@given(
    st.binary(max_size=600),
    st.lists(st.integers(min_value=0), max_size=20),
    st.integers(min_value=1, max_value=400),
)
def test_arbitrary_bytes_in_any_split_give_same_frames_or_codec_error(
    data: bytes, cuts: list[int], max_frame: int
) -> None:
    whole = decode_all([data], max_frame)
    assert decode_all(split(data, cuts), max_frame) == whole
    assert decode_all([data[i : i + 1] for i in range(len(data))], max_frame) == whole


@SETTINGS
@given(
    st.lists(st.binary(min_size=1, max_size=50), max_size=5),
    st.integers(min_value=51, max_value=2**32 - 1),
    st.lists(st.integers(min_value=0), max_size=10),
)
def test_oversized_length_after_good_frames_is_frame_too_large(
    bodies: list[bytes], length: int, cuts: list[int]
) -> None:
    data = b"".join(frame(b) for b in bodies) + length.to_bytes(4, "big")
    got, error = decode_all(split(data, cuts), max_frame=50)
    assert got == bodies
    assert error is not None
    assert error.__name__ == "FrameTooLarge"


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300), st.booleans())
def test_parse_client_on_arbitrary_bytes_raises_only_message_error(
    data: bytes, welcomed: bool
) -> None:
    result = outcome(lambda: parse_client(data, welcomed=welcomed))
    if isinstance(result, MessageError):
        assert result.code in {
            "bad_message",
            "unknown_type",
            "not_ready",
            "nick_invalid",
            "room_invalid",
            "text_too_long",
        }


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=70) | st.floats(allow_nan=False),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
field_names = st.sampled_from(
    ["type", "room", "text", "nick", "to", "id", "token", "topic", "limit", "before",
     "protocol", "password", "action", "reason"]
)  # fmt: skip
type_names = st.sampled_from(
    ["hello", "join", "leave", "say", "whisper", "nick", "topic", "list", "who",
     "history", "ping", "pong", "quit", "welcome", "bogus", ""]
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    type_names,
    st.dictionaries(field_names, json_values, max_size=6),
    st.booleans(),
    st.integers(min_value=1, max_value=100),
)
def test_parse_client_on_near_miss_objects_raises_only_message_error(
    kind: str, fields: dict[str, object], welcomed: bool, max_text: int
) -> None:
    obj = {"type": kind, **fields}
    raw = json.dumps(obj).encode()
    result = outcome(lambda: parse_client(raw, welcomed=welcomed, max_text=max_text))
    if isinstance(result, MessageError):
        if result.id is not None:
            assert result.id == obj.get("id")
        return
    message = cast(ClientMessage, result)
    assert message.type == obj["type"]
    assert welcomed or message.type in {"hello", "ping", "pong"}


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_parse_server_on_arbitrary_bytes_raises_only_message_error(data: bytes) -> None:
    result = outcome(lambda: parse_server(data))
    if isinstance(result, MessageError):
        assert result.code in {"bad_message", "unknown_type"}
