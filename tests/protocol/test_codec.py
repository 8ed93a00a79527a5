"""The framing codec and parse_client/parse_server, fed bytes split at awkward places."""

from __future__ import annotations

import contextlib
import json
import struct
from typing import Any

import pytest

from protocol import (
    DEFAULT_MAX_FRAME,
    HEADER_SIZE,
    BadFrame,
    Decoder,
    Error,
    FrameError,
    FrameTooLarge,
    Hello,
    HistoryRequest,
    Join,
    ListRooms,
    Message,
    MessageError,
    Ping,
    Pong,
    ProtocolError,
    Say,
    SetTopic,
    Whisper,
    encode,
    encode_body,
    frame,
    parse_client,
    parse_server,
)


def body(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj).encode()


def header(length: int) -> bytes:
    return struct.pack(">I", length)


def drain(decoder: Decoder) -> list[bytes]:
    return list(decoder)


def client_error(raw: bytes, **kwargs: Any) -> MessageError:
    with pytest.raises(MessageError) as info:
        parse_client(raw, **kwargs)
    return info.value


# --- framing ------------------------------------------------------------------


def test_frame_prefixes_body_with_big_endian_length() -> None:
    assert frame(b"abc") == b"\x00\x00\x00\x03abc"
    assert HEADER_SIZE == 4


def test_encode_is_frame_of_encode_body() -> None:
    message = Join(room="lobby")
    assert encode(message) == frame(encode_body(message))
    assert json.loads(encode_body(message)) == {"type": "join", "room": "lobby"}


def test_whole_frame_in_one_chunk_is_decoded() -> None:
    decoder = Decoder()
    decoder.feed(frame(b'{"type":"list"}'))
    assert drain(decoder) == [b'{"type":"list"}']
    assert decoder.buffered == 0


def test_frame_fed_byte_by_byte_is_decoded() -> None:
    data = encode(Say(room="lobby", text="hello there", id="x1"))
    decoder = Decoder()
    seen: list[bytes] = []
    for i in range(len(data)):
        decoder.feed(data[i : i + 1])
        got = drain(decoder)
        if i < len(data) - 1:
            assert got == [], f"frame returned early after {i + 1} bytes"
        seen.extend(got)
    assert seen == [data[HEADER_SIZE:]]


def test_fifty_frames_in_one_chunk_are_all_decoded_in_order() -> None:
    bodies = [body({"type": "say", "room": "r", "text": f"m{i}"}) for i in range(50)]
    decoder = Decoder()
    decoder.feed(b"".join(frame(b) for b in bodies))
    assert drain(decoder) == bodies
    assert decoder.buffered == 0


def test_header_split_across_chunks_is_decoded() -> None:
    data = frame(b'{"type":"list"}')
    for cut in range(1, HEADER_SIZE):
        decoder = Decoder()
        decoder.feed(data[:cut])
        assert decoder.next_frame() is None
        decoder.feed(data[cut:])
        assert decoder.next_frame() == b'{"type":"list"}'


def test_partial_body_waits_for_the_rest() -> None:
    data = frame(b"x" * 100)
    decoder = Decoder()
    decoder.feed(data[:50])
    assert decoder.next_frame() is None
    assert decoder.buffered == 50
    decoder.feed(data[50:])
    assert decoder.next_frame() == b"x" * 100


def test_trailing_partial_frame_is_kept_after_complete_ones() -> None:
    first, second = frame(b"one"), frame(b"second")
    decoder = Decoder()
    decoder.feed(first + second[:5])
    assert drain(decoder) == [b"one"]
    assert decoder.buffered == 5
    decoder.feed(second[5:])
    assert drain(decoder) == [b"second"]


def test_zero_length_frame_is_bad_frame() -> None:
    decoder = Decoder()
    decoder.feed(header(0))
    with pytest.raises(BadFrame) as info:
        decoder.next_frame()
    assert info.value.code == "bad_frame"
    assert isinstance(info.value, FrameError)


