"""Rooms and channels, msgids, server-time, history references and ban masks."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chat_server.doors.irc.errors import LocalIrcError
from chat_server.doors.irc.mapping import (
    BanMask,
    MsgId,
    TimestampRef,
    channel_name,
    format_server_time,
    hostmask,
    irc_host,
    msgid,
    parse_ban_mask,
    parse_message_ref,
    parse_msgid,
    parse_server_time,
    room_name,
)
from chat_server.doors.irc.wire import IrcMessage

ROOMS = st.from_regex(r"[A-Za-z0-9_.-]{1,64}", fullmatch=True)
NICKS = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,31}", fullmatch=True)


# --- rooms --------------------------------------------------------------------


def test_a_room_is_a_channel_without_its_hash() -> None:
    assert channel_name("general") == "#general"
    assert room_name("#general") == "general"
    assert room_name("#my-room.v2") == "my-room.v2"


@pytest.mark.parametrize(
    "channel",
    ["general", "#", "&general", "##general", "#a b", "#a,b", "#a:b", "#" + "x" * 65, "#é"],
)
def test_a_channel_that_is_not_hash_and_a_room_name_has_no_room(channel: str) -> None:
    assert room_name(channel) is None


@given(ROOMS)
def test_room_to_channel_and_back_is_the_same_room(room: str) -> None:
    assert room_name(channel_name(room)) == room
    assert len(channel_name(room)) <= 65


# --- hosts --------------------------------------------------------------------


def test_an_ipv6_host_starting_with_a_colon_gets_a_zero() -> None:
    assert irc_host("::1") == "0::1"
    assert irc_host("2001:db8::1") == "2001:db8::1"
    assert irc_host("192.0.2.1") == "192.0.2.1"
    assert hostmask("alice", "alice", "::1") == "alice!alice@0::1"
    IrcMessage("352", ["me", "#r", "alice", irc_host("::1"), "srv", "alice", "H", "0 alice"])


# --- message ids --------------------------------------------------------------


def test_a_msgid_names_epoch_folded_room_and_seq() -> None:
    assert msgid("3f9c", "General", 42) == "3f9c:general:42"
    assert parse_msgid("3f9c:general:42") == MsgId("3f9c", "general", 42)


def test_parse_msgid_reads_from_the_right_so_rooms_with_dots_and_epochs_with_colons_work() -> None:
    assert parse_msgid("a:b:my.room-2:7") == MsgId("a:b", "my.room-2", 7)
    assert parse_msgid("e:Room:1") == MsgId("e", "room", 1)


@pytest.mark.parametrize(
    "text",
    ["", "e:room", "e:room:0", "e:room:-1", "e:room:07", "e:room:1.5", ":room:1", "e::1",
     "e:ro om:1", "e:room:\u0661", "e:room:" + "9" * 30, "e p:room:1"],
)  # fmt: skip
def test_a_msgid_that_is_not_ours_parses_to_none(text: str) -> None:
    assert parse_msgid(text) is None


@pytest.mark.parametrize(
    ("epoch", "room", "seq"),
    [("", "r", 1), ("e f", "r", 1), ("e\x1f", "r", 1), ("e", "r:x", 1), ("e", "r", 0)],
)
def test_a_msgid_cannot_be_built_from_invalid_parts(epoch: str, room: str, seq: int) -> None:
    with pytest.raises(LocalIrcError):
        msgid(epoch, room, seq)


@given(
    st.from_regex(r"[!-~]{1,20}", fullmatch=True),
    ROOMS,
    st.integers(min_value=1, max_value=10**17),
)  # fmt: skip
def test_msgid_round_trips(epoch: str, room: str, seq: int) -> None:
    assert parse_msgid(msgid(epoch, room, seq)) == MsgId(epoch, room.lower(), seq)


# --- server-time --------------------------------------------------------------


def test_server_time_is_utc_with_milliseconds() -> None:
    assert format_server_time(0) == "1970-01-01T00:00:00.000Z"
    assert format_server_time(1_546_612_406.123) == "2019-01-04T14:33:26.123Z"
    assert format_server_time(1.001) == "1970-01-01T00:00:01.001Z"
    assert format_server_time(59.9996) == "1970-01-01T00:01:00.000Z"


@pytest.mark.parametrize(
    ("text", "ts"),
    [
        ("2019-01-04T14:33:26.123Z", 1_546_612_406.123),
        ("2019-01-04T14:33:26Z", 1_546_612_406.0),
        ("2019-01-04T14:33:26.5Z", 1_546_612_406.5),
        ("2019-01-04T14:33:26.123456789Z", 1_546_612_406.123456789),
    ],
)
def test_parse_server_time_accepts_any_number_of_decimals(text: str, ts: float) -> None:
    assert parse_server_time(text) == pytest.approx(ts, abs=1e-6)


@pytest.mark.parametrize(
    "text",
    ["", "2019-01-04", "2019-01-04T14:33:26.123", "2019-01-04T14:33:26.123+00:00",
     "2019-13-04T14:33:26Z", "2019-02-30T00:00:00Z", "2019-01-04T24:00:00Z",
     "2019-01-04 14:33:26Z", "2019-01-04T14:33:26.Z", "\u0662\u0660\u0661\u0669-01-04T14:33:26Z",
     "2019-01-04T14:33:26.1234567890Z"],
)  # fmt: skip
def test_a_timestamp_not_in_server_time_format_parses_to_none(text: str) -> None:
    assert parse_server_time(text) is None


@given(st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False))
def test_server_time_round_trips_to_the_millisecond(ts: float) -> None:
    back = parse_server_time(format_server_time(ts))
    assert back is not None
    assert abs(back - ts) <= 0.0005 + 1e-6


# --- history references -------------------------------------------------------


def test_message_refs_are_msgids_or_timestamps() -> None:
    assert parse_message_ref("msgid=e:general:3") == MsgId("e", "general", 3)
    assert parse_message_ref("timestamp=1970-01-01T00:00:01.500Z") == TimestampRef(1.5)


@pytest.mark.parametrize(
    "text", ["*", "msgid", "msgid=", "msgid=nope", "timestamp=yesterday", "seq=3", "=x"]
)
def test_a_message_ref_that_is_neither_parses_to_none(text: str) -> None:
    assert parse_message_ref(text) is None


# --- ban masks ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("mask", "ban"),
    [
        ("alice!*@*", BanMask(nick="alice")),
        ("alice", BanMask(nick="alice")),
        ("Alice_-2", BanMask(nick="Alice_-2")),
        ("*!*@192.0.2.7", BanMask(address="192.0.2.7")),
        ("*!*@192.0.2.0/24", BanMask(address="192.0.2.0/24")),
        ("*!*@2001:db8::1", BanMask(address="2001:db8::1")),
        ("*!*@2001:DB8:0::/32", BanMask(address="2001:db8::/32")),
        ("*!*@::1", BanMask(address="::1")),
    ],
)
def test_supported_ban_masks_become_nick_or_address_bans(mask: str, ban: BanMask) -> None:
    assert parse_ban_mask(mask) == ban


@pytest.mark.parametrize(
    "mask",
    ["", "*", "*!*@*", "ali*!*@*", "alice!~a@*", "alice!*@host", "alice!*", "alice@*",
     "*!*@example.com", "*!*@192.0.2.300", "*!*@192.0.2.0/33", "bob!*@192.0.2.7",
     "-bad", "a!b!c@d", "*!*@fe80::1%eth0", "*!*@*.example.com", "*!*@"],
)  # fmt: skip
def test_any_other_ban_mask_is_refused(mask: str) -> None:
    assert parse_ban_mask(mask) is None


def test_a_ban_mask_is_shown_back_in_the_form_that_removes_it() -> None:
    assert BanMask(nick="alice").mask == "alice!*@*"
    assert BanMask(address="192.0.2.7").mask == "*!*@192.0.2.7"
    host_bits = parse_ban_mask("*!*@10.1.2.3/8")
    assert host_bits is not None
    assert host_bits.mask == "*!*@10.0.0.0/8"
    assert parse_ban_mask(host_bits.mask) == host_bits


@pytest.mark.parametrize(
    "build",
    [
        lambda: BanMask(),
        lambda: BanMask(nick="a", address="192.0.2.1"),
        lambda: BanMask(nick="bad nick"),
        lambda: BanMask(address="example.com"),
    ],
)
def test_a_ban_mask_needs_exactly_one_valid_target(build: Callable[[], BanMask]) -> None:
    with pytest.raises(LocalIrcError):
        build()


@given(NICKS)
def test_nick_ban_masks_round_trip(nick: str) -> None:
    assert parse_ban_mask(BanMask(nick=nick).mask) == BanMask(nick=nick)


@given(st.ip_addresses())
def test_address_ban_masks_round_trip(address: object) -> None:
    ban = BanMask(address=str(address))
    assert parse_ban_mask(ban.mask) == ban
