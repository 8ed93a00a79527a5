"""The 004 and 005 replies: honest tokens, at most 13 a line, within 512 bytes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chat_server.doors.irc.isupport import (
    CHANNELLEN,
    NICKLEN,
    Features,
    escape_value,
    isupport_replies,
    isupport_tokens,
    myinfo,
)
from chat_server.doors.irc.mapping import room_name
from chat_server.doors.irc.wire import MAX_LINE
from protocol import is_valid_nick

SERVER = "hub.lan"


def test_the_tokens_are_the_documented_ones_sorted() -> None:
    assert isupport_tokens(Features(network="LAN", max_text=4000)) == [
        "CASEMAPPING=ascii",
        "CHANMODES=b,k,l,imt",
        "CHANNELLEN=65",
        "CHANTYPES=#",
        "CHATHISTORY=100",
        "MODES=4",
        "MSGREFTYPES=msgid,timestamp",
        "NETWORK=LAN",
        "NICKLEN=32",
        "PREFIX=(ov)@+",
        "TARGMAX=JOIN:,KICK:1,LIST:1,NAMES:1,NOTICE:1,PART:1,PRIVMSG:1,TAGMSG:1,WHOIS:1",
        "TOPICLEN=4000",
        "UTF8ONLY",
    ]


def test_topiclen_follows_max_text_and_optional_lengths_appear_when_given() -> None:
    tokens = isupport_tokens(Features(network="LAN", max_text=500, awaylen=300, kicklen=200))
    assert "TOPICLEN=500" in tokens
    assert tokens[0] == "AWAYLEN=300"
    assert "KICKLEN=200" in tokens


def test_nicklen_and_channellen_match_the_name_rules() -> None:
    assert is_valid_nick("n" * NICKLEN)
    assert not is_valid_nick("n" * (NICKLEN + 1))
    assert room_name("#" + "r" * (CHANNELLEN - 1)) is not None
    assert room_name("#" + "r" * CHANNELLEN) is None


def test_a_network_name_with_spaces_is_escaped() -> None:
    assert escape_value("Home LAN=1\\") == "Home\\x20LAN\\x3D1\\x5C"
    assert escape_value("café") == "café"
    assert "NETWORK=Home\\x20LAN" in isupport_tokens(Features(network="Home LAN"))


def test_005_lines_hold_at_most_13_tokens_and_end_with_the_text() -> None:
    tokens = isupport_tokens(Features(network="LAN", awaylen=1, kicklen=1))
    lines = isupport_replies(SERVER, "alice", tokens)
    assert len(lines) == 2
    assert [len(m.params) - 2 for m in lines] == [13, 2]
    for message in lines:
        assert message.command == "005"
        assert message.params[0] == "alice"
        assert message.params[-1] == "are supported by this server"
    assert [t for m in lines for t in m.params[1:-1]] == tokens


@given(st.lists(st.from_regex(r"[A-Z]{1,10}=[a-z0-9]{0,300}", fullmatch=True), max_size=40))
def test_005_lines_never_exceed_512_bytes_or_13_tokens(tokens: list[str]) -> None:
    lines = isupport_replies(SERVER, "n" * 32, tokens)
    for message in lines:
        assert message.body_size() <= MAX_LINE
        assert 1 <= len(message.params) - 2 <= 13
    assert [t for m in lines for t in m.params[1:-1]] == tokens


def test_a_long_network_name_is_not_lost() -> None:
    tokens = isupport_tokens(Features(network="n" * 300))
    lines = isupport_replies(SERVER, "alice", tokens)
    assert "NETWORK=" + "n" * 300 in [t for m in lines for t in m.params]


def test_004_lists_user_modes_channel_modes_and_those_with_a_parameter() -> None:
    assert myinfo(SERVER, "alice", "hubbub-0.1.0").serialize() == (
        b":hub.lan 004 alice hub.lan hubbub-0.1.0 io biklmotv bklov\r\n"
    )