def test_zero_length_after_good_frames_yields_them_first() -> None:
    decoder = Decoder()
    decoder.feed(frame(b"a") + frame(b"b") + header(0))
    assert decoder.next_frame() == b"a"
    assert decoder.next_frame() == b"b"
    with pytest.raises(BadFrame):
        decoder.next_frame()


def test_oversized_length_raises_as_soon_as_header_is_in() -> None:
    decoder = Decoder(max_frame=1000)
    decoder.feed(header(1001)[:3])
    assert decoder.next_frame() is None
    decoder.feed(header(1001)[3:])
    with pytest.raises(FrameTooLarge) as info:
        decoder.next_frame()
    assert info.value.code == "frame_too_large"
    assert "1001" in info.value.message
    assert "1000" in info.value.message


def test_maximum_length_frame_is_accepted() -> None:
    decoder = Decoder(max_frame=300)
    decoder.feed(frame(b"y" * 300))
    assert decoder.next_frame() == b"y" * 300


def test_length_of_two_to_the_32_minus_one_is_frame_too_large() -> None:
    decoder = Decoder()
    decoder.feed(b"\xff\xff\xff\xff")
    with pytest.raises(FrameTooLarge):
        decoder.next_frame()


def test_default_max_frame_is_65536() -> None:
    assert DEFAULT_MAX_FRAME == 65536
    assert Decoder().max_frame == 65536
    decoder = Decoder()
    decoder.feed(header(65537))
    with pytest.raises(FrameTooLarge):
        decoder.next_frame()


def test_decoder_does_not_buffer_more_than_one_incomplete_frame() -> None:
    decoder = Decoder(max_frame=1000)
    for _ in range(100):
        decoder.feed(frame(b"z" * 999))
        drain(decoder)
    decoder.feed(frame(b"z" * 999)[:500])
    drain(decoder)
    assert decoder.buffered == 500


def test_frame_errors_belong_to_the_one_error_tree() -> None:
    assert issubclass(FrameTooLarge, FrameError)
    assert issubclass(BadFrame, FrameError)
    assert issubclass(FrameError, ProtocolError)
    assert issubclass(MessageError, ProtocolError)
    assert not issubclass(MessageError, FrameError)


# --- parse_client: order of checks ---------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"\xff\xfe{}",
        b"not json",
        b"[1, 2]",
        b'"hello"',
        b"42",
        b"null",
        b"{",
        b'{"type": "list"} trailing',
    ],
)
def test_body_that_is_not_a_utf8_json_object_is_bad_message(raw: bytes) -> None:
    assert client_error(raw).code == "bad_message"


@pytest.mark.parametrize("kind", [5, None, True, ["say"], {"a": 1}])
def test_type_that_is_not_a_string_is_bad_message(kind: object) -> None:
    assert client_error(body({"type": kind})).code == "bad_message"


def test_missing_type_is_bad_message() -> None:
    assert client_error(body({"room": "lobby"})).code == "bad_message"


def test_non_string_type_is_bad_message_even_before_welcome() -> None:
    assert client_error(body({"type": 7}), welcomed=False).code == "bad_message"


def test_unknown_type_before_welcome_is_not_ready() -> None:
    error = client_error(body({"type": "dance"}), welcomed=False)
    assert error.code == "not_ready"


def test_unknown_type_after_welcome_is_unknown_type_with_ref() -> None:
    error = client_error(body({"type": "dance", "id": "q1"}))
    assert error.code == "unknown_type"
    assert error.ref == "dance"


def test_known_type_before_welcome_is_not_ready_even_with_bad_fields() -> None:
    error = client_error(body({"type": "say"}), welcomed=False)
    assert error.code == "not_ready"
    assert error.ref == "say"


def test_valid_say_before_welcome_is_not_ready_with_id() -> None:
    error = client_error(
        body({"type": "say", "room": "r", "text": "t", "id": "i9"}), welcomed=False
    )
    assert error.code == "not_ready"
    assert error.id == "i9"


