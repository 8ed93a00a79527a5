"""The models of the protocol's additions: what they accept and what they refuse."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from protocol import (
    RATED_TYPES,
    Ban,
    FileOffer,
    Joined,
    MessageError,
    SetMode,
    encode_body,
    parse_client,
    safe_file_name,
)

SHA = "ab" * 32


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\notes.txt", "notes.txt"),
        ("evil\u202etxt.exe", "eviltxt.exe"),
        ("bell\x07\x1b[2J.txt", "bell[2J.txt"),
        ("dir/", None),
        ("..", None),
        (".", None),
        ("\x00\x01", None),
        ("x" * 256, None),
        ("x" * 255, "x" * 255),
    ],
)
def test_a_file_name_is_reduced_to_a_safe_base_name(name: str, safe: str | None) -> None:
    assert safe_file_name(name) == safe


def test_a_file_offer_carries_the_safe_name_and_a_lower_case_hash() -> None:
    offer = FileOffer(room="lobby", name="a/b/c.txt", size=3, sha256=SHA.upper())
    assert (offer.name, offer.sha256) == ("c.txt", SHA)


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "x", "size": 1, "sha256": SHA},  # neither room nor to
        {"room": "r", "to": "bob", "name": "x", "size": 1, "sha256": SHA},
        {"room": "r", "name": "..", "size": 1, "sha256": SHA},
        {"room": "r", "name": "x", "size": -1, "sha256": SHA},
        {"room": "r", "name": "x", "size": 1, "sha256": "zz" * 32},
    ],
)
def test_a_broken_file_offer_is_bad_message(fields: dict[str, object]) -> None:
    body = json.dumps({"type": "file_offer", **fields}).encode()
    with pytest.raises(MessageError) as caught:
        parse_client(body)
    assert caught.value.code == "bad_message"


def test_a_ban_names_exactly_one_target_and_normalises_an_address() -> None:
    assert Ban(room="r", address="10.1.2.3/8").address == "10.0.0.0/8"
    assert Ban(room="r", nick="troll").nick == "troll"
    for fields in ({}, {"nick": "a", "address": "10.0.0.1"}, {"address": "not-an-ip"}):
        with pytest.raises(ValidationError):
            Ban(room="r", **fields)  # type: ignore[arg-type]


def test_a_mode_request_changes_only_the_modes_it_names() -> None:
    assert SetMode(room="r", key=None, moderated=True).changes() == {
        "key": None,
        "moderated": True,
    }
    for key in ("", "has space", "a,b", "k" * 33):
        with pytest.raises(ValidationError):
            SetMode(room="r", key=key)
    with pytest.raises(ValidationError):
        SetMode(room="r", limit=0)


def test_joined_always_carries_ops_voiced_and_all_five_modes() -> None:
    body = Joined(room="r", members=["a"], topic=None, history=[]).model_dump(by_alias=True)
    assert body["ops"] == []
    assert body["voiced"] == []
    assert body["modes"] == {
        "invite_only": False,
        "key": None,
        "topic_ops": False,
        "moderated": False,
        "limit": None,
    }
    assert "topic_by" not in body


def test_a_mode_request_puts_key_and_limit_on_the_wire_only_when_set() -> None:
    """A ``null`` key or limit removes it: one left out must stay out of the frame."""
    assert encode_body(SetMode(room="r", moderated=True)) == (
        b'{"type":"mode","room":"r","moderated":true}'
    )
    assert encode_body(SetMode(room="r", key=None)) == b'{"type":"mode","room":"r","key":null}'
    parsed = parse_client(encode_body(SetMode(room="r", topic_ops=True)))
    assert isinstance(parsed, SetMode)
    assert parsed.changes() == {"topic_ops": True}


def test_a_single_address_stays_an_address_and_a_duration_may_be_fractional() -> None:
    assert Ban(room="r", address="127.0.0.1").address == "127.0.0.1"
    assert Ban(room="r", address="::0001").address == "::1"
    assert Ban(room="r", address="fe80::1/64").address == "fe80::/64"
    assert Ban(room="r", nick="a", duration=1.5).duration == 1.5
    for duration in (0, -1):
        with pytest.raises(ValidationError):
            Ban(room="r", nick="a", duration=duration)


def test_join_and_leave_cost_a_rate_token() -> None:
    assert {"join", "leave"} <= RATED_TYPES
    assert not {"whois", "bans", "files", "who", "list", "history"} & RATED_TYPES
