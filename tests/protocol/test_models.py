"""The message models: what goes on the wire, and what cannot be built."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from protocol import (
    ERROR_CODES,
    HISTORY_LIMIT_DEFAULT,
    HISTORY_LIMIT_MAX,
    PRE_WELCOME_TYPES,
    PROTOCOL_VERSION,
    Bye,
    Error,
    Hello,
    HistoryRequest,
    Join,
    Joined,
    Members,
    Message,
    Ping,
    Pong,
    Presence,
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
    encode_body,
    fold,
    is_valid_nick,
    is_valid_room,
    parse_server,
)


def wire(message: BaseModel) -> dict[str, Any]:
    value = json.loads(encode_body(message))
    assert isinstance(value, dict)
    return value


def test_protocol_version_is_1() -> None:
    assert PROTOCOL_VERSION == 1
    assert Welcome(nick="a", epoch="e", server="s", rooms=[]).protocol == 1


def test_error_codes_are_those_documented_in_the_protocol() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()
    section = docs.split("\n## Errors\n", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.MULTILINE))
    assert documented == ERROR_CODES


def test_an_error_with_a_code_the_protocol_does_not_have_cannot_be_built() -> None:
    with pytest.raises(ValidationError):
        Error(code="oops", message="x")  # type: ignore[arg-type]


def test_only_hello_ping_and_pong_are_allowed_before_welcome() -> None:
    assert {"hello", "ping", "pong"} == PRE_WELCOME_TYPES


def test_history_limit_constants_match_the_contract() -> None:
    assert (HISTORY_LIMIT_DEFAULT, HISTORY_LIMIT_MAX) == (50, 100)


def test_message_sender_goes_on_the_wire_as_from() -> None:
    message = Message(room="r", from_="bob", text="hi", ts=1.25, seq=7)
    data = wire(message)
    assert data["from"] == "bob"
    assert "from_" not in data


def test_whisper_sender_goes_on_the_wire_as_from() -> None:
    data = wire(WhisperMessage(from_="a", to="b", text="t", ts=0.0))
    assert data == {"type": "whisper", "from": "a", "to": "b", "text": "t", "ts": 0.0}


def test_message_built_with_from_alias_equals_one_built_by_name() -> None:
    by_alias = Message.model_validate(
        {"room": "r", "from": "bob", "text": "hi", "ts": 1.0, "seq": 1}
    )
    assert by_alias == Message(room="r", from_="bob", text="hi", ts=1.0, seq=1)


def test_message_always_carries_action_and_seq_and_ts() -> None:
    data = wire(Message(room="r", from_="b", text="t", ts=2.5, seq=1))
    assert data == {
        "type": "message",
        "room": "r",
        "from": "b",
        "text": "t",
        "ts": 2.5,
        "seq": 1,
        "action": False,
    }


def test_message_id_is_present_only_when_set() -> None:
    data = wire(Message(room="r", from_="b", text="t", ts=2.5, seq=1, id="c1", action=True))
    assert data["id"] == "c1"
    assert data["action"] is True


@pytest.mark.parametrize(
    ("message", "absent"),
    [
        (Hello(nick="a", protocol=1), {"password"}),
        (Say(room="r", text="t"), {"id", "action"}),
        (Whisper(to="b", text="t"), {"id"}),
        (HistoryRequest(room="r"), {"before"}),
        (Ping(), {"token"}),
        (Pong(), {"token"}),
        (Quit(), {"reason"}),
        (Welcome(nick="a", epoch="e", server="s", rooms=[]), {"motd", "truncated"}),
        (Presence(room="r", nick="a", event="join"), {"reason"}),
        (Error(code="bad_message", message="m"), {"ref", "id"}),
        (RoomList(rooms=[]), {"truncated"}),
        (Members(room="r", members=[]), {"truncated"}),
        (WhisperMessage(from_="a", to="b", text="t", ts=1.0), {"id"}),
    ],
)
def test_optional_fields_that_are_absent_stay_off_the_wire(
    message: BaseModel, absent: set[str]
) -> None:
    data = wire(message)
    assert not absent & data.keys(), f"{absent & data.keys()} sent for {data}"
    for key, value in data.items():
        assert value is not None or key == "topic", f"{key} sent as null"


def test_optional_fields_that_are_set_go_on_the_wire() -> None:
    assert wire(Hello(nick="a", protocol=1, password="pw"))["password"] == "pw"
    assert wire(Ping(token="t"))["token"] == "t"
    assert wire(Error(code="not_in_room", message="m", ref="say", id="i"))["ref"] == "say"
    assert wire(RoomList(rooms=[], truncated=True))["truncated"] is True
    assert wire(Welcome(nick="a", epoch="e", server="s", rooms=[], motd="hi"))["motd"] == "hi"


def test_null_topic_is_sent_as_null() -> None:
    assert wire(Topic(room="r", topic=None, by="a"))["topic"] is None
    joined = wire(Joined(room="r", members=["a"], topic=None, history=[]))
    assert joined["topic"] is None
    assert wire(RoomList(rooms=[RoomInfo(name="r", members=1, topic=None)]))["rooms"] == [
        {"name": "r", "members": 1, "topic": None}
    ]


def test_every_message_on_the_wire_names_its_type() -> None:
    assert wire(Join(room="r"))["type"] == "join"
    assert wire(SetTopic(room="r", topic="t"))["type"] == "topic"
    assert wire(Bye(reason="quit"))["type"] == "bye"


def test_models_are_frozen() -> None:
    join = Join(room="r")
    with pytest.raises(ValidationError):
        join.room = "other"  # type: ignore[misc]


def test_invalid_client_message_cannot_be_built() -> None:
    with pytest.raises(ValidationError):
        Join(room="no spaces")
    with pytest.raises(ValidationError):
        SetNick(nick="-dash")
    with pytest.raises(ValidationError):
        Say(room="r", text="")
    with pytest.raises(ValidationError):
        HistoryRequest(room="r", limit=101)


def test_models_are_strict_about_types() -> None:
    with pytest.raises(ValidationError):
        Hello.model_validate({"nick": "a", "protocol": "1"})
    with pytest.raises(ValidationError):
        Say.model_validate({"room": "r", "text": "t", "action": 1})


def test_nick_and_room_predicates_follow_the_rule() -> None:
    assert is_valid_nick("alice_-1")
    assert not is_valid_nick("-alice")
    assert not is_valid_nick("a" * 33)
    assert is_valid_room("a.b-c_d")
    assert not is_valid_room("r" * 65)
    assert not is_valid_room("")


def test_fold_makes_names_case_insensitive() -> None:
    assert fold("Alice") == fold("ALICE") == fold("alice")
    assert fold("Lobby.Main") == fold("lobby.main")
    assert fold("bob") != fold("bob_")


def test_a_client_keeps_an_error_code_of_a_newer_server() -> None:
    error = parse_server(b'{"type":"error","code":"from_the_future","message":"hm"}')
    assert isinstance(error, Error)
    code: str = error.code  # typed as this version's codes; holds the newer one
    assert code == "from_the_future"