@pytest.mark.parametrize(
    "message",
    [
        {"type": "hello", "nick": "alice", "protocol": 1},
        {"type": "ping"},
        {"type": "ping", "token": "t"},
        {"type": "pong"},
    ],
)
def test_hello_ping_and_pong_are_accepted_before_welcome(message: dict[str, Any]) -> None:
    assert parse_client(body(message), welcomed=False).type == message["type"]


@pytest.mark.parametrize(
    "message",
    [
        {"type": "join"},
        {"type": "join", "room": 5},
        {"type": "say", "room": "r"},
        {"type": "say", "room": "r", "text": 5},
        {"type": "say", "room": "r", "text": "t", "action": "yes"},
        {"type": "hello", "nick": "alice", "protocol": "1"},
        {"type": "hello", "nick": "alice"},
        {"type": "whisper", "to": "bob"},
        {"type": "history", "room": "r", "before": "10"},
        {"type": "nick", "nick": None},
        {"type": "topic", "room": "r"},
        {"type": "ping", "token": 5},
    ],
)
def test_missing_or_wrongly_typed_field_is_bad_message(message: dict[str, Any]) -> None:
    error = client_error(body(message))
    assert error.code == "bad_message"
    assert error.ref == message["type"]


def test_wrongly_typed_field_beats_rule_code() -> None:
    # room is invalid by rule, but text has the wrong type: bad_message wins.
    error = client_error(body({"type": "say", "room": "a b", "text": 5}))
    assert error.code == "bad_message"


# --- parse_client: rule codes -------------------------------------------------------


@pytest.mark.parametrize(
    "nick", ["", "-alice", "a" * 33, "al ice", "alïce", "al.ice", "al@ice", "al\nice"]
)
def test_nick_breaking_the_rule_is_nick_invalid(nick: str) -> None:
    assert client_error(body({"type": "nick", "nick": nick})).code == "nick_invalid"
    whisper = body({"type": "whisper", "to": nick, "text": "hi"})
    assert client_error(whisper).code == "nick_invalid"


def test_hello_leaves_the_nick_rule_to_the_server() -> None:
    # docs/protocol.md checks protocol and password before the nick, so the codec
    # must let a malformed hello nick through for the server to judge in order.
    hello = parse_client(body({"type": "hello", "nick": "-bad", "protocol": 2}), welcomed=False)
    assert hello.type == "hello"
    assert hello.nick == "-bad"


@pytest.mark.parametrize("nick", ["a", "A", "0", "_", "a-b", "a_b", "Z9-", "x" * 32, "_-"])
def test_nick_within_the_rule_is_accepted(nick: str) -> None:
    message = parse_client(body({"type": "nick", "nick": nick}))
    assert message == parse_client(encode_body(message))


@pytest.mark.parametrize("room", ["", "a b", "r" * 65, "#lobby", "lob/by", "ümlaut", "a,b"])
def test_room_breaking_the_rule_is_room_invalid(room: str) -> None:
    for kind in ("join", "leave", "who"):
        assert client_error(body({"type": kind, "room": room})).code == "room_invalid"
    say = body({"type": "say", "room": room, "text": "hi"})
    assert client_error(say).code == "room_invalid"


@pytest.mark.parametrize("room", ["a", "lobby", "Lobby.2", "-x", ".", "r" * 64, "a_b-c.d"])
def test_room_within_the_rule_is_accepted(room: str) -> None:
    assert parse_client(body({"type": "join", "room": room})) == Join(room=room)


def test_text_over_max_text_is_text_too_long() -> None:
    raw = body({"type": "say", "room": "r", "text": "x" * 11, "id": "m1"})
    error = client_error(raw, max_text=10)
    assert error.code == "text_too_long"
    assert error.ref == "say"
    assert error.id == "m1"


def test_text_at_max_text_is_accepted() -> None:
    message = parse_client(body({"type": "say", "room": "r", "text": "x" * 10}), max_text=10)
    assert isinstance(message, Say)


def test_default_max_text_is_4000_characters() -> None:
    assert isinstance(parse_client(body({"type": "say", "room": "r", "text": "é" * 4000})), Say)
    raw = body({"type": "say", "room": "r", "text": "é" * 4001})
    assert client_error(raw).code == "text_too_long"


def test_text_length_counts_code_points_not_bytes() -> None:
    message = parse_client(body({"type": "say", "room": "r", "text": "🎉" * 5}), max_text=5)
    assert isinstance(message, Say)
    assert message.text == "🎉" * 5


def test_whisper_text_is_limited_too() -> None:
    raw = body({"type": "whisper", "to": "bob", "text": "abc"})
    assert client_error(raw, max_text=2).code == "text_too_long"


def test_nul_is_stripped_from_text() -> None:
    message = parse_client(body({"type": "say", "room": "r", "text": "a\x00b\x00"}))
    assert isinstance(message, Say)
    assert message.text == "ab"


def test_text_length_is_counted_after_nul_is_removed() -> None:
    raw = body({"type": "say", "room": "r", "text": "\x00" * 20 + "abc"})
    message = parse_client(raw, max_text=3)
    assert isinstance(message, Say)
    assert message.text == "abc"


@pytest.mark.parametrize("text", ["", "\x00", "\x00\x00\x00"])
def test_text_empty_after_nul_removal_is_bad_message(text: str) -> None:
    error = client_error(body({"type": "say", "room": "r", "text": text, "id": "e"}))
    assert error.code == "bad_message"
    assert error.id == "e"
    whisper = body({"type": "whisper", "to": "bob", "text": text})
    assert client_error(whisper).code == "bad_message"


@pytest.mark.parametrize("escaped", ["\\ud800", "\\udfff", "a\\udc00b", "\\ud83d"])
def test_text_with_lone_surrogate_is_bad_message(escaped: str) -> None:
    raw = b'{"type":"say","room":"r","text":"' + escaped.encode() + b'","id":"s"}'
    error = client_error(raw)
    assert error.code == "bad_message"
    assert error.ref == "say"
    assert error.id == "s"


@pytest.mark.parametrize(
    ("raw", "ref"),
    [
        (b'{"type":"say","room":"r","text":"t","id":"\\ud800"}', "say"),
        (b'{"type":"\\udc00","id":"\\ud800"}', None),
        (b'{"type":"\\ud83d"}', None),
    ],
)
def test_id_or_type_with_lone_surrogate_is_not_echoed(raw: bytes, ref: str | None) -> None:
    error = client_error(raw)
    assert error.code == "bad_message"
    assert error.id is None
    assert error.ref == ref
    assert encode(Error(code=error.code, message=error.message, ref=error.ref, id=error.id))


def test_paired_surrogate_escape_is_a_normal_character() -> None:
    raw = b'{"type":"say","room":"r","text":"\\ud83c\\udf89"}'
    message = parse_client(raw)
    assert isinstance(message, Say)
    assert message.text == "🎉"


def test_raw_surrogate_bytes_are_not_utf8_and_bad_message() -> None:
    raw = b'{"type":"say","room":"r","text":"\xed\xa0\x80"}'
    assert client_error(raw).code == "bad_message"


def test_id_of_64_characters_is_accepted_and_65_is_bad_message() -> None:
    ok = parse_client(body({"type": "say", "room": "r", "text": "t", "id": "i" * 64}))
    assert isinstance(ok, Say)
    assert ok.id == "i" * 64
    raw = body({"type": "say", "room": "r", "text": "t", "id": "i" * 65})
    assert client_error(raw).code == "bad_message"


def test_token_of_65_characters_is_bad_message() -> None:
    assert parse_client(body({"type": "ping", "token": "t" * 64})) == Ping(token="t" * 64)
    assert client_error(body({"type": "ping", "token": "t" * 65})).code == "bad_message"
    assert client_error(body({"type": "pong", "token": "t" * 65})).code == "bad_message"


@pytest.mark.parametrize("limit", [1, 50, 100])
def test_history_limit_within_1_to_100_is_accepted(limit: int) -> None:
    message = parse_client(body({"type": "history", "room": "r", "limit": limit}))
    assert message == HistoryRequest(room="r", limit=limit)


@pytest.mark.parametrize("limit", [0, -1, 101, 10**6])
def test_history_limit_outside_1_to_100_is_bad_message(limit: int) -> None:
    error = client_error(body({"type": "history", "room": "r", "limit": limit}))
    assert error.code == "bad_message"


def test_history_limit_defaults_to_50_and_before_to_absent() -> None:
    message = parse_client(body({"type": "history", "room": "r"}))
    assert message == HistoryRequest(room="r", limit=50, before=None)


def test_unknown_fields_are_ignored() -> None:
    raw = body({"type": "join", "room": "lobby", "colour": "blue", "extra": {"nested": [1]}})
    assert parse_client(raw) == Join(room="lobby")
    assert parse_client(body({"type": "list", "x": 1})) == ListRooms()


def test_action_flag_is_read() -> None:
    message = parse_client(body({"type": "say", "room": "r", "text": "waves", "action": True}))
    assert isinstance(message, Say)
    assert message.action is True


def test_topic_empty_string_or_null_clears() -> None:
    assert parse_client(body({"type": "topic", "room": "r", "topic": ""})) == SetTopic(
        room="r", topic=None
    )
    assert parse_client(body({"type": "topic", "room": "r", "topic": None})) == SetTopic(
        room="r", topic=None
    )


def test_topic_over_max_text_is_text_too_long() -> None:
    raw = body({"type": "topic", "room": "r", "topic": "x" * 6})
    assert client_error(raw, max_text=5).code == "text_too_long"
    ok = parse_client(body({"type": "topic", "room": "r", "topic": "x" * 5}), max_text=5)
    assert ok == SetTopic(room="r", topic="x" * 5)


def test_error_ref_is_absent_when_type_is_unreadable() -> None:
    assert client_error(body({"type": 5, "id": "z"})).ref is None
    assert client_error(b"garbage").ref is None


def test_overlong_id_is_not_echoed() -> None:
    raw = body({"type": "say", "room": "a b", "text": "t", "id": "i" * 65})
    error = client_error(raw)
    assert error.id is None


def test_deeply_nested_json_is_bad_message_not_a_crash() -> None:
    raw = b'{"type":"list","x":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    # A bad_message (or acceptance) is fine; any other exception is a bug.
    with contextlib.suppress(MessageError):
        parse_client(raw)


# --- parse_server -------------------------------------------------------------------


def test_parse_server_reads_from_alias() -> None:
    raw = body({"type": "message", "room": "r", "from": "bob", "text": "hi", "ts": 1.5, "seq": 3})
    message = parse_server(raw)
    assert isinstance(message, Message)
    assert message.from_ == "bob"
    assert message.action is False
    assert message.id is None


def test_parse_server_unknown_type_is_unknown_type() -> None:
    with pytest.raises(MessageError) as info:
        parse_server(body({"type": "fireworks"}))
    assert info.value.code == "unknown_type"


def test_parse_server_bad_shape_is_bad_message() -> None:
    with pytest.raises(MessageError) as info:
        parse_server(body({"type": "welcome", "nick": "a"}))
    assert info.value.code == "bad_message"
    with pytest.raises(MessageError) as info:
        parse_server(b"\x00\x01")
    assert info.value.code == "bad_message"


def test_parse_server_ignores_unknown_fields() -> None:
    assert parse_server(body({"type": "pong", "token": "t", "later": 1})) == Pong(token="t")


# --- encoding ----------------------------------------------------------------------


def test_client_messages_encode_to_parseable_frames() -> None:
    messages = [
        Hello(nick="alice", protocol=1),
        Hello(nick="alice", protocol=1, password="pw"),
        Whisper(to="bob", text="psst", id="w1"),
        Say(room="r", text="hi", action=True),
    ]
    for message in messages:
        decoder = Decoder()
        decoder.feed(encode(message))
        (got,) = drain(decoder)
        assert parse_client(got) == message
